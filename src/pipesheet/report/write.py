"""Writing the report: the sheets of a :class:`~pipesheet.report.Report` to a new workbook, with
native Excel charts next to the main tables (the layout, number formats and formula-safe text
come from the one writer, :mod:`pipesheet.writer`).

The words follow the language spoken (:mod:`pipesheet.i18n`; ``pipesheet report --lang it``):
sheet names (:func:`~pipesheet.report.build.sheet_name`), titles, header rows, Summary items,
notes and chart titles. The numbers do not: cells stay numeric with their number formats, dates
stay dates."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipesheet.headings import heading
from pipesheet.i18n import _
from pipesheet.report.build import Report, sheet_name
from pipesheet.writer import MONEY, PERCENT, write_workbook


def write_report(
    report: Report,
    path: str | Path,
    *,
    force: bool = False,
    inputs: Sequence[str | Path] = (),
) -> Path:
    """Write the report to a new .xlsx atomically; refuse to overwrite unless ``force``, and
    never overwrite one of ``inputs`` (the files the report was read from).

    Layout, number formats and formula-safe text come from :func:`pipesheet.writer.build_workbook`;
    this names the sheets in the language spoken and adds the native charts.

    Raises:
        PipesheetError: see :func:`pipesheet.writer.check_output`.
    """
    english = {sheet_name(name): name for name in report.sheets}
    sheets = {sheet_name(name): tables for name, tables in report.sheets.items()}

    def charts(ws, name: str, anchors) -> None:
        _charts(ws, english.get(name, name), anchors)

    return write_workbook(path, sheets, overwrite=force, charts=charts, inputs=inputs)


def _charts(ws, sheet_name: str, anchors) -> None:
    """Native Excel bar charts next to the main table of a few sheets (``sheet_name``: the
    sheet's English name)."""
    from openpyxl.chart import BarChart, Reference
    from openpyxl.utils import get_column_letter

    spec = {
        "Stage probabilities": ("win_probability", _("Win probability by stage"), PERCENT),
        "Forecast": ("weighted", _("Weighted forecast by period"), MONEY),
        "Waterfall": ("value", _("Pipeline waterfall"), MONEY),
    }.get(sheet_name)
    if spec is None or not anchors:
        return
    column, title, fmt = spec
    _title, header_row, frame = anchors[0]
    if column not in frame.columns or len(frame) == 0:
        return
    data = frame
    n = len(data)
    if sheet_name == "Forecast" and "period" in frame.columns:
        # the total row last (named "Total", or its translation where the engine translates it)
        n = int((~frame["period"].isin(["Total", _("Total")])).sum())
        if n == 0:
            return
    col = list(frame.columns).index(column) + 1
    chart = BarChart()
    chart.type = "col"
    chart.title = title
    chart.y_axis.numFmt = fmt
    chart.y_axis.title = heading(column).replace("_", " ")
    chart.legend = None
    values = Reference(ws, min_col=col, min_row=header_row, max_row=header_row + n)
    cats = Reference(ws, min_col=1, min_row=header_row + 1, max_row=header_row + n)
    chart.add_data(values, titles_from_data=True)
    chart.set_categories(cats)
    chart.height, chart.width = 8, 16
    ws.add_chart(chart, f"{get_column_letter(len(frame.columns) + 2)}{header_row}")
