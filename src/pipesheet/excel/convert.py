"""Cell values from Excel ↔ pandas, for the Excel functions (no xlwings import here).

Excel hands a custom function its arguments as 2-D lists of cell values: numbers, text, booleans,
``None`` (or ``""``) for blank cells, dates as Excel serial numbers (Office.js, xlwings Lite) or
``datetime`` objects (classic xlwings), and error cells either as Office.js error objects
``{"type": "Error", "basicValue": "#N/A", ...}`` or as their text ``"#N/A"``.

This module turns such arrays into the frames and scalars the core engine takes, and turns the
core's results back into arrays that spill cleanly:

* a table argument's first row is its header; blank trailing rows/columns (an over-sized range)
  are dropped; the frame's index is the row number *within the range* (header = row 1), the
  convention every :class:`~pipesheet.errors.PipesheetError` uses;
* an error cell inside a table becomes its text (``"#N/A"``), so the core reports it like any
  other bad value ("amount is not a number (value '#N/A')") instead of reading it as blank;
* an error cell, or a table, given where one value is expected is a ``PipesheetError``;
* a result frame spills as a header row plus rows, with no index, and with NaN/None shown as an
  empty cell and ±infinity as the text ``"infinite"``/``"-infinite"`` (never ``#NUM!``).
* arguments the core does not check itself are checked here and named in the message
  (:func:`number_argument`, :func:`whole_argument`, :func:`date_argument`);
* a result estimated above :data:`SPILL_LIMIT_BYTES` as sent to Excel (Office.js refuses a custom
  function's result above 5 MB) is replaced by a message naming the cap
  (:func:`spill_too_large`).

Dates are *not* converted here: the core's readers already accept Excel serial numbers.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.cells import is_excel_error, read_date_order, read_number_texts
from pipesheet.columns import normalise_header
from pipesheet.errors import PipesheetError
from pipesheet.formats import format_number, symbols
from pipesheet.headings import column_name, heading, headings
from pipesheet.i18n import N_, _, pgettext
from pipesheet.labels import strip_invisible
from pipesheet.periods import read_date_setting
from pipesheet.stages import DEFAULT_LOST, DEFAULT_WON, StageList, stage_key

__all__ = [
    "INFINITE",
    "SPILL_LIMIT_BYTES",
    "arguments_table",
    "date_argument",
    "either",
    "error_text",
    "is_blank",
    "mapping_from_range",
    "number_argument",
    "optional_bool",
    "optional_number",
    "optional_text",
    "payload_bytes",
    "rows_from_value",
    "scalar",
    "spill_frame",
    "spill_scalar",
    "spill_too_large",
    "stage_list_from_range",
    "table_from_range",
    "whole_argument",
]

INFINITE = N_("infinite")


def arguments_table() -> str:
    """The name messages give the arguments of a function (``table 'arguments'``), in the
    language spoken."""
    return pgettext("table", "arguments")


def either(options: Any) -> str:
    """``'a' or 'b' or 'c'`` in the language spoken."""
    return pgettext("list", " or ").join(options)


# ---- single cells -------------------------------------------------------------------------------
def error_text(value: Any) -> str | None:
    """``"#N/A"``-style text when ``value`` is an Excel error cell (object or text), else None."""
    if isinstance(value, dict):
        if value.get("type") == "Error":
            return str(value.get("basicValue") or "#" + str(value.get("errorType", "ERROR")))
        return None
    if is_excel_error(value):  # the one list of Excel error values (pipesheet.cells)
        return value.strip().upper()
    return None


def is_blank(value: Any) -> bool:
    """True for an empty cell: None, NaN or text that is only white space."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _cell(value: Any) -> Any:
    """One cell as the core wants it: blanks → None, error objects → their text, data types →
    their basic value."""
    if isinstance(value, dict):
        err = error_text(value)
        if err is not None:
            return err
        return value.get("basicValue")
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _clean_cell(value: Any) -> Any:
    """:func:`_cell` plus Pyodide's ``JsNull`` (how xlwings Lite hands over an empty cell)."""
    if value is None or isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        return value if value.strip() else None
    if type(value).__name__ == "JsNull":
        return None
    return _cell(value)


_CLEAN = np.frompyfunc(_clean_cell, 1, 1)
_NUMERIC = frozenset({"floating", "integer", "mixed-integer-float", "decimal", "empty"})


