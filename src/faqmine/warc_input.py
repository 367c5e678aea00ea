"""Where WARC files come from: expand input specs into a file list, and fetch one file to local disk.

Inputs are local paths, directories, globs, `file://`, `https://` and `s3://` URLs,
or a crawl listing (`warc.paths` / `warc.paths.gz`) whose lines are joined with a
prefix (Common Crawl's `https://data.commoncrawl.org/` by default). Remote files are
downloaded to a temporary file (with retries) and streamed from disk, so no WARC is
ever held in memory.
"""

from __future__ import annotations

import contextlib
import glob
import gzip
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path

CC_PREFIX = "https://data.commoncrawl.org/"
WARC_SUFFIXES = (".warc.gz", ".warc", ".arc.gz")
_REMOTE = ("http://", "https://", "s3://")


def _is_listing(path: str) -> bool:
    return path.endswith((".paths", ".paths.gz"))


def _read_listing(path: str) -> list[str]:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [line.strip() for line in fh if line.strip() and not line.startswith("#")]


def _listing_entry(line: str, listing: str, prefix: str | None) -> str:
    if line.startswith(_REMOTE) or line.startswith("file://") or os.path.isabs(line):
        return line
    if prefix:
        return prefix.rstrip("/") + "/" + line.lstrip("/")
    beside = Path(listing).parent / line
    if beside.exists():
        return str(beside.resolve())
    return CC_PREFIX + line.lstrip("/")


def resolve_inputs(specs: list[str], prefix: str | None = None, max_files: int | None = None) -> list[str]:
    """Expand input specs into a sorted, de-duplicated list of WARC file URIs/paths.

    Raises FileNotFoundError naming the spec that matched nothing.
    """
    files: list[str] = []
    for spec in specs:
        local = spec[len("file://"):] if spec.startswith("file://") else spec
        if spec.startswith(_REMOTE):
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
    return unique[:max_files] if max_files else unique


def _http_url(uri: str) -> str:
    if uri.startswith("s3://"):
        bucket, _, key = uri[len("s3://"):].partition("/")
        endpoint = os.environ.get("FAQMINE_S3_ENDPOINT")
        if endpoint:
            return f"{endpoint.rstrip('/')}/{bucket}/{key}"
        if bucket == "commoncrawl":
            return CC_PREFIX + key
        return f"https://{bucket}.s3.amazonaws.com/{key}"
    return uri


def _download(url: str, dest: Path, retries: int = 5, backoff_s: float = 1.0) -> None:
    last: Exception | None = None
    for attempt in range(retries):
        try:
            req = urllib.request.Request(url, headers={"User-Agent": "faqmine (+https://github.com/faqmine)"})
            with urllib.request.urlopen(req, timeout=60) as resp, open(dest, "wb") as out:
                shutil.copyfileobj(resp, out, length=1 << 20)
            return
        except (urllib.error.URLError, OSError) as exc:
            last = exc
            time.sleep(backoff_s * 2**attempt)
    raise OSError(f"could not download {url} after {retries} tries: {last}")


@contextlib.contextmanager
def local_copy(uri: str) -> Iterator[str]:
    """A local path for a WARC URI: the path itself, or a temporary download removed afterwards."""
    if uri.startswith("file://"):
        yield uri[len("file://"):]
        return
    if not uri.startswith(_REMOTE):
        yield uri
        return
    with tempfile.TemporaryDirectory(prefix="faqmine-warc-") as tmp:
        dest = Path(tmp) / Path(uri.rstrip("/")).name
        _download(_http_url(uri), dest)
        yield str(dest)


def gzip_tail_complete(path: str, offset: int) -> bool:
    """True if every gzip member from `offset` to the end of the file is complete and valid.

    FastWARC stops silently at a truncated last member; this check tells a cut file from a whole one.
    """
    with open(path, "rb") as fh:
        if fh.read(2) != b"\x1f\x8b":
            return True  # not gzip-compressed: nothing to check
        fh.seek(offset)
        pending = b""
        inflater = zlib.decompressobj(31)
        started = False
        while True:
            chunk = pending or fh.read(1 << 20)
            pending = b""
            if not chunk:
                return not started or inflater.eof
            try:
                inflater.decompress(chunk)
            except zlib.error:
                return False
            started = True
            if inflater.eof:
                rest = inflater.unused_data
                inflater = zlib.decompressobj(31)
                started = False
                pending = rest
