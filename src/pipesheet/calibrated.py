"""The calibrated forecast: the time-aware forecast corrected by its own past errors.

A forecast is only as good as its record. On the as-of date D, for the window (D, E], pipesheet
first **backtests itself on the history before D**: it goes back one fiscal quarter at a time
(``step_months``) to the dates c_j = D − j quarters, rebuilds the pipeline of c_j from the history
known then, forecasts the window (c_j, e_j] of the same length and the same place in the quarter
(e_j = E − j quarters, so quarter-end pushes line up), and compares with what was won in it —
only windows that ended by D, so nothing after D is used. That gives n past periods with the
model's forecast F_j, its own variance V_j, and the actual A_j.

**Errors on the log scale.** e_j = log(A_j / F_j) (a forecast twice too high and one half too
low are equally wrong). Periods where nothing was forecast or won are left out (noted).

**Which model.** The time-aware model is fitted with each ``half_lives`` candidate (None: every
past visit counts the same; 365: a year-old visit counts half), and the one whose errors are the
most predictable — the smallest leave-one-out squared error of e_j around the mean of the others
— is kept (recency helps when win rates drift; it costs noise when they don't).

**Correction (bias).** b = Σ w_j e_j / Σ w_j with recency weights w_j = 0.5^((D − c_j) /
``recency``): the calibrated forecast is F · e^b, where F is the model's forecast on D.

**Range.** The revenue of the window is modelled as R = X · e^Z:

* X = Σ amount_d · Bernoulli(p_d): the deals' own coin flips (exact or lattice, see
  :func:`pipesheet.ranges.forecast_range`) — the part that depends on how many and how large
  the deals are now (a few very large deals make it lumpy);
* Z = b + s_Z · T, T ~ Student t with n − 1 degrees of freedom: what moves many deals at once.
  s_Z² = σ_c² + v_p + s²/n_eff, where σ_c² = max(0, s² − mean(V_j / F_j²)) is the common-shock
  variance left in the past errors once their coin-flip part is taken out (s² = the weighted
  variance of e_j, n/(n − 1) corrected), v_p the relative variance the forecast gets from the
  uncertainty of the learned stage probabilities (Beta posteriors with the Jeffreys prior), and
  s²/n_eff the uncertainty of b itself (n_eff = (Σw)²/Σw²).

So the range is honestly wider when few past periods exist (t quantiles, s²/n_eff), when the past
errors were large, and when the pipeline is lumpy. P10/P50/P90 and P(≥ quota) = P(closed so far
+ R ≥ quota) are computed from the mixture P(R ≤ x) = E_T[P(X ≤ x·e^−Z)] (quadrature over 401
quantiles of T). With fewer than ``min_periods`` usable past periods there is nothing to calibrate
on: the result is the model's forecast with its coin-flip and parameter range, and says so.

Per deal, the calibrated probability is min(1, p_d · e^b).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.base import Estimator, Result, plain_number, signed_number
from pipesheet.errors import PipesheetError
from pipesheet.formats import format_number, format_percent
from pipesheet.headings import headings
from pipesheet.history import LoadedTables, deal_states, load_tables
from pipesheet.i18n import N_, _
from pipesheet.periods import (
    PERIOD_WORDS,
    day_number,
    day_timestamp,
    period_bounds,
    window_end_day,
)
from pipesheet.pricing import reporting_amounts
from pipesheet.stages import StageList
from pipesheet.tables import blank_amounts_choice
from pipesheet.timeaware import TimeAwareForecast

__all__ = ["CalibratedForecast", "CalibratedResult", "calibrated_forecast"]

EVIDENCE_COLUMNS = (
    "as_of",
    "period_end",
    "forecast",
    "actual",
    "error",
    "log_error",
    "model_sd",
    "weight",
)
_T_NODES = 401


@dataclass(repr=False)
class CalibratedResult(Result):
    """A calibrated forecast and the evidence it rests on.

    Attributes:
        forecast: The calibrated forecast F · e^b (the model's when not calibrated).
        model_forecast: The time-aware model's forecast F on the as-of date.
        p10, p50, p90: Quantiles of the calibrated range (revenue won in the window).
        quota, p_quota: The quota asked about and P(closed so far + range ≥ quota).
        closed: Revenue already won in the period before the window ("closed so far").
        bias: b, the mean log error of the past periods (F · e^b is the forecast).
        spread: s_Z, the standard deviation of the common shock Z.
        periods: Number of past periods the calibration rests on.
        method: What was done, in words (in the language spoken when it was fitted).
        half_life: The time-aware model's half-life chosen (None: all history weighs the same).
        evidence: One row per past period (:data:`EVIDENCE_COLUMNS`).
        deals: The open deals with the model's probability and the calibrated one.
        as_of, period_end: The window (as_of, period_end].
        currency: Reporting currency, when known.
        notes: What the user should know.
        correction: The correction of the past errors applied — ``"mean"`` or ``"trend"`` —
            None when not calibrated.
    """

    forecast: float
    model_forecast: float
    p10: float
    p50: float
    p90: float
    quota: float | None
    p_quota: float | None
    closed: float
    bias: float
    spread: float
    periods: int
    method: str
    half_life: float | None
    evidence: pd.DataFrame
    deals: pd.DataFrame
    as_of: pd.Timestamp
    period_end: pd.Timestamp
    currency: str | None = None
    notes: list[str] = field(default_factory=list)
    correction: str | None = None

    @property
    def calibrated(self) -> bool:
        """True when the forecast was corrected by past periods."""
        return self.periods > 0 and self.correction is not None

    def to_frame(self) -> pd.DataFrame:
        """One row: method, as_of, period_end, model_forecast, forecast, p10, p50, p90, quota,
        p_quota, periods, bias_factor (e^b), spread."""
        return pd.DataFrame(
            [
                {
                    "method": self.method,
                    "as_of": self.as_of,
                    "period_end": self.period_end,
                    "model_forecast": self.model_forecast,
                    "forecast": self.forecast,
                    "p10": self.p10,
                    "p50": self.p50,
                    "p90": self.p90,
                    "quota": self.quota,
                    "p_quota": self.p_quota,
                    "periods": self.periods,
                    "bias_factor": float(np.exp(self.bias)),
                    "spread": self.spread,
                }
            ]
        )

    def __str__(self) -> str:
        """The forecast as pipesheet prints it: the number, its range, the method, the evidence."""
        cur = f" {self.currency}" if self.currency else ""
        lines = [
            _(
                "Calibrated forecast {as_of} → {period_end}: {forecast}{currency} "
                "(time-aware model {model_forecast})"
            ).format(
                as_of=self.as_of.date(),
                period_end=self.period_end.date(),
                forecast=format_number(self.forecast),
                currency=cur,
                model_forecast=format_number(self.model_forecast),
            ),
            f"P10 {format_number(self.p10)}, P50 {format_number(self.p50)}, "
            f"P90 {format_number(self.p90)}"
            + (
                "; " + _("closed so far {closed}").format(closed=format_number(self.closed))
                if self.closed
                else ""
            )
            + (
                f"; P(≥ {format_number(self.quota)}) = {format_percent(self.p_quota, 1)}"
                if self.quota is not None and self.p_quota is not None
                else ""
            ),
            _("method: {method}").format(method=self.method),
        ]
        if len(self.evidence):
            ev = self.evidence.copy()
            shown = pd.DataFrame(
                {
                    "as_of": ev["as_of"].dt.date,
                    "period_end": ev["period_end"].dt.date,
                    "forecast": ev["forecast"].map(format_number),
                    "actual": ev["actual"].map(format_number),
                    "error": ev["error"].map(_signed_percent),
                    "weight": ev["weight"].map(lambda v: format_number(v, 2)),
                }
            )
            shown.columns = headings(shown.columns)
            lines += [_("past periods:"), *shown.to_string(index=False).splitlines()]
        lines += [_("note: {note}").format(note=n) for n in self.notes]
        return "\n".join(lines)

    def _figures(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "period_end": self.period_end,
            "forecast": self.forecast,
            "p10": self.p10,
            "p90": self.p90,
            "currency": self.currency,
            "periods": self.periods,
            "calibrated": self.calibrated,
        }


def _signed_percent(share: float) -> str:
    """``f"{share * 100:+.1f}%"`` in the language spoken."""
    return signed_number(share * 100, 1) + "%"


def _shift(day: int, months: int) -> int:
    """The day ``months`` months earlier, keeping a month's last day its last day."""
    ts = day_timestamp(day)
    month_end = ts == ts + pd.offsets.MonthEnd(0)
    out = ts - pd.DateOffset(months=months)
    if month_end:
        out = out + pd.offsets.MonthEnd(0)
    return int(out.to_datetime64().astype("datetime64[D]").astype(np.int64))


def _model_variance(frame: pd.DataFrame, model: TimeAwareForecast | None) -> tuple[float, float]:
    """(coin-flip variance Σ a²p(1−p), variance from the learned stage probabilities) of a
    forecast over ``frame``'s deals. The second (0 without the model): per stage s,
    (Σ_{d at s} a·p)² · (1 − p̂)/(p̂ (W + L + 2)), the relative variance of a Beta(W + ½, L + ½)
    posterior mean p̂."""
    ok = frame["probability"].notna() & frame["amount"].notna()
    a = frame.loc[ok, "amount"].to_numpy(dtype=float)
    p = frame.loc[ok, "probability"].to_numpy(dtype=float)
    coin = float(np.sum(a * a * p * (1 - p)))
    if model is None:
        return coin, 0.0
    cohort = model._curves.cohort
    w, lost = cohort[:, 0], cohort[:, 1]
    p_hat = (w + 0.5) / (w + lost + 1.0)
    rel = (1.0 - p_hat) / (p_hat * (w + lost + 2.0))
    stage = frame.loc[ok, "stage"].to_numpy()
    per_stage = pd.Series(a * p).groupby(stage).sum()
    codes = {name: i for i, name in enumerate(model.stages_.open)}
    param = float(sum(v * v * rel[codes[s]] for s, v in per_stage.items()))
    return coin, param


class CalibratedForecast(Estimator):
    """The time-aware forecast, calibrated by its own backtests on the history before as-of.

    scikit-learn style: configure in the constructor, :meth:`fit`, read the ``*_`` attributes.

    Args:
        stages: Stage list (inferred from the history when not given).
        as_of: Forecast date D (default: the latest date in the history).
        period_end: "month", "quarter" (default) or "year" — the end of that period containing
            D — or a date: the forecast covers (D, period_end].
        fiscal_year_start: First month of the fiscal year.
        quota: Quota for P(closed so far + revenue ≥ quota).
        half_lives: Candidate half-lives (days) of the time-aware model, None meaning no decay;
            the one with the most predictable past errors is used.
        recency: Half-life (days) of the weights of past periods' errors.
        step_months: Months between past periods (3: the same place in each fiscal quarter).
        min_periods: Past periods needed to calibrate (fewer: the model's forecast, said so).
        warmup_days: Days of history needed before the first past period.
        conditioning, bin_days, min_at_risk: Settings of the time-aware model.
        rates, currency, blank_amounts, columns: As for :class:`TimeAwareForecast`.

    Attributes (after ``fit``): ``forecast_``, ``p10_``, ``p50_``, ``p90_``, ``p_quota_``,
    ``model_forecast_``, ``bias_``, ``spread_``, ``periods_``, ``method_``, ``half_life_``,
    ``evidence_``, ``deals_``, ``notes_``, ``result_`` (a :class:`CalibratedResult`).
    """

    def __init__(
        self,
        *,
        stages: StageList | None = None,
        as_of: Any = None,
        period_end: Any = "quarter",
        fiscal_year_start: int = 1,
        quota: float | None = None,
        half_lives: tuple[float | None, ...] = (None, 365.0),
        recency: float = 365.0,
        step_months: int = 3,
        min_periods: int = 4,
        warmup_days: int = 180,
        conditioning: str = "age",
        bin_days: int = 7,
        min_at_risk: int = 10,
        rates: pd.DataFrame | Mapping[str, float] | None = None,
        currency: str | None = None,
        blank_amounts: str = "error",
        columns: Mapping[str, str] | None = None,
    ) -> None:
        self.stages = stages
        self.as_of = as_of
        self.period_end = period_end
        self.fiscal_year_start = fiscal_year_start
        self.quota = quota
        self.half_lives = half_lives
        self.recency = recency
        self.step_months = step_months
        self.min_periods = min_periods
        self.warmup_days = warmup_days
        self.conditioning = conditioning
        self.bin_days = bin_days
        self.min_at_risk = min_at_risk
        self.rates = rates
        self.currency = currency
        self.blank_amounts = blank_amounts
        self.columns = columns

    _unfitted = N_("the calibrated forecast has not been fitted yet")

    # ---- public ------------------------------------------------------------------------------
    def fit(self, history: Any, deals: Any = None) -> CalibratedForecast:
        """Backtest the time-aware model on the history before as-of, then forecast and
        calibrate (see the module docstring)."""
        return self.fit_loaded(load_tables(history, deals, self.stages, self.columns))

    def fit_loaded(self, tables: LoadedTables, *, cache: dict | None = None) -> CalibratedForecast:
        """:meth:`fit` on tables read once; ``cache`` (a dict) keeps the model fits of past
        periods so that forecasts on several as-of dates share them."""
        self._check_params()
        cache = {} if cache is None else cache
        a = tables.arrays
        notes: list[str] = []
        first_day, last_day = int(a.day.min()), int(a.day.max())
        d_day = day_number(self.as_of)
        if d_day is None:
            d_day = last_day
            notes.append(
                _("as of {date} (the latest date in the history)").format(
                    date=day_timestamp(d_day).date()
                )
            )
        e_day = window_end_day(self.period_end, d_day, self.fiscal_year_start, notes)
        windows = self._past_windows(d_day, e_day, first_day)
        variants = self._variants(tables)
        fits = {v: [self._past(tables, c, e, v, cache) for c, e in windows] for v in variants}
        usable = {v: [f for f in rows if f is not None] for v, rows in fits.items()}
        best, correction = self._choose(usable, d_day)
        evidence = self._evidence(usable[best], d_day)
        model = self._model(tables, d_day, e_day, best[0], cache)
        frame = self._deals(tables, d_day, e_day, best, cache)
        self._finish(
            model, frame, evidence, best, correction, len(windows), notes, tables, d_day, e_day
        )
        return self

    # ---- steps -------------------------------------------------------------------------------
    def _past_windows(self, d_day: int, e_day: int, first_day: int) -> list[tuple[int, int]]:
        """(c_j, e_j): the window shifted back j·step_months months, ended by D, with enough
        history before it."""
        out = []
        for j in range(1, 1000):
            c, e = _shift(d_day, j * self.step_months), _shift(e_day, j * self.step_months)
            if c < first_day + self.warmup_days:
                break
            if e <= d_day:
                out.append((c, e))
        return out

    def _model(
        self, tables: LoadedTables, c: int, e: int, half_life: float | None, cache: dict
    ) -> TimeAwareForecast:
        key = ("model", c, e, half_life)
        if key not in cache:
            model = TimeAwareForecast(
                stages=tables.hist.stages,
                as_of=day_timestamp(c),
                period_end=day_timestamp(e),
                conditioning=self.conditioning,
                bin_days=self.bin_days,
                min_at_risk=self.min_at_risk,
                half_life=half_life,
                rates=self.rates,
                currency=self.currency,
                blank_amounts=self.blank_amounts,
            )
            cache[key] = model.fit_loaded(tables, forecast_range=False)
        return cache[key]

    def _variants(self, tables: LoadedTables) -> list[tuple[float | None, bool]]:
        """(half-life, by owner) of each model tried: every half-life candidate, with and
        without the owners' own win rates when the deals table names owners."""
        owners = tables.deals is not None and "owner" in tables.deals.frame
        return [(h, o) for h in self.half_lives for o in ((False, True) if owners else (False,))]

    def _deals(
        self, tables: LoadedTables, c: int, e: int, variant: tuple[float | None, bool], cache: dict
    ) -> pd.DataFrame:
        """The open deals on c with the variant's probability of being won by e."""
        key = ("deals", c, e, variant)
        if key not in cache:
            model = self._model(tables, c, e, variant[0], cache)
            frame = model.deals_
            if variant[1]:
                frame = _by_owner(frame, tables, model, c)
            cache[key] = frame
        return cache[key]

    def _past(
        self, tables: LoadedTables, c: int, e: int, variant: tuple[float | None, bool], cache: dict
    ) -> dict | None:
        """The model's forecast of (c, e] with what was known on c, and what was won in it."""
        key = ("past", c, e, variant)
        if key in cache:
            return cache[key]
        frame = self._deals(tables, c, e, variant, cache)
        ok = frame["probability"].notna() & frame["amount"].notna()
        forecast = float(frame.loc[ok, "weighted"].sum())
        a = tables.arrays
        won_ids = set(
            a.ids[(deal_states(a, e).code == a.k) & _open_on(a, c)]
        )  # won in (c, e] from the pipeline of c
        won = frame["deal_id"].isin(won_ids).to_numpy()
        actual = float(frame.loc[won & frame["amount"].notna().to_numpy(), "amount"].sum())
        coin, _param = _model_variance(frame, None)
        out = None
        if forecast > 0 and actual > 0:
            out = {
                "c": c,
                "e": e,
                "forecast": forecast,
                "actual": actual,
                "v": coin / forecast**2,
            }
        cache[key] = out
        return out

    def _choose(self, usable: dict, d_day: int) -> tuple[tuple, _Correction | None]:
        """The model variant and the correction to use.

        The default — the first variant (all history weighs the same, the team's rates) with the
        mean correction — is kept unless another predicts the past periods clearly better:
        its leave-one-out squared errors lower on average by more than one standard error of
        the paired difference (a small sample of noisy periods makes most differences luck)."""
        fits: dict[tuple, tuple[_Correction, np.ndarray]] = {}
        for variant, rows in usable.items():
            if len(rows) < self.min_periods:
                continue
            c = np.array([r["c"] for r in rows], dtype=float)
            e = np.log([r["actual"] / r["forecast"] for r in rows])
            w = self._weights(c, d_day)
            for kind in CORRECTIONS:
                fit = _correction(kind, (c - d_day) / 365.0, e, w)
                if fit is not None:
                    fits[(variant, kind)] = (fit, w)
        default = (next(iter(usable)), CORRECTIONS[0])
        if default not in fits:
            return default[0], None
        base, w = fits[default]
        best, gain = default, 0.0
        for key, (fit, _w) in fits.items():
            if key == default or len(fit.misses) != len(base.misses):
                continue
            d = fit.misses**2 - base.misses**2
            mean = float(np.sum(w * d) / np.sum(w))
            se = float(np.sqrt(np.sum(w**2 * (d - mean) ** 2)) / np.sum(w))
            if mean < -se and mean < gain:
                best, gain = key, mean
        return best[0], fits[best][0]

    def _weights(self, cutoffs: np.ndarray, d_day: int) -> np.ndarray:
        return np.exp2(-(d_day - cutoffs.astype(float)) / float(self.recency))

    def _evidence(self, rows: list[dict], d_day: int) -> pd.DataFrame:
        if not rows:
            return pd.DataFrame(columns=list(EVIDENCE_COLUMNS))
        c = np.array([r["c"] for r in rows])
        forecast = np.array([r["forecast"] for r in rows])
        actual = np.array([r["actual"] for r in rows])
        return pd.DataFrame(
            {
                "as_of": [day_timestamp(x) for x in c],
                "period_end": [day_timestamp(r["e"]) for r in rows],
                "forecast": forecast,
                "actual": actual,
                "error": forecast / actual - 1.0,
                "log_error": np.log(actual / forecast),
                "model_sd": np.sqrt([r["v"] for r in rows]),
                "weight": self._weights(c, d_day),
            }
        )

    def _finish(
        self,
        model: TimeAwareForecast,
        frame: pd.DataFrame,
        evidence: pd.DataFrame,
        variant: tuple[float | None, bool],
        correction: _Correction | None,
        windows: int,
        notes: list[str],
        tables: LoadedTables,
        d_day: int,
        e_day: int,
    ) -> None:
        from pipesheet.ranges import forecast_range

        notes = [*notes, *[n for n in model.notes_ if n not in notes]]
        half_life, by_owner = variant
        ok = (frame["probability"].notna() & frame["amount"].notna()).to_numpy()
        amounts = frame["amount"].to_numpy(dtype=float)[ok]
        probs = frame["probability"].to_numpy(dtype=float)[ok]
        forecast = float(np.sum(amounts * probs))
        _coin, param = _model_variance(frame, model)
        closed = _closed_so_far(
            tables, d_day, e_day, self.period_end, self.fiscal_year_start, model
        )
        n = len(evidence)
        dropped = windows - n
        if dropped:
            notes.append(
                _(
                    "{count} past period(s) left out of the calibration: nothing was forecast or "
                    "won in them"
                ).format(count=dropped)
            )
        coins = forecast_range(amounts, probs)
        v_param = param / forecast**2 if forecast > 0 else 0.0
        if correction is not None:
            w = evidence["weight"].to_numpy()
            v_past = float(np.sum(w * evidence["model_sd"].to_numpy() ** 2) / np.sum(w))
            # the common shock left once the past periods' coin flips are taken out, and the
            # uncertainty of the correction itself
            common = max(0.0, correction.s2 - v_past) + correction.b_var
            b, df = correction.b, correction.df
            spread = float(np.sqrt(common + v_param))
            decay = (
                _("all history weighs the same")
                if half_life is None
                else _("half-life {days} days").format(days=plain_number(half_life))
            )
            if by_owner:
                decay += "; " + _("each owner's own win rate")
            factor = format_number(np.exp(b), 3)
            what = {
                "mean": _("forecast × {factor} (its mean error, shrunk by its noise)"),
                "trend": _("forecast × {factor} (the trend of its errors, shrunk by its noise)"),
            }[correction.kind].format(factor=factor)
            if b == 0.0:
                what = _("no correction (its past errors show no bias beyond their noise)")
            method = _(
                "calibrated time-aware: {what} over {periods} past periods, range widened by "
                "their spread ({decay})"
            ).format(what=what, periods=n, decay=decay)
        else:
            b, spread, df = 0.0, float(np.sqrt(v_param)), None
            method = _(
                "time-aware, not calibrated: {periods} usable past period(s), {needed} needed "
                "(the range holds the deals' coin flips and the uncertainty of the learned "
                "probabilities only: likely too narrow)"
            ).format(periods=n, needed=self.min_periods)
        shocks = _shock_nodes(b, spread, df)
        p10, p50, p90 = _mixture_quantiles(coins, shocks, (0.1, 0.5, 0.9))
        p_quota = None
        if self.quota is not None:
            need = float(self.quota) - closed
            p_quota = float(1.0 - _mixture_cdf(coins, shocks, np.array([need]))[0])
            if need <= 0:
                p_quota = 1.0
        deals = frame.copy()
        deals["calibrated_probability"] = np.minimum(1.0, deals["probability"] * np.exp(b))
        currency = model.result_.currency
        result = CalibratedResult(
            forecast=forecast * float(np.exp(b)),
            model_forecast=forecast,
            p10=p10,
            p50=p50,
            p90=p90,
            quota=None if self.quota is None else float(self.quota),
            p_quota=p_quota,
            closed=closed,
            bias=b,
            spread=spread,
            periods=n,
            method=method,
            half_life=half_life,
            evidence=evidence,
            deals=deals,
            as_of=day_timestamp(d_day),
            period_end=day_timestamp(e_day),
            currency=currency,
            notes=notes,
            correction=None if correction is None else correction.kind,
        )
        self.result_ = result
        self.model_ = model
        self.forecast_, self.model_forecast_ = result.forecast, forecast
        self.p10_, self.p50_, self.p90_, self.p_quota_ = p10, p50, p90, p_quota
        self.bias_, self.spread_, self.periods_ = b, spread, n
        self.method_, self.half_life_, self.by_owner_ = method, half_life, by_owner
        self.evidence_, self.deals_, self.notes_ = evidence, deals, notes

    def _check_params(self) -> None:
        for name in ("recency", "warmup_days", "step_months", "min_periods"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise PipesheetError(
                    _("{name} must be a number").format(name=name),
                    table="settings",
                    column=name,
                    value=value,
                )
            if value <= 0 and name != "warmup_days":
                raise PipesheetError(
                    _("{name} must be above 0").format(name=name),
                    table="settings",
                    column=name,
                    value=value,
                )
        if not self.half_lives:
            raise PipesheetError(
                _("at least one half-life candidate is needed"),
                table="settings",
                column="half_lives",
                expected=_("e.g. (None, 365)"),
            )
        blank_amounts_choice(self.blank_amounts)
        if self.quota is not None:
            try:
                finite = math.isfinite(float(self.quota)) and not isinstance(self.quota, bool)
            except (TypeError, ValueError):
                finite = False
            if not finite:
                raise PipesheetError(
                    _("quota is not a finite number"),
                    table="settings",
                    column="quota",
                    value=self.quota,
                    expected=_("a number, e.g. 1000000"),
                )


CORRECTIONS = ("mean", "trend")
#: How hard a correction is shrunk toward none: b·max(0, 1 − SHRINK·var(b)/b²); with 3 a bias
#: is corrected only beyond about 1.7 standard errors, and then only in part.
SHRINK = 3.0


@dataclass(frozen=True)
class _Correction:
    """A correction of the log errors: ``b`` is the log error predicted on the as-of date
    (shrunk toward 0 by its own uncertainty), ``s2`` the variance of the errors around the fit,
    ``b_var`` the variance of ``b``'s estimate, ``loo`` the weighted mean squared leave-one-out
    error (what predicting a past period from the others missed by), ``df`` the degrees of
    freedom left."""

    kind: str
    b: float
    s2: float
    b_var: float
    loo: float
    df: int
    misses: np.ndarray = field(repr=False, compare=False)


def _fit(
    kind: str, t: np.ndarray, e: np.ndarray, w: np.ndarray, at: float
) -> tuple[float, float, float]:
    """(prediction at ``at``, residual variance, variance of the prediction) of a weighted mean
    or a weighted straight line through (t, e), the prediction shrunk toward 0 by its
    uncertainty (positive-part: b·max(0, 1 − var(b)/b²), so a bias within its noise is not
    corrected)."""
    n = len(e)
    x = np.ones((n, 1)) if kind == "mean" else np.stack([np.ones_like(t), t], axis=1)
    sw = np.sqrt(w)
    beta, *_ = np.linalg.lstsq(x * sw[:, None], e * sw, rcond=None)
    resid = e - x @ beta
    params = x.shape[1]
    s2 = float(np.sum(w * resid**2) / np.sum(w) * n / max(n - params, 1))
    xtwx = np.linalg.pinv((x * w[:, None]).T @ x)
    cov = xtwx @ ((x * (w**2)[:, None]).T @ x) @ xtwx * s2  # sandwich: weights are not 1/var
    x0 = np.array([1.0] if kind == "mean" else [1.0, at])
    pred = float(x0 @ beta)
    var = float(x0 @ cov @ x0)
    shrink = max(0.0, 1.0 - SHRINK * var / pred**2) if pred != 0 else 0.0
    return pred * shrink, s2, var


def _correction(kind: str, t: np.ndarray, e: np.ndarray, w: np.ndarray) -> _Correction | None:
    """Fit one correction kind; None when too few periods for it (n − parameters < 2)."""
    n = len(e)
    params = {"mean": 1, "trend": 2}[kind]
    if n - params < 2:
        return None
    every = np.arange(n)
    misses = np.array(
        [e[j] - _fit(kind, t[every != j], e[every != j], w[every != j], t[j])[0] for j in every]
    )
    loo = float(np.sum(w * misses**2) / np.sum(w))
    b, s2, b_var = _fit(kind, t, e, w, 0.0)
    return _Correction(kind, b, s2, b_var, loo, n - params, misses)


#: Prior standard deviation (log-odds) of an owner's shift from the team: shrinks owners with
#: few closed deals toward the team.
OWNER_PRIOR_SD = 0.5


def _by_owner(
    frame: pd.DataFrame, tables: LoadedTables, model: TimeAwareForecast, c: int
) -> pd.DataFrame:
    """The deals with each owner's own win rate: a log-odds shift θ_o learned from the owner's
    deals closed by c — y = won, against the team's probability p of the first stage each
    entered — by a penalised logistic fit (prior N(0, OWNER_PRIOR_SD²): few closed deals, little
    shift). A deal's eventual probability E becomes E' = σ(logit E + θ_o) and its probability
    in the window p·E'/E."""
    a = tables.arrays
    deals = tables.deals.frame
    owner_of = pd.Series(deals["owner"].to_numpy(), index=deals["deal_id"].to_numpy())
    st = deal_states(a, c)
    width = a.k + 2
    deal = st.first_keys // width
    stage = st.first_keys % width
    open_stage = stage < a.k
    first = pd.DataFrame({"deal": deal[open_stage], "stage": stage[open_stage]})
    first = first.groupby("deal", sort=False)["stage"].min()  # the first stage it entered
    closed = (st.code[first.index] >= a.k) & (st.code[first.index] >= 0)
    idx = first.index.to_numpy()[closed]
    p = model._p_stage[first.to_numpy()[closed]]
    y = (st.code[idx] == a.k).astype(float)
    owners = owner_of.reindex(a.ids[idx]).to_numpy()
    keep = ~np.isnan(p) & pd.notna(owners) & (p > 0) & (p < 1)
    codes, names = pd.factorize(owners[keep])
    z = np.log(p[keep] / (1 - p[keep]))
    y = y[keep]
    theta = np.zeros(len(names))
    prior = 1.0 / OWNER_PRIOR_SD**2
    for _step in range(25):  # Newton steps on each owner's one parameter, all owners at once
        q = 1.0 / (1.0 + np.exp(-(z + theta[codes])))
        grad = np.bincount(codes, y - q, len(names)) - prior * theta
        hess = np.bincount(codes, q * (1 - q), len(names)) + prior
        theta = theta + grad / hess
    shift = pd.Series(theta, index=names).reindex(owner_of.reindex(frame["deal_id"]).to_numpy())
    t = np.nan_to_num(shift.to_numpy(dtype=float))
    out = frame.copy()
    e = out["win_probability"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        e_new = 1.0 / (1.0 + np.exp(-(np.log(e / (1 - e)) + t)))
        ratio = np.where(e > 0, e_new / e, 1.0)
    out["probability"] = np.minimum(out["probability"].to_numpy(dtype=float) * ratio, e_new)
    out["win_probability"] = np.where(np.isnan(e), e, e_new)
    out["weighted"] = out["amount"] * out["probability"]
    return out


def _open_on(a: Any, day: int) -> np.ndarray:
    code = deal_states(a, day).code
    return (code >= 0) & (code < a.k)


def _closed_so_far(
    tables: LoadedTables,
    d_day: int,
    e_day: int,
    period_end: Any,
    fys: int,
    model: TimeAwareForecast,
) -> float:
    """Revenue won from the start of the window's period (the named period — "month",
    "quarter", "year" — that ends on E) through D; 0 when that period starts after D (as-of on
    the last day of the previous one) or for an explicit end date."""
    if not (isinstance(period_end, str) and period_end.strip().casefold() in PERIOD_WORDS):
        return 0.0
    start, _end = period_bounds(day_timestamp(e_day), period_end.strip().casefold(), fys)
    s_day = int(start.to_datetime64().astype("datetime64[D]").astype(np.int64)) - 1
    if s_day >= d_day:
        return 0.0
    a = tables.arrays
    won = (deal_states(a, d_day).code == a.k) & (deal_states(a, s_day).code != a.k)
    if not won.any() or tables.deals is None:
        return 0.0
    amounts, _cur = reporting_amounts(
        tables.deals, model.rates, model.currency, blank_amounts="zero"
    )
    by_id = pd.Series(amounts, index=tables.deals.frame["deal_id"].to_numpy())
    return float(np.nansum(by_id.reindex(a.ids[won]).to_numpy(dtype=float)))


def _shock_nodes(b: float, spread: float, df: int | None) -> np.ndarray:
    """Z = b + spread·T at 401 equally likely quantiles of T (Student t with ``df`` degrees of
    freedom; normal when ``df`` is None)."""
    from scipy.special import ndtri, stdtrit

    levels = (np.arange(_T_NODES) + 0.5) / _T_NODES
    t = ndtri(levels) if df is None else stdtrit(df, levels)
    return b + spread * t


def _mixture_cdf(coins: Any, shocks: np.ndarray, x: np.ndarray) -> np.ndarray:
    """P(X · e^Z ≤ x) = mean over the shock nodes of P(X ≤ x · e^−Z)."""
    with np.errstate(over="ignore"):  # a quota near 1e308 scales to inf: P(X ≤ inf) = 1
        scaled = np.asarray(x, dtype=float)[:, None] * np.exp(-shocks)[None, :]
    return np.asarray(coins.cdf(scaled.ravel()), dtype=float).reshape(scaled.shape).mean(axis=1)


def _mixture_quantiles(coins: Any, shocks: np.ndarray, levels: tuple[float, ...]) -> list[float]:
    """min{x : P(R ≤ x) ≥ q} by bisection on x (60 halvings: far below a cent)."""
    if coins.mean <= 0:
        return [0.0 for _ in levels]
    hi = float(coins.quantile(0.999999) * np.exp(shocks.max())) + 1.0
    lo_arr = np.zeros(len(levels))
    hi_arr = np.full(len(levels), hi)
    q = np.asarray(levels)
    for _step in range(60):
        mid = (lo_arr + hi_arr) / 2
        below = _mixture_cdf(coins, shocks, mid) < q
        lo_arr = np.where(below, mid, lo_arr)
        hi_arr = np.where(below, hi_arr, mid)
    return [float(v) for v in hi_arr]


def calibrated_forecast(
    history: Any, deals: Any = None, period_end: Any = "quarter", **options: Any
) -> CalibratedResult:
    """:class:`CalibratedForecast` ``(period_end=…, **options).fit(history, deals).result_``."""
    return CalibratedForecast(period_end=period_end, **options).fit(history, deals).result_
