"""Planning: the reverse funnel, the quota gap, pipeline coverage and sales velocity.

**Reverse funnel.** From a revenue target T and an average won deal A:

    won deals needed     n_won = ⌈T / A⌉
    deals needed at s    n_s   = ⌈n_won / Π_{j ≥ s} c_j⌉

where c_j is the step conversion from stage j to the next stage (the last stage's next is Won).
Leads are the deals needed at the first stage. Counts are rounded up (you cannot close 0.4 of a
deal); the rounding is done on the product of the conversions, not stage by stage, so it never
compounds. Quotients are rounded to 9 decimals before ⌈⌉ so that 40 / 0.1 is 400, not 401.

**By when.** With the days a deal spends in each stage, a deal needed at stage s must be there by
deadline − Σ_{j ≥ s} days_j. The days are given, or learned from the stage history
(:func:`days_in_stage_from_history`): per stage, the *median* days of the completed visits to it by
deals that were later won (the path the needed deals must take; the median, because a few deals
parked for months would drag a mean far from the typical visit). A stage no won deal has left yet
takes the median of every completed visit to it; a stage nobody has left has no estimate (an error
naming it: give its days).

**Quota gap.** gap = quota − closed so far − expected from open deals (weighted). The part that must
come from new pipeline is max(gap, 0); it needs ⌈gap / A⌉ new won deals and
⌈new won deals / lead-to-win rate⌉ new leads, paced per week over the selling time left:
weeks = (period end − as-of − average cycle length) / 7. The cycle length is given, or the mean
days from created to won over the deals table's won deals, or — when the deals carry no created
date — the mean cycle of the won deals in the stage history
(:func:`pipesheet.diagnostics.cycle_time`); the explanation says which.

**Coverage ratio** = open pipeline in the period ÷ (quota − closed so far).

**Sales velocity** (per day) = open opportunities × win rate × average won deal ÷ average cycle
length in days.

The explanations and errors are written in the language spoken (:mod:`pipesheet.i18n`), their
numbers in its format (:mod:`pipesheet.formats`); the numbers themselves never change with it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.base import DEPRECATED, Result, renamed
from pipesheet.cells import parse_probabilities
from pipesheet.errors import PipesheetError
from pipesheet.formats import format_money, format_number, symbols
from pipesheet.i18n import _, current_language
from pipesheet.periods import read_date_setting
from pipesheet.probabilities import StageProbabilities
from pipesheet.tables import parse_stage_values

__all__ = [
    "LeadPlan",
    "QuotaGap",
    "coverage_ratio",
    "days_in_stage_from_history",
    "lead_to_win_rate",
    "leads_needed",
    "quota_gap",
    "sales_velocity",
]


#: Largest count of deals or leads computed: above 2⁵³ a float no longer holds every whole number.
MAX_COUNT = 2**53


def _too_many(what: str) -> tuple[str, str]:
    """The problem and the expected text of a count too large to compute, one sentence each
    (translated whole: the words around the count differ between languages)."""
    texts = {
        "won deals": (
            _("the won deals needed are too many to count ({x})"),
            _(
                "inputs of a realistic scale (at most {max} won deals); check that the amounts "
                "and rates are in the same units"
            ),
        ),
        "new won deals": (
            _("the new won deals needed are too many to count ({x})"),
            _(
                "inputs of a realistic scale (at most {max} new won deals); check that the "
                "amounts and rates are in the same units"
            ),
        ),
        "new leads": (
            _("the new leads needed are too many to count ({x})"),
            _(
                "inputs of a realistic scale (at most {max} new leads); check that the amounts "
                "and rates are in the same units"
            ),
        ),
    }
    return texts.get(
        what,
        (
            _("the deals needed are too many to count ({x})"),
            _(
                "inputs of a realistic scale (at most {max} deals); check that the amounts and "
                "rates are in the same units"
            ),
        ),
    )


def _ceil(x: float, what: str = "deals", inputs: str = "the inputs") -> int:
    """⌈x⌉ of a count, after rounding to 9 decimals.

    Raises:
        PipesheetError: x is not finite or above :data:`MAX_COUNT` (the inputs are out of any
            realistic scale, e.g. a target of 1e308 and an average deal of 1e-308).
    """
    if not math.isfinite(x) or x > MAX_COUNT:
        problem, expected = _too_many(what)
        raise PipesheetError(
            problem.format(x=_sig(x, ".3g")),
            table="settings",
            column=inputs,
            expected=expected.format(max=format_number(MAX_COUNT, 0)),
        )
    return math.ceil(round(x, 9))


def _finite(x: float, what: str, inputs: str) -> float:
    """``x`` when finite; else a clear error (an overflow of the planning arithmetic)."""
    if not math.isfinite(x):
        problems = {
            "quota gap": _("the quota gap is too large to compute"),
            "coverage ratio": _("the coverage ratio is too large to compute"),
            "sales velocity": _("the sales velocity is too large to compute"),
        }
        raise PipesheetError(
            problems[what],
            table="settings",
            column=inputs,
            expected=_("inputs of a realistic scale (their product or quotient overflows)"),
        )
    return x


def _number(value: Any, name: str, *, positive: bool = False, allow_zero: bool = True) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        x = math.nan
    if not math.isfinite(x) or x < 0 or (positive and x == 0) or (not allow_zero and x == 0):
        want = _("a number above 0") if positive or not allow_zero else _("a number ≥ 0")
        raise PipesheetError(
            _("{name} is not valid").format(name=name.replace("_", " ")),
            table="settings",
            column=name,
            value=value,
            expected=want,
        )
    return x


def _rate(value: Any, name: str) -> float:
    """One rate setting, read as a probability (:func:`pipesheet.cells.parse_probabilities`):
    ``0.25``, ``25`` or ``25%``; above 100% is refused."""
    if isinstance(value, (list, tuple, dict, set)) or value is None:
        raise PipesheetError(
            _("{name} is not valid").format(name=name.replace("_", " ")),
            table="settings",
            column=name,
            value=value,
            expected=_("a rate between 0 and 1 (or 0% and 100%)"),
        )
    x = float(
        parse_probabilities(pd.Series([value], dtype=object), table="settings", column=name)[0]
    )
    if math.isnan(x):
        raise PipesheetError(
            _("{name} is blank").format(name=name.replace("_", " ")),
            table="settings",
            column=name,
            expected=_("a rate between 0 and 1 (or 0% and 100%)"),
        )
    if x == 0:
        raise PipesheetError(
            _("{name} is zero: no number of deals reaches the target through it").format(
                name=name.replace("_", " ")
            ),
            table="settings",
            column=name,
            value=value,
            expected=_("a rate above 0"),
        )
    return x


def _fmt(x: float, currency: str | None = None) -> str:
    """An amount as the explanation writes it: whole, or with two decimals; in the language's
    format (:mod:`pipesheet.formats`). With a currency: ``1,000,000 EUR`` in English (as it has
    always been written), the language's own form elsewhere (``1.000.000 €``)."""
    decimals = 0 if float(x).is_integer() else 2
    if currency and current_language() != "en":
        return format_money(x, currency, decimals)
    text = format_number(x, decimals)
    return f"{text} {currency}" if currency else text


