"""What every `jobs/*.py` entry point shares: common arguments, the session, and the closing summary."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from pyspark.sql import SparkSession

from faqmine.spark.session import build_session


def job_parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"spark-submit jobs/{prog}.py",
        description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--master",
        default=None,
        help="Spark master URL (local[*], spark://host:7077, yarn, k8s://...); default: SPARK_MASTER, "
        "then what spark-submit set, then local[*]",
    )
    return parser


def start(app_name: str, args: argparse.Namespace) -> tuple[SparkSession, float]:
    return build_session(f"faqmine-{app_name}", master=args.master), time.time()


def print_summary(dataset_path: Path, stats: dict, started: float) -> None:
    """A short human summary of a finished job on stdout (the full counts are in _stats.json)."""
    dropped = stats.get("dropped", {})
    print(f"\n{stats['job']}: wrote {dataset_path} in {time.time() - started:.1f}s")
    print(f"  in={stats['in']} out={stats['out']} dropped={sum(dropped.values())}"
          + (f" rows_out={stats['rows_out']}" if "rows_out" in stats else ""))
    for reason, n in sorted(dropped.items(), key=lambda kv: -kv[1]):
        print(f"    {reason:<20} {n}")
    for sample in stats.get("samples", [])[:5]:
        print(f"  ! {sample}")
    print(f"  stats: {json.dumps({k: v for k, v in stats.items() if k not in ('dropped', 'samples')})}")
