"""Computing the report: every sheet of the finance workbook as titled tables
(:func:`build_report`), one named step per sheet.  See :mod:`pipesheet.report`."""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from pipesheet.base import Result
from pipesheet.errors import PipesheetError
from pipesheet.periods import period_bounds, read_date_setting

__all__ = ["SHEETS", "Report", "build_report"]

SHEETS = (
    "Summary",
    "Stage probabilities",
    "Forecast",
    "Range",
    "Calibrated forecast",
    "Lead plan",
    "Balance",
    "Waterfall",
    "Backtest",
    "Calibration",
    "Diagnostics",
    "Pipelines",
    "Commits",
    "Losses",
)


@dataclass(repr=False)
class Report(Result):
    """Everything the workbook shows, as frames (``sheets[name]`` is a list of titled tables).

    Attributes:
        sheets: ``{sheet: [(title, table), …]}`` in workbook order.
        summary: The Summary sheet's rows (``item``, ``value``).
        notes: What was read and assumed.
    """

    sheets: dict[str, list[tuple[str, pd.DataFrame]]]
    summary: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """The Summary sheet's rows (``item``, ``value``)."""
        return self.summary.copy()

    def _figures(self) -> dict[str, Any]:
        return {"sheets": len(self.sheets), "items": len(self.summary)}


def _progress(total: int, enabled: bool):
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # the report extra is not installed: no bar
        return None
    return tqdm(total=total, desc="pipesheet report", unit="step", file=sys.stderr, leave=False)


