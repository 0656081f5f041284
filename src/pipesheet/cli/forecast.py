"""``pipesheet forecast``: the weighted forecast by period and group, and its range."""

from __future__ import annotations

import argparse
from typing import Any

from pipesheet.cli.inputs import (
    column_mapping,
    forecast_probabilities,
    given_stages,
    load_files,
    only_fields,
    rates_file,
)
from pipesheet.cli.options import add_file_options, add_forecast_options, fiscal_year_start_option
from pipesheet.cli.output import emit, range_words
from pipesheet.cli.scenarios import add_scenario_options, show_scenarios
from pipesheet.columns import DEAL_FIELDS
from pipesheet.errors import PipesheetError


def add_parsers(sub: Any) -> None:
    """Add the command to the ``pipesheet`` subparsers."""
    p = sub.add_parser("forecast", help="weighted forecast by period and group")
    add_file_options(p)
    add_forecast_options(p)
    p.add_argument(
        "--range",
        action="store_true",
        help="also print P10/P50/P90 (with --json: print only the range rows)",
    )
    p.add_argument(
        "--quota",
        type=float,
        help="quota for P(closed so far + range ≥ quota) (closed so far: with --period-start/end)",
    )
    p.add_argument(
        "--period",
        choices=["month", "quarter", "year", "none"],
        default="month",
        help="group the forecast by the close date's month (default), quarter or year; none: "
        "one total",
    )
    fiscal_year_start_option(p, ": quarters are calendar quarters")
    p.add_argument(
        "--deals",
        dest="list_deals",
        action="store_true",
        help="print the priced open deals instead: each with the probability it is priced at "
        "and where it comes from (its stage, or its own override)",
    )
    p.add_argument(
        "--period-start",
        metavar="DATE",
        help="forecast (and range) only open deals expected to close on or after DATE",
    )
    p.add_argument(
        "--period-end",
        metavar="DATE",
        help="forecast (and range) only open deals expected to close on or before DATE",
    )
    add_scenario_options(p)
    p.set_defaults(func=cmd_forecast, method="cohort", summary_path=True)


def cmd_forecast(args: argparse.Namespace) -> int:
    """Price the deals once; print the weighted forecast and, when asked, its range."""
    from pipesheet.exports.large import duckdb_progress

    deals, history = load_files(args)
    with duckdb_progress(getattr(args, "duckdb", None), enabled=not args.json):
        return _forecast(args, deals, history)


def _forecast(args: argparse.Namespace, deals: Any, history: Any) -> int:
    from pipesheet.pricing import price_deals

    if deals is None:
        raise PipesheetError(
            "a forecast needs a deals file",
            table="options",
            expected="a deals CSV/XLSX (one row per deal)",
        )
    probs, model = forecast_probabilities(args, deals, history)
    rates = rates_file(args)
    period = None if args.period == "none" else args.period
    stages = model.stages_ if model is not None else given_stages(args)
    # one priced-deal set: the weighted forecast and its range cover the same open deals
    priced = price_deals(
        deals,
        probs,
        start=args.period_start,
        end=args.period_end,
        as_of=args.as_of,
        rates=rates,
        currency=args.currency,
        blank_amounts=args.blank_amounts,
        stages=stages,
        columns=only_fields(column_mapping(args), DEAL_FIELDS),
        by=args.by,  # (a frame in DuckDB is summed by these groups where it is)
        per_amount=args.range or args.quota is not None,
    )
    if args.list_deals:
        listed = priced.open_deals()
        cur = listed.attrs.get("currency")
        emit(args, f"Open deals priced{f' ({cur})' if cur else ''}", listed, priced.notes)
        return 0
    table = priced.forecast(period, args.fiscal_year_start, args.by, total=not args.json)
    cur = table.attrs.get("currency")
    notes = list(table.attrs.get("notes", []))
    with_range = args.range or args.quota is not None
    what_if = bool(args.scenario)
    # --json prints one document: the scenarios, else the range when asked for, else the table
    if not (args.json and (with_range or what_if)):
        emit(args, f"Weighted forecast{f' ({cur})' if cur else ''}", table, notes)
    if with_range and not (args.json and what_if):
        rng = priced.range(args.quota)
        extra = [
            f"method: {rng.range_method}",
            f"the same {rng.deals:,} open deals as the weighted forecast (mean = its total "
            f"weighted {priced.weighted:,.0f})",
        ]
        if rng.closed is not None and args.quota is not None:
            extra.append(
                f"P(≥ quota) = P(closed so far {rng.closed:,.0f} + range ≥ {args.quota:,.0f})"
            )
        emit(
            args,
            f"Forecast range{f' ({cur})' if cur else ''} (open deals, independent wins)",
            rng.to_frame(),
            extra=[*range_words(rng), *extra[1:]],
        )
    if what_if:
        show_scenarios(args, deals, history, probs, stages, rates)
    return 0
