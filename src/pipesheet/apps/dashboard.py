"""App 2 — the pipeline forecast dashboard, as an ipywidgets app.

It starts on the bundled sample data (:mod:`pipesheet.sample`); a user can upload their own deals
file, stage-history file and currency rates (CSV or XLSX, size limit stated on the page) and map
their columns. Every number comes from the core:

* stage probabilities learned from the history, with intervals, next to the CRM's configured
  ones: :class:`pipesheet.StageProbabilities`;
* weighted forecast by period, grouped or filtered by owner, product line, country or segment:
  :func:`pipesheet.weighted_forecast`;
* the forecast range (P10/P50/P90) of one period: the *same open deals* as the weighted forecast's
  row for that period (and group), so its mean is that row's weighted value; P(≥ quota) =
  P(closed so far + range ≥ quota), closed so far being the won deals closed in the period:
  :meth:`pipesheet.forecast.PricedDeals.range` — the deals are priced once by
  :func:`pipesheet.pricing.price_deals`, which the weighted forecast also uses;
* what a blank amount means ("Blank amounts": stop with a message, leave those deals out, or count
  them as 0 — the same choice as ``--blank-amounts`` and the Excel functions' ``blank_amounts``);
* the time-aware forecast to the end of the selected period —
  Σ amount × P(won by then | stage, days in stage), with its P10/P50/P90 — next to the weighted
  pipeline of the deals expected to close in the same window:
  :func:`pipesheet.time_aware_forecast`, :func:`pipesheet.pipeline_position`;
* the calibrated forecast of the same window — the time-aware forecast corrected by its own
  past errors, with P10/P50/P90, P(≥ quota), the method and the evidence, and on request the
  backtest of the last periods with the recommended forecast:
  :class:`pipesheet.apps.calibrated_panel.CalibratedPanel`;
* conversion by stage and the bottleneck: :func:`pipesheet.diagnostics.conversion_by_stage`,
  :func:`pipesheet.diagnostics.bottlenecks`, and where the cohort and Markov estimates disagree
  (:meth:`pipesheet.StageProbabilities.disagreement_notes`);
* what-if scenarios before and after (:mod:`pipesheet.apps.scenario_panel`) and quotas per
  owner and team (:mod:`pipesheet.apps.quotas_panel`), on the period chosen for the range;
* pipeline health: the most overdue stale deals and cycle times:
  :func:`pipesheet.diagnostics.stale_deals`, :func:`pipesheet.diagnostics.cycle_time`;
* the pipeline balance for a target and period, and the stage design check:
  :class:`pipesheet.apps.balance_panel.BalancePanel`;
* a download of all result tables as an .xlsx workbook.

Bad files show the engine's message (:class:`~pipesheet.errors.PipesheetError`) on the page, and
the page keeps showing the data it had, saying which.

The page speaks one language (``Dashboard(lang="sl")``, ``?lang=sl`` in the served page's address
through :meth:`Dashboard.set_language`, or the selector at the top): its words, the engine's notes
and messages, the number and date formats. Switching reads and computes the same tables again in
the new language — the same numbers, written the new language's way; every setting and upload
stays.
"""

from __future__ import annotations

import functools
import html
from typing import Any

import ipywidgets as w
import numpy as np
import pandas as pd

from pipesheet.apps.balance_panel import BalancePanel
from pipesheet.apps.calibrated_panel import CalibratedPanel
from pipesheet.apps.common import (
    CSS,
    Words,
    app_language,
    error_html,
    figure,
    fmt_date,
    fmt_long_date,
    fmt_money,
    fmt_number,
    fmt_pct,
    guard,
    html_table,
    language_change,
    language_options,
    png,
    speaking,
    xlsx_bytes,
    xlsx_link,
)
from pipesheet.apps.quotas_panel import QuotasPanel
from pipesheet.apps.scenario_panel import ScenarioPanel
from pipesheet.apps.teams_panel import TeamsPanel
from pipesheet.apps.uploads import MAX_UPLOAD_BYTES, format_size, read_upload
from pipesheet.diagnostics import bottlenecks, conversion_by_stage, cycle_time, stale_deals
from pipesheet.errors import PipesheetError
from pipesheet.forecast import pipeline_position
from pipesheet.i18n import N_, _, language, pgettext
from pipesheet.periods import period_end_for, period_labels
from pipesheet.pricing import price_deals
from pipesheet.probabilities import TABLE_COLUMNS as PROBABILITY_COLUMNS
from pipesheet.probabilities import StageProbabilities
from pipesheet.tables import History, history_by_pipeline, read_deals, read_history, read_rates
from pipesheet.timeaware import time_aware_forecast

__all__ = ["DEAL_MAPPING_FIELDS", "HISTORY_MAPPING_FIELDS", "Dashboard"]

# The words of the choices are English here (N_) and shown in the page's language (_).
GROUPS = (
    (N_("No grouping"), ""),
    (N_("Owner"), "owner"),
    (N_("Product line"), "product_line"),
    (N_("Country"), "country"),
    (N_("Segment"), "segment"),
)
METHODS = (
    (N_("Learned from history (cohort)"), "cohort"),
    (N_("Learned from history (Markov)"), "markov"),
    (N_("CRM configured (Probability column)"), "configured"),
)
PERIODS = ((N_("Month"), "month"), (N_("Quarter"), "quarter"), (N_("Year"), "year"))
BLANKS = (
    (N_("Stop with a message"), "error"),
    (N_("Leave those deals out"), "skip"),
    (N_("Count them as 0"), "zero"),
)
DATE_ORDERS = ((N_("from the data"), None), (N_("day/month"), "dmy"), (N_("month/day"), "mdy"))
DEAL_MAPPING_FIELDS = (
    ("deal_id", N_("Deal id")),
    ("stage", N_("Stage")),
    ("amount", N_("Amount")),
    ("close_date", N_("Expected close date")),
    ("currency", N_("Currency")),
    ("owner", N_("Owner")),
    ("product_line", N_("Product line")),
    ("country", N_("Country")),
    ("segment", N_("Segment")),
    ("probability", N_("Configured probability")),
    ("created_date", N_("Created date")),
    ("closed_date", N_("Closed date")),
)
HISTORY_MAPPING_FIELDS = (
    ("deal_id", N_("Deal id")),
    ("stage", N_("Stage")),
    ("entered_date", N_("Date entered")),
)
#: The download's sheets (:meth:`Dashboard.results` names them in English; the workbook in the
#: page's language).
SHEET_NAMES = (
    N_("Stage probabilities"),
    N_("Weighted forecast"),
    N_("Forecast range"),
    N_("Time-aware forecast"),
    N_("Time-aware by stage"),
    N_("Calibrated forecast"),
    N_("Calibrated evidence"),
    N_("Backtest by period"),
    N_("Backtest summary"),
    N_("Bottlenecks"),
    N_("Conversion by stage"),
    N_("Stale deals"),
    N_("Cycle time"),
    N_("Pipeline balance"),
    N_("Stage design"),
    N_("Scenario"),
    N_("Quotas"),
    N_("Pipelines"),
    N_("Overrides"),
    N_("Lost by reason"),
    N_("Lost by stage"),
    N_("Settings"),
)
STALE_SHOWN = 10  # stale deals listed on the page (all of them are in the download)
AUTO = N_("(automatic)")  # the column mapping's first choice: pipesheet finds the column
ALL = N_("(all)")  # the filter's first choice: every group (shown as _(ALL))
BLANK = N_("(blank)")  # a deal without a value in the grouping column
_STYLE = {"description_width": "170px"}
_FIELD = w.Layout(width="360px")


