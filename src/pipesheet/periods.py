"""Date settings and what they mean: one reader for every as-of, period start/end and deadline.

* **A date setting is a day.**  :func:`read_date_setting` reads it as a table cell is read
  (:func:`pipesheet.cells.parse_dates`: a date, ISO text, an Excel serial number; the supported
  range; refused when it is not a date) and returns that day as a midnight ``pd.Timestamp``.  A
  time of day, when given, is not used: the whole day is meant.
* **As of D** means *what was known at the end of day D* (the glossary: a bare date means the
  whole day).  :func:`as_of_cutoff` is the first instant after D; a row stamped
  ``D 15:00`` is known on D (:func:`known_on`).  Every module that takes ``as_of`` —
  probabilities, forecast, time-aware, diagnostics, backtest, calibration, waterfall, planning,
  report — uses these two functions, so they agree on the deals and rows of any as-of date.
* **Periods** (month, quarter, year; fiscal quarters and years start in month
  ``fiscal_year_start``): :func:`period_bounds` gives the first and last day of the period
  containing a day.  "The end of the current period" as a forecast window (the time-aware
  forecast and calibration's ``period="quarter"``) is :func:`window_end`: when as-of is the
  period's last day, the window (as-of, end] would be empty, so the *next* period is meant and a
  note says so; :func:`window_end_day` reads a window end given as a date or one of those words.
* **Labels** (:func:`period_labels`): ``2026-10``, ``2026-Q4``, ``2026``, or ``FY2027-Q1`` with a
  fiscal year starting in another month (:func:`fiscal_year_month`); the backtest's consecutive
  periods are :func:`period_windows`.
* **Whole days in ranges**: a period from ``start`` to ``end`` includes every moment of the end
  day (:func:`within_days`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipesheet.cells import date_expected, parse_dates
from pipesheet.errors import PipesheetError
from pipesheet.i18n import N_, _, note

__all__ = [
    "NO_CLOSE_DATE",
    "PERIOD_WORDS",
    "as_of_cutoff",
    "day_number",
    "day_timestamp",
    "fiscal_year_month",
    "known_on",
    "period_bounds",
    "period_end_for",
    "period_labels",
    "period_windows",
    "read_date_setting",
    "window_end",
    "window_end_day",
    "within_days",
]

_DAY = np.timedelta64(1, "D")
_PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}
#: The words that name "the period containing as-of" (or the next one: :func:`window_end`).
PERIOD_WORDS = tuple(_PERIOD_MONTHS)


def read_date_setting(
    value: Any,
    name: str = "as_of",
    *,
    required: bool = False,
    expected: str | None = None,
    dayfirst: bool | None = None,
) -> pd.Timestamp | None:
    """A date setting (as-of, period start or end, deadline…) as a day: midnight, no time zone.

    Args:
        value: A date, datetime, ``pd.Timestamp``, ``np.datetime64``, ISO text, an Excel serial
            number; blank (None, NaN, NaT, empty text) is "not given".
        name: The setting's name, used in messages (``column`` of the error).
        required: Refuse a blank value (``"a date is needed"``).
        expected: What to say is expected when the value is missing or not a date.
        dayfirst: Order of an ambiguous ``03/04/2027`` (None: refused, write ISO 2027-04-03).

    Raises:
        PipesheetError: not a date, outside the supported range, or blank when ``required``.
    """
    blank = value is None or (isinstance(value, str) and not value.strip())
    if not blank and not isinstance(value, str):
        try:
            blank = bool(pd.isna(value))
        except (TypeError, ValueError):
            blank = False
    if blank:
        if required:
            raise PipesheetError(
                _("a date is needed"),
                table="settings",
                column=name,
                expected=expected or date_expected(),
            )
        return None
    try:
        parsed = parse_dates(
            pd.Series([value], dtype=object), table="settings", column=name, dayfirst=dayfirst
        )
    except PipesheetError as err:
        raise PipesheetError(
            err.problem,
            table="settings",
            column=name,
            value=value,
            expected=expected or err.expected,
        ) from None
    stamp = parsed.iloc[0]
    if pd.isna(stamp):  # pragma: no cover - parse_dates refuses what it cannot read
        raise PipesheetError(
            _("not a date"), table="settings", column=name, value=value, expected=date_expected()
        )
    return pd.Timestamp(stamp).normalize()


def as_of_cutoff(as_of: Any, name: str = "as_of") -> np.datetime64:
    """The first instant after the as-of day (``datetime64[ns]``): rows stamped before it were
    known on that day."""
    day = read_date_setting(as_of, name, required=True)
    return (day.to_datetime64().astype("datetime64[D]") + _DAY).astype("datetime64[ns]")


def known_on(stamps: pd.Series | np.ndarray, as_of: Any) -> np.ndarray:
    """True where a stamp falls on or before the as-of day (any time that day); NaT is False."""
    arr = np.asarray(stamps, dtype="datetime64[ns]")
    return ~np.isnat(arr) & (arr < as_of_cutoff(as_of))


def within_days(dates: pd.Series | np.ndarray, start: Any = None, end: Any = None) -> np.ndarray:
    """start ≤ date and date's day ≤ end (whole days, inclusive); a missing bound is open; a
    blank date is outside any bound (and inside when there is none)."""
    arr = np.asarray(dates, dtype="datetime64[ns]")
    ok = np.ones(len(arr), dtype=bool)
    lo = read_date_setting(start, "start")
    hi = read_date_setting(end, "end")
    if lo is not None:
        ok &= ~np.isnat(arr) & (arr >= lo.to_datetime64())
    if hi is not None:
        ok &= ~np.isnat(arr) & (arr < as_of_cutoff(hi, "end"))
    return ok


def day_number(value: Any, name: str = "as_of") -> int | None:
    """A date setting as a whole day number (days since 1970-01-01); None when blank."""
    day = read_date_setting(value, name)
    if day is None:
        return None
    return int(day.to_datetime64().astype("datetime64[D]").astype(np.int64))


def day_timestamp(day: int) -> pd.Timestamp:
    """The date (midnight) of a day number."""
    return pd.Timestamp(np.datetime64(int(day), "D"))


def _months(period: Any, words: tuple[str, ...] = PERIOD_WORDS) -> int:
    """The months of a period word (one of ``words``); anything else is refused."""
    key = str(period).strip().casefold()
    if key not in words:
        raise PipesheetError(
            _("unknown period"),
            table="settings",
            column="period",
            value=period,
            expected=_("{words} or {last}").format(words=", ".join(words[:-1]), last=words[-1]),
        )
    return _PERIOD_MONTHS[key]


def period_bounds(
    as_of: Any, period: str = "quarter", fiscal_year_start: int = 1
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day of the month / quarter / year containing the day ``as_of`` (fiscal
    quarters and years start in month ``fiscal_year_start``)."""
    day = read_date_setting(as_of, "as_of", required=True)
    months = _months(period)
    m0 = fiscal_year_month(fiscal_year_start) if months > 1 else 1
    offset = (day.month - m0) % months
    start = pd.Timestamp(day.year, day.month, 1) - pd.DateOffset(months=offset)
    end = start + pd.DateOffset(months=months) - pd.Timedelta(days=1)
    return pd.Timestamp(start), pd.Timestamp(end)


