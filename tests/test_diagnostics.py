"""Time in stage, stale deals, bottlenecks and cycle time on hand-checked histories."""

from __future__ import annotations

import pandas as pd
import pytest

from pipesheet import PipesheetError, StageList
from pipesheet import diagnostics as dg
from pipesheet.sample import sample_history

STAGES = StageList(("Lead", "Proposal"))


def _hist(rows):
    return pd.DataFrame(rows, columns=["Deal ID", "Stage", "Entered Date"])


H = _hist(
    [
        # won deals: 10, 20, 30, 40, 50 days in Lead
        *[
            r
            for i, d in enumerate((10, 20, 30, 40, 50))
            for r in (
                (f"W{i}", "Lead", "2026-01-01"),
                (f"W{i}", "Proposal", (pd.Timestamp("2026-01-01") + pd.Timedelta(days=d)).date()),
                (f"W{i}", "Won", "2026-04-01"),
            )
        ],
        ("L1", "Lead", "2026-01-01"),
        ("L1", "Lost", "2026-01-05"),
        ("O1", "Lead", "2026-05-01"),  # 61 days in Lead on 2026-07-01: stale
        ("O2", "Lead", "2026-06-20"),  # 11 days: not stale
        ("O3", "Lead", "2026-06-01"),
        ("O3", "Lead", "2026-06-10"),  # a repeated row continues the visit
    ]
)


def test_thresholds_and_stale_deals():
    t = dg.stale_thresholds(H, stages=STAGES, as_of="2026-07-01")
    # 80th percentile of 10..50 (linear) = 42
    assert t.set_index("stage").loc["Lead", "threshold_days"] == pytest.approx(42)
    s = dg.stale_deals(H, stages=STAGES, as_of="2026-07-01").set_index("deal_id")
    assert s.loc["O1", "days_in_stage"] == 61 and bool(s.loc["O1", "stale"])
    assert not bool(s.loc["O2", "stale"])
    assert s.loc["O3", "days_in_stage"] == 30
    only = dg.stale_deals(H, stages=STAGES, as_of="2026-07-01", only_stale=True)
    assert only["deal_id"].tolist() == ["O1"]
    assert only.attrs["notes"][0] == "stale = longer in stage than 80% of the team's won deals"


def test_quantile_is_configurable_and_checked():
    t = dg.stale_thresholds(H, stages=STAGES, as_of="2026-07-01", quantile=0.5)
    assert t.set_index("stage").loc["Lead", "threshold_days"] == 30
    with pytest.raises(PipesheetError, match="between 0 and 1"):
        dg.stale_thresholds(H, stages=STAGES, quantile=80)


def test_as_of_hides_the_future():
    s = dg.time_in_stage(H, stages=STAGES, as_of="2026-02-01").set_index("deal_id")
    assert "W0" not in s.index or s.loc["W0", "stage"] != "Lead"  # W0 left Lead on day 10
    assert s.loc["W4", "stage"] == "Lead" and s.loc["W4", "days_in_stage"] == 31


def test_cycle_time():
    c = dg.cycle_time(H, stages=STAGES, as_of="2026-07-01").set_index("outcome")
    assert c.loc["won", "deals"] == 5 and c.loc["won", "median_days"] == 90
    assert c.loc["lost", "deals"] == 1 and c.loc["lost", "mean_days"] == 4


def test_conversion_and_bottleneck_with_benchmark():
    conv = dg.conversion_by_stage(H, stages=STAGES, as_of="2026-07-01")
    lead = conv[conv["stage"] == "Lead"].iloc[0]
    assert (lead["closed_deals"], lead["converted"]) == (6, 5)
    b = dg.bottlenecks(
        H,
        stages=STAGES,
        as_of="2026-07-01",
        min_deals=1,
        min_closed_share=0.5,
        benchmark={"Lead": 90},
    )
    row = b.set_index("stage").loc["Lead"]
    assert row["reference"] == 0.9 and row["gap"] == pytest.approx(5 / 6 - 0.9)
    assert bool(row["bottleneck"])


def test_bottleneck_on_sample_uses_mature_cohorts():
    b = dg.bottlenecks(sample_history())
    assert b["bottleneck"].sum() == 1
    assert (b["period"] < "2026-Q3").all()  # the young current quarter is not compared


def test_needs_history():
    with pytest.raises(PipesheetError, match="a stage history is needed for diagnostics"):
        dg.stale_deals(None)
