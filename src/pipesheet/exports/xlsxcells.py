"""Cells of an .xlsx/.xlsm sheet that the fast reader cannot show as they are.

The calamine reader gives an Excel error cell (``#N/A``, ``#VALUE!``…) as an empty cell, and a
TRUE/FALSE cell in a column of numbers as 1/0.  Both would change a value silently: a close date
of ``#VALUE!`` would read as "no close date", an amount of TRUE as 1.  :func:`hidden_cells`
finds such cells in the sheet's XML (a byte scan of the decompressed part, streamed, so it costs
little beside the read itself) and :func:`restore_cells` puts them back into the frame as the
error text or the boolean, so the engine's readers name the cell (:mod:`pipesheet.cells`).
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["HiddenCell", "hidden_cells", "restore_cells"]

_CHUNK = 1 << 22
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"
# a cell with t="e" (error) or t="b" (boolean) and its cached value
_CELL = re.compile(
    rb'<c\b[^>]*?\br="([A-Z]{1,3})(\d+)"[^>]*?\bt="([eb])"[^>]*>\s*(?:<f\b[^>]*?(?:/>|>.*?</f>)\s*)?'
    rb"<v>([^<]*)</v>",
    re.DOTALL,
)
_CELL_OTHER_ORDER = re.compile(
    rb'<c\b[^>]*?\bt="([eb])"[^>]*?\br="([A-Z]{1,3})(\d+)"[^>]*>\s*(?:<f\b[^>]*?(?:/>|>.*?</f>)\s*)?'
    rb"<v>([^<]*)</v>",
    re.DOTALL,
)


@dataclass(frozen=True)
class HiddenCell:
    """A cell the fast reader changes: spreadsheet ``row``, column ``letters``, and ``value``
    (the error text, or True/False)."""

    row: int
    letters: str
    value: object


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _parse(data: bytes):
    from defusedxml import ElementTree as SafeET

    return SafeET.fromstring(data)


def _sheet_part(z: zipfile.ZipFile, sheet: str | int | None) -> str | None:
    root = _parse(z.read("xl/workbook.xml"))
    sheets = [(s.get("name"), s.get(f"{_REL}id")) for s in root.iter(f"{_MAIN}sheet")]
    if not sheets:
        return None
    if sheet is None:
        rid = sheets[0][1]
    elif isinstance(sheet, int) and not isinstance(sheet, bool):
        if not 0 <= sheet < len(sheets):
            return None
        rid = sheets[sheet][1]
    else:
        found = [r for n, r in sheets if n == sheet] or [
            r for n, r in sheets if str(n).casefold() == str(sheet).casefold()
        ]
        if not found:
            return None
        rid = found[0]
    rels = _parse(z.read("xl/_rels/workbook.xml.rels"))
    for rel in rels.iter(f"{_PKG}Relationship"):
        if rel.get("Id") == rid:
            return _resolve("xl/workbook.xml", rel.get("Target", ""))
    return None


def _resolve(base: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), target))


def _table_part(z: zipfile.ZipFile, table: str) -> tuple[str, str] | None:
    """The sheet part holding the Excel Table ``table`` and the table's ``ref`` (``A1:F20``)."""
    for name in z.namelist():
        if not (name.startswith("xl/tables/") and name.endswith(".xml")):
            continue
        root = _parse(z.read(name))
        if table not in (root.get("name"), root.get("displayName")):
            continue
        for rels_name in z.namelist():
            if not (rels_name.startswith("xl/worksheets/_rels/") and rels_name.endswith(".rels")):
                continue
            sheet = "xl/worksheets/" + posixpath.basename(rels_name)[: -len(".rels")]
            for rel in _parse(z.read(rels_name)).iter(f"{_PKG}Relationship"):
                if _resolve(sheet, rel.get("Target", "")) == name:
                    return sheet, str(root.get("ref", ""))
    return None


_ROW = re.compile(rb"<row\b[^>]*>(.*?)</row>", re.DOTALL)
_HEAD_CELL = re.compile(rb'<c\b([^>]*?)\br="([A-Z]{1,3})\d+"([^>]*?)(/>|>(.*?)</c>)', re.DOTALL)


