"""Read an uploaded file (its bytes and name) into a table.

No widgets here: the apps, the CLI or a web service can all use it.  The file is read by
:func:`pipesheet.exports.read_bytes`, the same reader as files on disk (encoding, delimiter,
decimal mark and date order detected; ids keep leading zeros; an Excel Table or sheet by name);
this module adds what is particular to uploads:

* **Size**: files above ``max_bytes`` (default :data:`MAX_UPLOAD_BYTES`, 25 MiB) are refused
  with a message stating the limit.
* **UTF-16**: a CSV starting with a UTF-16 byte-order mark is read as UTF-16 (Excel's "Unicode
  Text"), since a browser upload cannot be re-saved as UTF-8 by the user on the spot.
* **One column**: a CSV whose lines are not split by ``,`` ``;`` tab or ``|`` is refused (it is
  not a table).
* **Rows** are numbered from 0 (the first data row), as pandas numbers them; the engine's
  readers number them as the spreadsheet does.

Every problem is a :class:`~pipesheet.errors.PipesheetError` naming the file.
"""

from __future__ import annotations

import pandas as pd

from pipesheet.cells import read_date_order
from pipesheet.errors import PipesheetError
from pipesheet.exports import read_bytes
from pipesheet.formats import format_number
from pipesheet.i18n import _

__all__ = ["MAX_UPLOAD_BYTES", "format_size", "read_upload"]

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def format_size(n: int) -> str:
    """``26214400`` → ``"25 MB"`` (binary megabytes, as file browsers show them; three
    significant digits, written as the language spoken writes numbers: ``1.5 MB`` / ``1,5
    MB``)."""
    if n >= 1024 * 1024:
        return f"{_significant(n / (1024 * 1024))} MB"  # units are the same in every language
    if n >= 1024:
        return f"{_significant(n / 1024)} KB"
    return _("{size} bytes").format(size=n)  # under 1,024: no separator in any language


def _significant(value: float) -> str:
    """Three significant digits (``{:.3g}``), in the language's number format."""
    text = f"{value:.3g}"
    if "e" in text:  # 1,000 MB and more: as Python writes it
        return text
    return format_number(float(text), len(text.split(".")[1]) if "." in text else 0)


def read_upload(
    content: bytes | memoryview,
    name: str,
    *,
    max_bytes: int = MAX_UPLOAD_BYTES,
    sheet: str | None = None,
    date_order: str | bool | None = None,
) -> pd.DataFrame:
    """Read an uploaded CSV or XLSX file into a DataFrame (headers in row 1).

    Args:
        content: The file's bytes.
        name: The file name as uploaded (its extension decides the format).
        max_bytes: Size limit; larger files are refused.
        sheet: Worksheet name for workbooks (default: the first sheet).
        date_order: ``"dmy"`` / ``"mdy"`` (or ``dayfirst`` True/False): the order of dates such
            as 03/04/2027 that no date of the file decides; None: from the data, else such
            dates are refused where they are used.

    Returns:
        The table as :func:`pipesheet.exports.read_bytes` reads it (numbers and dates typed,
        ``attrs`` saying what was detected), indexed by spreadsheet row number (header = 1).

    Raises:
        PipesheetError: too large, empty, unknown type, undecodable text, a single column or a
            damaged workbook.
    """
    data = bytes(content)
    if len(data) > max_bytes:
        raise PipesheetError(
            _("the file is too large ({size})").format(size=format_size(len(data))),
            table=name,
            expected=_("a file of at most {size}").format(size=format_size(max_bytes)),
        )
    encoding = "utf-16" if data.startswith(_UTF16_BOMS) else None
    dayfirst = read_date_order(date_order)
    frame = read_bytes(data, name, sheet, encoding=encoding, dayfirst=dayfirst)
    if frame.attrs.get("delimiter") and frame.columns.size < 2:
        raise PipesheetError(
            _("the file has a single column: its cells are not separated by , ; tab or |"),
            table=name,
            value=str(frame.columns[0])[:60],
            expected=_("a table with one column per field (deal id, stage, amount...)"),
        )
    return frame  # index: spreadsheet row numbers, so messages point at the right row