def _clean_column(values: np.ndarray) -> np.ndarray:
    """One column's cells cleaned (see :func:`_clean_cell`); homogeneous columns vectorised."""
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in _NUMERIC or kind == "boolean":
        return values
    if kind == "string":
        present = ~pd.isna(values)
        text = values[present].astype(str)
        empty = np.char.str_len(np.char.strip(text)) == 0 if len(text) else np.zeros(0, bool)
        if empty.any():
            values = values.copy()
            values[np.flatnonzero(present)[empty]] = None
        return values
    return _CLEAN(values)


def rows_from_value(value: Any) -> list[list[Any]]:
    """Any argument value (scalar, one row, or rows) as a list of rows."""
    if isinstance(value, (list, tuple)):
        if not value:
            return []
        if isinstance(value[0], (list, tuple)):
            return [list(r) for r in value]
        return [list(value)]
    return [[value]]


def scalar(value: Any, name: str) -> Any:
    """The single value of a one-cell argument (None when blank).

    Raises:
        PipesheetError: an error cell, or a range of several cells.
    """
    rows = rows_from_value(value)
    cells = [c for r in rows for c in r]
    if len(cells) > 1:
        cells = [c for c in cells if not is_blank(c)]
        if len(cells) > 1:
            raise PipesheetError(
                _("argument '{name}' is a range of {count} cells").format(
                    name=name, count=len(cells)
                ),
                table=arguments_table(),
                column=name,
                expected=_("a single cell or value"),
            )
    if not cells:
        return None
    cell = cells[0]
    err = error_text(cell)
    if err is not None:
        raise PipesheetError(
            _("argument '{name}' is an error cell").format(name=name),
            table=arguments_table(),
            column=name,
            value=err,
            expected=_("a value (fix the cell the argument points at)"),
        )
    cell = _cell(cell)
    if isinstance(cell, float) and math.isnan(cell):
        return None
    return cell


def optional_text(value: Any, name: str, default: str | None = None) -> str | None:
    """A text argument; blank → ``default``. Whole numbers are written without ``.0``."""
    cell = scalar(value, name)
    if cell is None:
        return default
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def optional_number(value: Any, name: str, default: float | None = None) -> Any:
    """A numeric argument; blank → ``default``. Other values go to the core as given (the core
    validates them and names the argument in its message)."""
    cell = scalar(value, name)
    return default if cell is None else cell


