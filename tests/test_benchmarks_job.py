"""jobs/build_benchmarks.py on local[2]: splits by unit (no domain, no unit in two splits), deterministic per seed,
duplicate answers judged relevant, small languages dropped with a reason, balanced stats, `faqmine check`
clean, identical reruns, and an export that BEIR's loader reads."""

from __future__ import annotations

import filecmp
import importlib.util
from collections import defaultdict
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from helpers.embeddings import write_embeddings
from helpers.xquad_qas import table_of, write_table, xquad_pairs

from faqmine.build_benchmarks.benchmark import answer_key, load_beir_folder
from faqmine.core.stats import read_stats
from faqmine.run.check import check_data_root

pytestmark = pytest.mark.spark
REPO = Path(__file__).resolve().parents[1]
SHARED_ANSWER = "Please contact our customer service team by e-mail; we answer within two working days."


def _job():
    spec = importlib.util.spec_from_file_location("build_benchmarks_job", REPO / "jobs" / "build_benchmarks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows() -> list[dict]:
    """en: 60 QAs on 20 domains (4 of them answer SHARED_ANSWER, in different case and punctuation);
    de: 30 QAs on 10 domains, other XQuAD articles than the English ones (no translation across domains);
    el: 5 QAs (below --min-qas)."""
    rows = []
    for language, n, n_domains, first in (("en", 60, 20, 0), ("de", 30, 10, 300), ("el", 5, 2, 0)):
        for i, (_, question, answer) in enumerate(xquad_pairs(language)[first:first + n]):
            domain = f"site{i % n_domains}.example.com"
            if language == "en" and i in (3, 9, 10, 17):
                answer = SHARED_ANSWER.upper() if i == 9 else SHARED_ANSWER.rstrip(".")
            rows.append({"question": question, "answer": answer, "url": f"https://{domain}/{language}/faq#{i}",
                         "language": language, "page_title": None if i % 5 == 0 else f"FAQ {domain}",
                         "cluster_size": 1})
    return rows


@pytest.fixture(scope="module")
def data_root(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    table = table_of("qa_dedup", [{**r, "cluster_id": "-"} for r in _rows()])
    # every QA is its own cluster
    table = table.set_column(table.schema.get_field_index("cluster_id"), "cluster_id", table.column("qa_id"))
    write_table(spark, table, root / "qa_dedup", "qa_dedup")
    write_embeddings(spark, table.select(["qa_id", "question", "answer", "language"]).to_pylist(),
                     root / "qa_embeddings")
    return root


def _run(spark, monkeypatch, root: Path, out: Path, *extra: str) -> dict:
    monkeypatch.setattr(type(spark), "stop", lambda self: None)  # the job must not stop the shared session
    # XQuAD questions on one sentence share their answer, so at the default thresholds these 20 sites join into
    # one unit (tests/test_split_units.py tests units): here near-identity thresholds keep them apart
    args = ["--input", str(root / "qa_dedup"), "--embeddings", str(root / "qa_embeddings"), "--output", str(out),
            "--min-qas", "20", "--translation-threshold", "0.99", "--copy-threshold", "0.99", *extra]
    assert _job().main(args) == 0
    return read_stats(out)


def _table(folder: Path):
    partitioning = ds.partitioning(flavor="hive")
    return ds.dataset(folder, format="parquet", partitioning=partitioning).to_table().to_pylist()


def test_benchmarks_job(spark, monkeypatch, data_root, tmp_path):
    out = data_root / "benchmarks"
    stats = _run(spark, monkeypatch, data_root, out, "--seed", "3")
    corpus, queries, qrels = (_table(out / name) for name in ("corpus", "queries", "qrels"))

    # languages: el is too small, its 5 QAs are counted as dropped
    assert stats["languages"] == ["de", "en"]
    assert stats["dropped"] == {"language_too_small": 5}
    assert stats["in"] == 95 and stats["out"] == 90 and stats["docs"] == 90
    assert {r["language"] for r in corpus} == {"en", "de"}

    # no domain and no unit in two splits, in any dataset or language; every domain in one unit
    split_of: dict[str, set[str]] = defaultdict(set)
    unit_split: dict[str, set[str]] = defaultdict(set)
    unit_of: dict[str, set[str]] = defaultdict(set)
    for row in corpus + queries:
        split_of[row["domain"]].add(row["split"])
        unit_split[row["unit"]].add(row["split"])
        unit_of[row["domain"]].add(row["unit"])
    assert all(len(s) == 1 for s in split_of.values()), split_of
    assert all(len(s) == 1 for s in unit_split.values()) and all(len(u) == 1 for u in unit_of.values())
    assert {s for v in split_of.values() for s in v} <= {"train", "dev", "test"}
    assert len({s for v in split_of.values() for s in v}) >= 2

    # ids, texts, traceability
    assert all(r["doc_id"] == "d_" + r["qa_id"] for r in corpus)
    assert all(r["query_id"] == "q_" + r["qa_id"] for r in queries)
    assert all(r["title"] is not None for r in corpus)
    by_query = defaultdict(set)
    for r in qrels:
        by_query[r["query_id"]].add(r["doc_id"])
    assert set(by_query) == {r["query_id"] for r in queries}
    for q in queries:  # its own answer is always relevant
        assert "d_" + q["qa_id"] in by_query[q["query_id"]]

    # the four QAs whose answers are the same text: each query judges all four documents relevant
    shared = {r["doc_id"] for r in corpus if answer_key(r["text"]) == answer_key(SHARED_ANSWER)}
    assert len(shared) == 4
    for doc in shared:
        assert by_query["q_" + doc[2:]] == shared
    # XQuAD questions on one sentence share their answer text too: judgements = sum of (cluster size)^2
    cluster = defaultdict(int)
    for r in corpus:
        cluster[(r["language"], answer_key(r["text"]))] += 1
    assert len(qrels) == sum(n * n for n in cluster.values()) > len(queries)

    # contract: every dataset checks clean (balance, rows, types, unique ids, upstream ids)
    checked, problems = check_data_root(data_root)
    assert {"benchmarks_corpus", "benchmarks_queries", "benchmarks_qrels", "qa_dedup"} <= set(checked)
    assert problems == []

    # the export, read by BEIR's own loader, and by ours (training/evaluate.py reads it without BEIR)
    from beir.datasets.data_loader import GenericDataLoader

    def load(folder, split):
        beir = GenericDataLoader(data_folder=str(folder)).load(split=split)
        assert load_beir_folder(folder, split) == beir
        return beir

    for language in ("en", "de"):
        folder = out / "export" / language
        n_queries = 0
        for split in sorted(p.stem for p in (folder / "qrels").glob("*.tsv")):
            docs, split_queries, split_qrels = load(folder, split)
            assert len(docs) == sum(1 for r in corpus if r["language"] == language)
            assert set(split_queries) == set(split_qrels)
            assert all(d in docs for judged in split_qrels.values() for d in judged)
            n_queries += len(split_queries)
        assert n_queries == sum(1 for r in queries if r["language"] == language)

    # a rerun writes the same rows and byte-identical export files (other seeds: tests/test_splits.py)
    again = tmp_path / "again"
    _run(spark, monkeypatch, data_root, again, "--seed", "3")
    assert _same_tree(filecmp.dircmp(out / "export", again / "export"))
    for name in ("corpus", "queries", "qrels"):
        assert _table(out / name) == _table(again / name)


def _same_tree(comparison: filecmp.dircmp) -> bool:
    _, mismatch, errors = filecmp.cmpfiles(comparison.left, comparison.right, comparison.common_files, shallow=False)
    if comparison.left_only or comparison.right_only or mismatch or errors:
        return False
    return all(_same_tree(sub) for sub in comparison.subdirs.values())
