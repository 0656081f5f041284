"""``pipesheet report``: the finance workbook (:mod:`pipesheet.report`) from CRM exports."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipesheet.cli.options import add_date_order, blank_amounts_option
from pipesheet.errors import PipesheetError
from pipesheet.i18n import _
from pipesheet.report import SHEETS, build_report, sheet_name, write_report


def add_parsers(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``report`` to the ``pipesheet`` subparsers (``set_defaults(func=run)``)."""
    p = subparsers.add_parser(
        "report",
        help=_("finance workbook: probabilities, forecast, range, lead plan, waterfall, backtest"),
        description=_(
            "Write a new workbook ({sheets}) from CRM exports. Inputs are only read, never "
            "modified; the output may not be an input, even with --force."
        ).format(sheets=", ".join(map(sheet_name, SHEETS))),
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help=_("deals and/or history export"))
    p.add_argument("-o", "--output", required=True, help=_("the .xlsx to write (a new file)"))
    p.add_argument(
        "--force",
        action="store_true",
        help=_("replace an existing output file (never an input file)"),
    )
    p.add_argument("--previous", help=_("an earlier deals snapshot for the waterfall"))
    p.add_argument(
        "--period",
        default="quarter",
        choices=("month", "quarter", "year"),
        help=_("period of the forecast, waterfall and backtest (default quarter)"),
    )
    p.add_argument(
        "--fiscal-year-start",
        type=int,
        default=1,
        metavar="MONTH",
        help=_("first month of the fiscal year, 1-12 (default 1)"),
    )
    p.add_argument("--by", help=_("group the forecast: owner, product line, country, segment…"))
    p.add_argument(
        "--as-of", metavar="DATE", help=_("report date (default: the latest history date)")
    )
    p.add_argument(
        "--target",
        type=float,
        help=_(
            "revenue target for the lead plan (default: average won revenue of the last four "
            "periods)"
        ),
    )
    p.add_argument("--quota", type=float, help=_("quota for P(total ≥ quota)"))
    p.add_argument("--rates", help=_("currency rates file (currency, rate)"))
    p.add_argument("--currency", help=_("reporting currency code"))
    p.add_argument(
        "--backtest-periods",
        type=int,
        default=4,
        metavar="N",
        help=_("past periods in the backtest and calibration (default 4)"),
    )
    p.add_argument(
        "--stale-quantile",
        type=float,
        default=0.8,
        metavar="Q",
        help=_("stale = longer in stage than this quantile of won deals (default 0.8)"),
    )
    p.add_argument(
        "--probabilities",
        metavar="PRESET|configured|FILE",
        help=_(
            "stage probabilities for the forecast and range instead of learned ones: "
            "salesforce, hubspot, suitecrm, configured (the deals' Probability column) or a "
            "stage/probability file — for exports whose stages have no closed deals yet"
        ),
    )
    p.add_argument("--sheet", help=_("worksheet to read from XLSX inputs"))
    p.add_argument("--table", help=_("Excel Table to read from XLSX inputs"))
    add_date_order(p)
    p.add_argument(
        "--dayfirst",
        action="store_true",
        default=None,
        help=_("the same as --date-order dmy"),
    )
    p.add_argument(
        "--commits",
        metavar="FILE",
        help=_(
            "a manager's commits (owner or team, period, committed amount) for the Commits "
            "sheet: system forecast vs committed vs actual"
        ),
    )
    p.add_argument("--no-progress", action="store_true", help=_("never show a progress bar"))
    blank_amounts_option(p)
    p.set_defaults(func=run)
    return p


def _input_files(args: argparse.Namespace) -> list[str]:
    """Every file the report reads (the output may be none of them)."""
    files = [*args.inputs, args.previous, args.rates, getattr(args, "commits", None)]
    given = getattr(args, "probabilities", None)
    if given and Path(given).exists():
        files.append(given)
    return [f for f in files if f]


def run(args: argparse.Namespace, out: Callable[[str], None] | None = None) -> int:
    """Run ``pipesheet report``: 0 on success, 2 with one ``pipesheet: error:`` line on bad
    input (the output is checked before the long computation, and again when written)."""
    from pipesheet.writer import check_output

    say = out or (lambda s: print(s))
    inputs = _input_files(args)
    try:
        dest = check_output(args.output, inputs=inputs, overwrite=args.force)
        report = build_report(
            *args.inputs,
            previous=args.previous,
            period=args.period,
            fiscal_year_start=args.fiscal_year_start,
            by=args.by,
            as_of=args.as_of,
            target=args.target,
            quota=args.quota,
            rates=args.rates,
            currency=args.currency,
            backtest_periods=args.backtest_periods,
            stale_quantile=args.stale_quantile,
            probabilities=getattr(args, "probabilities", None),
            sheet=args.sheet,
            table=args.table,
            dayfirst=args.dayfirst,
            progress=False if args.no_progress else None,
            blank_amounts=getattr(args, "blank_amounts", "error"),
            commits=getattr(args, "commits", None),
        )
        write_report(report, dest, force=args.force, inputs=inputs)
    except PipesheetError as err:
        print(_("pipesheet: error: {message}").format(message=err), file=sys.stderr)
        return 2
    say(
        _("wrote {path} ({sheets})").format(
            path=dest, sheets=", ".join(map(sheet_name, report.sheets))
        )
    )
    return 0
