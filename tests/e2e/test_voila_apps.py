"""End to end: a real Voila server (started as ``pipesheet app`` starts it) driven by headless
Chromium through Playwright. Skipped locally without chromium; fails under CI=true.

Pass/fail only: no timing is asserted (the first-render time is measured by
``benchmarks/bench_apps.py --browser``). Every wait is on a condition, with a generous limit, so
that a loaded machine is slower but never fails. Screenshots are saved under ``artifacts/``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import in_ci, require_tool

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
#: Generous limits of the condition waits (milliseconds): only a hang reaches them.
RENDER_WAIT_MS = 180_000
UPDATE_WAIT_MS = 120_000
SERVER_START_S = 300
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _need(module: str):
    try:
        return __import__(module)
    except ImportError:
        if in_ci():
            pytest.fail(f"needs the Python package {module} (CI must not skip)")
        pytest.skip(f"needs the Python package {module}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    """``pipesheet app`` itself, on a free port; stopped with SIGTERM (which stops its kernels)."""
    _need("voila")
    port = _free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = (ARTIFACTS / "voila.log").open("w")
    cmd = [
        sys.executable,
        "-m",
        "pipesheet.cli",
        "app",
        "--port",
        str(port),
        "--pool-size",
        "1",
        "--cull-idle",
        "300",
        "--notebooks",
        str(ROOT / "notebooks"),
    ]
    paths = [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_S
    while True:
        try:
            with urllib.request.urlopen(base + "/", timeout=30) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("pipesheet app did not start; see artifacts/voila.log")
        time.sleep(0.3)
    # wait until the preheated kernel pools are filled (a page then starts on a ready kernel)
    pools = [f"Kernel pool of {n} is filled" for n in ("lead_planner.ipynb", "dashboard.ipynb")]
    while not all(p in (ARTIFACTS / "voila.log").read_text() for p in pools):
        if time.monotonic() > deadline + SERVER_START_S:
            break
        time.sleep(0.3)
    yield base
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    chromium = require_tool("chromium", "chromium-browser")
    _need("playwright")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def warm(server, browser):
    """Open the server's start page once: browser start-up is not part of an app's render."""
    ctx = browser.new_context()
    ctx.new_page().goto(server + "/")
    ctx.close()
    return server


@pytest.fixture()
def page(browser, warm):
    ctx = browser.new_context(viewport={"width": 1300, "height": 2400})
    pg = ctx.new_page()
    yield pg
    ctx.close()


def _open(page, url: str, selector: str) -> None:
    """Open an app and wait until ``selector`` has rendered (no time limit but a hang's)."""
    page.goto(url, timeout=RENDER_WAIT_MS)
    page.wait_for_selector(selector, timeout=RENDER_WAIT_MS)


def _images_loaded(page) -> None:
    """Wait until every image on the page has decoded (before a screenshot)."""
    page.wait_for_function(
        "() => [...document.images].every(i => i.complete)", timeout=UPDATE_WAIT_MS
    )


def _input(page, label: str):
    """The text input of the ipywidget whose description is ``label``."""
    return page.locator(".widget-inline-hbox", has=page.get_by_text(label, exact=True)).locator(
        "input"
    )


def test_lead_planner_in_the_browser(server, page):
    from pipesheet import leads_needed

    _open(page, f"{server}/voila/render/lead_planner.ipynb", "#kpi-won-needed")
    assert page.locator("#kpi-won-needed .value").inner_text() == "40"
    page.screenshot(path=str(ARTIFACTS / "lead_planner.png"))

    box = _input(page, "Revenue target")
    box.fill("2345000")
    box.press("Enter")
    plan = leads_needed(2_345_000, 25_000, {"Lead": 50, "Qualified": 40, "Proposal": 25})
    page.wait_for_function(
        "v => document.querySelector('#kpi-won-needed .value').innerText === v",
        arg=str(plan.won_needed),
        timeout=UPDATE_WAIT_MS,
    )
    leads = page.locator("#kpi-leads .value").inner_text()
    assert leads == f"{plan.leads:,}"
    table = page.locator("#funnel-table").inner_text()
    assert f"{plan.leads:,}" in table
    assert plan.explanation[1] in page.locator("#explanation").inner_text()
    _images_loaded(page)  # the new chart image decoded before the screenshot
    page.screenshot(path=str(ARTIFACTS / "lead_planner_changed.png"))


def _dashboard_oracle(quota: float):
    """The core's P(≥ quota) for the dashboard's default view (sample data, quarter 2026-Q4)."""
    from pipesheet import StageProbabilities, deal_probabilities, period_labels, reporting_amounts
    from pipesheet.ranges import forecast_range
    from pipesheet.sample import sample_deals, sample_history, sample_rates

    sp = StageProbabilities().fit(sample_history(), sample_deals())
    deals = sp.deals_
    frame = deals.frame
    k = deals.stages.k
    code = frame["code"].to_numpy()
    when = frame["close_date"].where(code < k, frame["closed_date"].fillna(frame["close_date"]))
    mask = (code <= k) & (period_labels(when, "quarter").to_numpy() == "2026-Q4")
    rates = sample_rates().set_index("Currency")["Rate"].to_dict()
    amount, _ = reporting_amounts(deals, rates)
    p = deal_probabilities(deals, sp)
    return forecast_range(amount[mask], p[mask], quota=quota)


def test_dashboard_in_the_browser(server, page):
    _open(page, f"{server}/voila/render/dashboard.ipynb", "#range-table")
    assert "bundled sample data" in page.locator("#source").inner_text()
    assert "Configured (CRM)" in page.locator("#probability-table").inner_text()
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"))
    # the time-aware and health sections render in the browser too
    assert "Time-aware" in page.locator("#timeaware-table").inner_text()
    assert "Days in stage" in page.locator("#stale-table").inner_text()
    assert "won" in page.locator("#cycle-table").inner_text()

    quota = 3_000_000
    expected = f"{_dashboard_oracle(quota).p_quota * 100:.1f}%"
    box = _input(page, "Quota")
    box.fill(str(quota))
    box.press("Enter")
    page.wait_for_function(
        "v => document.querySelector('#p-quota').innerText === v",
        arg=expected,
        timeout=UPDATE_WAIT_MS,
    )
    assert "3,000,000" in page.locator("#range-table").inner_text()


def test_dashboard_bad_upload_shows_the_engine_message(server, page):
    from pipesheet import PipesheetError, read_deals
    from pipesheet.apps.uploads import read_upload

    _open(page, f"{server}/voila/render/dashboard.ipynb", "#range-table")
    bad = b"Deal ID,Stage,Amount,Close Date\nD1,Lead,100,2026-10-01\nD2,Lead,lots,2026-11-01\n"
    with pytest.raises(PipesheetError) as err:
        read_deals(read_upload(bad, "bad_deals.csv"))
    message = str(err.value)
    with page.expect_file_chooser() as chooser:
        page.locator("button", has_text="Deals file").click()
    chooser.value.set_files(
        files=[{"name": "bad_deals.csv", "mimeType": "text/csv", "buffer": bad}]
    )
    alert = page.locator(".pipesheet-error")
    alert.wait_for(timeout=UPDATE_WAIT_MS)
    text = alert.inner_text()
    assert message in text
    assert "Traceback" not in page.content()
    assert "bundled sample data" in text  # and it says what the page still shows
    page.screenshot(path=str(ARTIFACTS / "dashboard_bad_upload.png"))


def test_dashboard_calibrated_panel_in_the_browser(server, page):
    """The calibrated forecast panel shows the engine's numbers, and its backtest runs on the
    button's click (issue 9)."""
    from pipesheet import backtest, calibrated_forecast
    from pipesheet.apps.common import fmt_money
    from pipesheet.sample import sample_deals, sample_history, sample_rates

    _open(page, f"{server}/voila/render/dashboard.ipynb", "#calibrated-table")
    history, deals, rates = sample_history(), sample_deals(), sample_rates()
    api = calibrated_forecast(history, deals, "quarter", quota=2_000_000, rates=rates)
    assert page.locator("#calibrated-forecast").inner_text() == fmt_money(api.forecast)
    assert page.locator("#calibrated-p10").inner_text() == fmt_money(api.p10)
    assert page.locator("#calibrated-p90").inner_text() == fmt_money(api.p90)
    assert page.locator("#calibrated-p-quota").inner_text() == f"{api.p_quota * 100:.1f}%"
    assert api.method in page.locator("#calibrated-method").inner_text()
    assert len(api.evidence) == page.locator("#calibrated-evidence tbody tr").count()
    page.locator("button", has_text="Backtest the last").click()
    page.locator("#calibrated-backtest").wait_for(timeout=UPDATE_WAIT_MS)
    wide = backtest(history, deals, "2025-07-01", 4, "quarter", rates=rates).wide
    text = page.locator("#calibrated-backtest").inner_text()
    for value, method in zip(wide["forecast"], wide["method"], strict=True):
        assert fmt_money(value) in text and method in text
    page.locator("#calibrated-table").scroll_into_view_if_needed()
    _images_loaded(page)
    panel = page.locator(".widget-vbox", has=page.locator("#calibrated-table")).last
    panel.screenshot(path=str(ARTIFACTS / "dashboard_calibrated.png"))
    assert "Traceback" not in page.content()


def test_dashboard_scenario_in_the_browser(server, page):
    """Change the scenario panel's what-if and its parameter: the page shows the P(≥ quota) after
    that the engine computes (apply_scenarios on the same data and settings)."""
    from pipesheet import StageProbabilities, apply_scenarios
    from pipesheet.sample import SAMPLE_AS_OF, sample_deals, sample_history, sample_rates

    deals, history = sample_deals(), sample_history()
    scenario = "conversion Negotiation=90%"
    after = apply_scenarios(
        deals,
        StageProbabilities().fit(history, deals),
        scenario,
        quota=2_000_000,
        start="2026-10-01",
        end="2026-12-31",
        as_of=SAMPLE_AS_OF,
        rates=sample_rates(),
        history=history,
    ).table.iloc[0]
    expected = f"{after['p_quota_after'] * 100:.1f}%"

    _open(page, f"{server}/voila/render/dashboard.ipynb", "#scenario-table")
    assert "drops the 3 largest" in page.locator("#scenario-change").inner_text()
    kind = page.locator(".widget-dropdown", has=page.get_by_text("What if", exact=True))
    kind.locator("select").select_option(label="Change a stage's conversion")
    page.wait_for_function(
        "() => document.querySelector('#scenario-change').innerText.includes('Proposal')",
        timeout=UPDATE_WAIT_MS,
    )
    box = _input(page, "Parameter")
    box.fill("Negotiation=90%")
    box.press("Enter")
    page.wait_for_function(
        "v => document.querySelector('#scenario-p_quota-after').innerText === v",
        arg=expected,
        timeout=UPDATE_WAIT_MS,
    )
    before = f"{after['p_quota_before'] * 100:.1f}%"
    assert page.locator("#scenario-p_quota-before").inner_text() == before
    assert (
        "at Negotiation with win probability 90.0%" in page.locator("#scenario-change").inner_text()
    )
    page.screenshot(path=str(ARTIFACTS / "dashboard_scenario.png"))
