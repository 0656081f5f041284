"""Write result tables to a new workbook — the one writer every surface uses.

:func:`build_workbook` lays tables out on sheets (a single table per sheet, or several titled
tables one below the other), each as an Excel Table with a bold, frozen header, number formats
chosen from the column's meaning (money, percentages, counts, dates), and text that starts with
``=``, ``+``, ``-`` or ``@`` stored as text so Excel never runs data as a formula.
:func:`write_workbook` saves a *new* file atomically (a temporary file in the same folder, then a
rename) and refuses to replace an existing one unless told; :func:`workbook_bytes` gives the
bytes for a download. Reading files is :func:`pipesheet.exports.read_table`.
"""

from __future__ import annotations

import io
import math
import os
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.errors import PipesheetError

__all__ = ["build_workbook", "workbook_bytes", "write_workbook", "written_by_pipesheet"]

#: Author recorded in every workbook pipesheet writes (see :func:`written_by_pipesheet`).
CREATOR = "pipesheet"
MONEY = "#,##0.00"
PERCENT = "0.0%"
DATE = "yyyy-mm-dd"
_INJECTION = ("=", "+", "-", "@")
_PERCENT_COLS = re.compile(
    r"(probability|conversion|interval_|win_rate|error|mape|bias|gap_share|reference|p_quota|"
    r"share)",
    re.IGNORECASE,
)
_MONEY_COLS = re.compile(
    r"(amount|pipeline|weighted|forecast|actual|value|std_dev|mean|p10|p50|p90|quota|total|"
    r"change|target|average_deal|gap|closed|expected_open|running_total)",
    re.IGNORECASE,
)
_COUNT_COLS = {
    "deals",
    "reached",
    "won",
    "lost",
    "open",
    "visits",
    "won_visits",
    "closed_deals",
    "converted",
    "entered",
    "deals_needed",
    "won_deals",
    "won_new",
    "open_deals",
    "periods",
    "sign",
    "value_cents",
    "draws",
    "new_won_deals",
    "new_leads",
}

#: A sheet is one table, or several ``(title, table)`` pairs laid out one below the other.
Sheet = pd.DataFrame | Sequence[tuple[str, pd.DataFrame]]
#: ``charts(worksheet, sheet_name, [(title, header_row, table), ...])`` adds native charts.
ChartHook = Callable[[Any, str, list[tuple[str, int, pd.DataFrame]]], None]


def cell_value(v: Any) -> Any:
    """A value openpyxl can store: NaN/NaT/inf → empty, numpy scalars → Python, dates kept."""
    if v is None or v is pd.NaT:
        return None
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if isinstance(v, np.datetime64):
        return None if np.isnat(v) else pd.Timestamp(v).to_pydatetime()
    if isinstance(v, (datetime, date, str, int)):
        return v
    return str(v)


