"""The `faqmine` command: one sub-command per tool that is not a Spark job.

Each sub-command lives in its own module and registers itself through a
`register(subparsers)` function listed in `_COMMANDS`; the module's `run(args)`
does the work. Spark stages are not here: they are `spark-submit jobs/<stage>.py`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# module (under faqmine.commands) -> registered by its register(subparsers)
_COMMANDS = ["models", "summary", "check", "simulate", "card", "progress"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faqmine",
        description="faqmine: multilingual FAQ retrieval data from web crawls. "
        "Spark stages run with `spark-submit jobs/<stage>.py --help`.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _COMMANDS:
        importlib.import_module(f"faqmine.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
