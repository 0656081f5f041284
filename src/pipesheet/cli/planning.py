"""``pipesheet leads`` (the reverse funnel for a target) and ``pipesheet quota-gap`` (alias
``gap``: what must come from new pipeline — for one quota, or for every row of a quota table,
rolled up a team hierarchy)."""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipesheet.base import note_is
from pipesheet.cli.inputs import (
    column_mapping,
    conversions_arg,
    days_arg,
    fit_probabilities,
    forecast_probabilities,
    given_stages,
    history_stages,
    load_files,
    only_fields,
    rates_file,
)
from pipesheet.cli.options import (
    add_file_options,
    add_forecast_options,
    add_money_options,
    fiscal_year_start_option,
)
from pipesheet.cli.output import emit
from pipesheet.columns import DEAL_FIELDS, HISTORY_FIELDS
from pipesheet.errors import PipesheetError
from pipesheet.formats import format_number
from pipesheet.i18n import _


def add_parsers(sub: Any) -> None:
    """Add ``leads`` and ``quota-gap`` to the ``pipesheet`` subparsers."""
    p = sub.add_parser("leads", help=_("reverse funnel: deals and leads needed for a target"))
    add_file_options(p, files="*")
    p.add_argument("--target", type=float, required=True, help=_("revenue target to reach"))
    p.add_argument(
        "--average-deal",
        type=float,
        help=_("average won deal (default: the mean of the deals file's won deals)"),
    )
    p.add_argument("--conversions", help=_("Stage=rate,... in funnel order, last stage to Won"))
    p.add_argument("--deadline", help=_("date the target must be closed by"))
    p.add_argument(
        "--days-in-stage",
        metavar="STAGE=DAYS,…",
        help=_(
            "days a deal spends in each stage, for --deadline (default: learned from the "
            "history: median days of won deals' visits)"
        ),
    )
    add_money_options(p)
    p.set_defaults(func=cmd_leads, method="cohort")

    p = sub.add_parser(
        "quota-gap", aliases=["gap"], help=_("quota gap: what must come from new pipeline")
    )
    add_file_options(p, files="*")
    add_forecast_options(p)
    p.add_argument(
        "--quota",
        required=True,
        metavar="Q|FILE",
        help=_(
            "the period's quota, or a quota table file (CSV/XLSX: a group column such as Owner "
            "— see --by —, a Period label such as 2026-Q3 or Start/End dates, and the Quota): one "
            "row per group and period, with closed, expected, gap, coverage, P(≥ quota) and leads "
            "per week"
        ),
    )
    p.add_argument(
        "--hierarchy",
        metavar="FILE",
        help=_(
            "with a quota table: levels finest first (e.g. Owner,Team,Region), one row per "
            "owner; each level above the quotas' is rolled up by exact sums"
        ),
    )
    p.add_argument(
        "--closed", type=float, help=_("revenue already won in the period (default: from deals)")
    )
    p.add_argument(
        "--expected-open",
        type=float,
        help=_("weighted value of open deals closing in the period (default: from deals)"),
    )
    p.add_argument(
        "--open-pipeline",
        type=float,
        help=_("unweighted open pipeline in the period, for coverage (default: from deals)"),
    )
    p.add_argument(
        "--average-deal", type=float, help=_("average won deal (default: from the won deals)")
    )
    p.add_argument("--lead-to-win", type=float, help=_("share of leads that end up won"))
    p.add_argument(
        "--cycle-days",
        type=float,
        help=_("average days from lead to won (default: from the deals' created and closed dates)"),
    )
    p.add_argument("--period-start", metavar="DATE", help=_("first day of the quota period"))
    p.add_argument("--period-end", metavar="DATE", help=_("last day of the quota period"))
    fiscal_year_start_option(
        p,
        _(
            "first month of the fiscal year, 1-12 (default 1: for FY period labels of a quota "
            "table)"
        ),
    )
    p.set_defaults(func=cmd_gap, method="cohort")