def number_argument(
    value: Any,
    name: str,
    default: float | None = None,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float | None:
    """A numeric argument checked here (for arguments the core does not check itself): a number
    or numeric text, finite, within [minimum, maximum]; blank → ``default``.

    Raises:
        PipesheetError: naming the argument, the value and what was expected.
    """
    cell = scalar(value, name)
    if cell is None:
        return default
    x = _as_number(cell)
    if not _within(x, minimum, maximum):
        _refuse(name, cell, _wanted(False, minimum, maximum, "g"))
    return x


def _within(x: float | None, minimum: float | None, maximum: float | None) -> bool:
    """True for a number within [minimum, maximum] (a missing bound is open)."""
    return x is not None and not (
        (minimum is not None and x < minimum) or (maximum is not None and x > maximum)
    )


def _bound(value: float, fmt: str) -> str:
    """A bound as a message writes it: ``","`` grouped whole number, ``"g"`` shortest."""
    if fmt == ",":
        return format_number(value, 0)
    return format(value, fmt).replace(".", symbols()[1])


def _wanted(whole: bool, minimum: float | None, maximum: float | None, fmt: str) -> str:
    """What an argument must be: a (whole) number from/≥/≤ its bounds."""
    low = "" if minimum is None else _bound(minimum, fmt)
    high = "" if maximum is None else _bound(maximum, fmt)
    if whole:
        if low and high:
            return _("a whole number from {low} to {high}").format(low=low, high=high)
        if low:
            return _("a whole number ≥ {low}").format(low=low)
        return _("a whole number ≤ {high}").format(high=high) if high else _("a whole number")
    if low and high:
        return _("a number from {low} to {high}").format(low=low, high=high)
    if low:
        return _("a number ≥ {low}").format(low=low)
    return _("a number ≤ {high}").format(high=high) if high else _("a number")


def _refuse(name: str, cell: Any, wanted: str) -> None:
    """Refuse an argument, naming it, its value and what it must be."""
    raise PipesheetError(
        _("argument '{name}' is not valid").format(name=name),
        table=arguments_table(),
        column=name,
        value=cell,
        expected=wanted,
    )


def whole_argument(
    value: Any,
    name: str,
    default: int | None = None,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    strict: bool = True,
) -> Any:
    """A whole-number argument (Excel numbers arrive as floats): a whole number or numeric text
    within [minimum, maximum]; blank → ``default``.  With ``strict=False`` a finite number that is
    not whole is handed to the core as given (the core names the argument in its message).

    Raises:
        PipesheetError: text that is not a number, TRUE/FALSE, a number out of the range — naming
            the argument, the value and what was expected.
    """
    cell = scalar(value, name)
    if cell is None:
        return default
    x = _as_number(cell)
    bad = not _within(x, minimum, maximum)
    if not bad and x is not None and not float(x).is_integer():
        if not strict:
            return x
        bad = True
    if bad:
        _refuse(name, cell, _wanted(True, minimum, maximum, ","))
    return int(x)


def _as_number(cell: Any) -> float | None:
    """A finite number from a number cell or numeric text; None otherwise (TRUE/FALSE too)."""
    if isinstance(cell, bool):
        return None
    if isinstance(cell, (int, float, np.integer, np.floating)):
        x = float(cell)
    elif isinstance(cell, str):
        try:
            x = float(cell.strip().replace("\u2212", "-"))
        except ValueError:
            return None
    else:
        return None
    return x if math.isfinite(x) else None


def date_argument(value: Any, name: str) -> Any:
    """A date argument, checked with the core's date reader so that a bad value is reported
    under the argument's own name; returns the cell as given (the core reads it the same way).

    Raises:
        PipesheetError: the value is not a date (naming the argument).
    """
    cell = scalar(value, name)
    if cell is not None:
        read_date_setting(cell, name)
    return cell


def optional_bool(value: Any, name: str, default: bool = False) -> bool:
    """TRUE/FALSE, 1/0, or yes/no/true/false text; blank → ``default``."""
    cell = scalar(value, name)
    if cell is None:
        return default
    if isinstance(cell, bool):
        return cell
    if isinstance(cell, (int, float)) and cell in (0, 1):
        return bool(cell)
    text = str(cell).strip().casefold()
    if text in ("true", "yes", "y", "1", "wahr", "vrai"):
        return True
    if text in ("false", "no", "n", "0", "falsch", "faux"):
        return False
    raise PipesheetError(
        _("argument '{name}' is not TRUE or FALSE").format(name=name),
        table=arguments_table(),
        column=name,
        value=cell,
        expected=_("TRUE or FALSE"),
    )


# ---- tables -------------------------------------------------------------------------------------
def table_from_range(value: Any, name: str, date_order: Any = None) -> pd.DataFrame:
    """A range with its header row (e.g. ``Deals[#All]``) as a DataFrame.

    Trailing blank rows and blank columns without a header are dropped (ranges drawn larger than
    the data). Blank cells become None, error cells their text (``"#N/A"``). The index is the row
    within the range, header = row 1 (``index.name == "row"``), which the core keeps for messages.
    ``date_order`` (``"dmy"``/``"mdy"``, blank: from the data) is the day/month order of text
    dates such as ``03/04/2027`` that no date of their column decides; the frame carries it in
    ``attrs["dayfirst"]`` for the core's readers.

    Raises:
        PipesheetError: no header row, a blank or repeated header, or no data rows.
    """
    rows = rows_from_value(value)
    if not rows or all(is_blank(_cell(c)) for c in rows[0]):
        raise PipesheetError(
            _("the range is empty or its first row (the header) is blank"),
            table=name,
            expected=_("the table with its header row, e.g. {table}[#All]").format(
                table=name.capitalize()
            ),
        )
    width = max(len(r) for r in rows)
    if all(len(r) == width for r in rows):
        data = np.empty((len(rows), width), dtype=object)
        data[:] = rows
    else:
        data = np.full((len(rows), width), None, dtype=object)
        for i, r in enumerate(rows):
            data[i, : len(r)] = r
    data[0] = _CLEAN(data[0])
    for j in range(width):  # column by column: numbers/text in C, mixed columns cell by cell
        data[1:, j] = _clean_column(data[1:, j])
    blank = pd.isna(data)
    header = data[0]
    body_blank = blank[1:]
    keep_cols = ~(blank[0] & body_blank.all(axis=0))
    if not keep_cols.all():
        data, blank, header = data[:, keep_cols], blank[:, keep_cols], header[keep_cols]
        body_blank = blank[1:]
    filled = np.flatnonzero(~body_blank.all(axis=1))
    n_body = int(filled[-1]) + 1 if len(filled) else 0
    headers = []
    seen: dict[str, int] = {}
    for j, h in enumerate(header):
        if blank[0, j]:
            raise PipesheetError(
                _("a column has no header"),
                table=name,
                column=_("column {number}").format(number=j + 1),
                rows=[1],
                expected=_(
                    "a header in the first row of the range (include the header row: {table}[#All])"
                ).format(table=name.capitalize()),
            )
        text = (
            str(int(h))
            if isinstance(h, float) and h.is_integer()
            else h.isoformat()
            if isinstance(h, (dt.date, dt.datetime))
            else " ".join(strip_invisible(str(h)).split())
        )
        # the same header twice is kept (an exact repeat gets "_", which compares equal): only
        # a field that needs one of them stops, naming both (columns.resolve_columns)
        while text in seen:
            text += "_"
        seen[text] = j
        headers.append(text)
    if n_body == 0:
        raise PipesheetError(
            _("the table has a header row but no data rows"),
            table=name,
            expected=_("a header row and at least one data row"),
        )
    headers = _own_headings(headers)
    body = data[1 : 1 + n_body]
    frame = pd.DataFrame(body, columns=headers, index=pd.RangeIndex(2, 2 + n_body, name="row"))
    frame = frame.infer_objects()  # all-number columns become float; the rest stay as given
    frame.attrs["dayfirst"] = read_date_order(scalar(date_order, "date_order"))
    return frame


def stage_list_from_range(value: Any, name: str = "stages") -> StageList | None:
    """A stage list from a range: one column of stage names in funnel order (a header such as
    ``Stage`` is optional), or a table with a stage column and optionally a type column saying
    Open/Won/Lost. Names that are Won/Lost labels (``Closed Won``, ``Lost``…) are terminal; the rest
    are the open stages in the order given. Blank → None (the core infers the order)."""
    rows = rows_from_value(value)
    cells = [[_cell(c) for c in r] for r in rows]
    if all(is_blank(c) for r in cells for c in r):
        return None
    first = [normalise_header(c) if not is_blank(c) else "" for c in cells[0]]
    stage_col, type_col, start = 0, None, 0
    stage_keys = ("stage", "stages", "stagename", "name", "dealstage")
    if any(h in stage_keys for h in first):
        stage_col = next(i for i, h in enumerate(first) if h in stage_keys)
        type_col = next((i for i, h in enumerate(first) if h in ("type", "status", "kind")), None)
        start = 1
    won_keys = {stage_key(x) for x in DEFAULT_WON}
    lost_keys = {stage_key(x) for x in DEFAULT_LOST}
    open_, won, lost = [], [], []
    for r in cells[start:]:
        label = r[stage_col] if stage_col < len(r) else None
        if is_blank(label):
            continue
        err = error_text(label)
        if err is not None:
            raise PipesheetError(
                _("a stage name is an error cell"),
                table=name,
                value=err,
                expected=_("a stage name"),
            )
        label = " ".join(str(label).split())
        kind = ""
        if type_col is not None and type_col < len(r) and not is_blank(r[type_col]):
            kind = stage_key(r[type_col])
        key = stage_key(label)
        if kind in ("won", "win") or (not kind and key in won_keys):
            won.append(label)
        elif kind in ("lost", "loss") or (not kind and key in lost_keys):
            lost.append(label)
        elif kind in ("", "open"):
            open_.append(label)
        else:
            raise PipesheetError(
                _("unknown stage type"),
                table=name,
                column="Type",
                value=r[type_col],
                expected=_("Open, Won or Lost"),
            )
    return StageList(
        tuple(open_),
        won=(*won, *[w for w in DEFAULT_WON if stage_key(w) not in {stage_key(x) for x in won}]),
        lost=(
            *lost,
            *[x for x in DEFAULT_LOST if stage_key(x) not in {stage_key(y) for y in lost}],
        ),
        source="given",
    )


def mapping_from_range(value: Any, name: str) -> dict[str, Any] | None:
    """A two-column range (key, value), with or without a header row, as a dict; blank → None."""
    rows = [[_cell(c) for c in r] for r in rows_from_value(value)]
    rows = [r for r in rows if not all(is_blank(c) for c in r)]
    if not rows:
        return None
    if any(len(r) < 2 for r in rows):
        raise PipesheetError(
            _("expected two columns"), table=name, expected=_("a range of names and values")
        )
    first = rows[0][1]
    header = isinstance(first, bool) or not isinstance(first, (int, float))
    if header and isinstance(first, str):  # "55%" or "1,5" is a value, not a header
        header = bool(np.isnan(read_number_texts(pd.Series([first])).values[0]))
    if header:
        rows = rows[1:]
    offset = 2 if header else 1
    out: dict[str, Any] = {}
    seen: dict[str, int] = {}
    for i, r in enumerate(rows):
        if is_blank(r[0]):
            raise PipesheetError(
                _("a name is blank"), table=name, rows=[i + offset], expected=_("a name")
            )
        key = " ".join(str(r[0]).split())
        folded = key.casefold()
        if folded in seen:
            raise PipesheetError(
                _("a name is listed twice"),
                table=name,
                rows=[seen[folded], i + offset],
                value=key,
                expected=_("each name once (which value is meant cannot be guessed)"),
            )
        seen[folded] = i + offset
        out[key] = r[1]
    return out


# ---- results ------------------------------------------------------------------------------------
def _spill_value(x: Any) -> Any:
    if x is None or x is pd.NaT:
        return ""
    if isinstance(x, (float, np.floating)):
        x = float(x)
        if math.isnan(x):
            return ""
        if math.isinf(x):
            return _(INFINITE) if x > 0 else "-" + _(INFINITE)
        return x
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, pd.Timestamp):
        return x.to_pydatetime()
    if isinstance(x, np.datetime64):
        return pd.Timestamp(x).to_pydatetime() if not np.isnat(x) else ""
    return x


