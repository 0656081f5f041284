"""Backtest: how good would the forecast have been? Rewind the history, forecast, compare.

For each period P = [start_i, end_i] (consecutive months or quarters from ``start``) the as-of date
is D = the day before the period starts, and only history rows dated on or before D are used:

* **Pipeline on D**: every deal whose latest history row on or before D is an open stage, at that
  stage. Amounts: from the history (latest amount on or before D) when the history has an amount
  column, otherwise the amounts *as currently recorded* in the deals table (a deal's amount may have
  changed since D; the notes say which was used). Expected close dates likewise (the history's
  close date column when there is one, else the deals table's current one).
* **Time-aware forecast**: Σ amount × P(won by end_i | stage, age on D), with the curves learned
  from the history up to D (:class:`~pipesheet.timeaware.TimeAwareForecast`).
* **Weighted-pipeline forecast** (the naive one): Σ amount × p_stage over the open deals whose
  expected close date falls in P, with p_stage learned by
  ``StageProbabilities(as_of=D)`` (cohort method) — with deals in several pipelines, each deal
  at its own pipeline's p_stage (:mod:`pipesheet.pipelines`).
* **Calibrated forecast**: :class:`~pipesheet.calibrated.CalibratedForecast` on D for the window
  (D, end_i] — the time-aware forecast corrected by its own backtests on the history before D
  (nothing after D), with its range. It needs ``min_periods`` (4) usable past periods before D;
  with fewer it is blank for that period (the ``note`` says why). The periods share the model
  fits (one cache for the whole backtest).
* **Recommended forecast** (the wide table's ``forecast``, ``p10``, ``p50``, ``p90``,
  ``error``, ``method``): the calibrated forecast when it rests on enough past periods, else
  the time-aware one — what pipesheet would have told the user on D.
* **Ranges**: P10/P50/P90 of each method — the time-aware and the weighted pipeline: the deals'
  coin flips (:func:`pipesheet.ranges.forecast_range` of the same deals and probabilities); the
  calibrated one: its calibrated range. **P10–P90 coverage** (``in_range_share``) = the share
  of the periods a method forecast whose actual fell within its P10–P90 (80% is what the range
  promises; periods where nothing was won count too).
* **Actual**: Σ amount of the deals *won during P*: not Won on D and Won at the end of P. With
  ``actual="pipeline"`` (default) only deals open on D count — what a pipeline forecast can
  predict; new deals created and won inside P are shown apart (``won_new``). With
  ``actual="all"`` they are included (total bookings).
* **Error** = forecast / actual − 1 (NaN when nothing was won). Over the periods:
  MAPE = mean |error|, bias = mean error (> 0: the method over-forecasts), and the total error
  Σ forecast / Σ actual − 1 (over the periods the method could forecast).
* **Unscorable periods.** A method cannot forecast a period when there is no history on or before
  D, or when none of the deals it should forecast has a learned probability (no closed deal
  before D at their stages). Its forecast is then blank (not 0, which would score −100%), the
  ``note`` column says why, and the period is left out of that method's MAPE, bias and totals.
* **Currencies.** Every money figure is in the reporting currency: the deals table's amounts and
  the history's (which are in each deal's currency, the deals table's) are converted with
  ``rates``; a currency without a rate is refused, naming it.
* **Blank amounts** (``blank_amounts``): they matter on the deals the backtest prices — open on
  some D or won during a period — unless the history recorded the amount; "skip" / "zero" are
  counted in a note (see :func:`pipesheet.pricing.price_deals`).

Look-ahead: the time-aware forecast uses nothing after D. The weighted-pipeline forecast needs
expected close dates as they were on D; without a close-date column in the history it uses the
current ones, and CRMs usually overwrite a closed deal's expected close date with its actual close
date — which flatters the naive method. The notes count the deals where that is visible.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.base import Result, note_is
from pipesheet.errors import PipesheetError
from pipesheet.headings import method_name
from pipesheet.history import (
    DealStates,
    LoadedTables,
    deal_states,
    history_in_reporting_currency,
    latest_values,
    load_tables,
)
from pipesheet.i18n import _
from pipesheet.periods import day_timestamp, period_windows, within_days
from pipesheet.pricing import deal_rates, reporting_amounts
from pipesheet.probabilities import StageProbabilities
from pipesheet.stages import StageList, stage_key
from pipesheet.tables import blank_amount_rows, blank_amounts_choice
from pipesheet.timeaware import TimeAwareForecast

__all__ = ["METHODS", "BacktestResult", "backtest", "method_name"]

METHODS = ("time-aware", "weighted pipeline", "calibrated")
#: The short names of the methods in the wide table's columns (``forecast_time_aware``…).
TAGS = {"time-aware": "time_aware", "weighted pipeline": "weighted", "calibrated": "calibrated"}
TABLE_COLUMNS = (
    "period",
    "period_start",
    "period_end",
    "as_of",
    "method",
    "open_deals",
    "pipeline",
    "forecast",
    "p10",
    "p50",
    "p90",
    "actual",
    "won_deals",
    "won_new",
    "error",
    "abs_error",
    "note",
)
SUMMARY_COLUMNS = (
    "method",
    "periods",
    "mape",
    "bias",
    "total_forecast",
    "total_actual",
    "total_error",
    "in_range_share",
    "unscored",
)
#: The wide table's columns of the recommended forecast (after each method's own).
RECOMMENDED_COLUMNS = ("forecast", "p10", "p50", "p90", "error", "method")
PREDICTION_COLUMNS = (
    "period",
    "deal_id",
    "stage",
    "age_days",
    "amount",
    "close_date",
    "stage_probability",
    "in_period",
    "time_aware_probability",
    "calibrated_probability",
    "won",
)


@dataclass(repr=False)
class BacktestResult(Result):
    """The backtest, per period and per method.

    Attributes:
        table: Tidy, one row per (period, method): ``period``, ``period_start``, ``period_end``,
            ``as_of``, ``method`` (``"time-aware"`` / ``"weighted pipeline"`` /
            ``"calibrated"``), ``open_deals`` (deals the method counted), ``pipeline`` (their Σ
            amount), ``forecast``, ``p10``, ``p50``, ``p90`` (its range), ``actual``,
            ``won_deals``, ``won_new`` (won in the period by deals not open on D, not in
            ``actual`` unless ``actual="all"``), ``error`` = forecast/actual − 1, ``abs_error``,
            ``note`` (why a forecast is blank or an error undefined; "" otherwise).
        summary: One row per method, then ``"recommended"``: ``periods`` (scored: forecast
            known and actual > 0), ``mape``, ``bias``, ``total_forecast``, ``total_actual``,
            ``total_error`` (over the periods the method could forecast), ``in_range_share``
            (its P10–P90 coverage: the share of the periods it forecast whose actual fell
            within its P10–P90; 80% is what a range promises), ``unscored``
            (periods it could not forecast).
        predictions: One row per (period, deal open on D): ``period``, ``deal_id``, ``stage``,
            ``age_days``, ``amount``, ``close_date``, ``stage_probability`` (naive p),
            ``in_period`` (its expected close date falls in the period),
            ``time_aware_probability``, ``calibrated_probability`` (blank when not calibrated),
            ``won`` (won during the period).
        best: The method with the lowest MAPE among those scored on the most periods (None
            when no period has an actual).
        actual_basis: ``"pipeline"`` or ``"all"``.
        notes: What the user should know.
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    predictions: pd.DataFrame
    best: str | None
    actual_basis: str
    currency: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """The tidy table: one row per (period, method) (see :attr:`table`)."""
        return self.table.copy()

    def _figures(self) -> dict[str, Any]:
        return {
            "periods": int(self.table["period"].nunique()),
            "best": self.best,
            "actual_basis": self.actual_basis,
            "currency": self.currency,
        }

    @property
    def wide(self) -> pd.DataFrame:
        """One row per period: ``period``, ``period_start``, ``period_end``, ``as_of``,
        ``actual``; each method's ``forecast_<m>`` and ``error_<m>`` (m = ``time_aware``,
        ``weighted``, ``calibrated``); then the recommended forecast — ``forecast``, ``p10``,
        ``p50``, ``p90``, ``error`` and ``method`` (``"calibrated"`` when the calibrated
        forecast rests on enough past periods, else ``"time-aware"``; blank when neither could
        forecast) — and the period's ``note``."""
        return _wide(self.table)


