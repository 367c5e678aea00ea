"""Fault injection for the fault-tolerance tests: kill the current Python worker once, on purpose.

Set `FAQMINE_FAULT=kill-worker-once:<marker file>`: the first task that reaches an
injection point creates the marker and SIGKILLs its own Python worker, as a crashed
or OOM-killed executor would; Spark retries the task and later attempts run
normally. Without the variable the injection points do nothing.
"""

from __future__ import annotations

import os
import signal

ENV = "FAQMINE_FAULT"


def maybe_kill_worker() -> None:
    fault = os.environ.get(ENV, "")
    kind, _, marker = fault.partition(":")
    if kind != "kill-worker-once" or not marker:
        return
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)  # exactly one task wins
    except FileExistsError:
        return
    os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)
