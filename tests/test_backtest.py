"""Backtest on a simulated pipeline with a known process, by-hand errors, no look-ahead."""

import numpy as np
import pandas as pd
import pytest

from pipesheet import PipesheetError, StageList, backtest

STAGES = StageList(("Early", "Late"), won=("Won",), lost=("Lost",))
BASE = pd.Timestamp("2024-01-01")
EXPORT_DAY = 540


def simulate(seed=3, n=20000):
    """Known process: a deal is created at Early (60%) or Late (40%) and stays there until it
    closes; it is won with probability 0.3 (Early) / 0.6 (Late) after a geometric cycle of mean
    120 / 40 days. Deals are created at a growing rate (density ∝ day). The rep's expected
    close date is always created + 30 days (optimistic and never
    updated), so many open deals close long after it. Export on day 540: later events unseen."""
    rng = np.random.default_rng(seed)
    created = np.floor(EXPORT_DAY * rng.random(n) ** 0.5).astype(int)  # a growing team
    late = rng.random(n) < 0.4
    won = rng.random(n) < np.where(late, 0.6, 0.3)
    cycle = rng.geometric(1 / np.where(late, 40.0, 120.0))
    closed = created + cycle
    amount = np.round(np.exp(rng.normal(np.log(10_000), 0.6, n)))
    seen = closed <= EXPORT_DAY
    ids = np.array([f"s{i}" for i in range(n)])
    stage = np.where(late, "Late", "Early")
    terminal = np.where(won, "Won", "Lost")
    hist = pd.concat(
        [
            pd.DataFrame(
                {
                    "Deal ID": ids,
                    "Stage": stage,
                    "Entered Date": BASE + pd.to_timedelta(created, "D"),
                }
            ),
            pd.DataFrame(
                {
                    "Deal ID": ids[seen],
                    "Stage": terminal[seen],
                    "Entered Date": BASE + pd.to_timedelta(closed[seen], "D"),
                }
            ),
        ],
        ignore_index=True,
    )
    deals = pd.DataFrame(
        {
            "Deal ID": ids,
            "Stage": np.where(seen, terminal, stage),
            "Amount": amount,
            "Expected Close Date": BASE + pd.to_timedelta(created + 30, "D"),
        }
    )
    truth = pd.DataFrame(
        {
            "id": ids,
            "late": late,
            "won": won,
            "created": created,
            "closed": closed,
            "amount": amount,
        }
    )
    return hist, deals, truth


@pytest.fixture(scope="module")
def sim():
    hist, deals, truth = simulate()
    res = backtest(hist, deals, "2025-03-01", periods=3, period="month", stages=STAGES)
    return hist, deals, truth, res


def test_time_aware_beats_weighted_pipeline(sim):
    *_, res = sim
    s = res.summary.set_index("method")
    assert s.loc["time-aware", "mape"] < s.loc["weighted pipeline", "mape"]
    assert s.loc["time-aware", "mape"] < 0.1
    assert res.best == "time-aware"
    assert list(res.wide["period"]) == ["2025-03", "2025-04", "2025-05"]


def test_reported_errors_recomputed_by_hand(sim):
    _, _, t, res = sim
    # March 2025: as of D = 2025-02-28 (day 424); the period is days 425..455
    d, lo, hi = (pd.Timestamp(x) - BASE for x in ("2025-02-28", "2025-03-01", "2025-03-31"))
    d, lo, hi = d.days, lo.days, hi.days
    open_d = (t.created <= d) & (t.closed > d)
    actual = t.amount[open_d & t.won & (t.closed >= lo) & (t.closed <= hi)].sum()
    closed_d = t.closed <= d
    p = {
        late: (t.won & closed_d & (t.late == late)).sum() / (closed_d & (t.late == late)).sum()
        for late in (False, True)
    }
    in_march = (t.created + 30 >= lo) & (t.created + 30 <= hi)
    naive = (t.amount * t.late.map(p))[open_d & in_march].sum()
    rows = res.table[res.table["period"] == "2025-03"].set_index("method")
    assert rows.loc["weighted pipeline", "actual"] == pytest.approx(actual)
    assert rows.loc["weighted pipeline", "forecast"] == pytest.approx(naive)
    assert rows.loc["weighted pipeline", "error"] == pytest.approx(naive / actual - 1)
    assert rows.loc["time-aware", "open_deals"] == open_d.sum()
    ta = rows.loc["time-aware", "forecast"]
    assert rows.loc["time-aware", "error"] == pytest.approx(ta / actual - 1)
    pr = res.predictions[res.predictions["period"] == "2025-03"]
    assert ta == pytest.approx((pr["amount"] * pr["time_aware_probability"]).sum())
    # MAPE and bias are the mean |error| and mean error over the periods
    for method, part in res.table.groupby("method"):
        s = res.summary.set_index("method").loc[method]
        assert s["mape"] == pytest.approx(part["error"].abs().mean(), nan_ok=True)
        assert s["bias"] == pytest.approx(part["error"].mean(), nan_ok=True)


def test_no_look_ahead_and_bad_settings(sim):
    hist, deals, _, res = sim
    # rewriting everything after the last as-of date changes no forecast
    cut = pd.Timestamp("2025-04-30")
    changed = hist.copy()
    future = changed["Entered Date"] > cut
    changed.loc[future & changed["Stage"].eq("Lost"), "Stage"] = "Won"
    again = backtest(changed, deals, "2025-05-01", periods=1, stages=STAGES)
    orig = res.table[res.table["period"] == "2025-05"].reset_index(drop=True)
    assert again.table["forecast"].to_numpy() == pytest.approx(
        orig["forecast"].to_numpy(), nan_ok=True
    )
    with pytest.raises(PipesheetError, match="ends after the history"):
        backtest(hist, deals, "2025-05-01", periods=2, stages=STAGES)
    with pytest.raises(PipesheetError, match="unknown period"):
        backtest(hist, deals, "2025-03-01", period="week", stages=STAGES)
    with pytest.raises(PipesheetError, match="actual basis"):
        backtest(hist, deals, "2025-03-01", actual="bookings", stages=STAGES)


def test_actual_all_includes_new_deals(sim):
    hist, deals, _, res = sim
    every = backtest(hist, deals, "2025-03-01", periods=1, actual="all", stages=STAGES)
    row = res.table.iloc[0]
    assert every.table.iloc[0]["actual"] == pytest.approx(row["actual"] + row["won_new"])
    assert row["won_new"] > 0
