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
from pipesheet.formats import format_number
from pipesheet.i18n import _


def cmd_backtest(args: argparse.Namespace) -> int:
    """Forecast past periods both ways and compare with what was won."""
    from pipesheet.backtest import backtest

    deals, history = load_files(args)
    history = need_history(history, _("a backtest needs a stage-history file"))
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
    if result.best:
        title = _("Backtest: error by method (actual = {basis}; lower MAPE: {best})")
    else:
        title = _("Backtest: error by method (actual = {basis})")
    show(
        args,
        {
            "summary": (title.format(basis=result.actual_basis, best=result.best), result.summary),
            "periods": (_("Backtest by period (error = forecast / actual − 1)"), result.wide),
            "detail": (_("Backtest by period and method"), result.table),
        },
        result.notes,
        on_request=("detail",),
    )
    return 0


def cmd_calibration(args: argparse.Namespace) -> int:
    """Predicted vs realised win rates of the deals open on ``--as-of``."""
    from pipesheet.calibration import calibration

    deals, history = load_files(args)
    history = need_history(history, _("calibration needs a stage-history file"))
    if args.as_of is None:
        raise PipesheetError(
            _("calibration needs --as-of DATE"),
            table="options",
            column="--as-of",
            expected=_(
                "a past date: probabilities are predicted on it and checked against what "
                "happened after it"
            ),
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
    skill = result.brier_skill
    if skill != skill:  # NaN: no skill to show
        title = _("Brier score {brier} (always predicting the base rate: {reference})")
    else:
        title = _(
            "Brier score {brier} (always predicting the base rate: {reference}; skill {skill})"
        )
    title = title.format(
        brier=format_number(result.brier, 4),
        reference=format_number(result.brier_reference, 4),
        skill="" if skill != skill else ("-" if skill < 0 else "+") + format_number(abs(skill), 2),
    )
    show(
        args,
        {
            "buckets": (_("Calibration by probability bucket"), result.by_bucket),
            "stages": (_("Calibration by stage"), result.by_stage),
            "summary": (title, result.summary),
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
            _("unknown probabilities to calibrate"),
            table="options",
            column="--probabilities",
            value=value,
            expected=_(
                "learned, time-aware, calibrated, configured, a preset ({presets}) or a "
                "stage/probability file (CSV or XLSX)"
            ).format(presets=", ".join(PRESETS)),
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
                _("a waterfall between two dates needs both --from and --to"),
                table="options",
                expected=_("--from DATE --to DATE with a stage-history file"),
            )
        deals, history = load_files(args)
        history = need_history(
            history, _("a waterfall between two dates needs a stage-history file")
        )
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
                _("a waterfall needs two snapshot files, {count} given").format(
                    count=len(args.files)
                ),
                table="options",
                expected=_(
                    "OPENING CLOSING (two deals exports), or a history file with --from "
                    "DATE --to DATE"
                ),
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
                    _("this file is a stage history, not a deals snapshot"),
                    table=Path(path).name,
                    expected=_("two deals snapshots, or --from DATE --to DATE for a history"),
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
    cur = f" ({result.currency})" if result.currency else ""
    if result.start is not None or result.end is not None:
        title = _("Pipeline waterfall{currency}, close dates {start} – {end}").format(
            currency=cur,
            start=result.start.date() if result.start is not None else "…",
            end=result.end.date() if result.end is not None else "…",
        )
    else:
        title = _("Pipeline waterfall{currency}").format(currency=cur)
    show(
        args,
        {
            "steps": (title, result.table),
            "deals": (_("Deals by step"), result.deals),
        },
        result.notes,
        on_request=("deals",),
    )
    return 0


def cmd_health(args: argparse.Namespace) -> int:
    """Stale deals, bottleneck stages and cycle time from the stage history."""
    from pipesheet.diagnostics import bottlenecks, cycle_time, stale_deals

    deals, history = load_files(args)
    history = need_history(history, _("pipeline health needs a stage-history file"))
    stages = history_stages(args, history)
    columns = only_fields(column_mapping(args), HISTORY_FIELDS)
    if args.top is not None and args.top < 1:
        raise PipesheetError(
            _("--top must be 1 or more"), table="options", column="--top", value=args.top
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
    if len(shown) < len(stale):
        title = (
            _("Open deals ({shown} of {count}, as of {date})")
            if args.all_deals
            else _("Stale deals ({shown} of {count}, as of {date})")
        )
    else:
        title = (
            _("Open deals ({count}, as of {date})")
            if args.all_deals
            else _("Stale deals ({count}, as of {date})")
        )
    title = title.format(shown=len(shown), count=len(stale), date=stale.attrs["as_of"].date())
    tables = {
        "stale": (title, shown),
        "bottlenecks": (_("Bottlenecks (step conversion vs reference)"), neck),
        "cycle": (_("Cycle time (days)"), cycle),
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
        with_stage = _("stage design: [{check}] {stage}: {evidence} → {suggestion}")
        without = _("stage design: [{check}] {evidence} → {suggestion}")
        notes = [
            (with_stage if r.stage else without).format(
                check=r.check, stage=r.stage, evidence=r.evidence, suggestion=r.suggestion
            )
            for r in result.flags.itertuples()
        ] or [
            _("stage design: no flag raised ({count} open stages)").format(
                count=len(result.evidence)
            )
        ]
    return title, result.flags, [*notes, *result.notes]


def add_parsers(sub: Any) -> None:
    """Add ``backtest``, ``calibration``, ``waterfall`` and ``diagnostics`` to the subparsers."""
    p = sub.add_parser(
        "backtest",
        help=_("time-aware vs weighted-pipeline forecasts of past periods (MAPE, bias)"),
        description=_(
            "Rebuild the pipeline the day before each period from the history, forecast "
            "the period with the time-aware and the weighted-pipeline methods, compare with what "
            "was won. Error = forecast/actual − 1; MAPE = mean |error|; bias = mean error."
        ),
    )
    add_file_options(p, as_of=False, by=False)
    p.add_argument(
        "--start", required=True, metavar="DATE", help=_("first day of the first period")
    )
    p.add_argument("--periods", type=int, default=4, metavar="N", help=_("number of periods (4)"))
    p.add_argument(
        "--period", choices=["month", "quarter"], default="month", help=_("period length (month)")
    )
    fiscal_year_start_option(p)
    p.add_argument(
        "--actual",
        choices=["pipeline", "all"],
        default="pipeline",
        help=_("pipeline: won from deals open at the start (default); all: every deal won"),
    )
    add_money_options(p)
    p.add_argument(
        "--show",
        choices=["summary", "periods", "detail"],
        help=_("print only this table (with --json: default summary)"),
    )
    p.set_defaults(func=cmd_backtest, as_of=None, by=None)

    p = sub.add_parser(
        "calibration",
        help=_("predicted vs realised win rates by bucket and stage, Brier score"),
        description=_(
            "Predict with only what was known on --as-of, then compare with what "
            "happened: predicted vs realised win rate per probability bucket and per stage, the "
            "Brier score mean((p − y)²) and the Brier skill 1 − Brier / Brier of always "
            "predicting the base rate (below 0: worse than the base rate)."
        ),
    )
    add_file_options(p, as_of=False, by=False)
    p.add_argument("--as-of", dest="as_of", metavar="DATE", help=_("prediction date (required)"))
    p.add_argument(
        "--probabilities",
        "--method",
        dest="calibrated",
        default="learned",
        metavar="learned|time-aware|calibrated|configured|PRESET|FILE",
        help=_(
            "which probabilities to check: learned (default: the stage probabilities P(win | "
            "stage) learned on --as-of), configured (the CRM's Probability column), a preset "
            "(salesforce, hubspot, suitecrm) or a stage/probability FILE — outcome by the end of "
            "the history; time-aware or calibrated: P(won by --period-end), outcome won by then "
            "(--method stage|time-aware is the older spelling)"
        ),
    )
    p.add_argument(
        "--period-end",
        metavar="DATE|month|quarter|year",
        help=_("window end for time-aware and calibrated"),
    )
    p.add_argument("--buckets", type=int, default=10, help=_("probability buckets (10)"))
    add_money_options(p)
    p.add_argument(
        "--show",
        choices=["buckets", "stages", "summary"],
        help=_("print only this table (with --json: default buckets)"),
    )
    p.set_defaults(func=cmd_calibration, by=None)

    p = sub.add_parser(
        "waterfall",
        help=_("how the pipeline moved between two snapshots, or two dates of a history"),
        description=_(
            "opening + new + pulled in + increased − decreased − pushed out − won − "
            "lost − removed = closing, in deals and value, reconciled to the cent. Give two deals "
            "snapshots (OPENING CLOSING), or a stage history (and deals file) with --from/--to."
        ),
    )
    add_file_options(p, as_of=False, by=False, columns=False)
    p.add_argument("--from", dest="from_date", metavar="DATE", help=_("opening date (history)"))
    p.add_argument("--to", dest="to_date", metavar="DATE", help=_("closing date (history)"))
    p.add_argument("--start", metavar="DATE", help=_("first day of the tracked close-date period"))
    p.add_argument("--end", metavar="DATE", help=_("last day of the tracked close-date period"))
    add_money_options(p)
    p.add_argument(
        "--show",
        choices=["steps", "deals"],
        help=_("print only this table (with --json: default steps)"),
    )
    p.set_defaults(func=cmd_waterfall, as_of=None, by=None)

    p = sub.add_parser(
        "diagnostics",
        aliases=["health"],
        help=_("stale deals, bottleneck stages, cycle time and the stage design check"),
        description=_(
            "Stale = longer in the current stage than the --quantile of the time won "
            "deals spent there. Bottleneck = the stage whose step conversion falls furthest below "
            "its trailing average (or --benchmark). Cycle time = days to Won/Lost. Stage design: "
            "flags on the stage list itself (more than 6 open stages, stages most deals skip, "
            "stages that add no information, too few closed deals, deals moving back)."
        ),
    )
    add_file_options(p, as_of=False, by=False)
    p.add_argument("--as-of", dest="as_of", metavar="DATE", help=_("use only what was known then"))
    p.add_argument("--quantile", type=float, default=0.8, help=_("stale threshold quantile (0.8)"))
    p.add_argument("--top", type=int, metavar="N", help=_("show only the N most overdue deals"))
    p.add_argument(
        "--all-deals", action="store_true", help=_("list every open deal, not only stale ones")
    )
    p.add_argument(
        "--period",
        choices=["month", "quarter", "year"],
        default="quarter",
        help=_("cohort period of the bottleneck check (quarter)"),
    )
    fiscal_year_start_option(p)
    p.add_argument("--trailing", type=int, default=4, help=_("periods averaged as the reference"))
    p.add_argument("--min-deals", type=int, default=10, help=_("closed deals a cohort needs (10)"))
    p.add_argument(
        "--benchmark", metavar="STAGE=RATE,…", help=_("compare with these step conversions instead")
    )
    p.add_argument(
        "--show",
        choices=["stale", "bottlenecks", "cycle", "design"],
        help=_(
            "print only this table (with --json: default stale); design: the stage design "
            "check's flags, each with its evidence and a suggestion (without --show they are notes)"
        ),
    )
    p.set_defaults(func=cmd_health, by=None)
