"""`faqmine progress`: the demo's line per finished task, on a log captured from a real Airflow 3 run.

`tests/fixtures/airflow3_dags_test.log` is the whole output of `airflow dags test faqmine_crawl` from a
`make demo` run (Airflow 3.3.2, 14 tasks, every one successful), unedited.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from faqmine.commands.progress import DagTestLog, follow, stage_outputs

FIXTURE = Path(__file__).parent / "fixtures" / "airflow3_dags_test.log"
TASKS_IN_ORDER = [
    "plan", "extract", "validate_extract", "clean_langid", "validate_clean_langid", "dedup", "validate_dedup",
    "align_bitext", "build_benchmarks", "validate_build_benchmarks", "validate_align_bitext", "mine_negatives",
    "validate_mine_negatives", "publish_card",
]


def lines() -> list[str]:
    return FIXTURE.read_text(encoding="utf-8").splitlines(keepends=True)


def test_every_task_of_the_real_log_is_reported_once_in_order_with_its_seconds():
    results = list(DagTestLog().results(lines()))
    assert [r.task for r in results] == TASKS_IN_ORDER
    assert all(r.state == "success" for r in results)
    seconds = {r.task: r.seconds for r in results}
    # from the log's timestamps: extract started 11:41:20.242785 and ended 11:41:35.277258
    assert abs(seconds["extract"] - 15.034) < 0.001
    assert all(s is not None and 0 <= s < 120 for s in seconds.values())


def test_lines_are_printed_as_the_log_grows_not_at_the_end():
    """Each task's line is written as soon as its `end task` line is read."""
    out = io.StringIO()
    fed: list[str] = []
    printed_after: dict[str, int] = {}

    def lines_watching_output():
        for i, line in enumerate(lines()):
            fed.append(line)
            yield line
            for printed in out.getvalue().splitlines():
                printed_after.setdefault(printed.split()[0], i)

    follow(lines_watching_output(), out, outputs={})
    end_line = {task: next(i for i, line in enumerate(lines()) if f"end task task_id={task} " in line)
                for task in TASKS_IN_ORDER}
    assert printed_after == end_line


def test_spark_stages_show_their_datasets_balance(tmp_path):
    for dataset, stats in {"qa_raw": {"in": 558, "out": 112, "rows_out": 834}, "qa": {"in": 834, "out": 826},
                           "benchmarks": {"in": 786, "out": 648}}.items():
        (tmp_path / dataset).mkdir()
        (tmp_path / dataset / "_stats.json").write_text(json.dumps({"job": dataset, "dropped": {}, **stats}))
    out = io.StringIO()
    follow(lines(), out, data_root=tmp_path)
    printed = {line.split()[0]: line for line in out.getvalue().splitlines()}
    assert len(printed) == len(TASKS_IN_ORDER) >= 8
    assert printed["extract"].endswith("qa_raw: in 558 -> out 112, 834 rows")
    assert printed["clean_langid"].endswith("qa: in 834 -> out 826")
    assert printed["build_benchmarks"].endswith("benchmarks: in 786 -> out 648")
    assert printed["dedup"].endswith("qa_dedup: no _stats.json")  # not written in this test
    assert "validate_extract" in printed and "->" not in printed["validate_extract"]


def test_stage_outputs_name_the_dataset_folders():
    outputs = stage_outputs()
    assert outputs["extract"] == "qa_raw" and outputs["dedup"] == "qa_dedup"
    assert outputs["build_benchmarks"] == "benchmarks" and outputs["mine_negatives"] == "hard_negatives"


def test_a_failed_task_is_named_with_the_tail_of_its_log():
    """The real log with extract's final state changed to failed and an error line added to its part."""
    real = lines()
    extract_ti = next(line for line in real if "running task <TaskInstance: faqmine_crawl.extract " in line)
    ti_id = extract_ti.rsplit("ti_id=", 1)[1].split(">")[0]
    changed = []
    for line in real:
        if f"ti_id={ti_id}" in line and "new_state=success" in line:
            line = line.replace("new_state=success", "new_state=failed")
        if "[DAG TEST] end task task_id=extract " in line:
            changed.append("pyspark.errors.exceptions.base.PySparkRuntimeError: the injected failure\n")
        changed.append(line)
    out = io.StringIO()
    results = follow(changed, out, outputs={})
    assert [r.state for r in results if r.task == "extract"] == ["failed"]
    text = out.getvalue()
    assert "extract                    failed" in text
    assert "-- extract failed; the last lines of its log:" in text
    assert "the injected failure" in text.split("-- extract failed", 1)[1].split("validate_extract")[0]


def test_the_command_reads_stdin_writes_the_log_and_exits_0(tmp_path):
    tee = tmp_path / "_airflow.log"
    done = subprocess.run([sys.executable, "-m", "faqmine.cli", "progress", "--tee", str(tee)],
                          input=FIXTURE.read_text(encoding="utf-8"), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    task_lines = [line for line in done.stdout.splitlines() if line.split() and line.split()[0] in TASKS_IN_ORDER]
    assert len(task_lines) == 14
    assert done.stdout.rstrip().endswith("14 tasks finished")
    assert tee.read_text(encoding="utf-8") == FIXTURE.read_text(encoding="utf-8")


def test_output_without_any_task_line_is_an_error():
    done = subprocess.run([sys.executable, "-m", "faqmine.cli", "progress"], input="no airflow here\n",
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "no task line found" in done.stderr
