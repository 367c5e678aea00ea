"""The pipeline in one table: every stage, its job file, its datasets, and how a run's parameters become its arguments.

`STAGES` is the single description that `dags/faqmine_crawl.py` (and anyone scripting the
pipeline) reads: adding a stage is one `Stage(...)` entry here. An entry names

- the job (`jobs/<name>.py`, which is also the Airflow task id),
- the datasets it reads (`inputs`, under the data root) and writes (`outputs`),
- how its command line follows from the run's parameters (`args`),
- which of its outputs may legitimately be empty (`may_be_empty`),
- which of its outputs are published as Airflow Assets (`publishes`).

The order of stages follows from inputs and outputs: a stage runs after the stages that
write what it reads. Only stages whose job file exists are run (`stages()`), so a deployment
that ships a subset of `jobs/` gets a DAG of that subset.

The run's parameters (`params_spec()`) are plain JSON-schema dictionaries: the DAG turns them
into the trigger form; `plan_run` turns the values a user picked into a `RunPlan`: the
arguments and Spark settings of every stage, and `<data root>/_run.json`, the record of
the run that validation and the dataset card read. No Spark or Airflow import here: the
DAG processor imports this module on every parse.

    python -m faqmine.run.pipeline --help
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
RUN_RECORD = "_run.json"
SPARK_CONN_ID = "spark_default"
CC_LISTING_URL = "https://data.commoncrawl.org/crawl-data/{crawl}/warc.paths.gz"
_CC_CRAWL = re.compile(r"^CC-MAIN-\d{4}-\d{2}$")


def jobs_dir() -> Path:
    """Where the `spark-submit` entry points are: $FAQMINE_JOBS_DIR, else the repository's `jobs/`."""
    return Path(os.environ.get("FAQMINE_JOBS_DIR") or REPO / "jobs")


def training_script(name: str) -> Path:
    """`training/<name>.py` of the repository ($FAQMINE_TRAINING_DIR to use another checkout's)."""
    return Path(os.environ.get("FAQMINE_TRAINING_DIR") or REPO / "training") / f"{name}.py"


def experiment_config(strategy: str) -> Path:
    """`configs/experiment/<strategy>.yaml` of the repository ($FAQMINE_EXPERIMENT_CONFIGS for another folder)."""
    return Path(os.environ.get("FAQMINE_EXPERIMENT_CONFIGS") or REPO / "configs" / "experiment") / f"{strategy}.yaml"


def default_data_root() -> str:
    """$FAQMINE_DATA_ROOT, else the repository's `data/demo` (where `make demo` writes)."""
    return os.environ.get("FAQMINE_DATA_ROOT") or str(REPO / "data" / "demo")


def task_retries() -> int:
    """Retries of every task ($FAQMINE_TASK_RETRIES, default 1): safe, since every job replaces its output whole."""
    return int(os.environ.get("FAQMINE_TASK_RETRIES", "1"))


# ---------------------------------------------------------------- parameters


