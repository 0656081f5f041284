"""Numbers and dates written as text in a file, turned into floats and datetimes.

Each cell is read by the one rule for cell values (:mod:`pipesheet.cells`); this module decides
what only a whole file can tell:

* Numbers: the decimal mark is taken from the numbers in the whole file (``1.250,50`` and
  ``12,5`` mean a decimal comma, ``1,250.50`` and ``12.5`` a decimal point; a ``;`` file with
  only ambiguous numbers such as ``1,250`` is read with a decimal comma, the European
  convention); thousands separators (``,`` ``.`` space ``'``) and currency signs are dropped;
  ``(1,200)``, ``1,200-`` and ``−1200`` are negative.  Plain whole numbers stay text so ids keep
  their leading zeros.  A column with any cell that is not a number (``250k``, ``50%``,
  ``#N/A``, ``TRUE``…) stays text: the engine names that cell if the column is used.
* Dates: ISO, ``d/m/y`` or ``m/d/y`` with ``/`` or ``-``, ``d.m.y`` (always day first) and
  English month names, with optional times (a time zone is dropped: local wall time).  The
  day/month order comes from the values (a first part above 12 means day first, a second part
  above 12 month first) or, when every date is ambiguous, from ``dayfirst=``; with neither, the
  ambiguous columns stay text (a note says so) and the engine refuses them, naming the column
  and the setting, if they are used.  A column with a date outside the supported range
  (1980-01-01 to 2199-12-31, e.g. a ``9999-12-31`` placeholder), an impossible date or an Excel
  error value stays text the same way.

A file mixing decimal marks or date orders, or one column mixing date formats, is an error.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.cells import (
    EXCEL_ERRORS,
    NumberShapes,
    date_order_evidence,
    number_shapes,
    read_date_texts,
)
from pipesheet.errors import PipesheetError
from pipesheet.i18n import _

__all__ = ["typed_dates", "typed_numbers"]

_SEPARATED = re.compile(r"\d[.,\u00a0\u202f' ]\d")
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
    candidates: dict[str, tuple[pd.Series, NumberShapes]] = {}
    comma_ev: tuple[str, Any] | None = None
    point_ev: tuple[str, Any] | None = None
    by_convention = False  # the decimal mark is the delimiter's convention, not the data's
    for c in _text_columns(frame):
        if _numbers(_distinct(frame[c], _SAMPLE)) is None:
            continue  # a sample decides most text columns at a fraction of the cost
        uniq = _distinct(frame[c])
        uniq = uniq[uniq != ""].reset_index(drop=True)
        if len(uniq) == 0 or not uniq.str.contains(_SEPARATED).any():
            continue
        shapes = _numbers(uniq)
        if shapes is None:
            continue
        candidates[c] = (uniq, shapes)
        if shapes.comma.any() and comma_ev is None:
            comma_ev = (c, uniq[shapes.comma].iloc[0])
        if shapes.point.any() and point_ev is None:
            point_ev = (c, uniq[shapes.point].iloc[0])
    if decimal is None:
        if comma_ev and point_ev:
            raise PipesheetError(
                _(
                    "the file mixes decimal marks: {comma!r} in column {comma_column!r} has a "
                    "decimal comma, {point!r} in column {point_column!r} a decimal point"
                ).format(
                    comma=comma_ev[1],
                    comma_column=comma_ev[0],
                    point=point_ev[1],
                    point_column=point_ev[0],
                ),
                table=name,
                expected=_("one decimal mark in the whole file (or give decimal=',' or '.')"),
            )
        if comma_ev:
            decimal = ","
        elif point_ev:
            decimal = "."
        else:
            decimal = "," if delimiter == ";" else "."
            by_convention = True
    if decimal not in (",", "."):
        raise PipesheetError(
            _("decimal mark must be ',' or '.'"),
            table="settings",
            column="decimal",
            value=decimal,
        )
    example = None
    for c, (uniq, shapes) in candidates.items():
        read = shapes.read(decimal)
        if np.isnan(read.values).any():
            continue  # a cell that is not a number (e.g. "1.2.3"): leave the column as text
        frame[c] = _per_cell(frame[c], uniq, read.values, np.nan)
        example = uniq.iloc[0] if example is None else example
    if by_convention and example is not None:  # said only of numbers read so ("1.250" here)
        said = (
            _("numbers such as {example!r} read with a decimal comma (semicolon convention)")
            if decimal == ","
            else _("numbers such as {example!r} read with a decimal point (default convention)")
        )
        notes.append(said.format(example=example))
    return decimal


def _numbers(uniq: pd.Series) -> NumberShapes | None:
    """The shapes of the texts when every one has the shape of a number (no percent sign, no
    suffix, no word), else None."""
    uniq = uniq[uniq != ""]
    if not len(uniq):
        return None
    shapes = number_shapes(uniq)
    return shapes if bool((shapes.shaped & ~shapes.percent).all()) else None


def typed_dates(
    frame: pd.DataFrame, name: str, dayfirst: bool | None, decimal: str, notes: list[str]
) -> str | None:
    """Turn text columns of dates into datetime64; returns "day first"/"month first"/None.

    ``decimal`` is not used (the day/month order is never guessed from the file's convention);
    it is kept so that callers of earlier versions keep working."""
    del decimal
    slash_cols: dict[str, pd.Series] = {}
    other_cols: dict[str, pd.Series] = {}
    day_ev = month_ev = None
    for c in _text_columns(frame):
        sample = _distinct(frame[c], _SAMPLE)
        sample = sample[sample != ""]
        if not len(sample) or not _all_dates(sample[:200]):
            continue
        uniq = _distinct(frame[c])
        uniq = uniq[uniq != ""]
        forms = read_date_texts(uniq, True).form
        errors = uniq.str.upper().isin(EXCEL_ERRORS).to_numpy()
        if not ((forms != "") | errors).all() or (forms == "").all():
            continue
        kinds = set(forms[forms != ""])
        if len(kinds) > 1:
            first = uniq[forms != forms[forms != ""][0]].iloc[0]
            raise PipesheetError(
                _("dates written in different formats in one column"),
                table=name,
                column=c,
                value=first,
                expected=_("one date format per column"),
            )
        if kinds == {"slash"}:
            d_ev, m_ev = date_order_evidence(uniq)
            if d_ev is not None and day_ev is None:
                day_ev = (c, d_ev)
            if m_ev is not None and month_ev is None:
                month_ev = (c, m_ev)
            slash_cols[c] = uniq
        else:
            other_cols[c] = uniq
    order = None
    if slash_cols:
        if day_ev and month_ev and dayfirst is None:
            raise PipesheetError(
                _(
                    "dates in both day/month and month/day order: {day!r} in column "
                    "{day_column!r} is day first, {month!r} in column {month_column!r} is month "
                    "first"
                ).format(
                    day=day_ev[1], day_column=day_ev[0], month=month_ev[1], month_column=month_ev[0]
                ),
                table=name,
                expected=_("one date order in the whole file (or ISO dates like 2026-09-30)"),
            )
        if dayfirst is None:
            dayfirst = True if day_ev else False if month_ev else None
        if dayfirst is None:
            example = next(iter(slash_cols.values())).iloc[0]
            notes.append(
                _(
                    "dates such as {example!r} (column(s) {columns}) could be day/month or "
                    "month/day and no date in the file tells: left as text (give the date order: "
                    "--date-order dmy or mdy, dayfirst=True or False)"
                ).format(example=example, columns=", ".join(map(repr, slash_cols)))
            )
            slash_cols = {}
        else:
            order = "day first" if dayfirst else "month first"
    for c, uniq in {**slash_cols, **other_cols}.items():
        read = read_date_texts(uniq, dayfirst)
        if np.isnat(read.values).any():
            continue  # a cell that is not a supported date: the engine names it if it is used
        frame[c] = _per_cell(frame[c], uniq, read.values, np.datetime64("NaT", "ns"))
    return order


def _all_dates(uniq: pd.Series) -> bool:
    forms = read_date_texts(uniq, True).form
    errors = uniq.str.upper().isin(EXCEL_ERRORS).to_numpy()
    return bool(((forms != "") | errors).all() and (forms != "").any())
