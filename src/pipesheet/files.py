"""Read tables from CSV and XLSX files, and write result tables to a new workbook.

Reading: CSV in UTF-8 (with or without BOM), falling back to cp1252 / latin-1; delimiter ``,``,
``;``, tab or ``|`` detected from the first lines; every cell is read as text so ids keep their
leading zeros and the engine's own parsers handle numbers and dates. XLSX is read with the calamine
engine; a sheet or an Excel Table can be picked by name.

Writing: :func:`write_workbook` writes a *new* workbook atomically (a temporary file in the same
folder, then a rename), one sheet per table with a frozen header, an Excel Table, and text that
starts with ``=``, ``+``, ``-`` or ``@`` stored as text so Excel never runs it as a formula.
"""

from __future__ import annotations

import csv
import io
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from pipesheet.errors import PipesheetError

__all__ = ["read_table", "write_workbook"]

_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
_DELIMITERS = ",;\t|"


def read_table(path: str | os.PathLike, *, sheet: str | None = None,
               table: str | None = None) -> pd.DataFrame:
    """Read a CSV or XLSX file into a DataFrame of text cells (headers from the first row).

    Args:
        path: A ``.csv``/``.txt``/``.tsv`` or ``.xlsx``/``.xlsm`` file.
        sheet: Worksheet name (XLSX; default the first sheet).
        table: Excel Table name (XLSX); takes precedence over ``sheet``.

    Raises:
        PipesheetError: the file is missing, of an unknown type, not decodable, or the sheet/table
            does not exist.
    """
    p = Path(path)
    name = p.name
    if not p.is_file():
        raise PipesheetError("file not found", table=name, value=str(path),
                             expected="a path to an existing CSV or XLSX file")
    suffix = p.suffix.casefold()
    if suffix in (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"):
        return _read_workbook(p, sheet, table)
    if suffix in (".csv", ".txt", ".tsv", ""):
        return _read_csv(p)
    raise PipesheetError("unknown file type", table=name, value=p.suffix,
                         expected="a .csv or .xlsx file")


def _read_csv(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    if not raw.strip():
        raise PipesheetError("the file is empty", table=path.name,
                             expected="a header row and at least one data row")
    text = None
    for enc in _ENCODINGS:
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    if text is None:  # pragma: no cover - latin-1 decodes every byte
        raise PipesheetError("cannot decode the file", table=path.name,
                             expected="UTF-8, cp1252 or latin-1 text")
    sample = text[:65536]
    try:
        delimiter = csv.Sniffer().sniff(sample.split("\n", 20)[0] if "\n" in sample else sample,
                                        delimiters=_DELIMITERS).delimiter
    except csv.Error:
        delimiter = ","
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False,
                            na_values=[""], skipinitialspace=False)
    except (pd.errors.ParserError, ValueError) as err:
        raise PipesheetError(f"cannot read the CSV ({err})", table=path.name,
                             expected=f"a table separated by {delimiter!r}") from None
    return frame


def _read_workbook(path: Path, sheet: str | None, table: str | None) -> pd.DataFrame:
    if table:
        return _read_excel_table(path, table)
    try:
        import python_calamine  # noqa: F401

        engine = "calamine"
    except ImportError:  # pragma: no cover - calamine is in the xlsx extra
        engine = "openpyxl"
    try:
        frame = pd.read_excel(path, sheet_name=sheet or 0, engine=engine, dtype=object)
    except ValueError as err:
        if sheet and "not found" in str(err).casefold() or "worksheet" in str(err).casefold():
            raise PipesheetError("sheet not found", table=path.name, value=sheet,
                                 expected="the name of a sheet in the workbook") from None
        raise PipesheetError(f"cannot read the workbook ({err})", table=path.name,
                             expected="an .xlsx file") from None
    except Exception as err:  # zip/XML errors from a damaged file
        raise PipesheetError(f"cannot read the workbook ({type(err).__name__}: {err})",
                             table=path.name, expected="a valid .xlsx file") from None
    return frame.dropna(how="all")


def _read_excel_table(path: Path, name: str) -> pd.DataFrame:
    from openpyxl import load_workbook
    from openpyxl.utils.cell import range_boundaries

    wb = load_workbook(path, data_only=True)
    try:
        for ws in wb.worksheets:
            if name in ws.tables:
                ref = ws.tables[name].ref
                min_col, min_row, max_col, max_row = range_boundaries(ref)
                rows = list(ws.iter_rows(min_row=min_row, max_row=max_row, min_col=min_col,
                                         max_col=max_col, values_only=True))
                return pd.DataFrame(rows[1:], columns=[str(h) for h in rows[0]])
        names = sorted(t for ws in wb.worksheets for t in ws.tables)
    finally:
        wb.close()
    raise PipesheetError("Excel Table not found", table=path.name, value=name,
                         expected="one of the workbook's tables: " + (", ".join(names) or "none"))


# ---- writing -------------------------------------------------------------------------------------
def _cell(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.to_pydatetime()
    if value is pd.NaT:
        return None
    return value


def write_workbook(path: str | os.PathLike, sheets: Mapping[str, pd.DataFrame], *,
                   overwrite: bool = False) -> Path:
    """Write tables to a new .xlsx atomically: one sheet and one Excel Table per frame.

    Args:
        path: Destination file.
        sheets: ``{sheet name: table}`` in order.
        overwrite: Replace an existing file (refused by default).

    Returns:
        The path written.
    """
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.table import Table, TableStyleInfo

    dest = Path(path)
    if dest.exists() and not overwrite:
        raise PipesheetError("the output file already exists", table=dest.name, value=str(dest),
                             expected="a new file name, or overwrite explicitly")
    wb = Workbook()
    wb.remove(wb.active)
    for i, (title, frame) in enumerate(sheets.items()):
        ws = wb.create_sheet(title=title[:31])
        headers = [str(c) for c in frame.columns]
        ws.append(headers)
        for row in frame.itertuples(index=False):
            ws.append([_cell(v) for v in row])
        for cells in ws.iter_rows(min_row=2):
            for c in cells:
                if isinstance(c.value, str) and c.value[:1] in ("=", "+", "-", "@"):
                    c.data_type = "s"
                    c.quotePrefix = True
                elif hasattr(c.value, "year"):
                    c.number_format = "yyyy-mm-dd"
                elif isinstance(c.value, float):
                    c.number_format = "#,##0.00" if abs(c.value) >= 1 or c.value == 0 else "0.0000"
        ws.freeze_panes = "A2"
        for j, h in enumerate(headers, start=1):
            ws.column_dimensions[get_column_letter(j)].width = max(10, min(40, len(h) + 4))
        if headers and len(frame):
            ref = f"A1:{get_column_letter(len(headers))}{len(frame) + 1}"
            tab = Table(displayName=f"T{i + 1}_" + "".join(ch for ch in title if ch.isalnum())[:20],
                        ref=ref)
            tab.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
            ws.add_table(tab)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".pipesheet-", suffix=".xlsx", dir=dest.parent)
    os.close(fd)
    try:
        wb.save(tmp)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest
