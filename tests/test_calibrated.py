"""Calibrated forecast: its evidence is the backtest's, it never looks ahead, its corrections are
the hand-worked ones, and its range holds what it says over hundreds of simulated periods."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from pipesheet import backtest
from pipesheet.calibrated import (
    SHRINK,
    CalibratedForecast,
    _correction,
    _mixture_cdf,
    _mixture_quantiles,
    _shock_nodes,
    calibrated_forecast,
)
from pipesheet.ranges import forecast_range
from pipesheet.simulate import SCENARIOS, accuracy_table, evaluate_forecasts, simulate_pipeline


@pytest.fixture(scope="module")
def drift():
    return simulate_pipeline(replace(SCENARIOS["drift"], per_day=12), seed=3)


def test_evidence_is_the_backtest_of_the_same_windows(drift):
    deals, history = drift
    model = CalibratedForecast(as_of="2026-03-31", period_end="2026-06-30").fit(history, deals)
    ev = model.evidence_
    assert len(ev) >= 4 and model.periods_ == len(ev)
    # every past window is a whole quarter ending on or before the as-of date
    assert (ev["period_end"] <= pd.Timestamp("2026-03-31")).all()
    assert all(ts.is_quarter_end for ts in ev["period_end"])
    # the same figures as a backtest of those quarters (time-aware, same half-life)
    first = ev["as_of"].min() + pd.Timedelta(days=1)
    bt = backtest(history, deals, first, len(ev), "quarter").wide.set_index("as_of")
    if model.half_life_ is None and not model.by_owner_:
        for _, row in ev.iterrows():
            assert row["forecast"] == pytest.approx(bt.loc[row["as_of"], "forecast_time_aware"])
    for _, row in ev.iterrows():
        assert row["actual"] == pytest.approx(bt.loc[row["as_of"], "actual"])
    assert ev["error"].to_numpy() == pytest.approx(ev["forecast"] / ev["actual"] - 1)


def test_nothing_after_the_as_of_date_is_used(drift):
    deals, history = drift
    as_of = pd.Timestamp("2026-03-31")
    before = calibrated_forecast(history, deals, "2026-06-30", as_of=as_of)
    # rewrite everything after as-of: later rows dropped, open deals' futures changed
    cut = history[history["Entered Date"] <= as_of]
    after = calibrated_forecast(cut, deals, "2026-06-30", as_of=as_of)
    assert after.forecast == pytest.approx(before.forecast)
    assert (after.p10, after.p90) == pytest.approx((before.p10, before.p90))
    assert after.evidence["actual"].tolist() == pytest.approx(before.evidence["actual"].tolist())


def test_corrections_by_hand():
    t = np.array([-2.0, -1.5, -1.0, -0.5])
    w = np.ones(4)
    # a clear bias: mean 0.2, tiny noise → kept almost whole
    e = np.array([0.19, 0.21, 0.2, 0.2])
    fit = _correction("mean", t, e, w)
    var = np.var(e, ddof=1) / 4
    assert fit.b == pytest.approx(0.2 * max(0.0, 1 - SHRINK * var / 0.2**2))
    assert fit.b == pytest.approx(0.2, abs=1e-3)
    # noise around 0 → no correction at all
    noise = _correction("mean", t, np.array([0.2, -0.25, 0.15, -0.1]), w)
    assert noise.b == 0.0
    # a straight line: predicted at t = 0 exactly
    line = _correction("trend", t, 0.1 + 0.2 * t, w)
    assert line.b == pytest.approx(0.1)
    # leave-one-out of the mean: each period predicted by the (shrunk) mean of the others
    e = np.array([0.0, 1.0, 2.0, 3.0])
    loo = _correction("mean", t, e, w)
    predicted = []
    for j in range(4):
        rest = np.delete(e, j)
        m, var = rest.mean(), rest.var(ddof=1) / 3
        predicted.append(m * max(0.0, 1 - SHRINK * var / m**2))
    assert loo.loo == pytest.approx(np.mean((e - np.array(predicted)) ** 2))


def test_the_mixture_matches_simulation():
    rng = np.random.default_rng(1)
    amounts = np.concatenate([rng.lognormal(9, 0.8, 300), [400_000.0, 250_000.0]])
    probs = rng.uniform(0.05, 0.6, len(amounts))
    coins = forecast_range(amounts, probs)
    shocks = _shock_nodes(0.1, 0.2, 6)
    p10, p50, p90 = _mixture_quantiles(coins, shocks, (0.1, 0.5, 0.9))
    # the same distribution by brute force: coin flips × e^(0.1 + 0.2 T), T ~ t(6)
    draws = 200_000
    x = (rng.random((20_000, len(amounts))) < probs) @ amounts
    z = 0.1 + 0.2 * rng.standard_t(6, draws)
    r = np.repeat(x, draws // len(x)) * np.exp(z)
    q = np.quantile(r, [0.1, 0.5, 0.9])
    assert (p10, p50, p90) == pytest.approx(tuple(q), rel=0.01)
    assert _mixture_cdf(coins, shocks, np.array([p50]))[0] == pytest.approx(0.5, abs=1e-6)


def test_short_history_is_not_calibrated_and_says_so():
    deals, history = simulate_pipeline(replace(SCENARIOS["baseline"], days=300, per_day=10), 2)
    res = calibrated_forecast(history, deals, "quarter")
    assert res.periods < 4 and not res.calibrated
    assert res.method.startswith("time-aware, not calibrated")
    assert res.forecast == pytest.approx(res.model_forecast)
    assert res.p10 < res.model_forecast < res.p90


def test_result_protocol(drift):
    deals, history = drift
    res = calibrated_forecast(history, deals, "quarter", as_of="2026-02-15", quota=1_000_000)
    row = res.to_frame().iloc[0]
    assert row["forecast"] == pytest.approx(res.forecast)
    assert 0 <= res.p_quota <= 1 and res.p10 <= res.p50 <= res.p90
    assert repr(res).startswith("CalibratedResult(") and res.notes
    assert (res.deals["calibrated_probability"] <= 1).all()


def test_drift_is_corrected(drift):
    """Win rates falling: the time-aware model over-forecasts; the calibrated one much less."""
    frame = evaluate_forecasts(replace(SCENARIOS["drift"], per_day=12), seeds=(4, 5), periods=4)
    table = accuracy_table(frame).set_index("method")
    assert table.loc["time-aware", "bias"] > 0.1
    assert abs(table.loc["calibrated", "bias"]) < table.loc["time-aware", "bias"] / 2


def test_range_coverage_over_hundreds_of_simulated_periods():
    """Over ≥ 200 simulated periods (four processes, nine pipelines each, six quarters), the
    realised revenue falls inside P10–P90 between 70% and 90% of the time and above P50 about
    half the time."""
    frames = [
        evaluate_forecasts(replace(SCENARIOS[name], per_day=12), tuple(range(1, 10)), periods=6)
        for name in ("baseline", "reps", "drift", "quarter_end")
    ]
    cal = pd.concat(frames)
    cal = cal[(cal["method"] == "calibrated") & (cal["actual"] > 0)]
    assert len(cal) >= 200
    inside = ((cal["actual"] >= cal["p10"]) & (cal["actual"] <= cal["p90"])).mean()
    above = (cal["actual"] > cal["p50"]).mean()
    assert 0.70 <= inside <= 0.90, inside
    assert 0.35 <= above <= 0.65, above


def test_closed_so_far_is_of_the_windows_period():
    from pipesheet.sample import sample_deals, sample_history, sample_rates

    args = (sample_history(), sample_deals(), "quarter")
    opts = {"rates": sample_rates(), "quota": 2_500_000}
    mid = calibrated_forecast(*args, as_of="2026-08-15", **opts)
    # won 2026-07-01 .. 2026-08-15 in EUR, by hand from the deals table
    deals = sample_deals()
    closed = pd.to_datetime(deals["Closed Date"], errors="coerce")
    won = (deals["Stage"].str.strip().str.casefold() == "closed won") & closed.between(
        "2026-07-01", "2026-08-15"
    )
    amount = pd.to_numeric(deals["Amount"].astype(str).str.replace(",", ""), errors="coerce")
    rate = deals["Currency"].map({"EUR": 1.0, "USD": 0.92})
    assert mid.closed == pytest.approx(float((amount * rate)[won].sum()))
    # as of a quarter's last day the window is the next quarter: nothing closed in it yet
    last_day = calibrated_forecast(*args, as_of="2026-06-30", **opts)
    assert last_day.closed == 0.0
    assert last_day.period_end == pd.Timestamp("2026-09-30")
