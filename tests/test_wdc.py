"""Web Data Commons N-Quads as a first stage: parsing, the real sample, WARC parity, the Spark stage and the job."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from helpers.warc_builder import Response, write_warc

from faqmine.core.ids import qa_id
from faqmine.core.stats import StageStats, check_balance, read_stats
from faqmine.extract.records import extract_warc_file
from faqmine.extract_wdc.nquads import MARKUP, NO_OFFSET, extract_wdc_file, parse_nquad, resolve_dumps

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "wdc" / "FAQPage_sample.txt.gz"
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"


def rows_of(path: Path | str, stats: StageStats | None = None) -> list[dict]:
    batches = list(extract_wdc_file(str(path), stats or StageStats("test")))
    return pa.Table.from_batches(batches).to_pylist() if batches else []


def test_parse_nquad_terms_and_escapes():
    quad = parse_nquad('_:b1 <http://schema.org/name> "Caf\\u00e9 \\"open\\"?\\nYes \\U0001F600"@EN-gb '
                       "<https://x.example/faq>   .\n")
    assert (quad.subject, quad.predicate, quad.kind) == ("_:b1", "http://schema.org/name", "literal")
    assert quad.obj == 'Café "open"?\nYes 😀' and quad.language == "en-gb" and quad.graph == "https://x.example/faq"
    quad = parse_nquad('<https://x/#p> <http://schema.org/height> "512"^^<http://www.w3.org/2001/XMLSchema#integer> '
                       "<https://x/> .")
    assert quad.obj == "512" and quad.language is None and quad.graph == "https://x/"
    quad = parse_nquad(f"<https://x/#faq> {RDF_TYPE} <http://schema.org/FAQPage> _:g1 .")
    assert (quad.kind, quad.obj, quad.graph) == ("iri", "http://schema.org/FAQPage", "_:g1")
    assert parse_nquad("_:a <http://schema.org/name> _:b .").graph is None  # a triple: no page to put it on
    for bad in ("", "# comment", "<a> <b> .", '_:a <http://p> "unterminated <g> .', "<a> b <c> <g> ."):
        assert parse_nquad(bad) is None, bad


def test_real_wdc_sample():
    stats = StageStats("extract_wdc")
    rows = rows_of(SAMPLE, stats)
    summary = stats.to_dict()
    check_balance(summary)
    # 13 pages; one page's Question nodes fall outside the 1,000-line sample, so it has an empty FAQ
    assert (summary["in"], summary["out"], summary["dropped"]) == (13, 12, {"empty_qa": 1})
    assert summary["rows_out"] == len(rows) == 56 and summary["quads"] == 1000
    first = rows[0]
    assert first["url"] == "http://anyquestions.info/index-137.html"
    assert first["question"] == "What are the Components of Cloud Workload Security?"
    assert first["answer"].startswith("1. Access Control 2. Encryption 3. Intrusion Detection")  # \n collapsed
    assert first["qa_id"] == qa_id(first["url"], first["question"], first["answer"])
    assert (first["domain"], first["crawl"], first["markup"], first["warc_record_offset"]) == \
        ("anyquestions.info", "wdc", MARKUP, NO_OFFSET)
    assert first["warc_file"] == str(SAMPLE) and first["fetch_time"] is None and first["page_title"] is None
    by_url: dict[str, list[dict]] = {}
    for row in rows:
        by_url.setdefault(row["url"], []).append(row)
    assert len(by_url) == 12
    assert all([r["position"] for r in page] == list(range(len(page))) for page in by_url.values())
    dutch = by_url["http://bruilofttelefoon.nl/bruilofttelefoon-wit-als-een-trouwjurk/"]
    assert {r["page_language"] for r in dutch} == {"nl-NL"}  # the WebPage's inLanguage
    assert len({r["qa_id"] for r in rows}) == 56


FAQ_URL = "https://shop.example.com/faq"
FAQ_HTML = """<html lang="en"><head><title>Shop FAQ</title>
<script type="application/ld+json">
{"@context": "https://schema.org", "@type": "FAQPage", "inLanguage": "en-GB", "mainEntity": [
  {"@type": "Question", "name": "How  long does\\n shipping take?",
   "acceptedAnswer": {"@type": "Answer", "text": "<p>Two to <b>five</b> days &amp; free.</p><p>Tracked.</p>"}},
  {"@type": "Question", "name": "Cafe\\u0301 open on Sunday?",
   "acceptedAnswer": {"@type": "Answer", "text": "Yes,&nbsp;from 9 to 5."}},
  {"@type": "Question", "name": "Empty?", "acceptedAnswer": {"@type": "Answer", "text": " "}}
]}
</script></head><body></body></html>"""


def faq_nquads(url: str) -> str:
    """The same FAQ as WDC's extractor writes it: one page graph, blank nodes, literals escaped."""
    g = f"<{url}>"
    s = "<http://schema.org/"
    lines = [
        f"_:n0 {RDF_TYPE} {s}FAQPage> {g} .",
        f'_:n0 {s}inLanguage> "en-GB" {g} .',
        f"_:n0 {s}mainEntity> _:n1 {g} .",
        f"_:n0 {s}mainEntity> _:n3 {g} .",
        f"_:n0 {s}mainEntity> _:n5 {g} .",
        f"_:n1 {RDF_TYPE} {s}Question> {g} .",
        f'_:n1 {s}name> "How  long does\\n shipping take?" {g} .',
        f"_:n1 {s}acceptedAnswer> _:n2 {g} .",
        f"_:n2 {RDF_TYPE} {s}Answer> {g} .",
        f'_:n2 {s}text> "<p>Two to <b>five</b> days &amp; free.</p><p>Tracked.</p>" {g} .',
        f"_:n3 {RDF_TYPE} {s}Question> {g} .",
        f'_:n3 {s}name> "Cafe\\u0301 open on Sunday?"@en {g} .',
        f"_:n3 {s}acceptedAnswer> _:n4 {g} .",
        f'_:n4 {s}text> "Yes,&nbsp;from 9 to 5." {g} .',
        f"_:n5 {RDF_TYPE} {s}Question> {g} .",
        f'_:n5 {s}name> "Empty?" {g} .',
        f"_:n5 {s}acceptedAnswer> _:n6 {g} .",
        f'_:n6 {s}text> " " {g} .',
    ]
    return "\n".join(lines) + "\n"


