"""`faqmine progress`: one line per finished task of an `airflow dags test` run, as it happens.

`make demo` pipes the output of `airflow dags test faqmine_crawl` through this command (and into
`<data root>/_airflow.log`), so that the user sees extract -> ... -> publish_card advance instead of
five silent minutes. For each task it prints its state, its seconds (from the log's own timestamps)
and, for a Spark stage, the record balance of the dataset it wrote (`_stats.json`: in, out, and
rows_out where the job changes the unit). When a task fails, it prints the task's name and the
last lines of that task's part of the log.

The parser reads the lines that Airflow 3's `dag.test()` writes through structlog:

    2026-12-03T11:41:20.242785Z [info     ] [DAG TEST] starting task_id=extract map_index=-1 [...]
    ... [DAG TEST] running task <TaskInstance: faqmine_crawl.extract manual__... [...] ti_id=...> [...]
    ... [info     ] Task instance state updated    [...] new_state=success rows_affected=1 ti_id=...
    ... [info     ] [DAG TEST] end task task_id=extract map_index=-1 [...]

`tests/test_progress.py` checks it on a log captured from a real run
(`tests/fixtures/airflow3_dags_test.log`).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TextIO

_TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)Z?\s")
_START = re.compile(r"\[DAG TEST\] starting task_id=(?P<task>[\w.-]+)")
_RUNNING = re.compile(
    r"\[DAG TEST\] running task <TaskInstance: [\w-]+\.(?P<task>[\w.-]+) .*?ti_id=(?P<ti>[0-9a-f-]+)")
_STATE = re.compile(r"Task instance state updated\b.*?\bnew_state=(?P<state>\w+).*?\bti_id=(?P<ti>[0-9a-f-]+)")
_ERROR = re.compile(r"\[DAG TEST\] Error running task|Task failed; ti=")
_END = re.compile(r"\[DAG TEST\] end task task_id=(?P<task>[\w.-]+)")

TAIL_LINES = 25  # lines of a failed task's log shown


@dataclass
class TaskResult:
    """One finished task: what the progress line says."""

    task: str
    state: str  # success, failed, up_for_retry, skipped, ... (Airflow's TaskInstanceState values)
    seconds: float | None
    log_tail: list[str] = field(default_factory=list)  # the task's last log lines, kept for a failure


def _timestamp(line: str) -> datetime | None:
    match = _TIMESTAMP.match(line)
    if not match:
        return None
    try:
        return datetime.fromisoformat(match.group(1))
    except ValueError:
        return None


class DagTestLog:
    """Reads `airflow dags test` output line by line and yields a TaskResult whenever a task ends."""

    def __init__(self, tail_lines: int = TAIL_LINES) -> None:
        self._task_of_ti: dict[str, str] = {}
        self._state: dict[str, str] = {}
        self._started: dict[str, datetime | None] = {}
        self._errored: set[str] = set()
        self._current: str | None = None
        self._tail: deque[str] = deque(maxlen=tail_lines)
        self.finished: list[TaskResult] = []

    def feed(self, line: str) -> TaskResult | None:
        line = line.rstrip("\n")
        if self._current is not None:
            self._tail.append(line)
        if "[DAG TEST]" not in line and "Task instance state updated" not in line and "Task failed" not in line:
            return None
        if match := _START.search(line):
            task = match.group("task")
            self._current = task
            self._started[task] = _timestamp(line)
            self._state.pop(task, None)
            self._errored.discard(task)
            self._tail.clear()
            return None
        if match := _RUNNING.search(line):
            self._task_of_ti[match.group("ti")] = match.group("task")
            return None
        if match := _STATE.search(line):
            task = self._task_of_ti.get(match.group("ti"))
            if task is not None:
                self._state[task] = match.group("state")
            return None
        if _ERROR.search(line) and self._current is not None:
            self._errored.add(self._current)
            return None
        if match := _END.search(line):
            task = match.group("task")
            started, ended = self._started.get(task), _timestamp(line)
            seconds = (ended - started).total_seconds() if started and ended else None
            state = self._state.get(task) or ("failed" if task in self._errored else "unknown")
            result = TaskResult(task, state, seconds, list(self._tail) if state != "success" else [])
            self.finished.append(result)
            self._current = None
            self._tail.clear()
            return result
        return None

    def results(self, lines: Iterable[str]) -> Iterator[TaskResult]:
        for line in lines:
            result = self.feed(line)
            if result is not None:
                yield result


def stage_outputs() -> dict[str, str]:
    """Airflow task id -> the dataset folder (under the data root) whose `_stats.json` the line shows."""
    from faqmine.run.pipeline import STAGES  # no Spark, no Airflow: cheap to import

    return {stage.name: stage.outputs[0].split("/")[0] for stage in STAGES if stage.outputs}


def _count(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else "?"


def balance(data_root: Path | None, task: str, outputs: dict[str, str]) -> str:
    """`qa_raw: in 558 -> out 112, 834 rows` for a Spark stage whose `_stats.json` is readable, else ''."""
    if data_root is None or task not in outputs:
        return ""
    dataset = outputs[task]
    try:
        stats = json.loads((data_root / dataset / "_stats.json").read_text())
    except (OSError, ValueError):
        return f"{dataset}: no _stats.json"
    text = f"{dataset}: in {_count(stats.get('in'))} -> out {_count(stats.get('out'))}"
    if "rows_out" in stats:
        text += f", {_count(stats['rows_out'])} rows"
    return text


def format_result(result: TaskResult, extra: str = "") -> str:
    seconds = f"{result.seconds:6.1f} s" if result.seconds is not None else "     ? s"
    line = f"  {result.task:<26} {result.state:<12} {seconds}"
    return f"{line}   {extra}" if extra else line


def follow(lines: Iterable[str], out: TextIO, data_root: Path | None = None,
           outputs: dict[str, str] | None = None, tail_lines: int = TAIL_LINES,
           echo: Callable[[str], None] | None = None) -> list[TaskResult]:
    """Print a line per finished task of `lines` (read as they come) to `out`; return every result.

    `echo`, when given, receives every input line (e.g. to write the whole log to a file).
    """
    outputs = stage_outputs() if outputs is None else outputs
    log = DagTestLog(tail_lines)
    for line in lines:
        if echo is not None:
            echo(line)
        result = log.feed(line)
        if result is None:
            continue
        out.write(format_result(result, balance(data_root, result.task, outputs) if result.state == "success"
                                else "") + "\n")
        if result.state not in ("success", "skipped"):
            out.write(f"  -- {result.task} {result.state}; the last lines of its log:\n")
            out.writelines(f"     {tail_line}\n" for tail_line in result.log_tail)
        out.flush()
    return log.finished


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "progress",
        help="print a line per finished task of `airflow dags test` output read on stdin",
        description="Reads `airflow dags test` output on stdin (or LOG) as it is written and prints, for each "
        "finished task, its state, seconds and (Spark stages) the rows in/out of its dataset's _stats.json; "
        "on a failure, the task's last log lines. Exits 1 when a task failed or no task line was found.",
    )
    parser.add_argument("log", nargs="?", type=Path, help="a finished log file to read instead of stdin")
    parser.add_argument("--data-root", type=Path, help="where the run's datasets are (for their _stats.json)")
    parser.add_argument("--tee", type=Path, help="also write every input line to this file (the whole log)")
    parser.add_argument("--tail", type=int, default=TAIL_LINES, help="log lines shown for a failed task")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    source = args.log.open(encoding="utf-8", errors="replace") if args.log else sys.stdin
    tee = args.tee.open("w", encoding="utf-8") if args.tee else None
    echo = None
    if tee is not None:
        def echo(line: str) -> None:
            tee.write(line)
            tee.flush()
    try:
        results = follow(source, sys.stdout, args.data_root, tail_lines=args.tail, echo=echo)
    finally:
        if tee is not None:
            tee.close()
        if args.log:
            source.close()
    if not results:
        print("  (no task line found in the Airflow output: has its log format changed?)", file=sys.stderr)
        return 1
    last_state = {r.task: r.state for r in results}  # a task retried after up_for_retry counts by its last try
    failed = [task for task, state in last_state.items() if state not in ("success", "skipped")]
    print(f"  {len(results)} tasks finished" + (f"; not successful: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0
