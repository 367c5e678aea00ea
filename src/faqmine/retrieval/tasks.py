"""Evaluation tasks built from the benchmarks and the bitext of one split (test by default).

- mono: the queries of language L against the whole corpus of L (every split, as the
  BEIR export searches it), judged by the benchmark's qrels.
- cross: the questions of bitext pairs of test-split sites in language X against the
  corpus of language Y; relevant is the aligned answer in Y (and every document of Y the
  benchmark judges relevant for that answer's own question: copies of the same answer).
  Both directions of every language pair present.
- lareqa: one pool holding every language's corpus (LAReQA, Roy et al. 2020); a query
  is relevant to its own answer and to every translation of it (the connected component
  of its QA in the test bitext), so a retriever must rank answers in all languages.

Documents are shared between tasks through named pools ("de", "*"), so each is embedded
and indexed once per system.
"""

from __future__ import annotations

import random
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from faqmine.build_benchmarks.benchmark import doc_id as make_doc_id
from faqmine.build_benchmarks.benchmark import query_id as make_query_id
from faqmine.retrieval.datasets import Benchmark

TASKS = ("mono", "cross", "lareqa")
ALL_LANGUAGES = "*"


@dataclass
class Pool:
    """Documents one search runs over."""

    name: str
    doc_ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)  # the encoder role of each text: "document", or "query"
    _seen: set[str] = field(default_factory=set, repr=False)

    def add(self, doc_id: str, text: str, language: str, role: str = "document") -> None:
        if doc_id not in self._seen:
            self._seen.add(doc_id)
            self.doc_ids.append(doc_id)
            self.texts.append(text)
            self.languages.append(language)
            self.roles.append(role)

    def __len__(self) -> int:
        return len(self.doc_ids)

    def __contains__(self, doc_id: str) -> bool:
        return doc_id in self._seen


@dataclass
class Task:
    """Queries of one language searched in one pool, with their relevance judgements."""

    task: str  # mono | cross | lareqa
    query_language: str
    doc_language: str  # a language code, or "*" for the multilingual pool
    pool: str
    query_ids: list[str]
    query_texts: list[str]
    qrels: dict[str, dict[str, int]]
    query_roles: list[str] | None = None  # the encoder role of each query text (None: all "query")

    @property
    def roles(self) -> list[str]:
        return self.query_roles if self.query_roles is not None else ["query"] * len(self.query_texts)

    @property
    def language_pair(self) -> str:
        if self.task == "mono" or self.query_language == self.doc_language:
            return self.query_language
        return f"{self.query_language}-{self.doc_language}"

    @property
    def key(self) -> str:
        return f"{self.task}/{self.language_pair}"


@dataclass
class TaskSet:
    pools: dict[str, Pool]
    tasks: list[Task]
    counts: dict[str, int]

    def summary(self) -> dict:
        by_task: dict[str, dict[str, int]] = defaultdict(lambda: {"tasks": 0, "queries": 0})
        for t in self.tasks:
            by_task[t.task]["tasks"] += 1
            by_task[t.task]["queries"] += len(t.query_ids)
        return {"pools": {name: len(p) for name, p in self.pools.items()}, "tasks": dict(by_task), **self.counts}


def _sample(ids: list[str], limit: int | None, seed: int, key: str) -> list[str]:
    if limit is None or len(ids) <= limit:
        return ids
    rng = random.Random(seed * 1_000_003 + zlib.crc32(key.encode()))
    return sorted(rng.sample(sorted(ids), limit))


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def build_tasks(bench: Benchmark, bitext: pd.DataFrame | None, split: str = "test",
                languages: Sequence[str] | None = None, tasks: Sequence[str] = TASKS,
                max_queries: int | None = None, max_pool_docs: int | None = None, seed: int = 0) -> TaskSet:
    """Pools and tasks of one split. `languages` limits every task to those languages (default: all
    found); `max_queries` samples that many queries per task; `max_pool_docs` samples each pool's
    unjudged documents down to that size (judged ones are always kept)."""
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown:
        raise ValueError(f"unknown tasks {unknown}: choose from {TASKS}")
    keep = set(languages) if languages else None
    counts: dict[str, int] = defaultdict(int)

    pools: dict[str, Pool] = {}
    for row in bench.corpus.sort_values("doc_id").itertuples(index=False):
        if keep is None or row.language in keep:
            pools.setdefault(row.language, Pool(row.language)).add(row.doc_id, row.text, row.language)

    mono_qrels: dict[str, dict[str, int]] = defaultdict(dict)
    for row in bench.qrels.itertuples(index=False):
        if int(row.score) > 0:
            mono_qrels[row.query_id][row.doc_id] = int(row.score)
    query_text = dict(zip(bench.queries["query_id"], bench.queries["text"], strict=True))

    out: list[Task] = []
    if "mono" in tasks:
        test_queries = bench.queries[bench.queries["split"] == split]
        for language, group in sorted(test_queries.groupby("language")):
            if keep is not None and language not in keep or language not in pools:
                continue
            ids = sorted(q for q in group["query_id"] if any(d in pools[language] for d in mono_qrels.get(q, {})))
            counts["mono_queries_unjudged"] += len(group) - len(ids)
            ids = _sample(ids, max_queries, seed, f"mono/{language}")
            if ids:
                out.append(Task("mono", language, language, language, ids, [query_text[q] for q in ids],
                                {q: {d: r for d, r in mono_qrels[q].items() if d in pools[language]} for q in ids}))

    pairs = _test_pairs(bench, bitext, split, keep, counts)
    if "cross" in tasks and not pairs.empty:
        directed: dict[tuple[str, str], dict[str, tuple[str, dict[str, int]]]] = defaultdict(dict)
        for row in pairs.itertuples(index=False):
            for qx, lx, question, ay, ly, answer in (
                (row.qa_id_a, row.language_a, row.question_a, row.qa_id_b, row.language_b, row.answer_b),
                (row.qa_id_b, row.language_b, row.question_b, row.qa_id_a, row.language_a, row.answer_a),
            ):
                pool = pools.setdefault(ly, Pool(ly))
                pool.add(make_doc_id(ay), answer, ly)
                relevant = {make_doc_id(ay): 1, **mono_qrels.get(make_query_id(ay), {})}
                qid = make_query_id(qx)
                text, seen = directed[(lx, ly)].get(qid, (question, {}))
                directed[(lx, ly)][qid] = (text, {**seen, **relevant})
        for (lx, ly), queries in sorted(directed.items()):
            ids = _sample(sorted(queries), max_queries, seed, f"cross/{lx}-{ly}")
            out.append(Task("cross", lx, ly, ly, ids, [queries[q][0] for q in ids],
                            {q: {d: r for d, r in queries[q][1].items() if d in pools[ly]} for q in ids}))

    if "lareqa" in tasks and not pairs.empty:
        out.extend(_lareqa_tasks(pairs, pools, mono_qrels, query_text, max_queries, seed))

    if max_pool_docs is not None:
        _shrink_pools(pools, out, max_pool_docs, seed, counts)
    if any(t.task == "lareqa" for t in out):
        union = Pool(ALL_LANGUAGES)
        for name in sorted(pools):
            if name == ALL_LANGUAGES:
                continue
            source = pools[name]
            for d, text, lang, role in zip(source.doc_ids, source.texts, source.languages, source.roles, strict=True):
                union.add(d, text, lang, role)
        pools[ALL_LANGUAGES] = union
    used = {t.pool for t in out}
    return TaskSet({n: p for n, p in pools.items() if n in used}, out, dict(counts))


