"""Commits: a manager's own number per owner (or team) and period, kept beside the system's.

A **commit** (the glossary) is what a manager says an owner — or a team, a country, a
segment, a pipeline: any group column of the deals table — will book in a period.  It is read
from a table (:func:`read_commits`): one row per group and period with the committed amount,
e.g.::

    Owner,Quarter,Commit
    Ana,2026-Q3,30000

Periods are written as the engine labels them (``2026-07``, ``2026-Q3``, ``2026``; with a fiscal
year starting in another month ``FY2027-Q1``, the ``FY`` optional; also ``Q3 2026``) or as a
date inside the period; every row must be of one period length (month, quarter or year).
Amounts are in the reporting currency (or converted with ``rates`` when the table has a
currency column).

:func:`compare_commits` sets each commit beside the system's forecast and, once the period is
over, what was won:

* **system_forecast** — for a period not over at the as-of day (current or future): closed so
  far in the period + the weighted pipeline of the open deals expected to close in it — the same
  priced deals as every forecast (:func:`pipesheet.price_deals`: currency, blank amounts, each
  deal's own pipeline's probability, its override); for a **past** period (ended on or before the
  as-of day): the forecast the system made the day before the period began — the backtest's
  weighted-pipeline forecast (:func:`pipesheet.backtest`: the pipeline rebuilt from the stage
  history on that day, probabilities learned from what was known then), summed per group; it
  needs the stage history (without it, or before the history starts, it is blank, with a note);
* **actual** — won in the period: the won deals whose closed date (the expected close date when
  none is recorded) falls in it, on or before the as-of day (for the current period: so far);
* **errors** (past periods, actual > 0): committed_error = committed / actual − 1,
  system_error = system_forecast / actual − 1 (> 0: over-forecast); commit_gap = committed −
  system_forecast.
* **Who forecasts better** (:attr:`CommitsResult.summary`): over the past rows where both the
  commit and the system forecast exist and something was won, for each forecaster (manager,
  model): MAPE = mean |error|, bias = mean error, at two levels — each group × period, and each
  period's total over those groups (Σ committed, Σ system forecast, Σ actual).  The better is the
  one with the lower MAPE at the group × period level.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.base import Result, note_is
from pipesheet.cells import clean_text_column, parse_amounts, row_numbers
from pipesheet.columns import DEAL_FIELDS, normalise_header, resolve_columns
from pipesheet.errors import PipesheetError
from pipesheet.headings import heading, headings
from pipesheet.i18n import N_, _, pgettext
from pipesheet.periods import fiscal_year_month, period_labels, read_date_setting, within_days
from pipesheet.pricing import GROUP_COLUMN, Probabilities, Rates, price_deals
from pipesheet.stages import StageList, stage_key
from pipesheet.tables import TEXT_FIELDS, Deals, check_table, read_history, read_rates

__all__ = [
    "COMMIT_COLUMNS",
    "SUMMARY_COLUMNS",
    "CommitsResult",
    "commit_term",
    "compare_commits",
    "parse_period_label",
    "read_commits",
]

#: The commits table's own columns: field → header aliases (the group column is a deals field).
COMMIT_FIELDS: dict[str, tuple[str, ...]] = {
    "period": (
        "period",
        "quarter",
        "month",
        "year",
        "fiscal_quarter",
        "fiscal_period",
        "forecast_period",
        "period_name",
    ),
    "committed": (
        "committed",
        "commit",
        "commit_amount",
        "committed_amount",
        "manager_commit",
        "manager_forecast",
        "forecast_commit",
        "call",
    ),
    "currency": ("currency", "currency_code", "currency_iso_code"),
}
COMMIT_COLUMNS = (
    "period",
    "period_start",
    "period_end",
    "status",
    "committed",
    "system_forecast",
    "actual",
    "commit_gap",
    "committed_error",
    "system_error",
    "note",
)
SUMMARY_COLUMNS = ("forecaster", "level", "compared", "mape", "bias")
_QUARTER = re.compile(
    r"^(?:fy)?\s*(\d{4})\s*[-/ ]?\s*q([1-4])$|^q([1-4])\s*[-/ ]?\s*(?:fy)?(\d{4})$"
)
_MONTH = re.compile(r"^(\d{4})\s*[-/.]\s*(\d{1,2})$")
_YEAR = re.compile(r"^(?:fy)?\s*(\d{4})$")
_KIND_WORDS = {"month": 1, "quarter": 3, "year": 12}
#: The period lengths in the plural, as a sentence names them.
_KIND_PLURALS = {"month": N_("months"), "quarter": N_("quarters"), "year": N_("years")}


def commit_term(value: str) -> str:
    """A word of the commits' tables — a ``status`` (past, current, future), a ``forecaster``
    (manager, model) or a ``level`` (group × period, period total) — in the language spoken, for
    text people read (the tables keep the English words)."""
    words = {
        "past": pgettext("commit status", "past"),
        "current": pgettext("commit status", "current"),
        "future": pgettext("commit status", "future"),
        "manager": pgettext("forecaster", "manager"),
        "model": pgettext("forecaster", "model"),
        "group × period": pgettext("level", "group × period"),
        "period total": pgettext("level", "period total"),
    }
    return words.get(value, value)


# ---- periods ---------------------------------------------------------------------------------
def parse_period_label(
    value: Any, period: str | None = None, fiscal_year_start: int = 1
) -> tuple[str, pd.Timestamp, pd.Timestamp]:
    """A period label (``2026-07``, ``2026-Q3``, ``Q3 2026``, ``FY2027-Q1``, ``2026``) or a date
    inside the period → ``(period kind, first day, last day)``.  Quarters and years follow the
    fiscal year starting in ``fiscal_year_start`` (as :func:`pipesheet.period_labels` names
    them: a fiscal year is named by the calendar year it ends in).  A date needs ``period``.

    Raises:
        PipesheetError: not a period label nor a date; a month above 12; a date without
            ``period``.
    """
    m0 = fiscal_year_month(fiscal_year_start)
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        if float(value).is_integer() and 1000 <= float(value) <= 9999:
            value = str(int(value))  # a year read as a number, not an Excel date serial
    text = str(value).strip().casefold() if isinstance(value, str) else None
    if text is not None and text:
        m = _QUARTER.match(text)
        if m:
            year = int(m.group(1) or m.group(4))
            q = int(m.group(2) or m.group(3))
            start = _fiscal_year_start(year, m0) + pd.DateOffset(months=3 * (q - 1))
            return "quarter", start, start + pd.DateOffset(months=3) - pd.Timedelta(days=1)
        m = _MONTH.match(text)
        if m and 1 <= int(m.group(2)) <= 12:
            start = pd.Timestamp(int(m.group(1)), int(m.group(2)), 1)
            return "month", start, start + pd.DateOffset(months=1) - pd.Timedelta(days=1)
        m = _YEAR.match(text)
        if m:
            start = _fiscal_year_start(int(m.group(1)), m0)
            return "year", start, start + pd.DateOffset(years=1) - pd.Timedelta(days=1)
    day = read_date_setting(
        value,
        "period",
        expected=_(
            "a period such as 2026-07 (month), 2026-Q3 (quarter) or 2026 (year), or a date "
            "inside the period"
        ),
    )
    if day is None or period is None:
        raise PipesheetError(
            _("period is blank")
            if day is None
            else _("a date as a period needs the period length"),
            table="commits",
            column="period",
            value=value,
            expected=_("a period such as 2026-07 (month), 2026-Q3 (quarter) or 2026 (year)")
            if day is None
            else _(
                "a period such as 2026-07 (month), 2026-Q3 (quarter) or 2026 (year), or the "
                "period length (month, quarter or year)"
            ),
        )
    kind = str(period).strip().casefold()
    label = period_labels(pd.Series([day]), kind, fiscal_year_start).iloc[0]
    return parse_period_label(label.replace("FY", ""), kind, fiscal_year_start)


def _fiscal_year_start(year: int, m0: int) -> pd.Timestamp:
    """First day of the fiscal year named ``year`` (the calendar year it ends in)."""
    return pd.Timestamp(year if m0 == 1 else year - 1, m0, 1)


def _label(kind: str, start: pd.Timestamp, fiscal_year_start: int) -> str:
    return period_labels(pd.Series([start]), kind, fiscal_year_start).iloc[0]


# ---- reading the commits table ---------------------------------------------------------------
def read_commits(
    table: pd.DataFrame,
    deals: Deals,
    *,
    by: str | None = None,
    period: str | None = None,
    fiscal_year_start: int = 1,
    rates: Rates = None,
    currency: str | None = None,
    name: str = "commits",
) -> tuple[pd.DataFrame, str, str]:
    """The commits table, validated: one row per group and period.

    Args:
        table: Columns: the group (a deals-table group column: ``Owner``, ``Team``, ``Country``,
            ``Segment``, ``Pipeline``…), the period (``Period``, ``Quarter``, ``Month``…) and
            the committed amount (``Commit``, ``Committed``, ``Manager forecast``…); optionally
            a currency.
        deals: The deals read (the group column must be one of theirs).
        by: The group field (default: the first column of the table that names a group column
            of the deals).
        period: "month", "quarter" or "year" (default: from the labels).

    Returns:
        (frame with ``group``, ``period``, ``period_start``, ``period_end``, ``committed``,
        index = spreadsheet row; the group field; the period kind).

    Raises:
        PipesheetError: naming the table, column, rows and value — no group, period or amount
            column, a blank or unknown period, periods of different lengths, a group and period
            listed twice, an amount that is not one.
    """
    fiscal_year_month(fiscal_year_start)  # a bad setting is named as the setting, not a cell
    if period is not None and str(period).strip().casefold() not in _KIND_WORDS:
        raise PipesheetError(
            _("unknown period length"),
            table="settings",
            column="period",
            value=period,
            expected=_("month, quarter or year (or leave it out: the commits' labels tell)"),
        )
    raw = check_table(table, name)
    cols = resolve_columns(raw, COMMIT_FIELDS, ("period", "committed"), table_name=name)
    group_fld, group_col = _group_column(raw, cols, deals, by, name)
    groups = clean_text_column(raw[group_col])
    blank = groups.isna().to_numpy()
    if blank.any():
        raise PipesheetError(
            _("{column} is blank").format(column=heading(group_fld).replace("_", " ")),
            table=name,
            column=group_col,
            rows=row_numbers(raw.index, blank),
            expected=_("the owner (or team…) each commit is for"),
        )
    parsed = []
    for row, value in zip(raw.index, raw[cols["period"]], strict=True):  # per commit row
        try:
            parsed.append(parse_period_label(value, period, fiscal_year_start))
        except PipesheetError as err:
            raise PipesheetError(
                err.problem,
                table=name,
                column=cols["period"],
                rows=[int(row)],
                value=value,
                expected=err.expected,
            ) from None
    kinds = pd.Series([k for k, _, _ in parsed], index=raw.index)
    kind = str(period).strip().casefold() if period else kinds.iloc[0]
    other = (kinds != kind).to_numpy()
    if other.any():
        every = {
            "month": _("every period a month (one commit table per period length)"),
            "quarter": _("every period a quarter (one commit table per period length)"),
            "year": _("every period a year (one commit table per period length)"),
        }
        raise PipesheetError(
            _("periods of different lengths: {kind} and {other}").format(
                kind=_(_KIND_PLURALS[kind]), other=_(_KIND_PLURALS[kinds[other].iloc[0]])
            ),
            table=name,
            column=cols["period"],
            rows=row_numbers(raw.index, other),
            value=raw[cols["period"]][other].iloc[0],
            expected=every[kind],
        )
    amounts = parse_amounts(raw[cols["committed"]], table=name, column=cols["committed"])
    if "currency" in cols:
        codes = clean_text_column(raw[cols["currency"]]).map(
            lambda v: v.upper() if isinstance(v, str) else v
        )
        if rates is None:
            present = sorted(codes.dropna().unique())
            if len(present) > 1 or (present and currency and present[0] != currency.upper()):
                raise PipesheetError(
                    _(
                        "the commits are in another or several currencies and no exchange rates "
                        "were given"
                    ),
                    table=name,
                    column=cols["currency"],
                    expected=_(
                        "a rates table (currency, rate) to convert into one reporting currency"
                    ),
                )
        else:
            table_rates = read_rates(rates)
            if currency:
                table_rates.loc[currency.upper()] = 1.0
            rate = codes.map(table_rates).to_numpy(dtype=float)
            missing = np.isnan(rate)
            if missing.any():
                raise PipesheetError(
                    _("no exchange rate for this currency"),
                    table=name,
                    column=cols["currency"],
                    rows=row_numbers(raw.index, missing),
                    value=codes[missing].iloc[0],
                    expected=_("a currency listed in the rates table: {currencies}").format(
                        currencies=", ".join(table_rates.index)
                    ),
                )
            amounts = amounts * rate
    out = pd.DataFrame(
        {
            "group": groups.to_numpy(),
            "period": [_label(kind, s, fiscal_year_start) for _, s, _ in parsed],
            "period_start": [s for _, s, _ in parsed],
            "period_end": [e for _, _, e in parsed],
            "committed": amounts.to_numpy(dtype=float),
        },
        index=raw.index,
    )
    key = out["group"].map(stage_key) + "\u0000" + out["period"]
    dup = key.duplicated(keep=False).to_numpy()
    if dup.any():
        first = key[dup].iloc[0]
        same = (key == first).to_numpy()
        raise PipesheetError(
            _("a commit listed twice for {group} in {period}").format(
                group=repr(out["group"][same].iloc[0]), period=out["period"][same].iloc[0]
            ),
            table=name,
            column=group_col,
            rows=row_numbers(raw.index, same),
            expected=_("one commit per group and period (which one is meant cannot be guessed)"),
        )
    return out, group_fld, kind


def _group_column(
    raw: pd.DataFrame, cols: dict[str, str], deals: Deals, by: str | None, name: str
) -> tuple[str, str]:
    """(the deals' group field, the commits table's column for it)."""
    taken = set(cols.values())
    fields = {f: DEAL_FIELDS[f] for f in TEXT_FIELDS if f in DEAL_FIELDS}
    if by is not None:
        key = normalise_header(by)
        names = {f: {normalise_header(f), normalise_header(GROUP_COLUMN.get(f, f))} for f in fields}
        fld = next((f for f in fields if key in names[f]), None)
        if fld is None:
            fld = next((f for f, h in deals.columns.items() if normalise_header(h) == key), None)
        if fld is None or fld not in fields:
            raise PipesheetError(
                _("cannot compare commits by this column"),
                table=name,
                column=str(by),
                expected=_("a group column of the deals table: {columns}").format(
                    columns=", ".join(fields)
                ),
            )
        found = resolve_columns(
            raw[[c for c in raw.columns if str(c) not in taken]],
            {fld: (*fields[fld], GROUP_COLUMN.get(fld, fld), deals.columns.get(fld, fld))},
            (fld,),
            table_name=name,
        )
        return fld, found[fld]
    rest = raw[[c for c in raw.columns if str(c) not in taken]]
    found = resolve_columns(rest, fields, (), table_name=name)
    for col in rest.columns:  # the table's first column that names a group of the deals
        fld = next((f for f, h in found.items() if h == str(col)), None)
        if fld is None:
            fld = next(
                (
                    f
                    for f, h in deals.columns.items()
                    if f in fields and normalise_header(h) == normalise_header(col)
                ),
                None,
            )
        if fld is not None:
            return fld, str(col)
    raise PipesheetError(
        _("the commits table has no column naming who each commit is for"),
        table=name,
        expected=_(
            "a column such as 'Owner' (or another group column of the deals: {fields}); the "
            "table has {columns}"
        ).format(fields=", ".join(fields), columns=", ".join(repr(str(c)) for c in raw.columns)),
    )


# ---- the result ------------------------------------------------------------------------------
@dataclass(repr=False)
class CommitsResult(Result):
    """Commits beside the system's forecast and what was won (see :func:`compare_commits`).

    Attributes:
        table: One row per commit: the group column (``owner``…; ``pipeline_name`` for
            pipelines), then :data:`COMMIT_COLUMNS` — ``period``, ``period_start``,
            ``period_end``, ``status`` ("past", "current", "future" at the as-of day),
            ``committed``, ``system_forecast``, ``actual`` (won in the period; so far for the
            current one; blank for a future one), ``commit_gap`` (committed − system),
            ``committed_error`` and ``system_error`` (past periods: forecast / actual − 1),
            ``note``.
        summary: Who forecasts better: ``forecaster`` ("manager": the commits, "model": the
            system forecast), ``level`` (group × period, or period total), ``compared`` (rows
            scored: past, both forecasts known, something won), ``mape``, ``bias``.
        best: "manager" or "model" — the lower MAPE by group × period (None when none scored).
        by: The group field.  period: The period length.  as_of: The day.
        currency: The reporting currency.
        notes: What the user should know.
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    best: str | None
    by: str
    period: str
    as_of: pd.Timestamp
    currency: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """The commits table (:attr:`table`)."""
        return self.table.copy()

    def _figures(self) -> dict[str, Any]:
        return {
            "commits": len(self.table),
            "by": self.by,
            "period": self.period,
            "best": self.best,
            "currency": self.currency,
        }

    def __str__(self) -> str:
        cur = f" ({self.currency})" if self.currency else ""
        table = self.table.copy()
        table["status"] = table["status"].map(commit_term)
        table.columns = headings(table.columns)
        summary = self.summary.copy()
        for col in ("forecaster", "level"):
            summary[col] = summary[col].map(commit_term)
        summary.columns = headings(summary.columns)
        return "\n".join(
            [
                _("Commits vs system forecast vs actual{currency}, as of {date}").format(
                    currency=cur, date=self.as_of.date()
                ),
                table.to_string(index=False),
                "",
                _("Who forecasts better (past periods where both exist)"),
                summary.to_string(index=False),
            ]
        )


