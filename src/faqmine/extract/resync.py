"""Read on past damage in gzip-per-record files: inflate one member with a bound, find the next good member.

Common Crawl (and most WARC writers) compress each record as its own gzip member, so a
reader that meets a member that does not inflate can skip to the next member and lose
only that record. This module holds the pieces the WARC and N-Quads readers share:

- `inflate_member` inflates the member at an offset with bounded output: it keeps only the
  first `head` bytes, counts the rest, and stops at `limit` inflated bytes (a gzip bomb of
  a few MB that inflates to GBs costs at most `limit` bytes of inflation, never memory);
- `find_member` scans forward for the next gzip header (magic `1f 8b 08`, no reserved flag
  bit) whose first inflated bytes pass a check (`starts_warc` for WARC files: a
  `WARC/<version>` line, so WARC/0.18, 1.0 and 1.1 all resync);
- `find_warc_header` does the same for an uncompressed `.warc`: the next `WARC/x.y` line
  that starts a line and is followed by a header field;
- `inflate_members` streams every member of a file and yields `Skipped` where it had to
  jump over damage (the N-Quads reader uses it).

A candidate that merely looks like a header (the magic bytes occur in compressed data by
chance about once in 16 MB) is rejected unless it inflates to the expected start, so a
false resync needs both a chance header and a chance inflation to `WARC/1.0`.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

GZIP_MAGIC = b"\x1f\x8b\x08"
DEFAULT_MAX_MEMBER_BYTES = 64 << 20  # inflated bytes one member may have before it is cut
HEAD_BYTES = 1 << 12
_READ = 1 << 16
_STEP = 1 << 20  # inflated bytes produced per zlib call: the memory bound
_SCAN = 1 << 20
_PROBE = 1 << 14  # compressed bytes given to a candidate member to show its first inflated bytes
_WARC_LINE = re.compile(rb"WARC/\d+\.\d+\r?\n")
_WARC_HEADER = re.compile(rb"WARC/\d+\.\d+\r?\n[!-9;-~]+:")


def starts_warc(head: bytes) -> bool:
    """Whether inflated bytes begin with a WARC version line (`WARC/1.0`, `WARC/1.1`, `WARC/0.18`...)."""
    return _WARC_LINE.match(head) is not None


def plausible_gzip_header(data: bytes) -> bool:
    """Magic `1f 8b`, method 8 (deflate) and no reserved bit set in the flags byte."""
    return len(data) >= 10 and data[:3] == GZIP_MAGIC and data[3] & 0xE0 == 0


@dataclass(frozen=True)
class Member:
    """One gzip member as `inflate_member` found it."""

    start: int
    end: int | None  # offset just after the member; None unless status == "ok"
    status: str  # "ok", "bad_gzip" (does not inflate: corrupt or not gzip), "truncated", "over_limit"
    head: bytes  # its first inflated bytes
    size: int  # inflated bytes seen (at most limit + one step)
    detail: str = ""


def member_starts_at(fh: BinaryIO, offset: int) -> bool:
    """Whether a gzip header starts at `offset` (read with pread: the file position is left alone)."""
    return plausible_gzip_header(os.pread(fh.fileno(), 10, offset))


def file_size(fh: BinaryIO) -> int:
    return os.fstat(fh.fileno()).st_size


def inflate_member(fh: BinaryIO, start: int, limit: int | None = DEFAULT_MAX_MEMBER_BYTES,
                   head: int = HEAD_BYTES) -> Member:
    """Inflate the gzip member at `start`, keeping `head` bytes, stopping past `limit` inflated bytes."""
    fh.seek(start)
    first = fh.read(10)
    if not plausible_gzip_header(first):
        return Member(start, None, "bad_gzip", b"", 0, "no gzip header")
    inflater = zlib.decompressobj(31)
    kept = bytearray()
    size = fed = 0
    data = first
    try:
        while True:
            if not data:
                data = fh.read(_READ)
                if not data:
                    return Member(start, None, "truncated", bytes(kept), size, "truncated gzip member")
            fed += len(data)
            while data:
                out = inflater.decompress(data, _STEP)
                size += len(out)
                if len(kept) < head:
                    kept += out[: head - len(kept)]
                if limit is not None and size > limit:
                    return Member(start, None, "over_limit", bytes(kept), size,
                                  f"inflates past {limit} bytes")
                if inflater.eof:
                    return Member(start, start + fed - len(inflater.unused_data), "ok", bytes(kept), size)
                data = inflater.unconsumed_tail
    except zlib.error as exc:
        return Member(start, None, "bad_gzip", bytes(kept), size, f"corrupt gzip member ({exc})")


def _probe(fh: BinaryIO, offset: int, looks_like_start: Callable[[bytes], bool]) -> bool:
    fh.seek(offset)
    data = fh.read(_PROBE)
    if not plausible_gzip_header(data):
        return False
    inflater = zlib.decompressobj(31)
    try:
        out = inflater.decompress(data, 256)
    except zlib.error:
        return False
    return looks_like_start(out)


def find_member(fh: BinaryIO, start: int, looks_like_start: Callable[[bytes], bool] = starts_warc,
                end: int | None = None) -> int | None:
    """Offset of the first gzip member at or after `start` whose inflated start passes the check, else None."""
    end = file_size(fh) if end is None else end
    pos = start
    while pos < end:
        fh.seek(pos)
        block = fh.read(_SCAN + len(GZIP_MAGIC) - 1)
        found = block.find(GZIP_MAGIC)
        while 0 <= found < _SCAN:
            if _probe(fh, pos + found, looks_like_start):
                return pos + found
            found = block.find(GZIP_MAGIC, found + 1)
        pos += _SCAN
    return None


def find_warc_header(fh: BinaryIO, start: int) -> int | None:
    """Offset of the first uncompressed WARC header (`WARC/x.y` at a line start, then a field) at or after `start`."""
    size = file_size(fh)
    pos = start
    while pos < size:
        fh.seek(max(0, pos - 1))
        block = fh.read(_SCAN + 64)
        shift = 1 if pos > 0 else 0
        found = block.find(b"WARC/", shift)
        while 0 <= found < _SCAN + shift:
            at_line_start = found == 0 or block[found - 1:found] == b"\n"
            if at_line_start and _WARC_HEADER.match(block, found):
                return pos - shift + found
            found = block.find(b"WARC/", found + 1)
        pos += _SCAN
    return None


@dataclass(frozen=True)
class Skipped:
    """A damaged region that a streaming reader jumped over: bytes [start, end) of the compressed file."""

    start: int
    end: int
    resynced: bool  # a good member was found at `end` (False: the damage ran to the end of the file)
    detail: str


def inflate_members(fh: BinaryIO, looks_like_start: Callable[[bytes], bool],
                    max_member_bytes: int | None = None) -> Iterator[bytes | Skipped]:
    """Inflated bytes of every member of `fh` in order, and a `Skipped` for each region jumped over.

    Output is streamed as it is inflated (bounded memory whatever a member's size), so the bytes
    of a damaged member before the damage have already been yielded when its `Skipped` comes.
    """
    size = file_size(fh)
    start = 0
    while start < size:
        fh.seek(start)
        inflater = zlib.decompressobj(31)
        fed = produced = 0
        detail = ""
        try:
            while not detail:
                data = fh.read(_READ)
                if not data:
                    detail = "truncated gzip member"
                    break
                fed += len(data)
                while data:
                    out = inflater.decompress(data, _STEP)
                    produced += len(out)
                    if out:
                        yield out
                    if max_member_bytes is not None and produced > max_member_bytes:
                        detail = f"member inflates past {max_member_bytes} bytes"
                        break
                    if inflater.eof:
                        break
                    data = inflater.unconsumed_tail
                if inflater.eof:
                    break
        except zlib.error as exc:
            detail = f"corrupt gzip member ({exc})"
        if not detail:
            start = start + fed - len(inflater.unused_data)
            continue
        found = find_member(fh, start + 1, looks_like_start)
        yield Skipped(start, size if found is None else found, found is not None, detail)
        if found is None:
            return
        start = found
