"""The finance commands: ``backtest`` (time-aware vs weighted-pipeline forecasts of past
periods), ``calibration`` (predicted vs realised win rates), ``waterfall`` (how the pipeline
moved) and ``diagnostics`` (alias ``health``: stale deals, bottlenecks, cycle time, and the
stage design check)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pipesheet.cli.inputs import (
    column_mapping,
    conversions_arg,
    given_stages,
    history_stages,
    is_history,
    load_files,
    need_history,
    only_fields,
    rates_file,
)
from pipesheet.cli.options import add_file_options, add_money_options, fiscal_year_start_option
from pipesheet.cli.output import show
from pipesheet.columns import HISTORY_FIELDS
from pipesheet.errors import PipesheetError


def cmd_backtest(args: argparse.Namespace) -> int:
    """Forecast past periods both ways and compare with what was won."""
    from pipesheet.backtest import backtest

    deals, history = load_files(args)
    history = need_history(history, "a backtest")
    result = backtest(
        history,
        deals,
        args.start,
        periods=args.periods,
        period=args.period,
        actual=args.actual,
        fiscal_year_start=args.fiscal_year_start,
        rates=rates_file(args),
        currency=args.currency,
        stages=history_stages(args, history),
        columns=column_mapping(args),
        blank_amounts=args.blank_amounts,
    )
    best = f"; lower MAPE: {result.best}" if result.best else ""
    show(
        args,
        {
            "summary": (
                f"Backtest: error by method (actual = {result.actual_basis}{best})",
                result.summary,
            ),
            "periods": ("Backtest by period (error = forecast / actual − 1)", result.wide),
            "detail": ("Backtest by period and method", result.table),
        },
        result.notes,
        on_request=("detail",),
    )
    return 0


def cmd_calibration(args: argparse.Namespace) -> int:
    """Predicted vs realised win rates of the deals open on ``--as-of``."""
    from pipesheet.calibration import calibration

    deals, history = load_files(args)
    history = need_history(history, "calibration")
    if args.as_of is None:
        raise PipesheetError(
            "calibration needs --as-of DATE",
            table="options",
            column="--as-of",
            expected="a past date: probabilities are predicted on it and checked against what "
            "happened after it",
        )
    which = _calibrated_probabilities(args.calibrated)
    money = {}
    if isinstance(which, str) and which == "calibrated":  # its errors are weighed by revenue
        money = {"rates": rates_file(args), "currency": args.currency}
        money["blank_amounts"] = args.blank_amounts
    result = calibration(
        history,
        deals,
        args.as_of,
        probabilities=which,
        period_end=args.period_end,
        buckets=args.buckets,
        stages=history_stages(args, history),
        columns=column_mapping(args),
        **money,
    )
    skill = "" if result.brier_skill != result.brier_skill else f"; skill {result.brier_skill:+.2f}"
    show(
        args,
        {
            "buckets": ("Calibration by probability bucket", result.by_bucket),
            "stages": ("Calibration by stage", result.by_stage),
            "summary": (
                f"Brier score {result.brier:.4f} (always predicting the base rate: "
                f"{result.brier_reference:.4f}{skill})",
                result.summary,
            ),
        },
        result.notes,
    )
    return 0


def _calibrated_probabilities(value: str) -> Any:
    """``--probabilities``: learned, time-aware, calibrated, configured or a preset name (as
    given), ``stage`` (the old ``--method`` value of learned), else a stage/probability file."""
    from pipesheet.presets import PRESETS

    key = value.strip().casefold()
    if key == "stage":
        return "learned"
    if key in ("learned", "time-aware", "calibrated", "configured", *PRESETS):
        return key
    if not Path(value).is_file():
        raise PipesheetError(
            "unknown probabilities to calibrate",
            table="options",
            column="--probabilities",
            value=value,
            expected="learned, time-aware, calibrated, configured, a preset ("
            + ", ".join(PRESETS)
            + ") or a stage/probability file (CSV or XLSX)",
        )
    from pipesheet.exports import read_table

    return read_table(value)


def cmd_waterfall(args: argparse.Namespace) -> int:
    """The waterfall between two snapshots, or between two dates of a history."""
    from pipesheet.waterfall import pipeline_waterfall, waterfall_from_history

    rates = rates_file(args)
    if args.from_date is not None or args.to_date is not None:
        if args.from_date is None or args.to_date is None:
            raise PipesheetError(
                "a waterfall between two dates needs both --from and --to",
                table="options",
                expected="--from DATE --to DATE with a stage-history file",
            )
        deals, history = load_files(args)
        history = need_history(history, "a waterfall between two dates")
        result = waterfall_from_history(
            history,
            args.from_date,
            args.to_date,
            deals,
            start=args.start,
            end=args.end,
            stages=history_stages(args, history),
            rates=rates,
            currency=args.currency,
            blank_amounts=args.blank_amounts,
        )
    else:
        if len(args.files) != 2:
            raise PipesheetError(
                f"a waterfall needs two snapshot files, {len(args.files)} given",
                table="options",
                expected="OPENING CLOSING (two deals exports), or a history file with --from "
                "DATE --to DATE",
            )
        from pipesheet.exports import read_table

        opening, closing = (
            read_table(
                f,
                sheet=args.sheet,
                table=args.table,
                encoding=args.encoding,
                dayfirst=args.dayfirst,
            )
            for f in args.files
        )
        for path, frame in zip(args.files, (opening, closing), strict=True):
            if is_history(frame):
                raise PipesheetError(
                    "this file is a stage history, not a deals snapshot",
                    table=Path(path).name,
                    expected="two deals snapshots, or --from DATE --to DATE for a history",
                )
        result = pipeline_waterfall(
            opening,
            closing,
            start=args.start,
            end=args.end,
            stages=given_stages(args),
            rates=rates,
            currency=args.currency,
            blank_amounts=args.blank_amounts,
        )
    period = ""
    if result.start is not None or result.end is not None:
        period = f", close dates {result.start.date() if result.start is not None else '…'} – "
        period += f"{result.end.date() if result.end is not None else '…'}"
    cur = f" ({result.currency})" if result.currency else ""
    show(
        args,
        {
            "steps": (f"Pipeline waterfall{cur}{period}", result.table),
            "deals": ("Deals by step", result.deals),
        },
        result.notes,
        on_request=("deals",),
    )
    return 0


def cmd_health(args: argparse.Namespace) -> int:
    """Stale deals, bottleneck stages and cycle time from the stage history."""
    from pipesheet.diagnostics import bottlenecks, cycle_time, stale_deals

    deals, history = load_files(args)
    history = need_history(history, "pipeline health")
    stages = history_stages(args, history)
    columns = only_fields(column_mapping(args), HISTORY_FIELDS)
    if args.top is not None and args.top < 1:
        raise PipesheetError(
            "--top must be 1 or more", table="options", column="--top", value=args.top
        )
    stale = stale_deals(
        history,
        deals,
        quantile=args.quantile,
        as_of=args.as_of,
        stages=stages,
        columns=columns,
        only_stale=not args.all_deals,
    )
    shown = stale.head(args.top) if args.top else stale
    benchmark = conversions_arg(args.benchmark) if args.benchmark else None
    neck = bottlenecks(
        history,
        period=args.period,
        trailing=args.trailing,
        benchmark=benchmark,
        min_deals=args.min_deals,
        fiscal_year_start=args.fiscal_year_start,
        as_of=args.as_of,
        stages=stages,
        columns=columns,
    )
    cycle = cycle_time(history, deals, as_of=args.as_of, stages=stages, columns=columns)
    which = "open deals" if args.all_deals else "stale deals"
    count = f"{len(shown)} of {len(stale)}" if len(shown) < len(stale) else f"{len(stale)}"
    tables = {
        "stale": (
            f"{which.capitalize()} ({count}, as of {stale.attrs['as_of'].date()})",
            shown,
        ),
        "bottlenecks": ("Bottlenecks (step conversion vs reference)", neck),
        "cycle": ("Cycle time (days)", cycle),
    }
    notes = [*stale.attrs.get("notes", []), *neck.attrs.get("notes", [])]
    if not args.json or args.show == "design":
        design_title, design, design_notes = _stage_design(args, history, deals, stages)
        tables["design"] = (design_title, design)
        notes += design_notes
    show(args, tables, notes, on_request=("design",))
    return 0


def _stage_design(args: argparse.Namespace, history, deals, stages) -> tuple[str, Any, list[str]]:
    """The stage design check (:func:`pipesheet.stage_design.stage_design_check`): its title,
    its flags, and the notes — each flag as a note too, unless ``--show design`` prints them."""
    from pipesheet.stage_design import stage_design_check

    result = stage_design_check(
        history, deals, as_of=args.as_of, stages=stages, columns=column_mapping(args)
    )
    title = str(result).splitlines()[0]
    notes = []
    if args.show != "design":
        notes = [
            f"stage design: [{r.check}] {f'{r.stage}: ' if r.stage else ''}{r.evidence} → "
            f"{r.suggestion}"
            for r in result.flags.itertuples()
        ] or [f"stage design: no flag raised ({len(result.evidence)} open stages)"]
    return title, result.flags, [*notes, *result.notes]


def add_parsers(sub: Any) -> None:
    """Add ``backtest``, ``calibration``, ``waterfall`` and ``diagnostics`` to the subparsers."""
    p = sub.add_parser(
        "backtest",
        help="time-aware vs weighted-pipeline forecasts of past periods (MAPE, bias)",
        description="Rebuild the pipeline the day before each period from the history, forecast "
        "the period with the time-aware and the weighted-pipeline methods, compare with what "
        "was won. Error = forecast/actual − 1; MAPE = mean |error|; bias = mean error.",
    )
    add_file_options(p, as_of=False, by=False)
    p.add_argument("--start", required=True, metavar="DATE", help="first day of the first period")
    p.add_argument("--periods", type=int, default=4, metavar="N", help="number of periods (4)")
    p.add_argument(
        "--period", choices=["month", "quarter"], default="month", help="period length (month)"
    )
    fiscal_year_start_option(p)
    p.add_argument(
        "--actual",
        choices=["pipeline", "all"],
        default="pipeline",
        help="pipeline: won from deals open at the start (default); all: every deal won",
    )
    add_money_options(p)
    p.add_argument(
        "--show",
        choices=["summary", "periods", "detail"],
        help="print only this table (with --json: default summary)",
    )
    p.set_defaults(func=cmd_backtest, as_of=None, by=None)

    p = sub.add_parser(
        "calibration",
        help="predicted vs realised win rates by bucket and stage, Brier score",
        description="Predict with only what was known on --as-of, then compare with what "
        "happened: predicted vs realised win rate per probability bucket and per stage, the "
        "Brier score mean((p − y)²) and the Brier skill 1 − Brier / Brier of always "
        "predicting the base rate (below 0: worse than the base rate).",
    )
    add_file_options(p, as_of=False, by=False)
    p.add_argument("--as-of", dest="as_of", metavar="DATE", help="prediction date (required)")
    p.add_argument(
        "--probabilities",
        "--method",
        dest="calibrated",
        default="learned",
        metavar="learned|time-aware|calibrated|configured|PRESET|FILE",
        help="which probabilities to check: learned (default: the stage probabilities P(win | "
        "stage) learned on --as-of), configured (the CRM's Probability column), a preset "
        "(salesforce, hubspot, suitecrm) or a stage/probability FILE — outcome by the end of "
        "the history; time-aware or calibrated: P(won by --period-end), outcome won by then "
        "(--method stage|time-aware is the older spelling)",
    )
    p.add_argument(
        "--period-end",
        metavar="DATE|month|quarter|year",
        help="window end for time-aware and calibrated",
    )
    p.add_argument("--buckets", type=int, default=10, help="probability buckets (10)")
    add_money_options(p)
    p.add_argument(
        "--show",
        choices=["buckets", "stages", "summary"],
        help="print only this table (with --json: default buckets)",
    )
    p.set_defaults(func=cmd_calibration, by=None)

    p = sub.add_parser(
        "waterfall",
        help="how the pipeline moved between two snapshots, or two dates of a history",
        description="opening + new + pulled in + increased − decreased − pushed out − won − "
        "lost − removed = closing, in deals and value, reconciled to the cent. Give two deals "
        "snapshots (OPENING CLOSING), or a stage history (and deals file) with --from/--to.",
    )
    add_file_options(p, as_of=False, by=False, columns=False)
    p.add_argument("--from", dest="from_date", metavar="DATE", help="opening date (history)")
    p.add_argument("--to", dest="to_date", metavar="DATE", help="closing date (history)")
    p.add_argument("--start", metavar="DATE", help="first day of the tracked close-date period")
    p.add_argument("--end", metavar="DATE", help="last day of the tracked close-date period")
    add_money_options(p)
    p.add_argument(
        "--show",
        choices=["steps", "deals"],
        help="print only this table (with --json: default steps)",
    )
    p.set_defaults(func=cmd_waterfall, as_of=None, by=None)

    p = sub.add_parser(
        "diagnostics",
        aliases=["health"],
        help="stale deals, bottleneck stages, cycle time and the stage design check",
        description="Stale = longer in the current stage than the --quantile of the time won "
        "deals spent there. Bottleneck = the stage whose step conversion falls furthest below "
        "its trailing average (or --benchmark). Cycle time = days to Won/Lost. Stage design: "
        "flags on the stage list itself (more than 6 open stages, stages most deals skip, "
        "stages that add no information, too few closed deals, deals moving back).",
    )
    add_file_options(p, as_of=False, by=False)
    p.add_argument("--as-of", dest="as_of", metavar="DATE", help="use only what was known then")
    p.add_argument("--quantile", type=float, default=0.8, help="stale threshold quantile (0.8)")
    p.add_argument("--top", type=int, metavar="N", help="show only the N most overdue deals")
    p.add_argument(
        "--all-deals", action="store_true", help="list every open deal, not only stale ones"
    )
    p.add_argument(
        "--period",
        choices=["month", "quarter", "year"],
        default="quarter",
        help="cohort period of the bottleneck check (quarter)",
    )
    fiscal_year_start_option(p)
    p.add_argument("--trailing", type=int, default=4, help="periods averaged as the reference")
    p.add_argument("--min-deals", type=int, default=10, help="closed deals a cohort needs (10)")
    p.add_argument(
        "--benchmark", metavar="STAGE=RATE,…", help="compare with these step conversions instead"
    )
    p.add_argument(
        "--show",
        choices=["stale", "bottlenecks", "cycle", "design"],
        help="print only this table (with --json: default stale); design: the stage design "
        "check's flags, each with its evidence and a suggestion (without --show they are notes)",
    )
    p.set_defaults(func=cmd_health, by=None)
