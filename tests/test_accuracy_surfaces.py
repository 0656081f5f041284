"""Issue 9 on every surface: the calibrated forecast and the backtest's recommended forecast are
the same numbers from the API, the command line (--json), the Excel functions (through xlwings'
own dispatcher), the dashboard's panel and the report — on the bundled sample and on a pipeline
simulated from a known process; the cohort/Markov disagreements and the calibration of every
probability source reach the surfaces too."""

from __future__ import annotations

import os

# Before the first ``import xlwings`` in this process (xw.func/arg/ret are no-ops otherwise).
os.environ["XLWINGS_ON_SERVER"] = "true"
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("xlwings")
pytest.importorskip("ipywidgets")

from pipesheet import backtest, calibrated_forecast, calibration, period_labels
from pipesheet.apps.common import fmt_money
from pipesheet.apps.dashboard import Dashboard
from pipesheet.cli import main
from pipesheet.report import build_report
from pipesheet.sample import DATA_DIR, sample_deals, sample_history, sample_rates
from pipesheet.simulate import SCENARIOS, simulate_pipeline
from test_cli_finance import assert_rows_equal, run_json
from test_excel import assert_spill_equals, call, excel_range, serial

QUOTA = 2_500_000
START = "2025-07-01"  # the report's and the panel's window: 4 quarters before 2026-Q3


@dataclass
class Case:
    """One data set on every surface: the tables, their files, and the surfaces built once."""

    name: str
    deals: pd.DataFrame
    history: pd.DataFrame
    rates: pd.DataFrame | None
    files: list[str]
    ranges: dict[str, Any]
    dashboard: Any = None
    report: Any = None

    @property
    def money(self) -> list[str]:
        return ["--rates", self.files[2]] if self.rates is not None else []


def _office(frame: pd.DataFrame) -> list[list[Any]]:
    """A frame as Office.js sends it: dates as serial numbers, blanks as null."""
    if not any(pd.api.types.is_datetime64_any_dtype(frame[c]) for c in frame.columns):
        return excel_range(frame)
    out = frame.astype(object).copy()
    for col in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[col]):
            out[col] = [None if pd.isna(v) else serial(v) for v in frame[col]]
    body = out.where(out.notna(), None).to_numpy().tolist()
    body = [[x.item() if isinstance(x, np.generic) else x for x in row] for row in body]
    return [list(map(str, frame.columns)), *body]


def _build(case: Case) -> Case:
    dash = Dashboard(case.deals, case.history, case.rates, quota=QUOTA, period="quarter")
    case.dashboard = dash
    case.report = build_report(
        case.deals, case.history, rates=case.rates, quota=QUOTA, period="quarter", progress=False
    )
    return case


@pytest.fixture(scope="module")
def sample_case() -> Case:
    deals, history, rates = sample_deals(), sample_history(), sample_rates()
    files = [str(Path(DATA_DIR) / f) for f in ("sample_history.csv", "sample_deals.csv")]
    files.append(str(Path(DATA_DIR) / "sample_rates.csv"))
    ranges = {"history": excel_range(history), "deals": excel_range(deals)}
    ranges["rates"] = excel_range(rates)
    return _build(Case("sample", deals, history, rates, files, ranges))


@pytest.fixture(scope="module")
def simulated_case(tmp_path_factory) -> Case:
    deals, history = simulate_pipeline(replace(SCENARIOS["reps"], per_day=4), seed=2)
    folder = tmp_path_factory.mktemp("simulated")
    files = [str(folder / "history.csv"), str(folder / "deals.csv")]
    history.to_csv(files[0], index=False)
    deals.to_csv(files[1], index=False)
    ranges = {"history": _office(history), "deals": _office(deals), "rates": None}
    return _build(Case("simulated", deals, history, None, files, ranges))


@pytest.fixture(params=["sample", "simulated"])
def case(request) -> Case:
    return request.getfixturevalue(f"{request.param}_case")


