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

FILE is a CSV or XLSX file; give a deals table and/or a stage-history table in any order: they
are read by :func:`pipesheet.exports.read_export`, which tells them apart by the export's known
shape, else by whether deal ids repeat, and says which file was read as what in a note.
Human-readable tables by default; ``--json`` prints a list of row objects whose keys are the
table headers (commands with several tables print the one chosen with ``--show``). Bad input
exits with status 2 and a clear message.
"""

from __future__ import annotations

import argparse
import json
import math
import os
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
from pipesheet.columns import DEAL_FIELDS, HISTORY_FIELDS, resolve_columns
from pipesheet.diagnostics import bottlenecks, cycle_time, stale_deals
from pipesheet.errors import PipesheetError
from pipesheet.exports import read_export, read_table
from pipesheet.exports.sources import table_role
from pipesheet.forecast import (
    BLANK_AMOUNTS,
    pipeline_position,
    pipeline_range,
    price_deals,
)
from pipesheet.labels import no_closed_label_message
from pipesheet.planning import days_in_stage_from_history, leads_needed, quota_gap
from pipesheet.presets import PRESETS, preset
from pipesheet.probabilities import StageProbabilities
from pipesheet.stages import DEFAULT_LOST, DEFAULT_WON, StageList, terminal_matcher
from pipesheet.waterfall import pipeline_waterfall, waterfall_from_history
from pipesheet.writer import check_output, write_workbook, written_by_pipesheet

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
    """A table is read as a stage history by the readers' rule
    (:func:`pipesheet.exports.sources.table_role`: the export's shape, else repeated deal ids)."""
    return table_role(frame)[0] == "history"


def _load(args: argparse.Namespace) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The deals table and the stage history of ``args.files``, in any order, read by the one
    loader every surface uses (:func:`pipesheet.exports.read_export`: CRM-aware, roles decided
    from the export's shape and repeated ids).  What it noticed (encoding, roles…) is kept in
    ``args`` and printed with the first result (human output only)."""
    if not args.files:
        return None, None
    export = read_export(
        *args.files,
        sheet=args.sheet,
        table=args.table,
        encoding=getattr(args, "encoding", None),
        dayfirst=getattr(args, "dayfirst", None),
        columns=_mapping(args) if getattr(args, "col", None) else None,
    )
    args.read_notes = list(export.notes)
    args.export_stages = export.stages
    learns = not (
        getattr(args, "command", None) == "waterfall"
        or getattr(args, "probabilities", None)
        or getattr(args, "conversions", None)
    )
    if export.history is not None and learns:
        _need_closed_labels(args, export.history)
    return export.deals, export.history


def _need_closed_labels(args: argparse.Namespace, history: pd.DataFrame) -> None:
    """A history without any Won or Lost label (defaults, or --won/--lost) teaches nothing: every
    deal is open.  Say so, listing the labels it has and how to declare them."""
    mapping = _only(_mapping(args), HISTORY_FIELDS) if getattr(args, "col", None) else None
    col = resolve_columns(
        history, HISTORY_FIELDS, ("stage",), table_name="history", mapping=mapping
    )["stage"]
    won = tuple(getattr(args, "won", None) or DEFAULT_WON)
    lost = tuple(getattr(args, "lost", None) or DEFAULT_LOST)
    if (terminal_matcher(won, lost).matches(history[col]) >= 0).any():
        return
    raise PipesheetError(
        no_closed_label_message(pd.unique(history[col].dropna().to_numpy()), "history"),
        table=history.attrs.get("label", "history"),
        column=col,
        expected="some deals that reached a Won or Lost stage",
    )


def _take_read_notes(args: argparse.Namespace) -> list[str]:
    notes = getattr(args, "read_notes", None) or []
    args.read_notes = []
    return notes


def _stage_list(args: argparse.Namespace) -> StageList | None:
    won = tuple(args.won) if args.won else DEFAULT_WON
    lost = tuple(args.lost) if args.lost else DEFAULT_LOST
    if args.stages:
        return StageList(tuple(s.strip() for s in args.stages.split(",") if s.strip()), won, lost)
    order = getattr(args, "export_stages", None)
    if order is not None:  # the export states its pipeline order (HubSpot's column order)
        return StageList(order.open, won, lost, order.source)
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
    if list(shown.columns) == ["measure", "value"] and shown["value"].dtype.kind == "f":
        shown["value"] = [
            f"{v * 100:.1f}%" if m in PERCENT_MEASURES and not _blank(v) else _number_text(v)
            for m, v in zip(shown["measure"], shown["value"], strict=True)
        ]
        return shown.to_string(index=False)
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


#: Measures (rows of a ``measure``/``value`` table) shown as percentages.
PERCENT_MEASURES = {"p_quota", "win_rate", "lead_to_win_rate"}


def _range_words(rng: Any) -> list[str]:
    """What the range's method and ``error_bound`` mean, in words, under the range table."""
    bound = _number_text(float(rng.error_bound))
    if rng.method == "exact":
        how = "exact — every combination of wins and losses counted, nothing rounded"
        err = f"error_bound {bound}: P10/P50/P90 are exact up to rounding of cents"
    elif rng.method == "lattice":
        how = (
            "lattice — amounts rounded to a fine grid and the distribution computed exactly on "
            "that grid"
        )
        err = f"error_bound {bound}: the most P10/P50/P90 can differ from the exact values"
    else:
        how = "monte_carlo — simulated pipelines (reproducible: fixed seed)"
        err = f"error_bound {bound}: P10/P50/P90 are this close to the exact values (99% sure)"
    lines = [
        f"method: {how}",
        err,
        "mean = Σ amount × probability; P10/P50/P90: 10% / 50% / 90% chance the total won is at "
        "most this",
    ]
    if rng.quota is not None and rng.p_quota is not None:
        lines.append("p_quota: the chance the total won reaches the quota")
    return lines


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


def _as_read(raw: pd.DataFrame, table: Any) -> pd.DataFrame:
    """``raw`` (a table as the file held it) with the amounts, probabilities and dates the
    engine read from it, so that a workbook shows numbers and dates, not their text."""
    out = raw.copy()
    rows = pd.RangeIndex(2, 2 + len(raw))  # the engine's frame is indexed by spreadsheet row
    for field, header in table.columns.items():
        if field in ("amount", "probability") or field.endswith("_date"):
            if field in table.frame and header in out:
                out[header] = table.frame[field].reindex(rows).to_numpy()
    return out


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
    for note in [*notes, *(() if getattr(args, "in_show", False) else _take_read_notes(args))]:
        print(f"note: {note}")
    print()


# ---- commands --------------------------------------------------------------------------------
def _learned_something(model: StageProbabilities) -> None:
    """Refuse a stage-probability table that could only be blank: no closed label at all, or a
    deals snapshot (no history), which cannot identify P(win | stage) (GLOSSARY "Snapshot")."""
    snapshot = model.history_ is None
    unordered = snapshot and model.stages_.source.startswith("inferred from the deals table")
    if model.table_["win_probability"].notna().any() and not unordered:
        return
    table = model.history_ if model.history_ is not None else model.deals_
    frame = table.frame
    if not (frame["code"] >= model.stages_.k).any():
        which = "history" if model.history_ is not None else "deals table"
        raise PipesheetError(
            no_closed_label_message(pd.unique(frame["stage"].to_numpy()), which),
            table=table.name,
            column=table.columns.get("stage"),
            expected="some deals in a Won or Lost stage",
        )
    if snapshot and model.table_["win_probability"].notna().any():
        raise PipesheetError(
            "the deals table says how far closed deals got (a status column), but not the "
            "order of the stages, which the estimate depends on (a deal is taken to have "
            "passed every stage before the one it was at)",
            table=table.name,
            expected="the funnel order: --stages A,B,C (or a stage-history file)",
        )
    if snapshot:
        raise PipesheetError(
            "stage probabilities cannot be learned from a deals table alone: a closed deal's "
            "row says Won or Lost but not how far it got, so P(win | stage) is not "
            "identifiable from a snapshot",
            table=table.name,
            expected="a stage-history file beside the deals file (e.g. OpportunityHistory.csv), "
            "or, to forecast without learning, forecast --probabilities "
            "salesforce|hubspot|suitecrm|configured|FILE",
        )


def cmd_stages(args: argparse.Namespace) -> int:
    deals, history = _load(args)
    model = _fit(args, deals, history)
    _learned_something(model)
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
        columns=_only(_mapping(args), DEAL_FIELDS),
    )
    table = priced.forecast(period, args.fiscal_year_start, args.by, total=not args.json)
    cur = table.attrs.get("currency")
    notes = list(table.attrs.get("notes", []))
    with_range = args.range or args.quota is not None
    if not (args.json and with_range):  # --json prints one document: the range when asked for
        _emit(args, f"Weighted forecast{f' ({cur})' if cur else ''}", table, notes)
    if with_range:
        rng = priced.range(args.quota)
        extra = [
            f"method: {rng.method}",
            f"the same {rng.deals:,} open deals as the weighted forecast (mean = its total "
            f"weighted {priced.weighted:,.0f})",
        ]
        if rng.closed is not None and args.quota is not None:
            extra.append(
                f"P(≥ quota) = P(closed so far {rng.closed:,.0f} + range ≥ {args.quota:,.0f})"
            )
        _emit(
            args,
            f"Forecast range{f' ({cur})' if cur else ''} (open deals, independent wins)",
            rng.to_frame(),
            extra=[*_range_words(rng), *extra[1:]],
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


def _days_arg(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in text.split(","):
        stage, sep, days = item.rpartition("=")
        try:
            value = float(days)
        except ValueError:
            value = math.nan
        if not sep or not stage.strip() or math.isnan(value):
            raise PipesheetError(
                "days in stage must look like Stage=days,...",
                table="options",
                column="--days-in-stage",
                value=item,
                expected="e.g. Lead=12,Qualified=20,Proposal=15",
            )
        out[" ".join(stage.split())] = value
    return out


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
    currency = args.currency.upper() if args.currency else None
    notes: list[str] = []
    if average is None:
        rates = read_table(args.rates) if args.rates else None
        pos = pipeline_position(
            deals,
            None,
            as_of=args.as_of,
            rates=rates,
            currency=args.currency,
            stages=model.stages_ if model else _given_stages(args),
            columns=_only(_mapping(args), DEAL_FIELDS),
            blank_amounts=args.blank_amounts,
        )
        notes = [n for n in pos.notes if "blank amount" in n]
        if math.isnan(pos.average_won_deal):
            raise PipesheetError(
                "no won deals to learn the average deal from",
                table="deals",
                expected="--average-deal N",
            )
        average, currency = pos.average_won_deal, pos.currency
    days = None
    if args.deadline is not None:
        if args.days_in_stage:
            days = _days_arg(args.days_in_stage)
        elif history is not None:
            days = days_in_stage_from_history(
                history,
                as_of=args.as_of,
                stages=model.stages_ if model else _history_stages(args, history),
                columns=_only(_mapping(args), HISTORY_FIELDS),
            )
    plan = leads_needed(
        args.target,
        average,
        conversions,
        deadline=args.deadline,
        days_in_stage=days,
        currency=currency,
    )
    title = f"Lead requirements (reverse funnel{f', {currency}' if currency else ''})"
    _emit(args, title, plan.table, notes, extra=plan.explanation)
    return 0


def cmd_gap(args: argparse.Namespace) -> int:
    deals, history = _load(args)
    closed, expected, pipeline = args.closed, args.expected_open, args.open_pipeline
    average, rate, cycle = args.average_deal, args.lead_to_win, args.cycle_days
    notes: list[str] = []
    currency = args.currency.upper() if args.currency else None
    cycle_source = "given (--cycle-days)" if cycle is not None else None
    model = None
    if deals is not None:
        probs, model = _probabilities(args, deals, history)
        rates = read_table(args.rates) if args.rates else None
        pos = pipeline_position(
            deals,
            probs,
            args.period_start,
            args.period_end,
            as_of=args.as_of,
            rates=rates,
            currency=args.currency,
            stages=model.stages_ if model else _given_stages(args),
            columns=_only(_mapping(args), DEAL_FIELDS),
            blank_amounts=args.blank_amounts,
        )
        notes = list(pos.notes)
        currency = pos.currency
        closed = pos.closed if closed is None else closed
        expected = pos.expected_open if expected is None else expected
        pipeline = pos.open_pipeline if pipeline is None else pipeline
        average = pos.average_won_deal if average is None else average
        if rate is None and model is not None:
            rate = model.overall_["win_probability"].iloc[0]
        if cycle is None and not math.isnan(pos.average_cycle_days):
            cycle = pos.average_cycle_days
            cycle_source = "mean days from created to closed over the won deals in the deals file"
    if cycle is None and history is not None:
        # the deals carry no created date: the history knows when each deal started
        stages = model.stages_ if model is not None else _history_stages(args, history)
        ct = cycle_time(
            history,
            deals,
            as_of=args.as_of,
            stages=stages,
            columns=_only(_mapping(args), HISTORY_FIELDS),
        )
        won = ct[ct["outcome"] == "won"].iloc[0]
        if won["deals"] > 0:
            cycle = float(won["mean_days"])
            cycle_source = (
                f"mean days to Won over the {int(won['deals']):,} won deals in the stage history "
                "(from each deal's first history row, as pipesheet health shows)"
            )
    if cycle is None and args.as_of is not None and args.period_end is not None:
        cycle_source = "unknown (no created dates, no stage history): taken as 0 days"
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
        cycle_source=cycle_source,
        currency=currency,
    )
    _emit(
        args,
        f"Quota gap{f' ({currency})' if currency else ''}",
        gap.to_frame(),
        notes,
        extra=gap.explanation,
    )
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    names = [args.name] if args.name else list(PRESETS)
    for name in names:
        _emit(args, f"Preset: {name}", preset(name))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from pipesheet.sample import SAMPLE_AS_OF, sample_deals, sample_history, sample_rates

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
    _emit(
        args, "Stage probabilities (learned from history, 90% interval)", model.table_, model.notes_
    )
    forecast = price_deals(deals, model, rates=rates).forecast("quarter", total=True)
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
        extra=_range_words(rng),
    )
    pos = pipeline_position(deals, model, rates=rates)
    plan = leads_needed(args.target, pos.average_won_deal, model, currency=pos.currency)
    cur = f" {pos.currency}" if pos.currency else ""
    _emit(
        args,
        f"Lead plan for a target of {args.target:,.0f}{cur} (average won deal "
        f"{pos.average_won_deal:,.0f}{cur})",
        plan.table,
        extra=plan.explanation,
    )
    write_workbook(
        out,
        {
            "Stage probabilities": model.table_,
            "Forecast": forecast,
            "Range": rng.to_frame(),
            "Lead plan": plan.table,
            "Deals": _as_read(deals, model.deals_),
            "History": _as_read(history, model.history_),
        },
        overwrite=replace,
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
    args.in_show = True  # the reader's notes go last, with the others
    for key, (title, frame) in tables.items():
        if key == chosen or (chosen is None and key not in on_request):
            _emit(args, title, frame)
    for note in dict.fromkeys([*notes, *_take_read_notes(args)]):
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
        blank_amounts=args.blank_amounts,
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
            blank_amounts=args.blank_amounts,
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
    p.add_argument(
        "--encoding",
        metavar="NAME",
        help="text encoding of CSV files (default: detected and named in a note), e.g. cp1250",
    )
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
    p.add_argument(
        "--period", choices=["month", "quarter"], default="month", help="period length (month)"
    )
    p.add_argument(
        "--fiscal-year-start",
        type=int,
        default=1,
        metavar="MONTH",
        help="first month of the fiscal year, 1-12 (default 1)",
    )
    p.add_argument(
        "--actual",
        choices=["pipeline", "all"],
        default="pipeline",
        help="pipeline: won from deals open at the start (default); all: every deal won",
    )
    p.add_argument("--rates", help="currency rates file (currency, rate)")
    p.add_argument("--currency", help="reporting currency code")
    blank_amounts_option(p)
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
    blank_amounts_option(p)
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
    p.add_argument(
        "--period",
        choices=["month", "quarter", "year"],
        default="quarter",
        help="cohort period of the bottleneck check (quarter)",
    )
    p.add_argument(
        "--fiscal-year-start",
        type=int,
        default=1,
        metavar="MONTH",
        help="first month of the fiscal year, 1-12 (default 1)",
    )
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
class _Parser(argparse.ArgumentParser):
    """argparse with the command's one error prefix: a usage error is one line,
    ``pipesheet: error: … (see 'pipesheet COMMAND --help')``, exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        _fail(f"{message} (see '{self.prog} --help')")
        raise SystemExit(EXIT_INPUT)


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
    p.add_argument(
        "--encoding",
        metavar="NAME",
        help="text encoding of CSV files (default: detected and named in a note), e.g. cp1250",
    )
    add_date_order(p)
    p.add_argument("--json", action="store_true", help="print JSON rows instead of tables")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pipesheet", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"pipesheet {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("stages", help="stage probabilities learned from history")
    _common(p)
    p.add_argument(
        "--method",
        choices=["cohort", "markov"],
        default="cohort",
        help="cohort: won ÷ closed among deals that reached the stage (default); markov: an "
        "absorbing chain of the observed stage-to-stage transitions",
    )
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
    p.add_argument(
        "--fiscal-year-start",
        type=int,
        default=1,
        metavar="MONTH",
        help="first month of the fiscal year, 1-12 (default 1: quarters are calendar quarters)",
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
    p.set_defaults(func=cmd_forecast, method="cohort")

    p = sub.add_parser("leads", help="reverse funnel: deals and leads needed for a target")
    _common(p, files="*")
    p.add_argument("--target", type=float, required=True, help="revenue target to reach")
    p.add_argument(
        "--average-deal",
        type=float,
        help="average won deal (default: the mean of the deals file's won deals)",
    )
    p.add_argument("--conversions", help="Stage=rate,... in funnel order, last stage to Won")
    p.add_argument("--deadline", help="date the target must be closed by")
    p.add_argument(
        "--days-in-stage",
        metavar="STAGE=DAYS,…",
        help="days a deal spends in each stage, for --deadline (default: learned from the "
        "history: median days of won deals' visits)",
    )
    p.add_argument("--rates", help="currency rates file (currency, rate)")
    p.add_argument("--currency", help="reporting currency code")
    blank_amounts_option(p)
    p.set_defaults(func=cmd_leads, method="cohort")

    p = sub.add_parser("gap", help="quota gap: what must come from new pipeline")
    _common(p, files="*")
    _forecast_options(p)
    p.add_argument("--quota", type=float, required=True, help="the period's quota")
    p.add_argument(
        "--closed", type=float, help="revenue already won in the period (default: from deals)"
    )
    p.add_argument(
        "--expected-open",
        type=float,
        help="weighted value of open deals closing in the period (default: from deals)",
    )
    p.add_argument(
        "--open-pipeline",
        type=float,
        help="unweighted open pipeline in the period, for coverage (default: from deals)",
    )
    p.add_argument(
        "--average-deal", type=float, help="average won deal (default: from the won deals)"
    )
    p.add_argument("--lead-to-win", type=float, help="share of leads that end up won")
    p.add_argument(
        "--cycle-days",
        type=float,
        help="average days from lead to won (default: from the deals' created and closed dates)",
    )
    p.add_argument("--period-start", metavar="DATE", help="first day of the quota period")
    p.add_argument("--period-end", metavar="DATE", help="last day of the quota period")
    p.set_defaults(func=cmd_gap, method="cohort")

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
    blank_amounts_option(p)


def blank_amounts_option(p: argparse.ArgumentParser) -> None:
    """``--blank-amounts error|skip|zero`` on a command that computes money."""
    p.add_argument(
        "--blank-amounts",
        choices=list(BLANK_AMOUNTS),
        default="error",
        help="what a blank amount on an open or won deal means: error (stop and name the rows; "
        "default), skip (leave those deals out of the money figures) or zero (count them as "
        "0) — skipped/zeroed deals are counted in a note",
    )


#: Exit statuses: 0 done; 2 bad input, options or files (one ``pipesheet: error:`` line);
#: 3 an internal error (a bug: one sentence saying where to report it); 130 interrupted (Ctrl+C);
#: 141 the reader of the output went away (``| head``), like a program ended by SIGPIPE.
EXIT_OK, EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 0, 2, 3, 130, 141
#: Set to 1 to see the Python traceback of an internal error (for a bug report).
DEBUG_ENV = "PIPESHEET_DEBUG"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pipesheet`` command; returns the exit status.

    The one guard of the command line: bad input (:class:`PipesheetError`, an unusable option,
    a file the system cannot read or write) prints one ``pipesheet: error: …`` line on stderr
    and returns 2; anything unexpected prints one sentence saying it is a bug and where to
    report it, and returns 3 (the traceback only with ``PIPESHEET_DEBUG=1``); a closed output
    pipe (``pipesheet … | head``) ends quietly with 141; Ctrl+C with 130. No Python exception
    type or traceback reaches the user otherwise.
    """
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the guard, not at exit
        return status
    except SystemExit as done:  # argparse: --help, --version, usage errors (already printed)
        return (
            EXIT_OK
            if done.code is None
            else done.code
            if isinstance(done.code, int)
            else EXIT_INPUT
        )
    except PipesheetError as err:
        return _fail(str(err))
    except BrokenPipeError:
        return _broken_pipe()
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except OSError as err:  # a file the system refuses (permissions, missing, full disk)
        where = f"{err.filename}: " if err.filename else ""
        return _fail(f"{where}{err.strerror or 'the operating system refused the operation'}.")
    except MemoryError:
        return _fail(
            "not enough memory for this input; expected a smaller file or a machine with more "
            "memory."
        )
    except Exception:
        if os.environ.get(DEBUG_ENV, "").strip() not in ("", "0"):
            raise
        print(
            "pipesheet: internal error: something went wrong inside pipesheet — a bug, not a "
            "problem with your files; please report it on the pipesheet issue tracker with the "
            f"command you ran (run it again with {DEBUG_ENV}=1 to include the details).",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def _fail(message: str) -> int:
    """Print the one error line and return the bad-input status."""
    text = " ".join(message.split())  # one line, whatever the message holds
    try:
        print(f"pipesheet: error: {text}", file=sys.stderr)
    except (BrokenPipeError, ValueError):  # stderr gone too: nothing left to tell
        pass
    return EXIT_INPUT


def _broken_pipe() -> int:
    """The reader of our output went away: stop quietly. Point stdout at /dev/null so that the
    interpreter's final flush does not report the same broken pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (tests, IDEs)
        pass
    return EXIT_BROKEN_PIPE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