def _wide(t: pd.DataFrame) -> pd.DataFrame:
    base = t[t["method"] == METHODS[0]][
        ["period", "period_start", "period_end", "as_of", "actual"]
    ].reset_index(drop=True)
    said = {}
    parts = {}
    for method in METHODS:
        part = t[t["method"] == method].reset_index(drop=True)
        parts[method] = part
        base[f"forecast_{TAGS[method]}"] = part["forecast"]
        base[f"error_{TAGS[method]}"] = part["error"]
        said[method] = part["note"].fillna("").astype(str).tolist()
    calibrated, time_aware = parts["calibrated"], parts["time-aware"]
    use = calibrated["forecast"].notna().to_numpy()
    for col in ("forecast", "p10", "p50", "p90", "error"):
        base[col] = np.where(use, calibrated[col], time_aware[col]).astype(float)
    known = base["forecast"].notna().to_numpy()
    base["method"] = np.where(use, "calibrated", np.where(known, "time-aware", ""))
    base["note"] = [_period_note(*group) for group in zip(*said.values(), strict=True)]
    return base


def backtest(
    history: Any,
    deals: Any,
    start: Any,
    periods: int = 4,
    period: str = "month",
    *,
    actual: str = "pipeline",
    fiscal_year_start: int = 1,
    conditioning: str = "age",
    bin_days: int = 7,
    min_at_risk: int = 10,
    rates: pd.DataFrame | Mapping[str, float] | None = None,
    currency: str | None = None,
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
    blank_amounts: str = "error",
) -> BacktestResult:
    """Backtest the time-aware, the weighted-pipeline and the calibrated forecasts over past
    periods, and the recommended one (see the module docstring).

    Args:
        history: Stage history (deal id, stage, date entered; optional amount, close date).
        deals: Deals table (amounts, expected close dates, currency), or None when the history
            carries amounts and close dates.
        start: First day of the first period (e.g. ``"2026-01-01"``).
        periods: Number of consecutive periods.
        period: ``"month"`` or ``"quarter"`` (quarters of a fiscal year starting in
            ``fiscal_year_start``).
        actual: ``"pipeline"`` (default: won from deals open on D) or ``"all"`` (every deal won
            in the period).
        conditioning, bin_days, min_at_risk: Settings of the time-aware model.
        rates, currency: Currency conversion when deals mix currencies: every money figure —
            the deals table's amounts and the history's — is converted.
        stages, columns: Stage list and column mapping.
        blank_amounts: "error" (default), "skip" or "zero" (see the module docstring).

    Returns:
        A :class:`BacktestResult` (``.table``, ``.summary``, ``.wide`` with the recommended
        forecast, ``.predictions``).

    Raises:
        PipesheetError: bad settings, or a period that ends after the history does (its actual
            is not known yet).
    """
    if actual not in ("pipeline", "all"):
        raise PipesheetError(
            _("unknown actual basis"),
            table="settings",
            column="actual",
            value=actual,
            expected=_("'pipeline' (won from the pipeline open on the as-of date) or 'all'"),
        )
    choice = blank_amounts_choice(blank_amounts)
    windows = period_windows(start, periods, period, fiscal_year_start)
    tables = load_tables(history, deals, stages, columns)
    notes: list[str] = [n for n in tables.notes]
    _check_history_covers(windows, tables)
    days = [(_day(p_start) - 1, _day(p_end)) for _, p_start, p_end in windows]
    amount_now, cur, rate_now = _current_amounts(tables, rates, currency, choice, days, notes)
    settings = {
        "conditioning": conditioning,
        "bin_days": bin_days,
        "min_at_risk": min_at_risk,
        "rates": rates,
        "currency": currency,
        "blank_amounts": choice,
    }
    calibrated = {"stages": tables.hist.stages, "fiscal_year_start": fiscal_year_start}
    cache: dict = {}  # the calibrated forecasts' model fits, shared by the periods
    rows: list[dict[str, Any]] = []
    preds: list[pd.DataFrame] = []
    for window, (d_day, end_day) in zip(windows, days, strict=True):
        # a loop over periods; everything inside is vectorised
        won = _won_in_period(tables, amount_now, rate_now, rates, d_day, end_day, actual)
        period_row = {
            "period": window[0],
            "period_start": window[1],
            "period_end": window[2],
            "as_of": day_timestamp(d_day),
            **won.figures,
        }
        if d_day < int(tables.arrays.day.min()):  # nothing known on D: neither can forecast
            why = _("no history on or before {date}").format(date=period_row["as_of"].date())
            rows += [_row(period_row, method, 0, 0.0, _BLANK, why) for method in METHODS]
            continue
        period_rows, pred = _forecast_period(
            tables, period_row, won, settings, notes, {**settings, **calibrated}, cache
        )
        rows += period_rows
        preds.append(pred)
    table = _scored_table(rows, notes)
    summary = _summary(table)
    best = None
    methods = summary[summary["method"].isin(METHODS) & summary["mape"].notna()]
    if len(methods):  # compared on the same periods: those scored on the most
        methods = methods[methods["periods"] == methods["periods"].max()]
        best = str(methods.loc[methods["mape"].idxmin(), "method"])
    _note_amounts(tables, cur, notes)
    return BacktestResult(
        table=table,
        summary=summary,
        predictions=(
            pd.concat(preds, ignore_index=True)
            if preds
            else pd.DataFrame(columns=list(PREDICTION_COLUMNS))
        ),
        best=best,
        actual_basis=actual,
        currency=cur,
        notes=notes,
    )


