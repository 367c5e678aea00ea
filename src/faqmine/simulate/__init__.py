"""A crawl simulator: Common Crawl-like WARC files of multilingual FAQ pages, with the ground truth as Parquet.

`faqmine simulate --out DIR --size 200MB --seed 1` writes `DIR/warc/*.warc.gz`,
`DIR/warc.paths.gz`, `DIR/truth/{qa,pages,bad_records}.parquet` and
`DIR/simulation.json`. QA text is XQuAD (12 languages, the same question ids in
every language); background pages are real responses from public test WARC files.
The same seed gives byte-identical files.

Modules, in the order the data flows:
`config` (settings, sizes) -> `xquad` (QA text) -> `sites` (sites, pages, QAs per
page; `edits` for copies) -> `pages` (whole HTML pages; `markup` for JSON-LD,
Microdata, RDFa; `fragments` for answer HTML; `locale` for per-language bits;
`responses` for HTTP headers) -> `background`, `bad` (other records) -> `warc`
(gzip-per-record WARC writing) -> `truth` (Parquet) -> `crawl` (the main loop).
"""

from __future__ import annotations

from collections.abc import Callable

from faqmine.simulate.config import SimConfig, parse_size

__all__ = ["SimConfig", "parse_size", "simulate"]


def simulate(config: SimConfig, log: Callable[[str], None] = print) -> dict:
    """Write the crawl described by `config`; see faqmine.simulate.crawl.simulate."""
    from faqmine.simulate.crawl import simulate as run

    return run(config, log)
