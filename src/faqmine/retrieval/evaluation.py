"""Score retrieval systems on evaluation tasks, then summarise with confidence intervals and paired deltas.

A system is BM25 (per-language tokenisation), a dense model (any sentence-transformers
folder: the untrained base encoder or a fine-tuned one), or a hybrid that fuses other
systems' rankings by reciprocal rank. `score_systems` gives one value per system, task,
query and metric; `summarise` turns those into the rows of the eval dataset
(schemas/eval.json): per language (pair) and for pooled groups of pairs (all; trained: every
language of the pair was in the training data; zero-shot: none was; mixed), the mean with
a bootstrap interval, and for every system against each baseline the paired mean
difference with its interval and p-value.
"""

from __future__ import annotations

import gc
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from faqmine.core.schemas import load_schema
from faqmine.retrieval.bm25 import BM25Index
from faqmine.retrieval.bootstrap import bootstrap_ci, paired_comparison
from faqmine.retrieval.dense import EmbeddingCache, search
from faqmine.retrieval.fusion import reciprocal_rank_fusion
from faqmine.retrieval.metrics import DEFAULT_METRICS, evaluate_run
from faqmine.retrieval.tasks import TaskSet

Run = dict[str, dict[str, float]]
GROUPS = ("trained", "zero-shot", "mixed")
PER_QUERY_COLUMNS = ["strategy", "task", "language_pair", "query_language", "doc_language", "language_group",
                     "query_id", "metric", "value"]


@dataclass(frozen=True)
class System:
    """One retriever to evaluate: kind bm25, dense (model = a sentence-transformers folder) or hybrid."""

    name: str
    kind: str
    model: str | None = None
    components: tuple[str, ...] = ()
    vectors: dict | None = field(default=None, repr=False)  # (role, text) -> vector made elsewhere by `model`

    def __post_init__(self) -> None:
        if self.kind not in ("bm25", "dense", "hybrid"):
            raise ValueError(f"system {self.name}: kind must be bm25, dense or hybrid")
        if self.kind == "hybrid" and len(self.components) < 2:
            raise ValueError(f"hybrid {self.name} needs at least two component systems")


@dataclass
class ScoreOptions:
    metrics: Sequence[str] = DEFAULT_METRICS
    depth: int = 100  # documents retrieved per query (Recall@100 needs 100)
    device: str | None = None
    batch_size: int = 64
    max_seq_length: int = 128
    rrf_k: int = 60
    show_progress_bar: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    encoded: dict[str, int] = field(default_factory=dict)  # texts each model encoded (beyond preloaded vectors)


def language_group(task: str, query_language: str, doc_language: str, train_languages: Iterable[str] | None) -> str:
    """trained / zero-shot / mixed: were the languages of a task in the training data?"""
    if train_languages is None:
        return "unknown"
    train = set(train_languages)
    langs = [query_language] if task in ("mono", "lareqa") else [query_language, doc_language]
    seen = sum(lang in train for lang in langs)
    return "trained" if seen == len(langs) else "zero-shot" if seen == 0 else "mixed"


def _run_bm25(taskset: TaskSet, depth: int) -> dict[str, Run]:
    runs: dict[str, Run] = {}
    indexes = {name: BM25Index(p.doc_ids, p.texts) for name, p in taskset.pools.items() if len(p)}
    for t in taskset.tasks:
        runs[t.key] = indexes[t.pool].search(t.query_ids, t.query_texts, k=depth)
    return runs


def _run_dense(taskset: TaskSet, model_path: str, options: ScoreOptions, vectors: dict | None = None
               ) -> dict[str, Run]:
    from faqmine.embedding.load import load_encoder

    model = load_encoder(model_path, device=options.device)
    model.max_seq_length = options.max_seq_length
    cache = EmbeddingCache(model, options.batch_size, options.show_progress_bar)
    cache.preload(vectors or {})
    before = len(cache)
    cache.add([text for p in taskset.pools.values() for text in p.texts], "document")
    cache.add([text for t in taskset.tasks for text in t.query_texts], "query")
    options.encoded[model_path] = len(cache) - before
    pool_vectors = {name: cache.get(p.texts, "document") for name, p in taskset.pools.items()}
    runs = {}
    for t in taskset.tasks:
        pool = taskset.pools[t.pool]
        runs[t.key] = search(t.query_ids, cache.get(t.query_texts, "query"), pool.doc_ids, pool_vectors[t.pool],
                             k=options.depth)
    del model, cache
    gc.collect()
    return runs


