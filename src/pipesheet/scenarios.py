"""Scenarios: named what-ifs applied to the open pipeline, shown before and after.

The baseline is the forecast of :func:`pipesheet.pipeline_range` with the same settings — the
priced open deals of :func:`pipesheet.price_deals` (open at the as-of date, expected to close in
the window [start, end], amounts converted, blank amounts as chosen) and closed so far (won in the
window by the as-of date).  A scenario changes the open pipeline and the same figures are computed
again: the weighted **forecast** (Σ amount · p), the unweighted **pipeline**, the **range**
(P10/P50/P90 of S = Σ amount_d · Bernoulli(p_d), independent deals) and **P(≥ quota)** =
P(closed so far + S ≥ quota).  Won deals are never changed: closed so far stays as it is.

Scenarios, as text (one syntax on every surface; case and ``-``/``_``/space in the keyword do not
matter):

``drop-largest N``
    The N open deals of the forecast with the largest amounts (reporting currency; ties in the
    table's order) are lost.  Forecast after = before − Σ a·p of those deals.
``drop ID[,ID…]``
    The named deals are lost.  Each must be an open deal of the forecast (an error says why one
    is not: not in the table, won or lost, expected to close outside the window…).
``slip N`` (also ``slip N days``; ``slip -N`` pulls in)
    Every open deal's expected close date moves N days later; deals leave the window (or enter
    it) by their new date.  Won deals keep their dates.
``conversion STAGE=P`` (``0.35``, ``35`` or ``35%``)
    Every open deal at STAGE is priced with win probability P instead of its own.
``add-leads N/week`` (also ``add-leads N``; optionally ``cycle D`` days)
    N new leads enter the first stage every week, the first batch the day after as-of (the
    window's first day without an as-of).  Each is won with the win probability the
    probabilities give the first stage (:func:`pipesheet.planning.lead_to_win_rate`), brings the
    average won deal (every won deal by as-of, or ``average_deal``) and closes after the cycle:
    ``cycle D``, else the sum of the days in each open stage (``days_in_stage``, or learned from
    ``history``: per stage the median days of won deals' visits,
    :func:`pipesheet.days_in_stage_from_history`), rounded up to whole days.  The batches that
    close inside the window are added to the range as deals of their own:
    forecast after = before + N · B · p₁ · A, B = the number of weekly batches
    entering on as-of + 1 + 7·i that close (entry + cycle) in [start, end].

Several scenarios: each is applied **alone** against the baseline (one row each); with
``combine=True`` a last row applies all of them one after another, in the order given (drop the
largest after a slip drops the largest of the slipped pipeline).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.base import Result, plain_number, signed_number
from pipesheet.cells import clean_text, parse_probabilities
from pipesheet.errors import PipesheetError
from pipesheet.forecast import pipeline_position
from pipesheet.formats import format_number, format_percent
from pipesheet.headings import heading, headings
from pipesheet.i18n import N_, _, ngettext, pgettext
from pipesheet.periods import read_date_setting, within_days
from pipesheet.planning import (
    days_in_stage_from_history,
    lead_to_win_rate,
    read_days_in_stage,
)
from pipesheet.pricing import PricedDeals, Probabilities, Rates, price_deals
from pipesheet.ranges import forecast_range
from pipesheet.stages import StageList, stage_key
from pipesheet.tables import Deals

__all__ = [
    "SCENARIO_KINDS",
    "SCENARIO_SYNTAX",
    "Scenario",
    "ScenarioResult",
    "apply_scenarios",
    "parse_scenario",
]

#: The kinds of scenario, as their text starts.
SCENARIO_KINDS = ("drop-largest", "drop", "slip", "conversion", "add-leads")
#: The text syntax, as error messages and help texts quote it (marked: show ``_(SCENARIO_SYNTAX)``).
SCENARIO_SYNTAX = N_(
    "one of: drop-largest N (e.g. drop-largest 3); drop ID,ID… (e.g. drop D-0012,D-0044); "
    "slip N (days, e.g. slip 30); conversion STAGE=P (e.g. conversion Proposal=35%); "
    "add-leads N/week (e.g. add-leads 10/week, optionally add-leads 10/week cycle 60)"
)
#: The figures shown before and after, in order.
MEASURES = ("forecast", "pipeline", "open_deals", "p10", "p50", "p90", "p_quota")


# ---- the text ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scenario:
    """One what-if, parsed from its text (:func:`parse_scenario`).

    Attributes:
        kind: One of :data:`SCENARIO_KINDS`.
        text: The text as given.
        count: N of ``drop-largest N`` and ``add-leads N/week``.
        ids: The deal ids of ``drop``.
        days: N of ``slip N``; D of ``add-leads … cycle D``.
        stage, probability: ``conversion STAGE=P``.
    """

    kind: str
    text: str
    count: int | None = None
    ids: tuple[str, ...] = ()
    days: float | None = None
    stage: str | None = None
    probability: float | None = None


_PATTERNS = [
    ("drop-largest", re.compile(r"drop[-_ ]*largest\s+(?P<n>\S+)", re.I)),
    (
        "add-leads",
        re.compile(
            r"add[-_ ]*leads\s+(?P<n>[^\s/]+)\s*(?:/\s*(?:week|wk|w)\b)?"
            r"(?:\s*,?\s*cycle\s*=?\s*(?P<cycle>\S+?)(?:\s*days?)?)?",
            re.I,
        ),
    ),
    ("slip", re.compile(r"slip\s+(?P<n>[+\-−]?\S+?)(?:\s*days?)?", re.I)),
    ("conversion", re.compile(r"conversion\s+(?P<stage>.+?)\s*=\s*(?P<p>.+)", re.I)),
    ("drop", re.compile(r"drop\s+(?P<ids>.+)", re.I)),
]


_KEYWORD = re.compile(r"(drop[-_ ]*largest|add[-_ ]*leads|slip|conversion|drop)\b", re.I)
_FORMS = {
    "drop-largest": N_("drop-largest N, N a whole number of deals ≥ 1 (e.g. drop-largest 3)"),
    "add-leads": N_(
        "add-leads N/week, N a whole number of leads (e.g. add-leads 10/week or "
        "add-leads 10/week cycle 60)"
    ),
    "slip": N_("slip N, N whole days (e.g. slip 30; slip -15 pulls in)"),
    "conversion": N_("conversion STAGE=P (e.g. conversion Proposal=35%)"),
    "drop": N_("drop ID,ID… with the ids of open deals (e.g. drop D-0012,D-0044)"),
}


def _about(text: str, problem: str) -> str:
    """A problem of the scenario ``text``, naming it."""
    return _("scenario {text}: {problem}").format(text=repr(text), problem=problem)


def _problem(text: str, problem: str, expected: str | None = None) -> PipesheetError:
    return PipesheetError(
        _about(text, problem),
        table="settings",
        column="scenario",
        expected=_(SCENARIO_SYNTAX) if expected is None else expected,
    )


def _whole(
    value: str, text: str, what: str, kind: str, *, minimum: int, signed: bool = False
) -> int:
    raw = value.replace("−", "-").lstrip("+")
    if not re.fullmatch(r"-?\d+" if signed else r"\d+", raw) or (not signed and int(raw) < minimum):
        problem = (
            _("{what} must be a whole number, not {value}")
            if signed
            else _("{what} must be a whole number ≥ {minimum}, not {value}")
        )
        raise _problem(
            text, problem.format(what=what, minimum=minimum, value=repr(value)), _(_FORMS[kind])
        )
    return int(raw)


def parse_scenario(text: str | Scenario) -> Scenario:
    """A scenario from its text (the syntax in the module docstring, :data:`SCENARIO_SYNTAX`).

    Raises:
        PipesheetError: naming the scenario text and what was expected (an unknown kind, a
            count that is not a whole number, a probability that is not one, no deal id…).
    """
    if isinstance(text, Scenario):
        return text
    if not isinstance(text, str) or not text.strip():
        raise PipesheetError(
            _("a scenario is blank")
            if isinstance(text, str) or text is None
            else _("a scenario is not text ({type})").format(type=type(text).__name__),
            table="settings",
            column="scenario",
            expected=_(SCENARIO_SYNTAX),
        )
    given = " ".join(text.split())
    for kind, pattern in _PATTERNS:
        hit = pattern.fullmatch(given)
        if hit is None:
            continue
        g = hit.groupdict()
        if kind == "drop-largest":
            return Scenario(kind, given, count=_whole(g["n"], given, "N", kind, minimum=1))
        if kind == "add-leads":
            n = _whole(g["n"], given, _("the leads a week"), kind, minimum=0)
            cycle = None
            if g.get("cycle"):
                cycle = float(_whole(g["cycle"], given, _("the cycle (days)"), kind, minimum=0))
            return Scenario(kind, given, count=n, days=cycle)
        if kind == "slip":
            return Scenario(
                kind, given, days=float(_whole(g["n"], given, "N", kind, minimum=0, signed=True))
            )
        if kind == "conversion":
            stage = clean_text(g["stage"])
            try:
                p = parse_probabilities(
                    pd.Series([g["p"].strip()], dtype=object), table="settings", column="scenario"
                )[0]
            except PipesheetError as err:
                raise _problem(
                    given,
                    _("{value} is not a probability ({problem})").format(
                        value=repr(g["p"].strip()), problem=err.problem
                    ),
                    _("a probability such as 0.35, 35 or 35% after STAGE="),
                ) from None
            if math.isnan(p):
                raise _problem(given, _("no probability after ="), _(_FORMS[kind]))
            return Scenario(kind, given, stage=stage, probability=float(p))
        ids = tuple(x for x in (clean_text(i) for i in g["ids"].split(",")) if x)
        if not ids:
            raise _problem(given, _("no deal id"), _(_FORMS[kind]))
        return Scenario(kind, given, ids=ids)
    start = _KEYWORD.match(given)
    if start is not None:
        kind = re.sub(r"[-_ ]+", "-", start.group(1).casefold())
        raise _problem(given, _("not a valid {kind} scenario").format(kind=kind), _(_FORMS[kind]))
    raise _problem(given, _("not understood"))


# ---- applying it -------------------------------------------------------------------------------
@dataclass
class _Pipeline:
    """The open pipeline a scenario works on: the deals (close dates possibly slipped), the
    deals dropped, stage probabilities changed, and new leads (amount, probability each)."""

    deals: Deals
    dropped: np.ndarray
    stage_p: dict[int, float] = field(default_factory=dict)
    lead_amounts: np.ndarray = field(default_factory=lambda: np.zeros(0))
    lead_p: np.ndarray = field(default_factory=lambda: np.zeros(0))


@dataclass
class _Context:
    """The settings every scenario prices with."""

    probabilities: Probabilities
    price: dict[str, Any]
    quota: float | None
    range_method: str
    history: Any
    days_in_stage: Any
    average_deal: float | None


def _priced(state: _Pipeline, ctx: _Context) -> PricedDeals:
    """The priced deals of the scenario's pipeline (price_deals, then the drops and the stage
    probabilities it changed)."""
    priced = price_deals(state.deals, ctx.probabilities, **ctx.price)
    p = priced.probability
    if state.stage_p:
        code = state.deals.frame["code"].to_numpy()
        p = p.copy()
        for c, value in state.stage_p.items():
            p[(code == c) & (code < state.deals.stages.k)] = value
    return dataclasses.replace(priced, open=priced.open & ~state.dropped, probability=p)


def _figures(state: _Pipeline, ctx: _Context) -> dict[str, float]:
    """Forecast, pipeline, open deals, P10/P50/P90 and P(≥ quota) of the scenario's pipeline
    (its open deals and new leads)."""
    priced = _priced(state, ctx)
    a = np.concatenate([priced.amount[priced.open], state.lead_amounts])
    p = np.concatenate([priced.probability[priced.open], state.lead_p])
    closed = priced.closed if priced.windowed else None
    rng = forecast_range(a, p, quota=ctx.quota, closed=closed, range_method=ctx.range_method)
    return {
        "forecast": rng.mean,
        "pipeline": float(a.sum()),
        "open_deals": float(a.size),
        "p10": rng.p10,
        "p50": rng.p50,
        "p90": rng.p90,
        "p_quota": math.nan if rng.p_quota is None else rng.p_quota,
        "closed": math.nan if closed is None else closed,
    }


def _money(x: float) -> str:
    return format_number(x, 0 if abs(x) >= 100 or float(x).is_integer() else 2)


def _deal_list(priced: PricedDeals, rows: np.ndarray, limit: int = 5) -> str:
    frame = priced.deals.frame
    said = _("{deal} ({amount} at {stage}, p {probability}%)")
    items = ", ".join(
        said.format(
            deal=frame["deal_id"].iloc[i],
            amount=_money(priced.amount[i]),
            stage=frame["stage"].iloc[i],
            probability=plain_number(priced.probability[i] * 100, 0),
        )
        for i in rows[:limit]
    )
    more = len(rows) - limit
    if more <= 0:
        return items
    return ngettext("{items} and {more} more", "{items} and {more} more", more).format(
        items=items, more=more
    )


def _drop_largest(s: Scenario, state: _Pipeline, ctx: _Context) -> str:
    priced = _priced(state, ctx)
    idx = np.flatnonzero(priced.open)
    order = idx[np.argsort(-priced.amount[idx], kind="stable")][: s.count]
    state.dropped = state.dropped.copy()
    state.dropped[order] = True
    lost = float((priced.amount[order] * priced.probability[order]).sum())
    if len(idx) < (s.count or 0):
        said = _(
            "drops the {count} largest open deal(s) (only {open} open deals): {deals} — "
            "weighted −{lost}"
        )
    else:
        said = _("drops the {count} largest open deal(s): {deals} — weighted −{lost}")
    return said.format(
        count=len(order), open=len(idx), deals=_deal_list(priced, order), lost=_money(lost)
    )


def _drop(s: Scenario, state: _Pipeline, ctx: _Context) -> str:
    priced = _priced(state, ctx)
    frame = state.deals.frame
    ids = frame["deal_id"].to_numpy(dtype=object)
    rows = []
    for deal in s.ids:
        hit = np.flatnonzero(ids == deal)
        if not hit.size:
            raise PipesheetError(
                _about(s.text, _("no deal {deal} in the deals table").format(deal=repr(deal))),
                table=state.deals.name,
                column=state.deals.columns.get("deal_id"),
                value=deal,
                expected=_("ids of open deals of the forecast"),
            )
        i = int(hit[0])
        if state.dropped[i]:
            continue  # dropped by an earlier scenario of a combination
        if not priced.open[i]:
            raise PipesheetError(
                _about(
                    s.text,
                    _("deal {deal} is not an open deal of the forecast ({why})").format(
                        deal=repr(deal), why=_why_not_open(priced, i)
                    ),
                ),
                table=state.deals.name,
                column=state.deals.columns.get("deal_id"),
                rows=[int(frame.index[i])],
                value=deal,
                expected=_("ids of open deals expected to close in the period"),
            )
        rows.append(i)
    at = np.array(rows, dtype=np.int64)
    state.dropped = state.dropped.copy()
    state.dropped[at] = True
    lost = float((priced.amount[at] * priced.probability[at]).sum())
    return _("drops {deals} — weighted −{lost}").format(
        deals=_deal_list(priced, at, 10), lost=_money(lost)
    )


def _why_not_open(priced: PricedDeals, i: int) -> str:
    frame = priced.deals.frame
    k = priced.deals.stages.k
    code = int(frame["code"].iloc[i])
    if code == k:
        return _("it is won")
    if code == k + 1:
        return _("it is lost")
    if np.isnan(priced.amount[i]):
        return _("its amount is blank")
    close = frame["close_date"].iloc[i]
    if not within_days(pd.Series([close]), priced.start, priced.end)[0]:
        if pd.isna(close):
            return _("no expected close date, outside the period")
        return _("expected to close {date}, outside the period").format(date=close.date())
    return _("not open at the as-of date")


def _slip(s: Scenario, state: _Pipeline, ctx: _Context) -> str:
    before = _priced(state, ctx)
    frame = state.deals.frame.copy()
    is_open = (frame["code"] < state.deals.stages.k).to_numpy()
    days = pd.Timedelta(days=float(s.days or 0))
    frame.loc[is_open, "close_date"] = frame.loc[is_open, "close_date"] + days
    state.deals = dataclasses.replace(state.deals, frame=frame)
    after = _priced(state, ctx)
    out_rows = np.flatnonzero(before.open & ~after.open)
    in_rows = np.flatnonzero(after.open & ~before.open)
    said = (
        _(
            "moves every open deal's expected close date {days} days later: {leaving} deal(s) "
            "leave the period{left}, {entering} enter it{entered}"
        )
        if (s.days or 0) >= 0
        else _(
            "moves every open deal's expected close date {days} days earlier: {leaving} deal(s) "
            "leave the period{left}, {entering} enter it{entered}"
        )
    )
    return said.format(
        days=plain_number(abs(s.days or 0), 0),
        leaving=len(out_rows),
        left=f" ({_deal_list(before, out_rows)})" if len(out_rows) else "",
        entering=len(in_rows),
        entered=f" ({_deal_list(after, in_rows)})" if len(in_rows) else "",
    )


def _conversion(s: Scenario, state: _Pipeline, ctx: _Context) -> str:
    stages = state.deals.stages
    code = stages.code(s.stage)
    if not 0 <= code < stages.k:
        raise PipesheetError(
            _about(s.text, _("{stage} is not an open stage").format(stage=repr(s.stage))),
            table="settings",
            column="scenario",
            value=s.stage,
            expected=_("one of the open stages: {stages}").format(stages=", ".join(stages.open)),
        )
    before = _priced(state, ctx)
    at = before.open & (state.deals.frame["code"].to_numpy() == code)
    old = np.unique(before.probability[at])
    state.stage_p = {**state.stage_p, code: float(s.probability or 0.0)}
    after = _priced(state, ctx)
    was = (
        format_percent(old[0], 1)
        if old.size == 1
        else _("their own probabilities")
        if old.size
        else "—"
    )
    delta = float((after.amount[at] * after.probability[at]).sum()) - float(
        (before.amount[at] * before.probability[at]).sum()
    )
    sign = "+" if delta >= 0 else "−"
    return _(
        "prices the {count} open deal(s) at {stage} with win probability {probability} instead "
        "of {was} — weighted {change}"
    ).format(
        count=int(at.sum()),
        stage=stages.open[code],
        probability=format_percent(s.probability or 0, 1),
        was=was,
        change=sign + _money(abs(delta)),
    )


def _add_leads(s: Scenario, state: _Pipeline, ctx: _Context) -> str:
    stages = state.deals.stages
    p1 = lead_to_win_rate(ctx.probabilities, stages)
    if math.isnan(p1):
        raise PipesheetError(
            _about(s.text, _("the first stage's win probability is unknown")),
            table="settings",
            column="scenario",
            expected=_(
                "learned probabilities or a stage/probability table giving the first stage "
                "({stage}) one (configured probabilities are each deal's own)"
            ).format(stage=stages.open[0]),
        )
    price = ctx.price
    average = ctx.average_deal
    if average is None:
        pos = pipeline_position(
            state.deals,
            None,
            as_of=price.get("as_of"),
            rates=price.get("rates"),
            currency=price.get("currency"),
            blank_amounts=price.get("blank_amounts", "error"),
        )
        average = pos.average_won_deal
    if average is None or math.isnan(average):
        raise PipesheetError(
            _about(s.text, _("no won deal to take the average deal from")),
            table="settings",
            column="scenario",
            expected=_("won deals in the deals table, or average_deal"),
        )
    cycle, source = _cycle(s, stages, ctx)
    end = read_date_setting(price.get("end"), "end")
    first_day = read_date_setting(price.get("as_of"), "as_of")
    start = read_date_setting(price.get("start"), "start")
    if end is None:
        raise PipesheetError(
            _about(s.text, _("new leads need a period end to close by")),
            table="settings",
            column="end",
            expected=_("the period's last day (end=, --period-end)"),
        )
    if first_day is not None:
        first_day = first_day + pd.Timedelta(days=1)
    elif start is not None:
        first_day = start
    else:
        raise PipesheetError(
            _about(s.text, _("new leads need a day to start from")),
            table="settings",
            column="as_of",
            expected=_("an as-of date (leads start the day after) or a period start"),
        )
    days = math.ceil(round(cycle, 9))
    first_close = first_day + pd.Timedelta(days=days)
    span = (end - first_close).days
    batches = span // 7 + 1 if span >= 0 else 0
    closes = [first_close + pd.Timedelta(days=7 * i) for i in range(batches)]
    if start is not None:
        closes = [c for c in closes if c >= start]
    n = (s.count or 0) * len(closes)
    state.lead_amounts = np.concatenate([state.lead_amounts, np.full(n, float(average))])
    state.lead_p = np.concatenate([state.lead_p, np.full(n, p1)])
    added = n * p1 * float(average)
    if not closes:
        return _(
            "adds {count} new lead(s) a week from {start}: none closes by {end} after the "
            "{days}-day cycle ({source}) — forecast +0"
        ).format(count=s.count, start=first_day.date(), end=end.date(), days=days, source=source)
    return _(
        "adds {count} new lead(s) a week from {start}: {batches} weekly batch(es), {leads} "
        "lead(s), close after the {days}-day cycle ({source}) between {first} and {last}, each "
        "won with p {probability} (the first stage's) at the average won deal {average} — "
        "weighted +{added}"
    ).format(
        count=s.count,
        start=first_day.date(),
        batches=len(closes),
        leads=n,
        days=days,
        source=source,
        first=closes[0].date(),
        last=closes[-1].date(),
        probability=format_percent(p1, 1),
        average=_money(float(average)),
        added=_money(added),
    )


def _cycle(s: Scenario, stages: StageList, ctx: _Context) -> tuple[float, str]:
    """Days from a new lead to Won, and where they come from."""
    if s.days is not None:
        return float(s.days), pgettext("cycle", "given")
    days = ctx.days_in_stage
    if days is None and ctx.history is not None:
        days = days_in_stage_from_history(ctx.history, as_of=ctx.price.get("as_of"), stages=stages)
    if days is None:
        raise PipesheetError(
            _about(s.text, _("the days a new lead takes to close are unknown")),
            table="settings",
            column="scenario",
            expected=_(
                "a stage history (days in stage learned from it), days_in_stage, or the cycle in "
                "the scenario: add-leads 10/week cycle 60"
            ),
        )
    table, told = read_days_in_stage(days)
    source = told or _("the days in stage given")
    found = {stage_key(k): v for k, v in table.items()}
    missing = [st for st in stages.open if pd.isna(found.get(stage_key(st), math.nan))]
    if missing:
        raise PipesheetError(
            _about(
                s.text,
                _("no days in stage for {stages}").format(stages=", ".join(map(repr, missing))),
            ),
            table="settings",
            column="days_in_stage",
            expected=_(
                "days for every open stage, or the cycle in the scenario: add-leads 10/week "
                "cycle 60"
            ),
        )
    total = float(sum(float(found[stage_key(st)]) for st in stages.open))
    return total, _("the sum of the days in each stage: {source}").format(source=source)


_APPLY = {
    "drop-largest": _drop_largest,
    "drop": _drop,
    "slip": _slip,
    "conversion": _conversion,
    "add-leads": _add_leads,
}


def _then(first: str, second: str) -> str:
    """Two changes, one after the other."""
    return _("{first}; then {second}").format(first=first, second=second)


# ---- the result --------------------------------------------------------------------------------
@dataclass(repr=False)
class ScenarioResult(Result):
    """Each scenario's forecast, range and P(≥ quota), before and after (see
    :func:`apply_scenarios`).

    Attributes:
        table: One row per scenario (and ``combined`` with ``combine=True``): ``scenario`` (its
            text), ``change`` (what it did, in words), ``closed`` (closed so far, unchanged), and
            ``<measure>_before`` / ``<measure>_after`` for forecast, pipeline, open_deals, p10,
            p50, p90, p_quota.
        quota: The quota of P(≥ quota) (None: not asked).
        currency: The reporting currency.
        notes: What the user should know (of the baseline's pricing).
    """

    table: pd.DataFrame
    quota: float | None
    currency: str | None
    notes: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """The table (:attr:`table`)."""
        return self.table.copy()

    def _figures(self) -> dict[str, Any]:
        first = self.table.iloc[0]
        return {
            "scenarios": len(self.table),
            "forecast_before": float(first["forecast_before"]),
            "forecast_after": float(first["forecast_after"]),
            "p_quota_before": None if pd.isna(first["p_quota_before"]) else first["p_quota_before"],
            "p_quota_after": None if pd.isna(first["p_quota_after"]) else first["p_quota_after"],
            "currency": self.currency,
        }

    def compare(self, which: int | str = 0) -> pd.DataFrame:
        """One scenario's figures side by side: ``measure``, ``before``, ``after``, ``change``
        (after − before); ``which`` is its position or its text.  ``attrs["change"]`` holds
        the change in words."""
        rows = self.table
        if isinstance(which, str):
            hit = np.flatnonzero(rows["scenario"].to_numpy() == which)
            if not hit.size:
                raise PipesheetError(
                    _("no scenario {name}").format(name=repr(which)),
                    table="settings",
                    column="scenario",
                    expected=_("one of {names}").format(
                        names=", ".join(map(repr, rows["scenario"]))
                    ),
                )
            which = int(hit[0])
        row = rows.iloc[which]
        names = [m for m in MEASURES if m != "p_quota" or self.quota is not None]
        before = np.array([row[f"{m}_before"] for m in names], dtype=float)
        after = np.array([row[f"{m}_after"] for m in names], dtype=float)
        out = pd.DataFrame(
            {"measure": names, "before": before, "after": after, "change": after - before}
        )
        if not pd.isna(row["closed"]):
            line = pd.DataFrame(
                {
                    "measure": ["closed"],
                    "before": [row["closed"]],
                    "after": [row["closed"]],
                    "change": [0.0],
                }
            )
            at = names.index("p90") + 1
            out = pd.concat([out.iloc[:at], line, out.iloc[at:]], ignore_index=True)
        out.attrs["change"] = row["change"]
        out.attrs["scenario"] = row["scenario"]
        return out

    def __str__(self) -> str:
        """Each scenario as pipesheet prints it: its figures before and after, and the change
        in words."""
        cur = f" ({self.currency})" if self.currency else ""
        lines = []
        for i in range(len(self.table)):
            t = self.compare(i)
            shown = t.copy().astype(object)
            for col in ("before", "after", "change"):
                shown[col] = [
                    _shown(m, v, col == "change") for m, v in zip(t["measure"], t[col], strict=True)
                ]
            shown["measure"] = [heading(m) for m in t["measure"]]
            shown.columns = headings(shown.columns)
            lines.append(
                _("Scenario: {scenario}{currency}").format(
                    scenario=t.attrs["scenario"], currency=cur
                )
            )
            lines += [line.rstrip() for line in shown.to_string(index=False).splitlines()]
            lines.append(_("what changed: {change}").format(change=t.attrs["change"]))
            lines.append("")
        lines += [_("note: {note}").format(note=n) for n in self.notes]
        return "\n".join(lines).rstrip("\n")


def _shown(measure: str, value: float, signed: bool) -> str:
    if pd.isna(value):
        return ""
    if measure == "p_quota":
        points = round(value * 100, 1) + 0.0  # never "-0.0"
        if signed:
            return _("{points} pts").format(points=signed_number(points, 1))
        return format_percent(value, 1)
    return signed_number(value, 0) if signed else format_number(value, 0)


def apply_scenarios(
    deals: pd.DataFrame | Deals,
    probabilities: Probabilities,
    scenarios: str | Scenario | Sequence[str | Scenario],
    *,
    quota: float | None = None,
    start: Any = None,
    end: Any = None,
    as_of: Any = None,
    rates: Rates = None,
    currency: str | None = None,
    blank_amounts: str = "error",
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
    history: Any = None,
    days_in_stage: Mapping[str, float] | pd.DataFrame | None = None,
    average_deal: float | None = None,
    combine: bool = False,
    range_method: str = "auto",
) -> ScenarioResult:
    """The forecast, its range and P(≥ quota) before and after each scenario (see the module
    docstring for the scenarios and their syntax).

    Args:
        deals, probabilities: As for :func:`pipesheet.pipeline_range`.
        scenarios: One scenario or several, as text (``"drop-largest 3"``) or parsed.
        quota: For P(≥ quota) = P(closed so far + S ≥ quota).
        start, end, as_of, rates, currency, blank_amounts, stages, columns: The forecast's
            settings (:func:`pipesheet.price_deals`).
        history: The stage history, for the days in stage of ``add-leads``.
        days_in_stage: Days a deal spends in each stage (instead of learning them).
        average_deal: The new leads' amount (default: the mean won deal).
        combine: Add a row with every scenario applied one after another.
        range_method: :func:`pipesheet.forecast_range`'s method.

    Returns:
        A :class:`ScenarioResult`.
    """
    items = [scenarios] if isinstance(scenarios, (str, Scenario)) else list(scenarios)
    if not items:
        raise PipesheetError(
            _("no scenario given"),
            table="settings",
            column="scenario",
            expected=_(SCENARIO_SYNTAX),
        )
    parsed = [parse_scenario(x) for x in items]
    price = {
        "start": start,
        "end": end,
        "as_of": as_of,
        "rates": rates,
        "currency": currency,
        "blank_amounts": blank_amounts,
    }
    base = price_deals(deals, probabilities, stages=stages, columns=columns, **price)
    ctx = _Context(probabilities, price, quota, range_method, history, days_in_stage, average_deal)

    def fresh() -> _Pipeline:
        return _Pipeline(base.deals, np.zeros(len(base.deals.frame), dtype=bool))

    before = _figures(fresh(), ctx)
    runs = [[s] for s in parsed]
    if combine and len(parsed) > 1:
        runs.append(parsed)
    rows = []
    for run in runs:
        state = fresh()
        words = [_APPLY[s.kind](s, state, ctx) for s in run]
        after = _figures(state, ctx)
        rows.append(
            {
                "scenario": " + ".join(s.text for s in run),
                "change": functools.reduce(_then, words),
                "closed": before["closed"],
                **{f"{m}_before": before[m] for m in MEASURES},
                **{f"{m}_after": after[m] for m in MEASURES},
            }
        )
    table = pd.DataFrame(rows)
    for col in ("open_deals_before", "open_deals_after"):
        table[col] = table[col].astype(int)
    return ScenarioResult(table, quota, base.currency, list(base.notes))
