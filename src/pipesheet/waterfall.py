"""Pipeline waterfall: how the open pipeline of a period moved between two snapshots.

The pipeline at a snapshot = the open deals whose expected close date falls in the tracked period
[start, end] (every open deal when no period is given).  Between snapshot A (opening) and
snapshot B (closing) each deal takes exactly one step:

* **new** — in B's pipeline, not in A's table at all (or closed in A and reopened): + amount_B;
* **pulled in** — open in A with a close date outside the period, inside it in B: + amount_B;
* **increased** / **decreased** — in both pipelines, amount changed: ± (amount_B − amount_A);
* **pushed out** — in A's pipeline, still open in B but its close date left the period: − amount_A;
* **won** / **lost** — in A's pipeline, Won / Lost in B: − amount_A;
* **removed** — in A's pipeline, missing from B (deleted or merged in the CRM): − amount_A.

    opening + new + pulled in + increased − decreased − pushed out − won − lost − removed = closing

Values are summed in integer cents (amounts rounded to the cent once, per deal), so the waterfall
reconciles *exactly* to the difference between the two totals; counts reconcile too
(opening + new + pulled in − pushed out − won − lost − removed = closing; increased and decreased
count deals whose amount changed and do not change the count).

Without a stage list, the open-stage order is inferred from *both* snapshots (the opening's order,
with stages seen only in the closing one — new early-stage deals — placed where the closing
snapshot puts them). In the per-deal table a deal missing from a snapshot shows ``(new)`` as its
opening stage or ``(removed)`` as its closing stage.

Blank amounts (``blank_amounts``, see :func:`pipesheet.pricing.price_deals`): they matter on the
deals open in either snapshot; "skip" leaves such a deal out of *both* snapshots (so it is not
mistaken for a new or removed deal), "zero" counts it as 0; either is counted in a note.

Two dates of a stage history work the same way: :func:`snapshot_at` rebuilds the deals as they
were on a date (the stage of their latest history row on or before it, and the amount and close
date of that row when the history carries them, as Salesforce OpportunityHistory does).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.base import Result
from pipesheet.errors import PipesheetError
from pipesheet.i18n import N_, _, pgettext
from pipesheet.periods import known_on, read_date_setting, within_days
from pipesheet.pricing import reporting_amounts
from pipesheet.stages import StageList, stage_key
from pipesheet.tables import (
    Deals,
    History,
    blank_amount_rows,
    blank_amounts_choice,
    read_deals,
    read_history,
)

__all__ = ["STEPS", "Waterfall", "pipeline_waterfall", "snapshot_at", "waterfall_from_history"]

#: Stage shown for a deal absent from the opening / closing snapshot (in English; the per-deal
#: table shows it in the language spoken, ``_(NOT_IN_OPENING)``).
NOT_IN_OPENING = N_("(new)")
NOT_IN_CLOSING = N_("(removed)")

#: Steps in display order, with the sign each contributes to the closing value.
STEPS: tuple[tuple[str, int], ...] = (
    ("opening", 1),
    ("new", 1),
    ("pulled in", 1),
    ("increased", 1),
    ("decreased", -1),
    ("pushed out", -1),
    ("won", -1),
    ("lost", -1),
    ("removed", -1),
    ("closing", 1),
)


@dataclass(repr=False)
class Waterfall(Result):
    """A reconciled waterfall.

    Attributes:
        table: One row per step (:data:`STEPS`): ``step``, ``deals``, ``value`` (a positive number;
            ``sign`` says whether it adds or subtracts), ``sign``, ``value_cents`` (exact integer),
            ``running_total`` (value after the step).
        deals: One row per deal that is in either pipeline: ``deal_id``, ``step``,
            ``opening_amount``, ``closing_amount``, ``change`` (its signed contribution),
            ``opening_close_date``, ``closing_close_date``, ``opening_stage``, ``closing_stage``.
        start, end: The tracked period (None = all open deals).
        currency: Reporting currency, when known.
        notes: What the user should know.
    """

    table: pd.DataFrame
    deals: pd.DataFrame
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    currency: str | None
    notes: list[str]

    @property
    def opening(self) -> float:
        """Opening pipeline value."""
        return float(self.table["value"].iloc[0])

    @property
    def closing(self) -> float:
        """Closing pipeline value."""
        return float(self.table["value"].iloc[-1])

    def to_frame(self) -> pd.DataFrame:
        """The step table."""
        return self.table.copy()

    def _figures(self) -> dict[str, Any]:
        return {
            "opening": self.opening,
            "closing": self.closing,
            "start": self.start,
            "end": self.end,
            "currency": self.currency,
        }


def _cents(amounts: np.ndarray) -> np.ndarray:
    """Amounts in integer cents (rounded half away from zero, once per deal)."""
    a = np.asarray(amounts, dtype=float)
    return (np.sign(a) * np.floor(np.abs(a) * 100 + 0.5)).astype(np.int64)


def _snapshot_cents(deals: Deals, amounts: np.ndarray) -> pd.DataFrame:
    """One snapshot's deals as the waterfall compares them: ``deal_id``, ``cents`` (amount in the
    reporting currency, in cents), ``close``, ``code``, ``stage``."""
    frame = deals.frame
    return pd.DataFrame(
        {
            "deal_id": frame["deal_id"].to_numpy(),
            "cents": _cents(amounts),
            "close": frame["close_date"].to_numpy(),
            "code": frame["code"].to_numpy(),
            "stage": frame["stage"].to_numpy(),
        }
    )


def pipeline_waterfall(
    opening: pd.DataFrame | Deals,
    closing: pd.DataFrame | Deals,
    *,
    start: Any = None,
    end: Any = None,
    stages: StageList | None = None,
    rates: pd.DataFrame | Mapping[str, float] | None = None,
    currency: str | None = None,
    blank_amounts: str = "error",
) -> Waterfall:
    """Waterfall between two deals snapshots (see the module docstring for the steps).

    Args:
        opening, closing: Deals tables at the two moments (same deal ids for the same deals).
        start, end: Tracked period of expected close dates (inclusive); None = every open deal.
        stages: Stage list for both snapshots (inferred from both snapshots otherwise).
        rates, currency: Convert amounts into one reporting currency (as the weighted forecast).
        blank_amounts: "error" (default), "skip" or "zero" for blank amounts of open deals.

    Raises:
        PipesheetError: bad tables, a period that ends before it starts, mixed currencies without
            rates.
    """
    s, e = read_date_setting(start, "start"), read_date_setting(end, "end")
    if s is not None and e is not None and e < s:
        raise PipesheetError(
            _("the period ends before it starts"),
            table="settings",
            value=f"{s.date()} .. {e.date()}",
            expected=_("start on or before end"),
        )
    choice = blank_amounts_choice(blank_amounts)
    notes: list[str] = []
    if stages is None:
        stages = _both_orders(opening, closing, notes)
    a = read_deals(opening, stages=stages, name="opening")
    b = read_deals(closing, stages=stages, name="closing")
    # blank amounts matter on the deals open in either snapshot; "skip" drops them from both
    skipped: set[Any] = set()
    scopes = []
    for snap in (a, b):
        scope = (snap.frame["code"] < snap.stages.k).to_numpy()
        blank, note = blank_amount_rows(
            snap.frame, choice, table=snap.name, column=snap.columns.get("amount", ""), scope=scope
        )
        scopes.append(scope)
        if note:
            notes.append(f"{_snapshot_name(snap.name)}: {note}")
            if choice == "skip":
                skipped |= set(snap.frame["deal_id"][blank])
    # a closed deal's amount is never a step's value: its blank is 0 here, never an error
    amt_a, cur_a = reporting_amounts(a, rates, currency, blank_amounts=choice, scope=scopes[0])
    amt_b, cur_b = reporting_amounts(
        b, rates, currency or cur_a, blank_amounts=choice, scope=scopes[1]
    )
    amt_a, amt_b = np.nan_to_num(amt_a), np.nan_to_num(amt_b)
    k = a.stages.k
    fa, fb = _snapshot_cents(a, amt_a), _snapshot_cents(b, amt_b)
    if skipped:
        fa = fa[~fa["deal_id"].isin(skipped)]
        fb = fb[~fb["deal_id"].isin(skipped)]
    m = fa.merge(fb, on="deal_id", how="outer", suffixes=("_a", "_b"), indicator=True)
    in_a = (m["_merge"] != "right_only").to_numpy()
    in_b = (m["_merge"] != "left_only").to_numpy()
    code_a = m["code_a"].fillna(-1).to_numpy(dtype=np.int64)
    code_b = m["code_b"].fillna(-1).to_numpy(dtype=np.int64)
    open_a = in_a & (code_a >= 0) & (code_a < k)
    open_b = in_b & (code_b >= 0) & (code_b < k)
    inper_a = _in_period(m["close_a"], s, e)
    inper_b = _in_period(m["close_b"], s, e)
    pipe_a = open_a & inper_a
    pipe_b = open_b & inper_b
    ca = m["cents_a"].fillna(0).to_numpy(dtype=np.int64)
    cb = m["cents_b"].fillna(0).to_numpy(dtype=np.int64)

    step = np.full(len(m), "", dtype=object)
    change = np.zeros(len(m), dtype=np.int64)
    both = pipe_a & pipe_b
    step[both & (cb > ca)] = "increased"
    step[both & (cb < ca)] = "decreased"
    step[both & (cb == ca)] = "unchanged"
    change[both] = cb[both] - ca[both]
    entering = pipe_b & ~pipe_a
    pulled = entering & open_a
    step[pulled] = "pulled in"
    step[entering & ~open_a] = "new"
    change[entering] = cb[entering]
    leaving = pipe_a & ~pipe_b
    step[leaving & ~in_b] = "removed"
    step[leaving & in_b & (code_b == k)] = "won"
    step[leaving & in_b & (code_b == k + 1)] = "lost"
    step[leaving & open_b] = "pushed out"
    change[leaving] = -ca[leaving]

    keep = pipe_a | pipe_b
    per = m[keep]
    details = pd.DataFrame(
        {
            "deal_id": per["deal_id"].to_numpy(),
            "step": step[keep],
            "opening_amount": np.where(pipe_a[keep], ca[keep] / 100, np.nan),
            "closing_amount": np.where(pipe_b[keep], cb[keep] / 100, np.nan),
            "change": change[keep] / 100,
            "opening_close_date": per["close_a"].to_numpy(),
            "closing_close_date": per["close_b"].to_numpy(),
            "opening_stage": np.where(in_a[keep], per["stage_a"].to_numpy(), _(NOT_IN_OPENING)),
            "closing_stage": np.where(in_b[keep], per["stage_b"].to_numpy(), _(NOT_IN_CLOSING)),
        }
    )
    order = {name: i for i, (name, _) in enumerate(STEPS)}
    order["unchanged"] = 3.5
    details = details.iloc[
        np.lexsort((-np.abs(details["change"].to_numpy()), details["step"].map(order).to_numpy()))
    ].reset_index(drop=True)

    open_cents = int(ca[pipe_a].sum())
    close_cents = int(cb[pipe_b].sum())
    rows = []
    st = step[keep]
    ch = change[keep]
    for name, sign in STEPS:
        if name == "opening":
            cents, count = open_cents, int(pipe_a.sum())
        elif name == "closing":
            cents, count = close_cents, int(pipe_b.sum())
        else:
            mask = st == name
            cents, count = int(abs(ch[mask].sum())), int(mask.sum())
        rows.append((name, count, sign, cents))
    table = pd.DataFrame(rows, columns=["step", "deals", "sign", "value_cents"])
    flows = table.iloc[1:-1]
    total = open_cents + int((flows["sign"] * flows["value_cents"]).sum())
    n_total = int(pipe_a.sum()) + int(
        (flows["sign"] * flows["deals"])[~flows["step"].isin(["increased", "decreased"])].sum()
    )
    if total != close_cents or n_total != int(pipe_b.sum()):  # pragma: no cover - invariant
        raise AssertionError("waterfall does not reconcile")
    table["value"] = table["value_cents"] / 100
    running = np.cumsum(
        np.where(table["step"] == "closing", 0, table["sign"] * table["value_cents"])
    )
    running[-1] = close_cents
    table["running_total"] = running / 100
    table = table[["step", "deals", "value", "sign", "value_cents", "running_total"]]
    if s is None and e is None:
        notes.append(
            _("no period given: every open deal is in the pipeline; nothing is pushed out")
        )
    reopened = int((entering & in_a & ~open_a).sum())
    if reopened:
        notes.append(
            _("{count} deal(s) closed in the opening snapshot were reopened (as new)").format(
                count=reopened
            )
        )
    if int((leaving & ~in_b).sum()):
        notes.append(_("deals missing from the closing snapshot are shown as removed"))
    return Waterfall(table, details, s, e, cur_b or cur_a, notes)


def _snapshot_name(name: str) -> str:
    """The opening / closing snapshot's name as a person reads it (another name as given)."""
    names = {"opening": pgettext("snapshot", "opening"), "closing": pgettext("snapshot", "closing")}
    return names.get(name, name)