def period_end_for(as_of: Any, period: str = "quarter", fiscal_year_start: int = 1) -> pd.Timestamp:
    """The last day of the month / quarter / year containing ``as_of``."""
    return period_bounds(as_of, period, fiscal_year_start)[1]


def window_end(
    as_of: Any, period: str = "quarter", fiscal_year_start: int = 1
) -> tuple[pd.Timestamp, str | None]:
    """The end of the forecast window (as-of, end] meant by "this month / quarter / year".

    The end of the period containing as-of; when as-of is that period's last day the window
    would hold no day at all, so the next period's end is returned with a note saying so.
    """
    day = read_date_setting(as_of, "as_of", required=True)
    end = period_end_for(day, period, fiscal_year_start)
    if end > day:
        return end, None
    nxt = period_end_for(day + pd.Timedelta(days=1), period, fiscal_year_start)
    key = str(period).strip().casefold()
    said = {
        "month": N_(
            "as of {day}, the last day of its month: the window runs to the end of the next "
            "month ({end})"
        ),
        "quarter": N_(
            "as of {day}, the last day of its quarter: the window runs to the end of the next "
            "quarter ({end})"
        ),
        "year": N_(
            "as of {day}, the last day of its year: the window runs to the end of the next "
            "year ({end})"
        ),
    }[key]
    return nxt, note(said, day=day.date(), end=nxt.date())


# ---- period labels and fiscal years ------------------------------------------------------------
#: The period label of deals without a close date (a value of the tables' period column: it
#: stays English there; surfaces show it with ``_(NO_CLOSE_DATE)``).
NO_CLOSE_DATE = N_("(no close date)")


def fiscal_year_month(fiscal_year_start: Any) -> int:
    """The first month of the fiscal year as a number 1–12 (a setting; anything else is an
    error)."""
    try:
        month = int(fiscal_year_start)
    except (TypeError, ValueError):
        month = 0
    if not 1 <= month <= 12:
        raise PipesheetError(
            _("fiscal year start must be a month number"),
            table="settings",
            column="fiscal_year_start",
            value=fiscal_year_start,
            expected=_("a whole number from 1 (January) to 12 (December)"),
        )
    return month


