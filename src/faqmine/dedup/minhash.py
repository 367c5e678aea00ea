"""MinHash signatures for whole batches of documents with numpy, identical to datasketch's.

`MinHasher` takes datasketch's own permutations (`datasketch.MinHash(num_perm, seed)
.permutations`, the default "affine32" scheme) and its hash (`sha1_hash32`: the first four
bytes of SHA-1, little-endian), pre-mixes with the same MurmurHash3 finalizer and applies
`a * h + b mod 2^32`, so a signature equals `datasketch.MinHash(num_perm, seed)` updated with
the same shingles, value for value. The work per batch is one SHA-1 per shingle and a
(num_perm x shingles) numpy product reduced per document, instead of a Python-level
`update` call per shingle.

LSH banding (`lsh_params`, `band_keys`) follows datasketch's MinHashLSH: bands and rows come
from its `_optimal_param` for a Jaccard threshold; a band key is a 64-bit hash of the band's
rows, equal keys making candidate pairs, which `estimated_jaccard` verifies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cache

import numpy as np

EMPTY_HASH = np.uint32(0xFFFFFFFF)  # datasketch's initial (empty-set) hash value
_CHUNK_SHINGLES = 2048  # columns of the (num_perm x shingles) product computed at once: ~1 MB, cache-sized

try:  # the C SHA-1 without OpenSSL's per-object setup: same digest, half the cost on short inputs
    from _sha1 import sha1 as _sha1
except ImportError:  # pragma: no cover
    _sha1 = hashlib.sha1


def sha1_hash32_many(shingles: Sequence[bytes]) -> np.ndarray:
    """datasketch.hashfunc.sha1_hash32 (first 4 bytes of SHA-1, little-endian) of every item, as uint32."""
    sha1 = _sha1
    digests = b"".join([sha1(s).digest() for s in shingles])
    return np.frombuffer(digests, dtype="<u4").reshape(-1, 5)[:, 0].astype(np.uint32)


def fmix32(h: np.ndarray) -> np.ndarray:
    """The MurmurHash3 32-bit finalizer datasketch applies before permuting (uint32 wraparound)."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


class MinHasher:
    """Batched MinHash with datasketch's permutations for (num_perm, seed)."""

    def __init__(self, num_perm: int = 128, seed: int = 1) -> None:
        from datasketch import MinHash

        reference = MinHash(num_perm=num_perm, seed=seed)
        if reference.scheme != "affine32":
            raise ValueError(f"datasketch's default scheme is {reference.scheme!r}; this class implements affine32")
        a, b = reference.permutations
        self.num_perm = num_perm
        self.seed = seed
        self.a = np.asarray(a, dtype=np.uint32)[:, None]
        self.b = np.asarray(b, dtype=np.uint32)[:, None]

    def signature(self, shingles: Sequence[bytes]) -> np.ndarray:
        return self.signatures([shingles])[0]

    def signatures(self, docs: Sequence[Sequence[bytes]]) -> np.ndarray:
        """(len(docs), num_perm) uint32: row i equals datasketch's hashvalues for docs[i]."""
        out = np.full((len(docs), self.num_perm), EMPTY_HASH, dtype=np.uint32)
        lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
        # Shingles repeat across a batch (templates, boilerplate phrases, duplicates): hash each once.
        index: dict[bytes, int] = {}
        codes = np.fromiter(
            (index.setdefault(s, len(index)) for d in docs for s in d), dtype=np.int64, count=int(lengths.sum())
        )
        if not index:
            return out
        hashed = fmix32(sha1_hash32_many(list(index)))
        ends = np.cumsum(lengths)
        start = 0
        while start < len(docs):
            # docs [start, stop) hold at most _CHUNK_SHINGLES shingles (or one larger doc)
            first = ends[start] - lengths[start]
            stop = max(start + 1, int(np.searchsorted(ends, first + _CHUNK_SHINGLES, side="right")))
            self._fill(hashed[codes[first:ends[stop - 1]]], lengths[start:stop], out[start:stop])
            start = stop
        return out

    def _fill(self, hashed: np.ndarray, lengths: np.ndarray, out: np.ndarray) -> None:
        nonempty = lengths > 0
        if not nonempty.any():
            return
        permuted = self.a * hashed[None, :]  # (num_perm, shingles) uint32: wraparound is datasketch's mod 2^32
        permuted += self.b
        offsets = np.concatenate(([0], np.cumsum(lengths[nonempty])[:-1]))
        out[nonempty] = np.minimum.reduceat(permuted, offsets, axis=1).T


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Share of equal signature values, row by row (datasketch's MinHash.jaccard)."""
    return (np.asarray(a) == np.asarray(b)).mean(axis=-1)


@cache
def lsh_params(
    threshold: float, num_perm: int, false_positive_weight: float = 0.5, false_negative_weight: float = 0.5
) -> tuple[int, int]:
    """(bands, rows) minimising the weighted false positive/negative probability at `threshold`:
    datasketch.lsh._optimal_param, the parameters MinHashLSH itself would choose."""
    from datasketch.lsh import _optimal_param

    bands, rows = _optimal_param(threshold, num_perm, false_positive_weight, false_negative_weight)
    return int(bands), int(rows)


_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


def _fmix64(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n, bands) int64: a 64-bit hash of each band's `rows` signature values (band i: columns
    i*rows .. (i+1)*rows-1). Documents share a key in band i exactly when (up to 2^-64) those
    values are all equal."""
    sig = np.asarray(signatures, dtype=np.uint32)
    if bands * rows > sig.shape[1]:
        raise ValueError(f"{bands} bands x {rows} rows need {bands * rows} values, signatures have {sig.shape[1]}")
    out = np.empty((sig.shape[0], bands), dtype=np.uint64)
    for band in range(bands):
        h = np.full(sig.shape[0], _FNV_OFFSET ^ np.uint64(band), dtype=np.uint64)
        for col in range(band * rows, (band + 1) * rows):
            h = (h ^ sig[:, col].astype(np.uint64)) * _FNV_PRIME
        out[:, band] = _fmix64(h)
    return out.view(np.int64)
