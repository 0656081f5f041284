"""End to end: the dashboard's pipeline selector in a real browser (issue 14.4). A team with two
pipelines is uploaded (its stage history, then its deals), the panel shows every pipeline and
the total, and choosing one pipeline shows it alone — the engine's numbers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from test_voila_apps import (  # noqa: F401 (the fixtures: the server, the browser, a page)
    ARTIFACTS,
    UPDATE_WAIT_MS,
    _open,
    browser,
    page,
    server,
    warm,
)

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "teams"


def _upload(pg, button: str, path: Path) -> None:
    with pg.expect_file_chooser() as chooser:
        pg.locator("button", has_text=button).click()
    chooser.value.set_files(
        files=[{"name": path.name, "mimeType": "text/csv", "buffer": path.read_bytes()}]
    )


def test_dashboard_pipeline_selector_in_the_browser(server, page):  # noqa: F811
    import pipesheet as ps
    from pipesheet.pipelines import pipeline_summary

    deals, history = pd.read_csv(FIX / "deals.csv"), pd.read_csv(FIX / "history.csv")
    model = ps.StageProbabilities().fit(history, deals)
    total = pipeline_summary(ps.price_deals(deals, model))
    renewal = deals[deals["Pipeline"] == "Renewal"]
    alone = ps.StageProbabilities().fit(
        history[history["Deal ID"].isin(renewal["Deal ID"])], renewal
    )
    renewal_weighted = ps.price_deals(renewal, alone).weighted

    _open(page, f"{server}/voila/render/dashboard.ipynb", "#range-table")
    _upload(page, "Stage history file", FIX / "history.csv")
    _upload(page, "Deals file", FIX / "deals.csv")
    page.wait_for_function(
        "() => (document.querySelector('#pipelines-table') || {}).innerText?.includes('Renewal')",
        timeout=UPDATE_WAIT_MS,
    )
    table = page.locator("#pipelines-table").inner_text()
    for value in total["weighted"]:
        assert f"{value:,.0f}" in table
    assert "R7" in page.locator("#overrides-table").inner_text()
    assert "Price" in page.locator("#losses-reasons").inner_text()
    page.screenshot(path=str(ARTIFACTS / "dashboard_pipelines.png"))

    page.get_by_label("Pipeline", exact=True).select_option("Renewal")
    page.wait_for_function(
        "() => document.querySelector('#pipelines-intro').innerText.includes('Renewal only')",
        timeout=UPDATE_WAIT_MS,
    )
    shown = page.locator("#pipelines-table").inner_text()
    assert f"{renewal_weighted:,.0f}" in shown and "New business" not in shown
    assert "Renewal call" in page.locator("#probability-table").inner_text()
    assert "Negotiation" not in page.locator("#probability-table").inner_text()
    assert "Traceback" not in page.content()
    page.screenshot(path=str(ARTIFACTS / "dashboard_one_pipeline.png"))
