"""Check what one stage of a run wrote, before anyone downstream reads it.

`spark-submit` can exit 0 for an application that failed (cluster deploy modes, a driver
that swallowed its error), so a stage's task succeeding proves little. For each dataset
a stage writes (faqmine.run.pipeline.Stage.outputs), `validate_stage` checks that

- `_SUCCESS` and `_stats.json` are there, and the stats were written by this stage's job;
- `in == out + sum(dropped)`;
- the Parquet files hold as many rows as the stats say were written (`rows_out`, else `out`),
  counted from the files' footers, not by reading the data;
- there is at least one row, unless the stage declares that output may be empty;
- the dataset is not older than the run's plan (`<data root>/_run.json`) nor than the
  datasets it was made from: an old dataset left in place by a job that did not run is stale.

It raises `ValidationError` listing every problem, else returns a short report per dataset
(rows, in/out, drops, crawls found) that the Airflow task logs and puts in the Asset event.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from faqmine.core.stats import UnbalancedStats, check_balance, read_stats
from faqmine.run.pipeline import RUN_RECORD, Stage, stage


class ValidationError(RuntimeError):
    """A stage's outputs break the dataset contract; the message lists every problem found."""


def parquet_rows(folder: Path) -> int:
    """Rows in every Parquet file under folder, from the footers (no data is read)."""
    import pyarrow.parquet as pq

    files = [p for p in folder.rglob("*.parquet") if not any(part.startswith((".", "_")) for part in
                                                               p.relative_to(folder).parts)]
    return sum(pq.ParquetFile(p).metadata.num_rows for p in files)


def partition_values(folder: Path, column: str) -> list[str]:
    """Values of a hive partition column, from the folder names (`column=value`)."""
    prefix = f"{column}="
    return sorted({p.name[len(prefix):] for p in folder.rglob(f"{prefix}*") if p.is_dir()})


def _mtime(path: Path) -> float:
    return path.stat().st_mtime


def check_output(data_root: Path, s: Stage, dataset: str, not_before: float | None) -> tuple[dict, list[str]]:
    folder = data_root / dataset
    problems: list[str] = []
    missing = [m for m in ("_SUCCESS", "_stats.json") if not (folder / m).exists()]
    if missing:
        return {}, [f"{dataset}: {' and '.join(missing)} missing in {folder} (the job did not finish writing it)"]
    stats = read_stats(folder)
    if stats.get("job") != s.name:
        problems.append(f"{dataset}: _stats.json was written by job {stats.get('job')!r}, not {s.name!r}")
    try:
        check_balance(stats, dataset)
    except UnbalancedStats as exc:
        problems.append(f"{dataset}: counts do not balance: {exc}")
    written = int(stats.get("rows_out", stats.get("out", 0)))
    on_disk = parquet_rows(folder)
    if on_disk != written:
        problems.append(f"{dataset}: {on_disk} rows in the Parquet files but _stats.json says {written} written")
    if on_disk == 0 and dataset not in s.may_be_empty:
        problems.append(f"{dataset}: no row written (in={stats.get('in')}, dropped={stats.get('dropped')}); "
                        f"stage {s.name} must not produce an empty {dataset}")
    written_at = _mtime(folder / "_stats.json")
    if not_before is not None and written_at < not_before:
        problems.append(f"{dataset}: written before this run started (stale output of an earlier run: "
                        f"the job did not replace it)")
    for source in s.inputs:
        source_stats = data_root / source / "_stats.json"
        if source_stats.exists() and written_at < _mtime(source_stats):
            problems.append(f"{dataset}: older than its input {source} (stale: the job did not replace it)")
    report = {
        "rows": on_disk,
        "in": stats.get("in"),
        "out": stats.get("out"),
        "dropped": sum(stats.get("dropped", {}).values()),
    }
    crawls = partition_values(folder, "crawl")
    if crawls:
        report["crawls"] = crawls
    languages = partition_values(folder, "language")
    if languages:
        report["languages"] = len(languages)
    return report, problems


def validate_stage(name: str, data_root: str | Path, check_fresh: bool = True) -> dict[str, Any]:
    """Validate every output of stage `name` under data_root; raise ValidationError naming all problems."""
    s = stage(name)
    root = Path(data_root)
    record = root / RUN_RECORD
    not_before = _mtime(record) if check_fresh and record.exists() else None
    reports, problems = {}, []
    for dataset in s.outputs:
        report, found = check_output(root, s, dataset, not_before)
        reports[dataset] = report
        problems += found
    if problems:
        raise ValidationError(f"stage {name} under {root}:\n  " + "\n  ".join(problems))
    return reports


def published_rows(stage_name: str, report: dict[str, Any], dataset: str) -> int:
    """Rows of a published dataset in a stage's report: the output itself, or the first output inside it."""
    for output, numbers in report.items():
        if output == dataset or output.startswith(dataset + "/"):
            return int(numbers["rows"])
    raise KeyError(f"stage {stage_name} has no output {dataset}")


def run_crawls(data_root: str | Path) -> list[str]:
    """The crawl ids of a run's data: the `crawl` partitions of qa_raw."""
    folder = Path(data_root) / "qa_raw"
    return partition_values(folder, "crawl") if folder.exists() else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m faqmine.run.validate",
        description="Validate the outputs of one pipeline stage under a data root (what the faqmine_crawl "
        "DAG's validate_<stage> tasks run): markers, balanced counts, rows on disk, non-empty, fresh.",
    )
    parser.add_argument("stage", help="stage name, e.g. extract")
    parser.add_argument("data_root", help="the data root of the run")
    parser.add_argument("--no-fresh", action="store_true",
                        help=f"do not compare dataset times with <data root>/{RUN_RECORD} and the inputs")
    args = parser.parse_args(argv)
    try:
        report = validate_stage(args.stage, args.data_root, check_fresh=not args.no_fresh)
    except (ValidationError, KeyError) as exc:
        print(f"FAIL {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
