"""The finance Excel functions (time-aware forecast, backtest, calibration, waterfall, health),
called through xlwings' Office.js dispatcher exactly like ``tests/test_excel.py``: Office.js
payloads (2-D arrays, serial dates, nulls, error objects), and each spill must equal the core's
result on the same data; each function also gets a bad input and must show the core's message.
"""

from __future__ import annotations

import os

# Before the first ``import xlwings`` in this process (xw.func/arg/ret are no-ops otherwise).
os.environ["XLWINGS_ON_SERVER"] = "true"
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

from typing import Any

import pandas as pd
import pytest

pytest.importorskip("xlwings")

from pipesheet import backtest, calibration, time_aware_forecast
from pipesheet.diagnostics import (
    bottlenecks,
    cycle_time,
    deal_cycle_times,
    stale_deals,
)
from pipesheet.waterfall import pipeline_waterfall, waterfall_from_history
from snapshots import OCT, SEPT
from test_excel import (
    ERROR_NA,
    assert_spill_equals,
    call,
    core_error,
    excel_range,
    message_of,
    serial,
)

AS_OF = "2026-08-15"


@pytest.fixture(scope="module")
def ranges(deals, history, rates) -> dict[str, list[list[Any]]]:
    """The sample tables as Office.js sends them (serial dates, nulls)."""
    return {
        "deals": excel_range(deals),
        "history": excel_range(history),
        "rates": excel_range(rates),
    }


# ---- time-aware forecast ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def time_aware(history, deals, rates):
    return time_aware_forecast(history, deals, "quarter", as_of=AS_OF, quota=3_000_000, rates=rates)


def test_time_aware_forecast_summary_equals_core(ranges, time_aware):
    got = call(
        "PIPE_TIME_AWARE_FORECAST",
        ranges["history"],
        ranges["deals"],
        "quarter",
        serial(AS_OF),
        3_000_000,
        ranges["rates"],
    )
    assert_spill_equals(got, time_aware.to_frame())
    assert got[0] == [
        "as_of",
        "period_end",
        "deals",
        "pipeline",
        "forecast",
        "p10",
        "p50",
        "p90",
        "quota",
        "p_quota",
    ]
    assert got[1][4] > 0  # a real forecast for the rest of the quarter


@pytest.mark.parametrize(("show", "attr"), [("stages", "table"), ("deals", "deals")])
def test_time_aware_forecast_detail_equals_core(ranges, time_aware, show, attr):
    got = call(
        "PIPE_TIME_AWARE_FORECAST",
        ranges["history"],
        ranges["deals"],
        "quarter",
        serial(AS_OF),
        3_000_000,
        ranges["rates"],
        None,
        None,
        show,
    )
    assert_spill_equals(got, getattr(time_aware, attr))


def test_time_aware_forecast_date_period_end_and_stage_conditioning(ranges, history, deals, rates):
    got = call(
        "PIPE_TIME_AWARE_FORECAST",
        ranges["history"],
        ranges["deals"],
        serial("2026-10-31"),
        serial(AS_OF),
        None,
        ranges["rates"],
        None,
        "stage",
    )
    core = time_aware_forecast(
        history, deals, "2026-10-31", as_of=AS_OF, rates=rates, conditioning="stage"
    )
    assert_spill_equals(got, core.to_frame())


def test_time_aware_forecast_bad_input(ranges, history, deals):
    got = message_of(
        call(
            "PIPE_TIME_AWARE_FORECAST",
            ranges["history"],
            ranges["deals"],
            serial("2026-01-31"),
            serial(AS_OF),
        )
    )
    assert got == core_error(time_aware_forecast, history, deals, "2026-01-31", as_of=AS_OF)
    assert "period_end" in got and "2026-01-31" in got
    got = message_of(
        call(
            "PIPE_TIME_AWARE_FORECAST",
            ranges["history"],
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            "everything",
        )
    )
    assert "show" in got and "'summary'" in got


# ---- backtest ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def backtested(history, deals, rates):
    return backtest(history, deals, "2026-05-01", periods=3, period="month", rates=rates)


