"""Forecast range: the distribution of revenue from the open deals.

Model (glossary, *Forecast range*): every open deal d is won with its probability p_d, independently
of the others, and then brings its whole amount a_d::

    S = Σ_d a_d · B_d,   B_d ~ Bernoulli(p_d) independent
    mean = Σ a_d p_d,    variance = Σ a_d² p_d (1 − p_d)

:func:`forecast_range` returns mean, standard deviation, P10/P50/P90 and P(S ≥ quota).  Quantiles
follow the inverse-CDF convention ``Pq = min{x : P(S ≤ x) ≥ q}``; to absorb floating-point ties
(for instance P(S ≤ 0) = 0.5 exactly and q = 0.5) a CDF value within 1e-9 below q counts as reaching
q.  The mean and the standard deviation are always the exact formulas above, whatever the method.

Three methods, all computing the distribution of S (not a normal approximation):

* ``"exact"`` — the amounts in cents lie on the lattice g = gcd(amounts in cents); the pmf of S is
  computed on that lattice, nothing rounded, over the whole range 0..Σa/g or, when narrower, over
  a window holding all but ≤ 1e-13 of the probability (Bernstein) — at most 2**22 points.
  ``error_bound`` = 0, up to floating-point rounding (amounts with fractions of a cent are
  rounded to cents and ``error_bound`` is then Σ|rounding|, a deterministic bound).
* ``"lattice"`` — amounts are rounded to a grid of ``grid_points`` cells over a window that holds
  all but ≤ 1e-13 of the probability (Bernstein's inequality), the mean shift of the rounding is
  added back, and the pmf is computed on that grid.  ``error_bound`` is a proven bound on
  |reported Pq − true Pq| (see :func:`forecast_range`; floating-point rounding enters it as a
  first-order estimate).  A quantile that is ill-conditioned — its level falls where the CDF is
  flat, between the humps of a lumpy pipeline — shows up as a large ``error_bound``.
* ``"monte_carlo"`` — ``draws`` simulated pipelines (numpy PCG64, reproducible from ``seed``);
  ``error_bound`` holds with 99% confidence (Dvoretzky–Kiefer–Wolfowitz).

How the pmf on a lattice of M points is computed (exact and lattice), whichever is cheaper:

* Few deals: add one deal at a time, f ← (1 − p)·f + p·(f shifted by k) — O(deals × points).
* Otherwise, invert the characteristic function φ_j = Π_d (1 − p_d + p_d·y_j^{k_d}),
  y_j = e^{−2πij/M} (k_d: the deal's amount in lattice units) with one inverse FFT.  Because
  |1 − p + p·y|² = 1 − 2p(1 − p)(1 − cos θ) ≤ exp(−2p(1 − p)(1 − cos θ)), one FFT of the histogram
  of the weights 2p(1 − p) bounds |φ_j| ≤ B_j at every frequency at once.  Only frequencies with
  B_j ≥ 1e-20 are evaluated (for a large pipeline, a few dozen); the others are set to 0 and
  their effect on the CDF, ≤ Σ_j B_j·min(1, 1/(M·|sin(πj/M)|)), is added to the CDF error.
  Active frequencies are evaluated directly over deals grouped by (probability, lattice amount),
  or — for probabilities away from 1/2 when many frequencies are active — with the series
  log(1 − p + p·y) = log(1 − p) + Σ_m (−1)^{m+1} (r^m/m)·y^m, r = p/(1 − p) (mirrored,
  s = (1 − p)/p, for p > 1/2), whose m-th term for all deals at once is one FFT of a weighted
  histogram, truncated with a stated tail bound.  No probability is binned: every deal keeps its
  own p.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.base import DEPRECATED, Result, renamed
from pipesheet.errors import PipesheetError
from pipesheet.formats import format_number
from pipesheet.i18n import _

__all__ = ["ForecastRange", "forecast_range"]

TABLE = "open deals"
AMOUNT_COLUMN = "amount"
PROBABILITY_COLUMN = "win_probability"
METHODS = ("auto", "exact", "lattice", "monte_carlo")

#: A CDF value within this much below q counts as reaching q (floating-point ties).
QUANTILE_TIE = 1e-9
#: Largest lattice (number of points) the exact method works on.
EXACT_MAX_POINTS = 2**22
#: Probability mass the lattice window may leave outside (it wraps around: a CDF error).
WINDOW_TAIL = 1e-13
#: Frequencies whose bound on |φ_j| is below this are not evaluated (their effect is bounded).
FREQUENCY_CUT = 1e-20
#: Confidence of the Monte Carlo bound (DKW).
MC_CONFIDENCE = 0.99
#: Target absolute error of a truncated log-series (per frequency).
_SERIES_TOL = 1e-15
#: Elements per block when evaluating (frequency x deal group) or (draw x deal) matrices.
_BLOCK = 1 << 20
#: Number of largest deals tried as the deterministic part of the lattice window.
_WINDOW_SPLITS = 512
_MC_BLOCK = 1 << 17
_EPS = float(np.finfo(np.float64).eps)
# Rough costs (seconds per element) of the two evaluation strategies, to choose between them.
_COST_DIRECT = 4.0e-8  # one (frequency, deal group) pair: gathers, log1p, arctan2, dot
_COST_BINCOUNT = 1.0e-8  # one deal group per series term
_COST_FFT = 1.2e-9  # per M·log2(M) per series term
_COST_GATHER = 3.0e-8  # one active frequency per series term
_COST_CONVOLUTION = 2.0e-9  # one lattice point touched when adding one deal
_COST_PER_DEAL = 4.0e-6  # Python overhead per deal added one at a time
#: auto uses the exact method only when its estimated cost is below this (seconds).
_EXACT_BUDGET = 0.25


# ---------------------------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------------------------
def _fft() -> Any:
    """scipy.fft, imported when a range is first computed (importing pipesheet loads no
    scipy)."""
    from scipy import fft

    return fft


def _tolerance(scale: float, step: float = math.inf) -> float:
    """Totals this close are the same amount (floating-point noise of sums up to ``scale``)."""
    return min(1e-12 * max(1.0, abs(scale)), 0.25 * step)


class _LatticeCDF:
    """CDF on the points x0 + i·step (i = 0..n−1), 0 below and 1 above; support in [lo, hi]."""

    def __init__(self, x0: float, step: float, cdf: np.ndarray, lo: float, hi: float) -> None:
        keep = np.flatnonzero((cdf > 1e-14) & (cdf < 1.0 - 1e-14))
        first = int(keep[0]) if keep.size else int(np.searchsorted(cdf, 0.5))
        last = min(int(keep[-1]) + 1 if keep.size else first, cdf.size - 1)
        self.x0 = x0 + first * step
        self.step = step
        self.values = np.ascontiguousarray(cdf[first : last + 1])
        self.lo, self.hi = lo, hi

    def cdf(self, x: np.ndarray) -> np.ndarray:
        i = np.floor((x + _tolerance(self.hi, self.step) - self.x0) / self.step)
        out = self.values[np.clip(i, 0, self.values.size - 1).astype(np.int64)]
        out = np.where(i < 0, 0.0, out)
        return np.where(x >= self.hi, 1.0, np.where(x < self.lo, 0.0, out))

    def quantile(self, q: np.ndarray) -> np.ndarray:
        i = np.searchsorted(self.values, q - QUANTILE_TIE, side="left")
        x = np.where(i < self.values.size, self.x0 + i * self.step, self.hi)
        return np.clip(x, self.lo, self.hi)


class _SampleCDF:
    """Empirical CDF of sorted values (Monte Carlo draws, or one point for a sure total)."""

    def __init__(self, values: np.ndarray, lo: float, hi: float) -> None:
        self.values = values
        self.lo, self.hi = lo, hi
        self.tol = _tolerance(hi)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.values, x + self.tol, side="right") / self.values.size

    def quantile(self, q: np.ndarray) -> np.ndarray:
        n = self.values.size
        i = np.ceil((q - QUANTILE_TIE) * n - 1e-9).astype(np.int64) - 1
        return self.values[np.clip(i, 0, n - 1)]


@dataclass(repr=False)
class ForecastRange(Result):
    """The forecast range of the open pipeline: S = Σ_d amount_d · Bernoulli(p_d), independent.

    Attributes:
        mean: Σ a·p (exact, all methods).
        std_dev: sqrt(Σ a²·p·(1 − p)) (exact, all methods).
        p10, p50, p90: quantiles, Pq = min{x : P(S ≤ x) ≥ q}.
        quota: the quota asked about, or None.
        p_quota: P(closed + S ≥ quota), or None without a quota (glossary: P(≥ quota) =
            P(closed so far + range ≥ quota)).
        range_method: "exact", "lattice" or "monte_carlo" (``method`` is its old name).
        error_bound: bound, in currency units, on |reported Pq − true Pq| for q = 0.1, 0.5, 0.9
            (exact: 0 up to floating point; lattice: proven; monte_carlo: at 99% confidence).
        deals: number of deals given.
        cdf_error_bound: the probability part of the bound — exact: floating-point/truncation
            allowance on the CDF; lattice: the level slack δ used in ``error_bound``;
            monte_carlo: the DKW ε, sup_x |F_draws(x) − F(x)| ≤ ε with 99% confidence.
        closed: revenue already won in the period ("closed so far"), added to S for
            ``p_quota``; None when the range is not of a period (then P(S ≥ quota)).
        notes: What the user should know.
    """

    mean: float
    std_dev: float
    p10: float
    p50: float
    p90: float
    quota: float | None
    p_quota: float | None
    range_method: str
    error_bound: float
    deals: int
    cdf_error_bound: float = 0.0
    closed: float | None = None
    notes: list[str] = field(default_factory=list)
    _dist: Any = field(default=None, repr=False, compare=False)

    def _figures(self) -> dict[str, Any]:
        return {
            "mean": self.mean,
            "p10": self.p10,
            "p50": self.p50,
            "p90": self.p90,
            "quota": self.quota,
            "p_quota": self.p_quota,
            "range_method": self.range_method,
            "deals": self.deals,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per measure: mean, std_dev, p10, p50, p90, with a quota ``closed`` (when the
        range is of a period) and ``p_quota``, then error_bound."""
        rows: list[tuple[str, float]] = [
            ("mean", self.mean),
            ("std_dev", self.std_dev),
            ("p10", self.p10),
            ("p50", self.p50),
            ("p90", self.p90),
        ]
        if self.quota is not None and self.p_quota is not None:
            if self.closed is not None:
                rows.append(("closed", self.closed))
            rows.append(("p_quota", self.p_quota))
        rows.append(("error_bound", self.error_bound))
        return pd.DataFrame(
            {"measure": [m for m, _ in rows], "value": np.array([v for _, v in rows], float)}
        )

    @property
    def method(self) -> str:
        """Deprecated: the old name of :attr:`range_method`."""
        warnings.warn("ForecastRange.method is deprecated: use range_method", DeprecationWarning, 2)
        return self.range_method

    def quantile(self, q: float | Sequence[float] | np.ndarray) -> float | np.ndarray:
        """Pq = min{x : P(S ≤ x) ≥ q} of the computed distribution, for q in [0, 1]."""
        levels = np.asarray(q, dtype=float)
        if levels.size and (
            not np.all(np.isfinite(levels)) or levels.min() < 0 or levels.max() > 1
        ):
            raise PipesheetError(
                _("quantile level outside 0–1"), value=q, expected=_("q in [0, 1]")
            )
        out = self._require_dist().quantile(levels)
        return float(out) if out.ndim == 0 else out

    def cdf(self, x: float | Sequence[float] | np.ndarray) -> float | np.ndarray:
        """P(S ≤ x) of the computed distribution."""
        out = self._require_dist().cdf(np.asarray(x, dtype=float))
        return float(out) if np.ndim(out) == 0 else out

    def _require_dist(self) -> Any:
        if self._dist is None:
            raise PipesheetError(_("this forecast range carries no distribution"))
        return self._dist


