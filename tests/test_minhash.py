"""MinHash signatures equal datasketch's, LSH parameters are datasketch's, shingles fit every script,
and banding + verification finds the pairs brute-force Jaccard finds."""

from __future__ import annotations

import random
from collections import defaultdict
from itertools import combinations

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH
from helpers.jaccard import brute_force_pairs
from helpers.xquad_qas import xquad_pairs

from faqmine.dedup.features import DedupConfig, pair_similarity, qa_features
from faqmine.dedup.minhash import MinHasher, band_keys, estimated_jaccard, lsh_params, sha1_hash32_many
from faqmine.dedup.shingles import (
    ShingleConfig,
    dedup_text,
    exact_key,
    jaccard,
    normalize_for_dedup,
    qa_shingle_sets,
    qa_shingles,
    shingle_kind,
    shingles,
)


def _datasketch(doc: list[bytes], num_perm: int = 128, seed: int = 1) -> np.ndarray:
    m = MinHash(num_perm=num_perm, seed=seed)
    for s in doc:
        m.update(s)
    return m.hashvalues


def test_sha1_hash32_matches_datasketch():
    from datasketch.hashfunc import sha1_hash32

    items = [b"", b"a", "schön".encode(), "中文".encode(), b"x" * 1000]
    assert sha1_hash32_many(items).tolist() == [sha1_hash32(i) for i in items]


@pytest.mark.parametrize(("num_perm", "seed"), [(128, 1), (64, 7), (256, 42)])
def test_signature_parity_with_datasketch(num_perm, seed):
    docs = [qa_shingles(q, a) for _, q, a in xquad_pairs("en")[:40] + xquad_pairs("zh")[:40] + xquad_pairs("th")[:20]]
    docs += [[], [b"one"], [b"dup", b"dup", b"other"], [f"s{i}".encode() for i in range(5000)]]  # > one chunk
    ours = MinHasher(num_perm=num_perm, seed=seed).signatures(docs)
    for doc, signature in zip(docs, ours, strict=True):
        expected = _datasketch(doc, num_perm, seed)
        assert signature.dtype == expected.dtype
        assert np.array_equal(signature, expected)


