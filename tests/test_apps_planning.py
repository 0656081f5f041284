"""The dashboard's scenario and quota panels (issue 14.1–14.2): their numbers are the engine's
(apply_scenarios, quota_table) on the dashboard's data and settings; bad parameters and files show
the engine's message in the panel."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("ipywidgets")

from pipesheet import StageProbabilities, apply_scenarios, quota_table
from pipesheet.apps.dashboard import Dashboard
from pipesheet.apps.scenario_panel import data_as_of
from pipesheet.exports import read_table
from pipesheet.sample import SAMPLE_AS_OF, sample_deals, sample_history, sample_rates

FIXTURES = Path(__file__).parent / "fixtures" / "planning"
Q4 = {"start": "2026-10-01", "end": "2026-12-31"}


def _upload(path: Path) -> dict:
    content = path.read_bytes()
    return {
        "name": path.name,
        "type": "",
        "size": len(content),
        "content": memoryview(content),
        "last_modified": dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
    }


@pytest.fixture(scope="module")
def core():
    deals, history, rates = sample_deals(), sample_history(), sample_rates()
    return deals, history, rates, StageProbabilities().fit(history, deals)


@pytest.fixture()
def app():
    return Dashboard()


def engine_scenario(core, text: str, quota: float):
    deals, history, rates, model = core
    return apply_scenarios(
        deals, model, text, quota=quota, as_of=SAMPLE_AS_OF, rates=rates, history=history, **Q4
    ).table.iloc[0]


def test_the_panel_starts_on_the_dashboard_range(app, core):
    panel = app.scenario_panel
    assert app.range_period.value == "2026-Q4" and panel.text() == "drop-largest 3"
    assert data_as_of(app) == pd.Timestamp(SAMPLE_AS_OF)
    row = panel.result.table.iloc[0]
    # before = the dashboard's own range of the period (whole pipeline)
    assert row["p_quota_before"] == pytest.approx(app.range_.p_quota)
    assert row["forecast_before"] == pytest.approx(app.range_.mean)
    want = engine_scenario(core, "drop-largest 3", 2_000_000)
    assert row["p_quota_after"] == pytest.approx(want["p_quota_after"])
    assert row["forecast_after"] == pytest.approx(want["forecast_after"])
    shown = panel.html.value
    assert f'id="scenario-p_quota-after">{want["p_quota_after"] * 100:.1f}%<' in shown
    assert f'id="scenario-forecast-after">{want["forecast_after"]:,.0f}<' in shown
    assert "What changed: drops the 3 largest open deal(s)" in shown


def test_changing_the_scenario_and_the_quota(app, core):
    panel = app.scenario_panel
    panel.kind.value = "conversion"
    assert panel.parameter.value == "Proposal=35%"
    want = engine_scenario(core, "conversion Proposal=35%", 2_000_000)
    assert panel.result.table.iloc[0]["p_quota_after"] == pytest.approx(want["p_quota_after"])
    panel.kind.value = "add-leads"
    want = engine_scenario(core, "add-leads 10/week", 2_000_000)
    assert panel.result.table.iloc[0]["forecast_after"] == pytest.approx(want["forecast_after"])
    app.quota.value = 2_500_000  # the dashboard's quota: the panel follows
    want = engine_scenario(core, "add-leads 10/week", 2_500_000)
    assert panel.result.table.iloc[0]["p_quota_after"] == pytest.approx(want["p_quota_after"])
    assert f"{want['p_quota_after'] * 100:.1f}%" in panel.html.value
    panel.kind.value = "slip"
    panel.parameter.value = "45"
    want = engine_scenario(core, "slip 45", 2_500_000)
    assert panel.result.table.iloc[0]["forecast_after"] == pytest.approx(want["forecast_after"])


def test_a_bad_parameter_shows_the_engine_message_in_the_panel(app):
    panel = app.scenario_panel
    panel.parameter.value = "three"
    assert panel.result is None
    assert "scenario &#x27;drop-largest three&#x27;: N must be a whole number" in panel.html.value
    assert app.error == ""  # the data box is untouched
    panel.kind.value = "drop"
    assert "Type the parameter" in panel.html.value
    panel.parameter.value = "D-999999"
    assert "no deal &#x27;D-999999&#x27; in the deals table" in panel.html.value


def test_a_quota_per_group(app, core):
    deals, _history, rates, model = core
    panel = app.quotas_panel
    assert panel.result is None and "Type a quota per group" in panel.html.value
    app.group.value = "owner"
    panel.per_group.value = 300_000
    owners = sorted(deals["Owner"].dropna().unique())
    quotas = pd.DataFrame({"owner": owners, "Period": "2026-Q4", "Quota": 300_000})
    want = quota_table(deals, model, quotas, by="owner", as_of=SAMPLE_AS_OF, rates=rates).table
    pd.testing.assert_frame_equal(panel.result.table, want)
    assert "Zoë Müller" in panel.html.value and 'id="quota-table"' in panel.html.value
    total = want.iloc[-1]
    assert total["name"] == "Total" and total["quota"] == 300_000 * len(owners)
    assert f"{total['p_quota'] * 100:.1f}%" in panel.html.value
    app.group.value = ""  # no grouping: one quota for everyone
    assert panel.result.table["name"].tolist() == ["Total"]


def test_an_uploaded_quota_table_and_hierarchy():
    # the fixture deals with the CRM's configured probability (no history: the dashboard uses it)
    deals = read_table(FIXTURES / "deals.csv")
    deals["Probability"] = deals["Stage"].map({"Lead": 10, "Proposal": 50})
    app = Dashboard(deals, source="fixture")
    assert app.error == "" and app.method.value == "configured"
    panel = app.quotas_panel
    panel.quota_upload.value = [_upload(FIXTURES / "quotas.csv")]
    panel.hierarchy_upload.value = [_upload(FIXTURES / "teams.csv")]
    want = quota_table(
        deals,
        "configured",
        read_table(FIXTURES / "quotas.csv"),
        hierarchy=read_table(FIXTURES / "teams.csv"),
        as_of=data_as_of(app),
    ).table
    pd.testing.assert_frame_equal(panel.result.table, want)
    team = want[want["name"] == "Team A"].iloc[0]
    assert (team["closed"], team["quota"]) == (0.3, 1500.3)
    assert "1,500.30" in panel.html.value and "10.0%" in panel.html.value
    assert "uploaded quota table and the uploaded hierarchy" in panel.status.value
    panel.clear.click()
    assert panel.quotas is None and panel.result is None


def test_a_bad_quota_file_shows_the_engine_message(app, tmp_path):
    bad = tmp_path / "quotas.csv"
    bad.write_text("Owner,Period,Quota\nAna,2026-Q4,lots\n", encoding="utf-8")
    app.quotas_panel.quota_upload.value = [_upload(bad)]
    text = app.quotas_panel.html.value
    assert "pipesheet-error" in text and "quota is not a number" in text
    assert "Traceback" not in text


def test_the_download_has_the_panels_tables(app):
    app.quotas_panel.per_group.value = 1_000_000
    sheets = app.results()
    assert "Scenario" in sheets and "Quotas" in sheets
    assert sheets["Scenario"]["scenario"].iloc[0] == "drop-largest 3"