def params_spec() -> dict[str, dict[str, Any]]:
    """The run's parameters as JSON-schema dictionaries (Airflow `Param(**spec)` takes them as they are).

    Defaults that depend on the machine come from the environment, read when this is called.
    """
    specs = {
        "crawl": {
            "default": os.environ.get("FAQMINE_CRAWL") or None,
            "type": ["null", "string"],
            "title": "Crawl id",
            "description": "e.g. CC-MAIN-2024-18: the value of the crawl column. With no WARC input below, "
            "that crawl's warc.paths.gz listing is fetched from Common Crawl. Empty: taken from the WARC files "
            "(warcinfo isPartOf, or a CC-MAIN id in their path), else 'local'.",
        },
        "warc_input": {
            "default": os.environ.get("FAQMINE_WARC_INPUT") or None,
            "type": ["null", "string"],
            "title": "WARC input",
            "description": "A warc.paths(.gz) listing, a folder of WARC files, WARC files or URLs (file://, "
            "https://, s3://), separated by spaces. Empty: the listing of the crawl id above.",
        },
        "max_files": {
            "default": int(os.environ.get("FAQMINE_MAX_FILES", "0")),
            "type": "integer",
            "minimum": 0,
            "title": "Number of WARC files",
            "description": "Read at most this many WARC files of the input (0: all of them).",
        },
        "data_root": {
            "default": default_data_root(),
            "type": "string",
            "minLength": 1,
            "title": "Data root",
            "description": "Folder every dataset is written under (<data root>/qa_raw, qa, qa_dedup, ...); "
            "the dataset card goes to <data root>/README.md.",
        },
        "spark_master": {
            "default": os.environ.get("FAQMINE_SPARK_MASTER") or None,
            "type": ["null", "string"],
            "section": "Spark",
            "title": "Spark master",
            "description": f"local[4], spark://host:7077, yarn, k8s://... Empty: the master of the Airflow "
            f"connection '{SPARK_CONN_ID}' (local[*] unless it points at a cluster).",
        },
        "driver_memory": {
            "default": os.environ.get("FAQMINE_DRIVER_MEMORY", "2g"),
            "type": "string",
            "pattern": r"^\d+[kmgt]?$",
            "section": "Spark",
            "title": "Driver memory",
            "description": "spark.driver.memory of every job, e.g. 2g (local mode runs the executors in the driver).",
        },
        "executor_memory": {
            "default": os.environ.get("FAQMINE_EXECUTOR_MEMORY", "2g"),
            "type": "string",
            "pattern": r"^\d+[kmgt]?$",
            "section": "Spark",
            "title": "Executor memory",
            "description": "spark.executor.memory on a cluster, e.g. 4g.",
        },
        "shuffle_partitions": {
            "default": int(os.environ.get("FAQMINE_SHUFFLE_PARTITIONS", "0")),
            "type": "integer",
            "minimum": 0,
            "section": "Spark",
            "title": "Shuffle partitions",
            "description": "spark.sql.shuffle.partitions (0: twice the cores of the application, instead of "
            "Spark's fixed 200).",
        },
        "languages": {
            "default": None,
            "type": ["null", "array"],
            "items": {"type": "string"},
            "title": "Languages",
            "description": "Build benchmarks and hard negatives for these languages only (one ISO code a line). "
            "Empty: every language with enough QAs.",
        },
        "min_qas": {
            "default": int(os.environ["FAQMINE_MIN_QAS"]) if os.environ.get("FAQMINE_MIN_QAS") else None,
            "type": ["null", "integer"],
            "minimum": 1,
            "title": "Minimum QAs per benchmark language",
            "description": "Languages with fewer deduplicated QAs get no benchmark (empty: the job's default).",
        },
    }
    present = {st.name for st in stages()}
    return {name: spec for name, spec in specs.items()
            if not set(PARAM_CONSUMERS.get(name, ())).isdisjoint(present) or name not in PARAM_CONSUMERS}


# Parameters only some stages read: offered in the form when one of these stages is deployed (its job file exists).
PARAM_CONSUMERS = {"languages": ("build_benchmarks", "mine_negatives"), "min_qas": ("build_benchmarks",)}


def default_params() -> dict[str, Any]:
    return {name: spec["default"] for name, spec in params_spec().items()}


# ---------------------------------------------------------------- stages


@dataclass(frozen=True)
class RunContext:
    """What a stage's `args` function sees: the data root and the resolved input of the run."""

    data_root: Path
    warc_input: tuple[str, ...]
    crawl: str
    max_files: int
    options: Mapping[str, Any] = field(default_factory=dict)  # every parameter, for stage-specific options

    def path(self, dataset: str) -> str:
        return str(self.data_root / dataset)

    def option(self, flag: str, param: str) -> list[str]:
        """[flag, value] when the parameter is set (a list value gives [flag, v1, v2, ...]), else []."""
        value = self.options.get(param)
        if value in (None, "", []):
            return []
        values = value if isinstance(value, list | tuple) else [value]
        return [flag, *(str(v) for v in values)]


