"""The apps' widget logic, in plain pytest: instantiate, set inputs, compare with the core."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("ipywidgets")

from pipesheet import (
    PipesheetError,
    StageList,
    StageProbabilities,
    deal_probabilities,
    leads_needed,
    period_labels,
    pipeline_position,
    quota_gap,
    read_deals,
    reporting_amounts,
    time_aware_forecast,
    weighted_forecast,
)
from pipesheet.apps.dashboard import ALL, Dashboard
from pipesheet.apps.lead_planner import LeadPlanner, period_end
from pipesheet.apps.uploads import read_upload
from pipesheet.diagnostics import bottlenecks, cycle_time, stale_deals
from pipesheet.ranges import forecast_range
from pipesheet.sample import sample_deals, sample_history, sample_rates

ROOT = Path(__file__).resolve().parents[1]
TODAY = dt.date(2026, 10, 1)


def _upload(content: bytes, name: str) -> dict:
    return {
        "name": name,
        "type": "",
        "size": len(content),
        "content": memoryview(content),
        "last_modified": dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
    }


# ---- lead planner -----------------------------------------------------------------------------
def test_lead_planner_matches_the_worked_example():
    app = LeadPlanner(
        today=TODAY,
        period="quarter",
        closed=100_000,
        expected_open=29_000,
        open_pipeline=140_000,
        cycle_days=30,
    )
    out = app.outputs()
    assert out["won_needed"] == 40
    assert out["deals_needed"] == {"Lead": 800, "Qualified": 400, "Proposal": 160, "Won": 40}
    gap = quota_gap(
        1_000_000,
        100_000,
        29_000,
        average_deal=25_000,
        lead_to_win_rate=0.05,
        open_pipeline=140_000,
        as_of=TODAY,
        period_end=dt.date(2026, 12, 31),
        cycle_days=30,
    )
    assert out["new_leads"] == gap.new_leads
    assert out["leads_per_week"] == pytest.approx(gap.leads_per_week)
    assert out["coverage"] == pytest.approx(gap.coverage)
    assert (
        out["explanation"][1]
        == leads_needed(
            1_000_000, 25_000, {"Lead": 0.5, "Qualified": 0.4, "Proposal": 0.25}
        ).explanation[1]
    )
    assert "To close 40 deals at a 25% win rate" in app.explanation.value
    assert app.chart.value[:4] == b"\x89PNG"


def test_lead_planner_updates_live_with_the_core_numbers():
    app = LeadPlanner(today=TODAY, period="year")
    app.target.value = 2_345_000
    app.average_deal.value = 31_000
    app._rate_inputs["Qualified"].value = 35
    plan = leads_needed(2_345_000, 31_000, {"Lead": 50, "Qualified": 35, "Proposal": 25})
    assert app.outputs()["won_needed"] == plan.won_needed == 76
    assert app.outputs()["deals_needed"]["Lead"] == plan.leads
    assert f">{plan.leads:,}<" in app.kpis.value
    app.stage_names.value = "Lead, Qualified, Demo, Proposal"
    assert list(app.conversions()) == ["Lead", "Qualified", "Demo", "Proposal"]
    assert app.conversions()["Qualified"] == 35  # kept by name
    assert (
        app.outputs()["deals_needed"]["Demo"]
        == leads_needed(
            2_345_000, 31_000, {"Lead": 50, "Qualified": 35, "Demo": 50, "Proposal": 25}
        )
        .table["deals_needed"]
        .iloc[2]
    )


def test_lead_planner_shows_the_engine_message_for_bad_input():
    app = LeadPlanner(today=TODAY)
    app._rate_inputs["Lead"].value = 0
    with pytest.raises(PipesheetError) as err:
        leads_needed(1_000_000, 25_000, {"Lead": 0.0, "Qualified": 40.0, "Proposal": 25.0})
    assert app.error == str(err.value)
    assert "pipesheet-error" in app.status.value
    assert "zero" in app.status.value and "Traceback" not in app.status.value
    assert app.kpis.value == ""
    app.average_deal.value = -5
    app._rate_inputs["Lead"].value = 50
    assert "average deal" in app.error


def test_lead_planner_learns_conversions_from_the_sample_and_from_a_file():
    app = LeadPlanner(today=TODAY)
    app.learn_from_sample()
    sp = StageProbabilities().fit(sample_history(), sample_deals())
    learned = dict(zip(sp.overall_["stage"], sp.overall_["step_conversion"], strict=True))
    assert list(app.conversions()) == list(learned)
    for stage, rate in learned.items():
        assert app.conversions()[stage] == pytest.approx(rate * 100, abs=0.05)
    assert app.outputs()["won_needed"] == app.plan.won_needed
    csv = sample_history().to_csv(index=False).encode("cp1252")
    app2 = LeadPlanner(today=TODAY)
    app2.learn_file.value = (_upload(csv, "history.csv"),)
    assert list(app2.conversions()) == list(learned)
    app2.learn_file.value = (_upload(b"\x00\x01binary", "history.csv"),)
    assert "not a text CSV" in app2.learn_status.value


def test_period_end():
    assert period_end(dt.date(2026, 11, 5), "quarter") == dt.date(2026, 12, 31)
    assert period_end(dt.date(2026, 11, 5), "month") == dt.date(2026, 11, 30)
    assert period_end(dt.date(2026, 12, 31), "year") == dt.date(2026, 12, 31)


# ---- dashboard ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def core():
    deals, history, rates = sample_deals(), sample_history(), sample_rates()
    sp = StageProbabilities().fit(history, deals)
    return deals, history, rates, sp


@pytest.fixture()
def app():
    return Dashboard()


def _range_oracle(sp, rates, period, label, quota, mask_extra=None):
    """The core's forecast range of one period: the open deals due in it (the forecast row's
    deals), with the won deals closed in it as closed so far for P(≥ quota)."""
    table = sp.deals_
    frame = table.frame
    p = deal_probabilities(table, sp)
    amount, _ = reporting_amounts(table, rates.set_index("Currency")["Rate"].to_dict())
    k = table.stages.k
    code = frame["code"].to_numpy()
    when = frame["close_date"].where(code < k, frame["closed_date"].fillna(frame["close_date"]))
    mask = period_labels(when, period).to_numpy() == label
    if mask_extra is not None:
        mask &= mask_extra
    closed = float(amount[mask & (code == k)].sum())
    is_open = mask & (code < k)
    return forecast_range(amount[is_open], p[is_open], quota=quota, closed=closed)


def test_dashboard_starts_on_the_sample_with_the_core_numbers(app, core):
    deals, history, rates, sp = core
    assert app.error == ""
    pd.testing.assert_frame_equal(app.fitted.overall_, sp.overall_)
    expected = weighted_forecast(deals, sp, period="quarter", rates=rates)
    pd.testing.assert_frame_equal(app.forecast, expected)
    assert "configured_probability" in app.fitted.overall_
    assert "Configured (CRM)" in app.prob_table.value
    r = _range_oracle(sp, rates, "quarter", app.range_period.value, 2_000_000)
    assert app.range_.p_quota == pytest.approx(r.p_quota)
    assert app.range_.p50 == pytest.approx(r.p50)
    b = bottlenecks(history)
    pd.testing.assert_frame_equal(app.bottleneck_table, b)
    flagged = b.loc[b["bottleneck"], "stage"].iloc[0]
    assert "⚠ bottleneck" in app.conversion_html.value and flagged in app.conversion_html.value


def test_dashboard_inputs_recompute_with_the_core(app, core):
    deals, _history, rates, sp = core
    app.quota.value = 3_000_000
    r = _range_oracle(sp, rates, "quarter", app.range_period.value, 3_000_000)
    assert app.range_.p_quota == pytest.approx(r.p_quota)
    shown = f"{r.p_quota * 100:.1f}%"
    assert shown in app.range_html.value
    app.group.value = "owner"
    expected = weighted_forecast(deals, sp, period="quarter", by="owner", rates=rates)
    pd.testing.assert_frame_equal(app.forecast, expected)
    owner = app.filter.options[2]
    app.filter.value = owner
    assert set(app.forecast["owner"]) == {owner}
    sel = expected[expected["owner"] == owner].reset_index(drop=True)
    pd.testing.assert_frame_equal(app.forecast, sel, check_like=False)
    mine = (sp.deals_.frame["owner"].fillna("(blank)") == owner).to_numpy()
    r = _range_oracle(sp, rates, "quarter", app.range_period.value, 3_000_000, mine)
    assert app.range_.mean == pytest.approx(r.mean)
    app.group.value = ""
    assert app.filter.value == ALL
    app.period.value = "month"
    expected = weighted_forecast(deals, sp, period="month", rates=rates)
    pd.testing.assert_frame_equal(app.forecast, expected)
    app.method.value = "configured"
    expected = weighted_forecast(deals, "configured", period="month", rates=rates)
    pd.testing.assert_frame_equal(app.forecast, expected)
    app.method.value = "markov"
    markov = StageProbabilities(method="markov").fit(sample_history(), deals)
    pd.testing.assert_frame_equal(app.fitted.overall_, markov.overall_)


def test_dashboard_time_aware_and_health_equal_the_core(app, core):
    deals, history, rates, sp = core
    rate_map = rates.set_index("Currency")["Rate"].to_dict()
    assert app.range_period.value == "2026-Q4"
    want = time_aware_forecast(history, deals, "2026-12-31", rates=rate_map)
    got = app.time_aware
    pd.testing.assert_frame_equal(got.to_frame(), want.to_frame())
    pd.testing.assert_frame_equal(got.table, want.table)
    assert got.range.p10 == pytest.approx(want.range.p10)
    naive = pipeline_position(deals, sp, "2026-10-01", "2026-12-31", rates=rate_map)
    assert app.naive_position.expected_open == pytest.approx(naive.expected_open)
    assert app.naive_position.open_deals == naive.open_deals
    html = app.timeaware_html.value
    assert f"{want.forecast:,.0f}" in html and f"{naive.expected_open:,.0f}" in html
    assert f"{want.range.p90:,.0f}" in html and "won between 2026-10-01 and 2026-12-31" in html
    # another period: to the end of 2027-Q1; another method: the weighted side follows it
    app.range_period.value = "2027-Q1"
    want = time_aware_forecast(history, deals, "2027-03-31", rates=rate_map)
    assert app.time_aware.forecast == pytest.approx(want.forecast)
    app.method.value = "configured"
    naive = pipeline_position(deals, "configured", "2026-10-01", "2027-03-31", rates=rate_map)
    assert app.naive_position.expected_open == pytest.approx(naive.expected_open)
    assert app.time_aware.forecast == pytest.approx(want.forecast)  # independent of the method
    app.range_period.value = "2026-Q3"  # ends on the as-of date: nothing left to forecast
    assert "the forecast window would be empty" in app.timeaware_html.value
    assert app.error == ""
    # health: stale deals (most overdue first) and cycle times from the core
    stale = stale_deals(history, deals, only_stale=True)
    pd.testing.assert_frame_equal(app.stale, stale)
    pd.testing.assert_frame_equal(app.cycle, cycle_time(history, deals))
    health = app.health_html.value
    assert stale["deal_id"].iloc[0] in health and stale["deal_id"].iloc[9] in health
    assert stale["deal_id"].iloc[10] not in health  # the top 10 only
    n_open = int((sp.deals_.frame["code"] < sp.stages_.k).sum())
    assert f"{len(stale):,} of {n_open:,} open deals are stale" in health


def test_dashboard_upload_with_column_mapping(app):
    deals, history = sample_deals(), sample_history()
    small = deals[deals["Currency"] == "EUR"].head(400).rename(columns={"Stage": "Fase"})
    small = small.rename(columns={"Amount": "Importe"})
    hist = history[history["Deal ID"].isin(small["Deal ID"])]
    app.history_upload.value = (_upload(hist.to_csv(index=False).encode(), "hist.csv"),)
    assert "Now upload the deals file" in app.upload_status.value
    buf = io.BytesIO()
    small.to_excel(buf, index=False)
    app.deals_upload.value = (_upload(buf.getvalue(), "deals.xlsx"),)
    # automatic mapping cannot find "Fase" / "Importe": the engine's message is shown
    assert "missing required column" in app.error
    assert "pipesheet-error" in app.error_html.value
    assert "still shows the bundled sample" in app.error_html.value
    app.deal_mapping["stage"].value = "Fase"
    app.deal_mapping["amount"].value = "Importe"
    app.apply_mapping.click()
    assert app.error == ""
    assert "deals.xlsx" in app.source_html.value and "400 deals" in app.source_html.value
    mapped = read_deals(
        small, columns={"stage": "Fase", "amount": "Importe"}, stages=app.history.stages
    )
    sp = StageProbabilities().fit(hist, mapped)
    pd.testing.assert_frame_equal(app.fitted.overall_, sp.overall_)
    expected = weighted_forecast(mapped, sp, period="quarter")
    pd.testing.assert_frame_equal(app.forecast, expected, check_dtype=False)
    app.sample_button.click()
    assert "3,000 deals" in app.source_html.value


@pytest.mark.parametrize(
    ("content", "name", "expect"),
    [
        (b"Deal ID,Stage\nD1,Lead\nD2,Proposal\n", "deals.csv", "amount"),
        (b"Deal ID,Stage,Amount\nD1,Lead,100\nD2,Lead,lots\n", "deals.csv", "not a number"),
        (b"PK\x03\x04\x00\x00binary", "deals.csv", "not a text CSV"),
        (b"not a workbook", "deals.xlsx", "cannot read the workbook"),
        (b"a,b\n1,2\n", "deals.pdf", "unknown file type"),
    ],
)
def test_dashboard_bad_files_show_the_engine_message(content, name, expect):
    app = Dashboard()
    before = app.forecast.copy()
    app.deals_upload.value = (_upload(content, name),)
    assert expect in app.error
    assert "Traceback" not in app.error_html.value
    try:
        read_deals(read_upload(content, name))
    except PipesheetError as err:
        assert str(err) in app.error
    pd.testing.assert_frame_equal(app.forecast, before)  # still the sample


def test_dashboard_unknown_stage_against_history_is_reported():
    app = Dashboard()
    deals = sample_deals().head(50).copy()
    deals.loc[deals.index[3], "Stage"] = "Demo booked"
    hist = sample_history()
    app.history_upload.value = (_upload(hist.to_csv(index=False).encode(), "h.csv"),)
    app.deals_upload.value = (_upload(deals.to_csv(index=False).encode(), "d.csv"),)
    assert "Demo booked" in app.error and "row 5" in app.error


def test_dashboard_upload_size_limit_is_enforced_and_stated():
    app = Dashboard(max_upload_bytes=1000)
    assert "1000 bytes" in app.widget.children[3].children[1].value
    app.deals_upload.value = (_upload(b"Deal ID,Stage,Amount\n" + b"D,Lead,1\n" * 200, "d.csv"),)
    assert "too large" in app.error and "at most 1000 bytes" in app.error


def test_dashboard_xlsx_download(app):
    content = app.results_xlsx()
    sheets = pd.read_excel(io.BytesIO(content), sheet_name=None, engine="openpyxl")
    assert list(sheets) == [
        "Stage probabilities",
        "Weighted forecast",
        "Forecast range",
        "Time-aware forecast",
        "Time-aware by stage",
        "Calibrated forecast",
        "Calibrated evidence",
        "Bottlenecks",
        "Conversion by stage",
        "Stale deals",
        "Cycle time",
        "Pipeline balance",
        "Stage design",
        "Scenario",
        "Settings",
    ]
    ta = sheets["Time-aware forecast"]
    assert ta["forecast"].iloc[0] == pytest.approx(app.time_aware.forecast)
    assert len(sheets["Stale deals"]) == len(app.stale)
    assert sheets["Weighted forecast"]["weighted"].sum() == pytest.approx(
        app.forecast["weighted"].sum()
    )
    rng = sheets["Forecast range"].set_index("measure")["value"]
    assert rng["p50"] == pytest.approx(app.range_.p50)
    app.download_button.click()
    assert 'download="pipesheet_results.xlsx"' in app.download_link.value


def test_dashboard_history_free_upload_uses_configured_probabilities():
    deals = sample_deals()
    deals = deals[deals["Currency"] == "EUR"].tail(300)
    app = Dashboard(deals, source="deals only")
    # no history: the forecast switches to the configured probabilities, and says so
    assert app.error == ""
    assert app.method.value == "configured"
    assert "configured probabilities" in app.notes_html.value
    app.method.value = "cohort"  # a snapshot cannot identify learned probabilities
    assert "no win probability is known" in app.error
    app.method.value = "configured"
    assert app.error == ""
    expected = weighted_forecast(deals, "configured", period="quarter", rates=None)
    assert app.forecast["weighted"].sum() == pytest.approx(expected["weighted"].sum())
    assert "needs a stage-history file" in app.conversion_html.value
    assert "need a stage-history file" in app.health_html.value
    assert "upload one" in app.timeaware_html.value
    assert app.time_aware is None and app.stale is None


# ---- uploads ------------------------------------------------------------------------------------
def test_read_upload_encodings_and_delimiters():
    text = "Deal ID;Stage;Amount;Owner\n001;Lead;1 250;Zoë Müller\n"
    for enc in ("utf-8", "utf-8-sig", "cp1252", "utf-16"):
        frame = read_upload(text.encode(enc), "d.csv")
        assert list(frame.columns) == ["Deal ID", "Stage", "Amount", "Owner"]
        assert frame["Deal ID"].iloc[0] == "001"
        assert frame["Owner"].iloc[0] == "Zoë Müller"
    tab = read_upload(b"a\tb\n1\t2\n", "x.tsv")
    assert list(tab.columns) == ["a", "b"]


def test_read_upload_rejects_bad_files_clearly():
    with pytest.raises(PipesheetError, match="too large"):
        read_upload(b"x" * 11, "d.csv", max_bytes=10)
    with pytest.raises(PipesheetError, match="empty"):
        read_upload(b"  \n", "d.csv")
    with pytest.raises(PipesheetError, match="single column"):
        read_upload(b"only one column\nvalue\n", "d.csv")
    with pytest.raises(PipesheetError, match=r"renamed to \.csv"):
        read_upload(b"PK\x03\x04\x00rest", "d.csv")


# ---- serving and notebooks ----------------------------------------------------------------------
def test_notebooks_only_import_and_display_the_apps():
    from pipesheet.apps.serve import NOTEBOOKS, notebook_json

    for name in NOTEBOOKS:
        on_disk = json.loads((ROOT / "notebooks" / name).read_text(encoding="utf-8"))
        assert on_disk == notebook_json(name)
        (cell,) = on_disk["cells"]
        assert "".join(cell["source"]).startswith("from pipesheet.apps import")


def test_voila_command_and_config():
    from pipesheet.apps.serve import CONFIG_DIR, voila_command, voila_env

    cmd = voila_command("nb", port=9999, pool_size=2, cull_idle=300)
    for flag in (
        "--port=9999",
        "--Voila.ip=127.0.0.1",
        "--no-browser",
        "--show_tracebacks=False",
        "--strip_sources=True",
        "--MappingKernelManager.cull_idle_timeout=300",
        "--preheat_kernel=True",
        "--pool_size=2",
    ):
        assert flag in cmd
    config = json.loads((CONFIG_DIR / "voila.json").read_text())
    assert config["Voila"]["tornado_settings"]["websocket_max_message_size"] >= 64 * 2**20
    env = voila_env({"JUPYTER_CONFIG_PATH": "/x"})
    assert env["JUPYTER_CONFIG_PATH"].split(":") == [str(CONFIG_DIR), "/x"]


def test_cli_app_print_command(capsys):
    from pipesheet.cli import main

    assert main(["app", "dashboard", "--port", "8123", "--print-command"]) == 0
    out = capsys.readouterr().out
    assert "dashboard.ipynb" in out and "--port=8123" in out and "voila" in out


def test_notebooks_execute_headlessly():
    nbclient = pytest.importorskip("nbclient")
    import nbformat

    for name in ("lead_planner.ipynb", "dashboard.ipynb"):
        nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
        nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
        outputs = nb.cells[0]["outputs"]
        assert outputs, name
        assert not [o for o in outputs if o["output_type"] == "error"]
        assert "application/vnd.jupyter.widget-view+json" in outputs[0]["data"]


def test_upload_errors_name_the_spreadsheet_row_after_a_blank_line():
    # header = row 1, a blank line = row 3: the negative amount is on spreadsheet row 4
    content = b"Deal ID,Stage,Amount\nA,Lead,100\n\nB,Lead,-5\n"
    with pytest.raises(PipesheetError) as err:
        read_deals(read_upload(content, "d.csv"), stages=StageList(("Lead",)))
    assert "row 4" in str(err.value) and "negative" in str(err.value)
