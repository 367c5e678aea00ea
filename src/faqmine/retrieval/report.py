"""The experiment report, generated from the eval dataset only (nothing in it is typed by hand).

`write_report` reads one evaluation run (<eval>/metrics/<run_id>.parquet and
<eval>/runs/<run_id>.json; the learning curve from <eval>/metrics/<run_id>-curve.parquet when
there is one) and writes a folder:

- summary.md and summary.html: first the answer in words, with numbers and intervals (hard vs
  random vs in-batch negatives, MarginMSE on the encoder's own and on a cross-encoder's margins;
  simulated and real out-of-domain tasks; trained and zero-shot languages; the forgetting cost
  on parallel-text retrieval); a difference is *called* only when its interval, pooled over
  seeds and queries, excludes 0 and every seed's difference has the same sign. Then what was
  compared, on which data; per task the pooled scores (all, trained languages, zero-shot
  languages) with 95% intervals; the paired comparisons of every strategy against randneg,
  inbatch, hardneg, marginmse and the untrained base, in words as the
  intervals say them (better / worse / no detectable difference); the language (pair)s
  where hard negatives did not beat in-batch negatives; then the full table of strategy x
  language (pair) x metric with the delta against inbatch and against base;
- table.csv: that full table;
- deltas_mono.png, deltas_cross.png: per language (pair) differences against inbatch with
  their intervals; heatmap_cross_ndcg.png: cross-lingual nDCG@10 (query language x answer
  language) per strategy; heatmap_cross_delta.png: the hardneg - inbatch difference per pair.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

TRAINED = ("inbatch", "randneg", "hardneg", "marginmse", "marginmse_ce")
ORDER = ("bm25", "base", "hybrid", *TRAINED)
MARGIN_STRATEGIES = ("marginmse", "marginmse_ce")  # trained on a teacher's margins (read from its hard negatives)
TASK_ORDER = ("mono", "cross", "lareqa", "real_mono", "real_cross", "real_lareqa", "parallel")
TASK_NAMES = {"mono": "simulated mono", "cross": "simulated cross-lingual", "lareqa": "simulated LAReQA",
              "real_mono": "real mono", "real_cross": "real cross-lingual", "real_lareqa": "real language-agnostic",
              "parallel": "parallel text (forgetting)"}
CURVE_SUFFIX = "-curve"
POOLED = ("all", "trained", "zero-shot", "mixed")
MAIN_METRIC = "ndcg@10"


def _strategy_order(names: Sequence[str]) -> list[str]:
    return [s for s in ORDER if s in names] + sorted(s for s in names if s not in ORDER)


def _teachers(meta: dict, strategy: str) -> set[str]:
    """The teachers whose margins a strategy's runs learned: their counts of rows per teacher (faqmine_train.json,
    copied into the evaluation's run record)."""
    return {key.split("=", 1)[1] for name, record in (meta.get("training_runs") or {}).items()
            if name.split("@")[0] == strategy
            for key in (record.get("counts") or {}) if key.startswith("teacher=")}


def strategy_labels(meta: dict) -> dict[str, str]:
    """How a strategy is named in the report's text, tables and plots where its name alone would mislead: a margin
    strategy (marginmse, marginmse_ce) trained on the base encoder's own cosine margins (the teacher column says
    `encoder-cosine`) is self-distillation, not distillation from a better teacher; one trained on a cross-encoder's
    margins says so."""
    labels = {}
    for strategy in MARGIN_STRATEGIES:
        teachers = _teachers(meta, strategy)
        if teachers and teachers <= {"encoder-cosine", "unknown"}:
            labels[strategy] = f"{strategy} (self-distillation)"
        elif teachers:
            labels[strategy] = f"{strategy} (cross-encoder teacher)"
    return labels


def _reranking(entry: dict | None) -> str:
    if not entry:
        return "not measured"
    low, high = entry["delta_ci"]
    return (f"nDCG@10 {entry['bi_encoder']:.3f} -> {entry['reranked']:.3f}, difference {entry['delta']:+.3f} "
            f"[{low:+.3f}, {high:+.3f}] ({entry['queries']} queries)")


def _shown_path(path: str | None) -> str | None:
    """A folder as the report names it: relative to the working directory (the repository, under make experiment)
    when inside it, so a committed report does not name the folders of the machine it ran on."""
    if not path:
        return path
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path


def _shown_teacher(teacher: str | None) -> str | None:
    """A teacher name (`cross-encoder:<absolute folder>`, as mine_negatives writes it) with _shown_path's folder."""
    kind, sep, folder = (teacher or "").partition(":")
    return f"{kind}:{_shown_path(folder)}" if sep else teacher


