"""The tolerant JSON-LD reader: strict JSON first, then the repairs real pages need."""

import pytest

from faqmine.extract.jsonld import MAX_NESTING_DEPTH, InvalidJsonLd, parse_jsonld


def test_strict_json_is_not_marked_repaired():
    assert parse_jsonld('{"@type": "FAQPage"}') == ([{"@type": "FAQPage"}], False)


def test_raw_line_breaks_inside_strings_are_read():
    values, _ = parse_jsonld('{"text": "first line\nsecond\tline"}')
    assert values == [{"text": "first line\nsecond\tline"}]


@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"a": [1, 2,], "b": 3,}', {"a": [1, 2], "b": 3}),
        ('{"a": 1 /* note */, "url": "http://x.org/a//b"} // end', {"a": 1, "url": "http://x.org/a//b"}),
        ("{&quot;a&quot;: &quot;b&quot;}", {"a": "b"}),
        ('{"q": "he said "hello" twice"}', {"q": 'he said "hello" twice'}),
        ('{"q": "Die „Apostille" ist nötig"}', {"q": "Die „Apostille“ ist nötig"}),
    ],
)
def test_repairs(text, expected):
    values, repaired = parse_jsonld(text)
    assert values == [expected]
    assert repaired


@pytest.mark.parametrize("text", ["<!-- {\"a\": 1} -->", "//<![CDATA[\n{\"a\": 1}\n//]]>",
                                  "<!--//--><![CDATA[//><!--\n{\"a\": 1}\n//--><!]]>"])
def test_comment_and_cdata_wrappers_are_unwrapped(text):
    assert parse_jsonld(text)[0] == [{"a": 1}]


def test_several_values_one_after_another():
    values, _ = parse_jsonld('{"a": 1}\n{"b": 2}')
    assert values == [{"a": 1}, {"b": 2}]


def test_html_after_the_json_of_an_unclosed_script_is_ignored():
    values, _ = parse_jsonld('{"a": 1}\n</head><body><p>page</p>')
    assert values == [{"a": 1}]


@pytest.mark.parametrize("text", ["", "   ", '{"a": {{ template }} }', "{'a': 1", "<p>not json</p>"])
def test_unreadable_blocks_raise(text):
    with pytest.raises(InvalidJsonLd):
        parse_jsonld(text)


def test_nesting_limit():
    deep = "[" * (MAX_NESTING_DEPTH + 5) + "]" * (MAX_NESTING_DEPTH + 5)
    with pytest.raises(InvalidJsonLd, match="nested"):
        parse_jsonld(deep)
