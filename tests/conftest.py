"""Shared fixtures: paths to the bundled sample data and one real local[2] Spark session per test run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DATA = REPO / "data"  # real sample files shipped with the repository, each folder with its NOTICE.md


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def sample_data() -> Path:
    """`data/`: `background/` (real WARC files) and `realfaq/` (real FAQ pages with gold pairs)."""
    return SAMPLE_DATA


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