def number_format(header: str, values: pd.Series) -> str | None:
    """The Excel number format a column's name and values call for (None: leave General)."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return DATE
    if pd.api.types.is_bool_dtype(values.dtype):
        return None
    if header in _COUNT_COLS:
        return "#,##0"
    if _PERCENT_COLS.search(header):
        return PERCENT
    if header.endswith("_days") or header in (
        "days_in_stage",
        "times_threshold",
        "selling_weeks",
        "leads_per_week",
        "coverage",
    ):
        return "0.0"
    if _MONEY_COLS.search(header):
        return MONEY
    if pd.api.types.is_float_dtype(values.dtype):
        return "#,##0.00"
    return None


def _table_name(text: str, used: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_]", "_", text)[:40] or "T"
    if not re.match(r"[A-Za-z_]", base):
        base = "T_" + base
    name, i = base, 2
    while name.casefold() in used:
        name, i = f"{base}_{i}", i + 1
    used.add(name.casefold())
    return name


def build_workbook(sheets: Mapping[str, Sheet], *, charts: ChartHook | None = None):
    """An openpyxl Workbook holding the tables (see the module docstring for the layout)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.table import Table, TableStyleInfo

    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.creator = CREATOR
    used: set[str] = set()
    bold = Font(bold=True)
    for sheet_name, content in sheets.items():
        ws = wb.create_sheet(sheet_name[:31])
        titled = not isinstance(content, pd.DataFrame)
        tables = list(content) if titled else [(sheet_name, content)]
        row = 1
        anchors: list[tuple[str, int, pd.DataFrame]] = []
        for title, frame in tables:
            if titled:
                ws.cell(row=row, column=1, value=title).font = bold
                row += 1
            header_row = row
            frame = frame.reset_index(drop=True)
            headers = [str(c) for c in frame.columns]
            for j, h in enumerate(headers, start=1):
                ws.cell(row=row, column=j, value=h).font = bold
            formats = [
                number_format(h, frame[c]) for h, c in zip(headers, frame.columns, strict=True)
            ]
            columns = [frame[c].to_numpy(dtype=object) for c in frame.columns]
            for i in range(len(frame)):
                r = row + 1 + i
                for j, col in enumerate(columns):
                    v = cell_value(col[i])
                    if v is None:
                        continue
                    c = ws.cell(row=r, column=j + 1, value=v)
                    if isinstance(v, str):
                        if v.startswith(_INJECTION):
                            c.data_type = "s"  # stored as text: never run as a formula
                            c.quotePrefix = True
                        continue
                    fmt = formats[j]
                    if isinstance(v, (datetime, date)):
                        fmt = DATE
                    elif fmt is None and isinstance(v, float):
                        label = str(columns[0][i])
                        fmt = PERCENT if re.search(r"rate|P\(|probability", label) else MONEY
                    if fmt:
                        c.number_format = fmt
            last = row + max(len(frame), 1)
            if len(frame) == 0:
                ws.cell(row=row + 1, column=1, value="(no rows)")
            if headers:
                ref = f"A{header_row}:{get_column_letter(len(headers))}{last}"
                tab = Table(displayName=_table_name(f"{sheet_name}_{title}", used), ref=ref)
                tab.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
                ws.add_table(tab)
            if not anchors:
                ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
            anchors.append((title, header_row, frame))
            for j, h in enumerate(headers, start=1):
                width = max(10, min(45, len(h) + 3))
                letter = get_column_letter(j)
                if (ws.column_dimensions[letter].width or 0) < width:
                    ws.column_dimensions[letter].width = width
            row = last + 3
        if charts is not None:
            charts(ws, sheet_name, anchors)
    return wb


def write_workbook(
    path: str | os.PathLike,
    sheets: Mapping[str, Sheet],
    *,
    overwrite: bool = False,
    charts: ChartHook | None = None,
) -> Path:
    """Write the tables to a new .xlsx atomically; refuse to replace a file unless ``overwrite``.

    Raises:
        PipesheetError: not an .xlsx name, the file exists (without ``overwrite``), or the folder
            does not exist.
    """
    dest = Path(path)
    if dest.suffix.casefold() != ".xlsx":
        raise PipesheetError(
            "the output must be an .xlsx file",
            table="output",
            value=str(dest),
            expected="a file name ending in .xlsx",
        )
    if dest.exists() and not overwrite:
        raise PipesheetError(
            "the output file already exists",
            table="output",
            value=str(dest),
            expected="a new file name, or --force to replace it",
        )
    if not dest.parent.is_dir():
        raise PipesheetError(
            "the output folder does not exist",
            table="output",
            value=str(dest.parent),
            expected="an existing folder",
        )
    wb = build_workbook(sheets, charts=charts)
    fd, tmp = tempfile.mkstemp(prefix=".pipesheet-", suffix=".xlsx", dir=dest.parent)
    os.close(fd)
    try:
        wb.save(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # a normal file, not mkstemp's private 0600
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def workbook_bytes(sheets: Mapping[str, Sheet]) -> bytes:
    """The .xlsx file's bytes (for a download link)."""
    buf = io.BytesIO()
    build_workbook(sheets).save(buf)
    return buf.getvalue()


def written_by_pipesheet(path: str | os.PathLike) -> bool:
    """True when ``path`` is a workbook pipesheet wrote (so replacing it loses nothing of the
    user's); reads only the file's document properties, never re-saves it."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            core = z.read("docProps/core.xml").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return False
    return f"<dc:creator>{CREATOR}</dc:creator>" in core
