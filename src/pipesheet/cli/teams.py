"""How teams plan: ``pipelines`` (several pipelines, each with its own stages: per pipeline and
in total), ``commits`` (a manager's commits beside the system's forecast and what was won; who
forecasts better) and ``losses`` (lost deals by reason and by the stage they were lost at)."""

from __future__ import annotations

import argparse
from typing import Any

from pipesheet.cli.inputs import (
    column_mapping,
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
from pipesheet.cli.output import show
from pipesheet.columns import DEAL_FIELDS
from pipesheet.errors import PipesheetError
from pipesheet.formats import format_number
from pipesheet.i18n import _


def _need_deals(deals: Any, problem: str) -> Any:
    """The deals, or a clear error: ``problem`` says what needs them (a sentence, translated)."""
    if deals is None:
        raise PipesheetError(
            problem,
            table="options",
            expected=_("a deals CSV/XLSX (one row per deal)"),
        )
    return deals


def cmd_pipelines(args: argparse.Namespace) -> int:
    """Per pipeline and in total: open deals, pipeline, weighted forecast, closed so far and the
    range; the stage probabilities of each pipeline."""
    from pipesheet.pipelines import pipeline_summary
    from pipesheet.pricing import price_deals

    deals, history = load_files(args)
    deals = _need_deals(deals, _("pipelines needs a deals file"))
    probs, model = forecast_probabilities(args, deals, history)
    priced = price_deals(
        deals,
        probs,
        start=args.period_start,
        end=args.period_end,
        as_of=args.as_of,
        rates=rates_file(args),
        currency=args.currency,
        blank_amounts=args.blank_amounts,
        stages=model.stages_ if model is not None else given_stages(args),
        columns=only_fields(column_mapping(args), DEAL_FIELDS),
    )
    summary = pipeline_summary(priced, args.quota)
    cur = f" ({priced.currency})" if priced.currency else ""
    tables = {
        "summary": (
            _("Pipelines{currency}: per pipeline and in total").format(currency=cur),
            summary,
        ),
        "deals": (_("Open deals and the probability each is priced at"), priced.open_deals()),
    }
    if model is not None:
        tables["probabilities"] = (_("Stage probabilities per pipeline"), model.table_)
    notes = list(summary.attrs.get("notes", []))
    if model is not None:
        notes += [n for n in model.notes_ if n not in notes]
    if priced.deals.pipelines is None:
        notes.append(_("the deals are in one pipeline (no pipeline column, or one name in it)"))
    show(args, tables, notes, on_request=("deals",))
    return 0


def cmd_commits(args: argparse.Namespace) -> int:
    """Commits beside the system's forecast and the actual; who forecasts better."""
    from pipesheet.commits import compare_commits
    from pipesheet.exports import read_table

    deals, history = load_files(args)
    deals = _need_deals(deals, _("commits needs a deals file"))
    probs = None
    if args.probabilities:
        probs, _model = forecast_probabilities(args, deals, history)
    result = compare_commits(
        deals,
        read_table(args.commits, encoding=args.encoding, dayfirst=args.dayfirst),
        probs,
        history=history,
        by=args.by,
        period=args.period,
        fiscal_year_start=args.fiscal_year_start,
        as_of=args.as_of,
        rates=rates_file(args),
        currency=args.currency,
        blank_amounts=args.blank_amounts,
        stages=history_stages(args, history) if history is not None else given_stages(args),
        columns=column_mapping(args),
    )
    cur = f" ({result.currency})" if result.currency else ""
    if result.best:
        better = _(
            "Who forecasts better: the manager (commits) or the model (system forecast) — "
            "past periods where both exist; lower MAPE: {best}"
        ).format(best=result.best)
    else:
        better = _(
            "Who forecasts better: the manager (commits) or the model (system forecast) — "
            "past periods where both exist"
        )
    show(
        args,
        {
            "table": (
                _(
                    "Commits vs system forecast vs actual{currency}, by {by} and {period}, "
                    "as of {date}"
                ).format(
                    currency=cur, by=result.by, period=result.period, date=result.as_of.date()
                ),
                result.table,
            ),
            "summary": (better, result.summary),
        },
        result.notes,
    )
    return 0


def cmd_losses(args: argparse.Namespace) -> int:
    """Lost deals by reason and by the stage they were lost at."""
    from pipesheet.losses import lost_reasons

    deals, history = load_files(args)
    deals = _need_deals(deals, _("losses needs a deals file"))
    result = lost_reasons(
        deals,
        history,
        as_of=args.as_of,
        start=args.start,
        end=args.end,
        rates=rates_file(args),
        currency=args.currency,
        blank_amounts=args.blank_amounts,
        stages=history_stages(args, history) if history is not None else given_stages(args),
        columns=column_mapping(args),
    )
    cur = f" ({result.currency})" if result.currency else ""
    show(
        args,
        {
            "reasons": (
                _("Lost deals by reason{currency}: {deals} deals, {amount} lost").format(
                    currency=cur,
                    deals=format_number(result.lost_deals),
                    amount=format_number(result.amount),
                ),
                result.by_reason,
            ),
            "stages": (
                _("Lost deals by the stage they were lost at{currency}").format(currency=cur),
                result.by_stage,
            ),
            "both": (
                _("Lost deals by reason and stage{currency}").format(currency=cur),
                result.by_reason_stage,
            ),
            "deals": (_("The lost deals"), result.deals),
        },
        result.notes,
        on_request=("both", "deals"),
    )
    return 0


def add_parsers(sub: Any) -> None:
    """Add ``pipelines``, ``commits`` and ``losses`` to the subparsers."""
    p = sub.add_parser(
        "pipelines",
        help=_("several pipelines: forecast, range and probabilities per pipeline and in total"),
        description=_(
            "Each pipeline (the deals file's pipeline column) has its own stages and "
            "probabilities, learned from its own deals; every deal is priced with its own "
            "pipeline's. Totals are the sums of the pipelines; the total's range is that of all "
            "the open deals together."
        ),
    )
    add_file_options(p, by=False)
    add_forecast_options(p)
    p.add_argument("--quota", type=float, help=_("quota for P(total ≥ quota) (the total only)"))
    p.add_argument(
        "--period-start", metavar="DATE", help=_("only open deals expected to close on or after")
    )
    p.add_argument(
        "--period-end", metavar="DATE", help=_("only open deals expected to close on or before")
    )
    p.add_argument(
        "--show",
        choices=["summary", "probabilities", "deals"],
        help=_(
            "print only this table (with --json: default summary); deals: each open deal "
            "with the probability it is priced at and where it comes from (stage or override)"
        ),
    )
    p.set_defaults(func=cmd_pipelines, method="cohort", by=None)

    p = sub.add_parser(
        "commits",
        help=_("a manager's commits vs the system forecast vs actual; who forecasts better"),
        description=_(
            "Each commit (owner or team × period, from --commits FILE) beside the "
            "system's forecast — for a past period the backtest's forecast made the day before it "
            "began, else closed so far + the weighted open pipeline — and what was won. Error = "
            "forecast/actual − 1; MAPE and bias of the manager and of the model over the past "
            "periods where both exist."
        ),
    )
    add_file_options(p, by=False)
    p.add_argument(
        "--commits",
        required=True,
        metavar="FILE",
        help=_(
            "the commits table: a group column (Owner, Team…), a period (Quarter: 2026-Q3, "
            "Month: 2026-07…) and the committed amount (Commit)"
        ),
    )
    p.add_argument(
        "--by",
        metavar="COLUMN",
        help=_("the deals column the commits are for (default: the commits file's group column)"),
    )
    p.add_argument(
        "--period",
        choices=["month", "quarter", "year"],
        help=_("period length of the commits (default: from their labels)"),
    )
    fiscal_year_start_option(p)
    add_forecast_options(p)
    p.add_argument(
        "--show",
        choices=["table", "summary"],
        help=_("print only this table (with --json: default table)"),
    )
    p.set_defaults(func=cmd_commits, method="cohort")

    p = sub.add_parser(
        "losses",
        help=_("lost deals by reason and by the stage they were lost at, with amounts"),
        description=_(
            "Lost deals by the deals file's loss-reason column (blank: '(no reason "
            "given)') and by the last open stage before Lost (from the stage history), with "
            "counts, amounts in the reporting currency and shares."
        ),
    )
    add_file_options(p, by=False)
    p.add_argument("--start", metavar="DATE", help=_("only deals lost on or after this day"))
    p.add_argument("--end", metavar="DATE", help=_("only deals lost on or before this day"))
    add_money_options(p)
    p.add_argument(
        "--show",
        choices=["reasons", "stages", "both", "deals"],
        help=_("print only this table (with --json: default reasons)"),
    )
    p.set_defaults(func=cmd_losses, by=None)
