"""The dashboard's quota panel: a quota per owner or team, and where each stands.

Two ways to give the quotas: upload a **quota table** (a group column such as Owner or Team, a
Period label or Start/End dates, the Quota — :func:`pipesheet.read_quotas`), optionally with a
**hierarchy** (Owner, Team, Region…; each level above the quotas' is rolled up by exact sums); or
type **one quota per group**: every member of the dashboard's *Group by* (every owner, say) gets
that quota for the period chosen under *Range for period* (no grouping: one quota for everyone).

Every number comes from :func:`pipesheet.quota_table` on the dashboard's deals, probabilities,
rates and blank-amount choice, as of the latest date in the data
(:func:`pipesheet.apps.scenario_panel.data_as_of`): quota, closed, expected, gap, coverage,
P(≥ quota) from each row's own deals, and new leads per week.  The panel only formats.
"""

from __future__ import annotations

import functools
import html
from typing import Any

import ipywidgets as w
import pandas as pd

from pipesheet.apps.common import error_html, fmt_number, fmt_pct, guard, html_table
from pipesheet.apps.scenario_panel import data_as_of
from pipesheet.apps.uploads import read_upload
from pipesheet.errors import PipesheetError
from pipesheet.quotas import quota_table

__all__ = ["QuotasPanel"]

_STYLE = {"description_width": "170px"}


class QuotasPanel:
    """Quota table / hierarchy uploads or a quota per group, and the table per owner or team.

    Attributes (after each refresh): ``quotas`` and ``hierarchy`` (the uploaded tables, or None),
    ``result`` (the :class:`pipesheet.QuotaTableResult`, or None), ``widget``.
    """

    def __init__(self, dashboard: Any) -> None:
        self.dashboard = dashboard
        self.quotas: pd.DataFrame | None = None
        self.hierarchy: pd.DataFrame | None = None
        self.result: Any = None
        accept = ".csv,.xlsx,.xlsm,.txt,.tsv"
        self.quota_upload = w.FileUpload(accept=accept, description="Quota table")
        self.hierarchy_upload = w.FileUpload(accept=accept, description="Hierarchy")
        for up in (self.quota_upload, self.hierarchy_upload):
            up.layout = w.Layout(width="200px")
        self.per_group = w.FloatText(
            value=0.0,
            description="Quota per group",
            style=_STYLE,
            layout=w.Layout(width="360px"),
        )
        self.clear = w.Button(description="Use the quota per group", icon="undo")
        self.status = w.HTML()
        self.html = w.HTML()
        show = functools.partial(guard, self._show_problem)
        self.quota_upload.observe(show(lambda c: self._uploaded("quotas", c)), names="value")
        self.hierarchy_upload.observe(show(lambda c: self._uploaded("hierarchy", c)), names="value")
        self.per_group.observe(show(lambda _c: self.refresh()), names="value")
        self.clear.on_click(show(lambda _b: self._clear()))
        self.widget = w.VBox(
            [
                w.HTML(
                    '<span class="pipesheet-note">Upload a quota table (Owner or Team, Period '
                    "such as 2026-Q4 or Start/End dates, Quota) and optionally a hierarchy "
                    "(Owner, Team, Region), or type one quota for every group of <i>Group by</i> "
                    "in the period chosen under <i>Range for period</i>.</span>"
                ),
                w.HBox([self.quota_upload, self.hierarchy_upload, self.clear]),
                self.per_group,
                self.status,
                self.html,
            ]
        )

    def _show_problem(self, message: str) -> None:
        self.result = None
        self.html.value = error_html(message)

    def _uploaded(self, kind: str, change: dict) -> None:
        files = change["new"]
        if not files:
            return
        f = files[0]
        d = self.dashboard
        frame = read_upload(
            bytes(f["content"]),
            str(f["name"]),
            max_bytes=d.max_upload_bytes,
            date_order=d.date_order.value,
        )
        setattr(self, kind, frame)
        self.refresh()

    def _clear(self) -> None:
        self.quotas = self.hierarchy = None
        self.refresh()

    def _table(self) -> tuple[pd.DataFrame | None, str | None]:
        """The quota table to use and its group column: the upload, else one quota per group."""
        if self.quotas is not None:
            return self.quotas, None
        d = self.dashboard
        quota, label, field = self.per_group.value, d.range_period.value, d.group.value
        if not quota or quota <= 0 or not label:
            return None, None
        if not field:
            return pd.DataFrame({"Period": [label], "Quota": [quota]}), None
        members = d.deals.frame[field].dropna().astype(str).unique().tolist()
        return pd.DataFrame({field: sorted(members), "Period": label, "Quota": quota}), field

    def refresh(self) -> None:
        """Compute the quota table on the dashboard's data and show it."""
        d = self.dashboard
        if getattr(d, "deals", None) is None:
            return
        quotas, by = self._table()
        source = "the uploaded quota table" if self.quotas is not None else "a quota per group"
        if self.hierarchy is not None:
            source += " and the uploaded hierarchy"
        self.status.value = f'<span class="pipesheet-note">Using {source}.</span>'
        if quotas is None:
            self.result = None
            self.html.value = (
                '<span class="pipesheet-note">Type a quota per group, or upload a quota table.'
                "</span>"
            )
            return
        try:
            self.result = quota_table(
                d.deals,
                d._probabilities(),
                quotas,
                by=by,
                hierarchy=self.hierarchy,
                as_of=data_as_of(d),
                rates=d.rates,
                blank_amounts=d.blank_amounts.value,
            )
        except PipesheetError as err:
            self._show_problem(str(err))
            return
        self._render()

    def _render(self) -> None:
        r = self.result
        t = r.table[
            [
                "period",
                "level",
                "name",
                "quota",
                "closed",
                "expected",
                "gap",
                "coverage",
                "p_quota",
                "leads_per_week",
            ]
        ]
        cents = lambda v: "" if pd.isna(v) else f"{v:,.2f}"  # noqa: E731
        when = f" as of {r.as_of.date()}" if r.as_of is not None else ""
        self.html.value = (
            html_table(
                t,
                {
                    "quota": cents,
                    "closed": cents,
                    "expected": cents,
                    "gap": cents,
                    "coverage": lambda v: "∞" if v == float("inf") else fmt_number(v, 2) + "×",
                    "p_quota": fmt_pct,
                    "leads_per_week": lambda v: fmt_number(v, 1),
                },
                headers={
                    "period": "Period",
                    "level": "Level",
                    "name": "Name",
                    "quota": f"Quota {r.currency or ''}".strip(),
                    "closed": "Closed",
                    "expected": "Expected (weighted)",
                    "gap": "Gap",
                    "coverage": "Coverage",
                    "p_quota": "P(≥ quota)",
                    "leads_per_week": "New leads a week",
                },
                css_id="quota-table",
            )
            + f'<div class="pipesheet-note">{html.escape(" ".join(r.basis()))}{when}.</div>'
            + "".join(f'<div class="pipesheet-note">Note: {html.escape(n)}</div>' for n in r.notes)
        )
