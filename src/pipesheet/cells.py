"""Limits and rules for cell values: how a number or a date written in a cell is read.

One rule for every surface — CSV/XLSX files (:mod:`pipesheet.exports.values` types their text
columns), the table readers (:mod:`pipesheet.tables`, through the column readers here:
:func:`parse_amounts`, :func:`parse_probabilities`, :func:`parse_dates`, :func:`clean_text_column`),
Excel ranges and uploads.  A value is read as what it says, or refused with a message naming the
cell; it is never changed silently.

**Numbers written as text.**  ``12500``, ``12,500.00``, ``12.500,00``, ``1 250``, ``1'250``,
``1.5E+06``, with a currency sign or code before or after (``$``, ``€``, ``USD``, ``kr``…,
ignored).  Negatives: ``-1200``, ``−1200`` (Unicode minus), ``(1,200)`` (accounting) and
``1,200-`` (trailing minus) are all −1200.  ``50%`` is a percentage (accepted where a
probability is expected).  Refused, naming the cell: magnitude suffixes (``250k``, ``1.5M``,
``2bn`` — write the whole number), TRUE/FALSE, Excel error values (``#N/A``, ``#VALUE!``…),
anything else that is not a number.  The decimal mark is taken from the values (``1.250,50`` and
``12,5`` mean a decimal comma; ``1,250.50`` and ``12.5`` a decimal point); with no evidence a
period is the decimal mark (``1,250`` is 1250).

**Amounts** must be finite, non-negative and at most :data:`MAX_AMOUNT` (10^15) in absolute
value, so that sums over millions of deals stay finite and exact to the cent; currency rates at
most :data:`MAX_RATE` (10^6 reporting-currency units per unit).

**Dates** are supported from :data:`DATE_MIN` to :data:`DATE_MAX` (1980-01-01 to 2199-12-31);
outside that range a date is refused — placeholders such as ``9999-12-31``, ``0001-01-01`` or
``1900-01-01`` that mean "no date" should be left blank.  Accepted: date cells; Excel serial
numbers (1900 system, days since 1899-12-30) that fall in the range (so a bare ``2026`` — serial
1905-07-18 — is refused: a year alone is not a date); text ``2026-09-30`` / ``2026/09/30``
(optionally with a time), ``30/09/2026``, ``09/30/2026``, ``30-09-2026`` (2- or 4-digit year),
``30.09.2026`` (always day first) and English month names (``30 Sep 2026``, ``Sep 30, 2026``).
A time zone is dropped and the local wall time kept (``2026-09-30T23:30-05:00`` is 23:30 on
the 30th).  Refused: time-only cells, words (``today``, ``December``), Excel error values,
TRUE/FALSE, impossible dates (``31/02/2026``).

**Date order** of ``03/04/2027``-style dates: taken from the data when any value decides it (a
part above 12: ``25/03/2027`` is day first, ``03/25/2027`` month first; both in one table is an
error), else from the explicit setting (``dayfirst=`` in Python, ``--date-order dmy|mdy`` on the
command line, ``date_order`` in Excel and the apps), else refused naming the column.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.errors import PipesheetError
from pipesheet.labels import INVISIBLE, strip_invisible

__all__ = [
    "DATE_EXPECTED",
    "DATE_MAX",
    "DATE_MIN",
    "DATE_ORDER_SETTING",
    "DATE_RANGE_TEXT",
    "EXCEL_ERRORS",
    "MAX_AMOUNT",
    "MAX_RATE",
    "DateTexts",
    "NumberShapes",
    "NumberTexts",
    "char_codes",
    "clean_text",
    "clean_text_column",
    "date_order_evidence",
    "decimal_evidence",
    "is_excel_error",
    "number_shapes",
    "parse_amounts",
    "parse_dates",
    "parse_probabilities",
    "read_date_order",
    "read_date_texts",
    "read_number_texts",
    "row_numbers",
    "serial_dates",
    "text_codes",
]

#: Largest amount accepted, in absolute value: sums of millions of such amounts stay finite and
#: exact to the cent in float64.
MAX_AMOUNT = 1e15
#: Largest currency rate accepted (reporting-currency units per unit of a currency): an amount
#: times a rate stays finite.
MAX_RATE = 1e6
#: The supported date range (inclusive); dates outside it are refused, never moved.
DATE_MIN = pd.Timestamp("1980-01-01")
DATE_MAX = pd.Timestamp("2199-12-31")
DATE_RANGE_TEXT = "1980-01-01 to 2199-12-31"
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
#: Excel serial numbers of the supported range (29221 = 1980-01-01, 109572 = 2199-12-31).
SERIAL_MIN = float((DATE_MIN - _EXCEL_EPOCH).days)
SERIAL_MAX = float((DATE_MAX - _EXCEL_EPOCH).days) + 1.0 - 1e-9
#: How the day/month order is set on each surface (for messages).
DATE_ORDER_SETTING = (
    "the date order: --date-order dmy or mdy on the command line, dayfirst=True/False in "
    'Python, date_order "dmy"/"mdy" in Excel and the apps (or ISO dates like 2027-04-03)'
)

EXCEL_ERRORS = frozenset(
    {
        "#N/A",
        "#DIV/0!",
        "#VALUE!",
        "#REF!",
        "#NAME?",
        "#NUM!",
        "#NULL!",
        "#SPILL!",
        "#CALC!",
        "#GETTING_DATA",
        "#BUSY!",
        "#FIELD!",
        "#CONNECT!",
        "#BLOCKED!",
        "#UNKNOWN!",
        "#N/A N/A",
        "#NV",  # German Excel's #N/A
    }
)


def is_excel_error(text: Any) -> bool:
    """True when ``text`` is an Excel error value as a cell shows it (``#N/A``, ``#VALUE!``…)."""
    return isinstance(text, str) and text.strip().upper() in EXCEL_ERRORS


# ---- numbers -------------------------------------------------------------------------------------
# ISO 4217 codes (case-insensitive) and local abbreviations that may stand beside an amount.
_ISO = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP "
    "BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP "
    "GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR "
    "KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK "
    "MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR "
    "SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD "
    "TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL"
).split()
_LOCAL = ("kr", "Kč", "zł", "zl", "Ft", "lei", "лв", "Rs", "Rp", "RM", "Fr", "SFr", "руб", "din")
_SYMBOLS = "$€£¥₹₩₽₺₫₪₱¢₴₦₲₵₡₸₼₾฿₭₮₨元円"
_AFFIXES = frozenset(c.casefold() for c in (*_ISO, *_LOCAL))
# A currency beside the number: a sign, "US$"-style, "S/", or 1-3 letters (checked against
# _AFFIXES afterwards: one cheap pattern instead of an alternation of 170 codes).
_AFFIX = rf"(?:[^\W\d_]{{0,3}}\$|[{_SYMBOLS}]|S/\.?|[^\W\d_]{{1,3}}\.?)"
_MINUS_SIGNS = ("-", "\u2212", "\u2013", "\ufe63", "\uff0d")  # minus, en dash, small, wide
_MINUS = r"\-\u2212\u2013\ufe63\uff0d"  # the same, for a regex character class
_NUMBER_SHAPE = re.compile(
    rf"^(?P<open>\()?\s*(?P<c1>{_AFFIX})?\s*(?P<sign>[+{_MINUS}])?\s*(?P<c2>{_AFFIX})?\s*"
    rf"(?P<core>[\d.,'\u00a0\u202f ]*\d(?:[eE][-+]?\d+)?)"
    rf"\s*(?P<c3>{_AFFIX})?\s*(?P<trail>[{_MINUS}])?\s*(?P<close>\))?\s*(?P<c4>{_AFFIX})?\s*"
    r"(?P<pct>%)?$"
)
_PLAIN = re.compile(r"-?\d[\d.,]*")  # the usual cell: digits and separators, maybe a minus
_SUFFIXED = re.compile(
    rf"^\(?[+{_MINUS}]?\s*(?:{_AFFIX})?\s*\d[\d.,'\u00a0\u202f ]*\s*"
    r"(?:k|K|m|M|mm|MM|mn|Mn|bn|Bn|BN|b|B|mil|mln|Mio\.?|Mrd\.?|tys\.?|lakh|crore|"
    rf"thousand|million|billion)\)?\s*(?:{_AFFIX})?$"
)
_TRUE_FALSE = frozenset({"TRUE", "FALSE", "WAHR", "FALSCH", "VRAI", "FAUX", "VERDADERO", "FALSO"})
_SPACE_GROUPS = re.compile(r"^\d{1,3}(?:[\u00a0\u202f' ]\d{3})+(?:[.,]\d+)?$")
_COMMA_EVIDENCE = re.compile(r"^[^,]*\d,\d{1,2}$|^[^,]*\d,\d{4,}$|\d\.\d{3},\d|\d\.\d{3}\.\d")
_POINT_EVIDENCE = re.compile(r"^[^.]*\d\.\d{1,2}$|^[^.]*\d\.\d{4,}$|\d,\d{3}\.\d|\d,\d{3},\d")


