"""Quota tables and the team hierarchy (issue 14.1): hand-worked figures, exact roll-ups to the
cent, P(≥ quota) of a team from its own deals, period labels, and clear refusals."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from pipesheet import (
    PipesheetError,
    StageList,
    StageProbabilities,
    period_labels,
    period_window,
    pipeline_range,
    quota_gap,
    quota_table,
    read_hierarchy,
    read_quotas,
)
from pipesheet.exports import read_table
from pipesheet.sample import SAMPLE_AS_OF

FIXTURES = Path(__file__).parent / "fixtures" / "planning"
PROBS = {"Lead": 0.1, "Proposal": 0.5}


@pytest.fixture(scope="module")
def files():
    return {
        name: read_table(FIXTURES / f"{name}.csv")
        for name in ("deals", "quotas", "teams", "probabilities")
    }


@pytest.fixture(scope="module")
def result(files):
    return quota_table(
        files["deals"],
        PROBS,
        files["quotas"],
        by="owner",
        hierarchy=files["teams"],
        as_of="2026-08-02",
        average_deal=250,
        lead_to_win_rate=0.25,
        cycle_days=0,
    )


def row(res, name: str) -> pd.Series:
    t = res.table
    return t[t["name"] == name].iloc[0]


def test_hand_worked_rows(result):
    # Ana: won 0.10 (D-01); open in Q3 D-03 1,000 at Proposal (p .5) → expected 500
    ana = row(result, "Ana")
    assert (ana["quota"], ana["closed"], ana["expected"]) == (1000.10, 0.10, 500.0)
    assert ana["gap"] == 500.0  # 1,000.10 − 0.10 − 500
    assert ana["coverage"] == 1.0  # pipeline 1,000 ÷ (1,000.10 − 0.10)
    # P(0.10 + 1,000·B ≥ 1,000.10) = P(B = 1) = .5
    assert ana["p_quota"] == pytest.approx(0.5)
    # Ben: won 0.20, D-04 2,000 at Lead (p .1) → 200; D-07 lost is no money
    ben = row(result, "Ben")
    assert (ben["quota"], ben["closed"], ben["expected"], ben["gap"]) == (500.2, 0.2, 200.0, 300.0)
    assert ben["p_quota"] == pytest.approx(0.1)
    # D-06 (Ana, November) is outside Q3: in no Q3 figure
    assert ana["pipeline"] == 1000.0 and ana["open_deals"] == 1 and ana["won_deals"] == 1
    assert row(result, "Cleo")["expected"] == 1500.0


def test_the_team_rolls_up_to_the_cent(result):
    team = row(result, "Team A")
    assert team["level"] == "Team" and team["parent"] == "EU"
    # 0.10 + 0.20 is 0.30000000000000004 in floating point; the roll-up is exact
    assert 0.1 + 0.2 != 0.3
    assert team["closed"] == 0.30
    assert team["quota"] == 1500.30
    assert team["gap"] == 800.0 == row(result, "Ana")["gap"] + row(result, "Ben")["gap"]
    for col in ("quota", "closed", "expected", "gap", "pipeline"):
        members = result.table[result.table["parent"] == "Team A"][col]
        assert round(team[col] * 100) == sum(round(v * 100) for v in members)
    region = row(result, "EU")
    assert region["quota"] == 4500.30  # 1,000.10 + 500.20 + 3,000.00
    assert region["closed"] == 0.30 and region["expected"] == 2200.0


def test_a_team_probability_comes_from_its_own_deals(result):
    # Team A: closed 0.30, S = 1,000·B3 + 2,000·B4, quota 1,500.30 → P(S ≥ 1,500) = P(B4) = .1
    # (not .5 + .1, not .5 · .1)
    assert row(result, "Team A")["p_quota"] == pytest.approx(0.1)
    # EU: S = 1,000·B3 + 2,000·B4 + 3,000·B5 ≥ 4,500 only with B4 and B5: .1 · .5 = .05
    assert row(result, "EU")["p_quota"] == pytest.approx(0.05)
    # the same as the range of those deals
    rng = pipeline_range(
        pd.DataFrame(
            {
                "Deal ID": ["a", "b", "c"],
                "Stage": ["Proposal", "Lead", "Proposal"],
                "Amount": [1000, 2000, 3000],
            }
        ),
        PROBS,
        quota=4500.30,
        closed=0.30,
    )
    assert rng.p_quota == pytest.approx(row(result, "EU")["p_quota"])


def test_leads_per_week_is_the_quota_gap_arithmetic(result):
    # as of 2026-08-02, Q3 ends 2026-09-30: 59 days, cycle 0 → 59/7 weeks
    for name in ("Ana", "Ben", "Team A", "EU"):
        r = row(result, name)
        g = quota_gap(
            r["quota"],
            r["closed"],
            r["expected"],
            average_deal=250,
            lead_to_win_rate=0.25,
            as_of="2026-08-02",
            period_end="2026-09-30",
        )
        assert (r["new_leads"], r["leads_per_week"]) == (g.new_leads, g.leads_per_week)
    # Ana: ⌈500 / 250⌉ = 2 won, ÷ .25 = 8 leads over 59/7 weeks
    assert row(result, "Ana")["leads_per_week"] == pytest.approx(8 / (59 / 7))


def test_outline_order_and_notes(result):
    assert result.table["name"].tolist() == ["Ana", "Ben", "Team A", "Cleo", "Team B", "EU"]
    assert result.table["level"].tolist() == ["Owner", "Owner", "Team", "Owner", "Team", "Region"]
    assert set(result.table["period"]) == {"Q3 2026"}
    assert result.table["start"].iloc[0] == pd.Timestamp("2026-07-01")
    assert result.table["end"].iloc[0] == pd.Timestamp("2026-09-30")
    # Dan has a deal but no quota: said, and in no row
    assert any("Dan" in n and "no quota row" in n for n in result.notes)
    assert row(result, "Team B")["expected"] == 1500.0  # Cleo only
    text = str(result)
    assert "Team A" in text and "1,500.30" in text and "10.0%" in text


def test_exact_sums_of_many_tenths():
    # ten owners of 0.10 each: the float sum is 0.9999999999999999, the roll-up 1.00
    owners = [f"O{i}" for i in range(10)]
    assert sum([0.1] * 10) != 1.0
    deals = pd.DataFrame(
        {
            "Deal ID": [f"D{i}" for i in range(10)],
            "Stage": "Won",
            "Amount": 0.1,
            "Close Date": "2026-07-10",
            "Owner": owners,
        }
    )
    quotas = pd.DataFrame({"Owner": owners, "Period": "2026-Q3", "Quota": 0.1})
    teams = pd.DataFrame({"Owner": owners, "Team": "T"})
    stages = StageList(("Lead", "Proposal"))
    res = quota_table(
        deals, PROBS, quotas, hierarchy=teams, stages=stages, average_deal=1, lead_to_win_rate=1
    )
    t = row(res, "T")
    assert (t["quota"], t["closed"], t["gap"]) == (1.0, 1.0, 0.0)
    assert t["p_quota"] == 1.0  # closed already meets it


def test_without_a_hierarchy_a_total_per_period(files):
    res = quota_table(files["deals"], PROBS, files["quotas"], as_of="2026-08-02")
    assert res.table["name"].tolist() == ["Ana", "Ben", "Cleo", "Total"]
    total = res.table.iloc[-1]
    assert total["level"] == "total" and total["quota"] == 4500.30 and total["closed"] == 0.30
    # the team's figures (average deal, lead-to-win rate = the first stage's p) when not given
    assert res.average_deal == pytest.approx(0.15) and res.lead_to_win_rate == 0.1


def test_quotas_by_team_match_deals_through_the_hierarchy(files):
    quotas = pd.DataFrame({"Team": ["Team A", "Team B"], "Quota": [1500, 3500]})
    res = quota_table(
        files["deals"],
        PROBS,
        quotas,
        hierarchy=files["teams"],
        start="2026-07-01",
        end="2026-09-30",
        as_of="2026-08-02",
    )
    assert res.table["name"].tolist() == ["Team A", "Team B", "EU"]
    # Team B holds Cleo's 3,000 and Dan's 400 (p .1): 1,500 + 40
    assert row(res, "Team B")["expected"] == 1540.0
    assert row(res, "EU")["quota"] == 5000.0


def test_several_periods_each_with_its_own_deals(files):
    quotas = pd.DataFrame(
        {"Owner": ["Ana", "Ana"], "Period": ["2026-Q3", "2026-Q4"], "Quota": [1000, 4000]}
    )
    res = quota_table(files["deals"], PROBS, quotas, as_of="2026-08-02")
    q3, q4 = res.table.iloc[0], res.table.iloc[1]
    assert (q3["period"], q3["expected"]) == ("2026-Q3", 500.0)
    assert (q4["period"], q4["expected"], q4["closed"]) == ("2026-Q4", 2500.0, 0.0)


def test_one_quota_for_everyone():
    deals = pd.DataFrame(
        {
            "Deal ID": ["a", "b"],
            "Stage": ["Proposal", "Won"],
            "Amount": [100, 50],
            "Close Date": ["2026-07-10", "2026-07-05"],
        }
    )
    res = quota_table(deals, PROBS, pd.DataFrame({"Period": ["2026-07"], "Quota": [100]}))
    t = res.table.iloc[0]
    assert (t["level"], t["name"], t["closed"], t["expected"], t["gap"]) == (
        "total",
        "Total",
        50.0,
        50.0,
        0.0,
    )
    assert t["p_quota"] == pytest.approx(0.5)


def test_the_sample_matches_the_forecast(deals, history, rates):
    model = StageProbabilities().fit(history, deals)
    owners = ["Zoë Müller", "Priya Raman"]
    quotas = pd.DataFrame({"Owner": owners, "Period": "2026-Q4", "Quota": [300_000, 250_000]})
    res = quota_table(deals, model, quotas, as_of=SAMPLE_AS_OF, rates=rates)
    frame = model.deals_.frame
    for name in owners:
        one = deals[deals["Owner"] == name]
        rng = pipeline_range(
            one,
            model,
            quota=row(res, name)["quota"],
            start="2026-10-01",
            end="2026-12-31",
            as_of=SAMPLE_AS_OF,
            rates=rates,
        )
        assert row(res, name)["expected"] == pytest.approx(rng.mean, abs=0.005)
        assert row(res, name)["p_quota"] == pytest.approx(rng.p_quota, abs=1e-9)
    assert len(frame) == len(deals)


# ---- period labels ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("label", "start", "end"),
    [
        ("2026", "2026-01-01", "2026-12-31"),
        ("2026-Q3", "2026-07-01", "2026-09-30"),
        ("Q3 2026", "2026-07-01", "2026-09-30"),
        ("q4-2026", "2026-10-01", "2026-12-31"),
        ("2026-H2", "2026-07-01", "2026-12-31"),
        ("2026-07", "2026-07-01", "2026-07-31"),
        ("2026/02", "2026-02-01", "2026-02-28"),
        ("Jul 2026", "2026-07-01", "2026-07-31"),
        ("september 2026", "2026-09-01", "2026-09-30"),
        (2026.0, "2026-01-01", "2026-12-31"),
    ],
)
def test_period_labels(label, start, end):
    assert period_window(label) == (pd.Timestamp(start), pd.Timestamp(end))


def test_fiscal_labels_read_back_what_period_labels_write():
    # fiscal year from July, named by the year it ends in: FY2027-Q1 = Jul–Sep 2026
    assert period_window("FY2027-Q1", 7) == (pd.Timestamp("2026-07-01"), pd.Timestamp("2026-09-30"))
    assert period_window("FY2027", 7) == (pd.Timestamp("2026-07-01"), pd.Timestamp("2027-06-30"))
    days = pd.Series(pd.date_range("2025-01-01", "2027-12-31", freq="13D"))
    for period, fy in (("month", 1), ("quarter", 1), ("year", 1), ("quarter", 7), ("year", 4)):
        labels = period_labels(days, period, fy)
        for day, label in zip(days, labels, strict=True):
            first, last = period_window(label, fy)
            assert first <= day <= last, (label, day)


@pytest.mark.parametrize("bad", ["2026-13", "Q5 2026", "next quarter", "", "26-Q3", True])
def test_not_a_period_label(bad):
    with pytest.raises(PipesheetError, match="period"):
        period_window(bad)


# ---- refusals ----------------------------------------------------------------------------------
def test_a_duplicate_quota_is_refused_naming_both_rows():
    quotas = pd.DataFrame(
        {
            "Owner": ["Ana", "Ben", "ana "],
            "Period": ["2026-Q3", "2026-Q3", "2026-Q3"],
            "Quota": [1, 2, 3],
        }
    )
    with pytest.raises(PipesheetError) as err:
        read_quotas(quotas)
    assert "quota listed twice for Owner 'Ana', period 2026-Q3" in str(err.value)
    assert "rows 2, 4" in str(err.value)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"Owner": ["Ana"], "Period": ["2026-Q3"], "Quota": ["250k"]}, "magnitude suffix"),
        ({"Owner": ["Ana"], "Period": ["2026-Q3"], "Quota": [None]}, "quota is blank"),
        ({"Owner": [None], "Period": ["2026-Q3"], "Quota": [1]}, "Owner is blank"),
        ({"Owner": ["Ana"], "Period": ["soon"], "Quota": [1]}, "row 2: period is not a period"),
        ({"Owner": ["Ana"], "Quota": [1]}, "the quotas have no period"),
        (
            {"Owner": ["Ana"], "Start": ["2026-09-30"], "End": ["2026-07-01"], "Quota": [1]},
            "ends before it starts",
        ),
        (
            {
                "Owner": ["Ana"],
                "Period": ["2026-Q3"],
                "Start": ["2026-07-01"],
                "End": ["2026-08-31"],
                "Quota": [1],
            },
            "the period label and the start/end dates disagree",
        ),
        ({"Owner": ["Ana"], "Team": ["A"], "Period": ["2026-Q3"], "Quota": [1]}, "by="),
    ],
)
def test_bad_quota_tables(table, message):
    with pytest.raises(PipesheetError, match="table 'quotas'") as err:
        read_quotas(pd.DataFrame(table))
    assert message in str(err.value)


def test_dates_or_labels_and_the_settings_in_one_place():
    dated = pd.DataFrame(
        {"Owner": ["Ana"], "Start": ["2026-07-01"], "End": ["30/09/2026"], "Quota": ["1,500"]}
    )
    q = read_quotas(dated)
    assert (q["start"].iloc[0], q["end"].iloc[0], q["quota"].iloc[0]) == (
        pd.Timestamp("2026-07-01"),
        pd.Timestamp("2026-09-30"),
        1500.0,
    )
    with pytest.raises(PipesheetError, match="own periods"):
        read_quotas(dated, start="2026-07-01", end="2026-09-30")
    plain = read_quotas(
        pd.DataFrame({"Owner": ["Ana"], "Quota": [1]}), start="2026-07-01", end="2026-09-30"
    )
    assert plain["period"].iloc[0] == "2026-07-01 – 2026-09-30"


def test_bad_hierarchies():
    with pytest.raises(PipesheetError, match=r"Owner listed twice \(value 'Ana'\)") as err:
        read_hierarchy(pd.DataFrame({"Owner": ["Ana", "Ben", "Ana"], "Team": ["A", "A", "B"]}))
    assert "rows 2, 4" in str(err.value)
    with pytest.raises(PipesheetError, match="Team 'A' is under more than one Region"):
        read_hierarchy(
            pd.DataFrame({"Owner": ["a", "b"], "Team": ["A", "A"], "Region": ["EU", "US"]})
        )
    with pytest.raises(PipesheetError, match="Team is blank"):
        read_hierarchy(pd.DataFrame({"Owner": ["a", "b"], "Team": ["A", None]}))
    with pytest.raises(PipesheetError, match="at least two levels"):
        read_hierarchy(pd.DataFrame({"Owner": ["a"]}))


def test_a_quota_member_missing_from_the_hierarchy(files):
    quotas = pd.DataFrame({"Owner": ["Ana", "Zed"], "Period": "2026-Q3", "Quota": [1, 2]})
    with pytest.raises(PipesheetError) as err:
        quota_table(files["deals"], PROBS, quotas, hierarchy=files["teams"])
    assert "Owner 'Zed' is not in the hierarchy" in str(err.value) and "row 3" in str(err.value)


def test_a_group_the_deals_do_not_have(files):
    quotas = pd.DataFrame({"Region": ["EU"], "Period": "2026-Q3", "Quota": [1]})
    with pytest.raises(PipesheetError, match="no column 'Region' to match the quotas on"):
        quota_table(files["deals"], PROBS, quotas)


def test_an_owner_without_deals_is_named():
    deals = pd.DataFrame(
        {
            "Deal ID": ["a"],
            "Stage": ["Proposal"],
            "Amount": [100],
            "Close Date": ["2026-07-10"],
            "Owner": ["Ana"],
        }
    )
    quotas = pd.DataFrame({"Owner": ["Ana", "Zoe"], "Period": "2026-Q3", "Quota": [1, 2]})
    res = quota_table(deals, PROBS, quotas)
    assert row(res, "Zoe")["expected"] == 0.0 and row(res, "Zoe")["p_quota"] == 0.0
    assert any("no deal of Owner 'Zoe'" in n for n in res.notes)
    assert math.isnan(row(res, "Zoe")["leads_per_week"])  # no as-of: no pace
