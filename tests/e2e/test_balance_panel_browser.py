"""End to end: the dashboard's pipeline balance panel in headless Chromium, on a real
``pipesheet app`` server (the fixtures of :mod:`test_voila_apps`). Changing the revenue target
on the page shows the engine's new numbers. Pass/fail only: every wait is on a condition."""

from __future__ import annotations

from test_voila_apps import (  # noqa: F401  (pytest fixtures)
    ARTIFACTS,
    UPDATE_WAIT_MS,
    _input,
    _open,
    browser,
    page,
    server,
    warm,
)


def _engine(target: float):
    """The engine's balance for the panel's default view: sample data, the as-of day's quarter."""
    from pipesheet.balance import pipeline_balance
    from pipesheet.sample import sample_deals, sample_history, sample_rates
    from pipesheet.tables import read_rates

    rates = read_rates(sample_rates()).to_dict()
    return pipeline_balance(
        sample_history(), sample_deals(), target, "2026-07-01", "2026-09-30", rates=rates
    )


def test_balance_panel_in_the_browser(server, page):  # noqa: F811
    _open(page, f"{server}/voila/render/dashboard.ipynb", "#balance-table")
    inputs = page.locator("#balance-inputs").inner_text()
    assert "Target 2,000,000 EUR for 2026-07-01 to 2026-09-30" in inputs  # the quota, Q3
    assert "No flag raised" in page.locator("#stage-design-ok").inner_text()

    want = _engine(3_000_000)
    box = _input(page, "Revenue target")
    box.fill("3000000")
    box.press("Enter")
    page.wait_for_function(
        "v => document.querySelector('#balance-inputs').innerText.includes(v)",
        arg="Target 3,000,000 EUR",
        timeout=UPDATE_WAIT_MS,
    )
    table = page.locator("#balance-table").inner_text()
    lines = {line.split("\t")[0]: line for line in table.splitlines()}
    for row in want.table.itertuples():
        line = lines[row.stage]
        assert f"{row.needed:,.1f}" in line and f"{row.open:,}" in line, line
        assert row.status in line, line
    thin = want.table[want.table["status"] == "thin"]
    assert len(thin)  # this target leaves stages thin: the week their shortfall reaches Won
    for row in thin.itertuples():
        assert f"week of {row.starves_won_week.date()}" in lines[row.stage]
    advice = page.locator("#balance-advice").inner_text()
    for line in want.advice:
        assert line in advice
    assert (
        "The first shortfall reaches Won in the week of"
        in page.locator("#balance-starves").inner_text()
    )
    page.locator("#balance-table").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "dashboard_balance.png"))