@dataclass(frozen=True)
class Stage:
    name: str  # jobs/<name>.py and the Airflow task id
    inputs: tuple[str, ...]  # datasets read under the data root; () for the crawl itself
    outputs: tuple[str, ...]  # datasets written under the data root
    args: Callable[[RunContext], list[str]]  # the job's arguments (the master is added by the plan)
    may_be_empty: tuple[str, ...] = ()  # outputs that may have no row in a correct run
    publishes: tuple[str, ...] = ()  # datasets published as Airflow Assets (an output, or the folder of outputs)
    description: str = ""

    def writes(self, dataset: str) -> bool:
        """Whether the stage writes `dataset` or a dataset inside it (benchmarks -> benchmarks/queries)."""
        return any(o == dataset or o.startswith(dataset + "/") for o in self.outputs)

    @property
    def job(self) -> Path:
        return jobs_dir() / f"{self.name}.py"


def _extract_args(run: RunContext) -> list[str]:
    args = ["--input", *run.warc_input, "--output", run.path("qa_raw")]
    if run.crawl:
        args += ["--crawl", run.crawl]
    if run.max_files:
        args += ["--max-files", str(run.max_files)]
    return args


STAGES: tuple[Stage, ...] = (
    Stage("extract", inputs=(), outputs=("qa_raw",), args=_extract_args,
          description="WARC files -> schema.org FAQPage question-answer pairs"),
    Stage("clean_langid", inputs=("qa_raw",), outputs=("qa",),
          args=lambda run: ["--input", run.path("qa_raw"), "--output", run.path("qa")],
          description="clean QA pairs, identify their language"),
    Stage("dedup", inputs=("qa",), outputs=("qa_dedup", "duplicates"),
          args=lambda run: ["--input", run.path("qa"), "--output", run.path("qa_dedup"),
                            "--duplicates-output", run.path("duplicates")],
          may_be_empty=("duplicates",), publishes=("qa_dedup",),
          description="remove exact and near-duplicate QAs"),
    Stage("embed", inputs=("qa_dedup",), outputs=("qa_embeddings",),
          args=lambda run: ["--input", run.path("qa_dedup"), "--output", run.path("qa_embeddings")],
          description="question and answer vectors of every QA, encoded once for all later stages"),
    Stage("build_benchmarks", inputs=("qa_dedup", "qa_embeddings", "duplicates"),
          outputs=("benchmarks/queries", "benchmarks/corpus", "benchmarks/qrels"),
          args=lambda run: ["--input", run.path("qa_dedup"), "--embeddings", run.path("qa_embeddings"),
                            "--duplicates", run.path("duplicates"), "--output", run.path("benchmarks"),
                            *run.option("--min-qas", "min_qas"), *run.option("--languages", "languages")],
          publishes=("benchmarks",),
          description="per-language retrieval benchmarks (corpus, queries, qrels), split by leak-free units"),
    Stage("align_bitext", inputs=("qa_dedup", "qa_embeddings"), outputs=("bitext",),
          args=lambda run: ["--input", run.path("qa_dedup"), "--embeddings", run.path("qa_embeddings"),
                            "--output", run.path("bitext")],
          may_be_empty=("bitext",), publishes=("bitext",),
          description="bilingual QA pairs within each site"),
    Stage("mine_negatives", inputs=("benchmarks", "qa_embeddings", "duplicates", "bitext"),
          outputs=("hard_negatives",),
          args=lambda run: ["--benchmarks", run.path("benchmarks"), "--embeddings", run.path("qa_embeddings"),
                            "--output", run.path("hard_negatives"),
                            "--duplicates", run.path("duplicates"), "--bitext", run.path("bitext"),
                            *run.option("--languages", "languages")],
          publishes=("hard_negatives",),
          description="BM25 + dense hard negatives with teacher scores for training"),
)

