"""Reverse funnel, quota gap, coverage ratio and sales velocity."""

from __future__ import annotations

import itertools
import math

import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pipesheet import (
    PipesheetError,
    StageList,
    StageProbabilities,
    coverage_ratio,
    leads_needed,
    quota_gap,
    sales_velocity,
)

GLOSSARY = {"Lead": 0.5, "Qualified": 0.4, "Proposal": 0.25}


def test_glossary_reverse_funnel():
    # 1,000,000 / 25,000 = 40 won; Proposal 40 / .25 = 160; Qualified 40 / (.4 · .25) = 400;
    # Lead 40 / (.5 · .4 · .25) = 800
    plan = leads_needed(1_000_000, 25_000, GLOSSARY)
    assert plan.won_needed == 40
    assert plan.table["stage"].tolist() == ["Lead", "Qualified", "Proposal", "Won"]
    assert plan.table["deals_needed"].tolist() == [800, 400, 160, 40]
    assert plan.table["conversion_to_won"].tolist() == pytest.approx([0.05, 0.1, 0.25, 1.0])
    assert plan.leads == 800
    text = " ".join(plan.explanation)
    assert "1,000,000 ÷ average deal 25,000 = 40 → 40 won deals" in text
    assert "800 at Lead" in text


def test_rounding_up_without_compounding():
    # 1,000 / 300 = 3.33 -> 4 won; Proposal 4 / .3 = 13.3 -> 14; Lead 4 / (.3 · .3) = 44.4 -> 45
    # (rounding stage by stage would give ⌈14 / .3⌉ = 47: it must not compound)
    plan = leads_needed(1_000, 300, [("Lead", 30), ("Proposal", "30%")])  # 30 read as 30%
    assert plan.table["deals_needed"].tolist() == [45, 14, 4]
    # exact quotients are not pushed up by floating point: 40 / 0.1 is 400, not 401
    assert leads_needed(40, 1, {"A": 0.1}).table["deals_needed"].tolist() == [400, 40]


def test_deadline_gives_enter_by_dates():
    plan = leads_needed(
        1_000_000,
        25_000,
        GLOSSARY,
        deadline="2026-12-31",
        days_in_stage={"Lead": 10, "Qualified": 20, "Proposal": 30},
    )
    # Proposal deals by Dec 31 − 30 d = Dec 1; Qualified − 50 d = Nov 11; Lead − 60 d = Nov 1
    assert plan.table["enter_by"].dt.strftime("%Y-%m-%d").tolist() == [
        "2026-11-01",
        "2026-11-11",
        "2026-12-01",
        "2026-12-31",
    ]
    with pytest.raises(PipesheetError, match="days in stage missing"):
        leads_needed(1, 1, GLOSSARY, deadline="2026-12-31", days_in_stage={"Lead": 1})


def test_conversions_from_a_table_and_from_learned_probabilities():
    table = pd.DataFrame(
        {"Stage": ["Lead", "Qualified", "Proposal"], "Conversion": ["50%", 40, 25]}
    )
    # "50%" as text, 40 and 25 as percentages (one scale for the table): all read the same way
    assert leads_needed(1_000_000, 25_000, table).leads == 800
    table["Conversion"] = ["half", 40, 25]
    with pytest.raises(PipesheetError, match="row 2"):
        leads_needed(1_000_000, 25_000, table)
    history = pd.DataFrame(
        {
            "Deal ID": ["a", "a", "a", "b", "b", "c"],
            "Stage": ["Lead", "Proposal", "Won", "Lead", "Lost", "Lead"],
            "Date": [
                "2026-01-01",
                "2026-01-02",
                "2026-01-03",
                "2026-01-01",
                "2026-01-02",
                "2026-01-01",
            ],
        }
    )
    model = StageProbabilities(stages=StageList(("Lead", "Proposal"))).fit(history)
    # step conversion Lead -> Proposal: a (yes), b (no) = 1/2; Proposal -> Won 1/1
    plan = leads_needed(10, 1, model)
    assert plan.table["deals_needed"].tolist() == [20, 10, 10]


