"""Write and read the pipeline's Parquet datasets with the contract of docs/architecture.md.

A dataset is written into a temporary sibling folder, gets its `_stats.json`, and is
renamed into place only when complete: a crashed or retried job never leaves half a
dataset where readers look, and running a job twice replaces the first result.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.pandas.types import from_arrow_schema

from faqmine.core.schemas import load_schema
from faqmine.core.stats import write_stats


def local_path(path: str) -> Path:
    if path.startswith("file://"):
        path = path[len("file://"):]
    if "://" in path:
        raise ValueError(f"output {path!r}: only local (or file://) outputs are supported by this writer")
    return Path(path).resolve()


def write_dataset(df: DataFrame, output: str, dataset: str, stats: dict) -> Path:
    """Write df as `dataset` (columns and partitioning from schemas/<dataset>.json) atomically to output."""
    schema = load_schema(dataset)
    if df.columns != schema.names:
        raise ValueError(f"{dataset}: columns {df.columns} differ from schemas/{dataset}.json {schema.names}")
    target = local_path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:12]}"
    writer = df.write.mode("overwrite")
    if schema.partition_by:
        writer = writer.partitionBy(*schema.partition_by)
    writer.parquet(str(tmp))
    write_stats(tmp, {**stats, "dataset": dataset})
    replace_folder(tmp, target)
    return target


def replace_folder(new: Path, target: Path) -> None:
    """Move `new` to `target`, replacing an older `target` with two renames."""
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:12]}"
        os.rename(target, old)
    os.rename(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_dataset(spark: SparkSession, root: str, dataset: str) -> DataFrame:
    path = local_path(root)
    if not (path / "_SUCCESS").exists() and not (path / "_stats.json").exists():
        raise FileNotFoundError(f"{path} is not a finished {dataset} dataset (no _SUCCESS / _stats.json)")
    schema = load_schema(dataset)
    if not any(path.rglob("*.parquet")):  # a finished empty dataset: Spark cannot infer a schema from no file
        return spark.createDataFrame([], from_arrow_schema(schema.arrow()))
    return spark.read.parquet(str(path)).select(*schema.names)
