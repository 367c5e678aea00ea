"""Settings of one simulated crawl, and the parsing of sizes such as `200MB`.

Every knob of the simulator lives in `SimConfig`; the command line (`faqmine
simulate`) only fills it. Shares are probabilities per record or per site, not
exact counts: the crawl is drawn at random from them, deterministically for a seed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

# The 12 XQuAD languages, with the share of FAQ sites each gets by default:
# English-heavy like the web, every language well represented.
LANGUAGE_WEIGHTS: dict[str, float] = {
    "en": 0.24, "de": 0.10, "es": 0.10, "ru": 0.09, "zh": 0.08, "tr": 0.06,
    "vi": 0.06, "ar": 0.06, "ro": 0.05, "el": 0.05, "hi": 0.06, "th": 0.05,
}
LANGUAGES: tuple[str, ...] = tuple(sorted(LANGUAGE_WEIGHTS))
ANSWER_MODES = ("sentence", "paragraph")

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?i?B?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
          "KI": 2**10, "MI": 2**20, "GI": 2**30, "TI": 2**40}


def parse_size(text: str) -> int:
    """`200MB` -> 200_000_000 bytes. Decimal units (kB, MB, GB), binary ones with `i` (MiB); bare numbers are bytes."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"not a size: {text!r} (write e.g. 50MB, 1GB, 512KiB)")
    number, unit = match.groups()
    unit = (unit or "").upper().rstrip("B")
    if unit not in _UNITS:
        raise ValueError(f"unknown size unit in {text!r}")
    return int(float(number) * _UNITS[unit])


def format_size(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def default_data_dir() -> Path:
    """`<repository>/data`: the simulator's inputs (data/xquad, data/background) ship with the repository."""
    return Path(__file__).resolve().parents[3] / "data"


@dataclass(frozen=True)
class SimConfig:
    out: Path
    size_bytes: int
    seed: int = 1
    faq_share: float = 0.02  # share of response records that are FAQ pages
    languages: tuple[str, ...] = LANGUAGES
    answer_mode: str = "sentence"  # sentence: the sentence holding the XQuAD answer; paragraph: the whole context
    file_size_bytes: int = 100 * 10**6  # Common Crawl writes ~1 GB files; we keep ~100 MB
    bad_share: float = 0.01  # share of records that are broken (not HTML, invalid JSON-LD, HTTP errors, empty QAs)
    dup_share: float = 0.04  # share of FAQ pages fetched a second time under a URL variant
    multilingual_share: float = 0.30  # share of FAQ sites publishing their FAQ in several languages
    copy_share: float = 0.15  # share of FAQ sites that copy another site's FAQ with small edits
    # How many unrelated sites may publish one XQuAD question, in any language, before the deck is dry: 1
    # (realistic: most FAQ questions are written by one site) stops making FAQ pages once every question has
    # a site, so a large crawl holds ~2,000 distinct QAs and background pages after that; 0 is no limit, the
    # old deck that re-deals every question in each language to unrelated sites (3x over at 20 MB, which
    # joins nearly every site to every other through translations: see docs/simulation.md).
    question_sites: int = 1
    syndicated_share: float = 0.02  # share of FAQ sites that also republish one of a few syndicated FAQs verbatim
    bad_gzip_every: int = 3  # every n-th WARC file (the first included) ends with a truncated gzip member
    crawl: str | None = None  # crawl id in warcinfo `isPartOf`; default SIM-<seed>
    data_dir: Path = field(default_factory=default_data_dir)
    compress_level: int = 6
    quiet: bool = False

    def __post_init__(self) -> None:
        unknown = [lang for lang in self.languages if lang not in LANGUAGE_WEIGHTS]
        if unknown:
            raise ValueError(f"languages not in XQuAD: {unknown}; choose from {', '.join(LANGUAGES)}")
        if not self.languages:
            raise ValueError("at least one language is needed")
        if self.answer_mode not in ANSWER_MODES:
            raise ValueError(f"answer mode must be one of {ANSWER_MODES}")
        if self.question_sites < 0:
            raise ValueError(f"question_sites must be 0 (no limit) or positive, got {self.question_sites}")
        for name in ("faq_share", "bad_share", "dup_share", "multilingual_share", "copy_share", "syndicated_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {value}")
        if self.faq_share + self.bad_share > 1.0:
            raise ValueError("faq_share + bad_share must not exceed 1")
        if self.size_bytes <= 0 or self.file_size_bytes <= 0:
            raise ValueError("sizes must be positive")

    @property
    def crawl_id(self) -> str:
        return self.crawl or f"SIM-{self.seed}"

    def language_weights(self) -> dict[str, float]:
        total = sum(LANGUAGE_WEIGHTS[lang] for lang in self.languages)
        return {lang: LANGUAGE_WEIGHTS[lang] / total for lang in sorted(self.languages)}

    def file_targets(self) -> list[int]:
        """Compressed size each WARC file aims at: ~file_size at large sizes, up to 4 files for small crawls."""
        n = -(-self.size_bytes // self.file_size_bytes)
        n = max(n, min(4, -(-self.size_bytes // (5 * 10**6))))
        base = self.size_bytes // n
        return [base] * (n - 1) + [self.size_bytes - base * (n - 1)]