def test_estimated_jaccard_is_datasketchs():
    a, b = qa_shingles(*xquad_pairs("en")[0][1:]), qa_shingles(*xquad_pairs("en")[1][1:])
    b = a[: len(a) // 2] + b
    hasher = MinHasher()
    ma, mb = MinHash(), MinHash()
    ma.update_batch(a)
    mb.update_batch(b)
    assert estimated_jaccard(hasher.signature(a), hasher.signature(b)) == pytest.approx(ma.jaccard(mb))


@pytest.mark.parametrize(("threshold", "num_perm"), [(0.7, 256), (0.8, 128), (0.5, 64)])
def test_lsh_params_are_datasketchs(threshold, num_perm):
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    assert lsh_params(threshold, num_perm) == (lsh.b, lsh.r)
    weighted = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=(0.2, 0.8))
    assert lsh_params(threshold, num_perm, 0.2, 0.8) == (weighted.b, weighted.r)
    config = DedupConfig(threshold=threshold, num_perm=num_perm // 2)
    assert config.bands_rows == lsh_params(threshold, num_perm, 0.2, 0.8)


def test_band_keys_equal_exactly_when_the_band_is_equal():
    rng = np.random.default_rng(0)
    sigs = rng.integers(0, 2**32, size=(4, 12), dtype=np.uint64).astype(np.uint32)
    sigs[1, :4] = sigs[0, :4]  # rows 0 and 1 share band 0 only
    keys = band_keys(sigs, 3, 4)
    assert keys.dtype == np.int64 and keys.shape == (4, 3)
    assert keys[0, 0] == keys[1, 0] and keys[0, 1] != keys[1, 1] and keys[0, 2] != keys[1, 2]
    same_values_other_band = sigs.copy()
    same_values_other_band[2, 4:8] = sigs[0, :4]
    assert band_keys(same_values_other_band, 3, 4)[2, 1] != keys[0, 0]  # the band index is part of the key
    with pytest.raises(ValueError):
        band_keys(sigs, 4, 4)


def test_word_shingles_for_spaced_scripts_and_char_shingles_otherwise():
    config = ShingleConfig()
    en = dedup_text(*xquad_pairs("en")[0][1:])
    assert shingle_kind(en) == "word"
    assert all(len(s.decode().split(" ")) == config.word_ngram for s in shingles(en))
    for language in ("zh", "th"):
        text = dedup_text(*xquad_pairs(language)[0][1:])
        assert shingle_kind(text) == "char", language
        assert all(len(s.decode()) == config.char_ngram for s in shingles(text))
    short = normalize_for_dedup("Is it free? Yes, always.")
    assert shingle_kind(short) == "char"
    assert shingles("ab") == [b"ab"]
    assert shingles("") == []


def test_normalisation_and_exact_key():
    assert normalize_for_dedup("  Héllo,  WORLD!! ") == "héllo world"
    assert normalize_for_dedup("ｆｕｌｌ－ｗｉｄｔｈ") == "full width"
    assert normalize_for_dedup("ภาษาไทย") == "ภาษาไทย"  # combining vowels are kept
    assert normalize_for_dedup("हिन्दी") == "हिन्दी"
    assert exact_key("How do I pay?", "By card.") == exact_key("how do i pay", "By  card!")
    assert exact_key("How do I pay?", "By card.") != exact_key("How do I pay?", "By cash.")
    assert exact_key("ab", "c") != exact_key("a", "bc")


def test_qa_features_signatures_are_datasketchs_for_question_then_answer():
    pairs = [p[1:] for p in xquad_pairs("en")[:10] + xquad_pairs("th")[:10]]
    feats = qa_features([q for q, _ in pairs], [a for _, a in pairs])
    assert feats.signatures.shape == (20, 256)
    for (q, a), signature in zip(pairs, feats.signatures, strict=True):
        question_set, answer_set = qa_shingle_sets(q, a)
        assert np.array_equal(signature[:128], _datasketch(question_set))
        assert np.array_equal(signature[128:], _datasketch(answer_set))


def test_qa_features_marks_empty_texts():
    feats = qa_features(["How do I pay?", "???"], ["You can pay by card or by bank transfer.", "!!!"])
    assert feats.empty.tolist() == [False, True]
    assert feats.signatures.shape == (2, 256) and feats.bands.shape[0] == 2


def test_pair_similarity_is_the_smaller_of_question_and_answer():
    answer = "You can pay by card, by bank transfer or on invoice for every order in our shop."
    feats = qa_features(["How can I pay for my order?", "Which payment methods can I use?"], [answer, answer])
    assert estimated_jaccard(feats.signatures[0, 128:], feats.signatures[1, 128:]) == 1.0
    assert pair_similarity(feats.signatures[0], feats.signatures[1], 128)[0] < 0.5  # same answer, other question


# ------------------------------------------------------------------ near-duplicate quality (small sample)


BRANDS = ("Acme Shop", "Best Deals 24", "FAQ Hub")


def _edit(question: str, answer: str, other: str, rng: random.Random, spaced: bool) -> tuple[str, str]:
    """One edit of the kinds copy sites make (a brand added, a label, a word or character changed,
    a sentence appended); the appended sentence makes a pair that is *not* a near duplicate."""
    kind = rng.randrange(5)
    if kind == 0:
        return question, f"{answer} — {rng.choice(BRANDS)}"
    if kind == 1:
        return f"Q: {question}", answer
    if kind == 2 and spaced:
        words = answer.split()
        words[rng.randrange(len(words))] = "something"
        return question, " ".join(words)
    if kind == 2:
        i = rng.randrange(len(answer))
        return question, answer[:i] + "的" + answer[i + 1:]
    if kind == 3:
        return question.rstrip("?？") + ("?" if spaced else "？"), answer.replace(",", ";").replace("，", "；")
    return question, answer + (" " if spaced else "") + other


def _sample(seed: int = 3, per_language: int = 120) -> tuple[list[tuple[str, str]], list[str]]:
    """One QA per XQuAD paragraph (distinct answers) in two Latin-script and two CJK/Thai languages,
    plus edited copies of a third of them."""
    rng = random.Random(seed)
    qas, scripts = [], []
    for language, spaced in (("en", True), ("de", True), ("zh", False), ("th", False)):
        seen, base = set(), []
        for _, q, a in xquad_pairs(language):
            if a not in seen:
                seen.add(a)
                base.append((q, a))
        base = base[:per_language]
        script = "latin" if spaced else "cjk_thai"
        for q, a in base:
            qas.append((q, a))
            scripts.append(script)
        for q, a in rng.sample(base, per_language // 3):
            for _ in range(rng.randrange(1, 3)):
                q, a = _edit(q, a, rng.choice(base)[1], rng, spaced)
            qas.append((q, a))
            scripts.append(script)
    return qas, scripts


def test_banding_finds_the_pairs_brute_force_jaccard_finds():
    """Precision and recall of LSH banding + estimated-Jaccard verification against exact Jaccard
    (question and answer both >= threshold) over all pairs of a 640-QA sample, Latin and CJK/Thai
    separately (the full 5,000-QA measurement is bench/quality_langid_dedup.py)."""
    config = DedupConfig()
    qas, scripts = _sample()
    sets = [qa_shingle_sets(q, a, config.shingles) for q, a in qas]
    feats = qa_features([q for q, _ in qas], [a for _, a in qas], config)

    truth = brute_force_pairs([s[0] for s in sets], config.threshold)
    truth &= brute_force_pairs([s[1] for s in sets], config.threshold)
    assert all(min(jaccard(sets[i][0], sets[j][0]), jaccard(sets[i][1], sets[j][1])) >= config.threshold
               for i, j in truth)
    buckets = defaultdict(list)
    for i, row in enumerate(feats.bands):
        for band, key in enumerate(row):
            buckets[(band, int(key))].append(i)
    candidates = {pair for members in buckets.values() for pair in combinations(members, 2)}
    found = {
        (i, j) for i, j in candidates
        if pair_similarity(feats.signatures[i], feats.signatures[j], config.num_perm)[0] >= config.threshold
    }
    for script in ("latin", "cjk_thai"):
        t = {p for p in truth if scripts[p[0]] == script}
        f = {p for p in found if scripts[p[0]] == script}
        assert len(t) >= 20, script
        precision = len(t & f) / len(f)
        recall = len(t & f) / len(t)
        assert precision >= 0.95 and recall >= 0.95, (script, precision, recall, len(t))
