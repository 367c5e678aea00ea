"""Retrieval metrics per query with trec_eval (through pytrec_eval), never re-implemented here.

Metric names are written `name@k`: `ndcg@10` (trec_eval `ndcg_cut.10`), `recall@100`
(`recall.100`), `mrr@10` (`recip_rank` on the run cut to its top 10: trec_eval's
reciprocal rank has no cut-off of its own), `map@k` (`map_cut.k`) and `p@k` (`P.k`).

Two details make the numbers those of the ranking we computed:
- trec_eval re-sorts a run by score and breaks ties by document id, so each ranking is
  given to it with scores that only encode our order (ties were already broken by id);
- a judged query that the run does not answer at all scores 0 on every metric (as
  `trec_eval -c`), instead of silently leaving the average.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytrec_eval

from faqmine.retrieval.fusion import ranked

Qrels = dict[str, dict[str, int]]
Run = dict[str, dict[str, float]]
DEFAULT_METRICS: tuple[str, ...] = ("ndcg@10", "mrr@10", "recall@100")


def _parse(metric: str) -> tuple[str, int]:
    name, sep, cut = metric.lower().partition("@")
    if not sep or not cut.isdigit() or int(cut) < 1:
        raise ValueError(f"metric {metric!r}: write name@k, e.g. ndcg@10")
    if name not in ("ndcg", "recall", "mrr", "map", "p"):
        raise ValueError(f"unknown metric {metric!r}: choose ndcg, recall, mrr, map or p, each @k")
    return name, int(cut)


def _trec_measure(name: str, k: int) -> tuple[str, str]:
    """(measure to ask for, key of the answer) in pytrec_eval's spelling."""
    return {
        "ndcg": (f"ndcg_cut.{k}", f"ndcg_cut_{k}"),
        "recall": (f"recall.{k}", f"recall_{k}"),
        "map": (f"map_cut.{k}", f"map_cut_{k}"),
        "p": (f"P.{k}", f"P_{k}"),
        "mrr": ("recip_rank", "recip_rank"),
    }[name]


def _order_scores(run: Run, depth: int | None = None) -> Run:
    out: Run = {}
    for qid, ranking in run.items():
        docs = ranked(ranking)[:depth] if depth else ranked(ranking)
        out[qid] = {doc: float(len(docs) - i) for i, doc in enumerate(docs)}
    return out


def evaluate_run(qrels: Qrels, run: Run, metrics: Sequence[str] = DEFAULT_METRICS) -> dict[str, dict[str, float]]:
    """{query_id: {metric: value}} for every query of `qrels` that has at least one relevant document.

    Documents in `run` that `qrels` does not judge count as not relevant.
    """
    judged = {q: {d: int(r) for d, r in docs.items()} for q, docs in qrels.items() if any(r > 0 for r in docs.values())}
    parsed = [(_parse(m), m) for m in metrics]
    out: dict[str, dict[str, float]] = {q: {} for q in judged}
    if not judged:
        return out
    # group measures by the depth the run must be cut to (only mrr@k needs a cut)
    by_depth: dict[int | None, list[tuple[str, str, str]]] = {}
    for (name, k), label in parsed:
        measure, key = _trec_measure(name, k)
        by_depth.setdefault(k if name == "mrr" else None, []).append((measure, key, label))
    for depth, wanted in by_depth.items():
        ordered = _order_scores({q: r for q, r in run.items() if q in judged and r}, depth)
        evaluator = pytrec_eval.RelevanceEvaluator(judged, {m for m, _, _ in wanted})
        results = evaluator.evaluate(ordered) if ordered else {}
        for qid in judged:
            values = results.get(qid)
            for _, key, label in wanted:
                out[qid][label] = float(values[key]) if values is not None else 0.0
    return out


def mean_metrics(per_query: dict[str, dict[str, float]]) -> dict[str, float]:
    """Mean of each metric over the queries."""
    if not per_query:
        return {}
    names = next(iter(per_query.values())).keys()
    return {m: sum(v[m] for v in per_query.values()) / len(per_query) for m in names}
