"""Split units and contamination: which QAs must share a split, and what still leaks after the split.

Splitting by site (faqmine.build_benchmarks.splits) is not enough: the same FAQ is published by
unrelated domains (a brand's regional domains hold translations of one FAQ, shops copy a
manufacturer's FAQ, help-centre FAQs are syndicated), so a test question can have its
translation or a near copy in train. A *split unit* is therefore a connected component of a
graph whose nodes are domains (every QA of a domain is in one unit) and whose edges are

- **cross-site translations or near copies**: QAs of two different domains that are each other's
  most similar QA in the other's language (mutual best per language pair, as bitext mining
  pairs QAs within a site) under the QA similarity (the mean of the question cosine and the
  answer cosine, weighted by `question_weight`), with a similarity of at least
  `translation_threshold` (two languages) or `copy_threshold` (one language: a multilingual
  encoder puts QAs on one topic in one language closer together than translations);
- **duplicate clusters** (`link_duplicates`): the domain of a QA that dedup removed and the domain
  of the representative it was folded into.

A unit is assigned to a split by a seeded hash of its id (the smallest domain of the component),
exactly as a lone domain was before, so a domain linked to nothing keeps its old split. Real
crawls percolate: one syndicated FAQ can join thousands of sites into a giant component, so a
unit holding more than `max_unit_share` of the QAs goes to train whole (`oversized_unit_split`).

After the split, **decontamination** is the last safety net: a dev or test QA whose most similar
train QA in some language reaches that language's threshold, or whose duplicate cluster holds a
QA of a train domain, is dropped from the benchmark as `contaminated` (dev -> test closeness is
reported, not dropped).

This module holds the pure parts: the configuration, the exact best-per-language search of one
block of QAs against another, other domains only (run per block pair by the Spark stage), the
thresholds, the unit's split, and the leak count against a simulated crawl's truth.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from faqmine.build_benchmarks.splits import SplitConfig, split_of
from faqmine.core.options import option

# Calibrated on the simulator's truth (bench/leaks.py, bench/reports/leaks.md): multilingual-e5-small,
# QA similarity = mean of question and answer cosines.
DEFAULT_TRANSLATION_THRESHOLD = 0.86
DEFAULT_COPY_THRESHOLD = 0.92
SPLIT_PAIRS: tuple[tuple[str, str], ...] = (("train", "dev"), ("train", "test"), ("dev", "test"))


@dataclass(frozen=True)
class UnitConfig:
    """How split units are built and how the split is decontaminated."""

    translation_threshold: float = option(
        DEFAULT_TRANSLATION_THRESHOLD, help="QA similarity (mean of question and answer cosines) from which two QAs "
        "of different domains count as translations or copies of each other: they join one unit, and a dev/test QA "
        "this close to an earlier split's QA is dropped as contaminated")
    copy_threshold: float = option(
        DEFAULT_COPY_THRESHOLD, help="the same for two QAs of one language (near copies): higher, because a "
        "multilingual encoder puts a language's QAs on one topic closer together than translations")
    question_weight: float = option(0.5, help="share of the question cosine in the QA similarity (the rest: the "
                                    "answer's)")
    link_duplicates: bool = option(True, flag="--no-link-duplicates", help="do not join the domains of a dedup "
                                   "cluster into one unit")
    max_unit_share: float = option(0.05, help="a unit holding more than this share of the QAs goes to train whole "
                                   "(a syndicated FAQ can join thousands of sites)")
    oversized_unit_split: str = option("train", help="the split an oversized unit goes to")
    decontaminate: bool = option(True, flag="--no-decontaminate", help="keep dev/test QAs that are close to an "
                                 "earlier split's QA (they are only counted in _contamination.json)")
    block_size: int = option(4096, help="QAs per search block: one task searches one block of QAs against another")

    def __post_init__(self) -> None:
        for name in ("translation_threshold", "copy_threshold"):
            if not -1.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} is a cosine in [-1, 1], got {getattr(self, name)}")
        if self.block_size < 1:
            raise ValueError("block_size must be positive")
        if not 0.0 <= self.question_weight <= 1.0:
            raise ValueError(f"question_weight must be in [0, 1], got {self.question_weight}")
        if not 0.0 < self.max_unit_share <= 1.0:
            raise ValueError(f"max_unit_share must be in (0, 1], got {self.max_unit_share}")


def best_per_language(queries: np.ndarray, query_domains: Sequence[str], base: np.ndarray,
                      base_domains: Sequence[str], base_languages: Sequence[str], rows_per_chunk: int = 1024
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every query and every language of `base`: the most similar base QA of *another domain* in that
    language, exactly. Returns (query rows, base rows, scores), one entry per (query, language) with a hit.

    Vectors are joined QA vectors, so the inner product is the QA similarity. Languages are searched
    apart because a multilingual encoder ranks a same-language question on the same topic above a
    translation: in one search over all languages, translations would rarely come first.
    """
    query_matrix = np.asarray(queries, dtype=np.float32)
    base_matrix = np.ascontiguousarray(base, dtype=np.float32)
    query_domain_arr = np.asarray(query_domains, dtype=object)
    base_domain_arr = np.asarray(base_domains, dtype=object)
    base_language_arr = np.asarray(base_languages, dtype=object)
    out_rows, out_cols, out_scores = [], [], []
    if len(query_matrix) == 0 or len(base_matrix) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    for language in sorted(set(base_language_arr.tolist())):
        columns = np.nonzero(base_language_arr == language)[0]
        for start in range(0, len(query_matrix), rows_per_chunk):
            rows = np.arange(start, min(len(query_matrix), start + rows_per_chunk))
            similarity = query_matrix[rows] @ base_matrix[columns].T
            similarity[query_domain_arr[rows][:, None] == base_domain_arr[columns][None, :]] = -np.inf
            best = np.argmax(similarity, axis=1)
            scores = similarity[np.arange(len(rows)), best]
            found = np.isfinite(scores)
            out_rows.append(rows[found])
            out_cols.append(columns[best[found]])
            out_scores.append(scores[found].astype(np.float32))
    return np.concatenate(out_rows), np.concatenate(out_cols), np.concatenate(out_scores)


