"""Forecast vs actual by period and group."""

from __future__ import annotations

import pandas as pd
import pytest

from pipesheet import PipesheetError, StageList
from pipesheet.accuracy import forecast_accuracy, forecasts_from_snapshots

STAGES = StageList(("Lead", "Proposal"))
DEALS = pd.DataFrame(
    {
        "Deal ID": ["A", "B", "C", "D", "E"],
        "Stage": ["Won", "Won", "Won", "Lost", "Proposal"],
        "Amount": [100.0, 50.0, 80.0, 999.0, 10.0],
        "Owner": ["Ann", "Ann", "Bob", "Bob", "Bob"],
        "Expected Close Date": ["2026-03-01"] * 5,
        "Closed Date": ["2026-02-10", "2026-05-01", "2026-03-30", "2026-03-01", None],
    }
)


def test_by_owner_and_quarter_with_recorded_forecasts():
    forecasts = pd.DataFrame(
        {
            "Quarter": ["2026-Q1", "2026-Q1", "2026-Q2", "2026-Q1", "2026-Q1"],
            "Owner": ["Ann", "Ann", "Ann", "Bob", "Bob"],
            "Forecast": [999, 120, 40, 100, 60],
            "Recorded": ["2026-01-05", "2026-03-01", "2026-04-02", "2026-01-05", "2026-02-01"],
        }
    )
    r = forecast_accuracy(forecasts, DEALS, by="owner", stages=STAGES)
    t = r.table.set_index(["owner", "period"])
    assert t.loc[("Ann", "2026-Q1"), "forecast"] == 120  # the last recorded
    assert t.loc[("Ann", "2026-Q1"), "actual"] == 100
    assert t.loc[("Ann", "2026-Q1"), "error"] == pytest.approx(0.2)
    assert t.loc[("Ann", "2026-Q2"), "error"] == pytest.approx(40 / 50 - 1)
    assert t.loc[("Bob", "2026-Q1"), "actual"] == 80  # the lost deal does not count
    assert t.loc[("Bob", "2026-Q1"), "error"] == pytest.approx(60 / 80 - 1)
    s = r.summary.set_index("owner")
    assert s.loc["Ann", "mape"] == pytest.approx((0.2 + 0.2) / 2)
    assert s.loc["Ann", "bias"] == pytest.approx((0.2 - 0.2) / 2)
    first = forecast_accuracy(forecasts, DEALS, by="owner", stages=STAGES, recorded="first")
    assert first.table.set_index(["owner", "period"]).loc[("Ann", "2026-Q1"), "forecast"] == 999


def test_periods_as_dates_and_duplicate_without_recorded():
    f = pd.DataFrame({"Period": ["2026-02-15"], "Forecast": ["230"]})
    r = forecast_accuracy(f, DEALS, stages=STAGES, period="quarter")
    assert r.table["period"].tolist() == ["2026-Q1"]
    assert r.table["actual"].iloc[0] == 180
    dup = pd.DataFrame({"Period": ["2026-Q1", "2026-Q1"], "Forecast": [1, 2]})
    with pytest.raises(PipesheetError, match="two forecasts for the same period"):
        forecast_accuracy(dup, DEALS, stages=STAGES)


def test_missing_group_column_is_clear():
    f = pd.DataFrame({"Period": ["2026-Q1"], "Forecast": [1]})
    with pytest.raises(PipesheetError, match="no owner column"):
        forecast_accuracy(f, DEALS, by="owner", stages=STAGES)


def test_forecasts_from_snapshots():
    snap = pd.DataFrame(
        {
            "Deal ID": ["X", "Y"],
            "Stage": ["Lead", "Proposal"],
            "Amount": [100.0, 200.0],
            "Expected Close Date": ["2026-03-10", "2026-06-10"],
        }
    )
    table = forecasts_from_snapshots(
        {"2026-01-15": snap}, {"Lead": 0.1, "Proposal": 0.5}, stages=STAGES
    )
    assert table["period"].tolist() == ["2026-Q1"]
    assert table["forecast"].iloc[0] == pytest.approx(10.0)
    r = forecast_accuracy(table, DEALS, stages=STAGES)
    assert r.table["actual"].iloc[0] == 180
