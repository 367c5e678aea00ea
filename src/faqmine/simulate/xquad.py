"""XQuAD as the simulator's source of real question-answer text in 12 languages.

XQuAD (Artetxe, Ruder & Yogatama 2019, CC BY-SA 4.0; copied under data/xquad/)
holds 1190 questions on 240 paragraphs of 48 Wikipedia articles, translated into
every language with the same question ids. One simulated QA is an XQuAD question
with, as its answer, either the sentence of the paragraph that holds the XQuAD
answer span (default) or the whole paragraph.

Sentences are found with per-script rules: `.!?` followed by space for Latin,
Cyrillic and Greek script, also `؟` for Arabic and `।` for Hindi, `。！？` for
Chinese, white space for Thai (which has no sentence punctuation). The span taken
always covers the whole answer and is widened with neighbouring sentences until
it is long enough to read as an answer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from faqmine.simulate.plaintext import clean_source

_SENTENCE_END = {
    "default": re.compile(r"(?<=[.!?])\s+"),
    "ar": re.compile(r"(?<=[.!?؟])\s+"),
    "hi": re.compile(r"(?<=[।॥.!?])\s+"),
    "zh": re.compile(r"(?<=[。！？])\s*|(?<=[.!?])\s+"),
    "th": re.compile(r"\s+"),
}
_MIN_CHARS = {"zh": 14, "th": 100}
_DEFAULT_MIN_CHARS = 30


@dataclass(frozen=True)
class XQuadQA:
    qid: str
    language: str
    article: int
    question: str
    sentence: str  # the answer in sentence mode
    extended: str  # the sentence with one neighbouring sentence added (a near-duplicate edit)
    paragraph: str  # the answer in paragraph mode


@dataclass
class XQuadCorpus:
    languages: tuple[str, ...]
    qas: dict[str, dict[str, XQuadQA]]  # language -> question id -> QA
    article_qids: list[list[str]]  # question ids of each article, in file order
    article_titles: list[str]
    paragraphs: dict[str, list[list[str]]]  # language -> article -> paragraph texts (page filler text)

    def qa(self, language: str, qid: str) -> XQuadQA:
        return self.qas[language][qid]

    def answer(self, language: str, qid: str, mode: str) -> str:
        qa = self.qas[language][qid]
        return qa.paragraph if mode == "paragraph" else qa.sentence


def sentence_spans(text: str, language: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of a raw paragraph."""
    pattern = _SENTENCE_END.get(language, _SENTENCE_END["default"])
    spans: list[tuple[int, int]] = []
    start = 0
    for match in pattern.finditer(text):
        if match.end() == 0 or match.start() <= start:
            continue
        spans.append((start, match.start()))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans or [(0, len(text))]


def answer_span(spans: list[tuple[int, int]], start: int, end: int, min_chars: int) -> tuple[int, int]:
    """Indices (first, last) of the sentences covering [start, end), widened to at least min_chars."""
    first = next((i for i, (s, e) in enumerate(spans) if start < e), len(spans) - 1)
    last = next((i for i, (s, e) in enumerate(spans) if end <= e), len(spans) - 1)
    last = max(first, last)
    while spans[last][1] - spans[first][0] < min_chars and (first > 0 or last < len(spans) - 1):
        if last < len(spans) - 1:
            last += 1
        else:
            first -= 1
    return first, last


def _load_language(path: Path, language: str) -> tuple[dict[str, XQuadQA], list[list[str]], list[list[str]], list[str]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    qas: dict[str, XQuadQA] = {}
    article_qids: list[list[str]] = []
    paragraphs: list[list[str]] = []
    titles: list[str] = []
    min_chars = _MIN_CHARS.get(language, _DEFAULT_MIN_CHARS)
    for a_idx, article in enumerate(data["data"]):
        titles.append(str(article.get("title", "")).replace("_", " "))
        qids: list[str] = []
        texts: list[str] = []
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            texts.append(clean_source(context))
            spans = sentence_spans(context, language)
            for q in paragraph["qas"]:
                answer = q["answers"][0]
                start = int(answer["answer_start"])
                end = start + max(1, len(answer["text"]))
                first, last = answer_span(spans, start, end, min_chars)
                sentence = clean_source(context[spans[first][0] : spans[last][1]])
                if last + 1 < len(spans):
                    extended = context[spans[first][0] : spans[last + 1][1]]
                elif first > 0:
                    extended = context[spans[first - 1][0] : spans[last][1]]
                else:
                    extended = ""
                qas[q["id"]] = XQuadQA(
                    qid=q["id"], language=language, article=a_idx, question=clean_source(q["question"]),
                    sentence=sentence, extended=clean_source(extended), paragraph=texts[-1],
                )
                qids.append(q["id"])
        article_qids.append(qids)
        paragraphs.append(texts)
    return qas, article_qids, paragraphs, titles


def load_xquad(folder: Path, languages: tuple[str, ...]) -> XQuadCorpus:
    """Read data/xquad/xquad.<lang>.json for the given languages (English titles are always read).

    The corpus is read-only once built; repeated loads in one process share it.
    """
    return _load_xquad(str(Path(folder).resolve()), tuple(sorted(languages)))


@lru_cache(maxsize=4)
def _load_xquad(folder_name: str, languages: tuple[str, ...]) -> XQuadCorpus:
    folder = Path(folder_name)
    qas: dict[str, dict[str, XQuadQA]] = {}
    paragraphs: dict[str, list[list[str]]] = {}
    article_qids: list[list[str]] | None = None
    titles: list[str] = []
    for language in sorted(set(languages) | {"en"}):
        path = folder / f"xquad.{language}.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: the simulator reads the repository data/ (see --data-dir)")
        lang_qas, lang_qids, lang_paragraphs, lang_titles = _load_language(path, language)
        if article_qids is None:
            article_qids = lang_qids
        elif lang_qids != article_qids:
            raise ValueError(f"{path}: question ids differ from the other languages")
        if language == "en":
            titles = lang_titles
        qas[language] = lang_qas
        paragraphs[language] = lang_paragraphs
    assert article_qids is not None
    return XQuadCorpus(tuple(sorted(languages)), qas, article_qids, titles, paragraphs)