@dataclass(frozen=True)
class NumberTexts:
    """Numbers read from texts (one entry per text).

    Attributes:
        values: The number (negative when the text says so), NaN where the text is not one.
        percent: True where the text ends in ``%`` (the value is then the number before it).
        problems: Why a text is not a number (None where it is): ``"an Excel error value"``,
            ``"TRUE/FALSE"``, ``"a magnitude suffix (k, M, bn)"``, ``"an ambiguous decimal
            mark"`` or ``"not a number"``.
        comma, point: True where the text can only have a decimal comma / a decimal point.
    """

    values: np.ndarray
    percent: np.ndarray
    problems: np.ndarray
    comma: np.ndarray
    point: np.ndarray


@dataclass(frozen=True)
class NumberShapes:
    """What the number pattern finds in each text, computed once (:func:`number_shapes`):
    ``shaped`` (the text has the shape of a number), ``percent``, and the decimal-mark evidence
    ``comma`` / ``point``; :meth:`read` reads the texts with a decimal mark."""

    texts: pd.Series
    core: pd.Series  # "" where the text has no number shape
    shaped: np.ndarray
    negative: np.ndarray
    percent: np.ndarray
    comma: np.ndarray
    point: np.ndarray

    def read(self, decimal: str) -> NumberTexts:
        """The numbers, read with ``decimal`` (``"."`` or ``","``) as the decimal mark."""
        return _read_with(self, decimal)


def number_shapes(texts: pd.Series) -> NumberShapes:
    """:class:`NumberShapes` of stripped texts (pass distinct values)."""
    texts = pd.Series(texts, dtype=object).reset_index(drop=True)
    n = len(texts)
    core = pd.Series("", index=texts.index, dtype=object)
    shaped = np.zeros(n, dtype=bool)
    negative = np.zeros(n, dtype=bool)
    percent = np.zeros(n, dtype=bool)
    plain = texts.str.fullmatch(_PLAIN).to_numpy(dtype=bool)  # the usual case: no regex groups
    if plain.any():
        p = texts[plain]
        neg = p.str.startswith("-").to_numpy(dtype=bool)
        core[plain] = p.str.lstrip("-")
        shaped[plain] = True
        negative[plain] = neg
    rest = np.flatnonzero(~plain)
    if len(rest):
        parts = texts.iloc[rest].str.extract(_NUMBER_SHAPE)
        ok = parts["core"].notna().to_numpy().copy()
        for c in ("c1", "c2", "c3", "c4"):  # a letter code must be a currency, not "M" or "k"
            code = parts[c].fillna("").str.rstrip(".").str.casefold()
            letters = code.str.fullmatch(r"[^\W\d_]+").to_numpy(dtype=bool)
            ok &= ~letters | code.isin(_AFFIXES).to_numpy()
        opened = parts["open"].notna().to_numpy()
        closed = parts["close"].notna().to_numpy()
        minus = np.isin(parts["sign"].fillna("").to_numpy(dtype=object), _MINUS_SIGNS)
        trail = parts["trail"].notna().to_numpy()
        count = opened.astype(int) + minus.astype(int) + trail.astype(int)
        ok &= (opened == closed) & (count <= 1)
        core.iloc[rest[ok]] = parts["core"].to_numpy(dtype=object)[ok]
        core = core.str.strip()
        shaped[rest] = ok
        negative[rest] = ok & (count > 0)
        percent[rest] = ok & parts["pct"].notna().to_numpy()
    comma = shaped & core.str.contains(_COMMA_EVIDENCE).to_numpy(dtype=bool)
    point = shaped & core.str.contains(_POINT_EVIDENCE).to_numpy(dtype=bool)
    return NumberShapes(texts, core, shaped, negative, percent, comma, point)


def decimal_evidence(texts: pd.Series) -> tuple[Any, Any]:
    """The first text that can only have a decimal comma, and the first that can only have a
    decimal point (None when there is none): ``("12,5", "1,250.50")``."""
    texts = pd.Series(texts, dtype=object).astype(str).str.strip().reset_index(drop=True)
    shapes = number_shapes(texts)
    comma, point = np.flatnonzero(shapes.comma), np.flatnonzero(shapes.point)
    return (
        texts.iloc[comma[0]] if len(comma) else None,
        texts.iloc[point[0]] if len(point) else None,
    )


def read_number_texts(texts: pd.Series, decimal: str | None = None) -> NumberTexts:
    """Read texts as numbers (see the module docstring for the rule).

    Args:
        texts: Cell texts (any index; read once each, so pass distinct values).
        decimal: ``"."`` or ``","`` for every text (a file's decimal mark); None reads each text
            by its own evidence (``12,5`` and ``1.250,00`` have a decimal comma, ``12.5`` and
            ``1,250.00`` a decimal point), and a text without evidence (``1,250``) by the
            texts' evidence (a decimal comma only when some text can only have one and none can
            only have a decimal point); when the texts have both, such a text is a problem
            (``"an ambiguous decimal mark"``).
    """
    texts = pd.Series(texts, dtype=object).astype(str).str.strip().reset_index(drop=True)
    shapes = number_shapes(texts)
    if decimal is not None:
        return _read_with(shapes, decimal)
    comma, point = shapes.comma, shapes.point
    default = "," if comma.any() and not point.any() else "."
    by_point = _read_with(shapes, ".")
    if not comma.any():
        return by_point
    by_comma = _read_with(shapes, ",")
    use_comma = comma | (~point & (default == ","))
    values = np.where(use_comma, by_comma.values, by_point.values)
    percent = np.where(use_comma, by_comma.percent, by_point.percent)
    problems = np.where(use_comma, by_comma.problems, by_point.problems).astype(object)
    if point.any():
        with np.errstate(invalid="ignore"):
            differ = ~(by_comma.values == by_point.values)
        both_ok = ~np.isnan(by_comma.values) & ~np.isnan(by_point.values)
        unsure = ~comma & ~point & both_ok & differ
        values = np.where(unsure, np.nan, values)
        problems[unsure] = "an ambiguous decimal mark"
    return NumberTexts(values, percent, problems, comma, point)


