"""The benchmarks stage on Spark: qa_dedup (+ qa_embeddings, duplicates) -> corpus, queries and qrels per
language and split, with `_contamination.json` beside them.

1. Languages: every language with at least `min_qas` QAs (or the ones asked for); the QAs
   of the others are dropped as `language_too_small` (or `language_not_selected`).
2. Split units and splits (faqmine.spark.split_units, rules in faqmine.build_benchmarks.units):
   domains joined by cross-site translations, near copies and duplicate clusters form one unit,
   and each unit goes to one split by a seeded hash of its id (an oversized unit to train). A
   dev/test QA still close to a train QA is dropped as `contaminated`.
3. Answer key (`mapInArrow`, faqmine.build_benchmarks.benchmark): the key of each QA's
   normalised answer.
4. Corpus: one document per QA. Queries: one per QA, unless its answer is shared by more
   than `max_relevant` documents of the language (a boilerplate answer such as "Yes." makes
   a query that cannot be judged, and would square the qrels): dropped as `answer_too_common`.
5. Qrels: each query against every document of the language with its answer key.

Each dataset's stats count the QAs of qa_dedup: corpus out = documents, queries out =
queries, qrels out = queries with `rows_out` judgements.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from faqmine.build_benchmarks.benchmark import DOC_PREFIX, QUERY_PREFIX, answer_keys, export_beir
from faqmine.build_benchmarks.splits import SplitConfig
from faqmine.build_benchmarks.units import UnitConfig
from faqmine.core.options import option
from faqmine.core.schemas import load_schema
from faqmine.core.stats import StageStats, write_stats
from faqmine.spark.datasets import local_path, replace_folder, write_dataset
from faqmine.spark.embed import ReadsEmbeddings
from faqmine.spark.split_units import build_units
from faqmine.spark.stage import DatasetArg, Stage, StageOutput

JOB = "build_benchmarks"
CONTAMINATION_REPORT = "_contamination.json"
_KEYED_SCHEMA = pa.schema([
    ("qa_id", pa.string()), ("question", pa.string()), ("answer", pa.string()), ("page_title", pa.string()),
    ("domain", pa.string()), ("language", pa.string()), ("answer_key", pa.string()),
])


@dataclass(frozen=True)
class BenchmarkConfig:
    encoder: str | None = option(None, metavar="PATH", help="the encoder the vectors must come from (checked "
                                 "against qa_embeddings' model hash); default: $FAQMINE_ENCODER, else the packaged "
                                 "multilingual-e5-small under models/")
    splits: SplitConfig = field(default_factory=SplitConfig)
    units: UnitConfig = field(default_factory=UnitConfig)
    min_qas: int = option(100, help="build a benchmark for every language with at least this many QAs")
    languages: tuple[str, ...] | None = option(None, metavar="LANG",
                                               help="only these languages (still at least --min-qas QAs)")
    max_relevant: int = option(100, help="drop queries whose answer text is shared by more documents than this")
    export: bool = option(True, flag="--no-export", help="write the Parquet datasets only")


@dataclass
class BenchmarksResult:
    corpus: DataFrame
    queries: DataFrame
    qrels: DataFrame
    corpus_stats: StageStats
    queries_stats: StageStats
    qrels_stats: StageStats
    info: dict
    contamination: dict
    persisted: list[DataFrame]

    def unpersist(self) -> None:
        for df in self.persisted:
            df.unpersist()


def doc_id_column(qa_id: str) -> Column:
    """faqmine.build_benchmarks.benchmark.doc_id as a Spark column."""
    return F.concat(F.lit(DOC_PREFIX), qa_id)


def query_id_column(qa_id: str) -> Column:
    """faqmine.build_benchmarks.benchmark.query_id as a Spark column."""
    return F.concat(F.lit(QUERY_PREFIX), qa_id)


def _answer_keys(qas: DataFrame) -> DataFrame:
    def keyed(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            keys = pa.array(answer_keys(batch.column("answer").to_pylist()), pa.string())
            title = batch.column("page_title").fill_null("")
            columns = {**{n: batch.column(n) for n in batch.schema.names}, "page_title": title, "answer_key": keys}
            yield pa.RecordBatch.from_arrays([columns[f.name] for f in _KEYED_SCHEMA], schema=_KEYED_SCHEMA)

    return qas.mapInArrow(keyed, from_arrow_schema(_KEYED_SCHEMA))


def run_benchmarks(qa_dedup: DataFrame, embeddings: DataFrame, duplicates: DataFrame | None = None,
                   config: BenchmarkConfig = BenchmarkConfig()) -> BenchmarksResult:
    """Benchmarks of qa_dedup's QAs in split units (set the Spark checkpoint directory first)."""
    qas = qa_dedup.select("qa_id", "question", "answer", "page_title", "domain", "language")
    by_language = {r["language"]: r["count"] for r in qas.groupBy("language").count().collect()}
    selected = set(config.languages) if config.languages else set(by_language)
    kept = sorted(lang for lang, n in by_language.items() if lang in selected and n >= config.min_qas)
    candidates = qas.where(F.col("language").isin(kept))
    units = build_units(candidates, embeddings, duplicates, config.units, config.splits)
    verdicts = units.placed.select("qa_id", "unit", "split", "contaminated")
    if config.units.decontaminate:
        verdicts = verdicts.where(~F.col("contaminated"))
    contaminated = units.placed.where(F.col("contaminated")).count()
    placed = (
        _answer_keys(candidates).join(verdicts, "qa_id")
        .withColumn("_answer_docs", F.count("*").over(Window.partitionBy("language", "answer_key")))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )

    corpus = placed.select(
        doc_id_column("qa_id").alias("doc_id"), "qa_id", F.col("page_title").alias("title"),
        F.col("answer").alias("text"), "domain", "unit", "language", "split",
    )
    query_rows = placed.where(F.col("_answer_docs") <= config.max_relevant)
    queries = query_rows.select(
        query_id_column("qa_id").alias("query_id"), "qa_id", F.col("question").alias("text"),
        "domain", "unit", "language", "split",
    )
    docs = placed.select("language", "answer_key", doc_id_column("qa_id").alias("doc_id"))
    qrels = (
        query_rows.select("language", "answer_key", "split", query_id_column("qa_id").alias("query_id"))
        .join(docs, ["language", "answer_key"])
        .select("query_id", "doc_id", F.lit(1).cast("int").alias("score"), "language", "split")
    )

    total = sum(by_language.values())
    too_small = sum(n for lang, n in by_language.items() if lang in selected and lang not in kept)
    not_selected = sum(n for lang, n in by_language.items() if lang not in selected)
    counts = {(r["language"], r["split"]): (r["docs"], r["queries"]) for r in placed.groupBy("language", "split").agg(
        F.count("*").alias("docs"),
        F.sum((F.col("_answer_docs") <= config.max_relevant).cast("int")).alias("queries"),
    ).collect()}
    n_docs = sum(d for d, _ in counts.values())
    n_queries = sum(q for _, q in counts.values())
    n_qrels = qrels.count()

    def base(out: int) -> StageStats:
        stats = StageStats(JOB)
        stats.kept(out)
        if too_small:
            stats.drop("language_too_small", too_small)
        if not_selected:
            stats.drop("language_not_selected", not_selected)
        if contaminated and config.units.decontaminate:
            stats.drop("contaminated", contaminated)
        return stats

    corpus_stats = base(n_docs)
    queries_stats = base(n_queries)
    if n_docs - n_queries:
        queries_stats.drop("answer_too_common", n_docs - n_queries)
    qrels_stats = base(n_queries)
    if n_docs - n_queries:
        qrels_stats.drop("answer_too_common", n_docs - n_queries)
    qrels_stats.count("rows_out", n_qrels)
    if corpus_stats.records_in != total:
        raise RuntimeError(f"{JOB}: {corpus_stats.records_in} QAs accounted for, qa_dedup holds {total}")

    by_split: dict[str, dict[str, dict[str, int]]] = {}
    for (language, split), (docs_n, queries_n) in sorted(counts.items()):
        by_split.setdefault(language, {})[split] = {"docs": docs_n, "queries": queries_n}
    info = {
        "languages": kept, "min_qas": config.min_qas, "max_relevant": config.max_relevant,
        "split_seed": config.splits.seed, "split_fractions": dict(config.splits.fractions),
        "split_units": {k: units.report[k] for k in ("units", "single_domain_units", "oversized_units")},
        "contaminated": contaminated,
        "by_language_split": by_split,
    }
    order = {"corpus": "doc_id", "queries": "query_id", "qrels": "query_id"}
    frames = {}
    for name, df in (("corpus", corpus), ("queries", queries), ("qrels", qrels)):
        dataset = f"benchmarks_{name}"
        keys = [order[name]] + (["doc_id"] if name == "qrels" else [])
        # one file per (language, split), sorted by id: reruns and the JSONL export are byte-identical
        frames[name] = (df.repartition("language", "split").sortWithinPartitions("language", "split", *keys)
                        .select(*load_schema(dataset).names))
    return BenchmarksResult(
        corpus=frames["corpus"], queries=frames["queries"], qrels=frames["qrels"], corpus_stats=corpus_stats,
        queries_stats=queries_stats, qrels_stats=qrels_stats, info=info,
        contamination={**units.report, "contaminated": contaminated, "by_language_split": by_split},
        persisted=[placed, *units.persisted],
    )


