"""The dashboard's scenario panel: pick a what-if and its parameter, see the forecast, its range
and P(≥ quota) before and after.

Every number comes from :func:`pipesheet.apply_scenarios`, on the dashboard's data and settings:
its deals and probabilities, its quota, its blank-amount choice and rates, the period chosen under
*Range for period* (:func:`pipesheet.period_window` of its label) and, for *Add new leads a
week*, the days in stage learned from its stage history.  The as-of date is the latest date in the
data (:func:`data_as_of`), so nothing is left out that the dashboard's own range counts: the
panel's *before* is the dashboard's range of that period (the whole pipeline — the *Show* filter
does not apply).  The panel only formats.
"""

from __future__ import annotations

import functools
import html
from typing import Any

import ipywidgets as w
import pandas as pd

from pipesheet.apps.common import (
    error_html,
    fmt_money,
    fmt_number,
    fmt_pct,
    fmt_signed,
    guard,
)
from pipesheet.errors import PipesheetError
from pipesheet.i18n import N_, _
from pipesheet.quotas import period_window
from pipesheet.scenarios import apply_scenarios

__all__ = ["KINDS", "ScenarioPanel", "data_as_of"]

#: (label, the scenario's keyword, an example parameter); the labels shown in the page's language
KINDS = (
    (N_("Drop the largest deals"), "drop-largest", "3"),
    (N_("Drop deals by id"), "drop", ""),
    (N_("Slip close dates by (days)"), "slip", "30"),
    (N_("Change a stage's conversion"), "conversion", "Proposal=35%"),
    (N_("Add new leads a week"), "add-leads", "10/week"),
)
_STYLE = {"description_width": "170px"}
#: Each measure's name (shown in the page's language: ``_(LABELS[measure])``).
LABELS = {
    "forecast": N_("Forecast (weighted)"),
    "pipeline": N_("Open pipeline"),
    "open_deals": N_("Open deals"),
    "p10": "P10",
    "p50": N_("P50 (median)"),
    "p90": "P90",
    "closed": N_("Closed so far"),
    "p_quota": N_("P(≥ quota)"),
}


def _kinds() -> list[tuple[str, str]]:
    return [(_(label), key) for label, key, _example in KINDS]


def data_as_of(dashboard: Any) -> pd.Timestamp | None:
    """The latest date the dashboard's data knows of: the last stage-history row, else the
    latest created or closed date of the deals (None without either)."""
    if dashboard.history is not None:
        return pd.Timestamp(dashboard.history.frame["entered_date"].max()).normalize()
    frame = dashboard.deals.frame
    dates = [frame[c].max() for c in ("created_date", "closed_date") if c in frame]
    dates = [d for d in dates if not pd.isna(d)]
    return pd.Timestamp(max(dates)).normalize() if dates else None


