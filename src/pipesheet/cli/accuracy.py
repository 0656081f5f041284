"""The forecasts of a window learned from the stage history: ``calibrated`` (the time-aware
forecast corrected by its own backtests before the as-of date,
:func:`pipesheet.calibrated_forecast`) and ``time-aware`` (the time-aware forecast itself,
:func:`pipesheet.time_aware_forecast`).

Both forecast the revenue won in the window (as-of, period end] from the deals open on the as-of
date, and take the same options. Human output: the calibrated forecast as ``print(result)``
shows it (the number, its range, the method, the past periods and the notes); the time-aware
forecast as its summary, the per-stage table and the per-deal table. ``--json`` prints one
document: the one-row summary, or the table chosen with ``--show``.
"""

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
from pipesheet.cli.options import add_file_options, add_money_options, fiscal_year_start_option
from pipesheet.cli.output import note_line, show, take_read_notes
from pipesheet.i18n import N_, _

#: What each command says when it is given no stage history.
NEEDS_HISTORY = {
    "calibrated": N_("the calibrated forecast needs a stage-history file"),
    "time-aware": N_("the time-aware forecast needs a stage-history file"),
}


def _window_options(p: argparse.ArgumentParser) -> None:
    """The options both commands share: the window, the quota, the money settings."""
    add_file_options(p, by=False)
    p.add_argument(
        "--period-end",
        default="quarter",
        metavar="month|quarter|year|DATE",
        help=_(
            "end of the window (as-of, period end]: the end of the month, quarter (default) or "
            "year containing --as-of (the next one when --as-of is its last day), or a date"
        ),
    )
    fiscal_year_start_option(p)
    p.add_argument("--quota", type=float, help=_("quota for P(closed so far + revenue ≥ quota)"))
    add_money_options(p)


def add_parsers(sub: Any) -> None:
    """Add ``calibrated`` and ``time-aware`` to the ``pipesheet`` subparsers."""
    p = sub.add_parser(
        "calibrated",
        help=_("the time-aware forecast calibrated by its own past errors, with P10/P50/P90"),
        description=_(
            "Backtest the time-aware forecast on the history before --as-of (the same "
            "window one quarter back at a time, nothing after --as-of), correct it by its past "
            "errors and widen its range by their spread. Shows the forecast, P10/P50/P90, "
            "P(≥ quota), the method and the past periods it rests on."
        ),
    )
    _window_options(p)
    p.add_argument(
        "--show",
        choices=["forecast", "evidence", "deals"],
        help=_(
            "forecast (default: the number, its range and method), evidence (the past "
            "periods) or deals (each open deal's probability); with --json the table chosen "
            "(default: the one-row summary)"
        ),
    )
    p.set_defaults(func=cmd_calibrated, by=None)

    p = sub.add_parser(
        "time-aware",
        help=_("Σ amount × P(won by the period end | stage, days in stage), with its range"),
        description=_(
            "Learn when deals close from the stage history (open deals censored, not "
            "lost) and forecast the revenue won in (--as-of, --period-end] from the deals open on "
            "--as-of, with P10/P50/P90 of the deals' own coin flips."
        ),
    )
    _window_options(p)
    p.add_argument(
        "--show",
        choices=["forecast", "stages", "deals"],
        help=_(
            "print only this table: forecast (the total and its range), stages (per stage) or "
            "deals (each open deal); with --json default forecast"
        ),
    )
    p.set_defaults(func=cmd_time_aware, by=None)


def _settings(args: argparse.Namespace) -> tuple[Any, Any, dict[str, Any]]:
    deals, history = load_files(args)
    history = need_history(history, _(NEEDS_HISTORY[args.command]))
    period_end = args.period_end
    if period_end.strip().casefold() in ("month", "quarter", "year"):
        period_end = period_end.strip().casefold()
    return (
        history,
        deals,
        {
            "period_end": period_end,
            "as_of": args.as_of,
            "quota": args.quota,
            "fiscal_year_start": args.fiscal_year_start,
            "rates": rates_file(args),
            "currency": args.currency,
            "blank_amounts": args.blank_amounts,
            "stages": history_stages(args, history),
            "columns": column_mapping(args),
        },
    )


def cmd_calibrated(args: argparse.Namespace) -> int:
    """The calibrated forecast of the window, and the evidence it rests on."""
    from pipesheet.calibrated import calibrated_forecast

    history, deals, settings = _settings(args)
    result = calibrated_forecast(history, deals, **settings)
    tables = {
        "forecast": (_("Calibrated forecast"), result.to_frame()),
        "evidence": (_("Past periods the calibration rests on"), result.evidence),
        "deals": (_("Open deals: the model's and the calibrated probability"), result.deals),
    }
    if args.json or args.show in ("evidence", "deals"):
        show(args, tables, result.notes)
        return 0
    print(result)  # the number, its range, the method, the past periods and the notes
    for note in take_read_notes(args):
        print(note_line(note))
    return 0


def cmd_time_aware(args: argparse.Namespace) -> int:
    """The time-aware forecast of the window: the total and its range, per stage, per deal."""
    from pipesheet.timeaware import time_aware_forecast

    history, deals, settings = _settings(args)
    result = time_aware_forecast(history, deals, **settings)
    cur = f" ({result.currency})" if result.currency else ""
    window = f"{result.as_of.date()} → {result.period_end.date()}"
    words = _(
        "P10/P50/P90: 10% / 50% / 90% chance the revenue won in the window is at most this — "
        "from the deals' own coin flips only, so likely too narrow (pipesheet calibrated widens "
        "it by the forecast's past errors)"
    )
    show(
        args,
        {
            "forecast": (
                _("Time-aware forecast {window}{currency}").format(window=window, currency=cur),
                result.to_frame(),
            ),
            "stages": (_("By stage"), result.table),
            "deals": (_("Open deals"), result.deals),
        },
        [*result.notes, *([words] if result.range is not None else [])],
    )
    return 0