# Datasets other DAGs may be scheduled on (Airflow Assets), whether or not their stage has landed yet.
PUBLISHED = ("qa_dedup", "benchmarks", "bitext", "hard_negatives")


def asset_name(dataset: str) -> str:
    """The Airflow Asset name of a published dataset (its location is in each event's extra: data_root, path)."""
    return f"faqmine_{dataset}"


def asset_uri(dataset: str) -> str:
    return f"faqmine://datasets/{dataset}"


def stages(all_stages: tuple[Stage, ...] = STAGES) -> list[Stage]:
    """The stages whose job file exists, in an order where every stage follows those it reads from."""
    present = [s for s in all_stages if s.job.is_file()]
    return _ordered(present)


def _ordered(todo: list[Stage]) -> list[Stage]:
    done: list[Stage] = []
    pending = list(todo)
    while pending:
        ready = sorted((s for s in pending if not any(upstream(s, [p for p in pending if p is not s]))),
                       key=lambda s: s.name)  # independent stages by name: the order never depends on the listing
        if not ready:
            raise ValueError(f"stages {[s.name for s in pending]} read datasets in a cycle")
        for stage in ready:
            done.append(stage)
            pending.remove(stage)
    return done


def stage(name: str) -> Stage:
    for s in STAGES:
        if s.name == name:
            return s
    raise KeyError(f"no stage named {name!r} in faqmine.run.pipeline.STAGES")


def upstream(of: Stage, among: list[Stage]) -> list[Stage]:
    """The stages among `among` that write a dataset `of` reads."""
    return [s for s in among if s is not of and any(s.writes(d) for d in of.inputs)]


def last_stages(among: list[Stage]) -> list[Stage]:
    """The stages among `among` whose outputs no other stage among them reads."""
    return [s for s in among if not any(s in upstream(other, among) for other in among)]


# ---------------------------------------------------------------- a run's plan


@dataclass(frozen=True)
class RunPlan:
    run_id: str
    data_root: str
    crawl: str
    warc_input: list[str]
    spark_conf: dict[str, str]
    stage_args: dict[str, list[str]]
    params: dict[str, Any]
    created: float

    def command(self, name: str, spark_submit: str = "spark-submit") -> list[str]:
        """The full `spark-submit` command of one stage (what the Airflow task runs, for shell use)."""
        conf = [item for key, value in self.spark_conf.items() for item in ("--conf", f"{key}={value}")]
        return [spark_submit, *conf, str(stage(name).job), *self.stage_args[name]]

    def to_xcom(self) -> dict[str, Any]:
        """One key per stage (its arguments) plus `spark_conf`, `data_root`, `crawl`: for multiple_outputs."""
        return {**self.stage_args, "spark_conf": self.spark_conf, "data_root": self.data_root,
                "crawl": self.crawl, "run_id": self.run_id}


class PlanError(ValueError):
    """The parameters of a run cannot be turned into a plan (no input, bad crawl id, ...)."""


def resolve_warc_input(params: Mapping[str, Any], data_root: Path, fetch: bool = True) -> list[str]:
    """The WARC input specs of a run: the `warc_input` parameter, else the crawl's listing from Common Crawl,
    downloaded once to `<data root>/_inputs/<crawl>.warc.paths.gz` (its lines are relative to Common Crawl)."""
    given = shlex.split(str(params.get("warc_input") or ""))
    if given:
        return given
    crawl = str(params.get("crawl") or "").strip()
    if not crawl:
        raise PlanError("give a WARC input (listing, folder, files or URLs) or a Common Crawl crawl id")
    if not _CC_CRAWL.match(crawl):
        raise PlanError(f"crawl id {crawl!r} is not a Common Crawl id (CC-MAIN-YYYY-WW) and no WARC input is given")
    listing = data_root / "_inputs" / f"{crawl}.warc.paths.gz"
    if fetch and not listing.exists():
        listing.parent.mkdir(parents=True, exist_ok=True)
        part = listing.with_name(listing.name + f".part-{uuid.uuid4().hex[:8]}")
        with urllib.request.urlopen(CC_LISTING_URL.format(crawl=crawl), timeout=120) as response:
            part.write_bytes(response.read())
        part.replace(listing)
    return [str(listing)]