def spill_frame(frame: pd.DataFrame, headers: Sequence[str] | None = None) -> list[list[Any]]:
    """A result frame as rows to spill: a header row, then the values; the index is never spilled.

    The header row shows each column's heading in the language spoken
    (:func:`pipesheet.headings.heading`; ``headers`` as given otherwise), and a two-column
    measure/item/setting table the heading of each of its names; numbers stay numbers.
    NaN/None/NaT → empty cell, ±inf → ``"infinite"``/``"-infinite"`` (in the language spoken),
    numpy scalars → Python.
    """
    names = [str(c) for c in frame.columns]
    head = [str(h) for h in headers] if headers is not None else headings(names)
    values = frame.to_numpy(dtype=object)
    body = [[_spill_value(x) for x in row] for row in values]
    if len(names) == 2 and names[0] in ("measure", "item", "setting"):
        for row in body:
            if isinstance(row[0], str):
                row[0] = heading(row[0])
    return [head, *body]


def _own_headings(headers: list[str]) -> list[str]:
    """A table pipesheet spilled (every header one of its headings, in any language: the result
    of another function fed back, e.g. ``PIPE_STAGE_PROBABILITIES(…)`` as probabilities) read
    with its columns' names; any other table's headers as written."""
    names = [column_name(h) for h in headers]
    if not headers or any(n is None for n in names) or len(set(names)) < len(names):
        return headers
    # a header that is a name already (any case) stays as written
    return [
        h if str(n).casefold() == h.casefold() else str(n)
        for h, n in zip(headers, names, strict=True)
    ]


