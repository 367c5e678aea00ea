"""Lexical retrieval: one tokeniser for all languages, BM25 (bm25s) over a shard with the whole corpus' statistics.

Tokenisation (`tokenize`), the same for indexing and for queries, in training and in mining:

- NFKC, then case folding;
- split on white space, punctuation and symbols (combining marks stay inside their word, so
  Hindi, Thai or Arabic words are not cut at vowel signs);
- runs of scripts written without spaces (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar,
  Tibetan) become overlapping character bigrams (one character alone stays a unigram); Latin
  words or digits inside such text stay words. Chinese, Japanese and Thai thus get character
  bigrams, every other language words.

BM25: `CorpusBM25` is a `bm25s.BM25` whose index is built (through bm25s' `build_index_from_ids`
hook, with bm25s' own idf and term-frequency formulas) from the documents of one shard but with
the statistics of the whole corpus of the language: number of documents, mean document length
and document frequencies. A document's score for a query therefore does not depend on which
other documents share its shard, so cutting a corpus into shards changes no score, and with
the statistics of its own documents it scores exactly as `bm25s.BM25` does. Vocabulary ids are
given in token order (not first-seen order), and a query's tokens are summed in that order, so
the float sums, too, are the same in every shard.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import bm25s
import numpy as np
import scipy.sparse as sp
from bm25s.scoring import _select_idf_scorer, _select_tfc_scorer

from faqmine.core.options import option

# Scripts written without spaces between words: character bigrams.
_NO_SPACE_RANGES = (
    "\u0e00-\u0eff"  # Thai, Lao
    "\u0f00-\u0fff"  # Tibetan
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u3040-\u30ff\u31f0-\u31ff"  # Hiragana, Katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # Han
    "\U00020000-\U0003134f"  # Han extensions
)
_NO_SPACE_RUN = re.compile(f"[{_NO_SPACE_RANGES}]+")
METHODS = ("lucene", "robertson", "atire")  # bm25s variants that need no non-occurrence term


@cache
def _word_pattern() -> re.Pattern:
    """Letters, digits and combining marks (Mn, Mc, Me): `\\w` alone would cut words at vowel signs."""
    ranges: list[tuple[int, int]] = []
    # marks live in the first two planes, bar the variation selectors supplement (E0100-E01EF)
    for code in [*range(0x20000), *range(0xE0100, 0xE01F0)]:
        if unicodedata.category(chr(code))[0] == "M":
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    marks = "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)
    return re.compile(f"(?:[^\\W_]|[{marks}])+")


def _bigrams(run: str) -> list[str]:
    return [run] if len(run) == 1 else [run[i:i + 2] for i in range(len(run) - 1)]


def tokenize(text: str, language: str | None = None) -> list[str]:
    """Tokens of `text` in order (see the module doc). `language` is accepted for symmetry with callers
    that know it; the rule follows the script of each word, so mixed-script text is handled too."""
    out: list[str] = []
    for word in _word_pattern().findall(unicodedata.normalize("NFKC", text).casefold()):
        if not _NO_SPACE_RUN.search(word):
            out.append(word)
            continue
        position = 0
        for match in _NO_SPACE_RUN.finditer(word):
            if match.start() > position:
                out.append(word[position:match.start()])
            out.extend(_bigrams(match.group()))
            position = match.end()
        if position < len(word):
            out.append(word[position:])
    return out


def tokenize_many(texts: Iterable[str], language: str | None = None) -> list[list[str]]:
    return [tokenize(text, language) for text in texts]


def query_terms(tokens: Iterable[str]) -> list[str]:
    """The distinct tokens of a query in token order: each term counts once, summed in a fixed order."""
    return sorted(set(tokens))


def document_frequencies(docs_tokens: Iterable[Sequence[str]]) -> Counter:
    """token -> number of documents holding it."""
    counts: Counter = Counter()
    for tokens in docs_tokens:
        counts.update(set(tokens))
    return counts


@dataclass(frozen=True)
class BM25Params:
    """bm25s' knobs (its defaults)."""

    k1: float = option(1.5, flag="--bm25-k1")
    b: float = option(0.75, flag="--bm25-b")
    method: str = option("lucene", flag="--bm25-method", choices=METHODS, help="bm25s scoring variant")

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")


