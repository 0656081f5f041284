"""Template workbooks, generated reproducibly from the bundled sample data (openpyxl).

* ``pipeline.xlsx`` — Excel Tables *Deals*, *History*, *Stages*, *Rates* and *Targets* (a stage
  drop-down on the deals' Stage column), sheets whose cells call the pipesheet Excel functions
  (:mod:`pipesheet.excel`: classic add-in, xlwings Lite or xlwings Server), and a README sheet.
* ``pipeline-native.xlsx`` — the weighted forecast, the quota gap and the reverse funnel in native
  Excel formulas only (structured references, SUMIFS, COUNTIFS, AVERAGEIFS, INDEX/MATCH, EDATE,
  ROUNDUP — present in Excel 2016 and LibreOffice 7.4), with a bar chart of the funnel. No Python
  needed to open, edit and trust it.

The deals are the bundled sample as the core reads it (:func:`pipesheet.read_deals`: amounts as
numbers, dates as dates, stage labels spelled one way). The Stages table holds the stage
probabilities and step conversions the core learns from the sample history; they are inputs the
user may overwrite.

Deterministic: the same code and data give the same bytes (fixed document timestamps, fixed zip
entry dates). Run ``python -m pipesheet.excel.templates [--out DIR]`` (default ``workbooks/``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.table import Table, TableStyleInfo

from pipesheet.periods import period_labels
from pipesheet.probabilities import StageProbabilities
from pipesheet.sample import DEAL_COLUMNS as SAMPLE_COLUMNS
from pipesheet.sample import (
    SAMPLE_LOST,
    SAMPLE_WON,
    sample_deals,
    sample_history,
    sample_rates,
)
from pipesheet.tables import read_deals, read_history
from pipesheet.waterfall import snapshot_at
from pipesheet.writer import DATE, MONEY, PERCENT, atomic_write_bytes

__all__ = [
    "FIXED_TIME",
    "FUNCTION_SETTINGS",
    "NATIVE_SETTINGS",
    "build_functions_workbook",
    "build_native_workbook",
    "main",
    "previous_snapshot",
    "sample_tables",
    "write_workbooks",
]

FIXED_TIME = dt.datetime(2026, 1, 1, 0, 0, 0)
DATE_FORMAT = DATE  # the number formats of every workbook pipesheet writes (pipesheet.writer)
HEADER_FONT = Font(bold=True)
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
#: The deals columns of the workbooks: the sample's (:data:`pipesheet.sample.DEAL_COLUMNS`)
#: without the deal name and the CRM's own probability.
DEAL_COLUMNS = tuple(c for c in SAMPLE_COLUMNS if c not in ("Deal Name", "Probability (%)"))
#: Inputs of the native workbook's Gap and Funnel sheets (the tests use the same values).
NATIVE_SETTINGS: dict[str, Any] = {
    "quota": 4_000_000,
    "period_start": dt.datetime(2026, 7, 1),
    "period_end": dt.datetime(2026, 12, 31),
    "today": dt.datetime(2026, 9, 30),  # the sample's export date (SAMPLE_AS_OF)
    "lead_to_win_rate": 0.12,
    "target": 6_000_000,
}
FORECAST_MONTHS = 18


# ---- data ---------------------------------------------------------------------------------------
def sample_tables() -> dict[str, pd.DataFrame]:
    """The sample tables as written into the workbooks: deals, history, stages, rates.

    ``stages`` has Stage, Type (Open/Won/Lost), Probability and Step Conversion, learned by the
    core from the sample history (Won = 1, Lost = 0).
    """
    raw_deals, raw_history = sample_deals(), sample_history()
    model = StageProbabilities().fit(raw_history, raw_deals)
    stages = model.stages_
    labels = np.array([*stages.open, SAMPLE_WON, SAMPLE_LOST], dtype=object)
    read = read_deals(raw_deals, stages=stages)
    field_of = {header: field for field, header in read.columns.items()}
    # the cells as the engine read them (numbers, dates, clean text), stages as the workbook
    # labels them
    deals = pd.DataFrame({h: read.frame[field_of[h]].to_numpy() for h in DEAL_COLUMNS})
    deals["Stage"] = labels[read.frame["code"].to_numpy()]
    hist = read_history(raw_history, stages=stages).frame
    history = pd.DataFrame(
        {
            "Deal ID": hist["deal_id"].to_numpy(),
            "Stage": labels[hist["code"].to_numpy()],
            "Entered Date": hist["entered_date"].to_numpy(),
        }
    )
    overall = model.overall_
    stage_table = pd.DataFrame(
        {
            "Stage": [*stages.open, SAMPLE_WON, SAMPLE_LOST],
            "Type": ["Open"] * stages.k + ["Won", "Lost"],
            "Probability": [*overall["win_probability"].round(4), 1.0, 0.0],
            "Step Conversion": [*overall["step_conversion"].round(4), None, None],
        }
    )
    rates = sample_rates()
    return {"deals": deals, "history": history, "stages": stage_table, "rates": rates}


# ---- writing helpers ----------------------------------------------------------------------------
def _py(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, (np.datetime64, pd.Timestamp)):
        return None if pd.isna(value) else pd.Timestamp(value).to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _table(ws, name: str, frame: pd.DataFrame, top: int = 1, left: int = 1, formats=None):
    """Write a frame as an Excel Table named ``name`` (header row = ``top``)."""
    formats = formats or {}
    for j, col in enumerate(frame.columns):
        c = ws.cell(top, left + j, str(col))
        c.font = HEADER_FONT
    values = frame.astype(object).to_numpy()
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            c = ws.cell(top + 1 + i, left + j, _py(v))
            fmt = formats.get(frame.columns[j])
            if fmt:
                c.number_format = fmt
    ref = (
        f"{get_column_letter(left)}{top}:"
        f"{get_column_letter(left + len(frame.columns) - 1)}{top + max(len(frame), 1)}"
    )
    table = Table(displayName=name, ref=ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(table)
    for j, col in enumerate(frame.columns):
        ws.column_dimensions[get_column_letter(left + j)].width = max(12, len(str(col)) + 4)
    return table


def _add_formula_column(ws, table: Table, header: str, formula: str, n: int, fmt=None) -> None:
    """Append a calculated column to a table (``formula`` uses ``{t}`` for the table name)."""
    first, last = table.ref.split(":")
    col_letter = re.match(r"[A-Z]+", last).group()
    top = int(re.search(r"\d+", first).group())
    from openpyxl.utils import column_index_from_string

    col = column_index_from_string(col_letter) + 1
    ws.cell(top, col, header).font = HEADER_FONT
    text = "=" + formula.format(t=table.displayName)
    for r in range(top + 1, top + 1 + n):
        c = ws.cell(r, col, text)
        if fmt:
            c.number_format = fmt
    table.ref = f"{first}:{get_column_letter(col)}{top + n}"
    table.tableColumns = []  # rebuilt from the header cells on save
    table._initialise_columns()
    ws.column_dimensions[get_column_letter(col)].width = max(12, len(header) + 4)


def _this(col: str, t: str = "{t}") -> str:
    return f"{t}[[#This Row],[{col}]]"


def _label(ws, cell: str, text: str, bold: bool = False) -> None:
    ws[cell] = text
    if bold:
        ws[cell].font = HEADER_FONT


def _input(ws, cell: str, value: Any, fmt: str | None = None) -> None:
    ws[cell] = value
    ws[cell].fill = INPUT_FILL
    if fmt:
        ws[cell].number_format = fmt


def _readme(ws, title: str, lines: Sequence[tuple[str, str]]) -> None:
    ws["A1"] = title
    ws["A1"].font = Font(bold=True, size=14)
    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 110
    for i, (what, text) in enumerate(lines, start=3):
        ws.cell(i, 1, what).font = HEADER_FONT
        ws.cell(i, 2, text)


# ---- pipeline-native.xlsx -----------------------------------------------------------------------
def build_native_workbook(tables: dict[str, pd.DataFrame] | None = None) -> Workbook:
    """The native-formula workbook (no Python): forecast, quota gap, reverse funnel, chart."""
    tables = tables or sample_tables()
    deals, stages, rates = tables["deals"], tables["stages"], tables["rates"]
    wb = Workbook()
    _native_readme(wb)
    _native_deals(wb, deals)
    _native_inputs(wb, stages, rates)
    _native_forecast(wb, deals, stages, NATIVE_SETTINGS)
    _native_gap(wb, NATIVE_SETTINGS)
    _native_funnel(wb, stages, NATIVE_SETTINGS)
    wb.calculation.fullCalcOnLoad = True
    return wb


def _native_readme(wb: Workbook) -> None:
    """The README sheet: what each sheet computes, in words."""
    readme = wb.active
    readme.title = "README"
    _readme(
        readme,
        "pipesheet — pipeline workbook in native Excel formulas",
        [
            (
                "What this is",
                "A weighted forecast, quota gap and reverse funnel computed with "
                "ordinary formulas (SUMIFS, COUNTIFS, INDEX/MATCH): no add-in, no macros.",
            ),
            (
                "Deals",
                "One row per deal. Edit or paste your own rows; the grey columns to the "
                "right are formulas that extend with the table.",
            ),
            (
                "Stages",
                "Every stage with its Type (Open, Won, Lost), its win Probability "
                "p = won / (won + lost) among closed deals that reached it (learned by pipesheet "
                "from the sample history — overwrite with your own) and its Step Conversion to the "
                "next stage.",
            ),
            ("Rates", "Reporting-currency units per unit of each currency (EUR = 1)."),
            (
                "Forecast",
                "Weighted forecast by month of expected close: Σ amount × p over open "
                "deals; std dev = √Σ amount² · p(1 − p). Change the first month in B3.",
            ),
            (
                "Gap",
                "Quota gap = quota − closed in the period − weighted open pipeline in the "
                "period; new won deals = ⌈gap / average won deal⌉; new leads = ⌈won / lead-to-win "
                "rate⌉; paced per week over (period end − today − average cycle) / 7.",
            ),
            (
                "Funnel",
                "Reverse funnel: won deals needed = ⌈target / average deal⌉; deals "
                "needed at a stage = ⌈won needed / conversion from that stage to Won⌉.",
            ),
            ("Yellow cells", "Inputs. Everything else is calculated."),
        ],
    )


def _native_deals(wb: Workbook, deals: pd.DataFrame) -> None:
    """The Deals table with its calculated columns (stage type, probability, reporting amount,
    weighted, variance, close month, closed on, cycle days)."""
    ws = wb.create_sheet("Deals")
    dates = {c: DATE_FORMAT for c in ("Expected Close Date", "Created Date", "Closed Date")}
    t = _table(ws, "Deals", deals, formats={"Amount": MONEY, **dates})
    n = len(deals)
    look = "INDEX(Stages[{col}],MATCH(" + _this("Stage") + ",Stages[Stage],0))"
    _add_formula_column(ws, t, "Stage Type", look.replace("{col}", "Type"), n)
    _add_formula_column(ws, t, "Win Probability", look.replace("{col}", "Probability"), n, PERCENT)
    _add_formula_column(
        ws,
        t,
        "Reporting Amount",
        _this("Amount") + "*INDEX(Rates[Rate],MATCH(" + _this("Currency") + ",Rates[Currency],0))",
        n,
        MONEY,
    )
    is_open = _this("Stage Type") + '="Open"'
    amount, p = _this("Reporting Amount"), _this("Win Probability")
    _add_formula_column(ws, t, "Weighted", f"IF({is_open},{amount}*{p},0)", n, MONEY)
    _add_formula_column(ws, t, "Variance", f"IF({is_open},{amount}^2*{p}*(1-{p}),0)", n, MONEY)
    close = _this("Expected Close Date")
    _add_formula_column(
        ws, t, "Close Month", f'IF({close}="",0,YEAR({close})*100+MONTH({close}))', n
    )
    closed = _this("Closed Date")
    _add_formula_column(ws, t, "Closed On", f'IF({closed}="",{close},{closed})', n, DATE_FORMAT)
    created = _this("Created Date")
    _add_formula_column(
        ws,
        t,
        "Cycle Days",
        f'IF(AND({_this("Stage Type")}="Won",{created}<>""),{_this("Closed On")}-{created},"")',
        n,
    )
    ws.freeze_panes = "B2"


def _native_inputs(wb: Workbook, stages: pd.DataFrame, rates: pd.DataFrame) -> None:
    """The Stages (probabilities and conversions: inputs) and Rates tables."""
    ws = wb.create_sheet("Stages")
    _table(ws, "Stages", stages, formats={"Probability": PERCENT, "Step Conversion": PERCENT})
    for r in range(2, 2 + len(stages)):
        for col in "CD":
            ws[f"{col}{r}"].fill = INPUT_FILL
    ws = wb.create_sheet("Rates")
    _table(ws, "Rates", rates)


def _native_forecast(wb: Workbook, deals: pd.DataFrame, stages: pd.DataFrame, s: dict) -> None:
    """The weighted forecast by month of expected close (SUMIFS over the Deals table)."""
    ws = wb.create_sheet("Forecast")
    _label(ws, "A1", "Weighted forecast of open deals by month of expected close", True)
    _label(ws, "A3", "First month")
    open_close = deals.loc[
        deals["Stage"].isin(stages.loc[stages["Type"] == "Open", "Stage"]), "Expected Close Date"
    ]
    start = open_close.min() if open_close.notna().any() else s["today"]
    first = pd.Timestamp(start).to_period("M").to_timestamp().to_pydatetime()
    _input(ws, "B3", first, "yyyy-mm")
    heads = ["Month", "Key", "Deals", "Pipeline", "Weighted", "Std Dev"]
    for j, h in enumerate(heads):
        ws.cell(5, 1 + j, h).font = HEADER_FONT
    for i in range(FORECAST_MONTHS):
        r = 6 + i
        ws[f"A{r}"] = f"=EDATE($B$3,{i})"
        ws[f"A{r}"].number_format = "yyyy-mm"
        ws[f"B{r}"] = f"=YEAR(A{r})*100+MONTH(A{r})"
        _forecast_sums(ws, r, f'Deals[Close Month],B{r},Deals[Stage Type],"Open"')
    r = 6 + FORECAST_MONTHS
    ws[f"A{r}"] = "(no close date)"
    ws[f"B{r}"] = 0
    _forecast_sums(ws, r, f'Deals[Close Month],B{r},Deals[Stage Type],"Open"')
    r += 1
    ws[f"A{r}"] = "Total (all open deals)"
    ws[f"A{r}"].font = HEADER_FONT
    _forecast_sums(ws, r, 'Deals[Stage Type],"Open"')
    for row in ws.iter_rows(min_row=6, max_row=r, min_col=4, max_col=6):
        for c in row:
            c.number_format = MONEY
    for col, w in zip("ABCDEF", (24, 10, 8, 14, 14, 14), strict=True):
        ws.column_dimensions[col].width = w


def _forecast_sums(ws, r: int, criteria: str) -> None:
    """Row ``r`` of the forecast: deals, pipeline, weighted and std dev of the open deals that
    meet ``criteria``."""
    ws[f"C{r}"] = f"=COUNTIFS({criteria})"
    ws[f"D{r}"] = f"=SUMIFS(Deals[Reporting Amount],{criteria})"
    ws[f"E{r}"] = f"=SUMIFS(Deals[Weighted],{criteria})"
    ws[f"F{r}"] = f"=SQRT(SUMIFS(Deals[Variance],{criteria}))"


def _native_gap(wb: Workbook, s: dict) -> None:
    """The quota gap of a period (inputs in yellow)."""
    ws = wb.create_sheet("Gap")
    _label(ws, "A1", "Quota gap for a period", True)
    rows = [
        ("Quota", "input", s["quota"], MONEY),
        ("Period start", "input", s["period_start"], DATE_FORMAT),
        ("Period end", "input", s["period_end"], DATE_FORMAT),
        ("Today", "input", s["today"], DATE_FORMAT),
        ("Lead-to-win rate", "input", s["lead_to_win_rate"], PERCENT),
        (
            "Closed in period",
            '=SUMIFS(Deals[Reporting Amount],Deals[Stage Type],"Won",'
            'Deals[Closed On],">="&B4,Deals[Closed On],"<="&B5)',
            None,
            MONEY,
        ),
        (
            "Expected from open deals",
            '=SUMIFS(Deals[Weighted],Deals[Stage Type],"Open",'
            'Deals[Expected Close Date],">="&B4,Deals[Expected Close Date],"<="&B5)',
            None,
            MONEY,
        ),
        (
            "Open pipeline in period",
            '=SUMIFS(Deals[Reporting Amount],Deals[Stage Type],"Open",'
            'Deals[Expected Close Date],">="&B4,Deals[Expected Close Date],"<="&B5)',
            None,
            MONEY,
        ),
        (
            "Average won deal",
            '=AVERAGEIFS(Deals[Reporting Amount],Deals[Stage Type],"Won")',
            None,
            MONEY,
        ),
        (
            "Average cycle (days)",
            '=AVERAGEIFS(Deals[Cycle Days],Deals[Stage Type],"Won")',
            None,
            "0.0",
        ),
        ("Gap", "=B3-B8-B9", None, MONEY),
        ("New revenue needed", "=MAX(B13,0)", None, MONEY),
        ("New won deals", "=ROUNDUP(ROUND(B14/B11,9),0)", None, "0"),
        ("New leads", "=ROUNDUP(ROUND(B15/B7,9),0)", None, "0"),
        ("Selling weeks", "=(B5-B6-B12)/7", None, "0.0"),
        ("Leads per week", '=IF(B16=0,0,IF(B17<=0,"infinite",B16/B17))', None, "0.0"),
        ("Coverage", '=IF(B3-B8<=0,"infinite",B10/(B3-B8))', None, "0.00"),
    ]
    for i, (name, kind, value, fmt) in enumerate(rows, start=3):
        ws.cell(i, 1, name)
        if kind == "input":
            _input(ws, f"B{i}", value, fmt)
        else:
            ws.cell(i, 2, kind).number_format = fmt
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 16


def _native_funnel(wb: Workbook, stages: pd.DataFrame, s: dict) -> None:
    """The reverse funnel for a target, with its bar chart."""
    ws = wb.create_sheet("Funnel")
    _label(ws, "A1", "Reverse funnel: deals needed at each stage to reach a target", True)
    ws["A3"] = "Target"
    _input(ws, "B3", s["target"], MONEY)
    ws["A4"] = "Average won deal"
    ws["B4"] = "=Gap!B11"
    ws["B4"].number_format = MONEY
    ws["A5"] = "Won deals needed"
    ws["B5"] = "=ROUNDUP(ROUND(B3/B4,9),0)"
    for j, h in enumerate(["Stage", "Conversion to next", "Conversion to Won", "Deals needed"]):
        ws.cell(7, 1 + j, h).font = HEADER_FONT
    k = int((stages["Type"] == "Open").sum())
    for i in range(k):
        r = 8 + i
        ws[f"A{r}"] = f"=INDEX(Stages[Stage],{i + 1})"
        ws[f"B{r}"] = f"=INDEX(Stages[Step Conversion],{i + 1})"
        ws[f"C{r}"] = f"=B{r}" if i == k - 1 else f"=B{r}*C{r + 1}"
        ws[f"D{r}"] = f"=ROUNDUP(ROUND($B$5/C{r},9),0)"
        ws[f"B{r}"].number_format = ws[f"C{r}"].number_format = PERCENT
    r = 8 + k
    ws[f"A{r}"] = "Won"
    ws[f"C{r}"] = 1
    ws[f"C{r}"].number_format = PERCENT
    ws[f"D{r}"] = "=B5"
    for col, w in zip("ABCD", (22, 20, 20, 14), strict=True):
        ws.column_dimensions[col].width = w
    chart = BarChart()
    chart.type = "bar"
    chart.title = "Deals needed per stage"
    chart.y_axis.title = "Deals"
    chart.legend = None
    chart.add_data(Reference(ws, min_col=4, min_row=7, max_row=r), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=8, max_row=r))
    chart.x_axis.scaling.orientation = "maxMin"  # first stage on top: a funnel
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    ws.add_chart(chart, "F3")


# ---- pipeline.xlsx ------------------------------------------------------------------------------
#: (sheet, cell, formula) of every pipesheet function call in pipeline.xlsx.
FUNCTION_CELLS: tuple[tuple[str, str, str], ...] = (
    ("Probabilities", "A3", "=PIPE_STAGE_PROBABILITIES(History[#All],Deals[#All])"),
    ("Probabilities", "M3", '=PIPE_STAGE_PROBABILITY("Proposal",History[#All],Deals[#All])'),
    ("Forecast", "A3", '=PIPE_WEIGHTED_FORECAST(Deals[#All],Stages[#All],"month",,Rates[#All])'),
    (
        "Forecast",
        "H3",
        '=PIPE_WEIGHTED_FORECAST(Deals[#All],Stages[#All],"quarter","Owner",Rates[#All],,,,TRUE)',
    ),
    ("Forecast", "H1", "=PIPE_FORECAST_TOTAL(Deals[#All],Stages[#All],Rates[#All])"),
    ("Range", "A3", "=PIPE_FORECAST_RANGE(Deals[#All],Stages[#All],Targets!B2,Rates[#All])"),
    ("Range", "D3", "=PIPE_FORECAST_CATEGORIES(Deals[#All],Rates[#All])"),
    (
        "Gap",
        "A3",
        "=PIPE_PIPELINE_POSITION(Deals[#All],Stages[#All],Targets!B3,Targets!B4,Rates[#All])",
    ),
    ("Gap", "D3", "=PIPE_QUOTA_GAP(Targets!B2,B4,B5,B8,Targets!B6,B6,Targets!B5,Targets!B4,B10)"),
    ("Gap", "G3", "=PIPE_COVERAGE(B6,Targets!B2,B4)"),
    ("Gap", "G4", "=PIPE_VELOCITY(B7,B9,B8,B10)"),
    (
        "Plan",
        "A3",
        "=PIPE_LEADS_NEEDED(Targets!B7,Gap!B8,PIPE_STAGE_PROBABILITIES(History[#All],Deals[#All]))",
    ),
    ("Presets", "A3", '=PIPE_PRESET("salesforce")'),
    ("Presets", "D3", '=PIPE_PRESET("hubspot")'),
    ("Presets", "G3", '=PIPE_PRESET("suitecrm")'),
    (
        "Time-aware",
        "A3",
        "=PIPE_TIME_AWARE_FORECAST(History[#All],Deals[#All],Targets!B4,Targets!B5,Targets!B2,"
        "Rates[#All])",
    ),
    (
        "Time-aware",
        "A7",
        "=PIPE_TIME_AWARE_FORECAST(History[#All],Deals[#All],Targets!B4,Targets!B5,,Rates[#All],,,"
        '"stages")',
    ),
    (
        "Time-aware",
        "A14",
        "=PIPE_CALIBRATED_FORECAST(History[#All],Deals[#All],Targets!B4,Targets!B5,Targets!B2,"
        "Rates[#All])",
    ),
    (
        "Backtest",
        "A3",
        '=PIPE_BACKTEST(History[#All],Deals[#All],Targets!B8,6,"month",,,Rates[#All])',
    ),
    (
        "Backtest",
        "A8",
        '=PIPE_BACKTEST(History[#All],Deals[#All],Targets!B8,6,"month","periods",,Rates[#All])',
    ),
    ("Backtest", "A17", "=PIPE_CALIBRATION(History[#All],Targets!B9,Deals[#All])"),
    ("Backtest", "K17", '=PIPE_CALIBRATION(History[#All],Targets!B9,Deals[#All],"summary")'),
    (
        "Waterfall",
        "A3",
        "=PIPE_WATERFALL(Previous[#All],Deals[#All],Targets!B3,Targets!B4,,Rates[#All])",
    ),
    (
        "Waterfall",
        "H3",
        "=PIPE_WATERFALL_HISTORY(History[#All],Targets!B10,Targets!B5,Deals[#All],Targets!B3,"
        "Targets!B4,,Rates[#All])",
    ),
    (
        "Quota table",
        "A3",
        '=PIPE_QUOTA_TABLE(Deals[#All],Stages[#All],Quotas[#All],"Owner",Teams[#All],Targets!B5,'
        "Rates[#All])",
    ),
    (
        "Scenarios",
        "A3",
        '=PIPE_SCENARIO(Deals[#All],Stages[#All],"drop-largest 3",Targets!B2,Targets!B3,'
        "Targets!B4,Targets!B5,Rates[#All])",
    ),
    (
        "Scenarios",
        "F3",
        '=PIPE_SCENARIO(Deals[#All],Stages[#All],"slip 30",Targets!B2,Targets!B3,Targets!B4,'
        "Targets!B5,Rates[#All])",
    ),
    ("Health", "A3", "=PIPE_STALE_DEALS(History[#All],Deals[#All],,,TRUE,25)"),
    ("Health", "L3", "=PIPE_BOTTLENECKS(History[#All])"),
    ("Health", "L10", "=PIPE_CYCLE_TIME(History[#All],Deals[#All])"),
    ("Health", "L15", "=PIPE_STAGE_DESIGN(History[#All],Deals[#All])"),
    (
        "Balance",
        "A3",
        "=PIPE_BALANCE(Deals[#All],History[#All],Targets!B2,Targets!B3,Targets!B4,Targets!B5,,"
        "Rates[#All])",
    ),
    (
        "Pipelines",
        "A3",
        "=PIPE_PIPELINES(Deals[#All],PIPE_STAGE_PROBABILITIES(History[#All],Deals[#All]),"
        "Targets!B2,Rates[#All])",
    ),
    ("Pipelines", "A7", "=PIPE_COMMITS(Deals[#All],Commits[#All],History[#All],,,,,,Rates[#All])"),
    (
        "Pipelines",
        "A40",
        '=PIPE_COMMITS(Deals[#All],Commits[#All],History[#All],,,,,,Rates[#All],,,"summary")',
    ),
    ("Pipelines", "A47", "=PIPE_LOSSES(Deals[#All],History[#All],,,,,Rates[#All])"),
)
#: Extra inputs of pipeline.xlsx's Targets table (after those of :data:`NATIVE_SETTINGS`).
FUNCTION_SETTINGS: dict[str, Any] = {
    "backtest_from": dt.datetime(2026, 4, 1),
    "calibration_as_of": dt.datetime(2026, 3, 31),
    "snapshot_date": dt.datetime(2026, 6, 30),
}


def previous_snapshot(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The deals as they were on ``FUNCTION_SETTINGS["snapshot_date"]``, rebuilt from the sample
    history by :func:`pipesheet.waterfall.snapshot_at` (amounts and close dates as recorded now:
    the sample history has none)."""
    snap = snapshot_at(tables["history"], FUNCTION_SETTINGS["snapshot_date"], tables["deals"])
    return pd.DataFrame(
        {
            "Deal ID": snap["deal_id"].to_numpy(),
            "Stage": snap["stage"].to_numpy(),
            "Amount": snap["amount"].to_numpy(dtype=float),
            "Currency": snap["currency"].to_numpy(),
            "Expected Close Date": snap["close_date"].to_numpy(),
            "Owner": snap["owner"].to_numpy(),
        }
    ).sort_values("Deal ID", ignore_index=True)


