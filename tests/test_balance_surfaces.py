"""Identical numbers on every surface: for the same inputs, the Python API, ``pipesheet balance
--json``, ``PIPE_BALANCE`` through xlwings' dispatcher, the dashboard's panel and the report's
Balance sheet give the same needed / open / gap per stage (counts and values); and the stage
design flags are the same in the API, ``pipesheet diagnostics --show design --json``,
``PIPE_STAGE_DESIGN``, the dashboard and the report's Diagnostics sheet.

The inputs: the bundled sample, target 2,000,000 EUR (the dashboard's default quota and the
report's ``--quota``), the quarter of the as-of day 2026-07-01 – 2026-09-30, as of 2026-09-30."""

from __future__ import annotations

import json
import math
import os

# Before the first ``import xlwings`` in this process (xw.func/arg/ret are no-ops otherwise).
os.environ["XLWINGS_ON_SERVER"] = "true"
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

import pandas as pd
import pytest

from demo_stage import with_demo_stage
from pipesheet.balance import pipeline_balance
from pipesheet.cli import main
from pipesheet.sample import DATA_DIR, DEALS_FILE, HISTORY_FILE, RATES_FILE
from pipesheet.stage_design import stage_design_check

DEALS, HISTORY, RATES = (str(DATA_DIR / f) for f in (DEALS_FILE, HISTORY_FILE, RATES_FILE))
TARGET, START, END, AS_OF = 2_000_000, "2026-07-01", "2026-09-30", "2026-09-30"
COMPARED = ("needed", "open", "gap", "needed_value", "open_value", "gap_value")


@pytest.fixture(scope="module")
def api(deals, history, rates):
    return pipeline_balance(history, deals, TARGET, START, END, as_of=AS_OF, rates=rates)


def per_stage(rows) -> dict[str, tuple]:
    """{stage: (needed, open, gap, needed_value, open_value, gap_value)} of a table's rows."""
    frame = pd.DataFrame(rows)
    return {
        r["stage"]: tuple(float("nan") if r[c] in (None, "") else float(r[c]) for c in COMPARED)
        for r in frame.to_dict("records")
    }


def assert_same(got: dict, want: dict) -> None:
    assert list(got) == list(want)
    for stage, values in want.items():
        for name, a, b in zip(COMPARED, got[stage], values, strict=True):
            same = (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-12, abs=1e-9)
            assert same, (stage, name, a, b)


def test_cli_json(api, capsys):
    argv = ["balance", DEALS, HISTORY, "--rates", RATES, "--target", str(TARGET)]
    argv += ["--period-start", START, "--period-end", END, "--as-of", AS_OF, "--json"]
    assert main(argv) == 0
    rows = json.loads(capsys.readouterr().out)
    assert_same(per_stage(rows), per_stage(api.to_frame()))
    assert [r["status"] for r in rows] == api.table["status"].tolist()
    assert set(rows[0]) >= {"stage", "needed", "open", "gap", "needed_value", "open_value"}


def test_excel_dispatcher(api, deals, history, rates):
    pytest.importorskip("xlwings")
    from test_excel import call, excel_range, serial

    spill = call(
        "PIPE_BALANCE",
        excel_range(deals),
        excel_range(history),
        TARGET,
        serial(START),
        serial(END),
        serial(AS_OF),
        None,
        excel_range(rates),
    )
    head, *body = spill
    assert_same(per_stage([dict(zip(head, r, strict=True)) for r in body]), per_stage(api.table))


def test_dashboard_panel(api):
    pytest.importorskip("ipywidgets")
    from pipesheet.apps.dashboard import Dashboard

    panel = Dashboard(quota=TARGET).balance_panel
    assert str(panel.period_start.value) == START and str(panel.period_end.value) == END
    assert_same(per_stage(panel.result.table), per_stage(api.table))


def test_report_sheet(api):
    from pipesheet.report import build_report

    report = build_report(DEALS, HISTORY, rates=RATES, quota=TARGET, period="quarter")
    title, frame = report.sheets["Balance"][0]
    assert f"{START} – {END}" in title
    assert_same(per_stage(frame), per_stage(api.table))


# ---- the stage design flags ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(history):
    return with_demo_stage(history)


@pytest.fixture(scope="module")
def design(demo, deals):
    result = stage_design_check(demo, deals)
    assert not result.ok
    return result


def flags(rows) -> list[tuple]:
    frame = pd.DataFrame(rows)
    return [
        (r["check"], r["stage"], float(r["value"]), float(r["threshold"]), int(r["deals"]))
        for r in frame.to_dict("records")
    ]


def test_stage_design_on_the_command_line(design, demo, tmp_path, capsys):
    path = tmp_path / "history.csv"
    demo.to_csv(path, index=False)
    assert main(["diagnostics", str(path), DEALS, "--show", "design", "--json"]) == 0
    assert flags(json.loads(capsys.readouterr().out)) == flags(design.flags)


def test_stage_design_in_the_report(design, demo, deals):
    from pipesheet.report import build_report

    report = build_report(deals, demo, rates=RATES)
    frame = next(f for t, f in report.sheets["Diagnostics"] if t.startswith("Stage design"))
    assert flags(frame) == flags(design.flags)


def test_stage_design_on_the_dashboard(design, demo, deals):
    pytest.importorskip("ipywidgets")
    from pipesheet.apps.dashboard import Dashboard

    panel = Dashboard(deals, demo, pd.read_csv(RATES)).balance_panel
    assert flags(panel.design.flags) == flags(design.flags)


def test_stage_design_in_excel(design, demo, deals):
    pytest.importorskip("xlwings")
    from test_excel import call, excel_range

    head, *body = call("PIPE_STAGE_DESIGN", excel_range(demo), excel_range(deals))
    assert flags([dict(zip(head, r, strict=True)) for r in body]) == flags(design.flags)