def period_labels(dates: pd.Series, period: str = "month", fiscal_year_start: int = 1) -> pd.Series:
    """Label each date with its period: ``2026-10`` (month), ``2026-Q4`` (quarter), ``2026`` (year).

    With a fiscal year starting in month m ≠ 1, quarters and years are fiscal and named by the
    calendar year in which the fiscal year *ends*: with m = 7, 2026-08-15 is in ``FY2027-Q1``.
    Blank dates get ``"(no close date)"``.
    """
    _months(period)  # refuses anything but month, quarter or year
    period = str(period).strip().casefold()
    m0 = fiscal_year_month(fiscal_year_start)
    d = pd.to_datetime(dates)
    blank = d.isna().to_numpy()
    year = d.dt.year.fillna(0).to_numpy(dtype=np.int64)
    month = d.dt.month.fillna(1).to_numpy(dtype=np.int64)
    if period == "month":
        key = year * 100 + month
        fmt = lambda v: f"{v // 100:04d}-{v % 100:02d}"  # noqa: E731
    else:
        fy = year + ((month >= m0) & (m0 != 1))
        q = (month - m0) % 12 // 3 + 1
        prefix = "FY" if m0 != 1 else ""
        if period == "quarter":
            key = fy * 10 + q
            fmt = lambda v: f"{prefix}{v // 10:04d}-Q{v % 10}"  # noqa: E731
        else:
            key = fy
            fmt = lambda v: f"{prefix}{v:04d}"  # noqa: E731
    key = np.where(blank, -1, key)
    codes, uniques = pd.factorize(key)
    names = np.array([NO_CLOSE_DATE if u < 0 else fmt(int(u)) for u in uniques], dtype=object)
    return pd.Series(names[codes], index=dates.index, dtype=object)


# ---- forecast windows and backtest periods ---------------------------------------------------
def window_end_day(
    period_end: Any, as_of_day: int, fiscal_year_start: int = 1, notes: list[str] | None = None
) -> int:
    """The day number (:func:`day_number`) of the last day of the window (as-of, end]:
    ``period_end`` is a date after as-of, or "month" / "quarter" / "year" — the end of that
    period containing as-of, or of the next one when as-of is its last day (a note in ``notes``
    says so: the window is never empty).

    Raises:
        PipesheetError: blank, not a date, or a date on or before as-of.
    """
    if isinstance(period_end, str) and period_end.strip().casefold() in PERIOD_WORDS:
        end, note = window_end(day_timestamp(as_of_day), period_end, fiscal_year_start)
        if note and notes is not None:
            notes.append(note)
        return int(end.to_datetime64().astype("datetime64[D]").astype(np.int64))
    day = day_number(period_end, "period_end")
    if day is None:
        raise PipesheetError(
            _("a period end is needed"),
            table="settings",
            column="period_end",
            value=period_end,
            expected=_("a date, or month / quarter / year"),
        )
    if day <= as_of_day:
        raise PipesheetError(
            _("the period ends on or before the as-of date: the forecast window would be empty"),
            table="settings",
            column="period_end",
            value=str(day_timestamp(day).date()),
            expected=_("a date after {day}").format(day=day_timestamp(as_of_day).date()),
        )
    return day


def period_windows(
    start: Any, periods: int, period: str = "month", fiscal_year_start: int = 1
) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    """``periods`` consecutive months or quarters from the day ``start``: ``(label, first day,
    last day)`` each — the periods a backtest forecasts.  A period starting on the first of a
    (fiscal) month or quarter is labelled as :func:`period_labels` labels it (``2026-Q1``),
    any other by its dates (``2026-01-15 – 2026-04-14``).

    Raises:
        PipesheetError: ``start`` blank or not a date, ``period`` not month or quarter,
            ``periods`` not a whole number ≥ 1, or a bad ``fiscal_year_start``.
    """
    when = read_date_setting(
        start,
        "start",
        required=True,
        expected=_("the first day of the first period to backtest, e.g. 2026-01-01"),
    )
    months = _months(period, ("month", "quarter"))
    key = str(period).strip().casefold()
    if isinstance(periods, bool) or not isinstance(periods, (int, np.integer)) or periods < 1:
        raise PipesheetError(
            _("the number of periods must be a whole number ≥ 1"),
            table="settings",
            column="periods",
            value=periods,
            expected=_("e.g. 4"),
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
