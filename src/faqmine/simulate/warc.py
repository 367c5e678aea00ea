"""Writing WARC files the way Common Crawl does: one gzip member per record, a warcinfo record first.

Records are serialised by hand (WARC/1.1 headers, CRLF line ends, two CRLFs after
each block) and compressed one by one with `gzip.compress(mtime=0)`, so the output
is a pure function of its input: no clock, no random UUIDs (record ids come from
the simulator's seeded random stream). A file is written incrementally and its
compressed size is known after every record, which is how the simulator fills
files to a target size. `write_truncated` writes the first part of a member only,
the way an interrupted upload leaves a file.

Background pages repeat, so their compressed bodies are cached: a member is then
the record's headers deflated up to a full flush, followed by the body's cached
deflate stream (a valid gzip member, as pigz writes them), which makes the bulk
of a crawl nearly free to write.
"""

from __future__ import annotations

import gzip
import random
import struct
import uuid
import zlib
from datetime import datetime
from pathlib import Path

WARC_VERSION = "WARC/1.1"


def record_id(rng: random.Random) -> str:
    return f"<urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}>"


def warc_date(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no flags, mtime 0, OS unknown


def _warc_head(headers: list[tuple[str, str]], block_length: int) -> bytes:
    lines = [WARC_VERSION]
    for name, value in headers:
        lines.append(f"{name}: {value}")
        if name == "WARC-Record-ID":
            lines.append(f"Content-Length: {block_length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def record_bytes(headers: list[tuple[str, str]], block: bytes) -> bytes:
    """One uncompressed WARC record; Content-Length is computed here and must not be in `headers`."""
    return _warc_head(headers, len(block)) + block + b"\r\n\r\n"


class DeflatedTail:
    """A record's constant end (HTTP body and the closing CRLFs), deflated once and reused in many members."""

    def __init__(self, body: bytes, level: int):
        self.data = body + b"\r\n\r\n"
        self.body_length = len(body)
        compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
        self.deflated = compressor.compress(self.data) + compressor.flush()


class WarcFileWriter:
    """Appends gzip-compressed records to one WARC file and tracks the compressed offset of each."""

    def __init__(self, path: Path, compress_level: int = 6):
        self.path = path
        self.level = compress_level
        self._fh = open(path, "wb")
        self.size = 0
        self.records = 0

    def write(self, headers: list[tuple[str, str]], block: bytes) -> int:
        """Write one record; return its offset (the start of its gzip member) in the file."""
        member = gzip.compress(record_bytes(headers, block), compresslevel=self.level, mtime=0)
        offset = self.size
        self._fh.write(member)
        self.size += len(member)
        self.records += 1
        return offset

    def write_with_tail(self, headers: list[tuple[str, str]], http_head: bytes, tail: DeflatedTail) -> int:
        """Write a record whose block is http_head + tail body, reusing the tail's deflate stream."""
        prefix = _warc_head(headers, len(http_head) + tail.body_length) + http_head
        compressor = zlib.compressobj(self.level, zlib.DEFLATED, -15)
        head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
        crc = zlib.crc32(tail.data, zlib.crc32(prefix))
        size = (len(prefix) + len(tail.data)) & 0xFFFFFFFF
        member = b"".join((_GZIP_HEADER, head, tail.deflated, struct.pack("<II", crc, size)))
        offset = self.size
        self._fh.write(member)
        self.size += len(member)
        self.records += 1
        return offset

    def write_truncated(self, headers: list[tuple[str, str]], block: bytes, keep: float) -> int:
        """Write the first `keep` share of a record's gzip member: a file cut off mid-record."""
        member = gzip.compress(record_bytes(headers, block), compresslevel=self.level, mtime=0)
        cut = max(20, min(len(member) - 9, int(len(member) * keep)))
        offset = self.size
        self._fh.write(member[:cut])
        self.size += cut
        return offset

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> WarcFileWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def warcinfo_block(fields: list[tuple[str, str]]) -> bytes:
    return ("\r\n".join(f"{name}: {value}" for name, value in fields) + "\r\n").encode("utf-8")


def response_headers(*, when: datetime, rid: str, warcinfo_id: str, url: str, ip: str, payload_digest: str | None,
                     payload_type: str | None, extra: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    headers = [
        ("WARC-Type", "response"),
        ("WARC-Date", warc_date(when)),
        ("WARC-Record-ID", rid),
        ("Content-Type", "application/http; msgtype=response"),
        ("WARC-Warcinfo-ID", warcinfo_id),
        ("WARC-IP-Address", ip),
        ("WARC-Target-URI", url),
    ]
    if payload_digest:
        headers.append(("WARC-Payload-Digest", payload_digest))
    if payload_type:
        headers.append(("WARC-Identified-Payload-Type", payload_type))
    headers.extend(extra or [])
    return headers
