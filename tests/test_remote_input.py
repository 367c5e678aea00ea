"""Remote WARC input against servers on 127.0.0.1 that misbehave on purpose.

A fault-injecting HTTP server serves the sample WARCs either from a folder (an
https://data.commoncrawl.org stand-in) or as a proxy in front of moto's S3 server (an
s3://commoncrawl stand-in, read path-style through FAQMINE_S3_ENDPOINT with anonymous
GETs). Each file has a plan of faults for its successive requests: 503s, S3 SlowDown,
connections closed or reset mid-body, Range ignored, or failure forever. The tests
check that every WARC ends up read exactly once and whole, and that a file that keeps
failing is counted as `unreadable_file`, never skipped silently.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import pyarrow as pa
import pytest

from faqmine.core.stats import StageStats, check_balance, read_stats
from faqmine.extract.records import extract_warc_file
from faqmine.extract.warc_input import DownloadError, RetryPolicy, download, http_url, in_sample, resolve_inputs

CRAWL_DIR = "crawl-data/CC-MAIN-2024-18/segments/1712296818105.48/warc"
FAST = RetryPolicy(attempts=4, backoff_s=0.001, max_backoff_s=0.01, timeout_s=10)
SLOWDOWN = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
            b"<Message>Please reduce your request rate.</Message></Error>")


# ---------------------------------------------------------------- servers


class DirOrigin:
    """Files under a folder, with Range, If-Range and ETag like a CDN or S3."""

    def __init__(self, root: Path):
        self.root = root

    def get(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        file = self.root / path.lstrip("/")
        if not file.is_file():
            return 404, {"Content-Type": "text/plain"}, b"not found"
        body = file.read_bytes()
        etag = '"' + hashlib.md5(body).hexdigest() + '"'
        out = {"ETag": etag, "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
        wanted = re.fullmatch(r"bytes=(\d+)-(\d*)", headers.get("Range", ""))
        if wanted and headers.get("If-Range", etag) == etag:
            start = int(wanted.group(1))
            end = min(int(wanted.group(2) or len(body) - 1), len(body) - 1)
            if start >= len(body):
                return 416, {"Content-Range": f"bytes */{len(body)}"}, b""
            return 206, {**out, "Content-Range": f"bytes {start}-{end}/{len(body)}"}, body[start:end + 1]
        return 200, out, body


class ProxyOrigin:
    """Forwards GETs (with Range / If-Range) to another server, here moto's S3."""

    def __init__(self, base: str):
        self.base = base.rstrip("/")

    def get(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.base + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()


class FaultServer(ThreadingHTTPServer):
    """An HTTP server whose answers follow a per-path plan of faults, logging every request.

    A plan is a list consumed one action per request (then "ok"), or "always-503".
    Actions: "ok", "503", "slowdown" (S3's 503 SlowDown XML), "reset" (close before any
    answer), ("drop", n) (send n body bytes then close), ("rst", n) (n bytes then a TCP
    reset), "ignore-range" (answer 200 with the whole file to a Range request).
    """

    daemon_threads = True

    def __init__(self, origin):
        super().__init__(("127.0.0.1", 0), _FaultHandler)
        self.origin = origin
        self.plans: dict[str, list | str] = {}
        self.log: list[tuple[str, str | None, object]] = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def next_action(self, path: str, range_header: str | None) -> object:
        with self.lock:
            plan = self.plans.get(path, [])
            action = plan if isinstance(plan, str) else (plan.pop(0) if plan else "ok")
            self.log.append((path, range_header, action))
            return action

    def requests_for(self, path: str) -> list[tuple[str | None, object]]:
        return [(rng, action) for p, rng, action in self.log if p == path]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()


class _FaultHandler(BaseHTTPRequestHandler):
    server: FaultServer

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        path = urlsplit(self.path).path
        action = self.server.next_action(path, self.headers.get("Range"))
        if action == "reset":
            self.close_connection = True
            return
        if action in ("503", "always-503"):
            self._answer(503, {"Retry-After": "0", "Content-Type": "text/plain"}, b"busy")
            return
        if action == "slowdown":
            self._answer(503, {"Retry-After": "0", "Content-Type": "application/xml"}, SLOWDOWN)
            return
        forward = {k: v for k in ("Range", "If-Range") if (v := self.headers.get(k))}
        if action == "ignore-range":
            forward = {}
        status, headers, body = self.server.origin.get(path, forward)
        if isinstance(action, tuple):
            kind, n = action
            self._answer(status, headers, body[:n], length=len(body))
            if kind == "rst":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self._answer(status, headers, body)

    def _answer(self, status: int, headers: dict[str, str], body: bytes, length: int | None = None) -> None:
        self.send_response(status)
        skip = {"content-length", "connection", "date", "server", "transfer-encoding"}
        for key, value in headers.items():
            if key.lower() not in skip:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            self.wfile.write(body)
            self.wfile.flush()
        except OSError:
            pass


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def warcs(real_warcs, realfaq) -> dict[str, Path]:
    """The real sample WARCs this module serves, by file name."""
    files = sorted(real_warcs.glob("*.warc.gz")) + [realfaq / "faq_real.warc.gz"]
    return {f.name: f for f in files}


@pytest.fixture
def http_site(tmp_path, warcs):
    """A Common Crawl-like site: crawl-data/.../warc/*.warc.gz and the crawl's warc.paths.gz."""
    root = tmp_path / "site"
    (root / CRAWL_DIR).mkdir(parents=True)
    for name, path in warcs.items():
        shutil.copy(path, root / CRAWL_DIR / name)
    with FaultServer(DirOrigin(root)) as server:
        yield server, root


@pytest.fixture(scope="module")
def moto_s3():
    """moto's S3 in server mode on 127.0.0.1, with a public-read bucket like s3://commoncrawl."""
    import boto3
    import moto.server as server_mod
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket="commoncrawl")
    client.put_bucket_policy(Bucket="commoncrawl", Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                       "Resource": "arn:aws:s3:::commoncrawl/*"}],
    }))
    yield endpoint, client
    server.stop()


