"""Where the tests find their data and models, and `need`: a missing one fails the test, naming the path.

Real sample data ships with the repository under data/ (data/README.md); models are built or
unpacked under models/ by `make setup` (which `make test` runs first). Neither is ever a reason
to skip: a test that cannot find what it needs fails and says which path it wanted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"
REAL_WARCS = DATA / "background"  # four real WARC files: dolma (commoncrawl.org/faq), resiliparse x2, whirlwind
REAL_WARC_NAMES = ("dolma-sample-0001.warc.gz", "resiliparse-clueweb-quirk.warc.gz", "resiliparse-warcfile.warc.gz",
                   "whirlwind.warc.gz")
REALFAQ = DATA / "realfaq"  # 45 real FAQ pages in one WARC, with gold pairs
XQUAD = DATA / "xquad"


def need(path: Path, what: str, hint: str = "it ships with the repository: see data/README.md") -> Path:
    """`path` if it exists, else fail the calling test (or fixture) with the path it wanted."""
    if not path.exists():
        pytest.fail(f"{what} not found: {path} ({hint})", pytrace=False)
    return path


def need_model(path: Path, what: str) -> Path:
    """A model under models/ (or wherever its setting points): fail, naming it, when it is not built."""
    return need(path, what, "run `make setup`, or `make models`")