def teacher_lines(meta: dict) -> list[str]:
    """Setup lines naming the cross-encoder behind a margin strategy's margins, or the one the run trained and no
    run used, with how it did as a reranker of the bi-encoder's top 20 (its card: copied by mine_negatives into
    _stats.json and by train.py into the run record, or read by evaluate.py --reranker)."""
    used = {record["teacher_card"].get("teacher"): record["teacher_card"]
            for name, record in (meta.get("training_runs") or {}).items()
            if name.split("@")[0] in MARGIN_STRATEGIES and record.get("teacher_card")}
    trained = meta.get("reranker")
    cards = dict(used)
    if trained and trained.get("teacher") not in cards:
        cards[trained.get("teacher")] = trained
    lines = []
    for teacher, card in cards.items():
        subject = "the cross-encoder margins come from" if teacher in used else "this run trained"
        text = (f"- {subject} the cross-encoder `{_shown_teacher(teacher)}` ({card.get('steps', '?')} training steps "
                f"on the train split). As a reranker of the base bi-encoder's top 20: dev "
                f"{_reranking(card.get('dev'))}; real pages {_reranking(card.get('realfaq'))}. ")
        if card.get("use_as_teacher"):
            text += "It beats the bi-encoder on dev (interval above 0)."
        elif teacher in used:
            text += ("It does **not** beat the bi-encoder on dev: the student learns margins from a teacher no "
                     "better than its own starting point.")
        elif used:
            text += "It does **not** beat the bi-encoder on dev, and the marginmse runs here learned another's margins."
        else:
            text += "It does **not** beat the bi-encoder on dev, and no run here learned its margins."
        lines.append(text)
    return lines


def latest_run_id(eval_dir: str | Path) -> str:
    files = sorted((Path(eval_dir) / "metrics").glob("*.parquet"), key=lambda p: p.stat().st_mtime)
    if not files:
        raise FileNotFoundError(f"no evaluation runs under {eval_dir}/metrics (run training/evaluate.py first)")
    return files[-1].stem


def load_run(eval_dir: str | Path, run_id: str) -> tuple[pd.DataFrame, dict]:
    eval_dir = Path(eval_dir)
    path = eval_dir / "metrics" / f"{run_id}.parquet"
    if not path.exists():
        raise FileNotFoundError(f"no evaluation {path}")
    meta_path = eval_dir / "runs" / f"{run_id}.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
    return normalise(pd.read_parquet(path)), meta


def normalise(metrics: pd.DataFrame) -> pd.DataFrame:
    """Add the columns of runs written before seeds and checkpoints were recorded (one run, final models)."""
    defaults = {"seed": pd.NA, "n_seeds": 1, "step": pd.NA}
    return metrics.assign(**{k: v for k, v in defaults.items() if k not in metrics.columns})


def pooled_rows(metrics: pd.DataFrame) -> pd.DataFrame:
    """Rows pooled over seeds (and the rows of systems that were not trained): one per system and cell."""
    return metrics[metrics["seed"].isna() & metrics["step"].isna()]


def seed_rows(metrics: pd.DataFrame) -> pd.DataFrame:
    return metrics[metrics["seed"].notna() & metrics["step"].isna()]


def _task_order(names) -> list[str]:
    return [t for t in TASK_ORDER if t in set(names)] + sorted(set(names) - set(TASK_ORDER))


def _fmt(value: float, low: float, high: float, signed: bool = False) -> str:
    f = "{:+.3f}" if signed else "{:.3f}"
    return f"{f.format(value)} [{f.format(low)}, {f.format(high)}]"


def _verdict(row, seeds: Sequence[float] | None = None) -> str:
    """better / worse when the interval excludes 0 and every seed agrees in sign; else no call."""
    if row.ci_low > 0 or row.ci_high < 0:
        sign = 1 if row.ci_low > 0 else -1
        if seeds is not None and len(seeds) > 1 and not all(sign * x > 0 for x in seeds):
            return "no call: the interval excludes 0 but the seeds disagree in sign"
        return "better" if sign > 0 else "worse"
    return "no detectable difference"


def _seed_deltas(metrics: pd.DataFrame) -> dict[tuple, list[float]]:
    """(strategy, baseline, task, language_pair, metric) -> the per-seed differences."""
    d = seed_rows(metrics)
    d = d[d["baseline"].notna()]
    return {k: list(g["value"]) for k, g in d.groupby(["strategy", "baseline", "task", "language_pair", "metric"])}


