"""Fuzz: any table a user (or a hostile file) can give ends in a result or one clear message.

Issue 10's contract, checked with hypothesis on generated tables whose cells hold arbitrary text,
numbers (huge, tiny, negative, infinite), dates (inside and far outside the supported range),
Excel error values, booleans, control and invisible characters — mostly plausible values with a
few hostile ones, so that the generated tables reach deep into the engine:

* the API (read → stage probabilities → weighted forecast → forecast range → report workbook)
  returns a result or raises :class:`PipesheetError` — never another exception — and every
  money figure it returns is finite;
* the CLI (files written to disk as CSV, run in-process) exits 0 or 2; on 2, stderr is one
  ``pipesheet: error:`` line; with ``--json`` stdout is one JSON document without NaN/Infinity.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipesheet import (
    PipesheetError,
    StageList,
    StageProbabilities,
    pipeline_range,
    read_deals,
    read_history,
    weighted_forecast,
)
from pipesheet.cli import main
from pipesheet.report import build_report
from pipesheet.writer import workbook_bytes

STAGES = ["Lead", "Qualified", "Proposal", "Closed Won", "Closed Lost"]
FUNNEL = StageList(("Lead", "Qualified", "Proposal"))
EXCEL_ERRORS = ["#N/A", "#VALUE!", "#DIV/0!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!"]
HOSTILE_TEXT = [
    "(1,200)",
    "1,200-",
    "−1200",
    "1.5M",
    "250k",
    "50%",
    "1e308",
    "-0",
    "9999-12-31",
    "0001-01-01",
    "December",
    "2026",
    "today",
    "12:30",
    "03/04/2027",
    "2026-02-30",
    "Pro\u200bposal",
    "\u0420roposal",
    "Lead\x07",
    "=cmd|' /C calc'!A0",
    "NaN",
    "inf",
    "",
    " ",
    "\ufeff",
    "TRUE",
]

settings.register_profile(
    "fuzz",
    max_examples=int(os.environ.get("PIPESHEET_FUZZ_EXAMPLES", "120")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

hostile_cell = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.sampled_from(EXCEL_ERRORS),
    st.text(max_size=12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.booleans(),
    st.none(),
    st.datetimes(min_value=pd.Timestamp("1700-01-01"), max_value=pd.Timestamp("2262-01-01")),
)


deal_ids = st.integers(1, 12).map(lambda i: f"D{i}")
stage_cell = st.sampled_from(STAGES)
amount_cell = st.one_of(st.integers(0, 500_000), st.floats(0, 1e6))
date_cell = st.dates(
    min_value=pd.Timestamp("2024-01-01").date(), max_value=pd.Timestamp("2027-12-31").date()
).map(lambda d: d.isoformat())
owner_cell = st.sampled_from(["Ana", "Bo", "Čeč", "Thắng", None])
probability_cell = st.sampled_from([10, 20, 50, 80, 100, 0])


def _spoil(draw, frame: pd.DataFrame) -> pd.DataFrame:
    """Replace a few cells (none in about a third of the tables) with hostile values."""
    frame = frame.astype(object)
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2, 3]))):
        row = draw(st.integers(0, len(frame) - 1))
        col = draw(st.sampled_from(list(frame.columns)))
        frame.iat[row, frame.columns.get_loc(col)] = draw(hostile_cell)
    return frame


@st.composite
def tables(draw) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = draw(st.integers(1, 8))
    ids = [f"D{i}" for i in range(n)]
    deals = pd.DataFrame(
        {
            "Deal ID": ids,
            "Stage": [draw(stage_cell) for _ in range(n)],
            "Amount": [draw(amount_cell) for _ in range(n)],
            "Expected Close Date": [draw(date_cell) for _ in range(n)],
            "Owner": [draw(owner_cell) for _ in range(n)],
            "Probability (%)": [draw(probability_cell) for _ in range(n)],
        }
    )
    rows = []
    for deal in ids:
        for _ in range(draw(st.integers(1, 4))):
            rows.append(
                {
                    "Deal ID": deal if draw(st.integers(0, 29)) else draw(deal_ids),
                    "Stage": draw(stage_cell),
                    "Entered Date": draw(date_cell),
                }
            )
    history = pd.DataFrame(rows, columns=["Deal ID", "Stage", "Entered Date"])
    return _spoil(draw, deals), _spoil(draw, history)


def _finite(*values: float) -> None:
    for v in values:
        assert v is None or math.isfinite(float(v)), values


def _check_frame(frame: pd.DataFrame, money: tuple[str, ...]) -> None:
    for col in money:
        if col in frame:
            values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
            assert not np.isinf(values).any(), (col, frame)


@settings(settings.get_profile("fuzz"))
@given(tables())
def test_api_ends_in_a_result_or_a_clear_error(data):
    deals_table, history_table = data
    try:
        deals = read_deals(deals_table, stages=FUNNEL)
        history = read_history(history_table, stages=FUNNEL, deals=deals)
        model = StageProbabilities(stages=FUNNEL).fit(history, deals)
        table = model.table_
        assert set(table.columns) >= {"stage", "reached", "won", "lost", "win_probability"}
        forecast = weighted_forecast(deals, model, period="quarter", blank_amounts="skip")
        _check_frame(forecast, ("pipeline", "weighted", "std_dev"))
        rng = pipeline_range(deals, model, quota=100_000, blank_amounts="skip")
        _finite(rng.mean, rng.p10, rng.p50, rng.p90)
        report = build_report(deals_table, history_table, blank_amounts="skip", progress=False)
        workbook_bytes(report.sheets)
    except PipesheetError as err:
        text = str(err)
        assert text and "Traceback" not in text and "\n" not in text.strip(), text


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(argv))
    return status, out.getvalue(), err.getvalue()


COMMANDS = [
    ("stages", []),
    ("stages", ["--stages", "Lead,Qualified,Proposal"]),
    ("forecast", ["--period", "quarter", "--range", "--quota", "50000", "--blank-amounts", "skip"]),
    ("health", ["--stages", "Lead,Qualified,Proposal"]),
]


@settings(settings.get_profile("fuzz"))
@given(tables(), st.sampled_from(COMMANDS), st.booleans())
def test_cli_ends_in_output_or_one_error_line(folder, data, command, as_json):
    deals_table, history_table = data
    deals_path, history_path = folder / "deals.csv", folder / "history.csv"
    deals_table.to_csv(deals_path, index=False)
    history_table.to_csv(history_path, index=False)
    name, options = command
    argv = [name, str(history_path), str(deals_path), *options]
    if as_json:
        argv.append("--json")
    os.environ["PIPESHEET_DEBUG"] = "1"  # an internal error raises here: hypothesis shows it
    try:
        status, out, err = _run(*argv)
    finally:
        os.environ.pop("PIPESHEET_DEBUG", None)
    assert status in (0, 2), (status, err)
    assert "Traceback" not in err
    if status == 2:
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("pipesheet: error: "), err
        return
    if as_json:
        doc = json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} in JSON output"))
        assert isinstance(doc, list)
    else:
        assert not re.search(r"(?<![A-Za-z])(nan|inf|infinity)(?![A-Za-z])|∞", out, re.I), out
