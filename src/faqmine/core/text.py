"""Text normalisation shared by every stage: HTML fragments to text, whitespace, Unicode NFC."""

from __future__ import annotations

import html
import re
import unicodedata

from selectolax.lexbor import LexborHTMLParser

_WHITESPACE = re.compile(r"\s+")
# Tags whose start or end separates words when a fragment is read as text.
_BLOCK_TAG = re.compile(
    r"</?(?:p|div|br|hr|li|ul|ol|dl|dt|dd|h[1-6]|tr|td|th|table|thead|tbody|section|article|"
    r"blockquote|pre|header|footer|aside|nav|figure|figcaption|details|summary|main|address)\b[^>]*>",
    re.IGNORECASE,
)


def collapse_whitespace(text: str) -> str:
    """Every run of white space (including NBSP and line breaks) becomes one space; ends stripped."""
    return _WHITESPACE.sub(" ", text).strip()


def normalize_text(text: str) -> str:
    """NFC and collapsed white space: the form every text column is stored in."""
    return collapse_whitespace(unicodedata.normalize("NFC", text))


def html_to_text(fragment: str) -> str:
    """Text of an HTML fragment: tags dropped, block boundaries kept as spaces, entities decoded.

    Plain strings without markup or entities take a fast path that skips the HTML parser.
    """
    if "<" not in fragment:
        return normalize_text(html.unescape(fragment) if "&" in fragment else fragment)
    spaced = _BLOCK_TAG.sub(" ", fragment)
    body = LexborHTMLParser(spaced).body
    text = body.text(deep=True, separator="", strip=False) if body is not None else ""
    return normalize_text(text)
