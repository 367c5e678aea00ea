"""Write small WARC files for tests: one gzip member per record, like Common Crawl."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Response:
    url: str
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    date: str = "2024-04-25T16:27:55Z"


def _member(header_lines: list[str], block: bytes) -> bytes:
    head = "\r\n".join(["WARC/1.0", *header_lines, f"Content-Length: {len(block)}"]) + "\r\n\r\n"
    return gzip.compress(head.encode("utf-8") + block + b"\r\n\r\n", mtime=0)


def warcinfo(crawl: str = "CC-MAIN-2024-18") -> bytes:
    block = f"software: faqmine-tests\r\nisPartOf: {crawl}\r\n".encode()
    return _member(["WARC-Type: warcinfo", "WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000000>",
                    "WARC-Date: 2024-04-25T16:27:44Z", "Content-Type: application/warc-fields"], block)


def response(resp: Response, n: int) -> bytes:
    reason = {200: "OK", 404: "Not Found", 301: "Moved Permanently"}.get(resp.status, "Status")
    http = (f"HTTP/1.1 {resp.status} {reason}\r\nContent-Type: {resp.content_type}\r\n"
            f"Content-Length: {len(resp.body)}\r\n\r\n").encode() + resp.body
    return _member([
        "WARC-Type: response",
        f"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-{n:012d}>",
        f"WARC-Date: {resp.date}",
        f"WARC-Target-URI: {resp.url}",
        "Content-Type: application/http; msgtype=response",
    ], http)


def write_warc(path: Path, responses: list[Response], crawl: str = "CC-MAIN-2024-18", tail: bytes = b"") -> Path:
    """Write warcinfo + responses; `tail` is appended raw (e.g. a truncated member)."""
    with open(path, "wb") as out:
        out.write(warcinfo(crawl))
        for n, resp in enumerate(responses, start=1):
            out.write(response(resp, n))
        out.write(tail)
    return path
