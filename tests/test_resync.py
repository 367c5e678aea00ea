"""Damaged WARC files cost only the records their damage touches: resync after a bad gzip member, bounded inflation.

Every damaged file is made at test time from the repository's own sample data (data/background)
or from small files written by `warc_builder`; the 4 GB gzip bomb is written as 4 MB of
repeated full-flushed deflate blocks, never inflated whole.
"""

from __future__ import annotations

import gzip
import logging
import random
import resource
import struct
import time
import tracemalloc
import zlib
from pathlib import Path

import pyarrow as pa
import pytest
from helpers.warc_builder import Response, response, warcinfo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faqmine.core.stats import StageStats, check_balance
from faqmine.extract.records import extract_warc_file
from faqmine.extract.resync import find_member, inflate_member, inflate_members
from faqmine.extract_wdc.nquads import extract_wdc_file

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[1]
DOLMA = REPO / "data" / "background" / "dolma-sample-0001.warc.gz"
CLUEWEB = REPO / "data" / "background" / "resiliparse-clueweb-quirk.warc.gz"
WDC = REPO / "data" / "wdc" / "FAQPage_sample.txt.gz"
PAGES = Path(__file__).parent / "fixtures" / "pages"
FAQ_URL = "https://commoncrawl.org/faq"
REGION_REASONS = ("bad_gzip", "bad_warc", "too_large")


