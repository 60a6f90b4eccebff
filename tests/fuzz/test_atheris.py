"""The short, seeded atheris pass CI runs: every harness in fuzz/ for a fixed number of
inputs from a fixed seed, in a subprocess; a crash (or any failure) fails the test with the
fuzzer's own report. The long pass runs on demand: `python fuzz/run.py --seconds 600 all`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fuzz.run import ROOT, TARGETS

RUNS = 1000
SEED = 20261126


@pytest.mark.parametrize("target", TARGETS)
def test_the_fuzzer_finds_no_crash_in_a_short_seeded_pass(target: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "fuzz" / "run.py"), "--runs", str(RUNS), "--seed", str(SEED),
         "--work", str(tmp_path), target],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    report = (result.stdout + result.stderr)[-4000:]
    assert result.returncode == 0, report
    assert f"Done {RUNS} runs" in report, report
    assert not list(tmp_path.glob("*/crash-*")), report


def test_a_crashing_target_fails_the_pass(tmp_path: Path) -> None:
    # The pass above is only worth something if a crash turns into a failing exit status and
    # a kept input: check with a target that fails on everything.
    script = tmp_path / "crash.py"
    script.write_text(
        "import sys, atheris\n"
        "def t(data):\n"
        "    raise RuntimeError('boom')\n"
        "atheris.Setup(sys.argv, t)\n"
        "atheris.Fuzz()\n"
    )
    result = subprocess.run([sys.executable, str(script), "-runs=10", f"-artifact_prefix={tmp_path}/"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode != 0, result.stderr[-2000:]
    assert list(tmp_path.glob("crash-*"))
