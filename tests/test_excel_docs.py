"""docs/excel.md shows real outputs: every example formula is run through xlwings' Office.js
dispatcher on the small example tables below, and its spilled result must appear in the docs.

Regenerate the examples section with ``.venv/bin/python tests/test_excel_docs.py``.
"""

from __future__ import annotations

import os

os.environ["XLWINGS_ON_SERVER"] = "true"
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

import asyncio
import datetime as dt
import runpy
import types
from pathlib import Path
from typing import Any

import pytest

xlwings = pytest.importorskip("xlwings")
import xlwings.server as xls  # noqa: E402

import pipesheet.excel as excel  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "excel.md"
EPOCH = dt.date(1899, 12, 30)


def d(text: str) -> float:
    """Excel serial number of an ISO date."""
    return float((dt.date.fromisoformat(text) - EPOCH).days)


DEALS = [
    [
        "Deal ID",
        "Stage",
        "Amount",
        "Close Date",
        "Owner",
        "Forecast Category",
        "Created Date",
        "Closed Date",
    ],
    [
        "D-01",
        "Closed Won",
        30000,
        d("2026-05-20"),
        "Ana",
        "Closed",
        d("2026-02-01"),
        d("2026-05-20"),
    ],
    [
        "D-02",
        "Closed Won",
        18000,
        d("2026-06-10"),
        "Ben",
        "Closed",
        d("2026-03-01"),
        d("2026-06-10"),
    ],
    [
        "D-03",
        "Closed Lost",
        25000,
        d("2026-06-15"),
        "Ana",
        "Omitted",
        d("2026-03-10"),
        d("2026-06-15"),
    ],
    [
        "D-04",
        "Closed Lost",
        12000,
        d("2026-07-01"),
        "Ben",
        "Omitted",
        d("2026-04-01"),
        d("2026-07-01"),
    ],
    [
        "D-05",
        "Closed Lost",
        9000,
        d("2026-07-20"),
        "Ana",
        "Omitted",
        d("2026-05-02"),
        d("2026-07-20"),
    ],
    ["D-06", "Proposal", 40000, d("2026-10-15"), "Ana", "Commit", d("2026-07-01"), None],
    ["D-07", "Qualified", 22000, d("2026-11-30"), "Ben", "Best Case", d("2026-08-01"), None],
    ["D-08", "Lead", 15000, d("2026-12-20"), "Ana", "Pipeline", d("2026-09-01"), None],
    ["D-09", "Proposal", 35000, d("2027-01-15"), "Ben", "Best Case", d("2026-08-15"), None],
]
HISTORY = [
    ["Deal ID", "Stage", "Entered Date"],
    ["D-01", "Lead", d("2026-02-01")],
    ["D-01", "Qualified", d("2026-03-01")],
    ["D-01", "Proposal", d("2026-04-01")],
    ["D-01", "Closed Won", d("2026-05-20")],
    ["D-02", "Qualified", d("2026-03-01")],
    ["D-02", "Proposal", d("2026-05-01")],
    ["D-02", "Closed Won", d("2026-06-10")],
    ["D-03", "Lead", d("2026-03-10")],
    ["D-03", "Qualified", d("2026-04-10")],
    ["D-03", "Proposal", d("2026-05-10")],
    ["D-03", "Closed Lost", d("2026-06-15")],
    ["D-04", "Lead", d("2026-04-01")],
    ["D-04", "Qualified", d("2026-05-01")],
    ["D-04", "Closed Lost", d("2026-07-01")],
    ["D-05", "Lead", d("2026-05-02")],
    ["D-05", "Closed Lost", d("2026-07-20")],
    ["D-06", "Lead", d("2026-07-01")],
    ["D-06", "Qualified", d("2026-08-01")],
    ["D-06", "Proposal", d("2026-09-01")],
    ["D-07", "Lead", d("2026-08-01")],
    ["D-07", "Qualified", d("2026-09-10")],
    ["D-08", "Lead", d("2026-09-01")],
    ["D-09", "Qualified", d("2026-08-15")],
    ["D-09", "Proposal", d("2026-09-15")],
]
STAGES = [
    ["Stage", "Probability"],
    ["Lead", 0.1],
    ["Qualified", 0.3],
    ["Proposal", 0.6],
]
CONVERSIONS = [["Stage", "Conversion"], ["Lead", 0.5], ["Qualified", 0.4], ["Proposal", 0.25]]
#: Two deals snapshots for the waterfall (Excel Tables *Sep* and *Oct*).
SEP = [
    ["Deal ID", "Stage", "Amount", "Close Date"],
    ["D-06", "Qualified", 38000, d("2026-10-15")],
    ["D-07", "Lead", 22000, d("2026-11-30")],
    ["D-10", "Proposal", 12500.5, d("2026-10-31")],
    ["D-11", "Proposal", 8000, d("2026-12-10")],
    ["D-12", "Qualified", 5000, d("2027-02-01")],
]
OCT = [
    ["Deal ID", "Stage", "Amount", "Close Date"],
    ["D-06", "Proposal", 40000, d("2026-10-15")],
    ["D-07", "Qualified", 22000, d("2026-11-30")],
    ["D-10", "Closed Won", 12500.5, d("2026-10-20")],
    ["D-11", "Proposal", 8000, d("2027-01-15")],
    ["D-12", "Proposal", 5000, d("2026-12-01")],
    ["D-08", "Lead", 15000, d("2026-12-20")],
]
BENCHMARK = [["Stage", "Benchmark"], ["Lead", 0.6], ["Qualified", 0.5], ["Proposal", 0.5]]
#: A quota table and a team hierarchy (Excel Tables *Quotas* and *Teams*).
QUOTAS = [["Owner", "Period", "Quota"], ["Ana", "2026-Q4", 60000.1], ["Ben", "2026-Q4", 30000.2]]
TEAMS = [["Owner", "Team", "Region"], ["Ana", "North", "EU"], ["Ben", "North", "EU"]]
#: A team with two pipelines, an override and loss reasons (Excel Tables *Team*, *TeamHistory*,
#: *Commits*; tests/fixtures/teams as Excel holds it).
TEAM = [
    ["Deal ID", "Pipeline", "Stage", "Amount", "Close Date", "Owner", "Loss Reason", "Override %"],
    ["N1", "New business", "Closed Won", 12000, d("2026-03-20"), "Ana", None, None],
    ["N2", "New business", "Closed Lost", 8000, d("2026-03-10"), "Ben", "Price", None],
    ["N3", "New business", "Closed Lost", 5000, d("2026-02-20"), "Ana", "No budget", None],
    ["N4", "New business", "Closed Lost", 15000, d("2026-04-15"), "Ben", "Price", None],
    ["N5", "New business", "Closed Won", 20000, d("2026-05-10"), "Ana", None, None],
    ["N6", "New business", "Lead", 10000, d("2026-08-31"), "Ana", None, None],
    ["N7", "New business", "Proposal", 20000, d("2026-09-15"), "Ben", None, None],
    ["N8", "New business", "Negotiation", 30000, d("2026-07-20"), "Ana", None, None],
    ["R1", "Renewal", "Closed Won", 6000, d("2026-03-15"), "Ben", None, None],
    ["R2", "Renewal", "Closed Won", 7000, d("2026-04-10"), "Ana", None, None],
    ["R3", "Renewal", "Closed Lost", 4000, d("2026-04-20"), "Ben", None, None],
    ["R4", "Renewal", "Closed Won", 9000, d("2026-05-20"), "Ben", None, None],
    ["R5", "Renewal", "Closed Lost", 3000, d("2026-05-25"), "Ana", "Competitor", None],
    ["R6", "Renewal", "Renewal call", 5000, d("2026-09-30"), "Ben", None, None],
    ["R7", "Renewal", "Proposal", 8000, d("2026-08-15"), "Ana", None, 0.5],
]
TEAM_HISTORY = [
    ["Deal ID", "Stage", "Entered Date"],
    *[
        [deal, stage, d(day)]
        for deal, stage, day in (
            line.split(",")
            for line in (ROOT / "tests" / "fixtures" / "teams" / "history.csv")
            .read_text(encoding="utf-8")
            .splitlines()[1:]
        )
    ],
]
TEAM_STAGES = [
    ["Pipeline", "Stage", "Probability"],
    ["New business", "Lead", 0.4],
    ["New business", "Proposal", 0.5],
    ["New business", "Negotiation", 2 / 3],
    ["Renewal", "Renewal call", 0.6],
    ["Renewal", "Proposal", 0.75],
]
COMMITS = [
    ["Owner", "Quarter", "Commit"],
    ["Ana", "2026-Q1", 10000],
    ["Ben", "2026-Q1", 8000],
    ["Ana", "2026-Q2", 25000],
    ["Ben", "2026-Q2", 12000],
    ["Ana", "2026-Q3", 30000],
    ["Ben", "2026-Q3", 10000],
]