def _sig(x: float, spec: str) -> str:
    """``format(x, spec)`` for a spec without grouping (``.4g``, ``g``, ``.1f``) with the
    language's decimal separator (English: exactly what ``format`` writes)."""
    return format(x, spec).replace(".", symbols()[1])


def _pct(x: float) -> str:
    return _sig(x * 100, ".4g") + "%"


@dataclass(repr=False)
class LeadPlan(Result):
    """The reverse funnel for a target.

    Attributes:
        target: Revenue target.
        average_deal: Average won deal used.
        won_needed: ⌈target / average deal⌉.
        table: One row per open stage, first to last, then Won: ``stage``,
            ``conversion_to_next``, ``conversion_to_won``, ``deals_needed`` and, with a deadline,
            ``enter_by`` and ``days_in_stage``.
        explanation: The arithmetic in plain words, one sentence per step.
        currency: Currency of the target and the average deal, when known.
        notes: What the user should know.
    """

    target: float
    average_deal: float
    won_needed: int
    table: pd.DataFrame
    explanation: list[str] = field(default_factory=list)
    currency: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """The plan: one row per stage, then Won (see :attr:`table`)."""
        return self.table.copy()

    def _figures(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "average_deal": self.average_deal,
            "won_needed": self.won_needed,
            "leads": self.leads,
            "currency": self.currency,
        }

    @property
    def leads(self) -> int:
        """Deals needed at the first stage (leads)."""
        return int(self.table["deals_needed"].iloc[0])


