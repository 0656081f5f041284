"""Numbers and dates written as text in a file, turned into floats and datetimes.

* Numbers: the decimal mark is taken from the numbers in the whole file (``1.250,50`` and
  ``12,5`` mean a decimal comma, ``1,250.50`` and ``12.5`` a decimal point; a ``;`` file with
  only ambiguous numbers such as ``1,250`` is read with a decimal comma, the European
  convention); thousands separators (``,`` ``.`` space ``'``) and currency signs are dropped.
  Plain whole numbers stay text so ids keep their leading zeros.
* Dates: ISO, ``d/m/y`` or ``m/d/y`` with ``/`` or ``-``, and ``d.m.y``, with optional times.
  The day/month order comes from the values (a first part above 12 means day first) or, when
  every date is ambiguous, from the file's convention (decimal comma: day first);
  ``dayfirst=`` overrides; ``30.09.2026`` is always day first.

A file mixing decimal marks or date orders, or holding a date that does not exist, is an error.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.errors import PipesheetError

__all__ = ["typed_dates", "typed_numbers"]

_CUR = r"[^\d\-+.,]{0,4}"  # a currency sign or code around the number
_NUM_POINT = re.compile(rf"^{_CUR}[-+]?(\d{{1,3}}(,\d{{3}})+|\d+)(\.\d+)?{_CUR}$")
_NUM_COMMA = re.compile(rf"^{_CUR}[-+]?(\d{{1,3}}(\.\d{{3}})+|\d+)(,\d+)?{_CUR}$")
_NUM_SPACE = re.compile(rf"^{_CUR}[-+]?\d{{1,3}}([ \u00a0\u202f']\d{{3}})+([.,]\d+)?{_CUR}$")
_SEPARATED = re.compile(r"\d[.,\u00a0\u202f' ]\d")
_COMMA_EVIDENCE = re.compile(r"^[^,]*\d,\d{1,2}\D*$|^[^,]*\d,\d{4,}\D*$|\d\.\d{3},\d|\d\.\d{3}\.\d")
_POINT_EVIDENCE = re.compile(r"^[^.]*\d\.\d{1,2}\D*$|^[^.]*\d\.\d{4,}\D*$|\d,\d{3}\.\d|\d,\d{3},\d")
_TIME = (
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s?[AaPp]\.?[Mm]\.?)?"
    r"(?:\s?(?:Z|UTC|GMT|[+-]\d{2}:?\d{2}))?)?"
)
_ISO = re.compile(rf"^\d{{4}}-\d{{1,2}}-\d{{1,2}}{_TIME}$")
_SLASH = re.compile(rf"^(\d{{1,2}})[/-](\d{{1,2}})[/-](\d{{2}}|\d{{4}}){_TIME}$")
_DOT = re.compile(rf"^(\d{{1,2}})\.(\d{{1,2}})\.(\d{{2}}|\d{{4}}){_TIME}$")
_YMD_SLASH = re.compile(rf"^\d{{4}}/\d{{1,2}}/\d{{1,2}}{_TIME}$")
_SAMPLE = 1000  # cells looked at before a whole column is


def _text_columns(frame: pd.DataFrame) -> list[str]:
    out = []
    for c in frame.columns:
        col = frame[c]
        if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            vals = col.dropna()
            if len(vals) and all(isinstance(v, str) for v in vals.iloc[:50]):
                out.append(c)
    return out


def _distinct(col: pd.Series, rows: int | None = None) -> pd.Series:
    """The distinct cells of ``col`` (of its first ``rows`` filled cells) as stripped text, in
    order of first appearance: those of a sample are a prefix of those of the whole column."""
    filled = col.dropna()
    if rows is not None:
        filled = filled.iloc[:rows]
    return pd.Series(filled.unique()).astype(str).str.strip()


def _per_cell(col: pd.Series, texts: pd.Series, values: np.ndarray, blank: Any) -> pd.Series:
    """``col`` with each cell replaced by the value of its stripped text (``texts[i]`` →
    ``values[i]``) and blank cells by ``blank``; computed once per distinct cell."""
    codes, distinct = pd.factorize(col, use_na_sentinel=True)
    keys = pd.Series(distinct, dtype=object).astype(str).str.strip()
    where = pd.Index(texts).get_indexer(keys)
    known = np.append(values, [blank])
    where[where < 0] = len(values)  # a cell of white space only: blank
    return pd.Series(np.append(known[where], [blank])[codes], index=col.index)


def typed_numbers(
    frame: pd.DataFrame, name: str, decimal: str | None, delimiter: str | None, notes: list[str]
) -> str:
    """Turn text columns of separated numbers into floats; returns the decimal mark used."""
    candidates: dict[str, pd.Series] = {}
    comma_ev: tuple[str, Any] | None = None
    point_ev: tuple[str, Any] | None = None
    for c in _text_columns(frame):
        if not _all_numbers(_distinct(frame[c], _SAMPLE)):
            continue  # a sample decides most text columns at a fraction of the cost
        uniq = _distinct(frame[c])
        if len(uniq) == 0 or not uniq.str.contains(_SEPARATED).any():
            continue
        if not _all_numbers(uniq):
            continue
        candidates[c] = uniq
        ce = uniq[uniq.str.contains(_COMMA_EVIDENCE)]
        pe = uniq[uniq.str.contains(_POINT_EVIDENCE)]
        if len(ce) and comma_ev is None:
            comma_ev = (c, ce.iloc[0])
        if len(pe) and point_ev is None:
            point_ev = (c, pe.iloc[0])
    if decimal is None:
        if comma_ev and point_ev:
            raise PipesheetError(
                "the file mixes decimal marks: "
                f"{comma_ev[1]!r} in column {comma_ev[0]!r} has a decimal comma, "
                f"{point_ev[1]!r} in column {point_ev[0]!r} a decimal point",
                table=name,
                expected="one decimal mark in the whole file (or give decimal=',' or '.')",
            )
        if comma_ev:
            decimal = ","
        elif point_ev:
            decimal = "."
        else:
            decimal = "," if delimiter == ";" else "."
            if candidates:
                notes.append(
                    f"numbers such as {next(iter(candidates.values())).iloc[0]!r} read with "
                    f"{'a decimal comma' if decimal == ',' else 'a decimal point'} "
                    f"({'semicolon' if delimiter == ';' else 'default'} convention)"
                )
    if decimal not in (",", "."):
        raise PipesheetError(
            "decimal mark must be ',' or '.'", table="settings", column="decimal", value=decimal
        )
    thousands = "." if decimal == "," else ","
    for c, uniq in candidates.items():
        text = uniq.str.replace(r"^[^\d\-+]*|[^\d]*$", "", regex=True)
        text = text.str.replace(r"[ \u00a0\u202f']", "", regex=True)
        text = text.str.replace(thousands, "", regex=False)
        if decimal == ",":
            text = text.str.replace(",", ".", regex=False)
        values = pd.to_numeric(text, errors="coerce")
        if values.isna().any():
            continue  # not a number column after all (e.g. "1.2.3" versions): leave as text
        frame[c] = _per_cell(frame[c], uniq, values.to_numpy(dtype=float), np.nan)
    return decimal


def _all_numbers(uniq: pd.Series) -> bool:
    return bool(
        (uniq.str.match(_NUM_POINT) | uniq.str.match(_NUM_COMMA) | uniq.str.match(_NUM_SPACE)).all()
    )


def _all_dates(uniq: pd.Series) -> bool:
    return bool(
        (
            uniq.str.match(_ISO)
            | uniq.str.match(_YMD_SLASH)
            | uniq.str.match(_SLASH)
            | uniq.str.match(_DOT)
        ).all()
    )


def typed_dates(
    frame: pd.DataFrame, name: str, dayfirst: bool | None, decimal: str, notes: list[str]
) -> str | None:
    """Turn text columns of dates into datetime64; returns "day first"/"month first"/None."""
    slash_cols: dict[str, pd.Series] = {}
    other_cols: dict[str, pd.Series] = {}
    day_ev = month_ev = None
    for c in _text_columns(frame):
        sample = _distinct(frame[c], _SAMPLE)
        if not _all_dates(sample[sample != ""][:200]):
            continue
        uniq = _distinct(frame[c])
        uniq = uniq[uniq != ""]
        if not len(uniq) or not _all_dates(uniq[:200]):
            continue
        iso = uniq.str.match(_ISO) | uniq.str.match(_YMD_SLASH)
        slash = uniq.str.match(_SLASH)
        dot = uniq.str.match(_DOT)
        if not (iso | slash | dot).all() or (
            iso.sum() == 0 and slash.sum() == 0 and dot.sum() == 0
        ):
            continue
        if not (iso.all() or slash.all() or dot.all()):
            raise PipesheetError(
                "dates written in different formats in one column",
                table=name,
                column=c,
                value=uniq[~iso].iloc[0] if iso.any() else uniq.iloc[0],
                expected="one date format per column",
            )
        if slash.all():
            parts = uniq.str.extract(_SLASH)
            a, b = parts[0].astype(int), parts[1].astype(int)
            if (a > 12).any() and day_ev is None:
                day_ev = (c, uniq[a > 12].iloc[0])
            if (b > 12).any() and month_ev is None:
                month_ev = (c, uniq[b > 12].iloc[0])
            slash_cols[c] = uniq
        else:
            other_cols[c] = uniq
    order = None
    if slash_cols:
        if day_ev and month_ev:
            raise PipesheetError(
                f"dates in both day/month and month/day order: {day_ev[1]!r} in column "
                f"{day_ev[0]!r} is day first, {month_ev[1]!r} in column {month_ev[0]!r} "
                "is month first",
                table=name,
                expected="one date order in the whole file (or ISO dates like 2026-09-30)",
            )
        if dayfirst is None:
            if day_ev:
                dayfirst = True
            elif month_ev:
                dayfirst = False
            else:
                dayfirst = decimal == ","
                notes.append(
                    "every date could be day/month or month/day; read as "
                    + ("day/month (European convention)" if dayfirst else "month/day (US)")
                    + " — pass dayfirst to change it"
                )
        order = "day first" if dayfirst else "month first"
    for c, uniq in {**slash_cols, **other_cols}.items():
        parsed = _parse_date_text(uniq, c in slash_cols, bool(dayfirst))
        bad = parsed.isna().to_numpy()
        if bad.any():
            value = uniq[bad].iloc[0]
            rows = frame.index[frame[c].astype(str).str.strip().to_numpy() == value]
            raise PipesheetError(
                "not a real date",
                table=name,
                column=c,
                rows=[int(r) for r in rows[:20]],
                value=value,
                expected="a calendar date such as 2026-09-30",
            )
        frame[c] = _per_cell(frame[c], uniq, parsed.to_numpy(), np.datetime64("NaT", "ns"))
    return order


def _parse_date_text(uniq: pd.Series, slash: bool, dayfirst: bool) -> pd.Series:
    text = uniq.str.replace(r"\s?(UTC|GMT)$", "", regex=True)
    text = text.str.replace(r"(\d)\s?([AaPp])\.?([Mm])\.?$", r"\1 \2M", regex=True).str.upper()
    if slash:
        parts = text.str.extract(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{2,4})(.*)$")
        day, month = (parts[0], parts[1]) if dayfirst else (parts[1], parts[0])
        year = parts[2].where(parts[2].str.len() == 4, "20" + parts[2])
        text = year + "-" + month.str.zfill(2) + "-" + day.str.zfill(2) + parts[3]
    elif text.str.match(_DOT).all():
        parts = text.str.extract(r"^(\d{1,2})\.(\d{1,2})\.(\d{2,4})(.*)$")
        year = parts[2].where(parts[2].str.len() == 4, "20" + parts[2])
        text = year + "-" + parts[1].str.zfill(2) + "-" + parts[0].str.zfill(2) + parts[3]
    text = text.str.replace("/", "-", regex=False)
    ampm = text.str.contains(r"[AP]M$")
    out = pd.Series(pd.NaT, index=uniq.index, dtype="datetime64[ns]")
    if (~ampm).any():
        iso = pd.to_datetime(text[~ampm], format="ISO8601", errors="coerce", utc=True)
        out[~ampm] = iso.dt.tz_convert(None).to_numpy()
    if ampm.any():
        for fmt in ("%Y-%m-%d %I:%M %p", "%Y-%m-%d %I:%M:%S %p"):
            todo = ampm & out.isna()
            if todo.any():
                out[todo] = pd.to_datetime(text[todo], format=fmt, errors="coerce").to_numpy()
    return out
