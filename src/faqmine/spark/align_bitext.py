"""The bitext stage on Spark: qa_dedup + qa_embeddings -> bilingual QA pairs mined within each site.

1. Sites: a QA whose domain holds no other language is dropped (`no_other_language_on_site`).
2. Vectors: each remaining QA's question and answer embeddings from `qa_embeddings` (made once
   by the embed stage with the same encoder, checked by model hash), joined into one vector per
   QA whose inner product is the weighted mean of the question and answer cosines
   (faqmine.embedding.encode.qa_vectors, computed here in Spark SQL). Nothing is encoded.
3. Chunks: the QAs of (site, language) are cut into chunks of `chunk_size` by qa_id order;
   every (site, language a < language b, chunk a, chunk b) is one group of a grouped
   `applyInArrow` (both chunks, told apart by a side column) that runs the faiss k-nearest-neighbour search both ways
   (faqmine.align_bitext.alignment.neighbour_edges). A site with thousands of pages becomes many small
   tasks, never one giant one.
4. Decide (Spark SQL, distributed by QA): per QA, its global k nearest from the union of its
   chunks' neighbours and their mean cosine (the margin's knn term); candidates are the pairs
   found from either side; a pair is kept when both QAs are each other's best under the
   chosen score (cosine or margin, ties to the smaller qa_id) and the score reaches the
   threshold: the same pairs faqmine.align_bitext.alignment.align gives on the whole site in memory.

Stats count QAs: out = QAs in at least one pair; dropped `no_other_language_on_site` and
`no_match`; `rows_out` = pairs written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
from pyspark import StorageLevel
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from faqmine.align_bitext.alignment import AlignConfig, neighbour_edges
from faqmine.core.options import option
from faqmine.core.schemas import load_schema
from faqmine.core.stats import StageStats
from faqmine.embedding.encode import arrow_to_vectors
from faqmine.spark.embed import ReadsEmbeddings, vectors_for
from faqmine.spark.stage import DatasetArg, Stage, StageOutput

JOB = "align_bitext"
STATS_COLUMN = "_stats_json"
GROUP_KEYS = ["site", "language_a", "language_b", "chunk_a", "chunk_b"]
_VECTORS_SCHEMA = pa.schema([
    ("qa_id", pa.string()), ("site", pa.string()), ("language", pa.string()),
    ("vector", pa.list_(pa.float32())), (STATS_COLUMN, pa.string()),
])
_EDGES_SCHEMA = pa.schema([
    ("site", pa.string()), ("language_a", pa.string()), ("language_b", pa.string()),
    ("qa_id_a", pa.string()), ("qa_id_b", pa.string()), ("cosine", pa.float32()), ("side", pa.string()),
])


@dataclass(frozen=True)
class BitextConfig:
    """Every knob of the stage: encoding, alignment, and how work is cut."""

    encoder: str | None = option(None, metavar="PATH", help="the encoder the vectors must come from (checked "
                                 "against qa_embeddings' model hash); default: $FAQMINE_ENCODER, else the packaged "
                                 "multilingual-e5-small under models/")
    question_weight: float = option(0.5, help="share of the question cosine in a QA's similarity (the rest: the "
                                    "answer's)")
    align: AlignConfig = field(default_factory=AlignConfig)
    chunk_size: int = option(2000, help="QAs of one site and language per search task")


def multilingual_site_qas(qa_dedup: DataFrame) -> DataFrame:
    """qa_id, site, language, question, answer of the QAs whose site has at least two languages."""
    qas = qa_dedup.select("qa_id", F.col("domain").alias("site"), "language", "question", "answer")
    sites = qas.groupBy("site").agg(F.countDistinct("language").alias("_languages"))
    return qas.join(sites.where(F.col("_languages") >= 2).select("site"), "site")


def qa_vectors_df(qas: DataFrame, embeddings: DataFrame, question_weight: float) -> DataFrame:
    """qa_id, site, language, vector: the joined QA vector (faqmine.embedding.encode.qa_vectors) in Spark."""
    if not 0.0 <= question_weight <= 1.0:
        raise ValueError(f"question_weight must be in [0, 1], got {question_weight}")
    wq, wa = math.sqrt(question_weight), math.sqrt(1.0 - question_weight)
    vector = F.concat(F.transform("question_embedding", lambda x: x * F.lit(wq)),
                      F.transform("answer_embedding", lambda x: x * F.lit(wa))).cast("array<float>")
    return vectors_for(qas, embeddings, "QAs of multilingual sites").select(
        "qa_id", "site", "language", vector.alias("vector"))


def neighbour_edges_df(vectors: DataFrame, config: BitextConfig) -> DataFrame:
    """Each QA's k nearest QAs of the site in every other language, per chunk pair (see module doc)."""
    k = config.align.k
    chunked = vectors.withColumn(
        "chunk",
        F.floor((F.row_number().over(Window.partitionBy("site", "language").orderBy("qa_id")) - 1)
                / F.lit(config.chunk_size)).cast("int"),
    )
    keys = chunked.select("site", "language", "chunk").distinct()
    groups = (
        keys.toDF("site", "language_a", "chunk_a")
        .join(keys.toDF("site", "language_b", "chunk_b"), "site")
        .where(F.col("language_a") < F.col("language_b"))
    )
    side_a = groups.join(chunked.withColumnRenamed("language", "language_a").withColumnRenamed("chunk", "chunk_a"),
                         ["site", "language_a", "chunk_a"]).select(*GROUP_KEYS, "qa_id", "vector",
                                                                   F.lit("a").alias("_side"))
    side_b = groups.join(chunked.withColumnRenamed("language", "language_b").withColumnRenamed("chunk", "chunk_b"),
                         ["site", "language_b", "chunk_b"]).select(*GROUP_KEYS, "qa_id", "vector",
                                                                   F.lit("b").alias("_side"))

    def search(key: tuple, table: pa.Table) -> pa.Table:
        is_a = pc.equal(table.column("_side"), "a")
        a = table.filter(is_a).sort_by("qa_id")
        b = table.filter(pc.invert(is_a)).sort_by("qa_id")
        edges = neighbour_edges(arrow_to_vectors(a.column("vector")), arrow_to_vectors(b.column("vector")), k)
        n = len(edges)
        site, language_a, language_b = (key[0].as_py(), key[1].as_py(), key[2].as_py())
        return pa.Table.from_arrays([
            pa.array([site] * n, pa.string()), pa.array([language_a] * n, pa.string()),
            pa.array([language_b] * n, pa.string()), a.column("qa_id").take(pa.array(edges.i)).combine_chunks(),
            b.column("qa_id").take(pa.array(edges.j)).combine_chunks(), pa.array(edges.cosine, pa.float32()),
            pa.array(edges.side.tolist(), pa.string()),
        ], schema=_EDGES_SCHEMA)

    # one group holds the chunk of language a and the chunk of language b it is searched against
    return side_a.unionByName(side_b).groupBy(*GROUP_KEYS).applyInArrow(search, from_arrow_schema(_EDGES_SCHEMA))


