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
  ``StageProbabilities(as_of=D)`` (cohort method).
* **Actual**: Σ amount of the deals *won during P*: not Won on D and Won at the end of P. With
  ``actual="pipeline"`` (default) only deals open on D count — what a pipeline forecast can
  predict; new deals created and won inside P are shown apart (``won_new``). With
  ``actual="all"`` they are included (total bookings).
* **Error** = forecast / actual − 1 (NaN when nothing was won). Over the periods:
  MAPE = mean |error|, bias = mean error (> 0: the method over-forecasts), and the total error
  Σ forecast / Σ actual − 1.

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

from pipesheet.errors import PipesheetError
from pipesheet.forecast import fiscal_year_month, period_labels, reporting_amounts
from pipesheet.periods import day_timestamp, read_date_setting, within_days
from pipesheet.probabilities import StageProbabilities
from pipesheet.stages import StageList
from pipesheet.timeaware import (
    LoadedTables,
    TimeAwareForecast,
    deal_states,
    latest_values,
    load_tables,
)

__all__ = ["METHODS", "BacktestResult", "backtest"]

METHODS = ("time-aware", "weighted pipeline")
TABLE_COLUMNS = (
    "period",
    "period_start",
    "period_end",
    "as_of",
    "method",
    "open_deals",
    "pipeline",
    "forecast",
    "actual",
    "won_deals",
    "won_new",
    "error",
    "abs_error",
)
SUMMARY_COLUMNS = (
    "method",
    "periods",
    "mape",
    "bias",
    "total_forecast",
    "total_actual",
    "total_error",
)


