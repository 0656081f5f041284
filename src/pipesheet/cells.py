"""Limits and rules for cell values: how a number or a date written in a cell is read.

One rule for every surface — CSV/XLSX files (:mod:`pipesheet.exports.values` types their text
columns), the engine's readers (:func:`pipesheet.tables.parse_amounts`,
:func:`~pipesheet.tables.parse_probabilities`, :func:`~pipesheet.tables.parse_dates`), Excel
ranges and uploads.  A value is read as what it says, or refused with a message naming the
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

import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
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
    "date_order_evidence",
    "decimal_evidence",
    "is_excel_error",
    "number_shapes",
    "read_date_order",
    "read_date_texts",
    "read_number_texts",
    "serial_dates",
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
        from pipesheet.errors import PipesheetError

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
    from pipesheet.errors import PipesheetError

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
