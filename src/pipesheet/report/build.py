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

from pipesheet.base import Result, note_is
from pipesheet.errors import PipesheetError
from pipesheet.formats import format_number
from pipesheet.headings import heading, method_name
from pipesheet.i18n import N_, _, ngettext, pgettext
from pipesheet.periods import period_bounds, read_date_setting

__all__ = ["SHEETS", "Report", "build_report", "sheet_name"]

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


def sheet_name(name: str) -> str:
    """A sheet's name in the language spoken (``report.sheets`` keeps the English names)."""
    names = {
        "Summary": pgettext("sheet", "Summary"),
        "Stage probabilities": pgettext("sheet", "Stage probabilities"),
        "Forecast": pgettext("sheet", "Forecast"),
        "Range": pgettext("sheet", "Range"),
        "Calibrated forecast": pgettext("sheet", "Calibrated forecast"),
        "Lead plan": pgettext("sheet", "Lead plan"),
        "Balance": pgettext("sheet", "Balance"),
        "Waterfall": pgettext("sheet", "Waterfall"),
        "Backtest": pgettext("sheet", "Backtest"),
        "Calibration": pgettext("sheet", "Calibration"),
        "Diagnostics": pgettext("sheet", "Diagnostics"),
        "Pipelines": pgettext("sheet", "Pipelines"),
        "Commits": pgettext("sheet", "Commits"),
        "Losses": pgettext("sheet", "Losses"),
    }
    return names.get(name, name)


#: A Summary row: (the item in English, the item in the language spoken, the value).
Row = tuple[str, str, Any]


#: A label in English and in the language spoken.
Said = tuple[str, str]


def _row(item: str, value: Any, **values: Any) -> Row:
    """A Summary row for ``item`` (an English text marked with ``N_``; ``{name}`` placeholders
    filled from ``values``, a :data:`Said` pair filling each text with its own): the English item
    names the row in ``report.summary``, the workbook shows it translated (and its number format
    still follows the English)."""
    english = {k: v[0] if isinstance(v, tuple) else v for k, v in values.items()}
    shown = {k: v[1] if isinstance(v, tuple) else v for k, v in values.items()}
    return item.format(**english), _(item).format(**shown), value


def _not_computed(err: Exception) -> str:
    return _("not computed: {error}").format(error=err)


def _method(method: str) -> Said:
    """A forecast method of the backtest (or a probability source of the calibration), in
    English and in the language spoken."""
    return method, method_name(method)


def _none() -> str:
    return _("(none)")


def _notes(notes: list[str]) -> pd.DataFrame:
    """A "Notes" table (one note a row; "(none)" when there is none)."""
    return pd.DataFrame({"note": notes or [_none()]})


