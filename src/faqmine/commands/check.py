"""`faqmine check DATA_ROOT`: verify every dataset of a run against its contract (see faqmine.run.check)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def run(args: argparse.Namespace) -> int:
    from faqmine.run.check import check_data_root  # pyarrow.dataset loads only when the command runs

    checked, problems = check_data_root(args.data_root)
    if not checked:
        print(f"faqmine check: no dataset with a schema under {args.data_root}", file=sys.stderr)
        return 1
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    bad = {p.dataset for p in problems}
    for name in checked:
        if name not in bad:
            print(f"ok   {name}")
    return 1 if problems else 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("check", help="verify every dataset under a data root: balance, rows, schema, ids")
    parser.add_argument("data_root", type=Path, help="the DATA folder of a run, e.g. data/demo")
    parser.set_defaults(run=run)
