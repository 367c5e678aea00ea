"""The Airflow side: the pipeline description, the stage validation, the DAG graph, and `airflow dags test` end to end.

Airflow is always run in a subprocess with its own AIRFLOW_HOME under tmp_path (scripts/airflow_env.sh
sets the rest), so no test touches ~/airflow or the repository's .state/.
"""

from __future__ import annotations

import ast
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_card import write_dataset

from faqmine.core.stats import read_stats
from faqmine.run import pipeline
from faqmine.run.validate import ValidationError, validate_stage

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def airflow_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of scripts/airflow_env.sh with AIRFLOW_HOME=home, as a dict."""
    script = f"export AIRFLOW_HOME={home}; source {REPO}/scripts/airflow_env.sh; env -0"
    out = subprocess.run(["bash", "-c", script], capture_output=True, check=True, env={**os.environ, **extra}).stdout
    env = dict(item.split("=", 1) for item in out.decode().split("\0") if "=" in item)
    env["FAQMINE_QUIET_SPARK"] = "1"
    return env


# ---------------------------------------------------------------- pipeline description


def test_stages_are_ordered_by_their_datasets_and_only_present_jobs_run():
    names = [s.name for s in pipeline.stages()]
    assert names[0] == "extract"
    for s in pipeline.stages():
        assert s.job.is_file(), s.job
        for before in pipeline.upstream(s, pipeline.stages()):
            assert names.index(before.name) < names.index(s.name)
    reversed_stages = tuple(reversed(pipeline.STAGES))
    assert [s.name for s in pipeline.stages(reversed_stages)] == names  # order comes from inputs, not listing
    ghost = pipeline.Stage("ghost", inputs=("qa",), outputs=("ghost",), args=lambda run: [])
    assert "ghost" not in [s.name for s in pipeline.stages((*pipeline.STAGES, ghost))]  # no jobs/ghost.py yet
    assert set(pipeline.PUBLISHED) >= {d for s in pipeline.STAGES for d in s.publishes}


def test_plan_turns_params_into_job_arguments(tmp_path):
    listing = tmp_path / "warc.paths.gz"
    listing.write_bytes(b"")
    plan = pipeline.plan_run({"warc_input": f"{listing} {tmp_path}/more.warc.gz", "data_root": str(tmp_path / "d"),
                              "crawl": "CC-MAIN-2024-18", "max_files": 3, "spark_master": "local[2]",
                              "driver_memory": "3g", "shuffle_partitions": 8}, run_id="r1")
    root = tmp_path / "d"
    assert plan.stage_args["extract"] == ["--input", str(listing), f"{tmp_path}/more.warc.gz",
                                          "--output", str(root / "qa_raw"), "--crawl", "CC-MAIN-2024-18",
                                          "--max-files", "3", "--master", "local[2]"]
    if "clean_langid" in plan.stage_args:
        assert plan.stage_args["clean_langid"][:4] == ["--input", str(root / "qa_raw"), "--output", str(root / "qa")]
    assert plan.spark_conf == {"spark.driver.memory": "3g", "spark.executor.memory": "2g",
                               "spark.sql.shuffle.partitions": "8"}
    record = pipeline.read_run_record(root)
    assert record["run_id"] == "r1" and record["params"]["max_files"] == 3
    command = plan.command("extract")
    assert command[:3] == ["spark-submit", "--conf", "spark.driver.memory=3g"] and command[7].endswith("extract.py")
    xcom = plan.to_xcom()
    assert xcom["extract"] == plan.stage_args["extract"] and xcom["data_root"] == str(root)


def test_plan_from_a_crawl_id_and_bad_params(tmp_path):
    plan = pipeline.plan_run({"crawl": "CC-MAIN-2024-18", "warc_input": "", "data_root": str(tmp_path)},
                             write_record=False, fetch=False)
    assert plan.warc_input == [str(tmp_path / "_inputs" / "CC-MAIN-2024-18.warc.paths.gz")]
    with pytest.raises(pipeline.PlanError, match="crawl id"):
        pipeline.plan_run({"crawl": "", "warc_input": "", "data_root": str(tmp_path)}, write_record=False)
    with pytest.raises(pipeline.PlanError, match="not a Common Crawl id"):
        pipeline.plan_run({"crawl": "mine", "warc_input": "", "data_root": str(tmp_path)}, write_record=False)


def test_pipeline_and_validate_command_lines(tmp_path):
    for module in ("faqmine.run.pipeline", "faqmine.run.validate"):
        done = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True)
        assert done.returncode == 0 and "usage:" in done.stdout, done.stderr
    done = subprocess.run([sys.executable, "-m", "faqmine.run.pipeline", "plan", "--warc-input", "x.warc.gz",
                           "--data-root", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].endswith(f"extract.py --input x.warc.gz --output {tmp_path}/qa_raw")


# ---------------------------------------------------------------- validation of a stage's outputs


def extract_output(root: Path, rows: int = 2, **stats) -> Path:
    return write_dataset(root, "qa_raw", {"qa_id": [f"q{i}" for i in range(rows)], "crawl": ["c"] * rows}, "crawl",
                         {"job": "extract", "in": 10, "out": 1, "dropped": {"no_faq_markup": 9}, "rows_out": rows,
                          **stats})


def test_validate_accepts_a_good_output_and_reports_it(tmp_path):
    extract_output(tmp_path)
    assert validate_stage("extract", tmp_path) == {"qa_raw": {"rows": 2, "in": 10, "out": 1, "dropped": 9,
                                                              "crawls": ["c"]}}


@pytest.mark.parametrize(("damage", "message"), [
    (lambda f: (f / "_SUCCESS").unlink(), "_SUCCESS missing"),
    (lambda f: (f / "_stats.json").write_text(json.dumps({**read_stats(f), "in": 11})), "do not balance"),
    (lambda f: (f / "_stats.json").write_text(json.dumps({**read_stats(f), "rows_out": 3})), "2 rows in the Parquet"),
    (lambda f: (f / "_stats.json").write_text(json.dumps({**read_stats(f), "job": "dedup"})), "written by job"),
])
def test_validate_fails_on_broken_outputs(tmp_path, damage, message):
    damage(extract_output(tmp_path))
    with pytest.raises(ValidationError, match=message):
        validate_stage("extract", tmp_path)


def test_validate_empty_and_stale_outputs(tmp_path):
    extract_output(tmp_path, rows=0)
    with pytest.raises(ValidationError, match="must not produce an empty qa_raw"):
        validate_stage("extract", tmp_path)
    dedup = pipeline.stage("dedup")
    if dedup.job.is_file():  # duplicates may be empty, qa_dedup may not
        assert "duplicates" in dedup.may_be_empty and "qa_dedup" not in dedup.may_be_empty
    root = tmp_path / "stale"
    stats = extract_output(root) / "_stats.json"
    pipeline.plan_run({"warc_input": "x.warc.gz", "data_root": str(root)})  # a new run starts after the output
    planned = (root / pipeline.RUN_RECORD).stat().st_mtime
    os.utime(stats, (planned - 60, planned - 60))
    with pytest.raises(ValidationError, match="stale"):
        validate_stage("extract", root)
    extract_output(root)  # the run's job rewrites it
    validate_stage("extract", root)


# ---------------------------------------------------------------- the DAG files

DAGBAG_SCRIPT = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
out = {"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": {}}
for dag_id, dag in bag.dags.items():
    out["dags"][dag_id] = {
        "params": {k: dag.params[k] for k in dag.params},
        "param_enums": {k: dag.params.get_param(k).schema.get("enum") for k in dag.params},
        "schedule": type(dag.timetable).__name__,
        "tasks": {t.task_id: {"upstream": sorted(t.upstream_task_ids), "operator": type(t).__name__,
                              "application": getattr(t, "application", None),
                              "conn_id": getattr(t, "_conn_id", None),
                              "retries": t.retries,
                              "outlets": [o.name for o in t.outlets]} for t in dag.tasks},
    }
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("airflow_home")
    done = subprocess.run([sys.executable, "-c", DAGBAG_SCRIPT, str(REPO / "dags")], env=airflow_env(home),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_dagbag_has_no_import_errors_and_the_crawl_graph(dagbag):
    assert dagbag["errors"] == {}
    dag = dagbag["dags"]["faqmine_crawl"]
    tasks = dag["tasks"]
    stages = pipeline.stages()
    assert set(tasks) == {"plan", "publish_card"} | {n for s in stages for n in (s.name, f"validate_{s.name}")}
    for s in stages:
        job = tasks[s.name]
        assert job["operator"] == "SparkSubmitOperator" and Path(job["application"]) == s.job
        assert job["conn_id"] == "spark_default" and job["retries"] >= 1
        expected = {"plan"} | {f"validate_{b.name}" for b in pipeline.upstream(s, stages)}
        assert set(job["upstream"]) == expected
        check = tasks[f"validate_{s.name}"]
        assert set(check["upstream"]) == {s.name, "plan"}
        assert check["outlets"] == [pipeline.asset_name(d) for d in s.publishes]
    assert set(tasks["publish_card"]["upstream"]) == {"plan"} | {f"validate_{s.name}"
                                                                for s in pipeline.last_stages(stages)}
    assert set(dag["params"]) == set(pipeline.params_spec())
    if "dedup" in tasks:
        assert tasks["validate_dedup"]["outlets"] == ["faqmine_qa_dedup"]


def test_training_dag_is_scheduled_on_the_hard_negatives_asset(dagbag):
    dag = dagbag["dags"]["faqmine_training"]
    assert dag["schedule"] == "AssetTriggeredTimetable"
    tasks = dag["tasks"]
    assert {t: v["upstream"] for t, v in tasks.items()} == {
        "locate": [], "train": ["locate"], "evaluate": ["locate", "train"], "publish_report": ["evaluate", "locate"]}
    assert tasks["publish_report"]["outlets"] == [pipeline.asset_name("eval")]
    from faqmine.retrieval.config import STRATEGIES

    assert dag["param_enums"]["strategy"] == list(STRATEGIES)  # the form offers every strategy train.py takes
    assert all(pipeline.experiment_config(s).is_file() for s in STRATEGIES)
    for script in ("train", "evaluate"):
        done = subprocess.run([sys.executable, str(pipeline.training_script(script)), "--help"],
                              capture_output=True, text=True)
        assert done.returncode == 0 and "--data" in done.stdout, done.stderr


def test_dag_files_import_only_configuration_from_faqmine():
    for path in (REPO / "dags").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assert ast.get_docstring(tree), f"{path.name} has no module docstring"
        top_level = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        for node in top_level:
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                assert not name.startswith("faqmine") or (isinstance(node, ast.ImportFrom) and name == "faqmine.run"
                                                          and [a.name for a in node.names] == ["pipeline"]), \
                    f"{path.name} imports {name}: DAG files import only faqmine.run.pipeline (configuration)"
                assert not name.startswith(("pyspark", "duckdb", "pyarrow", "pandas")), f"{path.name} imports {name}"
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"['\"](/work|/home|/tmp|/Users|/opt)/", text), f"{path.name} holds a machine path"


# ---------------------------------------------------------------- airflow dags test, end to end


def simulate_crawl(out: Path) -> Path:
    """A small simulated multilingual crawl (a few MB) with `faqmine simulate`."""
    done = subprocess.run([sys.executable, "-m", "faqmine.cli", "simulate", "--out", str(out), "--size", "3MB",
                           "--seed", "1", "--quiet"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return out / "warc.paths.gz"


@pytest.mark.slow
@pytest.mark.spark
def test_airflow_dags_test_runs_the_crawl_end_to_end(tmp_path):
    listing = simulate_crawl(tmp_path / "crawl")
    data = tmp_path / "data"
    env = airflow_env(tmp_path / "airflow")
    airflow = str(VENV_BIN / "airflow")
    done = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    conf = {"warc_input": str(listing), "data_root": str(data), "crawl": "SIM-TEST-1", "shuffle_partitions": 4,
            "min_qas": 10, "driver_memory": "1g"}
    done = subprocess.run([airflow, "dags", "test", "faqmine_crawl", "-c", json.dumps(conf)], env=env,
                          capture_output=True, text=True, timeout=1500)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-6000:]
    db = sqlite3.connect(tmp_path / "airflow" / "airflow.db")
    states = dict(db.execute("SELECT task_id, state FROM task_instance WHERE dag_id = 'faqmine_crawl'").fetchall())
    assert states and set(states.values()) == {"success"}, states
    assert db.execute("SELECT state FROM dag_run WHERE dag_id = 'faqmine_crawl'").fetchall() == [("success",)]

    for s in pipeline.stages():  # every dataset of the run is there, fresh, balanced and as long as its stats say
        report = validate_stage(s.name, data)
        assert all(r["rows"] > 0 for d, r in report.items() if d not in s.may_be_empty)
    assert validate_stage("extract", data)["qa_raw"]["crawls"] == ["SIM-TEST-1"]  # the crawl param reached the job
    from faqmine.run.check import check_data_root

    checked, problems = check_data_root(data)
    assert problems == [] and "qa_raw" in checked and "hard_negatives" in checked
    assert (data / "README.md").read_text(encoding="utf-8").startswith("---\n")
    assert (data / "card" / "drop_reasons.png").exists()

    published = [d for s in pipeline.stages() for d in s.publishes]
    events = db.execute("SELECT a.name, e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id").fetchall()
    assert sorted(name for name, _ in events) == sorted(pipeline.asset_name(d) for d in published)
    may_be_empty = {pipeline.asset_name(d) for s in pipeline.stages() for d in s.may_be_empty}
    for name, extra in events:
        extra = json.loads(extra)
        assert extra["crawl"] == "SIM-TEST-1" and extra["data_root"] == str(data)
        assert extra["rows"] > 0 or (name in may_be_empty and extra["rows"] == 0), (name, extra)


@pytest.mark.slow
def test_airflow_dags_test_trains_and_evaluates_a_data_root(tmp_path):
    """faqmine_training on a small XQuAD data root (the 3 MB crawl above has no test split): a two-step
    hardneg run with configs/experiment/hardneg.yaml, then the evaluation of it against the baselines."""
    from helpers.xquad_data_root import build_fixture

    data = tmp_path / "data"
    build_fixture(data, languages=("en", "de", "zh", "ar"), max_articles=5, questions_per_article=6, negatives=3)
    env = airflow_env(tmp_path / "airflow")
    airflow = str(VENV_BIN / "airflow")
    done = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    conf = {"data_root": str(data), "strategy": "hardneg", "max_steps": 2}
    done = subprocess.run([airflow, "dags", "test", "faqmine_training", "-c", json.dumps(conf)], env=env,
                          capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
    trained = json.loads((data / "models" / "hardneg" / "faqmine_train.json").read_text(encoding="utf-8"))
    # configs/experiment/hardneg.yaml reached train.py (its languages), the form's max_steps overrode its own
    assert trained["config"]["languages"] == ["en", "de", "es", "ru", "zh"] and trained["global_step"] == 2
    assert sorted(trained["train_languages"]) == ["de", "en", "zh"]  # of the config's, those in the data
    metrics = pq.read_table(next((data / "eval" / "metrics").glob("*.parquet"))).to_pylist()
    assert {"bm25", "base", "hardneg"} <= {m["strategy"] for m in metrics}
    groups = {m["language_group"] for m in metrics if m["strategy"] == "hardneg"}
    assert "zero-shot" in groups  # ar was not trained on
    assert (data / "README.md").exists()  # publish_report wrote the card
