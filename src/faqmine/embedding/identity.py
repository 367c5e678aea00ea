"""Which encoder made a set of vectors: a name and a hash of the model's files.

Stored vectors (the `qa_embeddings` dataset) carry `model_fingerprint(folder)`; a stage that
reads them with another `--encoder` gets `ModelMismatch` naming both, instead of silently
comparing vectors of two models. The hash covers every file of the sentence-transformers folder
except exported copies of the same weights (`onnx/`, `openvino/`), so building the ONNX files
does not change a model's identity (the embed stage records the backend it encoded with in its
`_stats.json`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

EXPORT_FOLDERS = ("onnx", "openvino")  # other runtimes' copies of the weights, not part of the identity
_CHUNK = 1 << 20


class ModelMismatch(ValueError):
    """Vectors made by one encoder were handed to a stage that uses another."""


@dataclass(frozen=True)
class ModelFingerprint:
    name: str  # what a person calls the model
    hash: str  # 16 hex characters of a sha256 over the model's files


def model_fingerprint(folder: str | Path) -> ModelFingerprint:
    """Name and hash of the sentence-transformers folder (hashed once per process and folder state)."""
    path = Path(folder).expanduser().resolve()
    files = sorted(p for p in path.rglob("*") if p.is_file()
                   and p.relative_to(path).parts[0] not in EXPORT_FOLDERS)
    if not files:
        raise FileNotFoundError(f"no model files under {path}")
    state = tuple((str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    return ModelFingerprint(name=_model_name(path), hash=_files_hash(str(path), state))


@cache
def _files_hash(root: str, state: tuple[tuple[str, int, int], ...]) -> str:
    sha = hashlib.sha256()
    for relative, size, _mtime in state:
        sha.update(f"{relative}\0{size}\0".encode())
        with open(Path(root) / relative, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                sha.update(chunk)
    return sha.hexdigest()[:16]


def _model_name(path: Path) -> str:
    build = path / "faqmine_build.json"
    if build.is_file():
        source = json.loads(build.read_text()).get("model")
        if isinstance(source, str) and source:
            return source
    return path.name


def check_same_model(stored: ModelFingerprint, wanted: ModelFingerprint, where: str) -> None:
    """Raise ModelMismatch unless the vectors at `where` were made by the wanted encoder."""
    if stored.hash != wanted.hash:
        raise ModelMismatch(
            f"{where} holds vectors of model {stored.name} (hash {stored.hash}), but this stage uses "
            f"{wanted.name} (hash {wanted.hash}): run the embed stage with the same --encoder, "
            "or give this stage the encoder the vectors were made with")
