"""One date reader, one as-of meaning (issue 8.9, 8.10): a bare date is the whole day.

A history row stamped at 15:00 on the as-of day was known at the end of that day, so every module
that takes ``as_of`` counts it, and they all agree on the deals of any as-of date.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pipesheet import StageProbabilities, weighted_forecast
from pipesheet.backtest import backtest
from pipesheet.calibration import calibration
from pipesheet.cli import main
from pipesheet.diagnostics import stage_durations, stale_deals, time_in_stage
from pipesheet.errors import PipesheetError
from pipesheet.forecast import pipeline_position
from pipesheet.periods import (
    as_of_cutoff,
    day_number,
    known_on,
    period_bounds,
    read_date_setting,
    window_end,
    within_days,
)
from pipesheet.planning import leads_needed
from pipesheet.sample import sample_deals, sample_history, sample_rates
from pipesheet.timeaware import TimeAwareForecast
from pipesheet.waterfall import snapshot_at, waterfall_from_history

AS_OF = "2023-09-01"


@pytest.fixture()
def history() -> pd.DataFrame:
    """A won on the as-of day at 15:00; C moved to Qualified that morning; D starts the day
    after; B was lost before."""
    rows = [
        ("A", "Lead", "2023-08-01 10:00"),
        ("A", "Qualified", "2023-08-10 11:00"),
        ("A", "Won", "2023-09-01 15:00"),
        ("B", "Lead", "2023-08-02 09:00"),
        ("B", "Lost", "2023-08-20 16:00"),
        ("C", "Lead", "2023-08-03 08:00"),
        ("C", "Qualified", "2023-09-01 09:30"),
        ("D", "Lead", "2023-09-02 08:00"),
        ("E", "Lead", "2023-07-01 08:00"),
        ("E", "Qualified", "2023-07-05 08:00"),
        ("E", "Won", "2023-07-20 08:00"),
    ]
    return pd.DataFrame(rows, columns=["Deal ID", "Stage", "Entered Date"])


@pytest.fixture()
def deals() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Deal ID": ["A", "B", "C", "D", "E"],
            "Stage": ["Won", "Lost", "Qualified", "Lead", "Won"],
            "Amount": [1000.0, 500.0, 2000.0, 700.0, 300.0],
            "Expected Close Date": ["2023-09-01", "2023-08-20", "2023-10-15", "2023-11-30", ""],
            "Created Date": [
                "2023-08-01 10:00",
                "2023-08-02 09:00",
                "2023-09-01 14:00",  # created during the as-of day: open then
                "2023-09-02 08:00",  # created the day after: not yet
                "2023-07-01 08:00",
            ],
            "Closed Date": ["2023-09-01 15:00", "2023-08-20 16:00", "", "", "2023-07-20 08:00"],
        }
    )


# ---- the reader ---------------------------------------------------------------------------------
def test_read_date_setting_is_a_day():
    day = pd.Timestamp(AS_OF)
    for value in (AS_OF, "2023-09-01T15:00", pd.Timestamp("2023-09-01 23:59"), 45170, "45170"):
        assert read_date_setting(value) == day
    assert read_date_setting(pd.Timestamp("2023-09-01 15:00", tz="Asia/Tokyo")) == day
    assert read_date_setting(None) is None and read_date_setting("  ") is None
    with pytest.raises(PipesheetError, match=r"column 'deadline'.*a date is needed"):
        read_date_setting(None, "deadline", required=True)
    with pytest.raises(PipesheetError, match=r"column 'as_of'.*outside the supported range"):
        read_date_setting("9999-12-31")
    with pytest.raises(PipesheetError, match=r"column 'start'.*not a date"):
        read_date_setting("next week", "start")
    with pytest.raises(PipesheetError, match="ambiguous"):
        read_date_setting("03/04/2027")
    assert read_date_setting("03/04/2027", dayfirst=True) == pd.Timestamp("2027-04-03")


def test_cutoff_and_whole_days():
    assert as_of_cutoff(AS_OF) == np.datetime64("2023-09-02T00:00:00", "ns")
    stamps = pd.to_datetime(
        ["2023-09-01 00:00:00", "2023-09-01 23:59:59", "2023-09-02 00:00:00", None]
    )
    assert known_on(stamps, AS_OF).tolist() == [True, True, False, False]
    assert within_days(stamps, "2023-09-01", "2023-09-01").tolist() == [True, True, False, False]
    assert day_number(AS_OF) == (pd.Timestamp(AS_OF) - pd.Timestamp("1970-01-01")).days


# ---- every module counts the rows of the as-of day ----------------------------------------------
def test_stage_probabilities_count_the_win_of_the_as_of_day(history):
    model = StageProbabilities(as_of=AS_OF).fit(history)
    t = model.table_.set_index("stage")
    assert (t.loc["Lead", "won"], t.loc["Lead", "lost"]) == (2, 1)  # A (15:00), E won; B lost
    assert any("1 later history row(s) not used" in n for n in model.notes_)
    # the same as the end of the day given with a time, or a Timestamp
    for same in ("2023-09-01 00:00", pd.Timestamp("2023-09-01 23:00")):
        again = StageProbabilities(as_of=same).fit(history).table_
        pd.testing.assert_frame_equal(again, model.table_)


def test_snapshot_probabilities_keep_deals_created_that_day(deals):
    model = StageProbabilities(as_of=AS_OF).fit(None, deals)
    assert model.deals_ is not None
    assert any("snapshot cannot be rewound" in n for n in model.notes_)


def test_weighted_forecast_keeps_deals_created_during_the_as_of_day(deals):
    p = {"Lead": 0.2, "Qualified": 0.5}
    out = weighted_forecast(deals, p, as_of=AS_OF, period=None)
    assert out["deals"].iloc[0] == 1 and out["weighted"].iloc[0] == pytest.approx(1000)  # C only
    out = weighted_forecast(deals, p, as_of="2023-09-02", period=None)
    assert out["deals"].iloc[0] == 2  # and D from the next day on


def test_pipeline_position_closes_the_last_day_whole(deals):
    pos = pipeline_position(deals, {"Lead": 0.2, "Qualified": 0.5}, "2023-08-01", AS_OF)
    assert pos.closed == pytest.approx(1000)  # A, closed at 15:00 on the period's last day


def test_diagnostics_count_the_rows_of_the_as_of_day(history):
    current = time_in_stage(history, as_of=AS_OF).set_index("deal_id")
    assert list(current.index) == ["C"]  # A is won (15:00), D not there yet
    assert current.loc["C", "days_in_stage"] == 0.0  # entered that morning
    visits = stage_durations(history, as_of=AS_OF)
    assert len(visits) > 0
    stale = stale_deals(history, as_of=AS_OF)
    assert stale.attrs["as_of"] == pd.Timestamp(AS_OF)
    assert set(stale["deal_id"]) == {"C"}


def test_time_aware_uses_the_whole_day(history):
    model = TimeAwareForecast(as_of=AS_OF, period_end="2023-12-31").fit(history)
    assert set(model.deals_["deal_id"]) == {"C"}
    assert model.as_of_ == pd.Timestamp(AS_OF)


def test_waterfall_snapshot_counts_the_day(history, deals):
    snap = snapshot_at(history, AS_OF, deals).set_index("deal_id")
    assert snap.loc["A", "stage"] == "Won" and snap.loc["C", "stage"] == "Qualified"
    assert "D" not in snap.index
    w = waterfall_from_history(history, "2023-08-31", AS_OF, deals)
    assert w.table.set_index("step").loc["won", "deals"] == 1


def test_calibration_predicts_with_the_whole_as_of_day(history):
    more = pd.concat(
        [history, pd.DataFrame([("C", "Won", "2023-09-20 10:00")], columns=history.columns)]
    )
    cal = calibration(more, None, AS_OF)
    # open at the end of the day: C only (A was won at 15:00, D starts the next day)
    assert cal.summary["deals"].iloc[0] == 1
    assert set(cal.deals["deal_id"]) == {"C"}


def test_planning_deadline_reads_one_way():
    plan = leads_needed(1000, 100, {"A": 0.5}, deadline="2026-12-31T18:00", days_in_stage={"A": 10})
    assert plan.table["enter_by"].iloc[0] == pd.Timestamp("2026-12-21")
    with pytest.raises(PipesheetError, match=r"column 'deadline'.*not a date"):
        leads_needed(1000, 100, {"A": 0.5}, deadline="soon", days_in_stage={"A": 10})


def test_backtest_start_is_read_by_the_one_reader():
    with pytest.raises(PipesheetError, match=r"column 'start'.*a date is needed"):
        backtest(sample_history(), sample_deals(), None)
    with pytest.raises(PipesheetError, match=r"column 'start'.*outside the supported range"):
        backtest(sample_history(), sample_deals(), "0001-01-01")


def test_cli_stages_health_and_forecast_agree_on_the_as_of_day(tmp_path, history, deals, capsys):
    h = tmp_path / "history.csv"
    history.to_csv(h, index=False)
    d = tmp_path / "deals.csv"
    deals.to_csv(d, index=False)
    assert main(["stages", str(h), "--as-of", AS_OF, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    lead = next(r for r in rows if r["stage"] == "Lead")
    assert (lead["won"], lead["lost"]) == (2, 1)
    assert main(["health", str(h), "--as-of", AS_OF, "--json", "--all-deals"]) == 0
    stale = json.loads(capsys.readouterr().out)
    assert [r["deal_id"] for r in stale] == ["C"]


# ---- 8.10 the window is never empty -------------------------------------------------------------
def test_window_end_moves_to_the_next_period_on_its_last_day():
    assert window_end("2026-03-15", "quarter") == (pd.Timestamp("2026-03-31"), None)
    end, note = window_end("2026-03-31", "quarter")
    assert end == pd.Timestamp("2026-06-30") and "next quarter" in note
    assert window_end("2026-01-31", "month")[0] == pd.Timestamp("2026-02-28")
    assert window_end("2026-06-30", "year", fiscal_year_start=7)[0] == pd.Timestamp("2027-06-30")
    assert period_bounds("2026-08-15", "quarter", 2) == (
        pd.Timestamp("2026-08-01"),
        pd.Timestamp("2026-10-31"),
    )


def test_time_aware_quarter_on_its_last_day_forecasts_the_next_quarter():
    history, deals = sample_history(), sample_deals()
    rates = sample_rates()
    model = TimeAwareForecast(as_of="2025-12-31", period_end="quarter", rates=rates)
    model.fit(history, deals)
    assert model.period_end_ == pd.Timestamp("2026-03-31")
    assert model.forecast_ > 0
    assert any("the last day of its quarter" in n for n in model.notes_)
    with pytest.raises(PipesheetError, match="forecast window would be empty"):
        TimeAwareForecast(as_of="2025-12-31", period_end="2025-12-31", rates=rates).fit(
            history, deals
        )


def test_calibration_quarter_on_its_last_day_is_not_a_zero_brier():
    cal = calibration(
        sample_history(), None, "2025-12-31", probabilities="time-aware", period_end="quarter"
    )
    row = cal.summary.iloc[0]
    assert row["period_end"] == pd.Timestamp("2026-03-31")
    assert row["deals"] > 0 and row["brier"] > 0
    assert any("next quarter" in n for n in cal.notes)
