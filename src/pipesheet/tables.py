"""Read and validate the user's tables: deals, stage history, currency rates.

Readers turn whatever a spreadsheet or CRM export gives (headers in any common spelling, numbers as
text, dates as dates, ISO text or Excel serial numbers) into clean frames with pipesheet's field
names, and reject bad input with a :class:`~pipesheet.errors.PipesheetError` that names the table,
column, row(s) and value. The frames' index is the *spreadsheet row number* (header = row 1), so
every later message can point at the row the user sees.

Clean deals frame columns: ``deal_id`` (text), ``stage`` (label as written), ``code`` (0..k-1 open,
k Won, k+1 Lost), ``amount`` (float), ``close_date`` (datetime, may be blank), plus any optional
fields found (``owner``, ``product_line``, ``country``, ``segment``, ``currency``,
``forecast_category``, ``created_date``, ``closed_date``, ``probability`` as 0–1, ``status``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.cells import (
    DATE_MAX,
    DATE_MIN,
    DATE_ORDER_SETTING,
    DATE_RANGE_TEXT,
    MAX_AMOUNT,
    MAX_RATE,
    SERIAL_MAX,
    SERIAL_MIN,
    char_codes,
    date_order_evidence,
    read_date_texts,
    read_number_texts,
    serial_dates,
)
from pipesheet.columns import DEAL_FIELDS, HISTORY_FIELDS, normalise_header, resolve_columns
from pipesheet.errors import PipesheetError
from pipesheet.labels import (
    INVISIBLE,
    check_confusable,
    no_closed_label_message,
    strip_invisible,
)
from pipesheet.stages import (
    DEFAULT_LOST,
    DEFAULT_WON,
    StageList,
    history_row_order,
    stage_key,
    terminal_matcher,
)

__all__ = [
    "Deals",
    "History",
    "check_history_deals",
    "check_table",
    "clean_text",
    "clean_text_column",
    "date_order_of",
    "group_field",
    "group_fields",
    "parse_amounts",
    "parse_date_setting",
    "parse_dates",
    "parse_probabilities",
    "parse_stage_values",
    "read_deals",
    "read_history",
    "read_rates",
]

TEXT_FIELDS = ("owner", "product_line", "country", "segment", "currency", "forecast_category")
DATE_EXPECTED = (
    f"a date from {DATE_RANGE_TEXT}: a date cell, ISO text like 2026-09-30, or an Excel serial "
    "number"
)
_OTHER_SPACE = re.compile(r"[^\S ]")  # white space other than a plain space
_ASCII_OTHER_SPACE = ("\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")


@dataclass
class Deals:
    """A validated deals table.

    Attributes:
        frame: Clean frame (see module docstring); index = spreadsheet row number.
        stages: The stage list the stages were checked against.
        columns: ``{field: header}`` — which user column each field came from.
        notes: Things the user should know (rows skipped on purpose, inferred settings).
    """

    frame: pd.DataFrame
    stages: StageList
    columns: dict[str, str]
    notes: list[str] = field(default_factory=list)
    name: str = "deals"
    #: Why the table has no amounts (the message of a missing amount column), or None. Amounts
    #: are needed only where money is computed; that computation raises this.
    missing_amount: PipesheetError | None = field(default=None, repr=False, compare=False)

    @property
    def open(self) -> pd.DataFrame:
        """Open deals only."""
        return self.frame[self.frame["code"] < self.stages.k]


@dataclass
class History:
    """A validated stage-history table: one row per (deal, stage, date entered).

    Attributes:
        frame: Columns ``deal_id``, ``stage``, ``code``, ``entered_date``; index = spreadsheet row.
        stages: The stage list (given, or inferred from first-entry order).
        columns: ``{field: header}``.
        notes: Things the user should know.
    """

    frame: pd.DataFrame
    stages: StageList
    columns: dict[str, str]
    notes: list[str] = field(default_factory=list)
    name: str = "history"
    _index: _HistoryIndex | None = field(default=None, repr=False, compare=False)

    def deal_index(self) -> _HistoryIndex:
        """Deal codes and the chronological row order of :attr:`frame` (computed once)."""
        index = self._index
        if index is None or index.frame is not self.frame:
            codes, uniques = pd.factorize(self.frame["deal_id"].to_numpy(), use_na_sentinel=True)
            order = self.frame["entered_date"].to_numpy().astype("datetime64[ns]").astype("int64")
            index = _HistoryIndex(
                self.frame, codes, np.asarray(uniques), history_row_order(codes, order)
            )
            self._index = index
        return index


@dataclass(frozen=True)
class _HistoryIndex:
    """What the engine needs to walk a history fast, computed once when it is read.

    ``deal_codes[i]`` is row i's deal (0..n-1, in order of first appearance; ``deal_ids`` holds the
    ids), and ``sort`` is the permutation putting the rows in chronological order within each
    deal (date, then table order), or None when they already are.
    """

    frame: pd.DataFrame
    deal_codes: np.ndarray
    deal_ids: np.ndarray
    sort: np.ndarray | None

    def sorted_positions(self) -> np.ndarray:
        """Row positions in (deal, date, table order) order."""
        return np.arange(len(self.deal_codes)) if self.sort is None else self.sort


# ---- cell parsers ----------------------------------------------------------------------------
def _blank(values: pd.Series) -> np.ndarray:
    """True where a cell is empty: missing, or text that is only white space."""
    isna = values.isna().to_numpy().copy()
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        text = values[~isna].astype(str).str.strip()
        isna[~isna] = (text == "").to_numpy()
    return isna


def _rows(index: pd.Index, mask: np.ndarray) -> list[int]:
    return [int(r) for r in index[mask][:50]]


_NUMBER_PROBLEMS = {
    "an Excel error value": (
        "{what} is an Excel error value",
        "{expected}; the cell shows a formula's error — fix it where the data comes from",
    ),
    "TRUE/FALSE": ("{what} is TRUE/FALSE, not a number", "{expected}"),
    "a magnitude suffix (k, M, bn)": (
        "{what} has a magnitude suffix (k, M, bn)",
        "the whole number, e.g. 1500000 for 1.5M ({expected})",
    ),
    "a date": ("{what} is a date, not a number", "{expected}"),
    "not a number": ("{what} is not a number", "{expected}"),
    "a percentage": ("{what} is a percentage", "{expected}"),
    "an ambiguous decimal mark": (
        "{what} could have a decimal comma or a decimal point (the column has both)",
        "the number without a thousands separator, e.g. 1250 or 1.25",
    ),
}


def _read_numbers(
    values: pd.Series, table: str, column: str, what: str, expected: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Numbers of a column as :mod:`pipesheet.cells` reads them: ``(numbers, percent, problems,
    blank)`` per row (``problems[i]`` None where the cell is a number or blank)."""
    n = len(values)
    if pd.api.types.is_bool_dtype(values.dtype):
        blank = values.isna().to_numpy()
        problems = np.where(blank, None, "TRUE/FALSE").astype(object)
        return np.full(n, np.nan), np.zeros(n, dtype=bool), problems, blank
    if pd.api.types.is_numeric_dtype(values.dtype):
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
        blank = np.isnan(numbers)
        return numbers, np.zeros(n, dtype=bool), np.full(n, None, dtype=object), blank
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    m = len(uniques)
    numbers = np.full(m, np.nan)
    percent = np.zeros(m, dtype=bool)
    problems = np.full(m, None, dtype=object)
    blank_u = np.zeros(m, dtype=bool)
    kinds = pd.Series(uniques, dtype=object).map(_number_kind).to_numpy(dtype=object)
    is_num = kinds == "number"
    if is_num.any():
        numbers[is_num] = np.array([float(u) for u in uniques[is_num]], dtype=float)
        blank_u[is_num] = np.isnan(numbers[is_num])
    problems[kinds == "bool"] = "TRUE/FALSE"
    problems[kinds == "date"] = "a date"
    text_at = np.flatnonzero(kinds == "text")
    if len(text_at):
        texts = pd.Series([str(uniques[i]).strip() for i in text_at], dtype=object)
        empty = (texts == "").to_numpy()
        blank_u[text_at[empty]] = True
        filled = texts[~empty].reset_index(drop=True)
        at = text_at[~empty]
        read = read_number_texts(filled)
        numbers[at] = read.values
        percent[at] = read.percent
        problems[at] = read.problems
    blank = np.append(blank_u, True)[codes]
    return (
        np.append(numbers, np.nan)[codes],
        np.append(percent, False)[codes],
        np.append(problems, None)[codes],
        blank,
    )


