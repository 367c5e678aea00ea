"""The machine a measurement ran on, in one line: the CPU's model name, its core count and the vector units that
change encoder speed most (AVX-512, AMX). Sessions of this project have run on CPUs several times apart in speed,
so timings are recorded with this line (the experiment's evaluation record and report, bench/encode.py)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

# /proc/cpuinfo flag -> how the line names it, in this order
VECTOR_UNITS = (("avx512f", "AVX-512"), ("amx_bf16", "AMX"), ("avx2", "AVX2"))


def cpu_description(cpuinfo: str | Path = "/proc/cpuinfo") -> str:
    """e.g. "Intel(R) Xeon(R) Processor, 2 cores, AVX-512, AMX"; outside Linux the platform's processor name."""
    name, flags = "", set()
    try:
        for line in Path(cpuinfo).read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and not name:
                name = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    name = name or platform.processor() or platform.machine() or "unknown CPU"
    units = [label for flag, label in VECTOR_UNITS if flag in flags]
    if "AVX-512" in units and "AVX2" in units:
        units.remove("AVX2")  # AVX-512 machines have AVX2 as well; name the larger unit only
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return ", ".join([name, f"{cores} cores", *units])