def cmd_leads(args: argparse.Namespace) -> int:
    """The reverse funnel: deals and leads needed at each stage for ``--target``."""
    from pipesheet.planning import leads_needed

    deals, history = load_files(args)
    model = None
    if args.conversions:
        conversions: Any = conversions_arg(args.conversions)
    else:
        if history is None:
            raise PipesheetError(
                _("the reverse funnel needs conversion rates"),
                table="options",
                expected=_("--conversions Lead=0.5,... or a history file"),
            )
        model = fit_probabilities(args, deals, history, by=None)
        conversions = model
    average = args.average_deal
    if average is None:
        if deals is None:
            raise PipesheetError(
                _("the reverse funnel needs an average deal"),
                table="options",
                expected=_("--average-deal N, or a deals file to learn it from"),
            )
    currency = args.currency.upper() if args.currency else None
    notes: list[str] = []
    if average is None:
        from pipesheet.forecast import pipeline_position

        rates = rates_file(args)
        pos = pipeline_position(
            deals,
            None,
            as_of=args.as_of,
            rates=rates,
            currency=args.currency,
            stages=model.stages_ if model else given_stages(args),
            columns=only_fields(column_mapping(args), DEAL_FIELDS),
            blank_amounts=args.blank_amounts,
        )
        notes = [n for n in pos.notes if note_is(n, "blank amount")]
        if math.isnan(pos.average_won_deal):
            raise PipesheetError(
                _("no won deals to learn the average deal from"),
                table="deals",
                expected="--average-deal N",
            )
        average, currency = pos.average_won_deal, pos.currency
    days = None
    if args.deadline is not None:
        if args.days_in_stage:
            days = days_arg(args.days_in_stage)
        elif history is not None:
            from pipesheet.planning import days_in_stage_from_history

            days = days_in_stage_from_history(
                history,
                as_of=args.as_of,
                stages=model.stages_ if model else history_stages(args, history),
                columns=only_fields(column_mapping(args), HISTORY_FIELDS),
            )
    plan = leads_needed(
        args.target,
        average,
        conversions,
        deadline=args.deadline,
        days_in_stage=days,
        currency=currency,
    )
    if currency:
        title = _("Lead requirements (reverse funnel, {currency})").format(currency=currency)
    else:
        title = _("Lead requirements (reverse funnel)")
    emit(args, title, plan.table, notes, extra=plan.explanation)
    return 0


@dataclass
class _GapFigures:
    """The figures of a quota gap: given as options, else measured on the files."""

    closed: float | None
    expected: float | None
    pipeline: float | None
    average: float | None
    rate: float | None
    cycle: float | None
    cycle_source: str | None
    currency: str | None
    notes: list[str] = field(default_factory=list)
    model: Any = None
    probabilities: Any = None


def cmd_gap(args: argparse.Namespace) -> int:
    """The quota gap and the new leads it takes per week: the figures given as options, the
    rest measured on the deals (closed, expected, pipeline, average deal, win rate, cycle) and,
    for the cycle, on the stage history.  ``--quota FILE``: the same for every row of a quota
    table (:func:`cmd_quota_table`)."""
    from pipesheet.planning import quota_gap

    quota = _quota_number(args.quota)
    deals, history = load_files(args)
    fig = _GapFigures(
        closed=args.closed,
        expected=args.expected_open,
        pipeline=args.open_pipeline,
        average=args.average_deal,
        rate=args.lead_to_win,
        cycle=args.cycle_days,
        cycle_source=_("given (--cycle-days)") if args.cycle_days is not None else None,
        currency=args.currency.upper() if args.currency else None,
    )
    if quota is None:
        return cmd_quota_table(args, deals, history, fig)
    if deals is not None:
        _figures_from_deals(args, deals, history, fig)
    if fig.cycle is None and history is not None:
        _cycle_from_history(args, deals, history, fig)
    if fig.cycle is None and args.as_of is not None and args.period_end is not None:
        fig.cycle_source = _("unknown (no created dates, no stage history): taken as 0 days")
    if fig.average is None or fig.rate is None:
        raise PipesheetError(
            _("the quota gap needs an average deal and a lead-to-win rate"),
            table="options",
            expected=_("--average-deal and --lead-to-win, or deals + history files"),
        )
    gap = quota_gap(
        quota,
        fig.closed or 0.0,
        fig.expected or 0.0,
        average_deal=fig.average,
        lead_to_win_rate=fig.rate,
        open_pipeline=fig.pipeline,
        as_of=args.as_of,
        period_end=args.period_end,
        cycle_days=fig.cycle or 0.0,
        cycle_source=fig.cycle_source,
        currency=fig.currency,
    )
    cur = f" ({fig.currency})" if fig.currency else ""
    title = _("Quota gap{currency}").format(currency=cur)
    emit(args, title, gap.to_frame(), fig.notes, extra=gap.explanation)
    return 0


def _figures_from_deals(args: argparse.Namespace, deals, history, fig: _GapFigures) -> None:
    """Where the period stands on the deals file (:func:`pipesheet.pipeline_position`), for the
    figures not given; the lead-to-win rate from the learned probabilities."""
    from pipesheet.forecast import pipeline_position

    probs, fig.model = forecast_probabilities(args, deals, history)
    fig.probabilities = probs
    pos = pipeline_position(
        deals,
        probs,
        args.period_start,
        args.period_end,
        as_of=args.as_of,
        rates=rates_file(args),
        currency=args.currency,
        stages=fig.model.stages_ if fig.model else given_stages(args),
        columns=only_fields(column_mapping(args), DEAL_FIELDS),
        blank_amounts=args.blank_amounts,
    )
    fig.notes = list(pos.notes)
    fig.currency = pos.currency
    fig.closed = pos.closed if fig.closed is None else fig.closed
    fig.expected = pos.expected_open if fig.expected is None else fig.expected
    fig.pipeline = pos.open_pipeline if fig.pipeline is None else fig.pipeline
    fig.average = pos.average_won_deal if fig.average is None else fig.average
    if fig.rate is None and fig.model is not None:
        if getattr(fig.model, "pipelines_", None):  # each pipeline's first stage differs
            raise PipesheetError(
                _(
                    "the deals are in several pipelines, each with its own first stage: the "
                    "share of new leads that end up won is not one number"
                ),
                table="options",
                column="--lead-to-win",
                expected=_("--lead-to-win RATE, or one pipeline: --pipeline NAME"),
            )
        fig.rate = fig.model.overall_["win_probability"].iloc[0]
    if fig.cycle is None and not math.isnan(pos.average_cycle_days):
        fig.cycle = pos.average_cycle_days
        fig.cycle_source = _(
            "mean days from created to closed over the won deals in the deals file"
        )