def _period_noun(period: str) -> str:
    """ "month", "quarter", "year" as a word of the language spoken."""
    words = {
        "month": pgettext("period", "month"),
        "quarter": pgettext("period", "quarter"),
        "year": pgettext("period", "year"),
    }
    return words.get(str(period), str(period))


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
            _("the report needs a deals table"),
            expected=_("a deals (opportunities) export, plus optionally a stage history"),
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
        by_period = {
            "month": _("Weighted forecast by month"),
            "quarter": _("Weighted forecast by quarter"),
            "year": _("Weighted forecast by year"),
        }.get(period) or _("Weighted forecast by {period}").format(period=period)
        forecast_tables = [(by_period, forecast), *_overrides(priced)]
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
            columns=["item", "shown", "value"],
        )
        # the English items name the rows; the workbook shows them in the language spoken
        labels = summary.pop("shown").tolist()
        summary.attrs["labels"] = labels
        sheets = {
            "Summary": [
                (_("Summary"), summary),
                (_("Notes"), _notes(run.notes)),
            ],
            "Stage probabilities": [(_("Stage probabilities"), probs)]
            + ([(_("Probabilities used for the forecast"), given)] if given is not None else [])
            + [(_("Notes"), _disagreements(run, model))],
            "Forecast": forecast_tables,
            "Range": [
                (
                    _(
                        "Forecast range of the {deals} open deals of the forecast "
                        "(mean = its total)"
                    ).format(deals=format_number(rng.deals)),
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
        run.notes.append(
            _("the forecast and range use the given stage probabilities ({label})").format(
                label=label[1]
            )
        )
    elif set(unknown) & open_stages and "probability" in frame:
        source = "configured"
        run.notes.append(
            _(
                "no learned win probability for {stages}: the forecast, range and lead plan use "
                "the CRM's configured probabilities instead"
            ).format(stages=", ".join(unknown))
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
            _(
                "cohort and Markov estimates agree at every stage (none differs by 10 points or "
                "more with intervals apart)"
            )
        ]
    return pd.DataFrame({"note": said or [_("(none: no stage history)")]})


def _calibrated_forecast(
    run: _Run, currency: str | None, quota: float | None
) -> tuple[list[tuple[str, pd.DataFrame]], list[Row]]:
    """The "Calibrated forecast" sheet and the rows the Summary leads with: the calibrated
    forecast of the current period — the window (as of, end of the ``period`` containing it]
    (the next period's end when the as-of date is its last day) — with its range, P(closed so
    far + revenue ≥ quota), the method in words and the past periods it rests on
    (:func:`pipesheet.calibrated_forecast`)."""
    if run.history is None:
        why = _("needs a stage history")
        return [(_("Calibrated forecast"), pd.DataFrame({"note": [why]}))], [
            _row(N_("Calibrated forecast"), why)
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
        return [(_("Calibrated forecast"), pd.DataFrame({"note": [str(err)]}))], [
            _row(N_("Calibrated forecast"), _not_computed(err))
        ]
    window = f"{res.as_of.date()} → {res.period_end.date()}"
    rows: list[Row] = [
        _row(N_("Calibrated forecast"), res.forecast),
        _row(N_("Calibrated forecast window"), window),
        _row(N_("Calibrated P10"), res.p10),
        _row(N_("Calibrated P50"), res.p50),
        _row(N_("Calibrated P90"), res.p90),
        _row(N_("Closed so far in the period"), res.closed),
    ]
    if quota is not None:
        rows.append(_row(N_("P(closed so far + revenue ≥ quota)"), res.p_quota))
    rows += [
        _row(N_("Calibrated forecast method"), res.method),
        _row(N_("Past periods it rests on"), res.periods),
    ]
    tables = [
        (_("Calibrated forecast {window}").format(window=window), res.to_frame()),
        (
            _("Past periods it rests on (error = forecast / actual − 1)"),
            res.evidence.drop(columns=["log_error", "model_sd"]),
        ),
        (_("Open deals: the model's and the calibrated probability"), res.deals),
        (_("Notes"), _notes(res.notes)),
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
        target_note = {
            "month": _("target = average won revenue of the last {n} month(s)"),
            "quarter": _("target = average won revenue of the last {n} quarter(s)"),
            "year": _("target = average won revenue of the last {n} year(s)"),
        }[run.period].format(n=len(past))
    tables: list[tuple[str, pd.DataFrame]] = []
    if target is not None and not math.isnan(average_deal):
        try:
            plan = leads_needed(target, average_deal, model, currency=priced.currency)
            tables.append((_("Lead plan"), plan.table))
            explanation = list(plan.explanation)
        except PipesheetError as err:
            explanation = [str(err)]
    else:
        explanation = [_("no won deals yet: the lead plan needs an average won deal")]
    if target_note:
        explanation.insert(0, target_note)
    tables.append((_("Explanation"), pd.DataFrame({"explanation": explanation})))
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
        note = pd.DataFrame({"note": [_("needs a stage history or --previous")]})
        return [(_("Waterfall"), note)], None
    moved = w.deals[w.deals["step"] != "unchanged"].reset_index(drop=True)
    run.note(w.notes)
    return [
        (
            _("Pipeline closing {start} – {end}").format(start=start.date(), end=end.date()),
            w.table,
        ),
        (_("Deals that moved"), moved),
    ], w


def _diagnostics(
    run: _Run, stale_quantile: float
) -> tuple[list[tuple[str, pd.DataFrame]], list[Row]]:
    """The "Diagnostics" sheet (bottlenecks, cycle time, stale thresholds and deals) and the
    Summary's rows about it."""
    if run.history is None:
        return [(_("Diagnostics"), pd.DataFrame({"note": [_("needs a stage history")]}))], []
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
        (_("Bottlenecks"), b),
        (_("Cycle time (days)"), ct),
        (_("Stale thresholds (days in stage)"), thresholds),
        (_("Stale deals"), stale.reset_index(drop=True)),
    ]
    rows = [
        _row(N_("Bottleneck stage"), hit["stage"].iloc[0] if len(hit) else _("none")),
        _row(N_("Stale deals"), len(stale)),
    ]
    design_tables, design_rows = _stage_design(run)
    return tables + design_tables, rows + design_rows


def _stage_design(run: _Run) -> tuple[list[tuple[str, pd.DataFrame]], list[Row]]:
    """The stage design check on the Diagnostics sheet (its flags, each with the evidence and a
    suggestion) and the Summary's row about it."""
    from pipesheet.stage_design import stage_design_check

    try:
        design = stage_design_check(run.history, run.deals, as_of=run.as_of, stages=run.stages)
    except PipesheetError as err:
        return [(_("Stage design check"), pd.DataFrame({"note": [str(err)]}))], [
            _row(N_("Stage design flags"), _not_computed(err))
        ]
    run.note(design.notes)
    title = str(design).splitlines()[0]
    checks = ", ".join(dict.fromkeys(design.flags["check"]))
    return [(title, design.to_frame())], [
        _row(N_("Stage design flags"), f"{len(design.flags)} ({checks})" if checks else _("none"))
    ]


def _balance(
    run: _Run, currency: str | None, quota: float | None, target: float | None
) -> tuple[list[tuple[str, pd.DataFrame]], list[Row]]:
    """The "Balance" sheet: :func:`pipesheet.balance.pipeline_balance` for the report's current
    period (the period of the as-of day) with the quota as its target, else the lead plan's
    target; the per-stage table, what to do, the inputs and notes; and the Summary's rows."""
    if run.history is None:
        return [(_("Balance"), pd.DataFrame({"note": [_("needs a stage history")]}))], []
    goal, source = (
        (quota, _("the quota")) if quota is not None else (target, _("the lead plan's target"))
    )
    if goal is None:
        note = _("no target: give --quota or --target (no past won revenue to default to)")
        return [(_("Balance"), pd.DataFrame({"note": [note]}))], [_row(N_("Balance"), note)]
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
        return [(_("Balance"), pd.DataFrame({"note": [str(err)]}))], [
            _row(N_("Balance"), _not_computed(err))
        ]
    inputs = {**result.inputs(), "target_is": source}
    inputs = {
        k: v.to_pydatetime() if isinstance(v, pd.Timestamp) else ("" if v is None else v)
        for k, v in inputs.items()
    }
    tables = [
        (
            _("Pipeline balance for {start} – {end} (target = {source}), as of {as_of}").format(
                start=start.date(), end=end.date(), source=source, as_of=result.as_of.date()
            ),
            result.to_frame(),
        ),
        (_("What to do"), pd.DataFrame({"advice": result.advice or [_none()]})),
        (_("Inputs"), pd.DataFrame({"item": list(inputs), "value": list(inputs.values())})),
        (_("Notes"), _notes(result.notes)),
    ]
    rows = [
        _row(N_("Balance: thin stages"), ", ".join(result.thin) or _("none")),
        _row(N_("Balance: bloated stages"), ", ".join(result.bloated) or _("none")),
    ]
    return tables, rows


def _overrides(priced: Any) -> list[tuple[str, pd.DataFrame]]:
    """The "Forecast" sheet's list of the open deals priced at their own probability."""
    listed = priced.open_deals()
    own = listed[listed["source"] == "override"].reset_index(drop=True)
    if own.empty:
        return []
    return [(_("Deals priced at their own probability (override) instead of their stage's"), own)]


def _pipelines(
    run: _Run, priced: Any, quota: float | None
) -> tuple[list[tuple[str, pd.DataFrame]], list[Row]]:
    """The "Pipelines" sheet: every figure per pipeline and in total, and the forecast by
    pipeline and period (several pipelines only)."""
    from pipesheet.pipelines import pipeline_summary

    lists = run.deals.pipelines
    if not lists:
        note = _("the deals are in one pipeline (no pipeline column, or one name in it)")
        return [(_("Pipelines"), pd.DataFrame({"note": [note]}))], []
    summary = pipeline_summary(priced, quota)
    by_pipeline = priced.forecast(run.period, run.fiscal_year_start, "pipeline", total=True)
    stages = pd.DataFrame(
        {"pipeline_name": list(lists), "stages": [" → ".join(s.open) for s in lists.values()]}
    )
    by_period = {
        "month": _("Weighted forecast by pipeline and month"),
        "quarter": _("Weighted forecast by pipeline and quarter"),
        "year": _("Weighted forecast by pipeline and year"),
    }[run.period]
    tables = [
        (_("Per pipeline and in total (each deal at its own pipeline's probability)"), summary),
        (by_period, by_pipeline),
        (_("Each pipeline's stages"), stages),
    ]
    return tables, [_row(N_("Pipelines"), ", ".join(lists))]


def _commits(
    run: _Run, commits: Any, source: Any, currency: str | None, sheet: Any, table: Any
) -> tuple[list[tuple[str, pd.DataFrame]], list[Row]]:
    """The "Commits" sheet: system vs committed vs actual, and who forecasts better."""
    if commits is None:
        note = _("give a commits table (owner or team, period, committed amount): --commits FILE")
        return [(_("Commits"), pd.DataFrame({"note": [note]}))], []
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
    run.note([n for n in result.notes if not note_is(n, "as of ")])
    tables = [
        (
            _("Commits vs system forecast vs actual, by {by} and {period}").format(
                by=heading(result.by), period=_period_noun(result.period)
            ),
            result.table,
        ),
        (_("Who forecasts better (past periods where both exist)"), result.summary),
    ]
    return tables, [_row(N_("Commits: lower MAPE"), result.best or _("not known yet"))]


def _losses(run: _Run, currency: str | None) -> tuple[list[tuple[str, pd.DataFrame]], list[Row]]:
    """The "Losses" sheet: lost deals by reason, by stage, and both."""
    if "loss_reason" not in run.deals.frame:
        note = _("the deals table has no loss-reason column (Loss Reason, Loss_Reason__c…)")
        return [(_("Losses"), pd.DataFrame({"note": [note]}))], []
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
        return [(_("Losses"), pd.DataFrame({"note": [str(err)]}))], [_row(N_("Losses"), str(err))]
    run.note(result.notes)
    tables = [
        (_("Lost deals by reason"), result.by_reason),
        (_("Lost deals by the stage they were lost at"), result.by_stage),
        (_("Lost deals by reason and stage"), result.by_reason_stage),
    ]
    rows = [_row(N_("Lost deals"), result.lost_deals), _row(N_("Lost amount"), result.amount)]
    return tables, rows


def _summary(
    run: _Run,
    priced: Any,
    rng: Any,
    average_deal: float,
    target: float | None,
    quota: float | None,
    w: Any,
) -> list[Row]:
    """The Summary's key figures (its totals are the other sheets' totals)."""
    rows: list[Row] = [
        _row(N_("Source"), run.export.source),
        _row(N_("Files"), ", ".join(Path(f).name for f in run.export.files) or _("tables")),
        _row(N_("As of"), run.as_of.to_pydatetime()),
        _row(N_("Reporting currency"), priced.currency or ""),
        _row(N_("Stage order"), " → ".join(run.stages.open) + f" ({run.stages.source})"),
        _row(N_("Deals"), len(run.deals.frame)),
        _row(N_("Open deals"), int(priced.open.sum())),
        _row(N_("Open pipeline"), priced.pipeline),
        _row(N_("Weighted forecast"), priced.weighted),
        _row(N_("Range mean"), rng.mean),
        _row(N_("Range P10"), rng.p10),
        _row(N_("Range P50"), rng.p50),
        _row(N_("Range P90"), rng.p90),
        _row(N_("Average won deal"), average_deal),
        _row(N_("Overall win rate"), _overall_rate(run.deals, run.stages)),
        _row(N_("Lead plan target"), target if target is not None else ""),
    ]
    if quota is not None:
        rows.append(_row(N_("P(total ≥ quota)"), rng.p_quota))
    if w is not None:
        rows += [
            _row(N_("Waterfall opening"), w.opening),
            _row(N_("Waterfall closing"), w.closing),
        ]
    return rows


def _given_probabilities(value: Any) -> tuple[Any, pd.DataFrame | None, Said]:
    """(what weighted_forecast takes, the table to show or None, a label for the notes, in
    English and in the language spoken)."""
    from pipesheet.presets import PRESETS, preset

    def said(text: str, **values: Any) -> Said:
        return text.format(**values), _(text).format(**values)

    if isinstance(value, (str, Path)) and str(value).strip().casefold() == "configured":
        return "configured", None, said(N_("the CRM's configured probabilities"))
    if isinstance(value, str) and value.strip().casefold() in PRESETS:
        name = value.strip().casefold()
        return name, preset(name), said(N_("the {name} preset"), name=name)
    if isinstance(value, (str, Path)):
        from pipesheet.exports import read_table

        table = read_table(value)
        return table, table, said(N_("from {file}"), file=Path(value).name)
    if isinstance(value, pd.DataFrame):
        return value, value, said(N_("a given table"))
    return value, None, said(N_("given"))


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
    summary: list[Row]
    notes: list[str]


def _backtest_window(history, as_of: pd.Timestamp, period: str, fys: int, n: int) -> _Window:
    if history is None:
        return _Window(None, 0, n, None, [_row(N_("Backtest"), _("needs a stage history"))], [])
    if period == "year":
        why = _("runs by month or quarter")
        return _Window(None, 0, n, None, [_row(N_("Backtest"), why)], [])
    months = {"month": 1, "quarter": 3}[period]
    start, _end = _period_bounds(as_of, period, fys)
    h0 = pd.Timestamp(history.frame["entered_date"].min()).normalize()
    starts = [start - pd.DateOffset(months=months * i) for i in range(n, 0, -1)]
    usable = [p for p in starts if p - pd.Timedelta(days=1) >= h0]
    notes: list[str] = []
    rows: list[Row] = []
    if len(usable) < len(starts):
        skipped = len(starts) - len(usable)
        text = {
            "month": _(
                "{skipped} of the {n} months asked for skipped: the history starts on {start}, "
                "and a month can be backtested only from the day before it starts"
            ),
            "quarter": _(
                "{skipped} of the {n} quarters asked for skipped: the history starts on "
                "{start}, and a quarter can be backtested only from the day before it starts"
            ),
        }[period].format(skipped=skipped, n=n, start=h0.date())
        notes.append(_("backtest and calibration: {text}").format(text=text))
        rows.append(_row(N_("Backtest skipped"), text))
    if not usable:
        return _Window(None, 0, n, h0, rows, notes)
    last = start - pd.Timedelta(days=1)
    count = len(usable)
    periods = {
        "month": ngettext("{n} month", "{n} months", count),
        "quarter": ngettext("{n} quarter", "{n} quarters", count),
    }[period].format(n=count)
    rows.insert(0, _row(N_("Backtest periods"), f"{periods}, {usable[0].date()} – {last.date()}"))
    return _Window(usable[0], len(usable), n, h0, rows, notes)


def _backtest(export, deals, window: _Window, period, fys, rates, cur, stages, blank_amounts):
    """The Backtest sheet's tables and the Summary's rows about it."""
    if window.first is None:
        reason = window.summary[-1][2] if window.summary else _("no period to backtest")
        return [(_("Backtest"), pd.DataFrame({"note": [reason]}))], list(window.summary)
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
        rows.append(_row(N_("Backtest"), _not_computed(err)))
        return [(_("Backtest"), pd.DataFrame({"note": [str(err)]}))], rows
    for _i, r in result.summary.iterrows():
        method = _method(r["method"])
        rows.append(_row(N_("Backtest MAPE ({method})"), r["mape"], method=method))
        if r["unscored"]:
            blank = result.table[
                (result.table["method"] == r["method"]) & result.table["forecast"].isna()
            ]
            why = "; ".join(dict.fromkeys(blank["note"]))
            rows.append(
                _row(
                    N_("Backtest not scored ({method})"),
                    _("{periods}: {why} — left out of MAPE").format(
                        periods=", ".join(blank["period"]), why=why
                    ),
                    method=method,
                )
            )
    recommended = result.summary.set_index("method").loc["recommended"]
    rows.append(
        _row(
            N_("Backtest share of periods within P10–P90 (recommended)"),
            recommended["in_range_share"],
        )
    )
    tables = [(_("Backtest by period"), result.wide), (_("Error by method"), result.summary)]
    tables.append((_("Notes"), _notes(result.notes)))
    return tables, rows


def _calibration(run: _Run, window: _Window, currency: str | None, probabilities: Any):
    """The Calibration sheet: every probability the user has, predicted the day before the
    backtest starts (the same first period) and checked against what happened — the learned
    stage probabilities, the CRM's configured ones (when a Probability column exists), the
    probabilities given for the forecast, the time-aware and the calibrated ones (to the end of
    that first period) — with the Brier score, its base-rate reference and the Brier skill of
    each, then each one's table by stage and by probability bucket."""
    if window.first is None:
        reason = window.summary[-1][2] if window.summary else _("no period to calibrate")
        return [(_("Calibration"), pd.DataFrame({"note": [reason]}))], []
    from pipesheet.calibration import calibration

    export = run.export
    predicted_on = window.first - pd.Timedelta(days=1)
    _start, period_end = _period_bounds(window.first, run.period, run.fiscal_year_start)
    try:
        cal = calibration(export.history, run.deals, as_of=predicted_on, stages=run.stages)
    except PipesheetError as err:
        return [(_("Calibration"), pd.DataFrame({"note": [str(err)]}))], [
            _row(N_("Calibration"), _not_computed(err))
        ]
    rows = [
        _row(N_("Calibration predicted on"), predicted_on.to_pydatetime()),
        _row(N_("Calibration Brier score"), cal.brier),
    ]
    sources: list[tuple[Said, Any, dict[str, Any]]] = []
    has_configured = "probability" in run.deals.frame or "probability" in export.history
    if has_configured:
        sources.append((_method("configured"), "configured", {}))
    if probabilities is not None:
        given, _table, label = _given_probabilities(probabilities)
        if not (isinstance(given, str) and given == "configured"):
            sources.append((label, given, {}))
    window_end = {"period_end": period_end}
    money = {"rates": run.rates, "currency": currency, "blank_amounts": run.blank_amounts}
    sources += [
        (_method("time-aware"), "time-aware", window_end),
        (_method("calibrated"), "calibrated", {**window_end, **money}),
    ]
    results: list[tuple[Said, Any]] = [(_method("learned"), cal)]
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
            failed.append({"probabilities": label[1], "note": _not_computed(err)})
    compared = pd.concat(
        [r.summary.assign(probabilities=label[1], note=_verdict(r)) for label, r in results]
        + ([pd.DataFrame(failed)] if failed else []),
        ignore_index=True,
    )
    rows += [_row(N_("Brier skill ({label})"), r.brier_skill, label=label) for label, r in results]
    day = predicted_on.date()
    tables = [
        (
            _("Stage probabilities predicted on {date}").format(date=day),
            cal.summary.assign(probabilities=_method("learned")[1]),
        ),
        (_("By stage"), cal.by_stage),
        (_("By probability bucket"), cal.by_bucket),
        (
            _(
                "Every probability predicted on {date}: Brier score and skill "
                "(1 − Brier / Brier of always predicting the base rate)"
            ).format(date=day),
            compared,
        ),
    ]
    for label, r in results[1:]:
        tables += [
            (_("By stage — {label}").format(label=label[1]), r.by_stage),
            (_("By probability bucket — {label}").format(label=label[1]), r.by_bucket),
        ]
    notes = list(dict.fromkeys(n for _label, r in results for n in r.notes))
    tables.append((_("Notes"), _notes(notes)))
    return tables, rows


def _verdict(result: Any) -> str:
    """What the Calibration sheet says of one source: worse than the base rate, and for the
    calibrated forecast what it did (not calibrated: the time-aware probabilities)."""
    said = [_("worse than always predicting the base rate")] if result.brier_skill < 0 else []
    said += [n for n in result.notes if note_is(n, "calibrated forecast:")]
    return "; ".join(said)
