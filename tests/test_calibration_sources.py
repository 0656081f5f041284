"""Calibration of every probability the user has (issue 9.4): learned, configured (as the history
recorded it on the as-of date, or the deals table's stage values), a preset, a table, the
time-aware and the calibrated probabilities — the same tables, Brier score and Brier skill,
worked by hand on a small history."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipesheet import PipesheetError, StageList, brier_score, calibration
from pipesheet.calibrated import CalibratedForecast
from pipesheet.calibration import brier_skill
from pipesheet.simulate import simulate_pipeline

SALESFORCE_RAW = Path(__file__).parent / "fixtures" / "salesforce_raw"
STAGES = StageList(("A", "B"), won=("Won",), lost=("Lost",))
D = "2026-02-28"
# Closed by D: at A a1 won, a2..a4 lost (p_A = 1/4); at B b1..b3 won, b4 lost (p_B = 3/4).
# Open on D: x1 at A -> Won, x2 at A -> Lost, x3 at B -> Won, x4 at B -> still open (censored).
# Scored outcomes y = (1, 0, 1): base rate r = 2/3, reference Brier r(1 − r) = 2/9.
# Each row carries the CRM's probability at that moment (as Salesforce OpportunityHistory does);
# x2's probability was raised to 70% after D and x3's is 90% on D.
ROWS = [
    *[(f"a{i}", "A", "2026-01-02", 40) for i in range(1, 5)],
    ("a1", "Won", "2026-01-20", 100),
    *[(f"a{i}", "Lost", "2026-01-21", 0) for i in range(2, 5)],
    *[(f"b{i}", "B", "2026-01-03", 60) for i in range(1, 5)],
    *[(f"b{i}", "Won", "2026-01-25", 100) for i in range(1, 4)],
    ("b4", "Lost", "2026-01-26", 0),
    ("x1", "A", "2026-02-10", 40),
    ("x2", "A", "2026-02-11", 40),
    ("x3", "B", "2026-02-12", 90),
    ("x4", "B", "2026-02-13", 60),
    ("x2", "A", "2026-03-05", 70),  # after D: not what was predicted on D
    ("x1", "Won", "2026-03-10", 100),
    ("x2", "Lost", "2026-03-20", 0),
    ("x3", "Won", "2026-04-15", 100),
    ("y1", "A", "2026-04-01", 30),
]
REFERENCE = 2 / 9


def history(probability: bool = True) -> pd.DataFrame:
    frame = pd.DataFrame(ROWS, columns=["Deal ID", "Stage", "Entered Date", "Probability"])
    return frame if probability else frame.drop(columns="Probability")


def deals() -> pd.DataFrame:
    """The deals table as exported now: closed deals show 100% / 0% (their outcome), the open
    ones their stage's value (A 30%, B 55%)."""
    hist = history()
    last = hist.groupby("Deal ID").tail(1)
    prob = {"Won": 100, "Lost": 0, "A": 30, "B": 55}
    return pd.DataFrame(
        {
            "Deal ID": last["Deal ID"].to_numpy(),
            "Stage": last["Stage"].to_numpy(),
            "Amount": 1000.0,
            "Probability": [prob[s] for s in last["Stage"]],
        }
    )


def by_hand(p: list[float], y: list[float]) -> tuple[float, float]:
    brier = float(np.mean((np.array(p) - np.array(y)) ** 2))
    return brier, 1 - brier / REFERENCE


def test_brier_skill_by_hand():
    assert brier_skill(0.1, 0.2) == pytest.approx(0.5)
    assert brier_skill(0.3, 0.2) == pytest.approx(-0.5)
    assert np.isnan(brier_skill(0.1, 0.0))  # every outcome the same: not defined
    assert np.isnan(brier_skill(float("nan"), 0.2))


