"""Split units on Spark: domains joined by cross-site translations, near copies and duplicate clusters, the
split of each unit, and the decontamination search (faqmine.build_benchmarks.units holds the rules).

1. Vectors: each QA's question and answer embeddings from `qa_embeddings` (made once by the
   embed stage, checked by model hash), joined into one vector whose inner product is the QA
   similarity (the weighted mean of the question and the answer cosines).
2. Search in blocks: the QAs are hashed into blocks of about `block_size`; every (query block,
   base block) pair is one group of a grouped `applyInArrow` holding both blocks (a side column
   tells them apart), searched exactly by the library's `best_per_language`; each QA keeps its
   best hit per language over all blocks (a window). No block is ever held with all the others,
   so the search spreads over as many tasks as there are block pairs.
3. Links: two QAs of different domains that are each other's best in the other's language, with
   a similarity at or above the copy threshold (one language) or the translation threshold (two
   languages), link their domains; with `link_duplicates`, so does every QA dedup removed with
   the QA it was folded into (its domain from its URL).
4. Units: connected components over the domain links (faqmine.spark.components); a domain
   without links is a unit alone; a unit's id is its smallest domain.
5. Split per unit (`mapInArrow`, units.unit_split): the seeded hash of the id, or train whole
   for a unit above `max_unit_share` of the QAs.
6. Decontamination: the QAs of each later split are searched against each earlier split
   (train -> dev, train -> test, dev -> test), best QA of another domain per language; a dev/test
   QA whose best train QA in some language reaches that language's threshold, or whose duplicate
   cluster holds a QA of a train domain, is `contaminated`. Dev -> test is reported, not dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from faqmine.build_benchmarks.splits import SplitConfig
from faqmine.build_benchmarks.units import SPLIT_PAIRS, UnitConfig, best_per_language, unit_split
from faqmine.core.urls import registered_domain
from faqmine.embedding.encode import arrow_to_vectors
from faqmine.spark.components import connected_components
from faqmine.spark.embed import vectors_for

_HITS_SCHEMA = pa.schema([("qa_id", pa.string()), ("language", pa.string()), ("neighbour_qa_id", pa.string()),
                          ("neighbour_language", pa.string()), ("score", pa.float32())])
_SPLIT_SCHEMA = pa.schema([("unit", pa.string()), ("split", pa.string())])
_DOMAIN_SCHEMA = pa.schema([("representative_qa_id", pa.string()), ("member_domain", pa.string())])


@dataclass
class Units:
    """Every placed QA with its unit and split, the decontamination verdicts, and what the report needs."""

    placed: DataFrame  # qa_id, domain, language, unit, unit_qas, split, contaminated
    report: dict
    persisted: list[DataFrame] = field(default_factory=list)


def qa_vectors(qas: DataFrame, embeddings: DataFrame, question_weight: float) -> DataFrame:
    """qa_id, domain, language, vector: the joined QA vector, computed in Spark SQL."""
    wq, wa = math.sqrt(question_weight), math.sqrt(1.0 - question_weight)
    vector = F.concat(F.transform("question_embedding", lambda x: x * F.lit(wq)),
                      F.transform("answer_embedding", lambda x: x * F.lit(wa))).cast("array<float>")
    return vectors_for(qas.select("qa_id", "domain", "language"), embeddings, "benchmark QAs").select(
        "qa_id", "domain", "language", vector.alias("vector"))


def nearest_per_language(queries: DataFrame, base: DataFrame, block_size: int, n_queries: int | None = None,
                         n_base: int | None = None) -> DataFrame:
    """(qa_id, language, neighbour_qa_id, neighbour_language, score): for each query and each language of
    `base`, its most similar base QA of another domain in that language, exact, searched block pair by
    block pair (see the module doc). `n_queries` and `n_base` are the row counts when the caller knows them."""
    n_queries = queries.count() if n_queries is None else n_queries
    n_base = base.count() if n_base is None else n_base
    columns = ["qa_id", "domain", "language", "vector"]
    spark = queries.sparkSession
    if not n_queries or not n_base:
        return spark.createDataFrame([], from_arrow_schema(_HITS_SCHEMA))
    query_blocks, base_blocks = max(1, math.ceil(n_queries / block_size)), max(1, math.ceil(n_base / block_size))

    def blocked(df: DataFrame, blocks: int, own: str, other: str, other_blocks: int, side: str) -> DataFrame:
        ids = spark.range(other_blocks).select(F.col("id").cast("int").alias(other))
        return (df.select(*columns).withColumn(own, F.pmod(F.xxhash64("qa_id"), F.lit(blocks)).cast("int"))
                .crossJoin(ids).withColumn("_side", F.lit(side)))

    pairs = blocked(queries, query_blocks, "qb", "bb", base_blocks, "q").unionByName(
        blocked(base, base_blocks, "bb", "qb", query_blocks, "b"))

    def search(table: pa.Table) -> pa.Table:
        is_query = pc.equal(table.column("_side"), "q")
        q, b = table.filter(is_query), table.filter(pc.invert(is_query))
        if q.num_rows == 0 or b.num_rows == 0:
            return _HITS_SCHEMA.empty_table()
        rows, hits, scores = best_per_language(
            arrow_to_vectors(q.column("vector")), q.column("domain").to_pylist(),
            arrow_to_vectors(b.column("vector")), b.column("domain").to_pylist(), b.column("language").to_pylist())
        return pa.table({
            "qa_id": q.column("qa_id").take(pa.array(rows)).combine_chunks(),
            "language": q.column("language").take(pa.array(rows)).combine_chunks(),
            "neighbour_qa_id": b.column("qa_id").take(pa.array(hits)).combine_chunks(),
            "neighbour_language": b.column("language").take(pa.array(hits)).combine_chunks(),
            "score": pa.array(scores, pa.float32()),
        }, schema=_HITS_SCHEMA)

    hits = pairs.groupBy("qb", "bb").applyInArrow(search, from_arrow_schema(_HITS_SCHEMA))
    best = Window.partitionBy("qa_id", "neighbour_language").orderBy(F.col("score").desc(), "neighbour_qa_id")
    return hits.withColumn("_rank", F.row_number().over(best)).where(F.col("_rank") == 1).drop("_rank")


def above_threshold(config: UnitConfig) -> Column:
    """Whether a hit's score reaches the threshold of its language pair (units.link_threshold, in Spark)."""
    threshold = F.when(F.col("language") == F.col("neighbour_language"), F.lit(config.copy_threshold)).otherwise(
        F.lit(config.translation_threshold))
    return F.col("score") >= threshold


