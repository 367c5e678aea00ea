"""The embed stage on Spark: qa_dedup -> qa_embeddings, every QA encoded once per encoder.

1. Reuse: when the output folder already holds vectors of the same encoder (same model hash),
   the QAs found there keep their vectors; only QAs not in it are encoded (a grown
   `qa_dedup` costs only its new QAs). Vectors of QAs no longer in `qa_dedup`, or of another
   encoder, are not carried over (counted as `stale_vectors_removed`).
2. Encode (`mapInArrow`): the rows to encode are repartitioned by qa_id and sorted, so batches,
   and so vectors, are the same on every run; each Python worker loads the encoder once
   (faqmine.embedding.encode.get_encoder). The question gets the model's query prompt and the
   answer its passage prompt (e5: "query: " / "passage: "), the prompts retrieval, training and
   evaluation use; sentence-transformers sorts each call's texts by length before batching.
   Each task also emits one stats row (texts, seconds inside encode, worker peak RSS).

Every stage that needs vectors reads this dataset (`read_embeddings`), checks that it was made
by its own encoder (faqmine.embedding.identity), and joins by qa_id; none encodes again.

Stats count the QAs of qa_dedup: out = QAs with vectors (all of them); `encoded` and `reused`
say how many were computed in this run and how many were kept from the last one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyarrow as pa
from pyspark import StorageLevel, TaskContext
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from faqmine.core.options import option
from faqmine.core.schemas import load_schema
from faqmine.core.stats import StageStats, read_stats
from faqmine.embedding.encode import (
    EncodeConfig,
    Stopwatch,
    encode_texts,
    get_encoder,
    peak_rss_mb,
    resolve_encoder_path,
    vectors_to_arrow,
)
from faqmine.embedding.identity import ModelFingerprint, check_same_model, model_fingerprint
from faqmine.search.dense import prompt_name
from faqmine.spark.datasets import local_path, read_dataset
from faqmine.spark.stage import DatasetArg, Stage, StageOutput

JOB = "embed"
DATASET = "qa_embeddings"
STATS_COLUMN = "_stats_json"


@dataclass(frozen=True)
class EmbedConfig:
    """The encoder and how the work is cut."""

    encode: EncodeConfig = field(default_factory=EncodeConfig)
    encode_partitions: int | None = option(None, help="tasks that encode (default: twice the default parallelism)")
    reuse: bool = option(True, flag="--no-reuse", help="encode every QA again, even when the output holds "
                         "vectors of the same encoder")


def _output_schema() -> pa.Schema:
    """qa_embeddings' columns, all nullable, plus the side column of the per-task stats rows."""
    fields = [f.with_nullable(True) for f in load_schema(DATASET).arrow()]
    return pa.schema([*fields, pa.field(STATS_COLUMN, pa.string())])


def stored_fingerprint(path: str | Path) -> ModelFingerprint | None:
    """The encoder of the finished qa_embeddings dataset at `path` (None: no such dataset)."""
    folder = local_path(str(path))
    if not (folder / "_stats.json").is_file():
        return None
    stats = read_stats(folder)
    return ModelFingerprint(name=stats["model"], hash=stats["model_hash"])


def check_embeddings(path: str, encoder: str) -> None:
    """Raise unless `path` is a finished qa_embeddings dataset made by `encoder` (ModelMismatch names both)."""
    stored = stored_fingerprint(path)
    if stored is None:
        raise FileNotFoundError(f"{local_path(path)} is not a finished {DATASET} dataset (no _stats.json): "
                                "run the embed stage first")
    check_same_model(stored, model_fingerprint(encoder), str(local_path(path)))


def read_embeddings(spark: SparkSession, path: str, encoder: str) -> DataFrame:
    """The qa_embeddings dataset at `path`, after checking it was made by `encoder` (ModelMismatch if not)."""
    check_embeddings(path, encoder)
    return read_dataset(spark, path, DATASET)


