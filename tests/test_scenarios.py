"""Scenarios (issue 14.2): each what-if's effect on the forecast, its range and P(≥ quota),
computed by hand on a pipeline of three open deals; the text syntax and its errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipesheet import (
    PipesheetError,
    StageList,
    StageProbabilities,
    apply_scenarios,
    days_in_stage_from_history,
    parse_scenario,
    pipeline_range,
)
from pipesheet.ranges import forecast_range
from pipesheet.sample import SAMPLE_AS_OF

PROBS = {"Lead": 0.5, "Qualified": 0.25, "Proposal": 0.2}
STAGES = StageList(("Lead", "Qualified", "Proposal"))
WINDOW = {"start": "2026-10-01", "end": "2026-12-31", "as_of": "2026-09-30"}

#: a = 100 at Lead (p .5), b = 300 at Qualified (.25), c = 1,000 at Proposal (.2) in Q4;
#: d = 500 at Proposal expected 2026-09-20 (before Q4); W won 100 in September
DEALS = pd.DataFrame(
    {
        "Deal ID": ["a", "b", "c", "d", "W"],
        "Stage": ["Lead", "Qualified", "Proposal", "Proposal", "Won"],
        "Amount": [100, 300, 1000, 500, 100],
        "Close Date": ["2026-10-10", "2026-11-15", "2026-12-20", "2026-09-20", "2026-09-15"],
    }
)


def run(*scenarios, quota=300, **kw):
    return apply_scenarios(
        DEALS, PROBS, list(scenarios), quota=quota, stages=STAGES, **WINDOW, **kw
    )


def test_the_baseline_is_the_forecast_range():
    res = run("drop-largest 1")
    base = pipeline_range(DEALS, PROBS, quota=300, stages=STAGES, **WINDOW)
    first = res.table.iloc[0]
    # weighted 100·.5 + 300·.25 + 1,000·.2 = 50 + 75 + 200 = 325
    assert first["forecast_before"] == base.mean == 325
    assert first["p_quota_before"] == base.p_quota
    # S over (a, b, c): 0 .3 | 100 .3 | 300 .1 | 400 .1 | 1000 .075 | 1100 .075 | 1300 .025 |
    # 1400 .025 → P10 0, P50 100, P90 1,100; P(S ≥ 300) = 1 − P(no b, no c) = 1 − .75·.8 = .4
    assert (first["p10_before"], first["p50_before"], first["p90_before"]) == (0, 100, 1100)
    assert first["p_quota_before"] == pytest.approx(0.4)
    assert first["open_deals_before"] == 3 and first["pipeline_before"] == 1400


def test_drop_the_largest_deal_by_hand():
    after = run("drop-largest 1").table.iloc[0]
    # forecast − a·p of the largest deal: 325 − 1,000·.2 = 125, exactly
    assert after["forecast_after"] == 125
    # S over (a, b): 0 .375 | 100 .375 | 300 .125 | 400 .125 → P50 100, P90 400; P(S ≥ 300) = .25
    assert (after["p10_after"], after["p50_after"], after["p90_after"]) == (0, 100, 400)
    assert after["p_quota_after"] == pytest.approx(0.25)
    assert after["open_deals_after"] == 2 and after["pipeline_after"] == 400
    assert "drops the 1 largest open deal(s): c (1,000 at Proposal, p 20%)" in after["change"]
    assert "weighted −200" in after["change"]


def test_drop_named_deals_is_the_same_as_dropping_them():
    named = run("drop c").table.iloc[0]
    largest = run("drop-largest 1").table.iloc[0]
    cols = [c for c in named.index if c.endswith("_after")]
    assert named[cols].tolist() == largest[cols].tolist()
    two = run("drop a, b").table.iloc[0]
    assert two["forecast_after"] == 200  # 325 − 50 − 75
    assert two["p_quota_after"] == pytest.approx(0.2)  # only c reaches 300


def test_slip_moves_deals_out_of_and_into_the_period():
    res = run("slip 30").table.iloc[0]
    # c: 2026-12-20 → 2027-01-19 leaves Q4 (−200); d: 2026-09-20 → 2026-10-20 enters (+500·.2)
    assert res["forecast_after"] == 325 - 200 + 100
    assert res["open_deals_after"] == 3
    assert "1 deal(s) leave the period (c " in res["change"]
    assert "1 enter it (d " in res["change"]
    back = run("slip -20").table.iloc[0]  # a: 10-10 → 09-20 leaves; d: 09-20 → 08-31 stays out
    assert back["forecast_after"] == 325 - 50


def test_change_a_stage_conversion():
    res = run("conversion Proposal=50%").table.iloc[0]
    # c at Proposal: 1,000 · (.5 − .2) = +300
    assert res["forecast_after"] == 625
    assert "instead of 20.0%" in res["change"] and "weighted +300" in res["change"]
    # P(S ≥ 300) = 1 − P(no b)·P(no c) = 1 − .75·.5 = .625
    assert res["p_quota_after"] == pytest.approx(0.625)
    for same in ("conversion proposal = 0.5", "conversion Proposal=50"):
        assert run(same).table.iloc[0]["forecast_after"] == 625


def test_add_leads_flow_into_the_period():
    res = run("add-leads 10/week cycle 60").table.iloc[0]
    # batches enter 10-01, 10-08, …; won ones close 60 days later: 11-30, 12-07, 12-14, 12-21,
    # 12-28 fall in Q4 (5 batches, 50 leads), each won with the first stage's p .5 at the average
    # won deal 100 (W): 50 · .5 · 100 = 2,500
    assert res["forecast_after"] == 325 + 2500
    assert res["open_deals_after"] == 53
    expected = forecast_range(
        [100, 300, 1000, *[100] * 50], [0.5, 0.25, 0.2, *[0.5] * 50], quota=300, closed=0.0
    )
    assert res["p_quota_after"] == pytest.approx(expected.p_quota)
    assert res["p50_after"] == expected.p50
    assert "5 weekly batch(es), 50 lead(s)" in res["change"]
    assert "between 2026-11-30 and 2026-12-28" in res["change"]
    # a cycle longer than the period: no lead closes in it
    none = run("add-leads 10/week cycle 120").table.iloc[0]
    assert none["forecast_after"] == 325 and "none closes by 2026-12-31" in none["change"]


def test_add_leads_learns_the_cycle_from_the_history(history, deals, rates):
    model = StageProbabilities().fit(history, deals)
    res = apply_scenarios(
        deals,
        model,
        "add-leads 10/week",
        quota=2_500_000,
        start="2026-10-01",
        end="2026-12-31",
        as_of=SAMPLE_AS_OF,
        rates=rates,
        history=history,
    ).table.iloc[0]
    days = days_in_stage_from_history(history, as_of=SAMPLE_AS_OF, stages=model.stages_)
    cycle = int(np.ceil(days["days_in_stage"].sum()))
    assert (
        f"after the {cycle}-day cycle (the sum of the days in each stage: median days of the "
        "completed visits to each stage by won deals" in res["change"]
    )
    first_close = pd.Timestamp("2026-10-01") + pd.Timedelta(days=cycle)
    batches = (pd.Timestamp("2026-12-31") - first_close).days // 7 + 1
    p1 = model.overall_["win_probability"].iloc[0]
    added = res["forecast_after"] - res["forecast_before"]
    average = added / (10 * batches * p1)
    assert f"average won deal {average:,.0f}" in res["change"]


def test_each_alone_and_combined():
    res = run("drop-largest 1", "conversion Proposal=50%", combine=True)
    t = res.table
    assert t["scenario"].tolist() == [
        "drop-largest 1",
        "conversion Proposal=50%",
        "drop-largest 1 + conversion Proposal=50%",
    ]
    # alone: 125 and 625; combined: the largest (c, the only Proposal deal in Q4) is gone first
    assert t["forecast_after"].tolist() == [125, 625, 125]
    assert (t["forecast_before"] == 325).all()
    assert "; then prices the 0 open deal(s) at Proposal" in t["change"].iloc[2]


def test_closed_so_far_counts_for_the_quota():
    deals = pd.concat(
        [
            DEALS,
            pd.DataFrame(
                {"Deal ID": ["X"], "Stage": ["Won"], "Amount": [250], "Close Date": ["2026-10-05"]}
            ),
        ],
        ignore_index=True,
    )
    res = apply_scenarios(
        deals,
        PROBS,
        "drop-largest 1",
        quota=300,
        start="2026-10-01",
        end="2026-12-31",
        stages=STAGES,
    )
    first = res.table.iloc[0]
    assert first["closed"] == 250
    # P(250 + S ≥ 300) = P(S ≥ 50): before 1 − P(nothing) = 1 − .5·.75·.8 = .7; after .625
    assert first["p_quota_before"] == pytest.approx(0.7)
    assert first["p_quota_after"] == pytest.approx(1 - 0.5 * 0.75)
    view = res.compare(0)
    assert view["measure"].tolist() == [
        "forecast",
        "pipeline",
        "open_deals",
        "p10",
        "p50",
        "p90",
        "closed",
        "p_quota",
    ]
    assert view.set_index("measure").loc["forecast", "change"] == -200
    assert view.attrs["change"].startswith("drops the 1 largest")


def test_the_printed_comparison():
    text = str(run("drop-largest 1"))
    assert "Scenario: drop-largest 1" in text
    assert "p_quota 40.0% 25.0% -15.0 pts" in " ".join(text.split())
    assert "what changed: drops the 1 largest" in text


# ---- the syntax --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "kind", "fields"),
    [
        ("drop-largest 3", "drop-largest", {"count": 3}),
        ("Drop Largest 2", "drop-largest", {"count": 2}),
        ("drop_largest 1", "drop-largest", {"count": 1}),
        ("drop D-0012,D-0044", "drop", {"ids": ("D-0012", "D-0044")}),
        ("drop D-0012, D-0044 ", "drop", {"ids": ("D-0012", "D-0044")}),
        ("slip 30", "slip", {"days": 30}),
        ("slip 30 days", "slip", {"days": 30}),
        ("slip -15", "slip", {"days": -15}),
        ("conversion Proposal=35%", "conversion", {"stage": "Proposal", "probability": 0.35}),
        ("conversion Needs Analysis = 0.2", "conversion", {"stage": "Needs Analysis"}),
        ("add-leads 10/week", "add-leads", {"count": 10, "days": None}),
        ("add leads 10", "add-leads", {"count": 10}),
        ("add-leads 10/week cycle 60", "add-leads", {"count": 10, "days": 60}),
    ],
)
def test_the_syntax(text, kind, fields):
    s = parse_scenario(text)
    assert s.kind == kind
    for name, value in fields.items():
        assert getattr(s, name) == value


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("drop-largest x", "N must be a whole number ≥ 1, not 'x'; expected drop-largest N"),
        ("drop-largest 0", "N must be a whole number ≥ 1"),
        ("slip 3.5", "N must be a whole number, not '3.5'; expected slip N"),
        ("conversion Proposal=150%", "'150%' is not a probability"),
        ("conversion Proposal", "not a valid conversion scenario; expected conversion STAGE=P"),
        ("add-leads 10/month", "not a valid add-leads scenario; expected add-leads N/week"),
        ("drop", "not a valid drop scenario"),
        ("lose the big one", "not understood; expected one of: drop-largest N"),
        ("", "a scenario is blank"),
    ],
)
def test_syntax_errors_name_the_text_and_what_was_expected(text, says):
    with pytest.raises(PipesheetError) as err:
        parse_scenario(text)
    message = str(err.value)
    assert says in message
    assert message.startswith("table 'settings', column 'scenario'")
    if text.strip():
        assert f"scenario {' '.join(text.split())!r}" in message


@pytest.mark.parametrize(
    ("scenario", "says"),
    [
        ("drop zz", "no deal 'zz' in the deals table"),
        ("drop W", "deal 'W' is not an open deal of the forecast (it is won)"),
        ("drop d", "(expected to close 2026-09-20, outside the period)"),
        ("conversion Negotiation=50%", "'Negotiation' is not an open stage"),
        ("add-leads 5/week", "the days a new lead takes to close are unknown"),
    ],
)
def test_scenario_errors_on_the_data(scenario, says):
    with pytest.raises(PipesheetError) as err:
        run(scenario)
    assert says in str(err.value)
    assert scenario in str(err.value)


def test_add_leads_needs_a_period_end():
    with pytest.raises(PipesheetError, match="new leads need a period end"):
        apply_scenarios(DEALS, PROBS, "add-leads 5/week cycle 10", stages=STAGES)
