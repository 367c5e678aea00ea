"""faqmine models train-reranker (faqmine.retrieval.reranker): training rows come from the train split only, two
training steps on a tiny XQuAD data root write a CrossEncoder folder that loads and scores (with freeze_layers, the
lower layers keep the base's weights), either head (mean-pooled or [CLS]) saves and loads with the same scores, its
card holds the data,
the steps and dev reranking scores (trained and zero-shot languages), resuming continues from the last checkpoint,
and the real pages' cross-lingual tasks judge the translation of the question's own answer."""

from __future__ import annotations

import json

import pytest
import torch
from helpers.paths import REALFAQ, need, need_model
from helpers.xquad_data_root import build_fixture

from faqmine.build_benchmarks.benchmark import doc_id
from faqmine.embedding.load import DEFAULT_ENCODER
from faqmine.retrieval.datasets import read_benchmarks, read_bitext
from faqmine.retrieval.realfaq import aligned_items
from faqmine.retrieval.reranker import (
    CARD,
    CHECKPOINTS,
    HEADS,
    RerankerConfig,
    RerankTask,
    _rerank_runs,
    load_reranker,
    new_cross_encoder,
    realfaq_tasks,
    train_reranker,
    training_rows,
)

pytestmark = pytest.mark.slow
TRAINED = ("de", "en")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reranker")
    build_fixture(folder, languages=("de", "en", "ar"), max_articles=5, questions_per_article=4, negatives=3)
    return folder


def test_training_rows_are_train_split_only(root):
    bench = read_benchmarks(root)
    config = RerankerConfig(data=str(root), output=str(root / "unused"), languages=TRAINED, mined_negatives=2,
                            random_negatives=2)
    data = training_rows(config, bench)
    rows = data.rows
    train_texts = set(bench.corpus.loc[bench.corpus["split"] == "train", "text"])
    other_texts = set(bench.corpus.loc[bench.corpus["split"] != "train", "text"]) - train_texts
    train_queries = set(bench.queries.loc[bench.queries["split"] == "train", "text"])
    assert data.languages == list(TRAINED)
    cross = rows[rows["language"].str.contains("-")]
    rows = rows[~rows["language"].str.contains("-")]
    assert set(rows["language"]) == set(TRAINED)
    assert set(rows["query"]) <= train_queries
    assert set(rows["document"]) <= train_texts and not set(rows["document"]) & other_texts
    positives = rows[rows["label"] == 1.0]
    assert len(positives) == data.counts["queries"] > 0
    assert data.counts["mined_negatives"] > 0 and data.counts["random_negatives"] > 0
    # a negative is never a text judged relevant to its query
    relevant = bench.qrels[bench.qrels["score"] > 0].merge(bench.corpus[["doc_id", "text"]], on="doc_id")
    query_text = dict(zip(bench.queries["query_id"], bench.queries["text"], strict=True))
    judged = {(query_text[q], t) for q, t in zip(relevant["query_id"], relevant["text"], strict=True)}
    negatives = rows[rows["label"] == 0.0]
    assert not judged & set(zip(negatives["query"], negatives["document"], strict=True))
    all_negatives = data.rows["label"] == 0.0  # the counts cover the cross-lingual rows' negatives too
    assert all_negatives.sum() == data.counts["mined_negatives"] + data.counts["random_negatives"]
    assert negatives.groupby("query").size().max() == 4

    # cross-lingual rows: a train question against its bitext partner's answer (also train), both ways
    assert set(cross["language"]) == {"de-en", "en-de"} and data.counts["cross_lingual_queries"] > 0
    assert set(cross["query"]) <= train_queries and set(cross["document"]) <= train_texts
    lang_of = dict(zip(bench.corpus["text"], bench.corpus["language"], strict=False))
    assert all(lang_of[d] == pair.split("-")[1] for d, pair in zip(cross["document"], cross["language"], strict=True))
    bitext = read_bitext(root)
    trained_q = bench.queries[bench.queries["language"].isin(TRAINED)]
    trained_c = bench.corpus[bench.corpus["language"].isin(TRAINED)]
    qa_text = dict(zip(trained_q["qa_id"], trained_q["text"], strict=True))
    answer_of = dict(zip(trained_c["doc_id"], trained_c["text"], strict=True))
    expected = {(qa_text[a], answer_of[doc_id(b)]) for x, y in zip(bitext["qa_id_a"], bitext["qa_id_b"], strict=True)
                for a, b in ((x, y), (y, x)) if a in qa_text and doc_id(b) in answer_of
                and answer_of[doc_id(b)] in train_texts and qa_text[a] in train_queries}
    cross_positives = cross[cross["label"] == 1.0]
    assert set(zip(cross_positives["query"], cross_positives["document"], strict=True)) == expected
    assert len(cross_positives) == data.counts["cross_lingual_queries"]
    assert not judged & set(zip(cross["query"][cross["label"] == 0.0], cross["document"][cross["label"] == 0.0],
                                strict=True))
    without = training_rows(RerankerConfig(**{**config.__dict__, "cross_lingual": False}), bench)
    assert not without.rows["language"].str.contains("-").any() and "cross_lingual_queries" not in without.counts


