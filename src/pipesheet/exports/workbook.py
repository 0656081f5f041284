"""Workbooks (XLSX/XLSM/XLSB/XLS/ODS) into a table: a worksheet or an Excel Table.

Read with the calamine engine, read only (the input is never saved).  ``sheet=`` picks a
worksheet by name (case-insensitive) or 0-based position, ``table=`` an Excel Table by name.
The workbook XML that pipesheet itself inspects (the workbook part and the Excel Table parts) is
parsed with ``defusedxml``, so entity tricks are refused.  Before any reader opens a zipped
workbook, :func:`pipesheet.exports.limits.check_workbook_bounds` bounds what it would decompress
and the used range it would allocate.  Encrypted (password-protected) workbooks, web pages
saved as ``.xls`` and damaged files are refused with a message saying what the file is.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd

from pipesheet.cells import clean_text
from pipesheet.errors import PipesheetError
from pipesheet.exports.headers import apply_headers, headers_from_first_row
from pipesheet.exports.limits import check_workbook_bounds
from pipesheet.i18n import _

__all__ = ["WORKBOOK_SUFFIXES", "read_workbook"]

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")


def read_workbook(
    source: Path | bytes, name: str, sheet: str | int | None = None, table: str | None = None
) -> pd.DataFrame:
    """A worksheet (or the Excel Table ``table``) of the workbook at ``source`` (a path, or the
    file's bytes) as a frame with headers from its first row and spreadsheet row numbers as
    index; ``name`` is the file name (its extension says the format; errors name it)."""
    if isinstance(source, Path):
        with source.open("rb") as fh:
            raw_head = fh.read(2048)
    else:
        raw_head = source[:2048]
    if not raw_head:
        raise PipesheetError(_("the file is empty"), table=name, expected=_("a workbook with data"))
    if raw_head.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html", b"<table")):
        raise PipesheetError(
            _("this .xls is a web page (HTML), as some CRMs export it, not a real workbook"),
            table=name,
            expected=_("the report exported as .xlsx or .csv"),
        )
    suffix = Path(name).suffix.casefold()
    if raw_head.startswith(b"\xd0\xcf\x11\xe0") and (suffix != ".xls" or _encrypted(source)):
        raise _encrypted_error(name)
    check_workbook_bounds(source, name)  # before any reader allocates
    if suffix in (".xlsx", ".xlsm"):
        _check_workbook_xml(source, name)
    import python_calamine as cal

    try:
        wb = cal.CalamineWorkbook.from_object(_open(source), load_tables=table is not None)
    except Exception as err:  # calamine's zip/XML/password errors
        if isinstance(err, cal.PasswordError) or "password" in str(err).casefold():
            raise _encrypted_error(name) from None
        if suffix == ".xls" and "cfb" in str(err).casefold():
            raise PipesheetError(
                _(
                    "cannot read this .xls: it is not an Excel 97–2003 workbook pipesheet can "
                    "open (damaged, or an encrypted workbook)"
                ),
                table=name,
                expected=_("the workbook saved again as .xlsx without a password, or as CSV"),
            ) from None
        raise _unreadable(err, name, _("a valid, unencrypted .xlsx file")) from None
    try:
        if table is not None:
            names = list(wb.table_names)
            if table not in names:
                raise PipesheetError(
                    _("Excel Table not found"),
                    table=name,
                    value=table,
                    expected=_("one of the workbook's tables: {names}").format(
                        names=", ".join(names) or _("none")
                    ),
                )
            t = wb.get_table_by_name(table)
            rows = t.to_python()
            header = list(t.columns)
            first = int(t.start[0])  # calamine: 0-based first data row = 1-based header row
            frame = pd.DataFrame(rows, columns=range(len(header)), dtype=object)
            frame = pd.concat(
                [pd.DataFrame([header], columns=range(len(header)), dtype=object), frame]
            )
            return headers_from_first_row(
                frame.reset_index(drop=True), f"{name}[{table}]", first, int(t.start[1])
            )
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
                _("sheet not found"),
                table=name,
                value=sheet,
                expected=_("one of the sheets: {names}").format(
                    names=", ".join(sheets) or _("none")
                ),
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
        raise _unreadable(err, name) from None
    finally:
        wb.close()
    if rows is None:  # the usual case: a table starting in A1, read column-wise by pandas
        return _read_sheet_fast(source, target, header, f"{name}[{target}]")
    rows = [r for r in rows]
    while rows and all(v in ("", None) for v in rows[-1]):
        rows.pop()
    if not rows:
        raise PipesheetError(
            _("the sheet is empty"),
            table=f"{name}[{target}]",
            expected=_("a header row and data rows"),
        )
    width = max(len(r) for r in rows)
    frame = pd.DataFrame(rows, columns=range(width), dtype=object)
    frame = frame.replace("", None) if len(frame) < 5000 else _blank_to_none(frame)
    return headers_from_first_row(frame, f"{name}[{target}]")


def _read_sheet_fast(source: Path | bytes, sheet: str, header: list, name: str) -> pd.DataFrame:
    try:
        body = pd.read_excel(
            _open(source),
            sheet_name=sheet,
            engine="calamine",
            header=0,
            keep_default_na=False,
            na_values=[""],
        )
    except Exception as err:
        raise _unreadable(err, name) from None
    names = [clean_text(v) if v != "" else None for v in header]
    names += [None] * (body.shape[1] - len(names))
    body.columns = range(body.shape[1])
    body = body.iloc[:, : len(names)]
    body.index = pd.RangeIndex(2, 2 + len(body), name="row")
    return apply_headers(names[: body.shape[1]], body, name, 1)


_ENCRYPTION_STREAMS = ("EncryptedPackage".encode("utf-16-le"), "EncryptionInfo".encode("utf-16-le"))


def _encrypted(source: Path | bytes) -> bool:
    """True for an Office file container (CFB) holding an encrypted workbook: its directory
    names the EncryptedPackage/EncryptionInfo streams (password-protected .xlsx, even when
    saved as .xls)."""
    raw = source.read_bytes() if isinstance(source, Path) else source
    return any(s in raw for s in _ENCRYPTION_STREAMS)


def _encrypted_error(name: str) -> PipesheetError:
    return PipesheetError(
        _("the workbook is encrypted (password-protected), so it cannot be read"),
        table=name,
        expected=_(
            "the workbook saved without a password (Excel: File → Info → Protect Workbook → "
            "Encrypt with Password, clear the password, save), or the table saved as CSV"
        ),
    )


def _open(source: Path | bytes) -> str | io.BytesIO:
    return str(source) if isinstance(source, Path) else io.BytesIO(source)


def _unreadable(err: Exception, name: str, expected: str | None = None) -> PipesheetError:
    return PipesheetError(
        _("cannot read the workbook ({error}: {reason})").format(
            error=type(err).__name__, reason=str(err)[:120]
        ),
        table=name,
        expected=expected or _("a valid .xlsx file"),
    )


def _blank_to_none(frame: pd.DataFrame) -> pd.DataFrame:
    for c in frame.columns:
        col = frame[c]
        mask = (col == "").to_numpy()
        if mask.any():
            frame[c] = col.mask(mask)
    return frame


def _check_workbook_xml(source: Path | bytes, name: str) -> None:
    """Open the workbook's zip and parse its workbook part with defusedxml (no entity tricks)."""
    try:
        from defusedxml import ElementTree as SafeET
        from defusedxml.common import DefusedXmlException
    except ImportError:  # pragma: no cover - defusedxml is in the xlsx extra
        raise PipesheetError(
            _("reading workbooks needs the defusedxml package"),
            table=name,
            expected="pip install 'pipesheet[xlsx]'",
        ) from None

    try:
        with zipfile.ZipFile(_open(source)) as zf:
            names = set(zf.namelist())
            if "xl/workbook.xml" not in names:
                raise PipesheetError(
                    _("the file is a zip archive but not an Excel workbook"),
                    table=name,
                    expected=_("an .xlsx saved by Excel, LibreOffice or a CRM"),
                )
            tables = sorted(n for n in names if n.startswith("xl/tables/") and n.endswith(".xml"))
            parts = ["xl/workbook.xml", *tables]
            for part in parts:
                info = zf.getinfo(part)
                if info.file_size > 50_000_000:
                    raise PipesheetError(
                        _("workbook part {part} is implausibly large").format(part=part),
                        table=name,
                        expected=_("an ordinary workbook"),
                    )
                SafeET.fromstring(zf.read(part))
    except zipfile.BadZipFile:
        raise PipesheetError(
            _("cannot read the workbook: it is damaged (not a valid zip file)"),
            table=name,
            expected=_("an .xlsx file that opens in Excel"),
        ) from None
    except DefusedXmlException as err:
        raise PipesheetError(
            _("the workbook's XML contains forbidden constructs ({error})").format(
                error=type(err).__name__
            ),
            table=name,
            expected=_("an ordinary workbook (entity declarations are refused for safety)"),
        ) from None
    except SafeET.ParseError as err:
        raise PipesheetError(
            _("the workbook's XML is damaged ({reason})").format(reason=err),
            table=name,
            expected=_("an .xlsx file that opens in Excel"),
        ) from None
