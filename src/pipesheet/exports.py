"""Read real CRM exports: Salesforce, HubSpot, Pipedrive, Odoo, or any CSV/XLSX table.

:func:`read_table` reads one file into a frame whose index is the *spreadsheet row number*
(header = row 1), so every later error points at the row the user sees:

* CSV: encoding detected (UTF-8, UTF-8 with BOM, cp1252, latin-1 — in that order: UTF-8 is
  strict, cp1252 rejects 5 byte values, latin-1 accepts everything); delimiter ``,`` ``;`` tab or
  ``|`` detected from the first lines (the one that splits the lines into the same number of
  fields); decimal mark detected from the numbers in the whole file (``1.250,50`` and ``12,5``
  mean a decimal comma, ``1,250.50`` and ``12.5`` a decimal point; a ``;`` file with only
  ambiguous numbers such as ``1,250`` is read with a decimal comma, the European convention);
  numbers with thousands separators become numbers; date columns become dates, with day/month
  order taken from the values (a first part above 12 means day first) or, when every date is
  ambiguous, from the export's convention (``dayfirst=`` overrides; ``30.09.2026`` is always day
  first). Plain whole numbers stay text so ids keep their leading zeros.
* XLSX/XLSM/XLSB/XLS/ODS: read with the calamine engine (read only: the input is never saved);
  ``sheet=`` picks a worksheet, ``table=`` an Excel Table by name.  Workbook XML that pipesheet
  itself inspects is parsed with ``defusedxml``.

:func:`read_export` recognises the tool from the headers and returns an :class:`Export` with a
deals table and, when the files hold one, a stage history, both with pipesheet's field names
(``deal_id``, ``stage``, ``amount``, ``close_date``…) ready for :func:`pipesheet.read_deals` and
:func:`pipesheet.read_history`:

* **Salesforce** Opportunity (report export or Data Loader API names) and OpportunityHistory
  (one row per change; rows keep the amount and close date of that moment, so a waterfall can
  be rebuilt at any date).  ``IsWon``/``IsClosed`` are checked against the stage.
* **HubSpot** deals, including ``Date entered "<stage> (<pipeline>)"`` columns, which become a
  stage history (one row per stage entered).
* **Pipedrive** deals (``Deal - …`` headers): a won or lost deal keeps the stage it was at, so the
  stage becomes Won/Lost from ``Deal - Status`` and the old stage goes to ``last_open_stage``.
* **Odoo** CRM leads/opportunities: archived (``Active`` false) leads are lost.
* anything else: a deals table or a stage history recognised by its columns.

Rows that contradict each other — history for deals that do not exist, a deal both won and lost
(status vs stage, deals table vs history, a Won and a Lost row at the same moment), one deal id
twice — are reported: :func:`check_export` returns them as an issues table, and
:func:`read_export` raises a :class:`~pipesheet.errors.PipesheetError` listing them (or, with
``on_issues="report"``, sets those rows aside and returns them in ``Export.issues``).

:func:`lookup` joins a column (a list price, an owner…) from a second table, and returns the keys
that did not match, never dropping a row.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.columns import normalise_header
from pipesheet.errors import PipesheetError, format_rows
from pipesheet.stages import DEFAULT_LOST, DEFAULT_WON, StageList, stage_key
from pipesheet.tables import clean_text as _clean_text

__all__ = [
    "ISSUE_COLUMNS",
    "SOURCES",
    "Export",
    "LookupResult",
    "check_export",
    "detect_source",
    "lookup",
    "read_export",
    "read_table",
]

SOURCES = ("salesforce", "salesforce_history", "hubspot", "pipedrive", "odoo", "generic")
ISSUE_COLUMNS = ("table", "row", "deal_id", "problem", "value")
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
TEXT_SUFFIXES = (".csv", ".txt", ".tsv", ".tab", "")
_DELIMITERS = (",", ";", "\t", "|")
_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")

# ---- number and date shapes ------------------------------------------------------------------
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


# ---- files -----------------------------------------------------------------------------------
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
        dayfirst: Day/month order of ambiguous dates such as 03/04/2026 (default: from the data,
            else ``;`` files day first and ``,`` files month first).

    Returns:
        The table; index = spreadsheet row numbers (name ``"row"``).  ``attrs`` holds
        ``file``, ``encoding``, ``delimiter``, ``decimal``, ``date_order`` and ``notes``.

    Raises:
        PipesheetError: missing/empty/undecodable file, ragged CSV rows, an encrypted or HTML
            "spreadsheet", a sheet or Excel Table that does not exist, mixed decimal marks or
            mixed date orders, impossible dates.
    """
    p = Path(path)
    name = p.name
    if not p.is_file():
        raise PipesheetError(
            "file not found", table=name, value=str(path), expected="an existing CSV or XLSX file"
        )
    suffix = p.suffix.casefold()
    if suffix in WORKBOOK_SUFFIXES:
        frame = _read_workbook(p, sheet, table)
        info = {"encoding": None, "delimiter": None}
    elif suffix in TEXT_SUFFIXES:
        if table is not None or sheet not in (None, 0):
            raise PipesheetError(
                "a CSV file has no sheets or Excel Tables",
                table=name,
                value=table or sheet,
                expected="sheet/table only for .xlsx files",
            )
        frame, info = _read_csv(p, encoding, delimiter)
    else:
        raise PipesheetError(
            "unknown file type", table=name, value=p.suffix, expected="a .csv or .xlsx file"
        )
    notes: list[str] = []
    decimal_mark = _typed_numbers(frame, name, decimal, info.get("delimiter"), notes)
    order = _typed_dates(frame, name, dayfirst, decimal_mark, notes)
    frame.attrs.update(file=str(p), decimal=decimal_mark, date_order=order, notes=notes, **info)
    return frame


def _sniff_bytes(raw: bytes, name: str) -> None:
    head = raw[:8]
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise PipesheetError(
            "this is an encrypted (password-protected) or legacy binary Office file, not a CSV",
            table=name,
            expected="an unprotected .xlsx, or the data saved as CSV",
        )
    if head.startswith(b"PK\x03\x04"):
        raise PipesheetError(
            "this is a zipped workbook (.xlsx), not a CSV",
            table=name,
            expected="the file renamed to .xlsx, or saved as CSV",
        )
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise PipesheetError(
            "the file is UTF-16 text",
            table=name,
            expected="CSV saved as UTF-8 (Excel: Save As → CSV UTF-8)",
        )
    sample = raw[:4096]
    if b"\x00" in sample:
        raise PipesheetError(
            "the file is binary, not text",
            table=name,
            expected="a CSV file (text with one row per line)",
        )


