"""Stage design check: generated histories with one defect each raise exactly its flag; a clean
one raises none; the evidence is checked by hand on a tiny history."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline_sim import Flow, simulate
from pipesheet import PipesheetError, StageList
from pipesheet.sample import sample_deals, sample_history
from pipesheet.stage_design import CHECKS, EVIDENCE_COLUMNS, FLAG_COLUMNS, stage_design_check

AS_OF = "2026-05-15"
CLEAN = Flow(
    ("Lead", "Qualified", "Demo", "Proposal", "Negotiation"),
    conversion=(0.6, 0.7, 0.6, 0.7, 0.8),
    dwell=(6.0, 8.0, 10.0, 7.0, 5.0),
)


def _check(flow: Flow, seed: int = 1, history=None, deals=None, **options):
    if history is None:
        history, deals = simulate(flow, per_day=2.0, as_of=AS_OF, years=1.0, seed=seed)
    return stage_design_check(history, deals, stages=StageList(flow.stages), **options)


def _raised(result) -> list[tuple[str, str]]:
    return list(zip(result.flags["check"], result.flags["stage"], strict=True))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_clean_history_raises_nothing(seed):
    r = _check(CLEAN, seed)
    assert r.ok, str(r)
    assert list(r.flags.columns) == list(FLAG_COLUMNS)
    assert list(r.evidence.columns) == list(EVIDENCE_COLUMNS)
    assert "no flag raised" in str(r)


def test_seven_stages():
    flow = Flow(tuple(f"Step {i}" for i in range(1, 8)), (0.8,) * 7, (6.0,) * 7)
    r = _check(flow)
    assert _raised(r) == [("too_many_stages", "")]
    flag = r.flags.iloc[0]
    assert flag["value"] == 7 and flag["threshold"] == 6
    assert flag["evidence"].startswith("7 open stages: Step 1 → Step 2")
    assert "keep 4–6 open stages" in flag["suggestion"]
    assert "closest win probabilities" in flag["suggestion"]
    assert r.to_frame().attrs["thresholds"]["max_stages"] == 6
    assert _check(flow, max_stages=7).ok


def test_a_stage_most_deals_skip():
    flow = Flow(CLEAN.stages, CLEAN.conversion, CLEAN.dwell, skip=(0, 0, 0.8, 0, 0))
    r = _check(flow)
    assert _raised(r) == [("skipped", "Demo")]
    flag = r.flags.iloc[0]
    # of the deals past Demo, 0.8 / (0.8 + 0.2 · 0.6) = 87% skipped it
    assert flag["value"] == pytest.approx(0.87, abs=0.05)
    assert "never entered it" in flag["evidence"]
    assert flag["suggestion"].startswith("most deals skip it")
    assert _check(flow, skip_share_min=0.95).ok


def test_a_stage_every_deal_passes_at_once():
    stages = ("Lead", "Qualified", "Booked", "Demo", "Proposal")
    flow = Flow(stages, (0.6, 0.7, 1.0, 0.6, 0.7), (6.0, 8.0, 0.0, 10.0, 7.0))
    r = _check(flow)
    assert _raised(r) == [("no_information", "Booked")]
    flag = r.flags.iloc[0]
    assert flag["value"] == 1.0 and flag["threshold"] == 0.95
    assert "step conversion 100%" in flag["evidence"]
    assert "median 0 days in stage" in flag["evidence"]
    assert flag["suggestion"] == "it adds no information: merge it with Demo"
    ev = r.evidence.set_index("stage").loc["Booked"]
    assert ev["step_conversion"] == 1.0 and ev["median_days"] == 0


def test_a_stage_with_five_closed_deals():
    # deals reach Legal and stay (nobody leaves it); then 5 of them close: 3 won, 2 lost
    stages = (*CLEAN.stages[:4], "Legal")
    flow = Flow(stages, CLEAN.conversion, (*CLEAN.dwell[:4], 1e9))
    history, deals = simulate(flow, per_day=2.0, as_of=AS_OF, years=1.0, seed=1)
    at_legal = history.loc[history["Stage"] == "Legal"].head(5)
    assert len(at_legal) == 5
    closing = at_legal.assign(
        Stage=["Won", "Won", "Won", "Lost", "Lost"],
        **{"Entered Date": at_legal["Entered Date"] + pd.Timedelta(days=30)},
    )
    history = pd.concat([history, closing], ignore_index=True)
    history = history[history["Entered Date"] <= AS_OF]
    deals = deals.set_index("Deal ID")
    deals.loc[closing["Deal ID"], "Stage"] = closing["Stage"].to_numpy()
    r = _check(flow, history=history, deals=deals.reset_index())
    closed_at_legal = int(r.evidence.set_index("stage").loc["Legal", "closed"])
    assert closed_at_legal == 5
    assert _raised(r) == [("too_few_closed", "Legal")]
    flag = r.flags.iloc[0]
    assert flag["value"] == 5 and flag["threshold"] == 20
    assert flag["evidence"] == (
        "5 closed deals reached it (3 won, 2 lost): too few to learn a win probability"
    )
    assert flag["suggestion"].startswith("pool it with Proposal, or give it a prior")


def test_a_stage_deals_often_move_back_from():
    flow = Flow(CLEAN.stages, CLEAN.conversion, CLEAN.dwell, back=(0, 0, 0, 0.3, 0))
    r = _check(flow)
    assert _raised(r) == [("backward", "Proposal")]
    flag = r.flags.iloc[0]
    assert flag["value"] == pytest.approx(0.3, abs=0.06)
    assert "went back (mostly to Demo)" in flag["evidence"]
    assert "merge it with Demo" in flag["suggestion"]


# ---- the evidence, by hand ---------------------------------------------------------------------
def _tiny() -> pd.DataFrame:
    paths = {
        "d1": ["A", "B", "C", "Won"],
        "d2": ["A", "C", "Won"],  # skips B
        "d3": ["A", "C", "Lost"],  # skips B
        "d4": ["A", "B", "A", "B", "Lost"],  # back from B to A once
        "d5": ["B", "Won"],  # skips A
    }
    rows = [
        (d, s, pd.Timestamp("2026-01-01") + pd.Timedelta(days=5 * i))
        for d, path in paths.items()
        for i, s in enumerate(path)
    ]
    return pd.DataFrame(rows, columns=["Deal ID", "Stage", "Entered Date"])


def test_evidence_by_hand():
    r = stage_design_check(_tiny(), stages=StageList(("A", "B", "C")), min_deals=1)
    ev = r.evidence.set_index("stage")
    # later deals: A — d1..d5 reached B, C or Won; B — d1, d2, d3, d5; C — Won: d1, d2, d5
    assert ev["later_deals"].tolist() == [5, 4, 3]
    assert ev["skip_share"].tolist() == pytest.approx([1 / 5, 2 / 4, 1 / 3])
    # visits leaving B: d1 → C, d4 → A, d4 → Lost, d5 → Won: 1 of 4 back, to A
    assert ev["leaving_visits"].tolist() == [5, 4, 3]
    assert ev["backward_share"].tolist() == pytest.approx([0, 0.25, 0])
    assert ev.loc["B", "back_to"] == "A" and ev.loc["A", "back_to"] == ""
    assert ev["median_days"].tolist() == [5, 5, 5]
    assert ev["closed"].tolist() == [4, 3, 3]  # A: d1-d4; B: d1, d4, d5; C: d1, d2, d3
    raised = set(_raised(r))
    assert ("skipped", "B") in raised and ("skipped", "A") not in raised
    assert ("backward", "B") in raised
    assert {("too_few_closed", s) for s in "ABC"} <= raised
    # flags are listed check by check, stages in funnel order
    order = [CHECKS.index(c) for c in r.flags["check"]]
    assert order == sorted(order)


def test_as_of_uses_only_what_was_known():
    # on 2026-01-07 only the rows of 2026-01-01 and 2026-01-06 were known: A by d1-d4, B by
    # d1, d4, d5, C by d2, d3 (d1 reached C on 2026-01-11)
    r = stage_design_check(_tiny(), stages=StageList(("A", "B", "C")), as_of="2026-01-07")
    assert r.evidence["reached"].tolist() == [4, 3, 2]
    assert r.as_of == pd.Timestamp("2026-01-07")


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("max_stages", 6.5),
        ("max_stages", -1),
        ("skip_share_min", 1.5),
        ("merge_conversion", "high"),
        ("merge_days", -1),
        ("min_closed", True),
        ("backward_share_min", float("nan")),
        ("min_deals", None),
    ],
)
def test_bad_thresholds_are_named(option, value):
    with pytest.raises(PipesheetError) as err:
        stage_design_check(_tiny(), **{option: value})
    assert err.value.column == option


def test_the_bundled_sample_is_sound():
    r = stage_design_check(sample_history(), sample_deals())
    assert r.ok, str(r)
    assert np.isfinite(r.evidence["step_conversion"]).all()
