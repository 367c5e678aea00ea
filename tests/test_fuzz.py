"""The fuzz corpus and every past crash replay cleanly; CI also runs a short coverage-guided round."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parents[1] / "fuzz"
sys.path.insert(0, str(FUZZ))

from fuzz_extract import check_input  # noqa: E402

CASES = sorted((FUZZ / "regressions").iterdir()) + sorted((FUZZ / "corpus").iterdir())


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_replay(case):
    check_input(case.read_bytes())


@pytest.mark.slow  # a coverage-guided round of FUZZ_SECONDS (20 s)
def test_short_fuzz_round(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(FUZZ / "corpus", corpus)
    seconds = os.environ.get("FUZZ_SECONDS", "20")
    # libFuzzer reads its RSS as getrusage's peak, which Linux carries from this (pytest) process into the child
    # through fork and exec: after tests that loaded models the child starts at pytest's peak. The 4 GiB of
    # headroom is counted above that.
    inherited_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    done = subprocess.run(
        [sys.executable, str(FUZZ / "fuzz_extract.py"), str(corpus), f"-max_total_time={seconds}",
         f"-rss_limit_mb={inherited_mb + 4096}", f"-artifact_prefix={tmp_path}/"],
        capture_output=True, text=True, timeout=int(seconds) + 120,
    )
    crashes = sorted(tmp_path.glob("crash-*")) + sorted(tmp_path.glob("timeout-*"))
    assert done.returncode == 0 and not crashes, (
        f"fuzzing found {crashes}: copy them into fuzz/regressions/ and fix\n{done.stderr[-3000:]}")
