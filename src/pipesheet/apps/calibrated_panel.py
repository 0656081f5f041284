"""The dashboard's "Calibrated forecast" panel: the time-aware forecast calibrated by its own past
errors (:class:`pipesheet.calibrated.CalibratedForecast`) for the dashboard's window, and on
request the backtest of the last periods with the recommended forecast
(:func:`pipesheet.backtest.backtest`).

It shows, for the window of the dashboard's "Range for period" (the same window as the time-aware
section: from the data's as-of date to the end of that period): the calibrated forecast,
P10/P50/P90, P(closed so far + revenue ≥ quota) with the dashboard's quota, the method in words,
the past periods it rests on (the evidence) and the notes.  Every number comes from the engine;
the panel only formats.  The model fits are kept per data set (a quota change refits nothing but
the range), so the panel refreshes on the dashboard's events without recomputing the past.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
import pandas as pd

from pipesheet.apps.common import Words, fmt_date, fmt_money, fmt_number, fmt_pct, html_table
from pipesheet.errors import PipesheetError
from pipesheet.i18n import _
from pipesheet.periods import PERIOD_WORDS, period_bounds, window_end

__all__ = ["BACKTEST_PERIODS", "CalibratedPanel"]

#: Past periods the panel's backtest covers.
BACKTEST_PERIODS = 4


def _signed_pct(x: object) -> str:
    """An error as a signed percentage (+35.6%: the forecast was 35.6% above); blank if NaN."""
    text = fmt_pct(x)
    return text if not text or text.startswith("-") else "+" + text


def _note(text: str, ident: str = "") -> str:
    attr = f' id="{ident}"' if ident else ""
    return f'<div class="pipesheet-note"{attr}>{html.escape(text)}</div>'


class CalibratedPanel:
    """The "Calibrated forecast" section of the dashboard.

    Attributes (after :meth:`refresh`): ``result`` (the
    :class:`~pipesheet.calibrated.CalibratedResult` shown, or None), ``backtest`` (the
    :class:`~pipesheet.backtest.BacktestResult` of the last periods, after the button), and the
    widgets ``html``, ``backtest_button``, ``backtest_html``, ``widget``.
    """

    def __init__(self, words: Words | None = None) -> None:
        self.result: Any = None
        self.backtest: Any = None
        self.html = w.HTML()
        self.backtest_button = (words or Words()).describe(
            w.Button(icon="history"),
            lambda: _("Backtest the last {n} periods").format(n=BACKTEST_PERIODS),
        )
        self.backtest_button.layout = w.Layout(width="260px")
        self.backtest_html = w.HTML()
        self.widget = w.VBox([self.html, self.backtest_button, self.backtest_html])
        self._data: tuple[Any, ...] = ()
        self._tables: Any = None
        self._cache: dict = {}
        self._window: tuple[Any, ...] = ()
        self._settings: dict[str, Any] = {}

    # ---- the dashboard's hooks ---------------------------------------------------------------
    def wire(self, dashboard: Any, safe: Any) -> None:
        """Run the backtest when its button is clicked, under the dashboard's guard ``safe``."""
        self.backtest_button.on_click(safe(lambda _b: self.run_backtest(dashboard)))

    def forget(self) -> None:
        """Fit again on the next refresh (the language changed: the method and notes are the
        engine's words)."""
        self._data = ()
        self._clear_backtest()

    def refresh(self, dashboard: Any) -> None:
        """The calibrated forecast of the dashboard's window (its time-aware result's as-of date
        to the end of the range period), with the dashboard's quota and money settings."""
        self.result = None
        time_aware = dashboard.time_aware
        if dashboard.history is None or time_aware is None:
            self.html.value = _note(
                _(
                    "The calibrated forecast backtests the time-aware forecast on the stage "
                    "history: upload a stage-history file."
                ),
                "calibrated-message",
            )
            self._clear_backtest()
            return
        if time_aware.period_end <= time_aware.as_of:
            self.html.value = _note(
                _(
                    "The period ends on or before the data's as-of date: nothing of it is left "
                    "to forecast. Pick a later period."
                ),
                "calibrated-message",
            )
            return
        self._use_data(dashboard)
        period = dashboard.period.value
        end = time_aware.period_end
        period_end: Any = end
        if period in PERIOD_WORDS and window_end(time_aware.as_of, period)[0] == end:
            period_end = period  # the current period: what was won in it so far counts
        try:
            self.result = self._fit(time_aware.as_of, period_end, dashboard.quota.value)
        except PipesheetError as err:
            self.html.value = _note(str(err), "calibrated-message")
            return
        self._render(self.result, dashboard.quota.value)

    def results(self) -> dict[str, pd.DataFrame]:
        """The panel's tables for the dashboard's download, by sheet name."""
        sheets: dict[str, pd.DataFrame] = {}
        if self.result is not None:
            sheets["Calibrated forecast"] = self.result.to_frame()
            sheets["Calibrated evidence"] = self.result.evidence
        if self.backtest is not None:
            sheets["Backtest by period"] = self.backtest.wide
            sheets["Backtest summary"] = self.backtest.summary
        return sheets

    # ---- computing ---------------------------------------------------------------------------
    def _use_data(self, dashboard: Any) -> None:
        """Read the dashboard's tables once per data set (new data: new fits, no backtest)."""
        data = (dashboard.history, dashboard.deals, dashboard.rates, dashboard.blank_amounts.value)
        if len(self._data) == len(data) and all(
            a is b for a, b in zip(self._data, data, strict=True)
        ):
            return
        from pipesheet.history import load_tables

        self._data = data
        self._tables = load_tables(dashboard.history, dashboard.deals, None, None)
        self._cache = {}
        self._settings = {
            "rates": dashboard.rates,
            "blank_amounts": dashboard.blank_amounts.value,
        }
        self._clear_backtest()

    def _fit(self, as_of: pd.Timestamp, period_end: Any, quota: float) -> Any:
        from pipesheet.calibrated import CalibratedForecast

        model = CalibratedForecast(
            stages=self._tables.hist.stages,
            as_of=as_of,
            period_end=period_end,
            quota=quota,
            **self._settings,
        )
        return model.fit_loaded(self._tables, cache=self._cache).result_

    def run_backtest(self, dashboard: Any) -> None:
        """The backtest of the last :data:`BACKTEST_PERIODS` full periods before the as-of date's
        period (months, or quarters when the dashboard shows quarters or years): each method,
        and the recommended forecast — the calibrated one when it rests on enough past periods,
        else the time-aware one."""
        from pipesheet.backtest import backtest

        if self.result is None or self._tables is None:
            self.backtest_html.value = _note(_("No calibrated forecast to backtest yet."))
            return
        period = "month" if dashboard.period.value == "month" else "quarter"
        start = period_bounds(self.result.as_of, period)[0]
        months = {"month": 1, "quarter": 3}[period] * BACKTEST_PERIODS
        first = start - pd.DateOffset(months=months)
        try:
            self.backtest = backtest(
                dashboard.history,
                dashboard.deals,
                first,
                periods=BACKTEST_PERIODS,
                period=period,
                **self._settings,
            )
        except PipesheetError as err:
            self.backtest = None
            self.backtest_html.value = _note(str(err), "calibrated-backtest-message")
            return
        self._render_backtest(self.backtest)

    def _clear_backtest(self) -> None:
        self.backtest = None
        self.backtest_html.value = ""

    # ---- rendering ---------------------------------------------------------------------------
    def _render(self, r: Any, quota: float) -> None:
        start = r.as_of + pd.Timedelta(days=1)
        rows = [
            (_("Calibrated forecast"), fmt_money(r.forecast), "calibrated-forecast"),
            (
                _("Time-aware model (before calibration)"),
                fmt_money(r.model_forecast),
                "calibrated-model",
            ),
            (_("P10 (9 in 10 chance of at least)"), fmt_money(r.p10), "calibrated-p10"),
            (_("P50 (median)"), fmt_money(r.p50), "calibrated-p50"),
            (_("P90 (1 in 10 chance of at least)"), fmt_money(r.p90), "calibrated-p90"),
            (
                _("Already won in the period (closed so far)"),
                fmt_money(r.closed),
                "calibrated-closed",
            ),
            (
                _("P(closed so far + revenue ≥ quota {quota})").format(quota=fmt_money(quota)),
                fmt_pct(r.p_quota),
                "calibrated-p-quota",
            ),
            (_("Past periods it rests on"), fmt_number(r.periods), "calibrated-periods"),
        ]
        body = "".join(
            f'<tr><td>{html.escape(label, quote=False)}</td><td id="{key}">{value}</td></tr>'
            for label, value, key in rows
        )
        evidence = r.evidence[["as_of", "period_end", "forecast", "actual", "error", "weight"]]
        if r.currency:
            intro = _(
                "Revenue expected to be won between {start} and {end} ({currency}) — the "
                "time-aware forecast backtested on the history before {date} (the same window "
                "one quarter back at a time, nothing after it), corrected by its own past errors, "
                "with a range widened by their spread. P10–P90: in 8 periods out of 10 the "
                "revenue should fall inside."
            )
        else:
            intro = _(
                "Revenue expected to be won between {start} and {end} — the time-aware forecast "
                "backtested on the history before {date} (the same window one quarter back at a "
                "time, nothing after it), corrected by its own past errors, with a range widened "
                "by their spread. P10–P90: in 8 periods out of 10 the revenue should fall inside."
            )
        intro = intro.format(
            start=fmt_date(start),
            end=fmt_date(r.period_end),
            currency=r.currency,
            date=fmt_date(r.as_of),
        )
        method = _("<b>Method:</b> {method}").format(method=html.escape(r.method))
        self.html.value = (
            _note(intro)
            + f'<table class="pipesheet-table" id="calibrated-table"><tbody>{body}</tbody></table>'
            + f'<div class="pipesheet-note" id="calibrated-method">{method}</div>'
            + "<h4>"
            + html.escape(_("Past periods it rests on (error = forecast / actual − 1)"))
            + "</h4>"
            + (
                html_table(
                    evidence,
                    {
                        "forecast": fmt_money,
                        "actual": fmt_money,
                        "error": _signed_pct,
                        "weight": lambda v: fmt_number(v, 2),
                    },
                    headers={
                        "as_of": _("As of"),
                        "period_end": _("Period end"),
                        "forecast": _("Forecast"),
                        "actual": _("Won"),
                        "error": _("Error"),
                        "weight": _("Weight"),
                    },
                    css_id="calibrated-evidence",
                )
                if len(evidence)
                else _note(_("No past period to calibrate on yet."), "calibrated-evidence")
            )
            + "".join(_note(_("Note: {note}").format(note=n)) for n in r.notes)
        )

    def _render_backtest(self, bt: Any) -> None:
        wide = bt.wide
        shown = wide[["period", "as_of", "forecast", "p10", "p90", "actual", "error", "method"]]
        rec = bt.summary.set_index("method")
        table = bt.summary[["method", "periods", "mape", "bias", "in_range_share", "unscored"]]
        self.backtest_html.value = (
            _note(
                _(
                    "What pipesheet would have said the day before each period (the recommended "
                    "forecast: the calibrated one when it rests on enough past periods, else the "
                    "time-aware one), against what was then won from the deals open that day."
                )
            )
            + html_table(
                shown,
                {
                    "forecast": fmt_money,
                    "p10": fmt_money,
                    "p90": fmt_money,
                    "actual": fmt_money,
                    "error": _signed_pct,
                },
                headers={
                    "period": _("Period"),
                    "as_of": _("Forecast on"),
                    "forecast": _("Recommended forecast"),
                    "p10": "P10",
                    "p90": "P90",
                    "actual": _("Won"),
                    "error": _("Error"),
                    "method": _("Method"),
                },
                css_id="calibrated-backtest",
            )
            + html_table(
                table,
                {
                    "periods": fmt_number,
                    "mape": fmt_pct,
                    "bias": _signed_pct,
                    "in_range_share": fmt_pct,
                    "unscored": fmt_number,
                },
                headers={
                    "method": _("Method"),
                    "periods": _("Periods scored"),
                    "mape": "MAPE",
                    "bias": _("Bias"),
                    "in_range_share": _("Within P10–P90"),
                    "unscored": _("Not scored"),
                },
                css_id="calibrated-backtest-summary",
            )
            + _note(
                _("Recommended: MAPE {mape}, within P10–P90 in {share} of the periods.").format(
                    mape=fmt_pct(rec.loc["recommended", "mape"]),
                    share=fmt_pct(rec.loc["recommended", "in_range_share"]),
                ),
                "calibrated-backtest-verdict",
            )
            + "".join(_note(_("Note: {note}").format(note=n)) for n in bt.notes)
        )
