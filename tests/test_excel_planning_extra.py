"""The Excel functions of issue 14.3–14.5 through xlwings' own Office.js dispatcher: several
pipelines (a pipeline column taken transparently), overrides, commits and losses — the same
numbers as the engine."""

from __future__ import annotations

import os

os.environ["XLWINGS_ON_SERVER"] = "true"
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("xlwings")

import pipesheet as ps
from pipesheet.pipelines import pipeline_summary
from test_excel import assert_spill_equals, call, excel_range, message_of

FIX = Path(__file__).parent / "fixtures" / "teams"
DATES = ("Expected Close Date", "Closed Date", "Entered Date")


def sheet(frame: pd.DataFrame) -> list[list]:
    """A fixture table as Excel holds it (dates as serial numbers)."""
    out = frame.copy()
    for col in DATES:
        if col in out:
            out[col] = out[col].replace("", None)
    return excel_range(out)


@pytest.fixture(scope="module")
def team():
    deals = pd.read_csv(FIX / "deals.csv", dtype={"Loss Reason": object})
    history = pd.read_csv(FIX / "history.csv")
    commits = pd.read_csv(FIX / "commits.csv")
    return deals, history, commits


@pytest.fixture(scope="module")
def model(team):
    deals, history, _ = team
    return ps.StageProbabilities().fit(history, deals)


def test_stage_probabilities_take_the_pipeline_column_transparently(team, model):
    deals, history, _ = team
    spill = call("PIPE_STAGE_PROBABILITIES", sheet(history), sheet(deals))
    assert spill[0][0] == "pipeline_name"
    assert_spill_equals(spill, model.table_)
    got = call(
        "PIPE_STAGE_PROBABILITY",
        "Proposal",
        sheet(history),
        sheet(deals),
        None,
        None,
        None,
        None,
        None,
        "Renewal",
    )
    assert got == [[pytest.approx(0.75)]]
    shared = message_of(call("PIPE_STAGE_PROBABILITY", "Proposal", sheet(history), sheet(deals)))
    assert "several pipelines" in shared


def test_forecasts_price_each_pipeline_with_its_own_rows(team, model):
    deals, history, _ = team
    spill = call("PIPE_STAGE_PROBABILITIES", sheet(history), sheet(deals))
    forecast = call(
        "PIPE_WEIGHTED_FORECAST",
        sheet(deals),
        spill,
        "none",
        "Pipeline",
        None,
        None,
        None,
        None,
        True,
    )
    want = ps.weighted_forecast(deals, model, period=None, by="Pipeline", total=True)
    assert_spill_equals(forecast, want)
    assert [r[-2] for r in forecast[1:]] == pytest.approx([34_000, 7_000, 41_000])
    total = call("PIPE_FORECAST_TOTAL", sheet(deals), spill)
    assert total == [[pytest.approx(41_000)]]
    rng = call("PIPE_FORECAST_RANGE", sheet(deals), spill, 50_000)
    assert_spill_equals(rng, ps.pipeline_range(deals, model, quota=50_000).to_frame())


def test_pipelines_summary_and_deal_list_equal_core(team, model):
    deals, history, _ = team
    spill = call("PIPE_STAGE_PROBABILITIES", sheet(history), sheet(deals))
    got = call("PIPE_PIPELINES", sheet(deals), spill, 50_000)
    priced = ps.price_deals(deals, model)
    assert_spill_equals(got, pipeline_summary(priced, 50_000))
    listed = call(
        "PIPE_PIPELINES", sheet(deals), spill, None, None, None, None, None, None, None, "deals"
    )
    assert_spill_equals(listed, priced.open_deals().reset_index(drop=True))
    source = listed[0].index("source")
    assert [r[source] for r in listed[1:]] == ["stage"] * 4 + ["override"]
    bad = message_of(call("PIPE_PIPELINES", sheet(deals), spill, None, *[None] * 6, "rows"))
    assert "show" in bad and '"summary" or "deals"' in bad


def test_commits_equal_core(team):
    deals, history, commits = team
    want = ps.compare_commits(deals, commits, history=history)
    got = call("PIPE_COMMITS", sheet(deals), sheet(commits), sheet(history))
    assert_spill_equals(got, want.table)
    summary = call(
        "PIPE_COMMITS",
        sheet(deals),
        sheet(commits),
        sheet(history),
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        "summary",
    )
    assert_spill_equals(summary, want.summary)


def test_losses_equal_core(team):
    deals, history, _ = team
    want = ps.lost_reasons(deals, history)
    for show, table in (
        (None, want.by_reason),
        ("stages", want.by_stage),
        ("both", want.by_reason_stage),
        ("deals", want.deals.reset_index(drop=True)),
    ):
        assert_spill_equals(call("PIPE_LOSSES", sheet(deals), sheet(history), show), table)
    no_reason = message_of(call("PIPE_LOSSES", sheet(deals.drop(columns="Loss Reason"))))
    assert "no loss-reason column" in no_reason


def test_overrides_in_excel(team):
    deals, _, _ = team
    stages = [
        ["Stage", "Probability"],
        ["Lead", 0.4],
        ["Proposal", 0.75],
        ["Negotiation", 0.5],
        ["Renewal call", 0.6],
    ]
    got = call("PIPE_FORECAST_TOTAL", sheet(deals), stages)
    table = pd.DataFrame(stages[1:], columns=stages[0])
    assert got == [[pytest.approx(ps.price_deals(deals, table).weighted)]]
    # R7 (8,000 at Proposal): its 50% override, not the table's 75%
    plain = ps.price_deals(deals.drop(columns="Probability Override"), table).weighted
    assert got[0][0] == pytest.approx(plain - 8_000 * 0.25)
