"""Readers of the datasets training and evaluation use: benchmarks, bitext and hard_negatives.

Each is read by path from a data root, as the jobs wrote it (Parquet, hive-partitioned by
the columns its schema names). Benchmarks fall back to their BEIR/MTEB JSONL export when
the Parquet datasets are absent (that layout has no domains, so no cross-lingual tasks can
be built from it). Every reader checks that the columns it needs are there and names the
missing ones, so a change upstream fails here loudly rather than training on wrong data.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as ds

from faqmine.build_benchmarks.splits import DEFAULT_FRACTIONS, SplitConfig, split_of
from faqmine.core.schemas import load_schema

HARD_NEGATIVE_COLUMNS = ("query_id", "language", "query", "positive_id", "positive", "positive_score",
                         "negative_ids", "negatives", "negative_scores", "negative_sources", "teacher")
BITEXT_COLUMNS = ("site", "language_a", "language_b", "qa_id_a", "qa_id_b", "question_a", "question_b",
                  "answer_a", "answer_b")


class MissingDataset(FileNotFoundError):
    """A dataset the run needs is not under the data root (names the job that writes it)."""


def dataset_folder(data_root: str | Path, dataset: str, default: str | None = None) -> Path:
    """<data root>/<folder of the dataset as its schema file says> (or `default` when there is no schema file)."""
    try:
        folder = load_schema(dataset).folder
    except FileNotFoundError:
        folder = default or dataset
    return Path(data_root) / folder


def _dataset_files(folder: Path) -> list[str]:
    """Parquet files of a hive-partitioned dataset: only under key=value folders, so an export or other
    folder beside the partitions (e.g. <dataset>/export/) is not read as data; hidden and _ files skipped."""
    if not folder.is_dir():
        return []
    files = []
    for path in sorted(folder.rglob("*.parquet")):
        parts = path.relative_to(folder).parts
        if any(p.startswith((".", "_")) for p in parts) or not all("=" in p for p in parts[:-1]):
            continue
        files.append(str(path))
    return files


def _has_parquet(folder: Path) -> bool:
    return bool(_dataset_files(folder))


def _open(folder: Path) -> ds.Dataset:
    return ds.dataset(_dataset_files(folder), format="parquet",
                      partitioning=ds.HivePartitioning.discover(infer_dictionary=False), partition_base_dir=str(folder))


def read_parquet_folder(folder: str | Path, columns: Sequence[str] | None = None,
                        filters: dict[str, Iterable[str]] | None = None) -> pd.DataFrame:
    """A hive-partitioned Parquet folder as a DataFrame (partition columns come back as columns);
    `filters` keeps rows whose column is in the given values."""
    folder = Path(folder)
    dataset = _open(folder)
    names = set(dataset.schema.names)
    if columns is not None:
        missing = [c for c in columns if c not in names]
        if missing:
            raise ValueError(f"{folder}: columns {missing} are missing (has {sorted(names)})")
    expr = None
    for column, values in (filters or {}).items():
        if column not in names:
            raise ValueError(f"{folder}: cannot filter on missing column {column!r}")
        cond = ds.field(column).isin(list(values))
        expr = cond if expr is None else expr & cond
    table = dataset.to_table(columns=list(columns) if columns is not None else None, filter=expr)
    return table.to_pandas()


@dataclass
class Benchmark:
    """Per-language retrieval benchmarks: corpus, queries and qrels of every language and split read."""

    corpus: pd.DataFrame  # doc_id, qa_id, title, text, domain, language, split
    queries: pd.DataFrame  # query_id, qa_id, text, domain, language, split
    qrels: pd.DataFrame  # query_id, doc_id, score, language, split
    split_config: SplitConfig
    source: str  # "parquet" or "export"

    @property
    def languages(self) -> list[str]:
        return sorted(set(self.corpus["language"]))

    def domains(self, split: str) -> set[str]:
        """Domains of a split (empty when read from the export, which has no domains)."""
        if "domain" not in self.queries:
            return set()
        return set(self.queries.loc[self.queries["split"] == split, "domain"]) | set(
            self.corpus.loc[self.corpus["split"] == split, "domain"])

    def split_of_site(self, site: str) -> str:
        """The split a site's QAs are in: looked up in the data, else computed like the job did."""
        for name, domains in self._domain_sets.items():
            if site in domains:
                return name
        return split_of(site, self.split_config)

    @cached_property
    def _domain_sets(self) -> dict[str, set[str]]:
        return {name: self.domains(name) for name in self.split_config.names}


def _split_config(folder: Path) -> SplitConfig:
    try:
        stats = json.loads((folder / "_stats.json").read_text(encoding="utf-8"))
        fractions = tuple((k, float(v)) for k, v in stats["split_fractions"].items())
        return SplitConfig(fractions, seed=int(stats.get("split_seed", 0)))
    except (OSError, KeyError, ValueError, AttributeError):
        return SplitConfig(DEFAULT_FRACTIONS, seed=0)


