"""Per-language tokenisation for BM25.

Space-separated languages: NFKC, lower case, punctuation and symbols turned into spaces,
split on white space (no stemming, no stop words: the same rule for every language).
Languages written without spaces between words (Chinese, Japanese, Thai, plus Lao,
Khmer, Burmese): overlapping character bigrams of each run of letters, so a query and a
document share terms without a word segmenter; runs in another script inside such a text
(Latin brand names, digits) stay whole words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

BIGRAM_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "km", "my", "yue", "wuu"})

# Scripts without spaces between words: CJK ideographs, kana, Thai, Lao, Khmer, Myanmar.
_NO_SPACE_CHAR = re.compile(
    "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f\u0e80-\u0eff\u1780-\u17ff\u1000-\u109f]"
)


def _strip_punctuation(text: str) -> str:
    return "".join(" " if unicodedata.category(ch)[0] in "PSZC" else ch for ch in text)


def _base_language(language: str) -> str:
    return language.lower().replace("_", "-").split("-")[0]


def uses_bigrams(language: str) -> bool:
    """True for languages tokenised into character bigrams."""
    return _base_language(language) in BIGRAM_LANGUAGES or language.lower() in BIGRAM_LANGUAGES


def _bigrams(run: str) -> list[str]:
    if len(run) < 2:
        return [run] if run else []
    return [run[i : i + 2] for i in range(len(run) - 1)]


def _segments(word: str) -> list[tuple[bool, str]]:
    """Split a word into runs of no-space-script characters (True) and of other characters (False);
    a combining mark (Thai vowel and tone marks) stays in the run of the letter it follows."""
    out: list[tuple[bool, str]] = []
    for ch in word:
        mark = unicodedata.category(ch).startswith("M")
        kind = bool(_NO_SPACE_CHAR.match(ch)) and not mark
        if mark and out:
            kind = out[-1][0]
        if out and out[-1][0] == kind:
            out[-1] = (kind, out[-1][1] + ch)
        else:
            out.append((kind, ch))
    return out


def tokenize(text: str, language: str) -> list[str]:
    """BM25 terms of one text in `language` (an ISO 639-1 code; a region suffix is ignored)."""
    words = _strip_punctuation(unicodedata.normalize("NFKC", text).lower()).split()
    if not uses_bigrams(language):
        return words
    terms: list[str] = []
    for word in words:
        for no_space, run in _segments(word):
            terms.extend(_bigrams(run) if no_space else [run])
    return terms


def tokenize_many(texts: Iterable[str], languages: Iterable[str] | str) -> list[list[str]]:
    """`tokenize` over texts, with one language for all or one per text."""
    texts = list(texts)
    langs = [languages] * len(texts) if isinstance(languages, str) else list(languages)
    if len(langs) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(langs)} languages")
    return [tokenize(t, lang) for t, lang in zip(texts, langs, strict=True)]
