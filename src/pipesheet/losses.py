"""Lost reasons: why the deals were lost, and at which stage — in deals and in money.

Where the deals table has a loss-reason column (``Loss Reason``, ``Lost Reason``, ``Closed Lost
Reason``, Salesforce ``Loss_Reason__c``, HubSpot ``Closed lost reason``, Pipedrive
``Deal - Lost reason``, Odoo ``Lost Reason``; the column mapping field ``loss_reason``),
:func:`lost_reasons` counts the lost deals:

* **by reason** — reasons compared as stage labels are (case and spaces folded; shown as first
  written); a blank reason is ``(no reason given)``;
* **by the stage they were lost at** — the last open stage a deal was at before it was lost:
  from the stage history (its last row at an open stage, as of the as-of day), else from the
  stage a CRM export keeps for a closed deal (Pipedrive); a lost deal the history shows at no
  open stage is ``(no open stage recorded)``, and without a history (nor such a column) the
  stage is ``(unknown: no stage history)``.  With deals in several pipelines the stage is
  named with its pipeline;
* **by reason and stage** together.

Each with the number of lost deals, their amount in the reporting currency (converted with
``rates`` like every money figure) and the shares of all lost deals and of all lost money:
share_deals = deals ÷ all lost deals, share_amount = amount ÷ all lost amount.

Which deals: the deals whose stage is Lost, lost on or before the as-of day (closed date, or
the expected close date when none is recorded; a deal created after it is left out), and — with
``start``/``end`` — lost in that window.  Blank amounts follow the ``blank_amounts`` choice on
these lost deals ("error" names the rows; "skip" counts the deal but not its amount; "zero"
counts it as 0), with a note.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.base import Result
from pipesheet.errors import PipesheetError, format_rows
from pipesheet.headings import headings
from pipesheet.i18n import N_, _
from pipesheet.periods import as_of_cutoff, known_on, read_date_setting, within_days
from pipesheet.pricing import Rates, money_amounts
from pipesheet.stages import StageList, stage_key
from pipesheet.tables import (
    Deals,
    History,
    blank_amounts_choice,
    read_deals,
    read_history_and_deals,
)

__all__ = ["NO_OPEN_STAGE", "NO_REASON", "NO_STAGE_HISTORY", "LossesResult", "lost_reasons"]

#: How a blank loss reason is shown (in English; the tables show it in the language spoken,
#: ``_(NO_REASON)``).
NO_REASON = N_("(no reason given)")
#: The stage of a lost deal the history shows at no open stage.
NO_OPEN_STAGE = N_("(no open stage recorded)")
#: The stage of a lost deal when there is no stage history to tell it.
NO_STAGE_HISTORY = N_("(unknown: no stage history)")


@dataclass(repr=False)
class LossesResult(Result):
    """Lost deals by reason and by the stage they were lost at (see :func:`lost_reasons`).

    Attributes:
        by_reason: ``reason``, ``lost_deals``, ``amount``, ``share_deals``, ``share_amount``;
            the largest amount first.
        by_stage: ``pipeline_name`` (several pipelines only), ``stage`` (lost at),
            ``lost_deals``, ``amount``, ``share_deals``, ``share_amount``, in funnel order.
        by_reason_stage: ``reason``, (``pipeline_name``), ``stage``, ``lost_deals``, ``amount``,
            ``share_deals``, ``share_amount``.
        deals: One row per lost deal counted: ``deal_id``, (``pipeline_name``), ``reason``,
            ``stage`` (lost at), ``amount``, ``lost_on`` (closed date, or expected close date).
        lost_deals, amount: The totals.
        currency: The reporting currency.
        stage_source: Where the stage a deal was lost at comes from: "history", "deals table"
            (a CRM export's last stage of a closed deal) or None (unknown).
        notes: What the user should know.
    """

    by_reason: pd.DataFrame
    by_stage: pd.DataFrame
    by_reason_stage: pd.DataFrame
    deals: pd.DataFrame
    lost_deals: int
    amount: float
    currency: str | None
    stage_source: str | None
    notes: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """The losses by reason (:attr:`by_reason`)."""
        return self.by_reason.copy()

    def _figures(self) -> dict[str, Any]:
        return {
            "lost_deals": self.lost_deals,
            "amount": self.amount,
            "reasons": len(self.by_reason),
            "currency": self.currency,
        }

    def __str__(self) -> str:
        if self.currency:
            by_reason = _("Lost deals by reason ({currency})")
            by_stage = _("Lost deals by the stage they were lost at ({currency})")
        else:
            by_reason = _("Lost deals by reason")
            by_stage = _("Lost deals by the stage they were lost at")
        parts = [
            by_reason.format(currency=self.currency),
            _shown(self.by_reason).to_string(index=False),
            "",
            by_stage.format(currency=self.currency),
            _shown(self.by_stage).to_string(index=False),
        ]
        return "\n".join(parts)


def _shown(table: pd.DataFrame) -> pd.DataFrame:
    """A table as printed: its headings in the language spoken."""
    out = table.copy()
    out.columns = headings(out.columns)
    return out


def lost_reasons(
    deals: pd.DataFrame | Deals,
    history: pd.DataFrame | History | None = None,
    *,
    as_of: Any = None,
    start: Any = None,
    end: Any = None,
    rates: Rates = None,
    currency: str | None = None,
    blank_amounts: str = "error",
    stages: StageList | Mapping[str, StageList] | None = None,
    columns: Mapping[str, str] | None = None,
) -> LossesResult:
    """Lost deals by reason, by the stage they were lost at, and both — counts, amounts
    (reporting currency) and shares (see the module docstring).

    Args:
        deals: The deals table, with a loss-reason column.
        history: The stage history (tells the stage each deal was lost at).
        as_of: Only deals lost on or before this day (a whole day).
        start, end: Only deals lost in this window (inclusive days).
        rates, currency: Currency conversion (see :func:`pipesheet.price_deals`).
        blank_amounts: "error" (default), "skip" or "zero" for lost deals' blank amounts.
        stages, columns: Stage list(s) and column mapping.

    Raises:
        PipesheetError: no loss-reason column, bad settings, blank amounts with "error".
    """
    choice = blank_amounts_choice(blank_amounts)
    hist: History | None = None
    notes: list[str] = []
    if history is not None:
        # i18n: completes "a stage history is needed for …"
        needed_for = _("losses by stage")
        hist, table, notes = read_history_and_deals(
            history, deals, stages=stages, columns=columns, needed_for=needed_for
        )
        assert table is not None
    else:
        table = read_deals(deals, stages=stages, columns=columns)
        notes = list(table.notes)
    frame = table.frame
    if "loss_reason" not in frame:
        raise PipesheetError(
            _("the deals table has no loss-reason column"),
            table=table.name,
            expected=_(
                "a column such as 'Loss Reason', 'Lost Reason', 'Closed Lost Reason' or "
                "'Loss_Reason__c' (or name yours with the column mapping loss_reason=HEADER)"
            ),
        )
    k = table.stages.k
    code = frame["code"].to_numpy()
    close = frame["close_date"]
    lost_on = frame["closed_date"].fillna(close) if "closed_date" in frame else close
    lost = code == k + 1
    day = read_date_setting(as_of, "as_of")
    if day is not None:
        cut = as_of_cutoff(day)
        lost &= ~(lost_on >= cut).to_numpy()
        if "created_date" in frame:
            lost &= ~(frame["created_date"] >= cut).to_numpy()
    lost &= within_days(lost_on, start, end)
    amount, cur, blank, note = money_amounts(table, rates, currency, choice, lost)
    if note:
        rows_text = format_rows([int(r) for r in frame.index[blank]])
        said = (
            _("{count} lost deal(s) with a blank amount skipped ({rows})")
            if choice == "skip"
            else _("{count} lost deal(s) with a blank amount counted as 0 ({rows})")
        )
        notes.append(said.format(count=int(blank.sum()), rows=rows_text))
    several = table.pipelines is not None
    reason = _reasons(frame["loss_reason"])
    stage, source = _lost_at(table, hist, day, notes)
    rows = pd.DataFrame(
        {
            "deal_id": frame["deal_id"].to_numpy()[lost],
            **({"pipeline_name": frame["pipeline"].to_numpy()[lost]} if several else {}),
            "reason": reason[lost],
            "stage": stage[lost],
            "amount": amount[lost],
            "lost_on": lost_on.to_numpy()[lost],
        },
        index=frame.index[lost],
    )
    n_lost = len(rows)
    total = float(np.nansum(rows["amount"].to_numpy(dtype=float)))
    if not n_lost:
        notes.append(_("no lost deals in the window") if start or end else _("no lost deals"))
    stage_keys = ["pipeline_name", "stage"] if several else ["stage"]
    by_reason = _grouped(rows, ["reason"], n_lost, total)
    by_reason = by_reason.sort_values(
        ["amount", "lost_deals", "reason"], ascending=[False, False, True], kind="stable"
    ).reset_index(drop=True)
    by_stage = _grouped(rows, stage_keys, n_lost, total)
    by_stage = _funnel_order(by_stage, table, several)
    both = _grouped(rows, ["reason", *stage_keys], n_lost, total)
    order = {r: i for i, r in enumerate(by_reason["reason"])}
    both = both.assign(_r=both["reason"].map(order))
    both = both.sort_values(["_r", "amount"], ascending=[True, False], kind="stable")
    both = both.drop(columns="_r").reset_index(drop=True)
    blank_reasons = int((rows["reason"] == _(NO_REASON)).sum())
    if blank_reasons:
        notes.append(
            _("{count} lost deal(s) have no reason given: shown as {shown}").format(
                count=blank_reasons, shown=_(NO_REASON)
            )
        )
    for t in (by_reason, by_stage, both, rows):
        t.attrs["currency"] = cur
    return LossesResult(
        by_reason=by_reason,
        by_stage=by_stage,
        by_reason_stage=both,
        deals=rows,
        lost_deals=n_lost,
        amount=total,
        currency=cur,
        stage_source=source,
        notes=list(dict.fromkeys(notes)),
    )


def _reasons(values: pd.Series) -> np.ndarray:
    """Reasons folded like stage labels (case, spaces), shown as first written; a blank reason
    is :data:`NO_REASON`."""
    keys = values.map(stage_key, na_action="ignore")
    codes, uniques = pd.factorize(keys, use_na_sentinel=True)
    first = pd.Series(values.to_numpy()).groupby(codes).first()
    shown = first.reindex(range(len(uniques))).to_numpy(dtype=object)
    return np.append(shown, _(NO_REASON))[codes]


def _lost_at(
    deals: Deals, hist: History | None, day: pd.Timestamp | None, notes: list[str]
) -> tuple[np.ndarray, str | None]:
    """Each deal's last open stage before it was lost (display name), and where it came from."""
    frame = deals.frame
    stages = deals.stages
    names = np.array(stages.open, dtype=object)
    if hist is not None:
        h = hist.frame
        index = hist.deal_index()
        order = index.sorted_positions()
        codes = h["code"].to_numpy()[order]
        deal = index.deal_codes[order]
        keep = codes < stages.k
        if day is not None:
            keep &= known_on(h["entered_date"].to_numpy()[order], day)
        deal, codes = deal[keep], codes[keep]
        last = np.ones(len(deal), dtype=bool)
        last[:-1] = deal[1:] != deal[:-1]
        at = pd.Series(names[codes[last]], index=pd.Index(index.deal_ids[deal[last]]))
        out = frame["deal_id"].map(at).fillna(_(NO_OPEN_STAGE)).to_numpy(dtype=object)
        return out, "history"
    if "last_open_stage" in frame:
        own = stages.codes(frame["last_open_stage"])
        ok = (own >= 0) & (own < stages.k)
        out = np.where(ok, names[np.clip(own, 0, stages.k - 1)], _(NO_OPEN_STAGE)).astype(object)
        notes.append(
            _(
                "the stage a deal was lost at is the last stage the deals table keeps for it (no "
                "stage history given)"
            )
        )
        return out, "deals table"
    notes.append(
        _(
            "no stage history: the stage each deal was lost at is unknown (give the history to "
            "see losses by stage)"
        )
    )
    return np.full(len(frame), _(NO_STAGE_HISTORY), dtype=object), None


def _grouped(rows: pd.DataFrame, keys: list[str], n: int, total: float) -> pd.DataFrame:
    cols = [*keys, "lost_deals", "amount", "share_deals", "share_amount"]
    if rows.empty:
        return pd.DataFrame(columns=cols)
    out = (
        rows.assign(lost_deals=1)
        .groupby(keys, sort=False, dropna=False)
        .agg(lost_deals=("lost_deals", "sum"), amount=("amount", lambda a: float(np.nansum(a))))
        .reset_index()
    )
    out["lost_deals"] = out["lost_deals"].astype(int)
    out["share_deals"] = out["lost_deals"] / n
    out["share_amount"] = out["amount"] / total if total > 0 else np.nan
    return out[cols]


def _funnel_order(by_stage: pd.DataFrame, deals: Deals, several: bool) -> pd.DataFrame:
    """Stages in funnel order (each pipeline's own), the unknown ones last."""
    if by_stage.empty:
        return by_stage.reset_index(drop=True)
    lists = deals.pipelines if several else None
    if lists:
        pipes = list(lists)
        rank_p = (
            by_stage["pipeline_name"].map({p: i for i, p in enumerate(pipes)}).fillna(len(pipes))
        )
        rank_s = [
            lists[p].code(s) if p in lists and lists[p].code(s) >= 0 else 10**6
            for p, s in zip(by_stage["pipeline_name"], by_stage["stage"], strict=True)
        ]
    else:
        rank_p = pd.Series(0, index=by_stage.index)
        rank_s = [
            deals.stages.code(s) if deals.stages.code(s) >= 0 else 10**6 for s in by_stage["stage"]
        ]
    order = np.lexsort((np.asarray(rank_s), rank_p.to_numpy()))
    return by_stage.iloc[order].reset_index(drop=True)
