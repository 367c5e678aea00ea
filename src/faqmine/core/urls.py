"""URLs: clean WARC target URIs and find a URL's registered domain with the bundled public suffix list."""

from __future__ import annotations

from functools import cache
from urllib.parse import urlsplit

import tldextract


@cache
def _extractor() -> tldextract.TLDExtract:
    # suffix_list_urls=() keeps tldextract offline: it uses the snapshot shipped in the wheel.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=False)


def clean_target_uri(uri: str | None) -> str:
    """WARC-Target-URI as written by some crawlers (`<https://...>`) without the angle brackets."""
    uri = (uri or "").strip()
    if uri.startswith("<") and uri.endswith(">"):
        uri = uri[1:-1].strip()
    return uri


def registered_domain(url: str) -> str:
    """`https://de.shop.example.co.uk/x` -> `example.co.uk`; hosts without a public suffix stay whole."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if not host:
        return ""
    parts = _extractor()(host)
    if parts.domain and parts.suffix:
        return f"{parts.domain}.{parts.suffix}"
    return host
