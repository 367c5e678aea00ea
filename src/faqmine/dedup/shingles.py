"""Text normalisation for deduplication, exact-duplicate keys, and shingles that work for every script.

`normalize_for_dedup` is NFKC + case folding + punctuation and symbols turned into spaces
(combining marks kept, so Thai and Indic words stay whole). `exact_key` hashes the
normalised question and answer. `shingles` turns a text into the set MinHash sees; a QA
gives two sets, its question's and its answer's (`qa_shingle_sets`), each shingled by:

- word n-grams (`word_ngram`, 3) for text written with spaces between words;
- character n-grams (`char_ngram`, 5) for Chinese, Japanese, Thai, Lao, Khmer, Myanmar, Tibetan
  (scripts without spaces: a share of `no_space_share` of the characters or more) and for short
  texts (fewer than `min_words` words), where a few word n-grams would make Jaccard too coarse.

Shingles are UTF-8 bytes, the input datasketch's `MinHash.update` takes.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from faqmine.core.options import option

_SEP = "\x1f"
_NO_SPACE = re.compile(
    "[\u0e00-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\U00020000-\U0003134f]"
)


@dataclass(frozen=True)
class ShingleConfig:
    """How a QA becomes a set of shingles (the one place to change it)."""

    word_ngram: int = option(3, help="words per shingle")
    char_ngram: int = option(5, help="characters per shingle of texts shingled by characters")
    min_words: int = option(8, help="texts with fewer words are shingled by characters")
    no_space_share: float = option(0.3, cli=False)  # texts with this share of no-space script: by characters


class _PunctuationToSpace(dict):
    """str.translate table: punctuation (P*) and symbols (S*) -> a space, everything else kept.

    Filled lazily, one entry per distinct code point met, so no process pays for the whole
    of Unicode up front."""

    def __missing__(self, cp: int) -> int | str:
        value: int | str = " " if unicodedata.category(chr(cp))[0] in "PS" else cp
        self[cp] = value
        return value


_PUNCTUATION_TO_SPACE = _PunctuationToSpace()


def normalize_for_dedup(text: str) -> str:
    """NFKC, case-folded, punctuation and symbols removed, white space collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().translate(_PUNCTUATION_TO_SPACE).split())


def exact_key_of_normalized(question: str, answer: str) -> str:
    return hashlib.sha1((question + _SEP + answer).encode("utf-8")).hexdigest()


def exact_key(question: str, answer: str) -> str:
    """sha1 hex of the normalised question and answer: equal for pairs that differ only in case,
    punctuation, white space or Unicode form."""
    return exact_key_of_normalized(normalize_for_dedup(question), normalize_for_dedup(answer))


def join_normalized(question: str, answer: str) -> str:
    return f"{question} {answer}" if question and answer else question or answer


def dedup_text(question: str, answer: str) -> str:
    """The normalised text near-duplicate detection compares: question then answer."""
    return join_normalized(normalize_for_dedup(question), normalize_for_dedup(answer))


def uses_char_ngrams(normalized: str, config: ShingleConfig = ShingleConfig()) -> bool:
    """Character n-grams for no-space scripts and short texts; word n-grams otherwise."""
    words = normalized.count(" ") + 1 if normalized else 0
    if words < config.min_words:
        return True
    letters = len(normalized) - words + 1
    return letters > 0 and len(_NO_SPACE.findall(normalized)) >= config.no_space_share * letters


def shingles(normalized: str, config: ShingleConfig = ShingleConfig()) -> list[bytes]:
    """The distinct shingles of a normalised text, in first-seen order, as UTF-8 bytes."""
    if not normalized:
        return []
    if uses_char_ngrams(normalized, config):
        n = config.char_ngram
        if len(normalized) <= n:
            grams = [normalized]
        else:
            grams = [normalized[i:i + n] for i in range(len(normalized) - n + 1)]
    else:
        words = normalized.split(" ")
        n = config.word_ngram
        if len(words) <= n:
            grams = [normalized]
        else:
            grams = [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)]
    return [g.encode("utf-8") for g in dict.fromkeys(grams)]


def qa_shingles(question: str, answer: str, config: ShingleConfig = ShingleConfig()) -> list[bytes]:
    """One set for question and answer together (used to measure, not by dedup itself)."""
    return shingles(dedup_text(question, answer), config)


def qa_shingle_sets(
    question: str, answer: str, config: ShingleConfig = ShingleConfig()
) -> tuple[list[bytes], list[bytes]]:
    """The question's and the answer's shingles, each text shingled by its own script and length."""
    return shingles(normalize_for_dedup(question), config), shingles(normalize_for_dedup(answer), config)


def shingle_kind(normalized: str, config: ShingleConfig = ShingleConfig()) -> str:
    """`char` or `word`: which n-grams `shingles` uses for this text."""
    return "char" if uses_char_ngrams(normalized, config) else "word"


def jaccard(a: Sequence[bytes], b: Sequence[bytes]) -> float:
    """Exact Jaccard similarity of two shingle sets (1.0 for two empty sets)."""
    sa, sb = set(a), set(b)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)
