"""Faults: a Python worker killed mid-task, and a whole job killed mid-write, on local mode.

A killed worker's task is retried by Spark and the output equals a clean run's; a
job killed while writing leaves no partial dataset where readers look, and the rerun
gives the clean run's output.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from faqmine.core.stats import read_stats

pytestmark = pytest.mark.spark


def submit(repo: Path, inputs: list[str], out: Path, master: str = "local[2]", fault: str | None = None,
           wait: bool = True):
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
           "SPARK_LOCAL_IP": "127.0.0.1", "FAQMINE_QUIET_SPARK": "1"}
    if fault:
        env["FAQMINE_FAULT"] = fault
    cmd = [str(Path(sys.executable).parent / "spark-submit"), "--master", master, str(repo / "jobs" / "extract.py"),
           "--input", *inputs, "--output", str(out)]
    if not wait:
        return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def rows(folder: Path) -> list[dict]:
    table = ds.dataset(folder, format="parquet", partitioning="hive").to_table()
    return sorted(table.to_pylist(), key=lambda r: r["qa_id"])


@pytest.fixture(scope="module")
def inputs(real_warcs, realfaq) -> list[str]:
    return [str(real_warcs), str(realfaq / "faq_real.warc.gz")]


@pytest.fixture(scope="module")
def clean_run(repo, inputs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clean") / "qa_raw"
    submit(repo, inputs, out)
    return out


def test_killed_python_worker_is_retried_with_identical_output(repo, inputs, clean_run, tmp_path):
    marker = tmp_path / "killed-once"
    out = tmp_path / "qa_raw"
    submit(repo, inputs, out, master="local[2,4]", fault=f"kill-worker-once:{marker}")
    assert marker.exists(), "the fault was not injected"
    assert rows(out) == rows(clean_run)
    assert read_stats(out) == read_stats(clean_run)


def test_job_killed_mid_write_leaves_no_partial_dataset(repo, inputs, clean_run, tmp_path):
    out = tmp_path / "qa_raw"
    job = submit(repo, inputs, out, wait=False)
    deadline = time.time() + 240
    while time.time() < deadline and job.poll() is None and not list(tmp_path.glob(".qa_raw.tmp-*")):
        time.sleep(0.05)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    # Readers see either nothing or a complete dataset, never a half-written one.
    assert not out.exists() or rows(out) == rows(clean_run)
    submit(repo, inputs, out)  # the retry (what Airflow does after a failure)
    assert rows(out) == rows(clean_run)
    assert read_stats(out) == read_stats(clean_run)
