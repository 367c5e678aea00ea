"""The hard-negatives stage on Spark: benchmarks (train split) + qa_embeddings -> hard_negatives, over corpus shards.

1. Prepare (`mapInArrow`, rows repartitioned by id and sorted): every train document gets its
   token count, answer key and passage vector (its QA's answer embedding, read from
   `qa_embeddings`, made once by the embed stage with the same encoder, checked by model hash);
   every train query its distinct BM25 terms and query vector (its QA's question embedding).
   Nothing is encoded here. Document frequencies of the corpus' tokens are summed per language (one
   partial count per batch, then a groupBy), and every query carries the frequencies of its
   terms, so a shard needs no other statistics than (documents, mean length) of its language.
2. Scatter: a language's documents are cut into shards by hash(doc_id) (at least `shards`,
   more when a shard would exceed `max_shard_docs`) and its queries into blocks of at most
   `query_block_size`; each (language, shard, block) is one group of a cogrouped
   `applyInArrow` that builds the shard's BM25 and faiss indexes and searches the block's
   queries (faqmine.mine_negatives.negatives.search_shard). No task holds a whole large language.
3. Gather: per (query, retriever) the shards' lists are merged by a groupBy aggregation (sorted
   by score desc, doc_id asc, cut at k): the lists one shard holding everything gives.
4. Teacher: the encoder's cosine (already computed for every hit in step 2), or a
   CrossEncoder folder (`--teacher`, e.g. `faqmine models train-reranker`'s) scoring (query, positive)
   and (query, candidate) text pairs in `mapInArrow` batches, the model loaded once per Python worker;
   its scores replace the cosine everywhere after: the margin filters (relative_margin is
   NV-Retriever's positive-aware filter), the selection and `negative_scores`; the `teacher` column of
   hard_negatives names the model.
5. Filters (faqmine.mine_negatives.negatives.filter_reasons, `mapInArrow`): the query's own answer, its
   qrels, identical answers (answer key), duplicates (duplicates dataset) and translations
   (bitext, as connected groups) of the positive, then the margins; selection by windows (one
   candidate per answer text, range_min, num_negatives).

Stats count train queries: out = queries with at least one negative; dropped
`language_not_selected`, `positive_not_in_corpus`, `no_candidates`, `no_negatives_left`.
`candidates` counts every candidate, dropped by reason, the same way.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
from pyspark import StorageLevel, TaskContext
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from faqmine.build_benchmarks.benchmark import answer_keys
from faqmine.core.options import option
from faqmine.core.schemas import load_schema
from faqmine.core.stats import StageStats
from faqmine.embedding.encode import arrow_to_vectors, resolve_encoder_path
from faqmine.embedding.identity import ModelMismatch
from faqmine.mine_negatives.negatives import (
    MARGINMSE_COLUMNS,
    FilterConfig,
    RecallConfig,
    filter_reasons,
    get_cross_encoder,
    pair_scores,
    search_shard,
    select_negatives,
    triplet_columns,
)
from faqmine.search.lexical import CorpusStats, document_frequencies, query_terms, tokenize_many
from faqmine.spark.build_benchmarks import doc_id_column
from faqmine.spark.datasets import local_path, read_dataset, replace_folder
from faqmine.spark.embed import check_embeddings, vectors_for
from faqmine.spark.stage import DatasetArg, Stage, StageOutput

JOB = "mine_negatives"
GROUP_KEYS = ["language", "shard", "qblock"]
_DOCS_SCHEMA = pa.schema([
    ("doc_id", pa.string()), ("qa_id", pa.string()), ("language", pa.string()), ("text", pa.string()),
    ("doc_len", pa.int64()), ("answer_key", pa.string()), ("vector", pa.list_(pa.float32())),
])
_QUERIES_SCHEMA = pa.schema([
    ("query_id", pa.string()), ("qa_id", pa.string()), ("language", pa.string()), ("text", pa.string()),
    ("terms", pa.list_(pa.string())), ("vector", pa.list_(pa.float32())),
])
_DF_SCHEMA = pa.schema([("language", pa.string()), ("token", pa.string()), ("df", pa.int64())])
_HITS_SCHEMA = pa.schema([
    ("language", pa.string()), ("query_id", pa.string()), ("doc_id", pa.string()), ("source", pa.string()),
    ("score", pa.float32()), ("cosine", pa.float32()),
])
_PAIR_SCORE_SCHEMA = pa.schema([("query_id", pa.string()), ("doc_id", pa.string()), ("teacher_score", pa.float32())])


@dataclass(frozen=True)
class MiningConfig:
    """Every knob of the stage: recall, teacher, filters, and how the work is cut."""

    recall: RecallConfig = field(default_factory=RecallConfig)
    filters: FilterConfig = field(default_factory=FilterConfig)
    encoder: str | None = option(None, metavar="PATH", help="the encoder of dense recall (and of the default "
                                 "teacher) that qa_embeddings must come from (checked by model hash); default: "
                                 "$FAQMINE_ENCODER, else the packaged multilingual-e5-small under models/")
    device: str | None = option(None, help="torch device of the cross-encoder teacher (cpu, cuda, ...)")
    teacher: str | None = option(None, metavar="PATH", help="sentence-transformers CrossEncoder folder (e.g. the "
                                 "one `faqmine models train-reranker` writes, or bge-reranker-v2-m3) that scores "
                                 "(query, positive) and (query, candidate) and drives the margin filters; default: "
                                 "the encoder's cosine of query and passage")
    teacher_batch_size: int = option(32, help="cross-encoder batch size")
    shards: int = option(4, help="corpus shards per language, at least")
    max_shard_docs: int = option(50_000, help="more shards for a language whose shards would hold more documents "
                                 "than this")
    query_block_size: int = option(20_000, help="queries searched by one task")
    languages: tuple[str, ...] | None = option(None, metavar="LANG", help="only these languages")
    query_split: str = option("train", cli=False)
    corpus_splits: tuple[str, ...] = option(("train",), cli=False)  # negatives never come from dev/test documents
    encode_partitions: int | None = option(None, help="tasks that prepare documents and queries and run the "
                                           "cross-encoder (default: twice the default parallelism)")
    # label propagation rounds over the bitext graph (it stops earlier when stable)
    translation_hops: int = option(8, cli=False)

    def __post_init__(self) -> None:
        if self.shards < 1 or self.max_shard_docs < 1 or self.query_block_size < 1:
            raise ValueError("shards, max_shard_docs and query_block_size must be at least 1")

    @property
    def teacher_name(self) -> str:
        return f"cross-encoder:{self.teacher}" if self.teacher else "encoder-cosine"


def _threads() -> int | None:
    context = TaskContext.get()
    return context.cpus() if context is not None else None


def prepare_docs(corpus: DataFrame, embeddings: DataFrame, partitions: int) -> DataFrame:
    """doc_id, qa_id, language, text, doc_len, answer_key, vector (the answer's embedding) of every corpus row."""

    def prepare(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if batch.num_rows == 0:
                continue
            texts = batch.column("text").to_pylist()
            lengths = pa.array([len(t) for t in tokenize_many(texts)], pa.int64())
            yield pa.RecordBatch.from_arrays(
                [batch.column("doc_id"), batch.column("qa_id"), batch.column("language"), batch.column("text"),
                 lengths, pa.array(answer_keys(texts), pa.string()), batch.column("vector")], schema=_DOCS_SCHEMA)

    rows = vectors_for(corpus.select("doc_id", "qa_id", "language", "text"), embeddings, "corpus documents")
    return (rows.select("doc_id", "qa_id", "language", "text", F.col("answer_embedding").alias("vector"))
            .repartition(partitions, "doc_id").sortWithinPartitions("doc_id")
            .mapInArrow(prepare, from_arrow_schema(_DOCS_SCHEMA)))


def prepare_queries(queries: DataFrame, embeddings: DataFrame, partitions: int) -> DataFrame:
    """query_id, qa_id, language, text, terms (distinct BM25 tokens, sorted), vector (the question's embedding)."""

    def prepare(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if batch.num_rows == 0:
                continue
            texts = batch.column("text").to_pylist()
            terms = pa.array([query_terms(t) for t in tokenize_many(texts)], pa.list_(pa.string()))
            yield pa.RecordBatch.from_arrays(
                [batch.column("query_id"), batch.column("qa_id"), batch.column("language"), batch.column("text"),
                 terms, batch.column("vector")], schema=_QUERIES_SCHEMA)

    rows = vectors_for(queries.select("query_id", "qa_id", "language", "text"), embeddings, "train queries")
    return (rows.select("query_id", "qa_id", "language", "text", F.col("question_embedding").alias("vector"))
            .repartition(partitions, "query_id").sortWithinPartitions("query_id")
            .mapInArrow(prepare, from_arrow_schema(_QUERIES_SCHEMA)))


def document_frequency(corpus: DataFrame) -> DataFrame:
    """language, token, df: in how many documents of the language each token occurs."""

    def partial(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            counts: dict[tuple[str, str], int] = {}
            languages = batch.column("language").to_pylist()
            for language in set(languages):
                texts = [t for t, lang in zip(batch.column("text").to_pylist(), languages, strict=True)
                         if lang == language]
                for token, n in document_frequencies(tokenize_many(texts)).items():
                    counts[(language, token)] = n
            if counts:
                keys = list(counts)
                yield pa.RecordBatch.from_arrays(
                    [pa.array([k[0] for k in keys], pa.string()), pa.array([k[1] for k in keys], pa.string()),
                     pa.array(list(counts.values()), pa.int64())], schema=_DF_SCHEMA)

    return (corpus.select("language", "text").mapInArrow(partial, from_arrow_schema(_DF_SCHEMA))
            .groupBy("language", "token").agg(F.sum("df").alias("df")))


def query_term_frequencies(queries: DataFrame, dfs: DataFrame) -> DataFrame:
    """language, query_id, terms, term_dfs: each query's terms that occur in the corpus, with their df."""
    exploded = queries.select("language", "query_id", F.explode("terms").alias("token"))
    known = (exploded.join(dfs, ["language", "token"])
             .groupBy("language", "query_id")
             .agg(F.sort_array(F.collect_list(F.struct("token", "df"))).alias("_terms")))
    return (queries.select("language", "query_id").join(known, ["language", "query_id"], "left")
            .select("language", "query_id",
                    F.coalesce(F.col("_terms.token"), F.array().cast("array<string>")).alias("terms"),
                    F.coalesce(F.col("_terms.df"), F.array().cast("array<bigint>")).alias("term_dfs")))


@dataclass(frozen=True)
class LanguagePlan:
    n_docs: int
    avg_doc_len: float
    n_queries: int
    shards: int
    blocks: int


def plan_languages(docs: DataFrame, queries: DataFrame, config: MiningConfig) -> dict[str, LanguagePlan]:
    doc_rows = {r["language"]: r for r in docs.groupBy("language").agg(
        F.count("*").alias("n"), F.avg("doc_len").alias("avg")).collect()}
    query_rows = {r["language"]: r["count"] for r in queries.groupBy("language").count().collect()}
    plans = {}
    for language, n_queries in sorted(query_rows.items()):
        row = doc_rows.get(language)
        if row is None:
            continue
        shards = max(config.shards, math.ceil(row["n"] / config.max_shard_docs))
        plans[language] = LanguagePlan(n_docs=row["n"], avg_doc_len=float(row["avg"]), n_queries=n_queries,
                                       shards=shards, blocks=max(1, math.ceil(n_queries / config.query_block_size)))
    return plans


def _plan_frame(spark: SparkSession, plans: dict[str, LanguagePlan], what: str) -> DataFrame:
    rows = [(lang, i) for lang, p in plans.items() for i in range(p.shards if what == "shard" else p.blocks)]
    return spark.createDataFrame(rows, f"language string, {what} int")


def _bucket(column: str, counts: dict[str, int]) -> F.Column:
    """pmod(xxhash64(column), count of the row's language)."""
    n = F.create_map(*[x for lang, c in counts.items() for x in (F.lit(lang), F.lit(c))])[F.col("language")]
    return F.pmod(F.xxhash64(column), n).cast("int")


def search_hits(docs: DataFrame, queries: DataFrame, plans: dict[str, LanguagePlan], config: MiningConfig) -> DataFrame:
    """Every shard's BM25 and dense top-k of every query of its language (language, query_id, doc_id, source,
    score, cosine)."""
    spark = docs.sparkSession
    shards = {lang: p.shards for lang, p in plans.items()}
    blocks = {lang: p.blocks for lang, p in plans.items()}
    stats = {lang: (p.n_docs, p.avg_doc_len) for lang, p in plans.items()}
    recall = config.recall
    doc_side = (docs.withColumn("shard", _bucket("doc_id", shards))
                .join(_plan_frame(spark, plans, "qblock"), "language")
                .select(*GROUP_KEYS, "doc_id", "text", "vector"))
    query_side = (queries.withColumn("qblock", _bucket("query_id", blocks))
                  .join(_plan_frame(spark, plans, "shard"), "language")
                  .select(*GROUP_KEYS, "query_id", "terms", "term_dfs", "vector"))

    def search(key: tuple, d: pa.Table, q: pa.Table) -> pa.Table:
        language = key[0].as_py()
        if d.num_rows == 0 or q.num_rows == 0:
            return _HITS_SCHEMA.empty_table()
        q = q.sort_by("query_id")
        doc_freqs: dict[str, int] = {}
        for terms, dfs in zip(q.column("terms").to_pylist(), q.column("term_dfs").to_pylist(), strict=True):
            doc_freqs.update(zip(terms, dfs, strict=True))
        n_docs, avg_len = stats[language]
        hits = search_shard(d.column("doc_id").to_pylist(), d.column("text").to_pylist(),
                            arrow_to_vectors(d.column("vector")), q.column("terms").to_pylist(),
                            arrow_to_vectors(q.column("vector")), CorpusStats(n_docs, avg_len), doc_freqs, recall)
        n = len(hits)
        return pa.Table.from_arrays([
            pa.array([language] * n, pa.string()), q.column("query_id").take(pa.array(hits.query, pa.int64())),
            d.column("doc_id").take(pa.array(hits.doc, pa.int64())), pa.array(hits.source.tolist(), pa.string()),
            pa.array(hits.score, pa.float32()), pa.array(hits.cosine, pa.float32()),
        ], schema=_HITS_SCHEMA)

    return (doc_side.groupBy(*GROUP_KEYS).cogroup(query_side.groupBy(*GROUP_KEYS))
            .applyInArrow(search, from_arrow_schema(_HITS_SCHEMA)))


def merge_hits(hits: DataFrame, recall: RecallConfig) -> DataFrame:
    """Per query, the k best of each retriever over all shards, joined into one row per candidate:
    language, query_id, doc_id, source, bm25_rank, dense_rank, bm25_score, cosine."""
    k = F.when(F.col("source") == "bm25", F.lit(recall.lexical_k)).otherwise(F.lit(recall.semantic_k))
    ranked = (
        hits.groupBy("language", "query_id", "source")
        .agg(F.sort_array(F.collect_list(F.struct((-F.col("score")).alias("neg"), "doc_id", "score", "cosine")))
             .alias("_hits"))
        .select("language", "query_id", "source", F.posexplode(F.slice("_hits", F.lit(1), k)).alias("pos", "hit"))
        .select("language", "query_id", "source", (F.col("pos") + 1).cast("int").alias("rank"), "hit.*")
    )
    bm25 = F.col("source") == "bm25"
    merged = ranked.groupBy("language", "query_id", "doc_id").agg(
        F.min(F.when(bm25, F.col("rank"))).alias("bm25_rank"),
        F.min(F.when(~bm25, F.col("rank"))).alias("dense_rank"),
        F.max(F.when(bm25, F.col("score"))).alias("bm25_score"),
        F.max("cosine").alias("cosine"),
    )
    source = (F.when(F.col("bm25_rank").isNotNull() & F.col("dense_rank").isNotNull(), "both")
              .when(F.col("bm25_rank").isNotNull(), "bm25").otherwise("dense"))
    return merged.withColumn("source", source)


def vector_pair_scores(pairs: DataFrame, queries: DataFrame, docs: DataFrame) -> DataFrame:
    """query_id, doc_id, teacher_score = cosine of the query's and the document's vectors."""
    joined = (pairs.select("query_id", "doc_id")
              .join(queries.select("query_id", F.col("vector").alias("qv")), "query_id")
              .join(docs.select("doc_id", F.col("vector").alias("dv")), "doc_id"))

    def score(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            values = pair_scores(arrow_to_vectors(batch.column("qv")), arrow_to_vectors(batch.column("dv")))
            yield pa.RecordBatch.from_arrays([batch.column("query_id"), batch.column("doc_id"),
                                              pa.array(values, pa.float32())], schema=_PAIR_SCORE_SCHEMA)

    return joined.select("query_id", "doc_id", "qv", "dv").mapInArrow(score, from_arrow_schema(_PAIR_SCORE_SCHEMA))


def cross_encoder_scores(pairs: DataFrame, queries: DataFrame, docs: DataFrame, config: MiningConfig,
                         partitions: int) -> DataFrame:
    """query_id, doc_id, teacher_score from the CrossEncoder folder `config.teacher` (loaded once per worker)."""
    path, device, batch_size = config.teacher, config.device, config.teacher_batch_size
    joined = (pairs.select("query_id", "doc_id")
              .join(queries.select("query_id", F.col("text").alias("query")), "query_id")
              .join(docs.select("doc_id", F.col("text").alias("document")), "doc_id")
              .repartition(partitions, "query_id").sortWithinPartitions("query_id", "doc_id"))

    def score(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        teacher = None
        for batch in batches:
            if batch.num_rows == 0:
                continue
            if teacher is None:
                threads = _threads()
                if threads:
                    import torch

                    torch.set_num_threads(threads)
                teacher = get_cross_encoder(path, device, batch_size)
            values = teacher.score(batch.column("query").to_pylist(), batch.column("document").to_pylist())
            yield pa.RecordBatch.from_arrays([batch.column("query_id"), batch.column("doc_id"),
                                              pa.array(values, pa.float32())], schema=_PAIR_SCORE_SCHEMA)

    return joined.select("query_id", "doc_id", "query", "document").mapInArrow(
        score, from_arrow_schema(_PAIR_SCORE_SCHEMA))


def translation_groups(bitext: DataFrame | None, duplicates: DataFrame | None, hops: int) -> DataFrame | None:
    """qa_id, group: connected groups of the bitext graph (QAs first mapped to their dedup representative),
    by min-label propagation; None without bitext."""
    if bitext is None:
        return None
    edges = bitext.select(F.col("qa_id_a").alias("a"), F.col("qa_id_b").alias("b"))
    if duplicates is not None:
        rep = duplicates.select(F.col("qa_id").alias("_qa"), F.col("representative_qa_id").alias("_rep"))
        for side in ("a", "b"):
            edges = (edges.join(rep, F.col(side) == F.col("_qa"), "left")
                     .withColumn(side, F.coalesce("_rep", side)).drop("_qa", "_rep"))
    edges = edges.where(F.col("a") != F.col("b"))
    both = edges.union(edges.select(F.col("b").alias("a"), F.col("a").alias("b"))).distinct().localCheckpoint()
    labels = both.groupBy("a").agg(F.least(F.min("b"), F.col("a")).alias("group")).withColumnRenamed("a", "qa_id")
    labels = labels.localCheckpoint()
    for _ in range(hops):
        spread = (both.join(labels.withColumnRenamed("qa_id", "a"), "a")
                  .groupBy(F.col("b").alias("qa_id")).agg(F.min("group").alias("_new")))
        updated = (labels.join(spread, "qa_id", "left")
                   .select("qa_id", F.least("group", F.coalesce("_new", "group")).alias("group")).localCheckpoint())
        changed = updated.join(labels.withColumnRenamed("group", "_old"), "qa_id").where(
            F.col("group") != F.col("_old")).limit(1).count()
        labels = updated
        if not changed:
            break
    return labels


def _selection_frame(candidates: DataFrame, filters: FilterConfig) -> DataFrame:
    """Every candidate with its final reason: per query (grouped Arrow), `select_negatives` over the candidates
    the filters left open (None: a negative; duplicate_negative, range_min, beyond_num_negatives)."""
    columns = [*load_schema("hard_negative_candidates").names, "answer_key"]
    frame = candidates.select(*columns)

    def select(table: pa.Table) -> pa.Table:
        reasons = np.asarray(table.column("reason").to_pylist(), dtype=object)
        open_ = np.flatnonzero(np.equal(reasons, None))
        doc_ids, keys = table.column("doc_id").to_pylist(), table.column("answer_key").to_pylist()
        _, selection = select_negatives([doc_ids[i] for i in open_],
                                        table.column("teacher_score").to_numpy(zero_copy_only=False)[open_],
                                        filters, keys=[keys[i] for i in open_])
        reasons[open_] = selection
        return table.set_column(table.schema.get_field_index("reason"), "reason",
                                pa.array(reasons.tolist(), pa.string()))

    return frame.groupBy("query_id").applyInArrow(select, frame.schema)


def _reasons_frame(flagged: DataFrame, filters: FilterConfig) -> DataFrame:
    out_schema = pa.schema([("language", pa.string()), ("query_id", pa.string()), ("doc_id", pa.string()),
                            ("reason", pa.string())])

    def apply(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            flags = {name: batch.column(name).fill_null(False).to_numpy(zero_copy_only=False)
                     for name in ("is_positive", "qrels_positive", "same_answer", "duplicate_of_positive",
                                  "translation_of_positive")}
            reasons = filter_reasons(
                batch.column("teacher_score").to_numpy(zero_copy_only=False),
                batch.column("positive_score").to_numpy(zero_copy_only=False),
                **flags, config=filters)
            yield pa.RecordBatch.from_arrays([batch.column("language"), batch.column("query_id"),
                                              batch.column("doc_id"), pa.array(reasons.tolist(), pa.string())],
                                             schema=out_schema)

    return flagged.mapInArrow(apply, from_arrow_schema(out_schema))


@dataclass
class MiningResult:
    hard_negatives: DataFrame
    candidates: DataFrame
    stats: StageStats
    info: dict
    persisted: list[DataFrame]

    def summary(self) -> dict:
        return self.stats.to_dict(**self.info)

    def unpersist(self) -> None:
        for df in self.persisted:
            df.unpersist()


def run_mining(corpus: DataFrame, queries: DataFrame, embeddings: DataFrame, qrels: DataFrame | None = None,
               duplicates: DataFrame | None = None, bitext: DataFrame | None = None,
               config: MiningConfig = MiningConfig()) -> MiningResult:
    """Mine hard negatives for the `query_split` queries of the benchmarks; counts are exact (from the data)."""
    spark = corpus.sparkSession
    partitions = config.encode_partitions or max(1, 2 * spark.sparkContext.defaultParallelism)
    persisted: list[DataFrame] = []

    def keep(df: DataFrame) -> DataFrame:
        df = df.persist(StorageLevel.MEMORY_AND_DISK)
        persisted.append(df)
        return df

    all_queries = queries.where(F.col("split") == config.query_split)
    by_language = {r["language"]: r["count"] for r in all_queries.groupBy("language").count().collect()}
    selected = sorted(set(config.languages) & set(by_language) if config.languages else by_language)
    corpus = corpus.where(F.col("split").isin(list(config.corpus_splits)) & F.col("language").isin(selected))
    docs = keep(prepare_docs(corpus, embeddings, partitions))
    # a query's positive is its own answer, in the corpus of the same split
    wanted = (all_queries.where(F.col("language").isin(selected))
              .withColumn("positive_id", doc_id_column("qa_id")))
    with_positive = wanted.join(docs.select(F.col("doc_id").alias("positive_id")), "positive_id", "left_semi")
    prepared = keep(prepare_queries(with_positive, embeddings, partitions)
                    .join(with_positive.select("query_id", "positive_id"), "query_id"))
    dfs = document_frequency(corpus)
    terms = query_term_frequencies(prepared.select("language", "query_id", "terms"), dfs)
    searchable = prepared.drop("terms").join(terms.drop("language"), "query_id")
    plans = plan_languages(docs, prepared, config)

    hits = search_hits(docs, searchable, plans, config)
    candidates = keep(merge_hits(hits, config.recall))

    # teacher scores of every candidate and every positive
    positives = prepared.select("query_id", F.col("positive_id").alias("doc_id"))
    if config.teacher:
        pairs = candidates.select("query_id", "doc_id").union(positives).distinct()
        scored = keep(cross_encoder_scores(pairs, prepared, docs, config, partitions))
        positive_scores = scored.join(positives, ["query_id", "doc_id"], "left_semi")
        candidate_scores = candidates.join(scored, ["query_id", "doc_id"])
    else:
        positive_scores = keep(vector_pair_scores(positives, prepared, docs))
        candidate_scores = candidates.withColumn("teacher_score", F.col("cosine"))

    # identity flags: qrels, answer key, duplicate representative, translation group
    doc_info = docs.select("doc_id", "qa_id", "answer_key")
    if duplicates is not None:
        reps = duplicates.select(F.col("qa_id").alias("_qa"), F.col("representative_qa_id").alias("_rep"))
        doc_info = (doc_info.join(reps, F.col("qa_id") == F.col("_qa"), "left")
                    .withColumn("dup_group", F.coalesce("_rep", "qa_id")).drop("_qa", "_rep"))
    else:
        doc_info = doc_info.withColumn("dup_group", F.col("qa_id"))
    groups = translation_groups(bitext, duplicates, config.translation_hops)
    if groups is not None:
        doc_info = (doc_info.join(groups.withColumnRenamed("qa_id", "dup_group"), "dup_group", "left")
                    .withColumn("trans_group", F.coalesce("group", "dup_group")).drop("group"))
    else:
        doc_info = doc_info.withColumn("trans_group", F.col("dup_group"))
    doc_info = keep(doc_info)
    query_info = (positives.withColumnRenamed("doc_id", "positive_id")
                  .join(positive_scores.select("query_id", F.col("teacher_score").alias("positive_score")), "query_id")
                  .join(doc_info.select(F.col("doc_id").alias("positive_id"), F.col("answer_key").alias("p_key"),
                                        F.col("dup_group").alias("p_dup"), F.col("trans_group").alias("p_trans")),
                        "positive_id"))
    flagged = (candidate_scores.join(query_info, "query_id")
               .join(doc_info.select("doc_id", "answer_key", "dup_group", "trans_group"), "doc_id"))
    if qrels is not None:
        judged = qrels.select("query_id", "doc_id", F.lit(True).alias("qrels_positive")).distinct()
        flagged = flagged.join(judged, ["query_id", "doc_id"], "left")
    else:
        flagged = flagged.withColumn("qrels_positive", F.lit(False))
    flagged = flagged.select(
        "language", "query_id", "doc_id", "teacher_score", "positive_score",
        (F.col("doc_id") == F.col("positive_id")).alias("is_positive"),
        F.coalesce("qrels_positive", F.lit(False)).alias("qrels_positive"),
        (F.col("answer_key") == F.col("p_key")).alias("same_answer"),
        (F.col("dup_group") == F.col("p_dup")).alias("duplicate_of_positive"),
        (F.col("trans_group") == F.col("p_trans")).alias("translation_of_positive"),
    )
    reasons = _reasons_frame(flagged, config.filters)

    # selection among the rest, per query: the library's select_negatives (skip range_min, keep num_negatives)
    scored_candidates = (candidate_scores.join(reasons.drop("language"), ["query_id", "doc_id"])
                         .join(query_info.select("query_id", "positive_score"), "query_id")
                         .join(doc_info.select("doc_id", "answer_key"), "doc_id"))
    candidate_rows = keep(_selection_frame(scored_candidates, config.filters).select(
        *load_schema("hard_negative_candidates").names))

    negatives = (
        candidate_rows.where(F.col("reason").isNull())
        .join(docs.select("doc_id", "text"), "doc_id")
        .groupBy("language", "query_id")
        .agg(F.sort_array(F.collect_list(F.struct((-F.col("teacher_score")).alias("neg"), "doc_id", "text",
                                                  "teacher_score", "source"))).alias("_n"))
    )
    hard = (
        negatives.join(prepared.select("query_id", F.col("text").alias("query"), "positive_id"), "query_id")
        .join(docs.select(F.col("doc_id").alias("positive_id"), F.col("text").alias("positive")), "positive_id")
        .join(positive_scores.select("query_id", F.col("teacher_score").alias("positive_score")), "query_id")
        .select("query_id", "language", "query", "positive_id", "positive",
                F.col("positive_score").cast("float").alias("positive_score"),
                F.col("_n.doc_id").cast("array<string>").alias("negative_ids"),
                F.col("_n.text").cast("array<string>").alias("negatives"),
                F.col("_n.teacher_score").cast("array<float>").alias("negative_scores"),
                F.col("_n.source").cast("array<string>").alias("negative_sources"),
                F.lit(config.teacher_name).alias("teacher"))
    )
    hard = keep(hard.select(*load_schema("hard_negatives").names))

    # exact counts, from the data: one aggregation per output
    kept_by_language = {r["language"]: r["count"] for r in hard.groupBy("language").count().collect()}
    by_reason_source = [(r["reason"], r["source"], r["count"])
                        for r in candidate_rows.groupBy("reason", "source").count().collect()]
    n_with_candidates = candidate_rows.select("query_id").distinct().count()
    n_out = sum(kept_by_language.values())
    n_prepared = sum(p.n_queries for p in plans.values())  # every prepared query has a positive, so docs
    n_wanted = sum(by_language[lang] for lang in selected)
    total = sum(by_language.values())
    stats = StageStats(JOB)
    stats.kept(n_out)
    for reason, n in (("language_not_selected", total - n_wanted), ("positive_not_in_corpus", n_wanted - n_prepared),
                      ("no_candidates", n_prepared - n_with_candidates),
                      ("no_negatives_left", n_with_candidates - n_out)):
        if n:
            stats.drop(reason, n)
    by_reason: dict[str | None, int] = {}
    by_source: dict[str, int] = {}
    for reason, source, count in by_reason_source:
        by_reason[reason] = by_reason.get(reason, 0) + count
        by_source[source] = by_source.get(source, 0) + count
    n_candidates = sum(by_reason.values())
    n_negatives = by_reason.get(None, 0)
    from faqmine.retrieval.reranker import card_summary  # the driver only, once

    info = {
        "teacher": config.teacher_name, "teacher_card": card_summary(config.teacher),
        "encoder": config.encoder or "default", "texts_encoded": 0,
        "vectors_read": {"documents": sum(p.n_docs for p in plans.values()),
                         "queries": sum(p.n_queries for p in plans.values())},
        "k": config.recall.lexical_k,
        "dense_k": config.recall.semantic_k, "bm25": vars(config.recall.bm25),
        "filters": {k: v for k, v in vars(config.filters).items()}, "query_split": config.query_split,
        "corpus_splits": list(config.corpus_splits), "languages": selected,
        "shards": {lang: p.shards for lang, p in plans.items()},
        "query_blocks": {lang: p.blocks for lang, p in plans.items()},
        "corpus_docs": {lang: p.n_docs for lang, p in plans.items()},
        "queries_out_by_language": dict(sorted(kept_by_language.items())),
        "candidates": {"in": n_candidates, "out": n_negatives,
                       "dropped": dict(sorted((r, n) for r, n in by_reason.items() if r is not None)),
                       "by_source": dict(sorted(by_source.items()))},
        "negatives_per_query": round(n_negatives / n_out, 2) if n_out else 0.0,
    }
    return MiningResult(hard_negatives=hard, candidates=candidate_rows, stats=stats, info=info, persisted=persisted)


def export_triplets(hard: DataFrame, n: int) -> DataFrame:
    """(anchor, positive, negative_1..n) for MultipleNegativesRankingLoss: queries with at least n negatives."""
    return (hard.where(F.size("negatives") >= n)
            .repartition("language").sortWithinPartitions("language", "query_id")
            .select(*[column.alias(name) for column, name in zip(
                [F.col("query"), F.col("positive"), *[F.col("negatives")[i] for i in range(n)]],
                triplet_columns(n), strict=True)]))


def export_marginmse(hard: DataFrame, n: int | None) -> DataFrame:
    """(query, positive, negative, label = teacher(query, positive) - teacher(query, negative)) for MarginMSELoss:
    one row per (query, negative), the first n negatives of each query (None: all)."""
    pairs = F.arrays_zip(F.col("negatives").alias("negative"), F.col("negative_scores").alias("score"))
    if n is not None:
        pairs = F.slice(pairs, 1, n)
    return (hard.repartition("language").sortWithinPartitions("language", "query_id")
            .select("query", "positive", "positive_score", F.posexplode(pairs).alias("_pos", "_pair"))
            .select(*[column.alias(name) for column, name in zip(
                [F.col("query"), F.col("positive"), F.col("_pair.negative"),
                 (F.col("positive_score") - F.col("_pair.score")).cast("float")], MARGINMSE_COLUMNS, strict=True)]))


def _finished(path: Path) -> bool:
    return (path / "_SUCCESS").exists() or (path / "_stats.json").exists()


def _side_input(value: str | None, benchmarks: Path, name: str) -> Path | None:
    """An explicit path, 'none', or (default) the sibling dataset of the benchmarks folder when it exists."""
    if value is not None:
        return None if value.lower() == "none" else local_path(value)
    sibling = benchmarks.parent / name
    return sibling if _finished(sibling) else None


class MineNegatives(Stage):
    """benchmarks (train split) -> `hard_negatives` (+ candidates, + the sentence-transformers exports)."""

    name, config_type = JOB, MiningConfig
    description = ("Mine hard negatives for the train queries of the benchmarks: BM25 + dense recall over corpus "
                   "shards, teacher scores, false-negative filters.")
    outputs = (DatasetArg("output", "hard_negatives", "hard_negatives dataset folder to write (replaced atomically)"),
               DatasetArg("candidates-output", "hard_negative_candidates", "also write every candidate with its "
                          "scores and reason (hard_negative_candidates)", required=False))

    def add_arguments(self, parser) -> None:
        parser.add_argument("--benchmarks", required=True, help="benchmarks folder (corpus/, queries/, qrels/)")
        parser.add_argument("--embeddings", default=None, metavar="PATH",
                            help="qa_embeddings of the benchmarks' QAs (default: qa_embeddings beside the "
                            "benchmarks folder)")
        for name in ("duplicates", "bitext"):
            parser.add_argument(f"--{name}", default=None, metavar="PATH|none",
                                help=f"{name} dataset (default: beside the benchmarks folder when there is one)")
        parser.add_argument("--export", default=None, metavar="PATH",
                            help="folder of the training exports (default: <output>_export)")
        parser.add_argument("--no-export", action="store_true", help="write the hard_negatives dataset only")
        parser.add_argument("--export-negatives", type=int, default=5,
                            help="negatives per query in the exports: negative_1..n columns of triplets (queries "
                            "with fewer are left out), rows per query in marginmse")

    def configure(self, args, parser) -> MiningConfig:
        benchmarks = local_path(args.benchmarks)
        for part in ("corpus", "queries", "qrels"):
            if not _finished(benchmarks / part):
                parser.error(f"{benchmarks / part} is not a finished dataset (run jobs/build_benchmarks.py)")
        if args.export_negatives < 1:
            parser.error("--export-negatives must be at least 1")
        config = super().configure(args, parser)
        encoder = resolve_encoder_path(config.encoder)  # here: executors need not share the driver's env
        if not Path(encoder).is_dir():
            parser.error(f"no encoder folder at {encoder} (build the default one with `make setup`)")
        teacher = str(local_path(config.teacher)) if config.teacher else None
        if teacher and not Path(teacher).is_dir():
            parser.error(f"no cross-encoder folder at {teacher}")
        embeddings = local_path(args.embeddings) if args.embeddings else benchmarks.parent / "qa_embeddings"
        try:
            check_embeddings(str(embeddings), encoder)
        except (FileNotFoundError, ModelMismatch) as exc:
            parser.error(str(exc))
        self.side_inputs = {"benchmarks": benchmarks, "embeddings": embeddings,
                            "duplicates": _side_input(args.duplicates, benchmarks, "duplicates"),
                            "bitext": _side_input(args.bitext, benchmarks, "bitext")}
        return replace(config, encoder=encoder, teacher=teacher)

    def read_inputs(self, spark, args) -> dict[str, DataFrame]:
        sides = self.side_inputs
        frames = {part: read_dataset(spark, str(sides["benchmarks"] / part), f"benchmarks_{part}")
                  for part in ("corpus", "queries", "qrels")}
        for name in ("duplicates", "bitext"):
            frames[name] = read_dataset(spark, str(sides[name]), name) if sides[name] else None
        frames["embeddings"] = read_dataset(spark, str(sides["embeddings"]), "qa_embeddings")
        return frames

    def run(self, spark, inputs, config, args) -> StageOutput:
        result = run_mining(inputs["corpus"], inputs["queries"], inputs["embeddings"], inputs["qrels"],
                            inputs["duplicates"], inputs["bitext"], config)
        summary = result.summary()
        summary["inputs"] = {name: str(path or "") for name, path in self.side_inputs.items()}
        writes = {"output": (result.hard_negatives.repartition("language").sortWithinPartitions("language",
                                                                                               "query_id"), summary)}
        if args.candidates_output:
            counts = summary["candidates"]
            candidate_stats = StageStats(JOB)
            candidate_stats.kept(counts["out"])
            for reason, n in counts["dropped"].items():
                candidate_stats.drop(reason, n)
            candidate_stats.count("rows_out", counts["in"])  # every candidate is written, negatives have no reason
            candidates = (result.candidates.repartition("language")
                          .sortWithinPartitions("language", "query_id", "doc_id"))
            writes["candidates-output"] = (candidates, candidate_stats.to_dict(unit="candidate"))
        return StageOutput(writes=writes, persisted=[result])

    def after_write(self, spark, paths, output, config, args) -> None:
        if args.no_export:
            return
        path = paths["output"]
        target = local_path(args.export) if args.export else path.parent / f"{path.name}_export"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:12]}"
        hard = spark.read.parquet(str(path))
        n = args.export_negatives
        export_triplets(hard, n).write.parquet(str(tmp / "triplets"))
        export_marginmse(hard, n).write.parquet(str(tmp / "marginmse"))
        exported = {"negatives_per_query": n,
                    "triplets_rows": spark.read.parquet(str(tmp / "triplets")).count(),
                    "marginmse_rows": spark.read.parquet(str(tmp / "marginmse")).count()}
        (tmp / "_export.json").write_text(json.dumps(exported, indent=2) + "\n", encoding="utf-8")
        replace_folder(tmp, target)
        output.writes["output"][1]["export"] = {"path": str(target), **exported}
