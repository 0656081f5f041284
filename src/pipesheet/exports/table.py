"""One file — on disk or its bytes in memory — into one table with typed numbers and dates.

:func:`read_table` reads a path, :func:`read_bytes` the content of an uploaded file; both give
a frame whose index is the *spreadsheet row number* (header = row 1), so every later error
points at the row the user sees.  CSV text is read by :mod:`~pipesheet.exports.csvfile`,
workbooks by :mod:`~pipesheet.exports.workbook`, and numbers and dates written as text are typed
by :mod:`~pipesheet.exports.values`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipesheet.errors import PipesheetError
from pipesheet.exports.csvfile import TEXT_SUFFIXES, read_csv_bytes
from pipesheet.exports.values import typed_dates, typed_numbers
from pipesheet.exports.workbook import WORKBOOK_SUFFIXES, read_workbook
from pipesheet.exports.xlsxcells import hidden_cells, restore_cells
from pipesheet.i18n import _

__all__ = ["read_bytes", "read_table"]


def read_table(
    path: str | Path,
    sheet: str | int | None = None,
    table: str | None = None,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    decimal: str | None = None,
    dayfirst: bool | None = None,
) -> pd.DataFrame:
    """Read a CSV or spreadsheet file into a frame (headers from the first row).

    Args:
        path: ``.csv``/``.txt``/``.tsv`` or ``.xlsx``/``.xlsm``/``.xlsb``/``.xls``/``.ods``.
        sheet: Worksheet name or 0-based position (workbooks; default the first sheet).
        table: Excel Table name (workbooks); takes precedence over ``sheet``.
        encoding, delimiter, decimal: Override detection (CSV).
        dayfirst: Day/month order of dates such as 03/04/2026 that no date of the file decides
            (default: from the data — a part above 12 — else such columns stay text and are
            refused, naming the column, where they are used).

    Returns:
        The table; index = spreadsheet row numbers (name ``"row"``).  ``attrs`` holds
        ``file``, ``encoding``, ``delimiter``, ``decimal``, ``date_order``, ``dayfirst`` (the
        order given or found, which :func:`pipesheet.read_deals` uses for dates left as text),
        ``notes`` and ``encoding_notes`` (how the encoding was decided, when it took more than
        strict UTF-8).

    Raises:
        PipesheetError: missing/empty/undecodable file, ragged CSV rows, an encrypted or HTML
            "spreadsheet", a sheet or Excel Table that does not exist, mixed decimal marks or
            mixed date orders, impossible dates.
    """
    p = Path(path)
    if not p.is_file():
        raise PipesheetError(
            _("file not found"),
            table=p.name,
            value=str(path),
            expected=_("an existing CSV or XLSX file"),
        )
    return _read(p, p.name, str(p), sheet, table, encoding, delimiter, decimal, dayfirst)


def read_bytes(
    content: bytes | memoryview,
    name: str,
    sheet: str | int | None = None,
    table: str | None = None,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    decimal: str | None = None,
    dayfirst: bool | None = None,
) -> pd.DataFrame:
    """:func:`read_table` for a file's content in memory (an upload); ``name`` is the file name,
    whose extension decides the format and which every error names."""
    return _read(bytes(content), name, name, sheet, table, encoding, delimiter, decimal, dayfirst)


def _read(
    source: Path | bytes,
    name: str,
    file: str,
    sheet: str | int | None,
    table: str | None,
    encoding: str | None,
    delimiter: str | None,
    decimal: str | None,
    dayfirst: bool | None,
) -> pd.DataFrame:
    suffix = Path(name).suffix.casefold()
    if suffix in WORKBOOK_SUFFIXES:
        frame = read_workbook(source, name, sheet, table)
        if suffix in (".xlsx", ".xlsm"):  # error cells and TRUE/FALSE the fast reader changes
            restore_cells(frame, *hidden_cells(source, sheet, table))
        info = {"encoding": None, "delimiter": None}
    elif suffix in TEXT_SUFFIXES:
        if table is not None or sheet not in (None, 0):
            raise PipesheetError(
                _("a CSV file has no sheets or Excel Tables"),
                table=name,
                value=table or sheet,
                expected=_("sheet/table only for .xlsx files"),
            )
        raw = source.read_bytes() if isinstance(source, Path) else source
        frame, info = read_csv_bytes(raw, name, encoding, delimiter)
    else:
        raise PipesheetError(
            _("unknown file type"),
            table=name,
            value=Path(name).suffix,
            expected=_("a .csv or .xlsx file"),
        )
    how = list(info.pop("notes", None) or [])  # how the encoding was decided
    notes: list[str] = []
    decimal_mark = typed_numbers(frame, name, decimal, info.get("delimiter"), notes)
    order = typed_dates(frame, name, dayfirst, decimal_mark, notes)
    chosen = (
        dayfirst if dayfirst is not None else {"day first": True, "month first": False}.get(order)
    )
    frame.attrs.update(
        file=file,
        decimal=decimal_mark,
        date_order=order,
        dayfirst=chosen,
        notes=notes,
        encoding_notes=how,
        **info,
    )
    return frame