@pytest.mark.parametrize(
    ("show", "attr"), [(None, "summary"), ("periods", "wide"), ("detail", "table")]
)
def test_backtest_equals_core(ranges, backtested, show, attr):
    got = call(
        "PIPE_BACKTEST",
        ranges["history"],
        ranges["deals"],
        serial("2026-05-01"),
        3,
        "month",
        show,
        None,
        ranges["rates"],
    )
    assert_spill_equals(got, getattr(backtested, attr))
    if attr == "summary":
        methods = ["time-aware", "weighted pipeline", "calibrated", "recommended"]
        assert [r[0] for r in got[1:]] == methods
        assert {"mape", "bias", "in_range_share"} <= set(got[0])
    if attr == "wide":
        assert {"forecast", "p10", "p50", "p90", "error", "actual", "method"} <= set(got[0])


def test_backtest_bad_input(ranges, history, deals):
    got = message_of(
        call("PIPE_BACKTEST", ranges["history"], ranges["deals"], serial("2026-08-01"), 3)
    )
    assert got == core_error(backtest, history, deals, "2026-08-01", periods=3)
    assert "ends after the history does" in got
    got = message_of(
        call("PIPE_BACKTEST", ranges["history"], ranges["deals"], serial("2026-01-01"), 2.5)
    )
    assert got == core_error(backtest, history, deals, "2026-01-01", periods=2.5)
    got = message_of(call("PIPE_BACKTEST", ranges["history"], None, [[ERROR_NA]]))
    assert "start" in got and "#N/A" in got


# ---- calibration -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("show", "attr"), [(None, "by_bucket"), ("stages", "by_stage"), ("summary", "summary")]
)
def test_calibration_equals_core(ranges, history, deals, show, attr):
    got = call("PIPE_CALIBRATION", ranges["history"], serial("2026-03-31"), ranges["deals"], show)
    core = calibration(history, deals, "2026-03-31")
    assert_spill_equals(got, getattr(core, attr))
    if attr == "summary":
        assert got[1][got[0].index("brier")] == pytest.approx(core.brier)


def test_calibration_time_aware_equals_core(ranges, history, deals):
    got = call(
        "PIPE_CALIBRATION",
        ranges["history"],
        serial("2026-03-31"),
        ranges["deals"],
        "summary",
        "time-aware",
        "quarter",
        5,
    )
    core = calibration(
        history, deals, "2026-03-31", probabilities="time-aware", period_end="quarter", buckets=5
    )
    assert_spill_equals(got, core.summary)


def test_calibration_bad_input(ranges, history):
    got = message_of(call("PIPE_CALIBRATION", ranges["history"], serial("2027-01-01")))
    assert got == core_error(calibration, history, None, "2027-01-01")
    assert "as_of" in got
    got = message_of(
        call("PIPE_CALIBRATION", ranges["history"], serial("2026-03-31"), None, None, "guess")
    )
    assert got == core_error(calibration, history, None, "2026-03-31", probabilities="guess")


# ---- waterfall ---------------------------------------------------------------------------------
def _snapshot_range(frame: pd.DataFrame) -> list[list[Any]]:
    out = frame.copy().astype(object)
    out["Expected Close Date"] = [serial(v) for v in frame["Expected Close Date"]]
    return [list(frame.columns), *out.to_numpy().tolist()]


def _no_nat(frame: pd.DataFrame) -> pd.DataFrame:
    """Blank dates (NaT) as None: an empty cell in the spill."""
    out = frame.astype(object)
    return out.where(frame.notna(), None)


def test_waterfall_two_snapshots_equals_core_and_reconciles():
    got = call(
        "PIPE_WATERFALL",
        _snapshot_range(SEPT),
        _snapshot_range(OCT),
        serial("2026-10-01"),
        serial("2026-12-31"),
    )
    core = pipeline_waterfall(SEPT, OCT, start="2026-10-01", end="2026-12-31")
    assert_spill_equals(got, core.table)
    steps = {r[0]: r for r in got[1:]}
    value = got[0].index("value_cents")
    sign = got[0].index("sign")
    moved = sum(
        r[value] * r[sign] for name, r in steps.items() if name not in ("opening", "closing")
    )
    assert steps["opening"][value] + moved == steps["closing"][value]  # to the cent
    assert steps["opening"][value] == 100010 + 250025 + 400000 + 120000 + 33333
    deals = call(
        "PIPE_WATERFALL",
        _snapshot_range(SEPT),
        _snapshot_range(OCT),
        serial("2026-10-01"),
        serial("2026-12-31"),
        "deals",
    )
    assert_spill_equals(deals, _no_nat(core.deals))


