"""``pipesheet balance``: does each open stage hold, today, what a steady flow of won deals at the
target's pace needs (:func:`pipesheet.balance.pipeline_balance`, Little's law)?"""

from __future__ import annotations

import argparse
from typing import Any

from pipesheet.cli.inputs import (
    column_mapping,
    history_stages,
    load_files,
    need_history,
    rates_file,
)
from pipesheet.cli.options import add_file_options, add_money_options
from pipesheet.cli.output import emit, note_line, take_read_notes
from pipesheet.i18n import _


def add_parsers(sub: Any) -> None:
    """Add ``balance`` to the ``pipesheet`` subparsers."""
    p = sub.add_parser(
        "balance",
        help=_(
            "pipeline balance: the open deals each stage should hold for the target's pace "
            "vs what it holds (thin / bloated, what to do)"
        ),
        description=_(
            "For a revenue target over a period, the open deals (count and value) each "
            "stage should hold on the as-of day for won revenue to arrive at the target's pace: "
            "needed = deals that must reach the stage per day × days a deal spends in it (Little's "
            "law), with the conversions and days in stage learned from the history. gap = open − "
            "needed; thin / bloated beyond --noise-z × √needed; the week a thin stage's shortfall "
            "reaches Won. Give the deals file (amounts) and the stage-history file, in any order."
        ),
    )
    add_file_options(p, by=False)
    p.add_argument(
        "--target",
        type=float,
        required=True,
        metavar="AMOUNT",
        help=_("revenue target of the period, in the reporting currency"),
    )
    p.add_argument(
        "--period-start",
        required=True,
        metavar="DATE",
        help=_("first day of the period the target is for"),
    )
    p.add_argument(
        "--period-end",
        required=True,
        metavar="DATE",
        help=_(
            "last day of the period the target is for (pace = target ÷ days, both days counted)"
        ),
    )
    p.add_argument(
        "--average-deal",
        type=float,
        metavar="AMOUNT",
        help=_("average won deal (default: the mean amount of the deals won by the as-of day)"),
    )
    p.add_argument(
        "--noise-z",
        type=float,
        default=2.0,
        metavar="Z",
        help=_("a stage is thin / bloated when its gap is beyond Z × √needed (default 2)"),
    )
    add_money_options(p)
    p.set_defaults(func=cmd_balance, by=None)


def cmd_balance(args: argparse.Namespace) -> int:
    """The balance of each open stage: the human table (``print(result)``) and the notes of
    reading the files; ``--json``: one list of per-stage rows (``stage``, ``needed``, ``open``,
    ``gap``, ``needed_value``, ``open_value``, ``gap_value``… dates ISO, unknown values null)."""
    from pipesheet.balance import pipeline_balance

    deals, history = load_files(args)
    history = need_history(history, _("the pipeline balance needs a stage-history file"))
    result = pipeline_balance(
        history,
        deals,
        args.target,
        args.period_start,
        args.period_end,
        as_of=args.as_of,
        stages=history_stages(args, history),
        columns=column_mapping(args),
        rates=rates_file(args),
        currency=args.currency,
        blank_amounts=args.blank_amounts,
        noise_z=args.noise_z,
        average_deal=args.average_deal,
    )
    if args.json:  # one JSON document: the per-stage rows
        emit(args, "", result.to_frame())
        return 0
    print(result)
    for note in take_read_notes(args):
        print(note_line(note))
    return 0