def _check_history_covers(windows: list, tables: LoadedTables) -> None:
    """Refuse a period that ends after the history does: what was won in it is not known."""
    last_day = day_timestamp(int(tables.arrays.day.max()))
    if windows[-1][2] > last_day:
        late = next(w for w in windows if w[2] > last_day)
        raise PipesheetError(
            _(
                "period {period} ends after the history does (last date {last}): what was won "
                "in it is not known yet"
            ).format(period=late[0], last=last_day.date()),
            table=tables.hist.name,
            column="start",
            value=str(windows[0][1].date()),
            expected=_("periods that end on or before {last}").format(last=last_day.date()),
        )


@dataclass
class _Won:
    """What was won in a period: the deals won from the pipeline open on D (``from_pipeline``),
    the states at the period's end, and the period's ``actual``, ``won_deals``, ``won_new``."""

    from_pipeline: np.ndarray
    at_end: DealStates
    figures: dict[str, Any]


def _won_in_period(
    tables: LoadedTables,
    amount_now: np.ndarray,
    rate_now: np.ndarray | None,
    rates: Any,
    d_day: int,
    end_day: int,
    actual: str,
) -> _Won:
    """The actual of the period (d_day, end_day]: won from the pipeline open on D, plus (with
    ``actual="all"``) the deals won that were not open on D."""
    a = tables.arrays
    st_d, st_end = deal_states(a, d_day), deal_states(a, end_day)
    won = (st_end.code == a.k) & (st_d.code != a.k)
    from_pipeline = won & (st_d.code >= 0) & (st_d.code < a.k)
    won_amount = _won_amounts(a, amount_now, rate_now, end_day, rates, tables)
    actual_pipe = float(np.nansum(won_amount[from_pipeline]))
    new = won & ~from_pipeline
    actual_new = float(np.nansum(won_amount[new]))
    figures = {
        "actual": actual_pipe + (actual_new if actual == "all" else 0.0),
        "won_deals": int(from_pipeline.sum() + (new.sum() if actual == "all" else 0)),
        "won_new": actual_new,
    }
    return _Won(from_pipeline, st_end, figures)


