"""Against a real `airflow standalone`: the browser path a user takes, and a Spark job killed mid-run then cleared.

One `airflow standalone` (SQLite, LocalExecutor) is started for the module with its own AIRFLOW_HOME and
port, this repository's dags/, and a small simulated crawl as the trigger form's default input.

- test_trigger_from_the_ui_and_screenshot_the_grid: headless Chromium from Debian's packages
  (scripts/install_browser.sh; Playwright drives /usr/bin/chromium, no browser download) logs in
  with the generated password, opens faqmine_crawl, triggers it with a changed param (the crawl id)
  from the trigger form, waits for the run to succeed and saves a screenshot of the grid view. It goes
  to the test's tmp_path, or to the file named by FAQMINE_UI_SCREENSHOT, so the tracked
  docs/airflow_grid.png changes only on purpose: to refresh it, run
  `FAQMINE_UI_SCREENSHOT=docs/airflow_grid.png python -m pytest tests/test_airflow_ui.py -k screenshot`
  and commit the file.
- test_killed_spark_job_then_cleared_task_gives_identical_outputs: in the finished run, the last Spark
  stage (mine_negatives) is cleared to run again and its application is SIGKILLed mid-run: the run
  fails and the dataset it was rewriting is still the previous complete one; clearing the task in
  Airflow (REST API, as the UI's Clear button does) again completes the run, and every dataset
  equals a copy taken before the kill.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
from test_dags import REPO, VENV_BIN, airflow_env, simulate_crawl

from faqmine.core.stats import read_stats
from faqmine.run import pipeline
from faqmine.run.validate import validate_stage

pytestmark = [pytest.mark.slow, pytest.mark.spark]

DAG_ID = "faqmine_crawl"
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT_ENV = "FAQMINE_UI_SCREENSHOT"  # where the grid screenshot goes (default: the test's tmp_path)
UI_CRAWL = "SIM-UI-1"
RUN_TIMEOUT = 2400  # seconds for one whole pipeline run: an upper bound for 2 cores shared with other work


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Standalone:
    base: str
    home: Path
    work: Path
    listing: Path
    process: subprocess.Popen
    user: str = ""
    password: str = ""
    token: str = ""
    reference: Path | None = None  # data root of a run that finished without interruption
    reference_run: str = ""  # its run id
    log: Path = field(default=Path())

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        """One REST API call; reads are retried while a busy machine keeps the API server slow."""
        attempts = 5 if method == "GET" else 1
        for attempt in range(attempts):
            request = urllib.request.Request(
                f"{self.base}/api/v2{path}", method=method,
                data=json.dumps(body).encode() if body is not None else None,
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"})
            try:
                with urllib.request.urlopen(request, timeout=180) as response:
                    return json.loads(response.read() or b"{}")
            except urllib.error.HTTPError:
                raise
            except (urllib.error.URLError, TimeoutError, ConnectionError):
                if attempt == attempts - 1:
                    raise
                time.sleep(5)
        raise AssertionError("unreachable")

    def trigger(self, conf: dict) -> str:
        return self.api("POST", f"/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": conf})["dag_run_id"]

    def run_state(self, run_id: str) -> str:
        return self.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}")["state"]

    def task_state(self, run_id: str, task_id: str) -> str | None:
        return self.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}")["state"]

    def wait_run(self, run_id: str, states: set[str], timeout: float = RUN_TIMEOUT) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.run_state(run_id)
            if state in states:
                return state
            self.alive()
            time.sleep(3)
        raise AssertionError(f"run {run_id} not in {states} after {timeout}s: {self.summary(run_id)}")

    def summary(self, run_id: str) -> str:
        """The tasks that did not succeed, each with the tail of its log: what a failed assertion must show."""
        tis = self.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances")["task_instances"]
        lines = [f"{ti['task_id']}: {ti['state']}" for ti in tis if ti["state"] != "success"]
        for ti in tis:
            if ti["state"] == "failed":
                task_logs = self.home / "logs" / f"dag_id={DAG_ID}" / f"run_id={run_id}" / f"task_id={ti['task_id']}"
                logs = sorted(task_logs.glob("**/*.log"))
                tail = logs[-1].read_text(errors="replace")[-3000:] if logs else "(no log file found)"
                lines.append(f"--- log of {ti['task_id']} ---\n{tail}")
        return "\n".join(lines) or "every task succeeded"

    def alive(self) -> None:
        if self.process.poll() is not None:
            raise AssertionError(f"airflow standalone exited: {self.log.read_text(errors='replace')[-4000:]}")


def _get_token(base: str, user: str, password: str) -> str:
    request = urllib.request.Request(f"{base}/auth/token", method="POST",
                                     data=json.dumps({"username": user, "password": password}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["access_token"]


@pytest.fixture(scope="module")
def standalone(tmp_path_factory) -> Standalone:
    work = tmp_path_factory.mktemp("standalone")
    listing = simulate_crawl(work / "crawl")
    port = free_port()
    home = work / "airflow"
    env = airflow_env(home, AIRFLOW__API__PORT=str(port), FAQMINE_WARC_INPUT=str(listing),
                      FAQMINE_DATA_ROOT=str(work / "data_ui"), FAQMINE_SHUFFLE_PARTITIONS="4",
                      FAQMINE_DRIVER_MEMORY="1g", FAQMINE_TASK_RETRIES="0",
                      FAQMINE_MIN_QAS="10")  # the 3 MB crawl has ~47 QAs in all, at most 17 a language
    log = work / "standalone.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([str(VENV_BIN / "airflow"), "standalone"], env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True, cwd=work)
    server = Standalone(base=f"http://localhost:{port}", home=home, work=work, listing=listing, process=process,
                        log=log)
    try:
        passwords = home / "simple_auth_manager_passwords.json.generated"
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            server.alive()
            if passwords.exists() and passwords.stat().st_size:
                try:
                    server.user, server.password = next(iter(json.loads(passwords.read_text()).items()))
                    server.token = _get_token(server.base, server.user, server.password)
                    server.api("GET", f"/dags/{DAG_ID}")  # 404 until the DAG processor has parsed dags/
                    break
                except (urllib.error.URLError, ConnectionError, json.JSONDecodeError, StopIteration):
                    pass
            time.sleep(3)
        else:
            raise AssertionError(f"airflow standalone not ready in 900s: {log.read_text(errors='replace')[-4000:]}")
        yield server
    finally:
        stop_group(process)


def stop_group(process: subprocess.Popen, grace: float = 60) -> None:
    """Stop the process group started above (standalone, its components, their Spark jobs): TERM, then KILL."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        process.poll()
        time.sleep(1)
    else:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait()


