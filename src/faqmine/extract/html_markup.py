"""Read the structured-data blocks and page metadata out of an HTML page.

One parse with selectolax's lexbor backend gives: the page's declared language,
title and description; the raw text of every `application/ld+json` script; and the
Microdata (`itemscope`/`itemprop`) and RDFa (`typeof`/`property`) item trees,
converted to the dict shape that `faqmine.extract.schemaorg` reads. Which items are FAQs is
not decided here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from selectolax.lexbor import LexborHTMLParser, LexborNode

from faqmine.core.text import html_to_text, normalize_text

# Bounds that keep hostile pages linear: items per syntax, and how far up an itemprop looks for its item.
MAX_ITEM_ELEMENTS = 20_000
MAX_SCOPE_DISTANCE = 256
_SCRIPT_OPEN = re.compile(r"<script\b[^>]*>", re.IGNORECASE)
_URL_VALUE_ATTR = {
    "a": "href", "link": "href", "area": "href", "img": "src", "audio": "src", "video": "src",
    "source": "src", "iframe": "src", "embed": "src", "object": "data",
}


class MarkupOverLimit(ValueError):
    """A page with more structured-data elements than any real FAQ page has."""


@dataclass
class PageMarkup:
    language: str | None = None
    title: str | None = None
    description: str | None = None
    content_language: str | None = None
    jsonld_blocks: list[str] = field(default_factory=list)
    microdata_items: list[dict] = field(default_factory=list)
    rdfa_items: list[dict] = field(default_factory=list)


def _jsonld_texts(tree: LexborHTMLParser) -> list[str]:
    blocks: list[str] = []
    for script in tree.css("script"):
        script_type = (script.attributes.get("type") or "").split(";")[0].strip().lower()
        if script_type != "application/ld+json":
            continue
        text = script.text(deep=True) or ""
        # An unclosed script swallows the page up to the next </script>: split the
        # blocks that were swallowed with it so that each is read on its own.
        pieces = _SCRIPT_OPEN.split(text)
        blocks.extend(p for p in pieces if p.strip())
    return blocks


def _item_tree(tree: LexborHTMLParser, scope_attr: str, prop_attr: str, type_attr: str) -> list[dict]:
    """Items of one syntax as dicts: {"@type": [...], prop: [text | item dict, ...]}.

    Microdata: scope_attr=itemscope, prop_attr=itemprop, type_attr=itemtype.
    RDFa: scope_attr=typeof (its value is the type), prop_attr=property.
    """
    scopes = tree.css(f"[{scope_attr}]")
    if not scopes:
        return []
    if len(scopes) > MAX_ITEM_ELEMENTS:
        raise MarkupOverLimit(f"{len(scopes)} [{scope_attr}] elements, over the limit of {MAX_ITEM_ELEMENTS}")
    props = tree.css(f"[{prop_attr}]")
    if len(props) > MAX_ITEM_ELEMENTS:
        raise MarkupOverLimit(f"{len(props)} [{prop_attr}] elements, over the limit of {MAX_ITEM_ELEMENTS}")
    items: dict[int, dict] = {}
    for node in scopes:
        types = (node.attributes.get(type_attr) or "").split()
        items[node.mem_id] = {"@type": types}
    nested: set[int] = set()
    for node in props:
        names = (node.attributes.get(prop_attr) or "").split()
        if not names:
            continue
        owner = node.parent
        distance = 0
        while owner is not None and owner.mem_id not in items and distance < MAX_SCOPE_DISTANCE:
            owner = owner.parent
            distance += 1
        if owner is None or owner.mem_id not in items:
            continue
        if node.mem_id in items:
            value: object = items[node.mem_id]
            nested.add(node.mem_id)
        else:
            value = _property_value(node)
        for name in names:
            items[owner.mem_id].setdefault(name, []).append(value)
    return [item for mem_id, item in items.items() if mem_id not in nested]


def _property_value(node: LexborNode) -> str:
    attrs = node.attributes
    if attrs.get("content") is not None:
        return normalize_text(attrs["content"] or "")
    url_attr = _URL_VALUE_ATTR.get(node.tag or "")
    if url_attr and attrs.get(url_attr):
        text = html_to_text(node.html or "")
        return text or (attrs[url_attr] or "")
    if node.tag == "time" and attrs.get("datetime"):
        return attrs["datetime"] or ""
    return html_to_text(node.html or "")


def read_markup(html: str, structured: bool = True) -> PageMarkup:
    """Parse one page. With structured=False only the metadata is read."""
    tree = LexborHTMLParser(html)
    page = PageMarkup()
    root = tree.css_first("html")
    if root is not None:
        lang = root.attributes.get("lang") or root.attributes.get("xml:lang")
        page.language = lang.strip().lower() if lang and lang.strip() else None
    title = tree.css_first("title")
    if title is not None:
        page.title = normalize_text(title.text(deep=True) or "") or None
    for meta in tree.css("meta"):
        attrs = meta.attributes
        name = (attrs.get("name") or attrs.get("property") or "").lower()
        if name in ("description", "og:description") and page.description is None and attrs.get("content"):
            page.description = normalize_text(attrs["content"] or "") or None
        if (attrs.get("http-equiv") or "").lower() == "content-language" and attrs.get("content"):
            page.content_language = (attrs["content"] or "").strip().lower() or None
    if structured:
        page.jsonld_blocks = _jsonld_texts(tree)
        page.microdata_items = _item_tree(tree, "itemscope", "itemprop", "itemtype")
        page.rdfa_items = _item_tree(tree, "typeof", "property", "typeof")
    return page