def _forecast_period(
    tables: LoadedTables,
    period_row: dict[str, Any],
    won: _Won,
    settings: dict[str, Any],
    notes: list[str],
    calibrated: dict[str, Any],
    cache: dict,
) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """The forecasts of one period made on D: the time-aware one (fitted on the history known
    on D), the weighted pipeline (stage probabilities learned on D, deals expected to close in
    the period) and the calibrated one (the time-aware one corrected by its backtests before D),
    each with its range.  Returns the table's rows and the per-deal predictions."""
    from pipesheet.ranges import forecast_range

    a = tables.arrays
    label, p_start, p_end, as_of = (
        period_row[k] for k in ("period", "period_start", "period_end", "as_of")
    )
    model = TimeAwareForecast(as_of=as_of, period_end=p_end, **settings)
    model.fit_loaded(tables, forecast_range=False)
    frame = model.deals_
    for n in model.notes_:  # the model's notes, less those the backtest says once itself
        if note_is(n, "later history row") or note_is(n, "blank amount") or n in notes:
            continue
        notes.append(f"{label}: {n}" if note_is(n, "probability unknown") else n)
    several = tables.deals is not None and tables.deals.pipelines is not None
    naive = StageProbabilities(
        stages=tables.hist.stages,
        as_of=as_of,  # the whole day before the period
    ).fit(tables.hist, tables.deals if several else None)
    p_stage = naive.overall_.set_index("stage")["win_probability"]
    if several:  # each deal at its own pipeline's probability of its stage
        t = naive.table_
        p_stage = pd.Series(
            t["win_probability"].to_numpy(),
            index=pd.MultiIndex.from_arrays([t["pipeline_name"], t["stage"].map(stage_key)]),
        )
        of_deal = tables.deals.frame.set_index("deal_id")["pipeline"]
        key = pd.MultiIndex.from_arrays(
            [frame["deal_id"].map(of_deal), frame["stage"].map(stage_key)]
        )
        stage_p = p_stage.reindex(key).to_numpy(dtype=float)
    else:
        stage_p = frame["stage"].map(p_stage).to_numpy(dtype=float)
    close = frame["close_date"].to_numpy(dtype="datetime64[ns]")
    in_period = within_days(close, p_start, p_end)  # any time of the last day
    open_ids = pd.Index(a.ids)
    won_here = pd.Series(won.from_pipeline, index=open_ids).reindex(frame["deal_id"]).to_numpy()
    amount = frame["amount"].to_numpy(dtype=float)
    ta_p = frame["probability"].to_numpy(dtype=float)
    priced = ~np.isnan(amount)  # a blank amount skipped on purpose is not forecast
    ta_ok = ~np.isnan(ta_p) & priced
    nv_ok = in_period & ~np.isnan(stage_p) & priced
    unknown_naive = in_period & np.isnan(stage_p) & priced
    if unknown_naive.any() and nv_ok.any():
        notes.append(
            _(
                "{period}: {count} deal(s) at stages with no learned probability are left out "
                "of the weighted-pipeline forecast"
            ).format(period=label, count=int(unknown_naive.sum()))
        )
    if a.close is None and tables.deals is not None:
        _note_look_ahead(label, frame, a, won.at_end, in_period, notes)
    candidates = {METHODS[0]: priced, METHODS[1]: in_period & priced}
    learned = {  # did the method learn any probability by D?
        METHODS[0]: bool(np.isfinite(model._p_stage).any()),
        METHODS[1]: bool(p_stage.notna().any()),
    }
    forecasts = {
        METHODS[0]: (_Forecast.of(forecast_range, amount, ta_p, ta_ok), ta_ok),
        METHODS[1]: (_Forecast.of(forecast_range, amount, stage_p, nv_ok), nv_ok),
    }
    rows = []
    for method, (fc, used) in forecasts.items():
        why = ""
        if not learned[method] or (candidates[method].any() and not used.any()):
            # nothing learned to forecast with: a blank forecast, not a −100% error
            why = _("no learned probability on {date} for its deals' stages").format(
                date=as_of.date()
            )
            fc = _BLANK
        rows.append(_row(period_row, method, int(used.sum()), float(amount[used].sum()), fc, why))
    cal_p = np.full(len(frame), np.nan)
    if np.isnan(rows[0]["forecast"]):
        fc, why = _BLANK, rows[0]["note"]  # nothing for the calibration to correct
    else:
        fc, why, cal_p = _calibrated(tables, as_of, p_end, calibrated, cache, frame)
    rows.append(_row(period_row, METHODS[2], int(ta_ok.sum()), float(amount[ta_ok].sum()), fc, why))
    pred = pd.DataFrame(
        {
            "period": label,
            "deal_id": frame["deal_id"].to_numpy(),
            "stage": frame["stage"].to_numpy(),
            "age_days": frame["age_days"].to_numpy(),
            "amount": amount,
            "close_date": frame["close_date"].to_numpy(),
            "stage_probability": stage_p,
            "in_period": in_period,
            "time_aware_probability": ta_p,
            "calibrated_probability": cal_p,
            "won": won_here.astype(bool),
        }
    )
    return rows, pred