def _first_row(values: pd.Series, text: Any) -> int:
    """The spreadsheet row of the first cell whose stripped text is ``text``."""
    hit = (values.astype(str).str.strip() == text).to_numpy()
    return int(values.index[hit][0]) if hit.any() else int(values.index[0])


def _number_kind(value: Any) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return "number"  # blank (NaN below)
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return "number"
    if isinstance(value, (dt.date, dt.time, np.datetime64, pd.Timestamp)):
        return "date"
    return "text"


def _raise_number_problem(
    values: pd.Series,
    problems: np.ndarray,
    mask: np.ndarray,
    table: str,
    column: str,
    what: str,
    expected: str,
) -> None:
    """Raise for the first row in ``mask``, naming every row with the same problem."""
    first = int(np.flatnonzero(mask)[0])
    kind = problems[first]
    same = mask & (problems == kind)
    problem, want = _NUMBER_PROBLEMS[kind]
    raise PipesheetError(
        problem.format(what=what),
        table=table,
        column=column,
        rows=_rows(values.index, same),
        value=values.iloc[first],
        expected=want.format(expected=expected),
    )


def parse_amounts(
    values: pd.Series,
    *,
    table: str,
    column: str,
    allow_blank: bool = False,
    what: str = "amount",
    limit: float = MAX_AMOUNT,
) -> pd.Series:
    """Amounts as float, read by the one rule for numbers in cells (:mod:`pipesheet.cells`).

    Numbers, or numeric text like ``"12,500"``, ``"12.500,50"``, ``"1 250"``, ``"$ 3,000"``.  The
    decimal mark is taken from the column's texts (a decimal comma only when some text can only
    have one — ``"12,5"``, ``"1.250,00"`` — and none can only have a decimal point; both in one
    column is an error).  ``(1,200)``, ``1,200-`` and ``−1200`` are negative, so refused.

    Args:
        values: The column.
        table, column: Named in messages.
        allow_blank: Blanks come back as NaN for the caller to count, instead of an error.
        what: The word for one value in messages (``"amount"``, ``"rate"``…).
        limit: Largest accepted absolute value (:data:`~pipesheet.cells.MAX_AMOUNT`).

    Raises:
        PipesheetError: naming the cell(s): text that is not a number (with why: an Excel error
            value, TRUE/FALSE, a magnitude suffix such as ``250k``, a percent sign), a blank
            (unless ``allow_blank``), a value above ``limit`` or a negative one.
    """
    expected = f"a non-negative number such as 12500 or 12,500.00 (at most {limit:.0e})"
    numbers, percent, problems, blank = _read_numbers(values, table, column, what, expected)
    problems = np.where(percent, "a percentage", problems).astype(object)
    bad = problems != None  # noqa: E711 - element-wise
    if bad.any():
        _raise_number_problem(values, problems, bad, table, column, what, expected)
    if blank.any() and not allow_blank:
        raise PipesheetError(
            f"{what} is blank",
            table=table,
            column=column,
            rows=_rows(values.index, blank),
            expected=f"a non-negative number (or skip blank {what}s explicitly)",
        )
    with np.errstate(invalid="ignore"):
        infinite = ~blank & ~np.isfinite(numbers)
        big = ~blank & ~infinite & ~(np.abs(numbers) <= limit)
        neg = ~blank & (numbers < 0)
    for mask, problem, want in (
        (infinite, f"{what} is not finite", f"a number of at most {limit:.0e}"),
        (big, f"{what} is too large", f"at most {limit:,.0f} ({limit:.0e}) in absolute value"),
        (
            neg,
            f"{what} is negative",
            "a non-negative number ((1,200), 1,200- and −1200 are negatives)",
        ),
    ):
        if mask.any():
            raise PipesheetError(
                problem,
                table=table,
                column=column,
                rows=_rows(values.index, mask),
                value=values[mask].iloc[0],
                expected=want,
            )
    return pd.Series(numbers, index=values.index, dtype=float)