#: (formula as typed in Excel, function, Office.js arguments)
EXAMPLES: list[tuple[str, str, list[Any]]] = [
    (
        "=PIPE_STAGE_PROBABILITIES(History[#All], Deals[#All])",
        "PIPE_STAGE_PROBABILITIES",
        [HISTORY, DEALS],
    ),
    (
        '=PIPE_STAGE_PROBABILITY("Proposal", History[#All], Deals[#All])',
        "PIPE_STAGE_PROBABILITY",
        ["Proposal", HISTORY, DEALS],
    ),
    (
        "=PIPE_WEIGHTED_FORECAST(Deals[#All], Stages[#All])",
        "PIPE_WEIGHTED_FORECAST",
        [DEALS, STAGES],
    ),
    (
        '=PIPE_WEIGHTED_FORECAST(Deals[#All], Stages[#All], "quarter", "Owner", , , , , TRUE)',
        "PIPE_WEIGHTED_FORECAST",
        [DEALS, STAGES, "quarter", "Owner", None, None, None, None, True],
    ),
    ("=PIPE_FORECAST_TOTAL(Deals[#All], Stages[#All])", "PIPE_FORECAST_TOTAL", [DEALS, STAGES]),
    (
        "=PIPE_FORECAST_RANGE(Deals[#All], Stages[#All], 50000)",
        "PIPE_FORECAST_RANGE",
        [DEALS, STAGES, 50000],
    ),
    ("=PIPE_FORECAST_CATEGORIES(Deals[#All])", "PIPE_FORECAST_CATEGORIES", [DEALS]),
    (
        "=PIPE_PIPELINE_POSITION(Deals[#All], Stages[#All], DATE(2026,10,1), DATE(2026,12,31))",
        "PIPE_PIPELINE_POSITION",
        [DEALS, STAGES, d("2026-10-01"), d("2026-12-31")],
    ),
    (
        "=PIPE_LEADS_NEEDED(1000000, 25000, Conversions[#All])",
        "PIPE_LEADS_NEEDED",
        [1_000_000, 25_000, CONVERSIONS],
    ),
    (
        "=PIPE_QUOTA_GAP(200000, 48000, 39800, 24000, 0.2, 112000, DATE(2026,10,1), "
        "DATE(2026,12,31), 30)",
        "PIPE_QUOTA_GAP",
        [200_000, 48_000, 39_800, 24_000, 0.2, 112_000, d("2026-10-01"), d("2026-12-31"), 30],
    ),
    (
        '=PIPE_QUOTA_TABLE(Deals[#All], Stages[#All], Quotas[#All], "Owner", Teams[#All], '
        "DATE(2026,9,30))",
        "PIPE_QUOTA_TABLE",
        [DEALS, STAGES, QUOTAS, "Owner", TEAMS, d("2026-09-30")],
    ),
    (
        '=PIPE_SCENARIO(Deals[#All], Stages[#All], "drop-largest 1", 50000, DATE(2026,10,1), '
        "DATE(2026,12,31), DATE(2026,9,30))",
        "PIPE_SCENARIO",
        [
            DEALS,
            STAGES,
            "drop-largest 1",
            50_000,
            d("2026-10-01"),
            d("2026-12-31"),
            d("2026-09-30"),
        ],
    ),
    (
        '=PIPE_SCENARIO(Deals[#All], Stages[#All], "slip 30", 50000, DATE(2026,10,1), '
        "DATE(2026,12,31), DATE(2026,9,30))",
        "PIPE_SCENARIO",
        [DEALS, STAGES, "slip 30", 50_000, d("2026-10-01"), d("2026-12-31"), d("2026-09-30")],
    ),
    ("=PIPE_COVERAGE(112000, 200000, 48000)", "PIPE_COVERAGE", [112_000, 200_000, 48_000]),
    ("=PIPE_VELOCITY(4, 0.4, 24000, 95)", "PIPE_VELOCITY", [4, 0.4, 24_000, 95]),
    ('=PIPE_PRESET("hubspot")', "PIPE_PRESET", ["hubspot"]),
    (
        "=PIPE_TIME_AWARE_FORECAST(History[#All], Deals[#All], DATE(2026,12,31), "
        "DATE(2026,9,15), 50000)",
        "PIPE_TIME_AWARE_FORECAST",
        [HISTORY, DEALS, d("2026-12-31"), d("2026-09-15"), 50_000],
    ),
    (
        "=PIPE_TIME_AWARE_FORECAST(History[#All], Deals[#All], DATE(2026,12,31), "
        'DATE(2026,9,15), , , , , "stages")',
        "PIPE_TIME_AWARE_FORECAST",
        [HISTORY, DEALS, d("2026-12-31"), d("2026-09-15"), None, None, None, None, "stages"],
    ),
    (
        "=PIPE_CALIBRATED_FORECAST(History[#All], Deals[#All], DATE(2026,12,31), "
        "DATE(2026,9,15), 50000)",
        "PIPE_CALIBRATED_FORECAST",
        [HISTORY, DEALS, d("2026-12-31"), d("2026-09-15"), 50_000],
    ),
    (
        '=PIPE_BACKTEST(History[#All], Deals[#All], DATE(2026,6,1), 3, "month")',
        "PIPE_BACKTEST",
        [HISTORY, DEALS, d("2026-06-01"), 3, "month"],
    ),
    (
        '=PIPE_BACKTEST(History[#All], Deals[#All], DATE(2026,6,1), 3, "month", "periods")',
        "PIPE_BACKTEST",
        [HISTORY, DEALS, d("2026-06-01"), 3, "month", "periods"],
    ),
    (
        '=PIPE_CALIBRATION(History[#All], DATE(2026,6,20), Deals[#All], "stages")',
        "PIPE_CALIBRATION",
        [HISTORY, d("2026-06-20"), DEALS, "stages"],
    ),
    (
        '=PIPE_CALIBRATION(History[#All], DATE(2026,6,20), Deals[#All], "summary")',
        "PIPE_CALIBRATION",
        [HISTORY, d("2026-06-20"), DEALS, "summary"],
    ),
    (
        '=PIPE_CALIBRATION(History[#All], DATE(2026,6,20), Deals[#All], "summary", Stages[#All])',
        "PIPE_CALIBRATION",
        [HISTORY, d("2026-06-20"), DEALS, "summary", STAGES],
    ),
    (
        "=PIPE_WATERFALL(Sep[#All], Oct[#All], DATE(2026,10,1), DATE(2026,12,31))",
        "PIPE_WATERFALL",
        [SEP, OCT, d("2026-10-01"), d("2026-12-31")],
    ),
    (
        '=PIPE_WATERFALL(Sep[#All], Oct[#All], DATE(2026,10,1), DATE(2026,12,31), "deals")',
        "PIPE_WATERFALL",
        [SEP, OCT, d("2026-10-01"), d("2026-12-31"), "deals"],
    ),
    (
        "=PIPE_WATERFALL_HISTORY(History[#All], DATE(2026,6,30), DATE(2026,9,15), Deals[#All])",
        "PIPE_WATERFALL_HISTORY",
        [HISTORY, d("2026-06-30"), d("2026-09-15"), DEALS],
    ),
    (
        "=PIPE_STALE_DEALS(History[#All], Deals[#All], , DATE(2026,9,30))",
        "PIPE_STALE_DEALS",
        [HISTORY, DEALS, None, d("2026-09-30")],
    ),
    (
        "=PIPE_BOTTLENECKS(History[#All], , , Benchmark[#All], 1)",
        "PIPE_BOTTLENECKS",
        [HISTORY, None, None, BENCHMARK, 1],
    ),
    ("=PIPE_CYCLE_TIME(History[#All], Deals[#All])", "PIPE_CYCLE_TIME", [HISTORY, DEALS]),
    (
        "=PIPE_BALANCE(Deals[#All], History[#All], 200000, DATE(2026,10,1), DATE(2026,12,31))",
        "PIPE_BALANCE",
        [DEALS, HISTORY, 200_000, d("2026-10-01"), d("2026-12-31")],
    ),
    ("=PIPE_STAGE_DESIGN(History[#All], Deals[#All])", "PIPE_STAGE_DESIGN", [HISTORY, DEALS]),
    (
        "=PIPE_STAGE_PROBABILITIES(TeamHistory[#All], Team[#All])  ← two pipelines",
        "PIPE_STAGE_PROBABILITIES",
        [TEAM_HISTORY, TEAM],
    ),
    (
        '=PIPE_WEIGHTED_FORECAST(Team[#All], TeamStages[#All], "none", "Pipeline", , , , , TRUE)',
        "PIPE_WEIGHTED_FORECAST",
        [TEAM, TEAM_STAGES, "none", "Pipeline", None, None, None, None, True],
    ),
    (
        "=PIPE_PIPELINES(Team[#All], TeamStages[#All], 60000)",
        "PIPE_PIPELINES",
        [TEAM, TEAM_STAGES, 60_000],
    ),
    (
        '=PIPE_PIPELINES(Team[#All], TeamStages[#All], , , , , , , , "deals")',
        "PIPE_PIPELINES",
        [TEAM, TEAM_STAGES, None, None, None, None, None, None, None, "deals"],
    ),
    (
        "=PIPE_COMMITS(Team[#All], Commits[#All], TeamHistory[#All])",
        "PIPE_COMMITS",
        [TEAM, COMMITS, TEAM_HISTORY],
    ),
    (
        '=PIPE_COMMITS(Team[#All], Commits[#All], TeamHistory[#All], , , , , , , , , "summary")',
        "PIPE_COMMITS",
        [TEAM, COMMITS, TEAM_HISTORY, *[None] * 8, "summary"],
    ),
    ("=PIPE_LOSSES(Team[#All], TeamHistory[#All])", "PIPE_LOSSES", [TEAM, TEAM_HISTORY]),
    (
        '=PIPE_LOSSES(Team[#All], TeamHistory[#All], "stages")',
        "PIPE_LOSSES",
        [TEAM, TEAM_HISTORY, "stages"],
    ),
    (
        "=PIPE_WEIGHTED_FORECAST(Deals[#All], Stages[#All])  ← a deal at stage “Propsal”",
        "PIPE_WEIGHTED_FORECAST",
        [[*DEALS[:6], ["D-06", "Propsal", *DEALS[6][2:]], *DEALS[7:]], STAGES],
    ),
]


