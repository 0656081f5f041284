"""Time-aware win probability: P(a deal at stage s, aged a days, is won by the period end).

The weighted pipeline multiplies each open deal by p_s, P(win | stage). That says *whether* a
deal will be won, not *when*: a deal that will be won next year counts fully in this quarter. The
time-aware probability answers the question a period forecast asks.

**Clock and age.** For stage s the clock starts the day a deal *first entered s* (its first
history row at s); a deal's **age** is the number of whole days since then (on the as-of date).
We use time since entering the stage rather than since creation because (a) every stage history
has the entry dates, while created dates are often missing or reset by imports, (b) the cohort of
deals that entered s is exactly the cohort behind p_s (``StageProbabilities``), so the two
estimates agree in the long run, and (c) what is left of a deal's cycle depends most on where it
is now. Deals that later move on to another open stage stay in the cohort of s (their clock keeps
running) — the same "ever reached" convention as p_s.

**Competing risks with censoring.** From stage s a deal ends Won or Lost, or is still open on the
as-of date D (censored: its outcome is unknown, it is *not* a loss). On the day grid
j = 0, 1, 2 … (days since entering s):

    n(j)   = deals of the cohort still open at the start of day j (event or censoring day ≥ j)
    dW(j), dL(j) = deals won / lost on day j
    hW(j)  = ΣdW / Σn,  hL(j) = ΣdL / Σn   (daily hazards, pooled over bins of ``bin_days``)

With ``bin_days=1`` these are the Aalen–Johansen (Kaplan–Meier for competing risks) hazards; the
default 7 pools a week of exposure. Where the data thin out — from the first day fewer than
``min_at_risk`` (default 10) deals of the cohort are still open — and beyond the longest time
observed, one constant hazard pooled over that late range is used (a constant-hazard tail), so a
single late event among two survivors cannot send a deal's probability to 1. Beyond the longest
observed time with no thin range, the tail is pooled over the second half of the observed range.

For a deal open at age a on D, the probability of being won within the next Δ days
(Δ = period end − D) is the **conditional cumulative incidence of Won**:

    P(won in (a, a+Δ] | open at a) = Σ_{i=a+1}^{a+Δ} hW(i) · Π_{a<l<i} (1 − hW(l) − hL(l))

and its limit Δ → ∞ is the deal's eventual win probability given its age, E(a+1).

**Why not the naive product?** The glossary writes P(won by T) = p_s · P(close by T | closes, s,
a). Estimating the two factors separately biases it twice: (1) the time-to-close distribution of
*closed* deals only is length-biased — slow deals are the ones still open (censored), so closed
deals close faster than the cohort does and "P(close by T)" comes out too high; (2) p_s is the win
rate of deals *entering* s, but a deal that has already sat in s for a days has survived the early
wins and losses: where wins come quickly and losses drag on (as in most CRMs), old deals are
mostly future losses and p_s overstates them. The conditional cumulative incidence above handles
both, because hazards use every deal still at risk, including the open ones.

``conditioning="age"`` (default) returns that quantity. ``conditioning="stage"`` returns the
glossary's literal product p_s · P(won in (a, a+Δ] | open at a, eventually won), i.e. the same
timing but the stage's unconditional win rate p_s = W/(W + L); it never exceeds p_s (the age-aware
one can, for a deal that has outlived the early losses, and never exceeds its own eventual win
probability).

**Forecast.** Period forecast = Σ amount_d · P_d over the deals open on D (no expected close date
needed: timing comes from the history). Its range (mean, P10/P50/P90, P(≥ quota)) is
:func:`pipesheet.ranges.forecast_range` over the same amounts and probabilities.

**as_of.** Only history rows dated on or before D (whole day) are used: the pipeline, the ages
and the hazards are exactly what was known on D. Default D = the latest date in the history.
Amounts come from the history when it carries them (latest amount on or before D), otherwise
from the deals table as currently recorded.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.base import DEPRECATED, Estimator, Result, renamed
from pipesheet.errors import PipesheetError
from pipesheet.history import (
    DealStates,
    HistoryArrays,
    LoadedTables,
    deal_states,
    history_in_reporting_currency,
    latest_values,
    load_tables,
)
from pipesheet.periods import day_number, day_timestamp, period_end_for, window_end_day
from pipesheet.pricing import deal_rates, reporting_amounts
from pipesheet.stages import StageList
from pipesheet.summaries import foreign_frame, pandas_frame
from pipesheet.tables import blank_amount_rows, blank_amounts_choice

__all__ = [
    "CONDITIONING",
    "TimeAwareForecast",
    "TimeAwareResult",
    "period_end_for",
    "time_aware_forecast",
]

CONDITIONING = ("age", "stage")
_NS_PER_DAY = 86_400_000_000_000


# ---- competing-risks curves, by landmark age ---------------------------------------------------
def _visits(a: HistoryArrays, st: DealStates, cut: int):
    """First visit of each deal to each open stage, on the clock of days since entering it.

    Returns (stage, stay m, time T, outcome, start): the visit lasted m days at the stage (m = T
    when it is still there); T = days to Won/Lost (outcome 1/2) or to ``cut`` (outcome 0,
    censored); start = the day it entered the stage.
    """
    width = a.k + 2
    deal = st.first_keys // width
    stage = st.first_keys % width
    keep = stage < a.k
    deal, stage = deal[keep], stage[keep]
    start, leave = st.first_days[keep], st.first_leave[keep]
    final = st.code[deal]
    won = final == a.k
    lost = final == a.k + 1
    end = np.where(won | lost, a.day[st.last[deal]], cut)
    time = np.maximum(end - start, 0)
    stay = np.where(leave >= 0, np.minimum(np.maximum(leave - start, 0), time), time)
    outcome = np.where(won, 1, np.where(lost, 2, 0))
    return stage, stay, time, outcome, start


def recency_weights(
    start: np.ndarray, cut: int, half_life: float | None, counts: np.ndarray | None = None
) -> np.ndarray | None:
    """Weight of each visit by how long ago it entered its stage: 0.5 ** ((cut − start) /
    half_life), scaled to mean 1 (so thresholds on counts keep their meaning); None without a
    half-life (every visit counts the same). ``counts``: each entry stands for that many visits
    (the mean is over the visits)."""
    if half_life is None or not len(start):
        return None
    w = np.exp2(-(cut - np.asarray(start, dtype=float)) / float(half_life))
    if counts is not None:
        return w / (float(np.dot(w, counts)) / float(np.sum(counts)))
    return w / w.mean()


#: Landmark rows have a resolution of one day for stays up to this many days, then of one bin.
DAILY_LANDMARKS = 180


def _row_of(stay: np.ndarray, b: int) -> np.ndarray:
    """Landmark row holding a visit that stayed ``stay`` days: one row per day up to
    :data:`DAILY_LANDMARKS`, one per bin after."""
    stay = np.asarray(stay, dtype=np.int64)
    d1 = DAILY_LANDMARKS
    return np.where(stay <= d1, stay, d1 + (stay - d1 - 1) // b + 1)


def _row_start(row: np.ndarray, b: int) -> np.ndarray:
    """The shortest stay in landmark row ``row`` (the first day its risk set is at risk)."""
    row = np.asarray(row, dtype=np.int64)
    d1 = DAILY_LANDMARKS
    return np.where(row <= d1, row, d1 + (row - d1 - 1) * b + 1)


@dataclass
class _Curves:
    """Pooled counts per (stage, landmark row, bin of days since entry).

    Row r is the landmark risk set of a deal that has been at the stage for r − 1 days (so is
    still there on day r − 1 and at risk from day r on): the visits that stayed at least r days
    (one row per day up to :data:`DAILY_LANDMARKS`, then one per bin). Row 0 = every first visit
    (the cohort that entered the stage). A row's exposure starts on its first day at risk: the
    days before it, which its visits all survived by construction, are not counted (they would
    dilute the hazards of the landmark bin).
    """

    exposure: np.ndarray  # (k, rows, bins) deal-days at risk (still open) in each bin
    won: np.ndarray  # (k, rows, bins) wins in each bin
    lost: np.ndarray  # (k, rows, bins)
    visits: np.ndarray  # (k, rows) visits in the risk set
    cohort: np.ndarray  # (k, 3) won, lost, censored of row 0 (weighted when weights are given)
    known: np.ndarray  # (k,) at least one closed visit
    bin_days: int
    min_at_risk: int


def _curves(
    stage,
    stay,
    time,
    outcome,
    k: int,
    bin_days: int,
    min_at_risk: int = 1,
    weights: np.ndarray | None = None,
    counts: np.ndarray | None = None,
) -> _Curves:
    """Counts of :class:`_Curves`; ``weights`` (one per visit, mean 1) weigh recent visits more
    (see ``half_life``): exposure and events are weighted, the risk-set sizes are not.
    ``counts``: each entry stands for that many identical visits (the summary path's counts by
    (stage, stay, time, outcome)); ``weights`` then holds each entry's recency weight."""
    b = int(bin_days)
    nb = int(time.max()) // b + 1 if len(time) else 1
    qi = _row_of(stay, b)
    nq = int(qi.max()) + 2 if len(qi) else 2
    tb = time // b
    part = (time % b + 1).astype(float)
    flat = (stage * nq + qi) * nb + tb
    size = k * nq * nb
    w = np.ones(len(flat)) if weights is None else np.asarray(weights, dtype=float)
    if counts is not None:
        w = w * np.asarray(counts, dtype=float)

    def count(mask, extra=None):
        wt = w[mask] if extra is None else (w * extra)[mask]
        counts = np.bincount(flat[mask], weights=wt, minlength=size)  # int64 when empty
        return counts.astype(np.float64, copy=False).reshape(k, nq, nb)

    every = np.ones(len(flat), dtype=bool)
    cnt = count(every)
    partial = count(every, part)
    won = count(outcome == 1)
    lost = count(outcome == 2)
    # deal-days at risk in bin j: bin_days for each visit lasting past the bin, plus the part
    # of the bin a visit that ends in it was at risk
    after = np.cumsum(cnt[:, :, ::-1], axis=2)[:, :, ::-1] - cnt
    exposure = b * after + partial

    def from_row(x):  # row r: visits with qi ≥ r
        return np.cumsum(x[:, ::-1], axis=1)[:, ::-1]

    exposure, won_r, lost_r = from_row(exposure), from_row(won), from_row(lost)
    weighted_visits = from_row(cnt.sum(axis=2))
    plain = np.bincount(stage * nq + qi, weights=counts, minlength=k * nq)
    plain = plain.astype(float, copy=False).reshape(k, nq)
    visits = from_row(plain)
    # left truncation: row r's visits are all at risk from its first day s_r on; remove the
    # s_r − L·b days before it in its landmark bin L = s_r // b (every visit of the row lived them)
    start = _row_start(np.arange(nq), b)
    land = np.minimum(start // b, nb - 1)
    before = (start - land * b).astype(float)
    rows = np.arange(nq)
    exposure[:, rows, land] -= weighted_visits[:, rows] * before[None, :]
    np.maximum(exposure, 0.0, out=exposure)
    cohort = np.stack([won_r[:, 0].sum(axis=1), lost_r[:, 0].sum(axis=1), weighted_visits[:, 0]], 1)
    cohort[:, 2] -= cohort[:, 0] + cohort[:, 1]
    known = (won_r[:, 0].sum(axis=1) + lost_r[:, 0].sum(axis=1)) > 0
    return _Curves(exposure, won_r, lost_r, visits, cohort, known, b, int(min_at_risk))


def _row_for(c: _Curves, stage: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Landmark row of each (stage, age) — the visits that stayed at least age + 1 days — or the
    oldest row with at least ``min_at_risk`` visits when the deal's own has fewer."""
    nq = c.visits.shape[1]
    row = np.clip(_row_of(np.asarray(age) + 1, c.bin_days), 0, nq - 1)
    ok = c.visits >= max(c.min_at_risk, 1)
    ok[:, 0] = True
    best = np.maximum.accumulate(np.where(ok, np.arange(nq)[None, :], 0), axis=1)
    return best[stage, row]


def _daily_hazards(c: _Curves, stage: np.ndarray, row: np.ndarray, length: int):
    """Daily hazards (won, lost) on days 0..length-1 for each (stage, row), tail included.

    * Up to the last bin with a close (won or lost) in the risk set: the observed hazards, with
      the bins from the first one whose average number at risk falls below ``min_at_risk`` (at
      or after the landmark) pooled into one hazard (so one late event among two survivors
      cannot send a probability to 1).
    * After the last close — ages at which no deal of the risk set ever closed — the evidence is
      exposure without events. Where that exposure is at least ``min_at_risk`` deal-bins (deals
      did sit there, and none closed), it is taken as it is: hazard 0, also beyond the last day
      with exposure. So a long-open deal gets what the history says about deals of its age —
      they do not close — never a younger deal's hazards (pooling the late range with earlier
      closes gave deals far older than any closed deal a good chance). When old deals did close
      (revived, or cleaned up as lost), those closes are in the risk set and count. With less
      exposure than that after the last close, the pooled late hazard continues over the whole
      tail, as before.
    * Beyond the last day with exposure: the late hazard above.

    Returns (hw, hl, last observed day, tail hw, tail hl, last day with a close).
    """
    b = c.bin_days
    expo, won, lost = c.exposure[stage, row], c.won[stage, row], c.lost[stage, row]
    nb = expo.shape[1]
    bins = np.arange(nb)[None, :]
    land = (_row_start(row, b) // b)[:, None]  # the bin of the row's first day at risk
    has = expo > 0
    last = np.where(has.any(axis=1), nb - 1 - np.argmax(has[:, ::-1], axis=1), -1)[:, None]
    ev = (won + lost) > 0
    last_ev = np.where(ev.any(axis=1), nb - 1 - np.argmax(ev[:, ::-1], axis=1), -1)[:, None]
    after = (bins > last_ev) & (bins >= land) & (bins <= last)
    e_after = (expo * after).sum(axis=1)
    quiet = e_after >= max(c.min_at_risk, 1) * b  # enough exposure without a close to say so
    upto = np.where(quiet[:, None], np.minimum(last, last_ev), last)
    thin = (expo < c.min_at_risk * b) & (bins >= land) & (bins <= upto)
    first_thin = np.where(thin.any(axis=1), np.argmax(thin, axis=1), -1)[:, None]
    t_start = np.where(first_thin >= 0, first_thin, land + (upto - land + 1) // 2)
    tail = (bins >= t_start) & (bins <= upto)
    t_exp = (expo * tail).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        tail_w = np.where(t_exp > 0, (won * tail).sum(axis=1) / t_exp, 0.0)
        tail_l = np.where(t_exp > 0, (lost * tail).sum(axis=1) / t_exp, 0.0)
        hw_b = np.where(has, won / expo, 0.0)
        hl_b = np.where(has, lost / expo, 0.0)
    pooled = (bins >= np.where(first_thin >= 0, first_thin, upto + 1)) & (bins <= upto)
    hw_b = np.where(pooled, tail_w[:, None], hw_b)
    hl_b = np.where(pooled, tail_l[:, None], hl_b)
    late_w = np.where(quiet, 0.0, tail_w)  # after the last close (when that says something)
    late_l = np.where(quiet, 0.0, tail_l)
    hw_b = np.where(bins > last, late_w[:, None], hw_b)  # no exposure there: extrapolate
    hl_b = np.where(bins > last, late_l[:, None], hl_b)
    days = np.arange(length)
    day_bin = np.minimum(days // b, nb - 1)
    beyond = (days // b)[None, :] > last
    hw = np.where(beyond, late_w[:, None], hw_b[:, day_bin])
    hl = np.where(beyond, late_l[:, None], hl_b[:, day_bin])
    last_close = np.where(quiet, (last_ev[:, 0] + 1) * b - 1, np.iinfo(np.int64).max)
    return hw, hl, (last[:, 0] + 1) * b - 1, late_w, late_l, last_close


def _probabilities(
    c: _Curves, stage: np.ndarray, age: np.ndarray, horizon: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P(won within ``horizon`` days | at the stage, aged ``age``), eventual P(won | same),
    whether the window reaches beyond the observed range, whether the deal is older than any
    close in its risk set — a long-open deal), vectorised over deals.

    With the landmark hazards of the deal's age, E(j) = P(won eventually | open at the start of
    day j) by the backward recursion E(j) = hW(j) + (1 − hW(j) − hL(j))·E(j+1) (the tail's ratio
    hW/(hW + hL) beyond the grid) and S(a+1 → a+Δ) = Π_{l=a+1}^{a+Δ} (1 − hW(l) − hL(l)):

        P(won in (a, a+Δ]) = E(a+1) − S(a+1 → a+Δ) · E(a+Δ+1).
    """
    if not len(stage):
        none = np.zeros(0, dtype=bool)
        return np.zeros(0), np.zeros(0), none, none
    row = _row_for(c, stage, age)
    pairs, inverse = np.unique(np.stack([stage, row]), axis=1, return_inverse=True)
    inverse = inverse.ravel()
    length = max(int((age + horizon).max()) + 2, c.exposure.shape[2] * c.bin_days + 1)
    hw, hl, last_day, tail_w, tail_l, last_close = _daily_hazards(c, pairs[0], pairs[1], length)
    u = len(pairs[0])
    ht = np.clip(hw + hl, 0.0, 1.0)
    tail_t = tail_w + tail_l
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(tail_t > 0, tail_w / tail_t, 0.0)
    e = np.empty((u, length + 1))
    e[:, length] = ratio
    for j in range(length - 1, -1, -1):  # a loop over days (not deals), vectorised over rows
        e[:, j] = hw[:, j] + (1.0 - ht[:, j]) * e[:, j + 1]
    one_minus = 1.0 - ht
    zero = one_minus <= 0.0
    logs = np.log(np.where(zero, 1.0, one_minus))
    cum_log = np.concatenate([np.zeros((u, 1)), np.cumsum(logs, axis=1)], axis=1)
    cum_zero = np.concatenate([np.zeros((u, 1), dtype=np.int64), np.cumsum(zero, axis=1)], axis=1)
    lo, hi = age + 1, age + horizon + 1
    surv = np.where(
        cum_zero[inverse, hi] - cum_zero[inverse, lo] > 0,
        0.0,
        np.exp(cum_log[inverse, hi] - cum_log[inverse, lo]),
    )
    eventual = np.clip(e[inverse, lo], 0.0, 1.0)
    within = np.clip(e[inverse, lo] - surv * e[inverse, hi], 0.0, eventual)
    return within, eventual, (age + horizon) > last_day[inverse], age + 1 > last_close[inverse]


def _long_open_note(frame: pd.DataFrame, long_open: np.ndarray, order: tuple[str, ...]) -> str:
    """What the forecast did with the deals older than any close in their stage's history."""
    sel = frame.loc[long_open]
    p = sel["probability"].to_numpy(dtype=float)
    per_stage = ", ".join(
        f"{stage} {n} (oldest {int(age)} days)"
        for stage, n, age in sorted(
            ((st, len(g), g["age_days"].max()) for st, g in sel.groupby("stage", sort=False)),
            key=lambda t: order.index(t[0]),
        )
    )
    return (
        f"{int(long_open.sum())} open deal(s) are older than any deal of their stage that ever "
        f"closed ({per_stage}): the history shows no close at those ages over the time such "
        f"deals stayed open, so each gets at most {np.nanmax(p) * 100:.1f}% "
        f"(pipeline {sel['amount'].sum():,.0f}, weighted {np.nansum(sel['weighted']):,.0f})"
    )


# ---- results -----------------------------------------------------------------------------------
DEAL_COLUMNS = (
    "deal_id",
    "stage",
    "entered_stage",
    "age_days",
    "amount",
    "close_date",
    "stage_probability",
    "win_probability",
    "probability",
    "weighted",
)
STAGE_COLUMNS = (
    "stage",
    "cohort",
    "won",
    "lost",
    "censored",
    "stage_probability",
    "eventual_win",
    "median_days_to_close",
    "open_deals",
    "pipeline",
    "forecast",
)


@dataclass(repr=False)
class TimeAwareResult(Result):
    """A time-aware period forecast.

    Attributes:
        deals: One row per deal open on ``as_of``: ``deal_id``, ``stage``, ``entered_stage``
            (date first entered), ``age_days``, ``amount`` (reporting currency), ``close_date``
            (expected, when known), ``stage_probability`` (p_s), ``win_probability`` (eventual,
            given the age), ``probability`` (won by ``period_end``), ``weighted``
            (= amount × probability). Index: the deals table's spreadsheet row when known.
        forecast: Σ amount × probability over the deals with a known probability.
        pipeline: Σ amount of the same deals.
        range: :class:`pipesheet.ranges.ForecastRange` of the forecast (None if unavailable).
        table: Per open stage: the cohort behind the curves (``cohort``, ``won``, ``lost``,
            ``censored``), ``stage_probability`` p_s = W/(W+L), ``eventual_win`` (the
            cumulative incidence of Won from entry, censoring handled), ``median_days_to_close``
            (from entry; NaN when fewer than half close within the observed range),
            ``open_deals``, ``pipeline`` and ``forecast`` of the deals open on ``as_of``.
        as_of, period_end: The dates used (whole days; the period is (as_of, period_end]).
        conditioning: ``"age"`` or ``"stage"`` (see the module docstring).
        currency: Reporting currency, when known.
        notes: What the user should know.
    """

    deals: pd.DataFrame
    forecast: float
    pipeline: float
    range: Any
    table: pd.DataFrame
    as_of: pd.Timestamp
    period_end: pd.Timestamp
    conditioning: str
    currency: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """One-row summary: as_of, period_end, deals, pipeline, forecast, and the range."""
        row: dict[str, Any] = {
            "as_of": self.as_of,
            "period_end": self.period_end,
            "deals": int(self.deals["probability"].notna().sum()),
            "pipeline": self.pipeline,
            "forecast": self.forecast,
        }
        if self.range is not None:
            for name in ("p10", "p50", "p90", "quota", "p_quota"):
                row[name] = getattr(self.range, name, np.nan)
        return pd.DataFrame([row])

    def _figures(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "period_end": self.period_end,
            "deals": int(self.deals["probability"].notna().sum()),
            "pipeline": self.pipeline,
            "forecast": self.forecast,
            "currency": self.currency,
        }


class TimeAwareForecast(Estimator):
    """Learn P(won by the period end | stage, age) from the stage history; forecast the period.

    scikit-learn style: configure in the constructor, :meth:`fit`, read the ``*_`` attributes.

    Args:
        stages: Stage list; inferred from the history when not given.
        as_of: Forecast date D: only history rows dated on or before it are used. Default: the
            latest date in the history (pass the export date for exact ages).
        period_end: ``"month"``, ``"quarter"`` (default) or ``"year"`` — the end of that period
            containing D, or of the next one when D is its last day (with a note) — or a period
            end date after D. The forecast covers (D, period end].  (``period=`` is its old
            name, accepted with a DeprecationWarning for one release.)
        fiscal_year_start: First month of the fiscal year for quarters and years.
        conditioning: ``"age"`` (default): the conditional cumulative incidence of Won given the
            deal is still open at its age. ``"stage"``: p_s × the same timing (≤ p_s).
        bin_days: Days pooled per hazard bin (1 = the exact Aalen–Johansen estimator).
        min_at_risk: From the first day fewer deals than this are still open in a stage's
            cohort, one constant hazard pooled over the rest of the observed range is used
            (1 = never pool; with ``bin_days=1`` that is the exact estimator).
        half_life: Weigh each stage visit by 0.5 ** (its age in days / half_life), so that recent
            visits count more when win rates or cycles drift (None, the default: every visit
            counts the same). The calibrated forecast picks it from its own past errors.
        rates, currency: Currency rates / reporting currency when the deals mix currencies
            (amounts from the history are in each deal's currency — the deals table's — and
            are converted too).
        blank_amounts: "error" (default), "skip" or "zero": what a blank amount of a deal open
            on D means (see :func:`pipesheet.pricing.price_deals`).
        quota: Target for P(forecast ≥ quota) in the range.
        columns: Explicit ``{field: header}`` column mapping.
        range_method, draws, seed: Passed to :func:`pipesheet.ranges.forecast_range`.
        order_by: The history column ordering a deal's rows at the same instant, for frames
            without a table order (DuckDB, Spark, Ibis, Polars LazyFrame; see
            :mod:`pipesheet.summaries`).

    Attributes (after ``fit``):
        deals_: Per open deal (see :class:`TimeAwareResult`).
        forecast_: Σ amount × probability.
        range_: The forecast range (None when ``pipesheet.ranges`` is unavailable).
        table_: Per stage summary (see :class:`TimeAwareResult`).
        curves_: The cohort that entered each stage, per bin of days since entry (``day_from``
            .. ``day_to``): ``at_risk`` (average deals still open), ``won``, ``lost`` (counts),
            ``hazard_won``, ``hazard_lost`` (daily hazards), ``survival`` / ``survival_end``
            (still open at the bin's start / end), ``cumulative_won``, ``cumulative_lost``.
        as_of_, period_end_: Timestamps used.  stages_: the StageList.  notes_: notes.
        result_: Everything above as a :class:`TimeAwareResult`.
    """

    def __init__(
        self,
        *,
        stages: StageList | None = None,
        as_of: Any = None,
        period_end: Any = "quarter",
        fiscal_year_start: int = 1,
        conditioning: str = "age",
        bin_days: int = 7,
        min_at_risk: int = 10,
        half_life: float | None = None,
        rates: pd.DataFrame | Mapping[str, float] | None = None,
        currency: str | None = None,
        quota: float | None = None,
        columns: Mapping[str, str] | None = None,
        range_method: str = "auto",
        draws: int = 20000,
        seed: int = 0,
        blank_amounts: str = "error",
        period: Any = DEPRECATED,
        order_by: str | None = None,
    ) -> None:
        self.stages = stages
        self.as_of = as_of
        self.period_end = renamed("period", "period_end", period, period_end, "quarter")
        self.fiscal_year_start = fiscal_year_start
        self.conditioning = conditioning
        self.bin_days = bin_days
        self.min_at_risk = min_at_risk
        self.half_life = half_life
        self.rates = rates
        self.currency = currency
        self.quota = quota
        self.columns = columns
        self.range_method = range_method
        self.draws = draws
        self.seed = seed
        self.blank_amounts = blank_amounts
        self.order_by = order_by

    _unfitted = "the time-aware model has not been fitted yet"

    @property
    def period(self) -> Any:
        """Deprecated: the old name of :attr:`period_end`."""
        warnings.warn(
            "TimeAwareForecast.period is deprecated: use period_end", DeprecationWarning, 2
        )
        return self.period_end

    # ---- public --------------------------------------------------------------------------------
    def fit(self, history: Any, deals: Any = None) -> TimeAwareForecast:
        """Learn the curves from ``history`` as of D and forecast the deals open on D.

        Args:
            history: Stage history (deal id, stage, date entered; optionally amount and expected
                close date per row).
            deals: Deals table (amounts, expected close dates, currency). Without it the amounts
                come from the history's amount column; without either, only probabilities.
        """
        self._check_params()
        history, deals = pandas_frame(history), pandas_frame(deals)
        if foreign_frame(history) or foreign_frame(deals):
            self._fit_summaries(history, deals)
            return self
        tables = load_tables(history, deals, self.stages, self.columns)
        self._fit_tables(tables)
        return self

    def fit_loaded(
        self, tables: LoadedTables, *, deals: bool = True, forecast_range: bool = True
    ) -> TimeAwareForecast:
        """:meth:`fit` on tables already read by :func:`load_tables`, so that a backtest or a
        calibration can refit at many dates without reading again.  ``deals=False`` ignores the
        deals table; ``forecast_range=False`` skips the range (``range_`` is None)."""
        self._check_params()
        loaded = LoadedTables(tables.hist, tables.deals if deals else None, tables.arrays, [])
        self._fit_tables(loaded, forecast_range=forecast_range)
        return self

    def predict(self, stage: Any, age_days: Any, horizon_days: Any) -> np.ndarray:
        """P(won within ``horizon_days`` | open at ``stage``, aged ``age_days``), vectorised.

        Uses the curves learned in :meth:`fit` (and this model's ``conditioning``). Unknown
        stages (no closed deal in their cohort) give NaN.
        """
        self.check_fitted()
        codes = np.atleast_1d(self.stages_.codes(pd.Series(np.atleast_1d(stage), dtype=object)))
        if (codes < 0).any() or (codes >= self.stages_.k).any():
            bad = np.atleast_1d(stage)[(codes < 0) | (codes >= self.stages_.k)][0]
            raise PipesheetError(
                "not an open stage",
                table="stages",
                value=bad,
                expected="one of " + ", ".join(self.stages_.open),
            )
        age = np.broadcast_to(np.asarray(age_days, dtype=np.int64), codes.shape)
        horizon = np.broadcast_to(np.asarray(horizon_days, dtype=np.int64), codes.shape)
        if (age < 0).any() or (horizon < 0).any():
            raise PipesheetError(
                "ages and horizons must be whole numbers of days ≥ 0",
                table="settings",
                expected="age_days ≥ 0 and horizon_days ≥ 0",
            )
        p, _, _, _ = self._apply(codes, age, horizon)
        return p

    # ---- internals (also used by the backtest and calibration) ---------------------------------
    def _fit_tables(self, tables: LoadedTables, *, forecast_range: bool = True) -> None:
        """Fit on tables read once: the window, the curves as of D, the deals open on D and
        their probabilities, the forecast (and its range), the per-stage table."""
        notes = list(tables.notes)
        as_of_day, end_day = self._window(tables.arrays, tables.hist.name, notes)
        states = deal_states(tables.arrays, as_of_day)
        self._learn_curves(tables, states, as_of_day)
        frame, beyond, long_open, currency = self._open_deals(
            tables, states, as_of_day, end_day, notes
        )
        self._conclude(
            frame, beyond, long_open, currency, as_of_day, end_day, notes, forecast_range
        )

    def _conclude(
        self, frame, beyond, long_open, currency, as_of_day, end_day, notes, forecast_range=True
    ) -> None:
        """The forecast, its range, the curves and the per-stage table from the open deals."""
        self._note_unknown(frame, beyond, long_open, notes)
        ok = frame["probability"].notna() & frame["amount"].notna()
        forecast = float(frame.loc[ok, "weighted"].sum())
        pipeline = float(frame.loc[ok, "amount"].sum())
        rng = None
        if forecast_range:
            rng = self._range(
                frame.loc[ok, "amount"].to_numpy(), frame.loc[ok, "probability"].to_numpy(), notes
            )
        self.curves_ = self._curve_frame(self._curves)
        table = self._stage_table(frame, self._curves)
        self.as_of_ = day_timestamp(as_of_day)
        self.period_end_ = day_timestamp(end_day)
        self.deals_ = frame
        self.forecast_ = forecast
        self.range_ = rng
        self.table_ = table
        self.notes_ = notes
        self.result_ = TimeAwareResult(
            deals=frame,
            forecast=forecast,
            pipeline=pipeline,
            range=rng,
            table=table,
            as_of=self.as_of_,
            period_end=self.period_end_,
            conditioning=self.conditioning,
            currency=currency,
            notes=notes,
        )

    def _fit_summaries(self, history: Any, deals: Any) -> None:
        """:meth:`fit` on frames of another engine (:mod:`pipesheet.summaries`): the visits are
        counted there by (stage, stay, time, outcome), the deals open on D and their amounts
        come back, the curves and the forecast are finished here exactly as for pandas."""
        from pipesheet import summaries as sm
        from pipesheet.columns import mapping_only, mapping_without
        from pipesheet.history import HistoryArrays, LoadedTables
        from pipesheet.tables import read_deals

        if history is None or not sm.foreign_frame(history):
            raise PipesheetError(
                "a deals table on another engine needs its stage history on that engine too",
                table="history",
                value=type(history).__name__,
                expected=f"the history as a {sm.backend_of(deals)} frame (or both as pandas)",
            )
        hist = sm.lazy_history(
            history,
            stages=self.stages,
            columns=mapping_only(self.columns, ("deal_id", "stage", "entered_date", "amount")),
            order_by=self.order_by,
        )
        notes = list(hist.notes)
        lazy = None
        if deals is not None:
            if not sm.foreign_frame(deals) or sm.backend_of(deals) != hist.backend:
                raise PipesheetError(
                    "the deals table and the history must be frames of the same engine",
                    table="deals",
                    value=sm.backend_of(deals),
                    expected=f"a {hist.backend} frame, like the history",
                )
            lazy = sm.lazy_deals(
                deals, stages=hist.stages, columns=mapping_without(self.columns, ("entered_date",))
            )
            sm.check_history_in_deals(hist, lazy)
        as_of_day, end_day = self._window_days(
            hist.day_min,
            hist.day_max,
            lambda day: sm.rows_from(hist, hist.cut(day)),
            hist.name,
            notes,
        )
        v = sm.visit_counts(hist, as_of_day, by_start=self.half_life is not None)
        k = hist.stages.k
        weights = None
        if v.start is not None:
            weights = recency_weights(v.start, as_of_day, self.half_life, v.count)
        curves = _curves(
            v.stage,
            v.stay,
            v.time,
            v.outcome,
            k,
            int(self.bin_days),
            int(self.min_at_risk),
            weights=weights,
            counts=v.count,
        )
        self.stages_ = hist.stages
        self._curves = curves
        with np.errstate(invalid="ignore", divide="ignore"):
            self._p_stage = np.where(
                curves.known,
                curves.cohort[:, 0] / (curves.cohort[:, 0] + curves.cohort[:, 1]),
                np.nan,
            )
        n = len(v.open_ids)
        extras = v.extras
        day = np.full(n, as_of_day, dtype=np.int64)
        arrays = HistoryArrays(
            ids=v.open_ids,
            deal=np.arange(n),
            code=v.open_code,
            day=day,
            row=np.arange(n),
            amount=extras.get("amount"),
            close=extras.get("close_date"),
            k=k,
        )
        deal_table, open_without = None, None
        if lazy is not None:
            raw = sm.deals_of(lazy, v.opened)
            try:
                deal_table = read_deals(raw, stages=hist.stages, columns=lazy.columns)
            except PipesheetError as err:
                raise sm.without_rows(err, raw, lazy) from err
            open_without = sm.deals_without_history(hist, lazy, None, open_only=True)
        tables = LoadedTables(hist, deal_table, arrays, notes)  # type: ignore[arg-type]
        open_codes = np.arange(n)
        codes = v.open_code
        age = as_of_day - v.open_entry
        horizon = np.full(n, end_day - as_of_day, dtype=np.int64)
        prob, eventual, beyond, long_open = self._apply(codes, age, horizon)
        try:
            amount, close, index, currency = self._amounts(
                tables, arrays, open_codes, as_of_day, notes, open_without
            )
        except PipesheetError as err:
            if lazy is None:
                raise
            raise sm.without_rows(err, raw, lazy) from err
        if lazy is None:
            index = pd.RangeIndex(n)
        frame = pd.DataFrame(
            {
                "deal_id": v.open_ids,
                "stage": np.asarray(self.stages_.open, dtype=object)[codes],
                "entered_stage": pd.to_datetime(v.open_entry.astype("datetime64[D]")),
                "age_days": age.astype(np.int64),
                "amount": amount,
                "close_date": close,
                "stage_probability": self._p_stage[codes],
                "win_probability": eventual,
                "probability": prob,
            },
            index=index,
        )
        frame["weighted"] = frame["amount"] * frame["probability"]
        if len(frame):
            order = np.argsort(frame.index.to_numpy(), kind="stable")
            frame, beyond, long_open = frame.iloc[order], beyond[order], long_open[order]
        self._conclude(frame, beyond, long_open, currency, as_of_day, end_day, notes)

    def _window(self, a: HistoryArrays, table: str, notes: list[str]) -> tuple[int, int]:
        """The day numbers of D (the setting, else the latest history date) and of the period
        end; the history rows after D are counted in a note (they are not used)."""
        return self._window_days(
            int(a.day.min()), int(a.day.max()), lambda d: int((a.day > d).sum()), table, notes
        )

    def _window_days(self, first: int, latest: int, later_rows, table: str, notes: list[str]):
        """:meth:`_window` from the first and latest history days and a count of the rows
        after a day."""
        as_of_day = day_number(self.as_of)
        if as_of_day is None:
            as_of_day = latest
            notes.append(
                f"as of {day_timestamp(as_of_day).date()} (the latest date in the history)"
            )
        if as_of_day < first:
            raise PipesheetError(
                "no history on or before the as-of date",
                table=table,
                value=str(day_timestamp(as_of_day).date()),
                expected="an as-of date after the first history row",
            )
        end_day = window_end_day(self.period_end, as_of_day, self.fiscal_year_start, notes)
        later = later_rows(as_of_day)
        if later:
            notes.append(
                f"as of {day_timestamp(as_of_day).date()}: {later} later history row(s) not used"
            )
        return as_of_day, end_day

    def _learn_curves(self, tables: LoadedTables, states: DealStates, as_of_day: int) -> None:
        """The competing-risks curves of each stage's cohort as known on D, and p_s."""
        a = tables.arrays
        stage, stay, time, outcome, start = _visits(a, states, as_of_day)
        curves = _curves(
            stage,
            stay,
            time,
            outcome,
            a.k,
            int(self.bin_days),
            int(self.min_at_risk),
            weights=recency_weights(start, as_of_day, self.half_life),
        )
        self.stages_ = tables.hist.stages
        self._curves = curves
        with np.errstate(invalid="ignore", divide="ignore"):
            self._p_stage = np.where(
                curves.known,
                curves.cohort[:, 0] / (curves.cohort[:, 0] + curves.cohort[:, 1]),
                np.nan,
            )

    def _open_deals(
        self, tables: LoadedTables, states: DealStates, as_of_day: int, end_day: int, notes
    ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, str | None]:
        """The pipeline on D: one row per open deal with its age, amount and probabilities
        (see :class:`TimeAwareResult`); also which deals reach beyond the observed range and
        which are long-open (aligned with the frame's rows), and the reporting currency."""
        a = tables.arrays
        open_codes = np.flatnonzero((states.code >= 0) & (states.code < a.k))
        codes = states.code[open_codes]
        age = as_of_day - states.entry[open_codes]
        horizon = np.full(len(codes), end_day - as_of_day, dtype=np.int64)
        prob, eventual, beyond, long_open = self._apply(codes, age, horizon)
        amount, close, index, currency = self._amounts(tables, a, open_codes, as_of_day, notes)
        frame = pd.DataFrame(
            {
                "deal_id": a.ids[open_codes],
                "stage": np.asarray(self.stages_.open, dtype=object)[codes],
                "entered_stage": pd.to_datetime(states.entry[open_codes].astype("datetime64[D]")),
                "age_days": age.astype(np.int64),
                "amount": amount,
                "close_date": close,
                "stage_probability": self._p_stage[codes],
                "win_probability": eventual,
                "probability": prob,
            },
            index=index,
        )
        frame["weighted"] = frame["amount"] * frame["probability"]
        if len(frame):
            order = np.argsort(frame.index.to_numpy(), kind="stable")
            frame, beyond, long_open = frame.iloc[order], beyond[order], long_open[order]
        return frame, beyond, long_open, currency

    def _note_unknown(
        self, frame: pd.DataFrame, beyond: np.ndarray, long_open: np.ndarray, notes: list[str]
    ) -> None:
        """Say which open deals have no probability, which are long-open and what they got, and
        which reach past the observed range."""
        unknown = frame["probability"].isna()
        if unknown.any():
            names = sorted(set(frame.loc[unknown, "stage"]), key=self.stages_.open.index)
            notes.append(
                f"{int(unknown.sum())} open deal(s) at stage(s) with no closed deal in their "
                f"history ({', '.join(names)}): probability unknown, left out of the forecast "
                f"(pipeline {frame.loc[unknown, 'amount'].sum():,.0f})"
            )
        if long_open.any():
            notes.append(_long_open_note(frame, long_open, self.stages_.open))
        if beyond.any():
            notes.append(
                f"{int(beyond.sum())} deal(s) reach beyond the longest time observed in their "
                "stage within the period: the hazards there are held at their late-stage average"
            )

    def _apply(
        self, codes: np.ndarray, age: np.ndarray, horizon: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        c = self._curves
        within, eventual, beyond, long_open = _probabilities(c, codes, age, horizon)
        if self.conditioning == "stage":
            p_s = self._p_stage[codes]
            with np.errstate(invalid="ignore", divide="ignore"):
                timing = np.where(eventual > 0, within / eventual, 0.0)
            within = p_s * timing
            eventual = p_s.copy()
        unknown = ~c.known[codes]
        within = np.where(unknown, np.nan, within)
        eventual = np.where(unknown, np.nan, eventual)
        return within, eventual, beyond & ~unknown & ~long_open, long_open & ~unknown

    def _amounts(
        self,
        tables: LoadedTables,
        a: HistoryArrays,
        open_codes,
        as_of_day,
        notes,
        open_without: int | None = None,
    ):
        n = len(open_codes)
        amount = np.full(n, np.nan)
        close = np.full(n, np.datetime64("NaT", "ns"))
        index = pd.RangeIndex(n)
        currency = self.currency
        rate = None
        if tables.deals is not None:
            deal_table = tables.deals
            lookup = pd.Series(np.arange(len(deal_table.frame)), index=deal_table.frame["deal_id"])
            pos = lookup.reindex(a.ids[open_codes]).to_numpy()
            scope = np.zeros(len(deal_table.frame), dtype=bool)
            scope[pos] = True  # the deals open on D: their amounts are the forecast's
            if a.amount is not None:  # …unless the history recorded one by D
                hist_known = ~np.isnan(
                    latest_values(a, a.amount, as_of_day, np.isnan(a.amount))[open_codes]
                )
                scope[pos[hist_known]] = False
            choice = blank_amounts_choice(self.blank_amounts)
            _, note = blank_amount_rows(
                deal_table.frame,
                choice,
                table=deal_table.name,
                column=deal_table.columns.get("amount", "amount"),
                scope=scope,
            )
            if note:
                notes.append(note)
            values, currency = reporting_amounts(
                deal_table, self.rates, self.currency, blank_amounts=choice, scope=scope
            )
            rate = deal_rates(deal_table, self.rates, self.currency)[0][pos]
            amount = values[pos]
            close = deal_table.frame["close_date"].to_numpy(dtype="datetime64[ns]")[pos]
            index = pd.Index(deal_table.frame.index.to_numpy()[pos], name="row")
            without = ~deal_table.frame["deal_id"].isin(pd.Index(a.ids)).to_numpy()
            n_without = int((without & (deal_table.frame["code"] < a.k).to_numpy()).sum())
            if open_without is not None:  # the summary path counts them on its engine
                n_without = open_without
            if n_without:
                notes.append(
                    f"{n_without} open deal(s) in the deals table have no history "
                    "row and are not forecast (their age is unknown)"
                )
        if a.amount is not None:
            hist_amount = latest_values(a, a.amount, as_of_day, np.isnan(a.amount))[open_codes]
            have = ~np.isnan(hist_amount)
            hist_amount = history_in_reporting_currency(hist_amount, rate, self.rates, tables)
            amount = np.where(have, hist_amount, amount)
            notes.append(
                f"amounts as recorded in the history on or before {day_timestamp(as_of_day).date()}"
                f" ({int(have.sum())} of {n} deals; the rest as currently recorded)"
            )
        elif tables.deals is not None:
            notes.append("amounts as currently recorded in the deals table")
        else:
            notes.append("no deals table and no amounts in the history: probabilities only")
        if a.close is not None:
            hist_close = latest_values(a, a.close, as_of_day, np.isnat(a.close))[open_codes]
            close = np.where(np.isnat(hist_close), close, hist_close)
        return amount, close, index, currency

    def _range(self, amounts: np.ndarray, probabilities: np.ndarray, notes: list[str]):
        try:
            from pipesheet.ranges import forecast_range
        except ImportError:  # pragma: no cover - until pipesheet.ranges lands
            notes.append("forecast range unavailable: pipesheet.ranges is not installed")
            return None
        return forecast_range(
            amounts,
            probabilities,
            quota=self.quota,
            range_method=self.range_method,
            draws=self.draws,
            seed=self.seed,
        )

    def _stage_table(self, frame: pd.DataFrame, c: _Curves) -> pd.DataFrame:
        k = self.stages_.k
        curves = self.curves_
        half = curves[curves["survival_end"] <= 0.5].groupby("stage", sort=False)["day_to"].min()
        median = pd.Series(list(self.stages_.open)).map(half).to_numpy(dtype=float)
        _, eventual, _, _ = _probabilities(c, np.arange(k), np.full(k, -1), np.zeros(k, np.int64))
        grouped = frame.groupby("stage", sort=False)
        stats = pd.DataFrame(
            {
                "open_deals": grouped.size(),
                "pipeline": grouped["amount"].sum(),
                "forecast": grouped["weighted"].sum(),
            }
        ).reindex(list(self.stages_.open))
        table = pd.DataFrame(
            {
                "stage": list(self.stages_.open),
                "cohort": c.cohort.sum(axis=1).astype(int),
                "won": c.cohort[:, 0].astype(int),
                "lost": c.cohort[:, 1].astype(int),
                "censored": c.cohort[:, 2].astype(int),
                "stage_probability": self._p_stage,
                "eventual_win": np.where(c.known, eventual, np.nan),
                "median_days_to_close": np.where(c.known, median, np.nan),
                "open_deals": stats["open_deals"].fillna(0).astype(int).to_numpy(),
                "pipeline": stats["pipeline"].fillna(0.0).to_numpy(),
                "forecast": stats["forecast"].fillna(0.0).to_numpy(),
            }
        )
        return table

    def _curve_frame(self, c: _Curves) -> pd.DataFrame:
        k = self.stages_.k
        b = c.bin_days
        expo, won, lost = c.exposure[:, 0], c.won[:, 0], c.lost[:, 0]
        nb = expo.shape[1]
        with np.errstate(invalid="ignore", divide="ignore"):
            hw = np.where(expo > 0, won / expo, 0.0)
            hl = np.where(expo > 0, lost / expo, 0.0)
        ht = np.clip(hw + hl, 0, 1)
        keep_bin = (1 - ht) ** b  # still open through a whole bin
        surv = np.concatenate([np.ones((k, 1)), np.cumprod(keep_bin, axis=1)], axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            share_w = np.where(ht > 0, hw / ht, 0.0)
            share_l = np.where(ht > 0, hl / ht, 0.0)
        closed = surv[:, :-1] * (1 - keep_bin)
        out = pd.DataFrame(
            {
                "stage": np.repeat(np.asarray(self.stages_.open, dtype=object), nb),
                "day_from": np.tile(np.arange(nb) * b, k),
                "day_to": np.tile(np.arange(nb) * b + b - 1, k),
                "at_risk": (expo / b).ravel(),
                "won": won.ravel().astype(int),
                "lost": lost.ravel().astype(int),
                "hazard_won": hw.ravel(),
                "hazard_lost": hl.ravel(),
                "survival": surv[:, :-1].ravel(),
                "survival_end": surv[:, 1:].ravel(),
                "cumulative_won": np.cumsum(closed * share_w, axis=1).ravel(),
                "cumulative_lost": np.cumsum(closed * share_l, axis=1).ravel(),
            }
        )
        return out[out["at_risk"] > 0].reset_index(drop=True)

    def _check_params(self) -> None:
        if self.conditioning not in CONDITIONING:
            raise PipesheetError(
                "unknown conditioning",
                table="settings",
                column="conditioning",
                value=self.conditioning,
                expected="'age' (default) or 'stage'",
            )
        if self.half_life is not None and (
            isinstance(self.half_life, bool)
            or not isinstance(self.half_life, (int, float, np.integer, np.floating))
            or not np.isfinite(self.half_life)
            or self.half_life <= 0
        ):
            raise PipesheetError(
                "half_life must be a number of days above 0 (or blank: every visit counts "
                "the same)",
                table="settings",
                column="half_life",
                value=self.half_life,
                expected="e.g. 365 (a visit a year old counts half as much as one today)",
            )
        if (
            isinstance(self.bin_days, bool)
            or not isinstance(self.bin_days, (int, np.integer))
            or self.bin_days < 1
        ):
            raise PipesheetError(
                "bin_days must be a whole number of days ≥ 1",
                table="settings",
                column="bin_days",
                value=self.bin_days,
                expected="e.g. 7 (a week) or 1 (no pooling)",
            )


def time_aware_forecast(
    history: Any,
    deals: Any,
    period_end: Any = "quarter",
    as_of: Any = None,
    **options: Any,
) -> TimeAwareResult:
    """Time-aware period forecast: Σ amount × P(won by ``period_end`` | stage, age).

    Args:
        history: Stage history table (or :class:`~pipesheet.tables.History`).
        deals: Deals table (amounts, currency), or None to use the history's amounts.
        period_end: A date, or ``"month"`` / ``"quarter"`` / ``"year"`` (the end of the period
            containing ``as_of``).
        as_of: Forecast date (default: the latest date in the history).
        **options: Any :class:`TimeAwareForecast` setting (``conditioning``, ``bin_days``,
            ``quota``, ``rates``, ``currency``, ``stages``, ``columns``…).

    Returns:
        A :class:`TimeAwareResult` (per-deal probabilities, forecast, range, per-stage table).
    """
    model = TimeAwareForecast(as_of=as_of, period_end=period_end, **options)
    return model.fit(history, deals).result_