@dataclass
class _Run:
    """What the report's steps share: the settings, the tables read once, and the notes."""

    export: Any  # pipesheet.exports.Export
    deals: Any  # pipesheet.tables.Deals
    history: Any  # pipesheet.tables.History | None
    stages: Any  # pipesheet.stages.StageList
    as_of: pd.Timestamp
    period: str
    fiscal_year_start: int
    rates: Any
    blank_amounts: str
    notes: list[str]

    def note(self, more: Any) -> None:
        """Add the notes not said yet."""
        self.notes += [n for n in more if n not in self.notes]


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
    blank_amounts: str = "error",
    commits: str | Path | pd.DataFrame | None = None,
) -> Report:
    """Compute every sheet of the report from export files (or frames).

    One step per sheet, in order: read the inputs, stage probabilities, forecast and range (one
    priced-deal set), the calibrated forecast of the current period, lead plan, balance,
    waterfall, backtest and calibration, diagnostics (with the stage design check), summary (led by
    the calibrated forecast).

    Args:
        inputs: Deals export and/or stage-history export (any tool :mod:`pipesheet.exports` reads).
        previous: An earlier deals snapshot; the waterfall then runs from it to ``inputs``.
        period: ``"month"``, ``"quarter"`` or ``"year"`` for the forecast, waterfall, backtest.
        by: Group the forecast (owner, product line, country, segment…).
        as_of: Report date (default: latest date in the history, else today).
        target: Revenue target of the lead plan (default: average won revenue per period over
            the last four periods).
        quota: Quota for P(total ≥ quota) in the range. The Balance sheet's target is the
            quota, else the lead plan's target.
        rates: Currency rates (file, table or mapping) when deals mix currencies.
        backtest_periods: Past periods in the backtest.
        stale_quantile: Stale = longer in stage than this quantile of won deals.
        probabilities: Stage probabilities for the forecast and range instead of the learned
            ones: a preset name (``"salesforce"``, ``"hubspot"``, ``"suitecrm"``),
            ``"configured"`` (the deals' own probability column), or a stage/probability table
            (a file path or a frame). For exports whose stages have no closed deals yet.
        progress: Show a progress bar (default: on for 50,000+ deals when stderr is a terminal).
        blank_amounts: "error" (default), "skip" or "zero": what a blank amount on an open or
            won deal means (see :func:`pipesheet.pricing.price_deals`).
        commits: A manager's commits (a file or a table: owner or team, period, committed
            amount) for the "Commits" sheet: each beside the system's forecast and the actual,
            and who forecasts better (:func:`pipesheet.compare_commits`).

    Deals in several pipelines (a pipeline column) get each pipeline's own stages and
    probabilities; the "Pipelines" sheet shows every figure per pipeline and in total.  Deals
    priced at their own probability (an override column) are listed on the "Forecast" sheet;
    the "Losses" sheet needs a loss-reason column.
    """
    from pipesheet.exports import read_export
    from pipesheet.tables import blank_amounts_choice

    blank_amounts = blank_amounts_choice(blank_amounts)
    export = read_export(*inputs, sheet=sheet, table=table, dayfirst=dayfirst)
    if export.deals is None:
        raise PipesheetError(
            "the report needs a deals table",
            expected="a deals (opportunities) export, plus optionally a stage history",
        )
    if progress is None:
        progress = len(export.deals) >= 50_000 and sys.stderr.isatty()
    bar = _progress(14, bool(progress))

    def tick(label: str) -> None:
        if bar is not None:
            bar.set_postfix_str(label)
            bar.update(1)

    try:
        run = _read_inputs(export, as_of, period, fiscal_year_start, rates, blank_amounts)
        tick("read")
        model, probs, source, given = _stage_probabilities(run, probabilities)
        tick("stage probabilities")
        priced = _price(run, source, currency)
        forecast = priced.forecast(period, fiscal_year_start, by, total=True)
        run.note(forecast.attrs.get("notes", []))
        forecast_tables = [(f"Weighted forecast by {period}", forecast), *_overrides(priced)]
        tick("forecast")
        rng = priced.range(quota)
        tick("range")
        calibrated_tables, calibrated_rows = _calibrated_forecast(run, priced.currency, quota)
        tick("calibrated forecast")
        lead_tables, target, average_deal = _lead_plan(run, priced, model, target)
        tick("lead plan")
        balance_tables, balance_rows = _balance(run, priced.currency, quota, target)
        tick("balance")
        waterfall_tables, w = _waterfall(run, previous, priced.currency, sheet, table, dayfirst)
        tick("waterfall")
        window = _backtest_window(
            run.history, run.as_of, period, fiscal_year_start, backtest_periods
        )
        backtest_tables, backtest_rows = _backtest(
            export,
            run.deals,
            window,
            period,
            fiscal_year_start,
            run.rates,
            priced.currency,
            run.stages,
            blank_amounts,
        )
        calibration_tables, calibration_rows = _calibration(
            run, window, priced.currency, probabilities
        )
        run.note(window.notes)
        tick("backtest")
        diag_tables, diag_rows = _diagnostics(run, stale_quantile)
        tick("diagnostics")
        pipeline_tables, pipeline_rows = _pipelines(run, priced, quota)
        tick("pipelines")
        commit_tables, commit_rows = _commits(run, commits, source, currency, sheet, table)
        tick("commits")
        loss_tables, loss_rows = _losses(run, priced.currency)
        tick("losses")
        summary = _summary(run, priced, rng, average_deal, target, quota, w)
        summary = pd.DataFrame(  # it leads with the calibrated forecast of the period
            [
                *calibrated_rows,
                *summary,
                *balance_rows,
                *backtest_rows,
                *calibration_rows,
                *diag_rows,
                *pipeline_rows,
                *commit_rows,
                *loss_rows,
            ],
            columns=["item", "value"],
        )
        sheets = {
            "Summary": [
                ("Summary", summary),
                ("Notes", pd.DataFrame({"note": run.notes or ["(none)"]})),
            ],
            "Stage probabilities": [("Stage probabilities", probs)]
            + ([("Probabilities used for the forecast", given)] if given is not None else [])
            + [("Notes", _disagreements(run, model))],
            "Forecast": forecast_tables,
            "Range": [
                (
                    f"Forecast range of the {rng.deals:,} open deals of the forecast "
                    "(mean = its total)",
                    rng.to_frame(),
                )
            ],
            "Calibrated forecast": calibrated_tables,
            "Lead plan": lead_tables,
            "Balance": balance_tables,
            "Waterfall": waterfall_tables,
            "Backtest": backtest_tables,
            "Calibration": calibration_tables,
            "Diagnostics": diag_tables,
            "Pipelines": pipeline_tables,
            "Commits": commit_tables,
            "Losses": loss_tables,
        }
        tick("summary")
        return Report(sheets, summary, run.notes)
    finally:
        if bar is not None:
            bar.close()


