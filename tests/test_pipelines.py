"""Several pipelines (issue 14.4): each pipeline's stage list and probabilities, learned from its
own deals only; every money figure by pipeline and in total; one-pipeline files as before.

The fixture (tests/fixtures/teams) has two pipelines sharing one stage name, "Proposal":

New business: Lead → Proposal → Negotiation.  Closed: N1 (won, reached all three), N2 (lost at
Proposal), N3 (lost at Lead), N4 (lost at Negotiation), N5 (won, reached all three).
    Lead: 2 won of 5 closed = 0.4; Proposal: N1, N2, N4, N5 → 2/4 = 0.5; Negotiation: N1, N4, N5
    → 2/3.
Renewal: Renewal call → Proposal.  Closed: R1, R2, R4 won after Proposal; R3 lost at Renewal
call; R5 lost at Proposal.
    Renewal call: 3/5 = 0.6; Proposal: R1, R2, R4, R5 → 3/4 = 0.75.
Pooled (one list for both), Proposal would be 5/8 = 0.625.

Open deals: N6 Lead 10,000; N7 Proposal 20,000; N8 Negotiation 30,000 → New business weighted
4,000 + 10,000 + 20,000 = 34,000.  R6 Renewal call 5,000; R7 Proposal 8,000 (its override 50%)
→ Renewal 3,000 + 4,000 = 7,000 (9,000 at its stage's 0.75).  Total 41,000.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pipesheet as ps
from pipesheet.diagnostics import stale_deals, stale_thresholds
from pipesheet.pipelines import pipeline_summary
from pipesheet.stages import PipelineStages

FIX = Path(__file__).parent / "fixtures" / "teams"
NB = ps.StageList(("Lead", "Proposal", "Negotiation"))
RN = ps.StageList(("Renewal call", "Proposal"))


@pytest.fixture(scope="module")
def team():
    return pd.read_csv(FIX / "deals.csv"), pd.read_csv(FIX / "history.csv")


@pytest.fixture(scope="module")
def model(team):
    deals, history = team
    return ps.StageProbabilities().fit(history, deals)


def p_of(table: pd.DataFrame, pipeline: str, stage: str) -> float:
    row = table[(table["pipeline_name"] == pipeline) & (table["stage"] == stage)]
    assert len(row) == 1
    return float(row["win_probability"].iloc[0])


# ---- stage lists and probabilities ---------------------------------------------------------------
def test_each_pipeline_has_its_own_stage_order_inferred_from_its_own_history(model):
    stages = model.stages_
    assert isinstance(stages, PipelineStages)
    assert stages.lists["New business"].open == NB.open
    assert stages.lists["Renewal"].open == RN.open
    assert stages.open == ("Lead", "Proposal", "Negotiation", "Renewal call")  # the union
    assert any("2 pipelines" in n for n in model.notes_)


def test_probabilities_are_learned_per_pipeline_from_its_own_deals_only(model):
    t = model.table_
    assert list(t.columns[:2]) == ["pipeline_name", "stage"]
    assert t["stage"].tolist() == ["Lead", "Proposal", "Negotiation", "Renewal call", "Proposal"]
    assert p_of(t, "New business", "Lead") == pytest.approx(2 / 5)
    assert p_of(t, "New business", "Proposal") == pytest.approx(2 / 4)
    assert p_of(t, "New business", "Negotiation") == pytest.approx(2 / 3)
    assert p_of(t, "Renewal", "Renewal call") == pytest.approx(3 / 5)
    assert p_of(t, "Renewal", "Proposal") == pytest.approx(3 / 4)
    # the counts come from the pipeline's own deals
    rn = t[t["pipeline_name"] == "Renewal"]
    assert rn["reached"].tolist() == [7, 5] and rn["won"].tolist() == [3, 3]
    # the pooled table (every deal over the union) is kept apart
    pooled = model.overall_.set_index("stage")["win_probability"]
    assert pooled["Proposal"] == pytest.approx(5 / 8)
    assert model.probability("Proposal", pipeline="Renewal") == pytest.approx(0.75)
    assert model.probability("Negotiation") == pytest.approx(2 / 3)  # one pipeline has it
    with pytest.raises(ps.PipesheetError, match="several pipelines"):
        model.probability("Proposal")
    assert model.probability("Closed Won") == 1.0 and model.probability("Lost") == 0.0
    with pytest.raises(ps.PipesheetError, match="unknown stage") as err:
        model.probability("Demo")
    assert "Renewal: Renewal call → Proposal" in str(err.value)


def test_each_pipeline_equals_a_model_fitted_on_that_pipeline_alone(team, model):
    deals, history = team
    for name, own in (("New business", NB), ("Renewal", RN)):
        mine = deals[deals["Pipeline"] == name]
        rows = history[history["Deal ID"].isin(mine["Deal ID"])]
        alone = ps.StageProbabilities(stages=own).fit(rows, mine.drop(columns="Pipeline"))
        got = model.table_[model.table_["pipeline_name"] == name].drop(columns="pipeline_name")
        pd.testing.assert_frame_equal(got.reset_index(drop=True), alone.table_)


def test_stage_lists_given_per_pipeline_and_refusals(team):
    deals, history = team
    given = ps.StageProbabilities(stages={"New business": NB, "Renewal": RN}).fit(history, deals)
    assert given.table_["win_probability"].tolist() == pytest.approx([0.4, 0.5, 2 / 3, 0.6, 0.75])
    bad = deals.copy()
    bad.loc[bad["Deal ID"] == "R6", "Stage"] = "Negotiation"  # a New business stage
    with pytest.raises(ps.PipesheetError) as err:
        ps.read_deals(bad, stages=PipelineStages.of({"New business": NB, "Renewal": RN}))
    text = str(err.value)
    assert "stage 'Negotiation' is not a stage of pipeline 'Renewal'" in text
    assert "row 15" in text and "Renewal call" in text
    with pytest.raises(ps.PipesheetError, match="not a stage of pipeline 'Renewal'"):
        ps.StageProbabilities(stages={"New business": NB, "Renewal": RN}).fit(history, bad)
    hist = history.copy()
    hist.loc[len(hist)] = ["R6", "Lead", "2026-06-20"]  # a history row in the other pipeline
    with pytest.raises(ps.PipesheetError) as err:
        ps.StageProbabilities(stages={"New business": NB, "Renewal": RN}).fit(hist, deals)
    assert "stage 'Lead' is not a stage of pipeline 'Renewal'" in str(err.value)
    assert "table 'history'" in str(err.value) and f"row {len(hist) + 1}" in str(err.value)
    blank = deals.copy()
    blank.loc[3, "Pipeline"] = None
    with pytest.raises(ps.PipesheetError, match="pipeline is blank") as err:
        ps.read_deals(blank)
    assert "row 5" in str(err.value)


def test_a_pipeline_without_history_rows_is_unknown_not_pooled(team):
    deals, history = team
    extra = pd.concat(
        [
            deals,
            pd.DataFrame(
                [
                    {
                        "Deal ID": "U1",
                        "Pipeline": "Upsell",
                        "Stage": "Closed Won",
                        "Amount": 1000,
                        "Currency": "EUR",
                    }
                ]
            ),
        ],
        ignore_index=True,
    )
    model = ps.StageProbabilities().fit(history, extra)
    assert set(model.pipelines_) == {"New business", "Renewal"}  # Upsell: only a closed deal
    assert ps.price_deals(extra, model).weighted == pytest.approx(41_000)


# ---- money: by pipeline and in total -------------------------------------------------------------
def test_deals_are_priced_with_their_own_pipelines_probability(team, model):
    deals, _ = team
    priced = ps.price_deals(deals, model)
    frame = priced.open_deals().set_index("deal_id")
    assert frame["stage_probability"].to_dict() == pytest.approx(
        {"N6": 0.4, "N7": 0.5, "N8": 2 / 3, "R6": 0.6, "R7": 0.75}
    )
    assert frame.loc["R7", "probability"] == 0.5 and frame.loc["R7", "source"] == "override"
    assert priced.weighted == pytest.approx(41_000)
    no_override = ps.price_deals(deals, model, overrides=False)
    assert no_override.weighted == pytest.approx(43_000)


def test_forecast_by_pipeline_sums_to_the_total(team, model):
    deals, _ = team
    out = ps.weighted_forecast(deals, model, period=None, by="pipeline", total=True)
    assert out["pipeline_name"].tolist() == ["New business", "Renewal", "Total"]
    assert out["weighted"].tolist() == pytest.approx([34_000, 7_000, 41_000])
    assert out["pipeline"].tolist() == pytest.approx([60_000, 13_000, 73_000])
    by_quarter = ps.weighted_forecast(deals, model, period="quarter", by="Pipeline")
    assert by_quarter["weighted"].sum() == pytest.approx(41_000)


def test_range_position_and_gap_cover_every_pipeline(team, model):
    deals, _ = team
    rng = ps.pipeline_range(deals, model, quota=60_000, start="2026-07-01", end="2026-09-30")
    assert rng.mean == pytest.approx(41_000)
    pos = ps.pipeline_position(deals, model, "2026-04-01", "2026-06-30", as_of="2026-06-30")
    assert pos.closed == pytest.approx(7_000 + 20_000 + 9_000)  # R2, N5, R4
    later = ps.pipeline_position(deals, model, "2026-07-01", "2026-09-30", as_of="2026-06-30")
    assert later.expected_open == pytest.approx(41_000)
    gap = ps.quota_gap(
        60_000, later.closed, later.expected_open, average_deal=10_000, lead_to_win_rate=0.2
    )
    assert gap.gap == pytest.approx(19_000)


def test_pipeline_summary_per_pipeline_and_total(team, model):
    deals, _ = team
    priced = ps.price_deals(deals, model)
    table = pipeline_summary(priced, quota=50_000)
    assert table["pipeline_name"].tolist() == ["New business", "Renewal", "Total"]
    assert table["stages"].iloc[1] == "Renewal call → Proposal"
    assert table["weighted"].tolist() == pytest.approx([34_000, 7_000, 41_000])
    assert table["open_deals"].tolist() == [3, 2, 5]
    assert table["mean"].tolist() == pytest.approx([34_000, 7_000, 41_000])
    total = ps.pipeline_range(deals, model, quota=50_000)
    assert table["p_quota"].iloc[-1] == pytest.approx(total.p_quota)
    assert np.isnan(table["p_quota"].iloc[0])


def test_a_probability_table_with_a_pipeline_column_prices_per_pipeline(team, model):
    deals, _ = team
    table = model.table_[["pipeline_name", "stage", "win_probability"]]
    got = ps.weighted_forecast(deals, table, period=None, by="pipeline", total=True)
    assert got["weighted"].tolist() == pytest.approx([34_000, 7_000, 41_000])
    per = {
        "New business": {"Lead": 0.4, "Proposal": 0.5, "Negotiation": 2 / 3},
        "Renewal": {"Renewal call": 0.6, "Proposal": 0.75},
    }
    assert ps.price_deals(deals, per).weighted == pytest.approx(41_000)
    missing = table[table["pipeline_name"] != "Renewal"]
    with pytest.raises(ps.PipesheetError, match="no stage probabilities for pipeline 'Renewal'"):
        ps.price_deals(deals, missing)


def test_backtest_prices_each_pipeline_with_its_own_probabilities(team):
    """As of 2026-03-31 (the day before Q2): New business learned Lead 1/3, Proposal 1/2,
    Negotiation 1/1; Renewal: Renewal call 1/1, Proposal 1/1.  Open then and expected in Q2:
    N4 (Negotiation, 15,000), N5 (Proposal, 20,000), R2 (Proposal, 7,000), R3, R4, R5 (Renewal
    call, 4,000 + 9,000 + 3,000): 15,000 + 10,000 + 7,000 + 16,000 = 48,000."""
    deals, history = team
    result = ps.backtest(history, deals, "2026-04-01", periods=1, period="quarter")
    row = result.table[result.table["method"] == "weighted pipeline"].iloc[0]
    assert row["forecast"] == pytest.approx(48_000)
    assert row["actual"] == pytest.approx(36_000)


def test_stale_deals_are_measured_against_their_own_pipelines_won_deals(team):
    """New business Lead: won visits N1 15 days, N5 19 days → 80th percentile 18.2.  Renewal
    Proposal: R1 42, R2 40, R4 49 days → 46.2 (pooled with New business it would differ)."""
    deals, history = team
    t = stale_thresholds(history, deals=deals).set_index(["pipeline_name", "stage"])
    assert t.loc[("New business", "Lead"), "threshold_days"] == pytest.approx(18.2)
    assert t.loc[("Renewal", "Proposal"), "threshold_days"] == pytest.approx(46.2)
    stale = stale_deals(history, deals).set_index("deal_id")
    assert stale.loc["R7", "pipeline_name"] == "Renewal"
    assert stale.loc["R7", "threshold_days"] == pytest.approx(46.2)
    assert stale.loc["N7", "threshold_days"] == pytest.approx(
        t.loc[("New business", "Proposal"), "threshold_days"]
    )


# ---- one pipeline: exactly as before ------------------------------------------------------------
def test_one_pipeline_files_behave_exactly_as_before(deals, history, rates):
    before = ps.StageProbabilities().fit(history, deals)
    one = deals.assign(Pipeline="Sales Pipeline")
    after = ps.StageProbabilities().fit(history, one)
    pd.testing.assert_frame_equal(before.table_, after.table_)
    assert after.pipelines_ is None and before.stages_ == after.stages_
    a = ps.weighted_forecast(deals, before, rates=rates, period="quarter")
    b = ps.weighted_forecast(one, after, rates=rates, period="quarter")
    pd.testing.assert_frame_equal(a, b)
    assert b.attrs["notes"] == a.attrs["notes"]
