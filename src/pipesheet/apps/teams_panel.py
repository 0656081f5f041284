"""The dashboard's panel for how teams plan: several pipelines, overrides and lost deals.

* **Pipeline selector** (shown in the settings when the deals are in several pipelines): "All
  pipelines" prices every deal with its own pipeline's probabilities; one pipeline shows the
  whole dashboard for that pipeline alone — its stages, its probabilities, its deals and its
  history (:func:`pipesheet.pipelines.split_deals`, :func:`~pipesheet.pipelines.split_history`).
* **Per pipeline and in total**: :func:`pipesheet.pipelines.pipeline_summary` of the dashboard's
  priced deals (the same numbers as the weighted forecast and the range).
* **Overrides**: the open deals priced at their own probability (the override column) instead of
  their stage's (:meth:`pipesheet.pricing.PricedDeals.open_deals`).
* **Lost deals** by reason and by the stage they were lost at (:func:`pipesheet.lost_reasons`),
  when the deals table has a loss-reason column.

Presentation only: every number comes from the engine.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
import pandas as pd

from pipesheet.apps.common import fmt_money, fmt_number, fmt_pct, guard, html_table
from pipesheet.errors import PipesheetError
from pipesheet.i18n import N_, _, pgettext
from pipesheet.losses import lost_reasons
from pipesheet.pipelines import pipeline_summary, split_deals, split_history

__all__ = ["ALL_PIPELINES", "TeamsPanel"]

#: The selector's choice of every pipeline together (shown in the page's language: the
#: selector's first choice is ``_(ALL_PIPELINES)``).
ALL_PIPELINES = N_("All pipelines")


def _notes(notes: list[str]) -> str:
    return "".join(
        '<div class="pipesheet-note">' + html.escape(_("Note: {note}").format(note=n)) + "</div>"
        for n in notes
    )


class TeamsPanel:
    """The pipelines / overrides / lost deals panel of a :class:`~pipesheet.apps.Dashboard`.

    Attributes (after each refresh): ``summary`` (per pipeline and total), ``overrides`` (the
    open deals priced at their own probability), ``losses`` (a
    :class:`~pipesheet.losses.LossesResult` or None), ``selector`` (the pipeline dropdown).
    """

    def __init__(self, dashboard: Any) -> None:
        self.dash = dashboard
        self.summary: pd.DataFrame | None = None
        self.overrides: pd.DataFrame | None = None
        self.losses: Any = None
        self._full: tuple[Any, Any] | None = None
        self._busy = False
        words = dashboard.words  # the dashboard writes them again in another language
        self._all = _(ALL_PIPELINES)
        self.selector = words.describe(
            w.Dropdown(
                options=[self._all],
                value=self._all,
                style={"description_width": "170px"},
                layout=w.Layout(width="360px", display="none"),
            ),
            lambda: pgettext("pipeline name", "Pipeline"),
        )
        self.pipelines_html = w.HTML()
        self.overrides_html = w.HTML()
        self.losses_html = w.HTML()
        self.widget = w.VBox(
            [
                self.pipelines_html,
                words.html(
                    lambda: (
                        "<h4>"
                        + html.escape(_("Deals priced at their own probability (override)"))
                        + "</h4>"
                    )
                ),
                self.overrides_html,
                words.html(
                    lambda: (
                        "<h4>"
                        + html.escape(_("Lost deals by reason and by the stage they were lost at"))
                        + "</h4>"
                    )
                ),
                self.losses_html,
            ]
        )
        self.selector.observe(
            guard(dashboard._show_problem, self._selected, lang=lambda: dashboard.lang),
            names="value",
        )

    def relabel(self) -> None:
        """The choice of every pipeline in the language spoken now (the choice kept; the
        dashboard holds ``_busy``)."""
        index = self.selector.index
        self._all = _(ALL_PIPELINES)
        self.selector.options = [self._all, *self.selector.options[1:]]
        self.selector.index = index

    # ---- events ----------------------------------------------------------------------------------
    def data_changed(self) -> None:
        """New data loaded: offer its pipelines (all of them selected)."""
        deals = self.dash.deals
        self._full = (deals, self.dash.history)
        lists = deals.pipelines or {}
        self._busy = True
        try:
            self.selector.options = [self._all, *lists]
            self.selector.value = self._all
            self.selector.layout.display = "" if lists else "none"
        finally:
            self._busy = False

    def priced_changed(self) -> None:
        """The deals were priced again (probabilities, blank amounts, data): per pipeline and
        overrides."""
        priced = self.dash.priced
        if priced is None:
            return
        self.refresh_losses()
        self.summary = pipeline_summary(priced)
        cur = priced.currency or ""
        several = priced.deals.pipelines is not None
        intro = (
            _(
                "Each pipeline has its own stages and probabilities, learned from its own deals; "
                "the total's range is that of all the open deals together."
            )
            if several
            else _("The deals are in one pipeline (no pipeline column, or one name in it).")
        )
        if self.selector.value != self._all:
            intro = _("{intro} — showing pipeline {pipeline} only").format(
                intro=intro, pipeline=self.selector.value
            )
        intro = html.escape(intro, quote=False)
        self.pipelines_html.value = (
            f'<div class="pipesheet-note" id="pipelines-intro">{intro}</div>'
            + html_table(
                self.summary,
                {
                    "open_deals": fmt_number,
                    "pipeline": fmt_money,
                    "weighted": fmt_money,
                    "closed": fmt_money,
                    "mean": fmt_money,
                    "p10": fmt_money,
                    "p50": fmt_money,
                    "p90": fmt_money,
                },
                headers={
                    "pipeline_name": pgettext("pipeline name", "Pipeline"),
                    "stages": _("Stages"),
                    "open_deals": _("Open deals"),
                    "pipeline": _("Open pipeline {currency}").format(currency=cur).strip(),
                    "weighted": _("Weighted {currency}").format(currency=cur).strip(),
                    "closed": _("Won so far"),
                    "mean": _("Range mean"),
                    "p10": "P10",
                    "p50": "P50",
                    "p90": "P90",
                },
                css_id="pipelines-table",
            )
        )
        listed = priced.open_deals()
        self.overrides = listed[listed["source"] == "override"]
        if self.overrides.empty:
            text = _(
                "No open deal has its own probability: every deal is priced at its stage's (a "
                "column such as 'Probability Override' or 'Manager Probability' gives a deal its "
                "own)."
            )
            self.overrides_html.value = (
                f'<span class="pipesheet-note" id="overrides-none">{text}</span>'
            )
            return
        cols = [
            c
            for c in (
                "deal_id",
                "pipeline_name",
                "stage",
                "owner",
                "amount",
                "stage_probability",
                "probability",
                "weighted",
            )
            if c in self.overrides
        ]
        count = _(
            "{deals} open deal(s) use their own probability (override) instead of their "
            "stage's, in every figure above:"
        ).format(deals=fmt_number(len(self.overrides)))
        self.overrides_html.value = (
            f'<div class="pipesheet-note" id="overrides-count">{count}</div>'
            + html_table(
                self.overrides[cols],
                {
                    "amount": fmt_money,
                    "stage_probability": fmt_pct,
                    "probability": fmt_pct,
                    "weighted": fmt_money,
                },
                headers={
                    "deal_id": _("Deal"),
                    "pipeline_name": pgettext("pipeline name", "Pipeline"),
                    "stage": _("Stage"),
                    "owner": _("Owner"),
                    "amount": _("Amount"),
                    "stage_probability": _("Stage's P(win)"),
                    "probability": _("Override (used)"),
                    "weighted": _("Weighted"),
                },
                css_id="overrides-table",
            )
        )

    def refresh_losses(self) -> None:
        """Lost deals by reason and stage of the data shown (amounts as the dashboard prices)."""
        d = self.dash
        self.losses = None
        if "loss_reason" not in d.deals.frame:
            text = _(
                "The deals file has no loss-reason column (e.g. 'Loss Reason', 'Lost Reason', "
                "'Loss_Reason__c')."
            )
            self.losses_html.value = f'<span class="pipesheet-note" id="losses-none">{text}</span>'
            return
        try:
            self.losses = lost_reasons(
                d.deals, d.history, rates=d.rates, blank_amounts=d.blank_amounts.value
            )
        except PipesheetError as err:
            self.losses_html.value = (
                f'<span class="pipesheet-note" id="losses-message">{html.escape(str(err))}</span>'
            )
            return
        r = self.losses
        cur = r.currency or ""
        formats = {
            "lost_deals": fmt_number,
            "amount": fmt_money,
            "share_deals": fmt_pct,
            "share_amount": fmt_pct,
        }
        headers = {
            "reason": _("Reason"),
            "pipeline_name": pgettext("pipeline name", "Pipeline"),
            "stage": _("Lost at stage"),
            "lost_deals": _("Lost deals"),
            "amount": _("Amount {currency}").format(currency=cur).strip(),
            "share_deals": _("Share of deals"),
            "share_amount": _("Share of amount"),
        }
        total = _("{deals} lost deals, {amount} {currency}:").format(
            deals=fmt_number(r.lost_deals), amount=fmt_money(r.amount), currency=cur
        )
        # the notes shown at the top of the page (e.g. each pipeline's stage order) once only
        shown = set(d.fitted.notes_) if getattr(d, "fitted", None) is not None else set()
        self.losses_html.value = (
            f'<div class="pipesheet-note" id="losses-total">{html.escape(total)}</div>'
            + html_table(r.by_reason, formats, headers=headers, css_id="losses-reasons")
            + html_table(r.by_stage, formats, headers=headers, css_id="losses-stages")
            + _notes([n for n in dict.fromkeys(r.notes) if n not in shown])
        )

    def _selected(self, _change: Any) -> None:  # under the dashboard's guard and language
        if self._busy or self._full is None:
            return
        self.dash._guard(lambda: self.select(self.selector.value))

    # ---- choosing a pipeline ---------------------------------------------------------------------
    def select(self, name: str) -> None:
        """Show one pipeline (its deals, history, stages and probabilities), or all of them."""
        deals, history = self._full
        if name != self._all:
            parts = split_deals(deals)
            if name not in parts:
                raise PipesheetError(
                    _("unknown pipeline"),
                    value=name,
                    expected=_("one of {names}").format(names=", ".join(parts)),
                )
            sub = parts[name][1]
            hist = split_history(history, deals)[name] if history is not None else None
            if hist is not None and hist.frame.empty:
                hist = None
            deals, history = sub, hist
        d = self.dash
        d.deals, d.history = deals, history
        d._fits, d.fitted = {}, None
        d._time_aware_cache, d._naive_cache = {}, {}
        d._fit()
        d._diagnose()
        d._health()
        d._forecast_all()

    def results(self) -> dict[str, pd.DataFrame]:
        """The panel's tables for the dashboard's download."""
        out: dict[str, pd.DataFrame] = {}
        if self.summary is not None and len(self.summary) > 1:  # several pipelines
            out["Pipelines"] = self.summary
        if self.overrides is not None and not self.overrides.empty:
            out["Overrides"] = self.overrides.reset_index(drop=True)
        if self.losses is not None:
            out["Lost by reason"] = self.losses.by_reason
            out["Lost by stage"] = self.losses.by_stage
        return out
