"""The ground truth of a simulated crawl, written as Parquet under <out>/truth/.

- `qa.parquet`: one row per QA the extraction stage must emit, keyed by (url,
  position), with its language, XQuAD id, site, and the gold relations:
  `is_exact_dup_of` (qa_id of the first QA in crawl order with the same question
  and answer text), `near_dup_group` (all QAs from the same XQuAD question in one
  language when the crawl holds at least two different texts of it, i.e. an
  edited copy), `translation_group` (the same XQuAD question published by one site
  in at least two languages).
- `pages.parquet`: one row per record that yields QAs (the FAQ pages).
- `bad_records.parquet`: one row per response record that yields no QA, with the
  drop reason the extraction stage must count it under (`no_faq_markup` for
  background pages, and the broken records of `faqmine.simulate.bad`), plus one
  `bad_gzip` row per file that ends in a cut gzip member.

Truth tables are small (a few rows per FAQ page), so rows are kept in memory and
written once at the end; the WARC files themselves are streamed.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from faqmine.core.ids import qa_id
from faqmine.simulate.pages import RenderedPage
from faqmine.simulate.sites import FaqPageSpec

QA_SCHEMA = pa.schema([
    ("qa_id", pa.string()), ("url", pa.string()), ("position", pa.int32()), ("question", pa.string()),
    ("answer", pa.string()), ("language", pa.string()), ("xquad_id", pa.string()), ("site", pa.string()),
    ("markup", pa.string()), ("warc_file", pa.string()), ("record_offset", pa.int64()),
    ("is_exact_dup_of", pa.string()), ("near_dup_group", pa.string()), ("translation_group", pa.string()),
    ("edits", pa.string()), ("copied_from", pa.string()),
])
PAGES_SCHEMA = pa.schema([
    ("url", pa.string()), ("site", pa.string()), ("language", pa.string()), ("declared_lang", pa.string()),
    ("markup", pa.string()), ("jsonld_shape", pa.string()), ("jsonld_quirk", pa.string()), ("n_qas", pa.int32()),
    ("warc_file", pa.string()), ("record_offset", pa.int64()), ("fetch_time", pa.timestamp("s", tz="UTC")),
    ("is_duplicate_page", pa.bool_()), ("duplicate_of", pa.string()), ("site_kind", pa.string()),
    ("template", pa.string()), ("charset", pa.string()), ("charset_declared", pa.string()),
])
BAD_SCHEMA = pa.schema([
    ("url", pa.string()), ("warc_file", pa.string()), ("record_offset", pa.int64()), ("reason", pa.string()),
    ("detail", pa.string()), ("http_status", pa.int32()), ("content_type", pa.string()),
])


class TruthCollector:
    def __init__(self) -> None:
        self.qa_rows: list[dict] = []
        self.page_rows: list[dict] = []
        self.bad_rows: list[dict] = []
        self._first_of_text: dict[tuple[str, str], str] = {}

    def add_page(self, spec: FaqPageSpec, page: RenderedPage, url: str, warc_file: str, offset: int,
                 when: datetime, duplicate_of: str | None) -> None:
        site = spec.site
        for position, (item, markup) in enumerate(page.qas):
            this_id = qa_id(url, item.question, item.answer)
            key = (item.question, item.answer)
            first = self._first_of_text.setdefault(key, this_id)
            self.qa_rows.append({
                "qa_id": this_id, "url": url, "position": position, "question": item.question,
                "answer": item.answer, "language": item.language, "xquad_id": item.qid, "site": site.domain,
                "markup": markup, "warc_file": warc_file, "record_offset": offset,
                "is_exact_dup_of": None if first == this_id else first, "near_dup_group": None,
                "translation_group": None, "edits": ",".join(item.edits), "copied_from": item.copied_from,
            })
        self.page_rows.append({
            "url": url, "site": site.domain, "language": spec.language, "declared_lang": page.declared_lang,
            "markup": page.markup, "jsonld_shape": page.jsonld_shape, "jsonld_quirk": page.jsonld_quirk,
            "n_qas": len(page.qas), "warc_file": warc_file, "record_offset": offset, "fetch_time": when,
            "is_duplicate_page": duplicate_of is not None, "duplicate_of": duplicate_of, "site_kind": site.kind,
            "template": site.template, "charset": page.charset, "charset_declared": page.charset_declared,
        })

    def add_bad(self, url: str, warc_file: str, offset: int, reason: str, detail: str, status: int | None,
                content_type: str | None) -> None:
        self.bad_rows.append({"url": url, "warc_file": warc_file, "record_offset": offset, "reason": reason,
                              "detail": detail, "http_status": status, "content_type": content_type})

    def _assign_groups(self) -> None:
        texts: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
        languages: dict[tuple[str, str], set[str]] = defaultdict(set)
        for row in self.qa_rows:
            texts[(row["language"], row["xquad_id"])].add((row["question"], row["answer"]))
            languages[(row["site"], row["xquad_id"])].add(row["language"])
        for row in self.qa_rows:
            if len(texts[(row["language"], row["xquad_id"])]) > 1:
                row["near_dup_group"] = f"nd:{row['language']}:{row['xquad_id']}"
            if len(languages[(row["site"], row["xquad_id"])]) > 1:
                row["translation_group"] = f"tr:{row['site']}:{row['xquad_id']}"

    def write(self, folder: Path) -> dict[str, Path]:
        self._assign_groups()
        folder.mkdir(parents=True, exist_ok=True)
        out = {}
        for name, rows, schema in (("qa", self.qa_rows, QA_SCHEMA), ("pages", self.page_rows, PAGES_SCHEMA),
                                   ("bad_records", self.bad_rows, BAD_SCHEMA)):
            table = pa.Table.from_pylist(rows, schema=schema)
            path = folder / f"{name}.parquet"
            pq.write_table(table, path, compression="zstd")
            out[name] = path
        return out