def compare_commits(
    deals: pd.DataFrame | Deals,
    commits: pd.DataFrame,
    probabilities: Probabilities | None = None,
    *,
    history: pd.DataFrame | None = None,
    by: str | None = None,
    period: str | None = None,
    fiscal_year_start: int = 1,
    as_of: Any = None,
    rates: Rates = None,
    currency: str | None = None,
    blank_amounts: str = "error",
    stages: StageList | Mapping[str, StageList] | None = None,
    columns: Mapping[str, str] | None = None,
) -> CommitsResult:
    """Each commit beside the system's forecast and, for past periods, what was won — and who
    forecasts better, the manager or the model (see the module docstring).

    Args:
        deals: The deals table.
        commits: The commits table (:func:`read_commits`).
        probabilities: What the system prices open deals with (a learned
            :class:`~pipesheet.StageProbabilities`, a table, a preset, "configured"); default:
            learned from ``history`` (as of the as-of day).
        history: The stage history: learns the probabilities and rebuilds the system's
            forecast of past periods.
        by: The group field of the commits (default: the commits table's group column).
        period: "month", "quarter" or "year" (default: from the commits' labels).
        fiscal_year_start: First month of the fiscal year (quarters and years).
        as_of: The day (default: the last day of the history, else today): periods ended on or
            before it are past.
        rates, currency, blank_amounts, stages, columns: As for :func:`pipesheet.price_deals`.

    Raises:
        PipesheetError: bad commits (see :func:`read_commits`), no probabilities and no
            history, and what pricing the deals refuses.
    """
    from pipesheet.probabilities import StageProbabilities

    notes: list[str] = []
    hist = None
    if history is not None:
        hist = read_history(history, stages=stages, columns=_history_mapping(columns))
    day = read_date_setting(as_of, "as_of")
    if day is None:
        if hist is not None:
            day = hist.frame["entered_date"].max().normalize()
            notes.append(
                _("as of {date}, the last day of the stage history").format(date=day.date())
            )
        else:
            day = pd.Timestamp(date.today())
            notes.append(_("as of {date} (today)").format(date=day.date()))
    if probabilities is None:
        if history is None:
            raise PipesheetError(
                _("commits need the system's forecast: stage probabilities or a stage history"),
                table="settings",
                column="probabilities",
                expected=_(
                    "a stage history to learn them from, or probabilities (a table, a preset or "
                    "'configured')"
                ),
            )
        probabilities = StageProbabilities(stages=stages, as_of=day, columns=columns).fit(
            history, deals
        )
    priced = price_deals(
        deals,
        probabilities,
        as_of=day,
        rates=rates,
        currency=currency,
        blank_amounts=blank_amounts,
        stages=stages,
        columns=columns,
    )
    notes += [n for n in priced.notes if n not in notes]
    table = priced.deals
    rows, by_fld, kind = read_commits(
        commits,
        table,
        by=by,
        period=period,
        fiscal_year_start=fiscal_year_start,
        rates=rates,
        currency=priced.currency,
    )
    frame = table.frame
    group_of = frame[by_fld].map(lambda v: stage_key(v) if isinstance(v, str) else "")
    commit_group = rows["group"].map(stage_key)
    unknown = sorted(set(rows["group"][~commit_group.isin(set(group_of))]))
    if unknown:
        notes.append(
            _(
                "commit(s) for {groups}: no deal of the deals table has that {field} (system "
                "forecast and actual 0)"
            ).format(groups=", ".join(map(repr, unknown)), field=heading(by_fld).replace("_", " "))
        )
    close = frame["close_date"]
    closed_on = frame["closed_date"].fillna(close) if "closed_date" in frame else close
    weighted = priced.amount * priced.probability
    past = (rows["period_end"] <= day).to_numpy()
    status = np.where(
        past, "past", np.where((rows["period_start"] <= day).to_numpy(), "current", "future")
    )
    model = _past_forecasts(
        rows[past],
        group_of,
        hist,
        history,
        deals,
        kind,
        fiscal_year_start,
        rates,
        priced,
        blank_amounts,
        stages,
        columns,
        notes,
    )
    out_rows = []
    g_arr = group_of.to_numpy()
    for i, (idx, r) in enumerate(rows.iterrows()):  # per commit
        mine = g_arr == stage_key(r["group"])
        won = priced.won & mine & within_days(closed_on, r["period_start"], r["period_end"])
        actual = float(priced.amount[won].sum())
        note = ""
        if status[i] == "past":
            system = model.get(idx, (np.nan, ""))
            system, note = system
        else:
            expected = priced.open & mine & within_days(close, r["period_start"], r["period_end"])
            system = actual + float(weighted[expected].sum())
        if status[i] == "future":
            actual = np.nan
        scored = status[i] == "past" and actual > 0
        if status[i] == "past" and not actual > 0 and not note:
            note = _("nothing was won: error undefined")
        out_rows.append(
            {
                "group": r["group"],
                "period": r["period"],
                "period_start": r["period_start"],
                "period_end": r["period_end"],
                "status": str(status[i]),
                "committed": float(r["committed"]),
                "system_forecast": float(system),
                "actual": actual,
                "commit_gap": float(r["committed"]) - float(system),
                "committed_error": r["committed"] / actual - 1 if scored else np.nan,
                "system_error": system / actual - 1 if scored and not np.isnan(system) else np.nan,
                "note": note,
            }
        )
    out = pd.DataFrame(out_rows, columns=["group", *COMMIT_COLUMNS])
    out = out.rename(columns={"group": GROUP_COLUMN.get(by_fld, by_fld)})
    out = out.sort_values(["period_start", out.columns[0]], kind="stable", ignore_index=True)
    summary, best = _scores(out)
    if summary["compared"].max() == 0 if len(summary) else True:
        notes.append(
            _(
                "no past period with both a commit and a system forecast and something won: who "
                "forecasts better cannot be told yet"
            )
        )
    out.attrs["currency"] = summary.attrs["currency"] = priced.currency
    return CommitsResult(
        table=out,
        summary=summary,
        best=best,
        by=by_fld,
        period=kind,
        as_of=day,
        currency=priced.currency,
        notes=list(dict.fromkeys(notes)),
    )