def _read_with(shapes: NumberShapes, decimal: str) -> NumberTexts:
    texts, core = shapes.texts, shapes.core
    n = len(texts)
    values = np.full(n, np.nan)
    percent = np.zeros(n, dtype=bool)
    problems = np.full(n, None, dtype=object)
    if decimal not in (",", "."):
        raise PipesheetError(
            "decimal mark must be ',' or '.'", table="settings", column="decimal", value=decimal
        )
    if n:
        thousands = "." if decimal == "," else ","
        t, d = re.escape(thousands), re.escape(decimal)
        plain = core.str.fullmatch(rf"\d+(?:{d}\d+)?(?:[eE][-+]?\d+)?|{d}\d+")
        grouped = core.str.fullmatch(rf"\d{{1,3}}(?:{t}\d{{3}})+(?:{d}\d+)?")
        ok = shapes.shaped & (plain | grouped).to_numpy(dtype=bool)
        spaced_at = np.flatnonzero(shapes.shaped & ~ok & core.str.contains(r"[\u00a0\u202f' ]"))
        if len(spaced_at):
            c = core.iloc[spaced_at]
            spaced = c.str.fullmatch(_SPACE_GROUPS) & (
                ~c.str.contains(r"[.,]") | c.str.contains(rf"{d}\d+$")
            )
            ok[spaced_at] = spaced.to_numpy(dtype=bool)
        if ok.any():
            digits = core[ok]
            if len(spaced_at):
                digits = digits.str.replace(r"[\u00a0\u202f' ]", "", regex=True)
            digits = digits.str.replace(thousands, "", regex=False)
            if decimal == ",":
                digits = digits.str.replace(",", ".", regex=False)
            number = pd.to_numeric(digits, errors="coerce").to_numpy(dtype=float)
            values[ok] = np.where(shapes.negative[ok], -number, number)
            percent[ok] = shapes.percent[ok]
        bad = np.flatnonzero(~ok)
        if len(bad):
            upper = texts.iloc[bad].str.upper()
            problems[bad] = "not a number"
            problems[bad[upper.isin(EXCEL_ERRORS).to_numpy()]] = "an Excel error value"
            problems[bad[upper.isin(_TRUE_FALSE).to_numpy()]] = "TRUE/FALSE"
            suffix = texts.iloc[bad].str.fullmatch(_SUFFIXED).to_numpy(dtype=bool)
            problems[bad[suffix]] = "a magnitude suffix (k, M, bn)"
    return NumberTexts(values, percent, problems, shapes.comma, shapes.point)


# ---- dates ---------------------------------------------------------------------------------------
_TIME = (
    r"(?P<time>(?:[ T]|,\s*)\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s?[AaPp]\.?[Mm]\.?)?)?"
    r"(?P<zone>\s?(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?))?"
)
_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        (
            "jan january",
            "feb february",
            "mar march",
            "apr april",
            "may",
            "jun june",
            "jul july",
            "aug august",
            "sep sept september",
            "oct october",
            "nov november",
            "dec december",
        )
    )
    for m in names.split()
}
_MON = "|".join(sorted(_MONTHS, key=len, reverse=True))
_FORMS = {
    "iso": re.compile(rf"^(?P<y>\d{{4}})(?P<s>[-/])(?P<m>\d{{1,2}})(?P=s)(?P<d>\d{{1,2}}){_TIME}$"),
    "slash": re.compile(
        rf"^(?P<a>\d{{1,2}})(?P<s>[/-])(?P<b>\d{{1,2}})(?P=s)(?P<y>\d{{4}}|\d{{2}}){_TIME}$"
    ),
    "dot": re.compile(rf"^(?P<d>\d{{1,2}})\.(?P<m>\d{{1,2}})\.(?P<y>\d{{4}}|\d{{2}})\.?{_TIME}$"),
    "day_name": re.compile(
        rf"^(?P<d>\d{{1,2}})\.?[ -]?(?P<mon>{_MON})\.?[ ,-]*(?P<y>\d{{4}}){_TIME}$", re.IGNORECASE
    ),
    "name_day": re.compile(
        rf"^(?P<mon>{_MON})\.?[ -]?(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?[ -]*(?P<y>\d{{4}}){_TIME}$",
        re.IGNORECASE,
    ),
}
_TIME_ONLY = re.compile(r"^\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(\s?[AaPp]\.?[Mm]\.?)?$")
_YEAR_ONLY = re.compile(r"^\d{4}$")


@dataclass(frozen=True)
class DateTexts:
    """Dates read from texts (one entry per text).

    Attributes:
        values: ``datetime64[ns]``, NaT where the text is not a supported date.
        problems: Why not (None where it is a date): ``"not a date"``, ``"not a real date"``,
            ``"outside the supported date range"``, ``"a time without a date"``,
            ``"an Excel error value"``, ``"ambiguous day/month order"``.
        form: The form each text has (``"iso"``, ``"slash"``, ``"dot"``, ``"name"``, ``""``).
    """

    values: np.ndarray
    problems: np.ndarray
    form: np.ndarray


def date_order_evidence(texts: pd.Series, *, strip: bool = True) -> tuple[Any, Any]:
    """The first ``d/m/y`` text whose first part is above 12 (day first) and the first whose
    second part is (month first), None when there is none."""
    if strip:
        texts = pd.Series(texts, dtype=object).astype(str).str.strip()
    return _order_evidence(texts)


def char_codes(texts: pd.Series, width: int) -> np.ndarray:
    """The first ``width`` characters of each text as code points (0 past its end): an
    ``(n, width)`` array for fast shape checks of millions of cells."""
    arr = np.asarray(texts.to_numpy(dtype=object), dtype=f"U{width}")
    return arr.view(np.uint32).reshape(len(arr), width)


def _order_evidence(texts: pd.Series) -> tuple[Any, Any]:
    if not len(texts):
        return None, None
    codes = char_codes(texts, 3)
    sep = np.isin(codes[:, 1:3], (ord("/"), ord("-"))).any(axis=1)
    texts = texts[sep]  # only d/m/y texts can tell (a cheap pre-filter)
    if not len(texts):
        return None, None
    parts = texts.str.extract(_FORMS["slash"])
    ok = parts["a"].notna()
    a = pd.to_numeric(parts["a"], errors="coerce")
    b = pd.to_numeric(parts["b"], errors="coerce")
    day = texts[ok & (a > 12) & (b <= 12)]
    month = texts[ok & (b > 12) & (a <= 12)]
    return (day.iloc[0] if len(day) else None, month.iloc[0] if len(month) else None)


def read_date_texts(
    texts: pd.Series, dayfirst: bool | None = None, *, strip: bool = True
) -> DateTexts:
    """Read texts as dates (see the module docstring for the forms, range and order rule).

    Args:
        texts: Cell texts (pass distinct values: each is read once).
        dayfirst: Order of ``d/m/y``-or-``m/d/y`` texts whose parts are both ≤ 12; None leaves
            them as ``"ambiguous day/month order"`` problems (the caller decides the order from
            the data first: :func:`date_order_evidence`).
        strip: False when the texts are already stripped text (saves a pass on large columns).
    """
    if strip:
        texts = pd.Series(texts, dtype=object).astype(str).str.strip()
    return _read_dates(texts.reset_index(drop=True), dayfirst)