def call(func_name: str, args: list[Any]) -> Any:
    payload = {
        "client": "Office.js",
        "func_name": func_name,
        "args": [a if a is None or isinstance(a, list) else [[a]] for a in args],
        "caller_address": "Sheet1!A1",
        "culture_info_name": "en-US",
        "date_format": "yyyy-mm-dd",
        "version": xlwings.__version__,
        "runtime": "1.4",
    }
    return asyncio.run(xls.custom_functions_call(payload, excel))


def _text(x: Any) -> str:
    if isinstance(x, dict) and x.get("type") == "FormattedNumber":
        day = EPOCH + dt.timedelta(days=int(x["basicValue"]))
        return day.isoformat()
    if isinstance(x, bool):
        return "TRUE" if x else "FALSE"
    if isinstance(x, float):
        return f"{x:,.0f}" if x.is_integer() else (f"{x:,.4f}" if abs(x) < 10 else f"{x:,.2f}")
    if isinstance(x, int):
        return f"{x:,}"
    return str(x).replace("|", "\\|")


def render(result: Any) -> str:
    """A spilled result as a Markdown table (a single cell as a one-cell table)."""
    rows = result if isinstance(result, list) else [[result]]
    if len(rows) == 1 and len(rows[0]) == 1:
        return f"| {_text(rows[0][0])} |\n|---|"
    head, *body = rows
    lines = ["| " + " | ".join(_text(h) for h in head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_text(x) for x in row) + " |" for row in body]
    return "\n".join(lines)