def _both_orders(opening: Any, closing: Any, notes: list[str]) -> StageList:
    """The open-stage order of two snapshots read without a stage list: the opening's order,
    with the stages only the closing snapshot has placed before the first later stage the
    closing snapshot shares (else at the end)."""
    a = read_deals(opening, name="opening").stages
    try:
        b = read_deals(closing, name="closing").stages
    except PipesheetError:  # e.g. no open deal left in the closing snapshot: nothing to add
        return a
    order = list(a.open)
    keys = [stage_key(x) for x in order]
    known = keys + [stage_key(x) for x in (*a.won, *a.lost)]
    added = []
    for i, name in enumerate(b.open):
        if stage_key(name) in keys:
            continue
        if difflib.get_close_matches(stage_key(name), known, n=1, cutoff=0.8):
            continue  # a misspelt known stage, not a new one: reading the closing one says so
        later = [stage_key(x) for x in b.open[i + 1 :]]
        at = next((keys.index(x) for x in later if x in keys), len(order))
        order.insert(at, name)
        keys.insert(at, stage_key(name))
        added.append(name)
    if not added:
        return a
    merged = StageList(tuple(order), a.won, a.lost, source="inferred from both snapshots")
    notes.append(
        _(
            "stage order inferred from both snapshots: {order} ({added} only in the closing one)"
        ).format(order=" → ".join(merged.open), added=", ".join(added))
    )
    return merged


