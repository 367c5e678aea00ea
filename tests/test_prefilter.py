"""The byte prefilter: any ASCII case, both implementations agree, and the fast one is in use where it exists."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import pytest
from fastwarc import ArchiveIterator, WarcRecordType

from faqmine.extract.prefilter import IMPLEMENTATION, has_faq_marker, numpy_has_faq_marker

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("contains", [numpy_has_faq_marker, has_faq_marker], ids=lambda f: f.__name__)
def test_any_case_and_only_the_type_name(contains):
    assert contains(b'"@type":"FAQPage"')
    assert contains(b'itemtype="HTTPS://SCHEMA.ORG/FAQPAGE"')
    assert contains(b'typeof="schema:FaqPage"')
    assert contains(b"faqpage")  # the whole body is the needle
    assert not contains(b"<html><body>Frequently asked questions</body></html>")
    assert not contains(b"faq page")
    assert not contains(b"")
    assert not contains(b"FAQPag")


def test_implementations_agree_on_real_pages():
    """Every response body of the bundled real Common Crawl sample, plus each with a marker spliced in."""
    bodies = []
    for path in sorted((REPO / "data" / "background").glob("*.warc.gz")):
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream, parse_http=True, record_types=WarcRecordType.response):
                body = record.reader.read()
                bodies += [body, body[: len(body) // 2] + b"fAqPaGe" + body[len(body) // 2:]]
    assert len(bodies) > 100
    answers = [numpy_has_faq_marker(body) for body in bodies]
    assert [has_faq_marker(body) for body in bodies] == answers
    assert answers[1::2] == [True] * (len(bodies) // 2)
    assert sum(answers[0::2]) == 1  # commoncrawl.org/faq is the only FAQ page in the sample


@pytest.mark.skipif(not (sys.platform == "linux" and platform.machine() == "x86_64"),
                    reason="the hyperscan wheel exists for this platform only (and macOS arm64)")
def test_hyperscan_is_used_where_its_wheel_exists():
    assert IMPLEMENTATION == "hyperscan"
