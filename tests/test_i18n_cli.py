"""The command line in the users' languages: ``--lang`` (before or after the command),
``PIPESHEET_LANG``; headings, titles, notes, errors, ``--help`` and argparse's own words
translated, numbers written as the language writes them — and the same numbers underneath
(``--json`` is identical in every language)."""

from __future__ import annotations

import argparse
import errno
import json
import re
from pathlib import Path

import pytest

from pipesheet import cli
from pipesheet.cli import build_parser, main
from pipesheet.cli.argparse_words import ARGPARSE_MESSAGES
from pipesheet.i18n import LANGUAGES, language, translations
from pipesheet.sample import DATA_DIR

DEALS = str(Path(DATA_DIR) / "sample_deals.csv")
HISTORY = str(Path(DATA_DIR) / "sample_history.csv")
RATES = str(Path(DATA_DIR) / "sample_rates.csv")
LEADS = [
    "leads",
    "--target",
    "10000000",
    "--average-deal",
    "25000",
    "--conversions",
    "Lead=0.1,Qualified=0.4,Proposal=0.25",
]


@pytest.fixture(autouse=True)
def _no_language_from_the_environment(monkeypatch):
    """Each test says its language; the machine's locale does not choose one."""
    for name in ("PIPESHEET_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


# ---- leads in Vietnamese --------------------------------------------------------------------
def test_leads_explains_the_plan_in_vietnamese_with_vietnamese_numbers(capsys):
    status, out, err = run(capsys, *LEADS, "--lang", "vi")
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == "Nhu cầu khách hàng tiềm năng (phễu ngược)"  # reverse funnel: phễu ngược
    header = lines[1]
    assert "giai đoạn" in header and "số thương vụ cần" in header  # stage, deals needed
    assert "deals_needed" not in header and "stage" not in header.split()
    rows = {line.split()[0]: line for line in lines[2:6]}
    # Vietnamese decimal comma; the same numbers as in English
    assert re.search(r"\b10,0%\s+1,0%\s+40000$", rows["Lead"]), rows["Lead"]
    assert re.search(r"\b25,0%\s+25,0%\s+1600$", rows["Proposal"]), rows["Proposal"]
    assert "10.0%" not in out

    status, english, _ = run(capsys, *LEADS)
    assert status == 0
    assert english.splitlines()[0] == "Lead requirements (reverse funnel)"
    assert re.search(r"\b10\.0%\s+1\.0%\s+40000$", english.splitlines()[2])


@pytest.mark.parametrize(
    "argv",
    [
        LEADS,
        ["stage-probabilities", HISTORY, DEALS],
        ["forecast", DEALS, HISTORY, "--rates", RATES, "--period", "quarter"],
        ["forecast", DEALS, HISTORY, "--rates", RATES, "--range", "--quota", "3500000"],
    ],
    ids=["leads", "stage-probabilities", "forecast", "range"],
)
def test_json_is_the_same_in_every_language(capsys, argv):
    documents = {}
    for lang in LANGUAGES:
        status, out, err = run(capsys, *argv, "--json", "--lang", lang)
        assert status == 0, err
        documents[lang] = json.loads(out)
    assert all(doc == documents["en"] for doc in documents.values())
    assert documents["en"] and all(isinstance(k, str) for k in documents["en"][0])


def test_the_numbers_printed_are_the_numbers_in_english(capsys):
    """The Catalan range table holds the English numbers, written the Catalan way."""
    argv = ["forecast", DEALS, HISTORY, "--rates", RATES, "--range", "--quota", "3500000"]
    _, english, _ = run(capsys, *argv)
    _, catalan, _ = run(capsys, *argv, "--lang", "ca")

    def values(text: str, title: str, words: str, group: str, point: str) -> list[float]:
        """The value column of the range table (between its title and the words under it)."""
        block = text[text.index(title) :].splitlines()[2:]
        rows = block[: next(i for i, line in enumerate(block) if line.startswith(words))]
        cells = [re.split(r" +", row.strip())[-1] for row in rows]  # "25,0\u00a0%" is one cell
        return [
            float(c.rstrip("%").rstrip("\u00a0").replace(group, "").replace(point, "."))
            for c in cells
        ]

    en = values(english, "Forecast range (EUR)", "method:", ",", ".")
    ca = values(catalan, "Interval de previsió (EUR)", "mètode:", ".", ",")
    assert len(en) == 7 and en == ca  # mean, std_dev, P10, P50, P90, P(≥ quota), error_bound
    assert "Interval de previsió (EUR)" in catalan  # forecast range
    assert "3.760.900" in catalan and "3,760,900" in english


# ---- headings in Italian --------------------------------------------------------------------
def test_stage_probabilities_headings_in_italian(capsys):
    status, out, err = run(capsys, "--lang", "it", "stage-probabilities", HISTORY, DEALS)
    assert status == 0, err
    title, header = out.splitlines()[:2]
    assert title.startswith("Probabilità di fase (coorte; ")
    words = header.split()
    assert "fase" in words and "vinte" in words and "perse" in words
    assert "probabilità di vincita" in header  # win_probability
    assert "win_probability" not in header and "stage" not in words
    assert re.search(r"\d+,\d%", out) and not re.search(r"\d+\.\d%", out)
    assert "\nnota: " in out  # the notes' word too


# ---- the environment chooses ----------------------------------------------------------------
def test_pipesheet_lang_chooses_slovenian(capsys, monkeypatch):
    monkeypatch.setenv("PIPESHEET_LANG", "sl")
    status, out, err = run(capsys, "presets", "hubspot")
    assert status == 0, err
    assert out.splitlines()[0] == "Prednastavitev: hubspot"
    assert out.splitlines()[1].split() == ["faza", "verjetnost"]
    assert "20,0\u00a0%" in out  # CLDR: Slovenian puts a no-break space before %
    # an explicit --lang wins over the environment
    status, out, _ = run(capsys, "presets", "hubspot", "--lang", "en")
    assert out.splitlines()[0] == "Preset: hubspot" and "20.0%" in out


def test_the_language_after_the_command_works_too(capsys):
    before = run(capsys, "--lang", "ca", "presets", "salesforce")
    after = run(capsys, "presets", "salesforce", "--lang", "ca")
    equals = run(capsys, "presets", "salesforce", "--lang=ca")
    assert before == after == equals
    assert before[1].splitlines()[0] == "Valors predefinits: salesforce"


# ---- errors in Catalan ----------------------------------------------------------------------
def test_a_bad_option_value_is_one_error_line_in_catalan(capsys):
    status, out, err = run(capsys, "forecast", DEALS, "--period", "week", "--lang", "ca")
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err == (
        "pipesheet: errada: l'argument --period: opció no vàlida: 'week' (trieu entre "
        "'month', 'quarter', 'year', 'none') (vegeu 'pipesheet forecast --help')\n"
    )
    status, _, err = run(capsys, "--lang", "ca", "forecast", DEALS, "--quota", "molt")
    assert status == 2
    assert "valor float no vàlid: 'molt'" in err and "--quota" in err
    status, _, err = run(capsys, "--lang", "ca", "forecast")
    assert status == 2 and "calen els arguments següents: FILE" in err


def test_a_file_the_system_refuses_is_explained_in_catalan(capsys, monkeypatch):
    def refuse(name):
        raise PermissionError(errno.EACCES, "Permission denied", "/srv/crm/deals.csv")

    monkeypatch.setattr(cli.demo, "preset", refuse)
    status, _, err = run(capsys, "presets", "hubspot", "--lang", "ca")
    assert status == 2
    assert err == "pipesheet: errada: /srv/crm/deals.csv: Permís denegat.\n"
    status, _, err = run(capsys, "presets", "hubspot")
    assert err == "pipesheet: error: /srv/crm/deals.csv: Permission denied.\n"  # as before


def test_a_cli_error_of_pipesheet_in_catalan(capsys):
    """A PipesheetError the CLI raises, in Catalan, naming the value as given."""
    status, _, err = run(
        capsys, "--lang", "ca", "leads", "--target", "1000", "--conversions", "Lead"
    )
    assert status == 2
    assert err.startswith("pipesheet: errada: ")
    assert "les conversions han de tenir la forma Etapa=taxa,..." in err
    assert "'Lead'" in err


def test_a_bad_cell_in_catalan_names_the_files_column_row_and_value(capsys):
    """docs/languages.md's example: the file's own column, row and value; pipesheet's words
    (the table it names, the sentence) in Catalan."""
    bad = str(Path(__file__).parent / "fixtures" / "bad" / "bad_date.csv")
    argv = ["forecast", bad, "--probabilities", "salesforce"]
    status, out, err = run(capsys, *argv, "--lang", "ca")
    assert (status, out) == (2, "")
    assert err == (
        "pipesheet: errada: taula 'oportunitats', columna 'Expected Close Date', fila 2: "
        "no és una data real (valor '2026-13-45'); s'esperava: una data del calendari com "
        "2026-09-30.\n"
    )
    status, _, err = run(capsys, *argv)
    assert err == (
        "pipesheet: error: table 'deals', column 'Expected Close Date', row 2: not a real date "
        "(value '2026-13-45'); expected a calendar date such as 2026-09-30.\n"
    )


def test_an_os_message_in_another_wording_is_shown_as_it_is(capsys, monkeypatch):
    def refuse(name):
        raise PermissionError(errno.EACCES, "Access is denied", "deals.csv")  # Windows' words

    monkeypatch.setattr(cli.demo, "preset", refuse)
    _, _, err = run(capsys, "presets", "hubspot", "--lang", "it")
    assert err == "pipesheet: errore: deals.csv: Access is denied.\n"


# ---- help -----------------------------------------------------------------------------------
def test_help_of_a_command_in_slovenian(capsys):
    status, out, err = run(capsys, "leads", "--help", "--lang", "sl")
    assert status == 0 and err == ""
    assert out.startswith("uporaba: pipesheet leads ")
    assert "\npoložajni argumenti:\n" in out and "\nmožnosti:\n" in out
    assert "izpiše to pomoč in konča" in out  # -h, --help
    assert "cilj prihodkov, ki ga je treba doseči" in out  # --target
    assert "--target TARGET" in out and "--conversions" in out  # options keep their names
    assert "revenue target" not in out and "usage:" not in out


def test_every_help_of_every_command_in_every_language(capsys):
    """No translated help breaks argparse's %-formatting; every command's help is translated."""
    commands = list(build_parser()._subparsers._group_actions[0].choices)
    for lang in LANGUAGES:
        for command in [None, *commands]:
            status, out, err = run(capsys, "--lang", lang, *([command] if command else []), "-h")
            assert status == 0 and err == "", (lang, command, err)
            if lang != "en":
                assert "usage:" not in out and "show this help message" not in out, (lang, command)


def test_argparse_speaks_english_again_after_a_command(capsys):
    run(capsys, "--lang", "vi", "presets", "--help")
    assert argparse._("usage: ") == "usage: "  # type: ignore[attr-defined]
    status, out, _ = run(capsys, "presets", "--help")
    assert status == 0 and out.startswith("usage: pipesheet presets")


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_argparse_words_keep_their_placeholders(lang):
    with language(lang):
        catalog = translations()
        for message in ARGPARSE_MESSAGES:
            text = catalog.gettext(message)
            assert text != message, (lang, message)
            assert sorted(re.findall(r"%(?:\([a-z_]+\))?[sr]", text)) == sorted(
                re.findall(r"%(?:\([a-z_]+\))?[sr]", message)
            ), (lang, message, text)


# ---- the demo workbook ----------------------------------------------------------------------
def test_demo_in_italian_names_its_sheets_in_italian_and_keeps_numbers_numeric(tmp_path, capsys):
    import openpyxl

    out = tmp_path / "demo.xlsx"
    status, printed, err = run(capsys, "demo", "--output", str(out), "--lang", "it")
    assert status == 0, err
    assert printed.splitlines()[0].startswith("pipesheet ") and "3.000 trattative" in printed
    assert printed.rstrip().endswith(f"Scritto {out}")
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[:4] == [
        "Probabilità di fase",
        "Previsione",
        "Intervallo",
        "Piano dei lead",
    ]
    forecast = book["Previsione"]
    numbers = [c.value for c in forecast[2][1:4]]
    assert all(isinstance(v, (int, float)) for v in numbers), numbers
    # its own workbook, unchanged, is replaced by the next demo, in another language too
    assert run(capsys, "demo", "--output", str(out), "--lang", "sl")[0] == 0
    assert openpyxl.load_workbook(out).sheetnames[1] == "Napoved"


def test_yes_no_cells_in_italian(capsys):
    argv = ["diagnostics", HISTORY, DEALS, "--show", "bottlenecks"]
    status, out, err = run(capsys, *argv, "--lang", "it")
    assert status == 0, err
    last = [line.split()[-1] for line in out.splitlines()[2:6]]
    assert last == ["no", "no", "no", "sì"] and "False" not in out
    _, english, _ = run(capsys, *argv)
    assert [line.split()[-1] for line in english.splitlines()[2:6]] == [
        "False",
        "False",
        "False",
        "True",
    ]