def examples_markdown() -> str:
    parts = []
    for formula, name, args in EXAMPLES:
        parts.append(f"```\n{formula}\n```\n\n{render(call(name, args))}\n")
    return "\n".join(parts)


@pytest.mark.parametrize(("formula", "name", "args"), EXAMPLES, ids=[e[1] for e in EXAMPLES])
def test_docs_show_the_real_output(formula, name, args):
    text = DOC.read_text(encoding="utf-8")
    block = f"```\n{formula}\n```\n\n{render(call(name, args))}\n"
    assert block in text, f"docs/excel.md is stale for {formula}: run tests/test_excel_docs.py"


def test_docs_cover_every_function():
    text = DOC.read_text(encoding="utf-8")
    assert sorted(ORDER) == sorted(excel.__all__)
    for name in excel.__all__:
        assert f"### {name}" in text, name


def test_lite_main_registers_every_function():
    main = types.ModuleType("main")
    main.__dict__.update(runpy.run_path(str(ROOT / "workbooks" / "main.py")))
    names = {f["id"] for f in xls.custom_functions_meta(main)["functions"]}
    assert names == set(excel.__all__)
    reqs = (ROOT / "workbooks" / "requirements.txt").read_text().split()
    assert "pipesheet" in reqs


ORDER = [
    "PIPE_STAGE_PROBABILITIES",
    "PIPE_STAGE_PROBABILITY",
    "PIPE_WEIGHTED_FORECAST",
    "PIPE_FORECAST_TOTAL",
    "PIPE_FORECAST_RANGE",
    "PIPE_FORECAST_CATEGORIES",
    "PIPE_PIPELINE_POSITION",
    "PIPE_LEADS_NEEDED",
    "PIPE_QUOTA_GAP",
    "PIPE_QUOTA_TABLE",
    "PIPE_SCENARIO",
    "PIPE_COVERAGE",
    "PIPE_VELOCITY",
    "PIPE_PRESET",
    "PIPE_TIME_AWARE_FORECAST",
    "PIPE_CALIBRATED_FORECAST",
    "PIPE_BACKTEST",
    "PIPE_CALIBRATION",
    "PIPE_WATERFALL",
    "PIPE_WATERFALL_HISTORY",
    "PIPE_STALE_DEALS",
    "PIPE_BOTTLENECKS",
    "PIPE_CYCLE_TIME",
    "PIPE_BALANCE",
    "PIPE_STAGE_DESIGN",
    "PIPE_PIPELINES",
    "PIPE_COMMITS",
    "PIPE_LOSSES",
]
BEGIN, END = (
    "<!-- BEGIN FUNCTIONS (generated by tests/test_excel_docs.py) -->",
    "<!-- END FUNCTIONS -->",
)


