"""The waterfall reconciles exactly, in counts and to the cent."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipesheet import PipesheetError, StageList
from pipesheet.exports import read_export
from pipesheet.waterfall import pipeline_waterfall, snapshot_at, waterfall_from_history

STAGES = StageList(("Lead", "Qualified", "Proposal"))
FIX = "tests/fixtures/exports/"


def _check(w):
    t = w.table.set_index("step")
    cents = t["value_cents"] * t["sign"]
    assert int(cents.drop("closing").sum()) == int(t.loc["closing", "value_cents"])
    moves = t["deals"] * t["sign"]
    counted = moves.drop(["closing", "increased", "decreased"]).sum()
    assert int(counted) == int(t.loc["closing", "deals"])
    assert w.table["running_total"].iloc[-2] == pytest.approx(w.closing)


def test_every_step_on_a_hand_made_case():
    a = pd.DataFrame(
        {
            "Deal ID": ["inc", "dec", "push", "won", "lost", "gone", "out", "same"],
            "Stage": ["Lead", "Lead", "Qualified", "Proposal", "Lead", "Lead", "Lead", "Lead"],
            "Amount": [100.10, 200.20, 300.30, 400.40, 500.50, 600.60, 700.70, 10.01],
            "Close Date": ["2026-10-05"] * 6 + ["2027-02-01", "2026-12-31"],
        }
    )
    b = pd.DataFrame(
        {
            "Deal ID": ["inc", "dec", "push", "won", "lost", "out", "same", "new"],
            "Stage": ["Qualified", "Lead", "Qualified", "Won", "Lost", "Lead", "Lead", "Lead"],
            "Amount": [150.15, 100.00, 300.30, 450.00, 500.50, 700.70, 10.01, 0.03],
            "Close Date": [
                "2026-10-05",
                "2026-10-05",
                "2027-01-15",
                "2026-10-01",
                "2026-10-01",
                "2026-11-01",
                "2026-12-31",
                "2026-12-01",
            ],
        }
    )
    w = pipeline_waterfall(a, b, start="2026-10-01", end="2026-12-31", stages=STAGES)
    t = w.table.set_index("step")
    assert t.loc["opening", "value"] == pytest.approx(2112.11)
    assert t.loc["new", "value"] == pytest.approx(0.03)
    assert t.loc["pulled in", "value"] == pytest.approx(700.70)
    assert t.loc["increased", "value"] == pytest.approx(50.05)
    assert t.loc["decreased", "value"] == pytest.approx(100.20)
    assert t.loc["pushed out", "value"] == pytest.approx(300.30)
    assert t.loc["won", "value"] == pytest.approx(400.40)
    assert t.loc["lost", "value"] == pytest.approx(500.50)
    assert t.loc["removed", "value"] == pytest.approx(600.60)
    assert t.loc["closing", "value"] == pytest.approx(150.15 + 100.00 + 700.70 + 10.01 + 0.03)
    assert t["deals"].to_dict() == {
        "opening": 7,
        "new": 1,
        "pulled in": 1,
        "increased": 1,
        "decreased": 1,
        "pushed out": 1,
        "won": 1,
        "lost": 1,
        "removed": 1,
        "closing": 5,
    }
    _check(w)
    assert set(w.deals["step"]) >= {"new", "pulled in", "removed", "unchanged"}


amounts = st.decimals(min_value=0, max_value=10**7, places=2, allow_nan=False)
deal = st.tuples(
    st.sampled_from(["Lead", "Qualified", "Proposal", "Won", "Lost"]),
    amounts,
    st.sampled_from(["2026-09-15", "2026-10-10", "2026-12-31", "2027-01-02", None]),
)


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(st.integers(0, 40), deal, max_size=25),
    st.dictionaries(st.integers(0, 40), deal, max_size=25),
    st.booleans(),
)
def test_waterfall_reconciles_to_the_cent(before, after, with_period):
    def frame(d):
        return pd.DataFrame(
            {
                "Deal ID": [f"D{i}" for i in d] or ["X"],
                "Stage": [v[0] for v in d.values()] or ["Lost"],
                "Amount": [str(v[1]) for v in d.values()] or ["0"],
                "Close Date": [v[2] for v in d.values()] or [None],
            }
        )

    period = {"start": "2026-10-01", "end": "2026-12-31"} if with_period else {}
    w = pipeline_waterfall(frame(before), frame(after), stages=STAGES, **period)
    _check(w)
    # exact: the closing value equals the cents of the open in-period deals of the closing table
    t = w.table.set_index("step")
    want = sum(
        int(v[1] * 100)
        for v in after.values()
        if v[0] in STAGES.open
        and (not with_period or (v[2] is not None and "2026-10-01" <= v[2] <= "2026-12-31"))
    )
    assert int(t.loc["closing", "value_cents"]) == want


def test_from_salesforce_history_uses_amounts_of_the_day():
    e = read_export(
        FIX + "salesforce_opportunities.csv", FIX + "salesforce_opportunity_history.csv"
    )
    snap = snapshot_at(e.history, "2026-08-31", e.deals)
    s = snap.set_index("deal_id")
    assert s.loc["0065g00000AbC06", "amount"] == 1_000_000  # before the increase on 2026-09-25
    w = waterfall_from_history(
        e.history, "2026-08-31", "2026-09-30", e.deals, start="2026-09-01", end="2026-12-31"
    )
    t = w.table.set_index("step")
    assert t.loc["increased", "value"] == 200_000
    assert t.loc["won", "value"] == 9999.5
    assert t.loc["lost", "value"] == 75250.25
    _check(w)


def test_bad_period():
    d = pd.DataFrame({"Deal ID": ["A"], "Stage": ["Lead"], "Amount": [1]})
    with pytest.raises(PipesheetError, match="ends before it starts"):
        pipeline_waterfall(d, d, start="2026-12-31", end="2026-01-01", stages=STAGES)
