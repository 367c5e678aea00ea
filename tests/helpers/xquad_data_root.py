"""A small data root in the layouts of benchmarks, bitext and hard_negatives, built from XQuAD.

For tests and for sizing training and evaluation before the pipeline has run: XQuAD's
questions, with the sentence holding each answer as the answer (as the crawl simulator
writes them), one "site" per XQuAD article publishing its FAQ in every language asked
for, so the same question ids give real translations. Each site is in one split; qrels
judge every document of a language with the same normalised answer as relevant (as
jobs/build_benchmarks.py does); bitext pairs every two languages of a site; hard negatives
are the top BM25 documents of the query's language that are not relevant, with BM25 scores
standing in for a teacher's (the real dataset has cross-encoder scores).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from faqmine.build_benchmarks.benchmark import answer_key, doc_id, export_beir, query_id
from faqmine.core.ids import stable_id
from faqmine.core.schemas import load_schema
from faqmine.retrieval.bm25 import BM25Index
from faqmine.simulate.xquad import load_xquad

from .paths import XQUAD, need

DEFAULT_LANGUAGES = ("ar", "de", "en", "es", "ru", "th", "zh")
SPLIT_CYCLE = ("train", "train", "test", "train", "dev")  # article i is in SPLIT_CYCLE[i % 5]


def hash_rank(key: str, n: int) -> int:
    """A position in [0, n) that depends only on `key` (where to start looking for filler negatives)."""
    return int(stable_id(key)[:8], 16) % max(n, 1)


def _write_partitioned(rows: list[dict], dataset: str, folder: Path, partition_by: Sequence[str]) -> None:
    schema = load_schema(dataset).arrow()
    table = pa.Table.from_pylist([{n: r.get(n) for n in schema.names} for r in rows], schema=schema)
    pq.write_to_dataset(table, str(folder), partition_cols=list(partition_by),
                        basename_template="part-{i}.parquet", existing_data_behavior="delete_matching")


def build_fixture(out: str | Path, languages: Sequence[str] = DEFAULT_LANGUAGES, max_articles: int | None = 10,
                  questions_per_article: int | None = 6, negatives: int = 4, xquad_dir: str | Path | None = None
                  ) -> dict:
    """Write <out>/benchmarks (Parquet + export), <out>/bitext and <out>/hard_negatives. Returns counts."""
    out = Path(out)
    corpus_src = load_xquad(Path(xquad_dir) if xquad_dir else need(XQUAD, "XQuAD copy"), tuple(languages))
    articles = list(range(len(corpus_src.article_qids)))[:max_articles]
    corpus, queries, qrels, bitext, hard = [], [], [], [], []
    # article -> xquad id -> language -> qa_id
    by_article: dict[int, dict[str, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    for article in articles:
        split = SPLIT_CYCLE[article % len(SPLIT_CYCLE)]
        domain = f"faq{article:02d}.example.org"
        title = corpus_src.article_titles[article]
        for xq in corpus_src.article_qids[article][:questions_per_article]:
            for language in languages:
                qa = corpus_src.qa(language, xq)
                qid = stable_id(f"https://{domain}/{language}/faq", qa.question, qa.sentence)
                by_article[article][xq][language] = qid
                common = {"qa_id": qid, "domain": domain, "unit": domain, "language": language, "split": split}
                corpus.append({"doc_id": doc_id(qid), "title": title, "text": qa.sentence, **common})
                queries.append({"query_id": query_id(qid), "text": qa.question, **common})
    # qrels: every document of the language with the same normalised answer
    docs_by_key: dict[tuple[str, str], list[str]] = defaultdict(list)
    for doc in corpus:
        docs_by_key[(doc["language"], answer_key(doc["text"]))].append(doc["doc_id"])
    text_of = {d["doc_id"]: d["text"] for d in corpus}
    for q in queries:
        for d in docs_by_key[(q["language"], answer_key(text_of[doc_id(q["qa_id"])]))]:
            qrels.append({"query_id": q["query_id"], "doc_id": d, "score": 1, "language": q["language"],
                          "split": q["split"]})
    # bitext: every two languages of a site, one row per translated QA
    question_of = {q["qa_id"]: q["text"] for q in queries}
    for article, xqs in by_article.items():
        domain = f"faq{article:02d}.example.org"
        for by_lang in xqs.values():
            langs = sorted(by_lang)
            for i, la in enumerate(langs):
                for lb in langs[i + 1:]:
                    a, b = by_lang[la], by_lang[lb]
                    bitext.append({"pair_id": stable_id(a + b), "site": domain, "language_a": la, "language_b": lb,
                                   "qa_id_a": a, "qa_id_b": b, "question_a": question_of[a],
                                   "question_b": question_of[b], "answer_a": text_of[doc_id(a)],
                                   "answer_b": text_of[doc_id(b)], "score": 1.2, "method": "margin",
                                   "cosine": 0.9, "margin": 1.2, "language_pair": f"{la}-{lb}"})
    # hard negatives for train queries: top BM25 documents of the language that are not relevant
    relevant: dict[str, set[str]] = defaultdict(set)
    for r in qrels:
        relevant[r["query_id"]].add(r["doc_id"])
    for language in languages:
        docs = [d for d in corpus if d["language"] == language]
        index = BM25Index([d["doc_id"] for d in docs], [d["text"] for d in docs])
        train = [q for q in queries if q["language"] == language and q["split"] == "train"]
        run = index.search([q["query_id"] for q in train], [q["text"] for q in train],
                           k=negatives + 10)
        for q in train:
            pos = doc_id(q["qa_id"])
            scored = run[q["query_id"]]
            negs = [d for d in sorted(scored, key=lambda d: -scored[d]) if d not in relevant[q["query_id"]]]
            negs = negs[:negatives]
            sources = ["bm25"] * len(negs)
            for d in docs[hash_rank(q["query_id"], len(docs)):] + docs:  # fill up with other documents
                if len(negs) >= negatives:
                    break
                if d["doc_id"] not in relevant[q["query_id"]] and d["doc_id"] not in negs:
                    negs.append(d["doc_id"])
                    sources.append("random")
            pos_score = index.search(["p"], [q["text"]], k=len(docs))["p"].get(pos, 0.0)
            hard.append({"query_id": q["query_id"], "language": language, "query": q["text"], "positive_id": pos,
                         "positive": text_of[pos], "positive_score": float(pos_score), "negative_ids": negs,
                         "negatives": [text_of[d] for d in negs],
                         "negative_scores": [float(scored.get(d, 0.0)) for d in negs],
                         "negative_sources": sources})
    bench = out / "benchmarks"
    _write_partitioned(corpus, "benchmarks_corpus", bench / "corpus", ["language", "split"])
    _write_partitioned(queries, "benchmarks_queries", bench / "queries", ["language", "split"])
    _write_partitioned(qrels, "benchmarks_qrels", bench / "qrels", ["language", "split"])
    stats = {"job": "fixture", "in": len(queries), "out": len(queries), "dropped": {}, "split_seed": 0,
             "split_fractions": {"train": 0.6, "dev": 0.2, "test": 0.2}}
    (bench / "_stats.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    export_beir(bench, bench / "export")
    _write_partitioned(bitext, "bitext", out / "bitext", ["language_pair"])
    _write_hard_negatives(hard, out / "hard_negatives")
    return {"corpus": len(corpus), "queries": len(queries), "qrels": len(qrels), "bitext": len(bitext),
            "hard_negatives": len(hard)}


def _write_hard_negatives(rows: list[dict], folder: Path) -> None:
    """The hard_negatives dataset (schemas/hard_negatives.json), partitioned by language, plus the two exports
    jobs/mine_negatives.py writes beside it: <folder>_export/triplets and <folder>_export/marginmse."""
    schema = load_schema("hard_negatives").arrow()
    pq.write_to_dataset(pa.Table.from_pylist(rows, schema=schema), str(folder), partition_cols=["language"],
                        basename_template="part-{i}.parquet", existing_data_behavior="delete_matching")
    n = min((len(r["negatives"]) for r in rows), default=0)
    export = folder.parent / f"{folder.name}_export"
    (export / "triplets").mkdir(parents=True, exist_ok=True)
    (export / "marginmse").mkdir(parents=True, exist_ok=True)
    mnrl = [{"anchor": r["query"], "positive": r["positive"],
             **{f"negative_{i + 1}": r["negatives"][i] for i in range(n)}} for r in rows]
    pq.write_table(pa.Table.from_pylist(mnrl), str(export / "triplets" / "part-0.parquet"))
    margin = [{"query": r["query"], "positive": r["positive"], "negative": neg, "label": r["positive_score"] - s}
              for r in rows for neg, s in zip(r["negatives"], r["negative_scores"], strict=True)]
    pq.write_table(pa.Table.from_pylist(margin), str(export / "marginmse" / "part-0.parquet"))
