"""faqmine.search.lexical and faqmine.mine_negatives.negatives without Spark:
tokenisation per script, BM25 equal to bm25s and unchanged by
sharding, deterministic top-k merging, filters with counted reasons, and margins that mean what
sentence-transformers' mine_hard_negatives means."""

from __future__ import annotations

import bm25s
import numpy as np
import pytest

from faqmine.mine_negatives.negatives import (
    FilterConfig,
    RecallConfig,
    dense_hits,
    filter_reasons,
    merge_top_k,
    mine_language,
    search_shard,
    select_negatives,
    top_k_positions,
    triplet_columns,
    union_sources,
)
from faqmine.search.lexical import (
    CorpusBM25,
    corpus_stats,
    document_frequencies,
    query_terms,
    tokenize,
    tokenize_many,
)


def test_tokenize_words_marks_and_bigrams():
    assert tokenize("Hello, World! Don't—stop: 2024.") == ["hello", "world", "don", "t", "stop", "2024"]
    assert tokenize("Ｆｕｌｌｗｉｄｔｈ STRASSE Straße") == ["fullwidth", "strasse", "strasse"]  # NFKC + casefold
    assert tokenize("हिन्दी भाषा") == ["हिन्दी", "भाषा"]  # vowel signs and virama stay inside the word
    assert tokenize("مَرْحَبًا بك") == ["مَرْحَبًا", "بك"]
    assert tokenize("中文分词") == ["中文", "文分", "分词"]
    assert tokenize("日本語のテキスト") == ["日本", "本語", "語の", "のテ", "テキ", "キス", "スト"]
    assert tokenize("ภาษาไทย") == ["ภา", "าษ", "ษา", "าไ", "ไท", "ทย"]
    assert tokenize("用GPU训练") == ["gpu", "用", "训练"] or tokenize("用GPU训练") == ["用", "gpu", "训练"]
    assert tokenize("我") == ["我"]
    assert tokenize("한국어 문장") == ["한국어", "문장"]  # Hangul is written with spaces
    assert query_terms(["b", "a", "b"]) == ["a", "b"]


DOCS = [
    "The cat sat on the mat.", "A dog sat on the log.", "Cats and dogs, dogs and cats.", "the the the cat",
    "Nothing in common here", "猫坐在垫子上", "狗坐在木头上", "cat", "Dogs never sit on mats", "mat mat mat cat dog",
]
QUERIES = ["cat on a mat", "dogs", "猫坐", "the", "unknown words only"]


def test_corpus_bm25_scores_as_bm25s_does_with_its_own_statistics():
    tokens = tokenize_many(DOCS)
    ours = CorpusBM25(corpus_stats(tokens), document_frequencies(tokens)).index_tokens(tokens)
    reference = bm25s.BM25()
    reference.index(tokens, show_progress=False)
    for query in QUERIES:
        terms = query_terms(tokenize(query))
        known = [t for t in terms if t in reference.vocab_dict]
        expected = reference.get_scores(known) if known else np.zeros(len(DOCS), np.float32)
        assert np.array_equal(ours.score_matrix([terms]).toarray()[0], expected)
        if known:
            assert np.array_equal(ours.get_scores(known), expected)


def test_shard_scores_do_not_depend_on_the_shard():
    tokens = tokenize_many(DOCS)
    stats, dfs = corpus_stats(tokens), document_frequencies(tokens)
    queries = [query_terms(tokenize(q)) for q in QUERIES]
    whole = CorpusBM25(stats, dfs).index_tokens(tokens).score_matrix(queries).toarray()
    for members in ([0, 3, 6, 9], [1, 4, 7], [2, 5, 8]):
        shard = CorpusBM25(stats, dfs).index_tokens([tokens[i] for i in members]).score_matrix(queries).toarray()
        assert np.array_equal(shard, whole[:, members])


def test_top_k_ties_go_to_the_smaller_position():
    scores = np.array([1.0, 3.0, 3.0, 2.0, 3.0], dtype=np.float32)
    assert top_k_positions(scores, 2).tolist() == [1, 2]
    assert top_k_positions(scores, 4).tolist() == [1, 2, 4, 3]
    assert top_k_positions(scores, 10).tolist() == [1, 2, 4, 3, 0]
    assert top_k_positions(scores, 0).tolist() == []
    assert merge_top_k([[("d2", 3.0), ("d9", 1.0)], [("d1", 3.0), ("d3", 2.0)]], 3) == [
        ("d1", 3.0), ("d2", 3.0), ("d3", 2.0)]
    assert union_sources(["a", "b"], ["b", "c"]) == {"a": "bm25", "b": "both", "c": "dense"}


