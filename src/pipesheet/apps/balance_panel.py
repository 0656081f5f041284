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

from pipesheet.apps.common import (
    error_html,
    fmt_date,
    fmt_money,
    fmt_number,
    fmt_signed,
    guard,
    html_table,
)
from pipesheet.balance import BalanceResult, pipeline_balance
from pipesheet.diagnostics import as_of_day
from pipesheet.errors import PipesheetError
from pipesheet.formats import format_number
from pipesheet.i18n import N_, _
from pipesheet.periods import period_bounds
from pipesheet.stage_design import StageDesignResult, stage_design_check

__all__ = ["BalancePanel"]

_STYLE = {"description_width": "120px"}
_FIELD = w.Layout(width="300px")
#: How each status reads on the page (in the page's language: ``_(STATUS_WORDS[status])``).
STATUS_WORDS = {
    "thin": N_("thin ▼"),
    "bloated": N_("bloated ▲"),
    "balanced": N_("balanced"),
    "unknown": N_("unknown"),
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
        words = dashboard.words  # the dashboard writes them again in another language
        self.target = words.describe(
            w.FloatText(value=quota.value, style=_STYLE, layout=_FIELD),
            lambda: _("Revenue target"),
        )
        self.period_start = words.describe(
            w.DatePicker(style=_STYLE, layout=_FIELD), lambda: _("Period from")
        )
        self.period_end = words.describe(
            w.DatePicker(style=_STYLE, layout=_FIELD), lambda: _("Period to")
        )
        self.balance_html = w.HTML()
        self.design_html = w.HTML()
        safe = functools.partial(guard, self._show_problem, lang=lambda: dashboard.lang)
        quota.observe(safe(self._quota_changed), names="value")
        for box in (self.target, self.period_start, self.period_end):
            box.observe(safe(lambda _c: self.refresh()), names="value")

        def intro() -> str:
            return _(
                "The open deals each stage should hold today for won revenue to arrive at the "
                "target's pace: deals that must reach the stage per day × days a deal spends in "
                "it (Little's law), learned from the stage history. Thin / bloated: the gap is "
                "beyond 2 × √needed, the spread a balanced pipeline shows. The target follows "
                "the quota until you type another."
            )

        self.widget = w.VBox(
            [
                words.html(lambda: f'<span class="pipesheet-note">{intro()}</span>'),
                w.HBox([self.target, self.period_start, self.period_end]),
                self.balance_html,
                words.html(lambda: "<h4>" + html.escape(_("Stage design check")) + "</h4>"),
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
            text = _(
                "The pipeline balance learns conversions and days in stage from a stage-history "
                "file: upload one."
            )
            self.balance_html.value = (
                f'<span class="pipesheet-note" id="balance-message">{text}</span>'
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
            text = _("The stage design check needs a stage-history file.")
            self.design_html.value = f'<span class="pipesheet-note">{text}</span>'
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
        t["status"] = t["status"].map(lambda v: _(STATUS_WORDS[v]) if v in STATUS_WORDS else v)
        one = lambda v: fmt_number(v, 1)  # noqa: E731
        week = lambda v: "" if pd.isna(v) else _("week of {date}").format(date=fmt_date(v))  # noqa: E731
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
                "gap": lambda v: fmt_signed(v, 1),
                "noise": one,
                "needed_value": fmt_money,
                "open_value": fmt_money,
                "gap_value": lambda v: fmt_signed(v, 0),
                "starves_won_week": week,
            },
            headers={
                "stage": _("Stage"),
                "needed": _("Needed (deals)"),
                "open": _("Open (deals)"),
                "gap": _("Gap"),
                "noise": _("Noise (±1σ)"),
                "status": _("Status"),
                "needed_value": _("Needed value {currency}").format(currency=cur).strip(),
                "open_value": _("Open value {currency}").format(currency=cur).strip(),
                "gap_value": _("Gap value"),
                "starves_won_week": _("Shortfall reaches Won"),
            },
            flag="off",
            css_id="balance-table",
        )
        text = _(
            "Target {target} {currency} for {start} to {end} ({days} days): pace {pace} "
            "{currency} a day ÷ average won deal {average} {currency} = {won} won deals a day; "
            "the pipeline of {date}."
        ).format(
            target=fmt_money(r.target),
            currency=r.currency or "",
            start=fmt_date(r.period_start),
            end=fmt_date(r.period_end),
            days=fmt_number(r.period_days),
            pace=fmt_money(r.pace),
            average=fmt_money(r.average_deal),
            won=_significant(r.won_per_day),
            date=fmt_date(r.as_of),
        )
        inputs = f'<div class="pipesheet-note" id="balance-inputs">{html.escape(text)}</div>'
        thin = r.table[r.table["starves_won_week"].notna()]
        if len(thin):
            first = thin.sort_values("starves_won_date", kind="stable").iloc[0]
            starve = _(
                "The first shortfall reaches Won in the week of {date} ({stage} is {deals} deals "
                "short)."
            ).format(
                date=fmt_date(first["starves_won_week"]),
                stage=first["stage"],
                deals=fmt_number(-first["gap"], 1),
            )
        else:
            starve = _("No thin stage: no shortfall on its way to Won.")
        starve = html.escape(starve, quote=False)
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
            text = _("No flag raised: the {stages} open stages look sound (as of {date}).").format(
                stages=fmt_number(k), date=fmt_date(d.as_of)
            )
            body = f'<div id="stage-design-ok">{html.escape(text, quote=False)}</div>'
        else:
            body = html_table(
                d.flags[["check", "stage", "evidence", "suggestion"]],
                headers={
                    "check": _("Check"),
                    "stage": _("Stage"),
                    "evidence": _("Evidence"),
                    "suggestion": _("Suggestion"),
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
    return "".join(
        '<div class="pipesheet-note">' + html.escape(_("Note: {note}").format(note=n)) + "</div>"
        for n in notes
    )


def _significant(value: float, digits: int = 3) -> str:
    """``value`` to ``digits`` significant digits (``{:.3g}``), in the language spoken."""
    text = f"{value:.{digits}g}"
    if "e" in text or "n" in text:  # very large or small, inf, nan: as Python writes them
        return text
    decimals = len(text.split(".")[1]) if "." in text else 0
    return format_number(float(text), decimals)