def mutual_links(nearest: DataFrame, config: UnitConfig) -> DataFrame:
    """(a, b, language_a, language_b, score) with a < b: each is the other's best QA in the other's language, at
    a similarity that reaches the threshold of the language pair."""
    forward = nearest.where(above_threshold(config)).select(
        F.col("qa_id").alias("a"), F.col("neighbour_qa_id").alias("b"), F.col("language").alias("language_a"),
        F.col("neighbour_language").alias("language_b"), "score")
    backward = nearest.select(F.col("neighbour_qa_id").alias("a"), F.col("qa_id").alias("b"))
    return forward.join(backward, ["a", "b"], "left_semi").where(F.col("a") < F.col("b"))


def duplicate_domains(duplicates: DataFrame) -> DataFrame:
    """(representative_qa_id, member_domain): the registered domain of every QA dedup removed."""
    def domains(batches):
        for batch in batches:
            yield pa.RecordBatch.from_arrays([
                batch.column("representative_qa_id"),
                pa.array([registered_domain(url) for url in batch.column("url").to_pylist()], pa.string()),
            ], schema=_DOMAIN_SCHEMA)

    return (duplicates.select("representative_qa_id", "url").mapInArrow(domains, from_arrow_schema(_DOMAIN_SCHEMA))
            .distinct())