def test_dense_ties_beyond_the_faiss_depth_are_resolved_by_doc_order():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(1, 8)).astype(np.float32)
    docs = np.vstack([np.repeat(base, 40, axis=0), rng.normal(size=(20, 8)).astype(np.float32)])
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    order = rng.permutation(len(docs))
    hits = dense_hits(docs[[0]], docs[order], k=5, slack=2)  # 40 equal best documents, faiss asked for 7
    assert sorted(order[hits.doc].tolist()) == sorted(order[np.sort(np.flatnonzero(order < 40))[:5]].tolist())
    assert hits.doc.tolist() == np.sort(np.flatnonzero(order < 40))[:5].tolist()


def _random_language(rng, n_docs=60, n_queries=12, dim=16):
    words = [f"w{i}" for i in range(30)]
    docs = [" ".join(rng.choice(words, size=rng.integers(1, 8))) for _ in range(n_docs)]
    docs[5] = docs[6] = docs[7]  # identical documents: equal scores in both retrievers
    queries = [" ".join(rng.choice(words, size=3)) for _ in range(n_queries)]
    doc_vectors = rng.normal(size=(n_docs, dim)).astype(np.float32)
    doc_vectors[5] = doc_vectors[6] = doc_vectors[7]
    doc_vectors /= np.linalg.norm(doc_vectors, axis=1, keepdims=True)
    query_vectors = rng.normal(size=(n_queries, dim)).astype(np.float32)
    query_vectors /= np.linalg.norm(query_vectors, axis=1, keepdims=True)
    doc_ids = [f"d_{i:03d}" for i in rng.permutation(n_docs)]
    return doc_ids, docs, doc_vectors, [f"q_{i:03d}" for i in range(n_queries)], queries, query_vectors


@pytest.mark.parametrize("shards", [2, 3, 7])
def test_sharded_recall_equals_one_shard(shards):
    doc_ids, docs, doc_vectors, query_ids, queries, query_vectors = _random_language(np.random.default_rng(shards))
    positives = [doc_ids[i] for i in range(len(query_ids))]
    recall = RecallConfig(k=6, dense_slack=1)
    one = mine_language(query_ids, queries, query_vectors, positives, doc_ids, docs, doc_vectors, recall=recall)
    many = mine_language(query_ids, queries, query_vectors, positives, doc_ids, docs, doc_vectors, recall=recall,
                         shards=shards)
    assert one.bm25 == many.bm25 and one.dense == many.dense
    assert one.candidates == many.candidates
    assert [q.negative_ids for q in one.queries] == [q.negative_ids for q in many.queries]
    assert all(len(v) <= 6 for v in one.bm25.values()) and any(len(v) == 6 for v in one.bm25.values())


def test_search_shard_positions_index_the_given_order():
    doc_ids, docs, doc_vectors, _, queries, query_vectors = _random_language(np.random.default_rng(1))
    terms = [query_terms(tokenize(q)) for q in queries]
    tokens = tokenize_many(docs)
    dfs = document_frequencies(tokens)
    hits = search_shard(doc_ids, docs, doc_vectors, terms, query_vectors, corpus_stats(tokens), dfs,
                        RecallConfig(k=3))
    for q, d, source, score, cosine in zip(hits.query, hits.doc, hits.source, hits.score, hits.cosine, strict=True):
        assert cosine == pytest.approx(float(query_vectors[q] @ doc_vectors[d]), abs=1e-5)
        if source == "dense":
            assert score == cosine
        else:
            assert set(terms[q]) & set(tokens[d])


