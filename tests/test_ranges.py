"""Forecast range: S = Σ amount_d · Bernoulli(p_d), independent deals (pipesheet.ranges)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pipesheet.errors import PipesheetError
from pipesheet.ranges import QUANTILE_TIE, ForecastRange, forecast_range

LEVELS = (0.1, 0.5, 0.9)


def quantiles(r: ForecastRange) -> tuple[float, float, float]:
    return r.p10, r.p50, r.p90


def brute_force(amounts, probabilities):
    """Exact distribution by enumerating all 2^n outcomes: (sorted values, cdf)."""
    pmf: dict[float, float] = {}
    for wins in itertools.product((0, 1), repeat=len(amounts)):
        value = float(sum(a for a, w in zip(amounts, wins, strict=True) if w))
        prob = math.prod(p if w else 1 - p for p, w in zip(probabilities, wins, strict=True))
        pmf[value] = pmf.get(value, 0.0) + prob
    xs = np.array(sorted(pmf))
    return xs, np.cumsum([pmf[x] for x in xs])


def brute_quantile(xs, cdf, q):
    return float(xs[np.searchsorted(cdf, q - QUANTILE_TIE, side="left").clip(0, len(xs) - 1)])


# ---- hand-worked examples ---------------------------------------------------------------------
@pytest.mark.parametrize("method", ["auto", "exact", "lattice"])
def test_two_deals_by_hand(method):
    # 100 @ 0.5 and 300 @ 0.25:
    #   S = 0    : 0.5 * 0.75 = 0.375          CDF 0.375
    #   S = 100  : 0.5 * 0.75 = 0.375          CDF 0.750
    #   S = 300  : 0.5 * 0.25 = 0.125          CDF 0.875
    #   S = 400  : 0.5 * 0.25 = 0.125          CDF 1.000
    # mean = 50 + 75 = 125; variance = 100²·0.25 + 300²·0.1875 = 2500 + 16875 = 19375.
    # P10: first CDF ≥ 0.1 is at 0; P50: 0.375 < 0.5 ≤ 0.75 → 100; P90: 0.875 < 0.9 → 400.
    # P(S ≥ 300) = 0.125 + 0.125 = 0.25.
    r = forecast_range([100, 300], [0.5, 0.25], quota=300, range_method=method)
    assert r.range_method == ("exact" if method == "auto" else method)
    assert r.mean == pytest.approx(125)
    assert r.std_dev == pytest.approx(math.sqrt(19375))
    assert quantiles(r) == pytest.approx((0, 100, 400))
    assert r.p_quota == pytest.approx(0.25)
    assert r.error_bound == pytest.approx(0, abs=1e-6)
    assert r.deals == 2
    assert r.cdf([0, 99, 100, 300, 400]) == pytest.approx([0.375, 0.375, 0.75, 0.875, 1.0])


def test_glossary_worked_example():
    # 100,000 @ 0.25 (Proposal) and 40,000 @ 0.10 (Qualified): weighted 29,000,
    # variance 100000²·0.25·0.75 + 40000²·0.1·0.9 = 1,875,000,000 + 144,000,000 = 2,019,000,000.
    #   S = 0       : 0.75 · 0.9 = 0.675   CDF 0.675
    #   S = 40,000  : 0.75 · 0.1 = 0.075   CDF 0.750
    #   S = 100,000 : 0.25 · 0.9 = 0.225   CDF 0.975
    #   S = 140,000 : 0.25 · 0.1 = 0.025   CDF 1.000
    # P10 = P50 = 0 (0.675 ≥ 0.5); P90 = 100,000; P(S ≥ 40,000) = 0.325; P(S ≥ 100,000) = 0.25.
    r = forecast_range([100_000, 40_000], [0.25, 0.10], quota=40_000)
    assert r.range_method == "exact"
    assert r.mean == pytest.approx(29_000)
    assert r.std_dev**2 == pytest.approx(2_019_000_000)
    assert quantiles(r) == pytest.approx((0, 0, 100_000))
    assert r.p_quota == pytest.approx(0.325)
    assert forecast_range([100_000, 40_000], [0.25, 0.10], quota=100_000).p_quota == pytest.approx(
        0.25
    )


def test_tie_at_the_quantile_level_uses_the_inverse_cdf_convention():
    # 100 @ 0.5 and 200 @ 0.5: S ∈ {0, 100, 200, 300} each 1/4; CDF(100) = 0.5 exactly,
    # so P50 = 100 (smallest x with P(S ≤ x) ≥ 0.5), not 200.
    for method in ("exact", "lattice"):
        r = forecast_range([100, 200], [0.5, 0.5], range_method=method)
        assert quantiles(r) == pytest.approx((0, 100, 300))


def test_sure_and_impossible_deals():
    # 500 @ 1 always comes in, 100 @ 0 never, 0 @ 0.3 adds nothing: S ∈ {500, 700} with 1/2 each.
    r = forecast_range([500, 100, 200, 0], [1.0, 0.0, 0.5, 0.3], quota=600)
    assert r.mean == pytest.approx(600)
    assert quantiles(r) == pytest.approx((500, 500, 700))
    assert r.p_quota == pytest.approx(0.5)
    only_sure = forecast_range([500, 100], [1.0, 0.0], quota=500)
    assert quantiles(only_sure) == (500, 500, 500)
    assert only_sure.std_dev == 0 and only_sure.p_quota == 1.0 and only_sure.range_method == "exact"


def test_empty_pipeline_is_all_zeros():
    r = forecast_range([], [])
    assert (r.mean, r.std_dev, *quantiles(r), r.error_bound) == (0, 0, 0, 0, 0, 0)
    assert r.range_method == "exact" and r.deals == 0 and r.p_quota is None
    frame = r.to_frame()
    assert list(frame.columns) == ["measure", "value"]
    assert list(frame["measure"]) == ["mean", "std_dev", "p10", "p50", "p90", "error_bound"]
    assert forecast_range([], [], quota=10).p_quota == 0.0
    assert forecast_range([], [], quota=0).p_quota == 1.0


def test_to_frame_with_quota_has_no_missing_values():
    r = forecast_range(pd.Series([100.0, 300.0]), pd.Series([0.5, 0.25]), quota=300)
    frame = r.to_frame()
    assert list(frame["measure"]) == [
        "mean",
        "std_dev",
        "p10",
        "p50",
        "p90",
        "p_quota",
        "error_bound",
    ]
    assert not frame["value"].isna().any()
    assert frame.set_index("measure")["value"]["p_quota"] == pytest.approx(0.25)


def test_quantile_method_matches_fields():
    r = forecast_range([100, 300, 250], [0.5, 0.25, 0.6])
    assert r.quantile(0.1) == r.p10 and r.quantile(0.5) == r.p50 and r.quantile(0.9) == r.p90
    assert list(r.quantile([0.1, 0.9])) == [r.p10, r.p90]
    with pytest.raises(PipesheetError):
        r.quantile(1.5)


def test_sub_cent_amounts_report_the_rounding_in_the_exact_bound():
    r = forecast_range([100.004, 300.0], [0.5, 0.25], range_method="exact")
    assert r.error_bound == pytest.approx(0.004)
    assert quantiles(r) == pytest.approx((0, 100.0, 400.0), abs=0.01)


# ---- a pipeline dominated by a few large deals -------------------------------------------------
def test_few_large_deals_lattice_agrees_with_monte_carlo():
    rng = np.random.default_rng(7)
    amounts = np.concatenate([rng.lognormal(np.log(8000), 1.0, 3000), [2e6, 2e6, 2e6]])
    probs = np.concatenate([rng.choice([0.1, 0.25, 0.5, 0.75], 3000), [0.2, 0.4, 0.6]])
    lat = forecast_range(amounts, probs, quota=5e6)
    assert lat.range_method == "lattice"
    mc = forecast_range(amounts, probs, quota=5e6, range_method="monte_carlo", draws=4000, seed=3)
    for a, b in zip(quantiles(lat), quantiles(mc), strict=True):
        assert abs(a - b) <= lat.error_bound + mc.error_bound
    assert abs(lat.p_quota - mc.p_quota) <= mc.cdf_error_bound + lat.cdf_error_bound
    # The big deals make the distribution lumpy: P90 is far from the normal approximation.
    normal_p90 = lat.mean + 1.2815515655446004 * lat.std_dev
    assert abs(lat.p90 - normal_p90) > 10 * lat.error_bound


def test_many_distinct_probabilities_and_low_probability_deals():
    rng = np.random.default_rng(11)
    amounts = rng.lognormal(np.log(5000), 1.2, 4000)
    probs = np.concatenate([rng.uniform(0.001, 0.999, 2000), np.full(2000, 0.01)])
    lat = forecast_range(amounts, probs)
    mc = forecast_range(amounts, probs, range_method="monte_carlo", draws=4000, seed=1)
    for a, b in zip(quantiles(lat), quantiles(mc), strict=True):
        assert abs(a - b) <= lat.error_bound + mc.error_bound


def test_characteristic_function_strategies_agree_with_convolution():
    # White-box: every way of evaluating φ (direct, log-series, mirrored series) against the
    # one-deal-at-a-time convolution, with wrap-around windows and p = 1/2 zeros of φ.
    from pipesheet import ranges

    rng = np.random.default_rng(5)
    for trial in range(60):
        n = int(rng.integers(1, 40))
        k = rng.integers(0, 300, n)
        p = [
            rng.choice([0.1, 0.5, 0.9, 0.25, 0.75], n),
            rng.uniform(0.01, 0.99, n),
            np.full(n, 0.5),
            rng.choice([0.02, 0.97], n),
        ][trial % 4]
        m = int(rng.choice([64, 1000, 4096]))
        k_lo = int(rng.integers(0, 500))
        reference, _ = ranges._convolution_pmf(k, p, m, k_lo)
        plan = ranges._prepare(k, p, m, k_lo)
        for low, high in [
            (plan.low, plan.high),
            (np.zeros_like(plan.low), np.zeros_like(plan.high)),
            (plan.pu < 0.45, plan.pu > 0.55),
        ]:
            plan.low, plan.high = low, high
            pmf, eta = ranges._evaluate(plan)
            error = np.max(np.abs(np.cumsum(pmf) - np.cumsum(reference)))
            assert error <= eta + 1e-12


# ---- properties ---------------------------------------------------------------------------------
probability = st.one_of(
    st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]),
    st.floats(0.0, 1.0, allow_nan=False),
)
# Whole-currency pipelines or pipelines in cents, sized so that the exact lattice always fits
# (Σ amount / gcd ≤ 2**22 points).
whole = st.integers(0, 400_000).map(float)
cents = st.integers(0, 450_000).map(lambda c: c / 100)
pipelines = st.one_of(
    st.lists(st.tuples(whole, probability), max_size=9),
    st.lists(st.tuples(cents, probability), max_size=9),
).map(lambda deals: ([a for a, _ in deals], [p for _, p in deals]))
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(pipelines, st.sampled_from(["auto", "exact", "lattice", "monte_carlo"]))
def test_quantiles_ordered_within_range_and_mean_exact(pipeline, method):
    amounts, probs = pipeline
    r = forecast_range(amounts, probs, range_method=method, draws=500)
    total = sum(a for a, p in zip(amounts, probs, strict=True) if p > 0)
    assert 0 - 1e-9 <= r.p10 <= r.p50 <= r.p90 <= total + 1e-6
    assert r.mean == pytest.approx(sum(a * p for a, p in zip(amounts, probs, strict=True)))
    assert not r.to_frame()["value"].isna().any()


@SETTINGS
@given(pipelines)
def test_exact_matches_enumeration(pipeline):
    amounts, probs = pipeline
    r = forecast_range(amounts, probs, range_method="exact")
    xs, cdf = brute_force(amounts, probs)
    # Pq is the smallest x with P(S ≤ x) ≥ q − QUANTILE_TIE (a CDF within 1e-9 below q counts
    # as reaching it, so floating-point noise cannot flip an exact tie): with a deal whose p is
    # itself below 1e-9 the two conventions may differ, and the documented one must hold.
    for got, q in zip(quantiles(r), LEVELS, strict=True):
        want = {brute_quantile(xs, cdf, q), brute_quantile(xs, cdf, q - QUANTILE_TIE)}
        assert min(abs(got - w) for w in want) <= 1e-6


@SETTINGS
@given(pipelines, st.sampled_from([64, 256, 4096]))
def test_lattice_within_its_error_bound(pipeline, grid_points):
    amounts, probs = pipeline
    lat = forecast_range(amounts, probs, range_method="lattice", grid_points=grid_points)
    xs, cdf = brute_force(amounts, probs)
    # The bound covers the true quantile at every level in [q − QUANTILE_TIE, q].
    for got, q in zip(quantiles(lat), LEVELS, strict=True):
        candidates = {brute_quantile(xs, cdf, q), brute_quantile(xs, cdf, q + QUANTILE_TIE)}
        assert min(abs(got - c) for c in candidates) <= lat.error_bound + 1e-6 * (1 + abs(got))
    exact = forecast_range(amounts, probs, range_method="exact")
    for a, b in zip(quantiles(lat), quantiles(exact), strict=True):
        assert abs(a - b) <= lat.error_bound + 1e-6 * (1 + abs(b))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(pipelines)
def test_monte_carlo_within_dkw_bound_of_exact(pipeline):
    # DKW at 99%: sup |F_draws − F| ≤ ε.  Derandomized so that the test is deterministic.
    amounts, probs = pipeline
    exact = forecast_range(amounts, probs, range_method="exact")
    mc = forecast_range(amounts, probs, range_method="monte_carlo", draws=20_000, seed=2)
    assert mc.cdf_error_bound == pytest.approx(math.sqrt(math.log(2 / 0.01) / 40_000))
    points = [*quantiles(exact), exact.mean, exact.mean + exact.std_dev, 0.0]
    for x in points:
        assert abs(mc.cdf(x) - exact.cdf(x)) <= mc.cdf_error_bound
    for a, b in zip(quantiles(mc), quantiles(exact), strict=True):
        assert abs(a - b) <= mc.error_bound + 1e-9 * (1 + abs(b))


@SETTINGS
@given(pipelines, st.lists(st.floats(-1e3, 2e7, allow_nan=False), min_size=2, max_size=6))
def test_p_quota_is_a_probability_and_decreases_with_quota(pipeline, quotas):
    amounts, probs = pipeline
    quotas = sorted(quotas)
    for method in ("exact", "lattice", "monte_carlo"):
        values = [
            forecast_range(amounts, probs, quota=q, range_method=method, draws=300).p_quota
            for q in quotas
        ]
        assert all(0.0 <= v <= 1.0 for v in values)
        assert all(b <= a + 1e-12 for a, b in itertools.pairwise(values))


@SETTINGS
@given(pipelines, st.floats(0, 2e7, allow_nan=False))
def test_exact_p_quota_matches_enumeration(pipeline, quota):
    amounts, probs = pipeline
    xs, cdf = brute_force(amounts, probs)
    near = np.abs(xs - quota) <= 1e-6 * (1 + quota)
    assume(np.all(xs[near] == quota))  # no floating-point near-ties with the quota
    below = xs < quota
    expected = 1.0 - (cdf[below][-1] if below.any() else 0.0)
    r = forecast_range(amounts, probs, quota=quota, range_method="exact")
    assert r.p_quota == pytest.approx(expected, abs=1e-9)


@SETTINGS
@given(pipelines, st.integers(0, 2**32))
def test_monte_carlo_reproducible_with_the_same_seed(pipeline, seed):
    amounts, probs = pipeline
    one = forecast_range(
        amounts, probs, quota=1000, range_method="monte_carlo", draws=300, seed=seed
    )
    two = forecast_range(
        amounts, probs, quota=1000, range_method="monte_carlo", draws=300, seed=seed
    )
    assert one == two


# ---- bad input ---------------------------------------------------------------------------------
def message(excinfo) -> str:
    return str(excinfo.value)


def test_lengths_differ():
    with pytest.raises(PipesheetError) as e:
        forecast_range([1, 2, 3], [0.5, 0.5])
    assert "open deals" in message(e) and "3 amounts but 2 win probabilities" in message(e)


def test_missing_amount_names_row_and_value():
    with pytest.raises(PipesheetError) as e:
        forecast_range([100, 200, float("nan")], [0.5, 0.5, 0.5])
    text = message(e)
    assert "table 'open deals'" in text and "column 'amount'" in text
    assert "row 4" in text and "nan" in text and e.value.rows == [4]


def test_negative_amounts_list_every_row():
    with pytest.raises(PipesheetError) as e:
        forecast_range([100, -5, 200, -7], [0.5] * 4)
    assert e.value.column == "amount" and e.value.rows == [3, 5] and e.value.value == -5
    assert "rows 3, 5" in message(e) and "-5" in message(e) and "0 or more" in message(e)


def test_probability_outside_zero_one():
    with pytest.raises(PipesheetError) as e:
        forecast_range([100, 200], [0.5, 25])
    text = message(e)
    assert "column 'win_probability'" in text and "row 3" in text and "25" in text
    assert "between 0 and 1" in text and e.value.table == "open deals"


def test_missing_probability():
    with pytest.raises(PipesheetError) as e:
        forecast_range(pd.Series([100.0, 200.0]), pd.Series([0.5, None], dtype="Float64"))
    assert e.value.column == "win_probability" and e.value.rows == [3]


def test_text_amount_names_the_text():
    with pytest.raises(PipesheetError) as e:
        forecast_range([100, "lots", 300], [0.5, 0.5, 0.5])
    text = message(e)
    assert "column 'amount'" in text and "row 3" in text and "'lots'" in text
    assert "not a number" in text


def test_bad_options():
    with pytest.raises(PipesheetError, match="method"):
        forecast_range([100], [0.5], range_method="normal")
    with pytest.raises(PipesheetError, match="draws"):
        forecast_range([100], [0.5], range_method="monte_carlo", draws=0)
    with pytest.raises(PipesheetError, match="quota"):
        forecast_range([100], [0.5], quota=float("nan"))
    with pytest.raises(PipesheetError, match="single value"):
        forecast_range(100, 0.5)


def test_exact_refused_when_the_lattice_is_too_large():
    with pytest.raises(PipesheetError) as e:
        forecast_range([1e9 + 0.01, 3e9], [0.5, 0.5], range_method="exact")
    assert e.value.column == "amount" and "lattice" in message(e)
    assert forecast_range([1e9 + 0.01, 3e9], [0.5, 0.5]).range_method == "lattice"


def test_a_quota_far_beyond_the_pipeline_is_zero_not_an_overflow():
    # amounts with cents (lattice step 0.01 or less): 1e308 / 0.01 overflows a float
    for method in ("exact", "lattice", "auto"):
        got = forecast_range([100.5, 30.25], [0.5, 0.3], quota=1e308, range_method=method)
        assert got.p_quota == 0.0
        assert forecast_range([100.5, 30.25], [0.5, 0.3], quota=0, range_method=method).p_quota == 1
