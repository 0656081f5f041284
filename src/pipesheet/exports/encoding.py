"""The text encoding of a CSV file: decided from its bytes, and always named in a note.

In this order:

1. ``encoding=`` given: that one, strictly (an undecodable byte is an error).
2. A byte-order mark: UTF-8 (``utf-8-sig``) or UTF-16.  UTF-16 *without* a byte-order mark is
   recognised too (every other byte zero in the first 4 KB) and read, with a note.
3. Strict UTF-8 (the fast path: most files).
4. Mostly UTF-8 with a few bytes that are not (a stray byte typed on Windows, two exports pasted
   together): the file stays UTF-8 — re-reading it all in a one-byte code page would garble every
   accented name — and only those bytes are read in the code page step 5 picks for them; a note
   names the lines and the characters they became.  "Mostly": at least as many valid UTF-8
   multi-byte characters as invalid bytes.
5. A one-byte code page.  pipesheet decides among cp1252, cp1250, ISO-8859-15, ISO-8859-2,
   cp1257, cp1254 by which one turns the file's non-ASCII bytes into letters of *one*
   language's alphabet (plus common symbols such as € “ ” – °), weighted by how often each byte
   occurs: Slovenian ``Č``/``č`` (cp1250) beside ``š``/``ž`` is one alphabet, cp1252's
   ``È``/``è`` beside them is not.  (:mod:`charset_normalizer` often cannot tell these code
   pages apart on short files, as they share most accented letters.)  When no Latin code page
   reads at least 90% of those bytes as one alphabet (Cyrillic, Greek, Asian text),
   charset-normalizer's guess is used.  A tie between code pages that give different text is
   broken in that order, and a note shows the other reading (``'Čeč'`` vs ``'Èeè'``) and how to
   choose (``encoding=``, CLI ``--encoding``).  A file whose bytes are all Latin-1 letters is
   named ``latin-1``.
"""

from __future__ import annotations

import codecs
import re

import numpy as np

from pipesheet.errors import PipesheetError
from pipesheet.i18n import _

__all__ = ["decode_bytes", "utf16_without_bom"]

#: Latin one-byte code pages pipesheet decides among, in tie-break order.
LATIN_CODE_PAGES = ("cp1252", "cp1250", "iso8859_15", "iso8859_2", "cp1257", "cp1254")
_LATIN_FAMILY = {
    "cp1252",
    "cp1250",
    "latin_1",
    "iso8859_1",
    "iso8859_2",
    "iso8859_15",
    "iso8859_9",
    "iso8859_13",
    "iso8859_4",
    "iso8859_3",
    "iso8859_10",
    "iso8859_14",
    "iso8859_16",
    "cp1257",
    "cp1254",
    "cp850",
    "cp852",
    "cp437",
    "mac_roman",
    "mac_latin2",
    "mac_iceland",
    "mac_turkish",
    "ascii",
}
#: Accented letters of the languages pipesheet's users write (lower case).
ALPHABETS: dict[str, str] = {
    "es": "áéíóúüñ",
    "pt": "áâãàçéêíóôõúü",
    "fr": "àâæçéèêëîïôœùûüÿ",
    "it": "àèéìíîòóùú",
    "ca": "àçèéíïòóúü",
    "de": "äöüß",
    "nl": "áéëèïóöüú",
    "nordic": "åäöæøé",
    "sl": "čšž",
    "hr": "čćđšž",
    "cs": "áčďéěíňóřšťúůýž",
    "sk": "áäčďéíĺľňóôŕšťúýž",
    "pl": "ąćęłńóśźż",
    "hu": "áéíóöőúüű",
    "ro": "ăâîșțşţ",
    "tr": "çğıöşüâî",
    "et": "äöõüšž",
    "lv": "āčēģīķļņšūž",
    "lt": "ąčęėįšųūž",
}
#: Non-letters common in any Western or Central European export.
COMMON = set("€‚„…†‡‰‹›‘’“”•–—™\u00a0¡¢£¤¥¦§¨©ª«¬\u00ad®¯°±²³´µ¶·¸¹º»¼½¾¿×÷")
_STRAY = re.compile("[\udc80-\udcff]+")
_LISTED = 10  # lines listed in a note
_PLAUSIBLE = 0.9  # share of non-ASCII bytes that must read as one alphabet