def _decode(raw: bytes, name: str, encoding: str | None) -> tuple[str, str]:
    if encoding:
        try:
            return raw.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as err:
            raise PipesheetError(
                f"cannot decode the file as {encoding}",
                table=name,
                value=str(err)[:80],
                expected="the file's real encoding (utf-8, cp1252, latin-1)",
            ) from None
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    high = {b for b in set(raw) if 0x80 <= b <= 0x9F}
    if high and not (_CP1252_UNDEFINED & high):
        return raw.decode("cp1252"), "cp1252"  # € ‚ „ … “ ” – — and friends
    return raw.decode("latin-1"), "latin-1"  # same letters as cp1252 outside 0x80–0x9F


def _pick_delimiter(text: str) -> str:
    lines = [ln for ln in text.splitlines()[:30] if ln.strip()]
    best, best_score = ",", -1.0
    for d in _DELIMITERS:
        try:
            counts = [len(r) for r in csv.reader(lines, delimiter=d)]
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        same = sum(c == counts[0] for c in counts) / len(counts)
        score = same * 1000 + counts[0]
        if score > best_score:
            best, best_score = d, score
    return best


def _read_csv(path: Path, encoding: str | None, delimiter: str | None):
    name = path.name
    raw = path.read_bytes()
    if not raw.strip(b" \t\r\n\xef\xbb\xbf"):
        raise PipesheetError(
            "the file is empty", table=name, expected="a header row and at least one data row"
        )
    _sniff_bytes(raw, name)
    text, enc = _decode(raw, name, encoding)
    if text.lstrip()[:15].casefold().startswith(("<!doctype html", "<html", "<table")):
        raise PipesheetError(
            "this is a web page (HTML), not a CSV",
            table=name,
            expected="the report exported as CSV (Salesforce: Export → Details Only → .csv)",
        )
    if delimiter is None:
        delimiter = _pick_delimiter(text)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            header=None,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
            engine="c",
        )
    except pd.errors.ParserError as err:
        msg = str(err)
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
        if m:
            raise PipesheetError(
                f"row has {m.group(3)} fields but the header has {m.group(1)}",
                table=name,
                rows=[int(m.group(2))],
                expected=f"the same number of {_delim_name(delimiter)}-separated fields "
                "in every row (quote values that contain the separator)",
            ) from None
        m = re.search(r"EOF inside string starting at row (\d+)", msg)
        if m:
            raise PipesheetError(
                "a quoted value is never closed",
                table=name,
                rows=[int(m.group(1)) + 1],
                expected='every " that opens a value closed by another "',
            ) from None
        raise PipesheetError(
            f"cannot read the CSV ({msg})",
            table=name,
            expected=f"a table separated by {_delim_name(delimiter)}",
        ) from None
    except pd.errors.EmptyDataError:
        raise PipesheetError(
            "the file is empty", table=name, expected="a header row and at least one data row"
        ) from None
    frame = _headers_from_first_row(frame, name)
    return frame, {"encoding": enc, "delimiter": delimiter}


def _delim_name(d: str) -> str:
    return {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}.get(d, repr(d))


def _headers_from_first_row(frame: pd.DataFrame, name: str, first_row: int = 1) -> pd.DataFrame:
    if frame.empty:
        raise PipesheetError(
            "the file is empty", table=name, expected="a header row and at least one data row"
        )
    header = [_clean_text(v) for v in frame.iloc[0].tolist()]
    body = frame.iloc[1:]
    body.index = pd.RangeIndex(first_row + 1, first_row + 1 + len(body), name="row")
    return _apply_headers(header, body, name, first_row)


def _apply_headers(
    header: list[str | None], body: pd.DataFrame, name: str, first_row: int = 1
) -> pd.DataFrame:
    """Check the header row (no blanks over data, no duplicates) and put it on the body."""
    blank = [i for i, h in enumerate(header) if h is None]
    if blank:
        filled = body.iloc[:, blank].notna().any(axis=0).to_numpy()
        if filled.any():
            col = blank[int(np.flatnonzero(filled)[0])]
            raise PipesheetError(
                f"column {_col_letter(col)} has values but no header",
                table=name,
                rows=[first_row],
                expected="a header above every column with data",
            )
        keep = [i for i in range(len(header)) if header[i] is not None]
        body = body.iloc[:, keep]
        header = [header[i] for i in keep]
    if not header:
        raise PipesheetError(
            "the header row is empty", table=name, rows=[first_row], expected="column headers"
        )
    seen: dict[str, int] = {}
    for h in header:
        key = normalise_header(h)
        if key in seen and key:
            raise PipesheetError(
                "two columns have the same header",
                table=name,
                rows=[first_row],
                value=h,
                expected="each header once",
            )
        seen[key] = 1
    body = body.copy()
    body.columns = header
    body = body.dropna(how="all")
    if body.empty:
        raise PipesheetError(
            "the table has a header but no data rows",
            table=name,
            expected="at least one data row under the header",
        )
    return body


def _col_letter(i: int) -> str:
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


