"""Cleaning of question-answer pairs as WebFAQ applies it: text repairs, then named drop rules.

Every knob lives in `CleaningConfig`; `clean_qa` cleans one pair and returns the cleaned
texts with the reason it must be dropped (or None). The rules, checked in this order, the
first that fires naming the drop:

- `answer_too_many_lines`  the raw answer holds `max_answer_line_breaks` or more line breaks
                           (counted before white space is collapsed)
- `question_too_short`     cleaned question shorter than `min_question_chars` characters
- `answer_too_short`       cleaned answer shorter than `min_answer_chars` characters
- `answer_is_question`     the cleaned answer ends with a question mark (any script's)
- `question_equals_answer` question and answer are the same text (case-folded)

Repairs applied to both texts before the rules (each counted when it changed something):
emojis and control/format characters removed (ZWNJ/ZWJ between letters kept: Persian and
Indic scripts need them), a leading "Q:"/"A:"/"Question 3:"/"1." label removed, wrapping
quotes removed, Unicode NFC, white space collapsed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from faqmine.core.options import option
from faqmine.core.text import collapse_whitespace

DROP_REASONS = (
    "answer_too_many_lines",
    "question_too_short",
    "answer_too_short",
    "answer_is_question",
    "question_equals_answer",
)


@dataclass(frozen=True)
class CleaningConfig:
    """The cleaning rules' thresholds and switches (the one place to change them)."""

    min_question_chars: int = option(10, help="shorter questions are dropped")
    min_answer_chars: int = option(30, help="shorter answers are dropped")
    max_answer_line_breaks: int = option(10, help="answers holding this many line breaks or more are dropped")
    drop_answer_questions: bool = option(True, flag="--keep-answer-questions",
                                         help="keep answers that end with a question mark")
    drop_question_equals_answer: bool = option(True, cli=False)
    strip_labels: bool = option(True, cli=False)  # leading Q:/A:/numbering
    strip_wrapping_quotes: bool = option(True, cli=False)
    remove_emojis: bool = option(True, cli=False)
    remove_control_chars: bool = option(True, cli=False)


@dataclass(frozen=True)
class CleanedQA:
    question: str
    answer: str
    drop_reason: str | None
    repairs: tuple[str, ...] = ()


# Emoji: pictographic blocks, dingbats and symbols used as emoji, regional indicators, keycaps,
# plus what glues emoji sequences together (ZWJ, variation selectors, skin tones, tag characters).
_EMOJI_CORE = (
    "\U0001f000-\U0001faff"  # mahjong .. symbols and pictographs extended-A (incl. flags, emoticons)
    "\u2600-\u27bf"  # miscellaneous symbols, dingbats
    "\u2b00-\u2bff"  # arrows and symbols (⭐ ⬛ ...)
    "\u231a\u231b\u2328\u23cf\u23e9-\u23f3\u23f8-\u23fa"  # emoji in miscellaneous technical
    "\u3030\u303d\u3297\u3299"
)
_EMOJI_GLUE = "\ufe0e\ufe0f\u20e3\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f"
_EMOJI = re.compile(f"[{_EMOJI_CORE}](?:[{_EMOJI_GLUE}]|\u200d[{_EMOJI_CORE}])*|[{_EMOJI_GLUE}]")
_LINE_BREAK = re.compile(r"\r\n|[\n\r\u2028\u2029\x0b\x0c\x85]")
_KEEP_FORMAT = {"\u200c", "\u200d"}  # ZWNJ, ZWJ: spelling in Persian, Indic scripts, Malayalam...