def full_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """strategy x task x language (pair) x metric: value and interval, delta vs inbatch and vs base (pooled over
    seeds)."""
    metrics = pooled_rows(metrics)
    scores = metrics[metrics["baseline"].isna()]
    keys = ["strategy", "task", "language_pair", "metric"]
    out = scores[keys + ["language_group", "n_seeds", "value", "ci_low", "ci_high", "n_queries"]].copy()
    for baseline in ("inbatch", "base", "randneg"):
        d = metrics[metrics["baseline"] == baseline][keys + ["value", "ci_low", "ci_high", "p_value"]]
        d = d.rename(columns={"value": f"delta_vs_{baseline}", "ci_low": f"delta_vs_{baseline}_ci_low",
                              "ci_high": f"delta_vs_{baseline}_ci_high", "p_value": f"p_vs_{baseline}"})
        out = out.merge(d, on=keys, how="left")
    rank = {s: i for i, s in enumerate(_strategy_order(sorted(set(out["strategy"]))))}
    pooled = out["language_pair"].isin(POOLED)
    out = out.assign(_p=pooled.astype(int), _s=out["strategy"].map(rank))
    return out.sort_values(["task", "_p", "language_pair", "metric", "_s"]).drop(columns=["_p", "_s"]).reset_index(
        drop=True)


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _spread(metrics: pd.DataFrame) -> dict[tuple, list[float]]:
    """(strategy, task, language_pair, metric) -> the per-seed scores."""
    d = seed_rows(metrics)
    d = d[d["baseline"].isna()]
    return {k: list(g["value"]) for k, g in d.groupby(["strategy", "task", "language_pair", "metric"])}


def _spread_text(values: list[float] | None) -> str:
    if not values or len(values) < 2:
        return "-"
    return f"{min(values):.3f}-{max(values):.3f}"


def _pooled_tables(metrics: pd.DataFrame, strategies: list[str], names: dict[str, str]) -> list[str]:
    out = []
    spread = _spread(metrics)
    scores = pooled_rows(metrics)
    scores = scores[scores["baseline"].isna() & scores["language_pair"].isin(POOLED)]
    metric_names = sorted(set(scores["metric"]), key=lambda m: (m != MAIN_METRIC, m))
    for task in _task_order(scores["task"]):
        part = scores[scores["task"] == task]
        rows = []
        for group in POOLED:
            for s in strategies:
                cell = part[(part["language_pair"] == group) & (part["strategy"] == s)]
                if cell.empty:
                    continue
                values = []
                for m in metric_names:
                    r = cell[cell["metric"] == m]
                    values.append(_fmt(*r[["value", "ci_low", "ci_high"]].iloc[0]) if not r.empty else "")
                rows.append([group, names.get(s, s), str(int(cell["n_seeds"].iloc[0])),
                             str(int(cell["n_queries"].iloc[0])), values[0],
                             _spread_text(spread.get((s, task, group, metric_names[0]))), *values[1:]])
        out.append(f"### {TASK_NAMES.get(task, task)} (`{task}`)\n\n" + _md_table(
            ["languages", "strategy", "seeds", "queries", metric_names[0], "seed range", *metric_names[1:]], rows))
    return out


def _per_seed_table(metrics: pd.DataFrame, strategies: list[str], names: dict[str, str]) -> str:
    """nDCG@10 of every training run (strategy x seed) per task, all languages pooled."""
    d = seed_rows(metrics)
    d = d[d["baseline"].isna() & (d["language_pair"] == "all") & (d["metric"] == MAIN_METRIC)]
    if d.empty:
        return "No trained strategy has seeds in this run."
    tasks = _task_order(d["task"])
    rows = []
    for s in strategies:
        for seed in sorted(set(d.loc[d["strategy"] == s, "seed"])):
            cell = d[(d["strategy"] == s) & (d["seed"] == seed)].set_index("task")["value"]
            rows.append([names.get(s, s), str(int(seed)), *[f"{cell[t]:.3f}" if t in cell else "" for t in tasks]])
    return _md_table(["strategy", "seed", *tasks], rows)


COMPARED_TO = ("randneg", "inbatch", "hardneg", "marginmse", "base")  # the baselines the report shows


def comparisons(metrics: pd.DataFrame, baselines: Sequence[str] = COMPARED_TO) -> pd.DataFrame:
    """Pooled paired comparisons of the main metric on pooled language groups, with the per-seed deltas and the
    verdict (called only when the interval excludes 0 and every seed agrees in sign)."""
    seeds = _seed_deltas(metrics)
    d = pooled_rows(metrics)
    d = d[d["baseline"].isin(baselines) & d["language_pair"].isin(POOLED) & (d["metric"] == MAIN_METRIC)]
    rows = []
    for r in d.itertuples(index=False):
        per_seed = seeds.get((r.strategy, r.baseline, r.task, r.language_pair, r.metric), [])
        rows.append({**r._asdict(), "seed_deltas": per_seed, "verdict": _verdict(r, per_seed)})
    return pd.DataFrame(rows)


