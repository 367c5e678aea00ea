"""The crawl simulator: determinism, what its truth covers, WARC validity, and that extraction recovers the truth."""

from __future__ import annotations

import gzip
import hashlib
import random
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fastwarc import ArchiveIterator, WarcRecordType

from faqmine.simulate import SimConfig, parse_size, simulate
from faqmine.simulate.fragments import ANSWER_STYLES, answer_html
from faqmine.simulate.xquad import answer_span, sentence_spans

SMALL = dict(size_bytes=2_000_000, faq_share=0.3)


def _run(out: Path, seed: int = 1, **overrides) -> dict:
    return simulate(SimConfig(out=out, seed=seed, quiet=True, **{**SMALL, **overrides}), log=lambda _: None)


def _digests(out: Path) -> dict[str, str]:
    files = sorted([*out.glob("warc/*.warc.gz"), out / "warc.paths.gz", *out.glob("truth/*.parquet")])
    return {str(f.relative_to(out)): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


@pytest.fixture(scope="module")
def crawl(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    _run(out)
    return out


@pytest.fixture(scope="module")
def truth(crawl):
    return {name: pq.read_table(crawl / "truth" / f"{name}.parquet").to_pylist()
            for name in ("qa", "pages", "bad_records")}


def test_same_seed_gives_identical_bytes(crawl, tmp_path):
    _run(tmp_path)
    assert _digests(tmp_path) == _digests(crawl)


def test_other_seed_gives_another_crawl(crawl, tmp_path):
    _run(tmp_path, seed=2)
    first = sorted(crawl.glob("warc/*.warc.gz"))[0].read_bytes()
    assert sorted(tmp_path.glob("warc/*.warc.gz"))[0].read_bytes() != first


def test_listing_names_the_warc_files(crawl):
    listed = gzip.decompress((crawl / "warc.paths.gz").read_bytes()).decode().split()
    assert listed == [str(p.relative_to(crawl)) for p in sorted(crawl.glob("warc/*.warc.gz"))]


def test_truth_covers_every_feature(truth):
    qa, pages, bad = truth["qa"], truth["pages"], truth["bad_records"]
    assert len({r["language"] for r in qa}) >= 5
    assert {r["markup"] for r in qa} == {"jsonld", "microdata", "rdfa"}
    assert {r["markup"] for r in pages} >= {"jsonld", "microdata", "rdfa", "jsonld+microdata"}
    # translation groups: one site, one XQuAD id, several languages
    groups: dict[str, set] = {}
    for r in qa:
        if r["translation_group"]:
            groups.setdefault(r["translation_group"], set()).add((r["site"], r["xquad_id"], r["language"]))
    assert groups and all(len({lang for _, _, lang in g}) >= 2 and len({(s, x) for s, x, _ in g}) == 1
                          for g in groups.values())
    # near-duplicate groups hold at least two different texts of one XQuAD question in one language
    near: dict[str, set] = {}
    for r in qa:
        if r["near_dup_group"]:
            near.setdefault(r["near_dup_group"], set()).add((r["question"], r["answer"]))
    assert near and all(len(texts) >= 2 for texts in near.values())
    assert any(r["edits"] for r in qa)
    # exact duplicates point at an earlier QA with the same text
    by_id = {r["qa_id"]: r for r in qa}
    dups = [r for r in qa if r["is_exact_dup_of"]]
    assert dups and all((by_id[r["is_exact_dup_of"]]["question"], by_id[r["is_exact_dup_of"]]["answer"])
                        == (r["question"], r["answer"]) for r in dups)
    assert any(p["is_duplicate_page"] for p in pages)
    assert {r["reason"] for r in bad} == {"not_html", "invalid_jsonld", "http_not_ok", "empty_qa", "bad_gzip",
                                          "no_faq_markup"}
    assert any(p["declared_lang"] is None or p["declared_lang"][:2] != p["language"] for p in pages)


def test_truth_keys_and_positions(truth):
    qa, pages = truth["qa"], truth["pages"]
    keys = [(r["url"], r["position"]) for r in qa]
    assert len(keys) == len(set(keys))
    per_url = Counter(r["url"] for r in qa)
    assert {p["url"]: p["n_qas"] for p in pages} == dict(per_url)
    for url, n in per_url.items():
        assert sorted(r["position"] for r in qa if r["url"] == url) == list(range(n))
    assert all(r["question"] and r["answer"] and r["question"] == r["question"].strip() for r in qa)


def test_warc_files_parse_and_match_the_truth(crawl, truth):
    expected = {(r["warc_file"], r["record_offset"]): r["url"] for r in truth["pages"] + truth["bad_records"]}
    cut = {(r["warc_file"], r["record_offset"]) for r in truth["bad_records"] if r["reason"] == "bad_gzip"}
    seen: dict[tuple[str, int], str] = {}
    for path in sorted(crawl.glob("warc/*.warc.gz")):
        name = str(path.relative_to(crawl))
        with open(path, "rb") as stream:
            records = list(ArchiveIterator(stream, parse_http=True))
        assert records[0].record_type == WarcRecordType.warcinfo and records[0].stream_pos == 0
        for record in records[1:]:
            assert record.record_type == WarcRecordType.response
            seen[(name, record.stream_pos)] = record.headers["WARC-Target-URI"]
    complete = {k: v for k, v in expected.items() if k not in cut}
    assert {k: seen[k] for k in complete} == complete
    # nothing else is readable, except what a reader makes of the cut last member
    assert set(seen) - set(complete) <= cut


def test_extraction_recovers_exactly_the_truth(crawl, truth):
    from faqmine.core.stats import StageStats
    from faqmine.extract import records as extract

    stats = StageStats("extract")
    rows = []
    for path in sorted(crawl.glob("warc/*.warc.gz")):
        for batch in extract.extract_warc_file(str(path), stats):
            rows.extend(batch.to_pylist())
    got = {(r["url"], r["position"]): (r["question"], r["answer"]) for r in rows}
    want = {(r["url"], r["position"]): (r["question"], r["answer"]) for r in truth["qa"]}
    assert got == want
    reasons = Counter(r["reason"] for r in truth["bad_records"])
    for reason in ("not_html", "invalid_jsonld", "http_not_ok", "empty_qa", "bad_gzip", "no_faq_markup"):
        assert stats.dropped[reason] == reasons[reason], reason
    assert stats.records_out == len(truth["pages"])


def test_answer_html_keeps_the_text():
    from faqmine.core import text as text_module
    rng = random.Random(0)
    samples = ["Die Verteidigung gab nur 308 Punkte ab, belegte Platz 6 & führte die NFL an. Sie hatte 24 Siege.",
               "黑豹队的防守只丢了 308分，在联赛中排名第六。职业碗防守截锋卡万·肖特以 11 分领先于全队。",
               "لم يتخلى فريق بانثرز سوى عن 308 نقطة، ليحتل المركز السادس في الدوري. \u200fوقد تصدر المدافع",
               'She said "<b>" isn\'t a tag: 3 < 4 > 2, café, naïve.']
    for text in samples:
        for style in ANSWER_STYLES:
            for _ in range(5):
                assert text_module.html_to_text(answer_html(text, rng, style, "example.com")) == text, style


def test_sentence_holds_the_whole_answer():
    context = "Dr. Smith arrived. The U.S. Army won in 1945. It ended."
    spans = sentence_spans(context, "en")
    start = context.index("U.S. Army")
    first, last = answer_span(spans, start, start + len("U.S. Army won"), 10)
    assert "U.S. Army won" in context[spans[first][0] : spans[last][1]]


def test_sizes_and_file_split():
    assert parse_size("200MB") == 200_000_000
    assert parse_size("1GiB") == 2**30
    assert parse_size("512") == 512
    with pytest.raises(ValueError):
        parse_size("lots")
    config = SimConfig(out=Path("x"), size_bytes=parse_size("1GB"))
    assert len(config.file_targets()) == 10 and sum(config.file_targets()) == 10**9
    assert len(SimConfig(out=Path("x"), size_bytes=parse_size("2MB")).file_targets()) == 1
    assert len(SimConfig(out=Path("x"), size_bytes=parse_size("50MB")).file_targets()) == 4


def test_help_lists_every_option(capsys):
    from faqmine.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["simulate", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--out", "--size", "--seed", "--faq-share", "--languages", "--answer", "--file-size",
                   "--bad-share", "--dup-share", "--multilingual-share", "--copy-share", "--bad-gzip-every",
                   "--crawl", "--data-dir", "--quiet"):
        assert option in out


def test_languages_and_paragraph_answers(tmp_path):
    summary = _run(tmp_path, size_bytes=1_000_000, faq_share=0.4, languages=("de", "zh"), answer_mode="paragraph")
    qa = pq.read_table(tmp_path / "truth" / "qa.parquet").to_pylist()
    assert {r["language"] for r in qa} == {"de", "zh"} and summary["qas"] == len(qa)
    assert sum(len(r["answer"]) for r in qa) / len(qa) > 200  # paragraphs, not sentences