def ensure_browser() -> None:
    if CHROMIUM.exists():
        return
    done = subprocess.run(["bash", str(REPO / "scripts" / "install_browser.sh")], capture_output=True, text=True)
    if done.returncode != 0 or not CHROMIUM.exists():
        message = f"no {CHROMIUM} and scripts/install_browser.sh failed: {done.stderr[-2000:]}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def test_trigger_from_the_ui_and_screenshot_the_grid(standalone, tmp_path):
    """The screenshot goes to $FAQMINE_UI_SCREENSHOT when set (e.g. docs/airflow_grid.png, to commit a new
    one deliberately), else to tmp_path/airflow_grid.png: the tracked picture is never overwritten by a run."""
    ensure_browser()
    screenshot = Path(os.environ.get(SCREENSHOT_ENV) or tmp_path / "airflow_grid.png").resolve()
    from playwright.sync_api import expect, sync_playwright

    server = standalone
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_default_timeout(90_000)
        page.goto(f"{server.base}/dags/{DAG_ID}")
        page.get_by_label("Username").fill(server.user)
        page.get_by_label("Password").fill(server.password)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("faqmine: crawl -> FAQ datasets").first).to_be_visible(timeout=120_000)

        page.get_by_role("button", name="Trigger").first.click()
        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_text("Crawl id").first).to_be_visible(timeout=120_000)
        dialog.locator("input[name=element_crawl]").fill(UI_CRAWL)  # the form's field of the `crawl` param
        dialog.get_by_test_id("trigger-dag-submit").click()
        page.wait_for_url("**/runs/**")  # the UI opens the new run
        run_id = urllib.parse.unquote(page.url.rstrip("/").split("/runs/")[1].split("/")[0])
        state = server.wait_run(run_id, {"success", "failed"})
        assert state == "success", server.summary(run_id)

        page.goto(f"{server.base}/dags/{DAG_ID}/runs/{run_id}")
        expect(page.get_by_text("publish_card").first).to_be_visible(timeout=120_000)
        page.wait_for_timeout(3000)
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=True)
        browser.close()

    run = server.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}")
    assert run["conf"]["crawl"] == UI_CRAWL  # the param changed in the form reached the run ...
    data = Path(run["conf"]["data_root"])
    assert validate_stage("extract", data)["qa_raw"]["crawls"] == [UI_CRAWL]  # ... and the Spark job
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    server.reference, server.reference_run = data, run_id


