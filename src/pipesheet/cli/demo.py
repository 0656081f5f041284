"""``pipesheet presets`` (CRM default stage probabilities) and ``pipesheet demo`` (everything on
the bundled sample, plus a workbook)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pipesheet import __version__
from pipesheet.cli.output import as_read, emit, range_words
from pipesheet.formats import format_number
from pipesheet.i18n import _, pgettext
from pipesheet.presets import PRESETS, preset


def add_parsers(sub: Any) -> None:
    """Add ``presets`` and ``demo`` to the ``pipesheet`` subparsers."""
    p = sub.add_parser("presets", help=_("CRM default stage probabilities"))
    p.add_argument("name", nargs="?", choices=list(PRESETS), help=_("one preset (default: all)"))
    p.add_argument("--json", action="store_true", help=_("print JSON rows instead of tables"))
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser("demo", help=_("run everything on the bundled sample pipeline"))
    p.add_argument("--output", default="pipesheet-demo.xlsx", help=_("workbook to write"))
    p.add_argument(
        "--force",
        action="store_true",
        help=_("replace --output even if pipesheet did not write it"),
    )
    p.add_argument(
        "--target", type=float, default=2_000_000, help=_("target of the lead plan (2,000,000)")
    )
    p.add_argument(
        "--quota", type=float, default=3_500_000, help=_("quota of the forecast range (3,500,000)")
    )
    p.add_argument("--json", action="store_true", help=_("print JSON rows instead of tables"))
    p.set_defaults(func=cmd_demo)


def cmd_presets(args: argparse.Namespace) -> int:
    """Print one preset, or all of them."""
    names = [args.name] if args.name else list(PRESETS)
    for name in names:
        emit(args, _("Preset: {name}").format(name=name), preset(name))
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
        _(
            "pipesheet {version} demo — bundled sample: {deals} deals, {rows} history rows, "
            "as of {as_of}"
        ).format(
            version=__version__,
            deals=format_number(len(deals)),
            rows=format_number(len(history)),
            as_of=SAMPLE_AS_OF,
        )
        + "\n"
    )
    emit(
        args,
        _("Stage probabilities (learned from history, 90% interval)"),
        model.table_,
        model.notes_,
    )
    forecast = price_deals(deals, model, rates=rates).forecast("quarter", total=True)
    emit(
        args,
        _("Weighted forecast by quarter ({currency})").format(currency=forecast.attrs["currency"]),
        forecast,
        forecast.attrs["notes"],
    )
    quota = float(args.quota)
    rng = pipeline_range(deals, model, quota=quota, rates=rates)
    emit(
        args,
        _("Forecast range of the open pipeline (quota {quota})").format(quota=format_number(quota)),
        rng.to_frame(),
        extra=range_words(rng),
    )
    pos = pipeline_position(deals, model, rates=rates)
    plan = leads_needed(args.target, pos.average_won_deal, model, currency=pos.currency)
    cur = f" {pos.currency}" if pos.currency else ""
    emit(
        args,
        _("Lead plan for a target of {target} (average won deal {average})").format(
            target=format_number(args.target) + cur,
            average=format_number(pos.average_won_deal) + cur,
        ),
        plan.table,
        extra=plan.explanation,
    )

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
    print(_("Wrote {path}").format(path=out))
    return 0