def warc_listing(names: list[str]) -> bytes:
    return gzip.compress("".join(f"{CRAWL_DIR}/{name}\n" for name in names).encode(), mtime=0)


@pytest.fixture(scope="module")
def local_crawl(tmp_path_factory, warcs) -> dict[str, Path]:
    """Local copies of the WARCs under the same crawl-data/CC-MAIN-.../ path as on the servers.

    (The crawl column falls back to the CC-MAIN id in the path, so local and remote copies must share it.)
    """
    folder = tmp_path_factory.mktemp("local") / CRAWL_DIR
    folder.mkdir(parents=True)
    for name, path in warcs.items():
        shutil.copy(path, folder / name)
    return {name: folder / name for name in warcs}


def local_rows(path: Path) -> list[dict]:
    """qa_raw rows of a local file, without warc_file (which names where it was read from)."""
    batches = list(extract_warc_file(str(path), StageStats("local")))
    rows = pa.Table.from_batches(batches).to_pylist() if batches else []
    return sorted(({k: v for k, v in r.items() if k != "warc_file"} for r in rows), key=lambda r: r["qa_id"])


def remote_rows(uri: str) -> tuple[list[dict], StageStats]:
    stats = StageStats("remote")
    batches = list(extract_warc_file(uri, stats))
    rows = pa.Table.from_batches(batches).to_pylist() if batches else []
    assert all(r["warc_file"] == uri for r in rows)
    return sorted(({k: v for k, v in r.items() if k != "warc_file"} for r in rows), key=lambda r: r["qa_id"]), stats


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setenv("FAQMINE_HTTP_ATTEMPTS", "4")
    monkeypatch.setenv("FAQMINE_HTTP_BACKOFF_S", "0.001")
    monkeypatch.setenv("FAQMINE_HTTP_MAX_BACKOFF_S", "0.01")


# ---------------------------------------------------------------- download