# ---- the steps, in the order of the sheets --------------------------------------------------
def _read_inputs(
    export: Any, as_of: Any, period: str, fiscal_year_start: int, rates: Any, blank_amounts: str
) -> _Run:
    """The deals and the history read once against one stage list, the rates file read, and
    the report's day: ``as_of`` (a whole day), else the latest history date, else today."""
    from pipesheet.exports import read_table
    from pipesheet.tables import history_by_pipeline, read_deals, read_history

    if isinstance(rates, (str, Path)):
        rates = read_table(rates)
    notes = list(export.notes)
    stages = export.stages
    history = None
    if export.history is not None:
        history = read_history(export.history, stages=stages)
        if stages is None:  # several pipelines: each one's order from its own deals' history
            history = history_by_pipeline(history, export.deals, inferred=True)
        stages = history.stages
    deals = read_deals(export.deals, stages=stages)
    stages = deals.stages
    if history is not None and history.stages != stages:
        history = read_history(export.history, stages=stages)
    if as_of is None:
        day = (
            history.frame["entered_date"].max().normalize()
            if history is not None
            else pd.Timestamp(date.today())
        )
    else:
        day = read_date_setting(as_of, "as_of")  # a day: the whole day is meant
    run = _Run(
        export, deals, history, stages, day, period, fiscal_year_start, rates, blank_amounts, notes
    )
    run.note([*deals.notes, *(history.notes if history else [])])
    return run


def _stage_probabilities(run: _Run, probabilities: Any) -> tuple[Any, pd.DataFrame, Any, Any]:
    """The learned stage probabilities (sheet "Stage probabilities"), and what the forecast
    prices with: the given ones, else the learned ones — or the CRM's configured ones when an
    open stage has no learned probability.  Returns (model, table, source, given table)."""
    from pipesheet.probabilities import StageProbabilities

    model = StageProbabilities(stages=run.stages, as_of=run.as_of).fit(run.history, run.deals)
    run.note(model.notes_)
    probs = model.table_.copy()
    source: Any = model
    given: pd.DataFrame | None = None
    unknown = probs.loc[probs["win_probability"].isna(), "stage"].tolist()
    frame = run.deals.frame
    open_stages = set(frame.loc[frame["code"] < run.stages.k, "stage"].map(str))
    if probabilities is not None:
        source, given, label = _given_probabilities(probabilities)
        run.notes.append(f"the forecast and range use the given stage probabilities ({label})")
    elif set(unknown) & open_stages and "probability" in frame:
        source = "configured"
        run.notes.append(
            "no learned win probability for " + ", ".join(unknown) + ": the forecast, range "
            "and lead plan use the CRM's configured probabilities instead"
        )
    return model, probs, source, given


def _price(run: _Run, source: Any, currency: str | None) -> Any:
    """One priced-deal set for the forecast, the range and the Summary (same deals, as of)."""
    from pipesheet.pricing import price_deals

    return price_deals(
        run.deals,
        source,
        as_of=run.as_of,
        rates=run.rates,
        currency=currency,
        blank_amounts=run.blank_amounts,
    )


def _disagreements(run: _Run, model: Any) -> pd.DataFrame:
    """The Stage probabilities sheet's notes: where the cohort and the Markov estimates differ
    strongly, and why (also in the Summary's notes)."""
    said = model.disagreement_notes()
    run.note(said)
    if not said and run.history is not None:
        said = [
            "cohort and Markov estimates agree at every stage (none differs by 10 points or "
            "more with intervals apart)"
        ]
    return pd.DataFrame({"note": said or ["(none: no stage history)"]})


