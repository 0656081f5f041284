"""Tiny hostile workbooks built on the fly: a far-away cell, a declared giant range, a sheet whose
XML compresses into a bomb, a part that lies about its size.  Each is a few KB on disk."""

from __future__ import annotations

import io
import zipfile

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Deals" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)
HEADER = ("Deal ID", "Stage", "Amount")


def column_letter(i: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


def _cell(ref: str, value: object) -> str:
    if isinstance(value, str):
        return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'
    return f'<c r="{ref}"><v>{value}</v></c>'


def sheet_xml(rows: list[str], dimension: str | None = None) -> str:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"{dim}<sheetData>{''.join(rows)}</sheetData></worksheet>"
    )


def small_table_rows() -> list[str]:
    head = "".join(_cell(f"{c}1", h) for c, h in zip("ABC", HEADER, strict=True))
    rows = [f'<row r="1">{head}</row>']
    for i, (deal, stage, amount) in enumerate((("D1", "Lead", 10), ("D2", "Won", 25)), start=2):
        rows.append(
            f'<row r="{i}">{_cell(f"A{i}", deal)}{_cell(f"B{i}", stage)}'
            f"{_cell(f'C{i}', amount)}</row>"
        )
    return rows


def workbook_bytes(sheet: str | bytes, *, extra: dict[str, bytes] | None = None) -> bytes:
    """An .xlsx holding ``sheet`` as its only worksheet (deflate-compressed)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr("_rels/.rels", RELS)
        zf.writestr("xl/workbook.xml", WORKBOOK)
        zf.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        zf.writestr("xl/worksheets/sheet1.xml", sheet)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return buf.getvalue()


def far_cell(ref: str) -> bytes:
    """The small table plus one cell at ``ref`` (e.g. ``XFD1048576``)."""
    row = int("".join(ch for ch in ref if ch.isdigit()))
    return workbook_bytes(sheet_xml([*small_table_rows(), f'<row r="{row}">{_cell(ref, 1)}</row>']))


def declared_range(ref: str) -> bytes:
    """The small table with a ``<dimension>`` claiming ``A1:ref``."""
    return workbook_bytes(sheet_xml(small_table_rows(), dimension=f"A1:{ref}"))


def xml_bomb(rows: int, cols: int = 10) -> bytes:
    """A sheet of ``rows`` × ``cols`` identical cells: the XML compresses about 100:1."""
    letters = [column_letter(i) for i in range(cols)]
    body = io.StringIO()
    body.write(small_table_rows()[0])
    for r in range(2, rows + 2):
        body.write(f'<row r="{r}">')
        for c in letters:
            body.write(f'<c r="{c}{r}"><v>1</v></c>')
        body.write("</row>")
    return workbook_bytes(sheet_xml([body.getvalue()]))


def zeros_bomb(size: int) -> bytes:
    """A well-formed sheet followed by ``size`` bytes of padding in an XML comment: compresses
    over 1000:1."""
    head = sheet_xml(small_table_rows())
    return workbook_bytes(head.encode() + b"<!--" + b" " * size + b"-->")


def lying_sizes(real: int, declared: int = 1000) -> bytes:
    """A workbook whose sheet part declares ``declared`` bytes uncompressed in the zip directory
    but inflates to ``real`` bytes."""
    data = bytearray(zeros_bomb(real))
    # patch the declared uncompressed size of the sheet part in the local header and the
    # central directory
    name = b"xl/worksheets/sheet1.xml"
    for sig, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while True:
            at = data.find(sig, start)
            if at < 0:
                break
            name_at = at + (30 if sig == b"PK\x03\x04" else 46)
            if data[name_at : name_at + len(name)] == name:
                data[at + size_at : at + size_at + 4] = declared.to_bytes(4, "little")
            start = at + 4
    return bytes(data)