def parse_probabilities(values: pd.Series, *, table: str, column: str) -> pd.Series:
    """Probabilities as 0–1 floats (blank = NaN).

    The scale is decided only when every value agrees: a value written with ``%`` is a percent;
    among the others, one strictly between 0 and 1 says shares and one above 1 says percent;
    0 and 1 fit both (read as shares unless another value says percent).  Values on both scales
    in one column are refused, naming the disagreeing cells: write ``0.5%`` or ``50%`` to say
    which is meant.

    Raises:
        PipesheetError: naming the cell(s): not a number, negative, above 100 (or 100%), or
            values on two scales.
    """
    expected = "a probability such as 0.25 or 25%"
    numbers, percent, problems, blank = _read_numbers(
        values, table, column, "probability", expected
    )
    bad = problems != None  # noqa: E711 - element-wise
    if bad.any():
        _raise_number_problem(values, problems, bad, table, column, "probability", expected)
    with np.errstate(invalid="ignore"):
        checks = (
            (~blank & ~np.isfinite(numbers), "probability is not finite"),
            (~blank & (numbers < 0), "probability is negative"),
            (~blank & (numbers > 100), "probability above 100%"),
        )
    for mask, problem in checks:
        if mask.any():
            rows = _rows(values.index, mask)
            raise PipesheetError(
                problem,
                table=table,
                column=column,
                rows=rows,
                value=values[mask].iloc[0],
                expected="a probability between 0 and 1, or 0% and 100%",
            )
    plain = ~blank & ~percent
    with np.errstate(invalid="ignore"):
        shares = plain & (numbers > 0) & (numbers < 1)
        percents = plain & (numbers > 1)
    if shares.any() and percents.any():
        few = shares if shares.sum() <= percents.sum() else percents
        a, b = int(np.flatnonzero(shares)[0]), int(np.flatnonzero(percents)[0])
        raise PipesheetError(
            f"probabilities on two scales: {values.iloc[a]!r} (row {values.index[a]}) reads as "
            f"a share of 1, {values.iloc[b]!r} (row {values.index[b]}) as a percent",
            table=table,
            column=column,
            rows=_rows(values.index, few),
            expected="one scale for the whole column: shares (0.25) or percents (25); write "
            "0.5% or 50% to say which is meant",
        )
    scale = np.where(percent | percents.any(), 100.0, 1.0)
    return pd.Series(numbers / scale, index=values.index, dtype=float)


def parse_stage_values(
    pairs: Sequence[tuple[Any, Any]],
    *,
    table: str,
    column: str = "probability",
    rows: Sequence[int] | None = None,
    stage_column: str = "stage",
) -> list[tuple[str, float]]:
    """``(stage, value)`` pairs — a probability table, conversions, benchmarks — with the values
    read as :func:`parse_probabilities` reads a column (one scale for all of them) and each stage
    listed once.

    Args:
        pairs: Stage label and value, in order.
        table, column: Named in messages.
        rows: Spreadsheet row of each pair (default 2, 3, … as in a table with a header).
        stage_column: Header of the stage labels, named in messages.

    Raises:
        PipesheetError: a blank stage, a stage listed twice (compared as stage labels are:
            case and spaces folded), or what :func:`parse_probabilities` refuses.
    """
    index = pd.Index(list(rows) if rows is not None else range(2, 2 + len(pairs)), name="row")
    labels = clean_text_column(pd.Series([p[0] for p in pairs], index=index, dtype=object))
    blank = labels.isna().to_numpy()
    if blank.any():
        raise PipesheetError(
            "stage is blank",
            table=table,
            column=stage_column,
            rows=_rows(index, blank),
            expected="a stage name",
        )
    keys = labels.map(stage_key)
    dup = keys.duplicated(keep=False).to_numpy()
    if dup.any():
        first = keys[dup].iloc[0]
        same = (keys == first).to_numpy()
        raise PipesheetError(
            "stage listed twice",
            table=table,
            column=stage_column,
            rows=_rows(index, same),
            value=labels[same].iloc[0],
            expected="each stage once (which value is meant cannot be guessed)",
        )
    values = parse_probabilities(
        pd.Series([p[1] for p in pairs], index=index, dtype=object), table=table, column=column
    )
    return list(zip(labels.tolist(), values.tolist(), strict=True))


def parse_date_setting(value: Any, name: str = "as_of") -> np.datetime64 | None:
    """A date setting as ``np.datetime64`` (the day, midnight); None when blank.

    Kept for callers of earlier versions: :func:`pipesheet.periods.read_date_setting` is the one
    reader of date settings (a bare date means the whole day: see :mod:`pipesheet.periods`)."""
    from pipesheet.periods import read_date_setting

    day = read_date_setting(value, name)
    return None if day is None else day.to_datetime64()


