"""The ``pipesheet`` command line: a thin layer over the engine.

    pipesheet stages   FILE [FILE]      stage probabilities learned from history
    pipesheet forecast FILE [FILE]      weighted forecast by period and group (+ range)
    pipesheet leads    [FILE [FILE]]    reverse funnel for a target
    pipesheet gap      [FILE [FILE]]    quota gap and new leads needed per week
    pipesheet presets  [NAME]           CRM default stage probabilities
    pipesheet demo                      all of it on the bundled sample, plus a workbook
    pipesheet backtest FILE [FILE]      time-aware vs weighted-pipeline forecasts of past periods
    pipesheet calibration FILE [FILE]   predicted vs realised win rates, Brier score
    pipesheet waterfall FILE FILE       how the pipeline moved between two snapshots / dates
    pipesheet health   FILE [FILE]      stale deals, bottleneck stages, cycle time

FILE is a CSV or XLSX file; give a deals table and/or a stage-history table in any order (a
history file is recognised by having one row per deal, stage and date). Human-readable tables by
default; ``--json`` prints a list of row objects whose keys are the table headers (commands with
several tables print the one chosen with ``--show``). Bad input exits with status 2 and a clear
message.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipesheet import __version__
from pipesheet.backtest import backtest
from pipesheet.calibration import calibration
from pipesheet.cells import read_date_order
from pipesheet.columns import DEAL_FIELDS, HISTORY_FIELDS, normalise_header
from pipesheet.diagnostics import bottlenecks, cycle_time, stale_deals
from pipesheet.errors import PipesheetError
from pipesheet.exports import read_table
from pipesheet.files import write_workbook, written_by_pipesheet
from pipesheet.forecast import pipeline_position, pipeline_range, weighted_forecast
from pipesheet.planning import leads_needed, quota_gap
from pipesheet.presets import PRESETS, preset
from pipesheet.probabilities import StageProbabilities
from pipesheet.stages import DEFAULT_LOST, DEFAULT_WON, StageList
from pipesheet.waterfall import pipeline_waterfall, waterfall_from_history

PERCENT_COLUMNS = {
    "win_probability",
    "interval_low",
    "interval_high",
    "step_conversion",
    "configured_probability",
    "probability",
    "conversion_to_next",
    "conversion_to_won",
    # backtest, calibration, time-aware, bottlenecks
    "mape",
    "bias",
    "error",
    "abs_error",
    "total_error",
    "error_time_aware",
    "error_weighted",
    "predicted",
    "realised",
    "low",
    "high",
    "stage_probability",
    "eventual_win",
    "reference",
    "gap",
}


# ---- inputs ----------------------------------------------------------------------------------
def _is_history(frame: pd.DataFrame) -> bool:
    """A history table has a date-entered column and deal ids that repeat."""
    norm = {normalise_header(c): c for c in frame.columns}
    has_date = any(normalise_header(a) in norm for a in HISTORY_FIELDS["entered_date"])
    has_close = any(normalise_header(a) in norm for a in DEAL_FIELDS["close_date"])
    id_col = next(
        (
            norm[normalise_header(a)]
            for a in HISTORY_FIELDS["deal_id"]
            if normalise_header(a) in norm
        ),
        None,
    )
    repeats = id_col is not None and frame[id_col].duplicated().any()
    return has_date and (repeats or not has_close)


def _load(args: argparse.Namespace) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    deals = history = None
    for path in args.files or []:
        frame = read_table(
            path, sheet=args.sheet, table=args.table, dayfirst=getattr(args, "dayfirst", None)
        )
        if _is_history(frame):
            if history is not None:
                raise PipesheetError(
                    "two history files given",
                    table=Path(path).name,
                    expected="one deals file and/or one history file",
                )
            history = frame
        else:
            if deals is not None:
                raise PipesheetError(
                    "two deals files given",
                    table=Path(path).name,
                    expected="one deals file and/or one history file",
                )
            deals = frame
    return deals, history


def _stage_list(args: argparse.Namespace) -> StageList | None:
    won = tuple(args.won) if args.won else DEFAULT_WON
    lost = tuple(args.lost) if args.lost else DEFAULT_LOST
    if args.stages:
        return StageList(tuple(s.strip() for s in args.stages.split(",") if s.strip()), won, lost)
    if args.won or args.lost:
        return _Pending(won, lost)  # type: ignore[return-value]
    return None


class _Pending:
    """Won/Lost labels given without an open-stage order: the order is still inferred."""

    def __init__(self, won: tuple[str, ...], lost: tuple[str, ...]) -> None:
        self.won, self.lost = won, lost


def _mapping(args: argparse.Namespace) -> dict[str, str] | None:
    out: dict[str, str] = {}
    for item in args.col or []:
        field, sep, header = item.partition("=")
        if not sep or not field.strip() or not header.strip():
            raise PipesheetError(
                "column mapping must look like field=Header",
                table="options",
                column="--col",
                value=item,
                expected="e.g. --col stage=Fase",
            )
        out[field.strip()] = header.strip()
    return out or None


def _fit(args: argparse.Namespace, deals, history, **extra: Any) -> StageProbabilities:
    stages = _stage_list(args)
    if isinstance(stages, _Pending):
        from pipesheet.tables import read_history

        if history is None:
            raise PipesheetError(
                "--won/--lost without --stages need a history file to infer the stage order",
                table="options",
                expected="--stages A,B,C or a history file",
            )
        stages = read_history(
            history, won=stages.won, lost=stages.lost, columns=_only(_mapping(args), HISTORY_FIELDS)
        ).stages
    return StageProbabilities(
        method=getattr(args, "method", "cohort"),
        stages=stages,
        won_passes_all=getattr(args, "won_passes_all", False),
        shrinkage=getattr(args, "shrinkage", 0.0) or 0.0,
        as_of=args.as_of,
        by=extra.get("by", getattr(args, "by", None)),
        columns=_mapping(args),
    ).fit(history, deals)


def _only(mapping: dict[str, str] | None, fields: dict) -> dict[str, str] | None:
    if not mapping:
        return None
    return {k: v for k, v in mapping.items() if k in fields} or None


# ---- output ----------------------------------------------------------------------------------
def _jsonable(value: Any) -> Any:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, (float, np.floating)):
        if math.isnan(value) or math.isinf(value):
            return None
        return int(value) if float(value).is_integer() else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (pd.Timestamp,)):
        return value.date().isoformat()
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    cols = [str(c) for c in frame.columns]
    return [
        {c: _jsonable(v) for c, v in zip(cols, row, strict=True)}
        for row in frame.itertuples(index=False)
    ]


def _human(frame: pd.DataFrame) -> str:
    shown = frame.copy()
    for col in shown.columns:
        values = shown[col]
        if col in PERCENT_COLUMNS:
            shown[col] = values.map(lambda v: "" if pd.isna(v) else f"{v * 100:.1f}%")
        elif pd.api.types.is_float_dtype(values.dtype):
            shown[col] = values.map(_number_text)
        elif pd.api.types.is_datetime64_any_dtype(values.dtype):
            shown[col] = values.dt.strftime("%Y-%m-%d").fillna("")
        elif values.dtype == object:
            shown[col] = values.map(lambda v: "" if _blank(v) else v)
    return shown.to_string(index=False)


def _blank(v: Any) -> bool:
    return v is None or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def _number_text(v: float) -> str:
    if pd.isna(v):
        return ""
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    if abs(v) >= 1000 or float(v).is_integer():
        return f"{v:,.0f}"
    return f"{v:,.4g}"


def _emit(
    args: argparse.Namespace,
    title: str,
    frame: pd.DataFrame,
    notes: Sequence[str] = (),
    extra: Sequence[str] = (),
) -> None:
    if args.json:
        print(json.dumps(_records(frame), ensure_ascii=False, indent=1))
        return
    print(title)
    print(_human(frame))
    for line in extra:
        print(line)
    for note in notes:
        print(f"note: {note}")
    print()


# ---- commands --------------------------------------------------------------------------------
def cmd_stages(args: argparse.Namespace) -> int:
    deals, history = _load(args)
    model = _fit(args, deals, history)
    _emit(
        args,
        f"Stage probabilities ({model.method}; order {model.stages_.source})",
        model.table_,
        model.notes_,
    )
    return 0


def _probabilities(args: argparse.Namespace, deals, history):
    if args.probabilities:
        value = args.probabilities
        if value.casefold() in PRESETS or value.casefold() == "configured":
            return value, None
        return read_table(value), None
    if history is None:
        raise PipesheetError(
            "a forecast needs stage probabilities",
            table="options",
            expected="a history file to learn them from, or --probabilities "
            "salesforce|hubspot|suitecrm|configured|FILE",
        )
    model = _fit(args, deals, history, by=None)
    return model, model


def cmd_forecast(args: argparse.Namespace) -> int:
    deals, history = _load(args)
    if deals is None:
        raise PipesheetError(
            "a forecast needs a deals file",
            table="options",
            expected="a deals CSV/XLSX (one row per deal)",
        )
    probs, model = _probabilities(args, deals, history)
    rates = read_table(args.rates) if args.rates else None
    period = None if args.period == "none" else args.period
    stages = model.stages_ if model is not None else _given_stages(args)
    table = weighted_forecast(
        deals,
        probs,
        period=period,
        fiscal_year_start=args.fiscal_year_start,
        by=args.by,
        rates=rates,
        currency=args.currency,
        stages=stages,
        columns=_only(_mapping(args), DEAL_FIELDS),
        as_of=args.as_of,
        total=not args.json,
    )
    cur = table.attrs.get("currency")
    notes = list(table.attrs.get("notes", []))
    with_range = args.range or args.quota is not None
    if not (args.json and with_range):  # --json prints one document: the range when asked for
        _emit(args, f"Weighted forecast{f' ({cur})' if cur else ''}", table, notes)
    if with_range:
        rng = pipeline_range(
            deals,
            probs,
            quota=args.quota,
            rates=rates,
            currency=args.currency,
            stages=stages,
            columns=_only(_mapping(args), DEAL_FIELDS),
        )
        _emit(
            args,
            "Forecast range (open deals, independent wins)",
            rng.to_frame(),
            extra=[f"method: {rng.method}"],
        )
    return 0


def _given_stages(args: argparse.Namespace) -> StageList | None:
    stages = _stage_list(args)
    return None if isinstance(stages, _Pending) else stages


def _conversions_arg(text: str) -> list[tuple[str, float]]:
    pairs = []
    for item in text.split(","):
        stage, sep, rate = item.rpartition("=")
        if not sep:
            raise PipesheetError(
                "conversions must look like Stage=rate,...",
                table="options",
                column="--conversions",
                value=item,
                expected="e.g. Lead=0.5,Qualified=0.4,Proposal=0.25",
            )
        pairs.append((stage.strip(), rate.strip()))
    return pairs


def cmd_leads(args: argparse.Namespace) -> int:
    deals, history = _load(args)
    model = None
    if args.conversions:
        conversions: Any = _conversions_arg(args.conversions)
    else:
        if history is None:
            raise PipesheetError(
                "the reverse funnel needs conversion rates",
                table="options",
                expected="--conversions Lead=0.5,... or a history file",
            )
        model = _fit(args, deals, history, by=None)
        conversions = model
    average = args.average_deal
    if average is None:
        if deals is None:
            raise PipesheetError(
                "the reverse funnel needs an average deal",
                table="options",
                expected="--average-deal N, or a deals file to learn it from",
            )
        rates = read_table(args.rates) if args.rates else None
        pos = pipeline_position(
            deals,
            None,
            rates=rates,
            stages=model.stages_ if model else _given_stages(args),
            columns=_only(_mapping(args), DEAL_FIELDS),
        )
        if math.isnan(pos.average_won_deal):
            raise PipesheetError(
                "no won deals to learn the average deal from",
                table="deals",
                expected="--average-deal N",
            )
        average = pos.average_won_deal
    plan = leads_needed(args.target, average, conversions, deadline=args.deadline)
    _emit(args, "Lead requirements (reverse funnel)", plan.table, extra=plan.explanation)
    return 0


def cmd_gap(args: argparse.Namespace) -> int:
    deals, history = _load(args)
    closed, expected, pipeline = args.closed, args.expected_open, args.open_pipeline
    average, rate, cycle = args.average_deal, args.lead_to_win, args.cycle_days
    if deals is not None:
        probs, model = _probabilities(args, deals, history)
        rates = read_table(args.rates) if args.rates else None
        pos = pipeline_position(
            deals,
            probs,
            args.period_start,
            args.period_end,
            rates=rates,
            currency=args.currency,
            stages=model.stages_ if model else _given_stages(args),
            columns=_only(_mapping(args), DEAL_FIELDS),
        )
        closed = pos.closed if closed is None else closed
        expected = pos.expected_open if expected is None else expected
        pipeline = pos.open_pipeline if pipeline is None else pipeline
        average = pos.average_won_deal if average is None else average
        if rate is None and model is not None:
            rate = model.overall_["win_probability"].iloc[0]
        if cycle is None and not math.isnan(pos.average_cycle_days):
            cycle = pos.average_cycle_days
    if average is None or rate is None:
        raise PipesheetError(
            "the quota gap needs an average deal and a lead-to-win rate",
            table="options",
            expected="--average-deal and --lead-to-win, or deals + history files",
        )
    gap = quota_gap(
        args.quota,
        closed or 0.0,
        expected or 0.0,
        average_deal=average,
        lead_to_win_rate=rate,
        open_pipeline=pipeline,
        today=args.as_of,
        period_end=args.period_end,
        cycle_days=cycle or 0.0,
    )
    _emit(args, "Quota gap", gap.to_frame(), extra=gap.explanation)
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    names = [args.name] if args.name else list(PRESETS)
    for name in names:
        _emit(args, f"Preset: {name}", preset(name))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from pipesheet.sample import SAMPLE_AS_OF, sample_deals, sample_history, sample_rates

    deals, history, rates = sample_deals(), sample_history(), sample_rates()
    model = StageProbabilities().fit(history, deals)
    print(
        f"pipesheet {__version__} demo — bundled sample: {len(deals):,} deals, "
        f"{len(history):,} history rows, as of {SAMPLE_AS_OF}\n"
    )
    _emit(
        args, "Stage probabilities (learned from history, 90% interval)", model.table_, model.notes_
    )
    forecast = weighted_forecast(deals, model, period="quarter", rates=rates, total=True)
    _emit(
        args,
        f"Weighted forecast by quarter ({forecast.attrs['currency']})",
        forecast,
        forecast.attrs["notes"],
    )
    quota = float(args.quota)
    rng = pipeline_range(deals, model, quota=quota, rates=rates)
    _emit(
        args,
        f"Forecast range of the open pipeline (quota {quota:,.0f})",
        rng.to_frame(),
        extra=[f"method: {rng.method}"],
    )
    pos = pipeline_position(deals, model, rates=rates)
    plan = leads_needed(args.target, pos.average_won_deal, model)
    _emit(args, f"Lead plan for a target of {args.target:,.0f}", plan.table, extra=plan.explanation)
    out = Path(args.output)
    write_workbook(
        out,
        {
            "Stage probabilities": model.table_,
            "Forecast": forecast,
            "Range": rng.to_frame(),
            "Lead plan": plan.table,
            "Deals": deals,
            "History": history,
        },
        # replace an earlier demo workbook, never a file of the user's
        overwrite=args.force or written_by_pipesheet(out),
    )
    print(f"Wrote {out}")
    return 0


# ---- finance commands: backtest, calibration, waterfall, health ------------------------------
def _show(
    args: argparse.Namespace,
    tables: dict[str, tuple[str, pd.DataFrame]],
    notes: Sequence[str] = (),
    on_request: Sequence[str] = (),
) -> None:
    """Print the tables (or only the one chosen with ``--show``; ``on_request`` ones only then);
    with ``--json`` one list of rows: the ``--show`` table, else the first."""
    chosen = args.show
    if args.json:
        print(
            json.dumps(
                _records(tables[chosen or next(iter(tables))][1]), ensure_ascii=False, indent=1
            )
        )
        return
    for key, (title, frame) in tables.items():
        if key == chosen or (chosen is None and key not in on_request):
            _emit(args, title, frame)
    for note in dict.fromkeys(notes):
        print(f"note: {note}")


def _need_history(history: pd.DataFrame | None, what: str) -> pd.DataFrame:
    if history is None:
        raise PipesheetError(
            f"{what} needs a stage-history file",
            table="options",
            expected="a history CSV/XLSX (deal id, stage, date entered), e.g. OpportunityHistory",
        )
    return history


def _history_stages(args: argparse.Namespace, history: pd.DataFrame) -> StageList | None:
    """--stages / --won / --lost for a history-based command (the open order is inferred from the
    history when only --won/--lost are given)."""
    stages = _stage_list(args)
    if isinstance(stages, _Pending):
        from pipesheet.tables import read_history

        return read_history(
            history,
            won=stages.won,
            lost=stages.lost,
            columns=_only(_mapping(args), HISTORY_FIELDS),
        ).stages
    return stages


def cmd_backtest(args: argparse.Namespace) -> int:
    deals, history = _load(args)
    history = _need_history(history, "a backtest")
    result = backtest(
        history,
        deals,
        args.start,
        periods=args.periods,
        period=args.period,
        actual=args.actual,
        fiscal_year_start=args.fiscal_year_start,
        rates=read_table(args.rates) if args.rates else None,
        currency=args.currency,
        stages=_history_stages(args, history),
        columns=_mapping(args),
    )
    best = f"; lower MAPE: {result.best}" if result.best else ""
    _show(
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
    deals, history = _load(args)
    history = _need_history(history, "calibration")
    if args.as_of is None:
        raise PipesheetError(
            "calibration needs --as-of DATE",
            table="options",
            column="--as-of",
            expected="a past date: probabilities are predicted on it and checked against what "
            "happened after it",
        )
    result = calibration(
        history,
        deals,
        args.as_of,
        method=args.method,
        period_end=args.period_end,
        buckets=args.buckets,
        stages=_history_stages(args, history),
        columns=_mapping(args),
    )
    _show(
        args,
        {
            "buckets": ("Calibration by probability bucket", result.by_bucket),
            "stages": ("Calibration by stage", result.by_stage),
            "summary": (
                f"Brier score {result.brier:.4f} (reference {result.brier_reference:.4f})",
                result.summary,
            ),
        },
        result.notes,
    )
    return 0


def cmd_waterfall(args: argparse.Namespace) -> int:
    rates = read_table(args.rates) if args.rates else None
    if args.from_date is not None or args.to_date is not None:
        if args.from_date is None or args.to_date is None:
            raise PipesheetError(
                "a waterfall between two dates needs both --from and --to",
                table="options",
                expected="--from DATE --to DATE with a stage-history file",
            )
        deals, history = _load(args)
        history = _need_history(history, "a waterfall between two dates")
        result = waterfall_from_history(
            history,
            args.from_date,
            args.to_date,
            deals,
            start=args.start,
            end=args.end,
            stages=_history_stages(args, history),
            rates=rates,
            currency=args.currency,
        )
    else:
        if len(args.files) != 2:
            raise PipesheetError(
                f"a waterfall needs two snapshot files, {len(args.files)} given",
                table="options",
                expected="OPENING CLOSING (two deals exports), or a history file with --from "
                "DATE --to DATE",
            )
        opening, closing = (
            read_table(f, sheet=args.sheet, table=args.table, dayfirst=args.dayfirst)
            for f in args.files
        )
        for path, frame in zip(args.files, (opening, closing), strict=True):
            if _is_history(frame):
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
            stages=_given_stages(args),
            rates=rates,
            currency=args.currency,
        )
    period = ""
    if result.start is not None or result.end is not None:
        period = f", close dates {result.start.date() if result.start is not None else '…'} – "
        period += f"{result.end.date() if result.end is not None else '…'}"
    cur = f" ({result.currency})" if result.currency else ""
    _show(
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
    deals, history = _load(args)
    history = _need_history(history, "pipeline health")
    stages = _history_stages(args, history)
    columns = _only(_mapping(args), HISTORY_FIELDS)
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
    benchmark = _conversions_arg(args.benchmark) if args.benchmark else None
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
    _show(
        args,
        {
            "stale": (
                f"{which.capitalize()} ({count}, as of {stale.attrs['as_of'].date()})",
                shown,
            ),
            "bottlenecks": ("Bottlenecks (step conversion vs reference)", neck),
            "cycle": ("Cycle time (days)", cycle),
        },
        [*stale.attrs.get("notes", []), *neck.attrs.get("notes", [])],
    )
    return 0


def date_order_arg(value: str) -> bool | None:
    """``--date-order dmy|mdy`` as ``dayfirst`` (True: day first; ``auto``: from the data)."""
    try:
        return read_date_order(value, "--date-order")
    except PipesheetError:
        raise argparse.ArgumentTypeError(
            "expected dmy (day first: 25/03/2027) or mdy (month first: 03/25/2027)"
        ) from None


def add_date_order(p: argparse.ArgumentParser) -> None:
    """The one day/month setting of every command that reads files (see pipesheet.cells)."""
    p.add_argument(
        "--date-order",
        dest="dayfirst",
        type=date_order_arg,
        default=None,
        metavar="dmy|mdy",
        help="order of dates such as 03/04/2027 when no date in the file tells (a part above "
        "12); without it such dates are refused",
    )


def _finance_common(p: argparse.ArgumentParser, files: str = "+", col: bool = True) -> None:
    p.add_argument(
        "files", nargs=files, metavar="FILE", help="deals and/or stage-history table (CSV or XLSX)"
    )
    p.add_argument("--stages", help="ordered open stages, e.g. Lead,Qualified,Proposal")
    p.add_argument("--won", action="append", metavar="LABEL", help="label meaning Won (repeatable)")
    p.add_argument(
        "--lost", action="append", metavar="LABEL", help="label meaning Lost (repeatable)"
    )
    if col:
        p.add_argument(
            "--col",
            action="append",
            metavar="FIELD=HEADER",
            help="map a field to your header, e.g. --col stage=Fase (repeatable)",
        )
    p.add_argument("--sheet", help="worksheet to read from XLSX files")
    p.add_argument("--table", help="Excel Table to read from XLSX files")
    add_date_order(p)
    p.add_argument("--json", action="store_true", help="print JSON rows instead of tables")


def _add_finance_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "backtest",
        help="time-aware vs weighted-pipeline forecasts of past periods (MAPE, bias)",
        description="Rebuild the pipeline the day before each period from the history, forecast "
        "the period with the time-aware and the weighted-pipeline methods, compare with what "
        "was won. Error = forecast/actual − 1; MAPE = mean |error|; bias = mean error.",
    )
    _finance_common(p)
    p.add_argument("--start", required=True, metavar="DATE", help="first day of the first period")
    p.add_argument("--periods", type=int, default=4, metavar="N", help="number of periods (4)")
    p.add_argument("--period", choices=["month", "quarter"], default="month")
    p.add_argument("--fiscal-year-start", type=int, default=1, metavar="MONTH")
    p.add_argument(
        "--actual",
        choices=["pipeline", "all"],
        default="pipeline",
        help="pipeline: won from deals open at the start (default); all: every deal won",
    )
    p.add_argument("--rates", help="currency rates file (currency, rate)")
    p.add_argument("--currency", help="reporting currency code")
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
        "happened: predicted vs realised win rate per probability bucket and per stage, and "
        "the Brier score mean((p − y)²).",
    )
    _finance_common(p)
    p.add_argument("--as-of", dest="as_of", metavar="DATE", help="prediction date (required)")
    p.add_argument(
        "--method",
        choices=["stage", "time-aware"],
        default="stage",
        help="stage: P(win | stage); time-aware: P(won by --period-end)",
    )
    p.add_argument(
        "--period-end", metavar="DATE|month|quarter|year", help="window end for time-aware"
    )
    p.add_argument("--buckets", type=int, default=10, help="probability buckets (10)")
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
    _finance_common(p, col=False)
    p.add_argument("--from", dest="from_date", metavar="DATE", help="opening date (history)")
    p.add_argument("--to", dest="to_date", metavar="DATE", help="closing date (history)")
    p.add_argument("--start", metavar="DATE", help="first day of the tracked close-date period")
    p.add_argument("--end", metavar="DATE", help="last day of the tracked close-date period")
    p.add_argument("--rates", help="currency rates file (currency, rate)")
    p.add_argument("--currency", help="reporting currency code")
    p.add_argument(
        "--show",
        choices=["steps", "deals"],
        help="print only this table (with --json: default steps)",
    )
    p.set_defaults(func=cmd_waterfall, as_of=None, by=None)

    p = sub.add_parser(
        "health",
        help="stale deals, bottleneck stages and cycle time from the stage history",
        description="Stale = longer in the current stage than the --quantile of the time won "
        "deals spent there. Bottleneck = the stage whose step conversion falls furthest below "
        "its trailing average (or --benchmark). Cycle time = days to Won/Lost.",
    )
    _finance_common(p)
    p.add_argument("--as-of", dest="as_of", metavar="DATE", help="use only what was known then")
    p.add_argument("--quantile", type=float, default=0.8, help="stale threshold quantile (0.8)")
    p.add_argument("--top", type=int, metavar="N", help="show only the N most overdue deals")
    p.add_argument(
        "--all-deals", action="store_true", help="list every open deal, not only stale ones"
    )
    p.add_argument("--period", choices=["month", "quarter", "year"], default="quarter")
    p.add_argument("--fiscal-year-start", type=int, default=1, metavar="MONTH")
    p.add_argument("--trailing", type=int, default=4, help="periods averaged as the reference")
    p.add_argument("--min-deals", type=int, default=10, help="closed deals a cohort needs (10)")
    p.add_argument(
        "--benchmark", metavar="STAGE=RATE,…", help="compare with these step conversions instead"
    )
    p.add_argument(
        "--show",
        choices=["stale", "bottlenecks", "cycle"],
        help="print only this table (with --json: default stale)",
    )
    p.set_defaults(func=cmd_health, by=None)


# ---- parser ----------------------------------------------------------------------------------
def _common(p: argparse.ArgumentParser, files: str = "+") -> None:
    p.add_argument(
        "files", nargs=files, metavar="FILE", help="deals and/or stage-history table (CSV or XLSX)"
    )
    p.add_argument("--stages", help="ordered open stages, e.g. Lead,Qualified,Proposal")
    p.add_argument("--won", action="append", metavar="LABEL", help="label meaning Won (repeatable)")
    p.add_argument(
        "--lost", action="append", metavar="LABEL", help="label meaning Lost (repeatable)"
    )
    p.add_argument(
        "--as-of", dest="as_of", metavar="DATE", help="use only what was known on this date"
    )
    p.add_argument("--by", metavar="COLUMN", help="one table per group of this deals column")
    p.add_argument(
        "--col",
        action="append",
        metavar="FIELD=HEADER",
        help="map a field to your header, e.g. --col stage=Fase (repeatable)",
    )
    p.add_argument("--sheet", help="worksheet to read from XLSX files")
    p.add_argument("--table", help="Excel Table to read from XLSX files")
    add_date_order(p)
    p.add_argument("--json", action="store_true", help="print JSON rows instead of tables")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pipesheet", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"pipesheet {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("stages", help="stage probabilities learned from history")
    _common(p)
    p.add_argument("--method", choices=["cohort", "markov"], default="cohort")
    p.add_argument(
        "--won-passes-all",
        action="store_true",
        help="count won deals as having reached every stage (Odoo's convention)",
    )
    p.add_argument(
        "--shrinkage",
        type=float,
        default=0.0,
        help="pull small groups toward the overall rate with this weight",
    )
    p.set_defaults(func=cmd_stages)

    p = sub.add_parser("forecast", help="weighted forecast by period and group")
    _common(p)
    _forecast_options(p)
    p.add_argument(
        "--range",
        action="store_true",
        help="also print P10/P50/P90 (with --json: print only the range rows)",
    )
    p.add_argument("--quota", type=float, help="quota for P(revenue ≥ quota)")
    p.add_argument("--period", choices=["month", "quarter", "year", "none"], default="month")
    p.add_argument("--fiscal-year-start", type=int, default=1, metavar="MONTH")
    p.set_defaults(func=cmd_forecast, method="cohort")

    p = sub.add_parser("leads", help="reverse funnel: deals and leads needed for a target")
    _common(p, files="*")
    p.add_argument("--target", type=float, required=True)
    p.add_argument("--average-deal", type=float)
    p.add_argument("--conversions", help="Stage=rate,... in funnel order, last stage to Won")
    p.add_argument("--deadline", help="date the target must be closed by")
    p.add_argument("--rates", help="currency rates file (currency, rate)")
    p.set_defaults(func=cmd_leads, method="cohort")

    p = sub.add_parser("gap", help="quota gap: what must come from new pipeline")
    _common(p, files="*")
    _forecast_options(p)
    p.add_argument("--quota", type=float, required=True)
    p.add_argument("--closed", type=float)
    p.add_argument("--expected-open", type=float)
    p.add_argument("--open-pipeline", type=float)
    p.add_argument("--average-deal", type=float)
    p.add_argument("--lead-to-win", type=float, help="share of leads that end up won")
    p.add_argument("--cycle-days", type=float)
    p.add_argument("--period-start", metavar="DATE")
    p.add_argument("--period-end", metavar="DATE")
    p.set_defaults(func=cmd_gap, method="cohort")

    p = sub.add_parser("presets", help="CRM default stage probabilities")
    p.add_argument("name", nargs="?", choices=list(PRESETS))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser("demo", help="run everything on the bundled sample pipeline")
    p.add_argument("--output", default="pipesheet-demo.xlsx", help="workbook to write")
    p.add_argument(
        "--force", action="store_true", help="replace --output even if pipesheet did not write it"
    )
    p.add_argument("--target", type=float, default=2_000_000)
    p.add_argument("--quota", type=float, default=3_500_000)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_demo)

    _add_finance_parsers(sub)

    for module in ("pipesheet.apps.serve", "pipesheet.report"):
        try:
            mod = __import__(module, fromlist=["add_parser"])
        except ImportError:
            continue
        mod.add_parser(sub)
    return parser


def _forecast_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--probabilities",
        metavar="PRESET|configured|FILE",
        help="use these stage probabilities instead of learning them",
    )
    p.add_argument("--rates", help="currency rates file (currency, rate)")
    p.add_argument("--currency", help="reporting currency code")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pipesheet`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except PipesheetError as err:
        print(f"pipesheet: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
