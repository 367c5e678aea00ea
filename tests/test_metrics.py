"""Metric, bootstrap, fusion, BM25 and task-building code on hand-made inputs whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from faqmine.build_benchmarks.splits import SplitConfig
from faqmine.retrieval.bm25 import BM25Index
from faqmine.retrieval.bootstrap import bootstrap_ci, paired_comparison, sign_flip_p_value
from faqmine.retrieval.datasets import Benchmark
from faqmine.retrieval.evaluation import language_group, summarise
from faqmine.retrieval.fusion import reciprocal_rank_fusion
from faqmine.retrieval.metrics import evaluate_run, mean_metrics
from faqmine.retrieval.tasks import build_tasks

QRELS = {
    "q1": {"d1": 1},  # one relevant document, ranked 2nd
    "q2": {"d2": 1, "d3": 1},  # two relevant, ranked 1st and 3rd
    "q3": {"d9": 1},  # relevant document never retrieved
    "q4": {"d4": 1},  # not in the run at all
    "q5": {"d5": 0},  # no relevant document: not evaluable
}
RUN = {
    "q1": {"d0": 3.0, "d1": 2.0, "d7": 1.0},
    "q2": {"d2": 0.9, "d8": 0.8, "d3": 0.7},
    "q3": {"d1": 1.0},
}


def test_known_values() -> None:
    got = evaluate_run(QRELS, RUN)
    assert set(got) == {"q1", "q2", "q3", "q4"}
    assert got["q1"]["ndcg@10"] == pytest.approx(1 / math.log2(3))
    assert got["q1"]["mrr@10"] == pytest.approx(0.5)
    assert got["q1"]["recall@100"] == pytest.approx(1.0)
    idcg = 1 + 1 / math.log2(3)
    assert got["q2"]["ndcg@10"] == pytest.approx((1 + 1 / math.log2(4)) / idcg)
    assert got["q2"]["mrr@10"] == pytest.approx(1.0)
    assert got["q3"] == {"ndcg@10": 0.0, "mrr@10": 0.0, "recall@100": 0.0}
    assert got["q4"] == {"ndcg@10": 0.0, "mrr@10": 0.0, "recall@100": 0.0}  # unanswered counts as 0 (trec_eval -c)
    means = mean_metrics(got)
    assert means["mrr@10"] == pytest.approx((0.5 + 1.0) / 4)


def test_cutoffs() -> None:
    run = {"q": {f"x{i:02d}": 100.0 - i for i in range(10)} | {"rel": 50.0}}  # relevant at rank 11
    got = evaluate_run({"q": {"rel": 1}}, run, ["mrr@10", "ndcg@10", "recall@100", "recall@10", "p@20"])["q"]
    assert got["mrr@10"] == 0.0 and got["ndcg@10"] == 0.0 and got["recall@10"] == 0.0
    assert got["recall@100"] == 1.0
    assert got["p@20"] == pytest.approx(1 / 20)


def test_ties_follow_our_order() -> None:
    # equal scores: our order breaks ties by document id, and trec_eval must not re-break them
    run = {"q": {"b": 1.0, "a": 1.0}}
    assert evaluate_run({"q": {"b": 1}}, run, ["mrr@10"])["q"]["mrr@10"] == pytest.approx(0.5)
    assert evaluate_run({"q": {"a": 1}}, run, ["mrr@10"])["q"]["mrr@10"] == pytest.approx(1.0)


def test_bad_metric_names() -> None:
    with pytest.raises(ValueError):
        evaluate_run(QRELS, RUN, ["ndcg"])
    with pytest.raises(ValueError):
        evaluate_run(QRELS, RUN, ["bleu@4"])


def test_bootstrap_interval() -> None:
    x = np.random.default_rng(0).random(300)
    est = bootstrap_ci(x, resamples=2000, seed=1)
    assert est.ci_low < est.value < est.ci_high
    assert est.value == pytest.approx(x.mean())
    se = x.std(ddof=1) / math.sqrt(len(x))  # the interval is about mean +- 1.96 standard errors
    assert est.ci_high - est.ci_low == pytest.approx(2 * 1.96 * se, rel=0.15)
    assert bootstrap_ci(x, seed=1) == bootstrap_ci(x, seed=1)  # deterministic for a seed
    const = bootstrap_ci([0.5] * 10)
    assert (const.ci_low, const.ci_high) == (0.5, 0.5)
    assert math.isnan(bootstrap_ci([]).value)


def test_paired_comparison() -> None:
    rng = np.random.default_rng(2)
    base = rng.random(200)
    better = paired_comparison(base + 0.1 + rng.normal(0, 0.01, 200), base)
    assert better.delta == pytest.approx(0.1, abs=0.01) and better.ci_low > 0 and better.p_value < 0.01
    same = paired_comparison(base, base)
    assert same.delta == 0 and same.p_value == 1.0
    with pytest.raises(ValueError):
        paired_comparison([1, 2], [1])


def test_sign_flip_exact() -> None:
    assert sign_flip_p_value([1, 1, 1, 1]) == pytest.approx(2 / 16)  # all + or all - of 16 patterns
    assert sign_flip_p_value([1, -1]) == 1.0


def test_rrf() -> None:
    a = {"q": {"d1": 9.0, "d2": 5.0}}
    b = {"q": {"d2": 0.9, "d3": 0.8}}
    fused = reciprocal_rank_fusion([a, b], k=60)["q"]
    assert fused["d2"] == pytest.approx(1 / 62 + 1 / 61)
    assert fused["d1"] == pytest.approx(1 / 61)
    assert fused["d3"] == pytest.approx(1 / 62)
    assert list(fused) == ["d2", "d1", "d3"]


def test_bm25_ranks_by_overlap() -> None:
    index = BM25Index(["a", "b", "c"], ["the cat sat on the mat", "dogs bark", "a cat and a dog"])
    run = index.search(["q1", "q2"], ["cat mat", "zebra"], k=10)
    assert list(run["q1"])[0] == "a" and set(run["q1"]) == {"a", "c"}
    assert run["q2"] == {}


def _tiny_benchmark() -> tuple[Benchmark, pd.DataFrame]:
    corpus = pd.DataFrame([
        {"doc_id": f"d_{x}{lang}", "qa_id": f"{x}{lang}", "title": "", "text": f"answer {x} {lang}",
         "domain": dom, "language": lang, "split": split}
        for x, dom, split in (("1", "t.org", "test"), ("2", "t.org", "test"), ("3", "r.org", "train"))
        for lang in ("de", "en", "th")])
    queries = corpus.rename(columns={"doc_id": "query_id"}).assign(
        query_id=lambda f: "q_" + f["qa_id"], text=lambda f: "question " + f["qa_id"])
    qrels = pd.DataFrame({"query_id": queries["query_id"], "doc_id": corpus["doc_id"], "score": 1,
                          "language": corpus["language"], "split": corpus["split"]})
    bitext = pd.DataFrame([
        {"site": dom, "language_a": a, "language_b": b, "qa_id_a": f"{x}{a}", "qa_id_b": f"{x}{b}",
         "question_a": f"question {x}{a}", "question_b": f"question {x}{b}", "answer_a": f"answer {x} {a}",
         "answer_b": f"answer {x} {b}"}
        for x, dom in (("1", "t.org"), ("2", "t.org"), ("3", "r.org")) for a, b in (("de", "en"), ("en", "th"))])
    return Benchmark(corpus, queries[["query_id", "qa_id", "text", "domain", "language", "split"]], qrels,
                     SplitConfig(), "parquet"), bitext


def test_tasks_from_test_split_bitext() -> None:
    bench, bitext = _tiny_benchmark()
    ts = build_tasks(bench, bitext)
    keys = {t.key for t in ts.tasks}
    assert {"mono/de", "mono/en", "mono/th"} <= keys
    assert {"cross/de-en", "cross/en-de", "cross/en-th", "cross/th-en"} <= keys
    assert "cross/de-th" not in keys  # no bitext pair between them
    de_en = next(t for t in ts.tasks if t.key == "cross/de-en")
    assert de_en.qrels == {"q_1de": {"d_1en": 1}, "q_2de": {"d_2en": 1}}  # the train-split site is left out
    lareqa = next(t for t in ts.tasks if t.key == "lareqa/de-*")
    assert lareqa.qrels["q_1de"] == {"d_1de": 1, "d_1en": 1, "d_1th": 1}  # translations through en count too
    assert len(ts.pools["*"]) == 9 and len(ts.pools["de"]) == 3  # pools hold every split's documents


def test_language_groups() -> None:
    train = ["en", "de"]
    assert language_group("mono", "de", "de", train) == "trained"
    assert language_group("cross", "de", "th", train) == "mixed"
    assert language_group("cross", "th", "ar", train) == "zero-shot"
    assert language_group("lareqa", "th", "*", train) == "zero-shot"
    assert language_group("mono", "de", "de", None) == "unknown"


def test_summarise_rows() -> None:
    rows = []
    for system, offset in (("base", 0.0), ("inbatch", 0.2)):
        for i in range(20):
            rows.append({"strategy": system, "task": "mono", "language_pair": "de", "query_language": "de",
                         "doc_language": "de", "language_group": "trained", "query_id": f"q{i}", "metric": "ndcg@10",
                         "value": min(1.0, 0.5 + offset + (i % 3) * 0.01)})
    out = summarise(pd.DataFrame(rows), "r1", resamples=200)
    score = out[(out["strategy"] == "inbatch") & out["baseline"].isna() & (out["language_pair"] == "de")].iloc[0]
    assert score["value"] == pytest.approx(np.mean([min(1, 0.7 + (i % 3) * 0.01) for i in range(20)]))
    delta = out[(out["strategy"] == "inbatch") & (out["baseline"] == "base") & (out["language_pair"] == "all")].iloc[0]
    assert delta["value"] == pytest.approx(0.2) and delta["ci_low"] > 0.19 and delta["p_value"] < 0.01
    assert set(out["language_pair"]) == {"de", "all", "trained"}
