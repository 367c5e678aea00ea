"""The Stage base class and the flags generated from Config dataclasses, without starting Spark.

Every pipeline stage's job is a `Stage` of the same name, and the arguments that the Airflow DAG
passes to it (faqmine.run.pipeline) parse into the Config the stage runs with.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from faqmine.core.options import add_config_arguments, config_from_args, option, optional_float
from faqmine.run import pipeline
from faqmine.spark.stage import Stage

REPO = Path(__file__).resolve().parents[1]
STAGE_CLASSES = {
    "extract": "Extract", "extract_wdc": "ExtractWdc", "clean_langid": "CleanLangId", "dedup": "Dedup",
    "embed": "Embed", "build_benchmarks": "BuildBenchmarks", "align_bitext": "AlignBitext",
    "mine_negatives": "MineNegatives",
}


@dataclasses.dataclass(frozen=True)
class Inner:
    """Inner knobs (a group)."""

    depth: int = option(3, help="how deep")
    strict: bool = option(True, help="switch strictness off")


@dataclasses.dataclass(frozen=True)
class Outer:
    name: str = option("x", choices=("x", "y"))
    ratio: float | None = option(0.5, parse=optional_float)
    languages: tuple[str, ...] | None = option(None)
    inner: Inner = dataclasses.field(default_factory=Inner)
    hidden: int = option(7, cli=False)


def parse(argv: list[str]) -> Outer:
    parser = argparse.ArgumentParser()
    add_config_arguments(parser, Outer)
    return config_from_args(Outer, parser.parse_args(argv))


def test_defaults_round_trip():
    assert parse([]) == Outer()


def test_every_kind_of_field_becomes_a_flag():
    config = parse(["--name", "y", "--ratio", "none", "--languages", "de", "en", "--depth", "5", "--no-strict"])
    assert config == Outer(name="y", ratio=None, languages=("de", "en"), inner=Inner(depth=5, strict=False))


def test_hidden_fields_and_bad_choices():
    with pytest.raises(SystemExit):
        parse(["--hidden", "3"])
    with pytest.raises(SystemExit):
        parse(["--name", "z"])


def test_a_field_name_twice_in_one_tree_is_refused():
    @dataclasses.dataclass
    class Twice:
        depth: int = 1
        inner: Inner = dataclasses.field(default_factory=Inner)

    with pytest.raises(ValueError, match="depth"):
        add_config_arguments(argparse.ArgumentParser(), Twice)


@pytest.mark.parametrize("name", sorted(STAGE_CLASSES))
def test_each_job_is_a_stage_of_its_own_name(name):
    module = importlib.import_module(f"faqmine.spark.{name}")
    stage = getattr(module, STAGE_CLASSES[name])()
    assert isinstance(stage, Stage) and stage.name == name
    job = (REPO / "jobs" / f"{name}.py").read_text()
    assert f"from faqmine.spark.{name} import {STAGE_CLASSES[name]}" in job
    assert len(job.splitlines()) <= 30


@pytest.mark.parametrize("stage", pipeline.STAGES, ids=lambda s: s.name)
def test_the_dags_arguments_parse_into_the_stages_config(stage, tmp_path):
    module = importlib.import_module(f"faqmine.spark.{stage.name}")
    job = getattr(module, STAGE_CLASSES[stage.name])()
    warc = tmp_path / "a.warc.gz"
    warc.write_bytes(b"")
    run = pipeline.RunContext(data_root=tmp_path, warc_input=(str(warc),), crawl="CC-MAIN-2024-18", max_files=2,
                              options={"languages": ["de", "en"], "min_qas": 10})
    args = job.parser().parse_args(stage.args(run))
    if job.config_type is not None and stage.name not in ("mine_negatives", "align_bitext"):
        assert dataclasses.is_dataclass(job.configure(args, job.parser()))  # no encoder folder needed here


def test_bad_config_values_name_themselves():
    done = subprocess.run([sys.executable, str(REPO / "jobs" / "build_benchmarks.py"), "--input", "x", "--embeddings",
                           "z", "--output", "y", "--splits", "train=0.5,train=0.5"], capture_output=True, text=True)
    assert done.returncode == 2 and "split names must be given once each" in done.stderr
    done = subprocess.run([sys.executable, str(REPO / "jobs" / "build_benchmarks.py"), "--input", "x", "--embeddings",
                           "z", "--output", "y", "--splits", "train"], capture_output=True, text=True)
    assert done.returncode == 2 and "expected name=fraction, got 'train'" in done.stderr
