"""Limits on what a workbook may make pipesheet decompress and allocate, checked *before* any
reader (calamine, pandas) opens it.

A 2 KB .xlsx with one cell at ``XFD1048576`` makes a reader allocate a 17-billion-cell grid (the
process dies); a cell at ``CV150000`` costs 1.5 GB; a sheet whose XML compresses 1000:1 inflates
to gigabytes.  :func:`check_workbook_bounds` streams every part of a zipped workbook (.xlsx,
.xlsm, .xlsb, .ods) through ``zlib`` with a cap — the sizes the zip directory *declares* and the
bytes the parts *really* inflate to — and, for .xlsx/.xlsm worksheets, reads the declared
``<dimension ref="…">`` and every cell reference (``<c r="CV150000">``) to get the used range a
reader would allocate.  The limits, all module constants:

==========================  ========================================================================
:data:`MAX_DECOMPRESSED`    512 MiB: all parts of the workbook together, declared and real
:data:`MAX_RATIO`           100: a part over 16 MiB compressed more than 100:1 is a zip bomb
:data:`MAX_CELLS`           10,000,000 cells in a worksheet's used range (rows × columns, from A1
                            to the farthest cell, declared or real); reading that many takes about
                            1.5 GB of memory
:data:`SPARSE_AREA`         a used range over 1,000,000 cells that is less than 1% filled
                            (:data:`SPARSE_FILL`) is refused too: a stray cell far from the table
==========================  ========================================================================

Every worksheet of the file is checked, not only the one read.  .xlsb and .ods get the
decompression limits only; legacy .xls files (not zipped) are bounded by their file size.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from pipesheet.errors import PipesheetError
from pipesheet.formats import format_number, format_percent
from pipesheet.i18n import _

__all__ = [
    "MAX_CELLS",
    "MAX_DECOMPRESSED",
    "MAX_RATIO",
    "SPARSE_AREA",
    "SPARSE_FILL",
    "check_workbook_bounds",
]

MAX_DECOMPRESSED = 512 * 1024 * 1024
MAX_RATIO = 100
RATIO_FROM = 16 * 1024 * 1024  # parts smaller than this may compress as well as they like
MAX_CELLS = 10_000_000
SPARSE_AREA = 1_000_000
SPARSE_FILL = 0.01
_CHUNK = 1 << 20
_DIMENSION = re.compile(
    rb'<(?:\w+:)?dimension\s+ref="([A-Z]{1,4}[0-9]{1,8}:)?([A-Z]{1,4})([0-9]{1,8})"'
)
_REF_COL = re.compile(rb'\sr="([A-Z]{1,4})[0-9]')
_REF_ROW = re.compile(rb'\sr="[A-Z]{1,4}([0-9]{1,8})"')
_ROW_ATTR = re.compile(rb'<(?:\w+:)?row\s[^>]*?\br="([0-9]{1,8})"')


def _mib(n: float) -> str:
    return f"{format_number(n / (1024 * 1024))} MiB"


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


def _col_letters(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def check_workbook_bounds(source: Path | bytes, name: str) -> None:
    """Refuse a zipped workbook that would make a reader decompress or allocate more than the
    limits (see the module docstring); return quietly otherwise (and for non-zip files)."""
    fh = open(source, "rb") if isinstance(source, Path) else io.BytesIO(source)
    try:
        if fh.read(4) != b"PK\x03\x04":
            return
        fh.seek(0)
        try:
            zf = zipfile.ZipFile(fh)
        except zipfile.BadZipFile:
            return  # the reader's own check says it is damaged
        infos = zf.infolist()
        declared = sum(i.file_size for i in infos)
        if declared > MAX_DECOMPRESSED:
            raise _too_big(
                name,
                _("its parts declare {size} once decompressed").format(size=_mib(declared)),
            )
        total = 0
        suffix = Path(name).suffix.casefold()
        for info in infos:
            is_sheet = suffix in (".xlsx", ".xlsm") and re.fullmatch(
                r"xl/worksheets/[^/]+\.xml", info.filename
            )
            scan = _SheetScan(name, info.filename) if is_sheet else None
            size = 0
            for chunk in _inflate(fh, info, name):
                size += len(chunk)
                if total + size > MAX_DECOMPRESSED:
                    raise _too_big(
                        name,
                        _("its parts decompress to more than {size}").format(
                            size=_mib(MAX_DECOMPRESSED)
                        ),
                    )
                if size > RATIO_FROM and size > MAX_RATIO * max(info.compress_size, 1):
                    raise _too_big(
                        name,
                        _("part {part} is compressed more than {ratio}:1 (a zip bomb)").format(
                            part=info.filename, ratio=MAX_RATIO
                        ),
                    )
                if scan is not None:
                    scan.feed(chunk)
            total += size
            if scan is not None:
                scan.finish()
    finally:
        fh.close()


def _too_big(name: str, why: str) -> PipesheetError:
    return PipesheetError(
        _("the workbook is too large to read safely: {why}").format(why=why),
        table=name,
        expected=_(
            "a workbook of at most {size} decompressed and {cells} cells per sheet (pipesheet's "
            "limits), e.g. the table saved as CSV"
        ).format(size=_mib(MAX_DECOMPRESSED), cells=format_number(MAX_CELLS)),
    )


def _inflate(fh, info: zipfile.ZipInfo, name: str) -> Iterator[bytes]:
    """The part's bytes as they really inflate, in chunks (not trusting its declared size)."""
    fh.seek(info.header_offset)
    head = fh.read(30)
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        return
    name_len, extra_len = struct.unpack("<HH", head[26:30])
    fh.seek(info.header_offset + 30 + name_len + extra_len)
    left = info.compress_size
    if info.compress_type == zipfile.ZIP_STORED:
        while left > 0:
            chunk = fh.read(min(_CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk
        return
    if info.compress_type != zipfile.ZIP_DEFLATED:
        raise PipesheetError(
            _("workbook part {part} uses an unusual compression").format(part=info.filename),
            table=name,
            expected=_("an .xlsx saved by Excel, LibreOffice or a CRM"),
        )
    inflater = zlib.decompressobj(-15)
    while left > 0 and not inflater.eof:
        data = fh.read(min(_CHUNK, left))
        if not data:
            break
        left -= len(data)
        while data and not inflater.eof:
            try:
                out = inflater.decompress(data, 4 * _CHUNK)
            except zlib.error:
                return  # damaged: the reader's own error says so
            data = inflater.unconsumed_tail
            if out:
                yield out


class _SheetScan:
    """The used range of a worksheet's XML, fed in chunks: the declared ``<dimension>`` and the
    farthest real cell reference, and how many cells there are."""

    def __init__(self, name: str, part: str) -> None:
        self.name, self.part = name, part
        self.tail = b""
        self.max_row = self.max_col = self.cells = 0
        self.far = ""
        self.seen_dimension = False

    def feed(self, chunk: bytes) -> None:
        data = self.tail + chunk
        cut = data.rfind(b">") + 1
        data, self.tail = data[:cut], data[cut:][-4096:]
        if not self.seen_dimension:
            m = _DIMENSION.search(data)
            if m is not None or b"<sheetData" in data:
                self.seen_dimension = True
            if m is not None:
                rows, cols = int(m.group(3)), _col_number(m.group(2))
                self._check(rows, cols, f"{m.group(2).decode()}{rows}", declared=True)
        letters = _REF_COL.findall(data)
        if letters:
            col = max(_col_number(c) for c in set(letters))
            self.max_col = max(self.max_col, col)
        rows = set(_REF_ROW.findall(data))
        cells = data.count(b"<c ") + data.count(b"<c>") + data.count(b"<c/>") + data.count(b":c ")
        if cells > len(letters):  # cells without a reference: placed by their row's number
            rows.update(_ROW_ATTR.findall(data))
        if rows:
            self.max_row = max(self.max_row, max(int(r) for r in rows))
        self.cells += cells
        self._check(self.max_row, self.max_col, None)

    def finish(self) -> None:
        self.feed(b"")
        area = self.max_row * self.max_col
        if area > SPARSE_AREA and self.cells < SPARSE_FILL * area:
            far = f"{_col_letters(self.max_col)}{self.max_row}"
            raise PipesheetError(
                _(
                    "the sheet ({part}) is almost empty but reaches cell {far}: its {cells} cells "
                    "spread over {area} (rows × columns from A1), which a reader would allocate "
                    "— a stray cell far from the table?"
                ).format(
                    part=self.part,
                    far=far,
                    cells=format_number(self.cells),
                    area=format_number(area),
                ),
                table=self.name,
                value=far,
                expected=_(
                    "the table without far-away cells (delete the rows and columns after it, or "
                    "copy the table to a new sheet); pipesheet refuses used ranges over {area} "
                    "cells that are less than {fill} filled"
                ).format(area=format_number(SPARSE_AREA), fill=format_percent(SPARSE_FILL, 0)),
            )

    def _check(self, rows: int, cols: int, ref: str | None, declared: bool = False) -> None:
        if rows * cols <= MAX_CELLS:
            return
        ref = ref or f"{_col_letters(cols)}{rows}"
        problem = (
            _(
                "the sheet ({part}) declares its used range as {ref}: {cols} columns × {rows} "
                "rows = {cells} cells, more than pipesheet reads ({limit} cells)"
            )
            if declared
            else _(
                "the sheet ({part}) has a cell at {ref}: {cols} columns × {rows} rows = {cells} "
                "cells, more than pipesheet reads ({limit} cells)"
            )
        )
        raise PipesheetError(
            problem.format(
                part=self.part,
                ref=ref,
                cols=format_number(cols),
                rows=format_number(rows),
                cells=format_number(rows * cols),
                limit=format_number(MAX_CELLS),
            ),
            table=self.name,
            value=ref,
            expected=_(
                "a sheet of at most {limit} cells from A1 to its farthest cell (delete stray "
                "cells far from the table, or save the table as CSV)"
            ).format(limit=format_number(MAX_CELLS)),
        )
