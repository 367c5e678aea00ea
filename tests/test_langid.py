"""Language identification: codes, scripts, page evidence, WebFAQ's thresholds, and accuracy on real XQuAD text."""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pytest
from helpers.paths import need_model
from helpers.xquad_qas import LANGUAGES, xquad_pairs

from faqmine.clean_langid.cleaning import CleaningConfig
from faqmine.clean_langid.langid import (
    EVIDENCE_DECLARED,
    EVIDENCE_MODEL,
    EVIDENCE_URL,
    LangIdConfig,
    decide,
    declared_language,
    default_model_path,
    identify,
    load_identifier,
    url_language,
)
from faqmine.core.langcodes import normalize_language, script_of, to_iso639_3


@pytest.fixture(scope="module")
def identifier():
    return load_identifier(str(need_model(default_model_path(), "language-id model")))


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("en", "en"), ("en-US", "en"), ("de_DE", "de"), ("zh-Hant-TW", "zh"), ("PT-br", "pt"),
        ("eng", "en"), ("ger", "de"), ("deu", "de"), ("fre", "fr"), ("iw", "he"), ("in", "id"),
        ("nb", "no"), ("nb-NO", "no"), ("fil", "tl"), ("ceb", "ceb"), ("yue", "yue"),
        ("__label__en", "en"), ("__label__als", "gsw"), ("__label__eng_Latn", "en"),
        ("__label__arb_Arab", "ar"), ("__label__zsm_Latn", "ms"), ("__label__als_Latn", "als"),
        ("__label__cmn_Hans", "zh"), ("x-default", None), ("", None), (None, None), ("und", None), ("12", None),
    ],
)
def test_one_language_code_convention(code, expected):
    assert normalize_language(code) == expected


def test_iso639_3_round_trip():
    assert to_iso639_3("en") == "eng" and to_iso639_3("zh") == "zho" and to_iso639_3("ceb") == "ceb"


def test_model_labels_are_all_in_the_convention(identifier):
    # no eng beside en: every 3-letter code the model emits has no ISO 639-1 equivalent
    assert all(len(code) == 2 or to_iso639_3(code) == code for code in identifier.languages)
    assert {"en", "de", "zh", "th", "ar", "hi", "gsw"} <= identifier.languages
    assert len(identifier.languages) == 176


@pytest.mark.parametrize(
    ("text", "script"),
    [
        ("How do I pay?", "Latn"), ("Как оплатить заказ?", "Cyrl"), ("Πώς πληρώνω;", "Grek"),
        ("كيف أدفع؟", "Arab"), ("मैं भुगतान कैसे करूं?", "Deva"), ("ฉันจะจ่ายเงินอย่างไร", "Thai"),
        ("我该如何付款？", "Hani"), ("支払い方法を教えてください", "Jpan"), ("결제는 어떻게 하나요?", "Hang"),
        ("12345 !!!", "Zyyy"), ("Ｆｕｌｌｗｉｄｔｈ", "Latn"),
    ],
)
def test_script_of(text, script):
    assert script_of(text) == script


@pytest.mark.parametrize(
    ("url", "language"),
    [
        ("https://example.com/de/faq", "de"), ("https://example.com/en-gb/help/shipping", "en"),
        ("https://example.com/shop/pt_BR/faq.html", "pt"), ("https://example.com/zh-hans/", "zh"),
        ("https://example.com/faq", None), ("https://example.com/help/new/faq", None),
        ("https://example.com/a/b/c/fr/", None),  # only the first three segments
        ("https://de.example.com/faq", None),  # hosts are not the path
    ],
)
def test_url_language(url, language):
    assert url_language(url) == language


def test_declared_language():
    assert declared_language("en-US") == "en"
    assert declared_language("de, en") == "de"
    assert declared_language(None) is None


def test_decide_accepts_evidence_at_the_evidence_threshold():
    top = [("de", 0.80), ("en", 0.12), ("nl", 0.05)]
    assert decide(top, "en", None) == decide(top, "en", None)
    decision = decide(top, "en", None)
    assert (decision.language, decision.evidence, decision.score) == ("en", EVIDENCE_DECLARED, 0.12)
    below = [("de", 0.80), ("en", 0.11)]
    decision = decide(below, "en", None)
    assert (decision.language, decision.evidence) == ("de", EVIDENCE_MODEL)
    decision = decide(top, None, "en")
    assert (decision.language, decision.evidence) == ("en", EVIDENCE_URL)


