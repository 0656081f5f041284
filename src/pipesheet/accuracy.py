"""Forecast vs actual: how good were the forecasts the team recorded?

A **forecast table** has one row per (period[, group][, date recorded]) with the forecast value:
e.g. ``Period, Owner, Forecast`` or ``Quarter, Region, Forecast, Recorded``.  Periods are labels
as :func:`pipesheet.period_labels` writes them (``2026-10``, ``2026-Q4``, ``2026``) or any date
inside the period.  When forecasts were recorded several times for a period (weekly calls), the
last one recorded on or before the period's end is used (``recorded="first"``: the first one).
:func:`forecasts_from_snapshots` builds such a table from deals snapshots (the weighted forecast
of each snapshot for the period it was taken in).

**Actual** of a (period, group) = Σ amount of the deals won whose closed date (the expected close
date when the table has no closed date) falls in the period, in the reporting currency.

    error = forecast / actual − 1        (NaN when nothing was won)
    MAPE  = mean |error|,  bias = mean error   over the periods with an actual, per group
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.base import Result
from pipesheet.cells import clean_text_column, parse_amounts, parse_dates
from pipesheet.columns import DEAL_FIELDS, normalise_header, resolve_columns
from pipesheet.errors import PipesheetError
from pipesheet.forecast import weighted_forecast
from pipesheet.i18n import _
from pipesheet.periods import period_labels
from pipesheet.pricing import reporting_amounts
from pipesheet.stages import StageList
from pipesheet.tables import Deals, check_table, group_fields, read_deals

__all__ = ["AccuracyResult", "forecast_accuracy", "forecasts_from_snapshots"]

_FORECAST_FIELDS = {
    "period": ("period", "forecast_period", "quarter", "month", "year", "fiscal_period"),
    "forecast": ("forecast", "forecast_amount", "forecast_value", "commit", "amount", "value"),
    "recorded": ("recorded", "recorded_on", "forecast_date", "snapshot_date", "as_of", "date"),
}


@dataclass(repr=False)
class AccuracyResult(Result):
    """Forecast vs actual.

    Attributes:
        table: ``[by…]``, ``period``, ``forecast``, ``actual``, ``difference`` (forecast −
            actual), ``error`` (forecast/actual − 1), ``abs_error``.
        summary: Per group (one row without ``by``): ``periods`` (with an actual), ``mape``,
            ``bias``, ``total_forecast``, ``total_actual``, ``total_error``.
        currency: Reporting currency.
        notes: What the user should know.
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    currency: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """Forecast vs actual per period (and group): see :attr:`table`."""
        return self.table.copy()

    def _figures(self) -> dict[str, Any]:
        one = self.summary.iloc[0] if len(self.summary) == 1 else None
        return {
            "periods": len(self.table),
            "mape": None if one is None else float(one["mape"]),
            "bias": None if one is None else float(one["bias"]),
            "groups": len(self.summary) if one is None else None,
            "currency": self.currency,
        }


def _period_keys(values: pd.Series, period: str, fys: int, table: str, column: str) -> pd.Series:
    """Period labels from labels or dates."""
    labels = pd.Series(index=values.index, dtype=object)
    is_label = values.map(
        lambda v: (
            isinstance(v, str)
            and bool(pd.Series([v.strip().upper()]).str.match(r"^(FY)?\d{4}(-Q[1-4]|-\d{2})?$")[0])
        )
    ).to_numpy(dtype=bool)
    labels[is_label] = values[is_label].map(lambda v: v.strip().upper())
    if (~is_label).any():
        dates = parse_dates(values[~is_label], table=table, column=column, allow_blank=False)
        labels[~is_label] = period_labels(dates, period, fys).to_numpy()
    return labels