def _calibrated_forecast(
    run: _Run, currency: str | None, quota: float | None
) -> tuple[list[tuple[str, pd.DataFrame]], list[tuple[str, Any]]]:
    """The "Calibrated forecast" sheet and the rows the Summary leads with: the calibrated
    forecast of the current period — the window (as of, end of the ``period`` containing it]
    (the next period's end when the as-of date is its last day) — with its range, P(closed so
    far + revenue ≥ quota), the method in words and the past periods it rests on
    (:func:`pipesheet.calibrated_forecast`)."""
    if run.history is None:
        why = "needs a stage history"
        return [("Calibrated forecast", pd.DataFrame({"note": [why]}))], [
            ("Calibrated forecast", why)
        ]
    from pipesheet.calibrated import calibrated_forecast

    try:
        res = calibrated_forecast(
            run.export.history,
            run.deals,
            run.period,
            as_of=run.as_of,
            fiscal_year_start=run.fiscal_year_start,
            quota=quota,
            rates=run.rates,
            currency=currency,
            blank_amounts=run.blank_amounts,
            stages=run.stages,
        )
    except PipesheetError as err:
        return [("Calibrated forecast", pd.DataFrame({"note": [str(err)]}))], [
            ("Calibrated forecast", f"not computed: {err}")
        ]
    window = f"{res.as_of.date()} → {res.period_end.date()}"
    rows: list[tuple[str, Any]] = [
        ("Calibrated forecast", res.forecast),
        ("Calibrated forecast window", window),
        ("Calibrated P10", res.p10),
        ("Calibrated P50", res.p50),
        ("Calibrated P90", res.p90),
        ("Closed so far in the period", res.closed),
    ]
    if quota is not None:
        rows.append(("P(closed so far + revenue ≥ quota)", res.p_quota))
    rows += [
        ("Calibrated forecast method", res.method),
        ("Past periods it rests on", res.periods),
    ]
    tables = [
        (f"Calibrated forecast {window}", res.to_frame()),
        (
            "Past periods it rests on (error = forecast / actual − 1)",
            res.evidence.drop(columns=["log_error", "model_sd"]),
        ),
        ("Open deals: the model's and the calibrated probability", res.deals),
        ("Notes", pd.DataFrame({"note": res.notes or ["(none)"]})),
    ]
    return tables, rows


def _lead_plan(
    run: _Run, priced: Any, model: Any, target: float | None
) -> tuple[list[tuple[str, pd.DataFrame]], float | None, float]:
    """The "Lead plan" sheet for ``target`` (default: the average won revenue of the last four
    periods) at the average won deal.  Returns (tables, target, average won deal)."""
    from pipesheet.periods import period_labels
    from pipesheet.planning import leads_needed

    amounts, won = priced.amount, priced.won
    average_deal = float(amounts[won].mean()) if won.any() else math.nan
    frame = run.deals.frame
    closed_on = frame["closed_date"] if "closed_date" in frame else frame["close_date"]
    won_periods = period_labels(closed_on[won], run.period, run.fiscal_year_start)
    won_by_period = pd.Series(amounts[won]).groupby(won_periods.to_numpy()).sum()
    current = period_labels(pd.Series([run.as_of]), run.period, run.fiscal_year_start).iloc[0]
    past = won_by_period[won_by_period.index < current].sort_index().tail(4)
    target_note = ""
    if target is None and len(past):
        target = float(past.mean())
        target_note = f"target = average won revenue of the last {len(past)} {run.period}(s)"
    tables: list[tuple[str, pd.DataFrame]] = []
    if target is not None and not math.isnan(average_deal):
        try:
            plan = leads_needed(target, average_deal, model, currency=priced.currency)
            tables.append(("Lead plan", plan.table))
            explanation = list(plan.explanation)
        except PipesheetError as err:
            explanation = [str(err)]
    else:
        explanation = ["no won deals yet: the lead plan needs an average won deal"]
    if target_note:
        explanation.insert(0, target_note)
    tables.append(("Explanation", pd.DataFrame({"explanation": explanation})))
    return tables, target, average_deal


def _waterfall(
    run: _Run, previous: Any, currency: str | None, sheet: Any, table: Any, dayfirst: Any
) -> tuple[list[tuple[str, pd.DataFrame]], Any]:
    """The "Waterfall" sheet: the current period so far (from the history), or from the
    ``previous`` snapshot to now.  Returns (tables, the waterfall or None)."""
    from pipesheet.exports import read_export
    from pipesheet.waterfall import pipeline_waterfall, waterfall_from_history

    start, end = _period_bounds(run.as_of, run.period, run.fiscal_year_start)
    money = {"rates": run.rates, "currency": currency, "blank_amounts": run.blank_amounts}
    if previous is not None:
        prev_export = read_export(previous, sheet=sheet, table=table, dayfirst=dayfirst)
        w = pipeline_waterfall(
            prev_export.deals, run.export.deals, start=start, end=end, stages=run.stages, **money
        )
    elif run.history is not None:
        w = waterfall_from_history(
            run.export.history,
            start - pd.Timedelta(days=1),
            run.as_of,
            run.deals,
            start=start,
            end=end,
            stages=run.stages,
            **money,
        )
    else:
        note = pd.DataFrame({"note": ["needs a stage history or --previous"]})
        return [("Waterfall", note)], None
    moved = w.deals[w.deals["step"] != "unchanged"].reset_index(drop=True)
    run.note(w.notes)
    return [
        (f"Pipeline closing {start.date()} – {end.date()}", w.table),
        ("Deals that moved", moved),
    ], w


def _diagnostics(
    run: _Run, stale_quantile: float
) -> tuple[list[tuple[str, pd.DataFrame]], list[tuple[str, Any]]]:
    """The "Diagnostics" sheet (bottlenecks, cycle time, stale thresholds and deals) and the
    Summary's rows about it."""
    if run.history is None:
        return [("Diagnostics", pd.DataFrame({"note": ["needs a stage history"]}))], []
    from pipesheet.diagnostics import bottlenecks, cycle_time, stale_deals, stale_thresholds

    history, as_of = run.history, run.as_of
    b = bottlenecks(
        history, period=run.period, fiscal_year_start=run.fiscal_year_start, as_of=as_of
    )
    ct = cycle_time(history, run.deals, as_of=as_of)
    stale = stale_deals(history, run.deals, quantile=stale_quantile, as_of=as_of, only_stale=True)
    thresholds = stale_thresholds(history, quantile=stale_quantile, as_of=as_of, deals=run.deals)
    hit = b[b["bottleneck"]]
    run.notes += [*b.attrs.get("notes", []), *stale.attrs.get("notes", [])]
    tables = [
        ("Bottlenecks", b),
        ("Cycle time (days)", ct),
        ("Stale thresholds (days in stage)", thresholds),
        ("Stale deals", stale.reset_index(drop=True)),
    ]
    rows = [
        ("Bottleneck stage", hit["stage"].iloc[0] if len(hit) else "none"),
        ("Stale deals", len(stale)),
    ]
    design_tables, design_rows = _stage_design(run)
    return tables + design_tables, rows + design_rows


def _stage_design(run: _Run) -> tuple[list[tuple[str, pd.DataFrame]], list[tuple[str, Any]]]:
    """The stage design check on the Diagnostics sheet (its flags, each with the evidence and a
    suggestion) and the Summary's row about it."""
    from pipesheet.stage_design import stage_design_check

    try:
        design = stage_design_check(run.history, run.deals, as_of=run.as_of, stages=run.stages)
    except PipesheetError as err:
        return [("Stage design check", pd.DataFrame({"note": [str(err)]}))], [
            ("Stage design flags", f"not computed: {err}")
        ]
    run.note(design.notes)
    title = str(design).splitlines()[0]
    checks = ", ".join(dict.fromkeys(design.flags["check"]))
    return [(title, design.to_frame())], [
        ("Stage design flags", f"{len(design.flags)} ({checks})" if checks else "none")
    ]


def _balance(
    run: _Run, currency: str | None, quota: float | None, target: float | None
) -> tuple[list[tuple[str, pd.DataFrame]], list[tuple[str, Any]]]:
    """The "Balance" sheet: :func:`pipesheet.balance.pipeline_balance` for the report's current
    period (the period of the as-of day) with the quota as its target, else the lead plan's
    target; the per-stage table, what to do, the inputs and notes; and the Summary's rows."""
    if run.history is None:
        return [("Balance", pd.DataFrame({"note": ["needs a stage history"]}))], []
    goal, source = (quota, "the quota") if quota is not None else (target, "the lead plan's target")
    if goal is None:
        note = "no target: give --quota or --target (no past won revenue to default to)"
        return [("Balance", pd.DataFrame({"note": [note]}))], [("Balance", note)]
    from pipesheet.balance import pipeline_balance

    start, end = _period_bounds(run.as_of, run.period, run.fiscal_year_start)
    try:
        result = pipeline_balance(
            run.history,
            run.deals,
            goal,
            start,
            end,
            as_of=run.as_of,
            stages=run.stages,
            rates=run.rates,
            currency=currency,
            blank_amounts=run.blank_amounts,
        )
    except PipesheetError as err:
        return [("Balance", pd.DataFrame({"note": [str(err)]}))], [
            ("Balance", f"not computed: {err}")
        ]
    inputs = {**result.inputs(), "target_is": source}
    inputs = {
        k: v.to_pydatetime() if isinstance(v, pd.Timestamp) else ("" if v is None else v)
        for k, v in inputs.items()
    }
    tables = [
        (
            f"Pipeline balance for {start.date()} – {end.date()} (target = {source}), as of "
            f"{result.as_of.date()}",
            result.to_frame(),
        ),
        ("What to do", pd.DataFrame({"advice": result.advice or ["(none)"]})),
        ("Inputs", pd.DataFrame({"item": list(inputs), "value": list(inputs.values())})),
        ("Notes", pd.DataFrame({"note": result.notes or ["(none)"]})),
    ]
    rows = [
        ("Balance: thin stages", ", ".join(result.thin) or "none"),
        ("Balance: bloated stages", ", ".join(result.bloated) or "none"),
    ]
    return tables, rows


def _overrides(priced: Any) -> list[tuple[str, pd.DataFrame]]:
    """The "Forecast" sheet's list of the open deals priced at their own probability."""
    listed = priced.open_deals()
    own = listed[listed["source"] == "override"].reset_index(drop=True)
    if own.empty:
        return []
    return [("Deals priced at their own probability (override) instead of their stage's", own)]


def _pipelines(
    run: _Run, priced: Any, quota: float | None
) -> tuple[list[tuple[str, pd.DataFrame]], list[tuple[str, Any]]]:
    """The "Pipelines" sheet: every figure per pipeline and in total, and the forecast by
    pipeline and period (several pipelines only)."""
    from pipesheet.pipelines import pipeline_summary

    lists = run.deals.pipelines
    if not lists:
        note = "the deals are in one pipeline (no pipeline column, or one name in it)"
        return [("Pipelines", pd.DataFrame({"note": [note]}))], []
    summary = pipeline_summary(priced, quota)
    by_pipeline = priced.forecast(run.period, run.fiscal_year_start, "pipeline", total=True)
    stages = pd.DataFrame(
        {"pipeline_name": list(lists), "stages": [" → ".join(s.open) for s in lists.values()]}
    )
    tables = [
        ("Per pipeline and in total (each deal at its own pipeline's probability)", summary),
        (f"Weighted forecast by pipeline and {run.period}", by_pipeline),
        ("Each pipeline's stages", stages),
    ]
    return tables, [("Pipelines", ", ".join(lists))]


def _commits(
    run: _Run, commits: Any, source: Any, currency: str | None, sheet: Any, table: Any
) -> tuple[list[tuple[str, pd.DataFrame]], list[tuple[str, Any]]]:
    """The "Commits" sheet: system vs committed vs actual, and who forecasts better."""
    if commits is None:
        note = "give a commits table (owner or team, period, committed amount): --commits FILE"
        return [("Commits", pd.DataFrame({"note": [note]}))], []
    from pipesheet.commits import compare_commits

    if isinstance(commits, (str, Path)):
        from pipesheet.exports import read_table

        commits = read_table(commits, sheet=sheet, table=table)
    result = compare_commits(
        run.deals,
        commits,
        source,
        history=run.export.history,
        fiscal_year_start=run.fiscal_year_start,
        as_of=run.as_of,
        rates=run.rates,
        currency=currency,
        blank_amounts=run.blank_amounts,
        stages=run.stages,
    )
    run.note([n for n in result.notes if not n.startswith("as of")])
    tables = [
        (
            f"Commits vs system forecast vs actual, by {result.by} and {result.period}",
            result.table,
        ),
        ("Who forecasts better (past periods where both exist)", result.summary),
    ]
    return tables, [("Commits: lower MAPE", result.best or "not known yet")]


def _losses(
    run: _Run, currency: str | None
) -> tuple[list[tuple[str, pd.DataFrame]], list[tuple[str, Any]]]:
    """The "Losses" sheet: lost deals by reason, by stage, and both."""
    if "loss_reason" not in run.deals.frame:
        note = "the deals table has no loss-reason column (Loss Reason, Loss_Reason__c…)"
        return [("Losses", pd.DataFrame({"note": [note]}))], []
    from pipesheet.losses import lost_reasons

    try:
        result = lost_reasons(
            run.deals,
            run.history,
            as_of=run.as_of,
            rates=run.rates,
            currency=currency,
            blank_amounts=run.blank_amounts,
        )
    except PipesheetError as err:
        return [("Losses", pd.DataFrame({"note": [str(err)]}))], [("Losses", str(err))]
    run.note(result.notes)
    tables = [
        ("Lost deals by reason", result.by_reason),
        ("Lost deals by the stage they were lost at", result.by_stage),
        ("Lost deals by reason and stage", result.by_reason_stage),
    ]
    rows = [("Lost deals", result.lost_deals), ("Lost amount", result.amount)]
    return tables, rows