def _history_mapping(columns: Mapping[str, str] | None) -> dict[str, str] | None:
    if not columns:
        return None
    keep = {"deal_id", "stage", "entered_date", "amount"}
    return {k: v for k, v in columns.items() if k in keep} or None


def _past_forecasts(
    past: pd.DataFrame,
    group_of: pd.Series,
    hist: Any,
    history: Any,
    deals: Any,
    kind: str,
    fys: int,
    rates: Any,
    priced: Any,
    blank_amounts: str,
    stages: Any,
    columns: Any,
    notes: list[str],
) -> dict[Any, tuple[float, str]]:
    """The system's forecast of each past commit, made the day before its period began: the
    backtest's weighted-pipeline forecast of the group's deals.  ``{commit row: (forecast,
    why blank)}``."""
    out: dict[Any, tuple[float, str]] = {}
    if past.empty:
        return out
    if hist is None:
        for idx in past.index:
            out[idx] = (
                np.nan,
                _("no stage history: the system's past forecast cannot be rebuilt"),
            )
        notes.append(
            _(
                "past periods: the system's forecast of a past period is rebuilt from the stage "
                "history; give it to compare the manager with the model"
            )
        )
        return out
    if kind == "year":
        for idx in past.index:
            out[idx] = (np.nan, _("backtests run by month or quarter"))
        notes.append(_("past years: the system's forecast is rebuilt by month or quarter only"))
        return out
    from pipesheet.backtest import backtest

    last_day = hist.frame["entered_date"].max().normalize()
    first = past["period_start"].min()
    covered = past[past["period_end"] <= last_day]
    for idx in past.index.difference(covered.index):
        out[idx] = (
            np.nan,
            _("the stage history ends on {date}, before this period").format(date=last_day.date()),
        )
    if covered.empty:
        return out
    months = _KIND_WORDS[kind]
    end = covered["period_start"].max()
    n = (end.year - first.year) * 12 + end.month - first.month
    try:
        result = backtest(
            history,
            deals,
            first,
            periods=n // months + 1,
            period=kind,
            fiscal_year_start=fys,
            rates=rates,
            currency=priced.currency,
            stages=stages,
            columns=columns,
            blank_amounts=blank_amounts,
        )
    except PipesheetError as err:  # the past cannot be rebuilt: say why, keep the rest
        for idx in covered.index:
            out[idx] = (
                np.nan,
                _("the system's past forecast could not be rebuilt: {error}").format(error=err),
            )
        notes.append(
            _("past periods: the system's forecast could not be rebuilt: {error}").format(error=err)
        )
        return out
    notes += [
        _("past periods (backtest): {note}").format(note=t)
        for t in result.notes
        if note_is(t, "flatters") or note_is(t, "(the history has none)")
    ]
    pred = result.predictions
    table = result.table[result.table["method"] == "weighted pipeline"].set_index("period_start")
    ids = priced.deals.frame["deal_id"].to_numpy()
    deal_group = pd.Series(group_of.to_numpy(), index=ids)
    pred = pred.assign(group=pred["deal_id"].map(deal_group))
    use = pred["in_period"].to_numpy(dtype=bool) & pred["stage_probability"].notna().to_numpy()
    pred = pred[use]
    sums = (
        (pred["amount"] * pred["stage_probability"]).groupby([pred["period"], pred["group"]]).sum()
    )
    for idx, r in covered.iterrows():  # per past commit
        row = table.loc[r["period_start"]] if r["period_start"] in table.index else None
        if row is None or np.isnan(row["forecast"]):
            why = row["note"] if row is not None and row["note"] else _("no forecast then")
            out[idx] = (np.nan, why)
            continue
        out[idx] = (float(sums.get((row["period"], stage_key(r["group"])), 0.0)), "")
    return out


def _scores(table: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """MAPE and bias of the manager and of the model over the past rows where both exist."""
    both = table[
        (table["status"] == "past")
        & table["committed_error"].notna()
        & table["system_error"].notna()
    ]
    totals = both.groupby("period", sort=False)[["committed", "system_forecast", "actual"]].sum()
    rows = []
    for who, col, err in (
        ("manager", "committed", "committed_error"),
        ("model", "system_forecast", "system_error"),
    ):
        e = both[err].to_numpy(dtype=float)
        rows.append(_score(who, "group × period", e))
        t = (totals[col] / totals["actual"] - 1).to_numpy(dtype=float)
        rows.append(_score(who, "period total", t))
    summary = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    scored = summary[summary["level"] == "group × period"]
    best = None
    if scored["compared"].iloc[0] > 0:
        m, s = scored["mape"].to_numpy()
        best = "manager" if m < s else "model" if s < m else None
    return summary, best


def _score(who: str, level: str, errors: np.ndarray) -> dict[str, Any]:
    n = len(errors)
    return {
        "forecaster": who,
        "level": level,
        "compared": n,
        "mape": float(np.mean(np.abs(errors))) if n else np.nan,
        "bias": float(np.mean(errors)) if n else np.nan,
    }