def _read_workbook(path: Path, sheet: str | int | None, table: str | None) -> pd.DataFrame:
    name = path.name
    raw_head = path.read_bytes()[:2048]
    if not raw_head:
        raise PipesheetError("the file is empty", table=name, expected="a workbook with data")
    if raw_head.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html", b"<table")):
        raise PipesheetError(
            "this .xls is a web page (HTML), as some CRMs export it, not a real workbook",
            table=name,
            expected="the report exported as .xlsx or .csv",
        )
    suffix = path.suffix.casefold()
    if raw_head.startswith(b"\xd0\xcf\x11\xe0") and suffix != ".xls":
        raise PipesheetError(
            "the workbook is encrypted (password-protected)",
            table=name,
            expected="a workbook saved without a password",
        )
    if suffix in (".xlsx", ".xlsm"):
        _check_workbook_xml(path)
    import python_calamine as cal

    try:
        wb = cal.CalamineWorkbook.from_path(str(path), load_tables=table is not None)
    except Exception as err:  # calamine's zip/XML/password errors
        raise PipesheetError(
            f"cannot read the workbook ({type(err).__name__}: {str(err)[:120]})",
            table=name,
            expected="a valid, unencrypted .xlsx file",
        ) from None
    try:
        if table is not None:
            names = list(wb.table_names)
            if table not in names:
                raise PipesheetError(
                    "Excel Table not found",
                    table=name,
                    value=table,
                    expected="one of the workbook's tables: " + (", ".join(names) or "none"),
                )
            t = wb.get_table_by_name(table)
            rows = t.to_python()
            header = list(t.columns)
            first = int(t.start[0])  # calamine: 0-based first data row = 1-based header row
            frame = pd.DataFrame(rows, columns=range(len(header)), dtype=object)
            frame = pd.concat(
                [pd.DataFrame([header], columns=range(len(header)), dtype=object), frame]
            )
            return _headers_from_first_row(frame.reset_index(drop=True), f"{name}[{table}]", first)
        sheets = list(wb.sheet_names)
        if sheet is None:
            target = sheets[0] if sheets else None
        elif isinstance(sheet, int) and not isinstance(sheet, bool):
            target = sheets[sheet] if 0 <= sheet < len(sheets) else None
        else:
            target = next((s for s in sheets if s == sheet), None) or next(
                (s for s in sheets if s.casefold() == str(sheet).casefold()), None
            )
        if target is None:
            raise PipesheetError(
                "sheet not found",
                table=name,
                value=sheet,
                expected="one of the sheets: " + (", ".join(sheets) or "none"),
            )
        ws = wb.get_sheet_by_name(target)
        if tuple(ws.start or (0, 0)) == (0, 0) and ws.height > 1:
            header = next(iter(ws.iter_rows()), [])
            rows = None
        else:
            rows = ws.to_python(skip_empty_area=False)
    except PipesheetError:
        raise
    except Exception as err:
        raise PipesheetError(
            f"cannot read the workbook ({type(err).__name__}: {str(err)[:120]})",
            table=name,
            expected="a valid .xlsx file",
        ) from None
    finally:
        wb.close()
    if rows is None:  # the usual case: a table starting in A1, read column-wise by pandas
        return _read_sheet_fast(path, target, header, f"{name}[{target}]")
    rows = [r for r in rows]
    while rows and all(v in ("", None) for v in rows[-1]):
        rows.pop()
    if not rows:
        raise PipesheetError(
            "the sheet is empty", table=f"{name}[{target}]", expected="a header row and data rows"
        )
    width = max(len(r) for r in rows)
    frame = pd.DataFrame(rows, columns=range(width), dtype=object)
    frame = frame.replace("", None) if len(frame) < 5000 else _blank_to_none(frame)
    return _headers_from_first_row(frame, f"{name}[{target}]")


def _read_sheet_fast(path: Path, sheet: str, header: list, name: str) -> pd.DataFrame:
    try:
        body = pd.read_excel(
            path,
            sheet_name=sheet,
            engine="calamine",
            header=0,
            keep_default_na=False,
            na_values=[""],
        )
    except Exception as err:
        raise PipesheetError(
            f"cannot read the workbook ({type(err).__name__}: {str(err)[:120]})",
            table=name,
            expected="a valid .xlsx file",
        ) from None
    names = [_clean_text(v) if v != "" else None for v in header]
    names += [None] * (body.shape[1] - len(names))
    body.columns = range(body.shape[1])
    body = body.iloc[:, : len(names)]
    body.index = pd.RangeIndex(2, 2 + len(body), name="row")
    return _apply_headers(names[: body.shape[1]], body, name, 1)


def _blank_to_none(frame: pd.DataFrame) -> pd.DataFrame:
    for c in frame.columns:
        col = frame[c]
        mask = (col == "").to_numpy()
        if mask.any():
            frame[c] = col.mask(mask)
    return frame


def _check_workbook_xml(path: Path) -> None:
    """Open the workbook's zip and parse its workbook part with defusedxml (no entity tricks)."""
    try:
        from defusedxml import ElementTree as SafeET
        from defusedxml.common import DefusedXmlException
    except ImportError:  # pragma: no cover - defusedxml is in the xlsx extra
        raise PipesheetError(
            "reading workbooks needs the defusedxml package",
            table=path.name,
            expected="pip install 'pipesheet[xlsx]'",
        ) from None

    name = path.name
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "xl/workbook.xml" not in names:
                raise PipesheetError(
                    "the file is a zip archive but not an Excel workbook",
                    table=name,
                    expected="an .xlsx saved by Excel, LibreOffice or a CRM",
                )
            tables = sorted(n for n in names if n.startswith("xl/tables/") and n.endswith(".xml"))
            parts = ["xl/workbook.xml", *tables]
            for part in parts:
                info = zf.getinfo(part)
                if info.file_size > 50_000_000:
                    raise PipesheetError(
                        f"workbook part {part} is implausibly large",
                        table=name,
                        expected="an ordinary workbook",
                    )
                SafeET.fromstring(zf.read(part))
    except zipfile.BadZipFile:
        raise PipesheetError(
            "the workbook is damaged (not a valid zip file)",
            table=name,
            expected="an .xlsx file that opens in Excel",
        ) from None
    except DefusedXmlException as err:
        raise PipesheetError(
            f"the workbook's XML contains forbidden constructs ({type(err).__name__})",
            table=name,
            expected="an ordinary workbook (entity declarations are refused for safety)",
        ) from None
    except SafeET.ParseError as err:
        raise PipesheetError(
            f"the workbook's XML is damaged ({err})",
            table=name,
            expected="an .xlsx file that opens in Excel",
        ) from None


# ---- value typing ----------------------------------------------------------------------------
def _text_columns(frame: pd.DataFrame) -> list[str]:
    out = []
    for c in frame.columns:
        col = frame[c]
        if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            vals = col.dropna()
            if len(vals) and all(isinstance(v, str) for v in vals.iloc[:50]):
                out.append(c)
    return out


def _typed_numbers(
    frame: pd.DataFrame, name: str, decimal: str | None, delimiter: str | None, notes: list[str]
) -> str:
    """Turn text columns of separated numbers into floats; returns the decimal mark used."""
    candidates: dict[str, pd.Series] = {}
    comma_ev: tuple[str, Any] | None = None
    point_ev: tuple[str, Any] | None = None
    for c in _text_columns(frame):
        uniq = pd.Series(frame[c].dropna().unique()).astype(str).str.strip()
        if len(uniq) == 0 or not uniq.str.contains(_SEPARATED).any():
            continue
        numeric = (
            uniq.str.match(_NUM_POINT) | uniq.str.match(_NUM_COMMA) | uniq.str.match(_NUM_SPACE)
        )
        if not numeric.all():
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
        lookup = dict(zip(uniq, values, strict=True))
        col = frame[c]
        frame[c] = col.map(lambda v, lk=lookup: lk.get(str(v).strip(), np.nan), na_action="ignore")
        frame[c] = frame[c].astype(float)
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


