"""scripts/experiment.sh end to end on CPU with tiny settings: every strategy x 2 seeds x 2 steps on an XQuAD
data root, the evaluation (test split, real out-of-domain pages, parallel text), the dev learning curve and the
report, checked against the evaluation Parquet it was written from; and --help lists the sizes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from helpers.paths import need_model
from helpers.xquad_data_root import build_fixture

from faqmine.embedding.load import DEFAULT_ENCODER

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "experiment.sh"


def test_help_lists_sizes() -> None:
    out = subprocess.run(["bash", str(SCRIPT), "--help"], capture_output=True, text=True, check=True, cwd=REPO).stdout
    assert "--device cpu|cuda" in out and "--from train" in out
    sizes = out.split("Sizes:")[1]
    for word in ("CPU", "GPU", "crawl 20MB", "crawl 100MB", "seeds per strategy 3", "randneg", "batch_size: 128",
                 "teacher (TEACHER=1): train-reranker --languages en de es ru zh --max-steps 300",
                 "teacher (TEACHER=1): train-reranker --languages en de es ru zh --epochs 2"):
        assert word in sizes, word


def test_marginmse_ce_needs_the_teacher(tmp_path: Path) -> None:
    """marginmse_ce learns the cross-encoder's margins: asked for without a teacher (TEACHER=0), the run stops
    before training anything instead of training marginmse again under another name."""
    env = {**os.environ, "TEACHER": "0", "STRATEGIES": "inbatch marginmse_ce", "SEEDS": "1"}
    result = subprocess.run(["bash", str(SCRIPT), "--from", "train", "--data", str(tmp_path / "data"),
                             "--report", str(tmp_path / "report")], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2 and "marginmse_ce needs TEACHER=1" in result.stderr
    assert "train inbatch" not in result.stdout  # checked before the first run
    assert not (tmp_path / "data" / "runs").exists()


@pytest.mark.slow
def test_experiment_end_to_end_tiny(tmp_path: Path) -> None:
    need_model(DEFAULT_ENCODER / "modules.json", "encoder")
    data = tmp_path / "data"
    build_fixture(data, languages=("en", "de", "th"), max_articles=5, questions_per_article=6, negatives=3)
    report = tmp_path / "report"
    env = {**os.environ, "SEEDS": "2", "TEACHER": "0",  # the fixture has no qa_embeddings to mine from again
           "TRAIN_ARGS": "--max-steps 2 --batch-size 4 --languages en de --set max_seq_length=32 --set threads=2 "
                         "--set logging_steps=1 --set max_question_length=16 --set max_answer_length=32",
           "EVAL_ARGS": "--resamples 50 --max-seq-length 32 --batch-size 32 --threads 2 --embeddings none "
                        "--real-languages de en --max-real-queries 6 --max-queries 10"}
    env.pop("FAQMINE_ENCODER", None)
    result = subprocess.run(["bash", str(SCRIPT), "--from", "train", "--data", str(data), "--report", str(report),
                             "--run-id", "tiny"], cwd=REPO, env=env, capture_output=True, text=True, timeout=1500)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    metrics = pd.read_parquet(data / "eval" / "metrics" / "tiny.parquet")
    per_query = pd.read_parquet(data / "eval" / "per_query" / "tiny.parquet")
    trained = ["inbatch", "randneg", "hardneg", "marginmse"]
    for strategy in trained:
        assert set(per_query.loc[per_query["strategy"] == strategy, "seed"].dropna()) == {1, 2}, strategy
    assert {"mono", "cross", "lareqa", "real_mono", "real_cross", "real_lareqa", "parallel"} <= set(metrics["task"])
    text = (report / "summary.md").read_text()
    assert text.split("\n## ")[1].startswith("The answer")
    machine = json.loads((data / "eval" / "runs" / "tiny.json").read_text())["machine"]
    assert " cores" in machine and f"s on cpu ({machine})" in text  # which CPU the timings come from
    pooled = metrics[metrics["seed"].isna() & (metrics["metric"] == "ndcg@10") & (metrics["language_pair"] == "all")]
    row = pooled[(pooled["strategy"] == "hardneg") & (pooled["baseline"] == "randneg")
                 & (pooled["task"] == "real_cross")].iloc[0]
    assert row["n_seeds"] == 2
    answer = text.split("\n## ")[1]
    assert f"real cross-lingual {row['value']:+.3f} [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]" in answer
    seed_row = metrics[(metrics["strategy"] == "randneg") & (metrics["seed"] == 2) & metrics["baseline"].isna()
                       & (metrics["task"] == "parallel") & (metrics["language_pair"] == "all")
                       & (metrics["metric"] == "ndcg@10")].iloc[0]
    per_seed = text.split("## Per-seed scores")[1].split("\n## ")[0]
    assert "| randneg | 2 |" in per_seed and f"{seed_row['value']:.3f}" in per_seed
    curve = pd.read_parquet(data / "eval" / "metrics" / "tiny-curve.parquet")
    steps = set(curve.loc[curve["strategy"] == "inbatch", "step"].dropna())
    assert steps == {1, 2}  # a checkpoint inside the run and the final model
    runs = data / "runs"
    assert (runs / "inbatch-s1" / "final").is_dir() and (runs / "inbatch-s1" / "curve-step-1").is_dir()
    assert not list(runs.glob("*/checkpoint-*"))  # keep_checkpoints: false in the experiment's configs
    table = pd.read_csv(report / "learning_curve.csv")
    assert sorted(set(table["strategy"])) == ["hardneg", "inbatch"] and 0 in set(table["step"])
    assert (report / "learning_curve.png").stat().st_size > 0 and (report / "timings.tsv").exists()
    timings = (report / "timings.tsv").read_text()
    assert "train_randneg_s2" in timings and "evaluate_curve" in timings
