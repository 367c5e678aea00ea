"""The Spark dataset writer and reader: an empty dataset round-trips with its schema (later stages read it)."""

from __future__ import annotations

import pytest

from faqmine.core.schemas import load_schema
from faqmine.spark.datasets import read_dataset, write_dataset

pytestmark = pytest.mark.spark


def test_empty_dataset_round_trips_with_its_schema(spark, tmp_path):
    schema = load_schema("duplicates")
    from pyspark.sql.pandas.types import from_arrow_schema

    empty = spark.createDataFrame([], from_arrow_schema(schema.arrow()))
    write_dataset(empty, str(tmp_path / "duplicates"), "duplicates", {"job": "dedup", "in": 0, "out": 0})
    assert not list((tmp_path / "duplicates").rglob("*.parquet"))  # Spark writes no file for no row
    back = read_dataset(spark, str(tmp_path / "duplicates"), "duplicates")
    assert back.columns == schema.names and back.count() == 0
    with pytest.raises(FileNotFoundError, match="not a finished duplicates dataset"):
        read_dataset(spark, str(tmp_path / "missing"), "duplicates")
