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
