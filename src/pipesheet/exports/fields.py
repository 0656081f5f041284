"""Finding and reading the columns of an export: aliases, TRUE/FALSE cells, Won/Lost stages, ids."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.columns import normalise_header
from pipesheet.errors import PipesheetError
from pipesheet.stages import stage_key

__all__ = ["find_column", "is_terminal", "to_fields", "truth_flags", "truthy"]


def find_column(frame: pd.DataFrame, aliases: Sequence[str]) -> str | None:
    """The first of ``aliases`` that is a header of ``frame``: exactly, else loosely
    (:func:`~pipesheet.columns.normalise_header`); None when none is."""
    by_norm = {normalise_header(c): c for c in frame.columns}
    for a in aliases:
        if a in frame.columns:
            return a
        hit = by_norm.get(normalise_header(a))
        if hit is not None:
            return hit
    return None


def to_fields(
    frame: pd.DataFrame, columns: Mapping[str, Sequence[str]]
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rename a tool's columns (``columns``: field → the tool's headers for it) to pipesheet field
    names; other columns are kept as they are.  Returns the frame and field → header found."""
    found: dict[str, str] = {}
    for fld, aliases in columns.items():
        hit = find_column(frame, aliases)
        if hit is not None and hit not in found.values():
            found[fld] = hit
    out = frame.rename(columns={v: k for k, v in found.items()})
    # keep other columns, but never let a leftover header shadow a field name
    dupes = [c for c in out.columns if list(out.columns).count(c) > 1]
    if dupes:
        out = out.loc[:, ~out.columns.duplicated()]
    return out, found


def truthy(values: pd.Series) -> pd.Series:
    """TRUE/FALSE cells as written by Salesforce/Odoo: "T", "F", "?" (not a truth value), None."""

    def one(v: Any) -> Any:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, (bool, np.bool_, int, float, np.number)):
            return "T" if v else "F"
        key = str(v).strip().casefold()
        if key in ("true", "1", "yes", "y", "ja", "oui", "vrai", "x", "sí", "si", "wahr"):
            return "T"
        if key in ("false", "0", "no", "n", "nein", "non", "faux", "", "falsch"):
            return "F"
        return "?"

    return values.astype(object).map(one).astype(object)


def truth_flags(
    frame: pd.DataFrame,
    field: str,
    *,
    name: str,
    column: str,
    table: str,
    expected: str = "TRUE or FALSE",
) -> np.ndarray:
    """:func:`truthy` of ``frame[field]`` as an array; a cell that is not a truth value is an
    error "<name> is not TRUE or FALSE" naming the table, the column, the rows and the value."""
    flags = truthy(frame[field]).to_numpy()
    bad = flags == "?"
    if bad.any():
        raise PipesheetError(
            f"{name} is not TRUE or FALSE",
            table=table,
            column=column,
            rows=[int(r) for r in frame.index[bad][:20]],
            value=frame[field][bad].iloc[0],
            expected=expected,
        )
    return flags


def is_terminal(stage: pd.Series, labels: tuple[str, ...]) -> np.ndarray:
    """True where the stage label is one of ``labels`` (folded once per distinct label)."""
    keys = {stage_key(x) for x in labels}
    codes, uniques = pd.factorize(stage, use_na_sentinel=True)
    hit = np.array([isinstance(u, str) and stage_key(u) in keys for u in uniques] + [False])
    return hit[codes]