def _comparison_lines(metrics: pd.DataFrame, strategies: list[str], names: dict[str, str]) -> list[str]:
    lines = []
    table = comparisons(metrics)
    if table.empty:
        return lines
    for baseline in COMPARED_TO:
        part = table[table["baseline"] == baseline]
        if part.empty:
            continue
        lines.append(f"\n**{MAIN_METRIC} against {baseline}** (paired over the same queries and seed by seed; 95% "
                     "bootstrap interval resampling seeds and queries; p from a sign-flip test on the per-query mean "
                     "over seeds; per-seed differences in brackets):\n")
        order = {t: i for i, t in enumerate(_task_order(part["task"]))}
        part = part.assign(_t=part["task"].map(order)).sort_values(["_t", "language_pair"])
        for r in part.itertuples(index=False):
            if r.strategy not in strategies or r.strategy in ("bm25", "hybrid") and baseline != "base":
                continue
            seeds = f" (seeds: {', '.join(f'{x:+.3f}' for x in r.seed_deltas)})" if len(r.seed_deltas) > 1 else ""
            lines.append(f"- {r.task}, {r.language_pair} ({r.n_queries} queries, {r.n_seeds} seed pairs): "
                         f"{names.get(r.strategy, r.strategy)} - {baseline} = "
                         f"{_fmt(r.value, r.ci_low, r.ci_high, True)}, p = "
                         f"{r.p_value:.3g}{seeds}: {r.verdict}")
    return lines


def _say(row) -> str:
    called = row.verdict in ("better", "worse")
    return _fmt(row.value, row.ci_low, row.ci_high, True) + ("" if called else " (no call)")


def answer_paragraph(metrics: pd.DataFrame, names: dict[str, str] | None = None) -> list[str]:
    """The answer in words: every question of the experiment with its pooled difference and interval."""
    names = names or {}
    table = comparisons(metrics)
    if table.empty:
        return ["No trained strategy was evaluated against a baseline: nothing to answer."]
    seeds = pooled_rows(metrics)
    seeds = seeds[seeds["baseline"].isna() & seeds["strategy"].isin(TRAINED)]
    n_seeds = sorted({int(x) for x in seeds["n_seeds"]}) if not seeds.empty else []
    questions = [("hardneg", "randneg", "Hard vs random negatives"),
                 ("hardneg", "inbatch", "Hard vs in-batch negatives"),
                 ("randneg", "inbatch", "Random vs in-batch negatives"),
                 ("marginmse", "inbatch", "MarginMSE vs in-batch negatives"),
                 ("marginmse_ce", "inbatch", "MarginMSE on the cross-encoder's margins vs in-batch negatives"),
                 ("marginmse_ce", "hardneg", "MarginMSE on the cross-encoder's margins vs hard negatives"),
                 ("marginmse_ce", "marginmse", "Cross-encoder margins vs the encoder's own cosine margins"),
                 ("inbatch", "base", "Fine-tuning at all (inbatch vs the untrained base)")]
    out = [f"{MAIN_METRIC} differences, pooled over {'/'.join(map(str, n_seeds)) or '?'} seeds and the queries, with "
           "95% intervals that resample both; a difference is called (better/worse) only when its interval excludes "
           "0 and every seed agrees in sign, else it is marked (no call). Tasks: simulated (in-domain test split) "
           "mono / cross-lingual / LAReQA, then real out-of-domain pages (mono / cross-lingual / language-agnostic), "
           "for all languages and for the zero-shot ones.", ""]
    cannot = []
    for strategy, baseline, title in questions:
        part = table[(table["strategy"] == strategy) & (table["baseline"] == baseline)]
        if part.empty:
            continue
        bits = []
        for task in _task_order(part["task"]):
            if task == "parallel":
                continue
            for group in ("all", "zero-shot"):
                cell = part[(part["task"] == task) & (part["language_pair"] == group)]
                if cell.empty:
                    continue
                r = cell.iloc[0]
                bits.append(f"{TASK_NAMES.get(task, task)}{'' if group == 'all' else ', zero-shot'} {_say(r)}")
                if r.verdict not in ("better", "worse") and group == "all":
                    cannot.append(f"{names.get(strategy, strategy)} vs {baseline} on {task}")
        called = part[part["verdict"].isin(["better", "worse"])]
        out.append(f"- **{title}** ({names.get(strategy, strategy)} - {baseline}): " + "; ".join(bits)
                   + f". Called: {len(called)} of {len(part)} pooled cells.")
    forgetting = table[(table["task"] == "parallel") & (table["baseline"] == "base")
                       & (table["language_pair"] == "all")]
    if not forgetting.empty:
        out.append("- **Forgetting** (parallel-text retrieval on the real pages, a task no model was trained on; "
                   "each strategy - base): " + "; ".join(
                       f"{names.get(r.strategy, r.strategy)} {_say(r)}" for r in forgetting.itertuples(index=False)
                       if r.strategy not in ("bm25", "hybrid")) + ".")
    if cannot:
        out.append("- **Where the data cannot tell** (no call on all languages pooled): " + ", ".join(cannot) + ".")
    return out


