"""The calibrated forecast, backtests, quota tables, scenarios and commits in the users' languages
(issue 12): their sentences, titles and headings in Italian, Slovenian, Vietnamese and Catalan,
their numbers written as each language writes them — and the same numbers underneath."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from pipesheet import PipesheetError, apply_scenarios, parse_scenario, quota_table
from pipesheet.base import note_is, signed_number
from pipesheet.calibrated import calibrated_forecast
from pipesheet.commits import commit_term
from pipesheet.exports import read_table
from pipesheet.formats import format_number
from pipesheet.headings import _table, heading, headings
from pipesheet.i18n import _, language
from pipesheet.simulate import SCENARIOS, simulate_pipeline

LANGS = ("it", "sl", "vi", "ca")
FIXTURES = Path(__file__).parent / "fixtures" / "planning"


def number(text: str, lang: str) -> float:
    """A number as ``lang`` writes it, read back (``1.234.567,8`` in it → 1234567.8)."""
    group, point = (",", ".") if lang == "en" else (".", ",")
    return float(text.replace(group, "").replace(point, "."))


# ---- the calibrated forecast ------------------------------------------------------------------
@pytest.fixture(scope="module")
def drift():
    """Quarters of a pipeline whose win rates drift: enough past periods to calibrate on."""
    return simulate_pipeline(replace(SCENARIOS["drift"], per_day=12), seed=3)


@pytest.fixture(scope="module")
def calibrated(drift):
    """The same calibrated forecast made in English, Italian and Slovenian."""
    deals, history = drift
    out = {}
    for lang in ("en", "it", "sl"):
        with language(lang):
            res = calibrated_forecast(
                history, deals, "2026-06-30", as_of="2026-03-31", quota=1_000_000
            )
            out[lang] = (res, str(res))
    return out


def test_the_calibrated_forecast_has_the_same_numbers_in_every_language(calibrated):
    en, _text = calibrated["en"]
    for lang in ("it", "sl"):
        res, _said = calibrated[lang]
        # only the method's words differ; every figure is the same
        pd.testing.assert_frame_equal(
            res.to_frame().drop(columns="method"), en.to_frame().drop(columns="method")
        )
        pd.testing.assert_frame_equal(res.evidence, en.evidence)
        pd.testing.assert_frame_equal(res.deals, en.deals)
        assert res.calibrated == en.calibrated is True
        assert res.correction == en.correction
        assert len(res.notes) == len(en.notes)


def test_the_calibrated_forecast_printed_in_italian(calibrated):
    res, text = calibrated["it"]
    en, english = calibrated["en"]
    first = text.splitlines()[0]
    assert first.startswith("Previsione calibrata 2026-03-31 → 2026-06-30: ")
    assert "(modello basato sui tempi " in first
    # the forecast as Italian writes it: dots between thousands; the same number as in English
    said = re.search(r": ([\d.]+) \(modello", first).group(1)
    assert said == format_number(res.forecast, 0, lang="it")
    english_said = re.search(r": ([\d,]+) \(time-aware", english.splitlines()[0]).group(1)
    assert number(said, "it") == number(english_said, "en") == round(en.forecast)
    assert f"P90 {format_number(res.p90, 0, lang='it')}" in text
    assert "; P(≥ 1.000.000) = " in text and re.search(r"= \d+,\d%", text)
    assert "metodo: basata sui tempi, calibrata: " in text
    assert "periodi passati:" in text
    header = text.splitlines()[text.splitlines().index("periodi passati:") + 1]
    assert "data di riferimento" in header and "effettivo" in header and "peso" in header
    # the past periods' errors: Italian decimal comma, the sign always shown
    assert re.search(r"[+-]\d+,\d%", text)
    for english_words in ("Calibrated forecast", "past periods:", "method:", "time-aware model"):
        assert english_words not in text


def test_the_calibrated_forecast_printed_in_slovenian(calibrated):
    res, text = calibrated["sl"]
    assert text.startswith("Umerjena napoved 2026-03-31 → 2026-06-30: ")
    assert f"P50 {format_number(res.p50, 0, lang='sl')}" in text
    assert "metoda: umerjena časovno občutljiva: " in text
    assert "pretekla obdobja:" in text and "presečni datum" in text
    for english_words in ("Calibrated forecast", "past periods", "over ", "spread"):
        assert english_words not in text


def test_the_calibrated_forecast_in_english_is_unchanged(calibrated):
    res, text = calibrated["en"]
    first = text.splitlines()[0]
    assert first == (
        f"Calibrated forecast 2026-03-31 → 2026-06-30: {res.forecast:,.0f} "
        f"(time-aware model {res.model_forecast:,.0f})"
    )
    assert f"P10 {res.p10:,.0f}, P50 {res.p50:,.0f}, P90 {res.p90:,.0f}" in text
    assert f"P(≥ 1,000,000) = {res.p_quota:.1%}" in text
    assert res.method.startswith("calibrated time-aware: ")
    assert "past periods:" in text


def test_a_bad_calibration_setting_in_vietnamese_names_the_value(drift):
    deals, history = drift
    with language("vi"), pytest.raises(PipesheetError) as err:
        calibrated_forecast(history, deals, quota="lots")
    assert "'lots'" in str(err.value)
    assert "chỉ tiêu không phải là một số hữu hạn" in str(err.value)


# ---- scenarios --------------------------------------------------------------------------------
DEALS = pd.DataFrame(
    {
        "Deal ID": ["a", "b", "c", "W"],
        "Stage": ["Lead", "Qualified", "Proposal", "Won"],
        "Amount": [100, 3000, 10000, 100],
        "Close Date": ["2026-10-10", "2026-11-15", "2026-12-20", "2026-09-15"],
    }
)
PROBS = {"Lead": 0.5, "Qualified": 0.25, "Proposal": 0.2}
WINDOW = {"start": "2026-10-01", "end": "2026-12-31", "as_of": "2026-09-30"}


@pytest.mark.parametrize(
    ("text", "value", "says"),
    [
        ("drop-largest x", "'x'", "N ha de ser un nombre enter ≥ 1, no 'x'"),
        ("slip 3.5", "'3.5'", "N ha de ser un nombre enter, no '3.5'"),
        ("conversion Proposal=150%", "'150%'", "'150%' no és una probabilitat"),
        ("lose the big one", "'lose the big one'", "no s'entén"),
    ],
)
def test_a_scenario_parse_error_in_catalan_names_the_value(text, value, says):
    with language("ca"), pytest.raises(PipesheetError) as err:
        parse_scenario(text)
    message = str(err.value)
    assert f"escenari {text!r}: " in message
    assert value in message and says in message
    assert "must be" not in message and "not understood" not in message


def test_a_scenario_printed_in_catalan_has_the_same_numbers():
    run = {}
    for lang in ("en", "ca"):
        with language(lang):
            res = apply_scenarios(DEALS, PROBS, ["drop-largest 1"], quota=3000, **WINDOW)
            run[lang] = (res, str(res))
    (en, english), (ca, text) = run["en"], run["ca"]
    pd.testing.assert_frame_equal(
        ca.to_frame().drop(columns="change"), en.to_frame().drop(columns="change")
    )
    assert "Escenari: drop-largest 1" in text
    assert (
        "què ha canviat: elimina les 1 oportunitat(s) oberta/es més gran(s): c (10.000 a " in text
    )
    assert "ponderat −2.000" in text
    # the table: headings in Catalan, numbers with Catalan separators, the points signed
    assert "mesura" in text and "abans" in text and "després" in text
    assert "previsió" in text and "-2.000" in text
    p_before = f"{en.table['p_quota_before'].iloc[0] * 100:.1f}%"
    assert p_before in english and p_before.replace(".", ",").replace("%", "\u00a0%") in text
    assert " p. p." in text and "pts" not in text


# ---- quota tables -----------------------------------------------------------------------------
def test_a_quota_table_printed_in_italian():
    files = {n: read_table(FIXTURES / f"{n}.csv") for n in ("deals", "quotas", "teams")}
    made = {}
    for lang in ("en", "it"):
        with language(lang):
            res = quota_table(
                files["deals"],
                {"Lead": 0.1, "Proposal": 0.5},
                files["quotas"],
                by="owner",
                hierarchy=files["teams"],
                as_of="2026-08-02",
                average_deal=250,
                lead_to_win_rate=0.25,
                cycle_days=0,
            )
            made[lang] = (res, str(res))
    (en, english), (it, text) = made["en"], made["it"]
    pd.testing.assert_frame_equal(it.to_frame(), en.to_frame())
    assert text.startswith("Quote alla data di riferimento 2026-08-02")
    assert "quota assegnata" in text and "copertura" in text and "lead a settimana" in text
    # money to the cent as Italian writes it: the same figures as in English
    assert "4,500.30" in english and "4.500,30" in text
    assert "1.33×" in english and "1,33×" in text
    assert "trattativa media 250,00" in text
    # a deals field named in a note is shown by its heading, not its English name
    assert "il loro valore di responsabile non ha una riga di quota (Dan)" in text


# ---- commits ------------------------------------------------------------------------------------
def test_the_words_of_the_commits_tables():
    assert commit_term("past") == "past" and commit_term("group × period") == "group × period"
    with language("sl"):
        assert commit_term("past") == "preteklo"
        assert commit_term("manager") == "vodja"
        assert commit_term("Ana") == "Ana"  # anything else is the user's own


# ---- headings -----------------------------------------------------------------------------------
def test_headings_in_vietnamese():
    names = ["win_probability", "deals_needed", "stage", "quota", "p_quota", "Custom Field"]
    assert headings(names) == names  # English: the frames' own names
    with language("vi"):
        assert headings(names) == [
            "xác suất thắng",
            "số thương vụ cần",
            "giai đoạn",
            "chỉ tiêu",
            "P(≥ chỉ tiêu)",
            "Custom Field",  # a column pipesheet does not name is shown as it is
        ]


@pytest.mark.parametrize("lang", LANGS)
def test_every_heading_is_translated(lang):
    with language(lang):
        left = [name for name in _table() if heading(name) == name]
    assert not left, f"{lang}: headings left in English: {left}"


# ---- the text mechanisms -----------------------------------------------------------------------
def test_a_note_is_recognised_by_its_message_in_any_language():
    english = "nothing was won in 2026-01: error undefined there, left out of MAPE and bias"
    assert note_is(english, "nothing was won in")
    for lang in LANGS:
        with language(lang):
            note = _(
                "nothing was won in {periods}: error undefined there, left out of MAPE and bias"
            ).format(periods="2026-01")
            assert note != english
            assert note_is(note, "nothing was won in")
            assert note_is(english, "nothing was won in")  # English stays recognised
            assert not note_is(note, "flatters")
            assert not note_is("2026-01", "nothing was won in")


# (not a tie of its shortest decimal form such as 12.35: pipesheet.formats rounds that half to
# even as written, as Babel does; a format string rounds the binary value, 12.3499…)
@pytest.mark.parametrize("value", [1234.4, -1234.5, 0.0, -0.0, -0.04, 12.34, 1e7])
@pytest.mark.parametrize("decimals", [0, 1, 2])
def test_a_signed_number_is_what_the_format_string_wrote(value, decimals):
    assert signed_number(value, decimals) == f"{value:+,.{decimals}f}"
    with language("it"):
        italian = signed_number(value, decimals)
    assert italian[0] == f"{value:+,.{decimals}f}"[0]
    assert number(italian[1:], "it") == number(f"{abs(value):,.{decimals}f}", "en")
