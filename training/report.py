"""Write the experiment report (Markdown, HTML, CSV, PNG plots) from one evaluation run's Parquet outputs.

    .venv/bin/python training/report.py --eval data/demo/eval --run-id cpu --out training/results/cpu

Nothing in the report is typed by hand: tables, deltas, verdicts and plots are computed from
<eval>/metrics/<run_id>.parquet and <eval>/runs/<run_id>.json (see faqmine.retrieval.report).
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="training/report.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--eval", required=True, metavar="DIR", help="eval folder written by training/evaluate.py "
                        "(holds metrics/ and runs/)")
    parser.add_argument("--run-id", dest="run_id", default=None, help="evaluation run (default: the newest)")
    parser.add_argument("--out", required=True, metavar="DIR", help="report folder to write")
    args = parser.parse_args(argv)
    from faqmine.retrieval.report import write_report

    try:
        written = write_report(args.eval, args.out, args.run_id)
    except FileNotFoundError as exc:
        print(f"report.py: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(written, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