def _not_helped(metrics: pd.DataFrame, strategy: str, names: dict[str, str]) -> list[str]:
    metrics = pooled_rows(metrics)
    d = metrics[(metrics["baseline"] == "inbatch") & (metrics["strategy"] == strategy)
                & (metrics["metric"] == MAIN_METRIC) & ~metrics["language_pair"].isin(POOLED)]
    lines = []
    for task in _task_order(d["task"]):
        part = d[d["task"] == task]
        if part.empty:
            continue
        worse = part[part["value"] < 0].sort_values("value")
        tied = part[part["value"] == 0]
        significant = part[part["ci_low"] > 0]
        lines.append(f"- {task}: {names.get(strategy, strategy)} beat inbatch with an interval above 0 on "
                     f"{len(significant)} of "
                     f"{len(part)} language (pair)s; it was lower on {len(worse)}"
                     + (": " + ", ".join(f"{r.language_pair} ({r.value:+.3f}, {r.language_group})"
                                         for r in worse.head(20).itertuples(index=False)) if len(worse) else "")
                     + (" ..." if len(worse) > 20 else "")
                     + (f"; equal on {len(tied)}" if len(tied) else "") + ".")
    return lines


def learning_curve(curve: pd.DataFrame) -> pd.DataFrame:
    """strategy x step: dev nDCG@10 (all languages of the mono task pooled, mean over seeds) and the seeds' range.
    Step 0 is the untrained base encoder."""
    d = curve[curve["baseline"].isna() & (curve["language_pair"] == "all") & (curve["metric"] == MAIN_METRIC)]
    rows = []
    for task, by_task in d.groupby("task"):
        base = by_task[(by_task["strategy"] == "base") & by_task["step"].isna()]
        for strategy in sorted(set(by_task["strategy"]) - {"base", "bm25", "hybrid"}):
            if not base.empty:
                b = base.iloc[0]
                rows.append({"task": task, "strategy": strategy, "step": 0, "value": b.value, "ci_low": b.ci_low,
                             "ci_high": b.ci_high, "seed_min": b.value, "seed_max": b.value, "n_seeds": 1})
            part = by_task[(by_task["strategy"] == strategy) & by_task["step"].notna()]
            for step, g in part.groupby("step"):
                pooled = g[g["seed"].isna()]
                per = g[g["seed"].notna()]["value"]
                if pooled.empty:
                    continue
                r = pooled.iloc[0]
                rows.append({"task": task, "strategy": strategy, "step": int(step), "value": r.value,
                             "ci_low": r.ci_low, "ci_high": r.ci_high,
                             "seed_min": per.min() if len(per) else r.value,
                             "seed_max": per.max() if len(per) else r.value, "n_seeds": int(r.n_seeds)})
    return pd.DataFrame(rows, columns=["task", "strategy", "step", "value", "ci_low", "ci_high", "seed_min",
                                       "seed_max", "n_seeds"])


def _curve_section(curve: pd.DataFrame | None, out: Path) -> tuple[list[str], list[str]]:
    if curve is None:
        return ["No learning-curve run (`<run_id>-curve`) was found."], []
    table = learning_curve(curve)
    table.to_csv(out / "learning_curve.csv", index=False)
    lines = ["Dev split, all languages pooled, mean over seeds with the 95% interval (seeds and queries "
             "resampled) and the range of the seeds; step 0 is the untrained base encoder.", ""]
    rows = [[r.task, r.strategy, str(r.step), _fmt(r.value, r.ci_low, r.ci_high), f"{r.seed_min:.3f}-{r.seed_max:.3f}"]
            for r in table.sort_values(["task", "strategy", "step"]).itertuples(index=False)]
    lines.append(_md_table(["task", "strategy", "step", f"dev {MAIN_METRIC}", "seed range"], rows))
    best = []
    for (task, strategy), g in table.groupby(["task", "strategy"]):
        top = g.loc[g["value"].idxmax()]
        best.append(f"{strategy} on {task}: highest at step {int(top.step)} ({top.value:.3f})")
    if best:
        lines += ["", "Where dev stops improving: " + "; ".join(best) + "."]
    plots = []
    if not table.empty:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        tasks = sorted(set(table["task"]))
        fig, axes = plt.subplots(1, len(tasks), figsize=(4.5 * len(tasks), 3.4), squeeze=False)
        for ax, task in zip(axes[0], tasks, strict=True):
            for strategy, g in table[table["task"] == task].groupby("strategy"):
                g = g.sort_values("step")
                ax.plot(g["step"], g["value"], marker="o", label=strategy)
                ax.fill_between(g["step"], g["ci_low"], g["ci_high"], alpha=0.15)
            ax.set_title(f"dev {task}", fontsize=10)
            ax.set_xlabel("training step")
            ax.set_ylabel(MAIN_METRIC)
            ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "learning_curve.png", dpi=110)
        plt.close(fig)
        plots.append("learning_curve.png")
    return lines, plots