def _in_period(close: pd.Series, s: pd.Timestamp | None, e: pd.Timestamp | None) -> np.ndarray:
    return within_days(close, s, e)  # whole days: any time of the end day is in


def snapshot_at(
    history: pd.DataFrame | History,
    date: Any,
    deals: pd.DataFrame | Deals | None = None,
    *,
    stages: StageList | None = None,
) -> pd.DataFrame:
    """The deals as they were on ``date``, rebuilt from the stage history.

    Each deal with a history row on or before ``date`` gets the stage of its latest such row.
    Amount and expected close date come from that row when the history has them (Salesforce
    OpportunityHistory), else from the deals table (their current values; said in
    ``attrs["notes"]``).  Other deal columns (owner, currency…) come from the deals table.

    Returns:
        A deals table (``deal_id``, ``stage``, ``amount``, ``close_date`` and the deals' other
        fields) that :func:`pipesheet.read_deals` accepts.
    """
    when = read_date_setting(date, "date")
    if when is None:
        raise PipesheetError(_("a snapshot needs a date"), table="settings", expected=_("a date"))
    hist = read_history(history, stages=stages)
    return _snapshot(hist, history if isinstance(history, pd.DataFrame) else None, when, deals)


def _snapshot(hist: History, raw: pd.DataFrame | None, when: pd.Timestamp, deals) -> pd.DataFrame:
    frame = hist.frame
    cols = hist.columns
    mask = known_on(frame["entered_date"], when)  # any time of that day
    sub = frame[mask]
    order = np.lexsort((sub.index.to_numpy(), sub["entered_date"].to_numpy()))
    latest = sub.iloc[order].drop_duplicates("deal_id", keep="last")
    out = pd.DataFrame(
        {
            "deal_id": latest["deal_id"].to_numpy(),
            "stage": [hist.stages.names()[c] for c in latest["code"].to_numpy()],
        }
    )
    notes = []
    deal_table = read_deals(deals, stages=hist.stages) if deals is not None else None
    extra = deal_table.frame.set_index("deal_id") if deal_table is not None else None
    for fld in ("amount", "close_date"):
        header = cols.get(fld) or (fld if raw is not None and fld in raw.columns else None)
        if raw is not None and header is not None and header in raw.columns:
            table = raw.dropna(how="all")
            if table.index.name == "row" and pd.api.types.is_integer_dtype(table.index.dtype):
                values = table.loc[latest.index, header]
            else:
                values = table.iloc[latest.index.to_numpy() - 2][header]
            out[fld] = values.to_numpy()
            if extra is not None and fld in extra:
                out[fld] = out[fld].fillna(out["deal_id"].map(extra[fld]))
        elif extra is not None and fld in extra:
            out[fld] = out["deal_id"].map(extra[fld]).to_numpy()
            notes.append(
                _("amount taken from the deals table (today's value)")
                if fld == "amount"
                else _("close date taken from the deals table (today's value)")
            )
        elif fld == "amount":
            raise PipesheetError(
                _("a snapshot needs amounts: the history has none and no deals table was given"),
                table=hist.name,
                expected=_("an amount column in the history, or the deals table"),
            )
    if extra is not None:
        for fld in ("owner", "product_line", "country", "segment", "currency", "pipeline"):
            if fld in extra:
                out[fld] = out["deal_id"].map(extra[fld]).to_numpy()
    out.index = pd.RangeIndex(2, 2 + len(out), name="row")
    out.attrs["notes"] = notes
    out.attrs["stages"] = hist.stages
    return out


