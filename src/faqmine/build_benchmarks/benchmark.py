"""Retrieval benchmarks from deduplicated QAs: ids, answer clusters, and the BEIR/MTEB file export.

A benchmark per language holds a corpus (one document per QA: the answer, with the page
title), queries (the questions) and qrels. Every QA is in the split of its domain
(faqmine.build_benchmarks.splits). A query's relevant documents are its own answer and every other document
of the language whose answer is the same text after dedup normalisation (NFKC, case,
punctuation, white space: `answer_key`), so a retriever that returns a copy of the gold
answer from another page is not counted wrong, as it was in WebFAQ.

`export_beir` writes the Parquet datasets as the folder layout BEIR's GenericDataLoader and
MTEB's retrieval loaders read, one folder per language:

    <lang>/corpus.jsonl      {"_id", "title", "text"} per line
    <lang>/queries.jsonl     {"_id", "text"} per line
    <lang>/qrels/<split>.tsv query-id <TAB> corpus-id <TAB> score, with a header line

The corpus file holds the documents of every split (one corpus is searched whatever the
split), which is why a qrels row may name a document of another split: same answer text.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pyarrow.parquet as pq

from faqmine.core.ids import stable_id
from faqmine.dedup.shingles import normalize_for_dedup

DOC_PREFIX = "d_"
QUERY_PREFIX = "q_"
BEIR_SPLITS_ORDER = ("train", "dev", "test")


def doc_id(qa_id: str) -> str:
    return DOC_PREFIX + qa_id


def query_id(qa_id: str) -> str:
    return QUERY_PREFIX + qa_id


def answer_key(answer: str) -> str:
    """Equal for answers that differ only in case, punctuation, white space or Unicode form."""
    return stable_id(normalize_for_dedup(answer))


def answer_keys(answers: Sequence[str]) -> list[str]:
    return [answer_key(a) for a in answers]


def _rows(folder: Path, language: str, columns: list[str], split: str | None = None) -> Iterator[dict]:
    """Rows of one language (one split, or every split in BEIR order) of a benchmark dataset, streamed
    file by file in name order: the job writes each partition sorted by id, so the order is stable."""
    for name in [split] if split is not None else splits_of(folder, language):
        for path in sorted((folder / f"language={language}" / f"split={name}").glob("*.parquet")):
            for batch in pq.ParquetFile(path).iter_batches(batch_size=10_000, columns=columns):
                yield from batch.to_pylist()


def languages_of(folder: Path) -> list[str]:
    """Languages present in a benchmark dataset folder (its language=xx partitions)."""
    return sorted(p.name.split("=", 1)[1] for p in Path(folder).glob("language=*") if p.is_dir())


def splits_of(folder: Path, language: str) -> list[str]:
    found = {p.name.split("=", 1)[1] for p in (Path(folder) / f"language={language}").glob("split=*")}
    return [s for s in BEIR_SPLITS_ORDER if s in found] + sorted(found - set(BEIR_SPLITS_ORDER))


def _write_jsonl(path: Path, rows: Iterable[dict]) -> int:
    n = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def export_beir(benchmarks: str | Path, out: str | Path, languages: Iterable[str] | None = None) -> dict[str, dict]:
    """Write <out>/<lang>/{corpus.jsonl, queries.jsonl, qrels/<split>.tsv} from the Parquet datasets under
    `benchmarks` (its corpus/, queries/ and qrels/ folders). Returns counts per language.

    Streams the Parquet files (memory stays flat); reruns of the job give identical files.
    """
    root, out = Path(benchmarks), Path(out)
    counts: dict[str, dict] = {}
    for language in languages if languages is not None else languages_of(root / "corpus"):
        folder = out / language
        (folder / "qrels").mkdir(parents=True, exist_ok=True)
        n_docs = _write_jsonl(folder / "corpus.jsonl", (
            {"_id": r["doc_id"], "title": r["title"], "text": r["text"]}
            for r in _rows(root / "corpus", language, ["doc_id", "title", "text"])))
        n_queries = _write_jsonl(folder / "queries.jsonl", (
            {"_id": r["query_id"], "text": r["text"]}
            for r in _rows(root / "queries", language, ["query_id", "text"])))
        qrels = {}
        for split in splits_of(root / "qrels", language):
            with (folder / "qrels" / f"{split}.tsv").open("w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
                writer.writerow(["query-id", "corpus-id", "score"])
                n = 0
                rows = _rows(root / "qrels", language, ["query_id", "doc_id", "score"], split=split)
                for r in rows:
                    writer.writerow([r["query_id"], r["doc_id"], r["score"]])
                    n += 1
            qrels[split] = n
        counts[language] = {"corpus": n_docs, "queries": n_queries, "qrels": qrels}
    return counts


BeirData = tuple[dict[str, dict], dict[str, str], dict[str, dict[str, int]]]


def load_beir_folder(folder: str | Path, split: str) -> BeirData:
    """Read one exported language folder the way BEIR's GenericDataLoader.load(split) documents it:
    (corpus {id: {title, text}}, queries of the split {id: text}, qrels {query: {doc: score}}).

    Raises ValueError where that loader would fail: a missing file, a qrels query that is not
    in queries.jsonl, a non-integer score. Used where `beir` is not installed.
    """
    folder = Path(folder)
    files = [folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels" / f"{split}.tsv"]
    for path in files:
        if not path.exists():
            raise ValueError(f"File {path} not present")
    corpus = {}
    with files[0].open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            corpus[row["_id"]] = {"text": row["text"], "title": row["title"]}
    queries = {}
    with files[1].open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            queries[row["_id"]] = row["text"]
    qrels: dict[str, dict[str, int]] = {}
    with files[2].open(encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_MINIMAL)
        header = next(reader)
        if header != ["query-id", "corpus-id", "score"]:
            raise ValueError(f"{files[2]}: header {header}")
        for row in reader:
            qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    missing = [q for q in qrels if q not in queries]
    if missing:
        raise ValueError(f"{len(missing)} qrels queries are not in queries.jsonl, e.g. {missing[0]}")
    return corpus, {q: queries[q] for q in qrels}, qrels
