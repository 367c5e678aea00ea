"""Hard-negative mining for retrieval training: recall per shard, top-k merging, teacher scores, false-negative filters.

The Spark stage (faqmine.spark.mine_negatives) calls steps 1, 3, 4 and 5 on Arrow batches (5 per
query, grouped); it merges the shards' lists (2) with a window. `mine_language` composes the same
functions in memory for one language; the unit tests use it to check that one shard and many give
the same negatives.

1. Recall (`search_shard`): the documents of one shard of a language's corpus, every query of
   the language. Lexical: BM25 (faqmine.search.lexical) with the whole corpus' statistics; dense:
   faiss inner product over unit vectors of the encoder (queries with its query prompt,
   documents with its passage prompt). Each list is the k best by (score desc, doc_id asc);
   dense candidates are re-scored exactly (`pair_scores`) and the faiss search widened while
   ties reach past its end, so a shard's list is the same whatever faiss' kernels do.
2. Merge (`merge_top_k`): the shards' lists of a query, again the k best by (score desc,
   doc_id asc): the same list as one shard holding the whole corpus. Candidates are the union
   of both lists; `source` says which found them (bm25, dense or both).
3. Teacher (`EncoderTeacher`, `CrossEncoderTeacher`): one score per (query, document) for
   every candidate and the positive; kept for MarginMSE distillation. The cross-encoder is trained by
   the pipeline itself (faqmine.retrieval.reranker, `faqmine models train-reranker`).
4. Filters (`filter_reasons`): the first rule that applies names why a candidate is not a
   negative, in this order: `is_positive`, `qrels_positive` (judged relevant in the qrels),
   `same_answer` (same normalised answer text), `duplicate_of_positive` and
   `translation_of_positive` (same group in the duplicates / bitext graph), then
   sentence-transformers' `mine_hard_negatives` rules with its knob names and semantics:
   `absolute_margin` (drop if score + margin > positive score), `relative_margin` (drop if
   score > positive score - |positive score| * margin), `max_score` (drop if score >
   max_score), `min_score` (drop if score < min_score: too easy).
5. Selection (`select_negatives`): the rest by (teacher score desc, doc_id asc); a candidate
   whose answer text (answer key) a better one already has is `duplicate_negative` (a list
   holds each text once, as sentence-transformers' deduplicated corpus does); of the others the
   first `range_min` are skipped (`range_min`), then `num_negatives` are kept, the rest are
   `beyond_num_negatives`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from faqmine.core.options import option, optional_float
from faqmine.embedding.encode import EncodeConfig, encode_texts
from faqmine.search.dense import ExactIndex
from faqmine.search.lexical import BM25Params, CorpusBM25, CorpusStats, query_terms, tokenize_many

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

IDENTITY_REASONS = ("is_positive", "qrels_positive", "same_answer", "duplicate_of_positive", "translation_of_positive")
SCORE_REASONS = ("absolute_margin", "relative_margin", "max_score", "min_score")
SELECTION_REASONS = ("duplicate_negative", "range_min", "beyond_num_negatives")
REASONS = IDENTITY_REASONS + SCORE_REASONS + SELECTION_REASONS
QUERY_PROMPT = "query"
DOCUMENT_PROMPT = "passage"
DEFAULT_K = 200  # WebFAQ 2.0: BM25 top-200


@dataclass(frozen=True)
class RecallConfig:
    """How many candidates each retriever contributes, and BM25's knobs."""

    k: int = option(DEFAULT_K, help="BM25 top-k per query (and dense, unless --dense-k); 0 switches BM25 off")
    dense_k: int | None = option(None, help="dense top-k per query (default: --k)")
    bm25: BM25Params = field(default_factory=BM25Params)
    dense_slack: int = option(16, cli=False)  # extra faiss hits re-scored exactly before the top-k is cut
    query_chunk: int = option(256, cli=False)  # queries per sparse product (bounds memory: chunk x shard documents)

    def __post_init__(self) -> None:
        if self.k < 0 or (self.dense_k is not None and self.dense_k < 0):
            raise ValueError("k must be at least 0")
        if self.k == 0 and self.dense_k == 0:
            raise ValueError("at least one of the lexical and dense retrievers needs k > 0")

    @property
    def lexical_k(self) -> int:
        return self.k

    @property
    def semantic_k(self) -> int:
        return self.k if self.dense_k is None else self.dense_k