# ---- the calibrated forecast -------------------------------------------------------------------
def test_the_calibrated_forecast_is_the_same_on_every_surface(case, capsys):
    api = calibrated_forecast(case.history, case.deals, "quarter", quota=QUOTA, rates=case.rates)
    assert api.calibrated, api.method  # both data sets have enough past to calibrate on
    want = api.to_frame()
    # command line: one JSON document, the one-row summary
    argv = ["calibrated", *case.files[:2], "--period-end", "quarter", "--quota", str(QUOTA)]
    assert_rows_equal(run_json(capsys, *argv, *case.money), want)
    assert_rows_equal(run_json(capsys, *argv, *case.money, "--show", "evidence"), api.evidence)
    # Excel, through xlwings' dispatcher
    args = [case.ranges["history"], case.ranges["deals"], "quarter", None, QUOTA]
    got = call("PIPE_CALIBRATED_FORECAST", *args, case.ranges["rates"])
    assert_spill_equals(got, want)
    shown = [None, None, None, "evidence"]
    got = call("PIPE_CALIBRATED_FORECAST", *args, case.ranges["rates"], *shown)
    assert_spill_equals(got, api.evidence)
    # the dashboard's panel, for the same window and quota
    dash = case.dashboard
    label = period_labels(pd.Series([api.period_end]), "quarter").iloc[0]
    if dash.range_period.value != label:
        dash.range_period.value = label
    panel = dash.calibrated_panel.result
    assert (panel.as_of, panel.period_end) == (api.as_of, api.period_end)
    figures = ("forecast", "model_forecast", "p10", "p50", "p90", "p_quota", "closed")
    for name in figures:
        assert getattr(panel, name) == pytest.approx(getattr(api, name), rel=1e-12), name
    assert panel.method == api.method
    html = dash.calibrated_panel.html.value
    assert f'id="calibrated-forecast">{fmt_money(api.forecast)}<' in html
    assert f'id="calibrated-p90">{fmt_money(api.p90)}<' in html
    assert api.method in html and 'id="calibrated-evidence"' in html
    # the report: the Summary leads with it, its sheet holds the summary and the evidence
    summary = case.report.summary
    assert summary["item"].iloc[0] == "Calibrated forecast"
    items = dict(summary.values)
    assert items["Calibrated forecast"] == pytest.approx(api.forecast, rel=1e-12)
    for q in ("P10", "P50", "P90"):
        assert items[f"Calibrated {q}"] == pytest.approx(getattr(api, q.lower()), rel=1e-12)
    assert items["P(closed so far + revenue ≥ quota)"] == pytest.approx(api.p_quota, rel=1e-12)
    assert items["Calibrated forecast method"] == api.method
    sheet = dict(case.report.sheets["Calibrated forecast"])
    title = next(t for t in sheet if t.startswith("Calibrated forecast "))
    pd.testing.assert_frame_equal(sheet[title], want)


def test_a_quota_change_on_the_dashboard_refits_nothing_but_the_range(sample_case):
    dash = sample_case.dashboard
    panel = dash.calibrated_panel
    before = panel.result
    fits = len(panel._cache)
    dash.quota.value = 3_000_000
    try:
        api = calibrated_forecast(
            sample_case.history,
            sample_case.deals,
            "quarter",
            quota=3_000_000,
            rates=sample_case.rates,
        )
        assert panel.result.p_quota == pytest.approx(api.p_quota, rel=1e-12)
        assert panel.result.forecast == pytest.approx(before.forecast, rel=1e-12)
        assert len(panel._cache) == fits  # the past periods' fits were kept
        assert f"quota {fmt_money(3_000_000)}" in panel.html.value
    finally:
        dash.quota.value = QUOTA


# ---- the backtest's recommended forecast -------------------------------------------------------
def test_the_backtest_rows_are_the_same_on_every_surface(case, capsys):
    api = backtest(case.history, case.deals, START, 4, "quarter", rates=case.rates)
    wide = api.wide
    assert {"forecast", "p10", "p50", "p90", "error", "actual", "method"} <= set(wide.columns)
    assert set(wide["method"]) <= {"calibrated", "time-aware"}
    # command line
    argv = ["backtest", *case.files[:2], "--start", START, "--periods", "4", "--period", "quarter"]
    assert_rows_equal(run_json(capsys, *argv, *case.money, "--show", "periods"), wide)
    # Excel
    args = [case.ranges["history"], case.ranges["deals"], serial(START), 4, "quarter"]
    got = call("PIPE_BACKTEST", *args, "periods", None, case.ranges["rates"])
    assert_spill_equals(got, wide)
    # the dashboard's panel (on request: its button), for the same quarters
    dash = case.dashboard
    dash.calibrated_panel.backtest_button.click()
    pd.testing.assert_frame_equal(dash.calibrated_panel.backtest.wide, wide)
    html = dash.calibrated_panel.backtest_html.value
    assert 'id="calibrated-backtest"' in html
    for value in wide["forecast"].dropna():
        assert fmt_money(value) in html
    # the report's Backtest sheet and its Summary rows
    sheet = dict(case.report.sheets["Backtest"])
    pd.testing.assert_frame_equal(sheet["Backtest by period"], wide)
    pd.testing.assert_frame_equal(sheet["Error by method"], api.summary)
    items = dict(case.report.summary.values)
    rec = api.summary.set_index("method").loc["recommended"]
    assert items["Backtest MAPE (recommended)"] == pytest.approx(rec["mape"], rel=1e-12)
    key = "Backtest share of periods within P10–P90 (recommended)"
    assert items[key] == pytest.approx(rec["in_range_share"], rel=1e-12)


