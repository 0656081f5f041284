"""`pipesheet backtest | calibration | waterfall | health` and `pipesheet report --probabilities`:
real files in, the JSON rows must equal the core's tables on the same data; bad input exits 2."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest

from pipesheet import backtest, calibration, weighted_forecast
from pipesheet.cli import main
from pipesheet.diagnostics import bottlenecks, cycle_time, stale_deals
from pipesheet.sample import DATA_DIR, sample_deals, sample_history, sample_rates
from pipesheet.waterfall import pipeline_waterfall, waterfall_from_history
from snapshots import OCT, SEPT

DEALS = str(Path(DATA_DIR) / "sample_deals.csv")
HISTORY = str(Path(DATA_DIR) / "sample_history.csv")
RATES = str(Path(DATA_DIR) / "sample_rates.csv")


def run_json(capsys, *argv: str) -> list[dict[str, Any]]:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def run_error(capsys, *argv: str) -> str:
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    assert err.startswith("pipesheet: error: ") and "Traceback" not in err
    return err


def assert_rows_equal(rows: list[dict[str, Any]], frame: pd.DataFrame) -> None:
    """JSON rows == the core's frame: same keys in order, numbers equal, dates as ISO days,
    NaN/None/NaT as null."""
    assert len(rows) == len(frame)
    for row, (_, want) in zip(rows, frame.iterrows(), strict=True):
        assert list(row) == [str(c) for c in frame.columns]
        for col, value in want.items():
            got = row[str(col)]
            if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
                assert got is None, (col, got)
            elif isinstance(value, (pd.Timestamp, np.datetime64)):
                assert got == pd.Timestamp(value).date().isoformat(), (col, got)
            elif isinstance(value, (bool, np.bool_)):
                assert got is bool(value), (col, got)
            elif isinstance(value, (int, float, np.number)):
                assert got == pytest.approx(float(value), rel=1e-12, abs=1e-9), (col, got)
            else:
                assert got == value, (col, got, value)


@pytest.fixture(scope="module")
def tables():
    return sample_deals(), sample_history(), sample_rates()


# ---- backtest ----------------------------------------------------------------------------------
def test_backtest_json_equals_core(capsys, tables):
    deals, history, rates = tables
    argv = ["backtest", HISTORY, DEALS, "--start", "2026-04-01", "--periods", "3"]
    argv += ["--period", "month", "--rates", RATES]
    core = backtest(history, deals, "2026-04-01", periods=3, period="month", rates=rates)
    rows = run_json(capsys, *argv)
    assert_rows_equal(rows, core.summary)
    methods = ["time-aware", "weighted pipeline", "calibrated", "recommended"]
    assert [r["method"] for r in rows] == methods
    assert {"mape", "bias", "in_range_share"} <= set(rows[0])
    periods = run_json(capsys, *argv, "--show", "periods")
    assert_rows_equal(periods, core.wide)
    recommended = {"forecast", "p10", "p50", "p90", "error", "actual", "method"}
    assert recommended <= set(periods[0]) and "forecast_time_aware" in periods[0]
    assert_rows_equal(run_json(capsys, *argv, "--show", "detail"), core.table)


def test_backtest_human_output(capsys):
    argv = ["backtest", HISTORY, DEALS, "--start", "2026-04-01", "--periods", "2"]
    assert main([*argv, "--rates", RATES, "--period", "month"]) == 0
    out = capsys.readouterr().out
    assert "Backtest: error by method" in out and "Backtest by period" in out
    assert "2026-04" in out and "mape" in out


def test_backtest_bad_input(capsys):
    err = run_error(capsys, "backtest", HISTORY, DEALS, "--start", "2026-09-01", "--periods", "2")
    assert "ends after the history does" in err and "2026-09-30" in err
    err = run_error(capsys, "backtest", DEALS, "--start", "2026-01-01")
    assert "needs a stage-history file" in err
    err = run_error(capsys, "backtest", HISTORY, "--start", "someday")
    assert "start" in err and "someday" in err


# ---- calibration ---------------------------------------------------------------------------
def test_calibration_json_equals_core(capsys, tables):
    deals, history, _ = tables
    core = calibration(history, deals, "2026-03-31")
    argv = ["calibration", HISTORY, DEALS, "--as-of", "2026-03-31"]
    assert_rows_equal(run_json(capsys, *argv), core.by_bucket)
    assert_rows_equal(run_json(capsys, *argv, "--show", "stages"), core.by_stage)
    rows = run_json(capsys, *argv, "--show", "summary")
    assert_rows_equal(rows, core.summary)
    assert rows[0]["brier"] == pytest.approx(core.brier)


def test_calibration_time_aware_json_equals_core(capsys, tables):
    deals, history, _ = tables
    core = calibration(
        history, deals, "2026-03-31", probabilities="time-aware", period_end="quarter", buckets=5
    )
    argv = ["calibration", HISTORY, DEALS, "--as-of", "2026-03-31", "--probabilities", "time-aware"]
    rows = run_json(capsys, *argv, "--period-end", "quarter", "--buckets", "5")
    assert_rows_equal(rows, core.by_bucket)


def test_calibration_bad_input(capsys):
    err = run_error(capsys, "calibration", HISTORY, DEALS)
    assert "--as-of" in err
    err = run_error(capsys, "calibration", HISTORY, "--as-of", "2027-01-01")
    assert "as_of" in err and "2026-09-30" in err


# ---- waterfall ----------------------------------------------------------------------------
@pytest.fixture
def snapshots(tmp_path):
    a, b = tmp_path / "sept.csv", tmp_path / "oct.csv"
    SEPT.to_csv(a, index=False)
    OCT.to_csv(b, index=False)
    return str(a), str(b)


def test_waterfall_two_snapshots_json_equals_core(capsys, snapshots):
    argv = ["waterfall", *snapshots, "--start", "2026-10-01", "--end", "2026-12-31"]
    core = pipeline_waterfall(SEPT, OCT, start="2026-10-01", end="2026-12-31")
    rows = run_json(capsys, *argv)
    assert_rows_equal(rows, core.table)
    steps = {r["step"]: r for r in rows}
    moved = sum(
        r["value_cents"] * r["sign"] for s, r in steps.items() if s not in ("opening", "closing")
    )
    assert steps["opening"]["value_cents"] + moved == steps["closing"]["value_cents"]
    assert_rows_equal(run_json(capsys, *argv, "--show", "deals"), core.deals)


def test_waterfall_history_dates_json_equals_core(capsys, tables):
    deals, history, rates = tables
    argv = ["waterfall", HISTORY, DEALS, "--from", "2026-06-30", "--to", "2026-09-30"]
    argv += ["--start", "2026-07-01", "--end", "2026-12-31", "--rates", RATES]
    core = waterfall_from_history(
        history,
        "2026-06-30",
        "2026-09-30",
        deals,
        start="2026-07-01",
        end="2026-12-31",
        rates=rates,
    )
    assert_rows_equal(run_json(capsys, *argv), core.table)
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Pipeline waterfall (EUR), close dates 2026-07-01 – 2026-12-31" in out


def test_waterfall_bad_input(capsys, snapshots):
    err = run_error(capsys, "waterfall", snapshots[0])
    assert "two snapshot files, 1 given" in err
    err = run_error(capsys, "waterfall", HISTORY, DEALS)
    assert "sample_history.csv" in err and "--from" in err
    err = run_error(capsys, "waterfall", HISTORY, DEALS, "--from", "2026-06-30")
    assert "--to" in err
    err = run_error(capsys, "waterfall", *snapshots, "--start", "2026-12-31", "--end", "2026-10-01")
    assert "ends before it starts" in err


# ---- health -------------------------------------------------------------------------------
def test_health_json_equals_core(capsys, tables):
    deals, history, _ = tables
    stale = stale_deals(history, deals, only_stale=True)
    rows = run_json(capsys, "health", HISTORY, DEALS, "--top", "10")
    assert_rows_equal(rows, stale.head(10))
    assert all(r["stale"] for r in rows)
    rows = run_json(capsys, "health", HISTORY, "--all-deals", "--as-of", "2026-08-15")
    assert_rows_equal(rows, stale_deals(history, as_of="2026-08-15"))
    rows = run_json(capsys, "health", HISTORY, "--show", "bottlenecks", "--period", "month")
    assert_rows_equal(rows, bottlenecks(history, period="month"))
    bench = run_json(
        capsys, "health", HISTORY, "--show", "bottlenecks", "--benchmark", "Lead=60,Proposal=70"
    )
    assert_rows_equal(bench, bottlenecks(history, benchmark={"Lead": 60, "Proposal": 70}))
    rows = run_json(capsys, "health", HISTORY, DEALS, "--show", "cycle")
    assert_rows_equal(rows, cycle_time(history, deals))


def test_health_human_output(capsys):
    assert main(["health", HISTORY, DEALS, "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "Stale deals (3 of " in out and "Bottlenecks" in out and "Cycle time (days)" in out
    assert "note: stale = longer in stage than 80% of the team's won deals" in out


def test_health_bad_input(capsys):
    err = run_error(capsys, "health", DEALS)
    assert "stage-history file" in err
    err = run_error(capsys, "health", HISTORY, "--quantile", "80")
    assert "quantile" in err and "80" in err
    err = run_error(capsys, "health", HISTORY, "--benchmark", "Demo=0.5")
    assert "benchmark" in err and "Demo" in err


# ---- report --probabilities -----------------------------------------------------------------
TINY = pd.DataFrame(
    {
        "Deal ID": ["T-1", "T-2", "T-3"],
        "Stage": ["Prospecting", "Qualification", "Proposal/Price Quote"],
        "Amount": [10_000, 5_000, 8_000],
        "Close Date": ["2026-10-15", "2026-11-20", "2026-12-01"],
    }
)


def _summary(path: Path) -> dict[str, Any]:
    ws = openpyxl.load_workbook(path, read_only=True)["Summary"]
    return {r[0]: r[1] for r in ws.iter_rows(min_row=2, values_only=True) if r and r[0]}


def test_report_probabilities_for_an_export_without_closed_deals(tmp_path, capsys):
    deals = tmp_path / "deals.csv"
    TINY.to_csv(deals, index=False)
    out = tmp_path / "report.xlsx"
    assert main(["report", str(deals), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no win probability is known for stage(s) 'Prospecting'" in err
    assert not out.exists()

    assert main(["report", str(deals), "-o", str(out), "--probabilities", "salesforce"]) == 0
    # 10,000 × 10% + 5,000 × 10% + 8,000 × 75% (Salesforce's defaults)
    want = weighted_forecast(TINY, "salesforce", period=None)["weighted"].sum()
    assert want == pytest.approx(7_500)
    assert _summary(out)["Weighted forecast"] == pytest.approx(want)

    table = tmp_path / "probabilities.csv"
    pd.DataFrame(
        {
            "Stage": ["Prospecting", "Qualification", "Proposal/Price Quote"],
            "Probability": [0.2, 0.3, 0.5],
        }
    ).to_csv(table, index=False)
    out2 = tmp_path / "report2.xlsx"
    assert main(["report", str(deals), "-o", str(out2), "--probabilities", str(table)]) == 0
    assert _summary(out2)["Weighted forecast"] == pytest.approx(2_000 + 1_500 + 4_000)
    wb = openpyxl.load_workbook(out2, read_only=True)
    cells = [c for row in wb["Stage probabilities"].iter_rows(values_only=True) for c in row]
    assert "Probabilities used for the forecast" in cells


def test_report_probabilities_bad_value(tmp_path, capsys):
    deals = tmp_path / "deals.csv"
    TINY.to_csv(deals, index=False)
    argv = ["report", str(deals), "-o", str(tmp_path / "r.xlsx"), "--probabilities", "pipedrive"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "pipedrive" in err and "Traceback" not in err
