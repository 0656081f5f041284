"""App 1 — the lead planner (reverse funnel), as an ipywidgets app.

Every number comes from the core: :func:`pipesheet.leads_needed` (won deals and deals needed at
each stage, from the target, the average deal and the step conversions) and
:func:`pipesheet.quota_gap` (what must come from new pipeline after closed revenue and the
weighted open pipeline, the new leads per week over the selling time left, and the coverage
ratio). The sentences under "How this is worked out" are the core's ``explanation``.

Use it in a notebook (served by Voila)::

    from pipesheet.apps import LeadPlanner
    LeadPlanner()

It speaks the page's language (``LeadPlanner(lang="sl")``, ``?lang=sl`` in the served page's
address through :meth:`LeadPlanner.set_language`, or the selector on the page): the words, the
engine's explanation and the number formats change, never a number.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence

import ipywidgets as w
import pandas as pd

from pipesheet.apps.common import (
    CSS,
    Words,
    app_language,
    error_html,
    figure,
    fmt_long_date,
    fmt_number,
    fmt_pct,
    guard,
    guarded,
    html_table,
    language_change,
    language_options,
    png,
    speaking,
)
from pipesheet.apps.uploads import MAX_UPLOAD_BYTES, format_size, read_upload
from pipesheet.errors import PipesheetError
from pipesheet.i18n import N_, _, language
from pipesheet.planning import LeadPlan, QuotaGap, leads_needed, quota_gap

__all__ = ["LeadPlanner", "period_end"]

PERIODS = ((N_("Month"), "month"), (N_("Quarter"), "quarter"), (N_("Year"), "year"))
_LABEL = {"description_width": "230px"}
_WIDE = w.Layout(width="420px")


def period_end(today: dt.date, period: str) -> dt.date:
    """Last day of the calendar month, quarter or year containing ``today``."""
    offset = {
        "month": pd.offsets.MonthEnd(0),
        "quarter": pd.offsets.QuarterEnd(0),
        "year": pd.offsets.YearEnd(0),
    }[period]
    return (pd.Timestamp(today) + offset).date()


class LeadPlanner:
    """The reverse funnel, live: change any input and every output is recomputed by the core.

    Args:
        lang: The language of the page (``"sl"``…; default: the one spoken where it is built);
            :meth:`set_language` switches it. One pipesheet does not speak raises
            :class:`~pipesheet.i18n.UnknownLanguage`.

    Attributes (after each update):
        plan: The :class:`~pipesheet.planning.LeadPlan`, or None when an input is invalid.
        gap: The :class:`~pipesheet.planning.QuotaGap`, or None.
        error: The engine's message for the invalid input, or "".
        lang: The language spoken on the page.
        widget: The app's root widget.
    """

    def __init__(
        self,
        *,
        target: float = 1_000_000,
        average_deal: float = 25_000,
        stages: Sequence[str] = ("Lead", "Qualified", "Proposal"),
        conversions: Sequence[float] = (50.0, 40.0, 25.0),
        closed: float = 150_000,
        expected_open: float = 90_000,
        open_pipeline: float = 400_000,
        cycle_days: float = 45.0,
        period: str = "year",
        today: dt.date | None = None,
        max_upload_bytes: int = MAX_UPLOAD_BYTES,
        lang: str | None = None,
    ) -> None:
        if len(stages) != len(conversions):
            raise ValueError("one conversion rate per stage")
        self.lang = app_language(lang)
        with language(self.lang):
            self._build(
                target,
                average_deal,
                stages,
                closed,
                expected_open,
                open_pipeline,
                cycle_days,
                period,
                today,
                max_upload_bytes,
                dict(zip(stages, conversions, strict=True)),
            )
            self.update()

    def _build(
        self,
        target: float,
        average_deal: float,
        stages: Sequence[str],
        closed: float,
        expected_open: float,
        open_pipeline: float,
        cycle_days: float,
        period: str,
        today: dt.date | None,
        max_upload_bytes: int,
        rates: dict[str, float],
    ) -> None:
        """The widgets, their events and the page (in the language spoken)."""
        self.max_upload_bytes = max_upload_bytes
        self.plan: LeadPlan | None = None
        self.gap: QuotaGap | None = None
        self.error = ""
        self._rates: dict[str, float] = rates
        self._hold = False
        self._learned_from: tuple[str, int, str] | None = None
        words = self.words = Words()

        def num(value: float, label) -> w.FloatText:
            box = w.FloatText(value=value, style=_LABEL, layout=_WIDE)
            return words.describe(box, label)

        self.target = num(target, lambda: _("Revenue target"))
        self.period = words.options(
            w.Dropdown(options=PERIODS, value=period, style=_LABEL, layout=_WIDE),
            lambda: [(_(label), key) for label, key in PERIODS],
        )
        words.describe(self.period, lambda: _("Period"))
        self.today = words.describe(
            w.DatePicker(value=today or dt.date.today(), style=_LABEL, layout=_WIDE),
            lambda: _("Today"),
        )
        self.average_deal = num(average_deal, lambda: _("Average won deal"))
        self.closed = num(closed, lambda: _("Closed so far this period"))
        self.expected_open = num(expected_open, lambda: _("Expected from open pipeline"))
        self.open_pipeline = num(open_pipeline, lambda: _("Open pipeline in period"))
        self.cycle_days = num(cycle_days, lambda: _("Average cycle length (days)"))
        self.stage_names = words.describe(
            w.Text(value=", ".join(stages), style=_LABEL, layout=w.Layout(width="520px")),
            lambda: _("Stages, first to last"),
        )
        self.rate_box = w.VBox()
        self.learn_sample = words.describe(
            w.Button(icon="graduation-cap", layout=w.Layout(width="210px")),
            lambda: _("Learn from sample data"),
        )
        self.learn_file = words.describe(
            w.FileUpload(
                accept=".csv,.xlsx,.xlsm,.txt,.tsv",
                multiple=False,
                layout=w.Layout(width="240px"),
            ),
            lambda: _("Learn from my history file"),
        )
        self.language = words.describe(
            w.Dropdown(
                options=language_options(),
                value=self.lang,
                style={"description_width": "80px"},
                layout=w.Layout(width="240px", margin="0 0 0 32px"),
            ),
            lambda: _("Language"),
        )
        self.learn_status = w.HTML()
        self.status = w.HTML()
        self.kpis = w.HTML()
        self.table = w.HTML()
        self.chart = w.Image(format="png", layout=w.Layout(max_width="640px"))
        self.explanation = w.HTML()
        self._rate_inputs: dict[str, w.BoundedFloatText] = {}
        self._build_rates()

        for box in (
            self.target,
            self.period,
            self.today,
            self.average_deal,
            self.closed,
            self.expected_open,
            self.open_pipeline,
            self.cycle_days,
        ):
            box.observe(self._changed, names="value")
        self.stage_names.observe(self._stages_changed, names="value")
        self.learn_sample.on_click(
            guard(self._show_problem, lambda _b: self.learn_from_sample(), lang=self._lang)
        )
        self.learn_file.observe(self._file_uploaded, names="value")
        self.language.observe(self._language_chosen, names="value")

        def heading(make) -> w.HTML:
            return words.html(lambda: f"<h3>{html.escape(make())}</h3>")

        def note(make) -> w.HTML:
            return words.html(lambda: f'<span class="pipesheet-note">{make()}</span>')

        inputs = w.VBox(
            [
                heading(lambda: _("Your target")),
                self.target,
                self.period,
                self.today,
                self.average_deal,
                heading(lambda: _("Your funnel")),
                self.stage_names,
                note(
                    lambda: html.escape(
                        _(
                            "Conversion of each stage to the next, in %; the last stage's rate "
                            "is its win rate."
                        )
                    )
                ),
                self.rate_box,
                w.HBox([self.learn_sample, self.learn_file]),
                note(
                    lambda: html.escape(
                        _(
                            "History file: CSV or XLSX with deal id, stage and date entered; up "
                            "to {size}."
                        ).format(size=format_size(max_upload_bytes))
                    )
                ),
                self.learn_status,
                heading(lambda: _("Where the period stands")),
                self.closed,
                self.expected_open,
                self.open_pipeline,
                self.cycle_days,
            ],
            layout=w.Layout(min_width="540px"),
        )
        outputs = w.VBox(
            [
                heading(lambda: _("What it takes")),
                self.status,
                self.kpis,
                self.table,
                self.chart,
                heading(lambda: _("How this is worked out")),
                self.explanation,
            ]
        )
        title = words.html(lambda: CSS + "<h2>" + html.escape(_("Lead planner")) + "</h2>")
        self.widget = w.VBox(
            [
                w.HBox([title, self.language], layout=w.Layout(align_items="center")),
                w.HBox([inputs, outputs]),
            ],
            layout=w.Layout(padding="0 12px"),
        )

    # ---- display ---------------------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # ---- language --------------------------------------------------------------------------------
    def _lang(self) -> str:
        return self.lang

    def set_language(self, lang: str | None) -> None:
        """Speak ``lang`` on the page (None: no change): the words, the engine's explanation
        and the number formats are written again; the inputs and every number stay. A language
        pipesheet does not speak is named on the page (the page keeps its language)."""
        code = language_change(self.lang, lang, self._show_problem)
        if code is None:
            return
        self.lang = code
        with language(code):
            self._hold = True
            try:
                self.language.value = code
                self.words.refresh()
                for name, box in self._rate_inputs.items():
                    box.description = self._rate_label(name)
            finally:
                self._hold = False
            self._show_learned()
            self.update()

    @guarded
    def _language_chosen(self, change) -> None:
        self.set_language(change["new"])

    # ---- inputs ----------------------------------------------------------------------------------
    def _stage_list(self) -> list[str]:
        return [s.strip() for s in self.stage_names.value.split(",") if s.strip()]

    def _build_rates(self) -> None:
        for name, box in self._rate_inputs.items():
            self._rates[name] = box.value
            box.unobserve_all()
        inputs = {}
        for name in self._stage_list():
            box = w.BoundedFloatText(
                value=self._rates.get(name, 50.0),
                min=0.0,
                max=100.0,
                step=1.0,
                description=self._rate_label(name),
                style=_LABEL,
                layout=_WIDE,
            )
            box.observe(self._changed, names="value")
            inputs[name] = box
        self._rate_inputs = inputs
        self.rate_box.children = tuple(inputs.values())

    @staticmethod
    def _rate_label(stage: str) -> str:
        return _("{stage} → next (%)").format(stage=stage)

    def _show_problem(self, message: str) -> None:
        """What the apps' guard shows (:func:`pipesheet.apps.common.guard`)."""
        self.error = message
        self.status.value = error_html(message)

    @guarded
    def _stages_changed(self, _change=None) -> None:
        self._build_rates()
        self.update()

    @guarded
    def _changed(self, _change=None) -> None:
        if not self._hold:
            self.update()

    @speaking
    def set_conversions(self, conversions: dict[str, float]) -> None:
        """Replace the stages and their conversion rates (0–1 shares or percentages)."""
        self._hold = True
        try:
            self._rates = {
                s: round(float(c) * 100 if float(c) <= 1 else float(c), 1)
                for s, c in conversions.items()
            }
            self.stage_names.unobserve(self._stages_changed, names="value")
            self.stage_names.value = ", ".join(conversions)
            self.stage_names.observe(self._stages_changed, names="value")
            self._rate_inputs = {}
            self._build_rates()
        finally:
            self._hold = False
        self.update()

    @speaking
    def learn_from_sample(self) -> None:
        """Learn step conversions, average won deal and cycle length from the bundled sample."""
        from pipesheet.forecast import pipeline_position
        from pipesheet.probabilities import StageProbabilities
        from pipesheet.sample import sample_deals, sample_history, sample_rates

        sp = StageProbabilities().fit(sample_history(), sample_deals())
        pos = pipeline_position(sp.deals_, sp, rates=sample_rates())
        self._hold = True
        try:
            self.average_deal.value = round(pos.average_won_deal, 0)
            self.cycle_days.value = round(pos.average_cycle_days, 0)
        finally:
            self._hold = False
        self._learned(sp, None)

    @speaking
    def learn_from_history(self, content: bytes, name: str) -> None:
        """Learn step conversions from an uploaded stage-history file (CSV or XLSX)."""
        from pipesheet.probabilities import StageProbabilities

        try:
            table = read_upload(content, name, max_bytes=self.max_upload_bytes)
            sp = StageProbabilities().fit(table)
        except PipesheetError as err:
            self._learned_from = None
            self.learn_status.value = error_html(str(err), prefix=_("Could not learn from it: "))
            return
        self._learned(sp, name)

    def _learned(self, sp, source: str | None) -> None:
        """Use the conversions learned (``source``: the file's name, None for the sample)."""
        table = sp.overall_
        unknown = table.loc[table["step_conversion"].isna(), "stage"].tolist()
        rates = dict(zip(table["stage"], table["step_conversion"], strict=True))
        if unknown:
            self._learned_from = None
            self.learn_status.value = error_html(
                _("no closed deals to learn the conversion of: {stages}").format(
                    stages=", ".join(unknown)
                )
            )
            return
        self._learned_from = (source, int(table["reached"].iloc[0]), str(table["stage"].iloc[0]))
        self._show_learned()
        self.set_conversions(rates)

    def _show_learned(self) -> None:
        """Where the conversions were learned from (in the language spoken)."""
        if self._learned_from is None:
            return
        source, reached, first = self._learned_from
        text = _("Conversions learned from {source} ({deals} deals reached {stage}).").format(
            source=_("the bundled sample data") if source is None else source,
            deals=fmt_number(reached),
            stage=first,
        )
        self.learn_status.value = f'<span class="pipesheet-note">{html.escape(text)}</span>'

    @guarded
    def _file_uploaded(self, change) -> None:
        files = change["new"]
        if not files:
            return
        f = files[0]
        self.learn_from_history(bytes(f["content"]), f["name"])

    # ---- outputs ---------------------------------------------------------------------------------
    def conversions(self) -> dict[str, float]:
        """The stage → conversion (%) currently entered."""
        return {name: box.value for name, box in self._rate_inputs.items()}

    @speaking
    def update(self) -> None:
        """Recompute everything with the core and redraw."""
        try:
            plan = leads_needed(self.target.value, self.average_deal.value, self.conversions())
            end = period_end(self.today.value or dt.date.today(), self.period.value)
            gap = quota_gap(
                self.target.value,
                self.closed.value,
                self.expected_open.value,
                average_deal=self.average_deal.value,
                lead_to_win_rate=float(plan.table["conversion_to_won"].iloc[0]),
                open_pipeline=self.open_pipeline.value,
                as_of=self.today.value,
                period_end=end,
                cycle_days=self.cycle_days.value,
            )
        except PipesheetError as err:
            self.plan = self.gap = None
            self.error = str(err)
            self.status.value = error_html(self.error)
            self.kpis.value = self.table.value = self.explanation.value = ""
            self.chart.value = b""
            return
        self.plan, self.gap, self.error = plan, gap, ""
        left = (pd.Timestamp(end) - pd.Timestamp(self.today.value)).days
        text = _("Period ends {date}; {days} days left.").format(
            date=fmt_long_date(end), days=fmt_number(left)
        )
        self.status.value = f'<span class="pipesheet-note">{html.escape(text)}</span>'
        self._render(plan, gap)

    def _render(self, plan: LeadPlan, gap: QuotaGap) -> None:
        self.chart.value = self._funnel_png(plan)  # first: it is the largest message
        per_week = gap.leads_per_week
        first = str(plan.table["stage"].iloc[0])
        kpis = [
            (_("Won deals needed"), fmt_number(plan.won_needed), "won-needed"),
            (_("{stage}s needed").format(stage=first), fmt_number(plan.leads), "leads"),
            (_("New won deals still needed"), fmt_number(gap.new_won_deals), "new-won"),
            (
                _("New leads per week"),
                _("no time left") if per_week == float("inf") else fmt_number(per_week, 1),
                "per-week",
            ),
            (_("Pipeline coverage"), fmt_number(gap.coverage, 2) + "×", "coverage"),
        ]
        self.kpis.value = (
            '<div class="pipesheet-kpis">'
            + "".join(
                f'<div class="pipesheet-kpi" id="kpi-{key}"><div class="label">'
                f'{html.escape(label)}</div><div class="value">{html.escape(value)}</div></div>'
                for label, value, key in kpis
            )
            + "</div>"
        )
        self.table.value = html_table(
            plan.table,
            {
                "conversion_to_next": fmt_pct,
                "conversion_to_won": fmt_pct,
                "deals_needed": lambda v: fmt_number(v),
            },
            headers={
                "stage": _("Stage"),
                "conversion_to_next": _("Conversion to next"),
                "conversion_to_won": _("Conversion to won"),
                "deals_needed": _("Deals needed"),
            },
            css_id="funnel-table",
        )
        sentences = [*plan.explanation, *gap.explanation]
        self.explanation.value = (
            '<ol id="explanation">'
            + "".join(f"<li>{html.escape(s)}</li>" for s in sentences)
            + "</ol>"
        )

    @staticmethod
    def _funnel_png(plan: LeadPlan) -> bytes:
        t = plan.table
        fig = figure(6.4, 0.5 + 0.45 * len(t))
        ax = fig.add_subplot()
        y = list(range(len(t)))[::-1]
        widths = t["deals_needed"].to_numpy(dtype=float)
        top = max(widths.max(), 1.0)
        ax.barh(y, widths, left=(top - widths) / 2, color="#3b7dd8", height=0.8)
        for yi, wv, label in zip(y, widths, t["stage"], strict=True):
            text = _("{stage}: {deals}").format(stage=label, deals=fmt_number(wv))
            ax.text(top / 2, yi, text, ha="center", va="center", color="black")
        ax.set_axis_off()
        ax.set_title(_("Deals needed at each stage"), fontsize=10)
        return png(fig)

    def outputs(self) -> dict[str, object]:
        """The displayed numbers (for tests and scripts): the core's values, unrounded."""
        if self.plan is None or self.gap is None:
            return {"error": self.error}
        return {
            "won_needed": self.plan.won_needed,
            "deals_needed": dict(
                zip(self.plan.table["stage"], self.plan.table["deals_needed"], strict=True)
            ),
            "new_won_deals": self.gap.new_won_deals,
            "new_leads": self.gap.new_leads,
            "leads_per_week": self.gap.leads_per_week,
            "coverage": self.gap.coverage,
            "explanation": [*self.plan.explanation, *self.gap.explanation],
        }