def parse_dates(
    values: pd.Series,
    *,
    table: str,
    column: str,
    allow_blank: bool = True,
    dayfirst: bool | None = None,
) -> pd.Series:
    """Dates read by the one rule for dates in cells (:mod:`pipesheet.cells`).

    Date cells, ISO text, other common text forms, or Excel serial numbers (1900 date system),
    from :data:`~pipesheet.cells.DATE_MIN` to :data:`~pipesheet.cells.DATE_MAX`.  Distinct
    values are read once (a history of a million rows usually has a few hundred distinct dates).
    Time zones are dropped: the local wall time is kept.  The day/month order of ``03/04/2027``
    texts comes from the column (a part above 12), else from ``dayfirst``, else they are refused.

    Raises:
        PipesheetError: naming the cell(s): not a date (a word, a time alone, a year alone, an
            Excel error value, TRUE/FALSE, an impossible day), outside the supported range,
            ambiguous day/month order with no setting, both orders in the column, or a blank
            when ``allow_blank`` is false.
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        out = values
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_localize(None)  # local wall time
        raw = out.to_numpy()
        with np.errstate(invalid="ignore"):
            outside = ~np.isnat(raw) & (
                (raw < DATE_MIN.to_datetime64()) | (raw > _DATE_END.to_datetime64())
            )
        if outside.any():
            _raise_date(values, outside, "outside the supported date range", table, column)
        out = pd.Series(raw.astype("datetime64[ns]"), index=values.index)
    else:
        codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
        parsed, problems = _unique_dates(
            pd.Series(uniques, dtype=object), dayfirst, values, table, column
        )
        row_problems = np.append(problems, None)[codes]
        bad = row_problems != None  # noqa: E711 - element-wise
        if bad.any():
            _raise_date(values, bad, row_problems, table, column)
        arr = np.append(parsed, np.datetime64("NaT", "ns"))[codes]
        out = pd.Series(arr, index=values.index, dtype="datetime64[ns]")
    blank = out.isna().to_numpy()
    if blank.any() and not allow_blank:
        raise PipesheetError(
            "date is blank",
            table=table,
            column=column,
            rows=_rows(values.index, blank),
            expected=DATE_EXPECTED,
        )
    return out


_SERIAL_CHARS = np.array([ord(c) for c in "0123456789."] + [0], dtype=np.uint32)
_DATE_END = DATE_MAX + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
_DATE_PROBLEMS = {
    "not a date": ("not a date", DATE_EXPECTED),
    "not a real date": ("not a real date", "a calendar date such as 2026-09-30"),
    "outside the supported date range": (
        f"date outside the supported range {DATE_RANGE_TEXT}",
        "a date in that range; leave the cell blank when there is no date (placeholders such "
        "as 9999-12-31 or 0001-01-01 are not dates)",
    ),
    "a time without a date": ("a time without a date", DATE_EXPECTED),
    "a year alone": ("a year alone is not a date", DATE_EXPECTED),
    "an Excel error value": (
        "date is an Excel error value",
        DATE_EXPECTED + "; the cell shows a formula's error — fix it where the data comes from",
    ),
    "TRUE/FALSE": ("date is TRUE/FALSE", DATE_EXPECTED),
    "a number outside the date range": (
        f"number outside the supported date range {DATE_RANGE_TEXT} (Excel serial numbers "
        f"{SERIAL_MIN:.0f} to {math.floor(SERIAL_MAX):.0f})",
        DATE_EXPECTED + "; leave the cell blank when there is no date",
    ),
    "ambiguous day/month order": (
        "day/month order is ambiguous: this date could be day/month or month/day, and no value "
        "of the column has a part above 12 to tell",
        DATE_ORDER_SETTING,
    ),
}


def _raise_date(
    values: pd.Series, mask: np.ndarray, problems: Any, table: str, column: str
) -> None:
    """Raise for the first bad row (an ambiguous order only when nothing else is wrong)."""
    kinds = np.broadcast_to(np.asarray(problems, dtype=object), mask.shape)
    other = mask & (kinds != "ambiguous day/month order")
    pick = other if other.any() else mask
    first = int(np.flatnonzero(pick)[0])
    kind = kinds[first]
    same = pick & (kinds == kind)
    problem, want = _DATE_PROBLEMS[kind]
    raise PipesheetError(
        problem,
        table=table,
        column=column,
        rows=_rows(values.index, same),
        value=values.iloc[first],
        expected=want,
    )


def _unique_dates(
    uniques: pd.Series, dayfirst: bool | None, values: pd.Series, table: str, column: str
) -> tuple[np.ndarray, np.ndarray]:
    """``(dates, problems)`` of distinct cells (NaT/None where blank)."""
    n = len(uniques)
    out = np.full(n, np.datetime64("NaT", "ns"))
    problems = np.full(n, None, dtype=object)
    if not n:
        return out, problems
    if pd.api.types.infer_dtype(uniques.to_numpy(), skipna=False) == "string":
        kinds = np.full(n, "text", dtype=object)  # the usual CSV case: no per-value checks
    else:
        kinds = uniques.map(_date_kind).to_numpy(dtype=object)
    for kind, problem in (
        ("time", "a time without a date"),
        ("bool", "TRUE/FALSE"),
        ("other", "not a date"),
    ):
        problems[kinds == kind] = problem
    stamp_at = np.flatnonzero(kinds == "stamp")
    if len(stamp_at):
        days, outside = _stamps(uniques.iloc[stamp_at].tolist())
        out[stamp_at] = days
        problems[stamp_at[outside]] = "outside the supported date range"
    serial_at = list(np.flatnonzero(kinds == "number"))
    text_at = np.flatnonzero(kinds == "text")
    if len(text_at):
        texts = uniques.iloc[text_at].astype(str).str.strip().reset_index(drop=True)
        empty = (texts == "").to_numpy()
        codes = char_codes(texts, 5)
        # serial numbers as text ("45930"): only texts of digits and a point need the full check
        maybe = np.isin(codes, _SERIAL_CHARS).all(axis=1) & ~empty
        digits = np.zeros(len(texts), dtype=bool)
        if maybe.any():
            digits[maybe] = texts[maybe].str.fullmatch(r"\d+(?:\.\d+)?").to_numpy(dtype=bool)
        serial_at += list(text_at[digits])
        words = ~empty & ~digits
        if words.any():
            filled = texts[words].reset_index(drop=True)
            day_ev, month_ev = date_order_evidence(filled, strip=False)
            if day_ev is not None and month_ev is not None and dayfirst is None:
                rows = [_first_row(values, v) for v in (day_ev, month_ev)]
                raise PipesheetError(
                    f"dates in both day/month and month/day order: {day_ev!r} (row {rows[0]}) "
                    f"is day first, {month_ev!r} (row {rows[1]}) month first",
                    table=table,
                    column=column,
                    rows=rows,
                    expected="one date order in the column (or ISO dates like 2026-09-30)",
                )
            order = dayfirst
            if order is None:
                order = True if day_ev is not None else False if month_ev is not None else None
            read = read_date_texts(filled, order, strip=False)
            out[text_at[words]] = read.values
            problems[text_at[words]] = read.problems
    if serial_at:
        at = np.asarray(serial_at, dtype=np.int64)
        numbers = pd.to_numeric(
            uniques.iloc[at].map(lambda v: str(v).strip() if isinstance(v, str) else v),
            errors="coerce",
        ).to_numpy(dtype=float)
        blank = np.isnan(numbers)
        days, outside = serial_dates(numbers)
        out[at] = np.where(blank, np.datetime64("NaT", "ns"), days)
        problems[at[outside & ~blank]] = "a number outside the date range"
        with np.errstate(invalid="ignore"):
            year = outside & (numbers >= 1000) & (numbers <= 2999) & (numbers % 1 == 0)
        problems[at[year]] = "a year alone"
    return out, problems


def _date_kind(value: Any) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return "number"  # blank
    if isinstance(value, str):
        return "text"
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return "number"
    if isinstance(value, (dt.datetime, dt.date, np.datetime64, pd.Timestamp)):
        return "stamp"
    if isinstance(value, dt.time):
        return "time"
    return "other"


def _stamps(values: list) -> tuple[np.ndarray, np.ndarray]:
    """Date/datetime objects as ``datetime64[ns]`` (time zone dropped: wall time), and True
    where one is outside the supported range (then NaT)."""
    out = np.full(len(values), np.datetime64("NaT", "ns"))
    outside = np.zeros(len(values), dtype=bool)
    for i, v in enumerate(values):  # per distinct value
        if isinstance(v, np.datetime64):
            if np.isnat(v):
                continue
            v = pd.Timestamp(v.astype("datetime64[us]")) if _in_range(v) else None
            if v is None:
                outside[i] = True
                continue
        if getattr(v, "tzinfo", None) is not None:
            v = v.replace(tzinfo=None)
        day = v.date() if isinstance(v, dt.datetime) else v
        if not DATE_MIN.date() <= day <= DATE_MAX.date():
            outside[i] = True
            continue
        out[i] = np.datetime64(pd.Timestamp(v).to_datetime64(), "ns")
    return out, outside


def _in_range(value: np.datetime64) -> bool:
    day = value.astype("datetime64[D]")
    return bool(np.datetime64(DATE_MIN.date(), "D") <= day <= np.datetime64(DATE_MAX.date(), "D"))


def _text_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Clean text keys, computed once per distinct value: ``(codes, uniques)``, code -1 = blank.

    White space is collapsed; whole numbers become ``'123'`` (Excel sends ids as ``123.0``).
    """
    codes, uniques, _ = _text_codes_as_given(values)
    return codes, uniques