class ReadsEmbeddings:
    """Mixin for a Stage that reads `--embeddings` and whose Config names its `encoder`: the encoder folder is
    resolved on the driver (executors need not share its environment), and vectors of another model are refused
    before anything runs. List it before `Stage`: `class AlignBitext(ReadsEmbeddings, Stage)`."""

    def configure(self, args, parser):
        config = super().configure(args, parser)
        encoder = resolve_encoder_path(config.encoder)
        if not Path(encoder).is_dir():
            parser.error(f"no encoder folder at {encoder} (build the default one with `make setup`)")
        return replace(config, encoder=encoder)

    def read_inputs(self, spark, args):
        check_embeddings(args.embeddings, resolve_encoder_path(args.encoder))
        return super().read_inputs(spark, args)


def vectors_for(rows: DataFrame, embeddings: DataFrame, what: str) -> DataFrame:
    """rows with their QA's vectors joined by qa_id; a QA without vectors raises, naming how many and one qa_id.

    A stage reads vectors made from the same qa_dedup it reads: a QA that has none means the
    embed stage ran on an older qa_dedup (rerun it; it encodes only what is missing)."""
    missing = rows.select("qa_id").join(embeddings.select("qa_id"), "qa_id", "left_anti")
    first = missing.limit(1).collect()
    if first:
        raise ValueError(f"{missing.count()} {what} have no vectors in {DATASET} (e.g. qa_id {first[0][0]}): "
                         "run the embed stage on the current qa_dedup first")
    return rows.join(embeddings.select("qa_id", "question_embedding", "answer_embedding"), "qa_id")


@dataclass
class EncodeStats:
    texts: int
    seconds: float  # summed over tasks, inside encode calls
    worker_peak_rss_mb: float
    tasks: int