def test_learned_is_worse_than_the_base_rate_and_says_so():
    res = calibration(history(False), None, D, stages=STAGES)
    brier, skill = by_hand([0.25, 0.25, 0.75], [1, 0, 1])  # 0.6875 / 3
    assert res.brier == pytest.approx(brier)
    assert res.brier_reference == pytest.approx(REFERENCE)
    assert res.brier_skill == pytest.approx(skill) == pytest.approx(-0.03125)
    assert res.summary.loc[0, "brier_skill"] == pytest.approx(skill)
    said = [n for n in res.notes if "worse than always predicting the base rate" in n]
    assert said and "learned" in said[0] and "66.7%" in said[0]


def test_configured_as_the_history_recorded_it_on_the_as_of_date():
    res = calibration(history(), None, D, probabilities="configured", stages=STAGES)
    got = res.deals.set_index("deal_id")["predicted"].to_dict()
    assert got == pytest.approx({"x1": 0.4, "x2": 0.4, "x3": 0.9, "x4": 0.6})  # not x2's 70%
    brier, skill = by_hand([0.4, 0.4, 0.9], [1, 0, 1])  # (.36 + .16 + .01) / 3
    assert res.probabilities == "configured"
    assert res.brier == pytest.approx(brier) == pytest.approx(0.53 / 3)
    assert res.brier_skill == pytest.approx(skill) == pytest.approx(0.205)
    assert not any("worse than" in n for n in res.notes)
    assert any("as the history recorded them" in n for n in res.notes)
    by = res.by_stage.set_index("stage")
    assert by.loc["A", "predicted"] == pytest.approx(0.4) and by.loc["B", "open_excluded"] == 1


def test_configured_from_the_deals_table_never_reads_the_outcome():
    """Without a probability in the history, closed deals' 100% / 0% in the deals table are
    their outcomes: each deal gets its stage's value among the deals open now (A 30%, B 55%)."""
    res = calibration(history(False), deals(), D, probabilities="configured", stages=STAGES)
    got = res.deals.set_index("deal_id")["predicted"].to_dict()
    assert got == pytest.approx({"x1": 0.3, "x2": 0.3, "x3": 0.55, "x4": 0.55})
    brier, skill = by_hand([0.3, 0.3, 0.55], [1, 0, 1])  # (.49 + .09 + .2025) / 3
    assert res.brier == pytest.approx(brier) == pytest.approx(0.7825 / 3)
    assert res.brier_skill == pytest.approx(skill) == pytest.approx(-0.17375)
    assert any("worse than always predicting the base rate" in n for n in res.notes)
    assert any("may have been changed since" in n for n in res.notes)


def test_a_table_and_a_mapping_are_the_same():
    table = pd.DataFrame({"Stage": ["A", "B"], "Probability": ["50%", "90%"]})
    for given in (table, {"A": 0.5, "B": 0.9}):
        res = calibration(history(False), None, D, probabilities=given, stages=STAGES)
        brier, skill = by_hand([0.5, 0.5, 0.9], [1, 0, 1])  # (.25 + .25 + .01) / 3 = .17
        assert res.probabilities == "table"
        assert res.brier == pytest.approx(brier) == pytest.approx(0.17)
        assert res.brier_skill == pytest.approx(skill) == pytest.approx(1 - 0.17 * 4.5)
        assert res.by_bucket["deals"].sum() == 3


def test_a_preset_by_its_stage_names():
    renamed = history(False).replace({"Stage": {"A": "Prospecting", "B": "Qualification"}})
    stages = StageList(("Prospecting", "Qualification"), won=("Won",), lost=("Lost",))
    res = calibration(renamed, None, D, probabilities="suitecrm", stages=stages)
    brier, skill = by_hand([0.1, 0.1, 0.2], [1, 0, 1])  # suitecrm: 10%, 20%
    assert res.probabilities == "suitecrm"
    assert res.brier == pytest.approx(brier) == pytest.approx(1.46 / 3)
    assert res.brier_skill == pytest.approx(skill) and skill < 0
    assert any("worse than always predicting the base rate" in n for n in res.notes)
    # the history's own names do not match the preset: said, naming both
    with pytest.raises(PipesheetError, match="do not match the preset 'salesforce'") as err:
        calibration(history(False), None, D, probabilities="salesforce", stages=STAGES)
    assert "'A'" in str(err.value) and "Prospecting" in str(err.value)