def build_units(qas: DataFrame, embeddings: DataFrame, duplicates: DataFrame | None, config: UnitConfig,
                splits: SplitConfig) -> Units:
    """Units, splits and contamination of the QAs (qa_id, domain, language); call setCheckpointDir first."""
    vectors = qa_vectors(qas, embeddings, config.question_weight).persist(StorageLevel.MEMORY_AND_DISK)
    persisted = [vectors]
    total = vectors.count()
    links = mutual_links(nearest_per_language(vectors, vectors, config.block_size, total, total), config).persist(
        StorageLevel.MEMORY_AND_DISK)
    persisted.append(links)
    domain_of = vectors.select("qa_id", "domain")
    edges = (links.join(domain_of.toDF("a", "src"), "a").join(domain_of.toDF("b", "dst"), "b")
             .select("src", "dst"))
    member_domains = None
    if duplicates is not None:
        member_domains = duplicate_domains(duplicates).persist(StorageLevel.MEMORY_AND_DISK)
        persisted.append(member_domains)
    if member_domains is not None and config.link_duplicates:
        edges = edges.unionByName(member_domains.join(domain_of.toDF("representative_qa_id", "src"),
                                                      "representative_qa_id")
                                  .select("src", F.col("member_domain").alias("dst")))
    components = connected_components(edges.where(F.col("src") != F.col("dst")), "src", "dst")
    domain_units = (domain_of.select("domain").distinct()
                    .join(components.labels.toDF("domain", "component"), "domain", "left")
                    .select("domain", F.coalesce("component", "domain").alias("unit")))
    with_units = vectors.join(domain_units, "domain")
    unit_sizes = with_units.groupBy("unit").agg(F.count("*").alias("unit_qas"),
                                               F.countDistinct("domain").alias("unit_domains"),
                                               F.sort_array(F.collect_set("language")).alias("languages"))

    def assign(batches):
        for batch in batches:
            units, sizes = batch.column("unit").to_pylist(), batch.column("unit_qas").to_pylist()
            yield pa.RecordBatch.from_arrays([
                pa.array(units, pa.string()),
                pa.array([unit_split(u, n, total, splits, config) for u, n in zip(units, sizes, strict=True)],
                         pa.string())], schema=_SPLIT_SCHEMA)

    unit_table = unit_sizes.join(unit_sizes.select("unit", "unit_qas").mapInArrow(
        assign, from_arrow_schema(_SPLIT_SCHEMA)), "unit").persist(StorageLevel.MEMORY_AND_DISK)
    persisted.append(unit_table)
    placed = (with_units.join(unit_table.select("unit", "unit_qas", "split"), "unit")
              .persist(StorageLevel.MEMORY_AND_DISK))
    persisted.append(placed)
    components.unpersist()

    nearest, report_pairs, checked = _nearest_earlier_split(placed, config)
    persisted += checked
    contaminated = nearest.where(F.col("earlier") == "train").where(F.col("above")).select("qa_id")
    cluster_leaks = None
    if member_domains is not None:
        domain_split = placed.select(F.col("domain").alias("member_domain"),
                                     F.col("split").alias("member_split")).distinct()
        cluster_leaks = (member_domains.join(domain_split, "member_domain")
                         .where(F.col("member_split") == "train")
                         .select(F.col("representative_qa_id").alias("qa_id")).distinct()
                         .join(placed.where(F.col("split") != "train").select("qa_id"), "qa_id"))
        contaminated = contaminated.unionByName(cluster_leaks)
    flagged = contaminated.distinct().withColumn("contaminated", F.lit(True))
    result = (placed.join(flagged, "qa_id", "left")
              .select("qa_id", "domain", "language", "unit", "unit_qas", "split",
                      F.coalesce("contaminated", F.lit(False)).alias("contaminated"))
              .persist(StorageLevel.MEMORY_AND_DISK))
    persisted.append(result)

    largest = unit_table.orderBy(F.col("unit_qas").desc(), "unit").limit(10).collect()
    oversized = F.col("unit_qas") > F.lit(config.max_unit_share * total)
    counts = unit_table.agg(
        F.count("*").alias("units"), F.sum((F.col("unit_domains") == 1).cast("int")).alias("single_domain_units"),
        F.sum(oversized.cast("int")).alias("oversized"),
        F.sum(F.when(oversized, F.col("unit_qas")).otherwise(F.lit(0))).alias("oversized_qas")).first()
    report = {
        "translation_threshold": config.translation_threshold, "copy_threshold": config.copy_threshold,
        "question_weight": config.question_weight,
        "link_duplicates": config.link_duplicates, "max_unit_share": config.max_unit_share,
        "decontaminate": config.decontaminate, "qas": total,
        "links": {("same_language" if r["same"] else "other_language"): int(r["count"]) for r in links.groupBy(
            (F.col("language_a") == F.col("language_b")).alias("same")).count().collect()},
        "units": int(counts["units"] or 0), "single_domain_units": int(counts["single_domain_units"] or 0),
        "oversized_units": {"units": int(counts["oversized"] or 0), "qas": int(counts["oversized_qas"] or 0),
                            "went_to": config.oversized_unit_split},
        "largest_units": [{"unit": r["unit"], "domains": int(r["unit_domains"]), "qas": int(r["unit_qas"]),
                           "share": round(r["unit_qas"] / total, 4), "languages": list(r["languages"]),
                           "split": r["split"]} for r in largest],
        "split_pairs": report_pairs,
        "duplicate_cluster_leaks": cluster_leaks.count() if cluster_leaks is not None else None,
    }
    return Units(placed=result, report=report, persisted=persisted)


