"""Property tests (hypothesis) of the parsers: no input makes them raise, and what they emit is well-formed."""

from __future__ import annotations

import json
import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faqmine.core.text import html_to_text, normalize_text
from faqmine.extract.charset import decode_html
from faqmine.extract.jsonld import InvalidJsonLd, _strip_comments, parse_jsonld
from faqmine.extract.prefilter import has_faq_marker, numpy_has_faq_marker
from faqmine.extract.records import extract_page

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
plain = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="<&"), max_size=80)


@SETTINGS
@given(st.text(max_size=400))
def test_jsonld_reader_raises_only_invalid_jsonld(text):
    try:
        values, _ = parse_jsonld(text)
    except InvalidJsonLd:
        return
    assert isinstance(values, list) and values


@SETTINGS
@given(st.binary(max_size=600), st.sampled_from([None, "utf-8", "shift_jis", "bogus", "utf-16", "\x00"]))
def test_any_bytes_decode(body, charset):
    assert isinstance(decode_html(body, charset).text, str)


def well_formed(text: str) -> bool:
    return text == text.strip() and "  " not in text and unicodedata.is_normalized("NFC", text)


@SETTINGS
@given(st.binary(max_size=800))
def test_any_page_bytes_give_a_result_not_an_exception(tail):
    result = extract_page(b'<html><script type="application/ld+json">{"@type":"FAQPage",' + tail)
    assert (result.drop_reason is None) == bool(result.qas)
    assert all(qa.question and qa.answer and well_formed(qa.question) and well_formed(qa.answer)
               for qa in result.qas)


@SETTINGS
@given(st.lists(st.tuples(plain, plain), min_size=1, max_size=5))
def test_jsonld_round_trip(pairs):
    doc = {"@context": "https://schema.org", "@type": "FAQPage", "mainEntity": [
        {"@type": "Question", "name": q, "acceptedAnswer": {"@type": "Answer", "text": a}} for q, a in pairs]}
    page = f'<html><script type="application/ld+json">{json.dumps(doc)}</script></html>'.encode()
    expected = []
    for q, a in pairs:
        pair = (normalize_text(q), normalize_text(a))
        if all(pair) and pair not in expected:
            expected.append(pair)
    assert [(qa.question, qa.answer) for qa in extract_page(page).qas] == expected


@SETTINGS
@given(st.text(max_size=300))
def test_html_to_text_is_well_formed(fragment):
    assert well_formed(html_to_text(fragment))


@SETTINGS
@given(st.binary(max_size=60), st.sampled_from([b"faqpage", b"FAQPage", b"FaqPAGE", b"faqpagf", b"fAqPaG"]),
       st.binary(max_size=60))
def test_prefilter_is_exactly_a_case_insensitive_search(head, middle, tail):
    body = head + middle + tail
    expected = b"faqpage" in body.lower()
    assert has_faq_marker(body) == expected  # the platform's implementation (Hyperscan here)
    assert numpy_has_faq_marker(body) == expected  # the portable one


@SETTINGS
@given(st.text(alphabet='"\\/*\na {}:,', max_size=40))
def test_comment_stripping_keeps_strings_and_never_grows(text):
    stripped = _strip_comments(text)
    assert len(stripped) <= len(text)
    if "/" not in text:
        assert stripped == text
