"""Where WARC files come from: expand input specs into a file list, and fetch one file to local disk.

Inputs are local paths, directories, globs, `file://`, `http(s)://` and `s3://` URLs,
or a crawl listing (`warc.paths` / `warc.paths.gz`, local or remote) whose lines are
joined with a prefix. A remote listing's relative lines are taken from the root of its
host or bucket, as Common Crawl writes them (`crawl-data/CC-MAIN-.../*.warc.gz`).
`--max-files` keeps the first N files; `sample_fraction` keeps a seeded, deterministic
share of them (decided per file by a hash of its key, so https:// and s3:// spellings of
one crawl sample the same files).

Remote files are downloaded to a temporary file and streamed from disk, so no WARC is
ever held in memory. A download survives a flaky network the way S3 clients do:

- 408/429/5xx (S3's `503 SlowDown` included), refused, reset or dropped connections and
  timeouts are retried with exponential backoff and full jitter, honouring `Retry-After`;
- an interrupted body is resumed with an HTTP `Range` request from the last byte on
  disk (`If-Range` with the ETag guards against a file that changed meanwhile); a server
  that ignores the range gets a restart from byte 0, so no byte is ever kept twice;
- other 4xx answers (404, 403) fail at once; a file that keeps failing raises `OSError`,
  which the extraction counts as `unreadable_file` (never a silent skip).

`s3://bucket/key` is read with anonymous GETs over plain HTTP(S), no SDK: path-style
`$FAQMINE_S3_ENDPOINT/bucket/key` when that variable names an S3-compatible endpoint,
`https://data.commoncrawl.org/key` for the `commoncrawl` bucket, else the bucket's
virtual-hosted AWS URL. Retry knobs come from the environment (`FAQMINE_HTTP_ATTEMPTS`,
`FAQMINE_HTTP_BACKOFF_S`, `FAQMINE_HTTP_MAX_BACKOFF_S`, `FAQMINE_HTTP_TIMEOUT_S`), so
they reach Spark executors through `spark.executorEnv.*`.
"""

from __future__ import annotations

import contextlib
import email.utils
import glob
import gzip
import hashlib
import http.client
import logging
import os
import random
import re
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

CC_PREFIX = "https://data.commoncrawl.org/"
WARC_SUFFIXES = (".warc.gz", ".warc", ".arc.gz")
USER_AGENT = "faqmine (+https://github.com/faqmine)"
S3_ENDPOINT_ENV = "FAQMINE_S3_ENDPOINT"
# Environment variables that configure remote reads; jobs forward them to executors.
REMOTE_ENV = (S3_ENDPOINT_ENV, "FAQMINE_HTTP_ATTEMPTS", "FAQMINE_HTTP_BACKOFF_S", "FAQMINE_HTTP_MAX_BACKOFF_S",
              "FAQMINE_HTTP_TIMEOUT_S")
RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_REMOTE = ("http://", "https://", "s3://")
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_CHUNK = 1 << 20

log = logging.getLogger(__name__)


def _is_listing(path: str) -> bool:
    return path.endswith((".paths", ".paths.gz"))


def _read_listing(path: str) -> list[str]:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [line.strip() for line in fh if line.strip() and not line.startswith("#")]


def _remote_root(uri: str) -> str:
    """`s3://commoncrawl/crawl-data/x/warc.paths.gz` -> `s3://commoncrawl/`; same for http(s) hosts."""
    parts = urllib.parse.urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}/"


def _listing_entry(line: str, listing: str, prefix: str | None) -> str:
    if line.startswith(_REMOTE) or line.startswith("file://") or os.path.isabs(line):
        return line
    if prefix:
        return prefix.rstrip("/") + "/" + line.lstrip("/")
    if listing.startswith(_REMOTE):
        return _remote_root(listing) + line.lstrip("/")
    beside = Path(listing).parent / line
    if beside.exists():
        return str(beside.resolve())
    return CC_PREFIX + line.lstrip("/")


def sample_key(uri: str) -> str:
    """What sampling hashes: a URL's path without scheme and host (so https:// and s3:// agree), or the path."""
    if uri.startswith(_REMOTE):
        return urllib.parse.urlsplit(uri).path.lstrip("/")
    return uri


