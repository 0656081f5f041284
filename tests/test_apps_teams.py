"""The dashboard's pipelines / overrides / lost deals panel (issue 14.3–14.5): the same numbers
as the engine, a pipeline selector that shows one pipeline alone."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("ipywidgets")

import pipesheet as ps
from pipesheet.apps.dashboard import Dashboard
from pipesheet.apps.teams_panel import ALL_PIPELINES
from pipesheet.pipelines import pipeline_summary

FIX = Path(__file__).parent / "fixtures" / "teams"


@pytest.fixture(scope="module")
def team():
    return pd.read_csv(FIX / "deals.csv"), pd.read_csv(FIX / "history.csv")


@pytest.fixture()
def app(team):
    deals, history = team
    return Dashboard(deals, history, source="team", quota=50_000)


def test_the_dashboard_prices_each_pipeline_with_its_own_probabilities(app, team):
    deals, history = team
    model = ps.StageProbabilities().fit(history, deals)
    priced = ps.price_deals(deals, model)
    assert app.priced.weighted == pytest.approx(41_000) == pytest.approx(priced.weighted)
    assert app.forecast["weighted"].sum() == pytest.approx(41_000)
    pd.testing.assert_frame_equal(app.teams.summary, pipeline_summary(priced))
    assert app.teams.selector.options == (ALL_PIPELINES, "New business", "Renewal")
    assert app.teams.selector.layout.display == ""
    pd.testing.assert_frame_equal(app.fitted.table_, model.table_)
    assert "Renewal" in app.prob_table.value and "Pipeline" in app.prob_table.value
    assert 'id="pipelines-table"' in app.teams.pipelines_html.value


def test_the_override_is_listed_and_counted(app):
    over = app.teams.overrides
    assert over["deal_id"].tolist() == ["R7"]
    assert over["probability"].tolist() == [0.5] and over["stage_probability"].tolist() == [0.75]
    assert "1 open deal(s) use their own probability" in app.teams.overrides_html.value
    assert any("override" in n for n in app.forecast.attrs["notes"])


def test_lost_deals_by_reason_and_stage_equal_the_engine(app, team):
    deals, history = team
    want = ps.lost_reasons(deals, history)
    pd.testing.assert_frame_equal(app.teams.losses.by_reason, want.by_reason)
    pd.testing.assert_frame_equal(app.teams.losses.by_stage, want.by_stage)
    assert 'id="losses-reasons"' in app.teams.losses_html.value
    sheets = app.results()
    assert {"Pipelines", "Overrides", "Lost by reason", "Lost by stage"} <= set(sheets)


def test_choosing_a_pipeline_shows_it_alone(app, team):
    deals, history = team
    app.teams.selector.value = "Renewal"
    assert app.error == ""
    mine = deals[deals["Pipeline"] == "Renewal"]
    rows = history[history["Deal ID"].isin(mine["Deal ID"])]
    alone = ps.StageProbabilities(stages=ps.StageList(("Renewal call", "Proposal"))).fit(rows, mine)
    assert app.fitted.table_["win_probability"].tolist() == pytest.approx(
        alone.table_["win_probability"].tolist()
    )
    assert app.priced.weighted == pytest.approx(7_000)
    assert app.forecast["weighted"].sum() == pytest.approx(7_000)
    assert sorted(app.teams.losses.deals["deal_id"]) == ["R3", "R5"]
    assert "showing pipeline Renewal only" in app.teams.pipelines_html.value
    assert app.results()["Settings"].set_index("setting").loc["pipeline", "value"] == "Renewal"
    app.teams.selector.value = ALL_PIPELINES
    assert app.priced.weighted == pytest.approx(41_000)


def test_one_pipeline_data_hides_the_selector_and_says_so():
    app = Dashboard()  # the bundled sample: one pipeline, no override, no loss reasons
    assert app.teams.selector.layout.display == "none"
    assert 'id="losses-none"' in app.teams.losses_html.value
    assert 'id="overrides-none"' in app.teams.overrides_html.value
    assert "Pipelines" not in app.results()


def test_blank_amounts_on_lost_deals_are_shown_in_the_panel(team):
    deals, history = team
    blank = deals.copy()
    blank.loc[blank["Deal ID"] == "N4", "Amount"] = None
    app = Dashboard(blank, history, source="team")
    assert app.error == ""  # N4 is lost: the forecast does not need its amount
    assert "amount is blank" in app.teams.losses_html.value
    app.blank_amounts.value = "skip"
    assert app.teams.losses.amount == pytest.approx(20_000)