def test_waterfall_bad_input():
    got = message_of(
        call(
            "PIPE_WATERFALL",
            _snapshot_range(SEPT),
            _snapshot_range(OCT),
            serial("2026-12-31"),
            serial("2026-10-01"),
        )
    )
    assert got == core_error(pipeline_waterfall, SEPT, OCT, start="2026-12-31", end="2026-10-01")
    bad = _snapshot_range(OCT)
    bad[3][1] = "Propsal"
    got = message_of(call("PIPE_WATERFALL", _snapshot_range(SEPT), bad))
    assert "closing" in got and "row 4" in got and "Propsal" in got


def test_waterfall_from_history_equals_core(ranges, history, deals, rates):
    got = call(
        "PIPE_WATERFALL_HISTORY",
        ranges["history"],
        serial("2026-06-30"),
        serial("2026-09-30"),
        ranges["deals"],
        serial("2026-07-01"),
        serial("2026-12-31"),
        None,
        ranges["rates"],
    )
    core = waterfall_from_history(
        history,
        "2026-06-30",
        "2026-09-30",
        deals,
        start="2026-07-01",
        end="2026-12-31",
        rates=rates,
    )
    assert_spill_equals(got, core.table)
    assert int(core.table["deals"].iloc[0]) > 0


def test_waterfall_from_history_bad_input(ranges, history):
    got = message_of(
        call(
            "PIPE_WATERFALL_HISTORY", ranges["history"], serial("2026-09-30"), serial("2026-06-30")
        )
    )
    assert got == core_error(waterfall_from_history, history, "2026-09-30", "2026-06-30")


# ---- pipeline health ---------------------------------------------------------------------------
def test_stale_deals_equal_core(ranges, history, deals):
    got = call("PIPE_STALE_DEALS", ranges["history"], ranges["deals"], None, None, None, 10)
    core = stale_deals(history, deals)
    assert_spill_equals(got, core.head(10))
    assert all(r[got[0].index("stale")] is True for r in got[1:])  # stale deals come first
    got = call("PIPE_STALE_DEALS", ranges["history"], None, 0.9, serial(AS_OF), True)
    assert_spill_equals(got, stale_deals(history, quantile=0.9, as_of=AS_OF, only_stale=True))


def test_stale_deals_bad_input(ranges, history):
    got = message_of(call("PIPE_STALE_DEALS", ranges["history"], None, 1.5))
    assert got == core_error(stale_deals, history, quantile=1.5)
    got = message_of(call("PIPE_STALE_DEALS", ranges["history"], None, None, None, None, -3))
    assert "top" in got and "-3" in got


def test_bottlenecks_equal_core(ranges, history):
    got = call("PIPE_BOTTLENECKS", ranges["history"])
    assert_spill_equals(got, bottlenecks(history))
    bench = [["Stage", "Benchmark"], ["Qualified", 70], ["Proposal", 75]]
    got = call("PIPE_BOTTLENECKS", ranges["history"], "month", 3, bench, 5)
    core = bottlenecks(
        history,
        period="month",
        trailing=3,
        benchmark={"Qualified": 70, "Proposal": 75},
        min_deals=5,
    )
    assert_spill_equals(got, core)
    assert sum(r[-1] is True for r in got[1:]) == 1


def test_bottlenecks_bad_input(ranges, history):
    got = message_of(call("PIPE_BOTTLENECKS", ranges["history"], None, 0))
    assert got == core_error(bottlenecks, history, trailing=0)
    got = message_of(
        call("PIPE_BOTTLENECKS", ranges["history"], None, None, [["Stage", "x"], ["Demo", 0.5]])
    )
    assert got == core_error(bottlenecks, history, benchmark={"Demo": 0.5})


def test_cycle_time_equals_core(ranges, history, deals):
    got = call("PIPE_CYCLE_TIME", ranges["history"], ranges["deals"])
    assert_spill_equals(got, cycle_time(history, deals))
    got = call("PIPE_CYCLE_TIME", ranges["history"], None, serial(AS_OF), True)
    assert_spill_equals(got, deal_cycle_times(history, as_of=AS_OF))


def test_cycle_time_bad_input(history):
    broken = history.rename(columns={"Entered Date": "When"})
    got = message_of(call("PIPE_CYCLE_TIME", excel_range(broken)))
    assert got == core_error(cycle_time, broken)
    assert "history" in got