@dataclass(frozen=True)
class FilterConfig:
    """False-negative filters and selection, with sentence-transformers' `mine_hard_negatives` knob names.

    Defaults are calibrated for the default teacher (multilingual-e5-small cosine) on the
    simulator's truth (bench/quality_negatives.py): relative_margin 0.05 is NV-Retriever's
    TopK-PercPos (95%) that sentence-transformers recommends.
    """

    absolute_margin: float | None = option(None, parse=optional_float,
                                           help="drop a candidate if its score + margin > the positive's")
    relative_margin: float | None = option(0.05, parse=optional_float,
                                           help="drop a candidate if its score > positive - |positive| * margin")
    max_score: float | None = option(None, parse=optional_float, help="drop a candidate scoring above this")
    min_score: float | None = option(None, parse=optional_float,
                                     help="drop a candidate scoring below this (too easy)")
    num_negatives: int = option(DEFAULT_K, help="negatives kept per query, best teacher score first")
    range_min: int = option(0, help="skip this many best remaining candidates")

    def __post_init__(self) -> None:
        if self.num_negatives < 1:
            raise ValueError(f"num_negatives must be at least 1, got {self.num_negatives}")
        if self.range_min < 0:
            raise ValueError(f"range_min must be non-negative, got {self.range_min}")


# -- deterministic top-k -------------------------------------------------------------------------------------------


def top_k_positions(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k best scores, by (score desc, position asc): with positions in doc_id order, ties go to the
    smaller doc_id whichever way the scores were computed."""
    n = len(scores)
    if k <= 0 or n == 0:
        return np.zeros(0, dtype=np.int64)
    if n > k:
        kth = np.partition(scores, n - k)[n - k]
        positions = np.flatnonzero(scores >= kth)
    else:
        positions = np.arange(n)
    order = np.lexsort((positions, -scores[positions].astype(np.float64)))
    return positions[order[:k]].astype(np.int64)


def pair_scores(queries: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """Row-wise inner products of two (n, dim) float32 matrices, computed the same way for a pair wherever it is."""
    if len(queries) == 0:
        return np.zeros(0, dtype=np.float32)
    return np.einsum("ij,ij->i", np.asarray(queries, np.float32), np.asarray(docs, np.float32),
                     dtype=np.float32, optimize=False)


@dataclass
class Hits:
    """Candidates found in one shard: query and document positions, retriever, its score, and the pair's cosine."""

    query: np.ndarray
    doc: np.ndarray
    source: np.ndarray  # "bm25" or "dense"
    score: np.ndarray
    cosine: np.ndarray

    def __len__(self) -> int:
        return len(self.query)


def _concat(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], source: str) -> Hits:
    if not parts:
        empty = np.zeros(0, np.int64)
        return Hits(empty, empty, np.zeros(0, object), np.zeros(0, np.float32), np.zeros(0, np.float32))
    query = np.concatenate([p[0] for p in parts]).astype(np.int64)
    doc = np.concatenate([p[1] for p in parts]).astype(np.int64)
    score = np.concatenate([p[2] for p in parts]).astype(np.float32)
    return Hits(query, doc, np.full(len(query), source, dtype=object), score, np.zeros(len(query), np.float32))


