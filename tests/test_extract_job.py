"""The extraction job on real Spark: in-process on local[2], and as `spark-submit jobs/extract.py`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from test_extract import COMMONCRAWL_FAQ_QUESTIONS, broken_crawl

from faqmine.core.stats import check_balance, read_stats
from faqmine.extract.warc_input import resolve_inputs
from faqmine.run.check import check_data_root
from faqmine.spark.datasets import write_dataset
from faqmine.spark.extract import run_extract

pytestmark = pytest.mark.spark


def extract_to(spark, files: list[str], out: Path) -> dict:
    qa, stats, persisted = run_extract(spark, files)
    write_dataset(qa, str(out), "qa_raw", stats.to_dict())
    persisted.unpersist()
    return read_stats(out)


def test_job_on_sample_and_broken_files_balances_and_reruns_identically(spark, real_warcs, tmp_path):
    mixed, truncated = broken_crawl(tmp_path)
    files = resolve_inputs([str(real_warcs), str(mixed), str(truncated)])
    out = tmp_path / "qa_raw"
    stats = extract_to(spark, files, out)
    check_balance(stats)
    assert stats["warc_files"] == 6 and stats["warc_files_failed"] == 1
    assert stats["rows_out"] == 14 + 4 + 2  # dolma FAQ; mixed: 2 + Shift-JIS 1 + cp1251 1; truncated: 2
    first = spark.read.parquet(str(out)).orderBy("qa_id").collect()
    assert len(first) == stats["rows_out"]
    assert {r.crawl for r in first} == {"local", "CC-MAIN-2024-18"}
    assert check_data_root(tmp_path) == (["qa_raw"], [])  # Spark's output meets the contract

    again = extract_to(spark, files, out)  # a rerun replaces the dataset with the same rows
    assert again == stats
    assert spark.read.parquet(str(out)).orderBy("qa_id").collect() == first
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".qa_raw.")]  # no temp folders left


def test_spark_submit_acceptance(repo, real_warcs, tmp_path):
    """`spark-submit jobs/extract.py --input data/background/` gives the 14 commoncrawl.org/faq QAs."""
    out = tmp_path / "x"
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
           "SPARK_LOCAL_IP": "127.0.0.1", "FAQMINE_QUIET_SPARK": "1"}
    spark_submit = Path(sys.executable).parent / "spark-submit"
    done = subprocess.run(
        [str(spark_submit), "--master", "local[2]", str(repo / "jobs" / "extract.py"),
         "--input", str(real_warcs), "--output", str(out)],
        env=env, capture_output=True, text=True, timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "rows_out=14" in done.stdout
    assert duckdb.sql(f"SELECT count(*) FROM '{out}/**/*.parquet'").fetchall() == [(14,)]
    questions = duckdb.sql(f"SELECT question FROM '{out}/**/*.parquet' ORDER BY position").fetchall()
    assert [q for (q,) in questions] == COMMONCRAWL_FAQ_QUESTIONS


def test_job_help_and_bad_input_message(repo):
    done = subprocess.run([sys.executable, str(repo / "jobs" / "extract.py"), "--help"],
                          capture_output=True, text=True)
    assert done.returncode == 0 and "--input" in done.stdout and "warc.paths" in done.stdout
    done = subprocess.run([sys.executable, str(repo / "jobs" / "extract.py"), "--input", "/nonexistent/x.warc.gz",
                           "--output", "/tmp/never"], capture_output=True, text=True)
    assert done.returncode == 2 and "/nonexistent/x.warc.gz" in done.stderr
