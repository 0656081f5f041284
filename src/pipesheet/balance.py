"""Pipeline balance: does each stage hold what a steady flow of won deals at the target pace needs?

The methods pipesheet follows say: know how many prospects sit at each stage; when many deals are
about to close but no new meetings are booked, prospect now; in the opposite case, stop cold
calling and work the deals you have — a steady flow of sales instead of feast or famine. This
module puts numbers on that, per open stage, on the as-of day.

**Model** (steady state: deals arrive, move and close at constant average rates; every rate
learned from the history as of ``as_of``, nothing after it):

* won revenue needed per day (the *pace*) ``R = target / days in the period`` (period start and
  end inclusive);
* average won deal ``A``: the mean amount, in the reporting currency, of the deals won by as-of
  (amounts from the deals table; ``average_deal=`` gives it instead); won deals needed per day
  ``λ_won = R / A``;
* deals that must *reach* open stage s per day ``λ_s = λ_won / p_s``, where
  ``p_s = P(win | reached s)`` is the cohort win probability learned as of as-of
  (:class:`~pipesheet.probabilities.StageProbabilities`): of the deals that reach s, a share p_s
  is won, so λ_won won deals a day need λ_won / p_s arrivals a day;
* days a deal spends in s: ``W_s = v_s · d_s``, where ``d_s`` is the **mean** days of the
  completed visits to s (entered, then left by as-of: won, lost or moved on; the mean, not the
  median, because Little's law is about means) and ``v_s`` the visits per deal that reached s
  (1 when deals never come back to a stage);
* **Little's law** ``L = λ · W``: the open deals stage s should hold today
  ``needed_s = λ_s · W_s`` (an expected count: not rounded to whole deals, only to 9
  decimals so that float noise does not show); their value
  ``needed_value_s = needed_s · A_s`` with ``A_s`` the mean amount of the deals that reached s
  (any outcome; ``A`` when none has a known amount);
* compared with the deals open at s on the as-of day (from the history: each deal's latest row on
  or before as-of; open deals of the deals table without history rows at their current stage):
  ``gap = open − needed`` and ``gap_value = open_value − needed_value``;
* **noise** ``= √needed``: in steady state with deals arriving at random (Poisson) and staying an
  independent time, the number of deals in a stage is Poisson (an M/G/∞ queue), whose standard
  deviation is √mean. A stage is **thin** when ``gap < −noise_z · noise``, **bloated** when
  ``gap > +noise_z · noise``, else **balanced** (``noise_z = 2`` by default: a balanced pipeline
  is called thin or bloated at a given stage about 5% of the time). The noise does not include the
  uncertainty of the learned p_s, W_s and A (small when they rest on many deals; the notes count
  them);
* **starvation**: a thin stage's missing deals are missing at Won after the mean days won deals
  took from first entering s to Won (``days_to_won``): ``starves_won_date = as-of + days_to_won``
  and ``starves_won_week`` its week (Monday); the shortfall is ``|gap| · p_s`` won deals
  (``shortfall_won``) and ``|gap| · p_s · A`` won revenue (``shortfall_revenue``).

**What to do**, in the methods' terms: thin at the top → prospect more (book meetings, add
leads); bloated at the top with thinner stages below → stop cold calling and work and move the
deals you have; thin further down → move and close deals further down (from the stage before it,
or from upstream); bloated further down → close the ready deals and clean out stale ones.

A stage without a learned p_s (no closed deal reached it), with p_s = 0 (no deal won through it)
or without a completed visit has no needed count: its status is ``unknown`` and the notes say why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.base import Result
from pipesheet.diagnostics import as_of_day, stage_visits
from pipesheet.errors import PipesheetError
from pipesheet.formats import format_money, format_number, symbols
from pipesheet.headings import headings
from pipesheet.i18n import _, current_language, pgettext
from pipesheet.periods import read_date_setting
from pipesheet.pricing import price_deals
from pipesheet.probabilities import StageProbabilities
from pipesheet.stages import StageList
from pipesheet.tables import Deals, History, blank_amounts_choice, read_history_and_deals

__all__ = ["STATUSES", "TABLE_COLUMNS", "BalanceResult", "pipeline_balance"]

#: A stage's status: its gap against ± noise_z · noise, or unknown (no needed count).
STATUSES = ("thin", "balanced", "bloated", "unknown")
TABLE_COLUMNS = (
    "stage",
    "win_probability",
    "deals_per_day",
    "days_in_stage",
    "visits_per_deal",
    "needed",
    "open",
    "gap",
    "noise",
    "z",
    "average_amount",
    "needed_value",
    "open_value",
    "gap_value",
    "status",
    "advice",
    "days_to_won",
    "starves_won_date",
    "starves_won_week",
    "shortfall_won",
    "shortfall_revenue",
)
_DAY = pd.Timedelta(days=1)
#: Notes of the deals reader about what this module does not use (expected close dates).
_UNUSED = ("no expected close date column",)


def _used(note: str) -> bool:
    """False for a note of the deals reader about what this module does not use (in English or
    in the language spoken)."""
    unused = _("no expected close date column: forecasts cannot be split by period")
    return note != unused and not note.startswith(_UNUSED)


@dataclass(repr=False)
class BalanceResult(Result):
    """The balance of each open stage on the as-of day (see the module docstring for the model).

    Attributes:
        table: One row per open stage, in funnel order (:data:`TABLE_COLUMNS`): ``stage``,
            ``win_probability`` (p_s), ``deals_per_day`` (λ_s), ``days_in_stage`` (mean days per
            completed visit), ``visits_per_deal``, ``needed``, ``open``, ``gap``, ``noise``,
            ``z`` (gap ÷ noise; blank when the noise is 0), ``average_amount`` (A_s),
            ``needed_value``, ``open_value``, ``gap_value``, ``status`` (thin / balanced /
            bloated / unknown), ``advice``,
            ``days_to_won``, ``starves_won_date``, ``starves_won_week``, ``shortfall_won``,
            ``shortfall_revenue`` (the last four only for thin stages).
        target: The revenue target of the period.
        period_start, period_end: The period (both days included); ``period_days`` its length.
        pace: Won revenue needed per day, R = target ÷ period days.
        average_deal: A, the average won deal used; ``average_deal_source`` says where it is from.
        won_per_day: λ_won = R ÷ A, won deals needed per day.
        as_of: The day the pipeline is taken at (only what was known at its end is used).
        currency: The reporting currency of the money figures, when known.
        noise_z: The multiple of the noise beyond which a gap is thin or bloated.
        advice: What to do, for the whole pipeline, in plain words.
        notes: What the user should know (assumptions, learned inputs, rows left out).
    """

    table: pd.DataFrame
    target: float
    period_start: pd.Timestamp
    period_end: pd.Timestamp
    period_days: int
    pace: float
    average_deal: float
    average_deal_source: str
    won_per_day: float
    as_of: pd.Timestamp
    currency: str | None
    noise_z: float
    advice: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """The per-stage table (a copy); ``attrs`` carry the inputs, advice and notes."""
        out = self.table.copy()
        out.attrs.update(self.inputs())
        out.attrs["advice"] = list(self.advice)
        out.attrs["notes"] = list(self.notes)
        return out

    def inputs(self) -> dict[str, Any]:
        """The inputs the table rests on: target, period, pace, A, λ_won, as-of, currency."""
        return {
            "target": self.target,
            "period_start": self.period_start,
            "period_end": self.period_end,
            "period_days": self.period_days,
            "pace": self.pace,
            "average_deal": self.average_deal,
            "average_deal_source": self.average_deal_source,
            "won_per_day": self.won_per_day,
            "as_of": self.as_of,
            "currency": self.currency,
            "noise_z": self.noise_z,
        }

    @property
    def thin(self) -> list[str]:
        """The thin stages, in funnel order."""
        return self.table.loc[self.table["status"] == "thin", "stage"].tolist()

    @property
    def bloated(self) -> list[str]:
        """The bloated stages, in funnel order."""
        return self.table.loc[self.table["status"] == "bloated", "stage"].tolist()

    def _figures(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "target": self.target,
            "currency": self.currency,
            "thin": ", ".join(self.thin) or None,
            "bloated": ", ".join(self.bloated) or None,
        }

    def __str__(self) -> str:
        """The balance as pipesheet prints it: the pace, a table per stage, advice and notes —
        in the language spoken (:mod:`pipesheet.i18n`; headings, statuses, number formats)."""
        cur = self.currency
        head = [
            _(
                "Pipeline balance as of {as_of}: target {target} for {start} to {end} ({days} days)"
            ).format(
                as_of=self.as_of.date(),
                target=_money(self.target, cur),
                start=self.period_start.date(),
                end=self.period_end.date(),
                days=self.period_days,
            ),
            _(
                "pace {pace} a day ÷ average won deal {average_deal} = {won_per_day} won deals "
                "a day"
            ).format(
                pace=_money(self.pace, cur),
                average_deal=_money(self.average_deal, cur),
                won_per_day=_sig(self.won_per_day, ".4g"),
            ),
        ]
        cols = ["stage", "needed", "open", "gap", "noise", "status", "needed_value", "open_value"]
        view = self.table[cols].copy()
        for c, digits in (("needed", 1), ("gap", 1), ("noise", 2)):
            view[c] = view[c].map(lambda x, d=digits: "" if pd.isna(x) else format_number(x, d))
        for c in ("needed_value", "open_value"):
            view[c] = view[c].map(lambda x: "" if pd.isna(x) else format_number(x, 0))
        shown = _status_names()
        view["status"] = view["status"].map(lambda x: shown.get(x, x))
        view["starves_won_week"] = self.table["starves_won_week"].map(
            lambda d: "" if pd.isna(d) else _("week of {day}").format(day=d.date())
        )
        view.columns = headings(view.columns)
        lines = [*head, *(line.rstrip() for line in view.to_string(index=False).splitlines())]
        lines += [f"- {a}" for a in self.advice]
        lines += [_("note: {note}").format(note=n) for n in self.notes]
        return "\n".join(lines)


def _status_names() -> dict[str, str]:
    """The statuses as a person reads them (the table keeps the codes of :data:`STATUSES`)."""
    return {
        "thin": pgettext("balance status", "thin"),
        "balanced": pgettext("balance status", "balanced"),
        "bloated": pgettext("balance status", "bloated"),
        "unknown": pgettext("balance status", "unknown"),
    }


# ---- reading ---------------------------------------------------------------------------------
def _tables(
    history: pd.DataFrame | History,
    deals: pd.DataFrame | Deals | None,
    stages: StageList | None,
    columns: Mapping[str, str] | None,
) -> tuple[History, Deals | None, list[str]]:
    """The history (required) and the deals table (optional), read against one stage list."""
    # i18n: completes "a stage history is needed for …"
    needed_for = _("the pipeline balance")
    hist, deal_table, notes = read_history_and_deals(
        history, deals, stages=stages, columns=columns, needed_for=needed_for
    )
    notes = [n for n in notes if _used(n)]
    return hist, deal_table, notes


def _number(value: Any, name: str, *, positive: bool) -> float:
    """A number setting: finite, ≥ 0 (> 0 with ``positive``); else a clear error."""
    try:
        x = math.nan if isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        x = math.nan
    if not math.isfinite(x) or x < 0 or (positive and x == 0):
        raise PipesheetError(
            _("{name} is not valid").format(name=name.replace("_", " ")),
            table="settings",
            column=name,
            value=value,
            expected=_("a number above 0") if positive else _("a number ≥ 0"),
        )
    return x


def _fmt(x: float) -> str:
    """Money in the language's format: whole from 100 up (and whole numbers), else 2 decimals."""
    return format_number(x, 0 if abs(x) >= 100 or float(x).is_integer() else 2)


