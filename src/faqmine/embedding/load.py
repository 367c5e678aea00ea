"""The one way every stage loads a sentence encoder: from a folder on disk, never from a hub.

`load_encoder()` with no path gives the default multilingual-e5-small that `make setup`
builds under `models/` (or the folder named by `FAQMINE_ENCODER`); a stage's
`--encoder PATH` passes LaBSE, bge-m3 or a user's fine-tuned sentence-transformers folder
through the same call.
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


def load_encoder(path: str | None = None, device: str | None = None) -> SentenceTransformer:
    """Load the sentence-transformers folder at `path` (default: $FAQMINE_ENCODER, else
    models/multilingual-e5-small under the repository root) with local files only."""
    from sentence_transformers import SentenceTransformer

    folder = Path(path or os.environ.get(ENV_VAR) or DEFAULT_ENCODER).expanduser()
    if not folder.is_dir():
        hint = " (build it with `make setup` or `faqmine models build`)" if folder == DEFAULT_ENCODER else ""
        raise FileNotFoundError(f"no encoder folder at {folder}{hint}")
    return SentenceTransformer(str(folder), device=device, local_files_only=True)