def _typed_dates(
    frame: pd.DataFrame, name: str, dayfirst: bool | None, decimal: str, notes: list[str]
) -> str | None:
    """Turn text columns of dates into datetime64; returns "day first"/"month first"/None."""
    slash_cols: dict[str, pd.Series] = {}
    other_cols: dict[str, pd.Series] = {}
    day_ev = month_ev = None
    for c in _text_columns(frame):
        uniq = pd.Series(frame[c].dropna().unique()).astype(str).str.strip()
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
        lookup = dict(zip(uniq, parsed, strict=True))
        stripped = frame[c].map(lambda v: str(v).strip(), na_action="ignore")
        frame[c] = pd.to_datetime(stripped.map(lookup.get, na_action="ignore"))
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


# ---- recognising exports ---------------------------------------------------------------------
_DATE_ENTERED = re.compile(r"^date entered\s*[\"“”']?(.+?)[\"“”']?\s*$", re.IGNORECASE)

_PROFILES: dict[str, dict[str, tuple[str, ...]]] = {
    "salesforce": {
        "deal_id": ("Opportunity ID", "Id", "Opportunity 18 Digit ID"),
        "stage": ("Stage", "StageName"),
        "amount": ("Amount", "Amount (converted)"),
        "close_date": ("Close Date", "CloseDate"),
        "owner": ("Opportunity Owner", "Owner.Name", "Owner Name", "OwnerId"),
        "probability": ("Probability (%)", "Probability"),
        "forecast_category": ("Forecast Category", "ForecastCategoryName", "ForecastCategory"),
        "created_date": ("Created Date", "CreatedDate"),
        "currency": ("Opportunity Currency", "CurrencyIsoCode", "Amount Currency"),
        "product_line": ("Product Family", "Product Name", "Type"),
        "country": ("Billing Country", "Account.BillingCountry", "Region"),
        "segment": ("Segment", "Account Type"),
        "is_won": ("IsWon", "Won"),
        "is_closed": ("IsClosed", "Closed"),
        "name": ("Opportunity Name", "Name"),
    },
    "salesforce_history": {
        "deal_id": ("OpportunityId", "Opportunity ID", "Opportunity.Id"),
        "stage": ("StageName", "To Stage", "Stage", "New Value"),
        "entered_date": (
            "CreatedDate",
            "Stage Change Date",
            "Edit Date",
            "Last Modified Date",
            "Created Date",
        ),
        "amount": ("Amount",),
        "close_date": ("CloseDate", "Close Date"),
        "field": ("Field / Event", "Field", "Field/Event"),
    },
    "hubspot": {
        "deal_id": ("Record ID", "Deal ID", "hs_object_id"),
        "stage": ("Deal Stage", "dealstage"),
        "amount": ("Amount", "amount", "Amount in company currency"),
        "close_date": ("Close Date", "closedate"),
        "owner": ("Deal owner", "Deal Owner", "hubspot_owner_id"),
        "created_date": ("Create Date", "createdate"),
        "probability": ("Deal probability", "hs_deal_stage_probability"),
        "currency": ("Currency", "deal_currency_code"),
        "product_line": ("Deal Type", "dealtype"),
        "pipeline": ("Pipeline", "pipeline"),
        "name": ("Deal Name", "dealname"),
    },
    "pipedrive": {
        "deal_id": ("Deal - ID", "ID"),
        "stage": ("Deal - Stage", "Stage"),
        "amount": ("Deal - Value", "Value"),
        "currency": ("Deal - Currency", "Currency of Value", "Currency"),
        "close_date": ("Deal - Expected close date", "Expected close date"),
        "owner": ("Deal - Owner", "Owner", "Deal - Owner name"),
        "created_date": ("Deal - Deal created", "Deal created"),
        "status": ("Deal - Status", "Status"),
        "won_time": ("Deal - Won time", "Won time"),
        "lost_time": ("Deal - Lost time", "Lost time"),
        "probability": ("Deal - Probability", "Probability"),
        "product_line": ("Deal - Product name", "Deal - Pipeline", "Pipeline"),
        "name": ("Deal - Title", "Title"),
    },
    "odoo": {
        "deal_id": ("ID", "External ID", "id"),
        "stage": ("Stage", "stage_id"),
        "amount": ("Expected Revenue", "expected_revenue", "Prorated Revenue"),
        "close_date": ("Expected Closing", "date_deadline"),
        "owner": ("Salesperson", "user_id"),
        "created_date": ("Created on", "create_date"),
        "closed_date": ("Closed Date", "date_closed"),
        "probability": ("Probability", "probability"),
        "segment": ("Sales Team", "team_id"),
        "country": ("Country", "country_id"),
        "active": ("Active", "active"),
        "name": ("Opportunity", "name"),
    },
}
_SIGNATURES = {
    "salesforce_history": ("opportunityid", "stagename", "createddate"),
    "salesforce": ("stagename", "closedate"),
    "hubspot": ("recordid", "dealstage"),
    "pipedrive": ("dealid", "dealstage", "dealvalue"),
    "odoo": ("expectedrevenue", "stage"),
}


def detect_source(frame: pd.DataFrame) -> str:
    """Which tool exported this table: one of :data:`SOURCES`, recognised by its headers.

    Salesforce: ``StageName`` + ``CloseDate`` (API names), or ``Opportunity Name``/
    ``Opportunity Owner`` + ``Stage``; its history: ``OpportunityId`` + a stage + a date, or
    ``Field / Event`` + ``New Value``.  HubSpot: ``Record ID`` + ``Deal Stage``, or any
    ``Date entered …`` column.  Pipedrive: ``Deal - …`` headers.  Odoo: ``Expected Revenue`` +
    ``Stage``/``Salesperson``.  Anything else is ``"generic"``.
    """
    norm = {normalise_header(c) for c in frame.columns}
    if "opportunityid" in norm and ({"stagename", "tostage", "newvalue"} & norm):
        return "salesforce_history"
    if {"fieldevent", "newvalue"} <= norm:
        return "salesforce_history"
    if {"stagename", "closedate"} <= norm or (
        {"opportunityname", "opportunityowner"} & norm and "stage" in norm
    ):
        return "salesforce"
    if any(_DATE_ENTERED.match(str(c)) for c in frame.columns) or {"recordid", "dealstage"} <= norm:
        return "hubspot"
    if sum(str(c).startswith("Deal - ") for c in frame.columns) >= 2:
        return "pipedrive"
    if "expectedrevenue" in norm and (
        {"stage", "stageid", "salesperson", "userid", "expectedclosing", "datedeadline"} & norm
    ):
        return "odoo"
    return "generic"