def spark_submit_pids(marker: str) -> list[int]:
    """Spark applications (the SparkSubmit JVMs, not the shell scripts that start them) whose arguments hold marker."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if Path(argv[0]).name == "java" and "org.apache.spark.deploy.SparkSubmit" in argv and \
                "org.apache.spark.launcher.Main" not in argv and any(marker in arg for arg in argv):
            pids.append(int(proc.name))
    return pids


def python_workers_of(pid: int) -> bool:
    """Whether the process has a PySpark worker among its descendants: the application is running tasks."""
    parents, commands = {}, {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                parents[int(proc.name)] = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
                commands[int(proc.name)] = (proc / "cmdline").read_bytes().decode(errors="replace")
            except (OSError, IndexError, ValueError):
                continue
    for child, command in commands.items():
        if "pyspark.daemon" in command or "pyspark.worker" in command:
            ancestor = parents.get(child)
            while ancestor and ancestor != pid:
                ancestor = parents.get(ancestor)
            if ancestor == pid:
                return True
    return False


def table_rows(folder: Path) -> list[tuple]:
    """Every row of a dataset, sorted; [] for an empty dataset (a crawl without duplicates has no file)."""
    if not any(folder.rglob("*.parquet")):
        assert (folder / "_stats.json").exists(), f"{folder} is neither written nor empty"
        return []
    glob = str(folder / "**" / "*.parquet").replace("'", "''")
    return duckdb.sql(f"SELECT * FROM read_parquet('{glob}', hive_partitioning=true) ORDER BY ALL").fetchall()


def stats_of(folder: Path, dataset: str, root: Path | None = None) -> dict:
    """The dataset's `_stats.json` under `folder` with its data root (`root`, default `folder`: a copy keeps the
    paths of the root it was copied from) written as <root> (stages record their input paths) and without the
    measurements of the run (seconds, texts per second, memory: `*_seconds`, `*_second`, `*_mb`), which no two runs
    share; every count and setting is compared."""
    text = json.dumps(read_stats(folder / dataset))
    stats = json.loads(text.replace(json.dumps(str(root or folder))[1:-1], "<root>"))
    return {k: v for k, v in stats.items() if not k.endswith(("_seconds", "_second", "_mb"))}


def test_killed_spark_job_then_cleared_task_gives_identical_outputs(standalone):
    """In the finished run (the browser test's, else one triggered here), the last Spark stage is cleared so that it
    runs again in place, and its Spark application is SIGKILLed mid-run: the task and the run fail, the dataset it
    was rewriting is still the previous complete one, and clearing the task again completes the run with every
    dataset equal to a copy taken before (two stage runs, not a second pipeline)."""
    server = standalone
    if server.reference is None:  # the browser test did not run: make the uninterrupted run here
        reference = server.work / "data_reference"
        server.reference_run = server.trigger({"crawl": UI_CRAWL, "warc_input": str(server.listing),
                                               "data_root": str(reference)})
        assert server.wait_run(server.reference_run, {"success", "failed"}) == "success", \
            server.summary(server.reference_run)
        server.reference = reference
    data, run_id = server.reference, server.reference_run
    before = server.work / "data_before_kill"
    shutil.copytree(data, before)
    victim = pipeline.stages()[-1]
    assert victim.name == "mine_negatives", victim.name  # the last Spark stage: only it and its checks rerun

    def clear() -> None:
        cleared = server.api("POST", f"/dags/{DAG_ID}/clearTaskInstances",
                             {"dry_run": False, "dag_run_id": run_id, "task_ids": [victim.name],
                              "only_failed": False, "include_downstream": True, "reset_dag_runs": True})
        assert victim.name in {ti["task_id"] for ti in cleared["task_instances"]}

    clear()
    deadline, pids = time.monotonic() + 600, []
    while time.monotonic() < deadline and not pids:
        pids = spark_submit_pids(str(data / victim.outputs[0]))
        server.alive()
        time.sleep(0.5)
    assert pids, f"no Spark application of {victim.name} seen: {server.summary(run_id)}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not any(python_workers_of(pid) for pid in pids):
        time.sleep(0.2)  # kill it while it runs Python tasks, mid-run
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:  # it finished first: the run then succeeds and the test says so below
            pass
    assert server.wait_run(run_id, {"success", "failed"}) == "failed", server.summary(run_id)
    assert server.task_state(run_id, victim.name) == "failed"
    for dataset in victim.outputs:  # nothing half-written where readers look: the previous dataset stands
        assert table_rows(data / dataset) == table_rows(before / dataset), dataset

    clear()
    assert server.wait_run(run_id, {"success", "failed"}) == "success", server.summary(run_id)
    for s in pipeline.stages():
        for dataset in s.outputs:
            assert stats_of(data, dataset) == stats_of(before, dataset, root=data), dataset
            assert table_rows(data / dataset) == table_rows(before / dataset), dataset
    leftovers = [p.name for p in data.iterdir() if p.name.startswith(".") and ".tmp-" in p.name]
    print(f"temporary folders left by the killed job (never read): {leftovers}")
