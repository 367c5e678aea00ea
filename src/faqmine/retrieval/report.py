"""The experiment report, generated from the eval dataset only (nothing in it is typed by hand).

`write_report` reads one evaluation run (<eval>/metrics/<run_id>.parquet and
<eval>/runs/<run_id>.json) and writes a folder:

- summary.md and summary.html: what was compared, on which data; per task the pooled
  scores (all, trained languages, zero-shot languages) with 95% intervals; the paired
  comparisons of every strategy against inbatch and the untrained base, in words as the
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

ORDER = ("bm25", "base", "hybrid", "inbatch", "hardneg", "marginmse")
POOLED = ("all", "trained", "zero-shot", "mixed")
MAIN_METRIC = "ndcg@10"


def _strategy_order(names: Sequence[str]) -> list[str]:
    return [s for s in ORDER if s in names] + sorted(s for s in names if s not in ORDER)


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
    return pd.read_parquet(path), meta


def _fmt(value: float, low: float, high: float, signed: bool = False) -> str:
    f = "{:+.3f}" if signed else "{:.3f}"
    return f"{f.format(value)} [{f.format(low)}, {f.format(high)}]"


def _verdict(row) -> str:
    if row.ci_low > 0:
        return "better"
    if row.ci_high < 0:
        return "worse"
    return "no detectable difference"


def full_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """strategy x task x language (pair) x metric: value and interval, delta vs inbatch and vs base."""
    scores = metrics[metrics["baseline"].isna()]
    keys = ["strategy", "task", "language_pair", "metric"]
    out = scores[keys + ["language_group", "value", "ci_low", "ci_high", "n_queries"]].copy()
    for baseline in ("inbatch", "base"):
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


def _pooled_tables(metrics: pd.DataFrame, strategies: list[str]) -> list[str]:
    out = []
    scores = metrics[metrics["baseline"].isna() & metrics["language_pair"].isin(POOLED)]
    metric_names = sorted(set(scores["metric"]), key=lambda m: (m != MAIN_METRIC, m))
    for task in ("mono", "cross", "lareqa"):
        part = scores[scores["task"] == task]
        if part.empty:
            continue
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
                rows.append([group, s, str(int(cell["n_queries"].iloc[0])), *values])
        out.append(f"### {task}\n\n" + _md_table(["languages", "strategy", "queries", *metric_names], rows))
    return out


def _comparison_lines(metrics: pd.DataFrame, strategies: list[str]) -> list[str]:
    lines = []
    deltas = metrics[metrics["baseline"].notna() & metrics["language_pair"].isin(POOLED)
                     & (metrics["metric"] == MAIN_METRIC)]
    for baseline in ("inbatch", "base"):
        part = deltas[deltas["baseline"] == baseline]
        if part.empty:
            continue
        lines.append(f"\n**{MAIN_METRIC} against {baseline}** (paired over the same queries; 95% bootstrap interval; "
                     "p from a sign-flip test):\n")
        for r in part.sort_values(["task", "language_pair"]).itertuples(index=False):
            if r.strategy not in strategies or r.strategy in ("bm25", "hybrid") and baseline == "inbatch":
                continue
            lines.append(f"- {r.task}, {r.language_pair} ({r.n_queries} queries): {r.strategy} - {baseline} = "
                         f"{_fmt(r.value, r.ci_low, r.ci_high, True)}, p = {r.p_value:.3g}: {_verdict(r)}")
    return lines


def _not_helped(metrics: pd.DataFrame, strategy: str) -> list[str]:
    d = metrics[(metrics["baseline"] == "inbatch") & (metrics["strategy"] == strategy)
                & (metrics["metric"] == MAIN_METRIC) & ~metrics["language_pair"].isin(POOLED)]
    lines = []
    for task in ("mono", "cross", "lareqa"):
        part = d[d["task"] == task]
        if part.empty:
            continue
        worse = part[part["value"] < 0].sort_values("value")
        tied = part[part["value"] == 0]
        significant = part[part["ci_low"] > 0]
        lines.append(f"- {task}: {strategy} beat inbatch with an interval above 0 on {len(significant)} of "
                     f"{len(part)} language (pair)s; it was lower on {len(worse)}"
                     + (": " + ", ".join(f"{r.language_pair} ({r.value:+.3f}, {r.language_group})"
                                         for r in worse.itertuples(index=False)) if len(worse) else "")
                     + (f"; equal on {len(tied)}" if len(tied) else "") + ".")
    return lines


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


def _plots(metrics: pd.DataFrame, out: Path, strategies: list[str]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    made = []
    versus = [s for s in strategies if s not in ("inbatch", "bm25", "hybrid")]
    for task, name in (("mono", "deltas_mono.png"), ("cross", "deltas_cross.png")):
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
            ax.barh(y, part["value"], height=width, xerr=err, label=s, capsize=2, alpha=0.85)
        ax.set_yticks(np.arange(len(pairs)) + width * (len(versus) - 1) / 2)
        ax.set_yticklabels([f"{p} ({group.get(p, '')})" for p in pairs], fontsize=7)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlabel(f"{MAIN_METRIC} difference against inbatch (95% CI)")
        ax.set_title(f"{task}: per language{' pair' if task == 'cross' else ''}")
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
            ax.set_title(s, fontsize=10)
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
        for s in [x for x in ("hardneg", "marginmse") if x in set(delta["strategy"])]:
            fig, ax = plt.subplots(figsize=(5.5, 4.6))
            values = grid(delta[(delta["task"] == "cross") & (delta["strategy"] == s)],
                          delta[(delta["task"] == "mono") & (delta["strategy"] == s)])
            bound = max(0.05, float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 0.05)
            image = ax.imshow(values, vmin=-bound, vmax=bound, cmap="RdBu")
            ax.set_xticks(range(len(langs)), langs, fontsize=7, rotation=90)
            ax.set_yticks(range(len(langs)), langs, fontsize=7)
            ax.set_xlabel("answer language")
            ax.set_ylabel("query language")
            ax.set_title(f"{s} - inbatch, {MAIN_METRIC}")
            fig.colorbar(image, ax=ax, shrink=0.8)
            fig.tight_layout()
            name = "heatmap_cross_delta.png" if s == "hardneg" else f"heatmap_cross_delta_{s}.png"
            fig.savefig(out / name, dpi=110)
            plt.close(fig)
            made.append(name)
    return made


def write_report(eval_dir: str | Path, out: str | Path, run_id: str | None = None) -> dict:
    """Write the report folder for one evaluation run; returns the paths written."""
    run_id = run_id or latest_run_id(eval_dir)
    metrics, meta = load_run(eval_dir, run_id)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    strategies = _strategy_order(sorted(set(metrics["strategy"])))
    table = full_table(metrics)
    table.to_csv(out / "table.csv", index=False)
    plots = _plots(metrics, out, strategies)
    tasks = meta.get("tasks", {})
    lines = [f"# Retrieval experiment `{run_id}`", "",
             "Generated by training/report.py from the evaluation outputs "
             f"(`metrics/{run_id}.parquet`); every number below is read from them.", "",
             f"- data: `{meta.get('data', '?')}`; split evaluated: {meta.get('options', {}).get('split', 'test')}",
             f"- training languages: {', '.join(meta.get('train_languages') or []) or 'unknown'} "
             "(every other language is zero-shot)",
             f"- systems: {', '.join(strategies)}",
             f"- tasks: {json.dumps(tasks.get('tasks', {}))}; document pools: {json.dumps(tasks.get('pools', {}))}",
             f"- evaluation time: {meta.get('seconds', '?')} s on {meta.get('device', '?')}"]
    for name, record in (meta.get("training_runs") or {}).items():
        c = record.get("config", {})
        lines.append(f"- {name}: {record.get('global_step', '?')} steps of batch {c.get('batch_size', '?')}, "
                     f"k={c.get('k_negatives', '-') if name != 'inbatch' else '-'}, max_seq_length "
                     f"{c.get('max_seq_length', '?')}, frozen embeddings {c.get('freeze_embeddings', '?')}, "
                     f"{record.get('counts', {}).get('rows', '?')} training rows, "
                     f"{record.get('seconds_per_step', '?')} s/step, {record.get('seconds', '?')} s")
    lines += ["", "## Pooled scores (mean over queries, 95% bootstrap interval)", ""]
    lines += ["\n\n".join(_pooled_tables(metrics, strategies)), "", "## Paired comparisons"]
    lines += _comparison_lines(metrics, strategies)
    lines += ["", "## Where hard negatives did not help", ""]
    for s in ("hardneg", "marginmse"):
        if s in strategies:
            lines += _not_helped(metrics, s)
    lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots]
    lines += ["", f"## Full table ({MAIN_METRIC}; every metric is in table.csv)", ""]
    main = table[table["metric"] == MAIN_METRIC]
    rows = []
    for r in main.itertuples(index=False):
        rows.append([r.task, r.language_pair, r.language_group, r.strategy, str(r.n_queries),
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
    return {"run_id": run_id, "summary": str(out / "summary.md"), "html": str(out / "summary.html"),
            "table": str(out / "table.csv"), "plots": [str(out / p) for p in plots]}
