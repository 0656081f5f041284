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

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

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
    "group_field",
    "group_fields",
    "parse_amounts",
    "parse_date_setting",
    "parse_dates",
    "parse_probabilities",
    "read_deals",
    "read_history",
    "read_rates",
]

TEXT_FIELDS = ("owner", "product_line", "country", "segment", "currency", "forecast_category")
DATE_EXPECTED = "a date: a spreadsheet date, ISO text like 2026-09-30, or an Excel serial number"
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_SERIAL_RANGE = (1.0, 2958465.0)  # 1900-01-01 .. 9999-12-31
_US_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
_EU_THOUSANDS = re.compile(r"^-?\d{1,3}(\.\d{3})+(,\d+)?$")
_DECIMAL_COMMA = re.compile(r"^-?\d+,\d{1,2}$")
_OTHER_SPACE = re.compile(r"[^\S ]")  # white space other than a plain space
_ASCII_OTHER_SPACE = ("\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")
_SPACE_THOUSANDS = re.compile(r"^-?\d{1,3}([ \u00a0\u202f']\d{3})+([.,]\d+)?$")


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


def parse_amounts(
    values: pd.Series, *, table: str, column: str, allow_blank: bool = False
) -> pd.Series:
    """Amounts as float: numbers, or numeric text like ``"12,500"``, ``"12.500,50"``, ``"1 250"``.

    Text is read with a period as the decimal mark unless it can only be a decimal comma
    (``"12,5"``, ``"1.250,00"``). Currency symbols and codes around the number are ignored.

    Raises:
        PipesheetError: non-numeric text, negative or infinite amounts, or blanks (unless
            ``allow_blank``, in which case blanks come back as NaN for the caller to count).
    """
    if pd.api.types.is_bool_dtype(values.dtype):
        raise PipesheetError(
            "amounts are TRUE/FALSE", table=table, column=column, expected="a non-negative number"
        )
    if pd.api.types.is_numeric_dtype(values.dtype):
        out = values.astype(float)
    else:
        out = pd.to_numeric(values, errors="coerce").astype(float)
        todo = out.isna().to_numpy() & ~values.isna().to_numpy()
        if todo.any():
            text = values[todo].astype(str).str.strip()
            # Excel error cells (#DIV/0!, #N/A, #VALUE!) are not numbers: without this the
            # symbol stripping below would read "#DIV/0!" as 0.
            excel_error = text.str.startswith("#").to_numpy()
            text = text.str.replace(r"^[^\d\-.,]*|[^\d.,]*$", "", regex=True)
            text[excel_error] = ""
            fixed = text.copy()
            us = text.str.match(_US_THOUSANDS)
            fixed[us] = text[us].str.replace(",", "", regex=False)
            eu = text.str.match(_EU_THOUSANDS) | text.str.match(_DECIMAL_COMMA)
            fixed[eu] = (
                text[eu].str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
            )
            sp = text.str.match(_SPACE_THOUSANDS)
            fixed[sp] = (
                text[sp]
                .str.replace(r"[ \u00a0\u202f']", "", regex=True)
                .str.replace(",", ".", regex=False)
            )
            out[todo] = pd.to_numeric(fixed, errors="coerce").to_numpy()
    blank = _blank(values)
    bad = out.isna().to_numpy() & ~blank
    if bad.any():
        first = values[bad].iloc[0]
        raise PipesheetError(
            "amount is not a number",
            table=table,
            column=column,
            rows=_rows(values.index, bad),
            value=first,
            expected="a non-negative number such as 12500 or 12,500.00",
        )
    if blank.any() and not allow_blank:
        raise PipesheetError(
            "amount is blank",
            table=table,
            column=column,
            rows=_rows(values.index, blank),
            expected="a non-negative number (or skip blank amounts explicitly)",
        )
    arr = out.to_numpy()
    bad = ~np.isfinite(arr) & ~blank
    neg = (arr < 0) & ~blank
    for mask, what in ((bad, "amount is not finite"), (neg, "amount is negative")):
        if mask.any():
            raise PipesheetError(
                what,
                table=table,
                column=column,
                rows=_rows(values.index, mask),
                value=values[mask].iloc[0],
                expected="a non-negative number",
            )
    return out


