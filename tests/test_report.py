"""The report is computed from the eval Parquet: tables, deltas, verdicts and plots change with the data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from faqmine.retrieval.evaluation import summarise, write_table
from faqmine.retrieval.report import write_report

REPO = Path(__file__).resolve().parents[1]
TRAIN = ("en", "de")


def _per_query(seed: int = 0) -> pd.DataFrame:
    """Made-up per-query values: hardneg beats inbatch on de and en-de, loses on th (a zero-shot language)."""
    rng = np.random.default_rng(seed)
    effects = {"inbatch": 0.0, "base": -0.1, "bm25": -0.2, "hybrid": -0.05, "hardneg": 0.1, "marginmse": 0.05}
    rows = []
    cells = [("mono", "de", "de", "de"), ("mono", "th", "th", "th"), ("cross", "en-de", "en", "de"),
             ("cross", "th-en", "th", "en"), ("lareqa", "th-*", "th", "*")]
    for task, pair, ql, dl in cells:
        langs = {ql} if task != "cross" else {ql, dl}
        group = "trained" if langs <= set(TRAIN) else "zero-shot" if not langs & set(TRAIN) else "mixed"
        base = rng.random(30) * 0.6
        for system, effect in effects.items():
            if ql == "th" and system == "hardneg":
                effect = -0.15
            for i, v in enumerate(np.clip(base + effect + rng.normal(0, 0.01, 30), 0, 1)):
                for metric in ("ndcg@10", "mrr@10"):
                    rows.append({"run_id": "t", "strategy": system, "task": task, "language_pair": pair,
                                 "query_language": ql, "doc_language": dl, "language_group": group,
                                 "query_id": f"q{i}", "metric": metric, "value": float(v)})
    return pd.DataFrame(rows)


@pytest.fixture()
def eval_dir(tmp_path: Path) -> Path:
    per_query = _per_query()
    metrics = summarise(per_query, "t", resamples=200)
    write_table(per_query, "eval_per_query", tmp_path / "per_query" / "t.parquet")
    write_table(metrics, "eval", tmp_path / "metrics" / "t.parquet")
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "t.json").write_text(json.dumps({"data": "x", "train_languages": list(TRAIN),
                                                          "tasks": {}, "device": "cpu"}))
    return tmp_path


def test_eval_parquet_schema(eval_dir: Path) -> None:
    frame = pd.read_parquet(eval_dir / "metrics")
    for column in ("run_id", "strategy", "task", "language_pair", "metric", "value", "ci_low", "ci_high",
                   "n_queries", "baseline", "p_value"):
        assert column in frame.columns
    scores = frame[frame["baseline"].isna()]
    assert (scores["ci_low"] <= scores["value"]).all() and (scores["value"] <= scores["ci_high"]).all()


def test_report_from_data(eval_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    written = write_report(eval_dir, out)
    assert written["run_id"] == "t"
    text = (out / "summary.md").read_text()
    metrics = pd.read_parquet(eval_dir / "metrics" / "t.parquet")
    row = metrics[(metrics["strategy"] == "hardneg") & (metrics["baseline"] == "inbatch")
                  & (metrics["language_pair"] == "de") & (metrics["metric"] == "ndcg@10")].iloc[0]
    assert f"{row['value']:+.3f} [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]" in text  # read from the Parquet
    assert "th (" in text.split("## Where hard negatives did not help")[1]  # the loss on th is reported
    for name in ("summary.html", "table.csv", "deltas_mono.png", "deltas_cross.png", "heatmap_cross_ndcg.png",
                 "heatmap_cross_delta.png"):
        assert (out / name).stat().st_size > 0, name
    table = pd.read_csv(out / "table.csv")
    assert {"delta_vs_inbatch", "delta_vs_base"} <= set(table.columns)


def test_report_changes_with_data(eval_dir: Path, tmp_path: Path) -> None:
    first = write_report(eval_dir, tmp_path / "a")
    per_query = _per_query(seed=5)
    write_table(summarise(per_query, "t", resamples=200), "eval", eval_dir / "metrics" / "t.parquet")
    second = write_report(eval_dir, tmp_path / "b")
    assert Path(first["summary"]).read_text() != Path(second["summary"]).read_text()


def test_report_cli_missing_run(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(REPO / "training" / "report.py"), "--eval", str(tmp_path),
                             "--out", str(tmp_path / "r")], capture_output=True, text=True)
    assert result.returncode == 2 and "evaluate.py" in result.stderr


def _seeded_per_query() -> pd.DataFrame:
    """Three seeds per trained strategy: hardneg beats randneg on every seed in mono; randneg beats inbatch on two
    seeds of three in real_cross (a difference the report must not call)."""
    rng = np.random.default_rng(3)
    rows = []
    cells = [("mono", "de", "de", "de", "trained"), ("mono", "th", "th", "th", "zero-shot"),
             ("real_cross", "de-en", "de", "en", "trained"), ("parallel", "th-de", "th", "de", "mixed")]
    for task, pair, ql, dl, group in cells:
        base = rng.random(25) * 0.5
        systems = [("base", None, 0.0), ("bm25", None, -0.1)]
        for seed, shift in ((1, 0.0), (2, 0.01), (3, -0.01)):
            systems += [("inbatch", seed, 0.05 + shift), ("hardneg", seed, 0.15 + shift),
                        ("randneg", seed, 0.05 + shift + (0.06 if seed < 3 else -0.02) if task == "real_cross"
                         else 0.05 + shift - 0.04)]
        for system, seed, effect in systems:
            if task == "parallel" and system != "bm25":
                effect = -0.03 if seed is not None else 0.0  # training costs parallel-text retrieval
            for i, v in enumerate(np.clip(base + effect + rng.normal(0, 0.002, 25), 0, 1)):
                rows.append({"run_id": "s", "strategy": system, "seed": seed, "task": task, "language_pair": pair,
                             "query_language": ql, "doc_language": dl, "language_group": group,
                             "query_id": f"q{i}", "metric": "ndcg@10", "value": float(v)})
    return pd.DataFrame(rows).astype({"seed": "Int64"})


def test_report_with_seeds(tmp_path: Path) -> None:
    per_query = _seeded_per_query()
    metrics = summarise(per_query, "s", compare_to=("base", "inbatch", "randneg"), resamples=300)
    write_table(per_query, "eval_per_query", tmp_path / "eval" / "per_query" / "s.parquet")
    write_table(metrics, "eval", tmp_path / "eval" / "metrics" / "s.parquet")
    curve = []
    for step, effect in ((5, 0.02), (10, 0.05)):
        frame = per_query[(per_query["task"] == "mono") & per_query["strategy"].isin(["base", "inbatch"])].copy()
        trained = frame["strategy"] == "inbatch"
        frame.loc[trained, "value"] = frame.loc[trained, "value"] - 0.05 + effect
        frame["step"] = pd.array([step if t else None for t in trained], dtype="Int64")
        curve.append(frame if step == 5 else frame[trained])
    curve_frame = pd.concat(curve, ignore_index=True)
    write_table(summarise(curve_frame, "s-curve", compare_to=("base",), resamples=200), "eval",
                tmp_path / "eval" / "metrics" / "s-curve.parquet")
    written = write_report(tmp_path / "eval", tmp_path / "r", "s")
    text = Path(written["summary"]).read_text()
    assert text.split("\n## ")[1].startswith("The answer")  # the first section is the answer
    saved = pd.read_parquet(tmp_path / "eval" / "metrics" / "s.parquet")
    pooled = saved[saved["seed"].isna()]

    def cell(strategy: str, baseline: str | None, task: str, pair: str = "all") -> pd.Series:
        d = pooled[(pooled["strategy"] == strategy) & (pooled["task"] == task) & (pooled["language_pair"] == pair)]
        d = d[d["baseline"].isna()] if baseline is None else d[d["baseline"] == baseline]
        return d.iloc[0]

    answer = text.split("\n## ")[1]
    hard = cell("hardneg", "randneg", "mono")
    assert hard["n_seeds"] == 3 and hard["ci_low"] > 0
    assert f"simulated mono {hard['value']:+.3f} [{hard['ci_low']:+.3f}, {hard['ci_high']:+.3f}]" in answer
    rand = cell("randneg", "inbatch", "real_cross")  # better on two seeds, worse on the third: never called
    said = f"real cross-lingual {rand['value']:+.3f} [{rand['ci_low']:+.3f}, {rand['ci_high']:+.3f}] (no call)"
    assert said in answer
    forget = cell("hardneg", "base", "parallel")
    assert forget["ci_high"] < 0 and f"hardneg {forget['value']:+.3f}" in answer.split("**Forgetting**")[1]
    seeds = saved[(saved["strategy"] == "hardneg") & (saved["seed"] == 2) & saved["baseline"].isna()
                  & (saved["task"] == "mono") & (saved["language_pair"] == "all")].iloc[0]
    per_seed_section = text.split("## Per-seed scores")[1].split("\n## ")[0]
    assert f"| hardneg | 2 | {seeds['value']:.3f} |" in per_seed_section
    curve_section = text.split("## Learning curve")[1].split("\n## ")[0]
    curve_rows = pd.read_csv(tmp_path / "r" / "learning_curve.csv")
    assert sorted(curve_rows.loc[curve_rows["strategy"] == "inbatch", "step"]) == [0, 5, 10]
    top = curve_rows[curve_rows["step"] == 10].iloc[0]
    assert f"| mono | inbatch | 10 | {top['value']:.3f}" in curve_section
    for name in ("learning_curve.png", "deltas_real_cross.png", "deltas_parallel.png", "per_seed.csv"):
        assert (tmp_path / "r" / name).stat().st_size > 0, name


def test_verdict_needs_every_seed() -> None:
    """A difference whose interval excludes 0 is called only when every seed's difference has its sign."""
    from types import SimpleNamespace

    from faqmine.retrieval.report import _verdict

    row = SimpleNamespace(ci_low=0.01, ci_high=0.05)
    assert _verdict(row, [0.02, 0.03, 0.04]) == "better"
    assert _verdict(row, [0.02, 0.03, -0.01]).startswith("no call")
    assert _verdict(SimpleNamespace(ci_low=-0.05, ci_high=-0.01), [-0.02, -0.03]) == "worse"
    assert _verdict(SimpleNamespace(ci_low=-0.01, ci_high=0.05), [0.02, 0.03]) == "no detectable difference"


