"""jobs/mine_negatives.py on local[2] with the packaged encoder, on benchmark-shaped fixtures from XQuAD: 1 shard and
4 shards give identical top-k lists and negatives, planted false negatives (same answer, a translation of a copy
of the positive, the positive itself) are dropped under their reasons, dev/test documents are never negatives,
stats balance, `faqmine check` is clean, a CrossEncoder teacher scores in the workers as in the library, a reranker
trained by the pipeline drives the job's scores and filters (equal to its own predict), and the exports train a
SentenceTransformer for one step."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from helpers.embeddings import write_embeddings
from helpers.paths import need_model
from helpers.xquad_qas import xquad_pairs

from faqmine.build_benchmarks.benchmark import answer_key, doc_id, query_id
from faqmine.core.ids import qa_id
from faqmine.core.schemas import load_schema
from faqmine.core.stats import check_balance, read_stats
from faqmine.embedding.load import DEFAULT_ENCODER
from faqmine.run.check import check_data_root

pytestmark = [pytest.mark.spark, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[1]
N_EN, N_ZH = 36, 14
TEST_SPLIT = range(32, 36)  # en QAs on a test domain: their documents must never be negatives


def _job():
    spec = importlib.util.spec_from_file_location("mine_negatives_job", REPO / "jobs" / "mine_negatives.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _qas() -> list[dict]:
    rows = []
    shared_answer = xquad_pairs("en")[0][2]
    for language, n in (("en", N_EN), ("zh", N_ZH)):
        for i, (_, question, answer) in enumerate(xquad_pairs(language)[:n]):
            if language == "en" and i == 9:  # another question with en 0's answer, in other case and punctuation
                answer = shared_answer.upper().rstrip(".")
            domain = "test.example.net" if language == "en" and i in TEST_SPLIT else f"site{i % 6}.{language}.example"
            rows.append({"language": language, "i": i, "question": question, "answer": answer, "domain": domain,
                         "split": "test" if domain.startswith("test") else "train"})
    # a copy of en 0 on another site with an edited answer: a near duplicate dedup kept apart, known to be
    # the same FAQ only through bitext (both have a German translation) and duplicates (those translations)
    _, question, answer = xquad_pairs("en")[0]
    rows.append({"language": "en", "i": 100, "question": question, "answer": answer + " (See also our FAQ.)",
                 "domain": "copy.example.org", "split": "train"})
    for row in rows:
        row["qa_id"] = qa_id(f"https://{row['domain']}/{row['language']}/faq#{row['i']}", row["question"],
                             row["answer"])
    return rows


def _write(spark, rows: list[dict], path: Path, dataset: str) -> None:
    from faqmine.spark.datasets import write_dataset

    schema = load_schema(dataset)
    table = pa.Table.from_pylist([{n: r.get(n) for n in schema.names} for r in rows], schema=schema.arrow())
    write_dataset(spark.createDataFrame(table).repartition(2), str(path), dataset,
                  {"job": "fixture", "in": len(rows), "out": len(rows), "dropped": {}})


@pytest.fixture(scope="module")
def data_root(spark, tmp_path_factory):
    need_model(DEFAULT_ENCODER, "encoder")
    root = tmp_path_factory.mktemp("negatives")
    qas = _qas()
    corpus = [{"doc_id": doc_id(r["qa_id"]), "qa_id": r["qa_id"], "title": "", "text": r["answer"],
               "domain": r["domain"], "unit": r["domain"], "language": r["language"], "split": r["split"]} for r in qas]
    queries = [{"query_id": query_id(r["qa_id"]), "qa_id": r["qa_id"], "text": r["question"], "domain": r["domain"],
                "unit": r["domain"],
                "language": r["language"], "split": r["split"]} for r in qas]
    qrels = [{"query_id": query_id(q["qa_id"]), "doc_id": doc_id(d["qa_id"]), "score": 1, "language": q["language"],
              "split": q["split"]}
             for q in qas for d in qas if q["language"] == d["language"] and answer_key(q["answer"]) == answer_key(
                 d["answer"])]
    bench = root / "benchmarks"
    _write(spark, corpus, bench / "corpus", "benchmarks_corpus")
    _write(spark, queries, bench / "queries", "benchmarks_queries")
    _write(spark, qrels, bench / "qrels", "benchmarks_qrels")
    write_embeddings(spark, qas, root / "qa_embeddings")  # beside benchmarks/: the stage's default
    by_i = {(r["language"], r["i"]): r for r in qas}
    de_main, de_copy = qa_id("https://site0.de.example/de", "x", "y"), qa_id("https://copy.example.org/de", "x", "y")
    pair = {"site": "", "language_a": "de", "language_b": "en", "question_a": "", "question_b": "", "answer_a": "",
            "answer_b": "", "score": 1.0, "method": "margin", "cosine": 0.9, "margin": 1.1, "language_pair": "de-en"}
    _write(spark, [{**pair, "pair_id": "p1", "site": "site0.en.example", "qa_id_a": de_main,
                    "qa_id_b": by_i[("en", 0)]["qa_id"]},
                   {**pair, "pair_id": "p2", "site": "copy.example.org", "qa_id_a": de_copy,
                    "qa_id_b": by_i[("en", 100)]["qa_id"]}], root / "bitext", "bitext")
    _write(spark, [{"qa_id": de_copy, "representative_qa_id": de_main, "kind": "near", "similarity": 0.9,
                    "cluster_id": de_main, "url": "https://copy.example.org/de", "language": "de"}],
           root / "duplicates", "duplicates")
    return root, by_i


def _run(spark, monkeypatch, root: Path, name: str, *extra: str) -> tuple[dict, list[dict], list[dict]]:
    monkeypatch.setattr(type(spark), "stop", lambda self: None)  # the job must not stop the shared session
    out = root / name
    candidates = root / ("hard_negative_candidates" if name == "hard_negatives" else f"{name}_candidates")
    args = ["--benchmarks", str(root / "benchmarks"), "--output", str(out), "--candidates-output", str(candidates),
            "--k", "8", "--query-block-size", "16", "--encode-partitions", "2", "--export-negatives", "2", *extra]
    assert _job().main(args) == 0

    def rows(folder: Path, key: tuple[str, ...]) -> list[dict]:
        table = ds.dataset(folder, format="parquet", partitioning="hive").to_table().to_pylist()
        return sorted(table, key=lambda r: tuple(r[k] for k in key))

    return read_stats(out), rows(out, ("query_id",)), rows(candidates, ("query_id", "doc_id"))


def test_mine_negatives_job(spark, monkeypatch, data_root, tmp_path):
    root, by_i = data_root
    stats, hard, candidates = _run(spark, monkeypatch, root, "hard_negatives", "--shards", "4")
    stats_1, hard_1, candidates_1 = _run(spark, monkeypatch, root, "one_shard", "--shards", "1", "--no-export")

    # sharding changes nothing: the same top-k lists (ranks, scores), reasons and negatives
    assert stats["shards"] == {"en": 4, "zh": 4} and stats_1["shards"] == {"en": 1, "zh": 1}
    assert stats["query_blocks"] == {"en": 3, "zh": 1}
    assert candidates == candidates_1
    assert hard == hard_1
    assert any(r["bm25_rank"] == 8 for r in candidates) and any(r["dense_rank"] == 8 for r in candidates)

    # stats: train queries in, queries with negatives out; candidates balance by reason
    n_train = sum(1 for r in by_i.values() if r["split"] == "train")
    assert stats["in"] == n_train and stats["out"] == len(hard)
    assert stats["texts_encoded"] == 0  # the vectors are qa_embeddings', made once by the embed stage
    assert stats["vectors_read"]["queries"] == n_train
    check_balance(stats)
    counts = stats["candidates"]
    assert counts["in"] == len(candidates) and counts["out"] == sum(len(r["negative_ids"]) for r in hard)
    assert counts["in"] == counts["out"] + sum(counts["dropped"].values())
    assert counts["dropped"]["is_positive"] == sum(1 for r in candidates if r["reason"] == "is_positive") > 0
    assert {r["source"] for r in candidates} == {"bm25", "dense", "both"}

    # planted false negatives are never negatives, and are counted under their reason
    def qid(language, i):
        return query_id(by_i[(language, i)]["qa_id"])

    def did(language, i):
        return doc_id(by_i[(language, i)]["qa_id"])

    reason = {(r["query_id"], r["doc_id"]): r["reason"] for r in candidates}
    assert reason[(qid("en", 0), did("en", 9))] == "qrels_positive"
    assert reason[(qid("en", 0), did("en", 100))] == "translation_of_positive"
    assert reason[(qid("en", 100), did("en", 0))] == "translation_of_positive"
    for row in hard:
        assert row["positive_id"] == "d_" + row["query_id"][2:]
        assert row["positive_id"] not in row["negative_ids"]
        assert len(row["negatives"]) == len(row["negative_scores"]) == len(row["negative_sources"])
        assert row["negative_scores"] == sorted(row["negative_scores"], reverse=True)
        limit = row["positive_score"] - abs(row["positive_score"]) * 0.05  # the default relative margin
        assert all(s <= limit + 1e-6 for s in row["negative_scores"])
    assert {r["teacher"] for r in hard} == {"encoder-cosine"} and stats["teacher_card"] is None
    test_docs = {did("en", i) for i in TEST_SPLIT}
    assert not test_docs & {r["doc_id"] for r in candidates}
    assert not {qid("en", i) for i in TEST_SPLIT} & {r["query_id"] for r in hard}
    assert {r["language"] for r in hard} == {"en", "zh"}

    checked, problems = check_data_root(root)
    assert {"hard_negatives", "hard_negative_candidates"} <= set(checked)
    assert not [p for p in problems if p.dataset.startswith("hard_negative")], problems


def test_vectors_of_another_encoder_are_refused(spark, monkeypatch, data_root, tmp_path, capsys):
    root, _ = data_root
    other = tmp_path / "other-encoder"
    other.mkdir()
    (other / "config.json").write_text("{}")
    with pytest.raises(SystemExit):
        _run(spark, monkeypatch, root, "refused", "--encoder", str(other))
    assert "holds vectors of model" in capsys.readouterr().err and not (root / "refused").exists()


def test_cross_encoder_teacher_in_spark(spark, tmp_path):
    """The stage's CrossEncoder scoring (model loaded in the Python workers) gives what the library gives."""
    from sentence_transformers import CrossEncoder

    from faqmine.mine_negatives.negatives import CrossEncoderTeacher
    from faqmine.spark.mine_negatives import MiningConfig, cross_encoder_scores

    need_model(DEFAULT_ENCODER, "encoder")
    folder = tmp_path / "cross-encoder"  # e5 with a fresh one-logit head: a CrossEncoder folder, offline
    CrossEncoder(str(DEFAULT_ENCODER), num_labels=1, local_files_only=True).save_pretrained(str(folder))
    pairs = xquad_pairs("en")[:6]
    queries = spark.createDataFrame([(f"q{i}", q) for i, (_, q, _) in enumerate(pairs)], "query_id string, text string")
    docs = spark.createDataFrame([(f"d{i}", a) for i, (_, _, a) in enumerate(pairs)], "doc_id string, text string")
    wanted = [(f"q{i}", f"d{j}") for i in range(6) for j in (i, (i + 1) % 6)]
    frame = spark.createDataFrame(wanted, "query_id string, doc_id string")
    got = {(r["query_id"], r["doc_id"]): r["teacher_score"] for r in cross_encoder_scores(
        frame, queries, docs, MiningConfig(teacher=str(folder), teacher_batch_size=4), 2).collect()}
    expected = CrossEncoderTeacher(folder).score([pairs[int(q[1:])][1] for q, _ in wanted],
                                                 [pairs[int(d[1:])][2] for _, d in wanted])
    assert sorted(got) == sorted(wanted)
    assert [got[p] for p in wanted] == pytest.approx(expected.tolist(), abs=1e-4)


