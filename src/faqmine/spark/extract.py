"""The extraction stage on Spark: one task per WARC file, Arrow batches out, exact per-file stats.

Each task runs `faqmine.extract.records.extract_warc_file` over its file inside `mapInArrow`
and emits the QA rows followed by one stats row (a JSON string in a side column).
The driver sums the stats rows, so counts are exact even when Spark retries a task,
unlike accumulators updated inside a transformation.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from faqmine.core.faults import maybe_kill_worker
from faqmine.core.options import option
from faqmine.core.schemas import load_schema
from faqmine.core.stats import StageStats
from faqmine.extract.records import DEFAULT_MAX_PAGE_BYTES, extract_warc_file
from faqmine.extract.warc_input import REMOTE_ENV, resolve_inputs
from faqmine.spark.stage import DatasetArg, Stage, StageOutput

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


def remote_executor_env() -> dict[str, str]:
    """The driver's FAQMINE_S3_ENDPOINT / FAQMINE_HTTP_* settings, passed on to the executors."""
    return {f"spark.executorEnv.{name}": os.environ[name] for name in REMOTE_ENV if os.environ.get(name)}


@dataclass(frozen=True)
class ExtractConfig:
    """What to read and how much of each record."""

    input: tuple[str, ...] = option((), required=True, help="WARC files, directories, globs, file:// https:// "
                                    "s3:// URLs, or a warc.paths(.gz) listing, local or remote")
    crawl: str | None = option(None, help="crawl id for the crawl column (default: the warcinfo isPartOf, "
                               "a CC-MAIN-YYYY-WW in the path, else 'local')")
    prefix: str | None = option(None, help="prefix joined to relative lines of a listing (default: for a remote "
                                "listing the root of its host or bucket; for a local one beside the listing if "
                                "the file exists there, else https://data.commoncrawl.org/)")
    max_files: int | None = option(None, help="read at most this many WARC files (the first ones, after sampling)")
    sample_fraction: float | None = option(None, metavar="F", help="read a seeded random share F (0 < F <= 1) "
                                           "of the listed files, chosen per file")
    seed: int = option(0, help="seed of --sample-fraction")
    max_page_bytes: int = option(DEFAULT_MAX_PAGE_BYTES,
                                 help="responses larger than this are dropped as too_large without being read")


class Extract(Stage):
    """WARC files -> `qa_raw`, one task per file."""

    name, config_type = JOB, ExtractConfig
    description = "Extract schema.org FAQPage question-answer pairs from WARC files into qa_raw."
    outputs = (DatasetArg("output", "qa_raw", "qa_raw dataset folder to write (replaced atomically)"),)

    def configure(self, args, parser) -> ExtractConfig:
        config = super().configure(args, parser)
        try:
            self.files = resolve_inputs(list(config.input), prefix=config.prefix, max_files=config.max_files,
                                        sample_fraction=config.sample_fraction, seed=config.seed)
        except (FileNotFoundError, ValueError) as exc:
            parser.error(str(exc))
        if not self.files:
            parser.error("the sample is empty: raise --sample-fraction or change --seed")
        return config

    def session_conf(self, args) -> dict[str, str]:
        return remote_executor_env()

    def run(self, spark, inputs, config, args) -> StageOutput:
        qa, stats, persisted = run_extract(spark, self.files, crawl=config.crawl,
                                           max_page_bytes=config.max_page_bytes)
        sample = ({"sample_fraction": config.sample_fraction, "sample_seed": config.seed}
                  if config.sample_fraction else {})
        return StageOutput(writes={"output": (qa, stats.to_dict(warc_files_given=len(self.files), **sample))},
                           persisted=[persisted])