@dataclass(frozen=True)
class CorpusStats:
    """Statistics of a language's whole corpus that BM25 scores depend on."""

    n_docs: int
    avg_doc_len: float


def corpus_stats(docs_tokens: Sequence[Sequence[str]]) -> CorpusStats:
    lengths = [len(t) for t in docs_tokens]
    return CorpusStats(n_docs=len(lengths), avg_doc_len=float(np.mean(lengths)) if lengths else 0.0)


class CorpusBM25(bm25s.BM25):
    """A bm25s index of some documents, scored with a whole corpus' statistics (see the module doc).

    `doc_freqs` maps tokens to their document frequency in the whole corpus; tokens it does not
    hold get no score (give it the tokens of the queries to be searched: nothing else is needed).
    """

    def __init__(self, stats: CorpusStats, doc_freqs: Mapping[str, int], params: BM25Params = BM25Params()) -> None:
        super().__init__(k1=params.k1, b=params.b, method=params.method, backend="numpy", csc_backend="scipy")
        self.stats = stats
        self.doc_freqs = doc_freqs
        self._vocab_tokens: list[str] = []

    def build_index_from_tokens(self, corpus_tokens, show_progress=True, leave_progress=False):
        self._vocab_tokens = sorted({t for tokens in corpus_tokens for t in tokens if t in self.doc_freqs})
        vocab = {token: i for i, token in enumerate(self._vocab_tokens)}
        # tokens without a corpus frequency still count in the document's length: keep them as -1
        ids = [[vocab.get(t, -1) for t in tokens] for tokens in corpus_tokens]
        return self.build_index_from_ids(list(range(len(vocab))), ids, show_progress, leave_progress), vocab

    def build_index_from_ids(self, unique_token_ids, corpus_token_ids, show_progress=True, leave_progress=False):
        n_docs, n_vocab = len(corpus_token_ids), len(unique_token_ids)
        idf_of = _select_idf_scorer(self.idf_method)
        idf = np.array([idf_of(self.doc_freqs[t], N=self.stats.n_docs) for t in self._vocab_tokens], dtype=self.dtype)
        rows, cols, tfs, lengths = [], [], [], []
        for doc, ids in enumerate(corpus_token_ids):
            counts = Counter(i for i in ids if i >= 0)
            rows.extend([doc] * len(counts))
            cols.extend(counts.keys())
            tfs.extend(counts.values())
            lengths.extend([len(ids)] * len(counts))
        # float64 arithmetic cast to float32 at the end, as bm25s does with its scalar document lengths
        tf = np.asarray(tfs, dtype=np.float64)
        cols_array = np.asarray(cols, dtype=np.int64)
        tfc = _select_tfc_scorer(self.method)(tf_array=tf, l_d=np.asarray(lengths, dtype=np.float64),
                                              l_avg=np.float64(self.stats.avg_doc_len), k1=self.k1, b=self.b,
                                              delta=self.delta)
        data = (idf[cols_array] * tfc).astype(self.dtype) if len(tf) else np.zeros(0, self.dtype)
        matrix = sp.csc_matrix((data, (np.asarray(rows, dtype=np.int64), cols_array)), shape=(n_docs, n_vocab),
                               dtype=self.dtype)
        matrix.sort_indices()
        self.nonoccurrence_array = None
        return {"data": matrix.data, "indices": matrix.indices, "indptr": matrix.indptr, "num_docs": n_docs}

    def index_tokens(self, docs_tokens: Sequence[Sequence[str]]) -> CorpusBM25:
        self.index(list(docs_tokens), create_empty_token=False, show_progress=False)
        return self

    def score_matrix(self, queries_tokens: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """(queries x documents) sparse BM25 scores: one product for all queries, terms summed in token order."""
        vocab = self.vocab_dict
        indptr, indices = [0], []
        for tokens in queries_tokens:
            ids = sorted({vocab[t] for t in tokens if t in vocab})
            indices.extend(ids)
            indptr.append(len(indices))
        queries = sp.csr_matrix((np.ones(len(indices), dtype=self.dtype), np.asarray(indices, dtype=np.int32),
                                 np.asarray(indptr, dtype=np.int64)), shape=(len(queries_tokens), len(vocab)))
        scores = self.scores
        by_token = sp.csr_matrix((scores["data"], scores["indices"], scores["indptr"]),
                                 shape=(len(vocab), scores["num_docs"]))
        return (queries @ by_token).tocsr()
