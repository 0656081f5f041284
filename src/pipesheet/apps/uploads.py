"""Read an uploaded file (its bytes and name) into a table of text cells.

No widgets here: the apps, the CLI or a web service can all use it.

* **Size**: files above ``max_bytes`` (default :data:`MAX_UPLOAD_BYTES`, 25 MiB) are refused
  with a message stating the limit.
* **CSV** (``.csv``, ``.txt``, ``.tsv``): UTF-8 (with or without BOM), else UTF-16 with a BOM,
  else cp1252, else latin-1. Content with NUL bytes and no UTF-16 BOM is refused (it is not a
  text CSV: usually a workbook renamed to .csv). The delimiter (``,``, ``;``, tab or ``|``) is
  detected from the header line. Every cell is read as text, so ids keep leading zeros and the
  engine's own parsers read numbers and dates.
* **XLSX** (``.xlsx``, ``.xlsm``, ``.xls``, ``.ods``): the first sheet (or ``sheet``), read with
  the calamine engine.

Every problem is a :class:`~pipesheet.errors.PipesheetError` naming the file.
"""

from __future__ import annotations

import csv
import io

import pandas as pd

from pipesheet.errors import PipesheetError

__all__ = ["MAX_UPLOAD_BYTES", "format_size", "read_upload"]

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
XLSX_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
_DELIMITERS = ",;\t|"


def format_size(n: int) -> str:
    """``26214400`` → ``"25 MB"`` (binary megabytes, as file browsers show them)."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.3g} MB"
    if n >= 1024:
        return f"{n / 1024:.3g} KB"
    return f"{n} bytes"


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].casefold() if dot >= 0 else ""


def read_upload(
    content: bytes | memoryview,
    name: str,
    *,
    max_bytes: int = MAX_UPLOAD_BYTES,
    sheet: str | None = None,
) -> pd.DataFrame:
    """Read an uploaded CSV or XLSX file into a DataFrame of text cells (headers in row 1).

    Args:
        content: The file's bytes.
        name: The file name as uploaded (its extension decides the format).
        max_bytes: Size limit; larger files are refused.
        sheet: Worksheet name for workbooks (default: the first sheet).

    Raises:
        PipesheetError: too large, empty, unknown type, undecodable text or a damaged workbook.
    """
    data = bytes(content)
    if len(data) > max_bytes:
        raise PipesheetError(
            f"the file is too large ({format_size(len(data))})",
            table=name,
            expected=f"a file of at most {format_size(max_bytes)}",
        )
    if not data.strip():
        raise PipesheetError(
            "the file is empty", table=name, expected="a header row and at least one data row"
        )
    suffix = _suffix(name)
    if suffix in XLSX_SUFFIXES:
        return _read_workbook(data, name, sheet)
    if suffix in CSV_SUFFIXES or suffix == "":
        return _read_csv(data, name)
    raise PipesheetError(
        "unknown file type", table=name, value=suffix, expected="a .csv or .xlsx file"
    )


def _decode(data: bytes, name: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    if b"\x00" in data:
        hint = " (an Excel workbook renamed to .csv?)" if data.startswith(b"PK") else ""
        raise PipesheetError(
            f"the file is not a text CSV: it contains binary data{hint}",
            table=name,
            expected="a CSV saved as UTF-8 (Excel: 'CSV UTF-8'), or the .xlsx workbook itself",
        )
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def _read_csv(data: bytes, name: str) -> pd.DataFrame:
    text = _decode(data, name)
    header = text.lstrip("\r\n").split("\n", 1)[0]
    try:
        delimiter = csv.Sniffer().sniff(header, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        delimiter = ","
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=True,
        )
    except (pd.errors.ParserError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise PipesheetError(
            f"cannot read the CSV ({first})",
            table=name,
            expected=f"one header row and rows of cells separated by {delimiter!r}",
        ) from None
    if frame.columns.size < 2:
        raise PipesheetError(
            "the file has a single column: its cells are not separated by , ; tab or |",
            table=name,
            value=str(frame.columns[0])[:60],
            expected="a table with one column per field (deal id, stage, amount...)",
        )
    return frame


def _read_workbook(data: bytes, name: str, sheet: str | None) -> pd.DataFrame:
    try:
        import python_calamine  # noqa: F401

        engine = "calamine"
    except ImportError:  # pragma: no cover - calamine is in the xlsx extra
        engine = "openpyxl"
    try:
        frame = pd.read_excel(io.BytesIO(data), sheet_name=sheet or 0, engine=engine, dtype=object)
    except Exception as err:  # zip / XML / calamine errors from a damaged or wrong file
        text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if sheet and ("not found" in text.casefold() or "worksheet" in text.casefold()):
            raise PipesheetError(
                "sheet not found", table=name, value=sheet, expected="a sheet of the workbook"
            ) from None
        raise PipesheetError(
            f"cannot read the workbook ({text[:200]})",
            table=name,
            expected="a valid .xlsx file (or save the sheet as CSV)",
        ) from None
    frame = frame.dropna(how="all")
    if frame.columns.size == 0:
        raise PipesheetError(
            "the first sheet is empty", table=name, expected="a header row and data rows"
        )
    return frame
