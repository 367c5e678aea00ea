"""The real FAQ pages of data/realfaq re-hosted as a brand's regional domains, for the leak-free split checks.

In data/realfaq/faq_real.warc.gz the pages of one translation group sit on one site
(`feeltracker.com/de/faq/`, `feeltracker.com/fr/faq/`, ...), so splitting by site alone keeps
them together. On the web a brand often publishes each language on a domain of its own
(`brand.de`, `brand.fr`): `rehost` rewrites the `WARC-Target-URI` of every page of a
translation group to such a per-language domain (`feeltracker-de.com/faq/`), so only the
split units' cross-site translation links can keep the group in one split. Pages outside a
group keep their URLs. Each record is its own gzip member; a member that does not inflate
(the file's deliberately broken records) is copied as it is.
"""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from faqmine.core.urls import registered_domain

REALFAQ = Path(__file__).resolve().parents[2] / "data" / "realfaq"


def manifest(folder: Path = REALFAQ) -> list[dict]:
    return [json.loads(line) for line in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]


def regional_url(url: str, language: str, index: int) -> str:
    """`https://www.brand.com/de/faq/` -> `https://brand-de.com/de/faq/` (index told apart when a group has two
    pages in one language)."""
    parts = urlsplit(url)
    domain = registered_domain(url)
    label, _, suffix = domain.partition(".")
    host = f"{label}-{language}{'' if index == 0 else index}.{suffix}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def rehost_map(folder: Path = REALFAQ) -> dict[str, tuple[str, str]]:
    """Old URL -> (new URL, translation group) for every page of a translation group."""
    out: dict[str, tuple[str, str]] = {}
    seen: dict[tuple[str, str], int] = {}
    for page in manifest(folder):
        group, language = page.get("translation_group"), page.get("language")
        if not group or not language or page.get("broken") or page["url"] in out:
            continue
        index = seen.get((group, language), 0)
        seen[(group, language)] = index + 1
        out[page["url"]] = (regional_url(page["url"], language, index), group)
    return out


def _members(data: bytes) -> list[bytes]:
    """The raw gzip members of a file, in order (a member that does not inflate runs to the next magic)."""
    members, start = [], 0
    while start < len(data):
        inflater = zlib.decompressobj(wbits=31)
        try:
            inflater.decompress(data[start:])
            end = len(data) - len(inflater.unused_data) if inflater.eof else -1
        except zlib.error:
            end = -1
        if end <= start:  # broken member: up to the next gzip magic, or the end
            following = data.find(b"\x1f\x8b\x08", start + 3)
            end = following if following > 0 else len(data)
        members.append(data[start:end])
        start = end
    return members


def rehost(out: Path, folder: Path = REALFAQ) -> dict[str, tuple[str, str]]:
    """Write the re-hosted copy of faq_real.warc.gz to `out`; return old URL -> (new URL, group)."""
    mapping = rehost_map(folder)
    data = (folder / "faq_real.warc.gz").read_bytes()
    with open(out, "wb") as handle:
        for member in _members(data):
            try:
                record = gzip.decompress(member)
            except (OSError, EOFError, zlib.error):
                handle.write(member)
                continue
            head, sep, rest = record.partition(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            for i, line in enumerate(lines):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"warc-target-uri":
                    url = value.strip().decode("utf-8", "replace")
                    if url in mapping:
                        lines[i] = b"WARC-Target-URI: " + mapping[url][0].encode()
            handle.write(gzip.compress(b"\r\n".join(lines) + sep + rest, mtime=0))
    return mapping
