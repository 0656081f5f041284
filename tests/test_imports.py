"""The import contracts (import-linter, ``[tool.importlinter]`` in pyproject.toml): surfaces above
the engine above the readers, nothing imports upwards, the engine never imports a surface nor
xlwings/ipywidgets/voila, and no import cycles.  They hold on this tree, and they catch a bad
import put into a copy of it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter")

ROOT = Path(__file__).resolve().parents[1]


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(root / "src"))
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command as c; c()",
            "--no-cache",
            "--no-logo",
            str(root / "pyproject.toml"),
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_contracts_hold():
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 kept, 0 broken" in done.stdout


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "src" / "pipesheet", tmp_path / "src" / "pipesheet")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _add(path: Path, code: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + "\n\n" + code + "\n", encoding="utf-8")


def test_the_engine_importing_a_surface_breaks_them(tmp_path):
    root = _copy(tmp_path)
    # even inside a function, where it would only run late
    _add(root / "src/pipesheet/tables.py", "def _bad():\n    from pipesheet.cli import main\n")
    done = lint_imports(root)
    assert done.returncode != 0
    assert "layers: surfaces above the engine above the readers" in done.stdout
    assert "the engine never imports a surface nor a surface's library BROKEN" in done.stdout
    assert "pipesheet.tables -> pipesheet.cli" in done.stdout


def test_the_engine_importing_xlwings_breaks_them(tmp_path):
    root = _copy(tmp_path)
    _add(root / "src/pipesheet/forecast.py", "def _bad():\n    import xlwings\n")
    done = lint_imports(root)
    assert done.returncode != 0
    assert "the engine never imports a surface nor a surface's library BROKEN" in done.stdout


def test_a_cycle_breaks_them(tmp_path):
    root = _copy(tmp_path)
    # stages → presets → tables → stages: the cycle this layout removed
    _add(
        root / "src/pipesheet/stages.py", "def _bad():\n    from pipesheet.presets import preset\n"
    )
    done = lint_imports(root)
    assert done.returncode != 0
    assert "no import cycles between the modules of any package BROKEN" in done.stdout