def test_download_resumes_after_503s_and_dropped_connections(http_site, warcs, tmp_path):
    server, _ = http_site
    path = f"/{CRAWL_DIR}/dolma-sample-0001.warc.gz"
    server.plans[path] = ["503", "slowdown", ("drop", 1000), "reset", ("rst", 50_000), "ok"]
    dest = tmp_path / "out.warc.gz"
    report = download(server.url + path, dest, FAST)
    assert dest.read_bytes() == warcs["dolma-sample-0001.warc.gz"].read_bytes()
    assert [rng for rng, _ in server.requests_for(path)] == [
        None, None, None, "bytes=1000-", "bytes=1000-", "bytes=51000-"]
    assert report.resumed == 2 and report.restarted == 0 and report.requests == 6
    assert any("SlowDown" in e for e in report.errors)


def test_server_that_ignores_range_is_read_again_from_byte_zero(http_site, warcs, tmp_path):
    server, _ = http_site
    path = f"/{CRAWL_DIR}/whirlwind.warc.gz"
    server.plans[path] = [("drop", 3000), "ignore-range"]
    dest = tmp_path / "out.warc.gz"
    report = download(server.url + path, dest, FAST)
    assert dest.read_bytes() == warcs["whirlwind.warc.gz"].read_bytes()
    assert report.restarted == 1 and report.resumed == 0


def test_missing_file_fails_at_once(http_site, tmp_path):
    server, _ = http_site
    with pytest.raises(DownloadError, match="404"):
        download(server.url + "/no/such.warc.gz", tmp_path / "x", FAST)
    assert len(server.requests_for("/no/such.warc.gz")) == 1


def test_retry_policy_waits(monkeypatch):
    policy = RetryPolicy(attempts=5, backoff_s=1.0, max_backoff_s=8.0)
    random.seed(3)
    for failures in range(1, 8):
        assert 0 <= policy.delay(failures) <= min(8.0, 2 ** (failures - 1))
    assert policy.delay(1, retry_after=5) >= 5
    assert policy.delay(1, retry_after=500) <= 8.0  # a server's Retry-After is capped
    monkeypatch.setenv("FAQMINE_HTTP_ATTEMPTS", "9")
    monkeypatch.setenv("FAQMINE_HTTP_BACKOFF_S", "0.5")
    assert RetryPolicy.from_env().attempts == 9 and RetryPolicy.from_env().backoff_s == 0.5


# ---------------------------------------------------------------- extraction over HTTP


def test_every_warc_read_once_over_http_despite_faults(http_site, local_crawl, fast_retries):
    server, _ = http_site
    faults = [["503", ("drop", 777)], ["slowdown", "reset", ("rst", 20_000)], [("drop", 10), "ignore-range"],
              ["503", "503", "503"], [("rst", 100_000), ("drop", 5)]]
    for (name, local), plan in zip(local_crawl.items(), faults, strict=True):
        path = f"/{CRAWL_DIR}/{name}"
        server.plans[path] = list(plan)
        rows, stats = remote_rows(server.url + path)
        assert rows == local_rows(local), name
        assert stats.counters["warc_files"] == 1 and "warc_files_failed" not in stats.counters, name
        check_balance(stats.to_dict())


def test_file_that_keeps_failing_is_counted_failed(http_site, fast_retries):
    server, _ = http_site
    path = f"/{CRAWL_DIR}/dolma-sample-0001.warc.gz"
    server.plans[path] = "always-503"
    rows, stats = remote_rows(server.url + path)
    assert rows == []
    assert stats.dropped == {"unreadable_file": 1} and stats.counters["warc_files_failed"] == 1
    assert len(server.requests_for(path)) == 4  # FAQMINE_HTTP_ATTEMPTS
    assert "after 4 tries" in stats.samples[0]


def test_remote_listing_and_sampling(http_site, warcs):
    server, root = http_site
    listing = root / "crawl-data/CC-MAIN-2024-18/warc.paths.gz"
    listing.write_bytes(warc_listing(sorted(warcs)))
    server.plans["/crawl-data/CC-MAIN-2024-18/warc.paths.gz"] = ["503", ("drop", 10)]
    files = resolve_inputs([server.url + "/crawl-data/CC-MAIN-2024-18/warc.paths.gz"])
    assert files == [f"{server.url}/{CRAWL_DIR}/{name}" for name in sorted(warcs)]
    assert resolve_inputs([str(listing)], prefix="s3://commoncrawl/", max_files=2) == [
        f"s3://commoncrawl/{CRAWL_DIR}/{name}" for name in sorted(warcs)[:2]]