@pytest.mark.parametrize(("teacher", "label"), [
    ("encoder-cosine", "marginmse (self-distillation)"),
    ("cross-encoder:models/reranker", "marginmse (cross-encoder teacher)")])
def test_marginmse_is_named_by_its_teacher(eval_dir: Path, tmp_path: Path, teacher: str, label: str) -> None:
    """MarginMSE on the encoder's own cosine margins is self-distillation: every table and the answer say so."""
    meta = json.loads((eval_dir / "runs" / "t.json").read_text())
    meta["training_runs"] = {"marginmse@1": {"counts": {"rows": 10, f"teacher={teacher}": 10}, "config": {}}}
    (eval_dir / "runs" / "t.json").write_text(json.dumps(meta))
    text = Path(write_report(eval_dir, tmp_path / "r")["summary"]).read_text()
    assert f"| all | {label} |" in text.split("## Pooled scores")[1]  # the pooled tables
    assert f"| {label} |" in text.split("## Full table")[1]
    assert f"- **MarginMSE vs in-batch negatives** ({label} - inbatch)" in text.split("\n## ")[1]
    assert "| marginmse |" not in text and "marginmse - inbatch" not in text


def test_setup_names_the_cross_encoder_teacher_and_its_reranking(eval_dir: Path, tmp_path: Path) -> None:
    """The teacher card train.py copied from hard_negatives' _stats.json: the report names the cross-encoder,
    quotes its dev and real-page reranking against the bi-encoder, and says when it did not beat it."""
    meta = json.loads((eval_dir / "runs" / "t.json").read_text())
    card = {"teacher": "cross-encoder:data/x/reranker", "steps": 300, "use_as_teacher": False,
            "dev": {"queries": 115, "bi_encoder": 0.91, "reranked": 0.8, "delta": -0.11, "delta_ci": [-0.15, -0.07]},
            "realfaq": None}
    meta["training_runs"] = {f"marginmse@{seed}": {"counts": {"teacher=cross-encoder:data/x/reranker": 10},
                                                   "config": {}, "teacher_card": card} for seed in (1, 2)}
    meta["reranker"] = card  # evaluate.py --reranker: the same cross-encoder (named by the same absolute path)
    (eval_dir / "runs" / "t.json").write_text(json.dumps(meta))
    setup = Path(write_report(eval_dir, tmp_path / "r")["summary"]).read_text().split("## Setup")[1].split("\n## ")[0]
    lines = [line for line in setup.splitlines() if "cross-encoder `cross-encoder:data/x/reranker`" in line]
    assert len(lines) == 1  # one line per teacher, not per seed nor for --reranker again
    assert "300 training steps" in lines[0] and "dev nDCG@10 0.910 -> 0.800, difference -0.110 [-0.150, -0.070]" \
        in lines[0] and "real pages not measured" in lines[0] and "does **not** beat the bi-encoder" in lines[0]