def test_same_page_from_warc_and_from_wdc_gives_the_same_qas(tmp_path):
    warc = write_warc(tmp_path / "faq.warc.gz", [Response(FAQ_URL, FAQ_HTML.encode())])
    from_warc = pa.Table.from_batches(list(extract_warc_file(str(warc), StageStats("x")))).to_pylist()
    dump = tmp_path / "faq.nq.gz"
    dump.write_bytes(gzip.compress(faq_nquads(FAQ_URL).encode()))
    stats = StageStats("wdc")
    from_wdc = rows_of(dump, stats)
    keys = ("qa_id", "question", "answer", "url", "domain", "position")
    assert [tuple(r[k] for k in keys) for r in from_wdc] == [tuple(r[k] for k in keys) for r in from_warc]
    assert [r["question"] for r in from_wdc] == ["How long does shipping take?", "Café open on Sunday?"]
    assert [r["answer"] for r in from_wdc] == ["Two to five days & free. Tracked.", "Yes, from 9 to 5."]
    assert stats.counters["qa_empty_answer"] == 1 and from_wdc[0]["page_language"] == "en-GB"


def test_broken_dumps_are_counted(tmp_path):
    good = faq_nquads(FAQ_URL)
    mixed = tmp_path / "mixed.nq"
    no_faq = '<https://b.example/> <http://schema.org/name> "Just a page" <https://b.example/> .\n'
    mixed.write_text("# a comment\n\n" + good + "this is not a quad\n" + no_faq, encoding="utf-8")
    stats = StageStats("wdc")
    assert len(rows_of(mixed, stats)) == 2
    assert stats.dropped == {"bad_nquad": 1, "no_faq_markup": 1} and stats.records_out == 1
    cut = tmp_path / "cut.nq.gz"
    cut.write_bytes(gzip.compress(good.encode() * 50)[:-30])
    stats = StageStats("wdc")
    rows_of(cut, stats)
    assert stats.dropped["unreadable_file"] == 1 and stats.counters["nquad_files_failed"] == 1
    missing = StageStats("wdc")
    assert rows_of(tmp_path / "missing.nq.gz", missing) == [] and missing.dropped == {"unreadable_file": 1}
    for s in (stats, missing):
        check_balance(s.to_dict())