def test_filter_reasons_first_rule_wins_and_margins_follow_sentence_transformers():
    score = np.array([0.90, 0.89, 0.80, 0.86, 0.86, 0.10, 0.70, 0.95], dtype=np.float32)
    positive = np.full(len(score), 0.90, dtype=np.float32)
    flags = np.zeros(len(score), dtype=bool)
    is_positive = flags.copy()
    is_positive[0] = True
    qrels = flags.copy()
    qrels[[0, 6]] = True  # the positive is also in the qrels: counted once, as is_positive
    reasons = filter_reasons(score, positive, is_positive=is_positive, qrels_positive=qrels,
                             config=FilterConfig(relative_margin=0.05, min_score=0.2))
    # relative: drop if score > 0.90 - 0.90 * 0.05 = 0.855
    assert reasons.tolist() == ["is_positive", "relative_margin", None, "relative_margin", "relative_margin",
                                "min_score", "qrels_positive", "relative_margin"]
    reasons = filter_reasons(score, positive, config=FilterConfig(relative_margin=None, absolute_margin=0.05,
                                                                  max_score=0.82))
    # absolute: drop if score + 0.05 > 0.90; then max_score drops 0.86 > 0.82? already gone by the margin
    assert reasons.tolist() == ["absolute_margin", "absolute_margin", None, "absolute_margin", "absolute_margin",
                                None, None, "absolute_margin"]
    # a negative positive score: the threshold is positive - |positive| * margin (sentence-transformers #3819)
    reasons = filter_reasons(np.array([-0.5, -0.52, -0.6]), np.full(3, -0.5),
                             config=FilterConfig(relative_margin=0.1))
    assert reasons.tolist() == ["relative_margin", "relative_margin", None]


def test_select_negatives_range_min_num_negatives_and_ties():
    chosen, reasons = select_negatives(["d3", "d1", "d2", "d4"], np.array([0.5, 0.7, 0.7, 0.1]),
                                       FilterConfig(num_negatives=2, range_min=1))
    assert chosen.tolist() == [2, 0]  # d1 (0.7, smaller id) skipped by range_min; then d2, d3
    assert reasons.tolist() == [None, "range_min", None, "beyond_num_negatives"]
    chosen, reasons = select_negatives(["d1", "d2", "d3", "d4"], np.array([0.9, 0.8, 0.7, 0.6]),
                                       FilterConfig(num_negatives=2), keys=["a", "a", "b", "c"])
    assert chosen.tolist() == [0, 2]  # d2 holds d1's text: a list holds each text once
    assert reasons.tolist() == [None, "duplicate_negative", None, "beyond_num_negatives"]
    assert triplet_columns(2) == ["anchor", "positive", "negative_1", "negative_2"]


@pytest.mark.slow  # encodes with the packaged e5 encoder, five mining runs
def test_margins_select_what_sentence_transformers_selects(tmp_path):
    """The same negatives as sentence_transformers.util.mine_hard_negatives for each of its margin knobs."""
    import datasets
    from helpers.paths import need_model
    from helpers.xquad_qas import xquad_pairs
    from sentence_transformers.util import mine_hard_negatives

    from faqmine.embedding.encode import get_encoder
    from faqmine.embedding.load import DEFAULT_ENCODER

    need_model(DEFAULT_ENCODER, "encoder")
    model = get_encoder()
    pairs = xquad_pairs("en")[:14]
    anchors, positives = [p[1] for p in pairs], [p[2] for p in pairs]
    dataset = datasets.Dataset.from_dict({"anchor": anchors, "positive": positives})
    corpus = list(dict.fromkeys(positives))
    cache = tmp_path / "embeddings"
    sims = None
    for knobs in ({"relative_margin": 0.05}, {"absolute_margin": 0.02}, {"max_score": 0.85}, {"min_score": 0.8},
                  {"relative_margin": 0.02, "min_score": 0.79}):
        mined = mine_hard_negatives(dataset, model, range_max=len(corpus), num_negatives=4, verbose=False,
                                    output_format="labeled-list", output_scores=True, cache_folder=str(cache),
                                    **knobs)
        if sims is None:  # the very embeddings it used (cached by the first call, reused by the others)
            q = np.load(next(cache.glob("query_embeddings_*.npy")))
            c = np.load(next(cache.glob("corpus_embeddings_*.npy")))
            sims = model.similarity(q, c).numpy()
        theirs = {row["anchor"]: row["positive"][1:] for row in mined}
        config = FilterConfig(**{"relative_margin": None, "num_negatives": 4, **knobs})
        for i, anchor in enumerate(anchors):
            others = [j for j in range(len(corpus)) if corpus[j] != positives[i]]
            positive_score = sims[i, corpus.index(positives[i])]
            reasons = filter_reasons(sims[i, others], np.full(len(others), positive_score), config=config)
            open_ = [j for j, r in zip(others, reasons, strict=True) if r is None]
            chosen, _ = select_negatives([f"d{j:03d}" for j in open_], sims[i, open_], config)
            ours = [corpus[open_[c]] for c in chosen]
            assert ours == theirs.get(anchor, []), (knobs, anchor)
