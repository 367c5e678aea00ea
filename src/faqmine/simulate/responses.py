"""HTTP responses as Common Crawl stores them: status line, headers, body.

Common Crawl saves the decoded body and renames the headers that no longer
describe it (`Content-Encoding`, `Transfer-Encoding`) to `X-Crawler-...`,
adding the decoded `Content-Length`. The simulator writes its responses the same way.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime

REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 403: "Forbidden", 404: "Not Found",
           410: "Gone", 500: "Internal Server Error", 503: "Service Unavailable"}


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]  # without Content-Length (added when serialised)
    body: bytes
    declared_length: int | None = None  # Content-Length header value when the body was cut (truncated records)
    warc_extra: list[tuple[str, str]] = field(default_factory=list)  # e.g. WARC-Truncated

    def head_bytes(self) -> bytes:
        """Status line and headers, with the blank line that ends them."""
        lines = [f"HTTP/1.1 {self.status} {REASONS.get(self.status, 'OK')}"]
        lines.extend(f"{name}: {value}" for name, value in self.headers)
        lines.append(f"Content-Length: {self.declared_length if self.declared_length is not None else len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")

    def to_bytes(self) -> bytes:
        return self.head_bytes() + self.body

    def content_type(self) -> str:
        for name, value in self.headers:
            if name.lower() == "content-type":
                return value
        return ""


def http_date(when: datetime) -> str:
    return format_datetime(when, usegmt=True)


def server_headers(rng: random.Random, server: str, when: datetime, content_type: str,
                   content_language: str | None = None, wordpress_home: str | None = None) -> list[tuple[str, str]]:
    """Plausible response headers of a web server for an HTML page."""
    headers = [("Date", http_date(when)), ("Server", server), ("Content-Type", content_type)]
    if rng.random() < 0.8:
        headers.append(("X-Crawler-Content-Encoding", rng.choice(("gzip", "gzip", "br"))))
    if rng.random() < 0.5:
        headers.append(("X-Crawler-Transfer-Encoding", "chunked"))
    headers.append(("Vary", "Accept-Encoding"))
    if rng.random() < 0.6:
        headers.append(("Cache-Control", rng.choice(("max-age=600", "no-cache", "public, max-age=3600",
                                                     "max-age=0, must-revalidate"))))
    if rng.random() < 0.5:
        modified = when - timedelta(days=rng.randint(1, 900), seconds=rng.randint(0, 86399))
        headers.append(("Last-Modified", http_date(modified)))
    if content_language:
        headers.append(("Content-Language", content_language))
    if wordpress_home:
        headers.append(("Link", f'<{wordpress_home}wp-json/>; rel="https://api.w.org/"'))
        headers.append(("X-Powered-By", rng.choice(("PHP/8.1.27", "PHP/8.2.18", "PHP/7.4.33"))))
    if server == "cloudflare":
        headers.append(("CF-Cache-Status", rng.choice(("HIT", "MISS", "DYNAMIC"))))
        headers.append(("CF-RAY", f"{rng.getrandbits(64):016x}-{rng.choice(('FRA', 'AMS', 'IAD', 'SIN', 'GRU'))}"))
    return headers