class ScenarioPanel:
    """Scenario kind, its parameter, and the before/after table.

    Attributes (after each refresh): ``result`` (the :class:`pipesheet.ScenarioResult`, or None
    with a message shown), ``widget`` (what the dashboard lays out).
    """

    def __init__(self, dashboard: Any) -> None:
        self.dashboard = dashboard
        self.result: Any = None
        words = dashboard.words  # the dashboard writes them again in another language
        self.kind = w.Dropdown(
            options=_kinds(),
            value="drop-largest",
            style=_STYLE,
            layout=w.Layout(width="400px"),
        )
        words.options(self.kind, _kinds)
        words.describe(self.kind, lambda: _("What if"))
        self.parameter = words.describe(
            w.Text(
                value="3",
                continuous_update=False,
                style=_STYLE,
                layout=w.Layout(width="360px"),
            ),
            lambda: _("Parameter"),
        )
        self.html = w.HTML()
        show = functools.partial(guard, self._show_problem, lang=lambda: dashboard.lang)
        self.kind.observe(show(lambda _c: self._kind_changed()), names="value")
        self.parameter.observe(show(lambda _c: self.refresh()), names="value")

        def intro() -> str:
            text = _(
                "A what-if on the open deals of the period chosen under <i>{range}</i> (syntax: "
                "drop-largest 3, drop D-1,D-2, slip 30, conversion Proposal=35%, add-leads "
                "10/week)."
            ).format(range=_("Range for period"))
            return f'<span class="pipesheet-note">{text}</span>'

        self.widget = w.VBox(
            [
                words.html(intro),
                w.HBox([self.kind, self.parameter]),
                self.html,
            ]
        )

    def text(self) -> str:
        """The scenario as text: the kind's keyword and the parameter."""
        return f"{self.kind.value} {self.parameter.value}".strip()

    def _kind_changed(self) -> None:
        if self.dashboard._busy:  # the same choice, relabelled in another language
            return
        example = next(ex for _, key, ex in KINDS if key == self.kind.value)
        if self.parameter.value != example:
            self.parameter.value = example  # refreshes
        else:
            self.refresh()

    def _show_problem(self, message: str) -> None:
        self.result = None
        self.html.value = error_html(message)

    def refresh(self) -> None:
        """Compute the scenario on the dashboard's data and show it (a bad parameter shows the
        engine's message here, not in the dashboard's data box)."""
        d = self.dashboard
        label = d.range_period.value
        if getattr(d, "deals", None) is None or not label:
            self.result = None
            self.html.value = (
                '<span class="pipesheet-note">' + _("No period to forecast.") + "</span>"
            )
            return
        if not self.parameter.value.strip():
            self.result = None
            text = _("Type the parameter, e.g. the deal ids D-000123,D-000456.")
            self.html.value = f'<span class="pipesheet-note">{text}</span>'
            return
        try:
            start, end = period_window(label)
            self.result = apply_scenarios(
                d.deals,
                d._probabilities(),
                self.text(),
                quota=d.quota.value,
                start=start,
                end=end,
                as_of=data_as_of(d),
                rates=d.rates,
                blank_amounts=d.blank_amounts.value,
                history=d.history,
            )
        except PipesheetError as err:
            self._show_problem(str(err))
            return
        self._render(label)

    def _render(self, label: str) -> None:
        view = self.result.compare(0)
        cur = self.result.currency or ""

        def value(measure: str, x: float, change: bool = False) -> str:
            if measure == "p_quota":
                if change:
                    if pd.isna(x):
                        return ""
                    points = fmt_signed(round(x * 100, 1) + 0.0, 1)
                    return _("{points} pts").format(points=points)
                return fmt_pct(x)
            if measure == "open_deals":
                return fmt_signed(x) if change else fmt_number(x)
            return fmt_signed(x) if change else fmt_money(x)

        rows = "".join(
            f"<tr><td>{html.escape(_(LABELS[m]))}</td>"
            f'<td id="scenario-{m}-before">{value(m, b)}</td>'
            f'<td id="scenario-{m}-after">{value(m, a)}</td>'
            f'<td id="scenario-{m}-change">{value(m, c, True)}</td></tr>'
            for m, b, a, c in view[["measure", "before", "after", "change"]].itertuples(index=False)
        )
        text = _(
            "{period}, {currency}; quota {quota}; the whole pipeline (as of the data's last day)."
        ).format(period=label, currency=cur, quota=fmt_money(self.dashboard.quota.value))
        changed = _("What changed: {change}").format(change=view.attrs["change"])
        head = "".join(f"<th>{html.escape(h)}</th>" for h in (_("Before"), _("After"), _("Change")))
        self.html.value = (
            f'<div class="pipesheet-note">{html.escape(text, quote=False)}</div>'
            '<table class="pipesheet-table" id="scenario-table"><thead><tr><th></th>'
            f"{head}</tr></thead>"
            f"<tbody>{rows}</tbody></table>"
            f'<div class="pipesheet-note" id="scenario-change">{html.escape(changed)}</div>'
        )
