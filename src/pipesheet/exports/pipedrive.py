"""Pipedrive: deal exports (``Deal - …`` headers).

A won or lost deal keeps the stage it was at, so the stage becomes Won/Lost from
``Deal - Status`` and the old stage goes to ``last_open_stage``; the won or lost time becomes the
``closed_date``.  A deal with both a won and a lost time, and a deleted deal, are contradicting
rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipesheet.errors import PipesheetError
from pipesheet.exports.checks import row_issue
from pipesheet.i18n import _

__all__ = ["COLUMNS", "apply_status"]

COLUMNS: dict[str, tuple[str, ...]] = {
    "deal_id": ("Deal - ID", "ID"),
    "stage": ("Deal - Stage", "Stage"),
    "amount": ("Deal - Value", "Value"),
    "currency": ("Deal - Currency", "Currency of Value", "Currency"),
    "close_date": ("Deal - Expected close date", "Expected close date"),
    "owner": ("Deal - Owner", "Owner", "Deal - Owner name"),
    "created_date": ("Deal - Deal created", "Deal created"),
    "status": ("Deal - Status", "Status"),
    "won_time": ("Deal - Won time", "Won time"),
    "lost_time": ("Deal - Lost time", "Lost time"),
    "probability": ("Deal - Probability", "Probability"),
    "product_line": ("Deal - Product name",),
    "pipeline": ("Deal - Pipeline", "Pipeline"),
    "loss_reason": ("Deal - Lost reason", "Lost reason"),
    "name": ("Deal - Title", "Title"),
}


def apply_status(out: pd.DataFrame, found: dict[str, str], label: str, issues: list[tuple]) -> None:
    """Stage Won/Lost from the deal status (the old stage kept in ``last_open_stage``), closed
    date from the won/lost time; contradicting and deleted deals added to ``issues``.  ``out``
    has pipesheet field names and is changed in place."""
    if "status" not in found:
        return
    status = out["status"].map(lambda v: str(v).strip().casefold() if isinstance(v, str) else v)
    known = status.isin(["open", "won", "lost", "deleted"]) | status.isna()
    if not known.all():
        bad = ~known.to_numpy()
        raise PipesheetError(
            _("unknown deal status"),
            table=label,
            column=found["status"],
            rows=[int(r) for r in out.index[bad][:20]],
            value=out["status"][bad].iloc[0],
            expected=_("open, won or lost (as Pipedrive exports it)"),
        )
    if "won_time" in found and "lost_time" in found:
        both = out["won_time"].notna().to_numpy() & out["lost_time"].notna().to_numpy()
        problem = _("deal both won and lost: it has a won time and a lost time")
        for r in np.flatnonzero(both):
            issues.append(row_issue(label, out, r, problem, f"status={out['status'].iloc[r]}"))
    out["last_open_stage"] = out["stage"]
    s = status.to_numpy()
    out.loc[s == "won", "stage"] = "Won"
    out.loc[s == "lost", "stage"] = "Lost"
    for r in np.flatnonzero(s == "deleted"):
        issues.append(row_issue(label, out, r, _("deleted deal"), ""))
    closed = out["won_time"].where(s == "won") if "won_time" in found else None
    if "lost_time" in found:
        lost_t = out["lost_time"].where(s == "lost")
        closed = lost_t if closed is None else closed.fillna(lost_t)
    if closed is not None and "closed_date" not in out:
        out["closed_date"] = closed
