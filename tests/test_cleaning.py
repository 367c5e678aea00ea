"""Each cleaning rule of faqmine.clean_langid.cleaning: its repair or its named drop reason."""

from __future__ import annotations

import unicodedata

import pytest

from faqmine.clean_langid.cleaning import (
    DROP_REASONS,
    CleaningConfig,
    clean_qa,
    count_line_breaks,
    is_question,
    remove_control_chars,
    remove_emojis,
    strip_label,
    strip_wrapping_quotes,
)

ANSWER = "You can return any item within thirty days of delivery for a full refund."


def test_a_good_pair_is_kept_unchanged():
    cleaned = clean_qa("How long do I have to return an item?", ANSWER)
    assert cleaned.drop_reason is None
    assert cleaned.question == "How long do I have to return an item?"
    assert cleaned.answer == ANSWER
    assert cleaned.repairs == ()


@pytest.mark.parametrize(
    ("question", "answer", "reason"),
    [
        ("Why?", ANSWER, "question_too_short"),
        ("Shipping?", ANSWER, "question_too_short"),  # 9 characters
        ("How long is shipping?", "Two days.", "answer_too_short"),
        ("How long is shipping?", "   Two to three working days.   ", "answer_too_short"),  # 29 after stripping
        ("How long is shipping?", "Have you checked the tracking page of your order?", "answer_is_question"),
        ("Wie lange dauert der Versand?", "Haben Sie schon die Sendungsverfolgung geprüft？", "answer_is_question"),
        ("ما هي مدة الشحن المتوقعة؟", "هل قمت بمراجعة صفحة تتبع الطلب الخاصة بك؟", "answer_is_question"),
        ("Πόσο διαρκεί η αποστολή;", "Έχετε ελέγξει τη σελίδα παρακολούθησης της παραγγελίας;", "answer_is_question"),
        ("What does the warranty cover exactly?", "What does the warranty cover exactly?", "answer_is_question"),
        ("The warranty covers parts and labour.", "The warranty covers parts and labour.", "question_equals_answer"),
        ("How long is shipping?", "\n".join(["line of the answer"] * 11), "answer_too_many_lines"),
    ],
)
def test_drop_rules_name_their_reason(question, answer, reason):
    assert reason in DROP_REASONS
    assert clean_qa(question, answer).drop_reason == reason


def test_length_limits_are_exact_and_configurable():
    assert clean_qa("x" * 10, "y" * 30).drop_reason is None
    assert clean_qa("x" * 9, "y" * 30).drop_reason == "question_too_short"
    assert clean_qa("x" * 10, "y" * 29).drop_reason == "answer_too_short"
    relaxed = CleaningConfig(min_question_chars=3, min_answer_chars=5)
    assert clean_qa("Why?", "Because.", relaxed).drop_reason is None


def test_semicolon_ends_a_question_only_in_greek():
    assert is_question("Τι είναι αυτό;")
    assert is_question("Τι είναι αυτό\u037e")
    assert not is_question("Set the flag to true and call init();")


def test_line_breaks_counted_on_the_raw_answer():
    assert count_line_breaks("a\nb\r\nc\rd\u2028e") == 4
    nine = "\n".join(["a line of text"] * 10)  # 9 breaks
    assert clean_qa("How is it formatted?", nine).drop_reason is None
    assert clean_qa("How is it formatted?", nine, CleaningConfig(max_answer_line_breaks=9)).drop_reason == (
        "answer_too_many_lines"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Q: How do I reset my password?", "How do I reset my password?"),
        ("q:How do I reset my password?", "How do I reset my password?"),
        ("A: Open the settings page and click reset.", "Open the settings page and click reset."),
        ("Question 3: Can I pay by card?", "Can I pay by card?"),
        ("Answer - yes, every major card.", "yes, every major card."),
        ("Frage: Wie lange dauert der Versand?", "Wie lange dauert der Versand?"),
        ("Вопрос: Сколько стоит доставка?", "Сколько стоит доставка?"),
        ("问：运费是多少？", "运费是多少？"),
        ("1. How do I reset my password?", "How do I reset my password?"),
        ("12) How do I reset my password?", "How do I reset my password?"),
        ("(4) How do I reset my password?", "How do I reset my password?"),
        ("Q1 How do I reset my password?", "How do I reset my password?"),
        ("Q2: 1. How do I reset my password?", "How do I reset my password?"),
        ("3、运费是多少？", "运费是多少？"),
        # not labels
        ("Q-tips are not sold here.", "Q-tips are not sold here."),
        ("A.I. features are included in every plan.", "A.I. features are included in every plan."),
        ("3.5 million users trust us.", "3.5 million users trust us."),
        ("2024 prices are final.", "2024 prices are final."),
        ("Answers to common questions are below.", "Answers to common questions are below."),
    ],
)
def test_leading_labels_and_numbering_are_stripped(text, expected):
    assert strip_label(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"How do I reset my password?"', "How do I reset my password?"),
        ("“How do I reset my password?”", "How do I reset my password?"),
        ("«Comment réinitialiser mon mot de passe ?»", "Comment réinitialiser mon mot de passe ?"),
        ("「パスワードをリセットするには？」", "パスワードをリセットするには？"),
        ('"Yes" and "no" are both valid', '"Yes" and "no" are both valid'),
        ('"Yes", she said, "it is"', '"Yes", she said, "it is"'),
    ],
)
def test_wrapping_quotes_are_stripped(text, expected):
    assert strip_wrapping_quotes(text) == expected


def test_emojis_are_removed_with_their_modifiers_and_joiners():
    assert remove_emojis("Fast shipping 🚚 to 🇩🇪 and 👩🏽‍💻 support ✔️").split() == [
        "Fast", "shipping", "to", "and", "support"
    ]
    assert remove_emojis("plain ascii text") == "plain ascii text"
    # letters of every script survive
    for text in ("Ελληνικά κείμενα", "ภาษาไทย", "中文文本", "हिन्दी", "می‌خواهم"):
        assert remove_emojis(text) == text


def test_control_characters_removed_but_zwnj_kept():
    assert remove_control_chars("a\x00b\u200bc\ufeffd\u00ade") == "abcde"
    assert remove_control_chars("می\u200cخواهم") == "می\u200cخواهم"  # Persian needs ZWNJ
    assert remove_control_chars("tab\there") == "tab here"


def test_clean_qa_applies_every_repair_and_reports_it():
    cleaned = clean_qa(
        "Q: \u201cHow do I pay?\u201d \U0001f4b3",
        "A: You can pay by card, bank transfer or invoice\x07 on every order.",
    )
    assert cleaned.drop_reason is None
    assert cleaned.question == "How do I pay?"
    assert cleaned.answer == "You can pay by card, bank transfer or invoice on every order."
    assert set(cleaned.repairs) == {"emoji_removed", "control_removed", "label_stripped", "quotes_stripped"}


def test_output_is_nfc():
    decomposed = unicodedata.normalize("NFD", "Où se trouve le café de la gare ?")
    cleaned = clean_qa(decomposed, "Le café se trouve juste à côté de la gare principale.")
    assert cleaned.question == unicodedata.normalize("NFC", cleaned.question)
    assert cleaned.question == "Où se trouve le café de la gare ?"


def test_switches_turn_repairs_off():
    config = CleaningConfig(strip_labels=False, strip_wrapping_quotes=False, remove_emojis=False)
    cleaned = clean_qa('Q: "How do I pay?" 💳', ANSWER, config)
    assert cleaned.question == 'Q: "How do I pay?" 💳'