def read_benchmarks(data_root: str | Path, languages: Sequence[str] | None = None,
                    folder: str | Path | None = None) -> Benchmark:
    """The benchmarks under `data_root` (or at `folder`), limited to `languages` when given."""
    corpus_dir = dataset_folder(data_root, "benchmarks_corpus", "benchmarks/corpus")
    root = Path(folder) if folder else corpus_dir.parent
    corpus_dir, queries_dir, qrels_dir = root / "corpus", root / "queries", root / "qrels"
    filters = {"language": languages} if languages else None
    if all(_has_parquet(d) for d in (corpus_dir, queries_dir, qrels_dir)):
        corpus = read_parquet_folder(corpus_dir, ["doc_id", "qa_id", "title", "text", "domain", "language", "split"],
                                     filters)
        queries = read_parquet_folder(queries_dir, ["query_id", "qa_id", "text", "domain", "language", "split"],
                                      filters)
        qrels = read_parquet_folder(qrels_dir, ["query_id", "doc_id", "score", "language", "split"], filters)
        return Benchmark(corpus, queries, qrels, _split_config(root), "parquet")
    export = root / "export"
    if export.is_dir():
        return _read_export(export, languages, _split_config(root))
    raise MissingDataset(f"no benchmarks under {root} (neither Parquet corpus/queries/qrels nor export/): "
                         "run jobs/build_benchmarks.py first")


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _read_export(export: Path, languages: Sequence[str] | None, splits: SplitConfig) -> Benchmark:
    corpus_rows, query_rows, qrel_rows = [], [], []
    for folder in sorted(p for p in export.iterdir() if p.is_dir()):
        language = folder.name
        if languages and language not in languages:
            continue
        query_split: dict[str, str] = {}
        for path in sorted((folder / "qrels").glob("*.tsv")):
            with path.open(encoding="utf-8", newline="") as handle:
                reader = csv.reader(handle, delimiter="\t")
                next(reader, None)
                for qid, did, score in reader:
                    qrel_rows.append({"query_id": qid, "doc_id": did, "score": int(score), "language": language,
                                      "split": path.stem})
                    query_split[qid] = path.stem
        for row in _read_jsonl(folder / "corpus.jsonl"):
            corpus_rows.append({"doc_id": row["_id"], "qa_id": row["_id"][2:], "title": row.get("title", ""),
                                "text": row["text"], "language": language, "split": ""})
        for row in _read_jsonl(folder / "queries.jsonl"):
            query_rows.append({"query_id": row["_id"], "qa_id": row["_id"][2:], "text": row["text"],
                               "language": language, "split": query_split.get(row["_id"], "")})
    columns = {"corpus": ["doc_id", "qa_id", "title", "text", "language", "split"],
               "queries": ["query_id", "qa_id", "text", "language", "split"],
               "qrels": ["query_id", "doc_id", "score", "language", "split"]}
    return Benchmark(pd.DataFrame(corpus_rows, columns=columns["corpus"]),
                     pd.DataFrame(query_rows, columns=columns["queries"]),
                     pd.DataFrame(qrel_rows, columns=columns["qrels"]), splits, "export")


def read_bitext(data_root: str | Path, folder: str | Path | None = None) -> pd.DataFrame:
    """Every bitext pair (columns of BITEXT_COLUMNS); an empty frame when the dataset holds no pair."""
    path = Path(folder) if folder else dataset_folder(data_root, "bitext")
    if not path.is_dir():
        raise MissingDataset(f"no bitext at {path}: run jobs/align_bitext.py first")
    if not _has_parquet(path):
        return pd.DataFrame(columns=list(BITEXT_COLUMNS))
    return read_parquet_folder(path, list(BITEXT_COLUMNS))


def read_hard_negatives(data_root: str | Path, folder: str | Path | None = None,
                        languages: Sequence[str] | None = None, need_scores: bool = False) -> pd.DataFrame:
    """The hard_negatives dataset (one row per query with lists of mined negatives)."""
    path = Path(folder) if folder else dataset_folder(data_root, "hard_negatives")
    if not _has_parquet(path):
        raise MissingDataset(f"no hard_negatives at {path}: run jobs/mine_negatives.py first")
    names = set(_open(path).schema.names)
    needed = ["query_id", "language", "query", "positive", "negatives"]
    if need_scores:
        needed += ["positive_score", "negative_scores"]
    optional = [c for c in HARD_NEGATIVE_COLUMNS + ("split",) if c in names and c not in needed]
    return read_parquet_folder(path, needed + optional, {"language": languages} if languages else None)


def stored_base_vectors(folder: str | Path, bench: Benchmark, model: str | Path,
                        max_seq_length: int) -> tuple[dict[tuple[str, str], np.ndarray], str]:
    """The embed stage's vectors of the benchmarks' texts, keyed (role, text) as EmbeddingCache keeps them.

    Returns ({}, why) when they cannot stand in for encoding with `model` here: no finished
    qa_embeddings at `folder`, another model (by hash), or another max_seq_length than this
    evaluation's (texts cut at other lengths give other vectors). Queries are questions (role
    "query"), documents answers (role "document"), as the embed stage prefixed them."""
    from faqmine.core.stats import read_stats
    from faqmine.embedding.identity import model_fingerprint

    folder = Path(folder)
    if not (folder / "_stats.json").is_file():
        return {}, f"no qa_embeddings at {folder}"
    stats = read_stats(folder)
    wanted = model_fingerprint(model)
    if stats.get("model_hash") != wanted.hash:
        return {}, f"{folder} holds vectors of {stats.get('model')}, not of {model}"
    if stats.get("max_seq_length") != max_seq_length:
        return {}, f"{folder} was encoded with max_seq_length {stats.get('max_seq_length')}, not {max_seq_length}"
    table = read_parquet_folder(folder, ["qa_id", "question_embedding", "answer_embedding"])
    by_qa = dict(zip(table["qa_id"], zip(table["question_embedding"], table["answer_embedding"], strict=True),
                     strict=True))
    vectors: dict[tuple[str, str], np.ndarray] = {}
    for role, frame, which in (("query", bench.queries, 0), ("document", bench.corpus, 1)):
        for qa, text in zip(frame["qa_id"], frame["text"], strict=True):
            if qa in by_qa:
                vectors[(role, text)] = np.asarray(by_qa[qa][which], dtype=np.float32)
    return vectors, f"{len(vectors)} vectors from {folder}"
