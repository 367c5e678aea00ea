"""`faqmine card DATA_ROOT`: write the dataset card of a run (README.md in the Hugging Face form, plus plots).

See faqmine.run.card for what the card holds. The faqmine_crawl DAG runs this as its last task.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from faqmine.run.card import write_card


def run(args: argparse.Namespace) -> int:
    path = write_card(args.data_root, args.out)
    print(f"wrote {path}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "card", help="write the dataset card of a run: README.md (Hugging Face form) with tables and PNG plots",
        description="Write DATA_ROOT/README.md, a Hugging Face dataset card (YAML front matter with languages, "
        "size category, task categories and license note; tables of QAs per language and markup, drop reasons "
        "and duplicate rates per stage) and its plots under DATA_ROOT/card/.",
    )
    parser.add_argument("data_root", type=Path, help="the DATA folder of a run, e.g. data/demo")
    parser.add_argument("--out", type=Path, default=None, help="folder to write the card into (default: DATA_ROOT)")
    parser.set_defaults(run=run)