# Question/answer labels in the languages FAQ pages are most often written in, optionally numbered.
_LABEL_WORDS = (
    r"question|answer|ques|ans|frage|antwort|pregunta|respuesta|réponse|reponse|domanda|risposta|"
    r"pergunta|resposta|vraag|antwoord|pytanie|odpowiedź|odpowiedz|soru|cevap|câu hỏi|cau hoi|trả lời|"
    r"вопрос|ответ|питання|відповідь|ερώτηση|απάντηση|întrebare|intrebare|răspuns|raspuns|"
    r"问题|問題|问|問|回答|答案|答|質問|질문|답변|سؤال|الجواب|جواب|प्रश्न|उत्तर|คำถาม|คำตอบ|ถาม|ตอบ"
)
# "Q:", "A1)", "Question 3:", "Antwort -", "答：" ... A single-letter label needs a colon or ")" after it,
# and ".", ")" or a dash count as separators only before a space, so "Q-tips" or "A.I." stay whole.
_LABEL = re.compile(
    rf"^(?:[qa]\s*\d{{0,3}}\s*(?:[:：]|\)(?=\s))|(?:{_LABEL_WORDS})\s*\d{{0,3}}\s*(?:[:：]|[.)\-–—](?=\s)))\s*",
    re.IGNORECASE,
)
# "1. ", "1) ", "(1) ", "#1 ", "1 - ", "Q1 ", "2.3. " before a space; "1、" / "1．" / "1：" without one.
_NUMBERING = re.compile(
    r"^(?:(?:\(\d{1,3}\)|#\d{1,3}|[qQ]\d{1,3}|\d{1,3}(?:\.\d{1,2})*\s*[.)\]:]|\d{1,3}\s+[-–—])\s+"
    r"|\d{1,3}\s*[、．：])"
)
_QUOTE_PAIRS = {'"': '"', "'": "'", "“": "”", "„": "“", "«": "»", "»": "«", "‘": "’", "「": "」", "『": "』", "‹": "›"}
# NFC turns the Greek question mark U+037E into ";", so ";" ends a question only in Greek text.
_QUESTION_MARKS = ("?", "？", "؟", "՞", "፧", "⸮", "\u037e")
_GREEK = re.compile("[\u0370-\u03ff\u1f00-\u1fff]")


def count_line_breaks(text: str) -> int:
    return len(_LINE_BREAK.findall(text))


def remove_emojis(text: str) -> str:
    """Emojis (with their modifiers, joiners and keycaps) become spaces (collapsed later)."""
    return text if text.isascii() else _EMOJI.sub(" ", text)


def remove_control_chars(text: str) -> str:
    """Drop control (Cc) and format (Cf) characters; line breaks and tabs become spaces, ZWNJ/ZWJ stay."""
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat == "Cc":
            out.append(" " if ch in "\t\n\r\x0b\x0c\x85" else "")
        elif cat == "Cf" and ch not in _KEEP_FORMAT:
            continue
        else:
            out.append(ch)
    return "".join(out)


def strip_label(text: str) -> str:
    """Remove a leading "Q:", "Answer 2:", "Frage:" label, then a leading "1.", "(3)", "#2" number."""
    stripped = _NUMBERING.sub("", _LABEL.sub("", text, count=1), count=1)
    return stripped if stripped.strip() else text


def strip_wrapping_quotes(text: str) -> str:
    """`"How do I ...?"` -> `How do I ...?`, only when the quotes wrap the whole text and appear nowhere inside."""
    while len(text) >= 2:
        close = _QUOTE_PAIRS.get(text[0])
        if close is None or text[-1] != close:
            break
        inner = text[1:-1]
        if text[0] in inner or close in inner:
            break
        text = inner.strip()
    return text


def is_question(text: str) -> bool:
    """Ends with a question mark of any script (";" counting only after Greek text)."""
    text = text.rstrip()
    if text.endswith(_QUESTION_MARKS):
        return True
    return text.endswith(";") and _GREEK.search(text[-80:]) is not None


def _clean_text(text: str, config: CleaningConfig, repairs: list[str], label: bool = True) -> str:
    original = text
    if config.remove_emojis:
        text = remove_emojis(text)
        if text != original:
            repairs.append("emoji_removed")
    if config.remove_control_chars and not text.isprintable():
        before = text
        text = remove_control_chars(text)
        if text != before:
            repairs.append("control_removed")
    text = collapse_whitespace(unicodedata.normalize("NFC", text))
    if config.strip_labels and label:
        before = text
        text = strip_label(text)
        if text != before:
            repairs.append("label_stripped")
    if config.strip_wrapping_quotes:
        before = text
        text = strip_wrapping_quotes(text)
        if text != before:
            repairs.append("quotes_stripped")
    return text.strip()


def clean_qa(question: str, answer: str, config: CleaningConfig = CleaningConfig()) -> CleanedQA:
    """Clean one pair; `drop_reason` names the first rule it fails (see the module docstring)."""
    repairs: list[str] = []
    line_breaks = count_line_breaks(answer)
    q = _clean_text(question, config, repairs)
    a = _clean_text(answer, config, repairs)
    reason = None
    if line_breaks >= config.max_answer_line_breaks:
        reason = "answer_too_many_lines"
    elif len(q) < config.min_question_chars:
        reason = "question_too_short"
    elif len(a) < config.min_answer_chars:
        reason = "answer_too_short"
    elif config.drop_answer_questions and is_question(a):
        reason = "answer_is_question"
    elif config.drop_question_equals_answer and q.casefold() == a.casefold():
        reason = "question_equals_answer"
    return CleanedQA(q, a, reason, tuple(sorted(set(repairs))))
