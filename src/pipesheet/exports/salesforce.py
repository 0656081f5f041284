"""Salesforce: Opportunity exports and OpportunityHistory exports.

Opportunities come as a report export (``Opportunity Name``, ``Stage``, ``Close Date``…) or with
Data Loader API names (``StageName``, ``CloseDate``…).  ``IsWon``/``IsClosed`` are checked
against the stage: a deal flagged won in a Lost stage (or the reverse, or won but not closed) is
a contradicting row.  The history has one row per change; rows keep the amount and close date of
that moment, so a waterfall can be rebuilt at any date.  The report form (``Field / Event``,
``New Value``) keeps only its Stage changes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipesheet.errors import PipesheetError
from pipesheet.exports.checks import row_issue
from pipesheet.exports.fields import is_terminal, to_fields, truth_flags, truthy
from pipesheet.stages import DEFAULT_LOST, DEFAULT_WON, stage_key

__all__ = ["COLUMNS", "HISTORY_COLUMNS", "check_won_flags", "stage_history"]

COLUMNS: dict[str, tuple[str, ...]] = {
    "deal_id": ("Opportunity ID", "Id", "Opportunity 18 Digit ID"),
    "stage": ("Stage", "StageName"),
    "amount": ("Amount", "Amount (converted)"),
    "close_date": ("Close Date", "CloseDate"),
    "owner": ("Opportunity Owner", "Owner.Name", "Owner Name", "OwnerId"),
    "probability": ("Probability (%)", "Probability"),
    "forecast_category": ("Forecast Category", "ForecastCategoryName", "ForecastCategory"),
    "created_date": ("Created Date", "CreatedDate"),
    "currency": ("Opportunity Currency", "CurrencyIsoCode", "Amount Currency"),
    "product_line": ("Product Family", "Product Name", "Type"),
    "country": ("Billing Country", "Account.BillingCountry", "Region"),
    "segment": ("Segment", "Account Type"),
    "is_won": ("IsWon", "Won"),
    "is_closed": ("IsClosed", "Closed"),
    "name": ("Opportunity Name", "Name"),
}
HISTORY_COLUMNS: dict[str, tuple[str, ...]] = {
    "deal_id": ("OpportunityId", "Opportunity ID", "Opportunity.Id"),
    "stage": ("StageName", "To Stage", "Stage", "New Value"),
    "entered_date": (
        "CreatedDate",
        "Stage Change Date",
        "Edit Date",
        "Last Modified Date",
        "Created Date",
    ),
    "amount": ("Amount",),
    "close_date": ("CloseDate", "Close Date"),
    "field": ("Field / Event", "Field", "Field/Event"),
}


def check_won_flags(
    out: pd.DataFrame, found: dict[str, str], label: str, issues: list[tuple]
) -> None:
    """Add to ``issues`` the deals whose IsWon/IsClosed disagree with their stage (won in a Lost
    stage, not won in a Won stage, won but not closed).  ``out`` has pipesheet field names."""
    if "is_won" not in found:
        return
    flag_won = truth_flags(out, "is_won", name="IsWon", column=found["is_won"], table=label) == "T"
    stage = out["stage"]
    contradict = (flag_won & is_terminal(stage, DEFAULT_LOST)) | (
        ~flag_won & is_terminal(stage, DEFAULT_WON)
    )
    if "is_closed" in found:
        contradict |= flag_won & ~(truthy(out["is_closed"]).to_numpy() == "T")
    problem = "deal both won and lost: IsWon/IsClosed disagree with the stage"
    for r in np.flatnonzero(contradict):
        value = f"IsWon={out['is_won'].iloc[r]}, Stage={stage.iloc[r]}"
        issues.append(row_issue(label, out, r, problem, value))


def stage_history(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """An OpportunityHistory export as a stage history: ``deal_id``, ``stage``,
    ``entered_date`` and, when exported, the ``amount`` and ``close_date`` of that moment."""
    out, found = to_fields(frame, HISTORY_COLUMNS)
    if "field" in found:  # report form: one row per field change; keep the stage changes
        is_stage = out["field"].map(
            lambda v: (
                stage_key(v) in ("stage", "stagename", "opportunity stage")
                if isinstance(v, str)
                else False
            )
        )
        out = out[is_stage.to_numpy()]
        if out.empty:
            raise PipesheetError(
                "the history export has no Stage changes",
                table=label,
                column=found["field"],
                expected="rows whose Field / Event is Stage",
            )
    for need in ("deal_id", "stage", "entered_date"):
        if need not in found:
            raise PipesheetError(
                f"the Salesforce history export has no {need.replace('_', ' ')} column",
                table=label,
                expected="OpportunityId, StageName and CreatedDate (Data Loader) columns",
            )
    keep = [c for c in ("deal_id", "stage", "entered_date", "amount", "close_date") if c in out]
    return out[keep]
