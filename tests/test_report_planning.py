"""One number on every surface (issue 14.3–14.5): several pipelines, overrides, commits and lost
reasons give the same figures in the API, the command line (--json), the Excel functions
(xlwings' dispatcher), the dashboard and the report."""

from __future__ import annotations

import json
import os

os.environ["XLWINGS_ON_SERVER"] = "true"
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("xlwings")
pytest.importorskip("ipywidgets")

import pipesheet as ps
from pipesheet.apps.dashboard import Dashboard
from pipesheet.cli import main
from pipesheet.pipelines import pipeline_summary
from pipesheet.report import build_report
from test_excel import call, excel_range

FIX = Path(__file__).parent / "fixtures" / "teams"
DEALS, HISTORY, COMMITS = (str(FIX / f) for f in ("deals.csv", "history.csv", "commits.csv"))


@pytest.fixture(scope="module")
def team():
    return pd.read_csv(DEALS), pd.read_csv(HISTORY), pd.read_csv(COMMITS)


@pytest.fixture(scope="module")
def report():
    return build_report(DEALS, HISTORY, commits=COMMITS, quota=60_000, progress=False)


def cli_json(capsys, *argv: str):
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def sheet_table(report, sheet: str, starts: str) -> pd.DataFrame:
    return next(t for title, t in report.sheets[sheet] if title.startswith(starts))


def test_weighted_per_pipeline_is_one_number_everywhere(capsys, team, report):
    deals, history, _ = team
    model = ps.StageProbabilities(as_of="2026-06-30").fit(history, deals)
    api = ps.weighted_forecast(deals, model, period=None, by="pipeline", total=True)
    want = dict(zip(api["pipeline_name"], api["weighted"], strict=True))
    assert want == pytest.approx({"New business": 34_000, "Renewal": 7_000, "Total": 41_000})
    rows = cli_json(capsys, "forecast", DEALS, HISTORY, "--by", "pipeline", "--period", "none")
    assert {r["pipeline_name"]: r["weighted"] for r in rows} == pytest.approx(
        {k: v for k, v in want.items() if k != "Total"}
    )
    summary = cli_json(capsys, "pipelines", DEALS, HISTORY)
    assert {r["pipeline_name"]: r["weighted"] for r in summary} == pytest.approx(want)
    spill = call("PIPE_STAGE_PROBABILITIES", excel_range(history), excel_range(deals))
    xl = call("PIPE_PIPELINES", excel_range(deals), spill)
    col = xl[0].index("weighted")
    assert {r[0]: r[col] for r in xl[1:]} == pytest.approx(want)
    app = Dashboard(deals, history, source="team")
    dash = app.teams.summary
    assert dict(zip(dash["pipeline_name"], dash["weighted"], strict=True)) == pytest.approx(want)
    rep = sheet_table(report, "Pipelines", "Per pipeline")
    assert dict(zip(rep["pipeline_name"], rep["weighted"], strict=True)) == pytest.approx(want)
    priced = ps.price_deals(deals, model)
    total_range = pipeline_summary(priced, 60_000).iloc[-1]
    assert rep.iloc[-1]["p_quota"] == pytest.approx(total_range["p_quota"])
    summary_rows = report.summary.set_index("item")["value"]
    assert summary_rows["Weighted forecast"] == pytest.approx(41_000)


def test_the_override_is_marked_on_every_surface(capsys, team, report):
    deals, history, _ = team
    listed = cli_json(capsys, "forecast", DEALS, HISTORY, "--deals")
    assert [r["deal_id"] for r in listed if r["source"] == "override"] == ["R7"]
    spill = call("PIPE_STAGE_PROBABILITIES", excel_range(history), excel_range(deals))
    xl = call("PIPE_PIPELINES", excel_range(deals), spill, *[None] * 7, "deals")
    src = xl[0].index("source")
    assert [r[0] for r in xl[1:] if r[src] == "override"] == ["R7"]
    rep = sheet_table(report, "Forecast", "Deals priced at their own probability")
    assert rep["deal_id"].tolist() == ["R7"] and rep["probability"].tolist() == [0.5]
    assert any("use their own probability (override)" in n for n in report.notes)


def test_commits_are_one_number_everywhere(capsys, team, report):
    deals, history, commits = team
    api = ps.compare_commits(deals, commits, history=history)
    rows = cli_json(capsys, "commits", DEALS, HISTORY, "--commits", COMMITS)
    assert [r["system_forecast"] for r in rows] == [
        None if pd.isna(v) else pytest.approx(v) for v in api.table["system_forecast"]
    ]
    assert [r["committed_error"] for r in rows] == [
        None if pd.isna(v) else pytest.approx(v) for v in api.table["committed_error"]
    ]
    scores = cli_json(capsys, "commits", DEALS, HISTORY, "--commits", COMMITS, "--show", "summary")
    assert [r["mape"] for r in scores] == pytest.approx(api.summary["mape"].tolist())
    xl = call("PIPE_COMMITS", excel_range(deals), excel_range(commits), excel_range(history))
    col = xl[0].index("system_error")
    got = [r[col] for r in xl[1:]]
    assert got == [("" if pd.isna(v) else pytest.approx(v)) for v in api.table["system_error"]]
    rep = sheet_table(report, "Commits", "Commits vs system forecast")
    pd.testing.assert_frame_equal(rep.reset_index(drop=True), api.table)
    assert report.summary.set_index("item")["value"]["Commits: lower MAPE"] == "manager"


def test_losses_are_one_number_everywhere(capsys, team, report):
    deals, history, _ = team
    api = ps.lost_reasons(deals, history, as_of="2026-06-30")
    want = dict(zip(api.by_reason["reason"], api.by_reason["amount"], strict=True))
    rows = cli_json(capsys, "losses", DEALS, HISTORY)
    assert {r["reason"]: r["amount"] for r in rows} == pytest.approx(want)
    xl = call("PIPE_LOSSES", excel_range(deals), excel_range(history))
    col = xl[0].index("amount")
    assert {r[0]: r[col] for r in xl[1:]} == pytest.approx(want)
    app = Dashboard(deals, history, source="team")
    pd.testing.assert_frame_equal(app.teams.losses.by_reason, api.by_reason)
    rep = sheet_table(report, "Losses", "Lost deals by reason")
    pd.testing.assert_frame_equal(rep, api.by_reason)
    stages = cli_json(capsys, "losses", DEALS, HISTORY, "--show", "stages")
    assert [(r["pipeline_name"], r["stage"]) for r in stages] == list(
        zip(api.by_stage["pipeline_name"], api.by_stage["stage"], strict=True)
    )


def test_the_pipeline_filter_is_one_pipeline_alone(capsys):
    rows = cli_json(capsys, "forecast", DEALS, HISTORY, "--pipeline", "renewal", "--period", "none")
    assert rows[0]["weighted"] == pytest.approx(7_000)
    probs = cli_json(capsys, "stage-probabilities", DEALS, HISTORY, "--pipeline", "Renewal")
    assert [r["stage"] for r in probs] == ["Renewal call", "Proposal"]
    assert [r["win_probability"] for r in probs] == pytest.approx([0.6, 0.75])
    assert main(["forecast", DEALS, HISTORY, "--pipeline", "Upsell"]) == 2
    err = capsys.readouterr().err
    assert "no deal is in this pipeline" in err and "'New business', 'Renewal'" in err
