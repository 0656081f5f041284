"""The Excel functions in the language of the call, through xlwings' own Office.js dispatcher:
the culture Office.js sends (``culture_info_name``) or the optional last argument ``lang`` choose
the words — headings, messages, descriptions — and never a number."""

from __future__ import annotations

import os

os.environ["XLWINGS_ON_SERVER"] = "true"
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

import asyncio
import inspect
from typing import Any

import pytest

xlwings = pytest.importorskip("xlwings")
import xlwings.server as xls  # noqa: E402

import pipesheet.excel as excel  # noqa: E402
from pipesheet.excel.convert import spill_frame  # noqa: E402
from pipesheet.i18n import language  # noqa: E402
from test_excel_docs import DEALS, HISTORY, STAGES  # noqa: E402


def call(func_name: str, *args: Any, culture: str = "en-US") -> Any:
    """``func_name(*args)`` as Office.js sends it, from a workbook whose culture is ``culture``."""
    payload = {
        "client": "Office.js",
        "func_name": func_name,
        "args": [a if a is None or isinstance(a, list) else [[a]] for a in args],
        "caller_address": "Sheet1!A1",
        "culture_info_name": culture,
        "date_format": "dd/MM/yyyy",
        "version": xlwings.__version__,
        "runtime": "1.4",
    }
    return asyncio.run(xls.custom_functions_call(payload, excel))


def with_lang(func, *args: Any, lang: str) -> list[Any]:
    """The arguments of ``func`` with ``lang`` as its last one (blank optionals between)."""
    n = len(inspect.signature(func).parameters)
    return [*args, *[None] * (n - 1 - len(args)), lang]


@pytest.fixture(autouse=True)
def english_python_side(monkeypatch):
    """The Python side speaks English whatever the machine's locale: only the call decides."""
    monkeypatch.setenv("PIPESHEET_LANG", "en")


def test_an_italian_culture_gets_italian_headings_and_the_same_numbers():
    english = call("PIPE_STAGE_PROBABILITIES", HISTORY, DEALS)
    italian = call("PIPE_STAGE_PROBABILITIES", HISTORY, DEALS, culture="it-IT")
    assert english[0][:3] == ["stage", "reached", "won"]
    assert italian[0][:3] == ["fase", "raggiunte", "vinte"]
    assert "probabilità di vincita" in italian[0]
    assert italian[1:] == english[1:]  # every number, as a number
    assert all(isinstance(x, (int, float)) for row in italian[1:] for x in row[1:] if x != "")


def test_the_culture_names_a_language_pipesheet_may_not_speak():
    english = call("PIPE_WEIGHTED_FORECAST", DEALS, STAGES)
    assert call("PIPE_WEIGHTED_FORECAST", DEALS, STAGES, culture="de-DE") == english
    assert call("PIPE_WEIGHTED_FORECAST", DEALS, STAGES, culture="vi-VN")[0] == [
        "kỳ",
        "số thương vụ",
        "giá trị pipeline",
        "có trọng số",
        "độ lệch chuẩn",
    ]


def test_the_lang_argument_wins_over_the_culture():
    args = with_lang(excel.PIPE_FORECAST_RANGE, DEALS, STAGES, 40000, lang="sl")
    english = call("PIPE_FORECAST_RANGE", DEALS, STAGES, 40000)
    slovenian = call("PIPE_FORECAST_RANGE", *args, culture="it-IT")
    assert slovenian[0] == ["mera", "vrednost"]
    assert [row[0] for row in slovenian[1:4]] == ["povprečje", "standardni odklon", "P10"]
    assert [row[1] for row in slovenian[1:]] == [row[1] for row in english[1:]]


def test_a_one_number_result_is_the_same_number_in_every_language():
    values = {
        culture: call("PIPE_FORECAST_TOTAL", DEALS, STAGES, culture=culture)
        for culture in ("en-US", "it-IT", "sl-SI", "vi-VN", "ca-ES")
    }
    assert len(set(map(repr, values.values()))) == 1
    assert isinstance(values["en-US"][0][0], float)


