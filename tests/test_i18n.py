"""The catalogs are complete and consistent, and the language is chosen as documented.

Every message of the source is in the template (``pipesheet.pot``) and translated in every
language, with the same placeholders, the language's plural forms, no English left (but names),
the product's terms as each language's glossary (docs/glossary/) fixes them, and the compiled
``.mo`` files are those of the ``.po`` files."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from pipesheet import i18n
from pipesheet.errors import PipesheetError
from pipesheet.i18n import UnknownLanguage, _, language, language_from_environment

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "src" / "pipesheet" / "locale"
LANGS = ("it", "sl", "vi", "ca")

babel = pytest.importorskip("babel", reason="Babel checks the catalogs (pip install babel)")


def tool():
    spec = importlib.util.spec_from_file_location("i18n_tool", ROOT / "scripts" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["i18n_tool"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def t():
    return tool()


@pytest.fixture(scope="module")
def template(t):
    return t.extract()


def ids(catalog) -> set:
    from i18n_tool import key

    return {key(m) for m in catalog if m.id}


def test_the_template_holds_every_message_of_the_source(t, template):
    committed = t.read(t.POT)
    assert ids(committed) == ids(template), (
        "src/pipesheet/locale/pipesheet.pot is out of date: run python scripts/i18n.py build"
    )


@pytest.mark.parametrize("lang", LANGS)
def test_every_message_is_translated(t, template, lang):
    _, missing = t.merged(lang, template)
    shown = "\n".join(f"  {m.id!r} ({m.locations[0][0]})" for m in missing[:15])
    assert not missing, (
        f"{lang}: {len(missing)} message(s) not translated (python scripts/i18n.py todo {lang}):\n"
        + shown
    )


def _entries(catalog):
    for m in catalog:
        if not m.id:
            continue
        ids_ = list(m.id) if isinstance(m.id, (list, tuple)) else [m.id]
        strings = list(m.string) if isinstance(m.string, (list, tuple)) else [m.string]
        yield m, ids_, strings


@pytest.mark.parametrize("lang", LANGS)
def test_placeholders_and_plural_forms_match(t, lang):
    from babel.messages.plurals import get_plural

    catalog = t.read(LOCALE / lang / "LC_MESSAGES" / "pipesheet.po", lang)
    plurals = get_plural(lang).num_plurals
    problems = []
    for m, ids_, strings in _entries(catalog):
        wanted = t.placeholders(ids_[0])
        if len(ids_) > 1 and len(strings) != plurals:
            problems.append(f"{m.id!r}: {len(strings)} plural forms, {lang} has {plurals}")
        for s in strings:
            if s and t.placeholders(s) != wanted:
                problems.append(f"{ids_[0]!r} → {s!r}: placeholders differ")
    assert not problems, "\n".join(problems[:20])


#: Messages that stay as they are in every language: names, codes, symbols, formulas.
KEEP = re.compile(
    r"^[\W\d_]*$"  # no letters at all
    r"|^(PIPE_[A-Z_]+|P10|P50|P90|MAPE|Brier|CSV|XLSX|JSON|EUR|USD|ID|OK|Excel|Markov|Voila)$"
)


def _letters(text: str) -> str:
    """The words of a message without its placeholders and names in quotes."""
    text = re.sub(r"\{[^{}]*\}", " ", text)
    text = re.sub(r"'[^']*'|`[^`]*`|--[a-z-]+", " ", text)
    return " ".join(text.split())


@pytest.mark.parametrize("lang", LANGS)
def test_no_english_left(t, lang):
    catalog = t.read(LOCALE / lang / "LC_MESSAGES" / "pipesheet.po", lang)
    same = []
    for _m, ids_, strings in _entries(catalog):
        for source, s in zip(ids_ * len(strings), strings, strict=False):
            words = _letters(source)
            if s and s == source and words and not KEEP.match(words):
                same.append(source)
    assert not same, f"{lang}: {len(same)} message(s) left in English:\n" + "\n".join(same[:20])


@pytest.mark.parametrize("lang", LANGS)
def test_the_compiled_catalog_is_the_po(t, lang):
    po = LOCALE / lang / "LC_MESSAGES" / "pipesheet.po"
    assert po.with_suffix(".mo").read_bytes() == t.compile_mo(t.read(po, lang)), (
        f"{lang}: pipesheet.mo is not the compiled pipesheet.po: run python scripts/i18n.py build"
    )


def glossary(lang: str) -> list[tuple[str, str]]:
    """(English term, the stem every translation of it contains) from docs/glossary/<lang>.md:
    the rows of its table ``| English | translation | stem |``."""
    text = (ROOT / "docs" / "glossary" / f"{lang}.md").read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if (
            len(cells) >= 3
            and cells[0]
            and not set(cells[0]) <= {"-", " "}
            and cells[0] != "English"
        ):
            rows.append((cells[0].strip("*"), cells[2].strip("`")))
    return rows


@pytest.mark.parametrize("lang", LANGS)
def test_the_glossary_terms_are_used_consistently(t, lang):
    terms = glossary(lang)
    assert len(terms) >= 15, f"docs/glossary/{lang}.md: too few terms"
    catalog = t.read(LOCALE / lang / "LC_MESSAGES" / "pipesheet.po", lang)
    problems = []
    for _m, ids_, strings in _entries(catalog):
        for term, stem in terms:
            pattern = re.compile(rf"\b{re.escape(term)}\b", re.I)
            if pattern.search(_letters(ids_[0])):
                for s in strings:
                    if s and not re.search(stem, s, re.I):
                        problems.append(f"{term!r} in {ids_[0]!r} but not {stem!r} in {s!r}")
    assert not problems, f"{lang}:\n" + "\n".join(problems[:20])


# ---- choosing the language ----------------------------------------------------------------


def test_the_environment_and_the_system_locale_choose_the_language():
    assert language_from_environment({"PIPESHEET_LANG": "sl", "LANG": "it_IT.UTF-8"}) == "sl"
    assert language_from_environment({"LANG": "it_IT.UTF-8"}) == "it"
    assert language_from_environment({"LC_ALL": "ca_ES@valencia"}) == "ca"
    assert language_from_environment({"LANGUAGE": "de:vi"}) == "vi"
    assert language_from_environment({"LANG": "de_DE.UTF-8"}) == "en"  # not spoken: English
    assert language_from_environment({"LANG": "C"}) == "en"
    assert language_from_environment({}) == "en"


def test_a_language_asked_for_that_pipesheet_does_not_speak_is_named():
    with pytest.raises(UnknownLanguage) as err:
        with language("de"):
            pass
    assert "'de'" in str(err.value) and "sl (Slovenščina)" in str(err.value)


def test_the_language_is_per_context_and_never_changes_a_number():
    with language("ca"):
        message = str(PipesheetError("x", table="deals", rows=[3], value=-5))
        assert i18n.current_language() == "ca"
    assert i18n.current_language() in i18n.LANGUAGES
    english = str(PipesheetError("x", table="deals", rows=[3], value=-5))
    assert english == "table 'deals', row 3: x (value -5)."
    assert "-5" in message and "3" in message
    assert _("row {row}") == "row {row}"  # English outside the block


def test_a_cli_error_in_catalan(tmp_path, capsys):
    from pipesheet.cli import main

    status = main(["forecast", str(tmp_path / "nowhere.csv"), "--lang", "ca"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("pipesheet: error:") is False, err  # the frame is Catalan too
    assert "nowhere.csv" in err
    assert "fitxer" in err  # "file" in Catalan


def test_an_unknown_cli_language_is_one_error_line(capsys):
    from pipesheet.cli import main

    assert main(["--lang", "xx", "presets"]) == 2
    err = capsys.readouterr().err
    assert "'xx'" in err and "ca (Català)" in err and "Traceback" not in err