def _scan(z: zipfile.ZipFile, part: str) -> tuple[list[HiddenCell], list[str]]:
    """The hidden cells of a sheet part, and the column letters of the non-blank cells of its
    first row (the header row)."""
    out: list[HiddenCell] = []
    header: list[str] | None = None
    with z.open(part) as fh:
        tail = b""
        while True:
            chunk = fh.read(_CHUNK)
            data = tail + chunk
            if not data:
                break
            if header is None:
                m = _ROW.search(data)
                if m is not None:
                    header = [
                        c.group(2).decode()
                        for c in _HEAD_CELL.finditer(m.group(1))
                        if c.group(5) and (b"<v>" in c.group(5) or b"<t" in c.group(5))
                    ]
            if b't="e"' in data or b't="b"' in data:
                # a cell cut at the chunk's end is scanned again with the next chunk
                cut = data.rfind(b"<c ") if chunk else len(data)
                body, tail = (data[:cut], data[cut:]) if cut > 0 else (data, b"")
                for m in _CELL.finditer(body):
                    out.append(_cell(m.group(1), m.group(2), m.group(3), m.group(4)))
                for m in _CELL_OTHER_ORDER.finditer(body):
                    out.append(_cell(m.group(2), m.group(3), m.group(1), m.group(4)))
            else:
                tail = data[-64:]
            if not chunk:
                break
    return out, header or []


def _cell(letters: bytes, row: bytes, kind: bytes, value: bytes) -> HiddenCell:
    text = value.decode("utf-8", "replace").strip()
    v: object = (text == "1") if kind == b"b" else (text or "#N/A")
    return HiddenCell(int(row), letters.decode(), v)


def _letters(first: int, last: int) -> list[str]:
    out = []
    for n in range(first, last + 1):
        letters = ""
        while n:
            n, r = divmod(n - 1, 26)
            letters = chr(65 + r) + letters
        out.append(letters)
    return out


def hidden_cells(
    source: Path | bytes, sheet: str | int | None = None, table: str | None = None
) -> tuple[list[HiddenCell], list[str]]:
    """Error and TRUE/FALSE cells of a sheet (or of the sheet of Excel Table ``table``), and the
    column letters of the read table's columns in order (its header cells that are not blank)."""
    try:
        z = zipfile.ZipFile(source if isinstance(source, Path) else io.BytesIO(source))
    except (zipfile.BadZipFile, OSError):
        return [], []
    with z:
        columns: list[str] | None = None
        if table is not None:
            found = _table_part(z, table)
            if found is None:
                return [], []
            part, ref = found
            m = re.fullmatch(r"([A-Z]+)\d+:([A-Z]+)\d+", ref)
            if m is None:
                return [], []
            columns = _letters(_column_number(m.group(1)), _column_number(m.group(2)))
        else:
            part = _sheet_part(z, sheet)
        if part is None or part not in z.namelist():
            return [], []
        cells, header = _scan(z, part)
        return cells, columns if columns is not None else header


def restore_cells(frame: pd.DataFrame, cells: list[HiddenCell], columns: list[str]) -> None:
    """Put error texts and booleans back into ``frame`` (in place), by spreadsheet row (the
    frame's index) and column (``columns[i]`` is the sheet column of the frame's i-th column;
    nothing is restored when their counts differ, to be safe).  A boolean is put back only
    where the reader made it a number."""
    if not cells or len(columns) != frame.shape[1]:
        return
    by_column: dict[int, list[HiddenCell]] = {}
    where = {letters: i for i, letters in enumerate(columns)}
    for cell in cells:
        pos = where.get(cell.letters)
        if pos is not None:
            by_column.setdefault(pos, []).append(cell)
    for pos, found in by_column.items():
        col = frame.columns[pos]
        values = frame[col]
        numeric = pd.api.types.is_numeric_dtype(values.dtype) and not (
            pd.api.types.is_bool_dtype(values.dtype)
        )
        # a boolean is hidden only where the reader made it a number; an error wherever it blanked
        keep = [c for c in found if not isinstance(c.value, bool) or numeric]
        rows = [c.row for c in keep]
        if not keep or not values.index.isin(rows).any():
            continue
        out = values.astype(object)
        present = out.index.isin(rows)
        current = dict(zip(out.index[present], out.to_numpy()[present], strict=True))
        changed = False
        for c in keep:
            if c.row not in current:
                continue
            now = current[c.row]
            blank = now is None or (not now.strip() if isinstance(now, str) else bool(pd.isna(now)))
            if isinstance(c.value, bool) and isinstance(now, (bool, np.bool_)):
                continue
            if not isinstance(c.value, bool) and not blank:
                continue  # the reader kept something: not an error it blanked
            out.at[c.row] = c.value
            changed = True
        if changed:
            frame[col] = out
