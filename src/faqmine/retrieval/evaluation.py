"""Score retrieval systems on evaluation tasks, then summarise with confidence intervals and paired deltas.

A system is BM25 (per-language tokenisation), a dense model (any sentence-transformers
folder: the untrained base encoder or a fine-tuned one), or a hybrid that fuses other
systems' rankings by reciprocal rank. `score_systems` gives one value per system, task,
query and metric; `summarise` turns those into the rows of the eval dataset
(schemas/eval.json): per language (pair) and for pooled groups of pairs (all; trained: every
language of the pair was in the training data; zero-shot: none was; mixed), the mean with
a bootstrap interval, and for every system against each baseline the paired mean
difference with its interval and p-value.

A trained strategy is run with several seeds (one system per seed, e.g. hardneg@1, with
strategy hardneg and seed 1). Its rows come per seed (seed set; queries resampled) and
pooled over seeds (seed empty; n_seeds the number of runs; the mean over seeds and queries,
its interval from a bootstrap that resamples both). Paired comparisons pair the runs of two
strategies seed by seed (a strategy without seeds, such as base, is paired with each run).
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
from faqmine.retrieval.bootstrap import SharedResamples, estimate, sign_flip_p_values
from faqmine.retrieval.dense import EmbeddingCache, search
from faqmine.retrieval.fusion import reciprocal_rank_fusion
from faqmine.retrieval.metrics import DEFAULT_METRICS, evaluate_run
from faqmine.retrieval.tasks import TaskSet

Run = dict[str, dict[str, float]]
GROUPS = ("trained", "zero-shot", "mixed")
PER_QUERY_COLUMNS = ["strategy", "seed", "step", "task", "language_pair", "query_language", "doc_language",
                     "language_group", "query_id", "metric", "value"]


@dataclass(frozen=True)
class System:
    """One retriever to evaluate: kind bm25, dense (model = a sentence-transformers folder) or hybrid."""

    name: str
    kind: str
    model: str | None = None
    components: tuple[str, ...] = ()
    vectors: dict | None = field(default=None, repr=False)  # (role, text) -> vector made elsewhere by `model`
    strategy: str | None = None  # the strategy a trained run belongs to (default: the name)
    seed: int | None = None  # the training run's seed (None: not trained, e.g. bm25, base)
    step: int | None = None  # the checkpoint's training step (learning curves); None: the final model

    @property
    def label(self) -> str:
        return self.strategy or self.name

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
    # the base encoder whose frozen lower layers fine-tuned models share: their hidden states are computed once
    # (faqmine.embedding.frozen_prefix); None encodes every model in full
    frozen_prefix_base: str | None = None
    prefix: object | None = field(default=None, repr=False)
    prefix_reused: dict[str, int] = field(default_factory=dict)  # texts each model took from the shared layers


def language_group(task: str, query_language: str, doc_language: str, train_languages: Iterable[str] | None) -> str:
    """trained / zero-shot / mixed: were the languages of a task in the training data?"""
    if train_languages is None:
        return "unknown"
    train = set(train_languages)
    langs = [query_language] if doc_language in (query_language, "*") else [query_language, doc_language]
    seen = sum(lang in train for lang in langs)
    return "trained" if seen == len(langs) else "zero-shot" if seen == 0 else "mixed"


def _run_bm25(taskset: TaskSet, depth: int) -> dict[str, Run]:
    runs: dict[str, Run] = {}
    indexes = {name: BM25Index(p.doc_ids, p.texts) for name, p in taskset.pools.items() if len(p)}
    for t in taskset.tasks:
        runs[t.key] = indexes[t.pool].search(t.query_ids, t.query_texts, k=depth)
    return runs


def _is_prefix_base(model_path: str, options: ScoreOptions) -> bool:
    """Is this the base encoder of the frozen prefix (encoded through it only once a fine-tuned model set its depth)?"""
    return bool(options.frozen_prefix_base) and Path(model_path).resolve() == Path(options.frozen_prefix_base).resolve()


def _run_dense(taskset: TaskSet, model_path: str, options: ScoreOptions, vectors: dict | None = None
               ) -> dict[str, Run]:
    from faqmine.embedding.load import load_encoder

    model = load_encoder(model_path, device=options.device)
    model.max_seq_length = options.max_seq_length
    prefix = None
    if options.frozen_prefix_base and (options.prefix is not None or not _is_prefix_base(model_path, options)):
        if options.prefix is None:
            from faqmine.embedding.frozen_prefix import FrozenPrefix

            base = load_encoder(options.frozen_prefix_base, device=options.device)
            base.max_seq_length = options.max_seq_length
            options.prefix = FrozenPrefix(base)
        prefix = options.prefix
        reused_before = prefix.reused
    cache = EmbeddingCache(model, options.batch_size, options.show_progress_bar, prefix)
    cache.preload(vectors or {})
    before = len(cache)
    texts = [text for p in taskset.pools.values() for text in p.texts]
    texts += [text for t in taskset.tasks for text in t.query_texts]
    roles = [role for p in taskset.pools.values() for role in p.roles]
    roles += [role for t in taskset.tasks for role in t.roles]
    cache.get_each(texts, roles)  # each distinct (role, text) once, longest texts batched together
    options.encoded[model_path] = len(cache) - before
    if prefix is not None:
        options.prefix_reused[model_path] = prefix.reused - reused_before
    pool_vectors = {name: cache.get_each(p.texts, p.roles) for name, p in taskset.pools.items()}
    runs = {}
    for t in taskset.tasks:
        pool = taskset.pools[t.pool]
        runs[t.key] = search(t.query_ids, cache.get_each(t.query_texts, t.roles), pool.doc_ids,
                             pool_vectors[t.pool], k=options.depth)
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
    # the base after the fine-tuned models: once one of them has set the frozen prefix's depth, the base's lower
    # layers are the prefix's, not run a second time (faqmine.embedding.frozen_prefix)
    is_base = [s.kind == "dense" and _is_prefix_base(s.model, options) for s in systems]
    order = ([s for s, b in zip(systems, is_base, strict=True) if s.kind != "hybrid" and not b]
             + [s for s, b in zip(systems, is_base, strict=True) if b] + [s for s in systems if s.kind == "hybrid"])
    kept: dict[str, dict[str, Run]] = {}
    frames: dict[str, pd.DataFrame] = {}
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
                    rows.append((system.label, system.seed, system.step, t.task, t.language_pair, t.query_language,
                                 t.doc_language, group, qid, metric, value))
        frame = pd.DataFrame(rows, columns=PER_QUERY_COLUMNS)
        frames[system.name] = frame.astype({"seed": "Int64", "step": "Int64"})
        options.timings[system.name] = round(time.time() - started, 1)
        log(f"  {system.name}: {len(taskset.tasks)} tasks in {options.timings[system.name]}s")
    return pd.concat([frames[name] for name in names], ignore_index=True)


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


def _runs(columns: Sequence[tuple[str, object]]) -> dict[str, list[int | None]]:
    """strategy -> its seeds in order ([None] for a system trained once without a seed, or not trained)."""
    out: dict[str, list[int | None]] = {}
    for strategy, seed in columns:
        out.setdefault(strategy, []).append(None if pd.isna(seed) else int(seed))
    return {k: sorted(v, key=lambda x: -1 if x is None else x) for k, v in out.items()}


_NO_SEED = -1
_STEP = "\x1estep="


def _paired(a: list[int | None], b: list[int | None]) -> list[tuple[int | None, int | None]]:
    """Which run of a goes with which run of b: seed by seed where both have the seed, else by position; a
    strategy with one run is paired with every run of the other."""
    if len(a) == 1 or len(b) == 1:
        return [(x, b[0]) for x in a] if len(b) == 1 else [(a[0], y) for y in b]
    common = [s for s in a if s in b]
    if common:
        return [(s, s) for s in common]
    return list(zip(a, b, strict=False))


def summarise(per_query: pd.DataFrame, run_id: str, compare_to: Sequence[str] = ("base", "inbatch"),
              resamples: int = 1000, confidence: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Rows of the eval dataset: means with bootstrap intervals (per seed and pooled over seeds), and paired
    deltas against each baseline (per seed pair and pooled over seeds and queries) with a sign-flip p-value.
    Every estimate of one cell (task, language pair or group, metric) uses the queries all its systems were
    scored on and one shared draw of resamples (faqmine.retrieval.bootstrap.SharedResamples)."""
    rows = []
    if "seed" not in per_query.columns:
        per_query = per_query.assign(seed=pd.NA)
    if "step" in per_query.columns and per_query["step"].notna().any():  # checkpoints: one strategy per step
        step = per_query["step"].astype("Int64")
        per_query = per_query.assign(strategy=per_query["strategy"].where(
            step.isna(), per_query["strategy"] + _STEP + step.astype(str)))
    per_query = per_query.assign(seed=per_query["seed"].astype("Int64").fillna(_NO_SEED).astype(int))
    runs = _runs(sorted(set(zip(per_query["strategy"], per_query["seed"], strict=True))))
    runs = {k: [None if s == _NO_SEED else s for s in v] for k, v in runs.items()}
    strategies = sorted(runs)
    baselines = [b for b in compare_to if b in strategies]
    for (task, pair, ql, dl, group), frame in _cells(per_query):
        key = frame["language_pair"] + "\x1f" + frame["query_id"]
        for metric, by_metric in frame.groupby("metric", sort=True):
            wide = by_metric.assign(key=key[by_metric.index]).pivot_table(
                index="key", columns=["strategy", "seed"], values="value", aggfunc="first")
            present = {s: [x for x in seeds if (s, _NO_SEED if x is None else x) in wide.columns]
                       for s, seeds in runs.items()}
            present = {s: v for s, v in present.items() if v}
            columns = [(s, x) for s, seeds in present.items() for x in seeds]
            column = {c: i for i, c in enumerate(columns)}
            matrix = wide[[(s, _NO_SEED if x is None else x) for s, x in columns]].to_numpy(dtype=np.float64)
            matrix = matrix[~np.isnan(matrix).any(axis=1)]  # the queries every system was scored on
            if not len(matrix):
                continue
            draws = SharedResamples(resamples, _seed(seed, task, pair, metric))
            means = draws.means(matrix)  # resamples x (system, seed)
            tested: list[tuple[int, np.ndarray]] = []  # (row, per-query difference pooled over seed pairs)
            for strategy, seeds in present.items():
                own = [column[(strategy, x)] for x in seeds]
                if seeds != [None]:
                    for i, s in zip(own, seeds, strict=True):
                        est = estimate(matrix[:, i], means[:, i], confidence)
                        rows.append(_row(run_id, strategy, s, 1, task, pair, ql, dl, group, metric, est, None, None))
                est = estimate(matrix[:, own], draws.pooled(means[:, own]), confidence)
                rows.append(_row(run_id, strategy, None, len(seeds), task, pair, ql, dl, group, metric, est, None,
                                 None))
                for baseline in baselines:
                    if baseline == strategy or baseline not in present:
                        continue
                    pairs = _paired(seeds, present[baseline])
                    a = [column[(strategy, x)] for x, _ in pairs]
                    b = [column[(baseline, y)] for _, y in pairs]
                    d, d_means = matrix[:, a] - matrix[:, b], means[:, a] - means[:, b]
                    for i, (x, y) in enumerate(pairs):
                        if x is not None or y is not None:
                            est = estimate(d[:, i], d_means[:, i], confidence)
                            rows.append(_row(run_id, strategy, x if x is not None else y, 1, task, pair, ql, dl, group,
                                             metric, est, baseline, None))
                    est = estimate(d, draws.pooled(d_means), confidence)
                    rows.append(_row(run_id, strategy, None, len(pairs), task, pair, ql, dl, group, metric, est,
                                     baseline, None))
                    tested.append((len(rows) - 1, d.mean(axis=1)))
            if tested:
                p_values = sign_flip_p_values(np.column_stack([d for _, d in tested]),
                                              seed=_seed(seed, "sign-flip", task, pair, metric))
                for (row, _), p in zip(tested, p_values, strict=True):
                    rows[row]["p_value"] = None if np.isnan(p) else float(p)
    out = pd.DataFrame(rows, columns=load_schema("eval").names)
    for column in ("strategy", "baseline"):
        split = out[column].str.partition(_STEP)
        out[column] = split[0].where(out[column].notna(), None)
        if column == "strategy":
            out["step"] = pd.to_numeric(split[2].where(split[1] == _STEP), errors="coerce").astype("Int64")
    return out


def _row(run_id, strategy, run_seed, n_seeds, task, pair, ql, dl, group, metric, est, baseline, p) -> dict:
    return {"run_id": run_id, "strategy": strategy, "seed": run_seed, "n_seeds": int(n_seeds), "task": task,
            "language_pair": pair, "query_language": ql, "doc_language": dl, "language_group": group,
            "metric": metric, "value": float(est.value), "ci_low": float(est.ci_low), "ci_high": float(est.ci_high),
            "n_queries": int(est.n), "baseline": baseline, "p_value": None if p is None or np.isnan(p) else float(p)}


def write_table(frame: pd.DataFrame, dataset: str, path: str | Path) -> Path:
    """Write `frame` in a dataset's schema to one Parquet file, atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = load_schema(dataset).arrow()
    absent = [f.name for f in schema if f.name not in frame.columns and f.nullable]
    if absent:  # optional columns (e.g. seed of a run without trained models) are written empty
        frame = frame.assign(**{name: None for name in absent})
    table = pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, str(tmp))
    tmp.replace(path)
    return path
