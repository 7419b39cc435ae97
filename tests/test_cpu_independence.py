"""The accuracy tests pass whatever SIMD kernels NumPy and PyTorch pick on this CPU.

NumPy chooses, when it is imported, the fastest kernel of each ufunc that the CPU supports
(its dispatch targets, e.g. X86_V3 = AVX2 + FMA3, X86_V4 and AVX512_ICL = AVX-512), and
``NPY_DISABLE_CPU_FEATURES`` switches targets off. PyTorch does the same through
``ATEN_CPU_CAPABILITY`` (default, avx2, avx512). Since CI runs on whatever machine the
submitter has, this test re-runs the accuracy tests in subprocesses at every level this machine
offers, from all targets down to the baseline, so that a bound tuned to one kernel fails here
rather than on someone else's machine.

To run the suite at one level yourself, see CONTRIBUTING.md ("Tests on another CPU").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from book import ROOT

ACCURACY_TESTS = ["tests/test_stability.py", "tests/test_float32.py"]

_PROBE = (
    "import json, numpy as np\n"
    "try:\n"
    "    from numpy._core import _multiarray_umath as m\n"
    "except ImportError:  # NumPy 1.x\n"
    "    from numpy.core import _multiarray_umath as m\n"
    "print(json.dumps({'dispatch': list(m.__cpu_dispatch__),\n"
    "                  'enabled': [k for k, v in m.__cpu_features__.items() if v]}))"
)


def _numpy_cpu(env: dict[str, str] | None = None) -> dict[str, list[str]]:
    """NumPy's dispatch targets and the CPU features it enables, as a fresh process sees them."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def dispatch_levels() -> list[tuple[str, list[str], str]]:
    """``(name, targets to disable, PyTorch capability)`` for each level this CPU offers.

    The first level is NumPy's default (every target the CPU has); each next one also switches
    off the highest target still on, down to the baseline with every target off. PyTorch gets
    the capability that matches: AVX-512 while an AVX-512 target is on, then AVX2, then none.
    """
    cpu = _numpy_cpu()
    found = [t for t in cpu["dispatch"] if t in cpu["enabled"]]  # ascending, as NumPy lists them
    levels = []
    for keep in range(len(found), -1, -1):
        on, off = found[:keep], found[keep:]
        name = on[-1] if on else "baseline"
        avx512 = any("AVX512" in t or t == "X86_V4" for t in on)
        avx2 = any(t in ("AVX2", "X86_V3") for t in on)
        levels.append((name, off, "avx512" if avx512 else "avx2" if avx2 else "default"))
    return levels


LEVELS = dispatch_levels()


def test_there_is_more_than_one_level_on_x86_64():
    # On x86-64, NumPy 1.26+ always has AVX2-class targets above its baseline; a single level
    # would mean the probe is broken and the test below checks nothing.
    import platform

    if platform.machine().lower() in {"x86_64", "amd64"}:
        assert len(LEVELS) >= 2, LEVELS


def _level_env(disabled: list[str], aten: str) -> dict[str, str]:
    return {
        **os.environ,
        "NPY_DISABLE_CPU_FEATURES": " ".join(disabled),
        "ATEN_CPU_CAPABILITY": aten,
    }


@pytest.fixture(scope="module")
def accuracy_runs() -> dict[str, subprocess.CompletedProcess]:
    """The accuracy tests run in a child process at each level, two children at a time (each
    uses one core)."""

    def run(level) -> subprocess.CompletedProcess:
        _, disabled, aten = level
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *ACCURACY_TESTS],
            cwd=ROOT,
            env=_level_env(disabled, aten),
            capture_output=True,
            text=True,
            timeout=600,
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip([lv[0] for lv in LEVELS], pool.map(run, LEVELS)))


@pytest.mark.parametrize(("name", "disabled", "aten"), LEVELS, ids=[lv[0] for lv in LEVELS])
def test_accuracy_tests_pass_at_every_dispatch_level(accuracy_runs, name, disabled, aten):
    # The level is really in force: none of the disabled targets is enabled in the child.
    assert not set(disabled) & set(_numpy_cpu(_level_env(disabled, aten))["enabled"])
    result = accuracy_runs[name]
    assert result.returncode == 0, (
        f"at level {name} ({' '.join(disabled) or 'all targets'}):\n{result.stdout[-4000:]}"
    )
