"""The one error type users see: :class:`PipesheetError`.

Every problem with the user's input is reported as a ``PipesheetError`` whose message names the
table, the column, the row(s) and the offending value, and says what was expected.  Surfaces (Excel
functions, apps, CLI) show ``str(error)`` as it is, so the message is written for a sales manager.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pipesheet.i18n import _, ngettext, pgettext

__all__ = ["PipesheetError", "format_rows"]


def format_rows(rows: Iterable[int], limit: int = 5) -> str:
    """Spell out row numbers as the user sees them: ``"row 3"``, ``"rows 3, 7, 9 and 2 more"``."""
    rows = list(rows)
    if not rows:
        return ""
    shown = ", ".join(str(r) for r in rows[:limit])
    more = len(rows) - limit
    if len(rows) == 1:
        return _("row {row}").format(row=shown)
    if more > 0:
        return ngettext("rows {rows} and {more} more", "rows {rows} and {more} more", more).format(
            rows=shown, more=more
        )
    return _("rows {rows}").format(rows=shown)


def table_name(name: str) -> str:
    """A table's name as shown: the names pipesheet itself gives its tables in the language
    spoken; a file's, sheet's or table's own name as the user wrote it."""
    names = {
        "deals": pgettext("table", "deals"),
        "history": pgettext("table", "history"),
        "settings": pgettext("table", "settings"),
        "rates": pgettext("table", "rates"),
        "stages": pgettext("table", "stages"),
        "probabilities": pgettext("table", "probabilities"),
        "quotas": pgettext("table", "quotas"),
        "commits": pgettext("table", "commits"),
        "hierarchy": pgettext("table", "hierarchy"),
        "previous": pgettext("table", "previous"),
        "snapshot": pgettext("table", "snapshot"),
        "output": pgettext("table", "output"),
        "options": pgettext("table", "options"),
        "presets": pgettext("table", "presets"),
    }
    return names.get(name, name)


class PipesheetError(ValueError):
    """Bad input, explained: which table, column, row(s) and value, and what was expected.

    Row numbers are *spreadsheet* row numbers: the header is row 1, the first data row is row 2
    (what a user sees in Excel or in a CSV opened in a spreadsheet).

    Attributes:
        table: Name of the table (``"deals"``, ``"history"``, ``"stages"``, ``"rates"``...).
        column: Column header as the user wrote it, when one column is at fault.
        rows: Spreadsheet row numbers at fault (header = row 1).
        value: The offending value (the first one, when several rows are at fault).
        expected: What would have been accepted.
    """

    def __init__(
        self,
        problem: str,
        *,
        table: str | None = None,
        column: str | None = None,
        rows: Sequence[int] | None = None,
        value: Any = None,
        expected: str | None = None,
    ) -> None:
        self.problem = problem
        self.table = table
        self.column = column
        self.rows = list(rows) if rows is not None else []
        self.value = value
        self.expected = expected
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = []
        if self.table:
            where.append(_("table '{table}'").format(table=table_name(self.table)))
        if self.column:
            where.append(_("column '{column}'").format(column=self.column))
        if self.rows:
            where.append(format_rows(self.rows))
        text = ", ".join(where)
        text = (
            _("{where}: {problem}").format(where=text, problem=self.problem)
            if text
            else self.problem
        )
        if self.value is not None and "{value}" not in self.problem:
            value = self.value
            if type(value).__module__ == "numpy" and hasattr(value, "item"):
                value = value.item()  # -5, not np.int64(-5)
            text += " " + _("(value {value})").format(value=repr(value))
        if self.expected:
            text += _("; expected {expected}").format(expected=self.expected)
        return text if text.endswith(".") else text + "."
