"""A wall-clock limit for one unit of work (one WARC record), so a pathological page cannot stall a task.

Uses SIGALRM, which only the main thread of a process can receive: Spark's Python
workers run tasks in their main thread. Elsewhere (other threads, platforms without
SIGALRM) the limit is not enforced and the work runs to its end.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


class WorkTimeout(Exception):
    """The work ran past its time limit."""


def _raise_timeout(signum, frame):  # noqa: ARG001 - signal handler signature
    raise WorkTimeout


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    usable = seconds > 0 and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return
    previous = signal.signal(signal.SIGALRM, _raise_timeout)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