def _html(markdown_text: str) -> str:
    """A plain HTML rendering of the summary's headings, tables, lists, images and paragraphs."""
    body, table = [], []

    def flush() -> None:
        if table:
            rows = [r for r in table if not set(r.replace("|", "").strip()) <= {"-", " "}]
            cells = [[html.escape(c.strip()) for c in r.strip().strip("|").split("|")] for r in rows]
            body.append("<table><thead><tr>" + "".join(f"<th>{c}</th>" for c in cells[0]) + "</tr></thead><tbody>"
                        + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in cells[1:])
                        + "</tbody></table>")
            table.clear()

    for line in markdown_text.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush()
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{html.escape(line[level:].strip())}</h{level}>")
        elif line.startswith("!["):
            alt, src = line[2:].split("](", 1)
            body.append(f'<p><img src="{html.escape(src.rstrip(")"))}" alt="{html.escape(alt)}" '
                        'style="max-width:100%"></p>')
        elif line.startswith("- "):
            body.append(f"<li>{html.escape(line[2:])}</li>")
        elif line.strip():
            body.append(f"<p>{html.escape(line)}</p>")
    flush()
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse;"
             "font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}")
    return f"<!doctype html><html><head><meta charset='utf-8'><title>faqmine experiment</title><style>{style}" \
           f"</style></head><body>{''.join(body)}</body></html>\n"


def _plots(metrics: pd.DataFrame, out: Path, strategies: list[str], names: dict[str, str]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    made = []
    metrics = pooled_rows(metrics)
    versus = [s for s in strategies if s not in ("inbatch", "bm25", "hybrid")]
    for task, name in (("mono", "deltas_mono.png"), ("cross", "deltas_cross.png"),
                       ("real_mono", "deltas_real_mono.png"), ("real_cross", "deltas_real_cross.png"),
                       ("parallel", "deltas_parallel.png")):
        d = metrics[(metrics["baseline"] == "inbatch") & (metrics["task"] == task) & (metrics["metric"] == MAIN_METRIC)
                    & ~metrics["language_pair"].isin(POOLED) & metrics["strategy"].isin(versus)]
        if d.empty:
            continue
        pairs = sorted(set(d["language_pair"]))
        group = d.drop_duplicates("language_pair").set_index("language_pair")["language_group"]
        height = max(3.0, 0.22 * len(pairs) * max(1, len(versus)) / 1.5)
        fig, ax = plt.subplots(figsize=(8, height))
        width = 0.8 / len(versus)
        for i, s in enumerate(versus):
            part = d[d["strategy"] == s].set_index("language_pair").reindex(pairs)
            y = np.arange(len(pairs)) + i * width
            err = np.vstack([part["value"] - part["ci_low"], part["ci_high"] - part["value"]])
            ax.barh(y, part["value"], height=width, xerr=err, label=names.get(s, s), capsize=2, alpha=0.85)
        ax.set_yticks(np.arange(len(pairs)) + width * (len(versus) - 1) / 2)
        ax.set_yticklabels([f"{p} ({group.get(p, '')})" for p in pairs], fontsize=7)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlabel(f"{MAIN_METRIC} difference against inbatch (95% CI)")
        ax.set_title(f"{TASK_NAMES.get(task, task)}: per language{' pair' if 'mono' not in task else ''}")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        made.append(name)
    cross = metrics[metrics["baseline"].isna() & (metrics["task"] == "cross") & (metrics["metric"] == MAIN_METRIC)
                    & ~metrics["language_pair"].isin(POOLED)]
    mono = metrics[metrics["baseline"].isna() & (metrics["task"] == "mono") & (metrics["metric"] == MAIN_METRIC)
                   & ~metrics["language_pair"].isin(POOLED)]
    if not cross.empty:
        langs = sorted(set(cross["query_language"]) | set(cross["doc_language"]))
        shown = [s for s in strategies if s in set(cross["strategy"])]

        def grid(frame: pd.DataFrame, mono_frame: pd.DataFrame | None) -> np.ndarray:
            m = np.full((len(langs), len(langs)), np.nan)
            for r in frame.itertuples(index=False):
                m[langs.index(r.query_language), langs.index(r.doc_language)] = r.value
            if mono_frame is not None:
                for r in mono_frame.itertuples(index=False):
                    if r.query_language in langs:
                        m[langs.index(r.query_language), langs.index(r.query_language)] = r.value
            return m

        cols = min(3, len(shown))
        rows = (len(shown) + cols - 1) // cols
        fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.8 * rows), squeeze=False)
        for ax, s in zip(axes.flat, shown, strict=False):
            image = ax.imshow(grid(cross[cross["strategy"] == s], mono[mono["strategy"] == s]), vmin=0, vmax=1,
                              cmap="viridis")
            ax.set_title(names.get(s, s), fontsize=10)
            ax.set_xticks(range(len(langs)), langs, fontsize=7, rotation=90)
            ax.set_yticks(range(len(langs)), langs, fontsize=7)
            ax.set_xlabel("answer language", fontsize=8)
            ax.set_ylabel("query language", fontsize=8)
        for ax in list(axes.flat)[len(shown):]:
            ax.axis("off")
        fig.colorbar(image, ax=axes, shrink=0.8, label=f"{MAIN_METRIC} (diagonal: monolingual)")
        fig.savefig(out / "heatmap_cross_ndcg.png", dpi=110)
        plt.close(fig)
        made.append("heatmap_cross_ndcg.png")
        delta = metrics[(metrics["baseline"] == "inbatch") & (metrics["metric"] == MAIN_METRIC)
                        & ~metrics["language_pair"].isin(POOLED)]
        for s in [x for x in ("hardneg", "randneg", *MARGIN_STRATEGIES) if x in set(delta["strategy"])]:
            fig, ax = plt.subplots(figsize=(5.5, 4.6))
            values = grid(delta[(delta["task"] == "cross") & (delta["strategy"] == s)],
                          delta[(delta["task"] == "mono") & (delta["strategy"] == s)])
            bound = max(0.05, float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 0.05)
            image = ax.imshow(values, vmin=-bound, vmax=bound, cmap="RdBu")
            ax.set_xticks(range(len(langs)), langs, fontsize=7, rotation=90)
            ax.set_yticks(range(len(langs)), langs, fontsize=7)
            ax.set_xlabel("answer language")
            ax.set_ylabel("query language")
            ax.set_title(f"{names.get(s, s)} - inbatch, {MAIN_METRIC}")
            fig.colorbar(image, ax=ax, shrink=0.8)
            fig.tight_layout()
            name = "heatmap_cross_delta.png" if s == "hardneg" else f"heatmap_cross_delta_{s}.png"
            fig.savefig(out / name, dpi=110)
            plt.close(fig)
            made.append(name)
    return made