def test_decide_prefers_the_better_scored_evidence():
    decision = decide([("es", 0.5), ("pt", 0.3), ("gl", 0.2)], "pt", "es")
    assert (decision.language, decision.evidence) == ("es", EVIDENCE_URL)


def test_decide_requires_the_model_threshold_without_evidence():
    assert decide([("de", 0.25), ("nl", 0.2)], None, None).language == "de"
    uncertain = decide([("de", 0.24), ("nl", 0.2)], None, None)
    assert uncertain.language is None and uncertain.top_language == "de"
    assert decide([("de", 0.24), ("nl", 0.2)], "fr", "it").language is None  # evidence absent from the top-k
    assert decide([], None, None).language is None


def test_thresholds_and_evidence_are_options():
    top = [("de", 0.3), ("en", 0.15)]
    assert decide(top, "en", None, LangIdConfig(evidence_threshold=0.2)).language == "de"
    assert decide(top, "en", None, LangIdConfig(use_declared=False)).language == "de"
    assert decide(top, None, None, LangIdConfig(model_threshold=0.5)).language is None


def test_accuracy_on_xquad_by_language(identifier):
    """Every XQuAD language at >= 0.97 on QAs of 30+ characters, with no page evidence to help."""
    config = LangIdConfig(use_declared=False, use_url=False)
    accuracy, confusions = {}, Counter()
    for language in LANGUAGES:
        pairs = [p for p in xquad_pairs(language)[::4] if len(p[1]) + len(p[2]) >= 30]
        decisions = identify(identifier, [p[1] for p in pairs], [p[2] for p in pairs], [None] * len(pairs),
                             [None] * len(pairs), [None] * len(pairs), config)
        predicted = [d.language for d in decisions]
        accuracy[language] = sum(p == language for p in predicted) / len(predicted)
        confusions.update((language, p) for p in predicted if p != language)
    assert min(accuracy.values()) >= 0.97, (accuracy, confusions.most_common(10))


def test_declared_language_rescues_a_short_ambiguous_text(identifier):
    # a short Romanian answer fastText hesitates over: the page's lang="ro" decides it
    question, answer = "Ce este un hotel?", "Un hotel este o clădire cu camere de închiriat."
    no_evidence = identify(identifier, [question], [answer], [None], [None], [None])[0]
    with_evidence = identify(identifier, [question], [answer], [None], ["ro-RO"], [None])[0]
    assert with_evidence.language == "ro"
    assert with_evidence.score >= 0.12
    assert no_evidence.top_language is not None


def test_model_is_loaded_once_per_process():
    path = str(need_model(default_model_path(), "language-id model"))
    assert load_identifier(path) is load_identifier(path)


def test_clean_langid_batch_without_spark(identifier):
    from faqmine.clean_langid.batch import REASON_COLUMN, clean_langid_batch, output_schema

    en = xquad_pairs("en")[0]
    th = xquad_pairs("th")[0]
    rows = [
        ("Q: " + en[1], en[2], "en"), (th[1], th[2], None), ("Why?", en[2], "en"),
        ("How many points did the defense give up?", "3 0 8 !!! ... ??? 1 2 3 4 5 6 7 8 9 0 ...", None),
    ]
    names = output_schema().names
    data = {name: [None] * len(rows) for name in names}
    data["question"] = [r[0] for r in rows]
    data["answer"] = [r[1] for r in rows]
    data["page_language"] = [r[2] for r in rows]
    data["url"] = ["https://example.com/faq"] * len(rows)
    from faqmine.core.schemas import load_schema

    raw = pa.RecordBatch.from_pydict({n: data[n] for n in load_schema("qa_raw").names})
    out = clean_langid_batch(raw, CleaningConfig(), LangIdConfig(model_path=str(default_model_path())))
    result = out.to_pydict()
    assert result["question"][0] == en[1]
    assert (result["language"][0], result["script"][0]) == ("en", "Latn")
    assert (result["language"][1], result["script"][1]) == ("th", "Thai")
    assert result[REASON_COLUMN][:3] == [None, None, "question_too_short"]
    assert result[REASON_COLUMN][3] in ("language_uncertain", None)
    assert result["language"][2] is None
