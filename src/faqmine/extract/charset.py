"""Turn the bytes of an HTML response into text: HTTP charset, then <meta charset>, then a detector.

Pages often declare a charset they are not written in, or none at all. Each
candidate is tried strictly; the first that decodes without error wins. When none
does, the detector's guess (charset-normalizer) or, last, the declared charset with
replacement characters is used, and the caller is told a fallback happened.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes

_META_CHARSET = re.compile(rb"""<meta[^>]{0,512}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
# WHATWG encoding labels that mean something else than Python's codec of the same name.
_HTML5_ALIASES = {"iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "ascii": "cp1252",
                  "us-ascii": "cp1252", "x-sjis": "shift_jis", "windows-31j": "cp932", "x-user-defined": "cp1252",
                  "gb2312": "gb18030", "gbk": "gb18030", "ks_c_5601-1987": "cp949", "euc-kr": "cp949",
                  "windows-874": "cp874", "tis-620": "cp874", "iso-8859-11": "cp874", "iso-8859-9": "cp1254"}
_BINARY_MAGIC = (b"%PDF", b"PK\x03\x04", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"\x1f\x8b", b"RIFF", b"OggS",
                 b"\x00\x00\x01\x00", b"wOFF", b"wOF2", b"\xd0\xcf\x11\xe0")
MAX_REPLACEMENT_SHARE = 0.05


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    fallback: bool  # no declared charset decoded cleanly


def looks_binary(body: bytes) -> bool:
    """True for bodies that are files, not markup (PDF, images, archives...), whatever their Content-Type."""
    head = body[:1024].lstrip()
    return head.startswith(_BINARY_MAGIC) or head.count(b"\x00") > 8


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _HTML5_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except (LookupError, ValueError):  # unknown names, and names no codec could have (NUL bytes...)
        return None


def meta_charset(body: bytes) -> str | None:
    match = _META_CHARSET.search(body[:8192])
    return match.group(1).decode("ascii", "replace") if match else None


def decode_html(body: bytes, http_charset: str | None = None) -> Decoded:
    for bom, name in _BOMS:
        if body.startswith(bom):
            return Decoded(body[len(bom):].decode(name, errors="replace"), name, False)
    candidates: list[str] = []
    for label in (http_charset, meta_charset(body), "utf-8"):
        codec = _codec(label)
        if codec and codec not in candidates:
            candidates.append(codec)
    for codec in candidates:
        try:
            return Decoded(body.decode(codec), codec, False)
        except (UnicodeDecodeError, LookupError):
            continue
    guess = from_bytes(body[:65536]).best()
    codec = _codec(guess.encoding) if guess is not None else None
    codec = codec or candidates[0]
    return Decoded(body.decode(codec, errors="replace"), codec, True)


def replacement_share(text: str) -> float:
    return text.count("\ufffd") / max(1, len(text))
