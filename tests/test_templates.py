"""Template workbooks: deterministic, up to date, well-formed; the native one recalculated by
LibreOffice gives the Python engine's numbers."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from pipesheet import leads_needed, pipeline_position, quota_gap, weighted_forecast
from pipesheet.excel.convert import stage_list_from_range
from pipesheet.excel.templates import (
    FUNCTION_CELLS,
    NATIVE_SETTINGS,
    build_native_workbook,
    sample_tables,
    write_workbooks,
)

sys.path.insert(0, str(Path(__file__).parent))
from conftest import require_tool
from libreoffice import recalculate

ROOT = Path(__file__).resolve().parents[1]
CHECKED_IN = ROOT / "workbooks"
NAMES = ("pipeline.xlsx", "pipeline-native.xlsx")
#: Functions present in both Excel 2016 and LibreOffice 7.4 that the native workbook may use.
ALLOWED = {
    "INDEX",
    "MATCH",
    "IF",
    "YEAR",
    "MONTH",
    "AND",
    "SUMIFS",
    "COUNTIFS",
    "AVERAGEIFS",
    "SQRT",
    "EDATE",
    "ROUNDUP",
    "ROUND",
    "MAX",
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("workbooks")
    write_workbooks(out)
    return out


def _content(path: Path) -> dict:
    """Everything a user sees: cell values and formulas, tables, names, validations, charts."""
    wb = openpyxl.load_workbook(path)
    out: dict = {"sheets": wb.sheetnames, "names": sorted(wb.defined_names)}
    for ws in wb.worksheets:
        cells = {}
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                if v is not None:
                    cells[c.coordinate] = getattr(v, "text", v)
        out[ws.title] = {
            "cells": cells,
            "tables": {t.name: t.ref for t in ws.tables.values()},
            "validations": [
                (dv.formula1, str(dv.sqref)) for dv in ws.data_validations.dataValidation
            ],
            "charts": len(ws._charts),
        }
    return out


def test_generator_is_deterministic(generated, tmp_path):
    write_workbooks(tmp_path)
    for name in NAMES:
        assert (tmp_path / name).read_bytes() == (generated / name).read_bytes(), name


def test_checked_in_workbooks_are_up_to_date(generated):
    for name in NAMES:
        assert (CHECKED_IN / name).exists(), f"workbooks/{name} is missing"
        assert _content(CHECKED_IN / name) == _content(generated / name), (
            f"workbooks/{name} is stale: run python -m pipesheet.excel.templates"
        )


def test_functions_workbook_structure(generated):
    import pipesheet.excel as excel

    wb = openpyxl.load_workbook(generated / "pipeline.xlsx")
    tables = {name for ws in wb.worksheets for name in ws.tables}
    assert {"Deals", "History", "Stages", "Targets", "Rates"} <= tables
    assert "README" in wb.sheetnames
    dv = wb["Deals"].data_validations.dataValidation
    assert [(d.type, d.formula1) for d in dv] == [("list", "StageNames")]
    assert "B2" in str(dv[0].sqref)
    assert wb.defined_names["StageNames"].attr_text.startswith("Stages!$A$2")
    called = set()
    for sheet, cell, formula in FUNCTION_CELLS:
        stored = wb[sheet][cell].value
        assert getattr(stored, "text", stored) == formula
        called |= set(re.findall(r"PIPE_[A-Z_]+", formula))
    assert called == set(excel.__all__)  # every function is shown in the workbook
    # Excel 365 must spill these formulas (dynamic-array metadata), not add implicit "@"
    import zipfile

    with zipfile.ZipFile(generated / "pipeline.xlsx") as z:
        assert "xl/metadata.xml" in z.namelist()
        sheets = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))
    assert sheets.count('cm="1"') == len(FUNCTION_CELLS)


def test_native_workbook_uses_only_old_functions(generated):
    wb = openpyxl.load_workbook(generated / "pipeline-native.xlsx")
    used = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value.startswith("="):
                    used |= set(re.findall(r"([A-Z][A-Z0-9.]*)\(", c.value))
    assert used, "no formulas found"
    assert used <= ALLOWED, used - ALLOWED
    assert len(wb["Funnel"]._charts) == 1


# ---- LibreOffice recalculation equals the engine ------------------------------------------------
def _frame(ws, columns=None) -> pd.DataFrame:
    rows = list(ws.iter_rows(values_only=True))
    frame = pd.DataFrame(rows[1:], columns=rows[0])
    return frame[list(columns)] if columns is not None else frame


@pytest.fixture(scope="module")
def recalculated(generated, tmp_path_factory) -> openpyxl.Workbook:
    soffice = require_tool("soffice", "libreoffice")
    out = recalculate(generated / "pipeline-native.xlsx", tmp_path_factory.mktemp("lo"), soffice)
    return openpyxl.load_workbook(out, data_only=True)


@pytest.fixture(scope="module")
def inputs(generated):
    """The native workbook's input tables, read back from the file (what LibreOffice saw)."""
    wb = openpyxl.load_workbook(generated / "pipeline-native.xlsx")
    tables = sample_tables()
    deals = _frame(wb["Deals"], tables["deals"].columns)
    stages_table = _frame(wb["Stages"])
    rates = _frame(wb["Rates"])
    stages = stage_list_from_range(
        [list(stages_table.columns), *stages_table.astype(object).to_numpy().tolist()]
    )
    probs = dict(zip(stages_table["Stage"], stages_table["Probability"], strict=True))
    return deals, stages_table, stages, probs, rates


