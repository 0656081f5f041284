"""Calibration: hand-worked Brier score, censoring, time-aware mode, errors."""

import pandas as pd
import pytest

from pipesheet import PipesheetError, StageList, brier_score, calibration

STAGES = StageList(("A", "B"), won=("Won",), lost=("Lost",))
# Learned as of 2026-02-28 from deals closed by then:
#   at A: a1 won, a2..a4 lost -> p_A = 1/4;  at B: b1..b3 won, b4 lost -> p_B = 3/4
# Open on 2026-02-28 and what became of them:
#   x1 at A -> Won (y=1); x2 at A -> Lost (y=0); x3 at B -> Won (y=1); x4 at B -> still open
# Brier over the scored deals: ((.25-1)^2 + (.25-0)^2 + (.75-1)^2) / 3 = (.5625+.0625+.0625)/3
ROWS = [
    *[(f"a{i}", "A", "2026-01-02") for i in range(1, 5)],
    ("a1", "Won", "2026-01-20"),
    *[(f"a{i}", "Lost", "2026-01-21") for i in range(2, 5)],
    *[(f"b{i}", "B", "2026-01-03") for i in range(1, 5)],
    *[(f"b{i}", "Won", "2026-01-25") for i in range(1, 4)],
    ("b4", "Lost", "2026-01-26"),
    ("x1", "A", "2026-02-10"),
    ("x2", "A", "2026-02-11"),
    ("x3", "B", "2026-02-12"),
    ("x4", "B", "2026-02-13"),
    ("x1", "Won", "2026-03-10"),
    ("x2", "Lost", "2026-03-20"),
    ("x3", "Won", "2026-04-15"),
]


def history():
    return pd.DataFrame(ROWS, columns=["Deal ID", "Stage", "Entered Date"])


def test_brier_hand_worked():
    assert brier_score([0.25, 0.25, 0.75], [1, 0, 1]) == pytest.approx(0.6875 / 3)
    assert brier_score([1.0, 0.0], [1, 0]) == 0.0
    with pytest.raises(PipesheetError, match="outside 0–1"):
        brier_score([1.5], [1])
    with pytest.raises(PipesheetError, match="not 0 or 1"):
        brier_score([0.5], [2])


def test_stage_calibration_censors_open_deals():
    res = calibration(history(), None, "2026-02-28", stages=STAGES, buckets=4)
    assert res.brier == pytest.approx(0.6875 / 3)
    by = res.by_stage.set_index("stage")
    assert by.loc["A", "deals"] == 2 and by.loc["A", "predicted"] == pytest.approx(0.25)
    assert by.loc["A", "realised"] == pytest.approx(0.5)
    assert by.loc["B", "deals"] == 1 and by.loc["B", "open_excluded"] == 1  # not a loss
    assert by.loc["B", "realised"] == pytest.approx(1.0)
    buckets = res.by_bucket.set_index("bucket")
    assert buckets.loc["25%–50%", "deals"] == 2  # p = 0.25 falls in [0.25, 0.50)
    assert buckets.loc["75%–100%", "deals"] == 1
    assert res.brier_reference == pytest.approx((2 / 3) * (1 / 3))
    assert res.summary.loc[0, "open_excluded"] == 1


def test_time_aware_calibration_scores_every_open_deal():
    res = calibration(
        history(),
        None,
        "2026-02-28",
        probabilities="time-aware",
        period_end="2026-03-31",
        stages=STAGES,
    )
    # won by 03-31: x1 only; x2 lost, x3 won later, x4 open -> all scored as 0
    assert res.deals.set_index("deal_id")["outcome"].to_dict() == {
        "x1": 1.0,
        "x2": 0.0,
        "x3": 0.0,
        "x4": 0.0,
    }
    p = res.deals["predicted"].to_numpy()
    assert res.brier == pytest.approx(brier_score(p, res.deals["outcome"].to_numpy()))


def test_calibration_errors():
    with pytest.raises(PipesheetError, match="past as-of date"):
        calibration(history(), None, "2026-05-01", stages=STAGES)
    with pytest.raises(PipesheetError, match="needs a period end"):
        calibration(history(), None, "2026-02-28", probabilities="time-aware", stages=STAGES)
    with pytest.raises(PipesheetError, match="after the history"):
        calibration(
            history(), None, "2026-02-28", probabilities="time-aware", period_end="2026-06-30"
        )
    with pytest.raises(PipesheetError, match="probabilities to calibrate"):
        calibration(history(), None, "2026-02-28", probabilities="isotonic")