def _text_codes_as_given(values: pd.Series) -> tuple[np.ndarray, np.ndarray, bool]:
    """:func:`_text_codes`, and whether every non-blank value was clean text already (then the
    column's own values are the cleaned ones)."""
    codes, uniques = _factorize_runs(values)
    uniques = np.asarray(uniques, dtype=object)
    if pd.api.types.infer_dtype(uniques, skipna=False) == "string":  # all text: the fast path
        if _already_clean(uniques):
            return codes, uniques, True  # the usual case: a few scans of the joined text
        cleaned = [" ".join(strip_invisible(u).split()) or None for u in uniques]
    else:
        cleaned = [clean_text(u) for u in uniques]
    codes2, uniques2 = pd.factorize(pd.Series(cleaned, dtype=object), use_na_sentinel=True)
    lookup = np.append(codes2, -1)
    return lookup[codes], np.asarray(uniques2, dtype=object), False


def _already_clean(texts: np.ndarray) -> bool:
    """True when ``" ".join(t.split()) == t`` and ``t != ""`` for every text (checked in bulk)."""
    joined = "\x00".join(texts)
    if (
        "  " in joined
        or "\x00 " in joined
        or " \x00" in joined
        or "\x00\x00" in joined
        or joined[:1] in (" ", "\x00", "")
        or joined[-1:] in (" ", "\x00")
    ):
        return False
    if joined.isascii():
        return not any(c in joined for c in _ASCII_OTHER_SPACE)
    return (
        _OTHER_SPACE.search(joined) is None
        and INVISIBLE.search(joined) is None
        and unicodedata.is_normalized("NFC", joined)
    )


