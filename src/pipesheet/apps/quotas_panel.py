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

from pipesheet.apps.common import error_html, fmt_date, fmt_number, fmt_pct, guard, html_table
from pipesheet.apps.scenario_panel import data_as_of
from pipesheet.apps.uploads import read_upload
from pipesheet.errors import PipesheetError
from pipesheet.i18n import _
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
        words = dashboard.words  # the dashboard writes them again in another language
        self.quota_upload = words.describe(w.FileUpload(accept=accept), lambda: _("Quota table"))
        self.hierarchy_upload = words.describe(w.FileUpload(accept=accept), lambda: _("Hierarchy"))
        for up in (self.quota_upload, self.hierarchy_upload):
            up.layout = w.Layout(width="200px")
        self.per_group = words.describe(
            w.FloatText(value=0.0, style=_STYLE, layout=w.Layout(width="360px")),
            lambda: _("Quota per group"),
        )
        self.clear = words.describe(w.Button(icon="undo"), lambda: _("Use the quota per group"))
        self.status = w.HTML()
        self.html = w.HTML()
        show = functools.partial(guard, self._show_problem, lang=lambda: dashboard.lang)
        self.quota_upload.observe(show(lambda c: self._uploaded("quotas", c)), names="value")
        self.hierarchy_upload.observe(show(lambda c: self._uploaded("hierarchy", c)), names="value")
        self.per_group.observe(show(lambda _c: self.refresh()), names="value")
        self.clear.on_click(show(lambda _b: self._clear()))

        def intro() -> str:
            text = _(
                "Upload a quota table (Owner or Team, Period such as 2026-Q4 or Start/End dates, "
                "Quota) and optionally a hierarchy (Owner, Team, Region), or type one quota for "
                "every group of <i>{group_by}</i> in the period chosen under <i>{range}</i>."
            ).format(group_by=_("Group by"), range=_("Range for period"))
            return f'<span class="pipesheet-note">{text}</span>'

        self.widget = w.VBox(
            [
                words.html(intro),
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
        if self.quotas is not None:
            if self.hierarchy is not None:
                source = _("Using the uploaded quota table and the uploaded hierarchy.")
            else:
                source = _("Using the uploaded quota table.")
        elif self.hierarchy is not None:
            source = _("Using a quota per group and the uploaded hierarchy.")
        else:
            source = _("Using a quota per group.")
        self.status.value = f'<span class="pipesheet-note">{source}</span>'
        if quotas is None:
            self.result = None
            text = _("Type a quota per group, or upload a quota table.")
            self.html.value = f'<span class="pipesheet-note">{text}</span>'
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
        cents = lambda v: "" if pd.isna(v) else fmt_number(v, 2)  # noqa: E731
        basis = " ".join(r.basis())
        if r.as_of is not None:
            basis = _("{basis} as of {date}.").format(basis=basis, date=fmt_date(r.as_of))
        else:
            basis = _("{basis}.").format(basis=basis)
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
                    "period": _("Period"),
                    "level": _("Level"),
                    "name": _("Name"),
                    "quota": _("Quota {currency}").format(currency=r.currency or "").strip(),
                    "closed": _("Closed"),
                    "expected": _("Expected (weighted)"),
                    "gap": _("Gap"),
                    "coverage": _("Coverage"),
                    "p_quota": _("P(≥ quota)"),
                    "leads_per_week": _("New leads a week"),
                },
                css_id="quota-table",
            )
            + f'<div class="pipesheet-note">{html.escape(basis)}</div>'
            + "".join(
                '<div class="pipesheet-note">'
                + html.escape(_("Note: {note}").format(note=n))
                + "</div>"
                for n in r.notes
            )
        )
