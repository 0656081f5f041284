"""The backtest's calibrated and recommended forecasts (issue 9.6): per period the calibrated
forecast made on D (its own backtests before D only), the recommended one (calibrated when it
rests on enough past periods, else time-aware), each method's range and its P10–P90 coverage —
recomputed here from the engine's pieces."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from pipesheet import backtest
from pipesheet.calibrated import CalibratedForecast
from pipesheet.ranges import forecast_range
from pipesheet.simulate import SCENARIOS, simulate_pipeline


@pytest.fixture(scope="module")
def simulated():
    deals, history = simulate_pipeline(replace(SCENARIOS["quarter_end"], per_day=8), seed=11)
    res = backtest(history, deals, "2025-10-01", periods=3, period="quarter")
    return deals, history, res


def test_calibrated_rows_are_the_calibrated_forecast_made_on_d(simulated):
    deals, history, res = simulated
    rows = res.table[res.table["method"] == "calibrated"].reset_index(drop=True)
    assert rows["forecast"].notna().all()  # two years of history: enough past periods
    for _, row in rows.iterrows():
        model = CalibratedForecast(as_of=row["as_of"], period_end=row["period_end"])
        got = model.fit(history, deals).result_
        assert got.calibrated and got.as_of == row["as_of"]
        assert (row["forecast"], row["p10"], row["p50"], row["p90"]) == pytest.approx(
            (got.forecast, got.p10, got.p50, got.p90)
        )
        assert row["error"] == pytest.approx(got.forecast / row["actual"] - 1)


def test_the_recommended_forecast_is_the_calibrated_one_when_calibrated(simulated):
    *_, res = simulated
    wide = res.wide
    cal = res.table[res.table["method"] == "calibrated"].reset_index(drop=True)
    assert (wide["method"] == "calibrated").all()
    for col in ("forecast", "p10", "p50", "p90", "error"):
        assert wide[col].to_numpy() == pytest.approx(cal[col].to_numpy())
    assert wide["forecast_calibrated"].to_numpy() == pytest.approx(cal["forecast"].to_numpy())
    for tag in ("time_aware", "weighted", "calibrated"):  # each method keeps its columns
        assert {f"forecast_{tag}", f"error_{tag}"} <= set(wide.columns)
    assert {"forecast", "p10", "p50", "p90", "error", "actual", "method"} <= set(wide.columns)


def test_each_methods_range_and_coverage_by_hand(simulated):
    *_, res = simulated
    pred = res.predictions
    ta = res.table[res.table["method"] == "time-aware"].set_index("period")
    for period, part in pred.groupby("period"):
        ok = part["time_aware_probability"].notna() & part["amount"].notna()
        rng = forecast_range(part.loc[ok, "amount"], part.loc[ok, "time_aware_probability"])
        assert (ta.loc[period, "p10"], ta.loc[period, "p90"]) == pytest.approx((rng.p10, rng.p90))
        assert ta.loc[period, "forecast"] == pytest.approx(rng.mean)
    summary = res.summary.set_index("method")
    for method, part in res.table.groupby("method"):
        known = part["forecast"].notna()
        inside = (part["actual"] >= part["p10"]) & (part["actual"] <= part["p90"])
        assert summary.loc[method, "in_range_share"] == pytest.approx(inside[known].mean())
    wide = res.wide
    inside = (wide["actual"] >= wide["p10"]) & (wide["actual"] <= wide["p90"])
    rec = summary.loc["recommended"]
    assert rec["in_range_share"] == pytest.approx(inside.mean())
    assert rec["mape"] == pytest.approx(wide["error"].abs().mean())
    assert rec["bias"] == pytest.approx(wide["error"].mean())
    assert res.best in ("time-aware", "weighted pipeline", "calibrated")


def test_too_little_past_falls_back_to_time_aware_and_says_so():
    from pipesheet.sample import sample_deals, sample_history, sample_rates

    res = backtest(
        sample_history(),
        sample_deals(),
        "2025-10-01",
        periods=3,
        period="quarter",
        rates=sample_rates(),
    )
    wide = res.wide
    first = wide.iloc[0]
    assert first["method"] == "time-aware" and np.isnan(first["forecast_calibrated"])
    assert first["forecast"] == pytest.approx(first["forecast_time_aware"])
    ta = res.table[(res.table["method"] == "time-aware") & (res.table["period"] == first["period"])]
    assert first["p90"] == pytest.approx(ta["p90"].iloc[0])
    assert "too few past periods before it to calibrate on" in first["note"]
    assert any(n.startswith("calibrated:") and "not scored" in n for n in res.notes)
    assert set(wide["method"]) <= {"time-aware", "calibrated"}
    later = wide[wide["method"] == "calibrated"]
    assert later["forecast"].to_numpy() == pytest.approx(later["forecast_calibrated"].to_numpy())
    assert isinstance(res.summary, pd.DataFrame)