def split_sample(folder: Path) -> tuple[list[Path], int]:
    """The sample cut into two files in the middle of a page, plus one bad line; returns (files, cut line)."""
    lines = gzip.decompress(SAMPLE.read_bytes()).decode().splitlines(keepends=True)
    cut = next(i for i in range(400, 900) if lines[i].rsplit("<", 1)[1] == lines[i - 1].rsplit("<", 1)[1])
    folder.mkdir()
    first, second = folder / "part-0.nq.gz", folder / "part-1.nq.gz"
    first.write_bytes(gzip.compress("".join(lines[:cut]).encode()))
    second.write_bytes(gzip.compress(("not n-quads\n" + "".join(lines[cut:])).encode()))
    return [first, second], cut


@pytest.mark.spark
def test_spark_stage_groups_pages_across_files(spark, tmp_path):
    from faqmine.spark.extract_wdc import run_extract_wdc

    files, _ = split_sample(tmp_path / "dump")
    qa, stats, persisted = run_extract_wdc(spark, [str(f) for f in files])
    got = sorted((r.asDict() for r in qa.collect()), key=lambda r: (r["url"], r["position"]))
    persisted.unpersist()
    expected = sorted(rows_of(SAMPLE), key=lambda r: (r["url"], r["position"]))
    strip = lambda rows: [{k: v for k, v in r.items() if k != "warc_file"} for r in rows]  # noqa: E731
    assert strip(got) == strip(expected)  # the page cut in two is read whole, once
    summary = stats.to_dict()
    check_balance(summary)
    assert (summary["in"], summary["out"], summary["dropped"]) == (14, 12, {"bad_nquad": 1, "empty_qa": 1})
    assert summary["nquad_files"] == 2 and summary["rows_out"] == 56


def test_resolve_dumps(tmp_path):
    files, _ = split_sample(tmp_path / "d")
    assert resolve_dumps([str(tmp_path / "d")]) == [str(f) for f in files]
    assert resolve_dumps([str(tmp_path / "d" / "*.gz")], max_files=1) == [str(files[0])]
    assert resolve_dumps(["https://example.org/part_1.gz"]) == ["https://example.org/part_1.gz"]
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        resolve_dumps([str(tmp_path / "nothing-here*")])


@pytest.mark.spark
def test_extract_wdc_job(repo, tmp_path):
    out = tmp_path / "qa_raw"
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
           "SPARK_LOCAL_IP": "127.0.0.1", "FAQMINE_QUIET_SPARK": "1"}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "spark-submit"), "--master", "local[2]",
         "--conf", "spark.sql.shuffle.partitions=4", str(repo / "jobs" / "extract_wdc.py"),
         "--input", str(repo / "data" / "wdc"), "--output", str(out), "--crawl", "WDC-2024-12"],
        env=env, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    stats = read_stats(out)
    assert (stats["in"], stats["out"], stats["rows_out"]) == (13, 12, 56)
    assert duckdb.sql(f"SELECT count(*), count(DISTINCT qa_id), min(crawl) FROM read_parquet('{out}/**/*.parquet', "
                      "hive_partitioning=true)").fetchall() == [(56, 56, "WDC-2024-12")]


def test_job_help_and_bad_input(repo):
    done = subprocess.run([sys.executable, str(repo / "jobs" / "extract_wdc.py"), "--help"],
                          capture_output=True, text=True)
    assert done.returncode == 0 and "N-Quads" in done.stdout and "--crawl" in done.stdout
    done = subprocess.run([sys.executable, str(repo / "jobs" / "extract_wdc.py"), "--input", "/nonexistent/x.nq.gz",
                           "--output", "/tmp/never"], capture_output=True, text=True)
    assert done.returncode == 2 and "/nonexistent/x.nq.gz" in done.stderr
