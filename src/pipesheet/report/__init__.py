"""The finance report: a workbook built from CRM exports (``pipesheet report``).

    pipesheet report INPUT… -o report.xlsx [--force] [--period quarter] [--by owner] …
    report = build_report("Opportunity.csv", "OpportunityHistory.csv"); write_report(report, path)

:func:`build_report` reads the exports (:func:`pipesheet.exports.read_export`) and computes every
sheet with the public API; :func:`write_report` writes them to a *new* workbook:

==========================  =====================================================================
Summary                     led by the calibrated forecast of the current period and its range;
                            key figures and notes (what was read, what was assumed, what was
                            skipped); its totals are the sheets' totals
Stage probabilities         :class:`pipesheet.StageProbabilities` ``.table_`` (+ chart)
Forecast                    :func:`pipesheet.weighted_forecast` by period (and ``--by`` group)
Range                       :func:`pipesheet.pipeline_range` of the same open deals (its mean is
                            the forecast's total)
Calibrated forecast         :func:`pipesheet.calibrated_forecast` of the current period: the
                            summary, the past periods it rests on, the open deals, the notes
Lead plan                   :func:`pipesheet.leads_needed` for the target
Balance                     :func:`pipesheet.pipeline_balance` for the current period, target =
                            the quota (else the lead plan's target): per stage, what to do
Waterfall                   :func:`pipesheet.waterfall.waterfall_from_history` over the current
                            period so far, or between ``--previous`` snapshot and now (+ chart)
Backtest                    :func:`pipesheet.backtest.backtest` (time-aware, weighted pipeline,
                            calibrated, and the recommended forecast) over the last
                            ``backtest_periods`` full periods the history covers
Calibration                 :func:`pipesheet.calibration.calibration` of every probability —
                            learned, configured, given, time-aware, calibrated — predicted at the
                            start of the backtest (by stage, by bucket, Brier score and skill)
Diagnostics                 bottlenecks, cycle time, stale deals (:mod:`pipesheet.diagnostics`),
                            the stage design check (:func:`pipesheet.stage_design_check`)
==========================  =====================================================================

The forecast, range, Summary and lead plan price the deals once
(:func:`pipesheet.pricing.price_deals`: open at the as-of date, amounts converted, the
``blank_amounts`` choice applied), so the Summary's open pipeline, weighted forecast and range are
the Forecast and Range sheets' totals. The backtest and calibration start where the history allows
(a period whose as-of date — the day before it — precedes the first history row cannot be
rebuilt) and the Summary says what was skipped.

The workbook has number formats, frozen header rows, one Excel Table per table and native Excel
charts. The inputs are only read (never saved) and never replaced (the output may not be an
input, ``--previous``, ``--rates`` or ``--probabilities`` file, even with ``force``); an existing
output is refused unless ``force``;
the file is written to a temporary file in the same folder and renamed into place; text from the
data that starts with ``=``, ``+``, ``-`` or ``@`` is stored as text (quote prefix) so Excel never
runs it as a formula.  A progress bar (``tqdm``, the ``report`` extra) shows on long runs.

**Languages.** The workbook speaks the language spoken (:mod:`pipesheet.i18n`: ``--lang``,
``PIPESHEET_LANG``, the system locale): sheet names, titles, header rows
(:func:`pipesheet.headings.heading`), Summary items, notes and chart titles. The numbers are the
same in every language and stay numeric cells with number formats; dates stay dates.
``report.sheets`` keeps the English sheet names and ``report.summary`` the English items (the
Python API); :func:`sheet_name` gives a sheet's name in the language spoken.
"""

from __future__ import annotations

from pipesheet.report.build import SHEETS, Report, build_report, sheet_name
from pipesheet.report.write import write_report

__all__ = ["SHEETS", "Report", "build_report", "sheet_name", "write_report"]
