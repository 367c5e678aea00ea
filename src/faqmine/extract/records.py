"""Extraction: WARC records in, FAQ question-answer rows out, every skipped record counted by reason.

`extract_page` handles one HTTP response body; `extract_warc_file` streams one WARC
file with FastWARC and yields Arrow record batches in the `qa_raw` schema while it
fills a `StageStats`. The unit counted in `in`/`out`/`dropped` is the WARC record;
`rows_out` counts QA rows. Drop reasons:

- `not_response`    warcinfo, request, metadata... records (no page to read)
- `too_large`       body over `max_page_bytes` (not even read)
- `http_not_ok`     HTTP status other than 200
- `not_html`        Content-Type not HTML, or a body that is a binary file (PDF, image...)
- `no_faq_markup`   no FAQPage marker in the bytes, or markup that holds no FAQPage
- `decode_error`    text that no charset decodes without many replacement characters
- `invalid_jsonld`  FAQPage JSON-LD that no repair could read, and no FAQ in other markup
- `empty_qa`        FAQPage markup without one question that has both a question and an answer text
- `markup_over_limit` more structured-data elements than `html_markup.MAX_ITEM_ELEMENTS`
- `extract_timeout` parsing one record took longer than `record_seconds`
- `extract_error`   any other failure on one record (the record is skipped, the file goes on)
- `bad_gzip` / `bad_warc` / `unreadable_file`  the unreadable remainder of a corrupt, truncated or
                    missing file, counted as one unit (its record count cannot be known)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa
from fastwarc import ArchiveIterator, WarcRecordType

from faqmine.core.rows import QARawRows
from faqmine.core.stats import StageStats
from faqmine.core.text import html_to_text, normalize_text
from faqmine.core.timeouts import WorkTimeout, time_limit
from faqmine.core.urls import clean_target_uri
from faqmine.extract.charset import MAX_REPLACEMENT_SHARE, decode_html, looks_binary, replacement_share
from faqmine.extract.gzip_check import tail_status
from faqmine.extract.html_markup import MarkupOverLimit, read_markup
from faqmine.extract.jsonld import InvalidJsonLd, parse_jsonld
from faqmine.extract.prefilter import has_faq_marker
from faqmine.extract.schemaorg import declared_language, faq_qas
from faqmine.extract.warc_input import local_copy

DEFAULT_MAX_PAGE_BYTES = 5 * 1024 * 1024
DEFAULT_RECORD_SECONDS = 10.0
# QA-level bounds (counted, never silent): far above what real FAQ pages carry.
MAX_QAS_PER_PAGE = 1000
MAX_QUESTION_CHARS = 2_000
MAX_ANSWER_CHARS = 50_000
BATCH_ROWS = 2048
MARKUPS = ("jsonld", "microdata", "rdfa")
_HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xml", "text/xml")
_CRAWL_IN_PATH = re.compile(r"CC-MAIN-\d{4}-\d{2}")


@dataclass(frozen=True)
class PageQA:
    question: str
    answer: str
    markup: str


@dataclass
class PageResult:
    """What one page gave: its QAs (distinct, non-empty) or the reason it gave none."""

    qas: list[PageQA] = field(default_factory=list)
    drop_reason: str | None = None
    language: str | None = None
    title: str | None = None
    description: str | None = None
    counters: dict[str, int] = field(default_factory=dict)


def extract_page(body: bytes, http_charset: str | None = None, content_language: str | None = None) -> PageResult:
    """Parse one HTML body that passed the prefilter."""
    counters: dict[str, int] = {}
    decoded = decode_html(body, http_charset)
    if decoded.fallback:
        counters["charset_fallback"] = 1
    if replacement_share(decoded.text) > MAX_REPLACEMENT_SHARE:
        return PageResult(drop_reason="decode_error", counters=counters)
    try:
        page = read_markup(decoded.text)
    except MarkupOverLimit:
        return PageResult(drop_reason="markup_over_limit", counters=counters)
    counters["pages_parsed"] = 1

    jsonld_values: list = []
    unreadable_faq_blocks = 0
    for block in page.jsonld_blocks:
        try:
            values, repaired = parse_jsonld(block)
        except InvalidJsonLd:
            counters["jsonld_blocks_invalid"] = counters.get("jsonld_blocks_invalid", 0) + 1
            unreadable_faq_blocks += "faqpage" in block.lower()
            continue
        if repaired:
            counters["jsonld_blocks_repaired"] = counters.get("jsonld_blocks_repaired", 0) + 1
        jsonld_values.extend(values)

    found: list[tuple[str, list]] = []
    n_faq = 0
    for markup, values, to_text in (
        ("jsonld", jsonld_values, html_to_text),
        ("microdata", page.microdata_items, normalize_text),
        ("rdfa", page.rdfa_items, normalize_text),
    ):
        if values:
            raw, n = faq_qas(values, to_text)
            n_faq += n
            found.append((markup, raw))

    result = PageResult(
        language=page.language or declared_language(jsonld_values) or content_language or page.content_language,
        title=page.title,
        description=page.description,
        counters=counters,
    )
    if n_faq == 0:
        result.drop_reason = "invalid_jsonld" if unreadable_faq_blocks else "no_faq_markup"
        return result
    seen: set[tuple[str, str]] = set()
    for markup, raw in found:
        for qa in raw:
            skip = _qa_skip_reason(qa.question, qa.answer, seen, len(result.qas))
            if skip:
                counters[skip] = counters.get(skip, 0) + 1
            else:
                seen.add((qa.question, qa.answer))
                result.qas.append(PageQA(qa.question, qa.answer, markup))
    if not result.qas:
        result.drop_reason = "empty_qa"
    return result


def _qa_skip_reason(question: str, answer: str, seen: set[tuple[str, str]], n_kept: int) -> str | None:
    if not question:
        return "qa_empty_question"
    if not answer:
        return "qa_empty_answer"
    if len(question) > MAX_QUESTION_CHARS or len(answer) > MAX_ANSWER_CHARS:
        return "qa_too_long"
    if (question, answer) in seen:
        return "qa_duplicate_on_page"
    if n_kept >= MAX_QAS_PER_PAGE:
        return "qa_over_page_limit"
    return None


def crawl_of(path: str, known: str | None) -> str:
    """The crawl id: the one given or read from warcinfo, else a CC-MAIN-YYYY-WW in the path, else 'local'."""
    if known:
        return known
    match = _CRAWL_IN_PATH.search(path)
    return match.group(0) if match else "local"


def _warcinfo_crawl(payload: bytes) -> str | None:
    for line in payload.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == "ispartof" and value.strip():
            return value.strip()
    return None


def _add_page(rows: QARawRows, result: PageResult, url: str, crawl: str, warc_file: str, offset: int,
              fetch_time: datetime | None) -> None:
    rows.add_page(url, ((qa.question, qa.answer, qa.markup) for qa in result.qas), crawl=crawl,
                  warc_file=warc_file, offset=offset, fetch_time=fetch_time, language=result.language,
                  title=result.title, description=result.description)


def _record_date(record) -> datetime | None:
    try:
        return record.record_date
    except (ValueError, OSError):
        return None


def extract_warc_file(
    uri: str,
    stats: StageStats,
    crawl: str | None = None,
    max_page_bytes: int = DEFAULT_MAX_PAGE_BYTES,
    batch_rows: int = BATCH_ROWS,
    record_seconds: float = DEFAULT_RECORD_SECONDS,
) -> Iterator[pa.RecordBatch]:
    """Stream one WARC file; yield qa_raw batches; count every record into `stats`.

    Never raises for bad input: an unreadable file or its unreadable remainder is a counted drop.
    Each record's counts and rows are held back until the next record arrives (or the
    file is known to end whole), so a partial record from a cut last gzip member is
    counted once, as `bad_gzip`, and emits nothing.
    """
    rows = QARawRows()
    warcinfo_crawl: str | None = None
    pending: _RecordOutcome | None = None
    try:
        with local_copy(uri) as path, open(path, "rb") as stream:
            stats.count("warc_files")
            try:
                for record in ArchiveIterator(stream, parse_http=True):
                    if pending is not None:
                        pending.commit(stats, rows)
                        if len(rows) >= batch_rows:
                            yield rows.flush()
                    pending = _handle_record(record, uri, crawl or warcinfo_crawl, max_page_bytes, record_seconds)
                    if record.record_type == WarcRecordType.warcinfo and warcinfo_crawl is None:
                        warcinfo_crawl = _warcinfo_crawl(record.reader.read())
            except OSError as exc:
                if pending is not None:
                    pending.commit(stats, rows)
                reason = "bad_gzip" if "zip" in str(exc).lower() or "decompress" in str(exc).lower() else "bad_warc"
                _fail_file(stats, reason, uri, exc)
            else:
                tail = tail_status(path, pending.offset if pending is not None else 0)
                if pending is not None and tail.first_member_complete:
                    pending.commit(stats, rows)
                if not tail.all_complete:
                    _fail_file(stats, "bad_gzip", uri, "truncated or corrupt gzip member at the end of the file")
    except OSError as exc:
        _fail_file(stats, "unreadable_file", uri, exc)
    if len(rows):
        yield rows.flush()


class _RecordOutcome:
    """What one record gave, not yet added to the file's stats and rows.

    Quacks like the `StageStats` methods `_handle_record` uses, but only notes the calls:
    replaying a few notes at commit costs far less than merging a Counter per record.
    """

    __slots__ = ("offset", "notes", "page")

    def __init__(self, offset: int) -> None:
        self.offset = offset
        self.notes: list[tuple[str, object, int]] = []
        self.page: tuple | None = None  # arguments of _add_page (after rows) when the record yielded QAs

    def drop(self, reason: str) -> None:
        self.notes.append(("drop", reason, 1))

    def kept(self) -> None:
        self.notes.append(("kept", None, 1))

    def count(self, name: str, n: int = 1) -> None:
        self.notes.append(("count", name, n))

    def sample(self, message: str) -> None:
        self.notes.append(("sample", message, 1))

    def commit(self, stats: StageStats, rows: QARawRows) -> None:
        for kind, arg, n in self.notes:
            if kind == "count":
                stats.count(arg, n)
            elif kind == "drop":
                stats.drop(arg)
            elif kind == "kept":
                stats.kept()
            else:
                stats.sample(arg)
        if self.page is not None:
            _add_page(rows, *self.page)


def _fail_file(stats: StageStats, reason: str, uri: str, error: object) -> None:
    stats.drop(reason)
    stats.count("warc_files_failed")
    stats.sample(f"{uri}: {reason}: {error}")


def _handle_record(record, uri: str, crawl: str | None, max_page_bytes: int, record_seconds: float) -> _RecordOutcome:
    outcome = stats = _RecordOutcome(record.stream_pos)
    if record.record_type != WarcRecordType.response:
        stats.drop("not_response")
        return outcome
    stats.count("responses")
    try:
        if record.content_length > max_page_bytes:
            stats.drop("too_large")
            return outcome
        http = record.http_headers if record.is_http else None
        if http is None or http.status_code != 200:
            stats.drop("http_not_ok")
            return outcome
        content_type = (record.http_content_type or "").lower()
        if content_type and not content_type.startswith(_HTML_TYPES):
            stats.drop("not_html")
            return outcome
        body = record.reader.read()
        stats.count("bytes_read", len(body))
        if looks_binary(body):
            stats.drop("not_html")
            return outcome
        if not has_faq_marker(body):
            stats.drop("no_faq_markup")
            return outcome
        stats.count("prefilter_pass")
        with time_limit(record_seconds):
            result = extract_page(body, record.http_charset, http.get("Content-Language"))
    except WorkTimeout:
        stats.drop("extract_timeout")
        stats.sample(f"{uri} @{record.stream_pos} {_target_uri(record)}: parsing took over {record_seconds}s")
        return outcome
    except OSError:
        raise  # the stream itself is broken: the file-level handler counts the rest of the file
    except Exception as exc:  # one bad record must never end the file
        stats.drop("extract_error")
        stats.sample(f"{uri} @{record.stream_pos} {_target_uri(record)}: {type(exc).__name__}: {exc}")
        return outcome
    for name, n in result.counters.items():
        stats.count(name, n)
    if result.drop_reason:
        stats.drop(result.drop_reason)
        return outcome
    stats.kept()
    stats.count("rows_out", len(result.qas))
    for qa in result.qas:
        stats.count(f"qas_{qa.markup}")
    outcome.page = (result, _target_uri(record), crawl_of(uri, crawl), uri, record.stream_pos, _record_date(record))
    return outcome


def _target_uri(record) -> str:
    """The page's URL, read only for the few records that need it (QAs or an error to name)."""
    return clean_target_uri(record.headers.get("WARC-Target-URI"))
