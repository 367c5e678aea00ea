"""Seeds in the evaluation summary (per seed, pooled over seeds and queries, paired seed by seed) and the real
out-of-domain tasks built from data/realfaq."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from faqmine.retrieval.bootstrap import bootstrap_ci, bootstrap_ci_seeds
from faqmine.retrieval.evaluation import summarise
from faqmine.retrieval.realfaq import DEFAULT_DIR, build_realfaq_tasks, read_pages


def _rows(strategy: str, seed: int | None, values: np.ndarray) -> list[dict]:
    return [{"strategy": strategy, "seed": seed, "task": "mono", "language_pair": "de", "query_language": "de",
             "doc_language": "de", "language_group": "trained", "query_id": f"q{i}", "metric": "ndcg@10",
             "value": float(v)} for i, v in enumerate(values)]


def test_seed_bootstrap_widens_with_seed_spread() -> None:
    rng = np.random.default_rng(0)
    queries = rng.random(100)
    same = np.vstack([queries, queries, queries])
    spread = same + np.array([[-0.1], [0.0], [0.1]])
    tight, wide = bootstrap_ci_seeds(same, seed=1), bootstrap_ci_seeds(spread, seed=1)
    assert tight.value == pytest.approx(wide.value)
    assert wide.ci_high - wide.ci_low > 1.5 * (tight.ci_high - tight.ci_low)  # seeds are resampled too
    assert bootstrap_ci_seeds(queries[None, :], seed=3) == bootstrap_ci(queries, seed=3)


def test_summarise_seeds() -> None:
    rng = np.random.default_rng(1)
    base = rng.random(40) * 0.5
    rows = _rows("base", None, base)
    # hardneg beats inbatch on every seed; randneg is above on two seeds and below on one
    for s, (h, r) in zip((1, 2, 3), ((0.10, 0.05), (0.12, 0.06), (0.08, -0.08)), strict=True):
        noise = rng.normal(0, 0.005, 40)
        rows += _rows("inbatch", s, base + 0.05 + noise)
        rows += _rows("hardneg", s, base + 0.05 + h + noise)
        rows += _rows("randneg", s, base + 0.05 + r + noise)
    out = summarise(pd.DataFrame(rows), "r", resamples=300)
    de = out[(out["language_pair"] == "de") & (out["metric"] == "ndcg@10")]
    per_seed = de[de["baseline"].isna() & (de["strategy"] == "hardneg") & de["seed"].notna()]
    assert sorted(per_seed["seed"]) == [1, 2, 3] and (per_seed["n_seeds"] == 1).all()
    pooled = de[de["baseline"].isna() & (de["strategy"] == "hardneg") & de["seed"].isna()].iloc[0]
    assert pooled["n_seeds"] == 3 and pooled["value"] == pytest.approx(per_seed["value"].mean())
    base_row = de[de["baseline"].isna() & (de["strategy"] == "base")]
    assert len(base_row) == 1 and base_row["seed"].isna().all()
    delta = de[(de["strategy"] == "hardneg") & (de["baseline"] == "inbatch")]
    seeds = delta[delta["seed"].notna()].set_index("seed")["value"]
    assert seeds.to_dict() == pytest.approx({1: 0.10, 2: 0.12, 3: 0.08}, abs=1e-9)  # paired seed by seed
    pooled_delta = delta[delta["seed"].isna()].iloc[0]
    assert pooled_delta["value"] == pytest.approx(0.10) and pooled_delta["ci_low"] > 0
    mixed = de[(de["strategy"] == "randneg") & (de["baseline"] == "inbatch")]
    assert (mixed[mixed["seed"].notna()]["value"] < 0).sum() == 1  # one seed disagrees: the report will not call it
    vs_base = de[(de["strategy"] == "inbatch") & (de["baseline"] == "base") & de["seed"].notna()]
    assert sorted(vs_base["seed"]) == [1, 2, 3]  # an unseeded baseline is paired with each run


def test_realfaq_tasks() -> None:
    pages = read_pages(DEFAULT_DIR)
    real = build_realfaq_tasks(DEFAULT_DIR)
    assert "tg-feeltracker-faq" in real.aligned_groups and len(real.aligned_groups["tg-feeltracker-faq"]) == 12
    assert "tg-yuchensy-home" in real.skipped and "number of QAs" in real.skipped["tg-yuchensy-home"]
    assert "languages repeat" in real.skipped["tg-taxlawyer-faq"]
    tasks = {t.key: t for t in real.taskset.tasks}
    en = next(p for p in pages if p.url == "https://feeltracker.com/faq/")
    de = next(p for p in pages if p.url == "https://feeltracker.com/de/faq/")
    cross = tasks["real_cross/de-en"]
    pool = real.taskset.pools[cross.pool]
    text_of = dict(zip(pool.doc_ids, pool.texts, strict=True))
    i = cross.query_texts.index(de.questions[3])
    (relevant,) = cross.qrels[cross.query_ids[i]]
    assert text_of[relevant] == en.answers[3]  # the same position of the English page
    assert set(pool.languages) == {"en"} and len(pool) >= len(set(en.answers))  # every English answer, all pages
    lareqa = tasks["real_lareqa/de-*"]
    j = lareqa.query_texts.index(de.questions[3])
    assert len(lareqa.qrels[lareqa.query_ids[j]]) == 12  # its answer in each of the group's 12 languages
    parallel = tasks["parallel/de-en"]
    both = [g for g, langs in real.aligned_groups.items() if {"de", "en"} <= set(langs)]
    expected = sum(len(p.questions) for p in pages if p.group in both and p.language == "de")
    assert len(parallel.query_ids) == 2 * expected  # every question and answer of the groups with de and en
    # every text keeps its role of the FAQ tasks: questions are queries and answers passages, on both sides
    k = parallel.query_texts.index(de.questions[3])
    a = parallel.query_texts.index(de.answers[3])
    assert (parallel.roles[k], parallel.roles[a]) == ("query", "document")
    sentences = real.taskset.pools[parallel.pool]
    role_of = dict(zip(sentences.texts, sentences.roles, strict=True))
    assert role_of[en.questions[3]] == "query" and role_of[en.answers[3]] == "document"
    assert cross.roles == ["query"] * len(cross.query_ids) and set(pool.roles) == {"document"}
    mono = tasks["real_mono/pl"]
    assert len(mono.query_ids) == sum(len(p.questions) for p in pages if p.language == "pl")
    assert not any(k.startswith("real_cross/az") for k in tasks)  # the skipped group makes no pair