# ---------------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------------
def _numeric(values: Any, column: str) -> np.ndarray:
    """One float per deal; text that is not a number is reported with its spreadsheet row."""
    if isinstance(values, (pd.Series, pd.Index)):
        raw: Any = values.to_numpy()
    elif isinstance(values, Iterable) and not isinstance(values, (str, bytes)):
        raw = values if hasattr(values, "__len__") else list(values)
    else:
        raw = values
    if isinstance(raw, (str, bytes)) or np.ndim(raw) == 0:
        raise PipesheetError(
            _("expected one value per deal, got a single value"),
            table=TABLE,
            column=column,
            value=values,
            expected=_("a list or column of numbers"),
        )
    try:
        return np.asarray(raw, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        pass
    objs = pd.Series(np.asarray(raw, dtype=object).reshape(-1), dtype=object)
    num = pd.to_numeric(objs, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.flatnonzero(np.isnan(num) & objs.notna().to_numpy())
    if bad.size:
        amounts = column == AMOUNT_COLUMN
        raise PipesheetError(
            _("amount is not a number") if amounts else _("win probability is not a number"),
            table=TABLE,
            column=column,
            rows=(bad + 2).tolist(),
            value=objs.iloc[int(bad[0])],
            expected=_("a number") if amounts else _("a probability between 0 and 1"),
        )
    return num


def _validate(amounts: Any, probabilities: Any) -> tuple[np.ndarray, np.ndarray]:
    a = _numeric(amounts, AMOUNT_COLUMN)
    p = _numeric(probabilities, PROBABILITY_COLUMN)
    if a.size != p.size:
        raise PipesheetError(
            _("{amounts} amounts but {probabilities} win probabilities").format(
                amounts=a.size, probabilities=p.size
            ),
            table=TABLE,
            expected=_("one amount and one win probability per open deal"),
        )
    checks = [
        (
            AMOUNT_COLUMN,
            a,
            ~np.isfinite(a),
            _("amount is missing or not finite"),
            _("a finite amount"),
        ),
        (AMOUNT_COLUMN, a, a < 0, _("amount is negative"), _("an amount of 0 or more")),
        (
            PROBABILITY_COLUMN,
            p,
            ~np.isfinite(p),
            _("win probability is missing or not finite"),
            _("a probability between 0 and 1"),
        ),
        (
            PROBABILITY_COLUMN,
            p,
            (p < 0) | (p > 1),
            _("win probability is outside 0–1"),
            _("a probability between 0 and 1 (0.25 means 25%)"),
        ),
    ]
    for column, values, mask, problem, expected in checks:
        bad = np.flatnonzero(mask)
        if bad.size:
            raise PipesheetError(
                problem,
                table=TABLE,
                column=column,
                rows=(bad + 2).tolist(),
                value=float(values[bad[0]]),
                expected=expected,
            )
    return a, p


def _check_options(quota: Any, method: Any, draws: Any, grid_points: Any) -> float | None:
    if method not in METHODS:
        raise PipesheetError(
            _("unknown forecast range method"),
            column="range_method",
            value=method,
            expected=_("one of {values}").format(values=", ".join(repr(m) for m in METHODS)),
        )
    for name, value, low in (("draws", draws, 1), ("grid_points", grid_points, 64)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise PipesheetError(
                _("{name} must be a whole number of at least {low}").format(name=name, low=low),
                column=name,
                value=value,
            )
    if grid_points > 2**24:
        raise PipesheetError(
            _("grid_points is too large"),
            column="grid_points",
            value=grid_points,
            expected=_("at most 2**24"),
        )
    if quota is None:
        return None
    try:
        q = float(quota)
    except (TypeError, ValueError):
        q = math.nan
    if not math.isfinite(q):
        raise PipesheetError(
            _("quota is not a finite number"),
            column="quota",
            value=quota,
            expected=_("a number, e.g. 1000000"),
        )
    return q


def _check_closed(closed: Any) -> float | None:
    """Closed so far: None, or a finite amount ≥ 0."""
    if closed is None:
        return None
    try:
        value = float(closed)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise PipesheetError(
            _("closed so far is not an amount of 0 or more"),
            column="closed",
            value=closed,
            expected=_("the revenue already won in the period, e.g. 250000"),
        )
    return value


# ---------------------------------------------------------------------------------------------
# Tail bounds
# ---------------------------------------------------------------------------------------------
def _bernstein_radius(variance: float, bound: float, prob: float) -> float:
    """t with P(|X| ≥ t) ≤ prob, X a sum of independent zero-mean terms |X_d| ≤ bound, Var X given.

    Bernstein: P(|X| ≥ t) ≤ 2·exp(−t² / (2·(variance + bound·t/3))); solved for t.
    """
    ln = math.log(2.0 / prob)
    b = bound * ln / 3.0
    return b + math.sqrt(b * b + 2.0 * max(variance, 0.0) * ln)


def _window(amount: np.ndarray, p: np.ndarray, tail: float) -> tuple[float, float, float]:
    """An interval [lo, hi] holding S = Σ amount·B with probability ≥ 1 − returned tail.

    For s = 0, 1, …, the s largest deals are bounded deterministically (0 ≤ their total ≤ their
    sum) and the rest by Bernstein (variance Σa²p(1−p), terms bounded by a·max(p, 1−p)); the
    narrowest such interval, intersected with [0, Σa], is returned (tail 0 when it is all of
    [0, Σa]).  Only the _WINDOW_SPLITS largest deals are tried as the deterministic part.
    """
    n = amount.size
    total = float(amount.sum())
    mean_d = amount * p
    var_d = mean_d * amount * (1.0 - p)
    b_d = amount * np.maximum(p, 1.0 - p)
    mean0, var0 = float(mean_d.sum()), float(var_d.sum())
    top_n = min(n, _WINDOW_SPLITS)
    if top_n < n:
        top = np.argpartition(-amount, top_n - 1)[:top_n]
        rest_b = np.ones(n, dtype=bool)
        rest_b[top] = False
        b_rest = float(b_d[rest_b].max())
    else:
        top, b_rest = np.arange(n), 0.0
    top = top[np.argsort(-amount[top], kind="stable")]
    zero = np.zeros(1)
    a_top = np.concatenate([zero, np.cumsum(amount[top])])
    mean_rest = np.maximum(mean0 - np.concatenate([zero, np.cumsum(mean_d[top])]), 0.0)
    # 4ε·Σvar guards the subtraction's rounding (the variance must not be underestimated).
    var_rest = var0 - np.concatenate([zero, np.cumsum(var_d[top])]) + 4 * _EPS * var0
    b = np.maximum(np.concatenate([np.maximum.accumulate(b_d[top][::-1])[::-1], zero]), b_rest)
    ln = math.log(2.0 / tail)
    b = b * (ln / 3.0)
    h = b + np.sqrt(b * b + 2.0 * np.maximum(var_rest, 0.0) * ln) + 8 * _EPS * (mean0 + total)
    lo = np.maximum(0.0, mean_rest - h)
    hi = np.minimum(total, mean_rest + h + a_top)
    s = int(np.argmin(hi - lo))
    if lo[s] <= 0.0 and hi[s] >= total:
        return 0.0, total, 0.0
    return float(lo[s]), float(hi[s]), tail


def _series_terms(count: float, ratio: float) -> tuple[int, float]:
    """(m_max, tail) with tail = count·ratio^(m+1)/((m+1)(1 − ratio)) ≥ count·Σ_{m>m_max} ratio^m/m
    below _SERIES_TOL (the error of the truncated log-series, per frequency)."""
    m = 1
    while True:
        tail = count * ratio ** (m + 1) / ((m + 1) * (1.0 - ratio))
        if tail <= _SERIES_TOL or m >= 4000:
            return m, tail
        m += 1


# ---------------------------------------------------------------------------------------------
# Lattice pmf by characteristic-function inversion
# ---------------------------------------------------------------------------------------------
@dataclass
class _Lattice:
    """S' = Σ k_d·B_d on Z/M, window starting at k_lo; frequencies needing evaluation known."""

    k: np.ndarray  # int64 lattice amounts (≥ 0)
    p: np.ndarray
    m: int  # number of lattice points (FFT length)
    k_lo: int  # first lattice value of the window
    active: np.ndarray  # frequencies j in [0, M//2] to evaluate
    eta_cut: float  # CDF error from the frequencies not evaluated
    pu: np.ndarray  # distinct probabilities
    gpid: np.ndarray  # per (p, k) group: index into pu
    gk: np.ndarray  # per group: k mod M
    gcnt: np.ndarray  # per group: number of deals
    low: np.ndarray  # mask over pu: series in y
    high: np.ndarray  # mask over pu: mirrored series
    cost: float  # estimated seconds


def _prepare(k: np.ndarray, p: np.ndarray, m: int, k_lo: int) -> _Lattice:
    km = k % m
    w = 2.0 * p * (1.0 - p)
    w_tot = float(w.sum())
    spectrum = _fft().rfft(np.bincount(km, weights=w, minlength=m), workers=-1)
    # |φ_j| ≤ exp(−(Σw − Re H_j)/2); the margin covers the FFT's rounding.
    log_bound = -(w_tot - spectrum.real) / 2.0 + 1e-10 * (w_tot + 1.0)
    log_bound[0] = 0.0
    keep = log_bound >= math.log(FREQUENCY_CUT)
    active = np.flatnonzero(keep)
    dropped = np.flatnonzero(~keep)
    eta_cut = 0.0
    if dropped.size:
        mult = np.where((2 * dropped == m), 1.0, 2.0)
        kernel = np.minimum(1.0, 1.0 / (m * np.abs(np.sin(np.pi * dropped / m))))
        eta_cut = float(np.sum(mult * np.exp(log_bound[dropped]) * kernel))
    pu, pinv = np.unique(p, return_inverse=True)
    key = pinv.astype(np.int64) * m + km
    uk, gcnt = np.unique(key, return_counts=True)
    gpid, gk = uk // m, uk % m
    groups_per_p = np.bincount(gpid, minlength=pu.size).astype(float)
    deals_per_p = np.bincount(pinv, minlength=pu.size).astype(float)
    low, high, cost = _choose_strategy(pu, deals_per_p, groups_per_p, active.size, m)
    return _Lattice(
        k, p, m, k_lo, active, eta_cut, pu, gpid, gk, gcnt.astype(float), low, high, cost
    )


def _choose_strategy(
    pu: np.ndarray, deals_per_p: np.ndarray, groups_per_p: np.ndarray, n_active: int, m: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """Which probabilities use the log-series (low: p < 1/2, high: p > 1/2); the rest go direct."""
    ratio = np.where(
        pu < 0.5, pu / np.maximum(1.0 - pu, 1e-300), (1.0 - pu) / np.maximum(pu, 1e-300)
    )
    ratio = np.where(pu == 0.5, 1.0, ratio)
    fft_cost = _COST_FFT * m * max(1.0, math.log2(m))
    distinct = np.unique(ratio[ratio < 0.98])
    if distinct.size > 64:
        distinct = np.array([0.02, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.75, 0.9])
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for cut in np.concatenate([[-1.0], distinct]):
        low = (pu < 0.5) & (ratio <= cut)
        high = (pu > 0.5) & (ratio <= cut)
        cost = _COST_DIRECT * n_active * float(groups_per_p[~(low | high)].sum())
        for cls in (low, high):
            if cls.any():
                terms, _bound = _series_terms(
                    float(deals_per_p[cls].sum()), float(ratio[cls].max())
                )
                groups = float(groups_per_p[cls].sum())
                cost += terms * (_COST_BINCOUNT * groups + fft_cost + _COST_GATHER * n_active)
        if best is None or cost < best[0]:
            best = (cost, low, high)
    assert best is not None
    return best[1], best[2], best[0]


def _direct_log_phi(
    gk: np.ndarray, gp: np.ndarray, gcnt: np.ndarray, j: np.ndarray, m: int
) -> tuple[np.ndarray, np.ndarray]:
    """Σ_g cnt_g·log(1 − p_g + p_g·y_j^{k_g}) and Σ_g cnt_g·|log(…)| (for the rounding estimate)."""
    out = np.zeros(j.size, dtype=complex)
    mag = np.zeros(j.size)
    if gk.size == 0 or j.size == 0:
        return out, mag
    w = 2.0 * gp * (1.0 - gp)
    use_table = j.size * gk.size > 2 * m
    if use_table:
        half = np.sin(np.pi * np.arange(m) / m)
        omc_table = 2.0 * half * half  # 1 − cos(2πt/M), accurate near t = 0
        sin_table = np.sin(2.0 * np.pi * np.arange(m) / m)
    power2 = m & (m - 1) == 0
    rows = max(1, _BLOCK // gk.size)
    for start in range(0, j.size, rows):
        jj = j[start : start + rows]
        t = np.multiply.outer(jj, gk)
        if power2:
            t &= m - 1
        else:
            t %= m
        if use_table:
            omc, sn = omc_table[t], sin_table[t]
        else:
            angle = t * (np.pi / m)
            half_t = np.sin(angle)
            omc, sn = 2.0 * half_t * half_t, np.sin(2.0 * angle)
        with np.errstate(divide="ignore"):
            re = 0.5 * np.log1p(-np.minimum(w * omc, 1.0))  # log|1 − p + p·y^k|
        im = np.arctan2(-gp * sn, 1.0 - gp * omc)  # arg(1 − p + p·y^k)
        s_re = re @ gcnt
        s_im = im @ gcnt
        out[start : start + rows] = s_re + 1j * s_im
        mag[start : start + rows] = -s_re + np.abs(im) @ gcnt
    return out, mag


def _series_log_phi(
    gk: np.ndarray,
    gcnt: np.ndarray,
    ratio: np.ndarray,
    j: np.ndarray,
    m: int,
    terms: int,
    mirrored: bool,
) -> np.ndarray:
    """Σ_g cnt_g Σ_{m'≤terms} (−1)^{m'+1} ratio_g^{m'}/m' · y_j^{±m'·k_g} (− for mirrored)."""
    out = np.zeros(j.size, dtype=complex)
    weight = gcnt.copy()
    half = m // 2
    for n in range(1, terms + 1):
        weight *= ratio
        spectrum = _fft().rfft(np.bincount(gk, weights=weight, minlength=m), workers=-1)
        idx = (j * n) % m
        fold = idx > half
        vals = spectrum[np.where(fold, m - idx, idx)]
        if mirrored:  # conj(C[idx]); C[idx] = conj(spectrum[m − idx]) when folded
            vals = np.where(fold, vals, vals.conj())
        else:
            vals = np.where(fold, vals.conj(), vals)
        out += ((1.0 if n % 2 else -1.0) / n) * vals
    return out


def _evaluate(plan: _Lattice) -> tuple[np.ndarray, float]:
    """pmf of S' on the window (k_lo, k_lo + 1, …, k_lo + M − 1) and a bound on its CDF error."""
    m, j = plan.m, plan.active.astype(np.int64)
    gp = plan.pu[plan.gpid]
    log_phi = np.zeros(j.size, dtype=complex)
    mag = np.zeros(j.size)  # Σ |log factor|, for the floating-point estimate
    series_err = 0.0
    mid = ~(plan.low | plan.high)
    sel = mid[plan.gpid]
    if sel.any():
        lp, mg = _direct_log_phi(plan.gk[sel], gp[sel], plan.gcnt[sel], j, m)
        log_phi += lp
        mag += mg
    log2m = max(1.0, math.log2(m))
    for cls, mirrored in ((plan.low, False), (plan.high, True)):
        sel = cls[plan.gpid]
        if not sel.any():
            continue
        gk, cnt, q = plan.gk[sel], plan.gcnt[sel], gp[sel]
        ratio = (1.0 - q) / q if mirrored else q / (1.0 - q)
        terms, tail = _series_terms(float(cnt.sum()), float(ratio.max()))
        series_err += tail
        log_phi += _series_log_phi(gk, cnt, ratio, j, m, terms, mirrored)
        if mirrored:  # Σ log(p·y^k) = Σ log p − 2πi·j·Σk/M
            const = float(cnt @ np.log(q))
            k_sum = int(((gk * cnt.astype(np.int64)) % m).sum()) % m
            log_phi += const - 2j * np.pi * ((j * k_sum) % m) / m
        else:
            const = float(cnt @ np.log1p(-q))
            log_phi += const
        mag += 8.0 * log2m * float(cnt @ -np.log1p(-ratio)) + abs(const) + 2.0 * np.pi
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        modulus = np.exp(log_phi.real)
        phi = modulus * np.exp(1j * log_phi.imag)
    phi[j == 0] = 1.0
    spectrum = np.zeros(m // 2 + 1, dtype=complex)
    spectrum[j] = phi
    pmf = _fft().irfft(spectrum, n=m, workers=-1)
    if plan.k_lo % m:
        pmf = np.roll(pmf, -(plan.k_lo % m))
    # CDF error: dropped frequencies + series truncation + first-order rounding estimate.
    weight = np.where((j == 0) | (2 * j == m), 1.0, 2.0) * modulus
    weight = np.nan_to_num(weight)
    eta = plan.eta_cut
    eta += float(np.sum(weight)) * math.expm1(series_err)
    eta += (
        4.0 * _EPS * (m + math.sqrt(m) * log2m + float(np.sum(weight * (1.0 + np.nan_to_num(mag)))))
    )
    return pmf, eta


def _convolution_cost(k: np.ndarray, m: int) -> float:
    """Estimated seconds for :func:`_convolution_pmf` (deals added in increasing amount)."""
    ks = np.sort(k[(k % m) != 0])
    before = 1 + np.concatenate([[0], np.cumsum(ks)[:-1]]) if ks.size else np.zeros(0)
    return _COST_CONVOLUTION * float(np.minimum(m, before + ks).sum()) + _COST_PER_DEAL * ks.size


def _convolution_pmf(k: np.ndarray, p: np.ndarray, m: int, k_lo: int) -> tuple[np.ndarray, float]:
    """pmf of Σ k_d·B_d mod M by adding one deal at a time: f ← (1 − p)·f + p·(f shifted by k).

    Every step is a convex combination, so it is exact up to rounding (≤ a few ε of mass per
    step); values below 1e-280 are flushed to 0 (to avoid subnormal arithmetic) — negligible.
    Returned in window order (k_lo, k_lo + 1, …).
    """
    sel = (k % m) != 0
    order = np.argsort(k[sel], kind="stable")
    ks, ps = k[sel][order].tolist(), p[sel][order].tolist()
    buf = np.zeros(m)
    buf[0] = 1.0
    tmp = np.empty(m)
    length = 1  # buf[length:] is still zero while nothing has wrapped around
    for i, (kk, pp) in enumerate(zip(ks, ps, strict=True)):
        if length + kk <= m:
            t = tmp[:length]
            np.multiply(buf[:length], pp, out=t)
            buf[:length] *= 1.0 - pp
            buf[kk : kk + length] += t
            length += kk
        else:
            shift = kk % m
            np.multiply(buf, pp, out=tmp)
            buf *= 1.0 - pp
            buf[shift:] += tmp[: m - shift]
            buf[:shift] += tmp[m - shift :]
            length = m
        if i % 32 == 31:
            live = buf[:length]
            np.putmask(live, live < 1e-280, 0.0)
    if k_lo % m:
        buf = np.roll(buf, -(k_lo % m))
    return buf, 4.0 * _EPS * (len(ks) + m)


def _pmf_solver(k: np.ndarray, p: np.ndarray, m: int, k_lo: int) -> tuple[float, Any]:
    """(estimated seconds, solver) for the pmf of Σ k_d·B_d mod M, the cheaper of
    one-deal-at-a-time convolution and characteristic-function inversion."""
    floor = 2 * _COST_FFT * m * max(1.0, math.log2(m)) + _COST_BINCOUNT * k.size
    if _COST_PER_DEAL * k.size <= floor:
        conv = _convolution_cost(k, m)
        if conv <= floor:
            return conv, lambda: _convolution_pmf(k, p, m, k_lo)
    plan = _prepare(k, p, m, k_lo)
    if _COST_PER_DEAL * k.size < plan.cost:
        conv = _convolution_cost(k, m)
        if conv <= plan.cost:
            return conv, lambda: _convolution_pmf(k, p, m, k_lo)
    return plan.cost, lambda: _evaluate(plan)


def _cdf_from_pmf(pmf: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(pmf)
    np.maximum.accumulate(cdf, out=cdf)
    np.clip(cdf, 0.0, 1.0, out=cdf)
    return cdf


# ---------------------------------------------------------------------------------------------
# Methods
# ---------------------------------------------------------------------------------------------
@dataclass
class _Deals:
    """Deals that are really uncertain (0 < p < 1, amount > 0) plus the sure part."""

    a: np.ndarray
    p: np.ndarray
    sure: float  # Σ amounts of deals with p = 1
    total: float  # Σ a (random deals)

    @property
    def lo(self) -> float:
        return self.sure

    @property
    def hi(self) -> float:
        return self.sure + self.total


def _cents(a: np.ndarray) -> tuple[np.ndarray, float] | None:
    """Amounts in whole cents (int64) and Σ|amount − cents/100| beyond float noise, or None."""
    if a.size and float(a.max()) * 100.0 >= 2.0**53:
        return None
    c = a * 100.0
    ci = np.rint(c)
    off = np.abs(c - ci) > 1e-6
    residual = float(np.abs(a[off] - ci[off] / 100.0).sum()) if off.any() else 0.0
    return ci.astype(np.int64), residual


@dataclass
class _ExactLattice:
    k: np.ndarray  # amounts in units of g cents
    g: int  # gcd of the amounts in cents
    k_lo: int  # window start (lattice units)
    points: int  # window length
    tail: float  # probability outside the window (0 when it is the whole range)
    residual: float  # Σ|amount − cents| beyond float noise (sub-cent amounts)


def _exact_lattice(cents: tuple[np.ndarray, float] | None, p: np.ndarray) -> _ExactLattice | None:
    """The cents lattice of the amounts and its window, or None when it has too many points."""
    if cents is None:
        return None
    ci, residual = cents
    pos = ci[ci > 0]
    g = int(np.gcd.reduce(pos)) if pos.size else 1
    k = ci // g
    k_lo, k_hi, tail = _k_window(k, p)
    points = k_hi - k_lo + 1
    if points > EXACT_MAX_POINTS:
        return None
    return _ExactLattice(k, g, k_lo, points, tail, residual)


def _quantile_gaps(
    top: float, level_to_x: Any, r: float, q: float, delta: float, t: float, lo: float, hi: float
) -> float:
    """Bound on |r − Q_S(q′)| for q′ in [q − tie, q], given that for every level q′ the true
    quantile lies in [Q̂(q′ − δ) − t, Q̂(q′ + δ) + t] (Q̂ reaching at most level ``top``)."""
    lower_level = q - QUANTILE_TIE - delta
    upper_level = q + delta
    lower = lo if lower_level <= 0 else level_to_x(lower_level)
    upper = hi if upper_level > top or upper_level >= 1 else level_to_x(upper_level)
    lower = max(lo, lower - t)
    upper = min(hi, upper + t)
    return max(0.0, upper - r, r - lower)


def _from_lattice_cdf(
    cdf: np.ndarray,
    x0: float,
    step: float,
    deals: _Deals,
    quota: float | None,
    candidates: list[tuple[float, float]],
) -> dict[str, Any]:
    """Quantiles, p_quota and the error bound from a CDF on x0 + i·step.

    ``candidates``: pairs (t, δ) such that, for every level q′, the true quantile lies in
    [Q̂(q′ − δ) − t, Q̂(q′ + δ) + t]; the smallest resulting bound is reported.
    """
    lo, hi = deals.lo, deals.hi

    def level_to_x(level: float) -> float:
        i = int(np.searchsorted(cdf, level, side="left"))
        return hi if i >= cdf.size else x0 + i * step

    quantiles = {}
    for q in (0.1, 0.5, 0.9):
        quantiles[q] = min(hi, max(lo, level_to_x(q - QUANTILE_TIE)))
    best_bound, best_delta = math.inf, 0.0
    for t, delta in candidates:
        bound = max(
            _quantile_gaps(float(cdf[-1]), level_to_x, quantiles[q], q, delta, t, lo, hi)
            for q in quantiles
        )
        if bound < best_bound:
            best_bound, best_delta = bound, delta
    p_quota = None
    if quota is not None:
        x = (quota - _tolerance(hi, step) - x0) / step  # points below the quota
        i = math.ceil(min(max(x, -1.0), cdf.size + 1.0))  # a quota of 1e308 / 0.01 is inf
        below = 0.0 if i <= 0 else float(cdf[min(i, cdf.size) - 1])
        p_quota = _clip_quota(1.0 - below, quota, deals)
    return {
        "p10": quantiles[0.1],
        "p50": quantiles[0.5],
        "p90": quantiles[0.9],
        "p_quota": p_quota,
        "error_bound": best_bound,
        "cdf_error_bound": best_delta,
        "_dist": _LatticeCDF(x0, step, cdf, lo, hi),
    }


def _clip_quota(value: float, quota: float, deals: _Deals) -> float:
    tol = _tolerance(deals.hi)
    if quota <= deals.lo + tol:
        return 1.0
    if quota > deals.hi + tol:
        return 0.0
    return min(1.0, max(0.0, value))


def _run_exact(deals: _Deals, quota: float | None, lattice: _ExactLattice, solver: Any) -> dict:
    pmf, eta = solver()
    cdf = _cdf_from_pmf(pmf[: lattice.points])
    step = lattice.g / 100.0
    x0 = deals.sure + lattice.k_lo * step
    delta = lattice.tail + eta
    out = _from_lattice_cdf(cdf, x0, step, deals, quota, [(lattice.residual, delta)])
    # No amount is rounded (beyond sub-cent residuals): Pq is the exact quantile at a level
    # within QUANTILE_TIE + δ of q, δ = window tail + floating point (cdf_error_bound).
    out["error_bound"] = lattice.residual
    out["cdf_error_bound"] = delta
    out["method"] = "exact"
    return out


def _lattice_unit(
    deals: _Deals, grid_points: int, cents: tuple[np.ndarray, float] | None
) -> tuple[np.ndarray, float, int, int, float]:
    """Lattice amounts k, unit u, FFT length M, window start k_lo and the window's tail mass."""
    a, p = deals.a, deals.p
    lo, hi, _tail = _window(a, p, WINDOW_TAIL)
    width = max(hi - lo, 1e-300)
    if cents is not None and cents[1] == 0.0:
        pos = cents[0][cents[0] > 0]
        g = int(np.gcd.reduce(pos)) / 100.0 if pos.size else 0.0
        if g > 0 and width / g <= 4 * grid_points:  # the amounts' own lattice: no rounding
            k = cents[0] // round(g * 100)
            klo, khi, tail = _k_window(k, p)
            return k, g, int(_fft().next_fast_len(khi - klo + 1, real=True)), klo, tail
    m = grid_points
    unit = width / (0.98 * (m - 1))
    for _attempt in range(60):
        k = np.rint(a / unit).astype(np.int64)
        klo, khi, tail = _k_window(k, p)
        if khi - klo + 1 <= m:
            return k, unit, m, klo, tail
        unit *= 1.02 * (khi - klo + 1) / m
    raise AssertionError("lattice window did not converge")  # pragma: no cover


def _k_window(k: np.ndarray, p: np.ndarray) -> tuple[int, int, float]:
    """Window [k_lo, k_hi] (lattice units) of Σ k_d·B_d and its tail mass (see :func:`_window`)."""
    lo, hi, tail = _window(k.astype(np.float64), p, WINDOW_TAIL)
    return max(0, math.floor(lo)), math.ceil(hi), tail


def _run_lattice(
    deals: _Deals, quota: float | None, grid_points: int, cents: tuple[np.ndarray, float] | None
) -> dict:
    a, p = deals.a, deals.p
    k, unit, m, klo, tail = _lattice_unit(deals, grid_points, cents)
    pmf, eta = _pmf_solver(k, p, m, klo)[1]()
    cdf = _cdf_from_pmf(pmf)
    # Rounding: S = Y + E, Y = unit·K + c, E = Σ e_d (B_d − p_d), e_d = a_d − unit·k_d.
    e = a - unit * k
    shift = float(e @ p)
    variance = float((e * e) @ (p * (1.0 - p)))
    e_bound = float(np.max(np.abs(e) * np.maximum(p, 1.0 - p))) if e.size else 0.0
    e_sum, e_abs = float(e.sum()), float(np.abs(e).sum())
    # S − Y = Σ e_d·B_d − c lies in [Σ_{e<0} e − c, Σ_{e>0} e − c] whatever the outcomes.
    deterministic = max((e_abs + e_sum) / 2 - shift, shift - (e_sum - e_abs) / 2, 0.0)
    base = tail + eta
    candidates = [(deterministic, base)]
    if variance > 0 or e_bound > 0:
        for prob in (1e-6, 1e-8, 1e-10, 1e-12, 1e-14):
            candidates.append((_bernstein_radius(variance, e_bound, prob), base + prob))
    x0 = klo * unit + shift + deals.sure
    out = _from_lattice_cdf(cdf, x0, unit, deals, quota, candidates)
    out["method"] = "lattice"
    return out


def _run_monte_carlo(deals: _Deals, quota: float | None, draws: int, seed: int) -> dict:
    a, p = deals.a, deals.p
    rng = np.random.Generator(np.random.PCG64(seed))
    n = a.size
    totals = np.zeros(draws)
    if n:
        # Draw-major blocks of about _MC_BLOCK uniforms (cache-sized); the random stream is consumed
        # in the same order whatever the block size, so results depend only on the seed.
        if n <= _MC_BLOCK:
            rows = max(1, _MC_BLOCK // n)
            buf = np.empty((rows, n))
            for start in range(0, draws, rows):
                stop = min(draws, start + rows)
                u = buf[: stop - start]
                rng.random(out=u)
                np.less(u, p, out=u)  # 1.0 where the deal is won
                totals[start:stop] = np.einsum("ij,j->i", u, a)
        else:
            buf = np.empty(_MC_BLOCK)
            for i in range(draws):
                acc = 0.0
                for c0 in range(0, n, _MC_BLOCK):
                    c1 = min(n, c0 + _MC_BLOCK)
                    u = buf[: c1 - c0]
                    rng.random(out=u)
                    np.less(u, p[c0:c1], out=u)
                    acc += float(u @ a[c0:c1])
                totals[i] = acc
    totals += deals.sure
    totals.sort()
    dist = _SampleCDF(totals, deals.lo, deals.hi)
    eps = math.sqrt(math.log(2.0 / (1.0 - MC_CONFIDENCE)) / (2.0 * draws))

    def level_to_x(level: float) -> float:
        i = math.ceil(level * draws - 1e-9) - 1
        return float(totals[min(max(i, 0), draws - 1)])

    quantiles = {q: float(dist.quantile(np.asarray(q))) for q in (0.1, 0.5, 0.9)}
    bound = max(
        _quantile_gaps(1.0, level_to_x, quantiles[q], q, eps, 0.0, deals.lo, deals.hi)
        for q in quantiles
    )
    p_quota = None
    if quota is not None:
        tol = _tolerance(deals.hi)
        share = 1.0 - np.searchsorted(totals, quota - tol, side="left") / draws
        p_quota = _clip_quota(float(share), quota, deals)
    return {
        **{f"p{int(q * 100)}": v for q, v in quantiles.items()},
        "p_quota": p_quota,
        "error_bound": bound,
        "cdf_error_bound": eps,
        "method": "monte_carlo",
        "_dist": dist,
    }


# ---------------------------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------------------------
def forecast_range(
    amounts: Sequence[float] | np.ndarray | pd.Series,
    probabilities: Sequence[float] | np.ndarray | pd.Series,
    quota: float | None = None,
    *,
    closed: float | None = None,
    range_method: str = "auto",
    draws: int = 20_000,
    seed: int = 0,
    grid_points: int = 2**16,
    method: str = DEPRECATED,
) -> ForecastRange:
    """Distribution of S = Σ_d amount_d · Bernoulli(p_d) over the open deals (independent wins).

    Args:
        amounts: deal amounts (≥ 0), one per open deal (column "amount" of table "open deals").
        probabilities: win probabilities in [0, 1], same order (column "win_probability").
        quota: if given, ``p_quota`` = P(closed + S ≥ quota).
        closed: revenue already won in the period ("closed so far"; None or 0: nothing), so
            that P(≥ quota) = P(closed + S ≥ quota) = P(S ≥ quota − closed).  The quantiles and
            the mean stay those of S, the open deals' revenue.
        range_method: "auto" (exact when feasible and cheap, else lattice), "exact", "lattice"
            or "monte_carlo".  (``method=`` is its old name, accepted with a DeprecationWarning
            for one release.)
        draws, seed: Monte Carlo draws and PCG64 seed (results reproducible from the seed).
        grid_points: lattice size M for "lattice"; the rounding part of the bound scales as
            1/M (2**16: about 0.06 standard deviations for 100,000 lognormal deals; 2**18 is
            4x tighter for about 1.5x the time).

    Returns a :class:`ForecastRange`.  mean = Σ a·p and std_dev = sqrt(Σ a²·p·(1 − p)) exactly.
    Pq = min{x : P(S ≤ x) ≥ q}, a CDF value within 1e-9 below q counting as reaching q.  Deals with
    p = 1 add their amount for sure; deals with p = 0 or amount 0 add nothing.  Empty input gives
    all zeros (range method "exact").

    Error bounds (``error_bound``, currency units; it bounds |Pq − Q(q′)| for the true quantile
    Q(q′) at every level q′ in [q − 1e-9, q], for q = 0.1, 0.5, 0.9):

    * exact: 0 — nothing is rounded: the pmf on the lattice g = gcd(amounts in cents) is exact
      up to δ = ``cdf_error_bound`` on the CDF (probability outside the window, ≤ 1e-13, and 0
      when the window is the whole range 0..Σa; unevaluated frequencies; a first-order
      floating-point estimate), so Pq is the exact quantile at some level within 1e-9 + δ of q.
      Amounts with fractions of a cent are rounded to cents and the bound is then Σ|rounding|
      (deterministic).
    * lattice: amounts are rounded to k_d·u (u = window/M); with e_d = a_d − u·k_d and the mean
      shift c = Σ e_d·p_d added back, S = Y + E with Y = u·K + c (computed) and
      E = Σ e_d(B_d − p_d).  The CDF of Y is known to within δ₀ = (mass outside the window,
      ≤ 1e-13 by Bernstein) + (unevaluated frequencies) + (series truncation and a first-order
      floating-point estimate).  If P(|E| > t) ≤ δ_E then for every level q′
      Q_Y(q′ − δ_E − δ₀) − t ≤ Q_S(q′) ≤ Q_Y(q′ + δ_E + δ₀) + t, and ``error_bound`` is the
      resulting distance from the reported Pq, read off the computed CDF.  t is the smallest of
      the deterministic worst case max(Σ_{e>0} e − c, c − Σ_{e<0} e) (δ_E = 0) and Bernstein's
      radius for δ_E ∈ {1e-6, …, 1e-14} (variance v = Σ e_d²·p_d(1 − p_d), terms
      ≤ max |e_d|·max(p_d, 1 − p_d)).  The typical size of the rounding effect is sqrt(v),
      with |e_d| ≤ u/2; ``cdf_error_bound`` is the δ used.  When the amounts are whole cents and
      their own lattice g fits in 4·M points, u = g: nothing is rounded (t ≈ 0).  p_quota is
      P(Y ≥ quota); the true P(S ≥ quota) lies in [P(Y ≥ quota + t) − δ, P(Y ≥ quota − t) + δ].
    * monte_carlo: with probability ≥ 99%, sup_x |F_draws(x) − F(x)| ≤ ε, where
      ε = sqrt(ln(2/0.01)/(2·draws)) (Dvoretzky–Kiefer–Wolfowitz–Massart; ``cdf_error_bound``
      = ε), hence the true Q(q′) lies in [Q_draws(q′ − ε), Q_draws(q′ + ε)]; ``error_bound`` is
      the distance from Pq to the ends of that interval (a 99%-confidence bound).  p_quota is
      then within ε of P(S ≥ quota).

    Raises:
        PipesheetError: bad amounts/probabilities (naming table "open deals", the column, the
            spreadsheet rows — header is row 1 — and the value), bad options, or
            ``range_method="exact"`` on amounts whose lattice is too large.
    """
    method = renamed("method", "range_method", method, range_method, "auto")
    q = _check_options(quota, method, draws, grid_points)
    done = _check_closed(closed)
    a, p = _validate(amounts, probabilities)
    n_deals = int(a.size)
    mean = float(a @ p) if n_deals else 0.0
    std = math.sqrt(max(float((a * a) @ (p * (1.0 - p))), 0.0)) if n_deals else 0.0
    random = (a > 0) & (p > 0) & (p < 1)
    deals = _Deals(a[random], p[random], float(a[(p == 1) & (a > 0)].sum()), 0.0)
    deals.total = float(deals.a.sum())

    if q is not None and done:
        q_open: float | None = q - done  # P(closed + S ≥ quota) = P(S ≥ quota − closed)
    else:
        q_open = q
    if deals.a.size == 0 and method != "monte_carlo":
        out = _sure_total(deals, q_open)
    elif method == "monte_carlo":
        out = _run_monte_carlo(deals, q_open, int(draws), seed)
    elif method == "lattice":
        out = _run_lattice(deals, q_open, int(grid_points), _cents(deals.a))
    else:
        cents = _cents(deals.a)
        lattice = _exact_lattice(cents, deals.p)
        if lattice is None:
            if method == "exact":
                raise PipesheetError(
                    _(
                        "the exact method needs the amounts (in cents) on a lattice of at most "
                        "{points} points; these amounts need more"
                    ).format(points=format_number(EXACT_MAX_POINTS, 0)),
                    table=TABLE,
                    column=AMOUNT_COLUMN,
                    expected=_("range_method='lattice' (or 'auto') for this pipeline"),
                )
            out = _run_lattice(deals, q_open, int(grid_points), cents)
        else:
            m = int(_fft().next_fast_len(lattice.points, real=True))
            cost, solver = _pmf_solver(lattice.k, deals.p, m, lattice.k_lo)
            if method == "auto" and cost > _EXACT_BUDGET:
                out = _run_lattice(deals, q_open, int(grid_points), cents)
            else:
                out = _run_exact(deals, q_open, lattice, solver)
    return ForecastRange(
        mean=mean,
        std_dev=std,
        p10=float(out["p10"]),
        p50=float(out["p50"]),
        p90=float(out["p90"]),
        quota=q,
        p_quota=None if out["p_quota"] is None else float(out["p_quota"]),
        range_method=out["method"],
        error_bound=float(out["error_bound"]),
        deals=n_deals,
        cdf_error_bound=float(out["cdf_error_bound"]),
        closed=done,
        _dist=out["_dist"],
    )


def _sure_total(deals: _Deals, quota: float | None) -> dict:
    """No uncertain deal: S is the sum of the sure deals (0 for an empty pipeline)."""
    value = deals.sure
    p_quota = None if quota is None else _clip_quota(0.0, quota, deals)
    return {
        "p10": value,
        "p50": value,
        "p90": value,
        "p_quota": p_quota,
        "error_bound": 0.0,
        "cdf_error_bound": 0.0,
        "method": "exact",
        "_dist": _SampleCDF(np.array([value]), value, value),
    }
