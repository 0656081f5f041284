"""Per-deal probability overrides (issue 14.3): an override wins over the stage's probability for
its deal — in every money figure — and is reported as such."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pipesheet as ps


@pytest.fixture(scope="module")
def model(deals, history):
    return ps.StageProbabilities().fit(history, deals)


@pytest.fixture(scope="module")
def overridden(deals, rates, model):
    """The sample with a "Manager Probability" column: blank but for one open deal (90%)."""
    priced = ps.price_deals(deals, model, rates=rates)
    row = int(np.flatnonzero(priced.open)[7])  # an open deal, position in the table
    table = deals.copy()
    table["Manager Probability"] = None
    table.loc[row, "Manager Probability"] = "90%"
    return table, row


def test_an_override_changes_exactly_its_deals_weighted_amount(deals, rates, model, overridden):
    table, row = overridden
    before = ps.price_deals(deals, model, rates=rates)
    after = ps.price_deals(table, model, rates=rates)
    w0 = before.amount * before.probability
    w1 = after.amount * after.probability
    changed = np.flatnonzero(~np.isclose(w0, w1, equal_nan=True))
    assert changed.tolist() == [row]  # its deal, and nothing else
    amount, p_stage = before.amount[row], before.probability[row]
    assert w1[row] == pytest.approx(amount * 0.9)
    assert after.weighted - before.weighted == pytest.approx(amount * (0.9 - p_stage))
    assert after.override.tolist() == [i == row for i in range(len(table))]
    assert after.stage_probability[row] == pytest.approx(p_stage)
    note = "1 deal(s) use their own probability (override) instead of their stage's"
    assert any(n.startswith(note) and f"row {row + 2}" in n for n in after.notes)
    listed = after.open_deals()
    assert listed.loc[row + 2, "source"] == "override"
    assert (listed["source"] == "override").sum() == 1
    assert after.to_frame().loc[row + 2, "override"]


def test_the_override_is_in_every_money_figure(deals, rates, model, overridden):
    table, row = overridden
    base = ps.price_deals(deals, model, rates=rates)
    delta = base.amount[row] * (0.9 - base.probability[row])
    for money in (
        lambda d: ps.weighted_forecast(d, model, rates=rates, period=None)["weighted"].iloc[0],
        lambda d: ps.pipeline_range(d, model, rates=rates).mean,
        lambda d: ps.pipeline_position(d, model, rates=rates).expected_open,
    ):
        assert money(table) - money(deals) == pytest.approx(delta)
    by_month = ps.weighted_forecast(table, model, rates=rates, period="month")
    old = ps.weighted_forecast(deals, model, rates=rates, period="month")
    diff = by_month["weighted"] - old["weighted"]
    assert (np.abs(diff) > 1e-6).sum() == 1 and diff.abs().max() == pytest.approx(abs(delta))
    assert ps.price_deals(table, model, rates=rates, overrides=False).weighted == pytest.approx(
        base.weighted
    )


def test_an_override_wins_over_any_stage_probability_and_a_closed_deal_keeps_its_outcome():
    deals = pd.DataFrame(
        {
            "Deal ID": ["A", "B", "C", "D"],
            "Stage": ["Lead", "Proposal", "Closed Won", "Closed Lost"],
            "Amount": [1000, 2000, 3000, 4000],
            "Override %": [None, 80, 10, 90],
        }
    )
    probs = {"Lead": 0.1}  # no probability for Proposal: the override gives it one
    priced = ps.price_deals(deals, probs)
    assert priced.probability.tolist() == [0.1, 0.8, 1.0, 0.0]
    assert priced.weighted == pytest.approx(100 + 1600)
    assert priced.override.tolist() == [False, True, False, False]
    configured = deals.assign(Probability=[20, 30, 100, 0])
    assert ps.price_deals(configured, "configured").probability.tolist() == [0.2, 0.8, 1.0, 0.0]
    with pytest.raises(ps.PipesheetError, match="no probability for stage"):
        ps.price_deals(deals.assign(**{"Override %": [None, None, None, None]}), probs)


def test_the_override_column_is_read_with_the_probability_rules():
    deals = pd.DataFrame(
        {
            "Deal ID": ["A", "B", "C"],
            "Stage": ["Lead", "Lead", "Lead"],
            "Amount": [1, 1, 1],
            "Probability Override": [0.5, 40, None],
        }
    )
    with pytest.raises(ps.PipesheetError) as err:
        ps.read_deals(deals)
    text = str(err.value)
    assert "column 'Probability Override'" in text and "two scales" in text and "row 2" in text
    deals["Probability Override"] = [0.5, 0.4, None]
    assert ps.read_deals(deals).frame["override"].tolist()[:2] == [0.5, 0.4]
    deals["Probability Override"] = ["50%", "140%", None]
    with pytest.raises(ps.PipesheetError, match="above 100%"):
        ps.read_deals(deals)
    mapped = deals.rename(columns={"Probability Override": "Chance (mgr)"})
    mapped["Chance (mgr)"] = [50, 40, None]
    got = ps.read_deals(mapped, columns={"override": "Chance (mgr)"}).frame["override"]
    assert got.tolist()[:2] == [0.5, 0.4]
