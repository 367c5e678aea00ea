"""Test helper: real multilingual QA pairs from the repository's XQuAD copy (data/xquad, CC BY-SA 4.0).

A pair is an XQuAD question and, as its answer, the sentence-sized window of the paragraph
around the gold answer span, so every language holds the same 1190 translated pairs.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pyarrow as pa

from faqmine.core.ids import qa_id
from faqmine.core.schemas import load_schema

from .paths import XQUAD, need

LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh")
_BOUNDARY = re.compile(r"(?<=[.!?。！？।])\s*")


def require_xquad(language: str = "en") -> Path:
    """One language's XQuAD file; a missing one fails the test, naming it."""
    return need(XQUAD / f"xquad.{language}.json", "XQuAD copy")


def _answer_window(context: str, start: int, length: int, max_chars: int = 220) -> str:
    """The sentence holding the answer span (by punctuation; a character window when there is none)."""
    sentence_start = 0
    for match in _BOUNDARY.finditer(context):
        if match.end() <= start:
            sentence_start = match.end()
        elif match.start() >= start + length:
            sentence = context[sentence_start:match.start()].strip()
            if len(sentence) <= max_chars:
                return sentence
            break
    left = context.rfind(" ", 0, max(0, start - max_chars // 3)) + 1  # start and end at spaces
    right = context.rfind(" ", left, left + max_chars)
    return context[left:right if right > start + length else left + max_chars].strip()


@cache
def xquad_pairs(language: str) -> tuple[tuple[str, str, str], ...]:
    """(xquad id, question, answer) for every question of one language, in file order."""
    data = json.loads(require_xquad(language).read_text(encoding="utf-8-sig"))
    out = []
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            context = paragraph["context"].lstrip("\ufeff")
            for qa in paragraph["qas"]:
                span = qa["answers"][0]
                answer = _answer_window(context, span["answer_start"], len(span["text"]))
                out.append((qa["id"], qa["question"].strip(), answer))
    return tuple(out)


def table_of(dataset: str, rows: list[dict]) -> pa.Table:
    """An Arrow table in a dataset's schema from dicts holding some of its columns (the rest filled in)."""
    schema = load_schema(dataset).arrow()
    filled = []
    for i, row in enumerate(rows):
        url = row.get("url", f"https://site{i % 7}.example.com/faq/{i}")
        full = {
            "url": url, "domain": url.split("/")[2], "crawl": "CC-MAIN-2024-18", "warc_file": "test.warc.gz",
            "warc_record_offset": 1000 + i, "fetch_time": datetime(2024, 4, 1, tzinfo=UTC),
            "page_language": None, "page_title": None, "page_description": None, "markup": "jsonld", "position": 0,
            "language_score": 0.9, "script": "Latn", **row,
        }
        full.setdefault("qa_id", qa_id(full["url"], full["question"], full["answer"]))
        filled.append(full)
    return pa.Table.from_pylist([{name: r.get(name) for name in schema.names} for r in filled], schema=schema)


def write_table(spark, table, path, dataset: str) -> None:
    """Write an Arrow table as a finished dataset (with balanced _stats.json) the jobs can read."""
    from faqmine.spark.datasets import write_dataset

    df = spark.createDataFrame(table).repartition(2)
    stats = {"job": "fixture", "in": table.num_rows, "out": table.num_rows, "dropped": {}}
    write_dataset(df, str(path), dataset, stats)