def _read_dates(texts: pd.Series, dayfirst: bool | None) -> DateTexts:
    """:func:`read_date_texts` of stripped texts with a 0..n-1 index."""
    n = len(texts)
    values = np.full(n, np.datetime64("NaT", "ns"))
    problems = np.full(n, "not a date", dtype=object)
    form = np.full(n, "", dtype=object)
    if not n:
        return DateTexts(values, problems, form)
    fast = _iso_fast(texts)  # the usual export: ISO stamps, read by pandas' C parser
    if fast is not None:
        return fast
    year = pd.Series(np.nan, index=texts.index)
    month = pd.Series(np.nan, index=texts.index)
    day = pd.Series(np.nan, index=texts.index)
    time = pd.Series("", index=texts.index, dtype=object)
    ambiguous = np.zeros(n, dtype=bool)
    todo = pd.Series(True, index=texts.index)
    for name, pattern in _FORMS.items():
        if not todo.any():
            break
        parts = texts[todo].str.extract(pattern)
        hit = parts["y"].notna()
        if not hit.any():
            continue
        parts = parts[hit]
        idx = parts.index
        y = pd.to_numeric(parts["y"]).astype(float)
        y = y.where(parts["y"].str.len() != 2, 2000 + y)  # 2-digit years are this century's
        if name == "slash":
            a = pd.to_numeric(parts["a"]).astype(float)
            b = pd.to_numeric(parts["b"]).astype(float)
            if dayfirst is None:  # each value by itself; both parts ≤ 12 (and different): unknown
                first = a > 12
                amb = ((a <= 12) & (b <= 12) & (a != b)).to_numpy()
                ambiguous[idx.to_numpy()[amb]] = True
            else:  # the order given applies to every value (a contradicting one is not real)
                first = pd.Series(bool(dayfirst), index=idx)
            d_, m_ = a.where(first, b), b.where(first, a)
        elif name in ("day_name", "name_day"):
            m_ = parts["mon"].str.casefold().map(_MONTHS).astype(float)
            d_ = pd.to_numeric(parts["d"]).astype(float)
        else:
            m_ = pd.to_numeric(parts["m"]).astype(float)
            d_ = pd.to_numeric(parts["d"]).astype(float)
        year[idx], month[idx], day[idx] = y, m_, d_
        time[idx] = parts["time"].fillna("")
        form[idx.to_numpy()] = "name" if name in ("day_name", "name_day") else name
        todo[idx] = False
    shaped = form != ""
    problems[shaped] = None
    upper = texts.str.upper()
    problems[(upper.isin(EXCEL_ERRORS)).to_numpy()] = "an Excel error value"
    problems[texts.str.fullmatch(_TIME_ONLY).to_numpy(dtype=bool)] = "a time without a date"
    problems[upper.isin(_TRUE_FALSE).to_numpy()] = "TRUE/FALSE"
    problems[texts.str.fullmatch(_YEAR_ONLY).to_numpy(dtype=bool)] = "a year alone"
    outside = shaped & ~year.between(DATE_MIN.year, DATE_MAX.year).to_numpy()
    problems[outside] = "outside the supported date range"
    problems[ambiguous & ~outside] = "ambiguous day/month order"
    parse = np.flatnonzero(shaped & ~outside & ~ambiguous)
    if len(parse):
        stamp = (
            year.iloc[parse].astype(int).astype(str).str.zfill(4)
            + "-"
            + month.iloc[parse].astype(int).astype(str).str.zfill(2)
            + "-"
            + day.iloc[parse].astype(int).astype(str).str.zfill(2)
        )
        clock = _clock(time.iloc[parse])
        bad_clock = clock.isna().to_numpy()
        text = (stamp + " " + clock.fillna("00:00:00")).to_numpy(dtype=object)
        parsed = pd.to_datetime(
            pd.Series(text, dtype=object), format="%Y-%m-%d %H:%M:%S.%f", errors="coerce"
        ).to_numpy(dtype="datetime64[ns]")
        parsed[bad_clock] = np.datetime64("NaT", "ns")
        values[parse] = parsed
        problems[parse[np.isnat(parsed)]] = "not a real date"
    return DateTexts(values, problems, form)


def _iso_fast(texts: pd.Series) -> DateTexts | None:
    """Every text ``YYYY-MM-DD`` with an optional ``THH:MM[:SS[.f]]`` and zone: read at once by
    pandas' ISO parser (a zone dropped, the wall time kept); None when some text has another
    shape (the general path reads it)."""
    codes = char_codes(texts, 11)
    digit = (codes[:, :4] >= ord("0")) & (codes[:, :4] <= ord("9"))
    shape = (
        digit.all(axis=1)
        & (codes[:, 4] == ord("-"))
        & (codes[:, 7] == ord("-"))
        & (codes[:, 9] != 0)
        & np.isin(codes[:, 10], (0, ord("T"), ord(" ")))
    )
    if not bool(shape.all()):
        return None
    n = len(texts)
    year = ((codes[:, :4].astype(np.int64) - ord("0")) * np.array([1000, 100, 10, 1])).sum(axis=1)
    outside = (year < DATE_MIN.year) | (year > DATE_MAX.year)
    values = np.full(n, np.datetime64("NaT", "ns"))
    ok = ~outside
    if ok.any():
        inside = texts[ok]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # pandas 2: mixed zones
            try:
                parsed = pd.to_datetime(inside, format="ISO8601", errors="coerce")
            except (ValueError, TypeError):  # zones that differ between cells (pandas 3)
                parsed = None
        if parsed is not None and isinstance(parsed.dtype, pd.DatetimeTZDtype):
            parsed = parsed.dt.tz_localize(None)  # the wall time in the cell's own zone
        elif parsed is not None and not pd.api.types.is_datetime64_dtype(parsed.dtype):
            parsed = None  # pandas 2: mixed zones come back as objects
        if parsed is None:
            wall = inside.str.replace(r"(?<=\d)(?:Z|[+-]\d{2}(?::?\d{2})?)$", "", regex=True)
            wall = wall.where(inside.str.len() > 10, inside)  # a bare date keeps its "-dd"
            parsed = pd.to_datetime(wall, format="ISO8601", errors="coerce")
        values[ok] = parsed.to_numpy(dtype="datetime64[ns]")
    problems = np.full(n, None, dtype=object)
    problems[outside] = "outside the supported date range"
    problems[ok & np.isnat(values)] = "not a real date"
    return DateTexts(values, problems, np.full(n, "iso", dtype=object))


def _clock(time: pd.Series) -> pd.Series:
    """``" 14:05"``, ``"T2:05:09.5 PM"`` → ``"14:05:00.000000"`` (NaN for an impossible time)."""
    parts = time.str.extract(
        r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?\s?(?P<ap>[AaPp])?"
    )
    h = pd.to_numeric(parts["h"]).fillna(0).astype(int)
    ap = parts["ap"].str.upper()
    bad = (ap.notna() & ((h < 1) | (h > 12))).to_numpy()
    h = h.where(ap.isna(), (h % 12) + np.where(ap == "P", 12, 0))
    mi = pd.to_numeric(parts["mi"]).fillna(0).astype(int)
    s = pd.to_numeric(parts["s"]).fillna(0).astype(int)
    f = parts["f"].fillna("0").str[:6].str.ljust(6, "0")
    bad = bad | ((h > 23) | (mi > 59) | (s > 59)).to_numpy()
    out = (
        h.astype(str).str.zfill(2)
        + ":"
        + mi.astype(str).str.zfill(2)
        + ":"
        + s.astype(str).str.zfill(2)
        + "."
        + f
    )
    return out.where(~bad)