def spill_scalar(x: Any) -> Any:
    """One result value for a single cell (NaN → empty, inf → ``"infinite"``)."""
    return _spill_value(x)


#: Office.js (xlwings Lite, xlwings Server, Excel on the web) refuses a custom function's result
#: above 5 MB; a result estimated above this (the cap less a margin for the message around it)
#: is replaced by a message instead of leaving the cell at #BUSY.
SPILL_CAP_MB = 5
SPILL_LIMIT_BYTES = 4_500_000
# how xlwings sends a date to Office.js (runtime 1.4+): a formatted serial number
_DATE_AS_SENT = {"type": "FormattedNumber", "basicValue": 46022.0, "numberFormat": "yyyy-mm-dd"}


def payload_bytes(result: Any) -> int:
    """The size, in bytes of JSON, of a result as it is sent to Excel (dates as Office.js
    formatted numbers, text as UTF-8)."""
    import json

    def default(value: Any) -> Any:
        if isinstance(value, (dt.date, dt.datetime, pd.Timestamp, np.datetime64)):
            return _DATE_AS_SENT
        return str(value)

    text = json.dumps(result, default=default, ensure_ascii=False, separators=(",", ":"))
    return len(text.encode("utf-8"))


def spill_too_large(result: Any, limit: int | None = None) -> str | None:
    """A message when ``result`` is too large to send to Excel (above ``limit``, default
    :data:`SPILL_LIMIT_BYTES`), else None."""
    limit = SPILL_LIMIT_BYTES if limit is None else limit
    if not isinstance(result, list) or not result or not isinstance(result[0], list):
        return None
    size = payload_bytes(result)
    if size <= limit:
        return None
    rows, cols = len(result) - 1, len(result[0])
    return _(
        "the result is too large to send to Excel: {rows} rows × {cols} columns, about "
        "{size} MB, over the {cap} MB Office.js allows a custom function's result; expected a "
        "smaller result: a summary option (show), fewer rows (top, a period) or pipesheet "
        "report / the command line for the full table."
    ).format(
        rows=format_number(rows),
        cols=cols,
        size=format_number(size / 1e6, 1),
        cap=SPILL_CAP_MB,
    )
