"""faqmine.align_bitext.alignment and faqmine.embedding.encode:
faiss search, mutual best, margin, on synthetic vectors and on real
XQuAD translations with the packaged encoder (high precision between English and German, Chinese)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from helpers.paths import need_model
from helpers.xquad_qas import xquad_pairs

from faqmine.align_bitext.alignment import AlignConfig, align, margin_scores, mutual_best, neighbour_edges
from faqmine.embedding.encode import (
    EncodeConfig,
    arrow_to_vectors,
    encode_qa,
    get_encoder,
    loaded_encoders,
    qa_vectors,
    vectors_to_arrow,
)
from faqmine.embedding.load import DEFAULT_ENCODER
from faqmine.search.dense import top_k

SITE = 8  # QAs per simulated site: consecutive XQuAD questions, mostly about one paragraph
N = 32


def _unit(rng: np.random.Generator, n: int, dim: int = 16) -> np.ndarray:
    x = rng.normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_top_k_matches_brute_force():
    rng = np.random.default_rng(0)
    x, y = _unit(rng, 20), _unit(rng, 30)
    scores, idx = top_k(x, y, 4)
    brute = x @ y.T
    assert np.array_equal(idx, np.argsort(-brute, axis=1)[:, :4])
    assert np.allclose(scores, np.sort(brute, axis=1)[:, ::-1][:, :4], atol=1e-5)
    assert top_k(x, y[:2], 4)[1].shape == (20, 2)
    assert top_k(x[:0], y, 4)[0].shape == (0, 4)


def test_mutual_best_and_margin_on_synthetic_translations():
    rng = np.random.default_rng(1)
    x = _unit(rng, 12)
    y = x + 0.15 * _unit(rng, 12)  # noisy translations: y_i belongs to x_i
    y /= np.linalg.norm(y, axis=1, keepdims=True)
    y = np.vstack([y, _unit(rng, 3)])  # three QAs without a translation
    for method in ("cosine", "margin"):
        result = align(x, y, AlignConfig(method=method), threshold=float("-inf"))
        assert sorted(result.pairs()) == [(i, i) for i in range(12)]
    result = align(x, y, AlignConfig(method="margin", threshold=1.0))
    assert np.allclose(result.margin, margin_scores(result.cosine, *_knn(x, y, 4, result)), atol=1e-5)


def _knn(x: np.ndarray, y: np.ndarray, k: int, result) -> tuple[np.ndarray, np.ndarray]:
    sx = np.sort(x @ y.T, axis=1)[:, ::-1][:, :k].mean(axis=1)
    sy = np.sort(y @ x.T, axis=1)[:, ::-1][:, :k].mean(axis=1)
    return sx[result.i], sy[result.j]


def test_mutual_best_rejects_a_hub():
    # y0 is everyone's nearest but only x0's mutual best; x1, whose best is y0, gets nothing
    i = np.array([0, 1, 2, 1])
    j = np.array([0, 0, 0, 1])
    score = np.array([0.9, 0.8, 0.7, 0.6], dtype=np.float32)
    assert mutual_best(i, j, score).tolist() == [True, False, False, False]
    # once x1 prefers y1, that pair is mutual too
    score = np.array([0.9, 0.5, 0.7, 0.6], dtype=np.float32)
    assert mutual_best(i, j, score).tolist() == [True, False, False, True]


def test_one_pair_has_margin_one_and_edges_cover_both_sides():
    rng = np.random.default_rng(2)
    x, y = _unit(rng, 1), _unit(rng, 1)
    result = align(x, y, AlignConfig(method="margin"), threshold=float("-inf"))
    assert result.pairs() == [(0, 0)] and result.margin[0] == pytest.approx(1.0)
    edges = neighbour_edges(_unit(rng, 5), _unit(rng, 3), k=2)
    assert (edges.side == "a").sum() == 10 and (edges.side == "b").sum() == 6


def test_vectors_round_trip_through_arrow():
    rng = np.random.default_rng(3)
    m = _unit(rng, 5, 7)
    arr = vectors_to_arrow(m)
    assert arr.type == pa.list_(pa.float32())
    assert np.array_equal(arrow_to_vectors(arr), m)
    assert np.array_equal(arrow_to_vectors(pa.chunked_array([arr[:2], arr[2:]])), m)
    q, a = _unit(rng, 4), _unit(rng, 4)
    v = qa_vectors(q, a, 0.5)
    assert np.allclose(v @ v.T, 0.5 * (q @ q.T) + 0.5 * (a @ a.T), atol=1e-6)


@pytest.fixture(scope="module")
def encoder():
    need_model(DEFAULT_ENCODER, "encoder")
    model = get_encoder()
    assert get_encoder() is model and loaded_encoders() >= 1  # cached per process
    return model


@pytest.fixture(scope="module")
def xquad_vectors(encoder):
    out = {}
    for language in ("en", "de", "zh"):
        pairs = xquad_pairs(language)[:N]
        out[language] = encode_qa(encoder, [q for _, q, _ in pairs], [a for _, _, a in pairs], EncodeConfig())
    return out


@pytest.mark.slow  # encodes XQuAD in three languages with the packaged e5 encoder
@pytest.mark.parametrize("other", ["de", "zh"])
@pytest.mark.parametrize("method", ["cosine", "margin"])
def test_real_translations_align_with_high_precision(xquad_vectors, other, method):
    found = correct = 0
    for start in range(0, N, SITE):
        x = xquad_vectors["en"][start:start + SITE]
        y = xquad_vectors[other][start:start + SITE][::-1]  # another page order
        result = align(x, y, AlignConfig(method=method))
        found += len(result)
        correct += sum(int(SITE - 1 - j == i) for i, j in result.pairs())
    precision, recall = correct / max(found, 1), correct / N
    assert precision >= 0.95, (precision, recall)
    if method == "margin":  # the default; one global cosine threshold is weaker where e5's cosines run low (zh)
        assert recall >= 0.85, (precision, recall)
    else:
        assert recall >= 0.7, (precision, recall)
