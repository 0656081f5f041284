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
  note says so.
* **Whole days in ranges**: a period from ``start`` to ``end`` includes every moment of the end
  day (:func:`within_days`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipesheet.cells import DATE_EXPECTED, parse_dates
from pipesheet.errors import PipesheetError

__all__ = [
    "PERIOD_WORDS",
    "as_of_cutoff",
    "day_number",
    "day_timestamp",
    "known_on",
    "period_bounds",
    "period_end_for",
    "read_date_setting",
    "window_end",
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
                "a date is needed",
                table="settings",
                column=name,
                expected=expected or DATE_EXPECTED,
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
            "not a date", table="settings", column=name, value=value, expected=DATE_EXPECTED
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


def _months(period: Any) -> int:
    months = _PERIOD_MONTHS.get(str(period).strip().casefold())
    if months is None:
        raise PipesheetError(
            "unknown period",
            table="settings",
            column="period",
            value=period,
            expected="month, quarter or year",
        )
    return months


def period_bounds(
    as_of: Any, period: str = "quarter", fiscal_year_start: int = 1
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day of the month / quarter / year containing the day ``as_of`` (fiscal
    quarters and years start in month ``fiscal_year_start``)."""
    from pipesheet.forecast import fiscal_year_month

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
    return nxt, (
        f"as of {day.date()}, the last day of its {key}: the window runs to the end of the "
        f"next {key} ({nxt.date()})"
    )
