"""The dedup stage on Spark: qa -> qa_dedup (one representative per cluster) + duplicates (everything removed).

1. Features (`mapInArrow` over whole batches, faqmine.dedup.features.qa_features): exact key, MinHash
   signatures of question and answer (datasketch-identical), LSH band keys.
2. Exact duplicates: rows sharing (scope, exact key); the first by the representative order
   (earliest fetch, smallest URL, ...) stands for its group in the near-duplicate search.
3. Near duplicates: group the exact representatives by (scope, band, key); buckets give
   candidate pairs. A bucket larger than `max_bucket_size` is cut, in node order, into blocks
   of that size, and pairs are formed only within a block and with the next block: each
   member still meets at least `max_bucket_size` others, the work stays linear in the bucket
   size and spreads over many tasks, so one template answer cannot blow up a task. Pairs are
   kept when the estimated Jaccard of their questions and of their answers both reach the
   threshold (faqmine.dedup.features explains why both).
4. Clusters: connected components (faqmine.spark.components, large-star/small-star) over the
   verified pairs; an exact group joins its representative's cluster.
5. Per cluster: the first row by the representative order is kept in qa_dedup with
   `cluster_id` (smallest qa_id of the cluster) and `cluster_size`; every other row goes to
   duplicates as `exact` (same exact key as the representative) or `near`, with its
   similarity to the representative (min of the question and answer estimates).

Scope "language" (default, as WebFAQ) compares QAs of one language only; "global" compares all.
"""

from __future__ import annotations

import shutil
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from faqmine.core.schemas import load_schema
from faqmine.core.stats import StageStats
from faqmine.dedup.features import REPRESENTATIVE_ORDER, DedupConfig, feature_schema, features_batch
from faqmine.spark.components import connected_components
from faqmine.spark.datasets import local_path
from faqmine.spark.stage import DatasetArg, Stage, StageOutput

JOB = "dedup"
NODE_SEP = "\x1f"
# A total order of rows for reproducible files.
OUTPUT_ORDER = ("language", "qa_id", "crawl", "warc_file", "warc_record_offset", "position")


def estimated_jaccard_col(a: Column, b: Column, num_perm: int) -> Column:
    """Share of equal signature values (datasketch's MinHash.jaccard) as a Spark expression."""
    equal = F.zip_with(a, b, lambda x, y: (x == y).cast("int"))
    return F.aggregate(equal, F.lit(0), lambda acc, x: acc + x) / F.lit(num_perm)


def similarity_col(a: str, b: str, num_perm: int) -> Column:
    """min(question, answer) estimated Jaccard of two concatenated signatures (dedup.features.pair_similarity)."""
    def part(col: str, start: int) -> Column:
        return F.slice(F.col(col), start, num_perm)

    question = estimated_jaccard_col(part(a, 1), part(b, 1), num_perm)
    answer = estimated_jaccard_col(part(a, num_perm + 1), part(b, num_perm + 1), num_perm)
    return F.least(question, answer).cast("float")


def _order() -> list[Column]:
    return [F.col(c).asc_nulls_last() for c in REPRESENTATIVE_ORDER]


@dataclass
class DedupResult:
    qa_dedup: DataFrame
    duplicates: DataFrame
    stats: StageStats
    duplicate_stats: StageStats
    by_language: dict[str, int]
    info: dict = field(default_factory=dict)  # bands, rows, pairs, iterations ... for _stats.json
    persisted: list[DataFrame] = field(default_factory=list)

    def summary(self) -> dict:
        return self.stats.to_dict(by_language=self.by_language, **self.info)

    def duplicates_summary(self) -> dict:
        return self.duplicate_stats.to_dict(**self.info)

    def unpersist(self) -> None:
        for df in self.persisted:
            df.unpersist()


def bucket_members(reps: DataFrame, max_bucket_size: int) -> DataFrame:
    """Members of LSH buckets holding 2+ nodes: (_scope, band, key, node, size, rn, block)."""
    bucket = Window.partitionBy("_scope", "band", "key")
    return (
        reps.select("node", "_scope", F.posexplode("_bands").alias("band", "key"))
        .withColumn("size", F.count("*").over(bucket))
        .where(F.col("size") > 1)
        .withColumn("rn", F.row_number().over(bucket.orderBy("node")) - 1)
        .withColumn("block", F.floor(F.col("rn") / F.lit(max_bucket_size)))
    )