def scored_candidates(edges: DataFrame, k: int) -> DataFrame:
    """Distinct candidate pairs with cosine and margin, from the chunk edges (global top k per QA)."""
    pair_keys = ["site", "language_a", "language_b"]
    ranked_a = Window.partitionBy(*pair_keys, "qa_id_a").orderBy(F.col("cosine").desc(), F.col("qa_id_b"))
    ranked_b = Window.partitionBy(*pair_keys, "qa_id_b").orderBy(F.col("cosine").desc(), F.col("qa_id_a"))
    top_a = (edges.where(F.col("side") == "a").withColumn("_rank", F.row_number().over(ranked_a))
             .where(F.col("_rank") <= k))
    top_b = (edges.where(F.col("side") == "b").withColumn("_rank", F.row_number().over(ranked_b))
             .where(F.col("_rank") <= k))
    knn_a = top_a.groupBy(*pair_keys, "qa_id_a").agg(F.avg("cosine").alias("knn_a"))
    knn_b = top_b.groupBy(*pair_keys, "qa_id_b").agg(F.avg("cosine").alias("knn_b"))
    cols = [*pair_keys, "qa_id_a", "qa_id_b", "cosine"]
    candidates = top_a.select(*cols).unionByName(top_b.select(*cols)).dropDuplicates([*pair_keys, "qa_id_a", "qa_id_b"])
    return (
        candidates.join(knn_a, [*pair_keys, "qa_id_a"]).join(knn_b, [*pair_keys, "qa_id_b"])
        .withColumn("margin", (F.col("cosine") / F.greatest((F.col("knn_a") + F.col("knn_b")) / 2, F.lit(1e-6)))
                    .cast("float"))
        .select(*cols, "margin")
    )