def parse_probabilities(values: pd.Series, *, table: str, column: str) -> pd.Series:
    """Probabilities as 0–1 floats (blank = NaN), read as :func:`parse_amounts` reads numbers.

    A column is read as percentages when any value is above 1 (``25`` → 0.25), else as shares.

    Raises:
        PipesheetError: what :func:`parse_amounts` refuses, or a value above 100.
    """
    p = parse_amounts(values, table=table, column=column, allow_blank=True)
    above = (p > 100).to_numpy()
    if above.any():
        rows = _rows(values.index, above)
        raise PipesheetError(
            "probability above 100",
            table=table,
            column=column,
            rows=rows,
            value=values.loc[rows[0]],
            expected="a probability between 0 and 100 (or 0 and 1)",
        )
    return p / 100.0 if p.max(skipna=True) > 1 else p


def parse_date_setting(value: Any, name: str = "as_of") -> np.datetime64 | None:
    """A date setting (as of, start, end, a deadline…) read as :func:`parse_dates` reads a cell,
    as numpy datetime64; None when blank.  A bad value is reported under ``name`` (no row: it is
    a setting, not a table cell)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        parsed = parse_dates(pd.Series([value]), table="settings", column=name)
    except PipesheetError as err:
        raise PipesheetError(
            err.problem, table="settings", column=name, value=err.value, expected=err.expected
        ) from None
    if parsed.isna().iloc[0]:
        return None
    return parsed.to_numpy()[0]


def _from_serial(serials: np.ndarray) -> np.ndarray:
    days = np.floor(serials)
    frac = serials - days
    base = _EXCEL_EPOCH.to_datetime64() + days.astype("timedelta64[D]")
    return (base + (frac * 86_400_000).round().astype("timedelta64[ms]")).astype("datetime64[ns]")


def parse_dates(
    values: pd.Series, *, table: str, column: str, allow_blank: bool = True
) -> pd.Series:
    """Dates from spreadsheet dates, ISO text, or Excel serial numbers (1900 date system).

    Distinct values are parsed once (a history of a million rows usually has a few hundred
    distinct dates), so this is fast on large tables. Time zones are dropped (local wall time).

    Raises:
        PipesheetError: text that is not a date, a serial number out of Excel's range, or a blank
            when ``allow_blank`` is false.
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        out = values
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_localize(None)
        out = out.astype("datetime64[ns]")
    else:
        codes, uniques = pd.factorize(values.to_numpy(), use_na_sentinel=True)
        parsed = _parse_unique_dates(pd.Series(uniques, dtype=object), table, column, values, codes)
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


