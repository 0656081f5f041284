"""Lost reasons (issue 14.5): losses by reason and by the stage they were lost at, with counts,
amounts in the reporting currency and shares.

By hand on tests/fixtures/teams: lost deals N2 (Price, 8,000, lost at Proposal), N3 (No
budget, 5,000, Lead), N4 (Price, 15,000, Negotiation), R3 (blank, 4,000, Renewal call), R5
(Competitor, 3,000, Proposal of Renewal).  5 deals, 35,000.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pipesheet as ps
from pipesheet.losses import NO_REASON, NO_STAGE_HISTORY, lost_reasons

FIX = Path(__file__).parent / "fixtures" / "teams"
SF = Path(__file__).parent / "fixtures" / "salesforce_raw"


@pytest.fixture(scope="module")
def team():
    return pd.read_csv(FIX / "deals.csv"), pd.read_csv(FIX / "history.csv")


def test_losses_by_reason_by_hand(team):
    deals, history = team
    got = lost_reasons(deals, history)
    r = got.by_reason
    assert r["reason"].tolist() == ["Price", "No budget", NO_REASON, "Competitor"]
    assert r["lost_deals"].tolist() == [2, 1, 1, 1]
    assert r["amount"].tolist() == [23_000, 5_000, 4_000, 3_000]
    assert r["share_deals"].tolist() == pytest.approx([0.4, 0.2, 0.2, 0.2])
    assert r["share_amount"].tolist() == pytest.approx([23 / 35, 5 / 35, 4 / 35, 3 / 35])
    assert (got.lost_deals, got.amount, got.currency) == (5, 35_000, "EUR")
    assert any("1 lost deal(s) have no reason given" in n for n in got.notes)


def test_losses_by_the_stage_they_were_lost_at_by_hand(team):
    deals, history = team
    got = lost_reasons(deals, history)
    s = got.by_stage
    assert list(zip(s["pipeline_name"], s["stage"], strict=True)) == [
        ("New business", "Lead"),
        ("New business", "Proposal"),
        ("New business", "Negotiation"),
        ("Renewal", "Renewal call"),
        ("Renewal", "Proposal"),
    ]
    assert s["amount"].tolist() == [5_000, 8_000, 15_000, 4_000, 3_000]
    both = got.by_reason_stage
    price = both[both["reason"] == "Price"]
    assert price["stage"].tolist() == ["Negotiation", "Proposal"]  # larger amount first
    assert price["amount"].tolist() == [15_000, 8_000]
    assert got.deals.set_index("deal_id").loc["R5", "stage"] == "Proposal"
    assert got.stage_source == "history"


def test_windows_and_as_of(team):
    deals, history = team
    q2 = lost_reasons(deals, history, start="2026-04-01", end="2026-06-30")
    assert sorted(q2.deals["deal_id"]) == ["N4", "R3", "R5"]
    march = lost_reasons(deals, history, as_of="2026-03-31")
    assert sorted(march.deals["deal_id"]) == ["N2", "N3"]
    assert march.by_stage["stage"].tolist() == ["Lead", "Proposal"]


def test_without_history_the_stage_is_unknown_and_said(team):
    deals, _ = team
    got = lost_reasons(deals)
    assert set(got.by_stage["stage"]) == {NO_STAGE_HISTORY}
    assert got.stage_source is None and any("no stage history" in n for n in got.notes)
    with pytest.raises(ps.PipesheetError, match="no loss-reason column"):
        lost_reasons(deals.drop(columns="Loss Reason"))


def test_blank_amounts_of_lost_deals_follow_the_choice(team):
    deals, history = team
    blank = deals.copy()
    blank.loc[blank["Deal ID"] == "N4", "Amount"] = None
    with pytest.raises(ps.PipesheetError, match="amount is blank") as err:
        lost_reasons(blank, history)
    assert "row 5" in str(err.value)
    skipped = lost_reasons(blank, history, blank_amounts="skip")
    assert skipped.lost_deals == 5 and skipped.amount == 20_000
    assert skipped.by_reason.set_index("reason").loc["Price", "amount"] == 8_000


def test_the_raw_salesforce_export_loss_reasons_and_stages():
    """Loss_Reason__c of the raw Salesforce fixture (latin-1, four currencies), checked against
    pandas on the files themselves."""
    deals = ps.read_table(SF / "Opportunity.csv")
    history = ps.read_table(SF / "OpportunityHistory.csv")
    rates = pd.read_csv(SF / "rates_usd.csv")
    export = ps.read_export(SF / "Opportunity.csv", SF / "OpportunityHistory.csv")
    got = lost_reasons(export.deals, export.history, rates=rates)
    lost = deals[deals["StageName"] == "Cerrada perdida"]
    rate = lost["CurrencyIsoCode"].map(rates.set_index(rates.columns[0])[rates.columns[1]])
    usd = lost["Amount"].astype(float) * rate
    want = usd.groupby(lost["Loss_Reason__c"]).agg(["size", "sum"])
    r = got.by_reason.set_index("reason")
    assert r["lost_deals"].to_dict() == want["size"].to_dict()
    assert r["amount"].to_dict() == pytest.approx(want["sum"].to_dict())
    assert got.currency == "USD" and got.lost_deals == 291
    # the stage lost at: the last open stage of each lost deal's history
    h = history.sort_values(["OpportunityId", "CreatedDate"], kind="stable")
    open_rows = h[~h["StageName"].isin(["Cerrada ganada", "Cerrada perdida"])]
    last = open_rows.groupby("OpportunityId")["StageName"].last()
    want_stage = lost["Id"].map(last).value_counts()
    s = got.by_stage.set_index("stage")["lost_deals"]
    assert s.to_dict() == want_stage.to_dict()
    assert np.isclose(got.by_stage["share_amount"].sum(), 1.0)
