"""Shared fixtures: paths to the real sample data under data/ and one real local[2] Spark session per test run.

The sample data ships with the repository (data/README.md); a missing file fails the tests that
need it, naming the path (helpers.paths.need), and is never skipped.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from helpers.paths import REAL_WARC_NAMES, REAL_WARCS, REALFAQ, REPO, need


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def real_warcs() -> Path:
    """data/background: the four real WARC files (14 FAQ QAs from commoncrawl.org/faq, the rest without FAQs)."""
    for name in REAL_WARC_NAMES:
        need(REAL_WARCS / name, "real WARC file")
    return REAL_WARCS


@pytest.fixture(scope="session")
def realfaq() -> Path:
    """data/realfaq: faq_real.warc.gz (45 real FAQ pages in 20 languages), gold.jsonl and manifest.jsonl."""
    for name in ("faq_real.warc.gz", "gold.jsonl", "manifest.jsonl"):
        need(REALFAQ / name, "real FAQ sample file")
    return REALFAQ


@pytest.fixture(scope="session")
def spark():
    """A real Spark session on local[2], shared by all Spark tests of the run."""
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["FAQMINE_QUIET_SPARK"] = "1"
    from faqmine.spark.session import build_session

    session = build_session(
        "faqmine-tests",
        master="local[2]",
        conf={"spark.sql.shuffle.partitions": "4", "spark.default.parallelism": "2"},
    )
    yield session
    session.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the Spark session must be marked `spark`, so `-m "not spark"` never starts one."""
    unmarked = [item.nodeid for item in items if "spark" in getattr(item, "fixturenames", ())
                and item.get_closest_marker("spark") is None]
    if unmarked:
        raise pytest.UsageError("tests that use the `spark` fixture without the `spark` marker: "
                                + ", ".join(unmarked))