@dataclass(frozen=True)
class _Forecast:
    """A method's forecast of a period and its range."""

    value: float
    p10: float
    p50: float
    p90: float

    @staticmethod
    def of(forecast_range: Any, amount: np.ndarray, p: np.ndarray, used: np.ndarray) -> _Forecast:
        """Σ amount · p over ``used`` and the quantiles of Σ amount · Bernoulli(p)."""
        if not used.any():
            return _Forecast(0.0, 0.0, 0.0, 0.0)
        rng = forecast_range(amount[used], p[used])
        return _Forecast(float(np.sum(amount[used] * p[used])), rng.p10, rng.p50, rng.p90)


_BLANK = _Forecast(np.nan, np.nan, np.nan, np.nan)


def _calibrated(
    tables: LoadedTables,
    as_of: pd.Timestamp,
    p_end: pd.Timestamp,
    settings: dict[str, Any],
    cache: dict,
    frame: pd.DataFrame,
) -> tuple[_Forecast, str, np.ndarray]:
    """The calibrated forecast of (D, period end] and its range, why it is blank (too few past
    periods before D), and each deal's calibrated probability (aligned with ``frame``)."""
    from pipesheet.calibrated import CalibratedForecast

    model = CalibratedForecast(as_of=as_of, period_end=p_end, **settings)
    res = model.fit_loaded(tables, cache=cache).result_
    if not res.calibrated:
        why = _("too few past periods before it to calibrate on ({needed} needed)").format(
            needed=model.min_periods
        )
        return _BLANK, why, np.full(len(frame), np.nan)
    by_id = res.deals.set_index("deal_id")["calibrated_probability"]
    cal_p = by_id.reindex(frame["deal_id"]).to_numpy(dtype=float)
    return _Forecast(res.forecast, res.p10, res.p50, res.p90), "", cal_p