def serial_dates(serials: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Excel serial numbers (1900 system) as ``datetime64[ns]``; second result: True where the
    serial is outside the supported range (its date is NaT)."""
    serials = np.asarray(serials, dtype=float)
    outside = ~((serials >= SERIAL_MIN) & (serials <= SERIAL_MAX))
    safe = np.where(outside, SERIAL_MIN, serials)
    days = np.floor(safe)
    base = _EXCEL_EPOCH.to_datetime64().astype("datetime64[D]") + days.astype("timedelta64[D]")
    ms = np.round((safe - days) * 86_400_000).astype("timedelta64[ms]")
    out = (base.astype("datetime64[ms]") + ms).astype("datetime64[ns]")
    out[outside] = np.datetime64("NaT", "ns")
    return out, outside


def read_date_order(value: Any, name: str = "date_order") -> bool | None:
    """A date-order setting as ``dayfirst``: ``"dmy"``/``"day first"``/True → True,
    ``"mdy"``/``"month first"``/False → False, blank → None (from the data)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    key = re.sub(r"[\s_/.-]", "", str(value)).casefold()
    if key in ("", "auto", "data", "fromdata"):
        return None
    if key in ("dmy", "dayfirst", "day", "dm", "true", "1"):
        return True
    if key in ("mdy", "monthfirst", "month", "md", "false", "0"):
        return False
    raise PipesheetError(
        "unknown date order",
        table="settings",
        column=name,
        value=value,
        expected='"dmy" (day first, 25/03/2027) or "mdy" (month first, 03/25/2027)',
    )


# ---- columns of cells: the readers the tables use ---------------------------------------------
DATE_EXPECTED = (
    f"a date from {DATE_RANGE_TEXT}: a date cell, ISO text like 2026-09-30, or an Excel serial "
    "number"
)
_OTHER_SPACE = re.compile(r"[^\S ]")  # white space other than a plain space
_ASCII_OTHER_SPACE = ("\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")


def row_numbers(index: pd.Index, mask: np.ndarray) -> list[int]:
    """The spreadsheet rows (index values) where ``mask`` is true, at most the first 50."""
    return [int(r) for r in index[mask][:50]]


_NUMBER_PROBLEMS = {
    "an Excel error value": (
        "{what} is an Excel error value",
        "{expected}; the cell shows a formula's error — fix it where the data comes from",
    ),
    "TRUE/FALSE": ("{what} is TRUE/FALSE, not a number", "{expected}"),
    "a magnitude suffix (k, M, bn)": (
        "{what} has a magnitude suffix (k, M, bn)",
        "the whole number, e.g. 1500000 for 1.5M ({expected})",
    ),
    "a date": ("{what} is a date, not a number", "{expected}"),
    "not a number": ("{what} is not a number", "{expected}"),
    "a percentage": ("{what} is a percentage", "{expected}"),
    "an ambiguous decimal mark": (
        "{what} could have a decimal comma or a decimal point (the column has both)",
        "the number without a thousands separator, e.g. 1250 or 1.25",
    ),
}


def _read_numbers(
    values: pd.Series, table: str, column: str, what: str, expected: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Numbers of a column as :mod:`pipesheet.cells` reads them: ``(numbers, percent, problems,
    blank)`` per row (``problems[i]`` None where the cell is a number or blank)."""
    n = len(values)
    if pd.api.types.is_bool_dtype(values.dtype):
        blank = values.isna().to_numpy()
        problems = np.where(blank, None, "TRUE/FALSE").astype(object)
        return np.full(n, np.nan), np.zeros(n, dtype=bool), problems, blank
    if pd.api.types.is_numeric_dtype(values.dtype):
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
        blank = np.isnan(numbers)
        return numbers, np.zeros(n, dtype=bool), np.full(n, None, dtype=object), blank
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    m = len(uniques)
    numbers = np.full(m, np.nan)
    percent = np.zeros(m, dtype=bool)
    problems = np.full(m, None, dtype=object)
    blank_u = np.zeros(m, dtype=bool)
    kinds = pd.Series(uniques, dtype=object).map(_number_kind).to_numpy(dtype=object)
    is_num = kinds == "number"
    if is_num.any():
        numbers[is_num] = np.array([float(u) for u in uniques[is_num]], dtype=float)
        blank_u[is_num] = np.isnan(numbers[is_num])
    problems[kinds == "bool"] = "TRUE/FALSE"
    problems[kinds == "date"] = "a date"
    text_at = np.flatnonzero(kinds == "text")
    if len(text_at):
        texts = pd.Series([str(uniques[i]).strip() for i in text_at], dtype=object)
        empty = (texts == "").to_numpy()
        blank_u[text_at[empty]] = True
        filled = texts[~empty].reset_index(drop=True)
        at = text_at[~empty]
        read = read_number_texts(filled)
        numbers[at] = read.values
        percent[at] = read.percent
        problems[at] = read.problems
    blank = np.append(blank_u, True)[codes]
    return (
        np.append(numbers, np.nan)[codes],
        np.append(percent, False)[codes],
        np.append(problems, None)[codes],
        blank,
    )


def _first_row(values: pd.Series, text: Any) -> int:
    """The spreadsheet row of the first cell whose stripped text is ``text``."""
    hit = (values.astype(str).str.strip() == text).to_numpy()
    return int(values.index[hit][0]) if hit.any() else int(values.index[0])


def _number_kind(value: Any) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return "number"  # blank (NaN below)
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return "number"
    if isinstance(value, (dt.date, dt.time, np.datetime64, pd.Timestamp)):
        return "date"
    return "text"


def _raise_number_problem(
    values: pd.Series,
    problems: np.ndarray,
    mask: np.ndarray,
    table: str,
    column: str,
    what: str,
    expected: str,
) -> None:
    """Raise for the first row in ``mask``, naming every row with the same problem."""
    first = int(np.flatnonzero(mask)[0])
    kind = problems[first]
    same = mask & (problems == kind)
    problem, want = _NUMBER_PROBLEMS[kind]
    raise PipesheetError(
        problem.format(what=what),
        table=table,
        column=column,
        rows=row_numbers(values.index, same),
        value=values.iloc[first],
        expected=want.format(expected=expected),
    )


def parse_amounts(
    values: pd.Series,
    *,
    table: str,
    column: str,
    allow_blank: bool = False,
    what: str = "amount",
    limit: float = MAX_AMOUNT,
) -> pd.Series:
    """Amounts as float, read by the one rule for numbers in cells (:mod:`pipesheet.cells`).

    Numbers, or numeric text like ``"12,500"``, ``"12.500,50"``, ``"1 250"``, ``"$ 3,000"``.  The
    decimal mark is taken from the column's texts (a decimal comma only when some text can only
    have one — ``"12,5"``, ``"1.250,00"`` — and none can only have a decimal point; both in one
    column is an error).  ``(1,200)``, ``1,200-`` and ``−1200`` are negative, so refused.

    Args:
        values: The column.
        table, column: Named in messages.
        allow_blank: Blanks come back as NaN for the caller to count, instead of an error.
        what: The word for one value in messages (``"amount"``, ``"rate"``…).
        limit: Largest accepted absolute value (:data:`~pipesheet.cells.MAX_AMOUNT`).

    Raises:
        PipesheetError: naming the cell(s): text that is not a number (with why: an Excel error
            value, TRUE/FALSE, a magnitude suffix such as ``250k``, a percent sign), a blank
            (unless ``allow_blank``), a value above ``limit`` or a negative one.
    """
    expected = f"a non-negative number such as 12500 or 12,500.00 (at most {limit:.0e})"
    numbers, percent, problems, blank = _read_numbers(values, table, column, what, expected)
    problems = np.where(percent, "a percentage", problems).astype(object)
    bad = problems != None  # noqa: E711 - element-wise
    if bad.any():
        _raise_number_problem(values, problems, bad, table, column, what, expected)
    if blank.any() and not allow_blank:
        raise PipesheetError(
            f"{what} is blank",
            table=table,
            column=column,
            rows=row_numbers(values.index, blank),
            expected=f"a non-negative number (or skip blank {what}s explicitly)",
        )
    with np.errstate(invalid="ignore"):
        infinite = ~blank & ~np.isfinite(numbers)
        big = ~blank & ~infinite & ~(np.abs(numbers) <= limit)
        neg = ~blank & (numbers < 0)
    for mask, problem, want in (
        (infinite, f"{what} is not finite", f"a number of at most {limit:.0e}"),
        (big, f"{what} is too large", f"at most {limit:,.0f} ({limit:.0e}) in absolute value"),
        (
            neg,
            f"{what} is negative",
            "a non-negative number ((1,200), 1,200- and −1200 are negatives)",
        ),
    ):
        if mask.any():
            raise PipesheetError(
                problem,
                table=table,
                column=column,
                rows=row_numbers(values.index, mask),
                value=values[mask].iloc[0],
                expected=want,
            )
    return pd.Series(numbers, index=values.index, dtype=float)


def parse_probabilities(values: pd.Series, *, table: str, column: str) -> pd.Series:
    """Probabilities as 0–1 floats (blank = NaN).

    The scale is decided only when every value agrees: a value written with ``%`` is a percent;
    among the others, one strictly between 0 and 1 says shares and one above 1 says percent;
    0 and 1 fit both (read as shares unless another value says percent).  Values on both scales
    in one column are refused, naming the disagreeing cells: write ``0.5%`` or ``50%`` to say
    which is meant.

    Raises:
        PipesheetError: naming the cell(s): not a number, negative, above 100 (or 100%), or
            values on two scales.
    """
    expected = "a probability such as 0.25 or 25%"
    numbers, percent, problems, blank = _read_numbers(
        values, table, column, "probability", expected
    )
    bad = problems != None  # noqa: E711 - element-wise
    if bad.any():
        _raise_number_problem(values, problems, bad, table, column, "probability", expected)
    with np.errstate(invalid="ignore"):
        checks = (
            (~blank & ~np.isfinite(numbers), "probability is not finite"),
            (~blank & (numbers < 0), "probability is negative"),
            (~blank & (numbers > 100), "probability above 100%"),
        )
    for mask, problem in checks:
        if mask.any():
            rows = row_numbers(values.index, mask)
            raise PipesheetError(
                problem,
                table=table,
                column=column,
                rows=rows,
                value=values[mask].iloc[0],
                expected="a probability between 0 and 1, or 0% and 100%",
            )
    plain = ~blank & ~percent
    with np.errstate(invalid="ignore"):
        shares = plain & (numbers > 0) & (numbers < 1)
        percents = plain & (numbers > 1)
    if shares.any() and percents.any():
        few = shares if shares.sum() <= percents.sum() else percents
        a, b = int(np.flatnonzero(shares)[0]), int(np.flatnonzero(percents)[0])
        raise PipesheetError(
            f"probabilities on two scales: {values.iloc[a]!r} (row {values.index[a]}) reads as "
            f"a share of 1, {values.iloc[b]!r} (row {values.index[b]}) as a percent",
            table=table,
            column=column,
            rows=row_numbers(values.index, few),
            expected="one scale for the whole column: shares (0.25) or percents (25); write "
            "0.5% or 50% to say which is meant",
        )
    scale = np.where(percent | percents.any(), 100.0, 1.0)
    return pd.Series(numbers / scale, index=values.index, dtype=float)


def parse_dates(
    values: pd.Series,
    *,
    table: str,
    column: str,
    allow_blank: bool = True,
    dayfirst: bool | None = None,
) -> pd.Series:
    """Dates read by the one rule for dates in cells (:mod:`pipesheet.cells`).

    Date cells, ISO text, other common text forms, or Excel serial numbers (1900 date system),
    from :data:`~pipesheet.cells.DATE_MIN` to :data:`~pipesheet.cells.DATE_MAX`.  Distinct
    values are read once (a history of a million rows usually has a few hundred distinct dates).
    Time zones are dropped: the local wall time is kept.  The day/month order of ``03/04/2027``
    texts comes from the column (a part above 12), else from ``dayfirst``, else they are refused.

    Raises:
        PipesheetError: naming the cell(s): not a date (a word, a time alone, a year alone, an
            Excel error value, TRUE/FALSE, an impossible day), outside the supported range,
            ambiguous day/month order with no setting, both orders in the column, or a blank
            when ``allow_blank`` is false.
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        out = values
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_localize(None)  # local wall time
        raw = out.to_numpy()
        with np.errstate(invalid="ignore"):
            outside = ~np.isnat(raw) & (
                (raw < DATE_MIN.to_datetime64()) | (raw > _DATE_END.to_datetime64())
            )
        if outside.any():
            _raise_date(values, outside, "outside the supported date range", table, column)
        out = pd.Series(raw.astype("datetime64[ns]"), index=values.index)
    else:
        codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
        parsed, problems = _unique_dates(
            pd.Series(uniques, dtype=object), dayfirst, values, table, column
        )
        row_problems = np.append(problems, None)[codes]
        bad = row_problems != None  # noqa: E711 - element-wise
        if bad.any():
            _raise_date(values, bad, row_problems, table, column)
        arr = np.append(parsed, np.datetime64("NaT", "ns"))[codes]
        out = pd.Series(arr, index=values.index, dtype="datetime64[ns]")
    blank = out.isna().to_numpy()
    if blank.any() and not allow_blank:
        raise PipesheetError(
            "date is blank",
            table=table,
            column=column,
            rows=row_numbers(values.index, blank),
            expected=DATE_EXPECTED,
        )
    return out


_SERIAL_CHARS = np.array([ord(c) for c in "0123456789."] + [0], dtype=np.uint32)
_DATE_END = DATE_MAX + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
_DATE_PROBLEMS = {
    "not a date": ("not a date", DATE_EXPECTED),
    "not a real date": ("not a real date", "a calendar date such as 2026-09-30"),
    "outside the supported date range": (
        f"date outside the supported range {DATE_RANGE_TEXT}",
        "a date in that range; leave the cell blank when there is no date (placeholders such "
        "as 9999-12-31 or 0001-01-01 are not dates)",
    ),
    "a time without a date": ("a time without a date", DATE_EXPECTED),
    "a year alone": ("a year alone is not a date", DATE_EXPECTED),
    "an Excel error value": (
        "date is an Excel error value",
        DATE_EXPECTED + "; the cell shows a formula's error — fix it where the data comes from",
    ),
    "TRUE/FALSE": ("date is TRUE/FALSE", DATE_EXPECTED),
    "a number outside the date range": (
        f"number outside the supported date range {DATE_RANGE_TEXT} (Excel serial numbers "
        f"{SERIAL_MIN:.0f} to {math.floor(SERIAL_MAX):.0f})",
        DATE_EXPECTED + "; leave the cell blank when there is no date",
    ),
    "ambiguous day/month order": (
        "day/month order is ambiguous: this date could be day/month or month/day, and no value "
        "of the column has a part above 12 to tell",
        DATE_ORDER_SETTING,
    ),
}


def _raise_date(
    values: pd.Series, mask: np.ndarray, problems: Any, table: str, column: str
) -> None:
    """Raise for the first bad row (an ambiguous order only when nothing else is wrong)."""
    kinds = np.broadcast_to(np.asarray(problems, dtype=object), mask.shape)
    other = mask & (kinds != "ambiguous day/month order")
    pick = other if other.any() else mask
    first = int(np.flatnonzero(pick)[0])
    kind = kinds[first]
    same = pick & (kinds == kind)
    problem, want = _DATE_PROBLEMS[kind]
    raise PipesheetError(
        problem,
        table=table,
        column=column,
        rows=row_numbers(values.index, same),
        value=values.iloc[first],
        expected=want,
    )


def _unique_dates(
    uniques: pd.Series, dayfirst: bool | None, values: pd.Series, table: str, column: str
) -> tuple[np.ndarray, np.ndarray]:
    """``(dates, problems)`` of distinct cells (NaT/None where blank)."""
    n = len(uniques)
    out = np.full(n, np.datetime64("NaT", "ns"))
    problems = np.full(n, None, dtype=object)
    if not n:
        return out, problems
    if pd.api.types.infer_dtype(uniques.to_numpy(), skipna=False) == "string":
        kinds = np.full(n, "text", dtype=object)  # the usual CSV case: no per-value checks
    else:
        kinds = uniques.map(_date_kind).to_numpy(dtype=object)
    for kind, problem in (
        ("time", "a time without a date"),
        ("bool", "TRUE/FALSE"),
        ("other", "not a date"),
    ):
        problems[kinds == kind] = problem
    stamp_at = np.flatnonzero(kinds == "stamp")
    if len(stamp_at):
        days, outside = _stamps(uniques.iloc[stamp_at].tolist())
        out[stamp_at] = days
        problems[stamp_at[outside]] = "outside the supported date range"
    serial_at = list(np.flatnonzero(kinds == "number"))
    text_at = np.flatnonzero(kinds == "text")
    if len(text_at):
        texts = uniques.iloc[text_at].astype(str).str.strip().reset_index(drop=True)
        empty = (texts == "").to_numpy()
        codes = char_codes(texts, 5)
        # serial numbers as text ("45930"): only texts of digits and a point need the full check
        maybe = np.isin(codes, _SERIAL_CHARS).all(axis=1) & ~empty
        digits = np.zeros(len(texts), dtype=bool)
        if maybe.any():
            digits[maybe] = texts[maybe].str.fullmatch(r"\d+(?:\.\d+)?").to_numpy(dtype=bool)
        serial_at += list(text_at[digits])
        words = ~empty & ~digits
        if words.any():
            filled = texts[words].reset_index(drop=True)
            day_ev, month_ev = date_order_evidence(filled, strip=False)
            if day_ev is not None and month_ev is not None and dayfirst is None:
                rows = [_first_row(values, v) for v in (day_ev, month_ev)]
                raise PipesheetError(
                    f"dates in both day/month and month/day order: {day_ev!r} (row {rows[0]}) "
                    f"is day first, {month_ev!r} (row {rows[1]}) month first",
                    table=table,
                    column=column,
                    rows=rows,
                    expected="one date order in the column (or ISO dates like 2026-09-30)",
                )
            order = dayfirst
            if order is None:
                order = True if day_ev is not None else False if month_ev is not None else None
            read = read_date_texts(filled, order, strip=False)
            out[text_at[words]] = read.values
            problems[text_at[words]] = read.problems
    if serial_at:
        at = np.asarray(serial_at, dtype=np.int64)
        numbers = pd.to_numeric(
            uniques.iloc[at].map(lambda v: str(v).strip() if isinstance(v, str) else v),
            errors="coerce",
        ).to_numpy(dtype=float)
        blank = np.isnan(numbers)
        days, outside = serial_dates(numbers)
        out[at] = np.where(blank, np.datetime64("NaT", "ns"), days)
        problems[at[outside & ~blank]] = "a number outside the date range"
        with np.errstate(invalid="ignore"):
            year = outside & (numbers >= 1000) & (numbers <= 2999) & (numbers % 1 == 0)
        problems[at[year]] = "a year alone"
    return out, problems


def _date_kind(value: Any) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return "number"  # blank
    if isinstance(value, str):
        return "text"
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return "number"
    if isinstance(value, (dt.datetime, dt.date, np.datetime64, pd.Timestamp)):
        return "stamp"
    if isinstance(value, dt.time):
        return "time"
    return "other"


def _stamps(values: list) -> tuple[np.ndarray, np.ndarray]:
    """Date/datetime objects as ``datetime64[ns]`` (time zone dropped: wall time), and True
    where one is outside the supported range (then NaT)."""
    out = np.full(len(values), np.datetime64("NaT", "ns"))
    outside = np.zeros(len(values), dtype=bool)
    for i, v in enumerate(values):  # per distinct value
        if isinstance(v, np.datetime64):
            if np.isnat(v):
                continue
            v = pd.Timestamp(v.astype("datetime64[us]")) if _in_range(v) else None
            if v is None:
                outside[i] = True
                continue
        if getattr(v, "tzinfo", None) is not None:
            v = v.replace(tzinfo=None)
        day = v.date() if isinstance(v, dt.datetime) else v
        if not DATE_MIN.date() <= day <= DATE_MAX.date():
            outside[i] = True
            continue
        out[i] = np.datetime64(pd.Timestamp(v).to_datetime64(), "ns")
    return out, outside


def _in_range(value: np.datetime64) -> bool:
    day = value.astype("datetime64[D]")
    return bool(np.datetime64(DATE_MIN.date(), "D") <= day <= np.datetime64(DATE_MAX.date(), "D"))


def text_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray, bool]:
    """Clean text keys, computed once per distinct value: ``(codes, uniques, as_given)``, code
    -1 = blank; ``as_given`` is True when every non-blank value was clean text already (then the
    column's own values are the cleaned ones).

    White space is collapsed; whole numbers become ``'123'`` (Excel sends ids as ``123.0``).
    """
    codes, uniques = _factorize_runs(values)
    uniques = np.asarray(uniques, dtype=object)
    if pd.api.types.infer_dtype(uniques, skipna=False) == "string":  # all text: the fast path
        if _already_clean(uniques):
            return codes, uniques, True  # the usual case: a few scans of the joined text
        cleaned = [" ".join(strip_invisible(u).split()) or None for u in uniques]
    else:
        cleaned = [clean_text(u) for u in uniques]
    codes2, uniques2 = pd.factorize(pd.Series(cleaned, dtype=object), use_na_sentinel=True)
    lookup = np.append(codes2, -1)
    return lookup[codes], np.asarray(uniques2, dtype=object), False