def in_sample(uri: str, fraction: float, seed: int = 0) -> bool:
    """Deterministic Bernoulli draw for one file: the same (file, fraction, seed) always decides the same."""
    if fraction >= 1:
        return True
    digest = hashlib.sha1(f"{seed}\x1f{sample_key(uri)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def resolve_inputs(
    specs: list[str],
    prefix: str | None = None,
    max_files: int | None = None,
    sample_fraction: float | None = None,
    seed: int = 0,
) -> list[str]:
    """Expand input specs into a de-duplicated list of WARC file URIs/paths (listing order kept).

    `sample_fraction` keeps each file with that probability (seeded, per file); `max_files`
    then keeps the first N. Raises FileNotFoundError naming the spec that matched nothing.
    """
    if sample_fraction is not None and not 0 < sample_fraction <= 1:
        raise ValueError(f"sample fraction must be in (0, 1], got {sample_fraction}")
    files: list[str] = []
    for spec in specs:
        local = spec[len("file://"):] if spec.startswith("file://") else spec
        if spec.startswith(_REMOTE) and _is_listing(spec):
            files.extend(_listing_entry(line, spec, prefix) for line in _read_remote_listing(spec))
        elif spec.startswith(_REMOTE):
            files.append(spec)
        elif _is_listing(local) and os.path.isfile(local):
            files.extend(_listing_entry(line, local, prefix) for line in _read_listing(local))
        elif os.path.isdir(local):
            found = sorted(
                str(p.resolve()) for p in Path(local).rglob("*") if p.is_file() and p.name.endswith(WARC_SUFFIXES)
            )
            if not found:
                raise FileNotFoundError(f"no WARC files (*.warc.gz, *.warc) under {spec}")
            files.extend(found)
        elif os.path.isfile(local):
            files.append(str(Path(local).resolve()))
        else:
            matched = sorted(glob.glob(local, recursive=True))
            if not matched:
                raise FileNotFoundError(f"input {spec!r} is not a file, a directory, a listing or a matching glob")
            files.extend(str(Path(m).resolve()) for m in matched if os.path.isfile(m))
    unique = list(dict.fromkeys(files))
    if sample_fraction is not None:
        unique = [f for f in unique if in_sample(f, sample_fraction, seed)]
    return unique[:max_files] if max_files else unique


def _read_remote_listing(uri: str) -> list[str]:
    try:
        with local_copy(uri) as path:
            return _read_listing(path)
    except OSError as exc:
        raise FileNotFoundError(f"listing {uri!r} could not be read: {exc}") from exc


def http_url(uri: str) -> str:
    """The URL an anonymous GET fetches for a URI (s3:// mapped as the module docstring says)."""
    if uri.startswith("s3://"):
        bucket, _, key = uri[len("s3://"):].partition("/")
        key = urllib.parse.quote(key, safe="/~")
        endpoint = os.environ.get(S3_ENDPOINT_ENV)
        if endpoint:
            return f"{endpoint.rstrip('/')}/{bucket}/{key}"
        if bucket == "commoncrawl":
            return CC_PREFIX + key
        return f"https://{bucket}.s3.amazonaws.com/{key}"
    return uri


