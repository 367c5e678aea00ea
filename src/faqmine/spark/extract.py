"""The extraction stage on Spark: one task per WARC file, Arrow batches out, exact per-file stats.

Each task runs `faqmine.extract.records.extract_warc_file` over its file inside `mapInArrow`
and emits the QA rows followed by one stats row (a JSON string in a side column).
The driver sums the stats rows, so counts are exact even when Spark retries a task,
unlike accumulators updated inside a transformation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from faqmine.core.faults import maybe_kill_worker
from faqmine.core.schemas import load_schema
from faqmine.core.stats import StageStats
from faqmine.extract.records import DEFAULT_MAX_PAGE_BYTES, extract_warc_file

STATS_COLUMN = "_stats_json"
JOB = "extract"


def _with_stats_column(schema: pa.Schema) -> pa.Schema:
    fields = [f.with_nullable(True) for f in schema] + [pa.field(STATS_COLUMN, pa.string())]
    return pa.schema(fields)


def run_extract(
    spark: SparkSession, files: list[str], crawl: str | None = None, max_page_bytes: int = DEFAULT_MAX_PAGE_BYTES
) -> tuple[DataFrame, StageStats, DataFrame]:
    """Returns (qa_raw rows, summed stats, the persisted combined frame to unpersist after writing)."""
    qa_schema = load_schema("qa_raw").arrow()
    combined = _with_stats_column(qa_schema)

    def extract_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for uri in batch.column("uri").to_pylist():
                stats = StageStats(JOB)
                for qa_batch in extract_warc_file(uri, stats, crawl=crawl, max_page_bytes=max_page_bytes):
                    yield pa.RecordBatch.from_arrays(
                        [*qa_batch.columns, pa.nulls(qa_batch.num_rows, pa.string())], schema=combined
                    )
                    maybe_kill_worker()  # no-op unless a fault test asks for it
                stats_row = {name: [None] for name in qa_schema.names}
                stats_row[STATS_COLUMN] = [json.dumps(stats.to_dict())]
                yield pa.RecordBatch.from_pydict(stats_row, schema=combined)

    files_df = spark.sparkContext.parallelize([(f,) for f in files], numSlices=max(1, len(files))).toDF(
        "uri string"
    )
    out = files_df.mapInArrow(extract_partition, from_arrow_schema(combined)).persist(
        StorageLevel.MEMORY_AND_DISK
    )
    total = StageStats(JOB)
    for row in out.where(F.col(STATS_COLUMN).isNotNull()).select(STATS_COLUMN).collect():
        total.merge(StageStats.from_dict(json.loads(row[0])))
    qa = out.where(F.col(STATS_COLUMN).isNull()).drop(STATS_COLUMN)
    return qa, total, out