def _already_clean(texts: np.ndarray) -> bool:
    """True when ``" ".join(t.split()) == t`` and ``t != ""`` for every text (checked in bulk)."""
    joined = "\x00".join(texts)
    if (
        "  " in joined
        or "\x00 " in joined
        or " \x00" in joined
        or "\x00\x00" in joined
        or joined[:1] in (" ", "\x00", "")
        or joined[-1:] in (" ", "\x00")
    ):
        return False
    if joined.isascii():
        return not any(c in joined for c in _ASCII_OTHER_SPACE)
    return (
        _OTHER_SPACE.search(joined) is None
        and INVISIBLE.search(joined) is None
        and unicodedata.is_normalized("NFC", joined)
    )


def _factorize_runs(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize`` (codes in order of first appearance, -1 = missing), faster on grouped data.

    Exports usually list a deal's rows together, so consecutive equal values are collapsed into
    runs first and only one value per run is hashed (a million history rows of 100k deals hash
    100k ids, not a million). The result is the same as ``pd.factorize(values)``.
    """
    arrow = arrow_strings(values)
    if arrow is not None:  # pandas' Arrow-backed text: factorised in Arrow, no Python objects
        return _factorize_arrow(arrow)
    arr = values.to_numpy()
    if len(arr) > 1 and arr.dtype == object:
        try:
            heads = np.empty(len(arr), dtype=bool)
            heads[0] = True
            np.not_equal(arr[1:], arr[:-1], out=heads[1:])
        except (TypeError, ValueError):  # e.g. pd.NA cells: compare the slow way
            heads = None
        if heads is not None and np.count_nonzero(heads) * 2 < len(arr):
            starts = np.flatnonzero(heads)
            run_codes, uniques = pd.factorize(arr[starts], use_na_sentinel=True)
            lengths = np.diff(starts, append=len(arr))
            return np.repeat(run_codes, lengths), uniques
    return pd.factorize(arr, use_na_sentinel=True)


def arrow_strings(values: pd.Series) -> Any:
    """The column's Arrow string array when pandas keeps it in Arrow (pandas 3's ``str`` dtype,
    ``string[pyarrow]``, ``ArrowDtype(pa.string())``), else None."""
    dtype = values.dtype
    arrow = None
    if isinstance(dtype, pd.StringDtype) and getattr(dtype, "storage", None) == "pyarrow":
        arrow = values.array
    elif isinstance(dtype, pd.ArrowDtype) and str(dtype.pyarrow_dtype) in (
        "string",
        "large_string",
    ):
        arrow = values.array
    if arrow is None or not hasattr(arrow, "__arrow_array__"):
        return None
    array = arrow.__arrow_array__()
    return array.combine_chunks() if hasattr(array, "combine_chunks") else array


def _factorize_arrow(array: Any) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_factorize_runs` of an Arrow string array: runs of equal values collapsed (compared
    in Arrow), then dictionary-encoded — codes in order of first appearance, -1 = missing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(array)
    if n > 1:
        differs = pc.fill_null(pc.not_equal(array.slice(1), array.slice(0, n - 1)), True)
        heads = np.empty(n, dtype=bool)
        heads[0] = True
        heads[1:] = differs.to_numpy(zero_copy_only=False)  # (a missing cell starts a run)
        if np.count_nonzero(heads) * 2 < n:
            starts = np.flatnonzero(heads)
            run_codes, uniques = _factorize_arrow(pc.take(array, pa.array(starts)))
            return np.repeat(run_codes, np.diff(starts, append=n)), uniques
    fixed = _factorize_bytes(array)
    if fixed is not None:
        return fixed
    encoded = array.dictionary_encode()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    if encoded.indices.null_count:
        codes = np.where(np.asarray(encoded.indices.is_null()), -1, np.nan_to_num(codes))
    return codes.astype(np.int64), encoded.dictionary.to_numpy(zero_copy_only=False).astype(object)


def _factorize_bytes(array: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """Factorise short Arrow strings of one length (ids such as ``OPP-0001234``: at most 32
    bytes) through their bytes: each string's UTF-8 bytes, zero-padded, read as up to four 64-bit
    words, factorised as integers (hash tables of integers are several times faster than of
    strings). Equal strings have equal bytes, so the codes are those of ``pd.factorize`` (first
    appearance order). None when the strings differ in length, are longer, hold a zero byte or
    have missing cells."""
    n = len(array)
    if n == 0 or array.null_count or str(array.type) not in ("string", "utf8", "large_string"):
        return None
    buffers = array.buffers()
    width = np.int64 if str(array.type) == "large_string" else np.int32
    offsets = np.frombuffer(buffers[1], dtype=width)[array.offset : array.offset + n + 1]
    offsets = offsets.astype(np.int64)
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.empty(0)
    lengths = np.diff(offsets)
    longest = int(lengths.max())
    if longest > 32 or longest == 0:
        return None
    used = data[int(offsets[0]) : int(offsets[-1])]
    if np.count_nonzero(used == 0):
        return None
    if int(lengths.min()) != longest:  # several lengths: Arrow's own hash table
        return None
    words = (longest + 7) // 8
    padded = np.zeros((n, words * 8), dtype=np.uint8)
    padded[:, :longest] = used.reshape(n, longest)  # one length (the usual id): the bytes
    keys = padded.view(np.uint64)
    codes, _ = pd.factorize(keys[:, 0])
    for j in range(1, words):
        more, more_uniques = pd.factorize(keys[:, j])
        codes, _ = pd.factorize(codes.astype(np.int64) * len(more_uniques) + more)
    codes = codes.astype(np.int64)
    first = np.full(int(codes.max()) + 1, n, dtype=np.int64)
    np.minimum.at(first, codes, np.arange(n)) if n < 1000 else _first_positions(codes, first)
    uniques = array.take(first).to_numpy(zero_copy_only=False).astype(object)
    return codes, uniques


def _first_positions(codes: np.ndarray, out: np.ndarray) -> None:
    """``out[c]`` = the first position of code c (codes numbered in first-appearance order)."""
    new = np.ones(len(codes), dtype=bool)
    seen = np.zeros(len(out), dtype=bool)
    # a code's first position: where it is larger than every code before it (codes appear in
    # increasing order at their first appearance)
    running = np.maximum.accumulate(codes)
    new[1:] = codes[1:] > running[:-1]
    out[codes[new]] = np.flatnonzero(new)
    seen[codes[new]] = True
    assert seen.all()


def clean_text(value: object) -> str | None:
    """One cell as clean text: invisible characters (zero-width space, soft hyphen, BOM…)
    dropped and NFC form (:func:`pipesheet.labels.strip_invisible`), white space collapsed,
    whole numbers as ``'123'`` (Excel sends ids as ``123.0``), None for a blank."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    text = " ".join(strip_invisible(str(value)).split())
    return text or None


def clean_text_column(values: pd.Series) -> pd.Series:
    """:func:`clean_text` of every cell (computed once per distinct value, see
    :func:`text_codes`), None for blanks."""
    codes, uniques, _ = text_codes(values)
    arr = np.append(uniques, None)[codes]
    return pd.Series(arr, index=values.index, dtype=object)