def _money(x: float, currency: str | None) -> str:
    """:func:`_fmt` with the currency: ``32,609 EUR`` in English (as it has always been
    written), the language's own form elsewhere (``32.609 €``)."""
    if currency and current_language() != "en":
        return format_money(x, currency, 0 if abs(x) >= 100 or float(x).is_integer() else 2)
    return f"{_fmt(x)} {currency}" if currency else _fmt(x)


def _sig(x: float, spec: str) -> str:
    """``format(x, spec)`` for a spec without grouping (``.4g``, ``.1f``) with the language's
    decimal separator (English: exactly what ``format`` writes)."""
    return format(x, spec).replace(".", symbols()[1])


# ---- the model ---------------------------------------------------------------------------------
def pipeline_balance(
    history: pd.DataFrame | History,
    deals: pd.DataFrame | Deals | None,
    target: float,
    period_start: Any,
    period_end: Any,
    *,
    as_of: Any = None,
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
    rates: pd.DataFrame | Mapping[str, float] | None = None,
    currency: str | None = None,
    blank_amounts: str = "error",
    noise_z: float = 2.0,
    average_deal: float | None = None,
) -> BalanceResult:
    """The open deals — count and value — each stage should hold today for won revenue to arrive
    at the target's pace (Little's law), against what it holds; where the pipeline is thin or
    bloated, what to do, and when a thin stage starves Won.

    Args:
        history: The stage history (deal id, stage, date entered): conversions, days in stage,
            and the pipeline on the as-of day come from it.
        deals: The deals table (amounts, currency): average won deal and the values. May be None
            when ``average_deal`` is given (counts only; values blank).
        target: Revenue target of the period, in the reporting currency.
        period_start, period_end: The period the target is for (both days included).
        as_of: The day (default: the day of the latest history row). Only what was known at its
            end is used.
        stages, columns: Stage list and ``{field: header}`` mapping (as everywhere).
        rates, currency: Exchange rates and reporting currency for the amounts
            (:func:`pipesheet.forecast.price_deals`).
        blank_amounts: "error" (default), "skip" or "zero" for deals with a blank amount.
        noise_z: A gap beyond ± noise_z · √needed is thin / bloated (default 2).
        average_deal: The average won deal A, instead of learning it from the won deals.

    Returns:
        A :class:`BalanceResult`.

    Raises:
        PipesheetError: a bad setting (target, dates, noise_z), period end before start, no won
            deal to learn the average from (give ``average_deal``), won deals whose average
            amount is 0, or a table problem.
    """
    target = _number(target, "target", positive=False)
    z = _number(noise_z, "noise_z", positive=True)
    start = read_date_setting(period_start, "period_start", required=True)
    end = read_date_setting(period_end, "period_end", required=True)
    if end < start:
        raise PipesheetError(
            _("the period ends before it starts"),
            table="settings",
            column="period_end",
            value=str(end.date()),
            expected=_("a day on or after the period start {start}").format(start=start.date()),
        )
    given_a = None if average_deal is None else _number(average_deal, "average_deal", positive=True)
    choice = blank_amounts_choice(blank_amounts)
    hist, deal_table, notes = _tables(history, deals, stages, columns)
    stage_list = hist.stages
    k = stage_list.k
    as_of_v = as_of_day(hist, as_of)
    day = pd.Timestamp(as_of_v)
    period_days = int((end - start).days) + 1

    # conversions: the cohort P(win | reached s) as of the day
    model = StageProbabilities(stages=stage_list, as_of=day).fit(hist, deal_table)
    p = model.overall_["win_probability"].to_numpy(dtype=float)
    closed_n = (model.overall_["won"] + model.overall_["lost"]).to_numpy(dtype=float)

    visits = stage_visits(hist, as_of_v)
    flow = _flow(visits, k)

    # amounts in the reporting currency (deals table), by deal id
    amount_of, cur, amount_notes = _amounts(deal_table, rates, currency, choice, given_a)
    notes += amount_notes
    ids = visits.drop_duplicates("deal").set_index("deal")["deal_id"]
    won_deals = ids.reindex(flow["won_date"].index).to_numpy()

    # open deals on the day: the history's, plus open deals of the deals table without history
    current = visits[(visits["code"] < k) & visits["left_date"].isna()]
    open_code = current["code"].to_numpy()
    open_ids = current["deal_id"].to_numpy()
    extra_won = np.array([], dtype=object)
    if deal_table is not None:
        open_code, open_ids, extra_won = _deals_without_history(
            deal_table, hist, day, open_code, open_ids, notes
        )
    open_n = np.bincount(open_code, minlength=k).astype(float)
    open_amount = _lookup(amount_of, open_ids)
    open_value = np.bincount(open_code, weights=np.nan_to_num(open_amount), minlength=k)
    unknown_value = np.isnan(open_amount)
    if amount_of is not None and unknown_value.any():
        notes.append(
            _(
                "{count} open deal(s) on {day} have no amount: counted as deals, not in the "
                "open value"
            ).format(count=int(unknown_value.sum()), day=day.date())
        )

    # the average won deal A
    if given_a is not None:
        a, a_source = given_a, "given"
    else:
        won_amounts = _lookup(amount_of, np.concatenate([won_deals, extra_won]))
        won_amounts = won_amounts[~np.isnan(won_amounts)]
        if not len(won_amounts):
            raise PipesheetError(
                _("no won deal with an amount by {day} to learn the average won deal from").format(
                    day=day.date()
                ),
                table=deal_table.name if deal_table is not None else "deals",
                expected=_(
                    "won deals in the history and their amounts in the deals table, or the "
                    "average won deal given (average_deal)"
                ),
            )
        a = float(won_amounts.mean())
        if not a > 0:  # every won deal of 0: no number of won deals reaches a target
            raise PipesheetError(
                _(
                    "the {count} deals won by {day} have an average amount of 0: no number of "
                    "won deals reaches the target"
                ).format(count=format_number(len(won_amounts), 0), day=day.date()),
                table=deal_table.name if deal_table is not None else "deals",
                column=deal_table.columns.get("amount") if deal_table is not None else None,
                expected=_(
                    "won deals with their amounts in the deals table, or the average won deal "
                    "given (average_deal)"
                ),
            )
        a_source = _("mean amount of the {count} deals won by {day}").format(
            count=format_number(len(won_amounts), 0), day=day.date()
        )

    # the average amount of the deals that reached each stage (A when none is known)
    reached = flow["reached"]
    reached_amount = _lookup(amount_of, ids.reindex(reached["deal"].to_numpy()).to_numpy())
    known = ~np.isnan(reached_amount)
    a_sum = np.bincount(reached["code"].to_numpy()[known], reached_amount[known], minlength=k)
    a_cnt = np.bincount(reached["code"].to_numpy()[known], minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        a_s = np.where(a_cnt > 0, a_sum / a_cnt, a)
    if amount_of is None:
        a_s = np.full(k, np.nan)
        open_value = np.full(k, np.nan)

    # Little's law, stage by stage
    pace = target / period_days
    won_per_day = pace / a
    usable = np.isfinite(p) & (p > 0) & np.isfinite(flow["mean_days"])
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        per_day = np.where(usable, won_per_day / np.where(p > 0, p, np.nan), np.nan)
        w_total = flow["mean_days"] * flow["visits_per_deal"]
        needed = np.round(per_day * w_total, 9)  # 3.0000000000000004 deals is 3
        noise = np.sqrt(needed)
        gap = open_n - needed
    if not np.isfinite(needed[usable]).all():
        raise PipesheetError(
            _("the deals needed are too many to count"),
            table="settings",
            column="target",
            value=target,
            expected=_("a target and amounts of a realistic scale, in the same currency"),
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        # gap ÷ noise; with nothing needed (noise 0) it is 0 for an empty stage, else blank
        zscore = np.where(noise > 0, gap / noise, np.where(gap == 0, 0.0, np.nan))
    status = np.where(
        ~usable,
        "unknown",
        np.where(gap < -z * noise, "thin", np.where(gap > z * noise, "bloated", "balanced")),
    ).astype(object)
    needed_value = needed * a_s
    gap_value = open_value - needed_value

    # starvation of Won by thin stages
    thin = status == "thin"
    days_to_won = flow["days_to_won"]
    starve_ok = thin & np.isfinite(days_to_won)
    starve_date = pd.Series(pd.NaT, index=range(k), dtype="datetime64[ns]")
    if starve_ok.any():
        offsets = pd.to_timedelta(np.where(starve_ok, days_to_won, np.nan), unit="D")
        starve_date = pd.Series((day + offsets).normalize(), index=range(k))
        starve_date = starve_date.where(starve_ok)
    weekday = starve_date.dt.day_of_week.fillna(0).to_numpy()
    starve_week = (starve_date - pd.to_timedelta(weekday, unit="D")).where(starve_ok)
    shortfall_won = np.where(thin, -gap * p, np.nan)
    shortfall_revenue = shortfall_won * a

    table = pd.DataFrame(
        {
            "stage": list(stage_list.open),
            "win_probability": p,
            "deals_per_day": per_day,
            "days_in_stage": flow["mean_days"],
            "visits_per_deal": flow["visits_per_deal"],
            "needed": needed,
            "open": open_n.astype(np.int64),
            "gap": gap,
            "noise": noise,
            "z": zscore,
            "average_amount": a_s,
            "needed_value": needed_value,
            "open_value": open_value,
            "gap_value": gap_value,
            "status": status,
            "advice": _advice(list(stage_list.open), status, gap),
            "days_to_won": days_to_won,
            "starves_won_date": starve_date.to_numpy(),
            "starves_won_week": starve_week.to_numpy(),
            "shortfall_won": shortfall_won,
            "shortfall_revenue": shortfall_revenue,
        }
    )
    notes += _model_notes(table, flow, closed_n, stage_list, z, end, day)
    result = BalanceResult(
        table=table,
        target=target,
        period_start=start,
        period_end=end,
        period_days=period_days,
        pace=pace,
        average_deal=a,
        average_deal_source=a_source,
        won_per_day=won_per_day,
        as_of=day,
        currency=cur,
        noise_z=z,
        notes=notes,
    )
    result.advice = _summary(result)
    return result


def _flow(visits: pd.DataFrame, k: int) -> dict[str, Any]:
    """Per open stage: mean days per completed visit, visits per deal, mean days from first
    entering the stage to Won (won deals); the first entry of each (deal, stage); won dates."""
    opn = visits[visits["code"] < k]
    done = opn[opn["left_date"].notna()]
    days = (done["left_date"] - done["entered_date"]) / _DAY
    by_code = days.groupby(done["code"].to_numpy())
    mean_days = by_code.mean().reindex(range(k)).to_numpy(dtype=float)
    done_n = by_code.size().reindex(range(k), fill_value=0).to_numpy()
    visit_n = np.bincount(opn["code"].to_numpy(), minlength=k)
    reached = opn.groupby(["deal", "code"], sort=False)["entered_date"].min().reset_index()
    deal_n = np.bincount(reached["code"].to_numpy(), minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_deal = np.where(deal_n > 0, visit_n / deal_n, np.nan)
    last = visits.groupby("deal", sort=False).agg(
        outcome=("outcome", "last"), closed=("entered_date", "last")
    )
    won_date = last.loc[last["outcome"] == "won", "closed"]
    to_won = reached.assign(won=won_date.reindex(reached["deal"].to_numpy()).to_numpy())
    to_won = to_won[to_won["won"].notna()]
    span = (to_won["won"] - to_won["entered_date"]) / _DAY
    days_to_won = span.groupby(to_won["code"].to_numpy()).mean().reindex(range(k))
    return {
        "mean_days": mean_days,
        "completed_visits": done_n,
        "visits_per_deal": per_deal,
        "reached": reached,
        "won_date": won_date,
        "days_to_won": days_to_won.to_numpy(dtype=float),
    }


def _amounts(
    deal_table: Deals | None,
    rates: Any,
    currency: str | None,
    choice: str,
    given_a: float | None,
) -> tuple[pd.Series | None, str | None, list[str]]:
    """Each deal's amount in the reporting currency by deal id (None without amounts)."""
    if deal_table is None:
        if given_a is None:
            raise PipesheetError(
                _("a deals table (for the amounts) or the average won deal is needed"),
                table="deals",
                expected=_("the deals table, or average_deal given"),
            )
        return (
            None,
            currency,
            [_("no deals table: needed and open deals are counted, not valued")],
        )
    if deal_table.missing_amount is not None:
        if given_a is None:
            raise deal_table.missing_amount
        return (
            None,
            currency,
            [_("no amount column: needed and open deals are counted, not valued")],
        )
    priced = price_deals(deal_table, rates=rates, currency=currency, blank_amounts=choice)
    notes = [n for n in priced.notes if n not in deal_table.notes]
    amounts = pd.Series(priced.amount, index=deal_table.frame["deal_id"].to_numpy())
    return amounts, priced.currency, notes


def _lookup(amount_of: pd.Series | None, ids: np.ndarray) -> np.ndarray:
    if amount_of is None:
        return np.full(len(ids), np.nan)
    return amount_of.reindex(pd.Index(ids, dtype=object)).to_numpy(dtype=float)


def _deals_without_history(
    deal_table: Deals,
    hist: History,
    day: pd.Timestamp,
    open_code: np.ndarray,
    open_ids: np.ndarray,
    notes: list[str],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Deals of the deals table with no history row at all: open ones (created by the day) at
    their current stage; won ones closed by then (for the average won deal). A deal whose first
    history row is after the day did not exist yet."""
    frame = deal_table.frame
    k = deal_table.stages.k
    cut = day + _DAY
    alone = ~frame["deal_id"].isin(pd.Index(hist.frame["deal_id"].to_numpy())).to_numpy()
    created = (
        ~(frame["created_date"] >= cut).to_numpy()
        if "created_date" in frame
        else np.ones(len(frame), bool)
    )
    code = frame["code"].to_numpy()
    extra_open = alone & created & (code < k)
    closed_on = frame["closed_date"].fillna(frame["close_date"]) if "closed_date" in frame else None
    closed_by = np.ones(len(frame), bool) if closed_on is None else ~(closed_on >= cut).to_numpy()
    extra_won = alone & created & (code == k) & closed_by
    if extra_open.any():
        notes.append(
            _(
                "{count} open deal(s) of the deals table have no history row: counted at their "
                "current stage"
            ).format(count=int(extra_open.sum()))
        )
    return (
        np.concatenate([open_code, code[extra_open]]).astype(np.int64),
        np.concatenate([open_ids, frame["deal_id"].to_numpy()[extra_open]]),
        frame["deal_id"].to_numpy()[extra_won],
    )


# ---- words -----------------------------------------------------------------------------------
def _n(x: float) -> str:
    """A count of deals in words: whole from 10 up, else one decimal at most (``2.5``, ``3``)."""
    if abs(x) >= 10:
        return format_number(x, 0)
    return _sig(x, ".1f").rstrip("0").rstrip(symbols()[1])


def _advice(stages: list[str], status: np.ndarray, gap: np.ndarray) -> list[str]:
    """One line per stage: what to do, in the methods' words (prospect at the top; move and
    close further down)."""
    out = []
    for s, name in enumerate(stages):
        st = status[s]
        below_thin = [stages[j] for j in range(s + 1, len(stages)) if status[j] == "thin"]
        above_bloated = [stages[j] for j in range(s) if status[j] == "bloated"]
        above_thin = [stages[j] for j in range(s) if status[j] == "thin"]
        if st == "unknown":
            out.append(_("not enough history to say what this stage should hold"))
        elif s == 0 and st == "thin":
            out.append(
                _(
                    "prospect more: book meetings and add leads (about {count} more deals at "
                    "{stage})"
                ).format(count=_n(-gap[s]), stage=name)
            )
        elif s == 0 and st == "bloated":
            if below_thin:
                out.append(
                    _(
                        "stop cold calling for now and work the deals you have: move them on to "
                        "{stages}"
                    ).format(stages=", ".join(below_thin))
                )
            else:
                out.append(
                    _(
                        "more than a steady flow needs: prospect less for now, qualify these "
                        "deals and move them on"
                    )
                )
        elif st == "thin":
            if above_bloated:
                src = above_bloated[-1]
                out.append(
                    _(
                        "move and close deals further down: move deals on toward {stage} from "
                        "{source}, which holds more than needed (about {count} short)"
                    ).format(stage=name, source=src, count=_n(-gap[s]))
                )
            elif above_thin:
                out.append(
                    _(
                        "move and close deals further down, and prospect more: the shortfall "
                        "starts upstream at {upstream} (about {count} short here)"
                    ).format(upstream=above_thin[0], count=_n(-gap[s]))
                )
            else:
                out.append(
                    _(
                        "move and close deals further down: move deals on from {previous} to "
                        "{stage} (about {count} short)"
                    ).format(previous=stages[s - 1], stage=name, count=_n(-gap[s]))
                )
        elif st == "bloated":
            out.append(
                _(
                    "close or clean: close the deals at {stage} that are ready and clean out "
                    "stale ones (about {count} more than needed)"
                ).format(stage=name, count=_n(gap[s]))
            )
        else:
            out.append(_("steady: keep the pace"))
    return out


def _summary(result: BalanceResult) -> list[str]:
    """What to do, for the whole pipeline."""
    t = result.table
    stages = t["stage"].tolist()
    status = t["status"].to_numpy()
    out = []
    if not len(stages):
        return out
    top = stages[0]
    lower_thin = [s for s, st in zip(stages[1:], status[1:], strict=True) if st == "thin"]
    if status[0] == "thin":
        out.append(
            _(
                "Thin at the top ({stage}: {open} open, {needed} needed): prospect now — book "
                "meetings, add leads."
            ).format(
                stage=top,
                open=format_number(t["open"].iloc[0], 0),
                needed=format_number(t["needed"].iloc[0], 1),
            )
        )
    elif status[0] == "bloated" and lower_thin:
        out.append(
            _(
                "Bloated at the top ({stage}) and thin further down ({stages}): stop cold "
                "calling for now and work the deals you have — move them on and close them."
            ).format(stage=top, stages=", ".join(lower_thin))
        )
    elif status[0] == "bloated":
        out.append(
            _(
                "More at the top ({stage}) than a steady flow needs: prospect less for now, "
                "qualify these deals and move them on."
            ).format(stage=top)
        )
    if lower_thin and status[0] != "bloated":
        out.append(
            _("Thin further down ({stages}): move and close deals further down.").format(
                stages=", ".join(lower_thin)
            )
        )
    bloated_low = [s for s, st in zip(stages[1:], status[1:], strict=True) if st == "bloated"]
    if bloated_low:
        out.append(
            _("Bloated at {stages}: close the ready deals and clean out stale ones.").format(
                stages=", ".join(bloated_low)
            )
        )
    for row in t[t["status"] == "thin"].itertuples():
        if pd.isna(row.starves_won_week):
            continue
        late = row.starves_won_date > result.period_end
        text = (
            _(
                "{stage} is {short} deals short: about {fewer} fewer won deals ({revenue}) from "
                "the week of {week} (after the period ends)."
            )
            if late
            else _(
                "{stage} is {short} deals short: about {fewer} fewer won deals ({revenue}) from "
                "the week of {week}."
            )
        )
        out.append(
            text.format(
                stage=row.stage,
                short=_n(-row.gap),
                fewer=_n(row.shortfall_won),
                revenue=_money(row.shortfall_revenue, result.currency),
                week=row.starves_won_week.date(),
            )
        )
    if (status == "balanced").all():
        out.append(
            _("Every stage holds what a steady flow at the target's pace needs (within its noise).")
        )
    return out


def _model_notes(
    table: pd.DataFrame,
    flow: dict[str, Any],
    closed_n: np.ndarray,
    stages: StageList,
    z: float,
    end: pd.Timestamp,
    day: pd.Timestamp,
) -> list[str]:
    notes = [
        _(
            "steady state assumed: needed = deals reaching the stage per day × days in it "
            "(Little's law); noise = √needed (Poisson); thin / bloated beyond {z} × noise"
        ).format(z=_sig(z, "g")),
    ]
    p = table["win_probability"].to_numpy()
    few = []
    for s, name in enumerate(stages.open):
        if 0 < closed_n[s] < 20 and np.isfinite(p[s]):
            few.append(f"{name} ({int(closed_n[s])})")
        if np.isnan(p[s]):
            notes.append(
                _("{stage}: no closed deal reached it by {day}: needed unknown").format(
                    stage=name, day=day.date()
                )
            )
        elif p[s] == 0:
            notes.append(
                _("{stage}: no deal that reached it was won: needed unknown").format(stage=name)
            )
        elif np.isnan(flow["mean_days"][s]):
            notes.append(
                _("{stage}: no deal has left it by {day}: days in stage unknown").format(
                    stage=name, day=day.date()
                )
            )
    if few:
        notes.append(
            _(
                "few closed deals behind the win probability (its error is not in the noise): "
                "{stages}"
            ).format(stages=", ".join(few))
        )
    if ((table["visits_per_deal"] > 1) & table["needed"].notna()).any():
        notes.append(
            _(
                "deals come back to some stages: days in stage = mean days per visit × visits "
                "per deal"
            )
        )
    if (table["status"] == "thin").any() and (table["starves_won_date"] > end).any():
        notes.append(
            _("some shortfalls reach Won after the period ends ({end})").format(end=end.date())
        )
    return notes