def test_setup_names_a_trained_teacher_that_scored_nothing(eval_dir: Path, tmp_path: Path, monkeypatch) -> None:
    """evaluate.py --reranker: a cross-encoder the run trained but no run learned from (STRATEGIES without
    marginmse_ce) is named with its reranking numbers, and marginmse stays self-distillation. Folders inside the
    working directory
    (the repository) are named relative to it: a committed report names no machine's folders."""
    monkeypatch.chdir(tmp_path)
    meta = json.loads((eval_dir / "runs" / "t.json").read_text())
    meta["realfaq"] = {**(meta.get("realfaq") or {}), "folder": str(tmp_path / "data" / "realfaq")}
    meta["reranker"] = {"teacher": f"cross-encoder:{tmp_path}/data/x/reranker", "steps": 150, "use_as_teacher": False,
                        "dev": {"queries": 40, "bi_encoder": 0.9, "reranked": 0.7, "delta": -0.2,
                                "delta_ci": [-0.3, -0.1]},
                        "realfaq": {"queries": 200, "bi_encoder": 0.8, "reranked": 0.5, "delta": -0.3,
                                    "delta_ci": [-0.35, -0.25]}}
    meta["training_runs"] = {"marginmse@1": {"counts": {"teacher=encoder-cosine": 10}, "config": {}}}
    (eval_dir / "runs" / "t.json").write_text(json.dumps(meta))
    text = Path(write_report(eval_dir, tmp_path / "r")["summary"]).read_text()
    setup = text.split("## Setup")[1].split("\n## ")[0]
    assert "this run trained the cross-encoder `cross-encoder:data/x/reranker` (150 training steps" in setup
    assert "real out-of-domain pages (`data/realfaq`)" in setup and str(tmp_path) not in setup
    assert "real pages nDCG@10 0.800 -> 0.500, difference -0.300 [-0.350, -0.250] (200 queries)" in setup
    assert "It does **not** beat the bi-encoder on dev, and no run here learned its margins." in setup
    assert "marginmse (self-distillation)" in text


