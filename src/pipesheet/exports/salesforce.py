"""Salesforce: Opportunity exports and OpportunityHistory exports.

Opportunities come as a report export (``Opportunity Name``, ``Stage``, ``Close Date``…) or with
Data Loader API names (``StageName``, ``CloseDate``…).  ``IsWon``/``IsClosed`` are checked
against the stage: a deal flagged won in a Lost stage (or the reverse, or won but not closed) is
a contradicting row.  The history has one row per change; rows keep the amount and close date of
that moment, so a waterfall can be rebuilt at any date.  The report form (``Field / Event``,
``New Value``) keeps only its Stage changes.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from pipesheet.columns import field_name
from pipesheet.errors import PipesheetError
from pipesheet.exports.checks import row_issue
from pipesheet.exports.fields import is_terminal, to_fields, truth_flags, truthy
from pipesheet.i18n import _
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
    # not "Type": it is New/Existing Business, not a product line
    "product_line": ("Product Family", "Product Name"),
    "country": ("Billing Country", "Account.BillingCountry", "Region"),
    "segment": ("Segment", "Account Type"),
    "loss_reason": ("Loss Reason", "Loss_Reason__c", "Lost Reason"),
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
    "probability": ("Probability", "Probability (%)"),
    "field": ("Field / Event", "Field", "Field/Event"),
}


def check_amount(found: dict[str, str], frame: pd.DataFrame, label: str) -> None:
    """An Opportunity export with ``ExpectedRevenue`` but no ``Amount`` is refused: Expected
    Revenue is Amount × Probability, so a weighted forecast of it would count the probability
    twice (and a forecast range would be wrong too)."""
    if "amount" in found:
        return
    expected = next(
        (c for c in frame.columns if str(c).replace(" ", "").casefold() == "expectedrevenue"),
        None,
    )
    if expected is not None:
        raise PipesheetError(
            _(
                "the Salesforce export has {column} but no Amount column: Expected Revenue is "
                "already Amount × Probability, so pipesheet cannot use it as the deal value "
                "(weighting it again would count the probability twice)"
            ).format(column=expected),
            table=label,
            column=expected,
            expected=_("the Amount column in the export (Data Loader: Amount; report: Amount)"),
        )


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
    problem = _("deal both won and lost: IsWon/IsClosed disagree with the stage")
    for r in np.flatnonzero(contradict):
        value = f"IsWon={out['is_won'].iloc[r]}, Stage={stage.iloc[r]}"
        issues.append(row_issue(label, out, r, problem, value))


def stage_history(
    frame: pd.DataFrame, label: str, mapping: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """An OpportunityHistory export as a stage history: ``deal_id``, ``stage``,
    ``entered_date`` and, when exported, the ``amount``, ``close_date`` and ``probability`` of
    that moment.  The row's own ``Id`` is not the deal: ``OpportunityId`` is."""
    mapping = {k: v for k, v in (mapping or {}).items() if k in HISTORY_COLUMNS}
    out, found = to_fields(frame, HISTORY_COLUMNS, mapping)
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
                _("the history export has no Stage changes"),
                table=label,
                column=found["field"],
                expected=_("rows whose Field / Event is Stage"),
            )
    for need in ("deal_id", "stage", "entered_date"):
        if need not in found:
            raise PipesheetError(
                _("the Salesforce history export has no {field} column").format(
                    field=field_name(need)
                ),
                table=label,
                expected=_("OpportunityId, StageName and CreatedDate (Data Loader) columns"),
            )
    keep = [
        c
        for c in ("deal_id", "stage", "entered_date", "amount", "close_date", "probability")
        if c in out
    ]
    history = out[keep]
    history.attrs["fields"] = {k: v for k, v in found.items() if k in keep}
    return history