def _find(frame: pd.DataFrame, aliases: tuple[str, ...]) -> str | None:
    by_norm = {normalise_header(c): c for c in frame.columns}
    for a in aliases:
        if a in frame.columns:
            return a
        hit = by_norm.get(normalise_header(a))
        if hit is not None:
            return hit
    return None


def _canonical(frame: pd.DataFrame, profile: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rename the profile's columns to pipesheet field names (others are kept as they are)."""
    found: dict[str, str] = {}
    for fld, aliases in _PROFILES[profile].items():
        hit = _find(frame, aliases)
        if hit is not None and hit not in found.values():
            found[fld] = hit
    out = frame.rename(columns={v: k for k, v in found.items()})
    # keep other columns, but never let a leftover header shadow a field name
    dupes = [c for c in out.columns if list(out.columns).count(c) > 1]
    if dupes:
        out = out.loc[:, ~out.columns.duplicated()]
    return out, found


def _truthy(values: pd.Series) -> pd.Series:
    """TRUE/FALSE cells as written by Salesforce/Odoo: "T", "F", "?" (not a truth value), None."""

    def one(v: Any) -> Any:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, (bool, np.bool_, int, float, np.number)):
            return "T" if v else "F"
        key = str(v).strip().casefold()
        if key in ("true", "1", "yes", "y", "ja", "oui", "vrai", "x", "sí", "si", "wahr"):
            return "T"
        if key in ("false", "0", "no", "n", "nein", "non", "faux", "", "falsch"):
            return "F"
        return "?"

    return values.astype(object).map(one).astype(object)


@dataclass
class Export:
    """What :func:`read_export` recognised.

    Attributes:
        source: Tool the deals came from (one of :data:`SOURCES`).
        deals: Deals table with pipesheet field names (``deal_id``, ``stage``, ``amount``…), index
            = spreadsheet row of the file it came from; None when only a history was given.
        history: Stage history (``deal_id``, ``stage``, ``entered_date`` and, from Salesforce,
            ``amount`` and ``close_date`` at that moment), or None.
        issues: Contradicting rows (:data:`ISSUE_COLUMNS`), empty when the files agree.
        notes: What was detected and assumed (encoding, delimiter, decimal mark, date order…).
        files: The files read.
        stages: The stage order the export itself states (HubSpot's ``Date entered`` columns
            are in pipeline order), or None to let pipesheet infer it.
    """

    source: str
    deals: pd.DataFrame | None
    history: pd.DataFrame | None
    issues: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    stages: StageList | None = None


def _issue_frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(ISSUE_COLUMNS))


def read_export(
    *sources: str | Path | pd.DataFrame,
    source: str | None = None,
    sheet: str | int | None = None,
    table: str | None = None,
    dayfirst: bool | None = None,
    decimal: str | None = None,
    encoding: str | None = None,
    on_issues: str = "raise",
) -> Export:
    """Read one or more CRM export files (or frames) into a deals table and a stage history.

    Give the files in any order: e.g. a Salesforce Opportunity export and an OpportunityHistory
    export; a HubSpot deals export (its ``Date entered`` columns become the history); a deals
    CSV and a history CSV from any other tool.

    Args:
        sources: File paths (CSV/XLSX) or frames.
        source: Force the tool (one of :data:`SOURCES`) instead of recognising it by its headers.
        sheet, table, dayfirst, decimal, encoding: Passed to :func:`read_table`.
        on_issues: ``"raise"`` (default): contradicting rows raise a PipesheetError listing them;
            ``"report"``: they are set aside and returned in ``Export.issues``.

    Raises:
        PipesheetError: unreadable files, two deals tables, contradicting rows (with "raise").
    """
    if on_issues not in ("raise", "report"):
        raise PipesheetError(
            "on_issues must be 'raise' or 'report'",
            table="settings",
            value=on_issues,
            expected="raise or report",
        )
    if source is not None and source not in SOURCES:
        raise PipesheetError(
            "unknown export source", table="settings", value=source, expected=", ".join(SOURCES)
        )
    if not sources:
        raise PipesheetError("no input files", expected="a deals export and/or a history export")
    deals = history = None
    deal_source = "generic"
    notes: list[str] = []
    files: list[str] = []
    issues: list[tuple] = []
    stage_order: StageList | None = None
    for item in sources:
        if isinstance(item, pd.DataFrame):
            frame, label = item.copy(), "table"
            if frame.index.name != "row":
                frame.index = pd.RangeIndex(2, 2 + len(frame), name="row")
        else:
            frame = read_table(
                item, sheet, table, encoding=encoding, decimal=decimal, dayfirst=dayfirst
            )
            label = Path(item).name
            files.append(str(item))
            notes += [f"{label}: {n}" for n in _file_notes(frame)]
        kind = source or detect_source(frame)
        if kind == "generic":
            kind = "generic_history" if _looks_like_history(frame) else "generic"
        notes.append(f"{label}: read as {kind.replace('_', ' ')} export")
        d, h = _convert(frame, kind, label, issues)
        if d is not None:
            if deals is not None:
                raise PipesheetError(
                    "two deals tables given",
                    table=label,
                    expected="one deals export (plus, optionally, one history export)",
                )
            deals, deal_source = d, kind
        if h is not None:
            if history is not None:
                raise PipesheetError(
                    "two stage histories given",
                    table=label,
                    expected="one history export (plus, optionally, one deals export)",
                )
            history = h
            stage_order = h.attrs.get("stages", stage_order)
    issue_frame = pd.concat([_issue_frame(issues), check_export(deals, history)], ignore_index=True)
    if len(issue_frame):
        if on_issues == "raise":
            raise _issues_error(issue_frame)
        deals, history = _set_aside(deals, history, issue_frame)
        notes.append(f"{len(issue_frame)} contradicting row(s) set aside; see the issues table")
    return Export(
        source=deal_source if deals is not None else "generic",
        deals=deals,
        history=history,
        issues=issue_frame,
        notes=notes,
        files=files,
        stages=stage_order,
    )


def _file_notes(frame: pd.DataFrame) -> list[str]:
    a = frame.attrs
    out = []
    if a.get("encoding"):
        out.append(
            f"encoding {a['encoding']}, {_delim_name(a.get('delimiter') or ',')}-separated, "
            f"decimal {'comma' if a.get('decimal') == ',' else 'point'}"
        )
    if a.get("date_order"):
        out.append(f"dates {a['date_order']}")
    out += a.get("notes", [])
    return out


