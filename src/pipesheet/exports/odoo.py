"""Odoo CRM: lead/opportunity exports.  An archived lead (``Active`` false) is lost; the stage it
was at goes to ``last_open_stage``.  An archived lead in the Won stage is a contradicting row."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipesheet.exports.checks import row_issue
from pipesheet.exports.fields import is_terminal, truth_flags
from pipesheet.i18n import _
from pipesheet.stages import DEFAULT_WON

__all__ = ["COLUMNS", "apply_active"]

COLUMNS: dict[str, tuple[str, ...]] = {
    "deal_id": ("ID", "External ID", "id"),
    "stage": ("Stage", "stage_id"),
    # Odoo's Expected Revenue is the deal value; Prorated Revenue (× probability) is not
    "amount": ("Expected Revenue", "expected_revenue"),
    "close_date": ("Expected Closing", "date_deadline"),
    "owner": ("Salesperson", "user_id"),
    "created_date": ("Created on", "create_date"),
    "closed_date": ("Closed Date", "date_closed"),
    "probability": ("Probability", "probability"),
    "segment": ("Sales Team", "team_id"),
    "country": ("Country", "country_id"),
    "loss_reason": ("Lost Reason", "lost_reason_id"),
    "active": ("Active", "active"),
    "name": ("Opportunity", "name"),
}


def apply_active(out: pd.DataFrame, found: dict[str, str], label: str, issues: list[tuple]) -> None:
    """Stage Lost for archived leads (the old stage kept in ``last_open_stage``); archived leads
    in the Won stage added to ``issues``.  ``out`` has pipesheet field names, changed in place."""
    if "active" not in found:
        return
    active = truth_flags(
        out,
        "active",
        name="Active",
        column=found["active"],
        table=label,
        expected=_("TRUE or FALSE (Odoo exports True/False)"),
    )
    archived = active == "F"
    won = is_terminal(out["stage"], DEFAULT_WON)
    problem = _("deal both won and lost: archived (lost) but in the Won stage")
    for r in np.flatnonzero(archived & won):
        issues.append(row_issue(label, out, r, problem, f"Stage={out['stage'].iloc[r]}"))
    out["last_open_stage"] = out["stage"]
    out.loc[archived & ~won, "stage"] = "Lost"