def _scored_table(rows: list[dict[str, Any]], notes: list[str]) -> pd.DataFrame:
    """The tidy table, with why a period has no error (nothing won, or no forecast) noted."""
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    empty = (table["actual"] <= 0) & table["forecast"].notna()
    table.loc[empty & (table["note"] == ""), "note"] = _("nothing was won: error undefined")
    if empty.any():
        notes.append(
            _(
                "nothing was won in {periods}: error undefined there, left out of MAPE and bias"
            ).format(periods=", ".join(sorted(set(table.loc[empty, "period"]))))
        )
    unscored = table[table["forecast"].isna()]
    for method, part in unscored.groupby("method", sort=False):
        reasons = "; ".join(dict.fromkeys(part["note"]))
        notes.append(
            _(
                "{method}: {periods} not scored ({reasons}): left out of its MAPE, bias and totals"
            ).format(method=method_name(method), periods=", ".join(part["period"]), reasons=reasons)
        )
    return table


def _note_amounts(tables: LoadedTables, cur: str | None, notes: list[str]) -> None:
    """Say where the amounts came from."""
    a = tables.arrays
    if tables.deals is not None and a.amount is None:
        notes.append(_("amounts as currently recorded in the deals table (the history has none)"))
    elif a.amount is not None and tables.deals is not None and "currency" in tables.deals.frame:
        notes.append(
            _(
                "amounts recorded in the history are in each deal's currency; they are converted "
                "into {currency} like the deals table's"
            ).format(currency=cur)
        )


