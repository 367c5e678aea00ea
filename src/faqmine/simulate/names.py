"""Simulated domain names, URL paths and IP addresses.

Domains are two English words on a generic or country-code TLD (`bluefern.de`,
`harbor-labs.co.uk`), unique within a crawl. Every TLD used is a public suffix,
so a site's registered domain (what the extraction stage calls `domain`) is the
simulated site name itself.
"""

from __future__ import annotations

import random
from urllib.parse import quote

_WORDS = tuple((
    "acme amber apex arbor atlas aurora beacon birch bluefern bold bright brook canyon cedar cloud cobalt coral "
    "crest crystal delta ember evergreen falcon fern fjord forge fox garden glacier golden granite grove harbor "
    "hazel helix horizon indigo iron ivy jade juniper kestrel lake lantern laurel lemon linden lotus lumen maple "
    "marble meadow mesa metro mint nimbus noble north nova oak ocean olive onyx orbit orchid pacific palm pearl "
    "pebble pine pioneer pixel plum polar prairie prism quartz quill raven redwood ridge river rocket rose ruby "
    "saffron sage sapphire sierra silver sky slate solar spark spruce stone summit sun swift terra thistle tide "
    "timber topaz trail true tulip union urban valley vector velvet verde vista willow wind zenith"
).split())
_SUFFIXES = (
    "", "", "", "shop", "store", "labs", "group", "travel", "home", "care", "tech", "media", "studio", "works",
    "bank", "clinic", "hotel", "school", "parts", "market", "energy", "legal", "tours", "foods",
)
_BG_SECTIONS = ("blog", "news", "products", "category", "article", "p", "item", "tag", "events", "wiki", "forum")
_SLUG_WORDS = (
    "best guide review new how to the and for with 2023 2024 top tips update sale price home garden city summer "
    "winter report story photo video list free online local market travel food health sport music"
).split()


class DomainNamer:
    """Hands out unique domain names (`word[-]word.tld`), deterministically for an rng."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def new(self, tlds: tuple[str, ...]) -> str:
        rng = self.rng
        for attempt in range(1000):
            first = rng.choice(_WORDS)
            second = rng.choice(_WORDS + _SUFFIXES)
            sep = "-" if rng.random() < 0.25 and second else ""
            name = f"{first}{sep}{second}" if second != first else first
            if attempt > 50:
                name += str(rng.randrange(2, 99))
            domain = f"{name}.{rng.choice(tlds)}"
            if domain not in self.used:
                self.used.add(domain)
                return domain
        raise RuntimeError("ran out of domain names")


def brand_of(domain: str) -> str:
    """`bluefern-shop.co.uk` -> `Bluefern Shop`: the site name shown on its pages."""
    name = domain.split(".", 1)[0].rstrip("0123456789")
    return " ".join(part.capitalize() for part in name.replace("-", " ").split())


def slug_path(slug: str) -> str:
    """A URL path segment for a slug in any script (non-ASCII is percent-encoded, as crawlers record it)."""
    return quote(slug, safe="-")


def background_path(rng: random.Random) -> str:
    section = rng.choice(_BG_SECTIONS)
    words = "-".join(rng.choice(_SLUG_WORDS) for _ in range(rng.randint(2, 6)))
    form = rng.random()
    if form < 0.3:
        return f"/{section}/{rng.randint(2015, 2024)}/{rng.randint(1, 12):02d}/{words}/"
    if form < 0.55:
        return f"/{section}/{words}-{rng.randint(100, 999999)}.html"
    if form < 0.75:
        return f"/{section}/{words}"
    if form < 0.9:
        return f"/index.php?id={rng.randint(1, 99999)}&{section}={rng.randint(1, 99)}"
    return f"/{words}/"


def ip_address(rng: random.Random) -> str:
    return f"{rng.randint(23, 212)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