def _factorize_runs(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize`` (codes in order of first appearance, -1 = missing), faster on grouped data.

    Exports usually list a deal's rows together, so consecutive equal values are collapsed into
    runs first and only one value per run is hashed (a million history rows of 100k deals hash
    100k ids, not a million). The result is the same as ``pd.factorize(values)``.
    """
    arr = values.to_numpy()
    if len(arr) > 1 and arr.dtype == object:
        try:
            heads = np.empty(len(arr), dtype=bool)
            heads[0] = True
            np.not_equal(arr[1:], arr[:-1], out=heads[1:])
        except (TypeError, ValueError):  # e.g. pd.NA cells: compare the slow way
            heads = None
        if heads is not None and np.count_nonzero(heads) * 2 < len(arr):
            starts = np.flatnonzero(heads)
            run_codes, uniques = pd.factorize(arr[starts], use_na_sentinel=True)
            lengths = np.diff(starts, append=len(arr))
            return np.repeat(run_codes, lengths), uniques
    return pd.factorize(arr, use_na_sentinel=True)


def clean_text(value: object) -> str | None:
    """One cell as clean text: invisible characters (zero-width space, soft hyphen, BOM…)
    dropped and NFC form (:func:`pipesheet.labels.strip_invisible`), white space collapsed,
    whole numbers as ``'123'`` (Excel sends ids as ``123.0``), None for a blank."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    text = " ".join(strip_invisible(str(value)).split())
    return text or None


def clean_text_column(values: pd.Series) -> pd.Series:
    """:func:`clean_text` of every cell (computed once per distinct value, see
    :func:`_text_codes`), None for blanks."""
    codes, uniques = _text_codes(values)
    arr = np.append(uniques, None)[codes]
    return pd.Series(arr, index=values.index, dtype=object)


def _stage_codes(labels: pd.Series, stages: StageList, table: str, column: str) -> np.ndarray:
    codes = stages.codes(labels)
    blank = codes == -2
    if blank.any():
        raise PipesheetError(
            "stage is blank",
            table=table,
            column=column,
            rows=_rows(labels.index, blank),
            expected="a stage name",
        )
    unknown = codes < 0
    if unknown.any():
        value = labels[unknown].iloc[0]
        suggestion = stages.suggest(value)
        hint = f" (did you mean {suggestion!r}?)" if suggestion else ""
        raise PipesheetError(
            f"unknown stage{hint}",
            table=table,
            column=column,
            rows=_rows(labels.index, unknown),
            value=value,
            expected="one of " + ", ".join([*stages.open, stages.won_label, stages.lost_label]),
        )
    return codes


def date_order_of(table: Any, dayfirst: bool | None = None) -> bool | None:
    """The day/month order for a table's ambiguous text dates: ``dayfirst`` when given, else the
    order the table carries in ``attrs["dayfirst"]`` (set by the file and Excel readers when the
    user chose one), else None."""
    if dayfirst is not None:
        return bool(dayfirst)
    carried = getattr(table, "attrs", {}).get("dayfirst") if hasattr(table, "attrs") else None
    return None if carried is None else bool(carried)


def check_table(table: pd.DataFrame, name: str, *, drop_blank: bool = True) -> pd.DataFrame:
    """The user's table with spreadsheet row numbers as index, entirely blank rows dropped.

    ``drop_blank=False`` skips looking for blank rows (a caller that finds a blank key cell calls
    again with the result, whose row numbers are kept).
    """
    if not isinstance(table, pd.DataFrame):
        raise PipesheetError(f"expected a table, got {type(table).__name__}", table=name)
    out = table.copy(deep=False)  # the readers never write into it
    if not _has_row_index(table):
        # number the rows as the spreadsheet does *before* dropping blank ones
        out.index = pd.RangeIndex(2, 2 + len(table.index), name="row")
    if out.shape[1] == 0 or (drop_blank and out.iloc[:, 0].isna().any()):
        # only then can a row be entirely blank (a full scan of every column is costly)
        out = out.dropna(how="all")
    if out.empty:
        raise PipesheetError(
            "the table is empty", table=name, expected="a header row and at least one data row"
        )
    return out


def _copy_on_write() -> bool:
    """True when pandas copies on write (always from pandas 3): shared columns are then safe."""
    if int(pd.__version__.split(".")[0]) >= 3:
        return True
    return pd.options.mode.copy_on_write is True


def _has_row_index(table: pd.DataFrame) -> bool:
    return table.index.name == "row" and pd.api.types.is_integer_dtype(table.index.dtype)


# ---- readers ---------------------------------------------------------------------------------
def read_deals(
    table: pd.DataFrame | Deals,
    *,
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
    skip_blank_amounts: bool = False,
    name: str = "deals",
    dayfirst: bool | None = None,
) -> Deals:
    """Validate a deals table: one row per deal.

    Required: deal id, stage. Amount is needed wherever money is computed (forecasts, ranges,
    quota gap, backtest, waterfall): a blank amount is kept as NaN here and the computation
    applies its ``blank_amounts`` choice ("error" by default; see
    :func:`pipesheet.forecast.price_deals`); a table without an amount column reads (stage
    probabilities need no amount) and money computations raise the missing-column message.
    Expected close date is needed for forecasts by period (blank close dates are kept and
    reported as "no close date"). Optional: owner, product line, country, segment, currency,
    forecast category, created date, closed date, configured probability (0–100 or 0–1), status.

    Args:
        table: The user's table, headers in the first row (a DataFrame), or an already read Deals.
        stages: Stage list to check against. If not given: inferred from the configured
            probability column when there is one, else from the stages in the table in order of
            appearance (a note says so).
        columns: Explicit ``{field: header}`` mapping.
        skip_blank_amounts: Deprecated: drop the deals whose amount is blank here (counted in
            ``notes``). Use ``blank_amounts="skip"`` where the money is computed instead.
        name: Table name used in messages.
        dayfirst: Day/month order of text dates such as ``03/04/2027`` that no date of their
            column decides (default: the table's ``attrs["dayfirst"]``, which
            :func:`pipesheet.exports.read_table` and the Excel functions set; None: refused).
    """
    if isinstance(table, Deals):
        if stages is not None and stages != table.stages:
            again = read_deals(_restore(table), stages=stages, name=table.name)
            again.missing_amount = table.missing_amount
            return again
        return table
    raw = check_table(table, name)
    dayfirst = date_order_of(table, dayfirst)
    cols = resolve_columns(raw, DEAL_FIELDS, ("deal_id", "stage"), table_name=name, mapping=columns)
    missing_amount = None
    if "amount" not in cols:
        try:  # the message a money computation will give: the reader's own, with its hints
            resolve_columns(raw, DEAL_FIELDS, ("amount",), table_name=name, mapping=columns)
        except PipesheetError as err:
            missing_amount = err
    notes: list[str] = []
    frame = pd.DataFrame(index=raw.index)
    ids = clean_text_column(raw[cols["deal_id"]])
    blank = ids.isna().to_numpy()
    if blank.any():
        raise PipesheetError(
            "deal id is blank",
            table=name,
            column=cols["deal_id"],
            rows=_rows(raw.index, blank),
            expected="a unique id per deal",
        )
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        first = ids[dup].iloc[0]
        rows = _rows(raw.index, (ids == first).to_numpy())
        raise PipesheetError(
            f"deal id appears more than once ({dup.sum()} rows share an id)",
            table=name,
            column=cols["deal_id"],
            rows=rows,
            value=first,
            expected="one row per deal (a stage history goes in its own table)",
        )
    frame["deal_id"] = ids
    probability = None
    if "probability" in cols:
        probability = parse_probabilities(
            raw[cols["probability"]], table=name, column=cols["probability"]
        )
    labels = raw[cols["stage"]]
    check_confusable(labels, table=name, column=cols["stage"])
    inferred = stages is None
    if inferred:
        order_labels, order_p = labels, probability
        if "last_open_stage" in cols:  # stages closed deals were at count as stages too
            extra = raw[cols["last_open_stage"]]
            order_labels = pd.concat([labels, extra], ignore_index=True)
            if probability is not None:
                blank = pd.Series(np.nan, index=extra.index)
                order_p = pd.concat([probability, blank], ignore_index=True)
        stages = _infer_deal_stages(order_labels, order_p, notes)
    frame["stage"] = clean_text_column(labels)
    frame["code"] = _stage_codes(labels, stages, name, cols["stage"])
    if inferred and not (frame["code"] >= stages.k).any():
        notes.append(no_closed_label_message(pd.unique(frame["stage"].to_numpy()), "deals table"))
    if "amount" in cols:
        frame["amount"] = parse_amounts(
            raw[cols["amount"]], table=name, column=cols["amount"], allow_blank=True
        )
    else:
        frame["amount"] = np.full(len(raw.index), np.nan)
    if "close_date" in cols:
        frame["close_date"] = parse_dates(
            raw[cols["close_date"]], table=name, column=cols["close_date"], dayfirst=dayfirst
        )
    else:
        frame["close_date"] = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
        notes.append("no expected close date column: forecasts cannot be split by period")
    for fld in TEXT_FIELDS:
        if fld in cols:
            frame[fld] = clean_text_column(raw[cols[fld]])
    for fld in ("created_date", "closed_date"):
        if fld in cols:
            frame[fld] = parse_dates(
                raw[cols[fld]], table=name, column=cols[fld], dayfirst=dayfirst
            )
    if probability is not None:
        frame["probability"] = probability
    if "last_open_stage" in cols:
        frame["last_open_stage"] = clean_text_column(raw[cols["last_open_stage"]])
    if "status" in cols:
        frame["status"] = clean_text_column(raw[cols["status"]]).map(
            lambda v: stage_key(v) if isinstance(v, str) else v
        )
    if "currency" in frame:
        frame["currency"] = frame["currency"].map(lambda v: v.upper() if isinstance(v, str) else v)
    if skip_blank_amounts:
        import warnings

        warnings.warn(
            "read_deals(skip_blank_amounts=True) is deprecated: pass blank_amounts='skip' to "
            "the computation (weighted_forecast, pipeline_range, price_deals…) instead",
            DeprecationWarning,
            stacklevel=2,
        )
        if missing_amount is not None:
            raise missing_amount
        from pipesheet.forecast import blank_amount_rows

        skipped, note = blank_amount_rows(frame, "skip", table=name, column=cols["amount"])
        if note:
            notes.append(note)
            frame = frame[~skipped]
    return Deals(frame, stages, dict(cols), notes, name, missing_amount)


def _fmt_rows(rows: list[int]) -> str:
    from pipesheet.errors import format_rows

    return format_rows(rows)


def _infer_deal_stages(
    labels: pd.Series, probability: pd.Series | None, notes: list[str]
) -> StageList:
    keys = labels.map(lambda v: stage_key(v) if not pd.isna(v) else "")
    terminal = terminal_matcher(DEFAULT_WON, DEFAULT_LOST)
    present: dict[str, str] = {}
    for label, key in zip(labels.tolist(), keys.tolist(), strict=False):
        if key and key not in present and terminal.match(key) < 0:
            present[key] = clean_text(label)
    if not present:
        raise PipesheetError(
            "no open stages found and no stage list given",
            table="deals",
            expected="a stage list, or open deals in the table",
        )
    if probability is not None:
        frame = pd.DataFrame({"key": keys, "p": probability}).dropna()
        means = frame.groupby("key", sort=False)["p"].median()
        order = sorted(present, key=lambda k: (means.get(k, np.inf), list(present).index(k)))
        stages = StageList(
            tuple(present[k] for k in order),
            source="inferred from the deals' configured probabilities",
        )
    else:
        stages = StageList(
            tuple(present.values()),
            source="inferred from the deals table (order of first appearance)",
        )
    notes.append(f"stage order {stages.source}: " + " → ".join(stages.open))
    return stages


def _restore(deals: Deals) -> pd.DataFrame:
    frame = deals.frame.drop(columns=["code"])
    if deals.missing_amount is not None:  # no amount column: not a column of blanks
        frame = frame.drop(columns=["amount"])
    return frame


def read_history(
    table: pd.DataFrame | History,
    *,
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
    deals: Deals | None = None,
    won: tuple[str, ...] = DEFAULT_WON,
    lost: tuple[str, ...] = DEFAULT_LOST,
    name: str = "history",
    dayfirst: bool | None = None,
) -> History:
    """Validate a stage-history table: one row per (deal, stage, date entered).

    This is the shape of Salesforce OpportunityHistory and of HubSpot/Pipedrive stage-change
    exports. Rows of one deal on the same date keep the order they have in the table. A row
    repeating the deal's previous stage is kept (it does not change the stage).

    Args:
        table: The user's history table, or an already read History.
        stages: Stage list. If not given, the order of open stages is inferred from first-entry
            order (see :class:`~pipesheet.stages.StageList`), with Won/Lost from ``won``/``lost``.
        columns: Explicit ``{field: header}`` mapping.
        deals: The deals table, when given: every history row must belong to one of its deals.
        won, lost: Won/Lost labels used when the stage list is inferred.
        name: Table name used in messages.
        dayfirst: Day/month order of ambiguous text dates (see :func:`read_deals`).
    """
    if isinstance(table, History):
        return table
    raw = check_table(table, name, drop_blank=False)  # blank rows: see below
    cols = resolve_columns(
        raw, HISTORY_FIELDS, ("deal_id", "stage", "entered_date"), table_name=name, mapping=columns
    )
    notes: list[str] = []
    deal_codes, deal_uniques, as_given = _text_codes_as_given(raw[cols["deal_id"]])
    if (deal_codes < 0).any():  # only a row with a blank id can be entirely blank
        raw = check_table(raw, name)
        deal_codes, deal_uniques, as_given = _text_codes_as_given(raw[cols["deal_id"]])
    blank = deal_codes < 0
    if blank.any():
        raise PipesheetError(
            "deal id is blank",
            table=name,
            column=cols["deal_id"],
            rows=_rows(raw.index, blank),
            expected="the id of a deal",
        )
    if as_given:  # the ids are clean text: a copy of the column beats a lookup per row
        ids = pd.Series(
            raw[cols["deal_id"]].to_numpy(dtype=object).copy(), index=raw.index, dtype=object
        )
    else:
        ids = pd.Series(deal_uniques[deal_codes], index=raw.index, dtype=object)
    entered = parse_dates(
        raw[cols["entered_date"]],
        table=name,
        column=cols["entered_date"],
        allow_blank=False,
        dayfirst=date_order_of(table, dayfirst),
    )
    labels = raw[cols["stage"]]
    # factorise the labels once; both the inference and the coding below reuse it
    label_codes, label_uniques = pd.factorize(labels.to_numpy(), use_na_sentinel=True)
    check_confusable(labels, table=name, column=cols["stage"], uniques=label_uniques)
    categorical = pd.Series(
        pd.Categorical.from_codes(label_codes, categories=pd.Index(label_uniques, dtype=object)),
        index=labels.index,
    )
    order = entered.to_numpy().view("int64")  # nanoseconds, no copy
    sort = history_row_order(deal_codes, order)
    if stages is None:
        stages = StageList.from_history(
            categorical, deal_codes, order, won=won, lost=lost, _sort=sort
        )
        notes.append(f"stage order {stages.source}: " + " → ".join(stages.open))
    codes = _stage_codes(categorical, stages, name, cols["stage"])
    if not (codes >= stages.k).any():
        notes.append(no_closed_label_message(label_uniques, "history"))
    frame = pd.DataFrame(
        {"deal_id": ids, "stage": labels, "code": codes, "entered_date": entered},
        index=raw.index,
        copy=not _copy_on_write(),  # with copy-on-write, sharing the columns is safe
    )
    index = _HistoryIndex(frame, deal_codes, deal_uniques, sort)
    history = History(frame, stages, dict(cols), notes, name, _index=index)
    return history if deals is None else check_history_deals(history, deals)


def check_history_deals(history: History, deals: Deals) -> History:
    """The history, once every row is known to belong to a deal of the deals table."""
    frame = history.frame
    known = frame["deal_id"].isin(deals.frame["deal_id"]).to_numpy()
    if not known.all():
        raise PipesheetError(
            "history rows for a deal that is not in the deals table",
            table=history.name,
            column=history.columns["deal_id"],
            rows=_rows(frame.index, ~known),
            value=frame["deal_id"][~known].iloc[0],
            expected="deal ids that appear in table " + repr(deals.name),
        )
    return history


def group_field(by: str | None, deals: Deals | None) -> str | None:
    """The field of ``deals`` to group by, named by its field name or by the user's header
    (None when ``by`` is None)."""
    if by is None:
        return None
    if deals is None:
        raise PipesheetError(
            "grouping needs a deals table",
            value=by,
            expected="a deals table with the column " + repr(by),
        )
    key = normalise_header(by)
    for fld, header in deals.columns.items():
        if key in (normalise_header(fld), normalise_header(header)):
            if fld not in deals.frame or fld in ("deal_id", "amount"):
                break
            return fld
    raise PipesheetError(
        "cannot group by this column",
        table=deals.name,
        column=str(by),
        expected="one of the deals table's columns: "
        + ", ".join(h for f, h in deals.columns.items() if f in (*TEXT_FIELDS, "stage")),
    )


def group_fields(deals: Deals, by: str | Sequence[str] | None) -> list[str]:
    """:func:`group_field` of each of ``by`` (none when blank)."""
    if by is None or (isinstance(by, str) and not by.strip()):
        return []
    names = [by] if isinstance(by, str) else list(by)
    return [group_field(name, deals) for name in names]


def read_rates(table: pd.DataFrame | Mapping[str, float], *, name: str = "rates") -> pd.Series:
    """Currency rates: units of the reporting currency per one unit of each currency.

    Accepts a table with columns currency and rate, or a mapping ``{"USD": 0.92, ...}``.
    """
    if isinstance(table, Mapping):
        table = pd.DataFrame({"currency": list(table), "rate": list(table.values())})
    raw = check_table(table, name)
    cols = resolve_columns(
        raw,
        {
            "currency": ("currency", "code", "iso", "from"),
            "rate": ("rate", "fx_rate", "exchange_rate", "conversion_rate", "rate_to_reporting"),
        },
        ("currency", "rate"),
        table_name=name,
    )
    codes = clean_text_column(raw[cols["currency"]]).map(
        lambda v: v.upper() if isinstance(v, str) else v
    )
    rates = parse_amounts(
        raw[cols["rate"]], table=name, column=cols["rate"], what="rate", limit=MAX_RATE
    )
    zero = (rates <= 0).to_numpy()
    if zero.any():
        raise PipesheetError(
            "rate must be above zero",
            table=name,
            column=cols["rate"],
            rows=_rows(raw.index, zero),
            value=rates[zero].iloc[0],
            expected="a positive rate (reporting currency per unit)",
        )
    dup = codes.duplicated(keep=False).to_numpy()
    if dup.any():
        raise PipesheetError(
            "currency listed twice",
            table=name,
            column=cols["currency"],
            rows=_rows(raw.index, dup),
            value=codes[dup].iloc[0],
            expected="one rate per currency",
        )
    return pd.Series(rates.to_numpy(), index=codes.to_numpy(), name="rate")
