"""Write the seed corpus (fuzz/corpus) from the extraction test fixtures: one file per fuzz target.

    .venv/bin/python fuzz/make_seeds.py
"""

from __future__ import annotations

import gzip
import sys
import tempfile
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from helpers.warc_builder import Response, response, warcinfo, write_warc  # noqa: E402


def damaged_warcs(body: bytes) -> dict[str, bytes]:
    """Three-record WARCs whose middle gzip member is damaged in each way the resync path handles."""
    first, last = warcinfo(), response(Response("https://example.com/b", body), 2)
    middle = response(Response("https://example.com/a", body), 1)
    flipped = bytearray(middle)
    flipped[len(middle) // 2] ^= 0xFF
    bomb = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bomb.compress(b"WARC/1.0\r\nContent-Length: 5\r\n\r\nhello") + bomb.compress(bytes(3 << 20))
    return {
        "flipped": first + bytes(flipped) + last,
        "header": first + b"\x1f\x8b\x08\xff" + middle[4:] + last,
        "truncated-middle": first + middle[: len(middle) // 3] + last,
        "not-warc": first + gzip.compress(b"<html>not a record</html>", mtime=0) + last,
        "bomb": first + zeros + bomb.flush() + last,
        "single-stream": gzip.compress(gzip.decompress(first + middle + last), mtime=0)[:-40],
        "plain": gzip.decompress(first + middle)[:-200] + gzip.decompress(last),
    }


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
        for name, data in damaged_warcs(pages[0].read_bytes()).items():
            (corpus / f"warc-damaged-{name}").write_bytes(b"\x03" + data)
    print(f"{len(list(corpus.iterdir()))} seed files in {corpus}")


if __name__ == "__main__":
    main()
