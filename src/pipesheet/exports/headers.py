"""The header row of a table read from a file: checked, then put on the data rows.

A blank header over a column with data, or the same header twice (compared loosely, as
:func:`pipesheet.columns.normalise_header` does), is an error naming the file and row; blank
columns and entirely blank rows are dropped.  The data rows keep their spreadsheet row numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipesheet.columns import normalise_header
from pipesheet.errors import PipesheetError
from pipesheet.tables import clean_text

__all__ = ["apply_headers", "headers_from_first_row"]


def headers_from_first_row(frame: pd.DataFrame, name: str, first_row: int = 1) -> pd.DataFrame:
    if frame.empty:
        raise PipesheetError(
            "the file is empty", table=name, expected="a header row and at least one data row"
        )
    header = [clean_text(v) for v in frame.iloc[0].tolist()]
    body = frame.iloc[1:]
    body.index = pd.RangeIndex(first_row + 1, first_row + 1 + len(body), name="row")
    return apply_headers(header, body, name, first_row)


def apply_headers(
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