def link_threshold(language_a: str, language_b: str, config: UnitConfig) -> float:
    """The similarity from which two QAs of different domains are translations (other languages) or near
    copies (one language) of each other."""
    return config.copy_threshold if language_a == language_b else config.translation_threshold


def unit_split(unit: str, size: int, total: int, splits: SplitConfig, config: UnitConfig) -> str:
    """The split of a unit of `size` QAs among `total`: the seeded hash of its id, or the oversized split."""
    if total and size > config.max_unit_share * total:
        return config.oversized_unit_split
    return split_of(unit, splits)


def truth_leaks(benchmark_qas: Iterable[tuple[str, str, str]], truth_xquad_ids: dict[str, str],
                trained_languages: Sequence[str] = ()) -> dict:
    """Leaks of a benchmark counted by a simulated crawl's truth, the check that cannot be fooled.

    `benchmark_qas`: (qa_id, language, split) of every QA kept in the benchmark; `truth_xquad_ids`:
    qa_id -> XQuAD question id from the truth. A dev/test QA leaks when its XQuAD question is also
    in train, in any language. For the languages outside `trained_languages` (zero-shot), the count
    of test QAs whose question is in train in a trained language is given too.
    """
    rows = [(qa, lang, split, truth_xquad_ids.get(qa)) for qa, lang, split in benchmark_qas]
    train_ids = {x for _, _, split, x in rows if split == "train" and x}
    train_ids_trained = {x for _, lang, split, x in rows if split == "train" and x and lang in trained_languages}
    out: dict = {"unmatched_qas": sum(1 for r in rows if r[3] is None), "by_split": {}}
    by_language: dict = defaultdict(lambda: {"qas": 0, "leaked": 0})
    for split in sorted({r[2] for r in rows} - {"train"}):
        held = [r for r in rows if r[2] == split and r[3]]
        leaked = [r for r in held if r[3] in train_ids]
        entry = {"qas": len(held), "leaked": len(leaked),
                 "leaked_share": round(len(leaked) / len(held), 4) if held else 0.0}
        if trained_languages:
            zero_shot = [r for r in held if r[1] not in trained_languages]
            zs_leaked = [r for r in zero_shot if r[3] in train_ids_trained]
            entry["zero_shot_qas"] = len(zero_shot)
            entry["zero_shot_leaked_to_trained_languages"] = len(zs_leaked)
            entry["zero_shot_leaked_share"] = round(len(zs_leaked) / len(zero_shot), 4) if zero_shot else 0.0
        out["by_split"][split] = entry
        for _, lang, _, x in held:
            by_language[f"{split}/{lang}"]["qas"] += 1
            by_language[f"{split}/{lang}"]["leaked"] += x in train_ids
    out["by_split_language"] = dict(sorted(by_language.items()))
    return out
