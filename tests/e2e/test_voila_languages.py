"""End to end: the apps in the page's language (issue 12), on a real ``pipesheet app`` server (the
fixtures of :mod:`test_voila_apps`) in headless Chromium.

``?lang=vi`` and ``?lang=sl`` in the address: the headings are translated and every number of the
forecast range is the engine's number written as that language writes it (CLDR, as
:mod:`pipesheet.formats` writes it); the language selector switches a page and back. The first
page of each app is served by a preheated kernel (``--pool-size 1``), which waits for the page's
request to learn its language; later pages by kernels started for them — both ways are used.
Pass/fail only: every wait is on a condition. Screenshots go to ``artifacts/`` (those of the
documentation, ``dashboard_vi.png`` and ``dashboard_sl.png``, are copied into ``docs/img/``).
"""

from __future__ import annotations

from test_voila_apps import (  # noqa: F401  (pytest fixtures)
    ARTIFACTS,
    RENDER_WAIT_MS,
    UPDATE_WAIT_MS,
    _dashboard_oracle,
    _images_loaded,
    _open,
    browser,
    page,
    server,
    warm,
)

from pipesheet.formats import format_number, format_percent

QUOTA = 2_000_000  # the dashboard's default quota
RANGE_CELLS = ("range-mean", "range-p10", "range-p50", "range-p90")


def _engine_range():
    return _dashboard_oracle(QUOTA)


def _expected_cells(lang: str) -> dict[str, str]:
    """The forecast range's cells as the page must show them in ``lang``."""
    r = _engine_range()
    values = dict(zip(RANGE_CELLS, (r.mean, r.p10, r.p50, r.p90), strict=True))
    cells = {key: format_number(v, 0, lang) for key, v in values.items()}
    cells["p-quota"] = format_percent(r.p_quota, 1, lang)
    return cells


def _check_range(pg, lang: str) -> None:
    for key, text in _expected_cells(lang).items():
        assert pg.locator(f"#{key}").inner_text() == text, key


def _heading(pg, text: str):
    return pg.locator("h3", has_text=text)


def test_dashboard_in_vietnamese(server, page):  # noqa: F811
    _open(page, f"{server}/voila/render/dashboard.ipynb?lang=vi", "#range-table")
    for heading in ("Dự báo có trọng số", "Khoảng dự báo", "Dữ liệu của bạn"):
        _heading(page, heading).first.wait_for(timeout=RENDER_WAIT_MS)
    assert page.locator("h2").first.inner_text() == "Bảng điều khiển dự báo pipeline"
    assert "P(thắng) học được" in page.locator("#probability-table").inner_text()
    assert "3.000 thương vụ" in page.locator("#source").inner_text()
    _check_range(page, "vi")
    assert "Đã thắng trong kỳ (đã chốt đến nay)" in page.locator("#range-table").inner_text()
    assert "Weighted forecast" not in page.content()
    # the engine's notes too (the stage order's note comes from the engine, not the app)
    assert "thứ tự giai đoạn suy ra từ lịch sử" in page.inner_text("body")
    assert "stage order" not in page.inner_text("body")
    assert "Traceback" not in page.content()
    _images_loaded(page)
    page.screenshot(path=str(ARTIFACTS / "dashboard_vi.png"))


def test_dashboard_in_slovenian(server, page):  # noqa: F811
    _open(page, f"{server}/voila/render/dashboard.ipynb?lang=sl", "#range-table")
    for heading in ("Utežena napoved", "Razpon napovedi", "Vaši podatki"):
        _heading(page, heading).first.wait_for(timeout=RENDER_WAIT_MS)
    assert "Naučena P(dobitek)" in page.locator("#probability-table").inner_text()
    assert "3.000 poslov" in page.locator("#source").inner_text()
    _check_range(page, "sl")
    assert "vrstni red faz izpeljan iz zgodovine" in page.inner_text("body")
    assert "stage order" not in page.inner_text("body")
    assert "Traceback" not in page.content()
    _images_loaded(page)
    page.screenshot(path=str(ARTIFACTS / "dashboard_sl.png"))


def test_the_language_selector_switches_the_page(server, page):  # noqa: F811
    _open(page, f"{server}/voila/render/dashboard.ipynb", "#range-table")
    english = _expected_cells("en")
    assert page.locator("#p-quota").inner_text() == english["p-quota"]
    selector = page.locator(".widget-dropdown", has=page.get_by_text("Language", exact=True))
    selector.locator("select").select_option(label="Slovenščina")
    _heading(page, "Utežena napoved").first.wait_for(timeout=UPDATE_WAIT_MS)
    page.wait_for_function(
        "v => document.querySelector('#p-quota').innerText === v",
        arg=_expected_cells("sl")["p-quota"],
        timeout=UPDATE_WAIT_MS,
    )
    _check_range(page, "sl")
    selector = page.locator(".widget-dropdown", has=page.get_by_text("Jezik", exact=True))
    selector.locator("select").select_option(label="English")
    _heading(page, "Weighted forecast").first.wait_for(timeout=UPDATE_WAIT_MS)
    page.wait_for_function(
        "v => document.querySelector('#p-quota').innerText === v",
        arg=english["p-quota"],
        timeout=UPDATE_WAIT_MS,
    )
    _check_range(page, "en")
    assert "Traceback" not in page.content()


def test_lead_planner_in_catalan(server, page):  # noqa: F811
    from pipesheet import leads_needed

    _open(page, f"{server}/voila/render/lead_planner.ipynb?lang=ca", "#kpi-won-needed")
    plan = leads_needed(1_000_000, 25_000, {"Lead": 50, "Qualified": 40, "Proposal": 25})
    won = page.locator("#kpi-won-needed")
    assert won.locator(".value").inner_text() == format_number(plan.won_needed, 0, "ca")
    assert won.locator(".label").inner_text() == "Oportunitats guanyades necessàries"
    leads = page.locator("#kpi-leads .value").inner_text()
    assert leads == format_number(plan.leads, 0, "ca") == "800"
    assert "Etapa" in page.locator("#funnel-table").inner_text()
