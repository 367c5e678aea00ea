"""Evaluate retrievers on the test split: monolingual, cross-lingual and language-agnostic (LAReQA) retrieval.

    .venv/bin/python training/evaluate.py --data data/demo --run-id cpu \
        --model inbatch@1=runs/inbatch-s1 --model inbatch@2=runs/inbatch-s2 --model hardneg@1=runs/hardneg-s1

Besides the test split's simulated tasks, every system is scored zero-shot on the real pages of
data/realfaq (faqmine.retrieval.realfaq): real_mono, real_cross, real_lareqa, and parallel-text
retrieval (a task outside training, to measure forgetting). A model named STRATEGY@SEED is one
training run of a strategy; the summary pools a strategy's seeds.

Systems: BM25 (per-language tokenisation), the untrained base encoder, a BM25 + base hybrid
fused by reciprocal rank, and every --model given. Metrics come from trec_eval (pytrec_eval),
search from faiss; every mean gets a bootstrap 95% interval and every system a paired
comparison against each --compare-to baseline. Writes <out>/metrics/<run_id>.parquet
(schemas/eval.json), <out>/per_query/<run_id>.parquet (schemas/eval_per_query.json) and
<out>/runs/<run_id>.json (what was evaluated, how, and how long it took).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

DEFAULTS = {
    "benchmarks": None, "bitext": None, "out": None, "run_id": None, "model": [], "base": None, "systems": None,
    "hybrid": ["hybrid=bm25+base"], "train_languages": None, "languages": None, "tasks": ["mono", "cross", "lareqa"],
    "split": "test", "max_queries": None, "max_pool_docs": None, "metrics": ["ndcg@10", "mrr@10", "recall@100"],
    "resamples": 1000, "seed": 0, "compare_to": ["base", "inbatch", "randneg"], "device": None, "batch_size": 64,
    "max_seq_length": 128, "threads": None, "depth": 100, "embeddings": None,
    "realfaq": None, "real_tasks": ["real_mono", "real_cross", "real_lareqa", "parallel"], "max_real_queries": None,
    "real_languages": None, "full_encode": False, "reranker": None,
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="training/evaluate.py", description=__doc__.split("\n\n")[0] + " Flags override --config.")
    p.add_argument("--config", metavar="FILE", help="YAML or JSON file with any of the options below (underscores)")
    p.add_argument("--data", metavar="DIR", help="data root holding benchmarks/ and bitext/ (required here or in "
                   "--config)")
    p.add_argument("--benchmarks", metavar="DIR", help="benchmarks folder (default: <data>/benchmarks)")
    p.add_argument("--bitext", metavar="DIR", help="bitext folder (default: <data>/bitext); without bitext only "
                   "mono tasks are built")
    p.add_argument("--out", metavar="DIR", help="eval folder (default: <data>/eval)")
    p.add_argument("--run-id", dest="run_id", help="name of this evaluation (default: a time stamp)")
    p.add_argument("--model", action="append", metavar="NAME=PATH",
                   help="a fine-tuned model: its train.py output folder (or a sentence-transformers folder); NAME is "
                   "its strategy, or STRATEGY@SEED for one of several runs of a strategy (without @SEED the seed is "
                   "read from the run's faqmine_train.json when there is one), STRATEGY@SEED:STEP for a checkpoint "
                   "(learning curves) (repeatable)")
    p.add_argument("--base", metavar="PATH", help="untrained encoder (default: $FAQMINE_ENCODER, else the "
                   "packaged multilingual-e5-small)")
    p.add_argument("--systems", nargs="+", metavar="NAME", help="systems to run (default: bm25 base, every "
                   "hybrid and every --model)")
    p.add_argument("--hybrid", action="append", metavar="NAME=A+B", help="a reciprocal-rank fusion of systems "
                   f"(default {DEFAULTS['hybrid']})")
    p.add_argument("--train-languages", dest="train_languages", nargs="+", metavar="LANG",
                   help="languages the models were trained on (default: read from the models' faqmine_train.json); "
                   "others are zero-shot")
    p.add_argument("--languages", nargs="+", metavar="LANG", help="evaluate only these languages (default: all)")
    p.add_argument("--tasks", nargs="+", choices=["mono", "cross", "lareqa"], help="tasks to build")
    p.add_argument("--split", help="benchmark split to evaluate on (default test)")
    p.add_argument("--max-queries", dest="max_queries", type=int, help="sample at most this many queries per task")
    p.add_argument("--max-pool-docs", dest="max_pool_docs", type=int,
                   help="sample each language's unjudged documents down to this many (judged ones are kept)")
    p.add_argument("--metrics", nargs="+", help="metrics as name@k (ndcg, mrr, recall, map, p)")
    p.add_argument("--resamples", type=int, help="bootstrap resamples (default 1000)")
    p.add_argument("--seed", type=int, help="seed of sampling and bootstrap")
    p.add_argument("--compare-to", dest="compare_to", nargs="+", metavar="SYSTEM",
                   help="baselines of the paired comparisons (default base inbatch; absent ones are skipped)")
    p.add_argument("--device", help="torch device of the encoders (default: cuda when available, else cpu)")
    p.add_argument("--batch-size", dest="batch_size", type=int, help="encoding batch size")
    p.add_argument("--max-seq-length", dest="max_seq_length", type=int, help="tokens per text (default 128)")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--embeddings", metavar="PATH", help="the embed stage's qa_embeddings: the base encoder's vectors "
                   "are read from it when it holds that model's vectors at this --max-seq-length (default: "
                   "<data>/qa_embeddings); 'none' encodes everything")
    p.add_argument("--depth", type=int, help="documents retrieved per query (default 100)")
    p.add_argument("--full-encode", dest="full_encode", action="store_true", default=None,
                   help="run every layer of every model; by default a fine-tuned model that kept the base's lowest "
                   "layers (freeze_layers) runs only its upper ones on the base's stored hidden states, with the "
                   "same vectors (faqmine.embedding.frozen_prefix)")
    p.add_argument("--realfaq", metavar="DIR", help="real FAQ pages with gold QAs and translation groups (default: "
                   "the repository's data/realfaq); 'none' skips the real out-of-domain tasks")
    p.add_argument("--real-tasks", dest="real_tasks", nargs="*", metavar="TASK",
                   help="real tasks to build (default real_mono real_cross real_lareqa parallel)")
    p.add_argument("--real-languages", dest="real_languages", nargs="+", metavar="LANG",
                   help="build the real tasks from pages in these languages only (default: every page)")
    p.add_argument("--max-real-queries", dest="max_real_queries", type=int,
                   help="sample at most this many queries per real task and language (pair)")
    p.add_argument("--reranker", metavar="PATH", help="a cross-encoder folder from `faqmine models train-reranker`: "
                   "its card (dev and real-page reranking against the bi-encoder) goes into the run record and the "
                   "report, whether or not it scored marginmse's negatives")
    return p


def resolve_options(args: argparse.Namespace) -> dict:
    from faqmine.retrieval.config import read_config_file

    options = dict(DEFAULTS, data=None)
    if args.config:
        data = read_config_file(args.config)
        unknown = sorted(set(data) - set(options))
        if unknown:
            raise ValueError(f"unknown keys {unknown} in {args.config}; known: {sorted(options)}")
        options.update(data)
    options.update({k: v for k, v in vars(args).items() if k != "config" and v is not None})
    if not options["data"]:
        raise ValueError("--data is required (or data: in --config)")
    return options


def _reranker_card(folder: str | None) -> dict | None:
    """The trained cross-encoder's card summary, named as mine_negatives names its teacher (the absolute path), so the
    report can tell whether it was used; None without --reranker."""
    from faqmine.retrieval.reranker import card_summary

    if not folder:
        return None
    summary = card_summary(folder)
    if summary is None:
        raise FileNotFoundError(f"--reranker {folder}: no faqmine_reranker.json card there")
    return {"teacher": f"cross-encoder:{Path(folder).resolve()}", **summary}


def _parse_name(name: str) -> tuple[str, int | None, int | None] | None:
    """STRATEGY[@SEED][:STEP] -> (strategy, seed, step); None when malformed."""
    rest, colon, step = name.partition(":")
    strategy, at, seed = rest.partition("@")
    if not strategy or at and not seed.lstrip("-").isdigit() or colon and not step.isdigit():
        return None
    return strategy, int(seed) if at else None, int(step) if colon else None


def _model_entry(spec: str) -> tuple[str, Path, dict]:
    from faqmine.retrieval.train import FINAL_MODEL, RECORD

    name, sep, path = spec.partition("=")
    if not sep or not name or not path:
        raise ValueError(f"--model expects NAME=PATH or STRATEGY@SEED=PATH, got {spec!r}")
    if not _parse_name(name):
        raise ValueError(f"--model {name}: expected STRATEGY, STRATEGY@SEED or STRATEGY@SEED:STEP (integers)")
    folder = Path(path)
    record_path = folder / RECORD if (folder / RECORD).exists() else folder.parent / RECORD
    record = json.loads(record_path.read_text(encoding="utf-8")) if record_path.exists() else {}
    if (folder / FINAL_MODEL).is_dir():
        folder = folder / FINAL_MODEL
    if not (folder / "modules.json").exists() and not (folder / "config.json").exists():
        raise ValueError(f"--model {name}: {folder} is not a sentence-transformers folder (train it first)")
    return name, folder, record


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        opts = resolve_options(args)
        models = [_model_entry(spec) for spec in opts["model"]]
    except ValueError as exc:
        parser.error(str(exc))

    import torch

    from faqmine.core.machine import cpu_description
    from faqmine.embedding.load import DEFAULT_ENCODER, ENV_VAR
    from faqmine.retrieval.datasets import MissingDataset, read_benchmarks, read_bitext, stored_base_vectors
    from faqmine.retrieval.evaluation import ScoreOptions, System, score_systems, summarise, write_table
    from faqmine.retrieval.realfaq import DEFAULT_DIR, build_realfaq_tasks, merge
    from faqmine.retrieval.tasks import build_tasks

    if opts["threads"]:
        torch.set_num_threads(int(opts["threads"]))
    device = opts["device"] or ("cuda" if torch.cuda.is_available() else "cpu")
    data = Path(opts["data"])
    out = Path(opts["out"]) if opts["out"] else data / "eval"
    run_id = opts["run_id"] or time.strftime("%Y%m%d-%H%M%S")
    started = time.time()
    try:
        bench = read_benchmarks(data, opts["languages"], folder=opts["benchmarks"])
        try:
            bitext = read_bitext(data, folder=opts["bitext"])
        except MissingDataset as exc:
            if "cross" in opts["tasks"] or "lareqa" in opts["tasks"]:
                print(f"evaluate.py: {exc}; only mono tasks are built", file=sys.stderr)
            bitext = None
    except MissingDataset as exc:
        print(f"evaluate.py: {exc}", file=sys.stderr)
        return 2
    taskset = build_tasks(bench, bitext, split=opts["split"], languages=opts["languages"], tasks=opts["tasks"],
                          max_queries=opts["max_queries"], max_pool_docs=opts["max_pool_docs"], seed=opts["seed"])
    if not taskset.tasks:
        print(f"evaluate.py: no {opts['split']} queries to evaluate in {data}", file=sys.stderr)
        return 2
    real_info = None
    if (opts["realfaq"] is None or str(opts["realfaq"]).lower() != "none") and opts["real_tasks"]:
        real = build_realfaq_tasks(opts["realfaq"] or DEFAULT_DIR, tasks=opts["real_tasks"],
                                   languages=opts["real_languages"], max_queries=opts["max_real_queries"],
                                   seed=int(opts["seed"]))
        taskset = merge(taskset, real.taskset)
        real_info = {"folder": str(opts["realfaq"] or DEFAULT_DIR), "aligned_groups": real.aligned_groups,
                     "skipped_groups": real.skipped}
        print(f"  real out-of-domain tasks: {len(real.taskset.tasks)}; translation groups aligned "
              f"{sorted(real.aligned_groups)}, skipped {real.skipped}")
    train_languages = opts["train_languages"]
    if train_languages is None:
        found = {lang for _, _, record in models for lang in record.get("train_languages", []) if lang != "?"}
        train_languages = sorted(found) if found else None
    base = str(Path(opts["base"] or os.environ.get(ENV_VAR) or DEFAULT_ENCODER))
    base_vectors, vectors_note = {}, "--embeddings none"
    if opts["embeddings"] is None or str(opts["embeddings"]).lower() != "none":
        base_vectors, vectors_note = stored_base_vectors(opts["embeddings"] or data / "qa_embeddings", bench, base,
                                                         int(opts["max_seq_length"]))
    print(f"  base encoder vectors: {vectors_note}")
    systems = {"bm25": System("bm25", "bm25"), "base": System("base", "dense", base, vectors=base_vectors)}
    for name, folder, record in models:
        strategy, run_seed, step = _parse_name(name)
        run_seed = run_seed if run_seed is not None else record.get("config", {}).get("seed")
        if name in systems:
            parser.error(f"--model {name} given twice")
        systems[name] = System(name, "dense", str(folder), strategy=strategy,
                               seed=None if run_seed is None else int(run_seed), step=step)
    for spec in opts["hybrid"] or []:
        name, _, parts = spec.partition("=")
        systems[name] = System(name, "hybrid", components=tuple(p for p in parts.split("+") if p))
    chosen = opts["systems"] or list(systems)
    unknown = [s for s in chosen if s not in systems]
    if unknown:
        parser.error(f"unknown systems {unknown}; known: {sorted(systems)}")
    for s in chosen:  # a hybrid needs its components
        for c in systems[s].components:
            if c not in chosen:
                chosen.insert(0, c)
    print(f"evaluate.py: {json.dumps(taskset.summary())}")
    print(f"  systems {chosen} on {device}; trained languages {train_languages or 'unknown'}")
    options = ScoreOptions(metrics=opts["metrics"], depth=int(opts["depth"]), device=device,
                           batch_size=int(opts["batch_size"]), max_seq_length=int(opts["max_seq_length"]),
                           frozen_prefix_base=None if opts["full_encode"] else base)
    per_query = score_systems(taskset, [systems[s] for s in dict.fromkeys(chosen)], options, train_languages)
    per_query.insert(0, "run_id", run_id)
    summary = summarise(per_query, run_id, compare_to=opts["compare_to"], resamples=int(opts["resamples"]),
                        seed=int(opts["seed"]))
    write_table(per_query, "eval_per_query", out / "per_query" / f"{run_id}.parquet")
    metrics_path = write_table(summary, "eval", out / "metrics" / f"{run_id}.parquet")
    meta = {
        "run_id": run_id, "data": str(data), "options": {k: v for k, v in opts.items()}, "device": device,
        "machine": cpu_description(),
        "systems": {s: {"kind": systems[s].kind, "model": systems[s].model, "components": systems[s].components}
                    for s in dict.fromkeys(chosen)},
        "train_languages": train_languages, "training_runs": {name: record for name, _, record in models},
        "reranker": _reranker_card(opts["reranker"]),
        "tasks": taskset.summary(), "seconds": round(time.time() - started, 1), "seconds_by_system": options.timings,
        "texts_encoded_by_model": options.encoded, "base_vectors": vectors_note, "realfaq": real_info,
        "frozen_prefix": {"layers": getattr(options.prefix, "depth", None),
                          "texts_by_model": options.prefix_reused},
        "seeds": {s.label: sorted({x.seed for x in systems.values() if x.label == s.label and x.seed is not None})
                  for s in (systems[c] for c in dict.fromkeys(chosen))},
    }
    (out / "runs").mkdir(parents=True, exist_ok=True)
    (out / "runs" / f"{run_id}.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False, default=str) + "\n",
                                                 encoding="utf-8")
    overall = summary[(summary["baseline"].isna()) & summary["seed"].isna() & (summary["language_pair"] == "all")
                      & (summary["metric"] == opts["metrics"][0])]
    print(f"\n{opts['metrics'][0]} over all queries (95% CI):")
    for r in overall.sort_values(["task", "strategy"]).itertuples(index=False):
        print(f"  {r.task:<11} {r.strategy:<10} {r.value:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}] n={r.n_queries}")
    print(f"\nwrote {metrics_path} ({len(summary)} rows) in {meta['seconds']}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