def members(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of every gzip member of an undamaged file."""
    spans, pos = [], 0
    while pos < len(data):
        inflater = zlib.decompressobj(31)
        inflater.decompress(data[pos:])
        end = len(data) - len(inflater.unused_data)
        spans.append((pos, end))
        pos = end
    return spans


def run(path: Path, **kwargs) -> tuple[list[dict], dict]:
    stats = StageStats("extract")
    batches = list(extract_warc_file(str(path), stats, **kwargs))
    rows = pa.Table.from_batches(batches).to_pylist() if batches else []
    summary = stats.to_dict()
    check_balance(summary)
    return rows, summary


def damaged(data: bytes, offset: int, length: int = 400) -> bytes:
    out = bytearray(data)
    out[offset:offset + length] = bytes(b ^ 0xFF for b in out[offset:offset + length])
    return bytes(out)


def touched(spans: list[tuple[int, int]], lo: int, hi: int) -> list[int]:
    return [i for i, (start, end) in enumerate(spans) if start < hi and lo < end]


# ---------------------------------------------------------------- the real file, damaged


@pytest.mark.parametrize("offset", [100_000, 300, 20_000, 150_000, 227_600, 235_700])
def test_real_file_damaged_costs_only_the_records_it_touches(tmp_path, offset):
    data = DOLMA.read_bytes()
    spans = members(data)
    _, clean = run(DOLMA)
    path = tmp_path / "damaged.warc.gz"
    path.write_bytes(damaged(data, offset))
    rows, stats = run(path)
    hit = touched(spans, offset, offset + 400)
    faq_member = next(i for i, (start, _) in enumerate(spans) if start == 227_910)  # the FAQ response
    faq_rows = [r for r in rows if r["url"] == FAQ_URL]
    assert len(faq_rows) == (0 if faq_member in hit else 14), (offset, hit)
    lost = sum(stats["dropped"].get(r, 0) for r in REGION_REASONS)
    read = stats["in"] - lost
    assert read == len(spans) - len(hit)  # every record not touched is read and counted once
    assert 1 <= lost <= len(hit) and stats.get("gzip_resyncs", 0) + ("to the end" in stats["samples"][-1]) == lost
    assert stats["bytes_skipped"] == sum(spans[i][1] - spans[i][0] for i in hit)  # whole members, nothing more
    assert str(path) in stats["samples"][0] and f"bytes {spans[hit[0]][0]}-" in stats["samples"][0]
    assert stats.get("records_after_resync", 0) == len(spans) - 1 - hit[-1]
    assert clean["in"] == len(spans) and stats.get("rows_out", 0) == len(rows)


def test_issue_example_gives_the_faq_and_names_the_region(tmp_path):
    path = tmp_path / "damaged.warc.gz"
    path.write_bytes(damaged(DOLMA.read_bytes(), 100_000))
    rows, stats = run(path)
    assert len(rows) == 14 and {r["url"] for r in rows} == {FAQ_URL}
    assert rows[0]["warc_record_offset"] == 227_910
    assert stats["in"] == 34 and stats["dropped"]["bad_gzip"] == 1
    assert stats["gzip_resyncs"] == 1 and stats["bytes_skipped"] == 109_223 - 78_027
    assert stats["records_after_resync"] == 34 - 12 - 1  # 12 members before the damaged one
    assert "bytes 78027-109223 skipped, read on at byte 109223" in stats["samples"][0]


def test_clueweb_warc_018_file_resyncs(tmp_path):
    data = CLUEWEB.read_bytes()
    spans = members(data)
    start, end = spans[5]
    path = tmp_path / "clueweb.warc.gz"
    path.write_bytes(damaged(data, start + 200, 50))
    _, stats = run(path)
    assert stats["in"] == len(spans) and stats["dropped"]["bad_gzip"] == 1 and stats["gzip_resyncs"] == 1


def test_warc_11_file_resyncs(tmp_path):
    data = DOLMA.read_bytes()
    v11 = b"".join(gzip.compress(gzip.decompress(data[s:e]).replace(b"WARC/1.0\r\n", b"WARC/1.1\r\n", 1), mtime=0)
                   for s, e in members(data))
    spans = members(v11)
    path = tmp_path / "v11.warc.gz"
    path.write_bytes(damaged(v11, spans[3][0] + 30, 20))
    rows, stats = run(path)
    assert len(rows) == 14 and stats["in"] == 34 and stats["dropped"]["bad_gzip"] == 1


def test_uncompressed_warc_resyncs_at_the_next_header(tmp_path):
    raw = gzip.decompress(DOLMA.read_bytes())
    plain = tmp_path / "plain.warc"
    plain.write_bytes(raw)
    rows, stats = run(plain)
    assert len(rows) == 14 and stats["in"] == 34 and not any(r in stats["dropped"] for r in REGION_REASONS)
    starts = [i for i in range(len(raw)) if raw.startswith(b"WARC/1.0\r\n", i)]
    assert len(starts) == 34
    broken = bytearray(raw)
    broken[starts[5] + 3:starts[5] + 40] = b"#" * 37  # the version line and first field of record 5
    plain.write_bytes(bytes(broken))
    rows, stats = run(plain)
    assert len(rows) == 14 and stats["dropped"]["bad_warc"] == 1 and stats["in"] == 34


def test_single_stream_gzip_file(tmp_path):
    """One gzip member for the whole file: damage can only end it; what is lost is estimated."""
    single = gzip.compress(gzip.decompress(DOLMA.read_bytes()), mtime=0)
    path = tmp_path / "single.warc.gz"
    path.write_bytes(single)
    rows, stats = run(path)
    assert len(rows) == 14 and stats["in"] == 34 and "warc_files_failed" not in stats
    path.write_bytes(damaged(single, 100_000))
    rows, stats = run(path)
    assert stats["dropped"]["bad_gzip"] == 1 and stats["records_lost_estimate"] >= 1
    assert "inside one gzip member of many records" in stats["samples"][0]
    path.write_bytes(single[:150_000])
    rows, stats = run(path)
    assert stats["dropped"]["bad_gzip"] == 1 and stats["in"] < 34 and "truncated" in stats["samples"][0]


# ---------------------------------------------------------------- a simulated file, damaged at random


def _simulated() -> tuple[bytes, list[tuple[int, int]], list[str | None]]:
    body = (PAGES / "faq_jsonld.html").read_bytes()
    parts, urls = [warcinfo()], [None]
    for n in range(1, 9):
        url = f"https://shop{n}.example.com/faq"
        filler = random.Random(n).randbytes(300).hex().encode()  # text that compresses badly: bigger members
        page = body.replace(b"Shipping FAQ", f"Shipping FAQ {n}".encode()) + filler
        parts.append(response(Response(url, page), n))
        urls.append(url)
    data = b"".join(parts)
    return data, members(data), urls


SIMULATED, SIM_SPANS, SIM_URLS = _simulated()
damage_ranges = st.lists(st.tuples(st.integers(0, len(SIMULATED) - 1), st.integers(1, 600), st.binary(min_size=1)),
                         min_size=1, max_size=3)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(damage=damage_ranges)
def test_random_damage_recovers_every_untouched_record(tmp_path, damage):
    data = bytearray(SIMULATED)
    for offset, length, noise in damage:
        end = min(len(data), offset + length)
        data[offset:end] = (noise * (end - offset))[: end - offset]
    changed = [i for i in range(len(data)) if data[i] != SIMULATED[i]]
    hit = {m for i in changed for m in touched(SIM_SPANS, i, i + 1)}
    path = tmp_path / "sim.warc.gz"
    path.write_bytes(bytes(data))
    rows, stats = run(path)
    recovered = {r["url"] for r in rows}
    untouched = {SIM_URLS[m] for m in range(1, len(SIM_SPANS)) if m not in hit}
    assert untouched <= recovered
    lost = sum(stats["dropped"].get(r, 0) for r in REGION_REASONS)
    assert stats["in"] - lost >= len(SIM_SPANS) - len(hit)  # every untouched record counted on its own
    assert (lost >= 1) == (stats["in"] - lost < len(SIM_SPANS)) and lost <= len(hit)
    for row in rows:
        assert row["question"] in ("How long does delivery take?", "Can I return an item?")


# ---------------------------------------------------------------- gzip bomb


def _bomb_member(header: bytes, zero_mib: int) -> bytes:
    """A gzip member of `header` then `zero_mib` MiB of zeros, about 1 KB a MiB: a full-flushed deflate
    block depends on nothing before it, so one block that inflates to 1 MiB is written many times."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = comp.compress(header) + comp.flush(zlib.Z_FULL_FLUSH)
    zeros = bytes(1 << 20)
    block = comp.compress(zeros) + comp.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(header)
    for _ in range(zero_mib):
        crc = zlib.crc32(zeros, crc)
    size = len(header) + (zero_mib << 20)
    trailer = struct.pack("<II", crc, size & 0xFFFFFFFF)
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + head + block * zero_mib + comp.flush() + trailer


def _bomb_file(tmp_path: Path, honest: bool) -> Path:
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"
    length = len(http) + (4096 << 20) if honest else len(http) + 20
    header = (b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:bomb>\r\n"
              b"WARC-Target-URI: https://bomb.example.com/\r\nContent-Type: application/http; msgtype=response\r\n"
              b"Content-Length: " + str(length).encode() + b"\r\n\r\n" + http)
    path = tmp_path / f"{'honest' if honest else 'lying'}.warc.gz"
    faq = response(Response("https://shop.example.com/faq", (PAGES / "faq_jsonld.html").read_bytes()), 2)
    path.write_bytes(warcinfo() + _bomb_member(header, 4096) + faq)
    return path


@pytest.mark.parametrize("honest", [True, False], ids=["content-length-4GB", "content-length-lies"])
def test_4mb_member_inflating_to_4gb_is_dropped_in_bounded_time_and_memory(tmp_path, honest):
    path = _bomb_file(tmp_path, honest)
    compressed = path.stat().st_size
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    started = time.perf_counter()
    rows, stats = run(path)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    log.warning("gzip bomb (%s): %.1f MB file inflating to 4 GiB read in %.3f s; Python peak %.1f MB, "
                "max RSS %d -> %d MB", "honest" if honest else "lying", compressed / 1e6, seconds, peak / 1e6,
                rss_before // 1024, rss_after // 1024)
    assert 3.5e6 < compressed < 5e6
    assert {r["url"] for r in rows} == {"https://shop.example.com/faq"}
    assert stats["dropped"] == {"not_response": 1, "too_large": 1}
    assert stats.get("members_cut", 0) == (1 if honest else 0)


def test_inflate_member_stops_at_the_limit(tmp_path):
    path = tmp_path / "bomb.gz"
    path.write_bytes(_bomb_member(b"WARC/1.0\r\n", 64) + gzip.compress(b"WARC/1.0\r\nnext"))
    with open(path, "rb") as fh:
        member = inflate_member(fh, 0, limit=1 << 20)
        assert member.status == "over_limit" and member.size <= 2 << 20 and member.head.startswith(b"WARC/1.0")
        assert inflate_member(fh, 0, limit=None).status == "ok"
        assert find_member(fh, 1) == path.stat().st_size - len(gzip.compress(b"WARC/1.0\r\nnext"))


# ---------------------------------------------------------------- remote input and WDC dumps


def test_remote_damaged_file_resumed_mid_region_resyncs(tmp_path, monkeypatch):
    from test_remote_input import DirOrigin, FaultServer

    monkeypatch.setenv("FAQMINE_HTTP_BACKOFF_S", "0.001")
    root = tmp_path / "site"
    root.mkdir()
    local = root / "damaged.warc.gz"
    local.write_bytes(damaged(DOLMA.read_bytes(), 100_000))
    with FaultServer(DirOrigin(root)) as server:
        server.plans["/damaged.warc.gz"] = [("drop", 100_200), "503"]
        rows, stats = run(server.url + "/damaged.warc.gz")
    local_rows, local_stats = run(local)
    key = ("qa_id", "warc_record_offset")
    assert [tuple(r[k] for k in key) for r in rows] == [tuple(r[k] for k in key) for r in local_rows]
    assert len(rows) == 14 and stats["dropped"] == local_stats["dropped"] and stats["gzip_resyncs"] == 1


def test_wdc_dump_with_a_damaged_member_keeps_the_other_members(tmp_path):
    lines = gzip.decompress(WDC.read_bytes()).splitlines(keepends=True)
    chunks = [b"".join(lines[i:i + 100]) for i in range(0, len(lines), 100)]
    parts = [gzip.compress(c, mtime=0) for c in chunks]
    whole = tmp_path / "whole.nq.gz"
    whole.write_bytes(b"".join(parts))
    clean = StageStats("wdc")
    clean_rows = [r for b in extract_wdc_file(str(whole), clean) for r in b.to_pylist()]
    broken = bytearray(b"".join(parts))
    start = sum(len(p) for p in parts[:4])
    broken[start + 100:start + 140] = bytes(40)
    path = tmp_path / "damaged.nq.gz"
    path.write_bytes(bytes(broken))
    stats = StageStats("wdc")
    rows = [r for b in extract_wdc_file(str(path), stats) for r in b.to_pylist()]
    check_balance(stats.to_dict())
    assert stats.dropped["unreadable_file"] == 1 and stats.counters["gzip_resyncs"] == 1
    assert stats.counters["bytes_skipped"] == len(parts[4])
    assert stats.counters["quads"] >= clean.counters["quads"] - 100 - 1
    assert 0 < len(rows) <= len(clean_rows)
    with open(path, "rb") as fh:
        skipped = [p for p in inflate_members(fh, lambda head: head[:1] in (b"<", b"_"))
                   if not isinstance(p, bytes)]
    assert [(s.start, s.end, s.resynced) for s in skipped] == [(start, start + len(parts[4]), True)]
