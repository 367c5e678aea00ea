"""Two training steps of each strategy on a tiny XQuAD fixture, resume from a checkpoint, and the entry points' --help.

Small on purpose (frozen embeddings, max_seq_length 32, batch 4): what is tested is that
every strategy reads its data, builds its loss and trains, saves and resumes, not how well.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.paths import need_model
from helpers.xquad_data_root import build_fixture

from faqmine.embedding.load import DEFAULT_ENCODER
from faqmine.retrieval.config import make_config
from faqmine.retrieval.datasets import MissingDataset
from faqmine.retrieval.train import FINAL_MODEL, LOSS_LOG, RECORD, load_training_data, run_training

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    need_model(DEFAULT_ENCODER / "modules.json", "encoder")
    root = tmp_path_factory.mktemp("fixture")
    build_fixture(root, languages=("en", "de", "zh"), max_articles=5, questions_per_article=6, negatives=3)
    return root


def _config(data: Path, out: Path, strategy: str, **kw):
    return make_config(None, {"strategy": strategy, "data": str(data), "output_dir": str(out), "max_steps": 2,
                              "batch_size": 4, "max_seq_length": 32, "freeze_embeddings": True, "k_negatives": 2,
                              "logging_steps": 1, "save_steps": 100, "languages": ["en", "de"], **kw})


@pytest.mark.parametrize("strategy", ["inbatch", "randneg", "hardneg", "marginmse"])
def test_two_steps(data: Path, tmp_path: Path, strategy: str) -> None:
    record = run_training(_config(data, tmp_path, strategy, threads=2, keep_checkpoints=False))
    assert record["global_step"] == 2
    assert record["checkpoints_deleted"] == ["checkpoint-2"] and not list(tmp_path.glob("checkpoint-*"))
    assert record["train_languages"] == ["de", "en"]  # zh is in the data but not in the run's languages
    assert record["parameters_frozen"] > 0.7 * record["parameters"]
    assert (tmp_path / FINAL_MODEL / "modules.json").exists()
    logged = [json.loads(line) for line in (tmp_path / LOSS_LOG).read_text().splitlines()]
    assert [x["step"] for x in logged if "loss" in x] == [1, 2]
    assert all(x["loss"] == x["loss"] for x in logged if "loss" in x)  # no NaN
    assert json.loads((tmp_path / RECORD).read_text())["config"]["strategy"] == strategy


def test_resume_from_checkpoint(data: Path, tmp_path: Path) -> None:
    first = run_training(_config(data, tmp_path, "hardneg", save_steps=1))
    assert first["global_step"] == 2 and (tmp_path / "checkpoint-2").is_dir()  # keep_checkpoints is the default
    assert first["checkpoints_deleted"] == []
    again = run_training(_config(data, tmp_path, "hardneg", save_steps=1))
    assert "skipped" in again  # the final model exists: resume=auto does not train twice
    more = run_training(_config(data, tmp_path, "hardneg", save_steps=1, max_steps=3), force=True)
    assert more["resumed_from"].endswith("checkpoint-2") and more["global_step"] == 3


def test_training_data_layouts(data: Path, tmp_path: Path) -> None:
    hard = load_training_data(_config(data, tmp_path, "hardneg"))
    assert list(hard.rows.columns) == ["anchor", "positive", "negative_1", "negative_2"]
    margin = load_training_data(_config(data, tmp_path, "marginmse"))
    assert list(margin.rows.columns)[-1] == "label" and all(len(x) == 2 for x in margin.rows["label"])
    same = load_training_data(_config(data, tmp_path, "inbatch", pairs_from="hard_negatives"))
    assert sorted(same.rows["anchor"]) == sorted(hard.rows["anchor"])  # the same queries, without negatives
    export = load_training_data(_config(data, tmp_path, "hardneg",
                                        hard_negatives=str(data / "hard_negatives_export" / "triplets")))
    assert list(export.rows.columns) == ["anchor", "positive", "negative_1", "negative_2"]
    export_margin = load_training_data(_config(data, tmp_path, "marginmse",
                                               hard_negatives=str(data / "hard_negatives_export" / "marginmse")))
    assert list(export_margin.rows.columns) == ["anchor", "positive", "negative_1", "label"]
    with pytest.raises(MissingDataset, match="mine_negatives"):
        load_training_data(_config(tmp_path, tmp_path, "hardneg"))


def test_freeze_layers_and_length_caps(data: Path, tmp_path: Path) -> None:
    """freeze_layers: the embeddings and the lowest layers keep the base weights, the top layer moves;
    max_question_length / max_answer_length cut the texts before training."""
    import torch

    from faqmine.embedding.load import load_encoder

    record = run_training(_config(data, tmp_path, "hardneg", freeze_layers=11, max_question_length=8,
                                  max_answer_length=16, lr=1e-3, threads=2))
    assert record["global_step"] == 2 and record["config"]["freeze_layers"] == 11
    assert record["counts"]["questions_cut"] > 0 and record["counts"]["answers_cut"] > 0
    base = dict(load_encoder(DEFAULT_ENCODER, device="cpu").named_parameters())
    trained = dict(load_encoder(str(tmp_path / FINAL_MODEL), device="cpu").named_parameters())
    lower = [n for n in base if ".layer.10." in n or "embeddings.position" in n]
    top = [n for n in base if ".layer.11." in n and n.endswith("weight")]
    assert lower and top
    assert all(torch.equal(base[n], trained[n]) for n in lower)
    assert any(not torch.equal(base[n], trained[n]) for n in top)
    assert record["parameters"] - record["parameters_frozen"] == sum(base[n].numel() for n in base
                                                                     if ".layer.11." in n or "pooler" in n)


def test_random_negatives(data: Path, tmp_path: Path) -> None:
    """randneg: the hardneg queries and positives, k negatives from the query's language's train corpus, never the
    positive or a document the qrels judge relevant, drawn with the seed."""
    from faqmine.retrieval.datasets import read_benchmarks

    bench = read_benchmarks(data, ["en", "de"])
    train = bench.corpus[bench.corpus["split"] == "train"]
    language_of = dict(zip(train["text"], train["language"], strict=False))
    query = bench.queries.set_index("text")
    relevant = bench.qrels[bench.qrels["score"] > 0].groupby("query_id")["doc_id"].apply(set).to_dict()
    text_of = dict(zip(bench.corpus["doc_id"], bench.corpus["text"], strict=True))
    first = load_training_data(_config(data, tmp_path, "randneg", seed=1))
    hard = load_training_data(_config(data, tmp_path, "hardneg", seed=1))
    assert list(first.rows.columns) == ["anchor", "positive", "negative_1", "negative_2"]
    assert sorted(first.rows["anchor"]) == sorted(hard.rows["anchor"])  # the same queries as hardneg
    mined = set(zip(hard.rows["anchor"], hard.rows["negative_1"], strict=True))
    assert set(zip(first.rows["anchor"], first.rows["negative_1"], strict=True)) != mined
    for r in first.rows.itertuples(index=False):
        qid = query.loc[r.anchor, "query_id"]
        qid = qid if isinstance(qid, str) else qid.iloc[0]
        banned = {text_of[d] for d in relevant.get(qid, set())} | {r.positive}
        lang = query.loc[r.anchor, "language"]
        lang = lang if isinstance(lang, str) else lang.iloc[0]
        for negative in (r.negative_1, r.negative_2):
            assert negative not in banned
            assert language_of[negative] == lang  # a train-split document of the query's language
        assert r.negative_1 != r.negative_2
    again = load_training_data(_config(data, tmp_path, "randneg", seed=1))
    assert again.rows.equals(first.rows)  # the seed fixes the draw
    other = load_training_data(_config(data, tmp_path, "randneg", seed=2))
    by_anchor = dict(zip(first.rows["anchor"], first.rows["negative_1"], strict=True))
    assert any(by_anchor[a] != n for a, n in zip(other.rows["anchor"], other.rows["negative_1"], strict=True))


def test_config_errors() -> None:
    with pytest.raises(ValueError, match="unknown config keys"):
        make_config(None, {"strategie": "inbatch"})
    with pytest.raises(ValueError, match="strategy"):
        make_config(None, {"strategy": "random"})


@pytest.mark.parametrize("script", ["train.py", "evaluate.py", "report.py"])
def test_help(script: str) -> None:
    out = subprocess.run([sys.executable, str(REPO / "training" / script), "--help"], capture_output=True, text=True,
                         check=True).stdout
    assert out.startswith("usage: training/" + script)
    if script == "train.py":
        assert "k_negatives" in out and "freeze_embeddings" in out  # every config key is documented
        assert "freeze_layers" in out and "max_question_length" in out and "randneg" in out


def test_experiment_configs_parse() -> None:
    for path in sorted((REPO / "configs" / "experiment").rglob("*.yaml")):
        if path.name.startswith("eval"):
            continue
        config = make_config(path)
        assert config.strategy in path.stem
