"""jobs/align_bitext.py on local[2] with the packaged encoder's vectors (jobs/embed.py): pairs only within a
site, translations found, QAs without a partner counted, nothing encoded again, balanced stats, `faqmine
check` clean, identical reruns; and the chunked Spark search gives the pairs
faqmine.align_bitext.alignment.align gives on whole sites."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pyarrow.dataset as ds
import pytest
from helpers.paths import need_model
from helpers.xquad_qas import table_of, write_table, xquad_pairs

from faqmine.align_bitext.alignment import AlignConfig, align
from faqmine.core.stats import read_stats
from faqmine.embedding.load import DEFAULT_ENCODER
from faqmine.run.check import check_data_root
from faqmine.spark.align_bitext import BitextConfig, mutual_best, neighbour_edges_df, scored_candidates

pytestmark = pytest.mark.spark
REPO = Path(__file__).resolve().parents[1]
# site -> {language: indices of XQuAD questions on the site}; the same index in two languages is a translation
SITES = {
    "multi.example.com": {"en": range(0, 7), "de": range(0, 7), "zh": range(0, 7)},
    "partial.example.org": {"en": range(20, 26), "de": [20, 21, 22, 23, 40, 41]},  # de 40, 41: no partner
    "mono.example.net": {"en": range(60, 64)},  # no other language: never compared
    "other.example.com": {"de": range(0, 3)},  # translations of multi's QAs, on another site: never paired
}


def _job(name: str = "align_bitext"):
    spec = importlib.util.spec_from_file_location(f"{name}_job", REPO / "jobs" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows() -> list[dict]:
    rows = []
    for site, languages in SITES.items():
        for language, indices in languages.items():
            pairs = xquad_pairs(language)
            for i in indices:
                _, question, answer = pairs[i]
                rows.append({"question": question, "answer": answer, "url": f"https://{site}/{language}/faq",
                             "position": i, "language": language, "cluster_size": 1, "cluster_id": "-",
                             "_xquad": i})
    return rows


@pytest.fixture(scope="module")
def data_root(spark, tmp_path_factory):
    need_model(DEFAULT_ENCODER, "encoder")
    root = tmp_path_factory.mktemp("bitext")
    table = table_of("qa_dedup", _rows())
    table = table.set_column(table.schema.get_field_index("cluster_id"), "cluster_id", table.column("qa_id"))
    write_table(spark, table, root / "qa_dedup", "qa_dedup")
    stop = type(spark).stop
    type(spark).stop = lambda self: None  # the job must not stop the shared session
    try:
        assert _job("embed").main(["--input", str(root / "qa_dedup"), "--output", str(root / "qa_embeddings")]) == 0
    finally:
        type(spark).stop = stop
    return root


def _run(spark, monkeypatch, root: Path, out: Path, *extra: str) -> tuple[dict, list[dict]]:
    monkeypatch.setattr(type(spark), "stop", lambda self: None)  # the job must not stop the shared session
    args = ["--input", str(root / "qa_dedup"), "--embeddings", str(root / "qa_embeddings"), "--output", str(out),
            "--chunk-size", "3", *extra]
    assert _job().main(args) == 0
    rows = ds.dataset(out, format="parquet", partitioning="hive").to_table().to_pylist()
    return read_stats(out), sorted(rows, key=lambda r: r["pair_id"])


def test_bitext_job(spark, monkeypatch, data_root):
    out = data_root / "bitext"
    stats, rows = _run(spark, monkeypatch, data_root, out)
    by_text = {(r["language"], r["question"]): r["_xquad"] for r in _rows()}

    # pairs: only within a site, languages ordered, translations of each other
    assert rows, stats
    for r in rows:
        assert r["language_a"] < r["language_b"] and r["language_pair"] == f"{r['language_a']}-{r['language_b']}"
        assert r["site"] in ("multi.example.com", "partial.example.org")
        assert r["method"] == "margin" and r["score"] == pytest.approx(r["margin"])
    correct = [r for r in rows if by_text[(r["language_a"], r["question_a"])] == by_text[(r["language_b"],
                                                                                             r["question_b"])]]
    assert len(correct) >= 0.95 * len(rows)
    assert len(correct) >= 0.85 * (3 * 7 + 4)  # en-de, en-zh, de-zh on multi; 4 on partial

    # stats: QAs are the unit, pairs are rows_out
    assert stats["in"] == len(_rows()) == 7 * 3 + 12 + 4 + 3
    assert stats["dropped"]["no_other_language_on_site"] == 7  # mono (4) and other (3)
    aligned = {r["qa_id_a"] for r in rows} | {r["qa_id_b"] for r in rows}
    assert stats["out"] == len(aligned)
    assert stats["dropped"]["no_match"] == stats["in"] - 7 - len(aligned)
    assert stats["dropped"]["no_match"] >= 2  # de 40 and 41 on partial have no partner
    assert stats["rows_out"] == len(rows)
    assert stats["texts_encoded"] == 0 and stats["vectors_read"] == stats["in"] - 7  # the embed stage's vectors

    checked, problems = check_data_root(data_root)
    assert "bitext" in checked and problems == []

    # a rerun writes the same rows
    _, again = _run(spark, monkeypatch, data_root, data_root.parent / "bitext_again")
    assert again == rows


@pytest.mark.parametrize("method", ["cosine", "margin"])
def test_chunked_search_equals_whole_site_alignment(spark, method):
    """Random vectors, two sites, three languages: chunks of 4 QAs give the in-memory pairs of whole sites."""
    rng = np.random.default_rng(5)
    rows, vectors = [], {}
    for site, n in (("a.example", 11), ("b.example", 6)):
        base = rng.normal(size=(n, 8))
        for language in ("de", "en", "zh"):
            noisy = base + 0.6 * rng.normal(size=base.shape)
            noisy = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)
            keep = rng.random(n) < 0.8  # some QAs without a partner
            vectors[(site, language)] = noisy[keep]
            ids = [f"{site}-{language}-{i:02d}" for i in np.flatnonzero(keep)]
            rows += [(qa_id, site, language, vec.tolist()) for qa_id, vec in zip(ids, noisy[keep], strict=True)]
            vectors[(site, language, "ids")] = ids
    df = spark.createDataFrame(rows, "qa_id string, site string, language string, vector array<float>")
    config = BitextConfig(chunk_size=4)
    candidates = scored_candidates(neighbour_edges_df(df, config), config.align.k)
    got = {(r["qa_id_a"], r["qa_id_b"]) for r in mutual_best(candidates, method, None).collect()}
    expected = set()
    for site in ("a.example", "b.example"):
        for a, b in (("de", "en"), ("de", "zh"), ("en", "zh")):
            result = align(vectors[(site, a)], vectors[(site, b)], AlignConfig(method=method),
                           threshold=float("-inf"))
            expected |= {(vectors[(site, a, "ids")][i], vectors[(site, b, "ids")][j]) for i, j in result.pairs()}
    assert got == expected and len(got) > 10