def test_an_error_message_in_catalan():
    text = call("PIPE_STAGE_PROBABILITY", None, HISTORY, DEALS, culture="ca-ES")[0][0]
    assert "no s'ha indicat cap etapa" in text and "'stage'" in text
    text = call("PIPE_WEIGHTED_FORECAST", DEALS, "nowhere", culture="ca-ES")[0][0]
    assert "probabilitats d'etapa desconegudes" in text and "'nowhere'" in text
    assert "predefinit" in text  # what was expected, in Catalan too


def test_an_unknown_lang_is_named_in_the_language_of_the_culture():
    args = with_lang(excel.PIPE_PRESET, "hubspot", lang="xx")
    text = call("PIPE_PRESET", *args, culture="it-IT")[0][0]
    assert "lingua sconosciuta" in text and "'lang'" in text and "'xx'" in text
    assert "ca (Català)" in text
    text = call("PIPE_PRESET", *args)[0][0]
    assert text.startswith("table 'arguments', column 'lang': unknown language")


def test_an_italian_result_fed_to_another_function_reads_as_in_english():
    """PIPE_STAGE_PROBABILITIES spilled in Italian, given back as probabilities and as
    conversions: the same forecast and reverse funnel as in English."""
    for culture in ("en-US", "it-IT", "ca-ES"):
        probs = call("PIPE_STAGE_PROBABILITIES", HISTORY, DEALS, culture=culture)
        forecast = call("PIPE_WEIGHTED_FORECAST", DEALS, probs, culture=culture)
        funnel = call("PIPE_LEADS_NEEDED", 200000, 25000, probs, culture=culture)
        if culture == "en-US":
            want_forecast, want_funnel = forecast, funnel
        assert forecast[1:] == want_forecast[1:], culture
        assert funnel[1:] == want_funnel[1:], culture
    assert forecast[0][0] == "període" and funnel[0][0] == "etapa"


def test_a_users_table_keeps_its_own_headers():
    """Only a table whose every header is a pipesheet heading is read by its column names: a
    user's own Italian headers are read as written (messages name them as written)."""
    deals = [["ID", "Fase", "Importo"], ["D-1", "Proposal", "abc"]]
    text = call("PIPE_WEIGHTED_FORECAST", deals, STAGES, culture="it-IT")[0][0]
    assert "'Importo'" in text


def test_infinite_is_written_in_the_language_of_the_call():
    assert call("PIPE_COVERAGE", 100, 50, 80, culture="en-US") == [["infinite"]]
    assert call("PIPE_COVERAGE", 100, 50, 80, culture="it-IT") == [["infinito"]]


def test_the_descriptions_are_registered_in_a_language_and_every_function_has_lang():
    try:
        excel.describe_functions("it")
        meta = {f["id"]: f for f in xls.custom_functions_meta(excel)["functions"]}
        f = meta["PIPE_WEIGHTED_FORECAST"]
        assert f["description"].startswith("Previsione ponderata delle trattative aperte")
        params = {p["name"]: p["description"] for p in f["parameters"]}
        assert params["deals"].startswith("Tabella delle trattative")
        assert params["lang"].startswith("Facoltativo: la lingua")
    finally:
        excel.describe_functions("en")
    meta = {f["id"]: f for f in xls.custom_functions_meta(excel)["functions"]}
    assert meta["PIPE_WEIGHTED_FORECAST"]["description"].startswith("Weighted forecast of open")
    for fid, f in meta.items():
        last = f["parameters"][-1]
        assert last["name"] == "lang" and last.get("optional"), fid


def test_spill_frame_shows_headings_and_keeps_numbers():
    import pandas as pd

    frame = pd.DataFrame({"measure": ["mean", "p90"], "value": [1.5, 2.0]})
    with language("ca"):
        assert spill_frame(frame) == [["mesura", "valor"], ["mitjana", 1.5], ["P90", 2.0]]
    assert spill_frame(frame) == [["measure", "value"], ["mean", 1.5], ["p90", 2.0]]
