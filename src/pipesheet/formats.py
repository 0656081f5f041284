"""Numbers, percentages, money and dates written the way each language writes them.

=========  ===============  =========  ====================  ======================
language   number           percent    money (EUR)           money (VND)
=========  ===============  =========  ====================  ======================
en         1,234,567.89     25.0%      €1,234,567.89         ₫1,234,568
it         1.234.567,89     25,0%      1.234.567,89 €        1.234.568 VND
sl         1.234.567,89     25,0 %     1.234.567,89 €        1.234.568 ₫
vi         1.234.567,89     25,0%      1.234.567,89 €        1.234.568 ₫
ca         1.234.567,89     25,0 %     1.234.567,89 €        1.234.568 ₫
=========  ===============  =========  ====================  ======================

These are CLDR's conventions — what Babel (``babel.numbers``) writes; the space before a currency
is a no-break space. The core writes them itself, so it needs no Babel (``tests/test_formats.py``
checks every rule against Babel where Babel is installed: it is in the ``apps`` extra, and the
apps format through it). Money takes its currency's minor units (two for EUR and USD, none for
VND or JPY) unless ``decimals`` says otherwise. Dates: ISO ``2026-09-30`` by default (the same in
every language, and what a CSV carries); :func:`format_date` with ``style="medium"`` writes the
language's own form (``30 set 2026``) through Babel when it is installed, ISO otherwise.

Formatting never changes a number: a value is rounded once, to the digits shown (half to even,
on the value as Python writes it: 0.125 → 0.12, as Babel does). Excel cells and
JSON stay numeric; only text is formatted.
"""

from __future__ import annotations

import datetime as _dt
import math
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

from pipesheet.i18n import current_language, normalise_language

__all__ = ["format_date", "format_money", "format_number", "format_percent", "symbols"]

#: (group separator, decimal separator) per language.
_SYMBOLS = {
    "en": (",", "."),
    "it": (".", ","),
    "sl": (".", ","),
    "vi": (".", ","),
    "ca": (".", ","),
}
_NBSP = "\u00a0"
#: The percent sign as CLDR writes it: after a no-break space in Slovenian and Catalan.
_PERCENT = {"en": "%", "it": "%", "sl": _NBSP + "%", "vi": "%", "ca": _NBSP + "%"}
#: Currency symbols per language where CLDR has one (else the ISO code is shown).
_CURRENCY_SYMBOLS = {
    "EUR": {"en": "€", "it": "€", "sl": "€", "vi": "€", "ca": "€"},
    "USD": {"en": "$", "it": "USD", "sl": "$", "vi": "US$", "ca": "USD"},
    "VND": {"en": "₫", "it": "VND", "sl": "₫", "vi": "₫", "ca": "₫"},
    "GBP": {"en": "£", "it": "£", "sl": "£", "vi": "£", "ca": "£"},
}
#: ISO 4217 minor units of the currencies that differ from two.
_MINOR_UNITS = {"VND": 0, "JPY": 0, "KRW": 0, "CLP": 0, "COP": 2, "ISK": 0, "HUF": 2, "TWD": 2}


def _lang(lang: str | None) -> str:
    return (
        normalise_language(lang) or current_language() if lang is not None else current_language()
    )


def symbols(lang: str | None = None) -> tuple[str, str]:
    """The (group, decimal) separators of ``lang`` (default: the current language)."""
    return _SYMBOLS[_lang(lang)]


def _rounded(value: float, decimals: int) -> Decimal:
    """The value as written (its shortest repr), rounded half to even — CLDR's rule. The context
    holds every digit a float can have (up to 1.8e308), so a huge value is written, not refused."""
    with localcontext() as context:
        context.prec = 320 + max(decimals, 0)
        return Decimal(repr(abs(float(value)))).quantize(
            Decimal(1).scaleb(-decimals), ROUND_HALF_EVEN
        )


def _digits(value: float, decimals: int, lang: str) -> str:
    group, point = _SYMBOLS[lang]
    text = f"{_rounded(value, decimals):,.{decimals}f}"
    if lang != "en":
        text = text.replace(",", "\0").replace(".", point).replace("\0", group)
    return text


def _sign(value: float, decimals: int) -> str:
    return "-" if value < 0 and _rounded(value, decimals) != 0 else ""


def format_number(value: Any, decimals: int = 0, lang: str | None = None) -> str:
    """``1234567.891`` → ``1,234,568`` (en), ``1.234.568`` (it); NaN/None → ``""``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    x = float(value)
    if math.isinf(x):
        return ("-" if x < 0 else "") + "∞"
    code = _lang(lang)
    return _sign(x, decimals) + _digits(x, decimals, code)


def format_percent(share: Any, decimals: int = 1, lang: str | None = None) -> str:
    """A share as a percentage: ``0.25`` → ``25.0%`` (en), ``25,0%`` (it, vi), ``25,0 %`` (sl,
    ca: a no-break space, as CLDR writes it)."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return ""
    code = _lang(lang)
    return format_number(float(share) * 100, decimals, code) + _PERCENT[code]


def minor_units(currency: str | None) -> int:
    """Digits after the decimal point of a currency (2 unless ISO 4217 says otherwise)."""
    return _MINOR_UNITS.get(str(currency or "").upper(), 2)


def format_money(
    value: Any, currency: str | None = None, decimals: int | None = None, lang: str | None = None
) -> str:
    """``1234567.891, "EUR"`` → ``€1,234,567.89`` (en), ``1.234.567,89 €`` (it, sl, vi, ca);
    without a currency, the number alone. ``decimals`` defaults to the currency's minor units."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    code = _lang(lang)
    cur = str(currency).upper() if currency else None
    places = minor_units(cur) if decimals is None else decimals
    x = float(value)
    if cur is None:
        return format_number(x, places, code)
    symbol = _CURRENCY_SYMBOLS.get(cur, {}).get(code, cur)
    digits = _digits(x, places, code)
    sign = _sign(x, places)
    if code == "en":
        return f"{sign}{symbol}{digits}"
    return f"{sign}{digits}{_NBSP}{symbol}"


def format_date(value: Any, style: str = "iso", lang: str | None = None) -> str:
    """A date: ``iso`` (``2026-09-30``, every language) or ``medium`` (the language's own:
    ``Sep 30, 2026``, ``30 set 2026``, ``30. sep. 2026``, ``30 thg 9, 2026``, ``30 de set.
    2026`` — through Babel when installed, else ISO). None/NaT → ``""``."""
    if value is None:
        return ""
    try:
        import pandas as pd

        if pd.isna(value):
            return ""
        day = pd.Timestamp(value).date()
    except (TypeError, ValueError):
        return str(value)
    if style == "medium":
        try:
            from babel.dates import format_date as babel_date
        except ImportError:
            return day.isoformat()
        return babel_date(_dt.date(day.year, day.month, day.day), "medium", locale=_lang(lang))
    return day.isoformat()