def _cycle_from_history(args: argparse.Namespace, deals, history, fig: _GapFigures) -> None:
    """The cycle from the stage history when the deals carry no created date: it knows when
    each deal started (mean days to Won, as ``pipesheet diagnostics`` shows)."""
    from pipesheet.diagnostics import cycle_time

    stages = fig.model.stages_ if fig.model is not None else history_stages(args, history)
    ct = cycle_time(
        history,
        deals,
        as_of=args.as_of,
        stages=stages,
        columns=only_fields(column_mapping(args), HISTORY_FIELDS),
    )
    won = ct[ct["outcome"] == "won"].iloc[0]
    if won["deals"] > 0:
        fig.cycle = float(won["mean_days"])
        fig.cycle_source = _(
            "mean days to Won over the {deals} won deals in the stage history "
            "(from each deal's first history row, as pipesheet diagnostics shows)"
        ).format(deals=format_number(int(won["deals"])))


#: The endings of a file ``--quota`` may name.
_TABLE_FILES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")


def _quota_number(text: str) -> float | None:
    """``--quota``: a number (read as a cell's amount: ``1500000``, ``1,500,000``), or None for
    a quota table file."""
    import pandas as pd

    from pipesheet.cells import parse_amounts

    if Path(text).suffix.casefold() in _TABLE_FILES or Path(text).is_file():
        return None
    try:
        return float(parse_amounts(pd.Series([text]), table="options", column="--quota").iloc[0])
    except PipesheetError as err:
        raise PipesheetError(
            _("--quota is neither a number nor a quota table file"),
            table="options",
            column="--quota",
            value=text,
            expected=_("a quota such as 1500000, or a CSV/XLSX quota table ({problem})").format(
                problem=err.problem
            ),
        ) from None


def cmd_quota_table(args: argparse.Namespace, deals, history, fig: _GapFigures) -> int:
    """``--quota FILE``: quota, closed, expected, gap, coverage, P(≥ quota) and leads per week
    for every row of the quota table (:func:`pipesheet.quota_table`), rolled up ``--hierarchy``;
    the average deal, lead-to-win rate and cycle are measured as for one quota."""
    from pipesheet.exports import read_table
    from pipesheet.quotas import quota_table

    if deals is None:
        raise PipesheetError(
            _("a quota table needs a deals file"),
            table="options",
            expected=_("a deals CSV/XLSX (and a history file to learn probabilities from)"),
        )
    for option, value in (
        ("--closed", args.closed),
        ("--expected-open", args.expected_open),
        ("--open-pipeline", args.open_pipeline),
    ):
        if value is not None:
            raise PipesheetError(
                _("{option} is measured for each row of a quota table").format(option=option),
                table="options",
                column=option,
                expected=_("no {option} with --quota FILE (or one quota number)").format(
                    option=option
                ),
            )
    encoding, dayfirst = getattr(args, "encoding", None), getattr(args, "dayfirst", None)
    quotas = read_table(args.quota, encoding=encoding, dayfirst=dayfirst)
    tree = None
    if args.hierarchy:
        tree = read_table(args.hierarchy, encoding=encoding, dayfirst=dayfirst)
    _figures_from_deals(args, deals, history, fig)
    if fig.cycle is None and history is not None:
        _cycle_from_history(args, deals, history, fig)
    result = quota_table(
        deals,
        fig.probabilities,
        quotas,
        by=args.by,
        hierarchy=tree,
        as_of=args.as_of,
        start=args.period_start,
        end=args.period_end,
        rates=rates_file(args),
        currency=args.currency,
        blank_amounts=args.blank_amounts,
        stages=fig.model.stages_ if fig.model else given_stages(args),
        columns=only_fields(column_mapping(args), DEAL_FIELDS),
        average_deal=None if fig.average is None or math.isnan(fig.average) else fig.average,
        lead_to_win_rate=fig.rate,
        cycle_days=fig.cycle,
        fiscal_year_start=args.fiscal_year_start,
    )
    extra = result.basis()
    if fig.cycle_source and fig.cycle is not None:
        extra.append(
            _("Cycle length {days} days: {source}.").format(
                days=format_number(fig.cycle, 1), source=fig.cycle_source
            )
        )
    cur = f" ({result.currency})" if result.currency else ""
    if result.as_of is not None:
        title = _("Quotas as of {date}{currency}").format(date=result.as_of.date(), currency=cur)
    else:
        title = _("Quotas{currency}").format(currency=cur)
    frame = result.to_frame() if args.json else result.formatted()
    emit(args, title, frame, result.notes, extra=extra)
    return 0
