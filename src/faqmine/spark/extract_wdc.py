"""The WDC stage on Spark: N-Quads dumps in, qa_raw rows out, with the same stats contract as extraction.

Two Arrow passes with one shuffle between them:

1. one task per dump file parses its lines (`faqmine.extract_wdc.nquads.parse_nquad`) into quad rows
   tagged with file and line number, plus one stats row for the file (lines that are
   not N-Quads, unreadable files);
2. the quads are repartitioned by page (the graph term) and sorted by (page, file,
   line), so each page's quads arrive together and in written order, even when a page
   spans files; a partition walks its pages (`faqmine.extract_wdc.nquads.read_page`) and emits qa_raw
   rows plus one stats row. File stats rows pass through step 2 unchanged.

The driver sums the stats rows (exact under task retries), as in the extraction stage.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from faqmine.core.options import option
from faqmine.core.rows import QARawRows
from faqmine.core.schemas import load_schema
from faqmine.core.stats import StageStats
from faqmine.extract_wdc.nquads import (
    JOB,
    Quad,
    add_wdc_page,
    count_page,
    file_quads,
    read_page,
    resolve_dumps,
    wdc_crawl,
)
from faqmine.spark.extract import remote_executor_env
from faqmine.spark.stage import DatasetArg, Stage, StageOutput

STATS_COLUMN = "_stats_json"
QUAD_BATCH = 8192
QUAD_SCHEMA = pa.schema([
    ("graph", pa.string()), ("subject", pa.string()), ("predicate", pa.string()), ("object", pa.string()),
    ("kind", pa.string()), ("language", pa.string()), ("file", pa.string()), ("line", pa.int64()),
    (STATS_COLUMN, pa.string()),
])


def _stats_batch(stats: StageStats, schema: pa.Schema) -> pa.RecordBatch:
    row = {name: [None] for name in schema.names}
    row[STATS_COLUMN] = [json.dumps(stats.to_dict())]
    return pa.RecordBatch.from_pydict(row, schema=schema)


def read_quads(uris: Iterator[str]) -> Iterator[pa.RecordBatch]:
    """Quad rows of each file, then the file's stats row."""
    names = [n for n in QUAD_SCHEMA.names if n != STATS_COLUMN]
    for uri in uris:
        stats = StageStats(JOB)
        columns: dict[str, list] = {n: [] for n in names}
        for line_no, quad in file_quads(uri, stats):
            for name, value in zip(names, (quad.graph, quad.subject, quad.predicate, quad.obj, quad.kind,
                                           quad.language, uri, line_no), strict=True):
                columns[name].append(value)
            if len(columns["graph"]) >= QUAD_BATCH:
                yield _quad_batch(columns)
                columns = {n: [] for n in names}
        if columns["graph"]:
            yield _quad_batch(columns)
        yield _stats_batch(stats, QUAD_SCHEMA)


def _quad_batch(columns: dict[str, list]) -> pa.RecordBatch:
    n = len(columns["graph"])
    return pa.RecordBatch.from_pydict({**columns, STATS_COLUMN: [None] * n}, schema=QUAD_SCHEMA)


def output_schema() -> pa.Schema:
    fields = [f.with_nullable(True) for f in load_schema("qa_raw").arrow()]
    return pa.schema(fields + [pa.field(STATS_COLUMN, pa.string())])