def _one_funnel(names: list[str]) -> None:
    """A reverse funnel follows one pipeline's stages: refuse conversions of several."""
    raise PipesheetError(
        _(
            "the conversions are of {count} pipelines ({names}), each with its own stages: a "
            "reverse funnel follows one pipeline's"
        ).format(count=len(names), names=", ".join(map(repr, names))),
        table="conversions",
        column="pipeline",
        expected=_(
            "the conversions of one pipeline (on the command line: --pipeline NAME; in "
            "Python: model.pipelines_[NAME])"
        ),
    )


def _conversions(conversions: Any) -> list[tuple[str, float]]:
    if isinstance(conversions, StageProbabilities):
        models = getattr(conversions, "pipelines_", None)
        if models:
            _one_funnel(list(models))
        t = conversions.overall_
        pairs = list(zip(t["stage"], t["step_conversion"], strict=True))
    elif isinstance(conversions, pd.DataFrame):
        from pipesheet.columns import resolve_columns
        from pipesheet.tables import check_table

        raw = check_table(conversions, "conversions")
        from pipesheet.columns import DEAL_FIELDS

        pipe = resolve_columns(
            raw, {"pipeline": DEAL_FIELDS["pipeline"]}, (), table_name="conversions"
        )
        if "pipeline" in pipe and raw[pipe["pipeline"]].nunique() > 1:
            _one_funnel([str(n) for n in pd.unique(raw[pipe["pipeline"]].dropna())])
        cols = resolve_columns(
            raw,
            {
                "stage": ("stage", "from", "from_stage"),
                "conversion": (
                    "step_conversion",
                    "conversion",
                    "rate",
                    "conversion_rate",
                    "conversion_to_next",
                ),
            },
            ("stage", "conversion"),
            table_name="conversions",
        )
        pairs = list(zip(raw[cols["stage"]].astype(str), raw[cols["conversion"]], strict=True))
    elif isinstance(conversions, Mapping):
        pairs = list(conversions.items())
    elif isinstance(conversions, Sequence):
        pairs = [tuple(x) for x in conversions]
    else:
        raise PipesheetError(
            _("conversions must be a table of stage and conversion rate"),
            table="conversions",
            value=type(conversions).__name__,
            expected=_("stage → conversion to the next stage, last stage → Won"),
        )
    if not pairs:
        raise PipesheetError(
            _("no stages in the conversions"),
            table="conversions",
            expected=_("at least one stage with its conversion rate"),
        )
    for i, (stage, c) in enumerate(pairs):
        if c is None or (isinstance(c, float) and math.isnan(c)):
            raise PipesheetError(
                _("conversion rate of stage {stage!r} is unknown").format(stage=stage),
                table="conversions",
                rows=[i + 2],
                value=stage,
                expected=_(
                    "a rate between 0 and 1 (learn it from more closed deals or type it in)"
                ),
            )
    out = parse_stage_values(pairs, table="conversions", column="conversion")
    for i, (stage, rate) in enumerate(out):
        if rate == 0:
            raise PipesheetError(
                _(
                    "conversion is zero for stage {stage!r}: no number of deals reaches the "
                    "target through it"
                ).format(stage=stage),
                table="conversions",
                column="conversion",
                rows=[i + 2],
                value=pairs[i][1],
                expected=_("a rate above 0"),
            )
    return out


