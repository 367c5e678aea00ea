"""The small edits a site makes when it copies another site's FAQ: the gold near-duplicates.

Each edit takes a QA's plain text and returns the edited plain text, or None when
it does not apply (no comma to change, no neighbouring sentence to add). The
kinds are those seen on scraper and reseller sites: boilerplate around the answer
(the copier's brand, an "A:" label), punctuation changes, a sentence added from
the same source text, and a reworded question (case, "Q:" label, question mark).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from faqmine.simulate.plaintext import normalize
from faqmine.simulate.xquad import XQuadCorpus

_FINAL_PUNCT = ".。!！?？।؟"
_QUESTION_MARK = {"zh": "？", "ar": "؟", "el": ";"}


def _join(language: str, *parts: str) -> str:
    return normalize(("" if language == "zh" else " ").join(p for p in parts if p))


def boilerplate(question: str, answer: str, language: str, brand: str, rng: random.Random,
                corpus: XQuadCorpus, qid: str, mode: str) -> tuple[str, str] | None:
    form = rng.randrange(5)
    if form == 0:
        return question, normalize(f"{answer} — {brand}")
    if form == 1:
        return question, normalize(f"{answer} ({brand})")
    if form == 2:
        return question, normalize(f"A: {answer}")
    if form == 3:
        return question, normalize(f"✔ {answer}")
    return question, normalize(f"{answer} [{brand}]")


def punctuation(question: str, answer: str, language: str, brand: str, rng: random.Random,
                corpus: XQuadCorpus, qid: str, mode: str) -> tuple[str, str] | None:
    comma = "，" if language == "zh" else ","
    if rng.random() < 0.5 and comma in answer:
        return question, normalize(answer.replace(comma, "；" if language == "zh" else ";", 1))
    if answer and answer[-1] in _FINAL_PUNCT and len(answer) > 1:
        return question, normalize(answer[:-1])
    return question, normalize(answer + ("。" if language == "zh" else "।" if language == "hi" else "."))


def sentence_added(question: str, answer: str, language: str, brand: str, rng: random.Random,
                   corpus: XQuadCorpus, qid: str, mode: str) -> tuple[str, str] | None:
    source = corpus.qa(language, qid)
    if mode == "sentence" and source.extended and source.extended != answer and answer == source.sentence:
        return question, source.extended
    # paragraph mode, or a text already changed: append a sentence from another paragraph of the article
    others = [q for q in corpus.article_qids[source.article] if corpus.qa(language, q).sentence not in answer]
    if not others:
        return None
    extra = corpus.qa(language, rng.choice(others)).sentence
    return question, _join(language, answer, extra)


def reworded_question(question: str, answer: str, language: str, brand: str, rng: random.Random,
                      corpus: XQuadCorpus, qid: str, mode: str) -> tuple[str, str] | None:
    form = rng.randrange(3)
    first = question[:1]
    if form == 0 and first.lower() != first.upper() and first != first.lower():
        return normalize(first.lower() + question[1:]), answer
    if form == 1:
        return normalize(f"Q: {question}"), answer
    mark = _QUESTION_MARK.get(language, "?")
    if question.endswith(("?", "？", "؟", ";")):
        return normalize(question[:-1]), answer
    return normalize(question + mark), answer


EDITS: dict[str, Callable[..., tuple[str, str] | None]] = {
    "boilerplate": boilerplate,
    "punctuation": punctuation,
    "sentence_added": sentence_added,
    "question_reworded": reworded_question,
}
_WEIGHTS = {"boilerplate": 3, "punctuation": 3, "sentence_added": 2, "question_reworded": 2}


def edit_copy(question: str, answer: str, language: str, brand: str, rng: random.Random, corpus: XQuadCorpus,
              qid: str, mode: str, verbatim_share: float = 0.25) -> tuple[str, str, tuple[str, ...]]:
    """A copied QA: verbatim (share `verbatim_share`) or with one or two edits. Returns (question, answer, edits)."""
    if rng.random() < verbatim_share:
        return question, answer, ()
    names = list(_WEIGHTS)
    wanted = 1 if rng.random() < 0.7 else 2
    applied: list[str] = []
    for _ in range(6):
        if len(applied) >= wanted:
            break
        name = rng.choices(names, weights=[_WEIGHTS[n] for n in names])[0]
        if name in applied:
            continue
        result = EDITS[name](question, answer, language, brand, rng, corpus, qid, mode)
        if result is None or result == (question, answer) or not result[0] or not result[1]:
            continue
        question, answer = result
        applied.append(name)
    return question, answer, tuple(applied)
