"""Text normalisation and charset decoding."""

import pytest

from faqmine.core.text import html_to_text, normalize_text
from faqmine.extract.charset import decode_html, looks_binary


def test_normalize_text_nfc_and_whitespace():
    assert normalize_text("  Cafe\u0301\u00a0\n au\tlait ") == "Café au lait"


@pytest.mark.parametrize(
    "fragment, expected",
    [
        ("plain &amp; simple", "plain & simple"),
        ("<p>a</p><p>b</p>", "a b"),
        ("click <a href='x'>here</a>.", "click here."),
        ("<ul><li>one</li><li>two</li></ul>", "one two"),
        ("line<br>break", "line break"),
        ("no tags at all", "no tags at all"),
    ],
)
def test_html_to_text(fragment, expected):
    assert html_to_text(fragment) == expected


@pytest.mark.parametrize("encoding, codec", [("shift_jis", "shift_jis"), ("cp1251", "cp1251"), ("euc-kr", "euc-kr"),
                                             ("iso-8859-7", "iso-8859-7"), ("windows-874", "cp874")])
def test_meta_declared_charsets(encoding, codec):
    text = {"shift_jis": "よくある質問", "cp1251": "Частые вопросы", "euc-kr": "자주 묻는 질문",
            "iso-8859-7": "Συχνές ερωτήσεις", "windows-874": "คำถามที่พบบ่อย"}[encoding]
    body = f'<html><head><meta charset="{encoding}"></head><body>{text}</body></html>'.encode(codec)
    decoded = decode_html(body, http_charset=None)
    assert text in decoded.text and not decoded.fallback


def test_wrong_http_charset_falls_back_to_what_decodes():
    body = "<p>Привет, мир</p>".encode()
    decoded = decode_html(body, http_charset="shift_jis")
    assert "Привет" in decoded.text


def test_binary_bodies_are_recognised():
    assert looks_binary(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3")
    assert not looks_binary(b"<!DOCTYPE html><html>")