def waterfall_from_history(
    history: pd.DataFrame | History,
    opening_date: Any,
    closing_date: Any,
    deals: pd.DataFrame | Deals | None = None,
    *,
    start: Any = None,
    end: Any = None,
    stages: StageList | None = None,
    rates: pd.DataFrame | Mapping[str, float] | None = None,
    currency: str | None = None,
    blank_amounts: str = "error",
) -> Waterfall:
    """Waterfall between two dates of a stage history (see :func:`snapshot_at`); amounts of the
    history are in each deal's currency (the deals table's) and are converted with ``rates``."""
    d0, d1 = (
        read_date_setting(opening_date, "opening_date"),
        read_date_setting(closing_date, "closing_date"),
    )
    if d0 is None or d1 is None or d1 < d0:
        raise PipesheetError(
            _("the closing date must be on or after the opening date"),
            table="settings",
            value=f"{d0.date() if d0 is not None else opening_date} .. "
            f"{d1.date() if d1 is not None else closing_date}",
            expected=_("two dates in order"),
        )
    hist = read_history(history, stages=stages)
    raw = history if isinstance(history, pd.DataFrame) else None
    deal_table = read_deals(deals, stages=hist.stages) if deals is not None else None
    a = _snapshot(hist, raw, d0, deal_table)
    b = _snapshot(hist, raw, d1, deal_table)
    empty = [when for when, snap in ((d0, a), (d1, b)) if snap.empty]
    a, b = (
        _empty_deals(hist.stages, name) if snap.empty else snap
        for snap, name in ((a, "opening"), (b, "closing"))
    )
    w = pipeline_waterfall(
        a,
        b,
        start=start,
        end=end,
        stages=hist.stages,
        rates=rates,
        currency=currency,
        blank_amounts=blank_amounts,
    )
    if not isinstance(a, Deals):
        w.notes += [n for n in a.attrs.get("notes", []) if n not in w.notes]
    for when in empty:
        w.notes.append(
            _("no history on or before {day}: the pipeline then was empty").format(day=when.date())
        )
    return w


def _empty_deals(stages: StageList, name: str) -> Deals:
    """A snapshot with no deal (a date before the history starts): an empty pipeline."""
    frame = pd.DataFrame(
        {
            "deal_id": pd.Series([], dtype=object),
            "stage": pd.Series([], dtype=object),
            "code": pd.Series([], dtype=np.int64),
            "amount": pd.Series([], dtype=float),
            "close_date": pd.Series([], dtype="datetime64[ns]"),
        },
        index=pd.RangeIndex(2, 2, name="row"),
    )
    columns = {f: f for f in frame.columns if f != "code"}
    return Deals(frame, stages, columns, [], name)
