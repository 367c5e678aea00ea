"""A tolerant JSON-LD reader for the JSON that real web pages carry.

Pages embed JSON-LD that strict JSON rejects: raw line breaks and tabs inside
strings, trailing commas, JavaScript comments, HTML comments or CDATA around the
script, several objects one after another, entity-escaped quotes, and stray ASCII
quotes inside strings (e.g. German „...“ closed with `"`). `parse_jsonld` tries the
strict reader first and repairs only when it fails; what is still unreadable raises
`InvalidJsonLd`, which the extraction stage counts as a drop reason.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

MAX_JSONLD_CHARS = 2_000_000
MAX_NESTING_DEPTH = 64


class InvalidJsonLd(ValueError):
    """A JSON-LD block that no repair could read."""


_DECODER = json.JSONDecoder(strict=False)
_LEADING_WRAPPER = re.compile(r"^\s*(?://\s*)?(?:<!--|<!\[CDATA\[)")
_TRAILING_WRAPPER = re.compile(r"(?://\s*)?(?:-->|\]\]>)\s*$")
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


_STRING_OR_COMMENT = re.compile(r'"(?:\\.?|[^"\\])*(?:"|\Z)|//[^\n]*|/\*.*?(?:\*/|\Z)', re.DOTALL)


def _strip_comments(text: str) -> str:
    """Remove // and /* */ comments that lie outside strings (an unclosed string or comment runs to the end)."""
    return _STRING_OR_COMMENT.sub(lambda m: m.group(0) if m.group(0)[0] == '"' else "", text)


_LOW_OPENING_QUOTES = "„‚"
_STRUCTURAL_AFTER_STRING = ",}]:"


def _escape_stray_quotes(text: str) -> str:
    """Treat a `"` inside a string that is not followed by JSON structure as a literal quote.

    After a low opening quote („ or ‚, as German, Polish, Czech... write) the stray ASCII
    quote is the closing “ the author meant; elsewhere it becomes an escaped `\\"`.
    """
    out: list[str] = []
    i, n = 0, len(text)
    in_string = False
    low_quote_open = False
    while i < n:
        ch = text[i]
        if not in_string:
            if ch == '"':
                in_string = True
                low_quote_open = False
            out.append(ch)
            i += 1
            continue
        if ch == "\\" and i + 1 < n:
            out.append(text[i : i + 2])
            i += 2
            continue
        if ch in _LOW_OPENING_QUOTES:
            low_quote_open = True
        elif ch in "“”‘’":
            low_quote_open = False
        if ch == '"':
            j = i + 1
            while j < n and text[j] in " \t\r\n":
                j += 1
            if j >= n or text[j] in _STRUCTURAL_AFTER_STRING:
                in_string = False
                out.append(ch)
            elif low_quote_open:
                out.append("“")
                low_quote_open = False
            else:
                out.append('\\"')
            i += 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _decode_all(text: str) -> list[Any]:
    """Decode one or more JSON values written one after another."""
    values: list[Any] = []
    idx, n = 0, len(text)
    while idx < n:
        while idx < n and text[idx] in " \t\r\n;,":
            idx += 1
        if idx >= n or (values and text[idx] == "<"):  # HTML after the JSON: an unclosed <script>
            break
        try:
            value, idx = _DECODER.raw_decode(text, idx)
        except RecursionError:  # nesting deeper than the interpreter's stack: hostile, not JSON-LD
            raise json.JSONDecodeError("nested too deep", text, idx) from None
        values.append(value)
    if not values:
        raise json.JSONDecodeError("no JSON value", text, 0)
    return values


def _depth(value: Any, limit: int) -> int:
    stack = [(value, 1)]
    deepest = 0
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        if deepest > limit:
            return deepest
        if isinstance(node, dict):
            stack.extend((v, d + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, d + 1) for v in node)
    return deepest


_REPAIRS = (
    lambda t: _TRAILING_COMMA.sub(r"\1", _strip_comments(t)),
    lambda t: _TRAILING_COMMA.sub(r"\1", _strip_comments(html.unescape(t))),
    lambda t: _TRAILING_COMMA.sub(r"\1", _strip_comments(_escape_stray_quotes(t))),
)


def parse_jsonld(text: str) -> tuple[list[Any], bool]:
    """Read a JSON-LD script body. Returns (values, repaired); raises InvalidJsonLd.

    `values` holds every top-level JSON value found (usually one object or list).
    """
    if len(text) > MAX_JSONLD_CHARS:
        raise InvalidJsonLd(f"JSON-LD block of {len(text)} characters is over the limit")
    body = text
    for _ in range(2):  # `<!--` and `<![CDATA[` can both wrap one script
        body = _LEADING_WRAPPER.sub("", body)
        if body.rstrip().endswith(("-->", "]]>")):  # the regex scans the whole text: run it only when it can match
            body = _TRAILING_WRAPPER.sub("", body)
    repaired = False
    try:
        values = _decode_all(body)
    except json.JSONDecodeError:
        values = None
        for repair in _REPAIRS:
            try:
                values = _decode_all(repair(body))
                repaired = True
                break
            except json.JSONDecodeError:
                continue
        if values is None:
            raise InvalidJsonLd("JSON-LD block is not readable JSON, even after repair") from None
    if _depth(values, MAX_NESTING_DEPTH) > MAX_NESTING_DEPTH:
        raise InvalidJsonLd(f"JSON-LD nested deeper than {MAX_NESTING_DEPTH}")
    return values, repaired