def _looks_like_history(frame: pd.DataFrame) -> bool:
    from pipesheet.columns import DEAL_FIELDS, HISTORY_FIELDS

    norm = {normalise_header(c): c for c in frame.columns}
    has_date = any(normalise_header(a) in norm for a in HISTORY_FIELDS["entered_date"])
    has_close = any(normalise_header(a) in norm for a in DEAL_FIELDS["close_date"])
    id_col = next(
        (
            norm[normalise_header(a)]
            for a in HISTORY_FIELDS["deal_id"]
            if normalise_header(a) in norm
        ),
        None,
    )
    repeats = id_col is not None and frame[id_col].duplicated().any()
    return has_date and (repeats or not has_close)


def _convert(frame: pd.DataFrame, kind: str, label: str, issues: list[tuple]):
    if kind == "generic":
        return frame, None
    if kind == "generic_history":
        return None, frame
    if kind == "salesforce_history":
        return None, _salesforce_history(frame, label)
    out, found = _canonical(frame, kind)
    if "stage" not in found:
        raise PipesheetError(
            f"this looks like a {kind} export but has no stage column",
            table=label,
            expected="the " + " or ".join(repr(a) for a in _PROFILES[kind]["stage"]) + " column",
        )
    history = None
    if kind == "salesforce":
        _salesforce_status(out, found, label, issues)
    elif kind == "hubspot":
        history = _hubspot_history(out, found, label)
    elif kind == "pipedrive":
        _pipedrive_status(out, found, label, issues)
    elif kind == "odoo":
        _odoo_status(out, found, label, issues)
    return out, history


def _is_terminal(stage: pd.Series, labels: tuple[str, ...]) -> np.ndarray:
    """True where the stage label is one of ``labels`` (folded once per distinct label)."""
    keys = {stage_key(x) for x in labels}
    codes, uniques = pd.factorize(stage, use_na_sentinel=True)
    hit = np.array([isinstance(u, str) and stage_key(u) in keys for u in uniques] + [False])
    return hit[codes]


def _ids(values: pd.Series) -> pd.Series:
    """Clean deal ids (see :func:`pipesheet.tables._text`), computed once per distinct value."""
    from pipesheet.tables import clean_text_column as _text

    return _text(values)


def _salesforce_status(out: pd.DataFrame, found, label: str, issues: list[tuple]) -> None:
    if "is_won" not in found:
        return
    won_flag = _truthy(out["is_won"])
    closed_flag = _truthy(out["is_closed"]) if "is_closed" in found else None
    stage = out["stage"]
    is_won_stage = _is_terminal(stage, DEFAULT_WON)
    is_lost_stage = _is_terminal(stage, DEFAULT_LOST)
    wf = won_flag.to_numpy()
    flag_won = wf == "T"
    bad_flag = wf == "?"
    if bad_flag.any():
        raise PipesheetError(
            "IsWon is not TRUE or FALSE",
            table=label,
            column=found["is_won"],
            rows=[int(r) for r in out.index[bad_flag][:20]],
            value=out["is_won"][bad_flag].iloc[0],
            expected="TRUE or FALSE",
        )
    contradict = (flag_won & is_lost_stage) | (~flag_won & is_won_stage)
    if closed_flag is not None:
        cf = closed_flag.to_numpy()
        flag_closed = cf == "T"
        contradict |= flag_won & ~flag_closed
    for r in np.flatnonzero(contradict):
        issues.append(
            (
                label,
                int(out.index[r]),
                _clean_text(out["deal_id"].iloc[r]) if "deal_id" in out else None,
                "deal both won and lost: IsWon/IsClosed disagree with the stage",
                f"IsWon={out['is_won'].iloc[r]}, Stage={stage.iloc[r]}",
            )
        )


def _pipedrive_status(out: pd.DataFrame, found, label: str, issues: list[tuple]) -> None:
    if "status" not in found:
        return
    status = out["status"].map(lambda v: str(v).strip().casefold() if isinstance(v, str) else v)
    known = status.isin(["open", "won", "lost", "deleted"]) | status.isna()
    if not known.all():
        bad = ~known.to_numpy()
        raise PipesheetError(
            "unknown deal status",
            table=label,
            column=found["status"],
            rows=[int(r) for r in out.index[bad][:20]],
            value=out["status"][bad].iloc[0],
            expected="open, won or lost (as Pipedrive exports it)",
        )
    if "won_time" in found and "lost_time" in found:
        both = out["won_time"].notna().to_numpy() & out["lost_time"].notna().to_numpy()
        for r in np.flatnonzero(both):
            issues.append(
                (
                    label,
                    int(out.index[r]),
                    _clean_text(out["deal_id"].iloc[r]),
                    "deal both won and lost: it has a won time and a lost time",
                    f"status={out['status'].iloc[r]}",
                )
            )
    out["last_open_stage"] = out["stage"]
    s = status.to_numpy()
    out.loc[s == "won", "stage"] = "Won"
    out.loc[s == "lost", "stage"] = "Lost"
    deleted = s == "deleted"
    if deleted.any():
        for r in np.flatnonzero(deleted):
            issues.append(
                (label, int(out.index[r]), _clean_text(out["deal_id"].iloc[r]), "deleted deal", "")
            )
    closed = out["won_time"].where(s == "won") if "won_time" in found else None
    if "lost_time" in found:
        lost_t = out["lost_time"].where(s == "lost")
        closed = lost_t if closed is None else closed.fillna(lost_t)
    if closed is not None and "closed_date" not in out:
        out["closed_date"] = closed


def _odoo_status(out: pd.DataFrame, found, label: str, issues: list[tuple]) -> None:
    if "active" not in found:
        return
    active = _truthy(out["active"]).to_numpy()
    bad = active == "?"
    if bad.any():
        raise PipesheetError(
            "Active is not TRUE or FALSE",
            table=label,
            column=found["active"],
            rows=[int(r) for r in out.index[bad][:20]],
            value=out["active"][bad].iloc[0],
            expected="TRUE or FALSE (Odoo exports True/False)",
        )
    archived = active == "F"
    won = _is_terminal(out["stage"], DEFAULT_WON)
    for r in np.flatnonzero(archived & won):
        issues.append(
            (
                label,
                int(out.index[r]),
                _clean_text(out["deal_id"].iloc[r]),
                "deal both won and lost: archived (lost) but in the Won stage",
                f"Stage={out['stage'].iloc[r]}",
            )
        )
    out["last_open_stage"] = out["stage"]
    out.loc[archived & ~won, "stage"] = "Lost"