def decode_bytes(raw: bytes, name: str, encoding: str | None = None) -> tuple[str, str, list[str]]:
    """``(text, encoding, notes)`` of a CSV file's bytes (see the module docstring).

    Raises:
        PipesheetError: ``encoding`` given but wrong or unknown.
    """
    if encoding:
        try:
            return raw.decode(encoding), encoding, []
        except (UnicodeDecodeError, LookupError) as err:
            raise PipesheetError(
                _("cannot decode the file as {encoding}").format(encoding=encoding),
                table=name,
                value=str(err)[:80],
                expected=_("the file's real encoding (utf-8, cp1252, cp1250, latin-1, utf-16)"),
            ) from None
    if raw.startswith(codecs.BOM_UTF8):
        text = raw[3:].decode("utf-8", "surrogateescape")
        if not _STRAY.search(text):
            return text, "utf-8-sig", []
        return _utf8_with_strays(raw[3:], text, "utf-8-sig")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16"), "utf-16", [_("UTF-16 text with a byte-order mark")]
        except UnicodeDecodeError:
            pass
    bare = utf16_without_bom(raw)
    if bare is not None:
        said = (
            _("UTF-16 text (little-endian) without a byte-order mark")
            if bare.endswith("le")
            else _("UTF-16 text (big-endian) without a byte-order mark")
        )
        return raw.decode(bare), bare, [said]
    try:
        return raw.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError:
        pass
    text = raw.decode("utf-8", "surrogateescape")
    return _utf8_with_strays(raw, text, "utf-8")