def _day(when: pd.Timestamp) -> int:
    return int(np.datetime64(when, "D").astype(np.int64))


def _row(
    period: dict, method: str, n: int, pipeline: float, forecast: _Forecast, note: str
) -> dict:
    """One (period, method) row: error = forecast / actual − 1 (NaN when either is unknown)."""
    actual = period["actual"]
    known = actual > 0 and not np.isnan(forecast.value)
    err = forecast.value / actual - 1.0 if known else np.nan
    return {
        **period,
        "method": method,
        "open_deals": n,
        "pipeline": pipeline,
        "forecast": float(forecast.value),
        "p10": float(forecast.p10),
        "p50": float(forecast.p50),
        "p90": float(forecast.p90),
        "error": err,
        "abs_error": abs(err),
        "note": note,
    }


def _period_note(*notes: str) -> str:
    """One period's note from its methods' notes ("time-aware: …; weighted pipeline: …", or the
    reason once when every method shares it)."""
    said = {m: n for m, n in zip(METHODS, notes, strict=True) if n}
    if len(set(said.values())) == 1 and len(said) == len(METHODS):
        return next(iter(said.values()))
    return "; ".join(f"{method_name(m)}: {n}" for m, n in said.items())


def _measures(part: pd.DataFrame, method: str) -> dict[str, Any]:
    """MAPE, bias, totals and P10–P90 coverage of one method's rows (``forecast``, ``p10``,
    ``p90``, ``actual``, ``error``)."""
    ok = part["error"].notna()
    known = part["forecast"].notna()  # the periods the method could forecast
    total_actual = float(part.loc[known, "actual"].sum())
    total_forecast = float(part.loc[known, "forecast"].sum())
    inside = (part["actual"] >= part["p10"]) & (part["actual"] <= part["p90"])
    return {
        "method": method,
        "periods": int(ok.sum()),
        "mape": float(part.loc[ok, "error"].abs().mean()) if ok.any() else np.nan,
        "bias": float(part.loc[ok, "error"].mean()) if ok.any() else np.nan,
        "total_forecast": total_forecast if known.any() else np.nan,
        "total_actual": total_actual,
        "total_error": total_forecast / total_actual - 1 if total_actual > 0 else np.nan,
        "in_range_share": float(inside[known].mean()) if known.any() else np.nan,
        "unscored": int((~known).sum()),
    }