def leads_needed(
    target: float,
    average_deal: float,
    conversions: Mapping[str, float]
    | Sequence[tuple[str, float]]
    | pd.DataFrame
    | StageProbabilities,
    *,
    deadline: Any = None,
    days_in_stage: Mapping[str, float] | pd.DataFrame | None = None,
    won_label: str = "Won",
    currency: str | None = None,
) -> LeadPlan:
    """The reverse funnel: how many won deals, and deals at each stage, a target needs.

    Args:
        target: Revenue target (≥ 0).
        average_deal: Average won deal (> 0), e.g. the mean amount of won deals.
        conversions: Step conversion of each open stage to the next, in funnel order (the last
            one is the rate to Won): a mapping, a list of pairs, a table with stage and
            conversion columns, or learned :class:`StageProbabilities` (its ``step_conversion``).
            Rates may be 0–1 or percentages.
        deadline: Date the target must be closed by; with ``days_in_stage`` adds ``enter_by``.
        days_in_stage: Days a deal spends in each stage: a mapping, or a table with a stage
            column and a days column (``days_in_stage``, ``days``, ``median_days`` — e.g.
            :func:`days_in_stage_from_history`, whose ``attrs["source"]`` the explanation quotes).
        won_label: Label of the final row.
        currency: Currency of the target and average deal, shown in the explanation.

    Example (the glossary's worked example)::

        leads_needed(1_000_000, 25_000, {"Lead": .5, "Qualified": .4, "Proposal": .25})
        # 40 won; 160 at Proposal, 400 at Qualified, 800 leads
    """
    target = _number(target, "target")
    average_deal = _number(average_deal, "average_deal", positive=True)
    pairs = _conversions(conversions)
    won_needed = _ceil(target / average_deal, "won deals", "target, average_deal")
    stages = [s for s, _ in pairs]
    rates = np.array([c for _, c in pairs], dtype=float)
    to_won = np.cumprod(rates[::-1])[::-1]
    needed = [_ceil(won_needed / r, "deals", "target, conversions") for r in to_won]
    table = pd.DataFrame(
        {
            "stage": [*stages, won_label],
            "conversion_to_next": [*rates, np.nan],
            "conversion_to_won": [*to_won, 1.0],
            "deals_needed": [*needed, won_needed],
        }
    )
    explanation = [
        _(
            "Target {target} ÷ average deal {average_deal} = {quotient} → {won} won deals "
            "(rounded up)."
        ).format(
            target=_fmt(target, currency),
            average_deal=_fmt(average_deal, currency),
            quotient=_fmt(target / average_deal),
            won=format_number(won_needed, 0),
        )
    ]
    later = won_label
    for i in range(len(stages) - 1, -1, -1):
        if i == len(stages) - 1:
            explanation.append(
                _(
                    "To close {won} deals at a {rate} win rate from {stage} you need {needed} "
                    "deals at {stage}."
                ).format(
                    won=format_number(won_needed, 0),
                    rate=_pct(rates[i]),
                    stage=stages[i],
                    needed=format_number(needed[i], 0),
                )
            )
        else:
            explanation.append(
                _(
                    "To get {next} to {later} at {rate} conversion from {stage} you need "
                    "{needed} at {stage} ({won} ÷ {overall} overall, rounded up)."
                ).format(
                    next=format_number(needed[i + 1], 0),
                    later=later,
                    rate=_pct(rates[i]),
                    stage=stages[i],
                    needed=format_number(needed[i], 0),
                    won=format_number(won_needed, 0),
                    overall=_pct(to_won[i]),
                )
            )
        later = stages[i]
    if deadline is not None:
        due = read_date_setting(deadline, "deadline", required=True)
        days, source = read_days_in_stage(days_in_stage)
        missing = [s for s in stages if s not in days]
        if missing:
            problem = (
                _("days in stage missing for stage {stage!r} ({source})")
                if source
                else _("days in stage missing for stage {stage!r}")
            )
            raise PipesheetError(
                problem.format(stage=missing[0], source=source),
                table="settings",
                column="days_in_stage",
                value=missing[0],
                expected=_(
                    "days a deal spends in each stage: {stages} (e.g. --days-in-stage "
                    "{example},…, or a stage history to learn them from)"
                ).format(
                    stages=", ".join(stages),
                    example=",".join(f"{s}=14" for s in stages[:2]),
                ),
            )
        d = np.array([_number(days[s], "days_in_stage") for s in stages])
        remaining = np.cumsum(d[::-1])[::-1]
        due_ts = pd.Timestamp(due)
        table["enter_by"] = [
            *(due_ts - pd.to_timedelta(remaining, unit="D")).normalize(),
            due_ts.normalize(),
        ]
        table["days_in_stage"] = [*d, np.nan]
        explanation.append(
            _(
                "To close by {deadline}, the {needed} {stage} deals must be in by {enter_by} "
                "({days} days of cycle)."
            ).format(
                deadline=due_ts.date(),
                needed=format_number(needed[0], 0),
                stage=stages[0],
                enter_by=table["enter_by"].iloc[0].date(),
                days=_sig(remaining[0], "g"),
            )
        )
        if source:
            explanation.append(_("Days in stage: {source}.").format(source=source))
    return LeadPlan(target, average_deal, won_needed, table, explanation, currency)