def utf16_without_bom(raw: bytes) -> str | None:
    """``"utf-16-le"``/``"utf-16-be"`` when the first 4 KB read as UTF-16 text without a
    byte-order mark (mostly ASCII characters: every other byte zero), else None."""
    sample = raw[:4096]
    if len(sample) < 4 or b"\x00" not in sample:
        return None
    sample = sample[: len(sample) // 2 * 2]
    even, odd = sample[0::2], sample[1::2]
    for enc, zeros, chars in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if zeros.count(0) >= 0.3 * len(zeros) and chars.count(0) <= 0.02 * len(chars):
            try:
                text = sample.decode(enc)
            except UnicodeDecodeError:
                continue
            if all(c.isprintable() or c in "\r\n\t" for c in text[:2000]):
                return enc
    return None


def _utf8_with_strays(raw: bytes, text: str, utf8: str) -> tuple[str, str, list[str]]:
    """UTF-8 with some invalid bytes: keep UTF-8 when most non-ASCII text is valid UTF-8 and read
    only the invalid bytes in a one-byte code page; else the whole file in one."""
    n_bad = len(raw) - len(text.encode("utf-8", "ignore"))  # invalid bytes (surrogates here)
    n_ascii = len(text.encode("ascii", "ignore"))
    n_valid = len(text) - n_ascii - n_bad  # valid multi-byte characters
    if n_valid == 0 or n_valid < n_bad:
        return _code_page(raw)
    runs = list(_STRAY.finditer(text))
    stray = bytes(ord(c) - 0xDC00 for m in runs for c in m.group())
    page = _latin_choice(stray)[0]
    fixed = _STRAY.sub(lambda m: bytes(ord(c) - 0xDC00 for c in m.group()).decode(page), text)
    lines, shown = [], []
    newlines = 0
    last = 0
    for m in runs:  # line numbers, counted incrementally
        newlines += text.count("\n", last, m.start())
        last = m.start()
        if len(lines) < _LISTED and (not lines or lines[-1] != newlines + 1):
            lines.append(newlines + 1)
        if len(shown) < 5:
            shown.append(bytes(ord(c) - 0xDC00 for c in m.group()).decode(page))
    said = {
        "count": n_bad,
        "lines": ", ".join(map(str, lines)),
        "more": len(runs) - len(lines),
        "page": page,
        "shown": ", ".join(repr(s) for s in shown),
    }
    if len(runs) > len(lines):
        note = _(
            "UTF-8 text with {count} byte(s) that are not UTF-8, on line(s) {lines} and {more} "
            "more place(s): those bytes were read as {page} ({shown}), the rest as UTF-8 — "
            "check those cells"
        ).format(**said)
    else:
        note = _(
            "UTF-8 text with {count} byte(s) that are not UTF-8, on line(s) {lines}: those bytes "
            "were read as {page} ({shown}), the rest as UTF-8 — check those cells"
        ).format(**said)
    return fixed, utf8, [note]


def _code_page(raw: bytes) -> tuple[str, str, list[str]]:
    """The whole file in a one-byte code page: pipesheet's choice among the Latin code pages
    when their letters are plausible (see the module docstring), else charset-normalizer's."""
    page, other, sample, score = _latin_choice(raw)
    if score < _PLAUSIBLE:
        guess = _detector_guess(raw)
        if guess is not None and guess not in _LATIN_FAMILY:
            try:
                text = raw.decode(guess)
            except (UnicodeDecodeError, LookupError):
                text = None
            if text is not None:
                return text, guess, [_("detected by charset-normalizer: not UTF-8")]
    text = raw.decode(page)
    name = page
    if page == "cp1252" and not _has_c1_bytes(raw):
        name = "latin-1"  # the same letters: call it what exports call it
    note = _("detected: not UTF-8, and its accented letters read as one alphabet in {name}").format(
        name=name
    )
    if score < _PLAUSIBLE:
        note = _(
            "not UTF-8, and no encoding fits well: read as {name} — check accented names"
        ).format(name=name)
    if other is not None:
        mine, theirs = sample
        note += _(
            "; {other} would read the same bytes differently ({theirs!r} instead of {mine!r}) — "
            "if that is right, give the encoding (CLI: --encoding {other})"
        ).format(other=other, theirs=theirs, mine=mine)
    return text, name, [note]


def _detector_guess(raw: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - a core dependency
        return None
    best = from_bytes(raw).best()
    if best is None:
        return None
    return codecs.lookup(best.encoding).name.replace("-", "_")


def _high_byte_counts(raw: bytes) -> np.ndarray:
    """How often each byte 0x80–0xFF occurs (index 0 = 0x80)."""
    arr = np.frombuffer(raw, dtype=np.uint8)
    high = arr[arr >= 0x80]  # a small subset: bincount widens its input to int64
    return np.bincount(high - 0x80, minlength=128)


def _has_c1_bytes(raw: bytes) -> bool:
    return bool(_high_byte_counts(raw)[: 0xA0 - 0x80].any())


def _latin_choice(raw: bytes) -> tuple[str, str | None, tuple[str, str], float]:
    """``(code page, a tied code page giving other text or None, (a word as read, the same
    word in the other), plausibility)`` for the non-ASCII bytes of ``raw``."""
    counts = _high_byte_counts(raw)
    present = np.flatnonzero(counts)
    if not len(present):
        return "cp1252", None, ("", ""), 1.0
    high = bytes(int(b) + 0x80 for b in present)
    weights = counts[present].astype(float)
    scored: list[tuple[float, int, str, str]] = []
    for rank, page in enumerate(LATIN_CODE_PAGES):
        try:
            chars = high.decode(page)
        except UnicodeDecodeError:
            continue  # a byte this code page does not define
        scored.append((_plausibility(chars, weights), -rank, page, chars))
    if not scored:
        return "latin_1", None, ("", ""), 0.0
    scored.sort(reverse=True)
    best_score, _, page, chars = scored[0]
    for score, _, other, other_chars in scored[1:]:
        if score >= best_score - 1e-9 and other_chars != chars:
            return page, other, _differing_word(raw, page, other), best_score
    return page, None, ("", ""), best_score


def _plausibility(chars: str, weights: np.ndarray) -> float:
    """Share of the non-ASCII bytes (weighted by count) that are letters of the one alphabet
    that covers most of them, or common symbols."""
    lower = [c.lower() for c in chars]
    common = np.array([c in COMMON for c in chars])
    best = 0.0
    total = float(weights.sum())
    for letters in ALPHABETS.values():
        ok = common | np.array([c in letters for c in lower])
        best = max(best, float(weights[ok].sum()) / total)
    return best


def _differing_word(raw: bytes, page: str, other: str) -> tuple[str, str]:
    """A word that ``page`` and ``other`` read differently, in both readings."""
    for m in re.finditer(rb"[^\s,;|\t\"']*[\x80-\xff][^\s,;|\t\"']*", raw[:1_000_000]):
        word = m.group()
        a, b = word.decode(page, "replace"), word.decode(other, "replace")
        if a != b:
            return a[:40], b[:40]
    return "", ""
