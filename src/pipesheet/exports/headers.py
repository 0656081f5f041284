"""The header row of a table read from a file: checked, then put on the data rows.

A blank header over a column with data is an error naming the file and row; blank columns and
entirely blank rows are dropped.  The data rows keep their spreadsheet row numbers.

Headers that are the same, exactly or as :func:`pipesheet.columns.normalise_header` compares them
(``Budget_Confirmed__c`` / ``BudgetConfirmed__c``), are *kept*: CRM exports carry many custom
columns pipesheet never reads.  Only when a field pipesheet reads matches two of them is it an
error, naming both (:func:`pipesheet.columns.resolve_columns`).  An exact repeat gets a label
with ``_`` appended (``Notes``, ``Notes_``), which compares equal to the first, so that
collision is still caught; ``attrs["headers"]`` maps each label to the header as written and its
column letter, for messages.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipesheet.cells import clean_text
from pipesheet.errors import PipesheetError
from pipesheet.i18n import _

__all__ = ["apply_headers", "headers_from_first_row"]


def headers_from_first_row(
    frame: pd.DataFrame, name: str, first_row: int = 1, first_col: int = 0
) -> pd.DataFrame:
    """The rows under the first row of ``frame``, with its cells as headers (see
    :func:`apply_headers`); ``first_row``/``first_col`` locate the header row in the sheet."""
    if frame.empty:
        raise PipesheetError(
            _("the file is empty"),
            table=name,
            expected=_("a header row and at least one data row"),
        )
    header = [clean_text(v) for v in frame.iloc[0].tolist()]
    body = frame.iloc[1:]
    body.index = pd.RangeIndex(first_row + 1, first_row + 1 + len(body), name="row")
    return apply_headers(header, body, name, first_row, first_col)


def apply_headers(
    header: list[str | None],
    body: pd.DataFrame,
    name: str,
    first_row: int = 1,
    first_col: int = 0,
) -> pd.DataFrame:
    """Check the header row (no blank header over data) and put it on the body; repeated headers
    get distinct labels (see the module docstring)."""
    letters = [_col_letter(first_col + i) for i in range(len(header))]
    blank = [i for i, h in enumerate(header) if h is None]
    if blank:
        filled = body.iloc[:, blank].notna().any(axis=0).to_numpy()
        if filled.any():
            col = blank[int(np.flatnonzero(filled)[0])]
            raise PipesheetError(
                _("column {letter} has values but no header").format(letter=_col_letter(col)),
                table=name,
                rows=[first_row],
                expected=_("a header above every column with data"),
            )
        keep = [i for i in range(len(header)) if header[i] is not None]
        body = body.iloc[:, keep]
        header = [header[i] for i in keep]
        letters = [letters[i] for i in keep]
    if not header:
        raise PipesheetError(
            _("the header row is empty"),
            table=name,
            rows=[first_row],
            expected=_("column headers"),
        )
    labels: list[str] = []
    used: set[str] = set()
    for h in header:
        label = h
        while label in used:  # an exact repeat: a distinct label that compares equal
            label += "_"
        used.add(label)
        labels.append(label)
    body = body.copy()
    body.columns = labels
    body = body.dropna(how="all")
    if body.empty:
        raise PipesheetError(
            _("the table has a header but no data rows"),
            table=name,
            expected=_("at least one data row under the header"),
        )
    body.attrs["headers"] = {
        label: (text, letter) for label, text, letter in zip(labels, header, letters, strict=True)
    }
    return body


def _col_letter(i: int) -> str:
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out