def mutual_best(candidates: DataFrame, method: str, threshold: float | None) -> DataFrame:
    """Candidates where each QA is the other's best under `method`, with score >= threshold (None: all)."""
    pair_keys = ["site", "language_a", "language_b"]
    scored = candidates.withColumn("score", F.col(method).cast("float"))
    best_a = Window.partitionBy(*pair_keys, "qa_id_a").orderBy(F.col("score").desc(), F.col("qa_id_b"))
    best_b = Window.partitionBy(*pair_keys, "qa_id_b").orderBy(F.col("score").desc(), F.col("qa_id_a"))
    mutual = (
        scored.withColumn("_best_a", F.row_number().over(best_a))
        .withColumn("_best_b", F.row_number().over(best_b))
        .where((F.col("_best_a") == 1) & (F.col("_best_b") == 1))
        .drop("_best_a", "_best_b")
        .withColumn("method", F.lit(method))
    )
    return mutual if threshold is None else mutual.where(F.col("score") >= F.lit(threshold))


def bitext_rows(pairs: DataFrame, qas: DataFrame) -> DataFrame:
    """Pairs with both QAs' texts, in the column order of schemas/bitext.json."""
    a = qas.select(F.col("qa_id").alias("qa_id_a"), F.col("question").alias("question_a"),
                   F.col("answer").alias("answer_a"))
    b = qas.select(F.col("qa_id").alias("qa_id_b"), F.col("question").alias("question_b"),
                   F.col("answer").alias("answer_b"))
    rows = (
        pairs.join(a, "qa_id_a").join(b, "qa_id_b")
        .withColumn("pair_id", F.sha1(F.concat_ws("\x1f", "qa_id_a", "qa_id_b")))
        .withColumn("language_pair", F.concat_ws("-", "language_a", "language_b"))
    )
    return rows.select(*load_schema("bitext").names)


@dataclass
class BitextResult:
    bitext: DataFrame
    stats: StageStats
    info: dict
    persisted: list[DataFrame]

    def summary(self) -> dict:
        return self.stats.to_dict(**self.info)

    def unpersist(self) -> None:
        for df in self.persisted:
            df.unpersist()


def run_bitext(qa_dedup: DataFrame, embeddings: DataFrame, config: BitextConfig = BitextConfig()) -> BitextResult:
    """Mine bilingual pairs from qa_dedup; counts are exact (computed from the data, not accumulators)."""
    qas = multilingual_site_qas(qa_dedup).persist(StorageLevel.MEMORY_AND_DISK)
    vectors = qa_vectors_df(qas, embeddings, config.question_weight).persist(StorageLevel.MEMORY_AND_DISK)
    edges = neighbour_edges_df(vectors, config)
    candidates = scored_candidates(edges, config.align.k)
    pairs = mutual_best(candidates, config.align.method, config.align.min_score)
    bitext = bitext_rows(pairs, qas).persist(StorageLevel.MEMORY_AND_DISK)

    total = qa_dedup.count()
    on_multilingual = qas.count()
    aligned = (bitext.select(F.col("qa_id_a").alias("qa_id")).union(bitext.select(F.col("qa_id_b").alias("qa_id")))
               .distinct().count())
    by_pair = {r["language_pair"]: r["count"] for r in bitext.groupBy("language_pair").count().collect()}
    stats = StageStats(JOB)
    stats.kept(aligned)
    stats.drop("no_match", on_multilingual - aligned)
    stats.drop("no_other_language_on_site", total - on_multilingual)
    stats.count("rows_out", sum(by_pair.values()))
    info = {
        "method": config.align.method, "threshold": config.align.min_score, "k": config.align.k,
        "chunk_size": config.chunk_size, "question_weight": config.question_weight,
        "encoder": config.encoder or "default", "vectors_read": vectors.count(), "texts_encoded": 0,
        "pairs_by_language_pair": dict(sorted(by_pair.items())),
    }
    return BitextResult(bitext=bitext, stats=stats, info=info, persisted=[qas, vectors, bitext])


class AlignBitext(ReadsEmbeddings, Stage):
    """`qa_dedup` -> `bitext`: same-site QA pairs in two languages that match."""

    name, config_type = JOB, BitextConfig
    description = "Mine bilingual QA pairs within each site of qa_dedup into bitext."
    inputs = (DatasetArg("input", "qa_dedup", "qa_dedup dataset folder"),
              DatasetArg("embeddings", "qa_embeddings", "qa_embeddings of the same qa_dedup (the embed stage)"))
    outputs = (DatasetArg("output", "bitext", "bitext dataset folder to write (replaced atomically)"),)

    def run(self, spark, inputs, config, args) -> StageOutput:
        result = run_bitext(inputs["input"], inputs["embeddings"], config)
        bitext = result.bitext.repartition("language_pair").sortWithinPartitions("language_pair", "pair_id")
        return StageOutput(writes={"output": (bitext, result.summary())}, persisted=[result])
