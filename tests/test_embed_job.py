"""jobs/embed.py on local[2] with the packaged encoder: the vectors read back equal the encoder's own output
(question with the query prompt, answer with the passage prompt); a rerun on a grown qa_dedup encodes only
the new QAs and keeps the old vectors bit for bit; vectors of QAs gone from qa_dedup are not carried over;
`--no-reuse` encodes everything; a reader with another encoder gets ModelMismatch naming both models."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pyarrow.dataset as ds
import pytest
from helpers.paths import need_model
from helpers.xquad_qas import table_of, write_table, xquad_pairs

from faqmine.core.stats import read_stats
from faqmine.embedding.encode import EncodeConfig, encode_texts, get_encoder
from faqmine.embedding.identity import ModelMismatch, model_fingerprint
from faqmine.embedding.load import DEFAULT_ENCODER
from faqmine.run.check import check_data_root
from faqmine.spark.embed import read_embeddings

pytestmark = pytest.mark.spark
REPO = Path(__file__).resolve().parents[1]
LANGUAGES = ("en", "de", "zh")


def _job():
    spec = importlib.util.spec_from_file_location("embed_job", REPO / "jobs" / "embed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(indices: range) -> list[dict]:
    rows = []
    for language in LANGUAGES:
        pairs = xquad_pairs(language)
        for i in indices:
            _, question, answer = pairs[i]
            rows.append({"question": question, "answer": answer, "url": f"https://s{i % 3}.example.com/{language}",
                         "position": i, "language": language, "cluster_size": 1, "cluster_id": "-"})
    return rows


def _write_qa_dedup(spark, path: Path, rows: list[dict]) -> None:
    table = table_of("qa_dedup", rows)
    table = table.set_column(table.schema.get_field_index("cluster_id"), "cluster_id", table.column("qa_id"))
    write_table(spark, table, path, "qa_dedup")


def _run(spark, monkeypatch, qa_dedup: Path, out: Path, *extra: str) -> tuple[dict, dict[str, dict]]:
    monkeypatch.setattr(type(spark), "stop", lambda self: None)  # the job must not stop the shared session
    assert _job().main(["--input", str(qa_dedup), "--output", str(out), "--encode-partitions", "2", *extra]) == 0
    rows = ds.dataset(out, format="parquet", partitioning="hive").to_table().to_pylist()
    return read_stats(out), {r["qa_id"]: r for r in rows}


@pytest.fixture(scope="module")
def root(spark, tmp_path_factory):
    need_model(DEFAULT_ENCODER, "encoder")
    root = tmp_path_factory.mktemp("embed")
    _write_qa_dedup(spark, root / "qa_dedup", _rows(range(0, 8)))
    _write_qa_dedup(spark, root / "qa_dedup_grown", _rows(range(2, 12)))  # 0, 1 gone; 8..11 new
    return root


def test_vectors_equal_the_encoders_output(spark, monkeypatch, root):
    stats, rows = _run(spark, monkeypatch, root / "qa_dedup", root / "qa_embeddings")
    assert stats["in"] == stats["out"] == len(rows) == 8 * len(LANGUAGES) and stats["dropped"] == {}
    assert stats["encoded"] == len(rows) and stats["reused"] == 0 and stats["texts_encoded"] == 2 * len(rows)
    fingerprint = model_fingerprint(DEFAULT_ENCODER)
    assert stats["model_hash"] == fingerprint.hash

    model = get_encoder(str(DEFAULT_ENCODER))
    ordered = sorted(rows.values(), key=lambda r: r["qa_id"])
    texts = {r["qa_id"]: r for r in table_of("qa_dedup", _rows(range(0, 8))).to_pylist()}
    questions = encode_texts(model, [texts[r["qa_id"]]["question"] for r in ordered], EncodeConfig(prompt_name="query"))
    answers = encode_texts(model, [texts[r["qa_id"]]["answer"] for r in ordered], EncodeConfig(prompt_name="passage"))
    stored_q = np.array([r["question_embedding"] for r in ordered], dtype=np.float32)
    stored_a = np.array([r["answer_embedding"] for r in ordered], dtype=np.float32)
    # the same texts, batched differently: equal up to float noise of padding
    np.testing.assert_allclose(stored_q, questions, atol=2e-4)
    np.testing.assert_allclose(stored_a, answers, atol=2e-4)
    assert not np.allclose(stored_q, stored_a, atol=1e-2)
    assert {r["question_prefix"] for r in ordered} == {"query: "} and {r["answer_prefix"] for r in ordered} == {
        "passage: "}
    assert {r["model_hash"] for r in ordered} == {fingerprint.hash}

    checked, problems = check_data_root(root)
    assert "qa_embeddings" in checked and problems == []


def test_rerun_on_grown_qa_dedup_encodes_only_new_qas(spark, monkeypatch, root):
    out = root / "qa_embeddings_incremental"
    _, first = _run(spark, monkeypatch, root / "qa_dedup", out)
    stats, grown = _run(spark, monkeypatch, root / "qa_dedup_grown", out)
    kept = set(first) & set(grown)
    assert len(grown) == 10 * len(LANGUAGES) and len(kept) == 6 * len(LANGUAGES)
    assert stats["encoded"] == 4 * len(LANGUAGES) and stats["texts_encoded"] == 2 * 4 * len(LANGUAGES)
    assert stats["reused"] == len(kept) and stats["stale_vectors_removed"] == 2 * len(LANGUAGES)
    assert all(grown[q]["question_embedding"] == first[q]["question_embedding"] for q in kept)

    stats, again = _run(spark, monkeypatch, root / "qa_dedup_grown", out, "--no-reuse")
    assert stats["encoded"] == len(again) == len(grown) and stats["reused"] == 0


def test_reader_with_another_encoder_is_refused(spark, monkeypatch, root, tmp_path):
    if not (root / "qa_embeddings").exists():
        _run(spark, monkeypatch, root / "qa_dedup", root / "qa_embeddings")
    assert read_embeddings(spark, str(root / "qa_embeddings"), str(DEFAULT_ENCODER)).count() == 8 * len(LANGUAGES)
    other = tmp_path / "other-encoder"
    other.mkdir()
    (other / "config.json").write_text("{}")
    with pytest.raises(ModelMismatch, match="multilingual-e5-small.*other-encoder"):
        read_embeddings(spark, str(root / "qa_embeddings"), str(other))


def test_evaluation_reads_the_base_vectors_instead_of_encoding(spark, tmp_path):
    """training/evaluate.py takes the base encoder's vectors from qa_embeddings (same model, same max_seq_length):
    it encodes nothing for base and scores what encoding gives."""
    import json
    import subprocess
    import sys

    from helpers.embeddings import write_embeddings
    from helpers.xquad_data_root import build_fixture

    from faqmine.retrieval.datasets import read_benchmarks

    need_model(DEFAULT_ENCODER, "encoder")
    build_fixture(tmp_path, languages=("en", "de"), max_articles=6, questions_per_article=4)
    bench = read_benchmarks(tmp_path)
    answers = dict(zip(bench.corpus["qa_id"], bench.corpus["text"], strict=True))
    write_embeddings(spark, [{"qa_id": q, "question": t, "answer": answers[q], "language": lang}
                             for q, t, lang in zip(bench.queries["qa_id"], bench.queries["text"],
                                                   bench.queries["language"], strict=True)],
                     tmp_path / "qa_embeddings")

    def evaluate(run_id: str, *extra: str) -> tuple[dict, dict]:
        command = [sys.executable, str(REPO / "training" / "evaluate.py"), "--data", str(tmp_path), "--run-id", run_id,
                   "--systems", "base", "--tasks", "mono", "--realfaq", "none",  # real pages are not in qa_embeddings
                   "--max-seq-length", "256", "--resamples", "50", *extra]
        subprocess.run(command, check=True, capture_output=True, text=True)
        meta = json.loads((tmp_path / "eval" / "runs" / f"{run_id}.json").read_text())
        import pandas as pd
        metrics = pd.read_parquet(tmp_path / "eval" / "metrics" / f"{run_id}.parquet")
        overall = metrics[(metrics["language_pair"] == "all") & (metrics["metric"] == "ndcg@10")
                          & metrics["baseline"].isna()]
        return meta, dict(zip(overall["task"], overall["value"], strict=True))

    stored_meta, stored = evaluate("stored")
    encoded_meta, encoded = evaluate("encoded", "--embeddings", "none")
    assert stored_meta["texts_encoded_by_model"][str(DEFAULT_ENCODER)] == 0
    assert encoded_meta["texts_encoded_by_model"][str(DEFAULT_ENCODER)] > 0
    assert stored.keys() == encoded.keys() and all(abs(stored[t] - encoded[t]) < 1e-3 for t in stored)
    _, other_length = evaluate("other_length", "--max-seq-length", "128")  # vectors cut at 256: encoded again
    assert "max_seq_length 256, not 128" in json.loads(
        (tmp_path / "eval" / "runs" / "other_length.json").read_text())["base_vectors"]


def test_embed_with_the_openvino_backend_in_spark(spark, monkeypatch, root):
    """The fast CPU backend runs inside the Spark workers and gives torch's vectors (bf16 noise aside)."""
    _, torch_rows = _run(spark, monkeypatch, root / "qa_dedup", root / "qa_embeddings_torch")
    stats, rows = _run(spark, monkeypatch, root / "qa_dedup", root / "qa_embeddings_openvino",
                       "--encoder-backend", "openvino")
    assert stats["backend"] == "openvino" and stats["encoded"] == len(rows) == len(torch_rows)
    for qa, row in rows.items():
        for column in ("question_embedding", "answer_embedding"):
            assert float(np.dot(row[column], torch_rows[qa][column])) > 0.99
