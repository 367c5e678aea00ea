"""Train/dev/test splits by site: every QA of a domain lands in the same split, for a given seed.

WebFAQ split per QA pair, so one site's templated answers sat in train and in test. Here a
domain's split is a pure function of (seed, domain): the sha1 of both, read as a number in
[0, 1), falls into one of the cumulative target fractions. So

- no domain is ever in two splits, in any language (a multilingual site is in the same split
  in every language, which also keeps translations of a test FAQ out of train);
- the same seed gives the same splits on every run, and a domain keeps its split when the
  crawl grows (nothing depends on which other domains exist);
- the fractions are met in expectation over domains, not QAs: a language with few sites, or
  with one very large site, can be far from them (the job reports the real counts).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from faqmine.core.options import option

DEFAULT_FRACTIONS: tuple[tuple[str, float], ...] = (("train", 0.8), ("dev", 0.1), ("test", 0.1))
_SEP = "\x1f"
_SCALE = float(2**64)


@dataclass(frozen=True)
class SplitConfig:
    """Target share of domains per split (in this order) and the seed of the assignment."""

    fractions: tuple[tuple[str, float], ...] = option(
        DEFAULT_FRACTIONS, flag="--splits", parse=lambda text: parse_fractions(text), metavar="NAME=SHARE,...",
        format=lambda fractions: ",".join(f"{name}={share}" for name, share in fractions),
        help="target share of domains per split")
    seed: int = option(0, help="seed of the domain -> split assignment")

    def __post_init__(self) -> None:
        names = [name for name, _ in self.fractions]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"split names must be given once each: {names}")
        if any(share <= 0 for _, share in self.fractions):
            raise ValueError(f"every split needs a positive fraction: {self.fractions}")
        total = sum(share for _, share in self.fractions)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"split fractions must add up to 1, got {total}")

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.fractions]


def parse_fractions(text: str) -> tuple[tuple[str, float], ...]:
    """'train=0.8,dev=0.1,test=0.1' -> (('train', 0.8), ('dev', 0.1), ('test', 0.1))."""
    out = []
    for part in text.split(","):
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"expected name=fraction, got {part!r}")
        out.append((name.strip(), float(value)))
    return tuple(out)


def domain_unit(domain: str, seed: int) -> float:
    """A number in [0, 1) that depends only on the seed and the domain."""
    digest = hashlib.sha1(f"{seed}{_SEP}{domain}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def split_of(domain: str, config: SplitConfig = SplitConfig()) -> str:
    """The split every QA of `domain` belongs to."""
    u = domain_unit(domain, config.seed)
    upper = 0.0
    for name, share in config.fractions:
        upper += share
        if u < upper:
            return name
    return config.fractions[-1][0]  # u within rounding of 1.0


def split_domains(domains: Iterable[str], config: SplitConfig = SplitConfig()) -> list[str]:
    """split_of for each domain, memoised within the call (a batch repeats its domains)."""
    seen: dict[str, str] = {}
    out = []
    for domain in domains:
        split = seen.get(domain)
        if split is None:
            split = seen[domain] = split_of(domain, config)
        out.append(split)
    return out


def split_counts(domains: Sequence[str], config: SplitConfig = SplitConfig()) -> dict[str, int]:
    """How many of the given (distinct) domains each split gets."""
    counts = dict.fromkeys(config.names, 0)
    for split in split_domains(domains, config):
        counts[split] += 1
    return counts