def test_mining_with_a_trained_teacher(spark, monkeypatch, data_root, tmp_path):
    """Acceptance: a reranker trained 2 steps by `train_reranker` is the teacher of the job on local[2]; every
    teacher score (positive, negatives, every candidate) equals CrossEncoder.predict on the same pairs, the
    margin filter compares those scores, and hard_negatives.teacher names the model."""
    from sentence_transformers import CrossEncoder

    from faqmine.retrieval.reranker import RerankerConfig, train_reranker

    root, _ = data_root
    teacher = tmp_path / "reranker"
    train_reranker(RerankerConfig(data=str(root), output=str(teacher),
                                  hard_negatives="none", max_steps=2, batch_size=4, max_length=128, save_steps=2,
                                  skip_eval=True, progress=False))
    stats, hard, candidates = _run(spark, monkeypatch, root, "hard_negatives_teacher", "--shards", "2",
                                   "--teacher", str(teacher), "--teacher-batch-size", "8", "--no-export",
                                   # 2 steps leave sigmoid scores near each other: a 5% relative margin would drop
                                   # every candidate, so the positive-aware rule here is "not above the positive"
                                   "--relative-margin", "none", "--absolute-margin", "0")
    assert stats["teacher"] == f"cross-encoder:{teacher}" and stats["teacher_card"]["steps"] == 2
    assert hard and {r["teacher"] for r in hard} == {f"cross-encoder:{teacher}"}
    model = CrossEncoder(str(teacher), local_files_only=True)
    texts = {}
    for table in ("corpus", "queries"):
        for r in ds.dataset(root / "benchmarks" / table, format="parquet", partitioning="hive").to_table().to_pylist():
            texts[r.get("doc_id") or r["query_id"]] = r["text"]
    for row in hard:
        pairs = [(row["query"], row["positive"]), *[(row["query"], n) for n in row["negatives"]]]
        expected = model.predict(pairs, batch_size=8, convert_to_numpy=True).tolist()
        assert [row["positive_score"], *row["negative_scores"]] == pytest.approx(expected, abs=1e-5)
        assert all(s <= row["positive_score"] for s in row["negative_scores"])  # positive-aware, teacher's score
    expected = model.predict([(texts[r["query_id"]], texts[r["doc_id"]]) for r in candidates], batch_size=8,
                             convert_to_numpy=True).tolist()
    assert [r["teacher_score"] for r in candidates] == pytest.approx(expected, abs=1e-5)
    assert any(r["teacher_score"] != pytest.approx(r["cosine"], abs=1e-3) for r in candidates)
    margin = [r for r in candidates if r["reason"] == "absolute_margin"]
    assert margin and stats["candidates"]["dropped"]["absolute_margin"] == len(margin)
    assert all(r["teacher_score"] > r["positive_score"] for r in margin)