def _choices(pairs) -> list[tuple[str, Any]]:
    """(label, value) pairs with the labels in the language spoken."""
    return [(_(label), value) for label, value in pairs]


def _range_method(name: object) -> str:
    """How the range was computed, in words."""
    words = {
        "exact": pgettext("range method", "exact"),
        "lattice": pgettext("range method", "lattice"),
        "monte_carlo": pgettext("range method", "Monte Carlo"),
    }
    return words.get(str(name), str(name))


def _notes(notes: list[str], cls: str = "pipesheet-note") -> str:
    """Each note (the engine's, in the language spoken) after "Note:"."""
    return "".join(
        f'<div class="{cls}">' + html.escape(_("Note: {note}").format(note=n)) + "</div>"
        for n in notes
    )


def _outcome(value: object) -> str:
    """A cycle-time outcome (won, lost) in words."""
    words = {"won": pgettext("outcome", "won"), "lost": pgettext("outcome", "lost")}
    return html.escape(words.get(str(value), str(value)))


class Dashboard:
    """The pipeline forecast dashboard.

    Args:
        deals, history, rates: Raw tables (as read from a CSV/XLSX); default the bundled sample.
        source: What to call the data on the page.
        quota: Initial quota for P(≥ quota).
        period: ``"month"``, ``"quarter"`` or ``"year"``.
        method: ``"cohort"``, ``"markov"`` or ``"configured"``.
        blank_amounts: ``"error"``, ``"skip"`` or ``"zero"``: what a blank amount means.
        max_upload_bytes: Upload size limit (stated on the page).
        lang: The language of the page (``"sl"``…; default: the one spoken where it is built);
            :meth:`set_language` switches it. One pipesheet does not speak raises
            :class:`~pipesheet.i18n.UnknownLanguage`.

    Attributes (after each update): ``deals`` (:class:`~pipesheet.tables.Deals`), ``history``,
    ``rates``, ``fitted`` (:class:`StageProbabilities`), ``priced`` (the
    :class:`~pipesheet.forecast.PricedDeals` every money figure comes from), ``forecast`` (the
    weighted forecast table as shown), ``range_`` (the ``ForecastRange``), ``conversion``,
    ``bottleneck_table``,
    ``time_aware`` (the :class:`~pipesheet.timeaware.TimeAwareResult` to the end of the range
    period) and ``naive_position`` (the :class:`~pipesheet.PipelinePosition` of the same window),
    ``stale`` (stale deals, most overdue first), ``cycle``, ``error`` (the message shown, or ""),
    ``lang`` (the language spoken on the page).
    """

    def __init__(
        self,
        deals: pd.DataFrame | None = None,
        history: pd.DataFrame | None = None,
        rates: pd.DataFrame | None = None,
        *,
        source: str | None = None,
        quota: float = 2_000_000,
        period: str = "quarter",
        method: str = "cohort",
        blank_amounts: str = "error",
        max_upload_bytes: int = MAX_UPLOAD_BYTES,
        lang: str | None = None,
    ) -> None:
        self.lang = app_language(lang)
        with language(self.lang):
            self._build(quota, period, method, blank_amounts, max_upload_bytes)
            self._first_load(deals, history, rates, source)

    def _build(
        self, quota: float, period: str, method: str, blank_amounts: str, max_upload_bytes: int
    ) -> None:
        """The widgets, their events and the page (in the language spoken)."""
        self.max_upload_bytes = max_upload_bytes
        self.error = ""
        self.priced: Any = None
        self._pending_failed = False
        self.forecast: pd.DataFrame | None = None
        self.range_: Any = None
        self.fitted: StageProbabilities | None = None
        self.conversion: pd.DataFrame | None = None
        self.bottleneck_table: pd.DataFrame | None = None
        self.time_aware: Any = None
        self.naive_position: Any = None
        self.stale: pd.DataFrame | None = None
        self.cycle: pd.DataFrame | None = None
        self._time_aware_cache: dict[Any, Any] = {}
        self._naive_cache: dict[Any, Any] = {}
        self._pending: dict[str, tuple[pd.DataFrame, str]] = {}
        self._busy = False
        self._auto_note = ""
        self._fits: dict[str, StageProbabilities] = {}
        self._raw: dict[str, Any] | None = None  # the tables shown, as given (to read again)
        self._is_sample = False
        self._source_counts: tuple[int, int | None] = (0, None)
        self._all, self._blank, self._auto = _(ALL), _(BLANK), _(AUTO)
        self.words = Words()

        self._data_widgets()
        self._settings_widgets(quota, period, method, blank_amounts)
        self._output_widgets()
        self.balance_panel = BalancePanel(self)
        self.scenario_panel = ScenarioPanel(self)
        self.quotas_panel = QuotasPanel(self)
        self.teams = TeamsPanel(self)  # pipelines, overrides, lost deals
        self._wire()
        self.widget = self._layout(max_upload_bytes)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # ---- building the app: widgets, events, layout, first data ---------------------------------
    def _data_widgets(self) -> None:
        """The uploads, the date order, the column mapping."""
        words = self.words
        accept = ".csv,.xlsx,.xlsm,.txt,.tsv"
        self.deals_upload = words.describe(w.FileUpload(accept=accept), lambda: _("Deals file"))
        self.history_upload = words.describe(
            w.FileUpload(accept=accept), lambda: _("Stage history file")
        )
        self.rates_upload = words.describe(
            w.FileUpload(accept=accept), lambda: _("Currency rates file")
        )
        for up in (self.deals_upload, self.history_upload, self.rates_upload):
            up.layout = w.Layout(width="200px")
        self.sample_button = words.describe(
            w.Button(icon="undo"), lambda: _("Back to the sample data")
        )
        self.date_order = w.Dropdown(  # order of 03/04/2027-style dates no date decides
            options=_choices(DATE_ORDERS),
            value=None,
            style=_STYLE,
            layout=w.Layout(width="260px"),
        )
        words.options(self.date_order, lambda: _choices(DATE_ORDERS))
        words.describe(self.date_order, lambda: _("Dates like 03/04"))
        self.source_html = w.HTML()
        self.error_html = w.HTML()
        self.upload_status = w.HTML()

        def mapping(fields) -> dict[str, w.Dropdown]:
            boxes = {}
            for f, label in fields:
                box = w.Dropdown(options=[self._auto], style=_STYLE, layout=_FIELD)
                boxes[f] = words.describe(box, functools.partial(_, label))
            return boxes

        self.deal_mapping = mapping(DEAL_MAPPING_FIELDS)
        self.history_mapping = mapping(HISTORY_MAPPING_FIELDS)
        self.apply_mapping = words.describe(
            w.Button(button_style="primary"), lambda: _("Apply column mapping")
        )
        self.mapping_box = w.Accordion(
            children=[
                w.VBox(
                    [
                        words.html(lambda: "<b>" + html.escape(_("Deals file")) + "</b>"),
                        *self.deal_mapping.values(),
                        words.html(lambda: "<b>" + html.escape(_("Stage history file")) + "</b>"),
                        *self.history_mapping.values(),
                        self.apply_mapping,
                    ]
                )
            ],
            selected_index=None,
        )
        words.add(lambda: setattr(self.mapping_box, "titles", (_("Column mapping of your files"),)))

    def _settings_widgets(self, quota: float, period: str, method: str, blank_amounts: str) -> None:
        """Probabilities, period, group, filter, quota, range period, blank amounts; the
        language of the page."""
        words = self.words

        def choice(pairs, value, label) -> w.Dropdown:
            box = w.Dropdown(options=_choices(pairs), value=value, style=_STYLE, layout=_FIELD)
            words.options(box, lambda: _choices(pairs))
            return words.describe(box, label)

        self.method = choice(METHODS, method, lambda: _("Probabilities"))
        self.period = choice(PERIODS, period, lambda: _("Period"))
        self.group = choice(GROUPS, "", lambda: _("Group by"))
        self.filter = words.describe(
            w.Dropdown(options=[self._all], value=self._all, style=_STYLE, layout=_FIELD),
            lambda: _("Show"),
        )
        self.quota = words.describe(
            w.FloatText(value=quota, style=_STYLE, layout=_FIELD), lambda: _("Quota")
        )
        self.range_period = words.describe(
            w.Dropdown(options=[], style=_STYLE, layout=_FIELD), lambda: _("Range for period")
        )
        self.blank_amounts = choice(BLANKS, blank_amounts, lambda: _("Blank amounts"))
        self.language = words.describe(
            w.Dropdown(
                options=language_options(),
                value=self.lang,
                style={"description_width": "80px"},
                layout=w.Layout(width="240px", margin="0 0 0 32px"),
            ),
            lambda: _("Language"),
        )

    def _output_widgets(self) -> None:
        """Where the results show."""
        self.notes_html = w.HTML()
        self.prob_table = w.HTML()
        self.prob_chart = w.Image(format="png", layout=w.Layout(max_width="620px"))
        self.forecast_table = w.HTML()
        self.forecast_chart = w.Image(format="png", layout=w.Layout(max_width="620px"))
        self.range_html = w.HTML()
        self.conversion_html = w.HTML()
        self.timeaware_html = w.HTML()
        self.calibrated_panel = CalibratedPanel(self.words)
        self.health_html = w.HTML()
        self.download_button = self.words.describe(
            w.Button(icon="download"), lambda: _("Prepare .xlsx download")
        )
        self.download_link = w.HTML()

    def _wire(self) -> None:
        """Every button and setting, through the apps' one guard."""
        # the apps' one guard, in the page's language
        safe = functools.partial(guard, self._show_problem, lang=lambda: self.lang)
        self.sample_button.on_click(safe(lambda _b: self.use_sample()))
        self.apply_mapping.on_click(safe(lambda _b: self._apply_pending()))
        self.download_button.on_click(safe(lambda _b: self._prepare_download()))
        self.deals_upload.observe(safe(lambda c: self._uploaded("deals", c)), names="value")
        self.history_upload.observe(safe(lambda c: self._uploaded("history", c)), names="value")
        self.rates_upload.observe(safe(lambda c: self._uploaded("rates", c)), names="value")
        self.method.observe(safe(lambda _c: self._guard(self._refit)), names="value")
        self.period.observe(safe(lambda _c: self._guard(self._reperiod)), names="value")
        self.group.observe(safe(lambda _c: self._guard(self._regroup)), names="value")
        self.filter.observe(safe(lambda _c: self._guard(self._reforecast)), names="value")
        self.quota.observe(safe(lambda _c: self._guard(self._rerange)), names="value")
        self.range_period.observe(safe(lambda _c: self._guard(self._rerange)), names="value")
        self.blank_amounts.observe(safe(lambda _c: self._blank_amounts_changed()), names="value")
        self.calibrated_panel.wire(self, safe)
        self.language.observe(safe(lambda c: self.set_language(c["new"])), names="value")

    def _layout(self, max_upload_bytes: int) -> w.VBox:
        """The page: data, settings, notes, then one section per result."""
        words = self.words

        def section(title, *children: w.Widget) -> w.VBox:
            return w.VBox([words.html(lambda: f"<h3>{html.escape(title())}</h3>"), *children])

        def upload_note() -> str:
            text = _(
                "Upload a deals file (one row per deal: id, stage, amount, expected close date…) "
                "and, to learn probabilities, its stage history (deal id, stage, date entered). "
                "CSV or XLSX, up to <b>{limit}</b> per file."
            ).format(limit=html.escape(format_size(max_upload_bytes)))
            return f'<span class="pipesheet-note">{text}</span>'

        title = words.html(
            lambda: CSS + "<h2>" + html.escape(_("Pipeline forecast dashboard")) + "</h2>"
        )
        return w.VBox(
            [
                w.HBox([title, self.language], layout=w.Layout(align_items="center")),
                self.source_html,
                self.error_html,
                section(
                    lambda: _("Your data"),
                    words.html(upload_note),
                    w.HBox(
                        [
                            self.deals_upload,
                            self.history_upload,
                            self.rates_upload,
                            self.sample_button,
                        ]
                    ),
                    self.date_order,
                    self.upload_status,
                    self.mapping_box,
                ),
                section(
                    lambda: _("Settings"),
                    w.HBox(
                        [
                            w.VBox([self.method, self.period, self.blank_amounts]),
                            w.VBox([self.group, self.filter, self.teams.selector]),
                        ]
                    ),
                ),
                self.notes_html,
                section(
                    lambda: _("Stage probabilities: learned vs configured"),
                    self.prob_table,
                    self.prob_chart,
                ),
                section(lambda: _("Weighted forecast"), self.forecast_table, self.forecast_chart),
                section(
                    lambda: _("Forecast range"),
                    w.HBox([self.quota, self.range_period]),
                    self.range_html,
                ),
                section(lambda: _("Scenarios: what if…"), self.scenario_panel.widget),
                section(lambda: _("Quotas per owner and team"), self.quotas_panel.widget),
                section(lambda: _("Time-aware forecast vs weighted pipeline"), self.timeaware_html),
                section(lambda: _("Calibrated forecast"), self.calibrated_panel.widget),
                section(lambda: _("Conversion by stage and bottlenecks"), self.conversion_html),
                section(lambda: _("Pipeline health: stale deals and cycle time"), self.health_html),
                section(lambda: _("Pipeline balance and stage design"), self.balance_panel.widget),
                section(lambda: _("Pipelines, overrides and lost deals"), self.teams.widget),
                section(lambda: _("Download"), w.HBox([self.download_button, self.download_link])),
            ],
            layout=w.Layout(padding="0 12px"),
        )

    def _first_load(self, deals, history, rates, source: str | None) -> None:
        """The sample, or the tables given (kept as pending when they fail to load)."""
        if deals is None:
            self.use_sample()
        else:
            try:
                self.load(deals, history, rates, source=source or _("your data"))
            except PipesheetError as err:
                # kept as pending: another choice (e.g. of blank amounts) retries it
                name = source or _("your data")
                self._pending = {"deals": (deals, name)}
                for kind, frame in (("history", history), ("rates", rates)):
                    if frame is not None:
                        self._pending[kind] = (frame, kind)
                self._pending_failed = True
                self._show_error(str(err))

    # ---- language --------------------------------------------------------------------------------
    def set_language(self, lang: str | None) -> None:
        """Speak ``lang`` on the page (None: no change): the words, and the tables read and
        computed again in that language — its notes and messages, its number and date formats;
        the same numbers, settings and uploads. A language pipesheet does not speak is named on
        the page (the page keeps its language)."""
        code = language_change(self.lang, lang, self._show_problem)
        if code is None:
            return
        before = {self._all: ALL, self._blank: BLANK}
        self.lang = code
        with language(code):
            self._busy = self.teams._busy = True
            try:
                self.language.value = code
                self.words.refresh()
                self._all, self._blank, self._auto = _(ALL), _(BLANK), _(AUTO)
                now = {old: _(key) for old, key in before.items()}
                choice = now.get(self.filter.value, self.filter.value)
                self.filter.options = [now.get(o, o) for o in self.filter.options]
                self.filter.value = choice
                for box in (*self.deal_mapping.values(), *self.history_mapping.values()):
                    index = box.index
                    box.options = [self._auto, *box.options[1:]]
                    box.index = index
                self.teams.relabel()
            finally:
                self._busy = self.teams._busy = False
            self._render_upload_status()
            self._read_again()

    def _read_again(self) -> None:
        """The tables shown, read and computed again (in the language spoken now)."""
        if self._raw is None:
            if self._pending_failed and "deals" in self._pending:
                self._apply_pending()  # its message, in this language
            return
        raw = self._raw
        pipeline = self.teams.selector.index
        backtest = self.calibrated_panel.backtest is not None
        self.calibrated_panel.forget()
        try:
            self.load(
                raw["deals"],
                raw["history"],
                raw["rates"],
                source=self._sample_source() if self._is_sample else self.source,
                deal_columns=raw["deal_columns"],
                history_columns=raw["history_columns"],
            )
        except PipesheetError as err:
            self._show_error(str(err))
            return
        self._is_sample = raw["sample"]
        if pipeline and pipeline < len(self.teams.selector.options):
            self.teams.selector.index = pipeline  # the same pipeline alone, as before
        if backtest:
            self.calibrated_panel.run_backtest(self)
        if self._pending_failed and "deals" in self._pending:
            self._apply_pending()  # the upload that failed: its message, in this language

    # ---- data ------------------------------------------------------------------------------------
    @staticmethod
    def _sample_source() -> str:
        from pipesheet.sample import SAMPLE_AS_OF

        return _("the bundled sample data ({deals} deals as of {date})").format(
            deals=fmt_number(3000), date=fmt_long_date(SAMPLE_AS_OF)
        )

    @speaking
    def use_sample(self) -> None:
        """Show the bundled sample data (3,000 deals and their stage history)."""
        from pipesheet.sample import sample_deals, sample_history, sample_rates

        self._pending = {}
        self.upload_status.value = ""
        self.load(sample_deals(), sample_history(), sample_rates(), source=self._sample_source())
        self._is_sample = True
        if self._raw is not None:
            self._raw["sample"] = True

    @speaking
    def load(
        self,
        deals: pd.DataFrame,
        history: pd.DataFrame | None = None,
        rates: pd.DataFrame | None = None,
        *,
        source: str = "your data",
        deal_columns: dict[str, str] | None = None,
        history_columns: dict[str, str] | None = None,
    ) -> None:
        """Validate the tables and recompute everything.

        Raises:
            PipesheetError: a table is invalid; the dashboard keeps its previous data.
        """
        hist: History | None = None
        if history is not None:
            hist = read_history(history, columns=history_columns)
            # several pipelines: each pipeline's stage order from its own deals' history
            hist = history_by_pipeline(hist, deals, deal_columns, inferred=True)
        table = read_deals(deals, stages=hist.stages if hist else None, columns=deal_columns)
        rate_table = read_rates(rates).to_dict() if rates is not None else None
        self._auto_note = ""
        if hist is None and "probability" in table.frame and self.method.value != "configured":
            self._busy = True
            self.method.value = "configured"
            self._busy = False
            self._auto_note = _(
                "no stage history: the forecast uses the CRM's configured probabilities "
                "(upload a stage history to learn them)"
            )
        previous = (getattr(self, "deals", None), getattr(self, "history", None))
        previous_rates = getattr(self, "rates", None)
        previous_fits = self._fits
        self.deals, self.history, self.rates = table, hist, rate_table
        self._fits, self.fitted = {}, None
        self._time_aware_cache, self._naive_cache = {}, {}
        try:
            self._fit()
            self._diagnose()
            self._health()
            self._forecast_all()
        except PipesheetError:
            self.deals, self.history = previous
            self.rates = previous_rates
            self._fits, self.fitted = previous_fits, None
            self._time_aware_cache, self._naive_cache = {}, {}
            if self.deals is not None:
                self._fit()
                self._diagnose()
                self._health()
                self._forecast_all()
            raise
        self.teams.data_changed()
        self.teams.priced_changed()
        self.source = source
        self._is_sample = False
        self._raw = {
            "deals": deals,
            "history": history,
            "rates": rates,
            "deal_columns": deal_columns,
            "history_columns": history_columns,
            "sample": False,
        }
        self.balance_panel.data_changed()
        self.error = ""
        self.error_html.value = ""
        self._source_counts = (len(table.frame), len(hist.frame) if hist is not None else None)
        self._render_source()
        self.download_link.value = ""

    def _render_source(self) -> None:
        deals, rows = self._source_counts
        if rows is None:
            text = _("Showing {source}: {deals} deals.")
        else:
            text = _("Showing {source}: {deals} deals, {rows} stage-history rows.")
        text = text.format(source=self.source, deals=fmt_number(deals), rows=fmt_number(rows))
        self.source_html.value = (
            f'<div class="pipesheet-note" id="source">{html.escape(text, quote=False)}</div>'
        )

    def _uploaded(self, kind: str, change: dict) -> None:
        files = change["new"]
        if not files:
            return
        f = files[0]
        name = str(f["name"])
        try:
            frame = read_upload(
                bytes(f["content"]),
                name,
                max_bytes=self.max_upload_bytes,
                date_order=self.date_order.value,
            )
        except PipesheetError as err:
            self._show_error(str(err))
            return
        self._pending[kind] = (frame, name)
        headers = [str(c) for c in frame.columns]
        if kind in ("deals", "history"):
            boxes = self.deal_mapping if kind == "deals" else self.history_mapping
            for box in boxes.values():
                box.options = [self._auto, *headers]
                box.index = 0
        self._render_upload_status()
        if "deals" in self._pending:
            self._apply_pending()

    def _render_upload_status(self) -> None:
        """The files uploaded and waiting (or shown), in the language spoken."""
        if not self._pending:
            self.upload_status.value = ""
            return
        kinds = {"deals": _("deals"), "history": _("stage history"), "rates": _("currency rates")}
        files = "; ".join(
            _("{kind} = {name} ({rows} rows)").format(
                kind=kinds.get(k, k), name=n, rows=fmt_number(len(fr))
            )
            for k, (fr, n) in self._pending.items()
        )
        text = html.escape(_("Loaded: {files}").format(files=files), quote=False)
        self.upload_status.value = f'<span class="pipesheet-note">{text}</span>'
        if "deals" not in self._pending:
            self.upload_status.value += (
                '<br><span class="pipesheet-note">' + _("Now upload the deals file.") + "</span>"
            )

    def _mapping(self, boxes: dict[str, w.Dropdown]) -> dict[str, str] | None:
        chosen = {f: box.value for f, box in boxes.items() if box.index not in (None, 0)}
        return chosen or None

    def _apply_pending(self) -> None:
        if "deals" not in self._pending:
            self._show_error(_("no deals file uploaded yet; upload one (CSV or XLSX) first."))
            return
        deals, _name = self._pending["deals"]
        history = self._pending.get("history", (None, ""))[0]
        rates = self._pending.get("rates", (None, ""))[0]
        names = [n for _f, n in self._pending.values()]
        try:
            self.load(
                deals,
                history,
                rates,
                source=", ".join(names),
                deal_columns=self._mapping(self.deal_mapping),
                history_columns=self._mapping(self.history_mapping),
            )
            self._pending_failed = False
        except PipesheetError as err:
            self._pending_failed = True  # e.g. blank amounts: another choice retries the upload
            self._show_error(str(err))

    def _show_error(self, message: str) -> None:
        self.error = message
        still = getattr(self, "source", None)
        tail = "\n" + _("The page still shows {source}.").format(source=still) if still else ""
        self.error_html.value = error_html(message + tail, prefix=_("Your file cannot be used: "))

    def _show_problem(self, message: str) -> None:
        """What the apps' guard shows (:func:`pipesheet.apps.common.guard`)."""
        self.error = message
        self.error_html.value = error_html(message)

    def _guard(self, step) -> None:
        if self._busy or getattr(self, "deals", None) is None:
            return
        try:
            step()
            self.error = ""
            self.error_html.value = ""
        except PipesheetError as err:
            self.error = str(err)
            self.error_html.value = error_html(self.error)

    # ---- computing -------------------------------------------------------------------------------
    def _probabilities(self):
        return "configured" if self.method.value == "configured" else self.fitted

    def _fit(self) -> None:
        """Learn the probabilities (cached per method until new data is loaded) and show them."""
        method = "markov" if self.method.value == "markov" else "cohort"
        fitted = self._fits.get(method)
        if fitted is None:
            fitted = StageProbabilities(method=method).fit(self.history, self.deals)
            self._fits[method] = fitted
        self.deals = fitted.deals_ or self.deals
        if fitted is self.fitted:
            return
        self.fitted = fitted
        self._render_probabilities()
        notes = [*fitted.notes_, *([self._auto_note] if self._auto_note else [])]
        self.notes_html.value = _notes(notes)

    def _diagnose(self) -> None:
        """Conversion by stage and bottlenecks for the chosen period length."""
        if self.history is not None:
            self.conversion = conversion_by_stage(self.history, period=self.period.value)
            self.bottleneck_table = bottlenecks(self.history, period=self.period.value)
        else:
            self.conversion = self.bottleneck_table = None
        self._render_conversion()

    def _refit(self) -> None:
        self._fit()
        self._forecast_all()

    def _reperiod(self) -> None:
        self._diagnose()
        self._forecast_all()

    def _blank_amounts_changed(self) -> None:
        """Another blank-amount choice: retry the data it stopped, else price again."""
        if self._busy:
            return
        if self._pending_failed and "deals" in self._pending:
            self._apply_pending()  # shows its own message if it fails again
            return
        self._guard(self._reprice)

    def _reprice(self) -> None:
        self._time_aware_cache, self._naive_cache = {}, {}
        self._forecast_all()
        self.balance_panel.refresh()

    def _forecast_all(self) -> None:
        """Price the deals once (probabilities, amounts, blank-amount choice) — every money
        figure below comes from these priced deals — then the views."""
        self.priced = price_deals(
            self.deals,
            self._probabilities(),
            rates=self.rates,
            blank_amounts=self.blank_amounts.value,
        )
        self._currency = self.priced.currency
        frame = self.deals.frame
        code = frame["code"].to_numpy()
        k = self.deals.stages.k
        closed_on = (
            frame["closed_date"].fillna(frame["close_date"])
            if "closed_date" in frame
            else frame["close_date"]
        )
        when = frame["close_date"].where(code < k, closed_on)
        self._deal_date = when.to_numpy()
        self._deal_period = period_labels(when, self.period.value).to_numpy()
        self._regroup()
        self.teams.priced_changed()

    def _regroup(self) -> None:
        field = self.group.value
        if field and field not in self.deals.frame:
            self._busy = True
            self.group.value = ""
            self._busy = False
            raise PipesheetError(
                _("the deals table has no {column} column to group by").format(
                    column=field.replace("_", " ")
                ),
                table=self.deals.name,
                expected=_("one of the columns present"),
            )
        values = [self._all]
        if field:
            values += sorted(self.deals.frame[field].fillna(self._blank).astype(str).unique())
        self._busy = True
        try:
            keep = self.filter.value if self.filter.value in values else self._all
            self.filter.options = values
            self.filter.value = keep
        finally:
            self._busy = False
        self._reforecast()

    def _reforecast(self) -> None:
        field = self.group.value or None
        table = self.priced.forecast(self.period.value, by=field)
        if field and self.filter.value != self._all:
            table = table[table[field].astype(str) == self.filter.value].reset_index(drop=True)
        self.forecast = table
        self._render_forecast(table, field)
        periods = [p for p in dict.fromkeys(table["period"]) if not p.startswith("(")]
        self._busy = True
        try:
            keep = self.range_period.value
            self.range_period.options = periods
            if keep in periods:
                self.range_period.value = keep
            elif periods:
                counts = table.groupby("period")["deals"].sum()
                self.range_period.value = str(counts.reindex(periods).idxmax())
        finally:
            self._busy = False
        self._rerange()

    def _selection(self) -> np.ndarray:
        """The deals of the chosen period (open: expected close date; won: closed date) and
        group; the range takes the priced open ones among them."""
        mask = self._deal_period == self.range_period.value
        field = self.group.value
        if field and self.filter.value != self._all:
            mask &= (
                self.deals.frame[field].fillna(self._blank).astype(str) == self.filter.value
            ).to_numpy()
        return mask

    def _rerange(self) -> None:
        self._refresh_panels()
        if not self.range_period.value:
            self.range_ = None
            self.range_html.value = (
                '<span class="pipesheet-note">' + _("No period to forecast.") + "</span>"
            )
            return
        mask = self._selection()
        self.range_ = self.priced.range(self.quota.value, where=mask)
        self._render_range(mask)
        self._retimeaware()
        self.calibrated_panel.refresh(self)

    def _refresh_panels(self) -> None:
        """The scenario and quota panels follow the period, quota, group and data."""
        self.scenario_panel.refresh()
        self.quotas_panel.refresh()

    def _health(self) -> None:
        """Stale deals and cycle times (they depend on the data only)."""
        if self.history is None:
            self.stale = self.cycle = None
        else:
            self.stale = stale_deals(self.history, self.deals, only_stale=True)
            self.cycle = cycle_time(self.history, self.deals)
        self._render_health()

    def _retimeaware(self) -> None:
        """Time-aware forecast to the end of the range period, next to the weighted pipeline of
        the same window (both cached per period end, the latter per probabilities too)."""
        self.time_aware = self.naive_position = None
        if self.history is None:
            text = _(
                "The time-aware forecast learns when deals close from a stage-history file: "
                "upload one."
            )
            self.timeaware_html.value = f'<span class="pipesheet-note">{text}</span>'
            return
        label = self.range_period.value
        if not label:
            self.timeaware_html.value = (
                '<span class="pipesheet-note">' + _("No period.") + "</span>"
            )
            return
        inside = self._deal_date[self._deal_period == label]
        end = period_end_for(pd.Series(inside).min(), self.period.value)
        try:
            result = self._time_aware_cache.get(end)
            if result is None:
                result = time_aware_forecast(
                    self.history,
                    self.deals,
                    end,
                    rates=self.rates,
                    blank_amounts=self.blank_amounts.value,
                )
                self._time_aware_cache[end] = result
        except PipesheetError as err:
            self.timeaware_html.value = (
                f'<span class="pipesheet-note" id="timeaware-message">{html.escape(str(err))}'
                "</span>"
            )
            return
        key = (end, self.method.value)
        naive = self._naive_cache.get(key)
        if naive is None:
            naive = pipeline_position(
                self.deals,
                self._probabilities(),
                result.as_of + pd.Timedelta(days=1),
                result.period_end,
                rates=self.rates,
                blank_amounts=self.blank_amounts.value,
            )
            self._naive_cache[key] = naive
        self.time_aware, self.naive_position = result, naive
        self._render_timeaware()

    # ---- rendering -------------------------------------------------------------------------------
    def _render_probabilities(self) -> None:
        several = bool(getattr(self.fitted, "pipelines_", None))  # each pipeline's own table
        t = self.fitted.table_ if several else self.fitted.overall_
        cols = [*(["pipeline_name"] if several else []), *PROBABILITY_COLUMNS]
        cols.remove("step_conversion")
        if "configured_probability" in t:
            cols.append("configured_probability")
        count = lambda v: fmt_number(v)  # noqa: E731
        self.prob_table.value = html_table(
            t[cols],
            {
                "reached": count,
                "won": count,
                "lost": count,
                "open": count,
                "win_probability": fmt_pct,
                "interval_low": fmt_pct,
                "interval_high": fmt_pct,
                "configured_probability": fmt_pct,
            },
            headers={
                "pipeline_name": pgettext("pipeline name", "Pipeline"),
                "stage": _("Stage"),
                "reached": _("Reached"),
                "won": _("Won"),
                "lost": _("Lost"),
                "open": _("Still open"),
                "win_probability": _("Learned P(win)"),
                "interval_low": _("{level} interval from").format(
                    level=fmt_pct(self.fitted.interval, 0)
                ),
                "interval_high": pgettext("interval", "to"),
                "configured_probability": _("Configured (CRM)"),
            },
            css_id="probability-table",
        )
        fig = figure(6.4, 2.8)
        ax = fig.add_subplot()
        x = np.arange(len(t))
        p = t["win_probability"].to_numpy(dtype=float)
        lo = t["interval_low"].to_numpy(dtype=float)
        hi = t["interval_high"].to_numpy(dtype=float)
        ax.errorbar(
            x,
            p,
            yerr=[p - lo, hi - p],
            fmt="o",
            color="#3b7dd8",
            capsize=4,
            label=_("learned (interval)"),
        )
        if "configured_probability" in t:
            ax.plot(
                x,
                t["configured_probability"].to_numpy(dtype=float),
                "x",
                color="#c0392b",
                markersize=9,
                label=_("configured"),
            )
        labels = (t["pipeline_name"] + ": " + t["stage"]) if several else t["stage"]
        ax.set_xticks(x, labels.tolist(), fontsize=8 if several else None)
        ax.set_ylim(0, 1)
        ax.set_ylabel(_("P(win)"))
        ax.legend(loc="upper left", fontsize=8)
        self.prob_chart.value = png(fig)

    def _render_forecast(self, table: pd.DataFrame, field: str | None) -> None:
        cur = table.attrs.get("currency") or ""
        money = fmt_money
        headers = {
            "period": _("Period"),
            "deals": _("Open deals"),
            "pipeline": _("Pipeline {currency}").format(currency=cur).strip(),
            "weighted": _("Weighted {currency}").format(currency=cur).strip(),
            "std_dev": _("± std dev"),
        }
        if field:
            headers[field] = _(dict((v, k) for k, v in GROUPS)[field])
        self.forecast_table.value = html_table(
            table,
            {"deals": fmt_number, "pipeline": money, "weighted": money, "std_dev": money},
            headers=headers,
            css_id="forecast-table",
        ) + _notes(table.attrs.get("notes", []))
        fig = figure(6.4, 2.8)
        ax = fig.add_subplot()
        if field and self.filter.value == self._all:
            wide = table.pivot_table(
                index="period", columns=field, values="weighted", aggfunc="sum", sort=False
            ).fillna(0.0)
            bottom = np.zeros(len(wide))
            for col in wide.columns:
                ax.bar(wide.index.astype(str), wide[col].to_numpy(), bottom=bottom, label=str(col))
                bottom += wide[col].to_numpy()
            if len(wide.columns) <= 8:
                ax.legend(fontsize=7, ncols=2)
        else:
            ax.bar(
                table["period"].astype(str),
                table["weighted"],
                yerr=table["std_dev"],
                color="#3b7dd8",
                capsize=3,
            )
        ax.set_ylabel(_("weighted {currency}").format(currency=cur).strip())
        ax.tick_params(axis="x", labelrotation=45, labelsize=8)
        ax.yaxis.set_major_formatter(lambda v, _pos: fmt_number(v))
        self.forecast_chart.value = png(fig)

    def _render_range(self, mask: np.ndarray) -> None:
        r = self.range_
        n_open = int((mask & self.priced.open).sum())
        n_won = int((mask & self.priced.closed_in).sum())
        cur = self._currency or ""
        rows = [
            (_("Already won in the period (closed so far)"), fmt_money(r.closed), "range-closed"),
            (_("Expected from the open deals (mean)"), fmt_money(r.mean), "range-mean"),
            (_("P10 (9 in 10 chance of at least)"), fmt_money(r.p10), "range-p10"),
            (_("P50 (median)"), fmt_money(r.p50), "range-p50"),
            (_("P90 (1 in 10 chance of at least)"), fmt_money(r.p90), "range-p90"),
            (
                _("P(revenue ≥ quota {quota})").format(quota=fmt_money(self.quota.value)),
                fmt_pct(r.p_quota),
                "p-quota",
            ),
        ]
        body = "".join(
            f'<tr><td>{html.escape(label, quote=False)}</td><td id="{key}">{value}</td></tr>'
            for label, value, key in rows
        )
        if self.group.value and self.filter.value != self._all:
            text = _(
                "Range of the {deals} open deals expected to close in {period} for {group} "
                "({currency}) — the deals of the weighted forecast's row for this period, so its "
                "mean is that row's weighted value — each won with its stage's probability "
                "(method: {method}). P(≥ quota) adds the {won} deals already won in the period: "
                "P(closed so far + range ≥ quota)."
            )
        else:
            text = _(
                "Range of the {deals} open deals expected to close in {period} ({currency}) — "
                "the deals of the weighted forecast's row for this period, so its mean is that "
                "row's weighted value — each won with its stage's probability (method: "
                "{method}). P(≥ quota) adds the {won} deals already won in the period: "
                "P(closed so far + range ≥ quota)."
            )
        text = text.format(
            deals=fmt_number(n_open),
            period=self.range_period.value,
            group=self.filter.value,
            currency=cur,
            method=_range_method(r.range_method),
            won=fmt_number(n_won),
        )
        self.range_html.value = (
            f'<div class="pipesheet-note">{html.escape(text, quote=False)}</div>'
            f'<table class="pipesheet-table" id="range-table"><tbody>{body}</tbody></table>'
        )

    def _render_timeaware(self) -> None:
        r, n = self.time_aware, self.naive_position
        if r.period_end <= r.as_of:
            text = _(
                "{period} ends on or before the data's as-of date ({date}): nothing of it is "
                "left to forecast. Pick a later period."
            ).format(period=self.range_period.value, date=fmt_date(r.as_of))
            self.timeaware_html.value = (
                f'<span class="pipesheet-note" id="timeaware-message">'
                f"{html.escape(text, quote=False)}</span>"
            )
            return
        cur = r.currency or self._currency or ""
        start = r.as_of + pd.Timedelta(days=1)
        rng = r.range
        rows = [
            (
                _("Time-aware: P(won by the period end | stage, days in stage)"),
                "ta",
                int(r.deals["probability"].notna().sum()),
                r.pipeline,
                r.forecast,
                rng.p10 if rng is not None else None,
                rng.p50 if rng is not None else None,
                rng.p90 if rng is not None else None,
            ),
            (
                _("Weighted pipeline: expected close date in the window × P(win | stage)"),
                "naive",
                n.open_deals,
                n.open_pipeline,
                n.expected_open,
                None,
                None,
                None,
            ),
        ]
        body = "".join(
            f'<tr id="timeaware-{key}"><td>{html.escape(label)}</td><td>{fmt_number(deals)}</td>'
            f"<td>{fmt_money(pipe)}</td><td>{fmt_money(exp)}</td><td>{fmt_money(p10)}</td>"
            f"<td>{fmt_money(p50)}</td><td>{fmt_money(p90)}</td></tr>"
            for label, key, deals, pipe, exp, p10, p50, p90 in rows
        )
        stages = r.table[
            ["stage", "open_deals", "pipeline", "forecast", "eventual_win", "median_days_to_close"]
        ]
        notes = self._new_notes(r.notes)
        intro = _(
            "Revenue expected from the deals open on {date}, won between {start} and {end} "
            "({currency}; whole pipeline). The time-aware forecast learns <i>when</i> deals close "
            "from the stage history (open deals count as censored, not lost); the weighted "
            "pipeline trusts the expected close dates."
        ).format(
            date=fmt_date(r.as_of),
            start=fmt_date(start),
            end=fmt_date(r.period_end),
            currency=html.escape(cur),
        )
        head = "".join(
            f"<th>{html.escape(h)}</th>"
            for h in (
                _("Method"),
                _("Open deals"),
                _("Pipeline"),
                _("Expected won"),
                "P10",
                "P50",
                "P90",
            )
        )
        self.timeaware_html.value = (
            f'<div class="pipesheet-note">{intro}</div>'
            '<table class="pipesheet-table" id="timeaware-table"><thead><tr>'
            f"{head}</tr></thead><tbody>{body}</tbody></table>"
            + html_table(
                stages,
                {
                    "open_deals": fmt_number,
                    "pipeline": fmt_money,
                    "forecast": fmt_money,
                    "eventual_win": fmt_pct,
                    "median_days_to_close": fmt_number,
                },
                headers={
                    "stage": _("Stage"),
                    "open_deals": _("Open deals"),
                    "pipeline": _("Pipeline"),
                    "forecast": _("Time-aware forecast"),
                    "eventual_win": _("Eventual P(win)"),
                    "median_days_to_close": _("Median days to close"),
                },
                css_id="timeaware-stages",
            )
            + _notes(notes)
        )

    def _new_notes(self, notes: list[str]) -> list[str]:
        """The notes not already shown at the top of the page (the probabilities' notes, e.g.
        the stage order), each once."""
        shown = set(self.fitted.notes_) if self.fitted is not None else set()
        return [n for n in dict.fromkeys(notes) if n not in shown]

    def _render_health(self) -> None:
        if self.history is None:
            text = _("Stale deals and cycle times need a stage-history file.")
            self.health_html.value = f'<span class="pipesheet-note">{text}</span>'
            return
        stale = self.stale
        shown = stale.head(STALE_SHOWN)
        cols = [
            c
            for c in (
                "deal_id",
                "stage",
                "owner",
                "amount",
                "days_in_stage",
                "threshold_days",
                "times_threshold",
            )
            if c in shown
        ]
        n_open = int((self.deals.frame["code"] < self.deals.stages.k).sum())
        count = _(
            "{stale} of {open} open deals are stale (as of {date}); the {shown} longest over their "
            "stage's threshold:"
        ).format(
            stale=fmt_number(len(stale)),
            open=fmt_number(n_open),
            date=fmt_date(stale.attrs["as_of"]),
            shown=fmt_number(min(STALE_SHOWN, len(stale))),
        )
        self.health_html.value = (
            f'<div class="pipesheet-note" id="stale-count">{html.escape(count, quote=False)}</div>'
            + html_table(
                shown[cols],
                {
                    "amount": fmt_money,
                    "days_in_stage": fmt_number,
                    "threshold_days": lambda v: fmt_number(v, 1),
                    "times_threshold": lambda v: fmt_number(v, 1) + "×" if v == v else "",
                },
                headers={
                    "deal_id": _("Deal"),
                    "stage": _("Stage"),
                    "owner": _("Owner"),
                    "amount": _("Amount"),
                    "days_in_stage": _("Days in stage"),
                    "threshold_days": _("Threshold (days)"),
                    "times_threshold": _("× threshold"),
                },
                css_id="stale-table",
            )
            + _notes(stale.attrs.get("notes", []))
            + "<h4>"
            + html.escape(_("Cycle time (days from creation to Won / Lost)"))
            + "</h4>"
            + html_table(
                self.cycle,
                {
                    "outcome": _outcome,
                    "deals": fmt_number,
                    "mean_days": fmt_number,
                    "median_days": fmt_number,
                    "p80_days": fmt_number,
                },
                headers={
                    "outcome": _("Outcome"),
                    "deals": _("Deals"),
                    "mean_days": _("Mean"),
                    "median_days": _("Median"),
                    "p80_days": _("80th percentile"),
                },
                css_id="cycle-table",
            )
        )

    def _render_conversion(self) -> None:
        if self.history is None:
            text = _("Conversion by stage needs a stage-history file.")
            self.conversion_html.value = f'<span class="pipesheet-note">{text}</span>'
            return
        b = self.bottleneck_table
        c = self.conversion
        recent = c.groupby("stage", sort=False).tail(6)
        self.conversion_html.value = (
            html_table(
                b,
                {
                    "closed_deals": fmt_number,
                    "step_conversion": fmt_pct,
                    "reference": fmt_pct,
                    "gap": lambda v: (
                        _("{points} pts").format(points=fmt_number(float(v) * 100, 1))
                        if v == v
                        else ""
                    ),
                    "bottleneck": lambda v: html.escape(_("⚠ bottleneck")) if v else "",
                },
                headers={
                    "stage": _("Stage"),
                    "period": _("Cohort checked"),
                    "closed_deals": _("Closed deals"),
                    "step_conversion": _("Step conversion"),
                    "reference": _("Reference"),
                    "reference_kind": _("Reference is"),
                    "gap": _("Gap"),
                    "bottleneck": _("Flag"),
                },
                flag="bottleneck",
                css_id="bottleneck-table",
            )
            + _notes(b.attrs.get("notes", []))
            + _notes(  # where the cohort and Markov estimates differ strongly, and why
                self.fitted.disagreement_notes() if self.fitted is not None else [],
                "pipesheet-note disagreement",
            )
            + "<h4>"
            + html.escape(_("Step conversion by cohort (last 6 periods per stage)"))
            + "</h4>"
            + html_table(
                recent,
                {
                    "entered": fmt_number,
                    "closed_deals": fmt_number,
                    "converted": fmt_number,
                    "step_conversion": fmt_pct,
                },
                headers={
                    "stage": _("Stage"),
                    "period": _("Entered in"),
                    "entered": _("Entered"),
                    "closed_deals": _("Closed"),
                    "converted": _("Converted"),
                    "step_conversion": _("Step conversion"),
                },
                css_id="conversion-table",
            )
        )

    # ---- download --------------------------------------------------------------------------------
    @speaking
    def results(self) -> dict[str, pd.DataFrame]:
        """The result tables shown on the page, by sheet name (in English: the names of
        :data:`SHEET_NAMES`; :meth:`results_xlsx` names the sheets in the page's language). The
        settings sheet names each setting in the page's language."""
        sheets: dict[str, pd.DataFrame] = {}
        if self.fitted is not None:
            several = bool(getattr(self.fitted, "pipelines_", None))
            sheets["Stage probabilities"] = self.fitted.table_ if several else self.fitted.overall_
        if self.forecast is not None:
            sheets["Weighted forecast"] = self.forecast
        if self.range_ is not None:
            rng = self.range_.to_frame()
            rng.insert(0, "period", self.range_period.value)
            sheets["Forecast range"] = rng
        if self.time_aware is not None:
            sheets["Time-aware forecast"] = self.time_aware.to_frame()
            sheets["Time-aware by stage"] = self.time_aware.table
        sheets.update(self.calibrated_panel.results())
        if self.bottleneck_table is not None:
            sheets["Bottlenecks"] = self.bottleneck_table
            sheets["Conversion by stage"] = self.conversion
        if self.stale is not None:
            sheets["Stale deals"] = self.stale.reset_index(drop=True)
            sheets["Cycle time"] = self.cycle
        sheets.update(self.balance_panel.results())
        if self.scenario_panel.result is not None:
            sheets["Scenario"] = self.scenario_panel.result.to_frame()
        if self.quotas_panel.result is not None:
            sheets["Quotas"] = self.quotas_panel.result.to_frame()
        sheets.update(self.teams.results())
        settings = {
            _("data"): self.source,
            _("pipeline"): self.teams.selector.value,
            _("probabilities"): _(dict((v, k) for k, v in METHODS)[self.method.value]),
            _("period"): self.period.value,
            _("group by"): self.group.value or _("(none)"),
            _("showing"): self.filter.value,
            _("quota"): self.quota.value,
            _("blank amounts"): self.blank_amounts.value,
            _("currency"): self._currency,
        }
        sheets["Settings"] = pd.DataFrame(
            {"setting": list(settings), "value": [str(v) for v in settings.values()]}
        )
        return sheets

    @speaking
    def results_xlsx(self) -> bytes:
        """The results as an .xlsx workbook (one sheet per table, named in the page's
        language)."""
        return xlsx_bytes({_(name): frame for name, frame in self.results().items()})

    def _prepare_download(self) -> None:
        content = self.results_xlsx()
        self.download_link.value = xlsx_link(
            content,
            "pipesheet_results.xlsx",
            _("Download {file} ({size})").format(
                file="pipesheet_results.xlsx", size=format_size(len(content))
            ),
        )