def test_sampling_is_seeded_per_file_and_scheme_blind(tmp_path):
    listing = tmp_path / "warc.paths.gz"
    listing.write_bytes(gzip.compress("".join(f"{CRAWL_DIR}/f{i:05d}.warc.gz\n" for i in range(2000)).encode()))
    https = resolve_inputs([str(listing)], prefix="https://data.commoncrawl.org/", sample_fraction=0.1, seed=7)
    s3 = resolve_inputs([str(listing)], prefix="s3://commoncrawl/", sample_fraction=0.1, seed=7)
    assert 140 <= len(https) <= 260
    assert [u.rsplit("/", 1)[1] for u in https] == [u.rsplit("/", 1)[1] for u in s3]
    other = resolve_inputs([str(listing)], prefix="s3://commoncrawl/", sample_fraction=0.1, seed=8)
    assert other != s3
    assert resolve_inputs([str(listing)], prefix="s3://commoncrawl/", sample_fraction=0.1, seed=7,
                          max_files=5) == s3[:5]
    assert all(in_sample(u, 0.1, 7) for u in s3)
    with pytest.raises(ValueError):
        resolve_inputs([str(listing)], sample_fraction=0)


# ---------------------------------------------------------------- S3 (moto) behind the fault proxy


@pytest.fixture
def s3_site(moto_s3, warcs, monkeypatch):
    endpoint, client = moto_s3
    for name, path in warcs.items():
        client.put_object(Bucket="commoncrawl", Key=f"{CRAWL_DIR}/{name}", Body=path.read_bytes())
    client.put_object(Bucket="commoncrawl", Key="crawl-data/CC-MAIN-2024-18/warc.paths.gz",
                      Body=warc_listing(sorted(warcs)))
    with FaultServer(ProxyOrigin(endpoint)) as proxy:
        monkeypatch.setenv("FAQMINE_S3_ENDPOINT", proxy.url)
        yield proxy, client


def test_s3_path_style_anonymous_reads_survive_slowdown(s3_site, warcs, local_crawl, fast_retries):
    proxy, _ = s3_site
    assert http_url("s3://commoncrawl/a/b.warc.gz") == f"{proxy.url}/commoncrawl/a/b.warc.gz"
    proxy.plans["/commoncrawl/crawl-data/CC-MAIN-2024-18/warc.paths.gz"] = ["slowdown"]
    files = resolve_inputs(["s3://commoncrawl/crawl-data/CC-MAIN-2024-18/warc.paths.gz"])
    assert files == [f"s3://commoncrawl/{CRAWL_DIR}/{name}" for name in sorted(warcs)]
    faults = [["slowdown", ("drop", 1500)], [("rst", 30_000), "slowdown"], ["reset"], [], ["slowdown"] * 3]
    for uri, plan in zip(files, faults, strict=True):
        proxy.plans[urlsplit(http_url(uri)).path] = list(plan)
        rows, stats = remote_rows(uri)
        assert rows == local_rows(local_crawl[uri.rsplit("/", 1)[1]]), uri
        assert "warc_files_failed" not in stats.counters
    dolma = f"/commoncrawl/{CRAWL_DIR}/dolma-sample-0001.warc.gz"
    assert [rng for rng, _ in proxy.requests_for(dolma)][-1] == "bytes=1500-"  # moto answered the Range


def test_s3_missing_key_and_endless_slowdown_are_counted(s3_site, fast_retries):
    proxy, _ = s3_site
    rows, stats = remote_rows(f"s3://commoncrawl/{CRAWL_DIR}/missing.warc.gz")
    assert rows == [] and stats.dropped == {"unreadable_file": 1}
    assert len(proxy.requests_for(f"/commoncrawl/{CRAWL_DIR}/missing.warc.gz")) == 1  # NoSuchKey: no retry
    proxy.plans[f"/commoncrawl/{CRAWL_DIR}/whirlwind.warc.gz"] = "always-503"
    rows, stats = remote_rows(f"s3://commoncrawl/{CRAWL_DIR}/whirlwind.warc.gz")
    assert rows == [] and stats.dropped == {"unreadable_file": 1} and stats.counters["warc_files_failed"] == 1