def _summary(
    run: _Run,
    priced: Any,
    rng: Any,
    average_deal: float,
    target: float | None,
    quota: float | None,
    w: Any,
) -> list[tuple[str, Any]]:
    """The Summary's key figures (its totals are the other sheets' totals)."""
    rows: list[tuple[str, Any]] = [
        ("Source", run.export.source),
        ("Files", ", ".join(Path(f).name for f in run.export.files) or "tables"),
        ("As of", run.as_of.to_pydatetime()),
        ("Reporting currency", priced.currency or ""),
        ("Stage order", " → ".join(run.stages.open) + f" ({run.stages.source})"),
        ("Deals", len(run.deals.frame)),
        ("Open deals", int(priced.open.sum())),
        ("Open pipeline", priced.pipeline),
        ("Weighted forecast", priced.weighted),
        ("Range mean", rng.mean),
        ("Range P10", rng.p10),
        ("Range P50", rng.p50),
        ("Range P90", rng.p90),
        ("Average won deal", average_deal),
        ("Overall win rate", _overall_rate(run.deals, run.stages)),
        ("Lead plan target", target if target is not None else ""),
    ]
    if quota is not None:
        rows.append(("P(total ≥ quota)", rng.p_quota))
    if w is not None:
        rows += [("Waterfall opening", w.opening), ("Waterfall closing", w.closing)]
    return rows


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


@dataclass
class _Window:
    """The backtest's periods: the last ``periods`` full periods before the as-of date's period
    that the history covers (a period's as-of date, the day before it starts, must be on or
    after the first history row)."""

    first: pd.Timestamp | None  # first day of the first period (None: no period fits)
    periods: int
    asked: int
    history_start: pd.Timestamp | None
    summary: list[tuple[str, Any]]
    notes: list[str]


def _backtest_window(history, as_of: pd.Timestamp, period: str, fys: int, n: int) -> _Window:
    if history is None:
        return _Window(None, 0, n, None, [("Backtest", "needs a stage history")], [])
    if period == "year":
        return _Window(None, 0, n, None, [("Backtest", "runs by month or quarter")], [])
    months = {"month": 1, "quarter": 3}[period]
    start, _ = _period_bounds(as_of, period, fys)
    h0 = pd.Timestamp(history.frame["entered_date"].min()).normalize()
    starts = [start - pd.DateOffset(months=months * i) for i in range(n, 0, -1)]
    usable = [p for p in starts if p - pd.Timedelta(days=1) >= h0]
    notes: list[str] = []
    rows: list[tuple[str, Any]] = []
    if len(usable) < len(starts):
        skipped = len(starts) - len(usable)
        text = (
            f"{skipped} of the {n} {period}s asked for skipped: the history starts on "
            f"{h0.date()}, and a {period} can be backtested only from the day before it starts"
        )
        notes.append("backtest and calibration: " + text)
        rows.append(("Backtest skipped", text))
    if not usable:
        return _Window(None, 0, n, h0, rows, notes)
    last = start - pd.Timedelta(days=1)
    rows.insert(
        0,
        (
            "Backtest periods",
            f"{len(usable)} {period if len(usable) == 1 else period + 's'}, "
            f"{usable[0].date()} – {last.date()}",
        ),
    )
    return _Window(usable[0], len(usable), n, h0, rows, notes)


def _backtest(export, deals, window: _Window, period, fys, rates, cur, stages, blank_amounts):
    """The Backtest sheet's tables and the Summary's rows about it."""
    if window.first is None:
        reason = window.summary[-1][1] if window.summary else "no period to backtest"
        return [("Backtest", pd.DataFrame({"note": [reason]}))], list(window.summary)
    from pipesheet.backtest import backtest

    rows = list(window.summary)
    try:
        result = backtest(
            export.history,
            deals,
            window.first,
            periods=window.periods,
            period=period,
            fiscal_year_start=fys,
            rates=rates,
            currency=cur,
            stages=stages,
            blank_amounts=blank_amounts,
        )
    except PipesheetError as err:
        rows.append(("Backtest", f"not computed: {err}"))
        return [("Backtest", pd.DataFrame({"note": [str(err)]}))], rows
    for _, r in result.summary.iterrows():
        rows.append((f"Backtest MAPE ({r['method']})", r["mape"]))
        if r["unscored"]:
            blank = result.table[
                (result.table["method"] == r["method"]) & result.table["forecast"].isna()
            ]
            why = "; ".join(dict.fromkeys(blank["note"]))
            rows.append(
                (
                    f"Backtest not scored ({r['method']})",
                    f"{', '.join(blank['period'])}: {why} — left out of MAPE",
                )
            )
    recommended = result.summary.set_index("method").loc["recommended"]
    rows.append(
        ("Backtest share of periods within P10–P90 (recommended)", recommended["in_range_share"])
    )
    tables = [("Backtest by period", result.wide), ("Error by method", result.summary)]
    tables.append(("Notes", pd.DataFrame({"note": result.notes or ["(none)"]})))
    return tables, rows