def encode_qas(qas: DataFrame, config: EmbedConfig, fingerprint: ModelFingerprint) -> tuple[DataFrame, DataFrame]:
    """(vectors in the qa_embeddings schema, the persisted frame holding them and the task stats rows)."""
    spark = qas.sparkSession
    partitions = config.encode_partitions or max(1, 2 * spark.sparkContext.defaultParallelism)
    encode, schema = config.encode, _output_schema()

    def encode_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        context = TaskContext.get()
        threads = encode.threads or (context.cpus() if context is not None else None)
        watch, texts, model = Stopwatch(), 0, None
        for batch in batches:
            if batch.num_rows == 0:
                continue
            if model is None:
                model = get_encoder(encode.encoder, encode.device, threads=threads, backend=encode.backend)
                query_prompt, passage_prompt = prompt_name(model, "query"), prompt_name(model, "document")
                prefixes = [(model.prompts or {}).get(p, "") if p else "" for p in (query_prompt, passage_prompt)]
            with watch:
                questions = encode_texts(model, batch.column("question").to_pylist(),
                                         replace(encode, prompt_name=query_prompt))
                answers = encode_texts(model, batch.column("answer").to_pylist(),
                                       replace(encode, prompt_name=passage_prompt))
            texts += 2 * batch.num_rows
            n = batch.num_rows
            yield pa.RecordBatch.from_arrays([
                batch.column("qa_id"), vectors_to_arrow(questions), vectors_to_arrow(answers),
                pa.array([fingerprint.name] * n), pa.array([fingerprint.hash] * n),
                pa.array([prefixes[0]] * n), pa.array([prefixes[1]] * n), batch.column("language"),
                pa.nulls(n, pa.string()),
            ], schema=schema)
        stats = {"texts": texts, "seconds": watch.seconds, "peak_rss_mb": peak_rss_mb()}
        yield pa.RecordBatch.from_pylist([{STATS_COLUMN: json.dumps(stats)}], schema=schema)

    out = (
        qas.select("qa_id", "question", "answer", "language").repartition(partitions, "qa_id")
        .sortWithinPartitions("qa_id").mapInArrow(encode_partition, from_arrow_schema(schema))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    return out.where(F.col(STATS_COLUMN).isNull()).drop(STATS_COLUMN), out


def task_stats(persisted: DataFrame) -> EncodeStats:
    rows = [json.loads(r[0]) for r in persisted.where(F.col(STATS_COLUMN).isNotNull()).select(STATS_COLUMN).collect()]
    return EncodeStats(texts=sum(r["texts"] for r in rows), seconds=sum(r["seconds"] for r in rows),
                       worker_peak_rss_mb=max((r["peak_rss_mb"] for r in rows if r["texts"]), default=0.0),
                       tasks=len(rows))


@dataclass
class EmbedResult:
    embeddings: DataFrame
    stats: dict
    persisted: list[DataFrame]


def run_embed(qa_dedup: DataFrame, config: EmbedConfig, previous: DataFrame | None = None) -> EmbedResult:
    """Vectors for every QA of qa_dedup; `previous` (vectors of the same encoder) are kept where they fit."""
    encoder = resolve_encoder_path(config.encode.encoder)
    fingerprint = model_fingerprint(encoder)
    qas = qa_dedup.select("qa_id", "question", "answer", "language")
    reused = (previous.join(qas.select("qa_id"), "qa_id", "left_semi")
              if previous is not None else None)
    todo = qas.join(reused.select("qa_id"), "qa_id", "left_anti") if reused is not None else qas
    new, persisted = encode_qas(todo, config, fingerprint)
    columns = load_schema(DATASET).names
    embeddings = new.select(*columns) if reused is None else new.select(*columns).unionByName(reused.select(*columns))

    total = qa_dedup.count()
    encoded = new.count()
    kept = total - encoded
    encode_stats = task_stats(persisted)
    stats = StageStats(JOB)
    stats.kept(total)
    info = {
        "model": fingerprint.name, "model_hash": fingerprint.hash, "encoder": encoder,
        "backend": config.encode.backend,
        "encoded": encoded, "reused": kept,
        "stale_vectors_removed": (previous.count() - kept) if previous is not None else 0,
        "texts_encoded": encode_stats.texts, "encode_task_seconds": round(encode_stats.seconds, 3),
        "encode_tasks": encode_stats.tasks, "worker_peak_rss_mb": round(encode_stats.worker_peak_rss_mb, 1),
        "max_seq_length": config.encode.max_seq_length,
    }
    if encode_stats.seconds > 0:
        info["texts_per_task_second"] = round(encode_stats.texts / encode_stats.seconds, 1)
    return EmbedResult(embeddings=embeddings, stats=stats.to_dict(**info), persisted=[persisted])


class Embed(Stage):
    """`qa_dedup` -> `qa_embeddings`: question and answer vectors of every QA, computed once."""

    name, config_type = JOB, EmbedConfig
    description = ("Encode the question and answer of every QA of qa_dedup once into qa_embeddings; "
                   "re-running on a grown qa_dedup encodes only the new QAs.")
    inputs = (DatasetArg("input", "qa_dedup", "qa_dedup dataset folder"),)
    outputs = (DatasetArg("output", DATASET, "qa_embeddings dataset folder to write (replaced atomically; "
                          "its vectors of the same encoder are reused)"),)

    def configure(self, args, parser) -> EmbedConfig:
        config = super().configure(args, parser)
        encoder = resolve_encoder_path(config.encode.encoder)  # here: executors need not share the driver's env
        if not Path(encoder).is_dir():
            parser.error(f"no encoder folder at {encoder} (build the default one with `make setup`)")
        return replace(config, encode=replace(config.encode, encoder=encoder))

    def run(self, spark, inputs, config, args) -> StageOutput:
        previous = None
        stored = stored_fingerprint(args.output) if config.reuse else None
        if stored is not None and stored.hash == model_fingerprint(config.encode.encoder).hash:
            # the new dataset is written to a sibling folder and renamed into place only after the
            # write, so these files are read before they are replaced
            previous = read_dataset(spark, args.output, DATASET)
        result = run_embed(inputs["input"], config, previous)
        embeddings = result.embeddings.repartition("language").sortWithinPartitions("language", "qa_id")
        return StageOutput(writes={"output": (embeddings, result.stats)}, persisted=result.persisted)
