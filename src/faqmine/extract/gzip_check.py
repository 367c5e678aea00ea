"""Tell a whole gzip-per-record WARC file from one cut short or corrupted at its end.

FastWARC stops silently at a truncated last gzip member (it may even yield the
partial record that member starts). `tail_status` decompresses the members from the
last record's offset to the end of the file and says whether that first member and
all of them are complete.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

_CHUNK = 1 << 20


@dataclass(frozen=True)
class TailStatus:
    first_member_complete: bool  # the member starting at the offset (the last record seen)
    all_complete: bool  # that member and every member after it


def tail_status(path: str, offset: int) -> TailStatus:
    with open(path, "rb") as fh:
        if fh.read(2) != b"\x1f\x8b":
            return TailStatus(True, True)  # not gzip-compressed: nothing to check
        fh.seek(offset)
        members_done = 0
        inflater = zlib.decompressobj(31)
        consumed_any = False
        pending = b""
        while True:
            chunk = pending or fh.read(_CHUNK)
            pending = b""
            if not chunk:
                whole = not consumed_any or inflater.eof
                return TailStatus(members_done > 0 or whole, whole)
            try:
                inflater.decompress(chunk, _CHUNK)  # bounded output: a gzip bomb cannot fill memory
                while inflater.unconsumed_tail and not inflater.eof:
                    inflater.decompress(inflater.unconsumed_tail, _CHUNK)
            except zlib.error:
                return TailStatus(members_done > 0, False)
            consumed_any = True
            if inflater.eof:
                members_done += 1
                pending = inflater.unused_data
                inflater = zlib.decompressobj(31)
                consumed_any = False
