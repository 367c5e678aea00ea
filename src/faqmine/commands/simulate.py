"""`faqmine simulate ...`: write a simulated multilingual crawl (WARC files) and its ground truth (Parquet).

See faqmine.simulate for what is modelled. The same --seed and options give
byte-identical WARC files.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from faqmine.simulate.config import ANSWER_MODES, LANGUAGE_WEIGHTS, LANGUAGES, SimConfig, default_data_dir, parse_size


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a share between 0 and 1")
    return value


def _languages(values: list[str]) -> tuple[str, ...]:
    langs: list[str] = []
    for value in values:
        for lang in value.replace(",", " ").split():
            if lang not in LANGUAGE_WEIGHTS:
                raise argparse.ArgumentTypeError(f"unknown language {lang!r}; choose from {', '.join(LANGUAGES)}")
            if lang not in langs:
                langs.append(lang)
    return tuple(sorted(langs))


def run(args: argparse.Namespace) -> int:
    from faqmine.simulate.crawl import simulate

    config = SimConfig(
        out=args.out, size_bytes=args.size, seed=args.seed, faq_share=args.faq_share,
        languages=_languages(args.languages), answer_mode=args.answer, file_size_bytes=args.file_size,
        bad_share=args.bad_share, dup_share=args.dup_share, multilingual_share=args.multilingual_share,
        copy_share=args.copy_share, question_sites=args.question_sites, syndicated_share=args.syndicated_share,
        bad_gzip_every=args.bad_gzip_every, crawl=args.crawl, data_dir=args.data_dir,
        quiet=args.quiet,
    )
    simulate(config)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "simulate",
        help="write a simulated multilingual FAQ crawl (WARC) and its ground truth (Parquet)",
        description="Write a Common Crawl-like crawl of simulated web sites with schema.org FAQPage markup "
        "(JSON-LD, Microdata, RDFa) in up to 12 languages, with QA text from XQuAD, around real background pages, "
        "plus the ground truth: every QA with its language, XQuAD id, exact duplicates, near-duplicate and "
        "translation groups, and every record that yields no QA with the reason why. Output: OUT/warc/*.warc.gz, "
        "OUT/warc.paths.gz, OUT/truth/{qa,pages,bad_records}.parquet, OUT/simulation.json. "
        "The same seed and options give byte-identical files.",
    )
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="output folder; files an earlier run wrote there are replaced")
    parser.add_argument("--size", type=_size, default=parse_size("200MB"), metavar="SIZE",
                        help="total compressed size of the WARC files, e.g. 50MB, 1GB, 512MiB (default 200MB)")
    parser.add_argument("--seed", type=int, default=1,
                        help="random seed: the same seed gives the same bytes (default 1)")
    parser.add_argument("--faq-share", type=_share, default=0.02, metavar="P",
                        help="share of response records that are FAQ pages (default 0.02; the rest is background "
                        "pages without FAQ markup and broken records)")
    parser.add_argument("--languages", nargs="+", default=list(LANGUAGES), metavar="LANG",
                        help="XQuAD languages to publish FAQs in, space or comma separated "
                        f"(default all: {' '.join(LANGUAGES)})")
    parser.add_argument("--answer", choices=ANSWER_MODES, default="sentence",
                        help="answer text of a QA: the XQuAD sentence that holds the answer span, or the whole "
                        "paragraph (default sentence)")
    parser.add_argument("--file-size", type=_size, default=parse_size("100MB"), metavar="SIZE",
                        help="target compressed size of one WARC file (default 100MB; crawls under 20 MB are "
                        "split in up to 4 files of at least 5 MB)")
    parser.add_argument("--bad-share", type=_share, default=0.01, metavar="P",
                        help="share of records that are broken: not HTML, invalid JSON-LD, HTTP errors, empty QAs "
                        "(default 0.01; every file holds at least one of each)")
    parser.add_argument("--dup-share", type=_share, default=0.04, metavar="P",
                        help="share of FAQ pages fetched a second time under a URL variant (default 0.04)")
    parser.add_argument("--multilingual-share", type=_share, default=0.30, metavar="P",
                        help="share of FAQ sites that publish the same FAQ in several languages (default 0.30)")
    parser.add_argument("--copy-share", type=_share, default=0.15, metavar="P",
                        help="share of FAQ sites that copy another site's FAQ with small edits (default 0.15)")
    parser.add_argument("--question-sites", type=int, default=1, metavar="N",
                        help="how many unrelated sites may publish one XQuAD question, in any language (default 1, "
                        "as on the web: after ~1,190 questions no more FAQ pages are made and the rest of the crawl "
                        "is background; 0: no limit, every question re-dealt in each language, so translations of "
                        "one FAQ sit on unrelated sites)")
    parser.add_argument("--syndicated-share", type=_share, default=0.02, metavar="P",
                        help="share of FAQ sites that also republish one of a few syndicated FAQs verbatim, joining "
                        "many sites through exact duplicates (default 0.02)")
    parser.add_argument("--bad-gzip-every", type=int, default=3, metavar="N",
                        help="every N-th WARC file, the first included, ends with a truncated gzip member "
                        "(default 3; 0 for never)")
    parser.add_argument("--crawl", default=None, metavar="ID",
                        help="crawl id written as isPartOf in each warcinfo record (default SIM-<seed>)")
    parser.add_argument("--data-dir", type=Path, default=default_data_dir(), metavar="DIR",
                        help="folder holding xquad/ and background/ (default: the repository's data/)")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.set_defaults(run=run)