def bm25_hits(index: CorpusBM25, queries_terms: Sequence[Sequence[str]], k: int, chunk: int = 256) -> Hits:
    """Each query's k best documents of the index with a positive BM25 score."""
    parts = []
    n_docs = index.scores["num_docs"]
    chunk = max(1, min(chunk, 5_000_000 // max(n_docs, 1)))
    for start in range(0, len(queries_terms), chunk):
        matrix = index.score_matrix(queries_terms[start:start + chunk])
        for row in range(matrix.shape[0]):
            lo, hi = matrix.indptr[row], matrix.indptr[row + 1]
            docs, scores = matrix.indices[lo:hi], matrix.data[lo:hi]
            keep = scores > 0
            docs, scores = docs[keep], scores[keep]
            order = np.argsort(docs, kind="stable")  # positions in doc order before the tie-break
            docs, scores = docs[order], scores[order]
            best = top_k_positions(scores, k)
            parts.append((np.full(len(best), start + row), docs[best], scores[best]))
    return _concat(parts, "bm25")


def dense_hits(queries: np.ndarray, docs: np.ndarray, k: int, slack: int = 16) -> Hits:
    """Each query's k best documents by exact inner product (faiss finds them, `pair_scores` scores them)."""
    n = len(docs)
    if k <= 0 or n == 0 or len(queries) == 0:
        return _concat([], "dense")
    index = ExactIndex(docs)
    parts = []
    pending = np.arange(len(queries))
    depth = min(n, k + slack)
    while len(pending):
        _, found = index.search(queries[pending], depth)
        widen = []
        for row, q in enumerate(pending):
            ids = found[row][found[row] >= 0]
            ids = np.sort(ids)
            exact = pair_scores(np.repeat(queries[q:q + 1], len(ids), axis=0), docs[ids])
            best = top_k_positions(exact, k)
            # a hit below the k-th best could be cut at faiss' end with equal (or nearly equal) scores beyond it
            if depth < n and len(best) and exact.min() >= exact[best[-1]] - 1e-5:
                widen.append(q)
                continue
            parts.append((np.full(len(best), q), ids[best], exact[best]))
        pending = np.asarray(widen, dtype=np.int64)
        depth = min(n, depth * 2)
    return _concat(parts, "dense")


def search_shard(doc_ids: Sequence[str], doc_texts: Sequence[str], doc_vectors: np.ndarray,
                 queries_terms: Sequence[Sequence[str]], query_vectors: np.ndarray, stats: CorpusStats,
                 doc_freqs: Mapping[str, int], config: RecallConfig = RecallConfig()) -> Hits:
    """Lexical and dense candidates of every query among one shard's documents (any order: sorted here by doc_id).

    Returned positions index `doc_ids` as given. `cosine` is the exact inner product of every hit's vectors.
    """
    order = np.argsort(np.asarray(doc_ids, dtype=object), kind="stable")
    texts = [doc_texts[i] for i in order]
    vectors = np.ascontiguousarray(doc_vectors[order], dtype=np.float32)
    parts = []
    if config.lexical_k > 0 and len(texts):
        index = CorpusBM25(stats, doc_freqs, config.bm25).index_tokens(tokenize_many(texts))
        parts.append(bm25_hits(index, queries_terms, config.lexical_k, config.query_chunk))
    if config.semantic_k > 0:
        parts.append(dense_hits(query_vectors, vectors, config.semantic_k, config.dense_slack))
    if not parts:
        return _concat([], "bm25")
    hits = Hits(*(np.concatenate([getattr(p, name) for p in parts]) for name in ("query", "doc", "source", "score",
                                                                                    "cosine")))
    if len(hits):
        hits.query = hits.query.astype(np.int64)
        hits.doc = order[hits.doc.astype(np.int64)]
        hits.cosine = pair_scores(query_vectors[hits.query], doc_vectors[hits.doc])
    return hits


def merge_top_k(lists: Iterable[Iterable[tuple[str, float]]], k: int) -> list[tuple[str, float]]:
    """The k best (doc_id, score) of several lists by (score desc, doc_id asc): what the Spark aggregation computes."""
    return sorted((item for items in lists for item in items), key=lambda item: (-item[1], item[0]))[:k]


def union_sources(bm25: Iterable[str], dense: Iterable[str]) -> dict[str, str]:
    """doc_id -> bm25, dense or both."""
    lexical, semantic = set(bm25), set(dense)
    return {d: "both" if d in lexical and d in semantic else "bm25" if d in lexical else "dense"
            for d in sorted(lexical | semantic)}


# -- teachers ------------------------------------------------------------------------------------------------------


class Teacher(Protocol):
    """Scores (query, document) pairs; higher is more relevant."""

    name: str

    def score(self, queries: Sequence[str], documents: Sequence[str]) -> np.ndarray: ...


class EncoderTeacher:
    """The bi-encoder's cosine (query prompt for the query, passage prompt for the document); the offline default."""

    def __init__(self, model: SentenceTransformer, batch_size: int = 64, max_seq_length: int | None = 256,
                 name: str = "encoder") -> None:
        self.model, self.batch_size, self.max_seq_length, self.name = model, batch_size, max_seq_length, name

    def score(self, queries: Sequence[str], documents: Sequence[str]) -> np.ndarray:
        unique_q = list(dict.fromkeys(queries))
        unique_d = list(dict.fromkeys(documents))
        q, d = (encode_texts(self.model, texts, EncodeConfig(prompt_name=prompt, batch_size=self.batch_size,
                                                             max_seq_length=self.max_seq_length))
                for texts, prompt in ((unique_q, QUERY_PROMPT), (unique_d, DOCUMENT_PROMPT)))
        q_pos = {t: i for i, t in enumerate(unique_q)}
        d_pos = {t: i for i, t in enumerate(unique_d)}
        return pair_scores(q[[q_pos[t] for t in queries]], d[[d_pos[t] for t in documents]])


class CrossEncoderTeacher:
    """A sentence-transformers CrossEncoder folder (`faqmine models train-reranker`'s, or e.g. bge-reranker-v2-m3),
    loaded from disk only; texts are cut at the folder's own max length (the one it was trained with) unless
    `max_length` says otherwise, so its scores are the folder's `CrossEncoder.predict`."""

    def __init__(self, path: str | Path, device: str | None = None, batch_size: int = 32,
                 max_length: int | None = None) -> None:
        from sentence_transformers import CrossEncoder

        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise FileNotFoundError(f"no cross-encoder folder at {folder}")
        self.model = CrossEncoder(str(folder), device=device, local_files_only=True, max_length=max_length)
        self.batch_size = batch_size
        self.name = f"cross-encoder:{folder.name}"

    def score(self, queries: Sequence[str], documents: Sequence[str]) -> np.ndarray:
        if not len(queries):
            return np.zeros(0, dtype=np.float32)
        scores = self.model.predict(list(zip(queries, documents, strict=True)), batch_size=self.batch_size,
                                    show_progress_bar=False, convert_to_numpy=True)
        return np.asarray(scores, dtype=np.float32).reshape(len(queries), -1)[:, -1]


_TEACHERS: dict[tuple[str, str | None], CrossEncoderTeacher] = {}


def get_cross_encoder(path: str, device: str | None = None, batch_size: int = 32) -> CrossEncoderTeacher:
    """The process-wide cross-encoder teacher for `path` (a Spark Python worker loads it once)."""
    key = (str(Path(path).expanduser().resolve()), device)
    teacher = _TEACHERS.get(key)
    if teacher is None:
        teacher = _TEACHERS[key] = CrossEncoderTeacher(key[0], device=device, batch_size=batch_size)
    teacher.batch_size = batch_size
    return teacher


# -- filters and selection -----------------------------------------------------------------------------------------


def filter_reasons(score: np.ndarray, positive_score: np.ndarray, *, is_positive: np.ndarray | None = None,
                   qrels_positive: np.ndarray | None = None, same_answer: np.ndarray | None = None,
                   duplicate_of_positive: np.ndarray | None = None, translation_of_positive: np.ndarray | None = None,
                   config: FilterConfig = FilterConfig()) -> np.ndarray:
    """Per candidate row, the first rule (module doc order) that rejects it, or None: it stays a negative.

    `score` and `positive_score` are the teacher's, row-aligned (the positive's repeated per candidate);
    the flags are booleans (None: the rule has no data).
    """
    score = np.asarray(score, dtype=np.float64)
    positive = np.asarray(positive_score, dtype=np.float64)
    n = len(score)
    reasons = np.full(n, None, dtype=object)
    open_ = np.ones(n, dtype=bool)

    def apply(name: str, mask: np.ndarray | None) -> None:
        nonlocal open_
        if mask is None:
            return
        hit = open_ & np.asarray(mask, dtype=bool)
        reasons[hit] = name
        open_ &= ~hit

    apply("is_positive", is_positive)
    apply("qrels_positive", qrels_positive)
    apply("same_answer", same_answer)
    apply("duplicate_of_positive", duplicate_of_positive)
    apply("translation_of_positive", translation_of_positive)
    if config.absolute_margin is not None:
        apply("absolute_margin", score + config.absolute_margin > positive)
    if config.relative_margin is not None:
        apply("relative_margin", score > positive - np.abs(positive) * config.relative_margin)
    if config.max_score is not None:
        apply("max_score", score > config.max_score)
    if config.min_score is not None:
        apply("min_score", score < config.min_score)
    return reasons


def select_negatives(doc_ids: Sequence[str], scores: np.ndarray, config: FilterConfig = FilterConfig(),
                     keys: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Among one query's remaining candidates: (positions of the negatives in (score desc, doc_id asc) order,
    reason per candidate: None for a negative, `duplicate_negative` (same answer key as a better candidate, when
    `keys` are given: a list holds each text once), `range_min` or `beyond_num_negatives`)."""
    scores = np.asarray(scores, dtype=np.float64)
    order = np.lexsort((np.asarray(doc_ids, dtype=object), -scores)) if len(scores) else np.zeros(0, np.int64)
    reasons = np.full(len(scores), None, dtype=object)
    if keys is not None:
        seen: set[str] = set()
        unique = []
        for position in order:
            if keys[position] in seen:
                reasons[position] = "duplicate_negative"
            else:
                seen.add(keys[position])
                unique.append(position)
        order = np.asarray(unique, dtype=np.int64)
    reasons[order[:config.range_min]] = "range_min"
    chosen = order[config.range_min:config.range_min + config.num_negatives]
    reasons[order[config.range_min + config.num_negatives:]] = "beyond_num_negatives"
    return chosen, reasons


# -- one language in memory ----------------------------------------------------------------------------------------


@dataclass
class MinedQuery:
    query_id: str
    query: str
    positive_id: str
    positive: str
    positive_score: float
    negative_ids: list[str]
    negatives: list[str]
    negative_scores: list[float]
    negative_sources: list[str]


@dataclass
class LanguageMining:
    """What `mine_language` found: mined queries, every candidate with its reason, and the recall lists."""

    queries: list[MinedQuery]
    candidates: list[dict]
    bm25: dict[str, list[tuple[str, float]]]
    dense: dict[str, list[tuple[str, float]]]


def mine_language(query_ids: Sequence[str], queries: Sequence[str], query_vectors: np.ndarray,
                  positive_ids: Sequence[str], doc_ids: Sequence[str], docs: Sequence[str], doc_vectors: np.ndarray,
                  teacher: Teacher | None = None, recall: RecallConfig = RecallConfig(),
                  filters: FilterConfig = FilterConfig(), shards: int = 1,
                  relevant: Mapping[str, set[str]] | None = None, answer_keys: Mapping[str, str] | None = None,
                  groups: Mapping[str, str] | None = None) -> LanguageMining:
    """The whole mining of one language in one process (documents cut into `shards` by position): the reference
    the Spark stage is tested against, and what the benchmarks time.

    Without a teacher, the candidates' cosine is the teacher score (the default encoder teacher).
    `relevant`: query_id -> doc_ids judged relevant (qrels); `answer_keys`: doc_id -> answer key;
    `groups`: doc_id -> duplicate/translation group (one rule: `translation_of_positive`).
    """
    from faqmine.build_benchmarks.benchmark import answer_key
    from faqmine.search.lexical import corpus_stats, document_frequencies

    queries_terms = [query_terms(t) for t in tokenize_many(queries)]
    docs_tokens = tokenize_many(docs)
    stats = corpus_stats(docs_tokens)
    all_df = document_frequencies(docs_tokens)
    wanted = {t for terms in queries_terms for t in terms}
    doc_freqs = {t: n for t, n in all_df.items() if t in wanted}
    lists: dict[str, dict[str, list[tuple[str, float]]]] = {"bm25": {}, "dense": {}}
    cosine: dict[tuple[str, str], float] = {}
    for shard in range(shards):
        members = np.arange(shard, len(doc_ids), shards)
        hits = search_shard([doc_ids[i] for i in members], [docs[i] for i in members], doc_vectors[members],
                            queries_terms, query_vectors, stats, doc_freqs, recall)
        for q, d, source, score, cos in zip(hits.query, hits.doc, hits.source, hits.score, hits.cosine, strict=True):
            doc_id = doc_ids[members[d]]
            lists[source].setdefault(query_ids[q], []).append((doc_id, float(score)))
            cosine[(query_ids[q], doc_id)] = float(cos)
    k = {"bm25": recall.lexical_k, "dense": recall.semantic_k}
    merged = {source: {q: merge_top_k([items], k[source]) for q, items in by_query.items()}
              for source, by_query in lists.items()}
    text_of = dict(zip(doc_ids, docs, strict=True))
    vector_of = {d: i for i, d in enumerate(doc_ids)}
    out, rows = [], []
    for qi, query_id in enumerate(query_ids):
        positive_id = positive_ids[qi]
        sources = union_sources([d for d, _ in merged["bm25"].get(query_id, [])],
                                [d for d, _ in merged["dense"].get(query_id, [])])
        candidates = list(sources)
        if teacher is None:
            scores = np.array([cosine[(query_id, d)] for d in candidates], dtype=np.float32)
            positive_score = float(pair_scores(query_vectors[qi:qi + 1], doc_vectors[[vector_of[positive_id]]])[0])
        else:
            texts = [text_of[d] for d in [positive_id, *candidates]]
            both = teacher.score([queries[qi]] * len(texts), texts)
            positive_score, scores = float(both[0]), both[1:]
        judged = (relevant or {}).get(query_id, set())
        key = (answer_keys or {}).get(positive_id)
        group = (groups or {}).get(positive_id)
        reasons = filter_reasons(
            scores, np.full(len(candidates), positive_score), config=filters,
            is_positive=np.array([d == positive_id for d in candidates], dtype=bool),
            qrels_positive=np.array([d in judged for d in candidates], dtype=bool),
            same_answer=np.array([key is not None and answer_keys.get(d) == key for d in candidates], dtype=bool),
            translation_of_positive=np.array([group is not None and groups.get(d) == group for d in candidates],
                                             dtype=bool))
        open_ = np.flatnonzero(reasons == None)  # noqa: E711 (object array)
        chosen, selection = select_negatives([candidates[i] for i in open_], scores[open_], filters,
                                             keys=[answer_key(text_of[candidates[i]]) for i in open_])
        reasons[open_] = selection
        for i, d in enumerate(candidates):
            rows.append({"query_id": query_id, "doc_id": d, "source": sources[d], "teacher_score": float(scores[i]),
                         "reason": reasons[i]})
        picked = [int(open_[i]) for i in chosen]
        if picked:
            out.append(MinedQuery(query_id, queries[qi], positive_id, text_of[positive_id], positive_score,
                                  [candidates[i] for i in picked], [text_of[candidates[i]] for i in picked],
                                  [float(scores[i]) for i in picked], [sources[candidates[i]] for i in picked]))
    return LanguageMining(queries=out, candidates=rows, bm25=merged["bm25"], dense=merged["dense"])


# -- training layouts ----------------------------------------------------------------------------------------------


def triplet_columns(n: int) -> list[str]:
    """(anchor, positive, negative_1..n): MultipleNegativesRankingLoss' n-tuple layout."""
    return ["anchor", "positive", *[f"negative_{i}" for i in range(1, n + 1)]]


MARGINMSE_COLUMNS = ["query", "positive", "negative", "label"]  # label = teacher(q, pos) - teacher(q, neg)
