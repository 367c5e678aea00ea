"""Coverage-guided fuzzing (atheris/libFuzzer) of the extraction parsers.

    .venv/bin/python fuzz/fuzz_extract.py fuzz/corpus -max_total_time=60     # or: make fuzz FUZZ_SECONDS=600

One input drives one of: the tolerant JSON-LD reader, charset decoding, whole-page
extraction, or a whole file through `extract_warc_file` and the N-Quads reader
(`extract_wdc_file`), which covers resync past damaged gzip members and the inflation
limit (seeds `warc-damaged-*`). The properties: the JSON-LD reader raises only
`InvalidJsonLd`; nothing else raises at all; a file's stats balance. A crash input
that libFuzzer writes (crash-*) belongs in fuzz/regressions/, which tests/test_fuzz.py
replays on every test run.
"""

from __future__ import annotations

import os
import sys
import tempfile

_TMP = tempfile.mkdtemp(prefix="faqmine-fuzz-")


def check_input(data: bytes) -> None:
    """Run one fuzz input through the target its first byte selects; raise only on a property violation."""
    from faqmine.core.stats import StageStats, check_balance
    from faqmine.extract.charset import decode_html
    from faqmine.extract.jsonld import InvalidJsonLd, parse_jsonld
    from faqmine.extract.records import extract_page, extract_warc_file
    from faqmine.extract_wdc.nquads import extract_wdc_file

    if not data:
        return
    target, payload = data[0] % 4, data[1:]
    if target == 0:
        try:
            parse_jsonld(payload.decode("utf-8", "replace"))
        except InvalidJsonLd:
            pass
    elif target == 1:
        decode_html(payload, http_charset=payload[:12].decode("ascii", "replace"))
    elif target == 2:
        extract_page(b"<html><script type='application/ld+json'>{\"@type\":\"FAQPage\"," + payload)
    else:
        path = os.path.join(_TMP, "input.warc.gz")
        with open(path, "wb") as fh:
            fh.write(payload)
        stats = StageStats("fuzz")
        for _ in extract_warc_file(path, stats, max_member_bytes=1 << 20):  # a low limit: bombs are cut fast
            pass
        check_balance(stats.to_dict())
        wdc = StageStats("fuzz-wdc")  # the N-Quads reader resyncs over the same damaged gzip members
        for _ in extract_wdc_file(path, wdc):
            pass
        check_balance(wdc.to_dict())


def main() -> None:
    import atheris

    with atheris.instrument_imports(include=["faqmine"]):
        import faqmine.extract.charset  # noqa: F401
        import faqmine.extract.records  # noqa: F401
        import faqmine.extract.resync  # noqa: F401
        import faqmine.extract_wdc.nquads  # noqa: F401
    atheris.Setup(sys.argv, check_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