def test_two_margin_strategies_side_by_side(tmp_path: Path) -> None:
    """make experiment with TEACHER=1: marginmse on the encoder's cosine margins and marginmse_ce on the
    cross-encoder's, each labelled by its teacher; the answer compares marginmse_ce with inbatch, hardneg and
    marginmse from the evaluation's own comparisons, and the setup says that the teacher learned from does not
    beat the bi-encoder."""
    per_query = _per_query()
    ce = per_query[per_query["strategy"] == "marginmse"].assign(strategy="marginmse_ce")
    ce["value"] = (ce["value"] + 0.03).clip(0, 1)
    per_query = pd.concat([per_query, ce], ignore_index=True)
    metrics = summarise(per_query, "t", compare_to=("base", "inbatch", "randneg", "hardneg", "marginmse"),
                        resamples=200)
    write_table(per_query, "eval_per_query", tmp_path / "per_query" / "t.parquet")
    write_table(metrics, "eval", tmp_path / "metrics" / "t.parquet")
    card = {"teacher": "cross-encoder:data/x/reranker", "steps": 300, "use_as_teacher": False,
            "dev": {"queries": 115, "bi_encoder": 0.945, "reranked": 0.952, "delta": 0.007,
                    "delta_ci": [-0.017, 0.034]}, "realfaq": None}
    (tmp_path / "runs").mkdir()
    data = tmp_path / "data"
    data.mkdir()
    (data / "experiment_timings.tsv").write_text("extract\t100\nmine_negatives\t200\ntrain_reranker\t400\n"
                                                 "mine_negatives_teacher\t200\ntrain_marginmse_ce_s1\t60\n"
                                                 "evaluate\t400\nevaluate_curve\t50\n")
    (tmp_path / "runs" / "t.json").write_text(json.dumps({
        "data": str(data), "train_languages": list(TRAIN), "tasks": {}, "device": "cpu", "reranker": card,
        "machine": "Intel(R) Xeon(R) Processor, 2 cores, AVX-512, AMX", "seconds": 450.0,
        "training_runs": {"marginmse@1": {"counts": {"teacher=encoder-cosine": 10}, "config": {}},
                          "marginmse_ce@1": {"counts": {"teacher=cross-encoder:data/x/reranker": 10}, "config": {},
                                             "teacher_card": card}}}))
    text = Path(write_report(tmp_path, tmp_path / "r")["summary"]).read_text()
    answer = text.split("\n## ")[1]
    own, taught = "marginmse (self-distillation)", "marginmse_ce (cross-encoder teacher)"
    for baseline in ("inbatch", "hardneg"):
        assert f"({taught} - {baseline})" in answer, baseline
    assert f"({taught} - marginmse)" in answer and f"({own} - inbatch)" in answer
    row = metrics[(metrics["strategy"] == "marginmse_ce") & (metrics["baseline"] == "marginmse")
                  & metrics["seed"].isna() & (metrics["task"] == "mono") & (metrics["language_pair"] == "all")
                  & (metrics["metric"] == "ndcg@10")].iloc[0]
    assert f"simulated mono {row['value']:+.3f} [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]" in answer.split(
        "Cross-encoder margins vs the encoder's own cosine margins")[1].split("\n")[0]
    assert f"**{'ndcg@10'} against hardneg**" in text and f"**{'ndcg@10'} against marginmse**" in text
    setup = text.split("## Setup")[1].split("\n## ")[0]
    assert "marginmse_ce learns a cross-encoder's margins instead" in setup
    lines = [line for line in setup.splitlines() if "cross-encoder `cross-encoder:data/x/reranker`" in line]
    assert len(lines) == 1 and lines[0].startswith("- the cross-encoder margins come from")
    assert "does **not** beat the bi-encoder on dev: the student learns margins from a teacher no better" in lines[0]
    assert f"| all | {taught} |" in text.split("## Pooled scores")[1]
    assert "- time: 1410 s (23.5 min) for the stages timed so far: pipeline 300 s, teacher 600 s, training 60 s, " \
        "evaluation 450 s" in setup  # the cross-encoder's own stages counted apart
    assert "- evaluation time: 450.0 s on cpu (Intel(R) Xeon(R) Processor, 2 cores, AVX-512, AMX)" in setup
    assert (tmp_path / "r" / "heatmap_cross_delta_marginmse_ce.png").stat().st_size > 0
