"""The `Stage` base class: what every `spark-submit jobs/<stage>.py` shares, written once.

A stage declares its name (= its job file's and its Airflow task's), the datasets it reads
and writes, and one Config dataclass whose fields become its flags (`faqmine.core.options`).
The base class parses the command line, builds the session, reads and validates the inputs,
calls the stage's one hook, `run`, writes every output atomically with its `_stats.json`,
unpersists what the stage cached, prints the summary and stops the session:

    class Dedup(Stage):
        name, config_type = "dedup", DedupConfig
        inputs = (DatasetArg("input", "qa", "qa dataset folder"),)
        outputs = (DatasetArg("output", "qa_dedup", "..."), DatasetArg("duplicates-output", "duplicates", "..."))

        def run(self, spark, inputs, config):
            ...
            return StageOutput(writes={"output": (df, stats), ...}, persisted=[...])

    # jobs/dedup.py
    sys.exit(Dedup().main())
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pyspark.sql import DataFrame, SparkSession

from faqmine.core.options import HelpFormatter, add_config_arguments, config_from_args
from faqmine.spark.datasets import read_dataset, write_dataset
from faqmine.spark.session import build_session


@dataclass(frozen=True)
class DatasetArg:
    """A dataset a stage reads or writes, given on the command line as `--<flag> PATH`."""

    flag: str  # e.g. "input", "output", "duplicates-output"
    dataset: str  # its schema under schemas/ (e.g. "qa_dedup")
    help: str
    required: bool = True

    @property
    def dest(self) -> str:
        return self.flag.replace("-", "_")


@dataclass
class StageOutput:
    """What `run` returns: per output flag the frame and its stats, what to unpersist, the summary's stats.

    `writes` maps an output's flag to (frame, stats); a frame of None means the stage wrote that
    output itself (`written` holds its path). The first output's stats are the job's summary.
    """

    writes: dict[str, tuple[DataFrame | None, dict]]
    persisted: Sequence[Any] = ()
    written: dict[str, Path] = field(default_factory=dict)
    cleanup: Sequence[Callable[[], None]] = ()


class Stage:
    """One pipeline stage as a `spark-submit` job: subclasses set the class attributes and `run`."""

    name: ClassVar[str]
    description: ClassVar[str]
    config_type: ClassVar[type | None] = None
    inputs: ClassVar[tuple[DatasetArg, ...]] = ()
    outputs: ClassVar[tuple[DatasetArg, ...]] = ()

    # ------------------------------------------------------------- hooks a stage may override

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Flags that are not fields of the Config (e.g. a job's input file list)."""

    def configure(self, args: argparse.Namespace, parser: argparse.ArgumentParser) -> Any:
        """The stage's Config from the parsed flags; call `parser.error` for a bad combination."""
        try:
            return config_from_args(self.config_type, args) if self.config_type else None
        except ValueError as exc:  # a Config's own check (__post_init__) names the bad value
            parser.error(str(exc))

    def session_conf(self, args: argparse.Namespace) -> dict[str, str]:
        """Extra Spark settings of this stage's session."""
        return {}

    def read_inputs(self, spark: SparkSession, args: argparse.Namespace) -> dict[str, DataFrame]:
        return {arg.dest: read_dataset(spark, getattr(args, arg.dest), arg.dataset)
                for arg in self.inputs if getattr(args, arg.dest, None)}

    def run(self, spark: SparkSession, inputs: dict[str, DataFrame], config: Any,
            args: argparse.Namespace) -> StageOutput:
        raise NotImplementedError

    def after_write(self, spark: SparkSession, paths: dict[str, Path], output: StageOutput, config: Any,
                    args: argparse.Namespace) -> None:
        """Work on the written outputs before the cached frames go (e.g. exports read back from them)."""

    # ------------------------------------------------------------- the sequence, once

    def parser(self) -> argparse.ArgumentParser:
        parser = argparse.ArgumentParser(prog=f"spark-submit jobs/{self.name}.py", description=self.description,
                                         formatter_class=HelpFormatter)
        parser.add_argument("--master", default=None,
                            help="Spark master URL (local[*], spark://host:7077, yarn, k8s://...); default: "
                            "SPARK_MASTER, then what spark-submit set, then local[*]")
        for arg in (*self.inputs, *self.outputs):
            parser.add_argument(f"--{arg.flag}", dest=arg.dest, required=arg.required, help=arg.help,
                                **({} if arg.required else {"default": None}))
        self.add_arguments(parser)
        if self.config_type is not None:
            add_config_arguments(parser, self.config_type)
        return parser

    def main(self, argv: list[str] | None = None) -> int:
        parser = self.parser()
        args = parser.parse_args(argv)
        config = self.configure(args, parser)
        spark = build_session(f"faqmine-{self.name}", master=args.master, conf=self.session_conf(args))
        started = time.time()
        result = self.run(spark, self.read_inputs(spark, args), config, args)
        try:
            paths = dict(result.written)
            for arg in self.outputs:
                if arg.flag in result.writes and result.writes[arg.flag][0] is not None:
                    frame, stats = result.writes[arg.flag]
                    paths[arg.flag] = write_dataset(frame, getattr(args, arg.dest), arg.dataset, stats)
            self.after_write(spark, paths, result, config, args)
            for persisted in result.persisted:
                persisted.unpersist()
        finally:
            for cleanup in result.cleanup:
                cleanup()
        first = self.outputs[0].flag
        print_summary(paths[first], result.writes[first][1], started)
        spark.stop()
        return 0


def print_summary(dataset_path: Path, stats: dict, started: float) -> None:
    """A short human summary of a finished job on stdout (the full counts are in _stats.json)."""
    dropped = stats.get("dropped", {})
    print(f"\n{stats['job']}: wrote {dataset_path} in {time.time() - started:.1f}s")
    print(f"  in={stats['in']} out={stats['out']} dropped={sum(dropped.values())}"
          + (f" rows_out={stats['rows_out']}" if "rows_out" in stats else ""))
    for reason, n in sorted(dropped.items(), key=lambda kv: -kv[1]):
        print(f"    {reason:<20} {n}")
    for sample in stats.get("samples", [])[:5]:
        print(f"  ! {sample}")
    print(f"  stats: {json.dumps({k: v for k, v in stats.items() if k not in ('dropped', 'samples')})}")
