"""HTML for one question or answer whose text content is exactly a given plain text.

Answers on real FAQ pages carry paragraphs, line breaks, lists, links, emphasis
and character entities. Each rendering here keeps the text content equal to the
plain text after the extraction contract's normalisation: block tags (`<p>`,
`<li>`, `<br>`) are only put where the plain text has a space (they read as white
space), inline tags (`<a>`, `<strong>`) anywhere, and entities decode to the
characters they replace (`&nbsp;` only for a space, which collapses back).
"""

from __future__ import annotations

import html
import random
import re
from html.entities import codepoint2name

ANSWER_STYLES = ("p", "paragraphs", "br", "inline", "link", "list", "entities")
_SENTENCE_GAP = re.compile(r"(?<=[.!?।؟])\s")
_CLAUSE_GAP = re.compile(r"(?<=[,;:،])\s")
_SPACE = re.compile(r" ")


def escape(text: str) -> str:
    """Minimal escaping for text content: & < >."""
    return html.escape(text, quote=False)


def escape_attr(text: str) -> str:
    return html.escape(text, quote=True)


def entity_escape(text: str, rng: random.Random, rate: float = 0.3) -> str:
    """Escape like an old CMS: named or numeric entities for some non-ASCII letters, quotes and spaces."""
    out: list[str] = []
    for ch in text:
        code = ord(ch)
        if ch == "&":
            out.append("&amp;")
        elif ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ch == '"' and rng.random() < 0.8:
            out.append("&quot;")
        elif ch == "'" and rng.random() < 0.8:
            out.append(rng.choice(("&#39;", "&#039;", "&#x27;", "&apos;")))
        elif ch == " " and rng.random() < 0.04:
            out.append("&nbsp;")
        elif code > 127 and rng.random() < rate:
            name = codepoint2name.get(code)
            out.append(f"&{name};" if name and code < 0x2000 and rng.random() < 0.7 else f"&#{code};")
        else:
            out.append(ch)
    return "".join(out)


def _gaps(pattern: re.Pattern, text: str) -> list[int]:
    return [m.start() for m in pattern.finditer(text)]


def _split_at(text: str, cuts: list[int]) -> list[str]:
    """Pieces of text between the single spaces at the cut offsets (the spaces themselves dropped)."""
    pieces, start = [], 0
    for cut in sorted(cuts):
        pieces.append(text[start:cut])
        start = cut + 1
    pieces.append(text[start:])
    return [p for p in pieces if p]


def _wrap_inline(text: str, rng: random.Random, link_host: str | None) -> str:
    """Escape text and wrap one stretch of it in an inline element."""
    if len(text) < 4:
        return escape(text)
    a = rng.randrange(0, len(text) - 2)
    b = min(len(text), a + rng.randint(2, 24))
    inner = escape(text[a:b])
    if link_host:
        path = rng.choice(("/contact", "/shipping", "/help", "/terms", "/blog/guide", "/pricing"))
        extra = rng.choice(("", ' target="_blank"', ' rel="noopener"'))
        tag_open = f'<a href="https://{link_host}{path}"{extra}>'
        tag_close = "</a>"
    else:
        tag = rng.choice(("strong", "em", "b", "i", "span", "mark"))
        tag_open = f'<{tag} class="hl">' if tag == "span" else f"<{tag}>"
        tag_close = f"</{tag}>"
    return f"{escape(text[:a])}{tag_open}{inner}{tag_close}{escape(text[b:])}"


def answer_html(text: str, rng: random.Random, style: str | None = None, link_host: str | None = None) -> str:
    """An HTML fragment whose normalised text content is `text`."""
    style = style or rng.choice(ANSWER_STYLES)
    if style == "p":
        return f"<p>{escape(text)}</p>"
    if style == "paragraphs":
        gaps = _gaps(_SENTENCE_GAP, text)
        if not gaps:
            return f"<p>{escape(text)}</p>"
        cuts = rng.sample(gaps, k=min(len(gaps), rng.randint(1, 3)))
        return "\n".join(f"<p>{escape(p)}</p>" for p in _split_at(text, cuts))
    if style == "br":
        gaps = _gaps(_SENTENCE_GAP, text) or _gaps(_SPACE, text)
        if not gaps:
            return escape(text)
        cut = rng.choice(gaps)
        br = rng.choice(("<br>", "<br/>", "<br />", "<br>\n", "<br><br>"))
        return f"{escape(text[:cut])}{br}{escape(text[cut + 1:])}"
    if style == "inline":
        return f"<p>{_wrap_inline(text, rng, None)}</p>" if rng.random() < 0.5 else _wrap_inline(text, rng, None)
    if style == "link":
        return _wrap_inline(text, rng, link_host or "example.com")
    if style == "list":
        gaps = _gaps(_CLAUSE_GAP, text) or _gaps(_SPACE, text)
        if len(gaps) < 2:
            return f"<p>{escape(text)}</p>"
        cuts = sorted(rng.sample(gaps, k=min(len(gaps), rng.randint(2, 4))))
        pieces = _split_at(text, cuts)
        tag = rng.choice(("ul", "ol"))
        items = "".join(f"<li>{escape(p)}</li>" for p in pieces[1:])
        return f"<p>{escape(pieces[0])}</p><{tag}>{items}</{tag}>"
    if style == "entities":
        return entity_escape(text, rng)
    raise ValueError(f"unknown answer style {style!r}")
