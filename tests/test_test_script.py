"""``scripts/test.sh``, the one test command (issue 8.24): when an earlier step fails, the core
tests on the lowest supported pandas still run and report, and the script then exits non-zero
naming the failed step. Run on a copy of the script with stand-in programs that record what they
were asked to do (no network, no real environments)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FAKE_PYTHON = """#!/usr/bin/env bash
echo "python $* core_only=${PIPESHEET_CORE_ONLY:-0}" >> "$LOG"
if [ "$1" = "-m" ] && [ "$2" = "pytest" ]; then
  if [ "${PIPESHEET_CORE_ONLY:-0}" = "1" ]; then exit "${MIN_STATUS:-0}"; fi
  exit "${TESTS_STATUS:-0}"
fi
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && cp "$(dirname "$0")/ruff" "$3/bin/ruff"
  cp "$(dirname "$0")/lint-imports" "$3/bin/lint-imports"
fi
exit 0
"""
FAKE_RUFF = """#!/usr/bin/env bash
echo "ruff $*" >> "$LOG"
exit "${RUFF_STATUS:-0}"
"""
FAKE_LINT_IMPORTS = """#!/usr/bin/env bash
echo "lint-imports $*" >> "$LOG"
exit "${IMPORTS_STATUS:-0}"
"""


@pytest.fixture()
def sandbox(tmp_path: Path) -> Path:
    if shutil.which("bash") is None:
        pytest.skip("needs bash")
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "test.sh", tmp_path / "scripts" / "test.sh")
    tools = tmp_path / "tools"
    tools.mkdir()
    for name, text in {
        "python3": FAKE_PYTHON,
        "ruff": FAKE_RUFF,
        "lint-imports": FAKE_LINT_IMPORTS,
        "soffice": "",
        "chromium": "",
        "java": "",
    }.items():
        path = tools / name
        path.write_text(text or "#!/usr/bin/env bash\nexit 0\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return tmp_path


def _run(sandbox: Path, *args: str, **statuses: int) -> tuple[subprocess.CompletedProcess, str]:
    log = sandbox / "calls.log"
    env = dict(
        os.environ,
        PATH=f"{sandbox / 'tools'}:{os.environ['PATH']}",
        PYTHON=str(sandbox / "tools" / "python3"),
        LOG=str(log),
        **{k: str(v) for k, v in statuses.items()},
    )
    env.pop("PIPESHEET_CORE_ONLY", None)  # the script sets it itself (and this suite may run so)
    proc = subprocess.run(
        ["bash", "scripts/test.sh", *args],
        cwd=sandbox,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc, log.read_text() if log.exists() else ""


def test_all_steps_pass(sandbox):
    proc, calls = _run(sandbox)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "== all steps passed" in proc.stdout
    assert "pytest -q -p no:cacheprovider core_only=1" in calls
    assert "lint-imports --no-logo" in calls


def test_broken_import_contracts_fail_the_script(sandbox):
    proc, _ = _run(sandbox, IMPORTS_STATUS=1)
    assert proc.returncode != 0
    assert "== import contracts: FAILED" in proc.stdout
    assert proc.stdout.strip().endswith("== FAILED: import contracts")


def test_a_failing_suite_still_runs_the_lowest_pandas_step(sandbox):
    proc, calls = _run(sandbox, TESTS_STATUS=1)
    assert proc.returncode != 0
    assert "== tests: FAILED" in proc.stdout
    assert "== core tests against the lowest supported pandas/numpy: passed" in proc.stdout
    assert "core_only=1" in calls
    assert proc.stdout.strip().endswith("== FAILED: tests")


def test_ruff_and_lowest_pandas_failures_are_all_reported(sandbox):
    proc, _ = _run(sandbox, RUFF_STATUS=1, MIN_STATUS=1)
    assert proc.returncode != 0
    last = proc.stdout.strip().splitlines()[-1]
    assert "ruff check" in last and "ruff format" in last
    assert "core tests against the lowest supported pandas/numpy" in last


def test_extra_arguments_go_to_pytest_and_skip_the_lowest_pandas_step(sandbox):
    proc, calls = _run(sandbox, "-k", "forecast")
    assert proc.returncode == 0
    assert "-m pytest -k forecast core_only=0" in calls
    assert "core_only=1" not in calls


def test_ci_runs_the_script():
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()