@pytest.mark.parametrize(
    ("args", "word"),
    [
        ((-1, 10, GLOSSARY), "target is not valid"),
        ((100, 0, GLOSSARY), "average deal is not valid"),
        ((100, "x", GLOSSARY), "average deal is not valid"),
        ((100, 10, {"Lead": 0}), "conversion is zero"),
        ((100, 10, {"Lead": 250}), "above 100%"),
        ((100, 10, {}), "no stages in the conversions"),
        ((100, 10, {"Lead": float("nan")}), "conversion rate of stage 'Lead' is unknown"),
    ],
)
def test_bad_plan_inputs(args, word):
    with pytest.raises(PipesheetError, match=word):
        leads_needed(*args)


@settings(max_examples=100, deadline=None)
@given(
    st.floats(0, 1e9),
    st.floats(1, 1e6),
    st.lists(st.floats(0.01, 1), min_size=1, max_size=6),
)
def test_lead_counts_monotone_along_the_funnel(target, average, rates):
    # counts beyond 2**53 are refused as unrealistic (test_surfaces_cli covers that message)
    assume(target / average / math.prod(rates) < 2**52)
    plan = leads_needed(target, average, [(f"S{i}", r) for i, r in enumerate(rates)])
    needed = plan.table["deals_needed"].tolist()
    assert all(a >= b for a, b in itertools.pairwise(needed))
    assert needed[-1] == plan.won_needed == math.ceil(round(target / average, 9))
    # enough deals: each stage's count times its conversion to Won covers the won deals needed
    for n, c in zip(needed, plan.table["conversion_to_won"], strict=True):
        assert n * c >= plan.won_needed * (1 - 1e-9) - 1e-9


def test_quota_gap_hand_worked():
    # quota 1,000,000 − closed 400,000 − expected from open 250,000 = gap 350,000
    # 350,000 / 25,000 = 14 new won deals; / 5% lead-to-win = 280 new leads
    # time left: Jul 1 -> Sep 30 = 91 days − 35-day cycle = 56 days = 8 weeks -> 35 leads a week
    gap = quota_gap(
        1_000_000,
        400_000,
        250_000,
        average_deal=25_000,
        lead_to_win_rate=0.05,
        open_pipeline=900_000,
        as_of="2026-07-01",
        period_end="2026-09-30",
        cycle_days=35,
    )
    assert gap.gap == 350_000 and gap.new_revenue_needed == 350_000
    assert gap.new_won_deals == 14 and gap.new_leads == 280
    assert gap.selling_weeks == pytest.approx(8)
    assert gap.leads_per_week == pytest.approx(35)
    assert gap.coverage == pytest.approx(900_000 / 600_000)
    frame = gap.to_frame().set_index("measure")["value"]
    assert frame["new_leads"] == 280
    assert any("35.0 new leads per week" in s for s in gap.explanation)


def test_quota_gap_covered_and_no_time_left():
    covered = quota_gap(100, 50, 60, average_deal=10, lead_to_win_rate=0.1)
    assert covered.gap == pytest.approx(-10) and covered.new_leads == 0
    late = quota_gap(
        100,
        0,
        0,
        average_deal=10,
        lead_to_win_rate=0.1,
        as_of="2026-09-20",
        period_end="2026-09-30",
        cycle_days=30,
    )
    assert late.new_leads == 100 and math.isinf(late.leads_per_week)
    assert any("can no longer close" in s for s in late.explanation)


def test_coverage_and_velocity():
    assert coverage_ratio(900_000, 1_000_000, 400_000) == pytest.approx(1.5)
    assert math.isinf(coverage_ratio(10, 100, 100))
    # 40 opportunities × 25% × 20,000 ÷ 50 days = 4,000 per day
    assert sales_velocity(40, 0.25, 20_000, 50) == pytest.approx(4_000)
    assert sales_velocity(40, 25, 20_000, 50) == pytest.approx(4_000)  # 25 read as 25%
    with pytest.raises(PipesheetError, match="cycle days is not valid"):
        sales_velocity(40, 0.25, 20_000, 0)
