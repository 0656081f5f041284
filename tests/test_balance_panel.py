"""The dashboard's balance and stage design panel (widget logic, no browser): its numbers are the
engine's for the same inputs, its defaults are the quota and the as-of day's quarter, and bad
input shows the engine's message in the panel."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

pytest.importorskip("ipywidgets")

from demo_stage import with_demo_stage
from pipesheet import PipesheetError
from pipesheet.apps.dashboard import Dashboard
from pipesheet.balance import pipeline_balance
from pipesheet.stage_design import stage_design_check
from pipesheet.tables import read_rates


@pytest.fixture()
def app():
    return Dashboard()


def engine(target, start, end, deals, history, rates, **options):
    return pipeline_balance(
        history, deals, target, start, end, rates=read_rates(rates).to_dict(), **options
    )


def test_defaults_are_the_quota_and_the_quarter_of_the_as_of_day(app):
    panel = app.balance_panel
    assert panel.target.value == app.quota.value == 2_000_000
    # the sample's latest history row is on 2026-09-30: its quarter is Q3
    assert (panel.period_start.value, panel.period_end.value) == (
        dt.date(2026, 7, 1),
        dt.date(2026, 9, 30),
    )
    assert panel.result is not None and panel.error == ""


def test_the_table_is_the_engines(app, deals, history, rates):
    panel = app.balance_panel
    want = engine(2_000_000, "2026-07-01", "2026-09-30", deals, history, rates)
    pd.testing.assert_frame_equal(panel.result.to_frame(), want.to_frame())
    assert panel.result.advice == want.advice
    page = panel.balance_html.value
    for row in want.table.itertuples():
        assert f"<td>{row.stage}</td><td>{row.needed:,.1f}</td><td>{row.open:,}</td>" in page
    for line in want.advice:
        assert line.replace("'", "&#x27;") in page


def test_a_new_target_shows_the_engines_new_numbers(app, deals, history, rates):
    panel = app.balance_panel
    panel.target.value = 3_000_000
    want = engine(3_000_000, "2026-07-01", "2026-09-30", deals, history, rates)
    pd.testing.assert_frame_equal(panel.result.to_frame(), want.to_frame())
    assert (want.table["status"] == "thin").any()  # this target leaves stages thin
    page = panel.balance_html.value
    first = want.table.dropna(subset=["starves_won_date"]).sort_values("starves_won_date").iloc[0]
    assert f"week of {first['starves_won_week'].date()}" in page
    assert "The first shortfall reaches Won in the week of" in page
    assert 'class="flag"' in page  # thin rows are marked
    assert "Target 3,000,000 EUR" in page


def test_a_new_period_changes_the_pace(app, deals, history, rates):
    panel = app.balance_panel
    panel.period_start.value = dt.date(2026, 10, 1)
    panel.period_end.value = dt.date(2026, 12, 31)
    want = engine(2_000_000, "2026-10-01", "2026-12-31", deals, history, rates)
    assert panel.result.pace == want.pace
    pd.testing.assert_frame_equal(panel.result.table, want.table)


def test_the_target_follows_the_quota_until_another_is_typed(app):
    panel = app.balance_panel
    app.quota.value = 3_500_000
    assert panel.target.value == 3_500_000 and panel.result.target == 3_500_000
    panel.target.value = 1_000_000
    app.quota.value = 4_000_000
    assert panel.target.value == 1_000_000 and panel.result.target == 1_000_000


@pytest.mark.parametrize(
    ("setting", "value"),
    [("period_end", dt.date(2026, 6, 30)), ("target", -5.0), ("period_start", None)],
)
def test_bad_input_shows_the_engines_message_in_the_panel(
    app, deals, history, rates, setting, value
):
    panel = app.balance_panel
    getattr(panel, setting).value = value
    args = {"target": 2_000_000, "period_start": "2026-07-01", "period_end": "2026-09-30"}
    args[setting] = value
    with pytest.raises(PipesheetError) as err:
        engine(args["target"], args["period_start"], args["period_end"], deals, history, rates)
    assert panel.error == str(err.value)
    assert "pipesheet-error" in panel.balance_html.value and panel.result is None
    assert app.error == ""  # the rest of the page is unaffected


def test_the_stage_design_check_of_the_sample(app, deals, history):
    panel = app.balance_panel
    want = stage_design_check(history, deals)
    assert want.ok and panel.design.ok
    assert "No flag raised: the 4 open stages look sound" in panel.design_html.value


def test_the_stage_design_flags_are_the_engines(app, deals, history, rates):
    demo = with_demo_stage(history)
    app.load(deals, demo, rates, source="with a Demo stage")
    panel = app.balance_panel
    want = stage_design_check(demo, deals)
    assert {"skipped", "too_few_closed"} <= set(want.flags["check"])
    pd.testing.assert_frame_equal(panel.design.flags, want.flags)
    page = panel.design_html.value
    assert 'id="stage-design-table"' in page
    for text in want.flags["evidence"]:
        assert text in page
    # the balance is computed on the new data too (Demo has no needed count: unknown)
    assert "Demo" in panel.result.table["stage"].tolist()


def test_a_custom_period_is_kept_when_data_loads_a_default_one_moves(app, deals, history, rates):
    panel = app.balance_panel
    later = history.copy()
    later["Entered Date"] = pd.to_datetime(later["Entered Date"]) + pd.DateOffset(months=3)
    moved = deals.copy()
    app.load(moved, later, rates, source="three months later")
    assert (panel.period_start.value, panel.period_end.value) == (
        dt.date(2026, 10, 1),
        dt.date(2026, 12, 31),
    )
    panel.period_start.value = dt.date(2026, 11, 1)
    app.load(deals, history, rates, source="the sample again")
    assert panel.period_start.value == dt.date(2026, 11, 1)  # the user's choice is kept


def test_without_a_history_the_panel_says_what_it_needs(deals, rates):
    app = Dashboard(deals, None, rates)
    panel = app.balance_panel
    assert panel.result is None and panel.design is None
    assert "stage-history file" in panel.balance_html.value
    assert "stage-history file" in panel.design_html.value


def test_the_download_has_the_balance_and_the_stage_design(app):
    sheets = app.results()
    pd.testing.assert_frame_equal(sheets["Pipeline balance"], app.balance_panel.result.to_frame())
    assert list(sheets["Stage design"].columns) == list(app.balance_panel.design.flags.columns)
    assert app.results_xlsx()[:2] == b"PK"
