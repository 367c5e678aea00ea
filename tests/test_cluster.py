"""The pipeline on a real Spark standalone cluster, compared row for row with local[2].

A module fixture starts a master and two 1-core workers on 127.0.0.1 with
`scripts/spark_cluster.sh` (the pyspark distribution's own daemons) and stops them
after. The package reaches the executors the way a cluster needs it: `--py-files
faqmine.zip` and `--archives faqmine-schemas.zip#faqmine-schemas`, and the executors
run a Python environment in which faqmine is NOT installed (it has the dependencies
only), so a job that passes there could only have used what was shipped.

The chain is every stage whose job exists, in pipeline order (extract -> clean_langid
-> dedup today; later stages join by adding a `Stage`). Each dataset written on the
cluster must equal the local[2] one: the same rows and the same `_stats.json`. The fault
tests of tests/test_faults.py run on the same cluster too (a Python worker killed inside an
executor, the driver killed mid-write).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

pytestmark = [pytest.mark.spark, pytest.mark.slow]

VENV_PYTHON = sys.executable
# The daemons and the executor Python must not see a PYTHONPATH that reaches src/ (as when the tests run with
# PYTHONPATH=src instead of the editable install): the executors would import faqmine from there, not the zip.
WITHOUT_PYTHONPATH = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
SHUFFLE_PARTITIONS = "4"


@dataclass(frozen=True)
class Stage:
    """One job of the chain: jobs/<job>.py, the datasets it writes, and its arguments for a data root."""

    job: str
    outputs: tuple[str, ...]
    args: Callable[[Path, Path, list[str]], list[str]]  # (repo, data root, chain inputs) -> job arguments
    needs: Callable[[Path], bool] = lambda repo: True  # e.g. a model file the stage loads


STAGES = (
    Stage("extract", ("qa_raw",),
          lambda repo, root, inputs: ["--input", *inputs, "--output", str(root / "qa_raw")]),
    Stage("clean_langid", ("qa",),
          lambda repo, root, inputs: ["--input", str(root / "qa_raw"), "--output", str(root / "qa"),
                                      "--lid-model", str(repo / "models" / "lid.176.ftz")],
          needs=lambda repo: (repo / "models" / "lid.176.ftz").is_file()),
    Stage("dedup", ("qa_dedup", "duplicates"),
          lambda repo, root, inputs: ["--input", str(root / "qa"), "--output", str(root / "qa_dedup"),
                                      "--duplicates-output", str(root / "duplicates")]),
)


def chain(repo: Path) -> list[Stage]:
    """The stages that exist, in order, up to the first one that is missing (each reads its predecessor)."""
    stages = []
    for stage in STAGES:
        schemas_there = all((repo / "schemas" / f"{name}.json").is_file() for name in stage.outputs)
        if not ((repo / "jobs" / f"{stage.job}.py").is_file() and schemas_there and stage.needs(repo)):
            break
        stages.append(stage)
    return stages


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def master_state(webui_port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{webui_port}/json/", timeout=5) as resp:
        return json.load(resp)


@pytest.fixture(scope="module")
def cluster(repo, tmp_path_factory):
    """A standalone master and two workers (SPARK_WORKER_CORES=1 each) on 127.0.0.1, stopped afterwards."""
    state = tmp_path_factory.mktemp("spark-cluster")
    port = 7077 if _port_free(7077) else free_port()
    webui = free_port()
    env = {**WITHOUT_PYTHONPATH, "FAQMINE_PYTHON": VENV_PYTHON, "FAQMINE_CLUSTER_DIR": str(state),
           "SPARK_MASTER_HOST": "127.0.0.1", "SPARK_MASTER_PORT": str(port), "SPARK_MASTER_WEBUI_PORT": str(webui),
           "FAQMINE_WORKER_WEBUI_PORT": "0", "FAQMINE_WORKERS": "2", "SPARK_WORKER_CORES": "1",
           "SPARK_WORKER_MEMORY": "2g", "FAQMINE_CLUSTER_OWNER_PID": str(os.getpid())}  # watchdog if we die
    script = str(repo / "scripts" / "spark_cluster.sh")
    started = subprocess.run(["bash", script, "start"], env=env, capture_output=True, text=True, timeout=300)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        state_json = master_state(webui)
        assert len([w for w in state_json["workers"] if w["state"] == "ALIVE"]) == 2
        assert all(w["cores"] == 1 for w in state_json["workers"])
        yield {"url": f"spark://127.0.0.1:{port}", "webui": webui, "state": state}
    finally:
        stopped = subprocess.run(["bash", script, "stop"], env=env, capture_output=True, text=True, timeout=120)
        assert stopped.returncode == 0, stopped.stderr
        for pid_file in state.glob("*.pid"):
            pytest.fail(f"{pid_file} left behind")


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.fixture(scope="module")
def shipped(repo, tmp_path_factory) -> dict[str, Path]:
    """What a cluster gets: the package zip, the schemas archive, and an executor Python without faqmine."""
    dist = tmp_path_factory.mktemp("dist")
    _package(repo, dist)
    # The executors' interpreter sees the dependencies of .venv, but not the editable faqmine install:
    # a .pth line adds site-packages to sys.path without running that folder's own .pth files.
    executor_env = dist / "executor-venv"
    subprocess.run([VENV_PYTHON, "-m", "venv", "--without-pip", str(executor_env)], check=True, timeout=120)
    site = next((executor_env / "lib").glob("python3*/site-packages"))
    deps = next(p for p in map(Path, sys.path) if p.name == "site-packages" and (p / "pyspark").is_dir())
    (site / "faqmine-deps.pth").write_text(f"{deps}\n")
    python = executor_env / "bin" / "python"
    probe = subprocess.run([str(python), "-c", "import pyarrow, pyspark, fastwarc; import faqmine"],
                           capture_output=True, text=True, cwd=dist, env=WITHOUT_PYTHONPATH)
    assert "No module named 'faqmine'" in probe.stderr, "the executor Python must not have faqmine installed"
    return {"zip": dist / "faqmine.zip", "schemas": dist / "faqmine-schemas.zip", "python": python}


def _package(repo: Path, dist: Path) -> None:
    packed = subprocess.run(["bash", str(repo / "scripts" / "spark_cluster.sh"), "package"],
                            env={**os.environ, "FAQMINE_PYTHON": VENV_PYTHON, "FAQMINE_DIST": str(dist)},
                            capture_output=True, text=True, timeout=120)
    assert packed.returncode == 0, packed.stderr


def submit_command(repo: Path, stage: Stage, root: Path, inputs: list[str], master: str, shipped: dict | None,
                   conf: tuple[str, ...] = ()) -> tuple[list[str], dict[str, str]]:
    """The spark-submit command line and environment of one stage."""
    env = {**os.environ, "PYSPARK_DRIVER_PYTHON": VENV_PYTHON, "PYSPARK_PYTHON": VENV_PYTHON,
           "SPARK_LOCAL_IP": "127.0.0.1", "FAQMINE_QUIET_SPARK": "1"}
    args = [str(Path(VENV_PYTHON).parent / "spark-submit"), "--master", master,
            "--conf", f"spark.sql.shuffle.partitions={SHUFFLE_PARTITIONS}"]
    if shipped:
        _package(repo, shipped["zip"].parent)  # from the tree as it is now, as a user would before submitting
        env["PYSPARK_PYTHON"] = str(shipped["python"])
        # the driver imports faqmine from the zip too, so it reads the repository's schemas; executors the archive
        env["FAQMINE_SCHEMAS"] = str(repo / "schemas")
        args += ["--py-files", str(shipped["zip"]), "--archives", f"{shipped['schemas']}#faqmine-schemas",
                 "--conf", "spark.executorEnv.FAQMINE_SCHEMAS=faqmine-schemas",
                 "--conf", "spark.executor.memory=1g"]
    for setting in conf:
        args += ["--conf", setting]
    args += [str(repo / "jobs" / f"{stage.job}.py"), *stage.args(repo, root, inputs)]
    return args, env


def submit(repo: Path, stage: Stage, root: Path, inputs: list[str], master: str, shipped: dict | None,
           conf: tuple[str, ...] = ()) -> float:
    """Run one stage with spark-submit; returns its wall time in seconds."""
    args, env = submit_command(repo, stage, root, inputs, master, shipped, conf)
    started = time.monotonic()
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{stage.job} on {master}:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return time.monotonic() - started


def rows(folder: Path) -> list[tuple]:
    return duckdb.sql(f"SELECT * FROM read_parquet('{folder}/**/*.parquet', hive_partitioning=true) "
                      "ORDER BY ALL").fetchall()


def comparable_stats(folder: Path) -> dict:
    stats = json.loads((folder / "_stats.json").read_text())
    return {k: v for k, v in stats.items() if not k.endswith(("_seconds", "_s"))}


def test_chain_on_standalone_cluster_equals_local(repo, real_warcs, realfaq, cluster, shipped, tmp_path):
    inputs = [str(real_warcs), str(realfaq / "faq_real.warc.gz")]
    stages = chain(repo)
    assert stages and stages[0].job == "extract"
    local, remote = tmp_path / "local", tmp_path / "cluster"
    seconds = {}
    for stage in stages:
        seconds[f"{stage.job} local[2]"] = submit(repo, stage, local, inputs, "local[2]", None)
        seconds[f"{stage.job} cluster"] = submit(repo, stage, remote, inputs, cluster["url"], shipped)
        print(f"{stage.job}: local[2] {seconds[f'{stage.job} local[2]']:.0f}s, "
              f"cluster {seconds[f'{stage.job} cluster']:.0f}s", flush=True)
    print("wall seconds per spark-submit:", {k: round(v, 1) for k, v in seconds.items()})

    finished = [app["name"] for app in master_state(cluster["webui"])["completedapps"]]
    assert sorted(finished) == sorted(f"faqmine-{stage.job}" for stage in stages), finished
    for stage in stages:
        for dataset in stage.outputs:
            expected, actual = rows(local / dataset), rows(remote / dataset)
            assert expected, f"{dataset}: the local run wrote no rows"
            assert actual == expected, f"{dataset}: cluster rows differ from local[2]"
            assert comparable_stats(remote / dataset) == comparable_stats(local / dataset), dataset
    print(f"cluster == local[2] for {[d for s in stages for d in s.outputs]}")


def test_faults_on_the_cluster_leave_the_clean_output(repo, real_warcs, realfaq, cluster, shipped, tmp_path):
    """tests/test_faults.py on the cluster: a Python worker SIGKILLed inside an executor (its task is
    retried on the cluster), and the driver killed while it writes (readers never see half a dataset;
    the rerun, as Airflow's retry would, gives the clean output)."""
    import signal

    inputs = [str(real_warcs), str(realfaq / "faq_real.warc.gz")]
    extract = STAGES[0]
    clean, faulty, killed = tmp_path / "clean", tmp_path / "faulty", tmp_path / "killed"
    submit(repo, extract, clean, inputs, cluster["url"], shipped)

    marker = tmp_path / "worker-killed-once"
    submit(repo, extract, faulty, inputs, cluster["url"], shipped,
           conf=(f"spark.executorEnv.FAQMINE_FAULT=kill-worker-once:{marker}",))
    assert marker.exists(), "the fault was not injected in an executor"
    assert rows(faulty / "qa_raw") == rows(clean / "qa_raw")
    assert comparable_stats(faulty / "qa_raw") == comparable_stats(clean / "qa_raw")

    args, env = submit_command(repo, extract, killed, inputs, cluster["url"], shipped)
    job = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    deadline = time.time() + 600
    while time.time() < deadline and job.poll() is None and not list(killed.glob(".qa_raw.tmp-*")):
        time.sleep(0.05)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    out = killed / "qa_raw"
    assert not out.exists() or rows(out) == rows(clean / "qa_raw")  # nothing, or a complete dataset
    submit(repo, extract, killed, inputs, cluster["url"], shipped)
    assert rows(out) == rows(clean / "qa_raw")
    assert comparable_stats(out) == comparable_stats(clean / "qa_raw")
