"""The schema.org FAQPage mapping: which nodes are FAQs and which fields hold question and answer.

All three syntaxes meet here. JSON-LD arrives as parsed JSON; Microdata and RDFa
items arrive from `faqmine.extract.html_markup` converted to the same dict shape
(`{"@type": [...], "<property>": [values]}`), so one walk serves all of them:

- a FAQ is a node whose type is FAQPage, anywhere in the document (top level, a
  list, `@graph`, or nested in e.g. a WebPage);
- its questions are the Question nodes in `mainEntity` (object or list, or an
  ItemList of them), with `@id` references resolved within the document;
- question text = `name` (else `text`); answer text = `acceptedAnswer.text`, else
  `suggestedAnswer.text` (else the answer's `name`, or a plain string answer).

Keys and types may be written bare (`mainEntity`), prefixed (`schema:mainEntity`)
or as full IRIs (`https://schema.org/mainEntity`); all compare by local name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

_MAX_LIST_DEPTH = 4


@dataclass(frozen=True)
class RawQA:
    """One question-answer pair as written in the markup, texts already converted to plain text."""

    question: str
    answer: str


def local_name(term: str) -> str:
    """`https://schema.org/FAQPage`, `schema:FAQPage`, `FAQPage` -> `faqpage`."""
    term = term.strip()
    for sep in ("#", "/", ":"):
        if sep in term:
            term = term.rsplit(sep, 1)[1]
    return term.lower()


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def node_types(node: dict) -> set[str]:
    return {local_name(t) for t in _as_list(node.get("@type")) if isinstance(t, str)}


def get_prop(node: dict, name: str) -> list:
    """All values of a property, whatever prefix its key is written with."""
    if name in node:
        return _as_list(node[name])
    values: list = []
    lname = name.lower()
    for key, value in node.items():
        if not key.startswith("@") and local_name(key) == lname:
            values.extend(_as_list(value))
    return values


def _walk(value: Any, depth: int = 0) -> Iterator[dict]:
    """Every dict inside a JSON value, depth-first in document order (bounded depth)."""
    if depth > 64:
        return
    if isinstance(value, dict):
        yield value
        for child in value.values():
            yield from _walk(child, depth + 1)
    elif isinstance(value, list):
        for child in value:
            yield from _walk(child, depth + 1)


class _Document:
    def __init__(self, values: list[Any]):
        self.values = values
        self.by_id: dict[str, dict] = {}
        for node in _walk(values):
            node_id = node.get("@id")
            if isinstance(node_id, str) and len(node) > 1:
                self.by_id.setdefault(node_id, node)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"@id"}:
            return self.by_id.get(value["@id"], value)
        return value


def _text_of(value: Any, to_text: Callable[[str], str]) -> str:
    """Plain text of a property value: a string, a number, a `@value` object, or a list of those."""
    if isinstance(value, str):
        return to_text(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dict) and "@value" in value:
        return _text_of(value["@value"], to_text)
    if isinstance(value, list):
        return " ".join(t for t in (_text_of(v, to_text) for v in value) if t)
    return ""


def _first_text(node: dict, names: tuple[str, ...], to_text: Callable[[str], str]) -> str:
    for name in names:
        for value in get_prop(node, name):
            text = _text_of(value, to_text)
            if text:
                return text
    return ""


def _answer_text(question: dict, doc: _Document, to_text: Callable[[str], str]) -> str:
    for prop in ("acceptedAnswer", "suggestedAnswer"):
        for answer in get_prop(question, prop):
            answer = doc.resolve(answer)
            if isinstance(answer, dict):
                text = _first_text(answer, ("text", "name", "description"), to_text)
            else:
                text = _text_of(answer, to_text)
            if text:
                return text
    return ""


def _questions_of(faq: dict, doc: _Document) -> Iterator[dict]:
    frontier = [doc.resolve(v) for v in get_prop(faq, "mainEntity")]
    for _ in range(_MAX_LIST_DEPTH):
        nested: list = []
        for entity in frontier:
            if not isinstance(entity, dict):
                continue
            types = node_types(entity)
            if "question" in types or (not types and get_prop(entity, "acceptedAnswer")):
                yield entity
            elif types & {"itemlist", "listitem"}:
                nested.extend(doc.resolve(v) for v in get_prop(entity, "itemListElement"))
                nested.extend(doc.resolve(v) for v in get_prop(entity, "item"))
        if not nested:
            return
        frontier = nested


def faq_qas(values: list[Any], to_text: Callable[[str], str]) -> tuple[list[RawQA], int]:
    """QAs of every FAQPage in a document, in document order.

    Returns (qas, n_faqpages). QAs whose question or answer text is empty are kept
    (with the empty string) so that the caller can count them as a drop reason.
    """
    doc = _Document(values)
    qas: list[RawQA] = []
    n_faq = 0
    seen_questions: set[int] = set()
    for node in _walk(values):
        if "faqpage" not in node_types(node):
            continue
        n_faq += 1
        for question in _questions_of(node, doc):
            if id(question) in seen_questions:
                continue
            seen_questions.add(id(question))
            qas.append(
                RawQA(
                    question=_first_text(question, ("name", "text"), to_text),
                    answer=_answer_text(question, doc, to_text),
                )
            )
    return qas, n_faq


def declared_language(values: list[Any]) -> str | None:
    """`inLanguage` of the first FAQPage or WebPage node that states one."""
    for node in _walk(values):
        if node_types(node) & {"faqpage", "webpage"}:
            for value in get_prop(node, "inLanguage"):
                if isinstance(value, str) and value.strip():
                    return value.strip()
                if isinstance(value, dict):
                    code = value.get("alternateName") or value.get("name")
                    if isinstance(code, str) and code.strip():
                        return code.strip()
    return None