TEACHER_STAGES = ("train_reranker", "mine_negatives_teacher")  # scripts/experiment.sh with TEACHER=1


def _timings(eval_dir: Path, meta: dict) -> list[str]:
    """The experiment's stage timings (<data>/experiment_timings.tsv, written by scripts/experiment.sh)."""
    path = Path(meta.get("data", "")) / "experiment_timings.tsv"
    if not meta.get("data") or not path.exists():
        return []
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if "\t" in line]
    total = sum(int(float(x[1])) for x in rows)
    groups: dict[str, int] = {}
    for name, seconds in rows:
        key = ("teacher" if name in TEACHER_STAGES else "training" if name.startswith("train_")
               else "evaluation" if name.startswith("evaluate") else "report" if name == "report" else "pipeline")
        groups[key] = groups.get(key, 0) + int(float(seconds))
    return [f"- time: {total} s ({total / 60:.1f} min) for the stages timed so far: "
            + ", ".join(f"{k} {v} s" for k, v in groups.items()) + " (every stage in timings.tsv)"]


def write_report(eval_dir: str | Path, out: str | Path, run_id: str | None = None) -> dict:
    """Write the report folder for one evaluation run; returns the paths written."""
    eval_dir = Path(eval_dir)
    run_id = run_id or latest_run_id(eval_dir)
    metrics, meta = load_run(eval_dir, run_id)
    curve_path = eval_dir / "metrics" / f"{run_id}{CURVE_SUFFIX}.parquet"
    curve = normalise(pd.read_parquet(curve_path)) if curve_path.exists() else None
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    strategies = _strategy_order(sorted(set(metrics["strategy"])))
    table = full_table(metrics)
    table.to_csv(out / "table.csv", index=False)
    per_seed = seed_rows(metrics)
    per_seed.to_csv(out / "per_seed.csv", index=False)
    names = strategy_labels(meta)
    plots = _plots(metrics, out, strategies, names)
    curve_lines, curve_plots = _curve_section(curve, out)
    tasks = meta.get("tasks", {})
    lines = [f"# Retrieval experiment `{run_id}`", "", "## The answer", ""]
    lines += answer_paragraph(metrics, names)
    lines += ["", "## Setup", "",
              "Generated by training/report.py from the evaluation outputs "
              f"(`metrics/{run_id}.parquet`"
              + (f", `metrics/{run_id}{CURVE_SUFFIX}.parquet`" if curve is not None else "")
              + "); every number below is read from them.", "",
              f"- data: `{meta.get('data', '?')}`; split evaluated: {meta.get('options', {}).get('split', 'test')}",
              f"- training languages: {', '.join(meta.get('train_languages') or []) or 'unknown'} "
              "(every other language is zero-shot)",
              f"- systems: {', '.join(strategies)}; seeds: {json.dumps(meta.get('seeds', {}))}",
              f"- tasks: {json.dumps(tasks.get('tasks', {}))}",
              f"- evaluation time: {meta.get('seconds', '?')} s on {meta.get('device', '?')}"
              + (f" ({meta['machine']})" if meta.get("machine") else "")]
    if names.get("marginmse", "").endswith("(self-distillation)"):
        lines.append("- marginmse is labelled self-distillation: its margins are the base encoder's own cosines "
                     "(hard_negatives' teacher column says `encoder-cosine`), so it pulls the student towards the "
                     "model it starts from"
                     + ("; marginmse_ce learns a cross-encoder's margins instead (`faqmine models train-reranker`, "
                        "below)" if "marginmse_ce" in strategies else ""))
    lines += teacher_lines(meta)
    real = meta.get("realfaq") or {}
    if real:
        lines.append(f"- real out-of-domain pages (`{_shown_path(real.get('folder'))}`): translation groups used "
                     f"{json.dumps(real.get('aligned_groups', {}))}; skipped "
                     f"{json.dumps(real.get('skipped_groups', {}))}")
    lines += _timings(eval_dir, meta)
    for name, record in (meta.get("training_runs") or {}).items():
        c = record.get("config", {})
        lines.append(f"- {name}: {record.get('global_step', '?')} steps of batch {c.get('batch_size', '?')}, "
                     f"k={c.get('k_negatives', '-') if not name.startswith('inbatch') else '-'}, max_seq_length "
                     f"{c.get('max_seq_length', '?')}, frozen embeddings {c.get('freeze_embeddings', '?')}, "
                     f"frozen layers {c.get('freeze_layers', 0)}, seed {c.get('seed', '?')}, "
                     f"{record.get('counts', {}).get('rows', '?')} training rows, "
                     f"{record.get('seconds_per_step', '?')} s/step, {record.get('seconds', '?')} s")
    lines += ["", "## Learning curve (dev)", ""] + curve_lines + [f"![{p}]({p})" for p in curve_plots]
    lines += ["", "## Pooled scores (mean over seeds and queries, 95% bootstrap interval; seed range: lowest and "
              "highest seed)", ""]
    lines += ["\n\n".join(_pooled_tables(metrics, strategies, names)), "",
              f"## Per-seed scores ({MAIN_METRIC}, all languages)", "", _per_seed_table(metrics, strategies, names), "",
              "## Paired comparisons"]
    lines += _comparison_lines(metrics, strategies, names)
    lines += ["", "## Where hard negatives did not help", ""]
    for s in ("hardneg", "randneg", *MARGIN_STRATEGIES):
        if s in strategies:
            lines += _not_helped(metrics, s, names)
    lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots]
    lines += ["", f"## Full table ({MAIN_METRIC}, pooled over seeds; every metric is in table.csv, every seed in "
              "per_seed.csv)", ""]
    main = table[table["metric"] == MAIN_METRIC]
    rows = []
    for r in main.itertuples(index=False):
        rows.append([r.task, r.language_pair, r.language_group, names.get(r.strategy, r.strategy), str(r.n_queries),
                     _fmt(r.value, r.ci_low, r.ci_high),
                     "" if pd.isna(r.delta_vs_inbatch) else _fmt(r.delta_vs_inbatch, r.delta_vs_inbatch_ci_low,
                                                                 r.delta_vs_inbatch_ci_high, True),
                     "" if pd.isna(r.delta_vs_base) else _fmt(r.delta_vs_base, r.delta_vs_base_ci_low,
                                                              r.delta_vs_base_ci_high, True)])
    lines.append(_md_table(["task", "language (pair)", "group", "strategy", "queries", MAIN_METRIC,
                            "delta vs inbatch", "delta vs base"], rows))
    text = "\n".join(lines) + "\n"
    (out / "summary.md").write_text(text, encoding="utf-8")
    (out / "summary.html").write_text(_html(text), encoding="utf-8")
    plots += curve_plots
    return {"run_id": run_id, "summary": str(out / "summary.md"), "html": str(out / "summary.html"),
            "table": str(out / "table.csv"), "per_seed": str(out / "per_seed.csv"),
            "plots": [str(out / p) for p in plots]}
