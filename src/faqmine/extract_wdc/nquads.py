"""Web Data Commons schema.org dumps (N-Quads) as an alternative first stage: FAQPage quads in, qa_raw rows out.

WebFAQ v1 started from the Web Data Commons (WDC) schema.org FAQPage extraction: gzip'd
N-Quads whose fourth term (the graph) is the URL of the page the quad was read from.
This module turns those quads into the same `qa_raw` rows that `faqmine.extract.records` makes
from WARC files, with the same schema.org mapping (`faqmine.extract.schemaorg.faq_qas`), the
same text normalisation (`faqmine.core.text.html_to_text`: tags dropped, entities decoded,
white space collapsed, NFC) and the same `qa_id` (`faqmine.core.ids.qa_id` of url, question,
answer), so a page read from a WARC and from a WDC dump gives identical ids and texts.

A page's quads become one node dict per subject, in the dict shape `faqmine.extract.schemaorg`
reads (`{"@id", "@type": [...], "<predicate IRI>": [values]}`; IRIs and blank nodes as
`{"@id": ...}` references, literals as strings), in the order the quads were written.

What a dump does not know gets a placeholder (documented in the README):
`warc_file` = the N-Quads file the page came from, `warc_record_offset` = -1 (no WARC
record), `fetch_time`, `page_title`, `page_description` = null, `markup` = "wdc" (WDC
merges JSON-LD, Microdata and RDFa), `page_language` = the FAQPage/WebPage `inLanguage`,
else the first language tag of a question or answer literal.

Unit of the stats: the page (graph). Drop reasons: `no_faq_markup` (no FAQPage node),
`empty_qa` (FAQ nodes whose every question or answer is empty), `bad_nquad` (a line that
is not N-Quads; each counts as one unit, it belongs to no page we can name),
`unreadable_file` (a dump that could not be opened, or each damaged gzip region of one:
one unit each; reading goes on at the next gzip member that inflates to text, see
`faqmine.extract.resync`; counters `bytes_skipped`, `gzip_resyncs`).
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from faqmine.core.rows import QARawRows
from faqmine.core.stats import StageStats
from faqmine.core.text import html_to_text
from faqmine.extract.resync import Skipped, inflate_members
from faqmine.extract.schemaorg import declared_language, faq_qas
from faqmine.extract.warc_input import local_copy

JOB = "extract_wdc"
MARKUP = "wdc"
NO_OFFSET = -1
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
BATCH_ROWS = 2048
DUMP_SUFFIXES = (".nq", ".nq.gz", ".nquads", ".nquads.gz", ".txt", ".txt.gz", ".gz")
_REMOTE = ("http://", "https://", "s3://")
_CRAWL_IN_PATH = re.compile(r"CC-MAIN-\d{4}-\d{2}")

# One N-Quads statement: subject, predicate, object, optional graph, final dot (lenient about spaces).
_IRI = r"<([^>]*)>"
_BNODE = r"(_:\S+)"
_LITERAL = r'"((?:[^"\\]|\\.)*)"(?:@([A-Za-z][A-Za-z0-9-]*)|\^\^<([^>]*)>)?'
_QUAD = re.compile(
    rf"^\s*(?:{_IRI}|{_BNODE})\s*{_IRI}\s*(?:{_IRI}|{_BNODE}|{_LITERAL})\s*(?:{_IRI}|{_BNODE})?\s*\.\s*$"
)
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)")
_SIMPLE_ESCAPES = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


@dataclass(frozen=True)
class Quad:
    """One statement. `kind` is "iri", "bnode" or "literal" and says what `obj` is."""

    subject: str
    predicate: str
    obj: str
    kind: str
    language: str | None
    graph: str | None


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text

    def one(match: re.Match) -> str:
        code = match.group(1)
        if code[0] in "uU" and len(code) > 1:
            try:
                return chr(int(code[1:], 16))
            except (ValueError, OverflowError):
                return "\ufffd"
        return _SIMPLE_ESCAPES.get(code, code)

    return _ESCAPE.sub(one, text)


def parse_nquad(line: str) -> Quad | None:
    """Parse one N-Quads line; None for a line that is not a statement (comments and blanks included)."""
    match = _QUAD.match(line)
    if match is None:
        return None
    s_iri, s_bnode, pred, o_iri, o_bnode, o_lit, o_lang, _o_type, g_iri, g_bnode = match.groups()
    if o_iri is not None:
        obj, kind = _unescape(o_iri), "iri"
    elif o_bnode is not None:
        obj, kind = o_bnode, "bnode"
    else:
        obj, kind = _unescape(o_lit), "literal"
    return Quad(
        subject=_unescape(s_iri) if s_iri is not None else s_bnode,
        predicate=_unescape(pred),
        obj=obj,
        kind=kind,
        language=o_lang.lower() if o_lang else None,
        graph=_unescape(g_iri) if g_iri is not None else g_bnode,
    )


def is_statement_line(line: str) -> bool:
    """Blank lines and `#` comments are not units; every other line should be a statement."""
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def page_nodes(quads: Iterable[Quad]) -> tuple[list[dict], list[str]]:
    """The page's node dicts (first-appearance order) and the language tags of its literals, in order."""
    nodes: dict[str, dict] = {}
    languages: list[str] = []
    for quad in quads:
        node = nodes.get(quad.subject)
        if node is None:
            node = nodes[quad.subject] = {"@id": quad.subject}
        if quad.predicate == RDF_TYPE:
            node.setdefault("@type", []).append(quad.obj)
            continue
        value: object = quad.obj if quad.kind == "literal" else {"@id": quad.obj}
        node.setdefault(quad.predicate, []).append(value)
        if quad.language:
            languages.append(quad.language)
    return list(nodes.values()), languages