def test_two_steps_write_a_loadable_cross_encoder_with_its_card(root, tmp_path):
    from sentence_transformers import CrossEncoder

    need_model(DEFAULT_ENCODER, "encoder")
    out = tmp_path / "reranker"
    config = RerankerConfig(data=str(root), output=str(out), languages=TRAINED, max_steps=2, batch_size=4,
                            max_length=64, save_steps=2, realfaq="none", resamples=100, progress=False,
                            freeze_layers=10, learning_rate=1e-3, encoder_max_length=64)
    card = train_reranker(config)
    model = CrossEncoder(str(out), local_files_only=True)
    scores = model.predict([("Wo liegt Berlin?", "Berlin liegt in Deutschland."), ("What is 2+2?", "Four.")])
    assert scores.shape == (2,) and all(0.0 < s < 1.0 for s in scores)  # one logit, sigmoid

    # freeze_layers=10: the embedding layer and layers 0-9 are the base's weight for weight, layers 10-11 trained
    from transformers import AutoModel

    base = AutoModel.from_pretrained(str(DEFAULT_ENCODER), local_files_only=True).state_dict()
    trained = model.model.state_dict()  # the default head (mean): the encoder itself, then Pooling and Dense
    for name in ("embeddings.LayerNorm.weight", "encoder.layer.0.attention.self.query.weight",
                 "encoder.layer.9.output.dense.weight"):
        assert torch.equal(trained[name], base[name]), name
    top = "encoder.layer.11.output.dense.weight"
    assert not torch.equal(trained[top], base[top])
    assert card["training"]["freeze_layers"] == 10 and card["head"] == "mean"

    saved = json.loads((out / CARD).read_text(encoding="utf-8"))
    assert saved == json.loads(json.dumps(card, default=str))
    assert saved["training"]["steps"] == 2 and saved["data"]["split"] == "train"
    assert saved["data"]["languages"] == list(TRAINED) and saved["data"]["counts"]["queries"] > 0
    dev = saved["dev"]
    assert dev["encoder_max_length"] == 64
    bench = read_benchmarks(root)
    n_dev = bench.queries[bench.queries["split"] == "dev"]["query_id"].nunique()
    assert dev["pooled"]["queries"] == n_dev > 0
    assert {lang: e["zero_shot"] for lang, e in dev["by_language"].items()} == {"ar": True, "de": False, "en": False}
    assert dev["zero_shot"]["queries"] + dev["trained"]["queries"] == n_dev
    for entry in (dev["pooled"], *dev["by_language"].values()):
        lo, hi = entry["delta_ci"]
        assert lo <= entry["delta"] <= hi
        assert entry["delta"] == pytest.approx(entry["reranked"] - entry["bi_encoder"], abs=2e-4)
    assert saved["use_as_teacher"] == (dev["pooled"]["delta_ci"][0] > 0)
    assert "## Dev reranking" in (out / "README.md").read_text(encoding="utf-8")

    # the evaluation scores every task's pairs in one predict call: each score is the pair's own
    tasks = [RerankTask("de", {"q1": "Wo liegt Berlin?"}, {"d1": "Berlin liegt in Deutschland.", "d2": "Vier."}, {}),
             RerankTask("en", {"q2": "What is 2+2?", "q3": "Where is Paris?"}, {"d3": "Four.", "d4": "In France."}, {})]
    firsts = [{"q1": {"d1": 0.9, "d2": 0.1}}, {"q2": {"d3": 0.5, "d4": 0.4}, "q3": {"d4": 0.8}}]
    together = _rerank_runs(model, list(zip(tasks, firsts, strict=True)), batch_size=2, progress=False)
    for task, first, scores in zip(tasks, firsts, together, strict=True):
        for q, docs in first.items():
            assert set(scores[q]) == set(docs)
            for d in docs:
                alone = float(model.predict([(task.queries[q], task.docs[d])])[0])
                assert scores[q][d] == pytest.approx(alone, abs=1e-5), (q, d)

    # resume: two more steps continue from checkpoint-2
    more = train_reranker(RerankerConfig(**{**config.__dict__, "max_steps": 4, "skip_eval": True,
                                            "keep_checkpoints": False}))
    assert more["training"]["resumed_from"].endswith("checkpoint-2") and more["training"]["steps"] == 4
    assert not (out / CHECKPOINTS).exists() and (out / "model.safetensors").exists()  # --drop-checkpoints
    assert "dev" not in more