def _test_pairs(bench: Benchmark, bitext: pd.DataFrame | None, split: str, keep: set[str] | None,
                counts: dict[str, int]) -> pd.DataFrame:
    if bitext is None or bitext.empty:
        return pd.DataFrame(columns=["site", "language_a", "language_b", "qa_id_a", "qa_id_b", "question_a",
                                     "question_b", "answer_a", "answer_b"])
    sites = {site: bench.split_of_site(site) for site in set(bitext["site"])}
    mask = bitext["site"].map(sites) == split
    if keep is not None:
        mask &= bitext["language_a"].isin(keep) & bitext["language_b"].isin(keep)
    counts["bitext_pairs"] = len(bitext)
    counts["bitext_pairs_in_split"] = int(mask.sum())
    return bitext[mask].sort_values(["language_a", "language_b", "qa_id_a", "qa_id_b"])


def _lareqa_tasks(pairs: pd.DataFrame, pools: dict[str, Pool], mono_qrels: dict[str, dict[str, int]],
                  query_text: dict[str, str], max_queries: int | None, seed: int) -> list[Task]:
    groups = _UnionFind()
    language_of: dict[str, str] = {}
    question_of: dict[str, str] = {}
    for row in pairs.itertuples(index=False):
        groups.union(row.qa_id_a, row.qa_id_b)
        language_of[row.qa_id_a], language_of[row.qa_id_b] = row.language_a, row.language_b
        question_of[row.qa_id_a], question_of[row.qa_id_b] = row.question_a, row.question_b
    members: dict[str, list[str]] = defaultdict(list)
    for qa in language_of:
        members[groups.find(qa)].append(qa)
    everything = set().union(*(set(p.doc_ids) for p in pools.values()))
    relevant_of: dict[str, dict[str, int]] = {}
    for group in members.values():
        relevant: dict[str, int] = {}
        for qa in group:
            relevant[make_doc_id(qa)] = 1
            relevant.update(mono_qrels.get(make_query_id(qa), {}))
        relevant = {d: r for d, r in relevant.items() if d in everything}
        for qa in group:
            relevant_of[qa] = relevant
    by_language: dict[str, list[str]] = defaultdict(list)
    for qa, language in language_of.items():
        by_language[language].append(qa)
    out = []
    for language in sorted(by_language):
        qas = {make_query_id(qa): qa for qa in by_language[language]}
        ids = _sample(sorted(qas), max_queries, seed, f"lareqa/{language}")
        out.append(Task("lareqa", language, ALL_LANGUAGES, ALL_LANGUAGES, ids,
                        [query_text.get(q, question_of[qas[q]]) for q in ids], {q: relevant_of[qas[q]] for q in ids}))
    return out


def _shrink_pools(pools: dict[str, Pool], tasks: list[Task], limit: int, seed: int, counts: dict[str, int]) -> None:
    judged = {d for t in tasks for rel in t.qrels.values() for d in rel}
    for name, pool in pools.items():
        if len(pool) <= limit:
            continue
        must = [i for i, d in enumerate(pool.doc_ids) if d in judged]
        rest = [i for i, d in enumerate(pool.doc_ids) if d not in judged]
        room = max(0, limit - len(must))
        rng = random.Random(seed * 1_000_003 + zlib.crc32(f"pool/{name}".encode()))
        chosen = sorted(must + (rng.sample(rest, room) if room < len(rest) else rest))
        counts["pool_docs_dropped"] += len(pool) - len(chosen)
        shrunk = Pool(name)
        for i in chosen:
            shrunk.add(pool.doc_ids[i], pool.texts[i], pool.languages[i], pool.roles[i])
        pools[name] = shrunk
