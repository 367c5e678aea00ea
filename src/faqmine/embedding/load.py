"""The one way every stage loads a sentence encoder: from a folder on disk, never from a hub.

`load_encoder()` with no path gives the default multilingual-e5-small that `make setup`
builds under `models/` (or the folder named by `FAQMINE_ENCODER`); a stage's
`--encoder PATH` passes LaBSE, bge-m3 or a user's fine-tuned sentence-transformers folder
through the same call. `backend` picks what runs the transformer on the CPU: torch (the default, and the
only one for training and GPUs), or the ONNX files `make setup` exports into the folder
(`faqmine.embedding.runtimes`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

ENV_VAR = "FAQMINE_ENCODER"
REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_ENCODER = REPO_ROOT / "models" / "multilingual-e5-small"
BACKENDS = ("torch", "onnx", "onnx-int8", "openvino")


def load_encoder(path: str | None = None, device: str | None = None, backend: str = "torch",
                 threads: int | None = None) -> SentenceTransformer:
    """Load the sentence-transformers folder at `path` (default: $FAQMINE_ENCODER, else
    models/multilingual-e5-small under the repository root) with local files only; `backend` other than
    torch runs the transformer from the folder's onnx/ files with `threads` threads (default: torch's)."""
    from sentence_transformers import SentenceTransformer

    folder = Path(path or os.environ.get(ENV_VAR) or DEFAULT_ENCODER).expanduser()
    if not folder.is_dir():
        hint = " (build it with `make setup` or `faqmine models build`)" if folder == DEFAULT_ENCODER else ""
        raise FileNotFoundError(f"no encoder folder at {folder}{hint}")
    if backend == "torch":
        return SentenceTransformer(str(folder), device=device, local_files_only=True)
    from faqmine.embedding.runtimes import backend_file, use_backend

    backend_file(folder, backend)  # a missing file fails before the torch weights are read
    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    return use_backend(model, folder, backend, threads=threads, device=device)
