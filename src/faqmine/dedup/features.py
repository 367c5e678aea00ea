"""Deduplication settings and the per-batch features dedup needs: exact keys, MinHash signatures, LSH bands.

Two QAs are exact duplicates when their normalised question and answer are equal
(`faqmine.dedup.shingles.exact_key`), and near duplicates when their questions AND their answers are
each at least `threshold` similar: Jaccard similarity of shingle sets, estimated by MinHash
(one signature for the question, one for the answer, concatenated). A QA is a query with its
answer: two QAs that share an answer but ask different questions are two retrieval items, not
one (pages often reuse an answer; the simulated crawl reuses XQuAD sentences), so a single
question+answer set, where a long shared answer outweighs a short question, is not used.
LSH bands run over the concatenated signature (2 x num_perm values), bands x rows from
datasketch's `_optimal_param` for the threshold; a candidate pair is kept when
min(estimated question Jaccard, estimated answer Jaccard) reaches the threshold.

`DedupConfig` is the one place for the knobs (threshold, num_perm, seed, scope, shingles,
bucket cap). `qa_features` turns a batch of question/answer texts into what the Spark stage
groups and joins on; everything here is pure and deterministic, so reruns agree.

Representative rule (the stage applies it): the earliest `fetch_time` (missing times last),
then the smallest URL, then the smallest qa_id (then crawl, WARC file, offset, position,
so the order is total).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pyarrow as pa

from faqmine.core.options import option
from faqmine.core.schemas import load_schema
from faqmine.dedup.minhash import MinHasher, band_keys, estimated_jaccard, lsh_params
from faqmine.dedup.shingles import (
    ShingleConfig,
    exact_key_of_normalized,
    normalize_for_dedup,
    shingles,
    uses_char_ngrams,
)

SCOPES = ("language", "global")
GLOBAL_SCOPE = "*"  # the _scope value of every row when duplicates are sought across languages
REPRESENTATIVE_ORDER = ("fetch_time", "url", "qa_id", "crawl", "warc_file", "warc_record_offset", "position")


@dataclass(frozen=True)
class DedupConfig:
    """Near-duplicate detection knobs (the one place to change them)."""

    threshold: float = option(0.7, help="Jaccard similarity of shingle sets at which two QAs are near duplicates")
    num_perm: int = option(128, help="MinHash permutations")
    seed: int = option(1, help="MinHash seed (datasketch's)")
    scope: str = option("language", choices=SCOPES,
                        help="compare QAs within each language (WebFAQ) or across the whole crawl")
    shingles: ShingleConfig = field(default_factory=ShingleConfig)
    # datasketch's _optimal_param weights. Every candidate is verified, so an LSH false positive costs one
    # comparison while a false negative is lost for good: weigh recall (at 0.7 / 2 x 128: 28 bands x 9 rows).
    false_positive_weight: float = option(0.2, cli=False)
    false_negative_weight: float = option(0.8, cli=False)
    max_bucket_size: int = option(100, help="LSH buckets larger than this are cut into blocks (pairs within and "
                                  "between neighbours: each member meets its 100-200 neighbours only)")
    checkpoint_every: int = option(2, help="connected-components rounds between checkpoints")

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}, got {self.scope!r}")
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")

    @property
    def signature_width(self) -> int:
        """Values per QA: num_perm for the question, then num_perm for the answer."""
        return 2 * self.num_perm

    @property
    def bands_rows(self) -> tuple[int, int]:
        return lsh_params(self.threshold, self.signature_width, self.false_positive_weight,
                          self.false_negative_weight)


@cache
def hasher_for(num_perm: int, seed: int) -> MinHasher:
    """One MinHasher (datasketch's permutations) per process and (num_perm, seed)."""
    return MinHasher(num_perm=num_perm, seed=seed)


@dataclass
class QAFeatures:
    exact_keys: list[str]
    signatures: np.ndarray  # (n, 2 * num_perm) uint32: the question's signature, then the answer's
    bands: np.ndarray  # (n, bands) int64 LSH keys over the concatenated signature
    char_ngrams: np.ndarray  # (n,) bool: the answer shingled by characters (True) or words (False)
    empty: np.ndarray  # (n,) bool: question or answer without shingles (never a near-duplicate candidate)


def pair_similarity(a: np.ndarray, b: np.ndarray, num_perm: int) -> np.ndarray:
    """min(estimated question Jaccard, estimated answer Jaccard) of concatenated signatures, row by row."""
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    return np.minimum(estimated_jaccard(a[:, :num_perm], b[:, :num_perm]),
                      estimated_jaccard(a[:, num_perm:], b[:, num_perm:]))


def qa_features(questions: Sequence[str], answers: Sequence[str], config: DedupConfig | None = None) -> QAFeatures:
    """Exact keys, signatures and band keys of a batch of QAs."""
    config = config or DedupConfig()
    bands, rows = config.bands_rows
    normalized = [(normalize_for_dedup(q), normalize_for_dedup(a)) for q, a in zip(questions, answers, strict=True)]
    question_sets = [shingles(q, config.shingles) for q, _ in normalized]
    answer_sets = [shingles(a, config.shingles) for _, a in normalized]
    hasher = hasher_for(config.num_perm, config.seed)
    signatures = np.concatenate([hasher.signatures(question_sets), hasher.signatures(answer_sets)], axis=1)
    n = len(normalized)
    return QAFeatures(
        exact_keys=[exact_key_of_normalized(q, a) for q, a in normalized],
        signatures=signatures,
        bands=band_keys(signatures, bands, rows),
        char_ngrams=np.fromiter((uses_char_ngrams(a, config.shingles) for _, a in normalized), dtype=bool, count=n),
        empty=np.fromiter((not q or not a for q, a in zip(question_sets, answer_sets, strict=True)), dtype=bool,
                          count=n),
    )


def feature_schema() -> pa.Schema:
    fields = [f.with_nullable(True) for f in load_schema("qa").arrow()]
    return pa.schema(fields + [
        pa.field("_scope", pa.string()),
        pa.field("_exact_key", pa.string()),
        pa.field("_signature", pa.list_(pa.int32())),
        pa.field("_bands", pa.list_(pa.int64())),
        pa.field("_char_ngrams", pa.bool_()),
    ])


def _list_array(matrix: np.ndarray, keep: np.ndarray | None = None) -> pa.ListArray:
    """Rows of a 2-D array as an Arrow list array (rows where keep is False become empty lists)."""
    n, width = matrix.shape
    counts = np.full(n, width, dtype=np.int32) if keep is None else np.where(keep, width, 0).astype(np.int32)
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int32)
    values = matrix if keep is None else matrix[keep]
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(np.ascontiguousarray(values).ravel()))


def features_batch(batch: pa.RecordBatch, config: DedupConfig) -> pa.RecordBatch:
    """A qa batch with the columns dedup groups and joins on appended."""
    schema = feature_schema()
    feats = qa_features(batch.column("question").to_pylist(), batch.column("answer").to_pylist(), config)
    n = batch.num_rows
    scope = batch.column("language") if config.scope == "language" else pa.array([GLOBAL_SCOPE] * n, pa.string())
    extra = {
        "_scope": scope,
        "_exact_key": pa.array(feats.exact_keys, pa.string()),
        "_signature": _list_array(feats.signatures.view(np.int32)),
        "_bands": _list_array(feats.bands, ~feats.empty),
        "_char_ngrams": pa.array(feats.char_ngrams),
    }
    arrays = [extra[f.name] if f.name in extra else batch.column(f.name) for f in schema]
    return pa.RecordBatch.from_arrays([a.cast(f.type) for a, f in zip(arrays, schema, strict=True)], schema=schema)
