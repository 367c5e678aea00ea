"""Write the seed corpus (fuzz/corpus) from the extraction test fixtures: one file per fuzz target.

    .venv/bin/python fuzz/make_seeds.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from helpers.warc_builder import Response, write_warc  # noqa: E402


def main() -> None:
    corpus = REPO / "fuzz" / "corpus"
    corpus.mkdir(exist_ok=True)
    pages = sorted((REPO / "tests" / "fixtures" / "pages").glob("*.html"))
    for page in pages:
        body = page.read_bytes()
        (corpus / f"page-{page.stem}").write_bytes(b"\x02" + body)
        start = body.find(b'application/ld+json">')
        if start > 0:
            end = body.find(b"</script>", start)
            (corpus / f"jsonld-{page.stem}").write_bytes(b"\x00" + body[start + len(b'application/ld+json">'):end])
    (corpus / "charset-cp1251").write_bytes(b"\x01" + "<meta charset=windows-1251>Привет".encode("cp1251"))
    with tempfile.TemporaryDirectory() as tmp:
        warc = write_warc(Path(tmp) / "w.warc.gz", [Response("https://example.com/faq", pages[0].read_bytes())])
        (corpus / "warc-one-faq").write_bytes(b"\x03" + warc.read_bytes())
    print(f"{len(list(corpus.iterdir()))} seed files in {corpus}")


if __name__ == "__main__":
    main()
