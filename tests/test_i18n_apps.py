"""The apps in the page's language (issue 12): the words, the engine's notes and the number and
date formats follow the language; the numbers never change.

Every number a translated page shows is parsed back (the language's separators) and compared
with the number the English page shows and the engine computes."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("matplotlib")
pytest.importorskip("babel")

from pipesheet.apps import common
from pipesheet.apps.common import INTERNAL_ERROR, guard, page_language
from pipesheet.apps.dashboard import ALL, Dashboard
from pipesheet.apps.lead_planner import LeadPlanner
from pipesheet.apps.uploads import format_size
from pipesheet.formats import format_number, format_percent
from pipesheet.i18n import language

ROOT = Path(__file__).resolve().parents[1]
TODAY = dt.date(2026, 10, 1)
RANGE_CELLS = ("range-closed", "range-mean", "range-p10", "range-p50", "range-p90")


def parse(text: str, lang: str) -> float:
    """A number as the language writes it (``2.053.862`` / ``54,2%`` in vi) → float."""
    group, point = (",", ".") if lang == "en" else (".", ",")
    clean = text.strip().rstrip("%×").replace("\u00a0", "").replace(group, "")
    return float(clean.replace(point, "."))


def cell(html: str, ident: str) -> str:
    """The text of the element with ``id="ident"`` in an HTML fragment."""
    found = re.search(rf'id="{re.escape(ident)}"[^>]*>([^<]*)<', html)
    assert found, ident
    return found.group(1)


def table_cells(html: str, css_id: str) -> list[list[str]]:
    """The cells of the table ``css_id`` (body rows)."""
    body = html.split(f'id="{css_id}"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body.split("<tbody>", 1)[1])
    return [re.findall(r"<td>(.*?)</td>", r) for r in rows]


def texts(widget) -> str:
    """Every text a widget tree shows: HTML values, descriptions, options, titles."""
    out = []
    for attr in ("value", "description"):
        value = getattr(widget, attr, None)
        if isinstance(value, str):
            out.append(value)
    out += [str(o[0] if isinstance(o, tuple) else o) for o in getattr(widget, "options", ())]
    out += [str(t) for t in getattr(widget, "titles", ()) or ()]
    for child in getattr(widget, "children", ()):
        out.append(texts(child))
    return "\n".join(out)


@pytest.fixture(scope="module")
def english():
    return Dashboard()


@pytest.fixture(scope="module")
def vietnamese():
    return Dashboard(lang="vi")


# ---- the dashboard in Vietnamese --------------------------------------------------------------
def test_the_dashboard_in_vietnamese_shows_vietnamese_words(vietnamese):
    page = texts(vietnamese.widget)
    for words in (
        "Bảng điều khiển dự báo pipeline",  # the title
        "Dự báo có trọng số",  # weighted forecast (section)
        "Khoảng dự báo",  # forecast range (section)
        "Xác suất giai đoạn: học được và đã cấu hình",
        "Đã chốt đến nay",  # closed so far (glossary)
        "Ngôn ngữ",  # the selector's label
        "Tiếng Việt",
        "Nhóm theo",  # group by
    ):
        assert words in page, words
    assert "Weighted forecast" not in page and "Group by" not in page
    assert "P(thắng) học được" in vietnamese.prob_table.value
    assert "Giai đoạn" in vietnamese.forecast_table.value or "Kỳ" in vietnamese.forecast_table.value
    assert vietnamese.language.value == "vi" and vietnamese.lang == "vi"


def test_the_dashboard_numbers_in_vietnamese_equal_the_english_ones(english, vietnamese):
    assert vietnamese.range_period.value == english.range_period.value == "2026-Q4"
    r = english.range_
    for ident, value in zip(RANGE_CELLS, (r.closed, r.mean, r.p10, r.p50, r.p90), strict=True):
        en, vi = cell(english.range_html.value, ident), cell(vietnamese.range_html.value, ident)
        assert vi == format_number(value, 0, "vi")
        assert parse(vi, "vi") == parse(en, "en") == round(value)
    p_en, p_vi = (
        cell(english.range_html.value, "p-quota"),
        cell(vietnamese.range_html.value, "p-quota"),
    )
    assert p_vi == format_percent(r.p_quota, 1, "vi") and "," in p_vi
    assert parse(p_vi, "vi") == parse(p_en, "en")
    # every cell of the weighted forecast table: the same numbers, the language's separators
    en_rows = table_cells(english.forecast_table.value, "forecast-table")
    vi_rows = table_cells(vietnamese.forecast_table.value, "forecast-table")
    assert len(en_rows) == len(vi_rows) > 3
    for en_row, vi_row in zip(en_rows, vi_rows, strict=True):
        assert en_row[0] == vi_row[0]  # the period label is data
        for en_cell, vi_cell in zip(en_row[1:], vi_row[1:], strict=True):
            assert parse(vi_cell, "vi") == parse(en_cell, "en")
    # the engine's results are the same objects' numbers whatever the language
    assert vietnamese.range_.p_quota == english.range_.p_quota
    assert vietnamese.forecast.equals(english.forecast)


def test_the_dashboard_dates_are_in_the_language(english, vietnamese):
    assert "3,000 deals as of 30 Sep 2026" in english.source_html.value
    assert "3.000 thương vụ, tính đến ngày chốt 30 thg 9, 2026" in vietnamese.source_html.value
    assert "won between 2026-10-01 and 2026-12-31" in english.timeaware_html.value
    assert "từ 1 thg 10, 2026 đến 31 thg 12, 2026" in vietnamese.timeaware_html.value


def test_the_download_names_its_sheets_in_the_language_and_keeps_numbers(vietnamese):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.load_workbook(io.BytesIO(vietnamese.results_xlsx()))
    assert "Dự báo có trọng số" in wb.sheetnames and "Weighted forecast" not in wb.sheetnames
    assert set(vietnamese.results()) >= {"Weighted forecast", "Forecast range"}  # the API
    ws = wb["Khoảng dự báo"]
    values = [c.value for row in ws.iter_rows(min_row=2) for c in row]
    p50 = vietnamese.range_.p50  # a number in the cell, not text
    assert any(isinstance(v, float) and v == pytest.approx(p50, rel=1e-12) for v in values)


# ---- switching the language on the page -------------------------------------------------------
def test_switching_the_language_rewrites_words_and_formats_never_numbers():
    app = Dashboard()
    app.quota.value = 3_000_000
    app.group.value = "owner"
    owner = app.filter.options[2]
    app.filter.value = owner
    before = {
        "range": app.range_html.value,
        "forecast": app.forecast_table.value,
        "probabilities": app.prob_table.value,
        "time-aware": app.timeaware_html.value,
        "health": app.health_html.value,
        "balance": app.balance_panel.balance_html.value,
        "scenario": app.scenario_panel.html.value,
    }
    numbers = (app.range_.p_quota, app.range_.p50, app.forecast.copy())
    app.language.value = "sl"  # the selector on the page
    assert app.lang == "sl"
    assert "Utežena napoved" in texts(app.widget)  # weighted forecast
    assert (
        "Doslej zaključeno" in app.range_html.value or "doslej zaključeno" in app.range_html.value
    )
    assert app.quota.value == 3_000_000 and app.group.value == "owner"
    assert app.filter.value == owner  # the same owner shown
    assert app.range_.p_quota == numbers[0] and app.range_.p50 == numbers[1]
    assert app.forecast.equals(numbers[2])
    p_sl = cell(app.range_html.value, "p-quota")
    assert parse(p_sl, "sl") == parse(cell(before["range"], "p-quota"), "en")
    # back to English: every table byte for byte as before
    app.set_language("en")
    assert app.range_html.value == before["range"]
    assert app.forecast_table.value == before["forecast"]
    assert app.prob_table.value == before["probabilities"]
    assert app.timeaware_html.value == before["time-aware"]
    assert app.health_html.value == before["health"]
    assert app.balance_panel.balance_html.value == before["balance"]
    assert app.scenario_panel.html.value == before["scenario"]
    assert app.error == ""


def test_the_filter_of_every_group_follows_the_language():
    app = Dashboard()
    app.group.value = "owner"
    assert app.filter.value == ALL == "(all)"
    app.set_language("it")
    assert app.filter.value == "(tutti)" and app.filter.options[0] == "(tutti)"
    assert app.forecast["owner"].nunique() > 1  # still every owner
    app.set_language("en")
    assert app.filter.value == ALL


def test_an_unknown_language_is_named_and_the_page_keeps_its_own():
    app = LeadPlanner(today=TODAY)
    app.set_language("de")
    assert app.lang == "en"
    assert "'de'" in app.error and "sl (Slovenščina)" in app.error
    assert "Won deals needed" in app.kpis.value


def test_the_guard_speaks_the_page_language():
    shown: list[str] = []

    def bug(_change):
        raise ZeroDivisionError

    guard(shown.append, bug, lang=lambda: "it")(None)
    with language("it"):
        assert shown == [common._(INTERNAL_ERROR)]
    assert shown[0] != INTERNAL_ERROR and "pipesheet" in shown[0]


# ---- the lead planner -------------------------------------------------------------------------
def test_the_lead_planner_in_vietnamese_shows_words_and_the_same_numbers():
    kwargs = {
        "today": TODAY,
        "period": "quarter",
        "closed": 100_000,
        "expected_open": 29_000,
        "open_pipeline": 140_000,
        "cycle_days": 30,
    }
    en, vi = LeadPlanner(**kwargs), LeadPlanner(lang="vi", **kwargs)
    assert vi.outputs()["won_needed"] == en.outputs()["won_needed"] == 40
    assert "Số thương vụ thắng cần có" in vi.kpis.value  # won deals needed
    assert "Độ bao phủ pipeline" in vi.kpis.value  # pipeline coverage (glossary)
    assert "Won deals needed" not in vi.kpis.value
    for key in ("won-needed", "leads", "new-won", "per-week", "coverage"):
        en_value = re.search(rf'kpi-{key}".*?class="value">([^<]*)<', en.kpis.value).group(1)
        vi_value = re.search(rf'kpi-{key}".*?class="value">([^<]*)<', vi.kpis.value).group(1)
        assert parse(vi_value, "vi") == parse(en_value, "en"), key
    assert "," in re.search(r'kpi-per-week".*?class="value">([^<]*)<', vi.kpis.value).group(1)
    for en_row, vi_row in zip(
        table_cells(en.table.value, "funnel-table"),
        table_cells(vi.table.value, "funnel-table"),
        strict=True,
    ):
        assert [v and parse(v, "vi") for v in vi_row[1:]] == [
            v and parse(v, "en") for v in en_row[1:]
        ]  # a blank cell stays blank
    assert "Giai đoạn" in vi.table.value and "31 thg 12, 2026" in vi.status.value
    assert "Period ends 31 Dec 2026; 91 days left." in en.status.value


def test_the_lead_planner_switches_language_and_back():
    app = LeadPlanner(today=TODAY)
    english = (app.kpis.value, app.table.value, app.status.value, app.explanation.value)
    app.target.value = 2_345_000
    app.language.value = "ca"
    assert "Oportunitats guanyades necessàries" in app.kpis.value
    assert "Objectiu d'ingressos" == app.target.description and app.target.value == 2_345_000
    assert app._rate_inputs["Lead"].description == "Lead → següent (%)"
    app.target.value = 1_000_000
    app.set_language("en")
    assert (app.kpis.value, app.table.value, app.status.value, app.explanation.value) == english


# ---- the page's language: ?lang= ----------------------------------------------------------------
def test_page_language_reads_the_query_string(monkeypatch):
    assert page_language("lang=sl") == "sl"
    assert page_language("token=abc&lang=vi") == "vi"
    assert page_language("lang=") is None and page_language("") is None
    monkeypatch.setattr(common, "_QUERY", [])
    monkeypatch.setenv("QUERY_STRING", "lang=ca")
    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    assert page_language() == "ca"


def test_a_preheated_kernel_waits_once_for_the_page_request(monkeypatch):
    voila_utils = pytest.importorskip("voila.utils")
    calls = []

    def get_query_string(url=None):
        calls.append(url)
        return "lang=sl"

    monkeypatch.setattr(voila_utils, "get_query_string", get_query_string)
    monkeypatch.setattr(common, "_QUERY", [])
    monkeypatch.setenv("VOILA_PREHEAT", "True")
    monkeypatch.delenv("QUERY_STRING", raising=False)
    assert page_language() == "sl"
    assert page_language() == "sl"
    assert len(calls) == 1  # a second wait would never end


def test_sizes_follow_the_language():
    assert format_size(25 * 1024 * 1024) == "25 MB"
    with language("it"):
        assert format_size(int(1.5 * 1024 * 1024)) == "1,5 MB"
        assert format_size(1000) == "1000 byte"
    assert format_size(int(1.5 * 1024 * 1024)) == "1.5 MB"


def test_the_notebook_speaks_the_query_string(monkeypatch):
    """The lead planner's notebook, executed as Voila runs it (QUERY_STRING in the kernel's
    environment), shows its page in Slovenian."""
    nbclient = pytest.importorskip("nbclient")
    import nbformat

    monkeypatch.setenv("QUERY_STRING", "lang=sl")
    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    nb = nbformat.read(ROOT / "notebooks" / "lead_planner.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=180, kernel_name="python3", store_widget_state=True
    )
    client.execute()
    assert not [o for o in nb.cells[0]["outputs"] if o["output_type"] == "error"]
    state = json.dumps(nb.metadata["widgets"], ensure_ascii=False)
    assert "Potrebni dobljeni posli" in state  # won deals needed
    assert "Slovenščina" in state
