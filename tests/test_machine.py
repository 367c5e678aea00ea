"""The machine line recorded with timings: model name, cores and the vector units, read from /proc/cpuinfo."""

from __future__ import annotations

import os
from pathlib import Path

from faqmine.core.machine import cpu_description

XEON = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Processor
flags\t\t: fpu sse2 avx avx2 avx512f avx512_bf16 amx_bf16 amx_tile
processor\t: 1
model name\t: Intel(R) Xeon(R) Processor
flags\t\t: fpu sse2 avx avx2 avx512f avx512_bf16 amx_bf16 amx_tile
"""
EPYC = """processor\t: 0
model name\t: AMD EPYC 7B13
flags\t\t: fpu sse2 avx avx2 fma
"""


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def test_names_the_cpu_and_its_vector_units(tmp_path: Path) -> None:
    (tmp_path / "xeon").write_text(XEON)
    (tmp_path / "epyc").write_text(EPYC)
    assert cpu_description(tmp_path / "xeon") == f"Intel(R) Xeon(R) Processor, {_cores()} cores, AVX-512, AMX"
    assert cpu_description(tmp_path / "epyc") == f"AMD EPYC 7B13, {_cores()} cores, AVX2"


def test_without_cpuinfo_it_still_says_something(tmp_path: Path) -> None:
    line = cpu_description(tmp_path / "missing")
    assert line.endswith(f"{_cores()} cores") and not line.startswith(",")