def _hubspot_history(out: pd.DataFrame, found, label: str) -> pd.DataFrame | None:
    entered_cols = [c for c in out.columns if _DATE_ENTERED.match(str(c))]
    if not entered_cols:
        return None
    if "deal_id" not in out:
        raise PipesheetError(
            "HubSpot export without a Record ID column",
            table=label,
            expected="the 'Record ID' column (HubSpot adds it to every export)",
        )
    names = [_DATE_ENTERED.match(str(c)).group(1).strip() for c in entered_cols]
    # "Closed won (Sales Pipeline)": drop the pipeline name when every column carries one
    suffix = re.compile(r"^(.*?)\s*\(([^()]*)\)$")
    if all(suffix.match(n) for n in names):
        names = [suffix.match(n).group(1) for n in names]
    parts = []
    for col, stage in zip(entered_cols, names, strict=True):
        values = out[col]
        if not pd.api.types.is_datetime64_any_dtype(values.dtype):
            from pipesheet.tables import parse_dates

            values = parse_dates(values, table=label, column=col)
        mask = values.notna().to_numpy()
        if mask.any():
            parts.append(
                pd.DataFrame(
                    {
                        "deal_id": out["deal_id"].to_numpy()[mask],
                        "stage": stage,
                        "entered_date": values.to_numpy()[mask],
                        "source_row": out.index.to_numpy()[mask],
                    }
                )
            )
    if not parts:
        return None
    hist = pd.concat(parts, ignore_index=True)
    hist = hist.sort_values(["source_row", "entered_date"], kind="stable")
    hist.index = pd.RangeIndex(2, 2 + len(hist), name="row")
    terminal = {stage_key(x) for x in (*DEFAULT_WON, *DEFAULT_LOST)}
    open_stages = tuple(n for n in names if stage_key(n) not in terminal)
    if open_stages:
        hist.attrs["stages"] = StageList(
            open_stages, source="the export's column order (HubSpot pipeline order)"
        )
    return hist


