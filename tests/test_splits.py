"""Site-based splits: one split per domain, the same for a seed, near the target fractions over many domains."""

from __future__ import annotations

import pytest

from faqmine.build_benchmarks.splits import SplitConfig, parse_fractions, split_counts, split_domains, split_of

DOMAINS = [f"shop{i}.example.{tld}" for i in range(3000) for tld in ("com",)]


def test_every_qa_of_a_domain_is_in_one_split():
    qas = [(d, n) for d in DOMAINS[:200] for n in range(5)]  # 5 QAs per domain, interleaved below
    qas = qas[::2] + qas[1::2]
    assigned: dict[str, set[str]] = {}
    for (domain, _), split in zip(qas, split_domains([d for d, _ in qas]), strict=True):
        assigned.setdefault(domain, set()).add(split)
    assert all(len(splits) == 1 for splits in assigned.values())


def test_deterministic_for_a_seed_and_independent_of_other_domains():
    config = SplitConfig(seed=7)
    first = split_domains(DOMAINS, config)
    assert split_domains(DOMAINS, config) == first
    # a domain's split does not depend on which other domains exist or their order
    assert split_domains(list(reversed(DOMAINS[:50])), config) == list(reversed(first[:50]))
    assert [split_of(d, config) for d in DOMAINS[:50]] == first[:50]
    other_seed = split_domains(DOMAINS, SplitConfig(seed=8))
    assert other_seed != first


def test_fractions_are_met_over_many_domains():
    counts = split_counts(DOMAINS, SplitConfig(seed=1))
    assert set(counts) == {"train", "dev", "test"}
    assert abs(counts["train"] / len(DOMAINS) - 0.8) < 0.03
    assert abs(counts["dev"] / len(DOMAINS) - 0.1) < 0.02
    assert abs(counts["test"] / len(DOMAINS) - 0.1) < 0.02


def test_custom_fractions_and_validation():
    config = SplitConfig(parse_fractions("train=0.5,test=0.5"), seed=3)
    assert set(split_domains(DOMAINS[:100], config)) == {"train", "test"}
    with pytest.raises(ValueError):
        SplitConfig((("train", 0.8), ("test", 0.1)))
    with pytest.raises(ValueError):
        SplitConfig((("train", 0.5), ("train", 0.5)))
    with pytest.raises(ValueError):
        parse_fractions("train:0.8")
