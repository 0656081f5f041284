"""Finding and reading the columns of an export: aliases, TRUE/FALSE cells, Won/Lost stages, ids."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.columns import alias_hits, collision_error, header_groups, normalise_header
from pipesheet.errors import PipesheetError
from pipesheet.i18n import _
from pipesheet.labels import LabelMatcher

__all__ = ["find_column", "is_terminal", "to_fields", "truth_flags", "truthy"]


def find_column(
    frame: pd.DataFrame,
    aliases: Sequence[str],
    field: str | None = None,
    *,
    exclude: Sequence[str] = (),
) -> str | None:
    """The first of ``aliases`` that is a header of ``frame``: exactly, else loosely
    (:func:`~pipesheet.columns.normalise_header`); None when none is.

    Two headers that match an alias only loosely (``Budget_Confirmed__c``,
    ``BudgetConfirmed__c``) are an error naming both — the export's meaning of that ``field``
    would be a guess.  Headers in ``exclude`` (already taken) are not candidates.
    """
    groups = header_groups(c for c in frame.columns if c not in exclude)
    for a in aliases:
        if a in frame.columns and a not in exclude:
            return a
        hits = alias_hits(groups, a)
        if len(hits) > 1:
            name = Path(str(frame.attrs.get("file") or "table")).name
            raise collision_error(field or str(a), hits, frame, name)
        if hits:
            return hits[0]
    return None


def to_fields(
    frame: pd.DataFrame,
    columns: Mapping[str, Sequence[str]],
    mapping: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rename a tool's columns (``columns``: field → the tool's headers for it) to pipesheet field
    names; other columns are kept as they are.  ``mapping`` (``{field: header}``, the user's
    column mapping) takes precedence.  Returns the frame and field → header found; the frame's
    ``attrs["fields"]`` records the same, so a later column mapping naming the tool's header
    still finds the renamed column."""
    found: dict[str, str] = {}
    for fld, header in (mapping or {}).items():
        hit = find_column(frame, (header,), fld, exclude=list(found.values()))
        if hit is not None:
            found[fld] = hit
    for fld, aliases in columns.items():
        if fld in found:
            continue
        hit = find_column(frame, aliases, fld, exclude=list(found.values()))
        if hit is not None:
            found[fld] = hit
    # a leftover header that reads as one of the new field names would shadow it: drop it
    produced = {normalise_header(f) for f in found}
    renamed = set(found.values())
    shadow = [c for c in frame.columns if c not in renamed and normalise_header(c) in produced]
    out = frame.drop(columns=shadow).rename(columns={v: k for k, v in found.items()})
    out.attrs["fields"] = {**(frame.attrs.get("fields") or {}), **found}
    return out, found


#: Truth values as exports write them, also in the users' languages (it vero/falso, sì/no; sl
#: da/ne, pravilno/nepravilno; vi có/không, đúng/sai; ca cert/fals, sí/no).
_TRUE = frozenset(
    {"true", "1", "yes", "y", "ja", "oui", "vrai", "x", "sí", "si", "wahr"}
    | {"vero", "sì", "da", "pravilno", "có", "đúng", "cert"}
)
_FALSE = frozenset(
    {"false", "0", "no", "n", "nein", "non", "faux", "", "falsch"}
    | {"falso", "ne", "nepravilno", "không", "sai", "fals"}
)


def truthy(values: pd.Series) -> pd.Series:
    """TRUE/FALSE cells as written by Salesforce/Odoo: "T", "F", "?" (not a truth value), None."""

    def one(v: Any) -> Any:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, (bool, np.bool_, int, float, np.number)):
            return "T" if v else "F"
        key = str(v).strip().casefold()
        if key in _TRUE:
            return "T"
        if key in _FALSE:
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
    expected: str | None = None,
) -> np.ndarray:
    """:func:`truthy` of ``frame[field]`` as an array; a cell that is not a truth value is an
    error "<name> is not TRUE or FALSE" naming the table, the column, the rows and the value."""
    flags = truthy(frame[field]).to_numpy()
    bad = flags == "?"
    if bad.any():
        raise PipesheetError(
            _("{name} is not TRUE or FALSE").format(name=name),
            table=table,
            column=column,
            rows=[int(r) for r in frame.index[bad][:20]],
            value=frame[field][bad].iloc[0],
            expected=expected or _("TRUE or FALSE"),
        )
    return flags


def is_terminal(stage: pd.Series, labels: tuple[str, ...]) -> np.ndarray:
    """True where the stage label is one of ``labels``, compared as Won/Lost labels are
    (:class:`~pipesheet.labels.LabelMatcher`: case, punctuation, accents where safe), once per
    distinct label."""
    return LabelMatcher(labels).matches(stage) == 0