def forecast_accuracy(
    forecasts: pd.DataFrame,
    deals: pd.DataFrame | Deals,
    *,
    period: str = "quarter",
    by: str | Sequence[str] | None = None,
    fiscal_year_start: int = 1,
    recorded: str = "last",
    rates: pd.DataFrame | Mapping[str, float] | None = None,
    currency: str | None = None,
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
) -> AccuracyResult:
    """Compare recorded forecasts with what was won, by period and group (see module docstring).

    Args:
        forecasts: Forecast table (period, forecast, optional group columns and date recorded).
        deals: Deals table (won deals with amounts and closed or expected close dates).
        period: ``"month"``, ``"quarter"`` or ``"year"`` — how dates in the forecast table and
            deals' closed dates are grouped.
        by: Group column(s) present in both tables (owner, product line, country, segment…).
        recorded: ``"last"`` or ``"first"`` forecast recorded for a period (when dated).
        columns: Explicit ``{field: header}`` mapping for the forecast table (period, forecast,
            recorded).
    """
    if recorded not in ("last", "first"):
        raise PipesheetError(
            _("recorded must be 'last' or 'first'"), table="settings", value=recorded
        )
    d = read_deals(deals, stages=stages)
    keys = group_fields(d, by) if by is not None else []
    raw = check_table(forecasts, "forecasts")
    cols = resolve_columns(
        raw, _FORECAST_FIELDS, ("period", "forecast"), table_name="forecasts", mapping=columns
    )
    f = pd.DataFrame(index=raw.index)
    f["period"] = _period_keys(
        raw[cols["period"]], period, fiscal_year_start, "forecasts", cols["period"]
    )
    f["forecast"] = parse_amounts(raw[cols["forecast"]], table="forecasts", column=cols["forecast"])
    by_norm = {normalise_header(c): c for c in raw.columns}
    for k in keys:
        aliases = (k, *DEAL_FIELDS.get(k, ()), d.columns.get(k, k))
        header = next(
            (by_norm[normalise_header(a)] for a in aliases if normalise_header(a) in by_norm), None
        )
        if header is None:
            raise PipesheetError(
                _("the forecast table has no {column} column to compare by").format(column=k),
                table="forecasts",
                column=k,
                expected=_("the same group column as the deals table"),
            )
        f[k] = clean_text_column(raw[header])
    notes: list[str] = []
    if "recorded" in cols:
        f["recorded"] = parse_dates(
            raw[cols["recorded"]], table="forecasts", column=cols["recorded"], allow_blank=False
        )
        f = f.sort_values("recorded", kind="stable")
        keep = "last" if recorded == "last" else "first"
        n0 = len(f)
        f = f.drop_duplicates([*keys, "period"], keep=keep)
        if len(f) < n0:
            replaced = (
                _("{count} earlier/later forecast(s) replaced by the last recorded")
                if keep == "last"
                else _("{count} earlier/later forecast(s) replaced by the first recorded")
            )
            notes.append(replaced.format(count=n0 - len(f)))
    else:
        dup = f.duplicated([*keys, "period"], keep=False).to_numpy()
        if dup.any():
            raise PipesheetError(
                _("two forecasts for the same period and group, and no date recorded to choose"),
                table="forecasts",
                rows=[int(r) for r in f.index[dup][:20]],
                expected=_("one forecast per period (or a 'Recorded' date column)"),
            )
    amounts, cur = reporting_amounts(d, rates, currency)
    won = (d.frame["code"] == d.stages.k).to_numpy()
    when = d.frame["closed_date"] if "closed_date" in d.frame else d.frame["close_date"]
    if "closed_date" not in d.frame:
        notes.append(_("no closed date column: won deals are placed by their expected close date"))
    w = pd.DataFrame({"period": period_labels(when[won], period, fiscal_year_start).to_numpy()})
    for k in keys:
        w[k] = d.frame[k].to_numpy()[won]
    w["actual"] = amounts[won]
    actual = w.groupby([*keys, "period"], dropna=False)["actual"].sum().reset_index()
    table = f[[*keys, "period", "forecast"]].merge(actual, on=[*keys, "period"], how="left")
    table["actual"] = table["actual"].fillna(0.0)
    table["difference"] = table["forecast"] - table["actual"]
    with np.errstate(divide="ignore", invalid="ignore"):
        table["error"] = np.where(
            table["actual"] > 0, table["forecast"] / table["actual"] - 1, np.nan
        )
    table["abs_error"] = table["error"].abs()
    table = table.sort_values([*keys, "period"], kind="stable").reset_index(drop=True)
    nothing = int(table["error"].isna().sum())
    if nothing:
        notes.append(
            _("{count} forecast(s) for a period/group with nothing won: error unknown").format(
                count=nothing
            )
        )
    grouped = table.groupby(keys, sort=True) if keys else [((), table)]
    rows = []
    for key, part in grouped:
        ok = part["error"].notna()
        tf, ta = float(part["forecast"].sum()), float(part["actual"].sum())
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        row.update(
            periods=int(ok.sum()),
            mape=float(part.loc[ok, "abs_error"].mean()) if ok.any() else np.nan,
            bias=float(part.loc[ok, "error"].mean()) if ok.any() else np.nan,
            total_forecast=tf,
            total_actual=ta,
            total_error=tf / ta - 1 if ta > 0 else np.nan,
        )
        rows.append(row)
    return AccuracyResult(table, pd.DataFrame(rows), cur, notes)


def forecasts_from_snapshots(
    snapshots: Mapping[Any, pd.DataFrame | Deals],
    probabilities: Any,
    *,
    period: str = "quarter",
    by: str | Sequence[str] | None = None,
    fiscal_year_start: int = 1,
    rates: pd.DataFrame | Mapping[str, float] | None = None,
    currency: str | None = None,
    stages: StageList | None = None,
) -> pd.DataFrame:
    """A forecast table from deals snapshots: for each snapshot date D, the weighted forecast
    (:func:`pipesheet.weighted_forecast`) of the period containing D.

    Returns:
        ``[by…]``, ``period``, ``forecast``, ``recorded`` (= D) — ready for
        :func:`forecast_accuracy`.
    """
    parts = []
    for when, snap in snapshots.items():
        day = parse_dates(pd.Series([when]), table="snapshots", column="date", allow_blank=False)
        label = period_labels(day, period, fiscal_year_start).iloc[0]
        wf = weighted_forecast(
            snap,
            probabilities,
            period=period,
            fiscal_year_start=fiscal_year_start,
            by=by,
            rates=rates,
            currency=currency,
            stages=stages,
        )
        wf = wf[wf["period"] == label]
        keys = [
            c for c in wf.columns if c not in ("period", "deals", "pipeline", "weighted", "std_dev")
        ]
        part = wf[[*keys, "period"]].copy()
        part["forecast"] = wf["weighted"].to_numpy()
        part["recorded"] = day.iloc[0]
        parts.append(part)
    if not parts:
        raise PipesheetError(
            _("no snapshots given"), table="snapshots", expected=_("date → deals table")
        )
    return pd.concat(parts, ignore_index=True)