# ---------------------------------------------------------------- the job, end to end


@pytest.mark.spark
def test_extract_job_reads_http_and_s3_crawls_once_each(repo, http_site, s3_site, warcs, local_crawl, tmp_path):
    """spark-submit jobs/extract.py with an HTTP listing and an S3 listing, faults on every file."""
    server, root = http_site
    proxy, client = s3_site
    names = sorted(warcs)
    over_http, over_s3 = names[:3], names[3:]
    (root / "crawl-data/CC-MAIN-2024-18").mkdir(parents=True, exist_ok=True)
    (root / "crawl-data/CC-MAIN-2024-18/warc.paths.gz").write_bytes(
        warc_listing(over_http + ["keeps-failing.warc.gz"]))
    server.plans["/crawl-data/CC-MAIN-2024-18/warc.paths.gz"] = ["503"]
    for i, name in enumerate(over_http):
        server.plans[f"/{CRAWL_DIR}/{name}"] = ["503", ("drop", 500 + i), ("rst", 9000)]
    server.plans[f"/{CRAWL_DIR}/keeps-failing.warc.gz"] = "always-503"
    s3_listing = "crawl-data/CC-MAIN-2024-18/s3.paths.gz"
    client.put_object(Bucket="commoncrawl", Key=s3_listing, Body=warc_listing(over_s3))
    for name in over_s3:
        proxy.plans[f"/commoncrawl/{CRAWL_DIR}/{name}"] = ["slowdown", ("drop", 2048)]

    out = tmp_path / "qa_raw"
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
           "SPARK_LOCAL_IP": "127.0.0.1", "FAQMINE_QUIET_SPARK": "1", "FAQMINE_HTTP_ATTEMPTS": "3",
           "FAQMINE_HTTP_BACKOFF_S": "0.01", "FAQMINE_HTTP_MAX_BACKOFF_S": "0.05"}
    spark_submit = Path(sys.executable).parent / "spark-submit"
    done = subprocess.run(
        [str(spark_submit), "--master", "local[2]", str(repo / "jobs" / "extract.py"),
         "--input", server.url + "/crawl-data/CC-MAIN-2024-18/warc.paths.gz", f"s3://commoncrawl/{s3_listing}",
         "--output", str(out)],
        env=env, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    stats = read_stats(out)
    check_balance(stats)
    assert stats["warc_files_given"] == len(names) + 1
    assert stats["warc_files"] == len(names) and stats["warc_files_failed"] == 1  # opened; the failed one was not
    assert stats["dropped"].get("unreadable_file") == 1
    assert any("keeps-failing.warc.gz" in s and "unreadable_file" in s for s in stats["samples"])

    got = duckdb.sql(f"SELECT * EXCLUDE (warc_file), warc_file FROM read_parquet('{out}/**/*.parquet', "
                     "hive_partitioning=true)").fetchall()
    columns = [c for c in duckdb.sql(f"SELECT * EXCLUDE (warc_file) FROM read_parquet('{out}/**/*.parquet', "
                                     "hive_partitioning=true) LIMIT 0").columns]
    by_file: dict[str, list[dict]] = {}
    for row in got:
        record = dict(zip(columns, row[:-1], strict=True))
        by_file.setdefault(row[-1].rsplit("/", 1)[1], []).append(record)
    qa_ids = [r["qa_id"] for rows in by_file.values() for r in rows]
    assert len(qa_ids) == len(set(qa_ids)) == stats["rows_out"]  # every QA once: no WARC read twice
    for name in names:
        expected = local_rows(local_crawl[name])
        actual = sorted(by_file.get(name, []), key=lambda r: r["qa_id"])
        assert [_key(r) for r in actual] == [_key(r) for r in expected], name


def _key(row: dict) -> tuple:
    return (row["qa_id"], row["question"], row["answer"], row["crawl"], row["warc_record_offset"], row["position"],
            row["page_language"], row["markup"])