def _salesforce_history(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    out, found = _canonical(frame, "salesforce_history")
    if "field" in found:  # report form: one row per field change; keep the stage changes
        is_stage = out["field"].map(
            lambda v: (
                stage_key(v) in ("stage", "stagename", "opportunity stage")
                if isinstance(v, str)
                else False
            )
        )
        out = out[is_stage.to_numpy()]
        if out.empty:
            raise PipesheetError(
                "the history export has no Stage changes",
                table=label,
                column=found["field"],
                expected="rows whose Field / Event is Stage",
            )
    for need in ("deal_id", "stage", "entered_date"):
        if need not in found:
            raise PipesheetError(
                f"the Salesforce history export has no {need.replace('_', ' ')} column",
                table=label,
                expected="OpportunityId, StageName and CreatedDate (Data Loader) columns",
            )
    keep = [c for c in ("deal_id", "stage", "entered_date", "amount", "close_date") if c in out]
    return out[keep]


def _issues_error(issues: pd.DataFrame) -> PipesheetError:
    first = issues.iloc[0]
    same = issues[(issues["table"] == first["table"]) & (issues["problem"] == first["problem"])]
    more = len(issues) - len(same)
    extra = f"; {more} more contradicting row(s) of other kinds" if more > 0 else ""
    return PipesheetError(
        f"{first['problem']} ({len(same)} row(s), first deal {first['deal_id']!r}){extra}",
        table=first["table"],
        rows=[int(r) for r in same["row"].tolist()[:50]],
        value=first["value"] if first["value"] not in ("", None) else None,
        expected="rows that agree with each other (or read with on_issues='report' "
        "to set them aside and get the list)",
    )


def _set_aside(deals, history, issues: pd.DataFrame):
    bad_ids = set(issues["deal_id"].dropna().astype(str))
    aliases = ("deal_id", "Deal ID", "id", "opportunity_id", "opportunityid", "record_id")
    if deals is not None and bad_ids and _find(deals, aliases) is not None:
        ids = deals[_find(deals, aliases)].map(_clean_text)
        deals = deals[~ids.isin(bad_ids).to_numpy()]
    if history is not None and bad_ids and _find(history, aliases) is not None:
        ids = history[_find(history, aliases)].map(_clean_text)
        history = history[~ids.isin(bad_ids).to_numpy()]
    return deals, history


def check_export(deals: pd.DataFrame | None, history: pd.DataFrame | None) -> pd.DataFrame:
    """Rows of a deals table and a history that contradict each other, as an issues table.

    Finds: a deal id twice in the deals table; history rows for deals that are not in the deals
    table; a deal whose history ends Won while the deals table says Lost (or the reverse); a deal
    with a Won row and a Lost row at the same moment in the history.  Tables use pipesheet field
    names or common aliases.

    Returns:
        Columns :data:`ISSUE_COLUMNS` (``table``, ``row``, ``deal_id``, ``problem``, ``value``);
        empty when the tables agree.
    """
    rows: list[tuple] = []
    d_ids = d_stage = None
    if deals is not None:
        id_col = _find(deals, ("deal_id", "Deal ID", "id", "opportunity_id", "record_id"))
        st_col = _find(deals, ("stage", "stage_name", "deal_stage"))
        if id_col is not None:
            d_ids = _ids(deals[id_col])
            dup = d_ids.duplicated(keep=False) & d_ids.notna()
            for r in deals.index[dup.to_numpy()][:1000]:
                rows.append(
                    ("deals", int(r), d_ids.loc[r], "deal id appears more than once", d_ids.loc[r])
                )
        if st_col is not None:
            d_stage = deals[st_col]
    if history is not None:
        h_id = _find(history, ("deal_id", "Deal ID", "id", "opportunity_id", "opportunityid"))
        h_st = _find(history, ("stage", "stage_name", "to_stage", "new_stage"))
        h_dt = _find(history, ("entered_date", "date_entered", "date", "createddate"))
        if h_id is None or h_st is None:
            return _issue_frame(rows)
        h_ids = _ids(history[h_id])
        if d_ids is not None:
            unknown = ~h_ids.isin(set(d_ids.dropna())).to_numpy() & h_ids.notna().to_numpy()
            for r in history.index[unknown][:1000]:
                rows.append(
                    (
                        "history",
                        int(r),
                        h_ids.loc[r],
                        "history for a deal that is not in the deals table",
                        h_ids.loc[r],
                    )
                )
        won = _is_terminal(history[h_st], DEFAULT_WON)
        lost = _is_terminal(history[h_st], DEFAULT_LOST)
        if h_dt is not None and (won.any() and lost.any()):
            # only deals with both a Won and a Lost row can have them at the same moment
            suspects = set(h_ids[won]) & set(h_ids[lost])
            sel = h_ids.isin(suspects).to_numpy() if suspects else np.zeros(len(h_ids), bool)
            frame = pd.DataFrame(
                {"id": h_ids[sel], "t": history[h_dt][sel], "won": won[sel], "lost": lost[sel]}
            )
            g = frame.groupby(["id", "t"], sort=False)[["won", "lost"]].transform("any")
            both = (g["won"] & g["lost"]).to_numpy() & (won[sel] | lost[sel])
            for r in history.index[sel][both][:1000]:
                rows.append(
                    (
                        "history",
                        int(r),
                        h_ids.loc[r],
                        "deal both won and lost at the same moment",
                        str(history[h_st].loc[r]),
                    )
                )
        if d_ids is not None and d_stage is not None and h_dt is not None:
            order = np.lexsort((history.index.to_numpy(), history[h_dt].to_numpy()))
            last = pd.DataFrame(
                {"id": h_ids.to_numpy()[order], "won": won[order], "lost": lost[order]}
            ).drop_duplicates("id", keep="last")
            last = last.set_index("id")
            d_won = _is_terminal(d_stage, DEFAULT_WON)
            d_lost = _is_terminal(d_stage, DEFAULT_LOST)
            h_won = d_ids.map(last["won"]).fillna(False).to_numpy(dtype=bool)
            h_lost = d_ids.map(last["lost"]).fillna(False).to_numpy(dtype=bool)
            clash = (d_won & h_lost) | (d_lost & h_won)
            for r in deals.index[clash][:1000]:
                rows.append(
                    (
                        "deals",
                        int(r),
                        d_ids.loc[r],
                        "deal both won and lost: the deals table and the history disagree",
                        str(d_stage.loc[r]),
                    )
                )
    return _issue_frame(rows)


# ---- lookups ---------------------------------------------------------------------------------
@dataclass
class LookupResult:
    """Result of :func:`lookup`.

    Attributes:
        table: The first table with the looked-up columns added (same rows, same order, same
            index; unmatched rows have blanks there).
        unmatched: Rows whose key was not found: ``row``, ``key``.
        matched: Number of rows that found their key.
    """

    table: pd.DataFrame
    unmatched: pd.DataFrame
    matched: int


def lookup(
    table: pd.DataFrame,
    other: pd.DataFrame,
    on: str,
    columns: str | Sequence[str],
    *,
    other_on: str | None = None,
    case_sensitive: bool = False,
    on_unmatched: str = "report",
    name: str = "deals",
    other_name: str = "lookup",
) -> LookupResult:
    """Add columns from a second table (list prices, owners, regions…) by a key: a left join.

    Keys are compared as text with white space collapsed, whole numbers as ``123`` (not
    ``123.0``), and case-insensitively unless ``case_sensitive``.  Every row of ``table`` is kept.

    Args:
        on: Key column in ``table``; ``other_on``: in ``other`` (default the same header).
        columns: Column(s) of ``other`` to bring over (renamed ``<col> (lookup)`` if ``table``
            already has a column of that name).
        on_unmatched: ``"report"`` (default): unmatched keys are listed in the result;
            ``"raise"``: they raise a PipesheetError naming the rows.

    Raises:
        PipesheetError: a key or column missing, or a key listed twice in ``other`` (the lookup
            would be ambiguous).
    """
    other_on = other_on or on
    cols = [columns] if isinstance(columns, str) else list(columns)
    for tbl, col, nm in ((table, on, name), (other, other_on, other_name)):
        if col not in tbl.columns:
            raise PipesheetError(
                "key column not found",
                table=nm,
                column=col,
                expected="one of " + ", ".join(repr(c) for c in tbl.columns),
            )
    for c in cols:
        if c not in other.columns:
            raise PipesheetError(
                "lookup column not found",
                table=other_name,
                column=c,
                expected="one of " + ", ".join(repr(x) for x in other.columns),
            )

    def keys(values: pd.Series) -> pd.Series:
        k = values.map(_clean_text)
        return k if case_sensitive else k.map(lambda v: v.casefold() if isinstance(v, str) else v)

    other_rows = other.index if other.index.name == "row" else pd.RangeIndex(2, 2 + len(other))
    ok = keys(other[other_on])
    ok.index = other_rows
    dup = (ok.duplicated(keep=False) & ok.notna()).to_numpy()
    if dup.any():
        first = ok[dup].iloc[0]
        raise PipesheetError(
            "key listed more than once, so the lookup is ambiguous",
            table=other_name,
            column=other_on,
            rows=[int(r) for r in other_rows[(ok == first).to_numpy()]],
            value=other[other_on].to_numpy()[np.flatnonzero(dup)[0]],
            expected="each key once in the lookup table",
        )
    tk = keys(table[on])
    pos = pd.Series(np.arange(len(ok)), index=ok.to_numpy())
    pos = pos[pos.index.notna()]
    idx = tk.map(pos)
    found = idx.notna().to_numpy()
    out = table.copy()
    take = idx.fillna(0).astype(int).to_numpy()
    for c in cols:
        target = c if c not in out.columns or c == on else f"{c} (lookup)"
        values = other[c].to_numpy()[take] if len(other) else np.full(len(out), None)
        col = pd.Series(values, index=out.index, dtype=other[c].dtype if len(other) else object)
        out[target] = col.where(found)
    rows = out.index if out.index.name == "row" else pd.RangeIndex(2, 2 + len(out))
    unmatched = pd.DataFrame({"row": np.asarray(rows)[~found], "key": table[on].to_numpy()[~found]})
    if len(unmatched) and on_unmatched == "raise":
        raise PipesheetError(
            f"{len(unmatched)} key(s) not found in table '{other_name}'",
            table=name,
            column=on,
            rows=[int(r) for r in unmatched["row"][:50]],
            value=unmatched["key"].iloc[0],
            expected=f"keys that appear in column {other_on!r} of table '{other_name}'",
        )
    result = LookupResult(out, unmatched, int(found.sum()))
    if len(unmatched):
        out.attrs["notes"] = [
            f"{len(unmatched)} row(s) found no match in '{other_name}' ("
            + format_rows([int(r) for r in unmatched["row"]])
            + ")"
        ]
    return result
