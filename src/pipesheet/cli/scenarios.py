"""``--scenario`` (on ``pipesheet forecast``): named what-ifs on the open pipeline, each shown
before and after — the forecast, its range and P(≥ quota) (:func:`pipesheet.apply_scenarios`).

The syntax, one scenario per ``--scenario`` (repeatable; each applied alone against the
baseline, ``--combine-scenarios`` adds one with all of them in order)::

    drop-largest N          the N largest open deals are lost
    drop ID,ID…             these open deals are lost
    slip N                  every open deal's expected close date moves N days (−N: earlier)
    conversion STAGE=P      the open deals at STAGE are won with P (0.35, 35 or 35%)
    add-leads N/week        N new leads a week through the funnel (cycle learned from the
                            history; ``add-leads N/week cycle D`` gives it)
"""

from __future__ import annotations

import argparse
from typing import Any

from pipesheet.cli.inputs import column_mapping, only_fields
from pipesheet.cli.output import emit, note_line, take_read_notes
from pipesheet.columns import DEAL_FIELDS, HISTORY_FIELDS
from pipesheet.i18n import _


def add_scenario_options(p: argparse.ArgumentParser) -> None:
    """``--scenario TEXT`` (repeatable) and ``--combine-scenarios``."""
    p.add_argument(
        "--scenario",
        action="append",
        metavar="TEXT",
        help=_(
            "a what-if on the open pipeline, shown before and after (repeatable, each alone "
            "against the baseline): 'drop-largest N', 'drop ID,ID', 'slip N' (days), "
            "'conversion STAGE=P', 'add-leads N/week' (optionally 'cycle D'); with --json only the "
            "scenario rows are printed"
        ),
    )
    p.add_argument(
        "--combine-scenarios",
        action="store_true",
        help=_("also apply every --scenario one after another, in the order given (a last row)"),
    )


def show_scenarios(
    args: argparse.Namespace, deals: Any, history: Any, probabilities: Any, stages: Any, rates: Any
) -> None:
    """Apply ``args.scenario`` to the forecast's deals with its settings and print each before
    and after (``--json``: one row per scenario)."""
    from pipesheet.scenarios import apply_scenarios, parse_scenario

    parsed = [parse_scenario(text) for text in args.scenario]
    days = None
    if history is not None and any(s.kind == "add-leads" and s.days is None for s in parsed):
        from pipesheet.planning import days_in_stage_from_history

        days = days_in_stage_from_history(
            history,
            as_of=args.as_of,
            stages=stages,
            columns=only_fields(column_mapping(args), HISTORY_FIELDS),
        )
    result = apply_scenarios(
        deals,
        probabilities,
        parsed,
        quota=args.quota,
        start=args.period_start,
        end=args.period_end,
        as_of=args.as_of,
        rates=rates,
        currency=args.currency,
        blank_amounts=args.blank_amounts,
        stages=stages,
        columns=only_fields(column_mapping(args), DEAL_FIELDS),
        days_in_stage=days,
        combine=args.combine_scenarios,
    )
    if args.json:
        emit(args, "", result.to_frame())
        return
    print(str(result))
    for note in take_read_notes(args):
        print(note_line(note))
    print()
