"""The report's Balance sheet (the pipeline balance of the report's current period, target = the
quota, else the lead plan's target) and the stage design check on its Diagnostics sheet."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from demo_stage import with_demo_stage
from pipesheet.balance import pipeline_balance
from pipesheet.report import SHEETS, build_report, write_report
from pipesheet.sample import DATA_DIR, DEALS_FILE, HISTORY_FILE, RATES_FILE
from pipesheet.stage_design import stage_design_check

DEALS, HISTORY, RATES = (DATA_DIR / f for f in (DEALS_FILE, HISTORY_FILE, RATES_FILE))


def table(report, sheet: str, starts: str) -> tuple[str, pd.DataFrame]:
    return next((t, f) for t, f in report.sheets[sheet] if t.startswith(starts))


@pytest.fixture(scope="module")
def report():
    return build_report(DEALS, HISTORY, rates=RATES, quota=2_000_000, period="quarter")


def test_the_balance_sheet_is_the_engines_for_the_current_period(report, deals, history, rates):
    assert SHEETS.index("Balance") == SHEETS.index("Lead plan") + 1
    title, got = table(report, "Balance", "Pipeline balance")
    assert "2026-07-01 – 2026-09-30" in title and "target = the quota" in title
    want = pipeline_balance(
        history, deals, 2_000_000, "2026-07-01", "2026-09-30", as_of="2026-09-30", rates=rates
    )
    pd.testing.assert_frame_equal(got, want.to_frame())
    _, advice = table(report, "Balance", "What to do")
    assert advice["advice"].tolist() == want.advice
    _, inputs = table(report, "Balance", "Inputs")
    values = dict(zip(inputs["item"], inputs["value"], strict=True))
    assert values["target"] == 2_000_000 and values["pace"] == want.pace
    summary = dict(zip(report.summary["item"], report.summary["value"], strict=True))
    assert summary["Balance: bloated stages"] == ", ".join(want.bloated) or "none"
    assert summary["Balance: thin stages"] == ", ".join(want.thin) or "none"


def test_without_a_quota_the_target_is_the_lead_plans(deals, history, rates):
    report = build_report(DEALS, HISTORY, rates=RATES, period="month", target=150_000)
    title, got = table(report, "Balance", "Pipeline balance")
    assert "2026-09-01 – 2026-09-30" in title and "the lead plan's target" in title
    want = pipeline_balance(history, deals, 150_000, "2026-09-01", "2026-09-30", rates=rates)
    pd.testing.assert_frame_equal(got, want.to_frame())


def test_without_a_history_the_sheet_says_what_it_needs():
    report = build_report(DEALS, rates=RATES, quota=2_000_000)
    assert report.sheets["Balance"][0][1]["note"].tolist() == ["needs a stage history"]


def test_the_stage_design_flags_are_on_the_diagnostics_sheet(history, deals, tmp_path):
    demo = with_demo_stage(history)
    report = build_report(deals, demo, rates=RATES, quota=2_000_000)
    title, got = table(report, "Diagnostics", "Stage design check")
    want = stage_design_check(demo, deals)
    assert title == str(want).splitlines()[0]
    pd.testing.assert_frame_equal(got, want.to_frame())
    summary = dict(zip(report.summary["item"], report.summary["value"], strict=True))
    assert summary["Stage design flags"] == "2 (skipped, too_few_closed)"
    # and in the workbook: the flags with their evidence
    path = write_report(report, tmp_path / "report.xlsx")
    ws = openpyxl.load_workbook(path)["Diagnostics"]
    texts = {c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert set(want.flags["evidence"]) <= texts
    # the Balance sheet of a stage list with an unknown stage still shows the others
    _, bal = table(report, "Balance", "Pipeline balance")
    assert bal.set_index("stage").loc["Demo", "status"] == "unknown"


def test_the_sound_sample_says_no_flag_raised(report):
    title, got = table(report, "Diagnostics", "Stage design check")
    assert title.endswith("4 open stages, no flag raised") and got.empty
    summary = dict(zip(report.summary["item"], report.summary["value"], strict=True))
    assert summary["Stage design flags"] == "none"
