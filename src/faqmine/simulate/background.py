"""Background pages: real HTTP responses from the sample WARC files in data/background/, served under new URLs.

Most of a crawl is pages without FAQ markup. Rather than invent them, the
simulator reuses the real responses of four public test WARC files (Common Crawl,
ClueWeb09 and wget captures, see data/background/NOTICE.md): their bytes, charsets
(UTF-8, GBK, windows-1251, EUC-JP) and header sets are those of the web. Each
response is parsed from the raw record (ClueWeb09's WARC/0.18 headers included),
chunked bodies are decoded and the encoding headers renamed as Common Crawl does.
Pages that carry FAQPage markup (commoncrawl.org/faq) are left out: every FAQ QA
in a simulated crawl must be in the truth.
"""

from __future__ import annotations

import base64
import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

from fastwarc import ArchiveIterator, WarcRecordType

from faqmine.simulate.names import DomainNamer, background_path
from faqmine.simulate.responses import HttpResponse, http_date

_DROP = {"content-length", "date", "transfer-encoding", "content-encoding", "x-crawler-content-length"}
_RENAME = {"transfer-encoding": "X-Crawler-Transfer-Encoding", "content-encoding": "X-Crawler-Content-Encoding"}
_BINARY_MAGIC = (b"%PDF", b"PK\x03\x04", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"\x1f\x8b")


@dataclass(frozen=True)
class BackgroundPage:
    source: str  # file and original URL, for provenance
    headers: tuple[tuple[str, str], ...]  # without Date and Content-Length
    body: bytes
    payload_digest: str


def sha1_digest(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def dechunk(body: bytes) -> bytes:
    """Decode an HTTP/1.1 chunked body; what cannot be parsed is returned as it is."""
    out = bytearray()
    pos = 0
    while True:
        end = body.find(b"\r\n", pos)
        if end < 0:
            return bytes(body) if not out else bytes(out)
        try:
            size = int(body[pos:end].split(b";")[0].strip() or b"0", 16)
        except ValueError:
            return body
        if size == 0:
            return bytes(out)
        out += body[end + 2 : end + 2 + size]
        pos = end + 2 + size + 2


def _split_http(block: bytes) -> tuple[int, list[tuple[str, str]], bytes] | None:
    found = [(at, len(sep)) for sep in (b"\r\n\r\n", b"\n\n") if (at := block.find(sep)) >= 0]
    if not found:
        return None
    at, sep_len = min(found)
    head, body = block[:at], block[at + sep_len :]
    lines = head.decode("latin-1").replace("\r\n", "\n").split("\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        return None
    try:
        status = int(parts[1])
    except ValueError:
        return None
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep and name.strip():
            headers.append((name.strip(), value.strip()))
    return status, headers, body


def _clean(headers: list[tuple[str, str]], body: bytes) -> tuple[tuple[tuple[str, str], ...], bytes] | None:
    names = {name.lower(): value for name, value in headers}
    if "chunked" in names.get("transfer-encoding", "").lower():
        body = dechunk(body)
    content_type = names.get("content-type", "")
    if not content_type.lower().startswith("text/html"):
        return None
    kept = []
    for name, value in headers:
        low = name.lower()
        if low in _RENAME:
            kept.append((_RENAME[low], value))
        elif low not in _DROP:
            kept.append((name, value))
    return tuple(kept), body


def load_background(folder: Path) -> list[BackgroundPage]:
    """Every 200 text/html response without FAQ markup in folder/*.warc.gz, in a fixed order."""
    pages: list[BackgroundPage] = []
    files = sorted(folder.glob("*.warc.gz"))
    if not files:
        raise FileNotFoundError(f"no background WARC files in {folder} (the simulator reads data/background/)")
    for path in files:
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream, record_types=WarcRecordType.response, parse_http=False):
                parsed = _split_http(record.reader.read())
                if parsed is None:
                    continue
                status, headers, body = parsed
                cleaned = _clean(headers, body)
                if status != 200 or cleaned is None:
                    continue
                headers_kept, body = cleaned
                if b"faqpage" in body.lower() or body.lstrip()[:8].startswith(_BINARY_MAGIC) or len(body) < 512:
                    continue
                url = (record.headers.get("WARC-Target-URI") or "").strip("<>")
                pages.append(BackgroundPage(f"{path.name} {url}", headers_kept, body, sha1_digest(body)))
    if not pages:
        raise ValueError(f"no usable background pages in {folder}")
    return pages


class BackgroundServer:
    """Serves background pages at new URLs on a growing pool of simulated hosts."""

    def __init__(self, pages: list[BackgroundPage], namer: DomainNamer, rng: random.Random, tlds: tuple[str, ...]):
        self.pages = pages
        self.namer = namer
        self.rng = rng
        self.tlds = tlds
        self.hosts: list[str] = []

    def next(self, when) -> tuple[str, HttpResponse, BackgroundPage]:
        rng = self.rng
        if not self.hosts or rng.random() < 0.3:
            domain = self.namer.new(self.tlds)
            host = f"www.{domain}" if rng.random() < 0.6 else domain
            if len(self.hosts) < 20000:
                self.hosts.append(host)
            else:
                self.hosts[rng.randrange(len(self.hosts))] = host
        else:
            host = self.hosts[rng.randrange(len(self.hosts))]
        page = self.pages[rng.randrange(len(self.pages))]
        scheme = "https" if rng.random() < 0.9 else "http"
        url = f"{scheme}://{host}{background_path(rng)}"
        headers = [("Date", http_date(when)), *page.headers]
        return url, HttpResponse(200, headers, page.body), page