def candidate_pairs(buckets: DataFrame) -> DataFrame:
    """Pairs a < b of nodes in one bucket block or in neighbouring blocks of one bucket."""
    keys = ["_scope", "band", "key", "jb"]
    left = buckets.select("_scope", "band", "key", F.col("block").alias("jb"), F.col("node").alias("a"),
                          F.col("rn").alias("rn_a"))
    right = buckets.select("_scope", "band", "key", F.explode(F.array("block", F.col("block") - 1)).alias("jb"),
                           F.col("node").alias("b"), F.col("rn").alias("rn_b"))
    return left.join(right, keys).where(F.col("rn_a") < F.col("rn_b")).select("a", "b").distinct()


def run_dedup(qa: DataFrame, config: DedupConfig | None = None) -> DedupResult:
    """Deduplicate qa. Set the Spark checkpoint directory first (connected components checkpoint)."""
    config = config or DedupConfig()
    bands, rows = config.bands_rows
    qa_names = load_schema("qa").names
    schema = feature_schema()

    def process(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield features_batch(batch, config)

    exact_group = Window.partitionBy("_scope", "_exact_key").orderBy(*_order())
    ranked = (
        qa.mapInArrow(process, from_arrow_schema(schema))
        .withColumn("_exact_rank", F.row_number().over(exact_group))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    persisted = [ranked]
    stats = StageStats(JOB)
    rows_in = ranked.count()

    reps = (
        ranked.where(F.col("_exact_rank") == 1)
        .select(F.concat_ws(NODE_SEP, "_scope", "qa_id").alias("node"), "_scope", "_exact_key", "_signature",
                "_bands", "_char_ngrams")
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    persisted.append(reps)
    shingle_kinds = {r["_char_ngrams"]: r["count"] for r in reps.groupBy("_char_ngrams").count().collect()}
    buckets = bucket_members(reps, config.max_bucket_size).persist(StorageLevel.MEMORY_AND_DISK)
    persisted.append(buckets)
    signatures = reps.select("node", "_signature")
    scored = (
        candidate_pairs(buckets).join(signatures.toDF("a", "sig_a"), "a")
        .join(signatures.toDF("b", "sig_b"), "b")
        .select("a", "b", similarity_col("sig_a", "sig_b", config.num_perm).alias("similarity"))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    persisted.append(scored)
    verified = F.col("similarity") >= F.lit(config.threshold)
    pair_counts = scored.agg(F.count("*").alias("n"), F.count(F.when(verified, 1)).alias("verified")).first()
    oversized = buckets.where(F.col("size") > config.max_bucket_size).select("_scope", "band", "key").distinct()
    edges = scored.where(verified)
    components = connected_components(edges, "a", "b", checkpoint_every=config.checkpoint_every)

    rep_component = (
        reps.join(components.labels.withColumnRenamed("node", "node_"), F.col("node") == F.col("node_"), "left")
        .select("_scope", "_exact_key", F.coalesce("component", "node").alias("_cluster"))
    )
    cluster = Window.partitionBy("_cluster")
    assigned = (
        ranked.join(rep_component, ["_scope", "_exact_key"])
        .withColumn("_rank", F.row_number().over(cluster.orderBy(*_order())))
        .withColumn("cluster_id", F.min("qa_id").over(cluster))
        .withColumn("cluster_size", F.count("*").over(cluster))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    persisted.append(assigned)
    representative = assigned.where(F.col("_rank") == 1).select(
        "_cluster", F.col("qa_id").alias("representative_qa_id"), F.col("_exact_key").alias("rep_key"),
        F.col("_signature").alias("rep_sig"),
    )
    is_exact = F.col("_exact_key") == F.col("rep_key")
    duplicates = (
        assigned.where(F.col("_rank") > 1)
        .join(representative, "_cluster")
        .select(
            "qa_id", "representative_qa_id",
            F.when(is_exact, F.lit("exact")).otherwise(F.lit("near")).alias("kind"),
            F.when(is_exact, F.lit(1.0).cast("float"))
            .otherwise(similarity_col("_signature", "rep_sig", config.num_perm)).alias("similarity"),
            "cluster_id", "url", "language",
        )
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    persisted.append(duplicates)
    qa_dedup = assigned.where(F.col("_rank") == 1).select(*qa_names, "cluster_id", "cluster_size")

    # exact counts, from the persisted frames
    by_language: Counter = Counter()
    clusters_with_duplicates = 0
    kept_counts = (
        assigned.where(F.col("_rank") == 1).groupBy("language", (F.col("cluster_size") > 1).alias("dup")).count()
    )
    for row in kept_counts.collect():
        by_language[row["language"]] += row["count"]
        stats.kept(row["count"])
        clusters_with_duplicates += row["count"] if row["dup"] else 0
    duplicate_stats = StageStats(JOB)
    for row in duplicates.groupBy("kind").count().collect():
        stats.drop(f"{row['kind']}_duplicate", row["count"])
        duplicate_stats.kept(row["count"])
        duplicate_stats.count(f"{row['kind']}_duplicates", row["count"])
    if stats.records_in != rows_in:  # every input row is kept or listed in duplicates, exactly once
        raise RuntimeError(f"dedup lost or repeated rows: {rows_in} in, {stats.records_in} accounted for")
    info = {
        "threshold": config.threshold,
        "num_perm": config.num_perm,
        "seed": config.seed,
        "scope": config.scope,
        "bands": bands,
        "rows": rows,
        "max_bucket_size": config.max_bucket_size,
        "exact_representatives": sum(shingle_kinds.values()),
        "answers_shingled_by_chars": shingle_kinds.get(True, 0),
        "answers_shingled_by_words": shingle_kinds.get(False, 0),
        "candidate_pairs": int(pair_counts["n"]),
        "verified_pairs": int(pair_counts["verified"]),
        "oversized_buckets": oversized.count(),
        "cc_iterations": components.iterations,
        "clusters_with_duplicates": clusters_with_duplicates,
    }
    ordered = dict(sorted(by_language.items(), key=lambda kv: (-kv[1], kv[0])))
    components.unpersist()
    return DedupResult(qa_dedup, duplicates, stats, duplicate_stats, ordered, info, persisted)


class Dedup(Stage):
    """`qa` -> `qa_dedup` + `duplicates`, checkpointing connected components beside the output."""

    name, config_type = JOB, DedupConfig
    description = "Remove exact and near-duplicate QAs from qa into qa_dedup, listing them in duplicates."
    inputs = (DatasetArg("input", "qa", "qa dataset folder"),)
    outputs = (DatasetArg("output", "qa_dedup", "qa_dedup dataset folder to write (replaced atomically)"),
               DatasetArg("duplicates-output", "duplicates", "duplicates dataset folder to write"))

    def run(self, spark, inputs, config, args) -> StageOutput:
        target = local_path(args.output)
        checkpoints = target.parent / f".{target.name}.tmp-checkpoints-{uuid.uuid4().hex[:12]}"
        checkpoints.mkdir(parents=True, exist_ok=True)
        spark.sparkContext.setCheckpointDir(str(checkpoints))
        try:
            result = run_dedup(inputs["input"], config)
        except BaseException:  # the base class removes them after the writes; a failed run leaves none either
            shutil.rmtree(checkpoints, ignore_errors=True)
            raise
        summary = {**result.summary(), "shuffle_partitions": int(spark.conf.get("spark.sql.shuffle.partitions"))}
        return StageOutput(
            writes={"output": (result.qa_dedup.sortWithinPartitions(*OUTPUT_ORDER), summary),
                    "duplicates-output": (result.duplicates.sortWithinPartitions(*OUTPUT_ORDER[:2]),
                                          result.duplicates_summary())},
            persisted=result.persisted, cleanup=[lambda: shutil.rmtree(checkpoints, ignore_errors=True)])
