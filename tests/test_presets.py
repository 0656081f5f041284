"""CRM presets and user-supplied probability tables; the bundled sample through every function."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pipesheet import (
    PipesheetError,
    StageProbabilities,
    coverage_ratio,
    forecast_categories,
    leads_needed,
    pipeline_position,
    preset,
    probability_table,
    quota_gap,
    read_deals,
    read_history,
    sales_velocity,
    stage_probabilities,
    stages_from_probabilities,
    weighted_forecast,
)


def as_percent(name: str) -> dict[str, int]:
    t = preset(name)
    return dict(zip(t["stage"], (t["probability"] * 100).round().astype(int), strict=True))


def test_salesforce_defaults():
    # Salesforce's default Opportunity stages and their default probabilities
    assert as_percent("Salesforce") == {
        "Prospecting": 10,
        "Qualification": 10,
        "Needs Analysis": 20,
        "Value Proposition": 50,
        "Id. Decision Makers": 60,
        "Perception Analysis": 70,
        "Proposal/Price Quote": 75,
        "Negotiation/Review": 90,
        "Closed Won": 100,
        "Closed Lost": 0,
    }


def test_hubspot_defaults():
    # HubSpot's default sales pipeline
    assert as_percent("hubspot") == {
        "Appointment Scheduled": 20,
        "Qualified To Buy": 40,
        "Presentation Scheduled": 60,
        "Decision Maker Bought-In": 80,
        "Contract Sent": 90,
        "Closed Won": 100,
        "Closed Lost": 0,
    }


def test_suitecrm_defaults():
    # SuiteCRM's sales_probability_dom (the same in its language files)
    assert as_percent(" SuiteCRM ") == {
        "Prospecting": 10,
        "Qualification": 20,
        "Needs Analysis": 25,
        "Value Proposition": 30,
        "Id. Decision Makers": 40,
        "Perception Analysis": 50,
        "Proposal/Price Quote": 65,
        "Negotiation/Review": 80,
        "Closed Won": 100,
        "Closed Lost": 0,
    }


def test_unknown_preset():
    with pytest.raises(PipesheetError, match="unknown preset") as err:
        preset("pipedrive")
    assert "salesforce, hubspot, suitecrm" in str(err.value)


def test_preset_drives_a_forecast_and_a_stage_order():
    stages = stages_from_probabilities("hubspot")
    assert stages.open[0] == "Appointment Scheduled" and stages.open[-1] == "Contract Sent"
    deals = pd.DataFrame(
        {
            "Record ID": [1, 2, 3],
            "Deal Stage": ["Contract Sent", "appointment scheduled", "Closed Won"],
            "Amount": [1_000, 1_000, 5_000],
        }
    )
    out = weighted_forecast(deals, "hubspot", stages=stages, period=None)
    assert out["weighted"].iloc[0] == pytest.approx(900 + 200)


def test_user_tables():
    t = probability_table(pd.DataFrame({"Stage Name": ["A", "B"], "Probability (%)": [10, "55"]}))
    assert t["probability"].tolist() == [0.10, 0.55]  # percentages because one is above 1
    t = probability_table({"A": 0.1, "B": 0.5})
    assert t["probability"].tolist() == [0.1, 0.5]
    with pytest.raises(PipesheetError, match="probability above 100") as err:
        probability_table(pd.DataFrame({"stage": ["A", "B"], "probability": [10, 150]}))
    assert "row 3" in str(err.value)
    with pytest.raises(PipesheetError, match="stage is blank"):
        probability_table(pd.DataFrame({"stage": ["A", None], "probability": [10, 20]}))


# ---- the bundled sample through every function (smoke / integration) ------------------------
def test_sample_through_every_function():
    from pipesheet.sample import SAMPLE_AS_OF, sample_deals, sample_history, sample_rates

    deals, history, rates = sample_deals(), sample_history(), sample_rates()
    d = read_deals(deals)
    h = read_history(history, deals=d)
    assert h.stages.open == ("Lead", "Qualified", "Proposal", "Negotiation")
    for method in ("cohort", "markov"):
        model = StageProbabilities(method).fit(history, deals)
        p = model.table_["win_probability"]
        assert p.between(0, 1).all()
        # later stages win more often in the sample
        assert p.is_monotonic_increasing
    grouped = StageProbabilities(by="Segment", shrinkage=20, as_of="2026-06-30").fit(history, deals)
    assert set(grouped.table_["segment"]) == {"SMB", "Mid-Market", "Enterprise"}
    table = stage_probabilities(history, deals)
    assert "configured_probability" in table
    model = StageProbabilities().fit(history, deals)
    fc = weighted_forecast(deals, model, period="quarter", by="Owner", rates=rates, total=True)
    total = fc.iloc[-1]
    assert total["weighted"] <= total["pipeline"]
    assert fc.attrs["currency"] == "EUR"
    categories = forecast_categories(deals, rates=rates).set_index("category")
    rolled = categories.loc[["Closed", "Commit", "Best Case", "Pipeline"], "rollup"]
    assert rolled.is_monotonic_increasing and rolled.iloc[0] > 0
    pos = pipeline_position(deals, model, "2026-10-01", "2026-12-31", rates=rates)
    assert pos.open_deals > 0 and 0 < pos.win_rate < 1 and pos.average_cycle_days > 0
    plan = leads_needed(2_000_000, pos.average_won_deal, model)
    assert plan.table["deals_needed"].is_monotonic_decreasing
    gap = quota_gap(
        2_000_000,
        pos.closed,
        pos.expected_open,
        average_deal=pos.average_won_deal,
        lead_to_win_rate=model.overall_["win_probability"].iloc[0],
        open_pipeline=pos.open_pipeline,
        as_of=SAMPLE_AS_OF,
        period_end="2026-12-31",
        cycle_days=pos.average_cycle_days,
    )
    assert gap.coverage == pytest.approx(coverage_ratio(pos.open_pipeline, 2_000_000, pos.closed))
    velocity = sales_velocity(pos.open_deals, pos.win_rate, pos.average_won_deal, 60)
    assert velocity > 0 and not math.isnan(velocity)
    # the snapshot alone: stage probabilities are not identifiable
    snap = StageProbabilities().fit(deals=deals.drop(columns=["Probability (%)"]))
    assert snap.table_["win_probability"].isna().all()
    assert np.isfinite(fc["std_dev"]).all()
