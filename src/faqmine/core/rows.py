"""Column lists for Arrow batches of `qa_raw` rows, filled one page at a time.

Both first stages (WARC extraction and the WDC reader) write qa_raw through this buffer, so
every row gets its id and provenance (URL, registered domain, crawl, file, offset) the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import pyarrow as pa

from faqmine.core.ids import qa_id
from faqmine.core.schemas import load_schema
from faqmine.core.urls import registered_domain


class QARawRows:
    """Rows of qa_raw collected column by column; `flush` returns them as one batch and starts anew."""

    def __init__(self) -> None:
        self.schema = load_schema("qa_raw").arrow()
        self.columns: dict[str, list] = {name: [] for name in self.schema.names}

    def __len__(self) -> int:
        return len(self.columns["qa_id"])

    def add_page(self, url: str, qas: Iterable[tuple[str, str, str]], *, crawl: str, warc_file: str,
                 offset: int, fetch_time: datetime | None, language: str | None, title: str | None,
                 description: str | None) -> None:
        """One page's (question, answer, markup) triples, numbered by their position on the page."""
        domain = registered_domain(url)
        for position, (question, answer, markup) in enumerate(qas):
            row = {
                "qa_id": qa_id(url, question, answer), "question": question, "answer": answer,
                "url": url, "domain": domain, "crawl": crawl, "warc_file": warc_file,
                "warc_record_offset": offset, "fetch_time": fetch_time, "page_language": language,
                "page_title": title, "page_description": description, "markup": markup, "position": position,
            }
            for name, value in row.items():
                self.columns[name].append(value)

    def flush(self) -> pa.RecordBatch:
        batch = pa.RecordBatch.from_pydict(self.columns, schema=self.schema)
        self.columns = {name: [] for name in self.schema.names}
        return batch
