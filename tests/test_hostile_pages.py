"""Hostile and pathological pages: every limit is a counted reason, and nothing grows worse than linearly.

The per-record time limit of the extraction itself (`DEFAULT_RECORD_SECONDS`) is the
bound these inputs must stay under: a quadratic path would end as `extract_timeout`.
"""

from __future__ import annotations

import time

import pytest

from faqmine.core.timeouts import WorkTimeout, time_limit
from faqmine.extract.html_markup import MAX_ITEM_ELEMENTS
from faqmine.extract.jsonld import InvalidJsonLd, parse_jsonld
from faqmine.extract.records import MAX_QAS_PER_PAGE, PageResult, extract_page


def jsonld_page(main_entity: str) -> bytes:
    return (f'<html><head><script type="application/ld+json">{{"@type": "FAQPage", "mainEntity": {main_entity}}}'
            f"</script></head></html>").encode()


def question(q: str, a: str) -> str:
    return f'{{"@type": "Question", "name": "{q}", "acceptedAnswer": {{"text": "{a}"}}}}'


def extract_bounded(body: bytes) -> PageResult:
    with time_limit(120):  # far above the ~1 s these take: only a super-linear path reaches it
        return extract_page(body)


def test_too_many_questions_are_capped_and_counted():
    entities = ",".join(question(f"Question number {i}?", f"Answer number {i}.") for i in range(MAX_QAS_PER_PAGE + 200))
    result = extract_bounded(jsonld_page(f"[{entities}]"))
    assert len(result.qas) == MAX_QAS_PER_PAGE
    assert result.counters["qa_over_page_limit"] == 200


def test_overlong_answer_is_counted():
    result = extract_bounded(jsonld_page(f"[{question('Long?', 'x' * 60_000)}, {question('Short?', 'ok')}]"))
    assert [q.question for q in result.qas] == ["Short?"] and result.counters["qa_too_long"] == 1


def test_too_many_microdata_items():
    items = '<div itemscope itemtype="https://schema.org/Thing"></div>' * (MAX_ITEM_ELEMENTS + 1)
    body = f'<html><body><div itemscope itemtype="https://schema.org/FAQPage">{items}</div></body></html>'
    assert extract_bounded(body.encode()).drop_reason == "markup_over_limit"


def test_deeply_nested_elements():
    depth = 5000
    body = ('<div itemscope itemtype="https://schema.org/FAQPage">' + "<div>" * depth
            + '<span itemprop="name">deep</span>' + "</div>" * depth + "</div>")
    assert extract_bounded(body.encode()).drop_reason == "empty_qa"  # a FAQPage whose name is out of reach


@pytest.mark.parametrize("text", [
    '{"a": "' + '"' * 200_000 + '"}',
    '{"a": "„' + '" ' * 100_000 + '"}',
    "[" * 100_000,
    '{"a": ' + "/*" * 100_000,
    '{"a": "' + "\\" * 200_001,
    "," * 100_000 + " " * 100_000,
    '{"a": [' + "1," * 200_000 + "]}",
])
def test_pathological_json_is_linear(text):
    with time_limit(120):
        try:
            parse_jsonld(text)
        except InvalidJsonLd:
            pass


def test_pathological_html_is_linear():
    bodies = [
        b"<meta charset=" + b" " * 1_000_000,
        b"FAQPage" + b"<p" * 500_000,
        b"FAQPage<script type='application/ld+json'>" + b"<script>" * 100_000,
        b"FAQPage" + b"&amp;" * 500_000,
    ]
    for body in bodies:
        assert extract_bounded(body).drop_reason in ("no_faq_markup", "invalid_jsonld")


def test_time_limit_interrupts_python_work():
    with pytest.raises(WorkTimeout), time_limit(0.2):
        while True:
            time.sleep(0.01)