# ---- calibration of every probability source ---------------------------------------------------
@pytest.mark.parametrize("which", ["configured", "time-aware", "calibrated"])
def test_calibration_sources_on_the_command_line_and_in_excel(sample_case, capsys, which):
    case = sample_case
    extra: dict[str, Any] = {"period_end": "quarter"} if which != "configured" else {}
    if which == "calibrated":
        extra["rates"] = case.rates
    api = calibration(case.history, case.deals, "2026-03-31", probabilities=which, **extra)
    argv = ["calibration", *case.files[:2], "--as-of", "2026-03-31", "--probabilities", which]
    argv += ["--period-end", "quarter", *case.money, "--show", "summary"]
    assert_rows_equal(run_json(capsys, *argv), api.summary)
    got = call(
        "PIPE_CALIBRATION",
        case.ranges["history"],
        serial("2026-03-31"),
        case.ranges["deals"],
        "summary",
        which,
        "quarter",
        None,
        None,
        None,
        case.ranges["rates"],
    )
    assert_spill_equals(got, api.summary)
    assert "brier_skill" in got[0]


def test_a_probability_file_is_calibrated_like_a_table(sample_case, capsys, tmp_path):
    table = pd.DataFrame(
        {"Stage": ["Lead", "Qualified", "Proposal", "Negotiation"], "Probability": [60, 70, 80, 90]}
    )
    path = tmp_path / "probabilities.csv"
    table.to_csv(path, index=False)
    api = calibration(sample_case.history, sample_case.deals, "2026-03-31", probabilities=table)
    assert api.brier_skill < 0  # far too optimistic: worse than the base rate
    argv = ["calibration", *sample_case.files[:2], "--as-of", "2026-03-31"]
    argv += ["--probabilities", str(path), "--show", "summary"]
    assert_rows_equal(run_json(capsys, *argv), api.summary)
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "worse than always predicting the base rate" in out
    assert f"skill {api.brier_skill:+.2f}" in out
    got = call(
        "PIPE_CALIBRATION",
        sample_case.ranges["history"],
        serial("2026-03-31"),
        sample_case.ranges["deals"],
        "summary",
        [list(table.columns), *table.to_numpy().tolist()],
    )
    assert_spill_equals(got, api.summary)


def test_the_report_calibrates_every_probability(sample_case):
    sheet = dict(sample_case.report.sheets["Calibration"])
    title = next(t for t in sheet if t.startswith("Every probability predicted on"))
    table = sheet[title].set_index("probabilities")
    assert list(table.index) == ["learned", "configured", "time-aware", "calibrated"]
    first = sample_case.report.summary.set_index("item")["value"]
    on = first["Calibration predicted on"]
    for which in ("learned", "configured"):
        api = calibration(sample_case.history, sample_case.deals, on, probabilities=which)
        assert table.loc[which, "brier"] == pytest.approx(api.brier, rel=1e-12)
        assert table.loc[which, "brier_skill"] == pytest.approx(api.brier_skill, rel=1e-12)
        assert first[f"Brier skill ({which})"] == pytest.approx(api.brier_skill, rel=1e-12)
        assert f"By probability bucket — {which}" in sheet or which == "learned"


# ---- disagreements ------------------------------------------------------------------------------
def bouncing_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every deal: Qualified → Proposal; half win there, half go back to Qualified and are
    lost (cohort p(Proposal) 50%, Markov 75%: tests/test_disagreements.py); four deals still
    open at Proposal."""
    rows, deals = [], []
    day = pd.Timestamp("2026-01-01")
    for i in range(200):
        deal, start = f"d{i:03d}", day + pd.Timedelta(days=i % 60)
        rows += [(deal, "Qualified", start), (deal, "Proposal", start + pd.Timedelta(days=5))]
        if i % 2 == 0:
            rows.append((deal, "Won", start + pd.Timedelta(days=10)))
            stage = "Won"
        else:
            rows += [
                (deal, "Qualified", start + pd.Timedelta(days=10)),
                (deal, "Lost", start + pd.Timedelta(days=15)),
            ]
            stage = "Lost"
        deals.append((deal, stage, 1000.0, start + pd.Timedelta(days=15)))
    for i in range(4):
        deal = f"o{i}"
        rows += [
            (deal, "Qualified", pd.Timestamp("2026-03-20")),
            (deal, "Proposal", day.replace(month=4)),
        ]
        deals.append((deal, "Proposal", 5000.0, pd.Timestamp("2026-05-15")))
    history = pd.DataFrame(rows, columns=["Deal ID", "Stage", "Entered Date"])
    table = pd.DataFrame(deals, columns=["Deal ID", "Stage", "Amount", "Expected Close Date"])
    return history, table


def test_disagreements_reach_every_surface(tmp_path, capsys):
    history, deals = bouncing_tables()
    path = tmp_path / "history.csv"
    history.to_csv(path, index=False)
    said = "cohort and Markov disagree at Proposal: 50.0% vs 7"
    argv = ["stage-probabilities", str(path), "--stages", "Qualified,Proposal"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"note: {said}" in out and "go back to an earlier stage" in out
    rows = run_json(capsys, *argv)  # --json: the table's rows only
    assert all("why" not in r for r in rows) and len(rows) == 2
    report = build_report(deals, history, progress=False)
    notes = dict(report.sheets["Stage probabilities"])["Notes"]["note"].tolist()
    assert any(n.startswith(said) for n in notes)
    assert any(n.startswith(said) for n in report.notes)
    dash = Dashboard(deals, history)
    assert said in dash.conversion_html.value