def _summary(table: pd.DataFrame) -> pd.DataFrame:
    """One row per method, then the recommended forecast's."""
    out = [_measures(table[table["method"] == method], method) for method in METHODS]
    out.append(_measures(_wide(table), "recommended"))
    return pd.DataFrame(out, columns=list(SUMMARY_COLUMNS))


def _current_amounts(
    tables: LoadedTables,
    rates: Any,
    currency: str | None,
    choice: str,
    days: list[tuple[int, int]],
    notes: list[str],
) -> tuple[np.ndarray, str | None, np.ndarray | None]:
    """Per history deal: its current amount (reporting currency) from the deals table, or NaN,
    and its rate into the reporting currency (None without a deals table).

    The blank-amount choice applies to the deals the backtest prices — open on some as-of date
    or won during a period — whose amount the history did not record by then."""
    a = tables.arrays
    if tables.deals is None:
        if a.amount is None:
            raise PipesheetError(
                _("no amounts: give the deals table, or a history with an amount column"),
                table=tables.hist.name,
                expected=_("a deals table with deal id, stage and amount"),
            )
        return np.full(len(a.ids), np.nan), currency, None
    deal_table = tables.deals
    used = np.zeros(len(a.ids), dtype=bool)
    for d_day, end_day in days:
        at_d, at_end = deal_states(a, d_day).code, deal_states(a, end_day).code
        need = ((at_d >= 0) & (at_d < a.k)) | ((at_end == a.k) & (at_d != a.k))
        if a.amount is not None:  # the history's own amount, when recorded, is the one used
            by_d = latest_values(a, a.amount, d_day, np.isnan(a.amount))
            by_end = latest_values(a, a.amount, end_day, np.isnan(a.amount))
            need &= np.isnan(by_d) | np.isnan(by_end)
        used |= need
    lookup = pd.Series(np.arange(len(deal_table.frame)), index=deal_table.frame["deal_id"])
    scope = np.zeros(len(deal_table.frame), dtype=bool)
    scope[lookup.reindex(a.ids[used]).dropna().to_numpy(dtype=np.int64)] = True
    _blank, note = blank_amount_rows(
        deal_table.frame,
        choice,
        table=deal_table.name,
        column=deal_table.columns.get("amount", "amount"),
        scope=scope,
    )
    if note:
        notes.append(note)
    values, cur = reporting_amounts(deal_table, rates, currency, blank_amounts=choice, scope=scope)
    rate = deal_rates(deal_table, rates, currency)[0]
    pos = lookup.reindex(a.ids).to_numpy()
    return values[pos], cur, rate[pos]


def _won_amounts(a, amount_now, rate, end_day: int, rates, tables) -> np.ndarray:
    """Amount booked per deal (reporting currency): the history's latest amount by the period
    end, converted with the deal's rate, else the deals table's current amount."""
    if a.amount is None:
        return amount_now
    hist = latest_values(a, a.amount, end_day, np.isnan(a.amount))
    hist = history_in_reporting_currency(hist, rate, rates, tables)
    return np.where(np.isnan(hist), amount_now, hist)


def _note_look_ahead(label, frame, a, st_end, in_period, notes) -> None:
    """Count deals open on D, closed since, whose expected close date equals their close day."""
    codes = pd.Series(np.arange(len(a.ids)), index=pd.Index(a.ids))
    pos = codes.reindex(frame["deal_id"]).to_numpy()
    final = deal_states(a, int(a.day.max()))
    closed = final.code[pos] >= a.k
    close_day = frame["close_date"].to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    closed_day = np.where(closed, a.day[final.last[pos]], -1).astype("datetime64[D]")
    same = closed & (close_day == closed_day) & in_period
    if same.any():
        notes.append(
            _(
                "{period}: {count} deal(s) in the weighted-pipeline forecast have an expected "
                "close date equal to the day they later closed — probably overwritten at "
                "closing, which flatters that forecast (no close-date history to rewind it)"
            ).format(period=label, count=int(same.sum()))
        )