def _parse_unique_dates(
    uniques: pd.Series, table: str, column: str, values: pd.Series, codes: np.ndarray
) -> np.ndarray:
    out = np.full(len(uniques), np.datetime64("NaT", "ns"))
    if not len(uniques):
        return out
    all_text = pd.api.types.infer_dtype(uniques.to_numpy(), skipna=False) == "string"
    if all_text:  # the usual CSV case: no per-value type checks
        is_ts = np.zeros(len(uniques), dtype=bool)
    else:
        is_ts = uniques.map(
            lambda v: isinstance(v, (pd.Timestamp, np.datetime64)) or hasattr(v, "year")
        ).to_numpy(dtype=bool)
    if is_ts.any():
        stamps = pd.to_datetime(uniques[is_ts], utc=False)
        out[is_ts] = pd.DatetimeIndex(
            [s.tz_localize(None) if getattr(s, "tzinfo", None) else s for s in stamps]
        ).to_numpy(dtype="datetime64[ns]")
    rest = ~is_ts
    if all_text:  # serial numbers sent as text ("45930"): digits, maybe a fraction
        text = uniques.astype(object).str.strip()
        digits = text.str.fullmatch(r"\d+(\.\d+)?").to_numpy(dtype=bool)
        numbers = np.full(len(uniques), np.nan)
        if digits.any():
            numbers[digits] = pd.to_numeric(text[digits], errors="coerce").to_numpy(dtype=float)
    else:
        numbers = pd.to_numeric(uniques[rest].map(_maybe_number), errors="coerce").to_numpy(
            dtype=float
        )
    is_num = np.zeros(len(uniques), dtype=bool)
    is_num[np.flatnonzero(rest)] = ~np.isnan(numbers)
    serials = numbers[~np.isnan(numbers)]
    if len(serials):
        out_of_range = (serials < _SERIAL_RANGE[0]) | (serials > _SERIAL_RANGE[1])
        if out_of_range.any():
            bad_value = serials[out_of_range][0]
            _raise_bad_date(
                uniques,
                np.flatnonzero(is_num)[out_of_range][0],
                values,
                codes,
                table,
                column,
                f"number {bad_value:g} is outside Excel's date range",
            )
        out[is_num] = _from_serial(serials)
    text_idx = np.flatnonzero(rest & ~is_num)
    if len(text_idx):
        text = uniques.iloc[text_idx].astype(str).str.strip()
        empty = (text == "").to_numpy()
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
        parsed = parsed.dt.tz_convert(None) if parsed.dt.tz is not None else parsed
        parsed_arr = parsed.to_numpy(dtype="datetime64[ns]")
        failed = np.isnat(parsed_arr) & ~empty
        if failed.any():
            # a second chance for common unambiguous spellings (2026/09/30, 30 Sep 2026...)
            retry = pd.to_datetime(text[failed], format="mixed", errors="coerce", dayfirst=False)
            ok = ~retry.isna().to_numpy()
            ambiguous = text[failed].str.match(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}$").to_numpy()
            ok &= ~ambiguous
            fixed = parsed_arr[failed]
            fixed[ok] = retry[ok].to_numpy(dtype="datetime64[ns]")
            parsed_arr[failed] = fixed
            failed = np.isnat(parsed_arr) & ~empty
            if failed.any():
                _raise_bad_date(
                    uniques, text_idx[failed][0], values, codes, table, column, "not a date"
                )
        out[text_idx] = parsed_arr
    return out


def _maybe_number(value: object) -> object:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, np.number)):
        return value
    text = str(value).strip()
    return text if re.fullmatch(r"\d+(\.\d+)?", text) else None


def _raise_bad_date(uniques, position, values, codes, table, column, problem) -> None:
    rows = _rows(values.index, codes == position)
    hint = ""
    text = str(uniques.iloc[position])
    if re.match(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}$", text):
        hint = " (day/month order is ambiguous; use ISO 2026-09-30 or a real date cell)"
    raise PipesheetError(
        problem + hint,
        table=table,
        column=column,
        rows=rows,
        value=uniques.iloc[position],
        expected=DATE_EXPECTED,
    )


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
    """
    if isinstance(table, Deals):
        if stages is not None and stages != table.stages:
            again = read_deals(_restore(table), stages=stages, name=table.name)
            again.missing_amount = table.missing_amount
            return again
        return table
    raw = check_table(table, name)
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
            raw[cols["close_date"]], table=name, column=cols["close_date"]
        )
    else:
        frame["close_date"] = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
        notes.append("no expected close date column: forecasts cannot be split by period")
    for fld in TEXT_FIELDS:
        if fld in cols:
            frame[fld] = clean_text_column(raw[cols[fld]])
    for fld in ("created_date", "closed_date"):
        if fld in cols:
            frame[fld] = parse_dates(raw[cols[fld]], table=name, column=cols[fld])
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
        raw[cols["entered_date"]], table=name, column=cols["entered_date"], allow_blank=False
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
    rates = parse_amounts(raw[cols["rate"]], table=name, column=cols["rate"])
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