def pages_of_partition(batches: Iterator[pa.RecordBatch], crawl: str | None) -> Iterator[pa.RecordBatch]:
    """Walk quads sorted by (graph, file, line): one page per run of equal graphs."""
    schema = output_schema()
    stats = StageStats(JOB)
    rows = QARawRows()
    current: str | None = None
    source = ""
    quads: list[Quad] = []

    def flush_page() -> None:
        if current is not None:
            page = read_page(current, quads)
            count_page(page, stats)
            add_wdc_page(rows, page, wdc_crawl(source, crawl), source)

    for batch in batches:
        data = batch.to_pydict()
        for i, stats_json in enumerate(data[STATS_COLUMN]):
            if stats_json is not None:
                yield _stats_batch(StageStats.from_dict(json.loads(stats_json)), schema)
                continue
            graph = data["graph"][i]
            if graph != current:
                flush_page()
                current, source, quads = graph, data["file"][i], []
            quads.append(Quad(data["subject"][i], data["predicate"][i], data["object"][i], data["kind"][i],
                              data["language"][i], graph))
        if len(rows) >= QUAD_BATCH:
            yield _with_null_stats(rows.flush(), schema)
    flush_page()
    if len(rows):
        yield _with_null_stats(rows.flush(), schema)
    yield _stats_batch(stats, schema)


def _with_null_stats(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([*batch.columns, pa.nulls(batch.num_rows, pa.string())], schema=schema)


def run_extract_wdc(spark: SparkSession, files: list[str], crawl: str | None = None
                    ) -> tuple[DataFrame, StageStats, DataFrame]:
    """Returns (qa_raw rows, summed stats, the persisted combined frame to unpersist after writing)."""

    def parse(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield from read_quads(iter(batch.column("uri").to_pylist()))

    def pages(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        yield from pages_of_partition(batches, crawl)

    files_df = spark.sparkContext.parallelize([(f,) for f in files], numSlices=max(1, len(files))).toDF(
        "uri string"
    )
    quads = files_df.mapInArrow(parse, from_arrow_schema(QUAD_SCHEMA))
    # about one page partition per dump file (a WDC part file is ~100 MB), at least one per core
    n_partitions = max(len(files), spark.sparkContext.defaultParallelism)
    grouped = quads.repartition(n_partitions, "graph").sortWithinPartitions("graph", "file", "line")
    out = grouped.mapInArrow(pages, from_arrow_schema(output_schema())).persist(StorageLevel.MEMORY_AND_DISK)
    total = StageStats(JOB)
    for row in out.where(F.col(STATS_COLUMN).isNotNull()).select(STATS_COLUMN).collect():
        total.merge(StageStats.from_dict(json.loads(row[0])))
    qa = out.where(F.col(STATS_COLUMN).isNull()).drop(STATS_COLUMN)
    return qa, total, out


@dataclass(frozen=True)
class ExtractWdcConfig:
    """Which dumps to read."""

    input: tuple[str, ...] = option((), required=True, help="N-Quads files (.nq, .gz, .txt.gz as WDC names "
                                    "them), folders, globs, or http(s):// s3:// URLs")
    crawl: str | None = option(None, help="value of the crawl column (default: a CC-MAIN-YYYY-WW in the file "
                               "path, else 'wdc')")
    max_files: int | None = option(None, help="read at most this many dump files")


class ExtractWdc(Stage):
    """Web Data Commons FAQPage N-Quads dumps -> `qa_raw` (instead of WARC extraction)."""

    name, config_type = JOB, ExtractWdcConfig
    description = ("Read schema.org FAQPage question-answer pairs from Web Data Commons N-Quads dumps into qa_raw "
                   "(instead of extracting them from WARC files).")
    outputs = (DatasetArg("output", "qa_raw", "qa_raw dataset folder to write (replaced atomically)"),)

    def configure(self, args, parser) -> ExtractWdcConfig:
        config = super().configure(args, parser)
        try:
            self.files = resolve_dumps(list(config.input), max_files=config.max_files)
        except FileNotFoundError as exc:
            parser.error(str(exc))
        return config

    def session_conf(self, args) -> dict[str, str]:
        return remote_executor_env()

    def run(self, spark, inputs, config, args) -> StageOutput:
        qa, stats, persisted = run_extract_wdc(spark, self.files, crawl=config.crawl)
        return StageOutput(writes={"output": (qa, stats.to_dict(nquad_files_given=len(self.files)))},
                           persisted=[persisted])