@dataclass
class WdcPage:
    """The QA pairs of one page (distinct, non-empty) or the reason it gave none."""

    url: str
    qas: list[tuple[str, str]]
    language: str | None
    drop_reason: str | None
    counters: dict[str, int]


def read_page(url: str, quads: Iterable[Quad]) -> WdcPage:
    """Apply the schema.org FAQPage mapping to one page's quads (as `faqmine.extract.records.extract_page` does)."""
    nodes, languages = page_nodes(quads)
    counters: dict[str, int] = {"pages_parsed": 1}
    raw, n_faq = faq_qas(nodes, html_to_text)
    language = declared_language(nodes) or (languages[0] if languages else None)
    if n_faq == 0:
        return WdcPage(url, [], language, "no_faq_markup", counters)
    kept: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for qa in raw:
        if not qa.question:
            counters["qa_empty_question"] = counters.get("qa_empty_question", 0) + 1
        elif not qa.answer:
            counters["qa_empty_answer"] = counters.get("qa_empty_answer", 0) + 1
        elif (qa.question, qa.answer) in seen:
            counters["qa_duplicate_on_page"] = counters.get("qa_duplicate_on_page", 0) + 1
        else:
            seen.add((qa.question, qa.answer))
            kept.append((qa.question, qa.answer))
    return WdcPage(url, kept, language, None if kept else "empty_qa", counters)


def count_page(page: WdcPage, stats: StageStats) -> None:
    for name, n in page.counters.items():
        stats.count(name, n)
    if page.drop_reason:
        stats.drop(page.drop_reason)
        return
    stats.kept()
    stats.count("rows_out", len(page.qas))
    stats.count("qas_wdc", len(page.qas))


def add_wdc_page(rows: QARawRows, page: WdcPage, crawl: str, source_file: str) -> None:
    """A WDC page's QAs as qa_raw rows: no offset, fetch time, title or description in a dump."""
    rows.add_page(page.url, ((q, a, MARKUP) for q, a in page.qas), crawl=crawl, warc_file=source_file,
                  offset=NO_OFFSET, fetch_time=None, language=page.language, title=None, description=None)


def wdc_crawl(path: str, given: str | None) -> str:
    """The crawl column: --crawl, else a CC-MAIN-YYYY-WW named in the path, else "wdc"."""
    if given:
        return given
    match = _CRAWL_IN_PATH.search(path)
    return match.group(0) if match else "wdc"


def resolve_dumps(specs: list[str], max_files: int | None = None) -> list[str]:
    """Expand files, folders (every *.nq[.gz], *.txt[.gz], *.gz under them), globs and URLs into a file list.

    Raises FileNotFoundError naming the spec that matched nothing.
    """
    files: list[str] = []
    for spec in specs:
        local = spec[len("file://"):] if spec.startswith("file://") else spec
        if spec.startswith(_REMOTE):
            files.append(spec)
        elif os.path.isdir(local):
            found = sorted(str(p.resolve()) for p in Path(local).rglob("*")
                           if p.is_file() and p.name.endswith(DUMP_SUFFIXES))
            if not found:
                raise FileNotFoundError(f"no N-Quads files (*.nq, *.gz, *.txt) under {spec}")
            files.extend(found)
        elif os.path.isfile(local):
            files.append(str(Path(local).resolve()))
        else:
            matched = sorted(m for m in glob.glob(local, recursive=True) if os.path.isfile(m))
            if not matched:
                raise FileNotFoundError(f"input {spec!r} is not a file, a directory or a matching glob")
            files.extend(str(Path(m).resolve()) for m in matched)
    unique = list(dict.fromkeys(files))
    return unique[:max_files] if max_files else unique


