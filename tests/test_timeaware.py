"""Time-aware probability: hand-worked example, censoring, no look-ahead, properties."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipesheet import PipesheetError, StageList, StageProbabilities
from pipesheet.sample import sample_deals, sample_history
from pipesheet.timeaware import TimeAwareForecast, period_end_for, time_aware_forecast

STAGES = StageList(("A",), won=("Won",), lost=("Lost",))

# Hand-worked history, as of 2026-01-31 (day 30 after 2026-01-01):
#   d1 enters A on 01-01, Won  01-03   -> time 2,  won   (stayed 2 days at A)
#   d2 enters A on 01-01, Lost 01-03   -> time 2,  lost
#   d3 enters A on 01-01, Won  01-05   -> time 4,  won
#   d4 enters A on 01-01, still open   -> censored at 30 (NOT a loss)
#   d5 enters A on 01-01, Won  01-11   -> time 10, won
#   d6 enters A on 01-29, still open   -> age 2 on 01-31: the deal we forecast
# p_A = W/(W+L) = 3/(3+1) = 0.75 (counting the open d4, d6 as lost would give 3/6 = 0.5).
# The risk set of d6 (still at A after 2 days): visits that stayed > 2 days: d3, d4, d5.
#   day 3: 3 at risk, no event; day 4: 3 at risk, d3 won -> hW(4) = 1/3
#   days 5..10: 2 at risk (d4, d5), d5 won on day 10 -> hW(10) = 1/2; days 11..30: d4 alone.
# P(won within 9 days: days 3..11) = 1/3 + (1 - 1/3) * 1/2 = 2/3
# P(won within 5 days: days 3..7)  = 1/3
# eventual (no event observed after day 10, constant tail with hazard 0) = 2/3
ROWS = [
    ("d1", "A", "2026-01-01"),
    ("d1", "Won", "2026-01-03"),
    ("d2", "A", "2026-01-01"),
    ("d2", "Lost", "2026-01-03"),
    ("d3", "A", "2026-01-01"),
    ("d3", "Won", "2026-01-05"),
    ("d4", "A", "2026-01-01"),
    ("d5", "A", "2026-01-01"),
    ("d5", "Won", "2026-01-11"),
    ("d6", "A", "2026-01-29"),
]
DEALS = pd.DataFrame(
    {
        "Deal ID": ["d1", "d2", "d3", "d4", "d5", "d6"],
        "Stage": ["Won", "Lost", "Won", "A", "Won", "A"],
        "Amount": [10, 20, 30, 100, 50, 300],
    }
)


def history(rows=ROWS):
    return pd.DataFrame(rows, columns=["Deal ID", "Stage", "Entered Date"])


EXACT = {"stages": STAGES, "bin_days": 1, "min_at_risk": 1}


def test_hand_worked_probability_and_forecast():
    res = time_aware_forecast(history(), DEALS, "2026-02-09", as_of="2026-01-31", **EXACT)
    d = res.deals.set_index("deal_id")
    assert list(d.index) == ["d4", "d6"]
    assert d.loc["d6", "age_days"] == 2
    assert d.loc["d6", "probability"] == pytest.approx(2 / 3)
    assert d.loc["d6", "win_probability"] == pytest.approx(2 / 3)
    assert d.loc["d6", "stage_probability"] == pytest.approx(0.75)
    # d4 (age 30, the oldest) is alone in its risk set with no event after: 0
    assert d.loc["d4", "probability"] == pytest.approx(0.0)
    assert res.forecast == pytest.approx(300 * 2 / 3)
    short = time_aware_forecast(history(), DEALS, "2026-02-05", as_of="2026-01-31", **EXACT)
    assert short.deals.set_index("deal_id").loc["d6", "probability"] == pytest.approx(1 / 3)
    # the glossary's literal product: p_s x P(won by T | won eventually) = 0.75 * (1/3)/(2/3)
    lit = time_aware_forecast(
        history(), DEALS, "2026-02-05", as_of="2026-01-31", conditioning="stage", **EXACT
    )
    assert lit.deals.set_index("deal_id").loc["d6", "probability"] == pytest.approx(0.375)


def test_open_deals_are_censored_not_lost():
    model = TimeAwareForecast(as_of="2026-01-31", period_end="2026-12-31", **EXACT).fit(history())
    row = model.table_.iloc[0]
    assert (row["won"], row["lost"], row["censored"]) == (3, 1, 2)
    assert row["stage_probability"] == pytest.approx(0.75)
    learned = StageProbabilities(stages=STAGES, as_of="2026-01-31").fit(history())
    assert row["stage_probability"] == pytest.approx(learned.probability("A"))
    # cumulative incidence of Won from entry: d1,d2 close on day 2 (6 at risk), d3 on day 4
    # (4 at risk: d3,d4,d5 + d6 censored at 2 is gone) ... = 1/6 + (4/6)(1/3) + (4/6)(2/3)(1/2)
    assert row["eventual_win"] == pytest.approx(1 / 6 + 4 / 18 + 4 / 18)


def test_no_look_ahead():
    later = [
        *ROWS,
        ("d6", "Won", "2026-02-02"),
        ("d4", "Lost", "2026-02-03"),
        ("d7", "A", "2026-02-04"),
    ]
    before = time_aware_forecast(history(), None, "2026-02-09", as_of="2026-01-31", **EXACT)
    after = time_aware_forecast(history(later), None, "2026-02-09", as_of="2026-01-31", **EXACT)
    pd.testing.assert_frame_equal(
        before.deals[["deal_id", "probability", "win_probability"]],
        after.deals[["deal_id", "probability", "win_probability"]],
    )
    pd.testing.assert_frame_equal(before.table, after.table)


def test_sample_forecast_has_range_and_is_below_weighted():
    res = time_aware_forecast(
        sample_history(),
        sample_deals(),
        "quarter",
        as_of="2026-08-15",
        rates={"EUR": 1, "USD": 0.92},
    )
    assert res.period_end == pd.Timestamp("2026-09-30")
    assert res.forecast == pytest.approx((res.deals["amount"] * res.deals["probability"]).sum())
    assert res.range is not None and res.range.mean == pytest.approx(res.forecast, rel=1e-6)
    assert res.forecast < (res.deals["amount"] * res.deals["win_probability"]).sum()
    assert res.deals["probability"].between(0, 1).all()


def test_period_end_and_errors():
    assert period_end_for("2026-08-15", "quarter") == pd.Timestamp("2026-09-30")
    assert period_end_for("2026-08-15", "month") == pd.Timestamp("2026-08-31")
    assert period_end_for("2026-08-15", "quarter", fiscal_year_start=2) == pd.Timestamp(
        "2026-10-31"
    )
    assert period_end_for("2026-08-15", "year", fiscal_year_start=7) == pd.Timestamp("2027-06-30")
    with pytest.raises(PipesheetError, match="ends on or before the as-of date"):
        time_aware_forecast(history(), None, "2026-01-15", as_of="2026-01-31")
    with pytest.raises(PipesheetError, match="conditioning"):
        time_aware_forecast(history(), None, "2026-02-15", conditioning="magic")
    with pytest.raises(PipesheetError, match="no history on or before"):
        time_aware_forecast(history(), None, "2026-02-15", as_of="2025-01-01")
    with pytest.raises(PipesheetError, match="stage history is needed"):
        time_aware_forecast(None, DEALS, "2026-02-15")


@st.composite
def histories(draw):
    n = draw(st.integers(3, 25))
    rows = []
    for i in range(n):
        stage = draw(st.sampled_from(["A", "B"]))
        start = draw(st.integers(0, 60))
        rows.append((f"x{i}", stage, pd.Timestamp("2026-01-01") + pd.Timedelta(days=start)))
        end = draw(st.one_of(st.none(), st.tuples(st.integers(0, 40), st.booleans())))
        if end is not None:
            when = pd.Timestamp("2026-01-01") + pd.Timedelta(days=start + end[0])
            rows.append((f"x{i}", "Won" if end[1] else "Lost", when))
    rows += [("w", "A", "2026-01-01"), ("w", "Won", "2026-01-05")]
    rows += [("v", "B", "2026-01-01"), ("v", "Lost", "2026-01-09")]
    return pd.DataFrame(rows, columns=["Deal ID", "Stage", "Entered Date"])


@settings(max_examples=40, deadline=None)
@given(histories(), st.integers(1, 7), st.integers(1, 15))
def test_properties(hist, bin_days, min_at_risk):
    stages = StageList(("A", "B"), won=("Won",), lost=("Lost",))
    horizons = np.arange(0, 120, 7)
    for conditioning in ("age", "stage"):
        model = TimeAwareForecast(
            stages=stages,
            as_of="2026-03-15",
            period_end="2026-06-30",
            conditioning=conditioning,
            bin_days=bin_days,
            min_at_risk=min_at_risk,
        ).fit(hist)
        for stage in ("A", "B"):
            p_s = model.table_.set_index("stage").loc[stage, "stage_probability"]
            for age in (0, 3, 30, 200):
                p = model.predict([stage] * len(horizons), age, horizons)
                assert ((p >= 0) & (p <= 1)).all()
                assert (np.diff(p) >= -1e-12).all()  # monotone in the period end
                if conditioning == "stage":
                    assert (p <= p_s + 1e-12).all()
        d = model.deals_
        assert (d["probability"] <= d["win_probability"] + 1e-12).all()
        if conditioning == "stage":
            assert (d["probability"] <= d["stage_probability"] + 1e-12).all()
