"""The plain-text form of every question and answer the simulator writes into its truth tables.

The extraction contract says a QA is stored as text with tags stripped, entities
decoded, white space collapsed to single spaces, stripped, and Unicode NFC. The
simulator keeps each QA in that form from the start and renders HTML whose text
content is exactly it, so the truth never needs an HTML parser.
"""

from __future__ import annotations

import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFC, every run of white space (NBSP and line breaks included) one space, ends stripped."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def clean_source(text: str) -> str:
    """XQuAD text as the simulator uses it: byte-order marks (an artefact in the files) removed, normalised."""
    return normalize(text.replace("\ufeff", ""))