def looks_like_text(head: bytes) -> bool:
    """Whether inflated bytes could start an N-Quads member: text, no control bytes but tab and line breaks."""
    return bool(head) and not any(b < 0x20 and b not in (0x09, 0x0A, 0x0D) for b in head)


def iter_lines(uri: str, on_skip: Callable[[Skipped], None] | None = None) -> Iterator[str]:
    """Text lines of a local or remote N-Quads file, gunzipped when it is gzip. Raises OSError if unreadable.

    A gzip member that does not inflate is skipped: reading goes on at the next member that
    inflates to text, and `on_skip` hears of each region skipped (without it, the first one
    raises OSError). A line cut by a skipped region is dropped with it, never joined across.
    """
    with local_copy(uri) as path, open(path, "rb") as raw:
        if raw.read(2) != b"\x1f\x8b":
            with open(path, encoding="utf-8", errors="replace") as text:
                yield from text
            return
        partial = b""
        for piece in inflate_members(raw, looks_like_text):
            if isinstance(piece, Skipped):
                if on_skip is None:
                    raise OSError(f"corrupt gzip: {piece.detail} at byte {piece.start}")
                partial = b""
                on_skip(piece)
                continue
            lines = (partial + piece).split(b"\n")
            partial = lines.pop()
            for line in lines:
                yield line.rstrip(b"\r").decode("utf-8", "replace") + "\n"
        if partial:
            yield partial.decode("utf-8", "replace")


def count_skipped(stats: StageStats, uri: str, region: Skipped) -> None:
    """A damaged region of a dump: one `unreadable_file` unit, with the bytes skipped and whether reading went on."""
    stats.drop("unreadable_file")
    stats.count("nquad_files_failed")
    stats.count("bytes_skipped", region.end - region.start)
    if region.resynced:
        stats.count("gzip_resyncs")
    then = f"read on at byte {region.end}" if region.resynced else "to the end of the file"
    stats.sample(f"{uri}: unreadable_file: bytes {region.start}-{region.end} skipped, {then}: {region.detail}")


def file_quads(uri: str, stats: StageStats) -> Iterator[tuple[int, Quad]]:
    """(line number from 0, quad) of every statement of one dump file that has a graph (its page).

    Counts the file, its quads, `bad_nquad` lines, skipped gzip regions and an `unreadable_file`
    in `stats`; an unreadable file ends the iteration, never the caller.
    """
    stats.count("nquad_files")
    try:
        for line_no, line in enumerate(iter_lines(uri, on_skip=lambda region: count_skipped(stats, uri, region))):
            if not is_statement_line(line):
                continue
            stats.count("quads")
            quad = parse_nquad(line)
            if quad is None or quad.graph is None:
                stats.drop("bad_nquad")
                stats.sample(f"{uri}:{line_no + 1}: bad_nquad: {line[:200]!r}")
                continue
            yield line_no, quad
    except OSError as exc:
        stats.drop("unreadable_file")
        stats.count("nquad_files_failed")
        stats.sample(f"{uri}: unreadable_file: {exc}")


def extract_wdc_file(uri: str, stats: StageStats, crawl: str | None = None,
                     batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """One process, one file: group the file's quads by page in memory and yield qa_raw batches.

    For tests and small dumps; the Spark stage groups by page with a shuffle instead, so a
    page may span files and a dump need not fit in memory.
    """
    pages: dict[str, list[Quad]] = {}
    for _, quad in file_quads(uri, stats):
        pages.setdefault(quad.graph, []).append(quad)
    rows = QARawRows()
    crawl_id = wdc_crawl(uri, crawl)
    for url, quads in pages.items():
        page = read_page(url, quads)
        count_page(page, stats)
        add_wdc_page(rows, page, crawl_id, uri)
        if len(rows) >= batch_rows:
            yield rows.flush()
    if len(rows):
        yield rows.flush()
