"""The dashboard's pipeline balance and stage design panel.

Every number comes from the engine; the panel only formats:

* the pipeline balance — the open deals each stage should hold on the data's as-of day for won
  revenue to arrive at the target's pace (Little's law), against what it holds, the status (thin /
  balanced / bloated), what to do, and the week a thin stage's shortfall reaches Won:
  :func:`pipesheet.balance.pipeline_balance` on the dashboard's deals, history, rates and
  blank-amount choice;
* the stage design check — flags on the stage list itself, each with its evidence and a
  suggestion: :func:`pipesheet.stage_design.stage_design_check`.

Inputs: a revenue target (default: the dashboard's quota; it follows the quota as long as the two
are equal, so typing another target keeps it) and the period the target is for (default: the
calendar quarter of the data's as-of day — the day of the latest history row; when new data
loads, a period still at its default moves to the new data's quarter).
"""

from __future__ import annotations

import datetime as dt
import functools
import html
from typing import Any

import ipywidgets as w
import pandas as pd

from pipesheet.apps.common import error_html, fmt_money, fmt_number, guard, html_table
from pipesheet.balance import BalanceResult, pipeline_balance
from pipesheet.diagnostics import as_of_day
from pipesheet.errors import PipesheetError
from pipesheet.periods import period_bounds
from pipesheet.stage_design import StageDesignResult, stage_design_check

__all__ = ["BalancePanel"]

_STYLE = {"description_width": "120px"}
_FIELD = w.Layout(width="300px")
#: How each status reads on the page.
STATUS_WORDS = {
    "thin": "thin ▼",
    "bloated": "bloated ▲",
    "balanced": "balanced",
    "unknown": "unknown",
}