def _env_number(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one download tries.

    `attempts` bounds consecutive failures that brought no new byte; a failure after progress
    resumes without using one up, and `attempts * 10` tries in all bound any download.
    Waits are full-jitter exponential: uniform(0, min(max_backoff_s, backoff_s * 2**n)),
    never less than a server's Retry-After (capped at max_backoff_s).
    """

    attempts: int = 6
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    timeout_s: float = 60.0

    @classmethod
    def from_env(cls) -> RetryPolicy:
        default = cls()
        return cls(
            attempts=int(_env_number("FAQMINE_HTTP_ATTEMPTS", default.attempts)),
            backoff_s=_env_number("FAQMINE_HTTP_BACKOFF_S", default.backoff_s),
            max_backoff_s=_env_number("FAQMINE_HTTP_MAX_BACKOFF_S", default.max_backoff_s),
            timeout_s=_env_number("FAQMINE_HTTP_TIMEOUT_S", default.timeout_s),
        )

    def delay(self, failures: int, retry_after: float | None = None) -> float:
        wait = random.uniform(0, min(self.max_backoff_s, self.backoff_s * 2 ** max(0, failures - 1)))
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_backoff_s))
        return wait


@dataclass
class DownloadReport:
    """What one download took: requests sent, resumes with Range, restarts from 0, failures seen."""

    url: str
    bytes: int = 0
    requests: int = 0
    resumed: int = 0
    restarted: int = 0
    errors: list[str] = field(default_factory=list)
    etag: str | None = None  # strong ETag of the file, sent as If-Range when resuming


class DownloadError(OSError):
    """A remote file that could not be fetched: a permanent answer, or too many failures."""


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def _retry_after(headers) -> float | None:
    value = (headers.get("Retry-After") or "").strip() if headers is not None else ""
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _strong_etag(headers) -> str | None:
    etag = headers.get("ETag")
    return etag if etag and not etag.startswith("W/") else None


def download(url: str, dest: Path, policy: RetryPolicy | None = None) -> DownloadReport:
    """GET `url` into `dest`, resuming and retrying as the module docstring says.

    Raises DownloadError (an OSError) when the server answers a permanent error or the
    retries run out; `dest` then holds an incomplete file that the caller must discard.
    """
    policy = policy or RetryPolicy.from_env()
    report = DownloadReport(url)
    failures = tries = 0
    with open(dest, "wb") as out:
        while True:
            tries += 1
            have = out.tell()
            try:
                _fetch_once(url, out, policy, report)
                report.bytes = out.tell()
                return report
            except _Retryable as exc:
                failures = failures if out.tell() > have else failures + 1
                report.errors.append(str(exc))
                if failures >= policy.attempts or tries >= policy.attempts * 10:
                    raise DownloadError(
                        f"could not download {url} after {tries} tries ({failures} without progress): {exc}"
                    ) from None
                wait = policy.delay(max(failures, 1), exc.retry_after)
                log.info("retrying %s in %.2fs after: %s", url, wait, exc)
                time.sleep(wait)


def _fetch_once(url: str, out, policy: RetryPolicy, report: DownloadReport) -> None:
    """One GET from the current end of `out`; returns when the whole file is there, else raises."""
    have = out.tell()
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
        if report.etag:
            headers["If-Range"] = report.etag
    report.requests += 1
    try:
        resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=policy.timeout_s)
    except urllib.error.HTTPError as exc:
        with contextlib.closing(exc):
            if exc.code == 416 and have:
                # our offset is at or past the end: we hold the whole file, or it changed under us
                if _content_range_total(exc.headers.get("Content-Range")) == have:
                    return
                _restart(out, report)
                raise _Retryable(f"HTTP 416 at offset {have}") from None
            if exc.code in RETRY_STATUS:
                detail = _s3_error_code(exc)
                raise _Retryable(f"HTTP {exc.code}{' ' + detail if detail else ''}",
                                 _retry_after(exc.headers)) from None
            raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise _Retryable(f"{type(exc).__name__}: {exc}") from None
    with contextlib.closing(resp):
        expected_end: int | None = None
        if have and resp.status == 206:
            match = _CONTENT_RANGE.match(resp.headers.get("Content-Range") or "")
            if not match or int(match.group(1)) != have:
                _restart(out, report)
                raise _Retryable(f"206 for the wrong range {resp.headers.get('Content-Range')!r} from {have}")
            report.resumed += 1
            expected_end = int(match.group(2)) + 1
        elif have:
            # the server ignored Range (or If-Range saw a changed file): start over from byte 0
            _restart(out, report)
            have = 0
        report.etag = _strong_etag(resp.headers) or report.etag
        length = resp.headers.get("Content-Length")
        if expected_end is None and length is not None and length.isdigit():
            expected_end = have + int(length)
        while True:
            try:
                chunk = resp.read(_CHUNK)
            except (OSError, http.client.HTTPException) as exc:
                out.flush()
                raise _Retryable(f"connection dropped at byte {out.tell()}: {type(exc).__name__}: {exc}") from None
            if not chunk:
                break
            out.write(chunk)  # a local write error (disk full) is not retried: it propagates as OSError
        out.flush()
        if expected_end is not None and out.tell() != expected_end:
            raise _Retryable(f"body ended at byte {out.tell()}, expected {expected_end}")


def _restart(out, report: DownloadReport) -> None:
    out.seek(0)
    out.truncate()
    report.restarted += 1


def _content_range_total(value: str | None) -> int | None:
    match = re.search(r"/(\d+)$", value or "")
    return int(match.group(1)) if match else None


def _s3_error_code(exc: urllib.error.HTTPError) -> str:
    """`SlowDown`, `InternalError`... from an S3 XML error body, if there is one."""
    try:
        body = exc.read(4096)
    except (OSError, http.client.HTTPException):
        return ""
    match = re.search(rb"<Code>([^<]{1,64})</Code>", body or b"")
    return match.group(1).decode("ascii", "replace") if match else ""


@contextlib.contextmanager
def local_copy(uri: str, policy: RetryPolicy | None = None) -> Iterator[str]:
    """A local path for a WARC URI: the path itself, or a temporary download removed afterwards.

    Raises OSError (DownloadError) for a remote file that could not be fetched.
    """
    if uri.startswith("file://"):
        yield uri[len("file://"):]
        return
    if not uri.startswith(_REMOTE):
        yield uri
        return
    with tempfile.TemporaryDirectory(prefix="faqmine-warc-") as tmp:
        name = Path(urllib.parse.urlsplit(uri).path.rstrip("/")).name or "download"
        dest = Path(tmp) / name
        report = download(http_url(uri), dest, policy)
        if report.resumed or report.restarted or report.errors:
            log.warning("%s: %d requests, %d resumed, %d restarted, errors: %s", uri, report.requests,
                        report.resumed, report.restarted, "; ".join(report.errors[:5]))
        yield str(dest)