@pytest.mark.parametrize("head", HEADS)
def test_each_head_saves_and_loads_as_a_cross_encoder(head, tmp_path):
    """A new model of either head is a one-logit CrossEncoder whose folder loads offline with the same scores."""
    need_model(DEFAULT_ENCODER, "encoder")
    pairs = [("Wo liegt Berlin?", "Berlin liegt in Deutschland."), ("What is 2+2?", "Four."),
             ("¿Dónde está Madrid?", "Берлин находится в Германии.")]
    model = new_cross_encoder(str(DEFAULT_ENCODER), head, max_length=64, device="cpu")
    assert model.num_labels == 1
    before = model.predict(pairs, convert_to_numpy=True)
    model.save_pretrained(str(tmp_path / head))
    loaded = load_reranker(tmp_path / head, device="cpu")
    assert loaded.max_seq_length == 64
    after = loaded.predict(pairs, convert_to_numpy=True)
    assert after.shape == (3,) and all(0.0 < s < 1.0 for s in after)  # one logit, sigmoid
    assert after == pytest.approx(before, abs=1e-5)


def test_realfaq_cross_lingual_tasks_judge_the_translation():
    need(REALFAQ / "gold.jsonl", "real FAQ gold pairs")
    items, _ = aligned_items(REALFAQ)
    key_of = {f"a{i}": (lang, key) for i, (lang, key, _, _) in enumerate(items)}
    question_key = {f"q{i}": (lang, key) for i, (lang, key, _, _) in enumerate(items)}
    tasks = realfaq_tasks(REALFAQ, max_queries=200, seed=3)
    assert sum(len(t.queries) for t in tasks) == 200 and len(tasks) > 5
    for task in tasks:
        source, target = task.name.split("-")
        assert source != target
        assert {key_of[d][0] for d in task.docs} == {target}
        for qid, judged in task.qrels.items():
            (doc,) = judged
            q_lang, q_key = question_key[qid.split("-")[0]]
            assert q_lang == source and key_of[doc] == (target, q_key) and doc in task.docs
