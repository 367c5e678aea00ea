"""The schema.org FAQPage mapping on every JSON-LD shape real sites use."""

from faqmine.core.text import html_to_text
from faqmine.extract.schemaorg import RawQA, declared_language, faq_qas, local_name


def qas(values):
    found, _ = faq_qas(values, html_to_text)
    return [(qa.question, qa.answer) for qa in found]


def question(name, answer, key="acceptedAnswer"):
    return {"@type": "Question", "name": name, key: {"@type": "Answer", "text": answer}}


def test_local_name_forms():
    assert {local_name(t) for t in ("FAQPage", "schema:FAQPage", "https://schema.org/FAQPage",
                                    "http://schema.org/FAQPage")} == {"faqpage"}


def test_single_object_with_main_entity_object():
    doc = {"@type": "FAQPage", "mainEntity": question("Q one?", "A one.")}
    assert qas([doc]) == [("Q one?", "A one.")]


def test_list_at_top_and_type_list():
    doc = [{"@type": "Organization", "name": "x"},
           {"@type": ["WebPage", "FAQPage"], "mainEntity": [question("Q1?", "A1"), question("Q2?", "A2")]}]
    assert qas([doc]) == [("Q1?", "A1"), ("Q2?", "A2")]


def test_graph_with_id_references_and_prefixed_keys():
    doc = {"@graph": [
        {"@type": "FAQPage", "schema:mainEntity": [{"@id": "#b"}, {"@id": "#a"}]},
        {"@id": "#a", "@type": "Question", "name": "A?", "acceptedAnswer": {"@id": "#ans"}},
        {"@id": "#ans", "@type": "Answer", "text": "resolved"},
        {"@id": "#b", "@type": "https://schema.org/Question", "https://schema.org/name": "B?",
         "acceptedAnswer": {"text": "b"}},
    ]}
    assert qas([doc]) == [("B?", "b"), ("A?", "resolved")]


def test_faqpage_nested_in_webpage():
    doc = {"@type": "WebPage", "mainEntity": {"@type": "FAQPage", "mainEntity": [question("Nested?", "Yes.")]}}
    assert qas([doc]) == [("Nested?", "Yes.")]


def test_suggested_answer_and_answer_lists():
    doc = {"@type": "FAQPage", "mainEntity": [
        question("S?", "suggested", key="suggestedAnswer"),
        {"@type": "Question", "name": "L?", "acceptedAnswer": [{"text": ""}, {"text": "second"}]},
        {"@type": "Question", "name": "P?", "acceptedAnswer": "plain string"},
    ]}
    assert qas([doc]) == [("S?", "suggested"), ("L?", "second"), ("P?", "plain string")]


def test_item_list_of_questions():
    doc = {"@type": "FAQPage", "mainEntity": {"@type": "ItemList", "itemListElement": [
        {"@type": "ListItem", "item": question("In list?", "Yes")}]}}
    assert qas([doc]) == [("In list?", "Yes")]


def test_html_in_answer_becomes_text():
    doc = {"@type": "FAQPage", "mainEntity": question("H?", "<p>One&nbsp;<b>two</b></p><p>three</p>")}
    assert qas([doc]) == [("H?", "One two three")]


def test_empty_fields_are_kept_for_counting():
    found, n = faq_qas([{"@type": "FAQPage", "mainEntity": [question("", "a"), question("q", " ")]}],
                       html_to_text)
    assert n == 1 and found == [RawQA("", "a"), RawQA("q", "")]


def test_no_faqpage_gives_nothing():
    assert faq_qas([{"@type": "QAPage", "mainEntity": question("Q?", "A")}], html_to_text) == ([], 0)


def test_declared_language():
    assert declared_language([{"@type": "FAQPage", "inLanguage": "de-AT"}]) == "de-AT"
    assert declared_language([{"@type": "FAQPage"}]) is None
