"""Real, out-of-domain evaluation tasks from the FAQ pages in data/realfaq (zero-shot for every model).

The pages are real websites' FAQ markup in 20 languages; `gold.jsonl` holds their QA pairs
(url, language, question, answer, qa_index) and `manifest.jsonl` names the translation group of
each page. Pages of one group translate each other: the same QAs in the same positions. That is
checked per group; a group whose pages differ in the number of QAs, or repeat a language, is
skipped and listed in `RealFaqTasks.skipped`.

Tasks (documents are deduplicated by text within a language, so a copy of an answer is the
same document and counts as found):

- real_mono: every question of a language against every answer of that language;
- real_cross: a question of a page in X against every answer in Y (all pages of Y, in every
  group or none); relevant: the answer at the same position of the group's page in Y. Every
  ordered pair of languages of an aligned group;
- real_lareqa: every question against one pool of all answers of all languages; relevant: its
  own answer and the same-position answers of the other pages of its group;
- parallel (a task outside training, to measure forgetting): a question (answer) of a page in X
  against every question and answer of Y; relevant: its translation, the same-position question
  (answer) of the group's page in Y. Every text keeps the encoder role it has in the FAQ tasks
  (questions with the query prompt, answers with the passage prompt), so the forgetting task
  measures the very vectors the retrieval tasks use, and costs no encoding of its own.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from faqmine.core.ids import stable_id
from faqmine.retrieval.tasks import ALL_LANGUAGES, Pool, Task, TaskSet, _sample

REAL_TASKS = ("real_mono", "real_cross", "real_lareqa", "parallel")
DEFAULT_DIR = Path(__file__).resolve().parents[3] / "data" / "realfaq"


@dataclass
class Page:
    url: str
    language: str
    group: str | None
    questions: list[str]
    answers: list[str]


@dataclass
class RealFaqTasks:
    """The tasks, their pools, and what was left out and why."""

    taskset: TaskSet
    aligned_groups: dict[str, list[str]] = field(default_factory=dict)  # group -> languages
    skipped: dict[str, str] = field(default_factory=dict)  # group -> reason


def read_pages(folder: str | Path = DEFAULT_DIR) -> list[Page]:
    """Pages with their gold QAs in page order (qa_index), the translation group from the manifest."""
    folder = Path(folder)
    groups: dict[str, str | None] = {}
    for line in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            if record.get("url") and not record.get("broken"):
                groups.setdefault(record["url"], record.get("translation_group"))
    qas: dict[str, list[dict]] = defaultdict(list)
    for line in (folder / "gold.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            qas[record["url"]].append(record)
    pages = []
    for url in sorted(qas):
        rows = sorted(qas[url], key=lambda r: int(r["qa_index"]))
        pages.append(Page(url, rows[0]["language"], groups.get(url), [r["question"] for r in rows],
                          [r["answer"] for r in rows]))
    return pages


def aligned_items(folder: str | Path = DEFAULT_DIR) -> tuple[list[tuple[str, str | None, str, str]], dict[str, int]]:
    """(language, translation key, question, answer) of every gold pair of data/realfaq; the key is
    group:position on the pages of a translation group that hold the same number of pairs (one page per
    language; the most common count of the group's pages), None elsewhere (distractors only); and the aligned
    pages per group. The reranker's real-page tasks and bench/encode.py read the pages this way (the evaluation's
    tasks, `build_realfaq_tasks`, skip a group whose pages differ instead)."""
    folder = Path(folder)
    pages = [json.loads(line) for line in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
             if line.strip()]
    gold: dict[str, list[dict]] = defaultdict(list)
    for line in (folder / "gold.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            pair = json.loads(line)
            gold[pair["url"]].append(pair)
    language = {p["url"]: p.get("qa_language") or p["language"] for p in pages}
    by_group: dict[str, list[dict]] = defaultdict(list)
    for page in pages:
        if page.get("translation_group") and page["url"] in gold:
            by_group[page["translation_group"]].append(page)
    aligned: dict[str, str] = {}
    groups: dict[str, int] = {}
    for group, members in sorted(by_group.items()):
        size = Counter(len(gold[p["url"]]) for p in members).most_common(1)[0][0]
        chosen, seen = [], set()
        for page in members:
            if len(gold[page["url"]]) == size and language[page["url"]] not in seen:
                chosen.append(page["url"])
                seen.add(language[page["url"]])
        if len(chosen) > 1:
            aligned.update({url: group for url in chosen})
            groups[group] = len(chosen)
    items = []
    for url, pairs in sorted(gold.items()):
        for position, pair in enumerate(sorted(pairs, key=lambda p: p["qa_index"])):
            key = f"{aligned[url]}:{position}" if url in aligned else None
            items.append((language.get(url) or pair["language"], key, pair["question"], pair["answer"]))
    return items, groups


def _doc(kind: str, language: str, text: str) -> str:
    return f"{kind}_{language}_{stable_id(text)[:16]}"


def _aligned(pages: list[Page]) -> tuple[dict[str, list[Page]], dict[str, str]]:
    by_group: dict[str, list[Page]] = defaultdict(list)
    for page in pages:
        if page.group:
            by_group[page.group].append(page)
    aligned, skipped = {}, {}
    for group, members in sorted(by_group.items()):
        languages = [p.language for p in members]
        counts = sorted({len(p.questions) for p in members})
        if len(members) < 2:
            skipped[group] = "one page"
        elif len(set(languages)) < len(languages):
            skipped[group] = f"languages repeat ({', '.join(languages)})"
        elif len(counts) > 1:
            skipped[group] = "pages differ in the number of QAs (" + ", ".join(
                f"{p.language} {len(p.questions)}" for p in members) + ")"
        else:
            aligned[group] = sorted(members, key=lambda p: p.language)
    return aligned, skipped


def build_realfaq_tasks(folder: str | Path = DEFAULT_DIR, tasks: Sequence[str] = REAL_TASKS,
                        languages: Sequence[str] | None = None, max_queries: int | None = None,
                        seed: int = 0) -> RealFaqTasks:
    """The real out-of-domain tasks of `tasks` (default all four), limited to `languages` when given."""
    unknown = sorted(set(tasks) - set(REAL_TASKS))
    if unknown:
        raise ValueError(f"unknown real tasks {unknown}: choose from {REAL_TASKS}")
    keep = set(languages) if languages else None
    pages = [p for p in read_pages(folder) if keep is None or p.language in keep]
    aligned, skipped = _aligned(pages)
    pools: dict[str, Pool] = {}
    answers: dict[str, Pool] = {}
    sentences: dict[str, Pool] = {}
    everything = Pool(f"real:{ALL_LANGUAGES}")
    for page in pages:
        lang = page.language
        answers.setdefault(lang, Pool(f"real:{lang}"))
        sentences.setdefault(lang, Pool(f"parallel:{lang}"))
        for question, answer in zip(page.questions, page.answers, strict=True):
            answers[lang].add(_doc("a", lang, answer), answer, lang)
            everything.add(_doc("a", lang, answer), answer, lang)
            sentences[lang].add(_doc("a", lang, answer), answer, lang)
            sentences[lang].add(_doc("q", lang, question), question, lang, role="query")
    out: list[Task] = []
    counts: dict[str, int] = defaultdict(int)

    def add(task: str, ql: str, dl: str, pool: Pool, queries: dict[str, tuple[str, dict[str, int]]],
            roles: dict[str, str] | None = None) -> None:
        ids = _sample(sorted(queries), max_queries, seed, f"{task}/{ql}-{dl}")
        if ids:
            pools[pool.name] = pool
            out.append(Task(task, ql, dl, pool.name, ids, [queries[q][0] for q in ids],
                            {q: queries[q][1] for q in ids}, [roles[q] for q in ids] if roles else None))
            counts[f"{task}_queries"] += len(ids)

    def qid(page: Page, i: int, kind: str = "q") -> str:
        return f"r{kind}_{stable_id(page.url)[:12]}_{i}"

    if "real_mono" in tasks:
        for lang in sorted(answers):
            queries = {qid(p, i): (q, {_doc("a", lang, p.answers[i]): 1})
                       for p in pages if p.language == lang for i, q in enumerate(p.questions)}
            add("real_mono", lang, lang, answers[lang], queries)
    group_of = {p.url: g for g, members in aligned.items() for p in members}
    if "real_lareqa" in tasks:
        by_language: dict[str, dict[str, tuple[str, dict[str, int]]]] = defaultdict(dict)
        for p in pages:
            members = aligned.get(group_of.get(p.url, ""), [p])
            for i, q in enumerate(p.questions):
                by_language[p.language][qid(p, i)] = (q, {_doc("a", m.language, m.answers[i]): 1 for m in members})
        for lang, queries in sorted(by_language.items()):
            add("real_lareqa", lang, ALL_LANGUAGES, everything, queries)
    directed: dict[tuple[str, str], dict[str, tuple[str, dict[str, int]]]] = defaultdict(dict)
    parallel: dict[tuple[str, str], dict[str, tuple[str, dict[str, int]]]] = defaultdict(dict)
    parallel_roles: dict[str, str] = {}  # query id -> its text's role: questions "query", answers "document"
    for members in aligned.values():
        for x in members:
            for y in members:
                if x is y:
                    continue
                for i, (question, answer) in enumerate(zip(x.questions, x.answers, strict=True)):
                    directed[(x.language, y.language)][qid(x, i)] = (
                        question, {_doc("a", y.language, y.answers[i]): 1})
                    parallel[(x.language, y.language)][qid(x, i)] = (
                        question, {_doc("q", y.language, y.questions[i]): 1})
                    parallel[(x.language, y.language)][qid(x, i, "a")] = (
                        answer, {_doc("a", y.language, y.answers[i]): 1})
                    parallel_roles[qid(x, i)], parallel_roles[qid(x, i, "a")] = "query", "document"
    if "real_cross" in tasks:
        for (lx, ly), queries in sorted(directed.items()):
            add("real_cross", lx, ly, answers[ly], queries)
    if "parallel" in tasks:
        for (lx, ly), queries in sorted(parallel.items()):
            add("parallel", lx, ly, sentences[ly], queries, parallel_roles)
    counts["realfaq_pages"] = len(pages)
    counts["realfaq_groups_aligned"] = len(aligned)
    counts["realfaq_groups_skipped"] = len(skipped)
    return RealFaqTasks(TaskSet(pools, out, dict(counts)),
                        {g: [p.language for p in m] for g, m in aligned.items()}, skipped)


def merge(first: TaskSet, second: TaskSet) -> TaskSet:
    """One TaskSet holding the pools and tasks of both (pool names and task keys must not collide)."""
    clash = set(first.pools) & set(second.pools) or {t.key for t in first.tasks} & {t.key for t in second.tasks}
    if clash:
        raise ValueError(f"task sets share pools or tasks: {sorted(clash)[:5]}")
    return TaskSet({**first.pools, **second.pools}, [*first.tasks, *second.tasks], {**first.counts, **second.counts})