def _calibration(run: _Run, window: _Window, currency: str | None, probabilities: Any):
    """The Calibration sheet: every probability the user has, predicted the day before the
    backtest starts (the same first period) and checked against what happened — the learned
    stage probabilities, the CRM's configured ones (when a Probability column exists), the
    probabilities given for the forecast, the time-aware and the calibrated ones (to the end of
    that first period) — with the Brier score, its base-rate reference and the Brier skill of
    each, then each one's table by stage and by probability bucket."""
    if window.first is None:
        reason = window.summary[-1][1] if window.summary else "no period to calibrate"
        return [("Calibration", pd.DataFrame({"note": [reason]}))], []
    from pipesheet.calibration import calibration

    export = run.export
    predicted_on = window.first - pd.Timedelta(days=1)
    _, period_end = _period_bounds(window.first, run.period, run.fiscal_year_start)
    try:
        cal = calibration(export.history, run.deals, as_of=predicted_on, stages=run.stages)
    except PipesheetError as err:
        return [("Calibration", pd.DataFrame({"note": [str(err)]}))], [
            ("Calibration", f"not computed: {err}")
        ]
    rows = [
        ("Calibration predicted on", predicted_on.to_pydatetime()),
        ("Calibration Brier score", cal.brier),
    ]
    sources: list[tuple[str, Any, dict[str, Any]]] = []
    has_configured = "probability" in run.deals.frame or "probability" in export.history
    if has_configured:
        sources.append(("configured", "configured", {}))
    if probabilities is not None:
        given, _, label = _given_probabilities(probabilities)
        if not (isinstance(given, str) and given == "configured"):
            sources.append((label, given, {}))
    window_end = {"period_end": period_end}
    money = {"rates": run.rates, "currency": currency, "blank_amounts": run.blank_amounts}
    sources += [
        ("time-aware", "time-aware", window_end),
        ("calibrated", "calibrated", {**window_end, **money}),
    ]
    results = [("learned", cal)]
    failed: list[dict[str, Any]] = []
    for label, which, extra in sources:  # a loop over the probability sources
        try:
            results.append(
                (
                    label,
                    calibration(
                        export.history,
                        run.deals,
                        as_of=predicted_on,
                        probabilities=which,
                        stages=run.stages,
                        **extra,
                    ),
                )
            )
        except PipesheetError as err:
            failed.append({"probabilities": label, "note": f"not computed: {err}"})
    compared = pd.concat(
        [r.summary.assign(probabilities=label, note=_verdict(r)) for label, r in results]
        + ([pd.DataFrame(failed)] if failed else []),
        ignore_index=True,
    )
    rows += [(f"Brier skill ({label})", r.brier_skill) for label, r in results]
    tables = [
        (f"Stage probabilities predicted on {predicted_on.date()}", cal.summary),
        ("By stage", cal.by_stage),
        ("By probability bucket", cal.by_bucket),
        (
            f"Every probability predicted on {predicted_on.date()}: Brier score and skill "
            "(1 − Brier / Brier of always predicting the base rate)",
            compared,
        ),
    ]
    for label, r in results[1:]:
        tables += [
            (f"By stage — {label}", r.by_stage),
            (f"By probability bucket — {label}", r.by_bucket),
        ]
    notes = list(dict.fromkeys(n for _, r in results for n in r.notes))
    tables.append(("Notes", pd.DataFrame({"note": notes or ["(none)"]})))
    return tables, rows


def _verdict(result: Any) -> str:
    """What the Calibration sheet says of one source: worse than the base rate, and for the
    calibrated forecast what it did (not calibrated: the time-aware probabilities)."""
    said = ["worse than always predicting the base rate"] if result.brier_skill < 0 else []
    said += [n for n in result.notes if n.startswith("calibrated forecast:")]
    return "; ".join(said)
