"""HubSpot: deal exports, whose ``Date entered "<stage> (<pipeline>)"`` columns hold the stage
history (one row per stage entered) and, in their column order, the pipeline's stage order."""

from __future__ import annotations

import re

import pandas as pd

from pipesheet.cells import parse_dates
from pipesheet.errors import PipesheetError
from pipesheet.i18n import N_, _
from pipesheet.stages import DEFAULT_LOST, DEFAULT_WON, StageList, terminal_matcher

__all__ = ["COLUMNS", "DATE_ENTERED", "stage_history"]

COLUMNS: dict[str, tuple[str, ...]] = {
    "deal_id": ("Record ID", "Deal ID", "hs_object_id"),
    "stage": ("Deal Stage", "dealstage"),
    "amount": ("Amount", "amount", "Amount in company currency"),
    "close_date": ("Close Date", "closedate"),
    "owner": ("Deal owner", "Deal Owner", "hubspot_owner_id"),
    "created_date": ("Create Date", "createdate"),
    "probability": ("Deal probability", "hs_deal_stage_probability"),
    "currency": ("Currency", "deal_currency_code"),
    "product_line": ("Deal Type", "dealtype"),
    "pipeline": ("Pipeline", "pipeline"),
    "loss_reason": ("Closed lost reason", "closed_lost_reason"),
    "name": ("Deal Name", "dealname"),
}
DATE_ENTERED = re.compile(r"^date entered\s*[\"“”']?(.+?)[\"“”']?\s*$", re.IGNORECASE)


def stage_history(out: pd.DataFrame, label: str) -> pd.DataFrame | None:
    """The stage history in the ``Date entered …`` columns of a deals export (``out`` with
    pipesheet field names): one row per stage a deal entered, in the export's row order;
    ``attrs["stages"]`` holds the pipeline's open stages in column order.  None without such
    columns (or with all of them blank)."""
    entered_cols = [c for c in out.columns if DATE_ENTERED.match(str(c))]
    if not entered_cols:
        return None
    if "deal_id" not in out:
        raise PipesheetError(
            _("HubSpot export without a Record ID column"),
            table=label,
            expected=_("the 'Record ID' column (HubSpot adds it to every export)"),
        )
    names = [DATE_ENTERED.match(str(c)).group(1).strip() for c in entered_cols]
    # "Closed won (Sales Pipeline)": drop the pipeline name when every column carries one
    suffix = re.compile(r"^(.*?)\s*\(([^()]*)\)$")
    if all(suffix.match(n) for n in names):
        names = [suffix.match(n).group(1) for n in names]
    parts = []
    for col, stage in zip(entered_cols, names, strict=True):
        values = out[col]
        if not pd.api.types.is_datetime64_any_dtype(values.dtype):
            values = parse_dates(values, table=label, column=col)
        mask = values.notna().to_numpy()
        if mask.any():
            parts.append(
                pd.DataFrame(
                    {
                        "deal_id": out["deal_id"].to_numpy()[mask],
                        "stage": stage,
                        "entered_date": values.to_numpy()[mask],
                        "source_row": out.index.to_numpy()[mask],
                    }
                )
            )
    if not parts:
        return None
    hist = pd.concat(parts, ignore_index=True)
    hist = hist.sort_values(["source_row", "entered_date"], kind="stable")
    hist.index = pd.RangeIndex(2, 2 + len(hist), name="row")
    matcher = terminal_matcher(DEFAULT_WON, DEFAULT_LOST)
    open_stages = tuple(n for n in names if matcher.match(n) < 0)
    if open_stages:
        hist.attrs["stages"] = StageList(
            open_stages, source=N_("the export's column order (HubSpot pipeline order)")
        )
    return hist
