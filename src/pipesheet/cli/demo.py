"""``pipesheet presets`` (CRM default stage probabilities) and ``pipesheet demo`` (everything on
the bundled sample, plus a workbook)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pipesheet import __version__
from pipesheet.cli.output import as_read, emit, range_words
from pipesheet.presets import PRESETS, preset


def add_parsers(sub: Any) -> None:
    """Add ``presets`` and ``demo`` to the ``pipesheet`` subparsers."""
    p = sub.add_parser("presets", help="CRM default stage probabilities")
    p.add_argument("name", nargs="?", choices=list(PRESETS), help="one preset (default: all)")
    p.add_argument("--json", action="store_true", help="print JSON rows instead of tables")
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser("demo", help="run everything on the bundled sample pipeline")
    p.add_argument("--output", default="pipesheet-demo.xlsx", help="workbook to write")
    p.add_argument(
        "--force", action="store_true", help="replace --output even if pipesheet did not write it"
    )
    p.add_argument(
        "--target", type=float, default=2_000_000, help="target of the lead plan (2,000,000)"
    )
    p.add_argument(
        "--quota", type=float, default=3_500_000, help="quota of the forecast range (3,500,000)"
    )
    p.add_argument("--json", action="store_true", help="print JSON rows instead of tables")
    p.set_defaults(func=cmd_demo)


def cmd_presets(args: argparse.Namespace) -> int:
    """Print one preset, or all of them."""
    names = [args.name] if args.name else list(PRESETS)
    for name in names:
        emit(args, f"Preset: {name}", preset(name))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Stage probabilities, forecast, range and lead plan of the bundled sample, printed and
    written to a workbook."""
    from pipesheet.forecast import pipeline_position, pipeline_range
    from pipesheet.planning import leads_needed
    from pipesheet.pricing import price_deals
    from pipesheet.probabilities import StageProbabilities
    from pipesheet.sample import SAMPLE_AS_OF, sample_deals, sample_history, sample_rates
    from pipesheet.writer import check_output, write_workbook, written_by_pipesheet

    out = Path(args.output)
    # replace an earlier demo workbook nobody has changed since, never a file of the user's
    replace = args.force or written_by_pipesheet(out)
    check_output(out, overwrite=replace)  # before the work, not after it
    deals, history, rates = sample_deals(), sample_history(), sample_rates()
    model = StageProbabilities().fit(history, deals)
    print(
        f"pipesheet {__version__} demo — bundled sample: {len(deals):,} deals, "
        f"{len(history):,} history rows, as of {SAMPLE_AS_OF}\n"
    )
    emit(
        args, "Stage probabilities (learned from history, 90% interval)", model.table_, model.notes_
    )
    forecast = price_deals(deals, model, rates=rates).forecast("quarter", total=True)
    emit(
        args,
        f"Weighted forecast by quarter ({forecast.attrs['currency']})",
        forecast,
        forecast.attrs["notes"],
    )
    quota = float(args.quota)
    rng = pipeline_range(deals, model, quota=quota, rates=rates)
    emit(
        args,
        f"Forecast range of the open pipeline (quota {quota:,.0f})",
        rng.to_frame(),
        extra=range_words(rng),
    )
    pos = pipeline_position(deals, model, rates=rates)
    plan = leads_needed(args.target, pos.average_won_deal, model, currency=pos.currency)
    cur = f" {pos.currency}" if pos.currency else ""
    emit(
        args,
        f"Lead plan for a target of {args.target:,.0f}{cur} (average won deal "
        f"{pos.average_won_deal:,.0f}{cur})",
        plan.table,
        extra=plan.explanation,
    )
    from pipesheet.i18n import pgettext  # the sheet names in the language spoken

    write_workbook(
        out,
        {
            pgettext("sheet", "Stage probabilities"): model.table_,
            pgettext("sheet", "Forecast"): forecast,
            pgettext("sheet", "Range"): rng.to_frame(),
            pgettext("sheet", "Lead plan"): plan.table,
            pgettext("sheet", "Deals"): as_read(deals, model.deals_),
            pgettext("sheet", "History"): as_read(history, model.history_),
        },
        overwrite=replace,
    )
    print(f"Wrote {out}")
    return 0