def spark_conf(params: Mapping[str, Any]) -> dict[str, str]:
    conf = {
        "spark.driver.memory": str(params.get("driver_memory") or "2g"),
        "spark.executor.memory": str(params.get("executor_memory") or "2g"),
    }
    if int(params.get("shuffle_partitions") or 0) > 0:
        conf["spark.sql.shuffle.partitions"] = str(int(params["shuffle_partitions"]))
    return conf


def plan_run(params: Mapping[str, Any], run_id: str = "", write_record: bool = True,
             fetch: bool = True) -> RunPlan:
    """Turn a run's parameters into every stage's arguments; record the run in `<data root>/_run.json`.

    The record's time is what validation compares dataset times with: a dataset older than the
    plan of the run was not written by it (a job that "succeeded" without writing).
    """
    values = {**default_params(), **params}  # Airflow passes every parameter; None is an empty optional field
    root_text = str(values["data_root"]).strip()
    if not root_text:
        raise PlanError("the data root is empty")
    data_root = Path(root_text).expanduser()
    if not data_root.is_absolute():
        data_root = (Path.cwd() / data_root).resolve()
    if write_record:
        data_root.mkdir(parents=True, exist_ok=True)
    warc_input = resolve_warc_input(values, data_root, fetch=fetch)
    crawl = str(values.get("crawl") or "").strip()
    context = RunContext(data_root=data_root, warc_input=tuple(warc_input), crawl=crawl,
                         max_files=int(values.get("max_files") or 0), options=values)
    master = str(values.get("spark_master") or "").strip()
    stage_args = {}
    for s in stages():
        stage_args[s.name] = s.args(context) + (["--master", master] if master else [])
    plan = RunPlan(run_id=run_id or f"manual-{uuid.uuid4().hex[:8]}", data_root=str(data_root), crawl=crawl,
                   warc_input=warc_input, spark_conf=spark_conf(values), stage_args=stage_args,
                   params=dict(values), created=time.time())
    if write_record:
        write_run_record(plan)
    return plan


def write_run_record(plan: RunPlan) -> Path:
    target = Path(plan.data_root) / RUN_RECORD
    tmp = target.with_name(f".{RUN_RECORD}.{uuid.uuid4().hex[:8]}")
    record = {**asdict(plan), "stages": [s.name for s in stages()]}
    tmp.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(target)
    return target


def read_run_record(data_root: str | Path) -> dict[str, Any] | None:
    path = Path(data_root) / RUN_RECORD
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


# ---------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m faqmine.run.pipeline",
        description="Show the pipeline's stages, or the spark-submit commands of a run (what the faqmine_crawl "
        "DAG runs), from the same description the DAG uses.",
    )
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("stages", help="list the stages, their datasets and published assets")
    plan = sub.add_parser("plan", help="print one spark-submit command per stage, in order")
    for name, spec in params_spec().items():
        types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
        kind = int if "integer" in types else str
        plan.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind, default=spec["default"],
                          nargs="+" if "array" in types else None, help=spec["description"])
    plan.add_argument("--write-record", action="store_true", help=f"also write <data root>/{RUN_RECORD}")
    args = parser.parse_args(argv)
    if args.action == "stages":
        for s in stages():
            extra = f"  publishes {','.join(s.publishes)}" if s.publishes else ""
            print(f"{s.name:<14} {','.join(s.inputs) or '(crawl)'} -> {','.join(s.outputs)}{extra}")
        return 0
    values = {name: getattr(args, name) for name in params_spec()}
    try:
        run = plan_run(values, write_record=args.write_record)
    except PlanError as exc:
        parser.error(str(exc))
    for s in stages():
        print(shlex.join(run.command(s.name)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