def test_a_stage_missing_from_the_table_is_not_scored_and_said():
    res = calibration(history(False), None, D, probabilities={"B": 0.9}, stages=STAGES)
    assert res.deals["outcome"].notna().sum() == 1  # x3 only
    assert any("no probability for A" in n for n in res.notes)


def test_configured_needs_a_probability_column():
    with pytest.raises(PipesheetError, match="no configured probabilities"):
        calibration(history(False), None, D, probabilities="configured", stages=STAGES)
    with pytest.raises(PipesheetError, match="probabilities to calibrate"):
        calibration(history(), None, D, probabilities="guess", stages=STAGES)
    with pytest.raises(PipesheetError, match="needs a period end"):
        calibration(history(), None, D, probabilities="calibrated", stages=STAGES)


@pytest.fixture(scope="module")
def simulated():
    from dataclasses import replace

    from pipesheet.simulate import SCENARIOS

    return simulate_pipeline(replace(SCENARIOS["baseline"], per_day=10), seed=5)


def test_time_aware_and_calibrated_score_the_same_deals_by_the_period_end(simulated):
    deals_, hist = simulated
    as_of, end = "2026-03-31", "2026-06-30"
    ta = calibration(hist, deals_, as_of, probabilities="time-aware", period_end=end)
    cal = calibration(hist, deals_, as_of, probabilities="calibrated", period_end=end)
    assert cal.probabilities == "calibrated" and cal.period_end == pd.Timestamp(end)
    # the same deals and outcomes (won by the period end: nothing censored)
    a = ta.deals.set_index("deal_id")
    b = cal.deals.set_index("deal_id")
    assert a.index.equals(b.index) and a["outcome"].equals(b["outcome"])
    # the calibrated probability is the calibrated forecast's: min(1, p · e^b)
    model = CalibratedForecast(as_of=as_of, period_end=end).fit(hist, deals_)
    want = model.deals_.set_index("deal_id")["calibrated_probability"]
    assert b["predicted"].to_numpy() == pytest.approx(want.reindex(b.index).to_numpy())
    for res in (ta, cal):
        ok = res.deals["outcome"].notna()
        p, y = res.deals.loc[ok, "predicted"], res.deals.loc[ok, "outcome"]
        assert res.brier == pytest.approx(brier_score(p, y))
        assert res.brier_reference == pytest.approx(y.mean() * (1 - y.mean()))
        assert res.brier_skill == pytest.approx(1 - res.brier / res.brier_reference)
        worse = any("worse than always predicting the base rate" in n for n in res.notes)
        assert worse == (res.brier_skill < 0)


def test_configured_from_a_salesforce_opportunity_history_export():
    """OpportunityHistory's Probability column, read as exported (latin-1, 0–100): each deal
    open on D gets the last value recorded on or before D — recomputed here from the raw file."""
    from pipesheet.exports import read_export

    export = read_export(
        SALESFORCE_RAW / "Opportunity.csv", SALESFORCE_RAW / "OpportunityHistory.csv"
    )
    as_of = "2025-03-31"
    res = calibration(export.history, export.deals, as_of, probabilities="configured")
    raw = pd.read_csv(SALESFORCE_RAW / "OpportunityHistory.csv", encoding="latin-1")
    raw["day"] = pd.to_datetime(raw["CreatedDate"]).dt.tz_localize(None).dt.normalize()
    known = raw[raw["day"] <= pd.Timestamp(as_of)].sort_values(["day"], kind="stable")
    last = known.groupby("OpportunityId").tail(1).set_index("OpportunityId")
    open_on_d = last[~last["StageName"].str.startswith("Cerrada")]
    got = res.deals.set_index("deal_id")["predicted"]
    assert sorted(got.index) == sorted(open_on_d.index)
    assert got.to_numpy() == pytest.approx(
        open_on_d["Probability"].reindex(got.index).to_numpy() / 100
    )
    assert any("as the history recorded them" in n for n in res.notes)
    ok = res.deals["outcome"].notna()
    assert res.brier == pytest.approx(
        brier_score(res.deals.loc[ok, "predicted"], res.deals.loc[ok, "outcome"])
    )
