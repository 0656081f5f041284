"""``pipesheet report``: a finance workbook built from CRM exports.

    pipesheet report INPUT… -o report.xlsx [--force] [--period quarter] [--by owner] …

:func:`build_report` reads the exports (:func:`pipesheet.exports.read_export`) and computes every
sheet with the public API; :func:`write_report` writes them to a *new* workbook:

==========================  =====================================================================
Summary                     key figures and notes (what was read, what was assumed)
Stage probabilities         :class:`pipesheet.StageProbabilities` ``.table_`` (+ chart)
Forecast                    :func:`pipesheet.weighted_forecast` by period (and ``--by`` group)
Range                       :func:`pipesheet.ranges.forecast_range` of the open pipeline
Lead plan                   :func:`pipesheet.leads_needed` for the target
Waterfall                   :func:`pipesheet.waterfall.waterfall_from_history` over the current
                            period so far, or between ``--previous`` snapshot and now (+ chart)
Backtest                    :func:`pipesheet.backtest.backtest` (time-aware vs weighted pipeline)
Calibration                 :func:`pipesheet.calibration.calibration` of the stage probabilities
                            predicted at the start of the backtest (by stage, by bucket, Brier)
Diagnostics                 bottlenecks, cycle time, stale deals (:mod:`pipesheet.diagnostics`)
==========================  =====================================================================

The workbook has number formats, frozen header rows, one Excel Table per table and native Excel
charts. The inputs are only read (never saved); an existing output is refused unless ``force``;
the file is written to a temporary file in the same folder and renamed into place; text from the
data that starts with ``=``, ``+``, ``-`` or ``@`` is stored as text (quote prefix) so Excel never
runs it as a formula.  A progress bar (``tqdm``, the ``report`` extra) shows on long runs.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from pipesheet.errors import PipesheetError
from pipesheet.files import MONEY, PERCENT, write_workbook
from pipesheet.periods import period_bounds, read_date_setting

__all__ = ["SHEETS", "Report", "add_parser", "build_report", "run", "write_report"]

SHEETS = (
    "Summary",
    "Stage probabilities",
    "Forecast",
    "Range",
    "Lead plan",
    "Waterfall",
    "Backtest",
    "Calibration",
    "Diagnostics",
)


@dataclass
class Report:
    """Everything the workbook shows, as frames (``sheets[name]`` is a list of titled tables).

    Attributes:
        sheets: ``{sheet: [(title, table), …]}`` in workbook order.
        summary: The Summary sheet's rows (``item``, ``value``).
        notes: What was read and assumed.
    """

    sheets: dict[str, list[tuple[str, pd.DataFrame]]]
    summary: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def _progress(total: int, enabled: bool):
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # the report extra is not installed: no bar
        return None
    return tqdm(total=total, desc="pipesheet report", unit="step", file=sys.stderr, leave=False)


def build_report(
    *inputs: str | Path | pd.DataFrame,
    previous: str | Path | pd.DataFrame | None = None,
    period: str = "quarter",
    fiscal_year_start: int = 1,
    by: str | None = None,
    as_of: Any = None,
    target: float | None = None,
    quota: float | None = None,
    rates: str | Path | pd.DataFrame | Mapping[str, float] | None = None,
    currency: str | None = None,
    backtest_periods: int = 4,
    stale_quantile: float = 0.80,
    probabilities: Any = None,
    sheet: str | None = None,
    table: str | None = None,
    dayfirst: bool | None = None,
    progress: bool | None = None,
) -> Report:
    """Compute every sheet of the report from export files (or frames).

    Args:
        inputs: Deals export and/or stage-history export (any tool :mod:`pipesheet.exports` reads).
        previous: An earlier deals snapshot; the waterfall then runs from it to ``inputs``.
        period: ``"month"``, ``"quarter"`` or ``"year"`` for the forecast, waterfall, backtest.
        by: Group the forecast (owner, product line, country, segment…).
        as_of: Report date (default: latest date in the history, else today).
        target: Revenue target of the lead plan (default: average won revenue per period over
            the last four periods).
        quota: Quota for P(total ≥ quota) in the range.
        rates: Currency rates (file, table or mapping) when deals mix currencies.
        backtest_periods: Past periods in the backtest.
        stale_quantile: Stale = longer in stage than this quantile of won deals.
        probabilities: Stage probabilities for the forecast and range instead of the learned
            ones: a preset name (``"salesforce"``, ``"hubspot"``, ``"suitecrm"``),
            ``"configured"`` (the deals' own probability column), or a stage/probability table
            (a file path or a frame). For exports whose stages have no closed deals yet.
        progress: Show a progress bar (default: on for 50,000+ deals when stderr is a terminal).
    """
    from pipesheet.exports import read_export, read_table
    from pipesheet.forecast import (
        period_labels,
        pipeline_range,
        reporting_amounts,
        weighted_forecast,
    )
    from pipesheet.planning import leads_needed
    from pipesheet.probabilities import StageProbabilities
    from pipesheet.tables import read_deals, read_history

    steps = 9
    export = read_export(*inputs, sheet=sheet, table=table, dayfirst=dayfirst)
    if export.deals is None:
        raise PipesheetError(
            "the report needs a deals table",
            expected="a deals (opportunities) export, plus optionally a stage history",
        )
    if progress is None:
        progress = len(export.deals) >= 50_000 and sys.stderr.isatty()
    bar = _progress(steps, bool(progress))

    def tick(label: str) -> None:
        if bar is not None:
            bar.set_postfix_str(label)
            bar.update(1)

    try:
        if isinstance(rates, (str, Path)):
            rates = read_table(rates)
        notes = list(export.notes)
        stages = export.stages
        history = None
        if export.history is not None:
            history = read_history(export.history, stages=stages)
            stages = history.stages
        deals = read_deals(export.deals, stages=stages)
        stages = deals.stages
        if history is not None and history.stages != stages:
            history = read_history(export.history, stages=stages)
        notes += [n for n in (*deals.notes, *(history.notes if history else [])) if n not in notes]
        tick("read")
        if as_of is None:
            as_of_ts = (
                history.frame["entered_date"].max().normalize()
                if history is not None
                else pd.Timestamp(date.today())
            )
        else:
            as_of_ts = read_date_setting(as_of, "as_of")  # a day: the whole day is meant
        model = StageProbabilities(stages=stages, as_of=as_of_ts).fit(
            history if history is not None else None, deals
        )
        notes += [n for n in model.notes_ if n not in notes]
        probs = model.table_.copy()
        tick("stage probabilities")
        source: Any = model
        given: pd.DataFrame | None = None
        unknown = probs.loc[probs["win_probability"].isna(), "stage"].tolist()
        open_stages = set(deals.frame.loc[deals.frame["code"] < stages.k, "stage"].map(str))
        if probabilities is not None:
            source, given, label = _given_probabilities(probabilities)
            notes.append(f"the forecast and range use the given stage probabilities ({label})")
        elif set(unknown) & open_stages and "probability" in deals.frame:
            source = "configured"
            notes.append(
                "no learned win probability for " + ", ".join(unknown) + ": the forecast, range "
                "and lead plan use the CRM's configured probabilities instead"
            )
        forecast = weighted_forecast(
            deals,
            source,
            period=period,
            fiscal_year_start=fiscal_year_start,
            by=by,
            rates=rates,
            currency=currency,
            total=True,
        )
        cur = forecast.attrs.get("currency")
        notes += [n for n in forecast.attrs.get("notes", []) if n not in notes]
        tick("forecast")
        amounts, cur = reporting_amounts(deals, rates, currency or cur)
        is_open = (deals.frame["code"] < stages.k).to_numpy()
        rng = pipeline_range(deals, source, quota=quota, rates=rates, currency=currency or cur)
        range_frame = rng.to_frame()
        tick("range")
        won = (deals.frame["code"] == stages.k).to_numpy()
        average_deal = float(amounts[won].mean()) if won.any() else math.nan
        closed_on = (
            deals.frame["closed_date"]
            if "closed_date" in deals.frame
            else deals.frame["close_date"]
        )
        won_periods = period_labels(closed_on[won], period, fiscal_year_start)
        won_by_period = pd.Series(amounts[won]).groupby(won_periods.to_numpy()).sum()
        current_label = period_labels(pd.Series([as_of_ts]), period, fiscal_year_start).iloc[0]
        past = won_by_period[won_by_period.index < current_label].sort_index().tail(4)
        target_note = ""
        if target is None and len(past):
            target = float(past.mean())
            target_note = f"target = average won revenue of the last {len(past)} {period}(s)"
        lead_tables: list[tuple[str, pd.DataFrame]] = []
        lead_explanation: list[str] = []
        if target is not None and not math.isnan(average_deal):
            try:
                plan = leads_needed(target, average_deal, model)
                lead_tables.append(("Lead plan", plan.table))
                lead_explanation = list(plan.explanation)
            except PipesheetError as err:
                lead_explanation = [str(err)]
        else:
            lead_explanation = ["no won deals yet: the lead plan needs an average won deal"]
        if target_note:
            lead_explanation.insert(0, target_note)
        lead_tables.append(("Explanation", pd.DataFrame({"explanation": lead_explanation})))
        tick("lead plan")
        start, end = _period_bounds(as_of_ts, period, fiscal_year_start)
        waterfall_tables: list[tuple[str, pd.DataFrame]] = []
        from pipesheet import waterfall as wf

        if previous is not None:
            prev_export = read_export(previous, sheet=sheet, table=table, dayfirst=dayfirst)
            w = wf.pipeline_waterfall(
                prev_export.deals,
                export.deals,
                start=start,
                end=end,
                stages=stages,
                rates=rates,
                currency=cur,
            )
        elif history is not None:
            w = wf.waterfall_from_history(
                export.history,
                start - pd.Timedelta(days=1),
                as_of_ts,
                deals,
                start=start,
                end=end,
                stages=stages,
                rates=rates,
                currency=cur,
            )
        else:
            w = None
        if w is not None:
            moved = w.deals[w.deals["step"] != "unchanged"].reset_index(drop=True)
            waterfall_tables = [
                (f"Pipeline closing {start.date()} – {end.date()}", w.table),
                ("Deals that moved", moved),
            ]
            notes += [n for n in w.notes if n not in notes]
        else:
            waterfall_tables = [
                ("Waterfall", pd.DataFrame({"note": ["needs a stage history or --previous"]}))
            ]
        tick("waterfall")
        backtest_tables = _backtest(
            history,
            export,
            deals,
            as_of_ts,
            period,
            fiscal_year_start,
            backtest_periods,
            rates,
            cur,
            stages,
        )
        calibration_tables = _calibration(
            history, export, deals, as_of_ts, period, fiscal_year_start, backtest_periods, stages
        )
        tick("backtest")
        diag_tables: list[tuple[str, pd.DataFrame]] = []
        bottleneck = stale_n = None
        if history is not None:
            from pipesheet import diagnostics as dg

            b = dg.bottlenecks(
                history, period=period, fiscal_year_start=fiscal_year_start, as_of=as_of_ts
            )
            ct = dg.cycle_time(history, deals, as_of=as_of_ts)
            stale = dg.stale_deals(
                history, deals, quantile=stale_quantile, as_of=as_of_ts, only_stale=True
            )
            thresholds = dg.stale_thresholds(history, quantile=stale_quantile, as_of=as_of_ts)
            diag_tables = [
                ("Bottlenecks", b),
                ("Cycle time (days)", ct),
                ("Stale thresholds (days in stage)", thresholds),
                ("Stale deals", stale.reset_index(drop=True)),
            ]
            hit = b[b["bottleneck"]]
            bottleneck = hit["stage"].iloc[0] if len(hit) else "none"
            stale_n = len(stale)
            notes += [n for n in (*b.attrs.get("notes", []), *stale.attrs.get("notes", []))]
        else:
            diag_tables = [("Diagnostics", pd.DataFrame({"note": ["needs a stage history"]}))]
        tick("diagnostics")
        total_row = forecast[forecast["period"] == "Total"] if "period" in forecast else forecast
        summary_rows: list[tuple[str, Any]] = [
            ("Source", export.source),
            ("Files", ", ".join(Path(f).name for f in export.files) or "tables"),
            ("As of", as_of_ts.to_pydatetime()),
            ("Reporting currency", cur or ""),
            ("Stage order", " → ".join(stages.open) + f" ({stages.source})"),
            ("Deals", len(deals.frame)),
            ("Open deals", int(is_open.sum())),
            ("Open pipeline", float(amounts[is_open].sum())),
            ("Weighted forecast", float(total_row["weighted"].sum())),
            ("Range P10", rng.p10),
            ("Range P50", rng.p50),
            ("Range P90", rng.p90),
            ("Average won deal", average_deal),
            ("Overall win rate", _overall_rate(deals, stages)),
            ("Lead plan target", target if target is not None else ""),
        ]
        if quota is not None:
            summary_rows.append(("P(total ≥ quota)", rng.p_quota))
        if w is not None:
            summary_rows += [("Waterfall opening", w.opening), ("Waterfall closing", w.closing)]
        if bottleneck is not None:
            summary_rows += [("Bottleneck stage", bottleneck), ("Stale deals", stale_n)]
        summary = pd.DataFrame(summary_rows, columns=["item", "value"])
        notes_frame = pd.DataFrame({"note": notes or ["(none)"]})
        sheets = {
            "Summary": [("Summary", summary), ("Notes", notes_frame)],
            "Stage probabilities": [("Stage probabilities", probs)]
            + ([("Probabilities used for the forecast", given)] if given is not None else []),
            "Forecast": [(f"Weighted forecast by {period}", forecast)],
            "Range": [("Forecast range of the open pipeline", range_frame)],
            "Lead plan": lead_tables,
            "Waterfall": waterfall_tables,
            "Backtest": backtest_tables,
            "Calibration": calibration_tables,
            "Diagnostics": diag_tables,
        }
        tick("summary")
        return Report(sheets, summary, notes)
    finally:
        if bar is not None:
            bar.close()


def _given_probabilities(value: Any) -> tuple[Any, pd.DataFrame | None, str]:
    """(what weighted_forecast takes, the table to show or None, a label for the notes)."""
    from pipesheet.presets import PRESETS, preset

    if isinstance(value, (str, Path)) and str(value).strip().casefold() == "configured":
        return "configured", None, "the CRM's configured probabilities"
    if isinstance(value, str) and value.strip().casefold() in PRESETS:
        name = value.strip().casefold()
        return name, preset(name), f"the {name} preset"
    if isinstance(value, (str, Path)):
        from pipesheet.exports import read_table

        table = read_table(value)
        return table, table, f"from {Path(value).name}"
    if isinstance(value, pd.DataFrame):
        return value, value, "a given table"
    return value, None, "given"


def _overall_rate(deals, stages) -> float:
    code = deals.frame["code"].to_numpy()
    w, lost = int((code == stages.k).sum()), int((code == stages.k + 1).sum())
    return w / (w + lost) if w + lost else math.nan


def _period_bounds(as_of: pd.Timestamp, period: str, fys: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    return period_bounds(as_of, period, fys)


def _backtest(history, export, deals, as_of, period, fys, n, rates, cur, stages):
    if history is None:
        return [("Backtest", pd.DataFrame({"note": ["needs a stage history"]}))]
    try:
        from pipesheet.backtest import backtest
    except ImportError:  # pragma: no cover - part of the package
        return [("Backtest", pd.DataFrame({"note": ["backtest not available"]}))]
    start, _ = _period_bounds(as_of, period, fys)
    months = {"month": 1, "quarter": 3, "year": 12}[period]
    if period == "year":
        return [("Backtest", pd.DataFrame({"note": ["the backtest runs by month or quarter"]}))]
    first = start - pd.DateOffset(months=months * n)
    try:
        result = backtest(
            export.history,
            deals,
            first,
            periods=n,
            period=period,
            fiscal_year_start=fys,
            rates=rates,
            currency=cur,
            stages=stages,
        )
    except PipesheetError as err:
        return [("Backtest", pd.DataFrame({"note": [str(err)]}))]
    tables = [("Backtest by period", result.wide), ("Error by method", result.summary)]
    tables.append(("Notes", pd.DataFrame({"note": result.notes or ["(none)"]})))
    return tables


def _calibration(history, export, deals, as_of, period, fys, n, stages):
    if history is None:
        return [("Calibration", pd.DataFrame({"note": ["needs a stage history"]}))]
    from pipesheet.calibration import calibration

    months = {"month": 1, "quarter": 3, "year": 12}[period]
    start, _ = _period_bounds(as_of, period, fys)
    predicted_on = start - pd.DateOffset(months=months * n) - pd.Timedelta(days=1)
    try:
        cal = calibration(export.history, deals, as_of=predicted_on, stages=stages)
    except PipesheetError as err:
        return [("Calibration", pd.DataFrame({"note": [str(err)]}))]
    return [
        (f"Stage probabilities predicted on {predicted_on.date()}", cal.summary),
        ("By stage", cal.by_stage),
        ("By probability bucket", cal.by_bucket),
        ("Notes", pd.DataFrame({"note": cal.notes or ["(none)"]})),
    ]


# ---- writing ---------------------------------------------------------------------------------
def write_report(report: Report, path: str | Path, *, force: bool = False) -> Path:
    """Write the report to a new .xlsx atomically; refuse to overwrite unless ``force``.

    Layout, number formats and formula-safe text come from :func:`pipesheet.files.build_workbook`;
    this adds the native charts.

    Raises:
        PipesheetError: the file exists (without ``force``), or the folder does not exist.
    """
    return write_workbook(path, report.sheets, overwrite=force, charts=_charts)


def _charts(ws, sheet_name: str, anchors) -> None:
    """Native Excel bar charts next to the main table of a few sheets."""
    from openpyxl.chart import BarChart, Reference
    from openpyxl.utils import get_column_letter

    spec = {
        "Stage probabilities": ("win_probability", "Win probability by stage", PERCENT),
        "Forecast": ("weighted", "Weighted forecast by period", MONEY),
        "Waterfall": ("value", "Pipeline waterfall", MONEY),
    }.get(sheet_name)
    if spec is None or not anchors:
        return
    column, title, fmt = spec
    _, header_row, frame = anchors[0]
    if column not in frame.columns or len(frame) == 0:
        return
    data = frame
    n = len(data)
    if sheet_name == "Forecast" and "period" in frame.columns:
        n = int((frame["period"] != "Total").sum())
        if n == 0:
            return
    col = list(frame.columns).index(column) + 1
    chart = BarChart()
    chart.type = "col"
    chart.title = title
    chart.y_axis.numFmt = fmt
    chart.y_axis.title = column.replace("_", " ")
    chart.legend = None
    values = Reference(ws, min_col=col, min_row=header_row, max_row=header_row + n)
    cats = Reference(ws, min_col=1, min_row=header_row + 1, max_row=header_row + n)
    chart.add_data(values, titles_from_data=True)
    chart.set_categories(cats)
    chart.height, chart.width = 8, 16
    ws.add_chart(chart, f"{get_column_letter(len(frame.columns) + 2)}{header_row}")


def _col_letter(n: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(n)


# ---- command line ----------------------------------------------------------------------------
def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``report`` to a CLI's subparsers (``set_defaults(func=run)``)."""
    p = subparsers.add_parser(
        "report",
        help="finance workbook: probabilities, forecast, range, lead plan, waterfall, backtest",
        description="Write a new workbook (Summary, Stage probabilities, Forecast, Range, Lead "
        "plan, Waterfall, Backtest, Diagnostics) from CRM exports. Inputs are never modified.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="deals and/or history export")
    p.add_argument("-o", "--output", required=True, help="the .xlsx to write")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    p.add_argument("--previous", help="an earlier deals snapshot for the waterfall")
    p.add_argument("--period", default="quarter", choices=("month", "quarter", "year"))
    p.add_argument("--fiscal-year-start", type=int, default=1, help="first month (1-12)")
    p.add_argument("--by", help="group the forecast: owner, product line, country, segment…")
    p.add_argument("--as-of", help="report date (default: the latest history date)")
    p.add_argument("--target", type=float, help="revenue target for the lead plan")
    p.add_argument("--quota", type=float, help="quota for P(total ≥ quota)")
    p.add_argument("--rates", help="currency rates file (currency, rate)")
    p.add_argument("--currency", help="reporting currency")
    p.add_argument("--backtest-periods", type=int, default=4)
    p.add_argument("--stale-quantile", type=float, default=0.8)
    p.add_argument(
        "--probabilities",
        metavar="PRESET|configured|FILE",
        help="stage probabilities for the forecast and range instead of learned ones: "
        "salesforce, hubspot, suitecrm, configured (the deals' Probability column) or a "
        "stage/probability file — for exports whose stages have no closed deals yet",
    )
    p.add_argument("--sheet", help="worksheet to read from XLSX inputs")
    p.add_argument("--table", help="Excel Table to read from XLSX inputs")
    from pipesheet.cli import add_date_order

    add_date_order(p)
    p.add_argument(
        "--dayfirst",
        action="store_true",
        default=None,
        help="the same as --date-order dmy",
    )
    p.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace, out: Callable[[str], None] | None = None) -> int:
    """Run ``pipesheet report``: 0 on success, 2 with a clear message on bad input."""
    say = out or (lambda s: print(s))
    try:
        dest = Path(args.output)
        if dest.exists() and not args.force:
            raise PipesheetError(
                "the output file already exists",
                table="output",
                value=str(dest),
                expected="a new file name, or --force to replace it",
            )
        for given in args.inputs:
            if Path(given).resolve() == dest.resolve():
                raise PipesheetError(
                    "the output would overwrite an input",
                    table="output",
                    value=str(dest),
                    expected="another file name for the report",
                )
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
        )
        write_report(report, dest, force=args.force)
    except PipesheetError as err:
        print(f"pipesheet report: {err}", file=sys.stderr)
        return 2
    say(f"wrote {dest} ({', '.join(report.sheets)})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pipesheet.report INPUT… -o report.xlsx``."""
    parser = argparse.ArgumentParser(prog="pipesheet")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(["report", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
