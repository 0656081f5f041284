"""Which tool exported a table, and its rows in pipesheet's field names.

:func:`detect_source` recognises Salesforce (opportunities and their history), HubSpot,
Pipedrive and Odoo by their headers; anything else is ``"generic"`` (a deals table, or a stage
history when its columns say so).  :func:`convert` renames the tool's columns to pipesheet's
field names and applies the tool's own rules (see :mod:`~pipesheet.exports.salesforce`,
:mod:`~pipesheet.exports.hubspot`, :mod:`~pipesheet.exports.pipedrive`,
:mod:`~pipesheet.exports.odoo`).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from pipesheet.cells import clean_text_column
from pipesheet.columns import DEAL_FIELDS, HISTORY_FIELDS, normalise_header
from pipesheet.errors import PipesheetError
from pipesheet.exports import hubspot, odoo, pipedrive, salesforce
from pipesheet.exports.fields import find_column, to_fields
from pipesheet.i18n import N_, _, pgettext

__all__ = [
    "PROFILES",
    "SOURCES",
    "convert",
    "detect_source",
    "looks_like_history",
    "table_role",
]

SOURCES = ("salesforce", "salesforce_history", "hubspot", "pipedrive", "odoo", "generic")

PROFILES: dict[str, dict[str, tuple[str, ...]]] = {
    "salesforce": salesforce.COLUMNS,
    "salesforce_history": salesforce.HISTORY_COLUMNS,
    "hubspot": hubspot.COLUMNS,
    "pipedrive": pipedrive.COLUMNS,
    "odoo": odoo.COLUMNS,
}
"""Each tool's headers for pipesheet's fields (and the tool's own fields such as ``is_won``)."""


def detect_source(frame: pd.DataFrame) -> str:
    """Which tool exported this table: one of :data:`SOURCES`, recognised by its headers.

    Salesforce: ``StageName`` + ``CloseDate`` (API names), or ``Opportunity Name``/
    ``Opportunity Owner`` + ``Stage``; its history: ``OpportunityId`` + a stage with the row's
    own ``Id`` beside it or repeating OpportunityIds (an Opportunity report's ``Opportunity ID``
    is the deal's own, unique id), or ``Field / Event`` + ``New Value``.  HubSpot: ``Record ID``
    + ``Deal Stage``, or any ``Date entered …`` column.  Pipedrive: ``Deal - …`` headers.
    Odoo: ``Expected Revenue`` + ``Stage``/``Salesperson``.  Anything else is ``"generic"``.
    """
    norm = {normalise_header(c) for c in frame.columns}
    if "opportunityid" in norm and ({"stagename", "tostage", "newvalue"} & norm):
        # OpportunityHistory (its own Id beside OpportunityId, or the deal's rows repeating),
        # not an Opportunity report export whose "Opportunity ID" is the deal's own id
        opp = find_column(frame, ("OpportunityId",), "deal_id")
        if "id" in norm or clean_text_column(frame[opp]).dropna().duplicated().any():
            return "salesforce_history"
    if {"fieldevent", "newvalue"} <= norm:
        return "salesforce_history"
    if {"stagename", "closedate"} <= norm or (
        {"opportunityname", "opportunityowner"} & norm and "stage" in norm
    ):
        return "salesforce"
    if (
        any(hubspot.DATE_ENTERED.match(str(c)) for c in frame.columns)
        or {"recordid", "dealstage"} <= norm
    ):
        return "hubspot"
    if sum(str(c).startswith("Deal - ") for c in frame.columns) >= 2:
        return "pipedrive"
    if "expectedrevenue" in norm and (
        {"stage", "stageid", "salesperson", "userid", "expectedclosing", "datedeadline"} & norm
    ):
        return "odoo"
    return "generic"


_CREATED = {normalise_header(a) for a in DEAL_FIELDS["created_date"]} | {"createddate"}
#: date columns that only a stage history has (a creation date is in deals tables too)
_ENTERED_ONLY = tuple(
    a for a in HISTORY_FIELDS["entered_date"] if normalise_header(a) not in _CREATED
)
_KIND_TEXT = {
    "salesforce": N_("Salesforce Opportunity export"),
    "salesforce_history": "Salesforce OpportunityHistory",
    "hubspot": N_("HubSpot deals export"),
    "pipedrive": N_("Pipedrive deals export"),
    "odoo": N_("Odoo leads/opportunities export"),
}


def table_role(
    frame: pd.DataFrame, kind: str | None = None, mapping: Mapping[str, str] | None = None
) -> tuple[str, str]:
    """Whether a table is a deals table or a stage history, and why: ``("deals" | "history",
    reason)``.

    The rule: a known export's shape decides (:func:`detect_source`: Salesforce
    OpportunityHistory is a history; Opportunity, HubSpot, Pipedrive and Odoo deal exports are
    deals tables).  Any other table is a history when its deal ids repeat and it has a date
    column (a deals table has one row per deal), or when they do not repeat but it has a
    date-entered column (not just a creation date) and no amount; otherwise it is a deals table
    (repeated ids in a deals table are then reported as such).  The deal id is the column the
    mapping names, else the first of the id aliases, specific ones first (``OpportunityId``
    before a history row's own ``Id``).
    """
    kind = kind or detect_source(frame)
    id_col = _id_column(frame, mapping, kind)
    repeat = ""
    repeats = False
    if id_col is not None:
        ids = clean_text_column(frame[id_col]).dropna()
        repeats = bool(ids.duplicated().any())
        repeat = (
            _("{column} repeats").format(column=id_col)
            if repeats
            else _("{column} unique").format(column=id_col)
        )
    if kind in _KIND_TEXT:
        role = "history" if kind == "salesforce_history" else "deals"
        what = _(_KIND_TEXT[kind])
        return role, (_("{source}; {ids}").format(source=what, ids=repeat) if repeat else what)
    if id_col is None:
        return "deals", _("no deal id column found")
    if repeats:
        dated = _mapped(frame, mapping, "entered_date") or find_column(
            frame, HISTORY_FIELDS["entered_date"], "entered_date"
        )
        if dated is not None:
            return "history", repeat
        return "deals", _("{ids}, but there is no date-entered column").format(ids=repeat)
    entered = _mapped(frame, mapping, "entered_date") or find_column(
        frame, _ENTERED_ONLY, "entered_date"
    )
    amount = _mapped(frame, mapping, "amount") or find_column(
        frame, DEAL_FIELDS["amount"], "amount"
    )
    if entered is not None and amount is None:
        return "history", _("{ids}, but a date-entered column ({column}) and no amount").format(
            ids=repeat, column=entered
        )
    return "deals", repeat


def _mapped(frame: pd.DataFrame, mapping: Mapping[str, str] | None, field: str) -> str | None:
    header = (mapping or {}).get(field)
    if header is None:
        return None
    return find_column(frame, (header,), field)


def _id_column(frame: pd.DataFrame, mapping: Mapping[str, str] | None, kind: str) -> str | None:
    hit = _mapped(frame, mapping, "deal_id")
    if hit is not None:
        return hit
    if kind in PROFILES:
        hit = find_column(frame, PROFILES[kind]["deal_id"], "deal_id")
        if hit is not None:
            return hit
    return find_column(frame, HISTORY_FIELDS["deal_id"], "deal_id")


def looks_like_history(frame: pd.DataFrame) -> bool:
    """True when :func:`table_role` reads a generic table as a stage history."""
    return table_role(frame, "generic")[0] == "history"


def convert(
    frame: pd.DataFrame,
    kind: str,
    label: str,
    issues: list[tuple],
    mapping: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """``(deals, history)`` of a table exported by ``kind`` (a source, or ``"generic_history"``),
    with pipesheet field names; either may be None.  Contradicting rows go to ``issues``.  A
    generic table keeps its headers (the readers find its columns, ``mapping`` included); a
    known export's columns are renamed, ``mapping`` (``{field: header}``) first."""
    if kind == "generic":
        return frame, None
    if kind == "generic_history":
        return None, frame
    if kind == "salesforce_history":
        return None, salesforce.stage_history(frame, label, mapping)
    out, found = to_fields(frame, PROFILES[kind], mapping)
    if "stage" not in found:
        raise PipesheetError(
            _("this looks like a {kind} export but has no stage column").format(kind=kind),
            table=label,
            expected=_("the {names} column").format(
                names=pgettext("list", " or ").join(repr(a) for a in PROFILES[kind]["stage"])
            ),
        )
    history = None
    if kind == "salesforce":
        salesforce.check_amount(found, frame, label)
        salesforce.check_won_flags(out, found, label, issues)
    elif kind == "hubspot":
        history = hubspot.stage_history(out, label)
    elif kind == "pipedrive":
        pipedrive.apply_status(out, found, label, issues)
    elif kind == "odoo":
        odoo.apply_active(out, found, label, issues)
    return out, history
