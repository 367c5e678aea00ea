"""Sentence embeddings for stages: one encoder per process, whole Arrow columns encoded at once.

`get_encoder(path)` loads a sentence-transformers folder through
`faqmine.embedding.load.load_encoder` the first time a process asks for that path and returns
the same object afterwards, so a Spark Python worker (reused between tasks) loads the model
once. `encode_qa` embeds questions and answers of a batch in one `encode` call and joins
them into one vector per QA whose inner product with another is the weighted mean of the
question and the answer cosines (see `qa_vectors`).

Batches are already cut by length: `SentenceTransformer.encode` sorts the texts by length before
batching and returns the vectors in the input order, so a batch of short FAQ questions is not padded to
the length of an answer; `encode_texts` relies on that rather than sorting again.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from faqmine.core.options import option
from faqmine.embedding.load import BACKENDS, DEFAULT_ENCODER, ENV_VAR, load_encoder

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

_ENCODERS: dict[tuple[str, str | None, str], SentenceTransformer] = {}
BACKEND_HELP = ("what runs the encoder: torch (training, GPUs), or on the CPU the folder's exported ONNX files: "
                "onnx (ONNX Runtime, float32), onnx-int8 (ONNX Runtime, int8 weights), openvino (OpenVINO; bfloat16 "
                "on CPUs with AMX/AVX512-BF16); see docs/performance.md")


@dataclass(frozen=True)
class EncodeConfig:
    """How texts are embedded: which model, which prompt, how many at a time."""

    encoder: str | None = option(None, metavar="PATH", help="sentence-transformers folder (LaBSE, bge-m3, ...); "
                                 "default: $FAQMINE_ENCODER, else the packaged multilingual-e5-small under models/")
    device: str | None = option(None, help="torch device of the encoder (cpu, cuda, ...)")
    backend: str = option("torch", flag="--encoder-backend", choices=BACKENDS, help=BACKEND_HELP)
    prompt_name: str | None = option("query", cli=False)  # e5's symmetric-task prompt; skipped for models without it
    batch_size: int = option(64, help="encoder batch size")
    max_seq_length: int | None = option(256, help="tokens per text given to the encoder (longer texts are cut)")
    threads: int | None = option(None, cli=False)  # torch intra-op threads (None: torch's default)


def resolve_encoder_path(path: str | None) -> str:
    return str(Path(path or os.environ.get(ENV_VAR) or DEFAULT_ENCODER).expanduser().resolve())


def get_encoder(path: str | None = None, device: str | None = None, threads: int | None = None,
                backend: str = "torch") -> SentenceTransformer:
    """The process-wide encoder for `path` (loaded on first use, cached by resolved path, device and backend)."""
    if threads:
        import torch

        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
    key = (resolve_encoder_path(path), device, backend)
    model = _ENCODERS.get(key)
    if model is None:
        model = _ENCODERS[key] = load_encoder(key[0], device=device, backend=backend, threads=threads)
    return model


def loaded_encoders() -> int:
    """How many encoders this process holds (tests check the cache)."""
    return len(_ENCODERS)


def encode_texts(model: SentenceTransformer, texts: Sequence[str], config: EncodeConfig = EncodeConfig(),
                 show_progress_bar: bool = False) -> np.ndarray:
    """Unit-length float32 embeddings, one row per text (an empty input gives shape (0, dim)).

    The config's prompt is used when the model has a prompt of that name; `max_seq_length` lowers
    the model's limit (None keeps it)."""
    dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    dim = dimension()
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    prompt_name = config.prompt_name if config.prompt_name in (model.prompts or {}) else None
    if config.max_seq_length:
        model.max_seq_length = min(config.max_seq_length, model.max_seq_length or config.max_seq_length)
    vectors = model.encode(list(texts), prompt_name=prompt_name, batch_size=config.batch_size,
                           normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=show_progress_bar)
    return np.ascontiguousarray(vectors, dtype=np.float32)


def qa_vectors(questions: np.ndarray, answers: np.ndarray, question_weight: float = 0.5) -> np.ndarray:
    """[sqrt(w) q, sqrt(1-w) a]: unit vectors whose inner product is w cos(q, q') + (1-w) cos(a, a')."""
    if not 0.0 <= question_weight <= 1.0:
        raise ValueError(f"question_weight must be in [0, 1], got {question_weight}")
    return np.ascontiguousarray(
        np.hstack([np.sqrt(question_weight) * questions, np.sqrt(1.0 - question_weight) * answers]),
        dtype=np.float32,
    )


def encode_qa(model: SentenceTransformer, questions: Sequence[str], answers: Sequence[str],
              config: EncodeConfig = EncodeConfig(), question_weight: float = 0.5) -> np.ndarray:
    """One vector per QA (see qa_vectors); questions and answers go through one encode call."""
    n = len(questions)
    both = encode_texts(model, [*questions, *answers], config)
    return qa_vectors(both[:n], both[n:], question_weight)


def vectors_to_arrow(matrix: np.ndarray) -> pa.ListArray:
    """Rows of a float32 matrix as an Arrow list<float> array (Spark's array<float>)."""
    n, dim = matrix.shape
    offsets = pa.array(np.arange(0, (n + 1) * dim, dim, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, pa.array(np.ascontiguousarray(matrix, dtype=np.float32).ravel()))


def arrow_to_vectors(column: pa.Array | pa.ChunkedArray, dim: int | None = None) -> np.ndarray:
    """An Arrow list<float> column (all rows the same length) as an (n, dim) float32 matrix."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks else pa.array([], pa.list_(pa.float32()))
    n = len(column)
    if n == 0:
        return np.zeros((0, dim or 0), dtype=np.float32)
    flat = column.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    return flat.reshape(n, -1)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


class Stopwatch:
    """Seconds spent inside `with` blocks, summed."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds += time.perf_counter() - self._start
