"""Weighted forecast, periods, currencies, forecast categories and the period position."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipesheet import (
    PipesheetError,
    StageList,
    StageProbabilities,
    forecast_categories,
    period_labels,
    pipeline_position,
    weighted_forecast,
)

STAGES = StageList(("Lead", "Qualified", "Proposal"))
PROBS = {"Lead": 0.05, "Qualified": 0.10, "Proposal": 0.25}


def test_glossary_worked_example():
    # 100,000 at Proposal (p = 0.25) and 40,000 at Qualified (p = 0.10):
    # weighted = 25,000 + 4,000 = 29,000
    # variance = 100000²·0.25·0.75 + 40000²·0.1·0.9 = 1,875,000,000 + 144,000,000 = 2,019,000,000
    deals = pd.DataFrame(
        {"Deal ID": ["a", "b"], "Stage": ["Proposal", "Qualified"], "Amount": [100_000, 40_000]}
    )
    out = weighted_forecast(deals, PROBS, period=None, stages=STAGES)
    row = out.iloc[0]
    assert row["deals"] == 2
    assert row["pipeline"] == 140_000
    assert row["weighted"] == pytest.approx(29_000)
    assert row["std_dev"] ** 2 == pytest.approx(2_019_000_000)


def sample_deals() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Deal ID": ["d1", "d2", "d3", "d4", "d5", "d6"],
            "Stage": ["Lead", "Proposal", "Qualified", "Closed Won", "Closed Lost", "Proposal"],
            "Amount": [10_000, 20_000, 5_000, 50_000, 7_000, 8_000],
            "Expected Close Date": [
                "2026-07-15",
                "2026-08-20",
                "2026-10-01",
                "2026-07-01",
                "2026-07-02",
                None,
            ],
            "Owner": ["Ann", "Bob", "Ann", "Ann", "Bob", "Bob"],
        }
    )


def test_by_month_hand_worked():
    out = weighted_forecast(sample_deals(), PROBS, stages=STAGES)
    # open deals only (Won d4 and Lost d5 are not pipeline):
    # 2026-07: d1 10,000 × 0.05 = 500          variance 10000²·.05·.95 = 4,750,000
    # 2026-08: d2 20,000 × 0.25 = 5,000        variance 20000²·.25·.75 = 75,000,000
    # 2026-10: d3  5,000 × 0.10 = 500          variance 5000²·.1·.9   = 2,250,000
    # (no close date): d6 8,000 × 0.25 = 2,000 — kept, listed last, and said in the notes
    assert out["period"].tolist() == ["2026-07", "2026-08", "2026-10", "(no close date)"]
    assert out["weighted"].tolist() == pytest.approx([500, 5_000, 500, 2_000])
    assert out["pipeline"].tolist() == [10_000, 20_000, 5_000, 8_000]
    assert (out["std_dev"] ** 2).tolist() == pytest.approx(
        [4_750_000, 75_000_000, 2_250_000, 8000**2 * 0.25 * 0.75]
    )
    assert any("no expected close date" in n for n in out.attrs["notes"])


def test_by_quarter_fiscal_year_and_owner_with_total():
    out = weighted_forecast(
        sample_deals(),
        PROBS,
        stages=STAGES,
        period="quarter",
        fiscal_year_start=7,
        by="Owner",
        total=True,
    )
    # fiscal year from July, named by the year it ends: Jul–Sep 2026 is FY2027-Q1, Oct is Q2
    ann = out[out["owner"] == "Ann"]
    assert ann["period"].tolist() == ["FY2027-Q1", "FY2027-Q2"]
    assert ann["weighted"].tolist() == pytest.approx([500, 500])
    bob = out[out["owner"] == "Bob"]
    assert bob["period"].tolist() == ["FY2027-Q1", "(no close date)"]
    total = out.iloc[-1]
    assert total["owner"] == "Total" and total["weighted"] == pytest.approx(8_000)
    assert total["deals"] == 4


def test_period_labels():
    dates = pd.Series(pd.to_datetime(["2026-08-15", "2026-06-30", "2027-01-01", None]))
    assert period_labels(dates, "quarter", 7).tolist() == [
        "FY2027-Q1",
        "FY2026-Q4",
        "FY2027-Q3",
        "(no close date)",
    ]
    assert period_labels(dates, "year", 7).tolist()[:3] == ["FY2027", "FY2026", "FY2027"]
    assert period_labels(dates, "quarter").tolist()[:3] == ["2026-Q3", "2026-Q2", "2027-Q1"]
    assert period_labels(dates, "month").tolist()[:3] == ["2026-08", "2026-06", "2027-01"]
    # a fiscal year starting in February: Feb 2026–Jan 2027 is FY2027, Jan 2027 is its Q4
    assert period_labels(dates, "quarter", 2).tolist()[:3] == [
        "FY2027-Q3",
        "FY2027-Q2",
        "FY2027-Q4",
    ]
    with pytest.raises(PipesheetError, match="unknown period"):
        period_labels(dates, "week")
    with pytest.raises(PipesheetError, match="fiscal year start must be a month number"):
        period_labels(dates, "quarter", 13)


def test_currency_conversion():
    deals = pd.DataFrame(
        {
            "Deal ID": ["a", "b"],
            "Stage": ["Proposal", "Proposal"],
            "Amount": [1_000, 1_000],
            "Currency": ["EUR", "usd"],
        }
    )
    # rates: reporting-currency units per unit; EUR is the one with rate 1
    out = weighted_forecast(deals, PROBS, stages=STAGES, period=None, rates={"EUR": 1, "USD": 0.9})
    assert out.attrs["currency"] == "EUR"
    assert out["pipeline"].iloc[0] == pytest.approx(1_900)
    assert out["weighted"].iloc[0] == pytest.approx(475)
    # reporting in USD with EUR rate given in USD
    out = weighted_forecast(
        deals, PROBS, stages=STAGES, period=None, rates={"EUR": 1.1}, currency="usd"
    )
    assert out.attrs["currency"] == "USD" and out["pipeline"].iloc[0] == pytest.approx(2_100)
    with pytest.raises(PipesheetError, match="no exchange rates were given"):
        weighted_forecast(deals, PROBS, stages=STAGES)
    one = deals.assign(Currency="EUR")
    assert weighted_forecast(one, PROBS, stages=STAGES, period=None).attrs["currency"] == "EUR"


def test_probability_sources():
    deals = sample_deals().assign(**{"Probability (%)": [10, 60, 30, 100, 0, 60]})
    configured = weighted_forecast(deals, "configured", stages=STAGES, period=None)
    # 10,000·.1 + 20,000·.6 + 5,000·.3 + 8,000·.6 = 1,000 + 12,000 + 1,500 + 4,800
    assert configured["weighted"].iloc[0] == pytest.approx(19_300)
    table = pd.DataFrame({"Stage": ["Lead", "Qualified", "Proposal"], "Probability": [5, 10, 25]})
    from_table = weighted_forecast(sample_deals(), table, stages=STAGES, period=None)
    assert from_table["weighted"].iloc[0] == pytest.approx(8_000)
    with pytest.raises(PipesheetError, match=r"has no probability for stage.s. 'Lead'"):
        weighted_forecast(sample_deals(), {"Qualified": 0.1, "Proposal": 0.2}, stages=STAGES)


def test_learned_probabilities_by_group_are_used_per_group():
    history = pd.DataFrame(
        {
            "Deal ID": ["w1", "w1", "w2", "w2", "l1", "l1"],
            "Stage": [
                "Proposal",
                "Closed Won",
                "Proposal",
                "Closed Lost",
                "Proposal",
                "Closed Lost",
            ],
            "Entered Date": ["2026-01-01", "2026-01-05"] * 3,
        }
    )
    deals = pd.DataFrame(
        {
            "Deal ID": ["w1", "w2", "l1", "o1", "o2"],
            "Stage": ["Closed Won", "Closed Lost", "Closed Lost", "Proposal", "Proposal"],
            "Amount": [1, 1, 1, 1_000, 1_000],
            "Segment": ["A", "A", "B", "A", "B"],
        }
    )
    stages = StageList(("Proposal",))
    model = StageProbabilities(stages=stages, by="Segment").fit(history, deals)
    # Segment A: 1 won of 2 -> 0.5; Segment B: 0 of 1 -> 0
    out = weighted_forecast(deals, model, period=None, by="Segment")
    assert out["weighted"].tolist() == pytest.approx([500, 0])


def test_as_of_leaves_out_deals_created_later_and_notes_overdue():
    deals = sample_deals().assign(
        **{
            "Created Date": [
                "2026-01-01",
                "2026-01-01",
                "2026-09-15",
                "2026-01-01",
                "2026-01-01",
                "2026-01-01",
            ]
        }
    )
    out = weighted_forecast(deals, PROBS, stages=STAGES, period=None, as_of="2026-08-01")
    # d3 was created after August 1st: not in the pipeline then; d1 (July 15) is overdue
    assert out["deals"].iloc[0] == 3
    assert any("overdue" in n for n in out.attrs["notes"])


def test_forecast_categories_roll_up():
    deals = pd.DataFrame(
        {
            "Deal ID": list("abcdefg"),
            "Stage": [
                "Closed Won",
                "Proposal",
                "Proposal",
                "Qualified",
                "Lead",
                "Lead",
                "Closed Lost",
            ],
            "Amount": [100, 200, 300, 400, 500, 600, 700],
            "Forecast Category": [
                "Closed",
                "Commit",
                "Best Case",
                "Pipeline",
                "Pipeline",
                "Omitted",
                "Omitted",
            ],
        }
    )
    out = forecast_categories(deals, stages=STAGES).set_index("category")
    # Closed 100; Commit = 100 + 200; Best Case = 300 + 300; Pipeline = 600 + 400 + 500;
    # Omitted stays out (600; the lost deal is left out altogether)
    assert out["amount"].tolist() == [100, 200, 300, 900, 600]
    assert out["rollup"].tolist() == [100, 300, 600, 1_500, 600]
    assert out["deals"].tolist() == [1, 1, 1, 2, 1]
    bad = deals.assign(**{"Forecast Category": ["Closed", "Maybe", "", "", "", "", ""]})
    with pytest.raises(PipesheetError, match="unknown forecast category") as err:
        forecast_categories(bad, stages=STAGES)
    assert "row 3" in str(err.value) and "'Maybe'" in str(err.value)
    with pytest.raises(PipesheetError, match="no forecast category column"):
        forecast_categories(deals.drop(columns=["Forecast Category"]), stages=STAGES)


def test_pipeline_position_hand_worked():
    deals = sample_deals().assign(
        **{
            "Created Date": ["2026-01-01"] * 3 + ["2026-05-02", "2026-01-01", "2026-01-01"],
            "Closed Date": [None, None, None, "2026-07-01", "2026-07-02", None],
        }
    )
    pos = pipeline_position(deals, PROBS, "2026-07-01", "2026-09-30", stages=STAGES)
    # closed in Q3: d4 50,000; open expected in Q3: d1 (500) and d2 (5,000) of 30,000
    assert pos.closed == 50_000
    assert pos.expected_open == pytest.approx(5_500)
    assert pos.open_pipeline == 30_000 and pos.open_deals == 2
    # 1 won of 2 closed; average won 50,000; cycle of d4: May 2 -> July 1 = 60 days
    assert pos.win_rate == 0.5 and pos.average_won_deal == 50_000
    assert pos.average_cycle_days == 60


# ---- properties ------------------------------------------------------------------------------
open_deals = st.lists(
    st.tuples(
        st.floats(0, 1e7, allow_nan=False), st.sampled_from(["Lead", "Qualified", "Proposal"])
    ),
    min_size=1,
    max_size=30,
)
probabilities = st.fixed_dictionaries(
    {s: st.floats(0, 1, allow_nan=False) for s in ("Lead", "Qualified", "Proposal")}
)


@settings(max_examples=80, deadline=None)
@given(open_deals, probabilities, st.sampled_from([None, "month", "quarter"]))
def test_weighted_at_most_pipeline_and_variance_formula(rows, probs, period):
    deals = pd.DataFrame(
        {
            "Deal ID": [f"d{i}" for i in range(len(rows))],
            "Stage": [s for _, s in rows],
            "Amount": [a for a, _ in rows],
            "Close Date": pd.date_range("2026-01-01", periods=len(rows), freq="17D"),
        }
    )
    out = weighted_forecast(deals, probs, stages=STAGES, period=period)
    assert (out["weighted"] <= out["pipeline"] * (1 + 1e-12) + 1e-9).all()
    assert (out["weighted"] >= 0).all()
    amounts = np.array([a for a, _ in rows])
    p = np.array([probs[s] for _, s in rows])
    assert out["weighted"].sum() == pytest.approx(float((amounts * p).sum()), rel=1e-9, abs=1e-6)
    variance = float((amounts**2 * p * (1 - p)).sum())
    assert (out["std_dev"] ** 2).sum() == pytest.approx(variance, rel=1e-9, abs=1e-3)
    assert out["deals"].sum() == len(rows)
    assert not math.isnan(out["std_dev"].sum())


def test_pipeline_range_mean_is_the_weighted_forecast_of_the_same_deals():
    import pipesheet as ps
    from pipesheet.sample import sample_deals, sample_history, sample_rates

    deals, rates = sample_deals(), sample_rates()
    model = ps.StageProbabilities().fit(sample_history(), deals)
    whole = ps.pipeline_range(deals, model, rates=rates, quota=3_000_000)
    total = ps.weighted_forecast(deals, model, period=None, rates=rates)
    assert whole.mean == pytest.approx(total["weighted"].iloc[0])
    assert whole.std_dev == pytest.approx(total["std_dev"].iloc[0])
    # restricted to a quarter: the mean is that quarter's weighted forecast
    q4 = ps.pipeline_range(deals, model, rates=rates, start="2026-10-01", end="2026-12-31")
    by_q = ps.weighted_forecast(deals, model, period="quarter", rates=rates)
    assert q4.mean == pytest.approx(by_q.set_index("period").loc["2026-Q4", "weighted"])
    assert q4.p10 <= q4.p50 <= q4.p90
