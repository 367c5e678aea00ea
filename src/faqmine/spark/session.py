"""Build the SparkSession every job uses, with the settings the pipeline relies on.

The master comes from, in order: the `master` argument (a job's `--master`), the
`SPARK_MASTER` environment variable, what `spark-submit --master` already set, and
the embedded default `local[*]`.
"""

from __future__ import annotations

import os
import sys

from pyspark import SparkConf, SparkContext
from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[*]"

_DEFAULT_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.python.worker.reuse": "true",  # models load once per Python worker, not once per task
    "spark.sql.parquet.compression.codec": "zstd",
    "spark.ui.showConsoleProgress": "true",
    "spark.log.level": "WARN",
}


def build_session(app_name: str, master: str | None = None, conf: dict[str, str] | None = None) -> SparkSession:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Start (or attach to) the JVM first: only then does SparkConf() see what spark-submit was given
    # (--master, --conf), which must win over our defaults.
    SparkContext._ensure_initialized()
    submitted = SparkConf()
    chosen = master or os.environ.get("SPARK_MASTER") or submitted.get("spark.master", None) or DEFAULT_MASTER
    builder = SparkSession.builder.appName(app_name).master(chosen)
    for key, value in {**_DEFAULT_CONF, **(conf or {})}.items():
        if submitted.get(key, None) is None:
            builder = builder.config(key, value)
    if os.environ.get("CI") or os.environ.get("FAQMINE_QUIET_SPARK"):
        builder = builder.config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("FAQMINE_SPARK_LOG_LEVEL", "WARN"))
    fit_shuffle_partitions(spark)
    return spark


def fit_shuffle_partitions(spark: SparkSession) -> int:
    """Unless `spark.sql.shuffle.partitions` was configured (spark-submit --conf, spark-defaults.conf),
    use twice the default parallelism (the cores of the application) instead of Spark's fixed 200:
    dedup runs a dozen shuffles plus several per connected-components round, and on a laptop 200
    near-empty tasks per shuffle cost more than the data. Returns the number in force."""
    key = "spark.sql.shuffle.partitions"
    if not spark.sparkContext.getConf().contains(key):
        spark.conf.set(key, str(max(2, 2 * spark.sparkContext.defaultParallelism)))
    return int(spark.conf.get(key))
