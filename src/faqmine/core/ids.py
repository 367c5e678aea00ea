"""Stable ids: hashes of content, so reruns and partial reruns give the same ids."""

from __future__ import annotations

import hashlib

_SEP = "\x1f"


def stable_id(*parts: str) -> str:
    """sha1 hex of the parts joined by a unit separator (a character no text column holds)."""
    return hashlib.sha1(_SEP.join(parts).encode("utf-8")).hexdigest()


def qa_id(url: str, question: str, answer: str) -> str:
    return stable_id(url, question, answer)