class BalancePanel:
    """The balance and stage design panel of a :class:`~pipesheet.apps.dashboard.Dashboard`.

    Args:
        dashboard: The dashboard whose data (``deals``, ``history``, ``rates``), blank-amount
            choice and quota the panel uses. It calls :meth:`data_changed` when new data is
            loaded and :meth:`refresh` when the blank-amount choice changes.

    Attributes: ``target``, ``period_start``, ``period_end`` (the input widgets), ``result`` (the
    :class:`~pipesheet.balance.BalanceResult` shown, or None), ``design`` (the
    :class:`~pipesheet.stage_design.StageDesignResult`, or None), ``error`` (the balance's
    message, or ""), ``widget`` (what the dashboard lays out).
    """

    def __init__(self, dashboard: Any) -> None:
        self.dashboard = dashboard
        self.result: BalanceResult | None = None
        self.design: StageDesignResult | None = None
        self.error = ""
        self._default: tuple[dt.date, dt.date] | None = None
        self._busy = False
        quota = dashboard.quota
        self.target = w.FloatText(
            value=quota.value, description="Revenue target", style=_STYLE, layout=_FIELD
        )
        self.period_start = w.DatePicker(description="Period from", style=_STYLE, layout=_FIELD)
        self.period_end = w.DatePicker(description="Period to", style=_STYLE, layout=_FIELD)
        self.balance_html = w.HTML()
        self.design_html = w.HTML()
        safe = functools.partial(guard, self._show_problem)
        quota.observe(safe(self._quota_changed), names="value")
        for box in (self.target, self.period_start, self.period_end):
            box.observe(safe(lambda _c: self.refresh()), names="value")
        self.widget = w.VBox(
            [
                w.HTML(
                    '<span class="pipesheet-note">The open deals each stage should hold today for '
                    "won revenue to arrive at the target's pace: deals that must reach the stage "
                    "per day × days a deal spends in it (Little's law), learned from the stage "
                    "history. Thin / bloated: the gap is beyond 2 × √needed, the spread a "
                    "balanced pipeline shows. The target follows the quota until you type "
                    "another.</span>"
                ),
                w.HBox([self.target, self.period_start, self.period_end]),
                self.balance_html,
                w.HTML("<h4>Stage design check</h4>"),
                self.design_html,
            ]
        )

    # ---- events --------------------------------------------------------------------------------
    def _quota_changed(self, change: dict) -> None:
        """The target follows the quota while the two are equal."""
        if self.target.value == change["old"]:
            self.target.value = change["new"]  # refreshes through the target's observer

    def data_changed(self) -> None:
        """New data: the default period moves to the new as-of day's quarter (unless the user
        chose another period), then the balance and the stage design check are computed."""
        history = self.dashboard.history
        if history is not None:
            day = pd.Timestamp(as_of_day(history, None))
            start, end = period_bounds(day, "quarter")
            new = (start.date(), end.date())
            now = (self.period_start.value, self.period_end.value)
            if now == (None, None) or now == self._default:
                self._busy = True
                try:
                    self.period_start.value, self.period_end.value = new
                finally:
                    self._busy = False
            self._default = new
        self._check_design()
        self.refresh()

    def _show_problem(self, message: str) -> None:
        self.error = message
        self.balance_html.value = error_html(message)

    # ---- computing -----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Compute the balance for the target and period (the engine's message on bad input)."""
        if self._busy:
            return
        d = self.dashboard
        self.result, self.error = None, ""
        if getattr(d, "deals", None) is None:
            return
        if d.history is None:
            self.balance_html.value = (
                '<span class="pipesheet-note" id="balance-message">The pipeline balance learns '
                "conversions and days in stage from a stage-history file: upload one.</span>"
            )
            return
        try:
            self.result = pipeline_balance(
                d.history,
                d.deals,
                self.target.value,
                self.period_start.value,
                self.period_end.value,
                rates=d.rates,
                blank_amounts=d.blank_amounts.value,
            )
        except PipesheetError as err:
            self.error = str(err)
            self.balance_html.value = error_html(self.error)
            return
        self.balance_html.value = self.render(self.result)

    def _check_design(self) -> None:
        d = self.dashboard
        self.design = None
        if getattr(d, "history", None) is None:
            self.design_html.value = (
                '<span class="pipesheet-note">The stage design check needs a stage-history '
                "file.</span>"
            )
            return
        try:
            self.design = stage_design_check(d.history, d.deals)
        except PipesheetError as err:
            self.design_html.value = error_html(str(err))
            return
        self.design_html.value = self.render_design(self.design)

    # ---- rendering -----------------------------------------------------------------------------
    @staticmethod
    def render(r: BalanceResult) -> str:
        """The balance as HTML: the inputs, the table per stage, what to do, notes."""
        cur = html.escape(r.currency or "")
        t = r.table.copy()
        t["off"] = t["status"].isin(["thin", "bloated"])
        t["status"] = t["status"].map(STATUS_WORDS)
        one = lambda v: fmt_number(v, 1)  # noqa: E731
        week = lambda v: "" if pd.isna(v) else f"week of {pd.Timestamp(v).date()}"  # noqa: E731
        cols = [
            "stage",
            "needed",
            "open",
            "gap",
            "noise",
            "status",
            "needed_value",
            "open_value",
            "gap_value",
            "starves_won_week",
            "off",
        ]
        table = html_table(
            t[cols],
            {
                "needed": one,
                "open": fmt_number,
                "gap": lambda v: "" if pd.isna(v) else f"{v:+,.1f}",
                "noise": one,
                "needed_value": fmt_money,
                "open_value": fmt_money,
                "gap_value": lambda v: "" if pd.isna(v) else f"{v:+,.0f}",
                "starves_won_week": week,
            },
            headers={
                "stage": "Stage",
                "needed": "Needed (deals)",
                "open": "Open (deals)",
                "gap": "Gap",
                "noise": "Noise (±1σ)",
                "status": "Status",
                "needed_value": f"Needed value {cur}".strip(),
                "open_value": f"Open value {cur}".strip(),
                "gap_value": "Gap value",
                "starves_won_week": "Shortfall reaches Won",
            },
            flag="off",
            css_id="balance-table",
        )
        inputs = (
            f'<div class="pipesheet-note" id="balance-inputs">Target {fmt_money(r.target)} {cur} '
            f"for {r.period_start.date()} to {r.period_end.date()} ({r.period_days} days): pace "
            f"{fmt_money(r.pace)} {cur} a day ÷ average won deal {fmt_money(r.average_deal)} "
            f"{cur} = {r.won_per_day:.3g} won deals a day; the pipeline of {r.as_of.date()}."
            "</div>"
        )
        thin = r.table[r.table["starves_won_week"].notna()]
        if len(thin):
            first = thin.sort_values("starves_won_date", kind="stable").iloc[0]
            starve = (
                f"The first shortfall reaches Won in the week of "
                f"{pd.Timestamp(first['starves_won_week']).date()} ({html.escape(first['stage'])}"
                f" is {fmt_number(-first['gap'], 1)} deals short)."
            )
        else:
            starve = "No thin stage: no shortfall on its way to Won."
        advice = "".join(f"<li>{html.escape(a)}</li>" for a in r.advice)
        notes = _notes(r.notes)
        return (
            inputs
            + table
            + f'<div id="balance-starves"><b>{starve}</b></div>'
            + f'<ul id="balance-advice">{advice}</ul>'
            + notes
        )

    @staticmethod
    def render_design(d: StageDesignResult) -> str:
        """The stage design flags as HTML (or that none is raised)."""
        k = len(d.evidence)
        if d.ok:
            body = (
                f'<div id="stage-design-ok">No flag raised: the {k} open stages look sound (as of '
                f"{d.as_of.date()}).</div>"
            )
        else:
            body = html_table(
                d.flags[["check", "stage", "evidence", "suggestion"]],
                headers={
                    "check": "Check",
                    "stage": "Stage",
                    "evidence": "Evidence",
                    "suggestion": "Suggestion",
                },
                css_id="stage-design-table",
            )
        notes = _notes(d.notes)
        return body + notes

    def results(self) -> dict[str, pd.DataFrame]:
        """The panel's tables for the dashboard's download, by sheet name."""
        out: dict[str, pd.DataFrame] = {}
        if self.result is not None:
            out["Pipeline balance"] = self.result.to_frame()
        if self.design is not None:
            out["Stage design"] = self.design.to_frame()
        return out


def _notes(notes: list[str]) -> str:
    return "".join(f'<div class="pipesheet-note">Note: {html.escape(n)}</div>' for n in notes)