def test_exports_train_a_sentence_transformer(spark, monkeypatch, data_root, tmp_path):
    """Both export layouts load with datasets and run one SentenceTransformerTrainer step with their loss."""
    import datasets
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.sentence_transformer.losses import MarginMSELoss, MultipleNegativesRankingLoss

    root, _ = data_root
    export = root / "hard_negatives_export"
    if not export.exists():
        _run(spark, monkeypatch, root, "hard_negatives", "--shards", "4")
    triplets = datasets.Dataset.from_parquet(sorted(str(p) for p in (export / "triplets").glob("*.parquet")))
    marginmse = datasets.Dataset.from_parquet(sorted(str(p) for p in (export / "marginmse").glob("*.parquet")))
    assert triplets.column_names == ["anchor", "positive", "negative_1", "negative_2"]
    assert marginmse.column_names == ["query", "positive", "negative", "label"]
    assert len(triplets) > 10 and len(marginmse) >= len(triplets)
    hard = ds.dataset(root / "hard_negatives", format="parquet", partitioning="hive").to_table().to_pylist()
    by_pair = {(r["query"], r["positive"]): r for r in hard}
    row = marginmse[0]
    source = by_pair[(row["query"], row["positive"])]
    assert row["label"] == pytest.approx(source["positive_score"] - source["negative_scores"][0], abs=1e-6)

    model = SentenceTransformer(str(DEFAULT_ENCODER), local_files_only=True)
    for data, loss in ((triplets, MultipleNegativesRankingLoss(model)), (marginmse, MarginMSELoss(model))):
        args = SentenceTransformerTrainingArguments(output_dir=str(tmp_path / "train"), max_steps=1,
                                                    per_device_train_batch_size=4, report_to=[], save_strategy="no",
                                                    logging_strategy="no", use_cpu=True)
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=data.select(range(4)), loss=loss)
        assert trainer.train().global_step == 1
