"""Bytes of a CSV file into a table of text cells: encoding, delimiter, quoting.

* Encoding: detected by :mod:`~pipesheet.exports.encoding` (UTF-8, with or without BOM; UTF-16
  with or without BOM; UTF-8 with a few stray bytes; a one-byte code page such as cp1252,
  cp1250, latin-1) and named in a note; ``encoding=`` overrides.
* Delimiter: ``,`` ``;`` tab or ``|``, the one that splits the first lines into the same number
  of fields.
* Workbooks, encrypted Office files, binary files and web pages given as a CSV are refused with
  a message saying what the file is.

Numbers and dates stay text here; :mod:`pipesheet.exports.values` types them.
"""

from __future__ import annotations

import csv
import io
import re

import pandas as pd

from pipesheet.errors import PipesheetError
from pipesheet.exports.encoding import decode_bytes, utf16_without_bom
from pipesheet.exports.headers import headers_from_first_row
from pipesheet.i18n import _, pgettext

__all__ = ["TEXT_SUFFIXES", "delimiter_name", "read_csv_bytes"]

TEXT_SUFFIXES = (".csv", ".txt", ".tsv", ".tab", "")
_DELIMITERS = (",", ";", "\t", "|")
_UTF16 = ("utf-16", "utf-16-le", "utf-16-be", "utf16")


def read_csv_bytes(
    raw: bytes, name: str, encoding: str | None = None, delimiter: str | None = None
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Cells of a CSV file as text (blank = NaN), headers from its first row, index = spreadsheet
    row numbers; with ``{"encoding": …, "delimiter": …, "notes": [...]}`` as detected or given
    (the notes say how the encoding was decided when it took more than strict UTF-8)."""
    if not raw.strip(b" \t\r\n\xef\xbb\xbf"):
        raise PipesheetError(
            _("the file is empty"),
            table=name,
            expected=_("a header row and at least one data row"),
        )
    _sniff_bytes(raw, name, encoding)
    text, enc, notes = decode_bytes(raw, name, encoding)
    if text.lstrip()[:15].casefold().startswith(("<!doctype html", "<html", "<table")):
        raise PipesheetError(
            _("this is a web page (HTML), not a CSV"),
            table=name,
            expected=_("the report exported as CSV (Salesforce: Export → Details Only → .csv)"),
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
                _("row has {count} fields but the header has {header}").format(
                    count=m.group(3), header=m.group(1)
                ),
                table=name,
                rows=[int(m.group(2))],
                expected=_(
                    "the same number of {delimiter}-separated fields in every row (quote values "
                    "that contain the separator)"
                ).format(delimiter=delimiter_name(delimiter)),
            ) from None
        m = re.search(r"EOF inside string starting at row (\d+)", msg)
        if m:
            raise PipesheetError(
                _("a quoted value is never closed"),
                table=name,
                rows=[int(m.group(1)) + 1],
                expected=_('every " that opens a value closed by another "'),
            ) from None
        raise PipesheetError(
            _("cannot read the CSV ({reason})").format(reason=msg),
            table=name,
            expected=_("a table separated by {delimiter}").format(
                delimiter=delimiter_name(delimiter)
            ),
        ) from None
    except pd.errors.EmptyDataError:
        raise PipesheetError(
            _("the file is empty"),
            table=name,
            expected=_("a header row and at least one data row"),
        ) from None
    frame = headers_from_first_row(frame, name)
    return frame, {"encoding": enc, "delimiter": delimiter, "notes": notes}


def _sniff_bytes(raw: bytes, name: str, encoding: str | None) -> None:
    """Refuse what is not CSV text; UTF-16 only when the caller says the file is UTF-16."""
    head = raw[:8]
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise PipesheetError(
            _("this is an encrypted (password-protected) or legacy binary Office file, not a CSV"),
            table=name,
            expected=_("an unprotected .xlsx, or the data saved as CSV"),
        )
    if head.startswith(b"PK\x03\x04"):
        raise PipesheetError(
            _(
                "this is a zipped workbook (.xlsx), not a text CSV (an Excel workbook renamed to "
                ".csv?)"
            ),
            table=name,
            expected=_("the file renamed to .xlsx, or saved as CSV"),
        )
    if encoding is not None and encoding.casefold().replace("_", "-") in _UTF16:
        return
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or utf16_without_bom(raw) is not None:
        return  # UTF-16 text: read as such
    sample = raw[:4096]
    if b"\x00" in sample:
        raise PipesheetError(
            _("the file is not a text CSV: its content is binary, not text"),
            table=name,
            expected=_("a CSV file (text with one row per line)"),
        )


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


def delimiter_name(d: str) -> str:
    """The name of a delimiter as it completes "separated by …" (``"comma"``), in the language
    spoken; another delimiter as its repr."""
    names = {
        # i18n: a delimiter's name as it completes "separated by …" ("comma-separated")
        ",": pgettext("separated by", "comma"),
        ";": pgettext("separated by", "semicolon"),
        "\t": pgettext("separated by", "tab"),
        "|": pgettext("separated by", "pipe"),
    }
    return names.get(d, repr(d))