class BuildBenchmarks(ReadsEmbeddings, Stage):
    """`qa_dedup` + `qa_embeddings` (+ `duplicates`) -> benchmarks/{corpus,queries,qrels} + `_contamination.json`
    (+ the BEIR export), written as one folder."""

    name, config_type = JOB, BenchmarkConfig
    description = ("Build per-language retrieval benchmarks (BEIR/MTEB layout) from qa_dedup, split by units that "
                   "join a site with the sites holding translations or copies of its QAs, so that no test QA has "
                   "its translation or near copy in train.")
    inputs = (DatasetArg("input", "qa_dedup", "qa_dedup dataset folder"),
              DatasetArg("embeddings", "qa_embeddings", "qa_embeddings of the same qa_dedup (the embed stage)"),
              DatasetArg("duplicates", "duplicates", "the duplicates dedup wrote beside qa_dedup: their clusters join "
                         "domains into units (omit to link by vectors only)", required=False))
    outputs = (DatasetArg("output", "benchmarks", "benchmarks folder to write (replaced atomically)"),)

    def run(self, spark, inputs, config, args) -> StageOutput:
        target = local_path(args.output)
        target.parent.mkdir(parents=True, exist_ok=True)
        checkpoints = target.parent / f".{target.name}.tmp-checkpoints-{uuid.uuid4().hex[:12]}"
        checkpoints.mkdir(parents=True, exist_ok=True)
        spark.sparkContext.setCheckpointDir(str(checkpoints))
        try:
            result = run_benchmarks(inputs["input"], inputs["embeddings"], inputs.get("duplicates"), config)
            tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:12]}"
            info = result.info
            write_dataset(result.corpus, str(tmp / "corpus"), "benchmarks_corpus",
                          result.corpus_stats.to_dict(**info))
            write_dataset(result.queries, str(tmp / "queries"), "benchmarks_queries",
                          result.queries_stats.to_dict(**info))
            write_dataset(result.qrels, str(tmp / "qrels"), "benchmarks_qrels", result.qrels_stats.to_dict(**info))
            summary = result.queries_stats.to_dict(**info, docs=result.corpus_stats.records_out,
                                                   qrels=result.qrels_stats.counters["rows_out"])
            if config.export:
                summary["export"] = export_beir(tmp, tmp / "export")
            (tmp / CONTAMINATION_REPORT).write_text(json.dumps(result.contamination, indent=2) + "\n",
                                                    encoding="utf-8")
            write_stats(tmp, summary)
            replace_folder(tmp, target)
        finally:
            shutil.rmtree(checkpoints, ignore_errors=True)
        return StageOutput(writes={"output": (None, summary)}, written={"output": target},
                           persisted=result.persisted)