@dataclass
class BacktestResult:
    """The backtest, per period and per method.

    Attributes:
        table: Tidy, one row per (period, method): ``period``, ``period_start``, ``period_end``,
            ``as_of``, ``method`` (``"time-aware"`` / ``"weighted pipeline"``), ``open_deals``
            (deals the method counted), ``pipeline`` (their Σ amount), ``forecast``, ``actual``,
            ``won_deals``, ``won_new`` (won in the period by deals not open on D, not in
            ``actual`` unless ``actual="all"``), ``error`` = forecast/actual − 1, ``abs_error``.
        summary: One row per method: ``periods`` (with an actual > 0), ``mape``, ``bias``,
            ``total_forecast``, ``total_actual``, ``total_error``.
        predictions: One row per (period, deal open on D): ``period``, ``deal_id``, ``stage``,
            ``age_days``, ``amount``, ``close_date``, ``stage_probability`` (naive p),
            ``in_period`` (its expected close date falls in the period),
            ``time_aware_probability``, ``won`` (won during the period).
        best: The method with the lower MAPE (None when no period has an actual).
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

    @property
    def wide(self) -> pd.DataFrame:
        """The two methods side by side: one row per period."""
        t = self.table
        base = t[t["method"] == METHODS[0]][
            ["period", "period_start", "period_end", "as_of", "actual"]
        ].reset_index(drop=True)
        for method, tag in zip(METHODS, ("time_aware", "weighted"), strict=True):
            part = t[t["method"] == method].reset_index(drop=True)
            base[f"forecast_{tag}"] = part["forecast"]
            base[f"error_{tag}"] = part["error"]
        return base


def _periods(start: Any, periods: int, period: str, fiscal_year_start: int):
    when = read_date_setting(
        start,
        "start",
        required=True,
        expected="the first day of the first period to backtest, e.g. 2026-01-01",
    )
    key = str(period).strip().casefold()
    months = {"month": 1, "quarter": 3}.get(key)
    if months is None:
        raise PipesheetError(
            "unknown period",
            table="settings",
            column="period",
            value=period,
            expected="month or quarter",
        )
    if isinstance(periods, bool) or not isinstance(periods, (int, np.integer)) or periods < 1:
        raise PipesheetError(
            "the number of periods must be a whole number ≥ 1",
            table="settings",
            column="periods",
            value=periods,
            expected="e.g. 4",
        )
    first = pd.Timestamp(when).normalize()
    starts = [first + pd.DateOffset(months=months * i) for i in range(int(periods) + 1)]
    m0 = fiscal_year_month(fiscal_year_start)
    aligned = first.day == 1 and (months == 1 or (first.month - m0) % 3 == 0)
    out = []
    for i in range(int(periods)):
        p_start, p_end = starts[i], starts[i + 1] - pd.Timedelta(days=1)
        if aligned:
            label = period_labels(pd.Series([p_start]), key, fiscal_year_start).iloc[0]
        else:
            label = f"{p_start.date()} – {p_end.date()}"
        out.append((label, p_start, p_end))
    return out


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
) -> BacktestResult:
    """Backtest the time-aware and the weighted-pipeline forecasts over past periods.

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
        rates, currency: Currency conversion when deals mix currencies.
        stages, columns: Stage list and column mapping.

    Returns:
        A :class:`BacktestResult` (``.table``, ``.summary``, ``.wide``, ``.predictions``).

    Raises:
        PipesheetError: bad settings, or a period that ends after the history does (its actual
            is not known yet).
    """
    if actual not in ("pipeline", "all"):
        raise PipesheetError(
            "unknown actual basis",
            table="settings",
            column="actual",
            value=actual,
            expected="'pipeline' (won from the pipeline open on the as-of date) or 'all'",
        )
    windows = _periods(start, periods, period, fiscal_year_start)
    tables = load_tables(history, deals, stages, columns)
    a = tables.arrays
    notes: list[str] = [n for n in tables.notes]
    last_day = day_timestamp(int(a.day.max()))
    if windows[-1][2] > last_day:
        late = next(w for w in windows if w[2] > last_day)
        raise PipesheetError(
            f"period {late[0]} ends after the history does (last date {last_day.date()}): "
            "what was won in it is not known yet",
            table=tables.hist.name,
            column="start",
            value=str(windows[0][1].date()),
            expected=f"periods that end on or before {last_day.date()}",
        )
    amount_now, cur = _current_amounts(tables, rates, currency)
    rows: list[dict[str, Any]] = []
    preds: list[pd.DataFrame] = []
    for label, p_start, p_end in windows:  # a loop over periods; everything inside is vectorised
        d_day = int(np.datetime64(p_start, "D").astype(np.int64)) - 1
        end_day = int(np.datetime64(p_end, "D").astype(np.int64))
        model = TimeAwareForecast(
            as_of=day_timestamp(d_day),
            period=p_end,
            conditioning=conditioning,
            bin_days=bin_days,
            min_at_risk=min_at_risk,
            rates=rates,
            currency=currency,
        )
        model.fit_loaded(tables, forecast_range=False)
        frame = model.deals_
        for n in model.notes_:
            if "later history row" in n or n in notes:
                continue
            notes.append(f"{label}: {n}" if "probability unknown" in n else n)
        naive = StageProbabilities(
            stages=tables.hist.stages,
            as_of=day_timestamp(d_day),  # the whole day before the period
        ).fit(tables.hist)
        p_stage = naive.overall_.set_index("stage")["win_probability"]
        stage_p = frame["stage"].map(p_stage).to_numpy(dtype=float)
        close = frame["close_date"].to_numpy(dtype="datetime64[ns]")
        in_period = within_days(close, p_start, p_end)  # any time of the last day
        # what was won during the period
        st_d, st_end = deal_states(a, d_day), deal_states(a, end_day)
        won = (st_end.code == a.k) & (st_d.code != a.k)
        from_pipeline = won & (st_d.code >= 0) & (st_d.code < a.k)
        won_amount = _won_amounts(a, amount_now, end_day)
        open_ids = pd.Index(a.ids)
        won_here = pd.Series(from_pipeline, index=open_ids).reindex(frame["deal_id"]).to_numpy()
        actual_pipe = float(np.nansum(won_amount[from_pipeline]))
        new = won & ~from_pipeline
        actual_new = float(np.nansum(won_amount[new]))
        value = actual_pipe + (actual_new if actual == "all" else 0.0)
        n_won = int(from_pipeline.sum() + (new.sum() if actual == "all" else 0))
        amount = frame["amount"].to_numpy(dtype=float)
        ta_ok = ~np.isnan(frame["probability"].to_numpy()) & ~np.isnan(amount)
        nv_ok = in_period & ~np.isnan(stage_p) & ~np.isnan(amount)
        unknown_naive = in_period & np.isnan(stage_p)
        if unknown_naive.any():
            notes.append(
                f"{label}: {int(unknown_naive.sum())} deal(s) at stages with no learned "
                "probability are left out of the weighted-pipeline forecast"
            )
        if a.close is None and tables.deals is not None:
            _note_look_ahead(label, frame, a, st_end, in_period, notes)
        forecasts = {
            METHODS[0]: (frame["weighted"].to_numpy()[ta_ok].sum(), ta_ok),
            METHODS[1]: ((amount * stage_p)[nv_ok].sum(), nv_ok),
        }
        for method, (fc, used) in forecasts.items():
            err = fc / value - 1.0 if value > 0 else np.nan
            rows.append(
                {
                    "period": label,
                    "period_start": p_start,
                    "period_end": p_end,
                    "as_of": day_timestamp(d_day),
                    "method": method,
                    "open_deals": int(used.sum()),
                    "pipeline": float(amount[used].sum()),
                    "forecast": float(fc),
                    "actual": value,
                    "won_deals": n_won,
                    "won_new": actual_new,
                    "error": err,
                    "abs_error": abs(err),
                }
            )
        preds.append(
            pd.DataFrame(
                {
                    "period": label,
                    "deal_id": frame["deal_id"].to_numpy(),
                    "stage": frame["stage"].to_numpy(),
                    "age_days": frame["age_days"].to_numpy(),
                    "amount": amount,
                    "close_date": frame["close_date"].to_numpy(),
                    "stage_probability": stage_p,
                    "in_period": in_period,
                    "time_aware_probability": frame["probability"].to_numpy(),
                    "won": won_here.astype(bool),
                }
            )
        )
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    empty = table["actual"] <= 0
    if empty.any():
        notes.append(
            "nothing was won in "
            + ", ".join(sorted(set(table.loc[empty, "period"])))
            + ": error undefined there, left out of MAPE and bias"
        )
    summary = _summary(table)
    best = None
    if summary["mape"].notna().any():
        best = str(summary.loc[summary["mape"].idxmin(), "method"])
    if tables.deals is not None and a.amount is None:
        notes.append("amounts as currently recorded in the deals table (the history has none)")
    return BacktestResult(
        table=table,
        summary=summary,
        predictions=pd.concat(preds, ignore_index=True),
        best=best,
        actual_basis=actual,
        currency=cur,
        notes=notes,
    )


def _summary(table: pd.DataFrame) -> pd.DataFrame:
    out = []
    for method in METHODS:
        part = table[table["method"] == method]
        ok = part["error"].notna()
        total_actual = float(part["actual"].sum())
        total_forecast = float(part["forecast"].sum())
        out.append(
            {
                "method": method,
                "periods": int(ok.sum()),
                "mape": float(part.loc[ok, "abs_error"].mean()) if ok.any() else np.nan,
                "bias": float(part.loc[ok, "error"].mean()) if ok.any() else np.nan,
                "total_forecast": total_forecast,
                "total_actual": total_actual,
                "total_error": total_forecast / total_actual - 1 if total_actual > 0 else np.nan,
            }
        )
    return pd.DataFrame(out, columns=list(SUMMARY_COLUMNS))


def _current_amounts(tables: LoadedTables, rates, currency) -> tuple[np.ndarray, str | None]:
    """Each history deal's current amount (reporting currency) from the deals table, or NaN."""
    a = tables.arrays
    if tables.deals is None:
        if a.amount is None:
            raise PipesheetError(
                "no amounts: give the deals table, or a history with an amount column",
                table=tables.hist.name,
                expected="a deals table with deal id, stage and amount",
            )
        return np.full(len(a.ids), np.nan), currency
    values, cur = reporting_amounts(tables.deals, rates, currency)
    lookup = pd.Series(values, index=tables.deals.frame["deal_id"].to_numpy())
    return lookup.reindex(a.ids).to_numpy(dtype=float), cur


def _won_amounts(a, amount_now: np.ndarray, end_day: int) -> np.ndarray:
    """Amount booked per deal: the history's latest amount by the period end, else the current."""
    if a.amount is None:
        return amount_now
    hist = latest_values(a, a.amount, end_day, np.isnan(a.amount))
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
            f"{label}: {int(same.sum())} deal(s) in the weighted-pipeline forecast have an "
            "expected close date equal to the day they later closed — probably overwritten at "
            "closing, which flatters that forecast (no close-date history to rewind it)"
        )