def read_days_in_stage(value: Any) -> tuple[dict[str, Any], str]:
    """Days in stage as {stage: days}, and where they came from (a table's ``attrs["source"]``)."""
    if value is None:
        return {}, ""
    if isinstance(value, pd.DataFrame):
        from pipesheet.columns import resolve_columns
        from pipesheet.tables import check_table

        raw = check_table(value, "days_in_stage")
        cols = resolve_columns(
            raw,
            {
                "stage": ("stage", "stage_name"),
                "days": ("days_in_stage", "days", "median_days", "average_days", "mean_days"),
            },
            ("stage", "days"),
            table_name="days_in_stage",
        )
        days = {
            " ".join(str(k).split()): v
            for k, v in zip(raw[cols["stage"]], raw[cols["days"]], strict=True)
            if not (isinstance(v, float) and math.isnan(v))
        }
        return days, str(value.attrs.get("source", ""))
    return dict(value), ""


def days_in_stage_from_history(
    history: Any,
    *,
    as_of: Any = None,
    stages: Any = None,
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Days a deal spends in each open stage, learned from the stage history.

    Per stage: the median days of the completed visits to it (entered, then left by as_of) by
    deals won by as_of; a stage without such visits takes the median of all its completed
    visits (said in ``source``); a stage nobody has left stays blank (NaN), and
    :func:`leads_needed` then names it.

    Returns:
        ``stage``, ``days_in_stage``, ``visits`` (visits the median is over), ``basis`` ("won
        deals", "all deals" or ""); ``attrs["source"]`` says how the days were learned.
    """
    from pipesheet.diagnostics import stage_durations

    won = stage_durations(history, outcome="won", as_of=as_of, stages=stages, columns=columns)
    every = stage_durations(history, outcome=None, as_of=as_of, stages=stages, columns=columns)
    use_won = won["visits"].to_numpy() > 0
    out = pd.DataFrame(
        {
            "stage": won["stage"],
            "days_in_stage": np.where(use_won, won["median_days"], every["median_days"]),
            "visits": np.where(use_won, won["visits"], every["visits"]).astype(int),
            "basis": np.where(use_won, "won deals", np.where(every["visits"] > 0, "all deals", "")),
        }
    )
    fallback = out.loc[out["basis"] == "all deals", "stage"].tolist()
    if fallback:
        source = _(
            "median days of the completed visits to each stage by won deals in the history "
            "({stages}: no won deal has left it yet, so all deals')"
        ).format(stages=", ".join(fallback))
    else:
        source = _("median days of the completed visits to each stage by won deals in the history")
    out.attrs["source"] = source
    return out


@dataclass(repr=False)
class QuotaGap(Result):
    """Where a quota stands and what must come from new pipeline.

    Attributes:
        quota, closed, expected_open: The inputs.
        gap: quota − closed − expected_open (negative when the weighted pipeline covers it).
        new_revenue_needed: max(gap, 0).
        new_won_deals: ⌈new revenue needed / average deal⌉.
        new_leads: ⌈new won deals / lead-to-win rate⌉.
        selling_weeks: Weeks left to create those leads (period end − as-of − cycle) / 7, or
            NaN.
        leads_per_week: new leads ÷ selling weeks (inf when no selling time is left).
        coverage: Open pipeline ÷ (quota − closed), when the open pipeline is given.
        explanation: The arithmetic in plain words.
        notes: What the user should know.
    """

    quota: float
    closed: float
    expected_open: float
    gap: float
    new_revenue_needed: float
    average_deal: float
    lead_to_win_rate: float
    new_won_deals: int
    new_leads: int
    selling_weeks: float
    leads_per_week: float
    coverage: float
    explanation: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def _figures(self) -> dict[str, Any]:
        return {
            "quota": self.quota,
            "closed": self.closed,
            "expected_open": self.expected_open,
            "gap": self.gap,
            "new_leads": self.new_leads,
            "leads_per_week": self.leads_per_week,
        }

    def to_frame(self) -> pd.DataFrame:
        """Two columns, ``measure`` and ``value``."""
        names = [
            "quota",
            "closed",
            "expected_open",
            "gap",
            "new_revenue_needed",
            "average_deal",
            "lead_to_win_rate",
            "new_won_deals",
            "new_leads",
            "selling_weeks",
            "leads_per_week",
            "coverage",
        ]
        return pd.DataFrame({"measure": names, "value": [float(getattr(self, n)) for n in names]})


def quota_gap(
    quota: float,
    closed: float = 0.0,
    expected_open: float = 0.0,
    *,
    average_deal: float,
    lead_to_win_rate: float,
    open_pipeline: float | None = None,
    as_of: Any = None,
    period_end: Any = None,
    cycle_days: float = 0.0,
    cycle_source: str | None = None,
    currency: str | None = None,
    today: Any = DEPRECATED,
) -> QuotaGap:
    """Quota − closed so far − expected from open deals, turned into new leads per week.

    Args:
        quota: The period's quota.
        closed: Revenue already won in the period.
        expected_open: Weighted value of open deals expected to close in the period.
        average_deal: Average won deal.
        lead_to_win_rate: Share of new leads that end up won (0–1 or a percentage).
        open_pipeline: Unweighted open pipeline in the period (for the coverage ratio).
        as_of, period_end: The days bounding the time left (as-of: the whole day, as
            everywhere); with ``cycle_days`` they give leads per week.  ``today=`` is the old
            name of ``as_of`` (accepted with a DeprecationWarning for one release).
        cycle_days: Average days from lead to won.
        cycle_source: Where ``cycle_days`` came from, quoted in the explanation (e.g. "mean of
            112 won deals in the stage history").
        currency: Currency of the money figures, shown in the explanation.
    """
    as_of = renamed("today", "as_of", today, as_of, None)
    quota = _number(quota, "quota")
    closed = _number(closed, "closed")
    expected_open = _number(expected_open, "expected_open")
    average_deal = _number(average_deal, "average_deal", positive=True)
    rate = _rate(lead_to_win_rate, "lead_to_win_rate")
    cycle_days = _number(cycle_days, "cycle_days")
    gap = _finite(quota - closed - expected_open, "quota gap", "closed, expected_open")
    new_revenue = max(gap, 0.0)
    new_won = _ceil(new_revenue / average_deal, "new won deals", "quota, average_deal")
    new_leads = _ceil(new_won / rate, "new leads", "quota, lead_to_win_rate")
    weeks = math.nan
    per_week = math.nan
    explanation = [
        _(
            "Quota {quota} − closed {closed} − expected from open deals {expected} = gap {gap}."
        ).format(
            quota=_fmt(quota, currency),
            closed=_fmt(closed),
            expected=_fmt(expected_open),
            gap=_fmt(gap, currency),
        )
    ]
    if gap <= 0:
        explanation.append(
            _(
                "The weighted open pipeline covers the quota: no new pipeline is needed on "
                "expectation."
            )
        )
    else:
        explanation.append(
            _(
                "{revenue} ÷ average deal {average_deal} → {won} new won deals; ÷ lead-to-win "
                "rate {rate} → {leads} new leads (rounded up)."
            ).format(
                revenue=_fmt(new_revenue),
                average_deal=_fmt(average_deal),
                won=format_number(new_won, 0),
                rate=_pct(rate),
                leads=format_number(new_leads, 0),
            )
        )
    start, end = read_date_setting(as_of, "as_of"), read_date_setting(period_end, "period_end")
    if start is not None and end is not None:
        days_left = (pd.Timestamp(end) - pd.Timestamp(start)).days - cycle_days
        weeks = days_left / 7.0
        if new_leads == 0:
            per_week = 0.0
        elif weeks <= 0:
            per_week = math.inf
            explanation.append(
                _(
                    "Only {days} days are left and the average cycle is {cycle} days: new leads "
                    "can no longer close in this period."
                ).format(
                    days=(pd.Timestamp(end) - pd.Timestamp(start)).days,
                    cycle=_sig(cycle_days, ".0f"),
                )
            )
        else:
            per_week = new_leads / weeks
            explanation.append(
                _(
                    "{leads} leads over {weeks} selling weeks (time left minus the {cycle}-day "
                    "cycle) = {per_week} new leads per week."
                ).format(
                    leads=format_number(new_leads, 0),
                    weeks=_sig(weeks, ".1f"),
                    cycle=_sig(cycle_days, ".0f"),
                    per_week=_sig(per_week, ".1f"),
                )
            )
        if cycle_source:
            explanation.append(
                _("Cycle length {cycle} days: {source}.").format(
                    cycle=_sig(cycle_days, ".1f"), source=cycle_source
                )
            )
    coverage = math.nan
    if open_pipeline is not None:
        coverage = coverage_ratio(open_pipeline, quota, closed)
        explanation.append(
            _(
                "Coverage: open pipeline {open_pipeline} ÷ remaining quota {remaining} = "
                "{coverage}×."
            ).format(
                open_pipeline=_fmt(_number(open_pipeline, "open_pipeline")),
                remaining=_fmt(quota - closed),
                coverage=_sig(coverage, ".2f"),
            )
        )
    return QuotaGap(
        quota,
        closed,
        expected_open,
        gap,
        new_revenue,
        average_deal,
        rate,
        new_won,
        new_leads,
        weeks,
        per_week,
        coverage,
        explanation,
    )


def lead_to_win_rate(probabilities: Any, stages: Any = None) -> float:
    """The share of new leads that end up won: the win probability ``probabilities`` gives a
    deal at the first open stage (a new lead is an open deal there), NaN when unknown.

    ``probabilities``: learned :class:`StageProbabilities` (its first stage's p), a stage →
    probability table, mapping or preset (the value of the first open stage of ``stages``, or of
    the table's first row without ``stages``); ``"configured"`` (each deal's own number) gives
    NaN — a lead has none.
    """
    if isinstance(probabilities, StageProbabilities):
        return float(probabilities.overall_["win_probability"].iloc[0])
    if isinstance(probabilities, str) and probabilities.strip().casefold() == "configured":
        return math.nan
    from pipesheet.presets import probability_table

    table = probability_table(probabilities)
    if stages is None:
        return float(table["probability"].iloc[0])
    first = stages.codes(table["stage"]) == 0
    return float(table["probability"].to_numpy()[first][0]) if first.any() else math.nan


def coverage_ratio(open_pipeline: float, quota: float, closed: float = 0.0) -> float:
    """Open pipeline ÷ (quota − closed so far); ``inf`` when the quota is already met."""
    open_pipeline = _number(open_pipeline, "open_pipeline")
    remaining = _number(quota, "quota") - _number(closed, "closed")
    if remaining <= 0:
        return math.inf
    return _finite(open_pipeline / remaining, "coverage ratio", "open_pipeline, quota")


def sales_velocity(
    open_opportunities: float, win_rate: float, average_won_deal: float, cycle_days: float
) -> float:
    """Revenue per day: opportunities × win rate × average won deal ÷ cycle length (days)."""
    n = _number(open_opportunities, "open_opportunities")
    rate = _number(win_rate, "win_rate")
    if rate > 1:
        rate = _rate(win_rate, "win_rate")
    deal = _number(average_won_deal, "average_won_deal")
    days = _number(cycle_days, "cycle_days", positive=True)
    return _finite(n * rate * deal / days, "sales velocity", "open_opportunities, average_won_deal")