def score_systems(taskset: TaskSet, systems: Sequence[System], options: ScoreOptions,
                  train_languages: Iterable[str] | None = None, log=print) -> pd.DataFrame:
    """Per-query metric values of every system on every task (columns PER_QUERY_COLUMNS)."""
    names = [s.name for s in systems]
    if len(set(names)) != len(names):
        raise ValueError(f"system names must be unique: {names}")
    needed = {c for s in systems if s.kind == "hybrid" for c in s.components}
    missing = needed - set(names)
    if missing:
        raise ValueError(f"hybrid components {sorted(missing)} are not systems of this evaluation")
    order = [s for s in systems if s.kind != "hybrid"] + [s for s in systems if s.kind == "hybrid"]
    kept: dict[str, dict[str, Run]] = {}
    frames = []
    for system in order:
        started = time.time()
        if system.kind == "bm25":
            runs = _run_bm25(taskset, options.depth)
        elif system.kind == "dense":
            runs = _run_dense(taskset, system.model, options, system.vectors)
        else:
            runs = {t.key: reciprocal_rank_fusion([kept[c][t.key] for c in system.components], k=options.rrf_k,
                                                  depth=options.depth) for t in taskset.tasks}
        if system.name in needed:
            kept[system.name] = runs
        rows = []
        for t in taskset.tasks:
            group = language_group(t.task, t.query_language, t.doc_language, train_languages)
            for qid, values in evaluate_run(t.qrels, runs[t.key], options.metrics).items():
                for metric, value in values.items():
                    rows.append((system.name, t.task, t.language_pair, t.query_language, t.doc_language, group, qid,
                                 metric, value))
        frames.append(pd.DataFrame(rows, columns=PER_QUERY_COLUMNS))
        options.timings[system.name] = round(time.time() - started, 1)
        log(f"  {system.name}: {len(taskset.tasks)} tasks in {options.timings[system.name]}s")
    return pd.concat(frames, ignore_index=True)


def _seed(seed: int, *parts: str) -> int:
    return (seed * 1_000_003 + zlib.crc32("|".join(parts).encode())) % (2**32)


def _cells(per_query: pd.DataFrame) -> Iterable[tuple[tuple[str, str, str, str, str], pd.DataFrame]]:
    """(task, language_pair, query_language, doc_language, group) cells: each language (pair), then pooled groups."""
    for (task, pair, ql, dl, group), frame in per_query.groupby(
            ["task", "language_pair", "query_language", "doc_language", "language_group"], sort=True):
        yield (task, pair, ql, dl, group), frame
    for task, frame in per_query.groupby("task", sort=True):
        yield (task, "all", "*", "*", "all"), frame
        for group in GROUPS:
            part = frame[frame["language_group"] == group]
            if not part.empty:
                yield (task, group, "*", "*", group), part


def summarise(per_query: pd.DataFrame, run_id: str, compare_to: Sequence[str] = ("base", "inbatch"),
              resamples: int = 1000, confidence: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Rows of the eval dataset: means with bootstrap intervals, and paired deltas against each baseline."""
    rows = []
    strategies = sorted(set(per_query["strategy"]))
    baselines = [b for b in compare_to if b in strategies]
    for (task, pair, ql, dl, group), frame in _cells(per_query):
        key = frame["language_pair"] + "\x1f" + frame["query_id"]
        for metric, by_metric in frame.groupby("metric", sort=True):
            wide = by_metric.assign(key=key[by_metric.index]).pivot_table(
                index="key", columns="strategy", values="value", aggfunc="first")
            for strategy in strategies:
                if strategy not in wide:
                    continue
                values = wide[strategy].dropna().to_numpy()
                est = bootstrap_ci(values, resamples, confidence, _seed(seed, strategy, task, pair, metric))
                rows.append(_row(run_id, strategy, task, pair, ql, dl, group, metric, est.value, est.ci_low,
                                 est.ci_high, est.n, None, None))
                for baseline in baselines:
                    if baseline == strategy or baseline not in wide:
                        continue
                    both = wide[[strategy, baseline]].dropna()
                    if both.empty:
                        continue
                    cmp = paired_comparison(both[strategy].to_numpy(), both[baseline].to_numpy(), resamples,
                                            confidence, _seed(seed, strategy, baseline, task, pair, metric))
                    rows.append(_row(run_id, strategy, task, pair, ql, dl, group, metric, cmp.delta, cmp.ci_low,
                                     cmp.ci_high, cmp.n, baseline, cmp.p_value))
    return pd.DataFrame(rows, columns=load_schema("eval").names)


def _row(run_id, strategy, task, pair, ql, dl, group, metric, value, low, high, n, baseline, p) -> dict:
    return {"run_id": run_id, "strategy": strategy, "task": task, "language_pair": pair, "query_language": ql,
            "doc_language": dl, "language_group": group, "metric": metric, "value": float(value),
            "ci_low": float(low), "ci_high": float(high), "n_queries": int(n), "baseline": baseline,
            "p_value": None if p is None or np.isnan(p) else float(p)}


def write_table(frame: pd.DataFrame, dataset: str, path: str | Path) -> Path:
    """Write `frame` in a dataset's schema to one Parquet file, atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = load_schema(dataset).arrow()
    table = pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, str(tmp))
    tmp.replace(path)
    return path
