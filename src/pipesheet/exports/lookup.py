"""Join a column (a list price, an owner…) from a second table by a key, never dropping a row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.base import Result
from pipesheet.cells import clean_text
from pipesheet.errors import PipesheetError, format_rows, table_name
from pipesheet.i18n import _

__all__ = ["LookupResult", "lookup"]


@dataclass(repr=False)
class LookupResult(Result):
    """Result of :func:`lookup`.

    Attributes:
        table: The first table with the looked-up columns added (same rows, same order, same
            index; unmatched rows have blanks there).
        unmatched: Rows whose key was not found: ``row``, ``key``.
        matched: Number of rows that found their key.
        notes: What the user should know.
    """

    table: pd.DataFrame
    unmatched: pd.DataFrame
    matched: int
    notes: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """The table with the looked-up columns added."""
        return self.table.copy()

    def _figures(self) -> dict[str, Any]:
        return {"rows": len(self.table), "matched": self.matched, "unmatched": len(self.unmatched)}


def lookup(
    table: pd.DataFrame,
    other: pd.DataFrame,
    on: str,
    columns: str | Sequence[str],
    *,
    other_on: str | None = None,
    case_sensitive: bool = False,
    on_unmatched: str = "report",
    name: str = "deals",
    other_name: str = "lookup",
) -> LookupResult:
    """Add columns from a second table (list prices, owners, regions…) by a key: a left join.

    Keys are compared as text with white space collapsed, whole numbers as ``123`` (not
    ``123.0``), and case-insensitively unless ``case_sensitive``.  Every row of ``table`` is kept.

    Args:
        on: Key column in ``table``; ``other_on``: in ``other`` (default the same header).
        columns: Column(s) of ``other`` to bring over (renamed ``<col> (lookup)`` if ``table``
            already has a column of that name).
        on_unmatched: ``"report"`` (default): unmatched keys are listed in the result;
            ``"raise"``: they raise a PipesheetError naming the rows.

    Raises:
        PipesheetError: a key or column missing, or a key listed twice in ``other`` (the lookup
            would be ambiguous).
    """
    other_on = other_on or on
    cols = [columns] if isinstance(columns, str) else list(columns)
    for tbl, col, nm in ((table, on, name), (other, other_on, other_name)):
        if col not in tbl.columns:
            raise PipesheetError(
                _("key column not found"),
                table=nm,
                column=col,
                expected=_("one of {names}").format(names=", ".join(repr(c) for c in tbl.columns)),
            )
    for c in cols:
        if c not in other.columns:
            raise PipesheetError(
                _("lookup column not found"),
                table=other_name,
                column=c,
                expected=_("one of {names}").format(
                    names=", ".join(repr(x) for x in other.columns)
                ),
            )

    def keys(values: pd.Series) -> pd.Series:
        k = values.map(clean_text)
        return k if case_sensitive else k.map(lambda v: v.casefold() if isinstance(v, str) else v)

    other_rows = other.index if other.index.name == "row" else pd.RangeIndex(2, 2 + len(other))
    ok = keys(other[other_on])
    ok.index = other_rows
    dup = (ok.duplicated(keep=False) & ok.notna()).to_numpy()
    if dup.any():
        first = ok[dup].iloc[0]
        raise PipesheetError(
            _("key listed more than once, so the lookup is ambiguous"),
            table=other_name,
            column=other_on,
            rows=[int(r) for r in other_rows[(ok == first).to_numpy()]],
            value=other[other_on].to_numpy()[np.flatnonzero(dup)[0]],
            expected=_("each key once in the lookup table"),
        )
    tk = keys(table[on])
    pos = pd.Series(np.arange(len(ok)), index=ok.to_numpy())
    pos = pos[pos.index.notna()]
    idx = tk.map(pos)
    found = idx.notna().to_numpy()
    out = table.copy()
    take = idx.fillna(0).astype(int).to_numpy()
    for c in cols:
        target = c if c not in out.columns or c == on else f"{c} (lookup)"
        values = other[c].to_numpy()[take] if len(other) else np.full(len(out), None)
        col = pd.Series(values, index=out.index, dtype=other[c].dtype if len(other) else object)
        out[target] = col.where(found)
    rows = out.index if out.index.name == "row" else pd.RangeIndex(2, 2 + len(out))
    unmatched = pd.DataFrame({"row": np.asarray(rows)[~found], "key": table[on].to_numpy()[~found]})
    if len(unmatched) and on_unmatched == "raise":
        raise PipesheetError(
            _("{count} key(s) not found in table '{table}'").format(
                count=len(unmatched), table=table_name(other_name)
            ),
            table=name,
            column=on,
            rows=[int(r) for r in unmatched["row"][:50]],
            value=unmatched["key"].iloc[0],
            expected=_("keys that appear in column {column!r} of table '{table}'").format(
                column=other_on, table=table_name(other_name)
            ),
        )
    result = LookupResult(out, unmatched, int(found.sum()))
    if len(unmatched):
        out.attrs["notes"] = [
            _("{count} row(s) found no match in '{table}' ({rows})").format(
                count=len(unmatched),
                table=table_name(other_name),
                rows=format_rows([int(r) for r in unmatched["row"]]),
            )
        ]
    return result