def _quota_tables(deals: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """pipeline.xlsx's *Quotas* (the quota split evenly over the owners for the period of
    :data:`NATIVE_SETTINGS`) and *Teams* (owners alternately in two teams of one region)."""
    owners = sorted(deals["Owner"].dropna().unique())
    label = "2026-H2"  # NATIVE_SETTINGS' period: 2026-07-01 to 2026-12-31
    quotas = pd.DataFrame(
        {"Owner": owners, "Period": label, "Quota": NATIVE_SETTINGS["quota"] / len(owners)}
    )
    teams = pd.DataFrame(
        {
            "Owner": owners,
            "Team": ["North" if i % 2 == 0 else "South" for i in range(len(owners))],
            "Region": "EU",
        }
    )
    return quotas, teams


def sample_commits(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """An illustrative commits table for the sample's owners (Owner, Quarter, Commit): a manager
    who commits each owner to what they won (EUR) the quarter before, rounded to thousands —
    2026-Q2, 2026-Q3 and 2026-Q4."""
    deals = tables["deals"]
    rate = deals["Currency"].map(tables["rates"].set_index("Currency")["Rate"]).astype(float)
    won = deals["Stage"] == SAMPLE_WON
    quarter = period_labels(pd.to_datetime(deals["Closed Date"]), "quarter")
    amount = (deals["Amount"].astype(float) * rate)[won]
    by = amount.groupby([deals["Owner"][won], quarter[won]]).sum()
    rows = []
    for owner in sorted(deals["Owner"].dropna().unique()):
        before = ("2026-Q1", "2026-Q2", "2026-Q3")
        for label, last in zip(("2026-Q2", "2026-Q3", "2026-Q4"), before, strict=True):
            rows.append((owner, label, round(float(by.get((owner, last), 0.0)), -3)))
    return pd.DataFrame(rows, columns=["Owner", "Quarter", "Commit"])


def build_functions_workbook(tables: dict[str, pd.DataFrame] | None = None) -> Workbook:
    """The workbook whose cells call the pipesheet Excel functions."""
    tables = tables or sample_tables()
    s = NATIVE_SETTINGS
    wb = Workbook()
    readme = wb.active
    readme.title = "README"
    _readme(
        readme,
        "pipesheet — pipeline workbook with the PIPE_ functions",
        [
            (
                "Needs",
                "The pipesheet functions through xlwings: the classic add-in (Windows), "
                "xlwings Lite or xlwings Server — see docs/excel.md. Without them the formula "
                "cells show #NAME?.",
            ),
            (
                "Deals",
                "One row per deal: Deal ID, Stage (pick from the drop-down: the stages of "
                "the Stages table), Amount, Currency, Expected Close Date, Owner, Product Line, "
                "Country, Segment, Forecast Category, Created Date, Closed Date.",
            ),
            (
                "History",
                "One row per stage a deal entered: Deal ID, Stage, Entered Date. The "
                "stage probabilities are learned from it.",
            ),
            (
                "Stages",
                "Stage, Type (Open/Won/Lost), Probability and Step Conversion, learned "
                "from the sample history. PIPE_WEIGHTED_FORECAST uses the Probability column; "
                "overwrite it, or pass PIPE_STAGE_PROBABILITIES(...) instead.",
            ),
            ("Rates", "Reporting-currency units per unit of each currency (EUR = 1)."),
            (
                "Targets",
                "Quota, period, today, lead-to-win rate and revenue target used by the "
                "Range, Gap and Plan sheets.",
            ),
            ("Probabilities", "=PIPE_STAGE_PROBABILITIES(History[#All],Deals[#All])"),
            ("Forecast", "Weighted forecast by month, by quarter and owner, and the total."),
            (
                "Range",
                "P10/P50/P90 of the open pipeline and P(total ≥ quota); forecast categories.",
            ),
            ("Gap", "Where the period stands (PIPE_PIPELINE_POSITION) and the quota gap."),
            ("Plan", "Reverse funnel for the target with the learned step conversions."),
            ("Presets", "CRM default stage probabilities (Salesforce, HubSpot, SuiteCRM)."),
            (
                "Time-aware",
                "Forecast of the rest of the period from P(won by the period end | stage, days "
                "in stage), with its range; per stage below; the calibrated forecast (corrected "
                "by its own past errors, with its range) from A14.",
            ),
            (
                "Backtest",
                "Time-aware, weighted-pipeline and calibrated forecasts of past months (MAPE, "
                "bias, P10–P90 coverage, per month with the recommended one) and the "
                "calibration of the stage probabilities (Brier score and skill).",
            ),
            (
                "Previous",
                "The deals as they were on the snapshot date (rebuilt from the history): paste "
                "an earlier export here to reconcile against it.",
            ),
            (
                "Waterfall",
                "How the period's pipeline moved from the Previous snapshot to Deals, and "
                "between two dates of the history.",
            ),
            (
                "Health",
                "Stale deals (top 25), bottleneck stages, cycle times and the stage design check.",
            ),
            (
                "Balance",
                "The open deals each stage should hold for the quota's pace over the period "
                "(Little's law) against what it holds: thin / bloated, what to do.",
            ),
            (
                "Quotas",
                "A quota per owner and period (Quotas) and the team hierarchy, finest level "
                "first (Teams): edit both.",
            ),
            (
                "Quota table",
                "Each owner's quota, closed, expected, gap, coverage, P(≥ quota) and leads per "
                "week, rolled up to the teams and the region by exact sums.",
            ),
            (
                "Scenarios",
                "What if the 3 largest deals are lost (A3), or every close date slips 30 days "
                "(F3): forecast, range and P(≥ quota) before and after.",
            ),
            (
                "Pipelines",
                "Per pipeline and in total (add a Pipeline column to Deals for several "
                "pipelines); the Commits table (a manager's number per owner and quarter — "
                "illustrative: what each owner won the quarter before) beside the system "
                "forecast and the actual, and who forecasts better; lost deals by reason (add "
                "a Loss Reason column to Deals).",
            ),
        ],
    )
    dates = {c: DATE_FORMAT for c in ("Expected Close Date", "Created Date", "Closed Date")}
    ws = wb.create_sheet("Deals")
    deals = tables["deals"]
    _table(ws, "Deals", deals, formats={"Amount": MONEY, **dates})
    ws.freeze_panes = "B2"
    ws = wb.create_sheet("History")
    _table(ws, "History", tables["history"], formats={"Entered Date": DATE_FORMAT})
    ws = wb.create_sheet("Stages")
    stages = tables["stages"]
    _table(ws, "Stages", stages, formats={"Probability": PERCENT, "Step Conversion": PERCENT})
    ws = wb.create_sheet("Rates")
    _table(ws, "Rates", tables["rates"])
    ws = wb.create_sheet("Targets")
    targets = pd.DataFrame(
        {
            "Setting": [
                "Quota",
                "Period start",
                "Period end",
                "Today",
                "Lead-to-win rate",
                "Revenue target",
                "Backtest from",
                "Calibration as of",
                "Snapshot date",
            ],
            "Value": [
                s["quota"],
                s["period_start"],
                s["period_end"],
                s["today"],
                s["lead_to_win_rate"],
                s["target"],
                FUNCTION_SETTINGS["backtest_from"],
                FUNCTION_SETTINGS["calibration_as_of"],
                FUNCTION_SETTINGS["snapshot_date"],
            ],
        }
    )
    _table(ws, "Targets", targets)
    formats = (MONEY, DATE_FORMAT, DATE_FORMAT, DATE_FORMAT, PERCENT, MONEY, *[DATE_FORMAT] * 3)
    for r, fmt in zip(range(2, 11), formats, strict=True):
        ws[f"B{r}"].number_format = fmt
        ws[f"B{r}"].fill = INPUT_FILL
    # stage drop-down on Deals[Stage]
    wb.defined_names["StageNames"] = DefinedName(
        "StageNames", attr_text=f"Stages!$A$2:$A${1 + len(stages)}"
    )
    dv = DataValidation(type="list", formula1="StageNames", allow_blank=False)
    dv.error = "Pick a stage from the Stages table."
    dv.errorTitle = "Unknown stage"
    dv.showErrorMessage = True
    wb["Deals"].add_data_validation(dv)
    dv.add(f"B2:B{1 + len(deals)}")
    ws = wb.create_sheet("Previous")
    _table(
        ws,
        "Previous",
        previous_snapshot(tables),
        formats={"Amount": MONEY, "Expected Close Date": DATE_FORMAT},
    )
    ws.freeze_panes = "B2"
    ws = wb.create_sheet("Quotas")
    quotas, teams = _quota_tables(deals)
    _table(ws, "Quotas", quotas, formats={"Quota": MONEY})
    _table(ws, "Teams", teams, left=5)
    sheets = ("Probabilities", "Forecast", "Range", "Gap", "Plan", "Presets")
    later = (
        "Time-aware",
        "Backtest",
        "Waterfall",
        "Health",
        "Balance",
        "Quota table",
        "Scenarios",
        "Pipelines",
    )
    for sheet in (*sheets, *later):
        ws = wb.create_sheet(sheet)
    commits = sample_commits(tables)
    _table(wb["Pipelines"], "Commits", commits, top=3, left=16, formats={"Commit": MONEY})
    titles = {
        "Probabilities": "Stage probabilities learned from the history",
        "Forecast": "Weighted forecast (total in H1)",
        "Range": "Forecast range and forecast categories",
        "Gap": "Pipeline position, quota gap, coverage (G3) and velocity (G4)",
        "Plan": "Reverse funnel for the revenue target",
        "Presets": "CRM default stage probabilities",
        "Time-aware": "Time-aware forecast to the period end (per stage from A7; calibrated "
        "forecast from A14)",
        "Backtest": "Backtest of the last 6 months (per month from A8); calibration from A17",
        "Waterfall": "Pipeline waterfall: Previous → Deals (A3), history dates (H3)",
        "Health": "Stale deals (A3), bottlenecks (L3), cycle time (L10), stage design (L15)",
        "Balance": "Pipeline balance for the quota over the period, as of today",
        "Quota table": "Quotas per owner, rolled up to the teams and the region",
        "Scenarios": "What if: the 3 largest deals lost (A3); close dates slip 30 days (F3)",
        "Pipelines": "Pipelines (A3), commits vs system vs actual (A7, who is better A40), lost "
        "deals by reason (A47); the Commits table (P3)",
    }
    for sheet, title in titles.items():
        _label(wb[sheet], "A1", title, True)
    _label(wb["Probabilities"], "L3", "P(win | Proposal)", True)
    for sheet, cell, formula in FUNCTION_CELLS:
        wb[sheet][cell] = ArrayFormula(cell, formula)
    wb.calculation.fullCalcOnLoad = True
    return wb


# ---- deterministic saving -----------------------------------------------------------------------
_METADATA = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<metadata xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:xda="http://schemas.microsoft.com/office/spreadsheetml/2017/dynamicarray">'
    '<metadataTypes count="1"><metadataType name="XLDAPR" minSupportedVersion="120000" '
    'copy="1" pasteAll="1" pasteValues="1" merge="1" splitFirst="1" rowColShift="1" '
    'clearFormats="1" clearComments="1" assign="1" coerce="1" cellMeta="1"/></metadataTypes>'
    '<futureMetadata name="XLDAPR" count="1"><bk><extLst>'
    '<ext uri="{bdbb8cdc-fa1e-496e-a857-3c3f30c029c3}">'
    '<xda:dynamicArrayProperties fDynamic="1" fCollapsed="0"/></ext></extLst></bk>'
    '</futureMetadata><cellMetadata count="1"><bk><rc t="1" v="0"/></bk></cellMetadata>'
    "</metadata>"
)


def _dynamic_arrays(files: dict[str, bytes]) -> None:
    """Mark single-cell array formulas as dynamic arrays (Excel 365 spills them instead of
    showing ``=@F(...)``): cell attribute ``cm="1"`` pointing at an XLDAPR metadata record."""
    marked = False
    for name in list(files):
        if not re.fullmatch(r"xl/worksheets/sheet\d+\.xml", name):
            continue
        xml = files[name].decode("utf-8")
        new = re.sub(
            r'<c r="([A-Z]+\d+)"([^>]*)><f t="array" ref="\1"',
            r'<c r="\1"\2 cm="1"><f t="array" ref="\1"',
            xml,
        )
        if new != xml:
            files[name] = new.encode("utf-8")
            marked = True
    if not marked:
        return
    files["xl/metadata.xml"] = _METADATA.encode("utf-8")
    ct = files["[Content_Types].xml"].decode("utf-8")
    ct = ct.replace(
        "</Types>",
        '<Override PartName="/xl/metadata.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheetMetadata+xml"/></Types>',
    )
    files["[Content_Types].xml"] = ct.encode("utf-8")
    rels = files["xl/_rels/workbook.xml.rels"].decode("utf-8")
    rels = rels.replace(
        "</Relationships>",
        '<Relationship Id="rIdMeta1" Type="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships/sheetMetadata" Target="metadata.xml"/></Relationships>',
    )
    files["xl/_rels/workbook.xml.rels"] = rels.encode("utf-8")


def save_deterministic(wb: Workbook, path: str | Path) -> None:
    """Save with fixed timestamps so two runs give the same bytes."""
    wb.properties.creator = "pipesheet"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    wb.properties.lastModifiedBy = "pipesheet"
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zin:
        names = zin.namelist()
        files = {n: zin.read(n) for n in names}
    core = files.get("docProps/core.xml")
    if core is not None:  # openpyxl stamps "modified" with the current time on save
        stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
        files["docProps/core.xml"] = re.sub(
            rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
            rb"\g<1>" + stamp.encode() + rb"\g<2>",
            core,
        )
    _dynamic_arrays(files)
    if "xl/metadata.xml" in files and "xl/metadata.xml" not in names:
        names.append("xl/metadata.xml")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for n in names:
            info = zipfile.ZipInfo(n, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zout.writestr(info, files[n])
    atomic_write_bytes(path, out.getvalue())


def write_workbooks(directory: str | Path = "workbooks") -> list[Path]:
    """Write ``pipeline.xlsx`` and ``pipeline-native.xlsx`` into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tables = sample_tables()
    paths = [directory / "pipeline.xlsx", directory / "pipeline-native.xlsx"]
    save_deterministic(build_functions_workbook(tables), paths[0])
    save_deterministic(build_native_workbook(tables), paths[1])
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pipesheet.excel.templates [--out DIR]``."""
    parser = argparse.ArgumentParser(
        prog="python -m pipesheet.excel.templates", description=__doc__
    )
    parser.add_argument("--out", default="workbooks", help="output folder (default: workbooks)")
    args = parser.parse_args(argv)
    for path in write_workbooks(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
