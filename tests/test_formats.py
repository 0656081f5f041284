"""Numbers, percentages and money are written as CLDR (Babel) writes them in each language."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipesheet.formats import format_date, format_money, format_number, format_percent
from pipesheet.i18n import LANGUAGES, language

babel_numbers = pytest.importorskip("babel.numbers")


def test_the_table_of_the_module_docstring():
    assert format_number(1234567.891, 2, "en") == "1,234,567.89"
    assert format_number(1234567.891, 2, "it") == "1.234.567,89"
    assert format_percent(0.25, 1, "sl") == "25,0\u00a0%"
    assert format_percent(0.25, 1, "it") == "25,0%"
    assert format_money(1234567.891, "EUR", lang="ca") == "1.234.567,89\u00a0€"
    assert format_money(1234567.891, "EUR", lang="en") == "€1,234,567.89"
    assert format_money(1234567.891, "VND", lang="vi") == "1.234.568\u00a0₫"
    assert format_number(float("nan")) == "" and format_number(None) == ""


@pytest.mark.parametrize("lang", LANGUAGES)
@given(x=st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_numbers_as_babel_writes_them(lang, x):
    for decimals in (0, 2):
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        expected = babel_numbers.format_decimal(x, pattern, locale=lang)
        got = format_number(x, decimals, lang)
        if expected.startswith("-") and set(expected[1:]) <= set("0.,"):
            expected = expected[1:]  # Babel keeps "-0" for a value that rounds to zero; not we
        assert got == expected


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("currency", ["EUR", "USD", "VND"])
@given(x=st.floats(min_value=0, max_value=1e12, allow_nan=False))
def test_money_as_babel_writes_it(lang, currency, x):
    expected = babel_numbers.format_currency(x, currency, locale=lang)
    assert format_money(x, currency, lang=lang) == expected


@pytest.mark.parametrize("lang", LANGUAGES)
@given(p=st.floats(min_value=0, max_value=1, allow_nan=False))
def test_percentages_as_babel_writes_them(lang, p):
    pattern = babel_numbers.Locale.parse(lang).percent_formats[None].pattern  # the locale's own
    expected = babel_numbers.format_percent(p, pattern.replace("#,##0", "#,##0.0"), locale=lang)
    assert format_percent(p, 1, lang) == expected


def test_the_current_language_formats_and_no_number_changes():
    with language("it"):
        assert format_number(2053862.04, 0) == "2.053.862"
    assert format_number(2053862.04, 0, "en") == "2,053,862"
    assert math.isclose(float(format_number(2053862.04, 2, "en").replace(",", "")), 2053862.04)


def test_dates():
    assert format_date("2026-09-30") == "2026-09-30"
    pytest.importorskip("babel.dates")
    assert format_date("2026-09-30", "medium", "it") == "30 set 2026"
    assert format_date(None) == ""
