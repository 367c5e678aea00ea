"""Encoding throughput of the embed stage inside Spark against plain SentenceTransformer.encode, same run, same texts.

    .venv/bin/python bench/align.py                       # XQuAD QAs of all 12 languages, local[*]
    .venv/bin/python bench/align.py --qas 2000 --master local[2]
    .venv/bin/python bench/align.py --qa-dedup data/demo/qa_dedup

Baseline: the encoder loaded once in this process, `encode_texts` (one `SentenceTransformer.encode`
for the questions with the query prompt, one for the answers with the passage prompt, torch on every
core) over the texts. Spark: the embed stage's own
`encode_qas` (repartition, `mapInArrow`, model cached per Python worker, one torch thread per
task) over the same texts: once cold (workers start and load the model, as a job does) and once
warm (workers reused). Prints texts/s of each, the ratios, and the peak RSS of a Python worker.
The baseline runs before and after the Spark runs and is averaged, because other work on the
machine moves both.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import common

REPO = Path(__file__).resolve().parents[1]


def _xquad_rows(n: int) -> list[dict]:
    from faqmine.simulate.xquad import load_xquad

    corpus = load_xquad(REPO / "data" / "xquad", ("ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr",
                                                   "vi", "zh"))
    rows = []
    qids = [q for article in corpus.article_qids for q in article]
    for index in range(n):
        language = corpus.languages[index % len(corpus.languages)]
        qa = corpus.qa(language, qids[(index // len(corpus.languages)) % len(qids)])
        rows.append({"qa_id": f"{language}-{qa.qid}", "site": f"site{index % 50}.example", "language": language,
                     "question": qa.question, "answer": qa.sentence})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--qas", type=int, default=1200, help="QAs to encode (two texts each)")
    parser.add_argument("--qa-dedup", default=None, help="take the QAs from this qa_dedup dataset instead of XQuAD")
    parser.add_argument("--encoder", default=None, help="sentence-transformers folder (default: the packaged e5)")
    parser.add_argument("--master", default="local[*]")
    args = parser.parse_args(argv)

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("FAQMINE_QUIET_SPARK", "1")
    from dataclasses import replace

    from pyspark.sql import functions as F

    from faqmine.embedding.encode import EncodeConfig, encode_texts, get_encoder, peak_rss_mb, resolve_encoder_path
    from faqmine.embedding.identity import model_fingerprint
    from faqmine.spark.embed import EmbedConfig, encode_qas, task_stats
    from faqmine.spark.session import build_session

    spark = build_session("faqmine-bench-align", master=args.master)
    cores = spark.sparkContext.defaultParallelism
    if args.qa_dedup:
        from faqmine.spark.datasets import read_dataset

        df = (read_dataset(spark, args.qa_dedup, "qa_dedup")
              .select("qa_id", F.col("domain").alias("site"), "language", "question", "answer")
              .orderBy("qa_id").limit(args.qas))
        rows = [r.asDict() for r in df.collect()]
    else:
        rows = _xquad_rows(args.qas)
    df = spark.createDataFrame(rows, "qa_id string, site string, language string, question string, answer string")
    df = df.persist()
    df.count()
    n_texts = 2 * len(rows)
    encode = EncodeConfig(encoder=resolve_encoder_path(args.encoder))
    config = EmbedConfig(encode=encode)
    fingerprint = model_fingerprint(encode.encoder)

    load_started = time.perf_counter()
    model = get_encoder(encode.encoder)
    load_seconds = time.perf_counter() - load_started
    questions, answers = [r["question"] for r in rows], [r["answer"] for r in rows]
    query, passage = replace(encode, prompt_name="query"), replace(encode, prompt_name="passage")
    encode_texts(model, questions[:16], query)  # warm up torch

    def plain() -> float:
        started = time.perf_counter()
        encode_texts(model, questions, query)
        encode_texts(model, answers, passage)
        return n_texts / (time.perf_counter() - started)

    def in_spark() -> tuple[float, object]:
        started = time.perf_counter()
        _, persisted = encode_qas(df, config, fingerprint)
        result = task_stats(persisted)  # collects the per-task stats rows: the encoding has run
        seconds = time.perf_counter() - started
        persisted.unpersist()
        return n_texts / seconds, result

    plain_before = plain()
    cold, _ = in_spark()
    warm, result = in_spark()
    plain_after = plain()
    baseline = (plain_before + plain_after) / 2

    print(f"bench/align.py: {len(rows)} QAs = {n_texts} texts ({'qa_dedup' if args.qa_dedup else 'XQuAD'}), "
          f"encoder {encode.encoder}, Spark {args.master} ({cores} task slots), torch threads: plain "
          f"{__import__('torch').get_num_threads()}, Spark 1 per task")
    print(f"  plain SentenceTransformer.encode   {baseline:8.1f} texts/s  (before {plain_before:.1f}, after "
          f"{plain_after:.1f}; model load {load_seconds:.1f}s not counted)")
    print(f"  Spark encode stage, cold           {cold:8.1f} texts/s  = {cold / baseline:.2f}x  "
          "(worker start + model load per worker included)")
    print(f"  Spark encode stage, warm           {warm:8.1f} texts/s  = {warm / baseline:.2f}x  "
          f"({result.tasks} tasks, {result.seconds:.1f} task-seconds inside encode)")
    print(f"  peak RSS of a Python worker        {result.worker_peak_rss_mb:8.0f} MiB  "
          f"(driver process: {peak_rss_mb():.0f} MiB)")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