def _nearest_earlier_split(placed: DataFrame, config: UnitConfig) -> tuple[DataFrame, dict, list[DataFrame]]:
    """Per later-split QA and earlier split: whether its best QA there in some language reaches that language's
    threshold; the per-language counts of the report; the frames persisted on the way."""
    frames, report = [], {}
    sizes = {r["split"]: int(r["count"]) for r in placed.groupBy("split").count().collect()}
    for earlier, later in SPLIT_PAIRS:
        if earlier not in sizes or later not in sizes:
            continue
        queries = placed.where(F.col("split") == later)
        verdicts = (nearest_per_language(queries, placed.where(F.col("split") == earlier), config.block_size,
                                         sizes[later], sizes[earlier])
                    .groupBy("qa_id").agg(F.max(above_threshold(config).cast("int")).alias("_above"),
                                          F.max("score").alias("nearest_score")))
        checked = (queries.select("qa_id", "language").join(verdicts, "qa_id", "left")
                   .withColumn("above", F.coalesce(F.col("_above") == 1, F.lit(False)))
                   .withColumn("earlier", F.lit(earlier)).persist(StorageLevel.MEMORY_AND_DISK))
        frames.append(checked)
        by_language = {r["language"]: {"checked": int(r["checked"]), "above_threshold": int(r["above"])}
                       for r in checked.groupBy("language").agg(
                           F.count("*").alias("checked"), F.sum(F.col("above").cast("int")).alias("above")).collect()}
        report[f"{earlier}->{later}"] = {
            "checked": sum(v["checked"] for v in by_language.values()),
            "above_threshold": sum(v["above_threshold"] for v in by_language.values()),
            "dropped": earlier == "train" and config.decontaminate,
            "by_language": dict(sorted(by_language.items())),
        }
    if not frames:
        return placed.sparkSession.createDataFrame([], "qa_id string, earlier string, above boolean"), report, []
    out = frames[0].select("qa_id", "earlier", "above")
    for frame in frames[1:]:
        out = out.unionByName(frame.select("qa_id", "earlier", "above"))
    return out, report, frames
