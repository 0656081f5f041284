"""Writing the report: the sheets of a :class:`~pipesheet.report.Report` to a new workbook, with
native Excel charts next to the main tables (the layout, number formats and formula-safe text
come from the one writer, :mod:`pipesheet.writer`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipesheet.report.build import Report
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
    this adds the native charts.

    Raises:
        PipesheetError: see :func:`pipesheet.writer.check_output`.
    """
    return write_workbook(path, report.sheets, overwrite=force, charts=_charts, inputs=inputs)


def _charts(ws, sheet_name: str, anchors) -> None:
    """Native Excel bar charts next to the main table of a few sheets."""
    from openpyxl.chart import BarChart, Reference
    from openpyxl.utils import get_column_letter

    spec = {
        "Stage probabilities": ("win_probability", "Win probability by stage", PERCENT),
        "Forecast": ("weighted", "Weighted forecast by period", MONEY),
        "Waterfall": ("value", "Pipeline waterfall", MONEY),
    }.get(sheet_name)
    if spec is None or not anchors:
        return
    column, title, fmt = spec
    _, header_row, frame = anchors[0]
    if column not in frame.columns or len(frame) == 0:
        return
    data = frame
    n = len(data)
    if sheet_name == "Forecast" and "period" in frame.columns:
        n = int((frame["period"] != "Total").sum())
        if n == 0:
            return
    col = list(frame.columns).index(column) + 1
    chart = BarChart()
    chart.type = "col"
    chart.title = title
    chart.y_axis.numFmt = fmt
    chart.y_axis.title = column.replace("_", " ")
    chart.legend = None
    values = Reference(ws, min_col=col, min_row=header_row, max_row=header_row + n)
    cats = Reference(ws, min_col=1, min_row=header_row + 1, max_row=header_row + n)
    chart.add_data(values, titles_from_data=True)
    chart.set_categories(cats)
    chart.height, chart.width = 8, 16
    ws.add_chart(chart, f"{get_column_letter(len(frame.columns) + 2)}{header_row}")
