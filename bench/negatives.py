"""Speed of hard-negative mining: lexical, dense and teacher throughput, the Spark stage at N, 2N and 4N queries, and
sentence-transformers' `util.mine_hard_negatives` on the same data as the reference (time ratio, overlap).

    .venv/bin/python bench/negatives.py                          # XQuAD en: 1190 documents, N=100 queries
    .venv/bin/python bench/negatives.py --languages en de zh --queries 200 --master local[2]
    .venv/bin/python bench/negatives.py --benchmarks DATA/benchmarks   # a pipeline run's train split

Data: every language's documents are the train corpus (fixed); queries are the first N, 2N and
4N train queries (by id), so the N runs measure how the stage scales with queries.

1. Library, one process (per language, summed): BM25 index + search (queries/s), dense query
   encoding + faiss search (queries/s; document encoding separately, documents/s), and the
   teachers in pairs/s: the encoder cosine from recall vectors (the default), the encoder
   re-encoding text pairs (`EncoderTeacher`), and `--teacher` CrossEncoder when given (also per core:
   pairs/s divided by torch's threads).
2. Spark (`run_mining`, every step down to the counted outputs, after one untimed warm-up run)
   at N, 2N and 4N queries: seconds and the ratio to N (target 4N <= 4.5x N). The vectors come
   from the embed stage (`run_embed`, timed once before, as the pipeline runs it once); every
   mining run indexes the whole corpus, a cost that does not grow with the queries. With `--teacher`,
   the N run again with the cross-encoder scoring every candidate and positive in the workers:
   the teacher's share of the stage's time.
3. Reference: `mine_hard_negatives` (same encoder and prompts, faiss, range_max = k,
   relative_margin and num_negatives as ours) on the 4N queries of each language: seconds, the
   ratio to our 4N run, and the overlap of the two negative sets by text (|ours & theirs| /
   |theirs|): the reference deduplicates the corpus' texts and keeps same-answer documents
   that our qrels rule drops, so the sets differ where the reference keeps false negatives.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import common
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

REPO = Path(__file__).resolve().parents[1]


def xquad_benchmark(languages: list[str]) -> dict[str, pa.Table]:
    """corpus / queries / qrels tables (benchmark schemas) from XQuAD: one QA per question, all in train."""
    from faqmine.build_benchmarks.benchmark import answer_key, doc_id, query_id
    from faqmine.core.ids import qa_id
    from faqmine.core.schemas import load_schema
    from faqmine.simulate.xquad import load_xquad

    xquad = load_xquad(REPO / "data" / "xquad", tuple(languages))
    corpus, queries, qrels = [], [], []
    for language in languages:
        by_key: dict[str, list[str]] = {}
        rows = []
        for article in xquad.article_qids:
            for qid in article:
                qa = xquad.qa(language, qid)
                ident = qa_id(f"https://x.example/{language}/{qid}", qa.question, qa.sentence)
                rows.append((ident, qa))
                by_key.setdefault(answer_key(qa.sentence), []).append(ident)
        for ident, qa in rows:
            domain = f"site{int(ident[:4], 16) % 50}.example"
            common = {"domain": domain, "unit": domain, "language": language, "split": "train"}
            corpus.append({"doc_id": doc_id(ident), "qa_id": ident, "title": "", "text": qa.sentence, **common})
            queries.append({"query_id": query_id(ident), "qa_id": ident, "text": qa.question, **common})
            qrels += [{"query_id": query_id(ident), "doc_id": doc_id(other), "score": 1, "language": language,
                       "split": "train"} for other in by_key[answer_key(qa.sentence)]]

    def table(name: str, rows: list[dict]) -> pa.Table:
        schema = load_schema(name)
        return pa.Table.from_pylist([{n: r[n] for n in schema.names} for r in rows], schema=schema.arrow())

    return {"corpus": table("benchmarks_corpus", corpus), "queries": table("benchmarks_queries", queries),
            "qrels": table("benchmarks_qrels", qrels)}


def read_benchmark(folder: Path, languages: list[str] | None) -> dict[str, pa.Table]:
    import pyarrow.dataset as ds

    out = {}
    for name in ("corpus", "queries", "qrels"):
        table = ds.dataset(folder / name, format="parquet", partitioning="hive").to_table()
        table = table.filter(pc.equal(table["split"], "train"))
        if languages:
            table = table.filter(pc.is_in(table["language"], pa.array(languages)))
        out[name] = table
    return out


def first_queries(queries: pa.Table, n: int) -> pa.Table:
    """The first n queries (by id) of every language."""
    parts = []
    for language in sorted(set(queries["language"].to_pylist())):
        rows = queries.filter(pc.equal(queries["language"], language)).sort_by("query_id")
        parts.append(rows.slice(0, n))
    return pa.concat_tables(parts)


def library_throughput(data: dict[str, pa.Table], n: int, args, model) -> list[str]:
    from faqmine.embedding.encode import EncodeConfig, encode_texts
    from faqmine.mine_negatives.negatives import (
        CrossEncoderTeacher,
        EncoderTeacher,
        bm25_hits,
        dense_hits,
        pair_scores,
    )
    from faqmine.search.lexical import CorpusBM25, corpus_stats, document_frequencies, query_terms, tokenize_many

    totals = dict.fromkeys(("lexical", "dense", "docs", "cosine", "encoder", "cross"), 0.0)
    counts = dict.fromkeys(("queries", "docs", "pairs", "cross_pairs"), 0)
    teacher = CrossEncoderTeacher(args.teacher) if args.teacher else None
    queries = first_queries(data["queries"], n)
    for language in sorted(set(queries["language"].to_pylist())):
        docs = data["corpus"].filter(pc.equal(data["corpus"]["language"], language))
        texts = docs["text"].to_pylist()
        qs = queries.filter(pc.equal(queries["language"], language))["text"].to_pylist()
        start = time.perf_counter()
        tokens = tokenize_many(texts)
        terms = [query_terms(t) for t in tokenize_many(qs)]
        index = CorpusBM25(corpus_stats(tokens), document_frequencies(tokens)).index_tokens(tokens)
        lexical = bm25_hits(index, terms, args.k)
        totals["lexical"] += time.perf_counter() - start
        start = time.perf_counter()
        doc_vectors = encode_texts(model, texts, EncodeConfig(prompt_name="passage"))
        totals["docs"] += time.perf_counter() - start
        start = time.perf_counter()
        query_vectors = encode_texts(model, qs, EncodeConfig(prompt_name="query"))
        hits = dense_hits(query_vectors, doc_vectors, args.k)
        totals["dense"] += time.perf_counter() - start
        q_idx = np.concatenate([lexical.query, hits.query])
        d_idx = np.concatenate([lexical.doc, hits.doc])
        start = time.perf_counter()
        pair_scores(query_vectors[q_idx], doc_vectors[d_idx])
        totals["cosine"] += time.perf_counter() - start
        sample = np.arange(min(len(q_idx), args.teacher_pairs))
        pair_q, pair_d = [qs[i] for i in q_idx[sample]], [texts[i] for i in d_idx[sample]]
        start = time.perf_counter()
        EncoderTeacher(model).score(pair_q, pair_d)
        totals["encoder"] += time.perf_counter() - start
        if teacher is not None:
            start = time.perf_counter()
            teacher.score(pair_q, pair_d)
            totals["cross"] += time.perf_counter() - start
            counts["cross_pairs"] += len(sample)
        counts["queries"] += len(qs)
        counts["docs"] += len(texts)
        counts["pairs"] += len(q_idx)
        counts.setdefault("teacher_pairs", 0)
        counts["teacher_pairs"] += len(sample)
    lines = [
        f"library, one process: {counts['queries']} queries, {counts['docs']} documents, k={args.k}",
        f"  lexical (tokenise + BM25 index + search)  {counts['queries'] / totals['lexical']:10.1f} queries/s",
        f"  dense (encode queries + faiss + exact)    {counts['queries'] / totals['dense']:10.1f} queries/s",
        f"  dense document encoding                   {counts['docs'] / totals['docs']:10.1f} documents/s",
        f"  teacher: encoder cosine from vectors      {counts['pairs'] / max(totals['cosine'], 1e-9):10.1f} pairs/s",
        f"  teacher: EncoderTeacher on text pairs     {counts['teacher_pairs'] / totals['encoder']:10.1f} pairs/s",
    ]
    if teacher is not None:
        import torch

        rate = counts["cross_pairs"] / totals["cross"]
        cores = torch.get_num_threads()
        lines.append(f"  teacher: CrossEncoder {Path(args.teacher).name:<19} {rate:10.1f} pairs/s "
                     f"({rate / cores:.1f} pairs/s per core, {cores} torch threads)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--benchmarks", default=None, help="benchmarks folder (train split); default: XQuAD")
    parser.add_argument("--languages", nargs="+", default=None, help="languages (XQuAD default: en)")
    parser.add_argument("--queries", type=int, default=100, help="N: queries per language of the smallest run")
    parser.add_argument("--k", type=int, default=100, help="BM25 and dense top-k (range_max of the reference)")
    parser.add_argument("--num-negatives", type=int, default=10, help="negatives kept per query")
    parser.add_argument("--relative-margin", type=float, default=0.05,
                        help="drop candidates the teacher scores within this fraction of the positive")
    parser.add_argument("--shards", type=int, default=4, help="corpus shards of the Spark stage")
    parser.add_argument("--teacher", default=None, help="CrossEncoder folder to time as well")
    parser.add_argument("--teacher-pairs", type=int, default=512, help="pairs per language for the text teachers")
    parser.add_argument("--master", default="local[*]", help="Spark master of the stage runs")
    parser.add_argument("--driver-memory", default="4g", help="heap of the Spark driver started by this process")
    args = parser.parse_args(argv)

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("FAQMINE_QUIET_SPARK", "1")
    from faqmine.embedding.encode import get_encoder
    from faqmine.mine_negatives.negatives import FilterConfig, RecallConfig
    from faqmine.spark.embed import EmbedConfig, run_embed
    from faqmine.spark.mine_negatives import MiningConfig, run_mining
    from faqmine.spark.session import build_session

    if args.benchmarks:
        data = read_benchmark(Path(args.benchmarks), args.languages)
    else:
        data = xquad_benchmark(args.languages or ["en"])
    model = get_encoder()
    n = args.queries
    languages = sorted(set(data["queries"]["language"].to_pylist()))
    print(f"data: {data['corpus'].num_rows} train documents, {data['queries'].num_rows} train queries, "
          f"languages {languages}; N = {n} queries per language")
    for line in library_throughput(data, 4 * n, args, model):
        print(line)

    # the driver JVM starts here, in this process, so its heap is set before it launches (a conf set afterwards is
    # too late); it must hold every run's plans and the teacher run's pairs
    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", f"--driver-memory {args.driver_memory} pyspark-shell")
    spark = build_session("faqmine-bench-negatives", master=args.master)
    corpus = spark.createDataFrame(data["corpus"]).cache()
    qrels = spark.createDataFrame(data["qrels"]).cache()
    corpus.count(), qrels.count()
    start = time.perf_counter()
    qas = (spark.createDataFrame(data["queries"]).selectExpr("qa_id", "text AS question")
           .join(corpus.selectExpr("qa_id", "text AS answer", "language"), "qa_id"))
    embedded = run_embed(qas, EmbedConfig())
    embeddings = embedded.embeddings.cache()
    print(f"spark embed stage (every QA's question and answer, once): {embeddings.count()} QAs in "
          f"{time.perf_counter() - start:.1f} s")
    config = MiningConfig(recall=RecallConfig(k=args.k),
                          filters=FilterConfig(relative_margin=args.relative_margin, num_negatives=args.num_negatives),
                          shards=args.shards)
    seconds, ours = {}, {}
    start = time.perf_counter()  # warm-up: Python workers start and load the encoder once, as in a long job
    run_mining(corpus, spark.createDataFrame(first_queries(data["queries"], n)), embeddings, qrels,
               config=config).unpersist()
    print(f"spark warm-up run (N queries, workers start, encoder loads): {time.perf_counter() - start:.1f} s")
    for factor in (1, 2, 4):
        queries = spark.createDataFrame(first_queries(data["queries"], factor * n))
        start = time.perf_counter()
        result = run_mining(corpus, queries, embeddings, qrels, config=config)
        rows = result.hard_negatives.select("query", "negatives").collect()
        seconds[factor] = time.perf_counter() - start
        result.unpersist()
        if factor == 4:
            ours = {r["query"]: set(r["negatives"]) for r in rows}
        print(f"spark run_mining, {factor}N = {factor * n * len(languages)} queries: {seconds[factor]:8.1f} s "
              f"({factor * n * len(languages) / seconds[factor]:.1f} queries/s), {seconds[factor] / seconds[1]:.2f}x N")
    verdict = "ok" if seconds[4] <= 4.5 * seconds[1] else "ABOVE TARGET"
    print(f"  scaling: 4N = {seconds[4] / seconds[1]:.2f}x N (target <= 4.5x): {verdict}")
    if args.teacher:  # the same N run with the cross-encoder teacher: its share of the stage's time
        with_teacher = replace(config, teacher=str(Path(args.teacher).resolve()))
        queries = spark.createDataFrame(first_queries(data["queries"], n))
        start = time.perf_counter()
        result = run_mining(corpus, queries, embeddings, qrels, config=with_teacher)
        result.hard_negatives.select("query").collect()
        teacher_seconds = time.perf_counter() - start
        pairs = result.info["candidates"]["in"] + result.info["vectors_read"]["queries"]
        result.unpersist()
        extra = teacher_seconds - seconds[1]
        print(f"spark run_mining, N with --teacher {Path(args.teacher).name}: {teacher_seconds:8.1f} s for ~{pairs} "
              f"pairs vs {seconds[1]:.1f} s with the cosine: the teacher is {extra / teacher_seconds:.0%} of the "
              f"stage's time ({pairs / max(extra, 1e-9):.1f} pairs/s in Spark)")
    spark.stop()

    from datasets import Dataset
    from sentence_transformers.util import mine_hard_negatives

    start = time.perf_counter()
    theirs: dict[str, set[str]] = {}
    queries = first_queries(data["queries"], 4 * n)
    for language in languages:
        docs = data["corpus"].filter(pc.equal(data["corpus"]["language"], language))
        text_of = dict(zip(docs["doc_id"].to_pylist(), docs["text"].to_pylist(), strict=True))
        qs = queries.filter(pc.equal(queries["language"], language))
        anchors = qs["text"].to_pylist()
        positives = [text_of["d_" + q] for q in qs["qa_id"].to_pylist()]
        mined = mine_hard_negatives(Dataset.from_dict({"anchor": anchors, "positive": positives}), model,
                                    corpus=list(text_of.values()), range_max=args.k, num_negatives=args.num_negatives,
                                    relative_margin=args.relative_margin, query_prompt_name="query",
                                    corpus_prompt_name="passage", use_faiss=True, output_format="labeled-list",
                                    verbose=False)
        for row in mined:
            theirs.setdefault(row["anchor"], set()).update(row["positive"][1:])
    reference = time.perf_counter() - start
    shared = sum(len(ours.get(q, set()) & negs) for q, negs in theirs.items())
    total = sum(len(negs) for negs in theirs.values())
    print(f"reference sentence-transformers mine_hard_negatives, 4N queries: {reference:8.1f} s; "
          f"ours / reference = {seconds[4] / reference:.2f}x")
    print(f"  overlap of negatives: {shared} of {total} reference negatives are ours "
          f"({shared / max(total, 1):.1%}); ours hold {sum(len(v) for v in ours.values())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
