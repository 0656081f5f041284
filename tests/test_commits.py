"""Commits (issue 14.3): a manager's committed number per owner and period beside the system's
forecast and what was won; who forecasts better, the manager or the model.

Worked by hand on tests/fixtures/teams (as of 2026-06-30, quarters):

* 2026-Q1 (past): won — Ana N1 12,000; Ben R1 6,000.  The system's forecast needs the history
  the day before (2025-12-31): there is none, so it is blank and Q1 is not compared.
  Manager errors: Ana 10,000/12,000 − 1 = −1/6, Ben 8,000/6,000 − 1 = +1/3.
* 2026-Q2 (past; ends on the as-of day): won — Ana R2 7,000 + N5 20,000 = 27,000; Ben R4 9,000.
  The system's forecast made on 2026-03-31 (see test_pipelines' backtest): Ana N5 10,000 + R2
  7,000 + R5 3,000 = 20,000; Ben N4 15,000 + R3 4,000 + R4 9,000 = 28,000.
  Manager: Ana 25,000/27,000 − 1 = −0.0741, Ben 12,000/9,000 − 1 = +0.3333.
  Model: Ana 20,000/27,000 − 1 = −0.2593, Ben 28,000/9,000 − 1 = +2.1111.
  MAPE manager (0.0741 + 0.3333)/2 = 0.2037, bias 0.1296; model 1.1852, bias 0.9259.
  Period total: manager 37,000/36,000 − 1 = 0.0278; model 48,000/36,000 − 1 = 0.3333.
* 2026-Q3 (future): the system's forecast is the weighted pipeline: Ana N6 4,000 + N8 20,000 +
  R7 4,000 (its 50% override) = 28,000; Ben N7 10,000 + R6 3,000 = 13,000.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pipesheet as ps
from pipesheet.commits import compare_commits, parse_period_label, read_commits

FIX = Path(__file__).parent / "fixtures" / "teams"


@pytest.fixture(scope="module")
def team():
    return (
        pd.read_csv(FIX / "deals.csv"),
        pd.read_csv(FIX / "history.csv"),
        pd.read_csv(FIX / "commits.csv"),
    )


@pytest.fixture(scope="module")
def result(team):
    deals, history, commits = team
    return compare_commits(deals, commits, history=history, as_of="2026-06-30")


def row(table: pd.DataFrame, owner: str, period: str) -> pd.Series:
    hit = table[(table["owner"] == owner) & (table["period"] == period)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_commits_beside_the_system_forecast_and_the_actual(result):
    t = result.table
    assert list(t.columns[:6]) == [
        "owner",
        "period",
        "period_start",
        "period_end",
        "status",
        "committed",
    ]
    assert t["status"].tolist() == ["past"] * 4 + ["future"] * 2
    q1 = row(t, "Ana", "2026-Q1")
    assert q1["actual"] == 12_000 and np.isnan(q1["system_forecast"])
    assert q1["committed_error"] == pytest.approx(10_000 / 12_000 - 1)
    assert "no history on or before 2025-12-31" in q1["note"]
    assert row(t, "Ben", "2026-Q1")["committed_error"] == pytest.approx(8_000 / 6_000 - 1)
    ana, ben = row(t, "Ana", "2026-Q2"), row(t, "Ben", "2026-Q2")
    assert (ana["system_forecast"], ana["actual"]) == pytest.approx((20_000, 27_000))
    assert (ben["system_forecast"], ben["actual"]) == pytest.approx((28_000, 9_000))
    assert ana["committed_error"] == pytest.approx(25_000 / 27_000 - 1)
    assert ana["system_error"] == pytest.approx(20_000 / 27_000 - 1)
    assert ben["committed_error"] == pytest.approx(12_000 / 9_000 - 1)
    assert ben["system_error"] == pytest.approx(28_000 / 9_000 - 1)
    assert ana["commit_gap"] == pytest.approx(5_000)
    q3 = row(t, "Ana", "2026-Q3")
    assert q3["system_forecast"] == pytest.approx(28_000) and np.isnan(q3["actual"])
    assert row(t, "Ben", "2026-Q3")["system_forecast"] == pytest.approx(13_000)


def test_who_forecasts_better_manager_or_model(result):
    s = result.summary.set_index(["forecaster", "level"])
    m, k = s.loc[("manager", "group × period")], s.loc[("model", "group × period")]
    assert m["compared"] == k["compared"] == 2  # only Q2: Q1 has no system forecast
    assert m["mape"] == pytest.approx((2_000 / 27_000 + 3_000 / 9_000) / 2)
    assert m["bias"] == pytest.approx((-2_000 / 27_000 + 3_000 / 9_000) / 2)
    assert k["mape"] == pytest.approx((7_000 / 27_000 + 19_000 / 9_000) / 2)
    assert k["bias"] == pytest.approx((-7_000 / 27_000 + 19_000 / 9_000) / 2)
    assert s.loc[("manager", "period total"), "mape"] == pytest.approx(37_000 / 36_000 - 1)
    assert s.loc[("model", "period total"), "mape"] == pytest.approx(48_000 / 36_000 - 1)
    assert result.best == "manager"
    assert "best='manager'" in repr(result)


def test_the_past_system_forecast_is_the_backtests(team, result):
    deals, history, _ = team
    bt = ps.backtest(history, deals, "2026-04-01", periods=1, period="quarter")
    naive = bt.table[bt.table["method"] == "weighted pipeline"]["forecast"].iloc[0]
    q2 = result.table[result.table["period"] == "2026-Q2"]
    assert q2["system_forecast"].sum() == pytest.approx(naive)


def test_the_current_period_adds_closed_so_far(team):
    deals, history, commits = team
    got = compare_commits(deals, commits, history=history, as_of="2026-05-15")
    q2 = got.table[got.table["period"] == "2026-Q2"].set_index("owner")
    assert set(q2["status"]) == {"current"}
    # Ana: R2 7,000 + N5 20,000 won by 15 May, nothing of hers still open in Q2
    assert q2.loc["Ana", "actual"] == pytest.approx(27_000)
    assert q2.loc["Ana", "system_forecast"] >= 27_000
    assert np.isnan(q2.loc["Ana", "committed_error"])


def test_without_history_past_periods_have_no_system_forecast(team):
    deals, _, commits = team
    probs = {"Lead": 0.4, "Proposal": 0.5, "Negotiation": 2 / 3, "Renewal call": 0.6}
    got = compare_commits(deals, commits, probs, as_of="2026-06-30")
    past = got.table[got.table["status"] == "past"]
    assert past["system_forecast"].isna().all() and got.best is None
    assert any("stage history" in n for n in got.notes)


@pytest.mark.parametrize(
    ("value", "fys", "kind", "start", "end"),
    [
        ("2026-Q3", 1, "quarter", "2026-07-01", "2026-09-30"),
        ("Q3 2026", 1, "quarter", "2026-07-01", "2026-09-30"),
        ("FY2027-Q1", 7, "quarter", "2026-07-01", "2026-09-30"),
        ("2026-07", 1, "month", "2026-07-01", "2026-07-31"),
        ("2026", 1, "year", "2026-01-01", "2026-12-31"),
        (2026, 1, "year", "2026-01-01", "2026-12-31"),
        ("FY2027", 4, "year", "2026-04-01", "2027-03-31"),
    ],
)
def test_period_labels(value, fys, kind, start, end):
    got = parse_period_label(value, None, fys)
    assert got == (kind, pd.Timestamp(start), pd.Timestamp(end))


def test_a_date_is_the_period_containing_it():
    assert parse_period_label("2026-08-15", "quarter")[1:] == (
        pd.Timestamp("2026-07-01"),
        pd.Timestamp("2026-09-30"),
    )
    with pytest.raises(ps.PipesheetError, match="period length"):
        parse_period_label("2026-08-15")


def test_bad_commit_tables_are_refused_naming_the_cells(team):
    deals, _, commits = team
    table = ps.read_deals(deals)
    twice = pd.concat([commits, commits.iloc[[0]]], ignore_index=True)
    with pytest.raises(ps.PipesheetError) as err:
        read_commits(twice, table)
    assert "listed twice for 'Ana' in 2026-Q1" in str(err.value) and "rows 2, 8" in str(err.value)
    mixed = commits.copy()
    mixed.loc[2, "Quarter"] = "2026-05"
    with pytest.raises(ps.PipesheetError, match="periods of different lengths") as err:
        read_commits(mixed, table)
    assert "row 4" in str(err.value)
    bad = commits.copy()
    bad.loc[1, "Quarter"] = "next quarter"
    with pytest.raises(ps.PipesheetError) as err:
        read_commits(bad, table)
    assert "column 'Quarter'" in str(err.value) and "row 3" in str(err.value)
    amount = commits.astype({"Commit": object})
    amount.loc[0, "Commit"] = "lots"
    with pytest.raises(ps.PipesheetError, match="column 'Commit'"):
        read_commits(amount, table)
    nobody = commits.rename(columns={"Owner": "Who"})
    with pytest.raises(ps.PipesheetError, match="no column naming who"):
        read_commits(nobody, table)
    by_pipeline = pd.DataFrame(
        {"Pipeline": ["Renewal"], "Period": ["2026-Q3"], "Committed": [9000]}
    )
    got, fld, kind = read_commits(by_pipeline, table)
    assert (fld, kind) == ("pipeline", "quarter") and got["committed"].tolist() == [9000.0]


def test_a_past_that_cannot_be_rebuilt_is_said_not_fatal(team):
    """N4 (lost now, so its blank amount stops nothing today) was open on 2026-03-31: the
    backtest of Q2 needs its amount, refuses it, and the commits say why instead of failing."""
    deals, history, commits = team
    blank = deals.copy()
    blank.loc[blank["Deal ID"] == "N4", "Amount"] = None
    got = compare_commits(blank, commits, history=history, as_of="2026-06-30")
    q2 = got.table[got.table["period"] == "2026-Q2"]
    assert q2["system_forecast"].isna().all()
    assert q2["note"].str.contains("could not be rebuilt").all()
    assert "amount is blank" in q2["note"].iloc[0]
    future = got.table[got.table["status"] == "future"]
    assert future["system_forecast"].tolist() == pytest.approx([28_000, 13_000])
    skipped = compare_commits(
        blank, commits, history=history, as_of="2026-06-30", blank_amounts="skip"
    )
    assert skipped.table[skipped.table["period"] == "2026-Q2"]["system_forecast"].notna().all()
