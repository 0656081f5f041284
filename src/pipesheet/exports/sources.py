"""Which tool exported a table, and its rows in pipesheet's field names.

:func:`detect_source` recognises Salesforce (opportunities and their history), HubSpot,
Pipedrive and Odoo by their headers; anything else is ``"generic"`` (a deals table, or a stage
history when its columns say so).  :func:`convert` renames the tool's columns to pipesheet's
field names and applies the tool's own rules (see :mod:`~pipesheet.exports.salesforce`,
:mod:`~pipesheet.exports.hubspot`, :mod:`~pipesheet.exports.pipedrive`,
:mod:`~pipesheet.exports.odoo`).
"""

from __future__ import annotations

import pandas as pd

from pipesheet.columns import DEAL_FIELDS, HISTORY_FIELDS, normalise_header
from pipesheet.errors import PipesheetError
from pipesheet.exports import hubspot, odoo, pipedrive, salesforce
from pipesheet.exports.fields import find_column, to_fields

__all__ = ["PROFILES", "SOURCES", "convert", "detect_source", "looks_like_history"]

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
    ``Opportunity Owner`` + ``Stage``; its history: ``OpportunityId`` + a stage + a date, or
    ``Field / Event`` + ``New Value``.  HubSpot: ``Record ID`` + ``Deal Stage``, or any
    ``Date entered …`` column.  Pipedrive: ``Deal - …`` headers.  Odoo: ``Expected Revenue`` +
    ``Stage``/``Salesperson``.  Anything else is ``"generic"``.
    """
    norm = {normalise_header(c) for c in frame.columns}
    if "opportunityid" in norm and ({"stagename", "tostage", "newvalue"} & norm):
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


def looks_like_history(frame: pd.DataFrame) -> bool:
    """A generic table is a stage history when it has an entered-date column and either repeats
    deal ids or has no close-date column."""
    if find_column(frame, HISTORY_FIELDS["entered_date"]) is None:
        return False
    id_col = find_column(frame, HISTORY_FIELDS["deal_id"])
    repeats = id_col is not None and frame[id_col].duplicated().any()
    return repeats or find_column(frame, DEAL_FIELDS["close_date"]) is None


def convert(
    frame: pd.DataFrame, kind: str, label: str, issues: list[tuple]
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """``(deals, history)`` of a table exported by ``kind`` (a source, or ``"generic_history"``),
    with pipesheet field names; either may be None.  Contradicting rows go to ``issues``."""
    if kind == "generic":
        return frame, None
    if kind == "generic_history":
        return None, frame
    if kind == "salesforce_history":
        return None, salesforce.stage_history(frame, label)
    out, found = to_fields(frame, PROFILES[kind])
    if "stage" not in found:
        raise PipesheetError(
            f"this looks like a {kind} export but has no stage column",
            table=label,
            expected="the " + " or ".join(repr(a) for a in PROFILES[kind]["stage"]) + " column",
        )
    history = None
    if kind == "salesforce":
        salesforce.check_won_flags(out, found, label, issues)
    elif kind == "hubspot":
        history = hubspot.stage_history(out, label)
    elif kind == "pipedrive":
        pipedrive.apply_status(out, found, label, issues)
    elif kind == "odoo":
        odoo.apply_active(out, found, label, issues)
    return out, history