def functions_markdown() -> str:
    """The function reference: description and arguments from xlwings' own metadata (what
    Excel's function wizard shows), then each example with its real spilled output."""
    meta = {f["id"]: f for f in xls.custom_functions_meta(excel)["functions"]}
    parts = []
    for name in ORDER:
        f = meta[name]
        params = ", ".join(
            f"[{p['name']}]" if p.get("optional") else p["name"] for p in f["parameters"]
        )
        parts.append(f"### {name}\n\n`{name}({params})`\n\n{' '.join(f['description'].split())}\n")
        parts.append("| argument | description |\n|---|---|")
        for p in f["parameters"]:
            opt = " *(optional)*" if p.get("optional") else ""
            desc = p["description"].replace("|", "\\|")
            parts.append(f"| `{p['name']}`{opt} | {desc} |")
        parts.append("")
        for formula, fname, args in EXAMPLES:
            if fname == name:
                parts.append(f"```\n{formula}\n```\n\n{render(call(fname, args))}\n")
    return "\n".join(parts)


if __name__ == "__main__":
    text = DOC.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN)
    _, tail = rest.split(END)
    DOC.write_text(
        head + BEGIN + "\n\n" + functions_markdown() + "\n" + END + tail, encoding="utf-8"
    )
    print(f"updated {DOC}")
