"""What the bench scripts share: their argument parser, report writing, and the test helpers.

A bench script runs as `python bench/<name>.py`, so this folder is on sys.path and `import common`
finds this module; importing it puts tests/ on sys.path too, so the script can import the helpers
the tests use (`from helpers.jaccard import brute_force_pairs`, tests/helpers/) instead of a copy.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "tests") not in sys.path:
    sys.path.insert(0, str(REPO / "tests"))


def parser(doc: str) -> argparse.ArgumentParser:
    """An argument parser whose description is the first paragraph of the script's docstring."""
    return argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                   formatter_class=argparse.ArgumentDefaultsHelpFormatter)


def write_report(path: str | Path, lines: list[str], summary: list[str] | None = None) -> int:
    """Write a Markdown report (making its folder), print `summary` (default: the report) and the path; 0."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines if summary is None else summary))
    print(f"report: {out.resolve()}")
    return 0
