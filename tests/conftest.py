"""Shared test settings.

* ``PIPESHEET_CORE_ONLY=1`` runs only the core engine's tests (used by the lowest-supported-pandas
  job, where the Excel and app extras are not installed).
* :func:`require_tool` skips a test when an external program (LibreOffice, Chromium) is missing on
  a developer's machine, but fails it under CI (``CI=true``), so CI never skips silently.
"""

from __future__ import annotations

import os
import shutil

import pandas as pd
import pytest

from pipesheet.sample import sample_deals, sample_history, sample_rates

SURFACE_TESTS = [
    "test_excel*",
    "test_templates*",
    "test_apps*",
    "e2e/*",
    "test_report*",
    "test_cli_app*",
]

collect_ignore_glob = SURFACE_TESTS if os.environ.get("PIPESHEET_CORE_ONLY") else []

# The Excel tests call xlwings' Office.js dispatcher (xlwings PRO code): it needs these set before
# the first ``import xlwings`` in the process; the noncommercial key is for this test suite only.
os.environ["XLWINGS_ON_SERVER"] = "true"
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")


def in_ci() -> bool:
    """True when running under CI (``CI`` set to a true value)."""
    return os.environ.get("CI", "").strip().casefold() in ("1", "true", "yes")


def require_tool(*names: str) -> str:
    """Path of the first program found among ``names``; skip (locally) or fail (CI) if none."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    message = f"needs {' or '.join(names)} on PATH"
    if in_ci():
        pytest.fail(message + " (CI must not skip: .ci/run installs it)")
    pytest.skip(message)
    raise AssertionError("unreachable")


# ---- the bundled sample, read once per module (tests may override with their own tables) ----
@pytest.fixture(scope="module")
def deals() -> pd.DataFrame:
    return sample_deals()


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return sample_history()


@pytest.fixture(scope="module")
def rates() -> pd.DataFrame:
    return sample_rates()