def _num(x) -> float:
    return float(x)


def test_libreoffice_forecast_equals_engine(recalculated, inputs):
    deals, _, stages, probs, rates = inputs
    want = weighted_forecast(deals, probs, period="month", rates=rates, stages=stages)
    want = want.set_index("period")
    ws = recalculated["Forecast"]
    seen = 0
    for row in ws.iter_rows(min_row=6, values_only=True):
        label, _, n, pipeline, weighted, std = row[:6]
        if label is None:
            continue
        if isinstance(label, dt.datetime):
            label = f"{label.year:04d}-{label.month:02d}"
        if label == "Total (all open deals)":
            total = weighted_forecast(deals, probs, period=None, rates=rates, stages=stages)
            assert n == total["deals"].iloc[0]
            assert _num(pipeline) == pytest.approx(total["pipeline"].iloc[0], rel=1e-9)
            assert _num(weighted) == pytest.approx(total["weighted"].iloc[0], rel=1e-9)
            assert _num(std) == pytest.approx(total["std_dev"].iloc[0], rel=1e-9)
            continue
        if n == 0:
            assert label not in want.index
            continue
        seen += 1
        assert n == want.loc[label, "deals"], label
        assert _num(pipeline) == pytest.approx(want.loc[label, "pipeline"], rel=1e-9), label
        assert _num(weighted) == pytest.approx(want.loc[label, "weighted"], rel=1e-9), label
        assert _num(std) == pytest.approx(want.loc[label, "std_dev"], rel=1e-9), label
    assert seen == len(want)  # every engine period appears in the workbook


def test_libreoffice_quota_gap_equals_engine(recalculated, inputs):
    deals, _, stages, probs, rates = inputs
    s = NATIVE_SETTINGS
    pos = pipeline_position(
        deals, probs, s["period_start"], s["period_end"], rates=rates, stages=stages
    )
    gap = quota_gap(
        s["quota"],
        pos.closed,
        pos.expected_open,
        average_deal=pos.average_won_deal,
        lead_to_win_rate=s["lead_to_win_rate"],
        open_pipeline=pos.open_pipeline,
        as_of=s["today"],
        period_end=s["period_end"],
        cycle_days=pos.average_cycle_days,
    )
    cells = {r[0]: r[1] for r in recalculated["Gap"].iter_rows(min_row=3, values_only=True)}
    assert pos.closed > 0 and pos.expected_open > 0
    expected = {
        "Closed in period": pos.closed,
        "Expected from open deals": pos.expected_open,
        "Open pipeline in period": pos.open_pipeline,
        "Average won deal": pos.average_won_deal,
        "Average cycle (days)": pos.average_cycle_days,
        "Gap": gap.gap,
        "New revenue needed": gap.new_revenue_needed,
        "New won deals": gap.new_won_deals,
        "New leads": gap.new_leads,
        "Selling weeks": gap.selling_weeks,
        "Leads per week": gap.leads_per_week,
        "Coverage": gap.coverage,
    }
    for name, value in expected.items():
        assert _num(cells[name]) == pytest.approx(value, rel=1e-9), name


def test_libreoffice_reverse_funnel_equals_engine(recalculated, inputs):
    deals, stages_table, stages, probs, rates = inputs
    pos = pipeline_position(deals, probs, rates=rates, stages=stages)
    open_rows = stages_table[stages_table["Type"] == "Open"]
    plan = leads_needed(
        NATIVE_SETTINGS["target"],
        pos.average_won_deal,
        list(zip(open_rows["Stage"], open_rows["Step Conversion"], strict=True)),
        won_label="Won",
    )
    ws = recalculated["Funnel"]
    assert ws["B5"].value == plan.won_needed
    got = [r for r in ws.iter_rows(min_row=8, max_row=8 + len(plan.table) - 1, values_only=True)]
    for (stage, _, to_won, needed), (_, want) in zip(
        [r[:4] for r in got], plan.table.iterrows(), strict=True
    ):
        assert stage == want["stage"]
        assert _num(to_won) == pytest.approx(want["conversion_to_won"], rel=1e-12)
        assert needed == want["deals_needed"]


def test_native_workbook_builds_from_other_data():
    """The generator is not tied to the sample: a tiny table gives a consistent workbook."""
    tables = sample_tables()
    small = {k: (v.head(50) if k in ("deals", "history") else v) for k, v in tables.items()}
    wb = build_native_workbook(small)
    assert wb["Deals"].tables["Deals"].ref.endswith("51")
