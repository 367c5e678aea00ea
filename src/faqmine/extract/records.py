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
- `bad_gzip` / `bad_warc`  one damaged region of a file: a gzip member that does not inflate (or a
                    truncated one), or one that inflates to no WARC record; reading goes on at the next gzip
                    member whose inflated start is a WARC line (`faqmine.extract.resync`), so a region is usually one
                    record; counters `gzip_resyncs`, `bytes_skipped`, `records_after_resync`, and, inside a
                    whole-file single gzip stream, `records_lost_estimate`; `samples` name file and byte offsets
- `too_large` also  a gzip member that inflates past `max_member_bytes` (a gzip bomb, or a record whose
                    Content-Length lies), cut there; a record declaring more than that is not inflated at all
                    (`members_cut`): the next member is found by scanning
- `unreadable_file` a missing file or one that could not be downloaded
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
from faqmine.extract.html_markup import MarkupOverLimit, read_markup
from faqmine.extract.jsonld import InvalidJsonLd, parse_jsonld
from faqmine.extract.prefilter import has_faq_marker
from faqmine.extract.resync import (
    DEFAULT_MAX_MEMBER_BYTES,
    Member,
    file_size,
    find_member,
    find_warc_header,
    inflate_member,
    member_starts_at,
    starts_warc,
)
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
    max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES,
) -> Iterator[pa.RecordBatch]:
    """Stream one WARC file; yield qa_raw batches; count every record into `stats`.

    Never raises for bad input: an unreadable file, or each damaged region of one, is a counted
    drop, and reading goes on at the next good gzip member (or WARC header, uncompressed).
    Each record's counts and rows are held back until the next record arrives (FastWARC has
    then checked the CRC of the record's member), or until `inflate_member` has checked that
    member itself, so a record of a damaged member is counted once, in its region, and emits nothing.
    """
    rows = QARawRows()
    warcinfo_crawl: str | None = None
    try:
        with local_copy(uri) as path, open(path, "rb") as stream:
            stats.count("warc_files")
            damage = _Damage(uri, stats)
            gzipped = _is_gzipped(stream)
            size = file_size(stream)
            segment: int | None = 0
            while segment is not None and segment < size:
                stream.seek(segment)
                seen = _Segment(segment)
                pending: _RecordOutcome | None = None
                error: OSError | None = None
                try:
                    for record in ArchiveIterator(stream, parse_http=True):
                        if pending is not None:
                            damage.commit(pending, rows)
                            pending = None
                            if len(rows) >= batch_rows:
                                yield rows.flush()
                        seen.last_offset, seen.last_length = record.stream_pos, record.content_length
                        outcome = _handle_record(record, uri, crawl or warcinfo_crawl, max_page_bytes, record_seconds)
                        if record.record_type == WarcRecordType.warcinfo and warcinfo_crawl is None:
                            warcinfo_crawl = _warcinfo_crawl(record.reader.read())
                        pending = outcome
                        if gzipped and record.content_length > max_member_bytes and \
                                member_starts_at(stream, record.stream_pos):
                            seen.cut = True  # do not inflate it to skip it: jump to the next member
                            break
                except OSError as exc:
                    error = exc
                segment = _next_segment(stream, size, gzipped, seen, pending, error, damage, rows, max_member_bytes)
    except OSError as exc:
        _fail_file(stats, "unreadable_file", uri, exc)
    if len(rows):
        yield rows.flush()


@dataclass
class _Segment:
    """What one run of FastWARC from `start` saw: the last record it yielded, and whether it was cut."""

    start: int
    last_offset: int | None = None
    last_length: int = 0
    cut: bool = False


class _Damage:
    """The damaged regions of one file: one counted drop each, with counters and a sample naming the bytes."""

    def __init__(self, uri: str, stats: StageStats) -> None:
        self.uri = uri
        self.stats = stats
        self.regions = 0
        self.records_read = 0

    def commit(self, outcome: _RecordOutcome, rows: QARawRows) -> None:
        outcome.commit(self.stats, rows)
        self.records_read += 1
        if self.regions:
            self.stats.count("records_after_resync")

    def region(self, reason: str, start: int, end: int, resynced: bool, detail: str, approximate: bool = False) -> None:
        if not self.regions:
            self.stats.count("warc_files_failed")
        self.regions += 1
        self.stats.drop(reason)
        self.stats.count("bytes_skipped", end - start)
        if resynced:
            self.stats.count("gzip_resyncs")
        if approximate and start > 0:
            # inside one gzip member holding many records: what is lost can only be estimated
            self.stats.count("records_lost_estimate", max(1, round((end - start) * self.records_read / start)))
        where = f"bytes {'about ' if approximate else ''}{start}-{end}"
        then = f"read on at byte {end}" if resynced else "to the end of the file"
        self.stats.sample(f"{self.uri}: {reason}: {where} skipped, {then}: {detail}")


