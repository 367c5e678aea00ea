"""Connected components on Spark (large-star/small-star) against a union-find on the same random graph."""

from __future__ import annotations

import random

import pytest
from helpers.components import union_find

from faqmine.spark.components import connected_components

pytestmark = pytest.mark.spark


def test_components_match_union_find(spark, tmp_path):
    spark.sparkContext.setCheckpointDir(str(tmp_path / "checkpoints"))
    rng = random.Random(7)
    nodes = [f"n{i:04d}" for i in range(400)]
    edges = [(rng.choice(nodes), rng.choice(nodes)) for _ in range(150)]
    chain = [(f"c{i:03d}", f"c{i + 1:03d}") for i in range(40)]  # a long path: the worst case for label passing
    chain = chain[::2] + chain[1::2]
    edges += chain + [("n0001", "n0001")]  # a self loop is no component
    result = connected_components(spark.createDataFrame(edges, "src string, dst string"), checkpoint_every=2)
    got = {r["node"]: r["component"] for r in result.labels.collect()}
    expected = {k: v for k, v in union_find([e for e in edges if e[0] != e[1]]).items()}
    assert got == expected
    assert got["c040"] == "c000"
    assert 2 <= result.iterations <= 20
    result.unpersist()


def test_no_edges(spark, tmp_path):
    spark.sparkContext.setCheckpointDir(str(tmp_path / "checkpoints"))
    result = connected_components(spark.createDataFrame([], "src string, dst string"))
    assert result.labels.count() == 0 and result.iterations == 0