_MEMBER_REASON = {"bad_gzip": "bad_gzip", "truncated": "bad_gzip", "over_limit": "too_large"}


def _next_segment(stream, size: int, gzipped: bool, seen: _Segment, pending: _RecordOutcome | None,
                  error: OSError | None, damage: _Damage, rows: QARawRows, limit: int) -> int | None:
    """Settle the record FastWARC left pending, count the damaged region after it, and say where to go on."""
    last = seen.last_offset
    if seen.cut:  # a record larger than the inflation limit: counted by its headers (too_large), not inflated
        damage.commit(pending, rows)
        damage.stats.count("members_cut")
        return find_member(stream, last + 1)
    if not gzipped:
        return _next_plain_segment(stream, size, seen, pending, error, damage, rows)
    checked: Member | None = None
    if last is None:
        bad = seen.start
    else:
        if not member_starts_at(stream, last):
            return _damaged_big_member(stream, size, seen, pending, error, damage, rows)
        checked = inflate_member(stream, last, limit)
        if checked.status == "ok" and pending is not None:
            damage.commit(pending, rows)
            bad = checked.end
        else:
            bad = last  # the record's own member is damaged: it is lost with the region
    if bad >= size:
        return None
    member = checked if checked is not None and checked.start == bad else inflate_member(stream, bad, limit)
    if member.status == "ok":
        if bad != seen.start and starts_warc(member.head):
            return bad  # a good member: what FastWARC stumbled on lay before it
        if error is None and member.size == 0 and not member.head:
            return member.end  # an empty member holds no record
        reason, detail = "bad_warc", f"not a WARC record ({error or 'no WARC header'})"
    else:
        reason, detail = _MEMBER_REASON[member.status], member.detail
    found = find_member(stream, bad + 1)
    damage.region(reason, bad, size if found is None else found, found is not None, detail)
    return found


def _damaged_big_member(stream, size: int, seen: _Segment, pending: _RecordOutcome | None, error: OSError | None,
                        damage: _Damage, rows: QARawRows) -> int | None:
    """FastWARC stopped inside a gzip member that holds many records (a whole file compressed as one stream)."""
    if error is None:
        whole = inflate_member(stream, seen.start, limit=None)
        if whole.status == "ok":
            damage.commit(pending, rows)
            return whole.end
        detail = whole.detail
    else:
        if pending is not None:
            damage.commit(pending, rows)  # read whole before the stream broke; its member's CRC is still to come
        detail = str(error)
    found = find_member(stream, seen.last_offset + 1)
    damage.region("bad_gzip", seen.last_offset, size if found is None else found, found is not None,
                  f"{detail} (inside one gzip member of many records)", approximate=True)
    return found


def _next_plain_segment(stream, size: int, seen: _Segment, pending: _RecordOutcome | None, error: OSError | None,
                        damage: _Damage, rows: QARawRows) -> int | None:
    """Uncompressed WARC: go on at the next WARC header line after the last record read."""
    if pending is not None:
        damage.commit(pending, rows)
    if error is None:
        return None
    if seen.last_offset is None:
        bad = seen.start
    else:
        bad = _plain_record_end(stream, seen.last_offset, seen.last_length)
        if bad >= size:
            return None
    found = find_warc_header(stream, bad + 1 if bad == seen.start else bad)
    if found == bad:
        return found
    damage.region("bad_warc", bad, size if found is None else found, found is not None, str(error))
    return found


def _is_gzipped(stream) -> bool:
    """gzip magic at byte 0, or (a first member damaged) not a WARC header there and a WARC gzip member later."""
    head = stream.read(5)
    if head[:2] == b"\x1f\x8b":
        return True
    return not head.startswith(b"WARC/") and find_member(stream, 1) is not None


def _plain_record_end(stream, offset: int, length: int) -> int:
    stream.seek(offset)
    head = stream.read(64 << 10)
    blank = head.find(b"\r\n\r\n")
    if blank < 0:
        return offset + 1
    end = offset + blank + 4 + length
    stream.seek(end)
    trailer = stream.read(4)
    return end + (len(trailer) - len(trailer.lstrip(b"\r\n")))


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
