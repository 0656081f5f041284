"""Text labels as people and CRMs write them: invisible characters, look-alike letters, and the
Won/Lost labels of the users' languages.

* **Invisible characters** — Unicode's *default ignorable* code points: zero-width space and
  joiners (U+200B–U+200D), word joiner, soft hyphen (U+00AD), byte-order mark (U+FEFF),
  direction marks and embeddings, variation selectors, tag characters… — are removed from
  labels, ids and headers (:func:`strip_invisible`), and text is put in Unicode NFC form, so
  ``"Proposal\\u200b"`` and ``"Proposal"`` are one stage, and ``"Gagné"`` typed with a combining
  accent is ``"Gagné"``.
* **Look-alike labels** — ``"Рroposal"`` with a Cyrillic ``Р`` (U+0420) beside ``"Proposal"``
  would silently make a second stage.  :func:`confusable_pairs` finds labels that differ only by
  letters of another script that look the same (Cyrillic and Greek letters shaped like Latin
  ones, and full-width forms: the Latin/Cyrillic/Greek part of Unicode's confusables), and
  :func:`check_confusable` turns the first pair into an error naming both labels, the rows and
  the odd character.
* **Won/Lost in the users' languages** — :data:`WON_LABELS` and :data:`LOST_LABELS` (en, de, fr,
  es, it, pt, ca, sl, vi, nl, pl).  :class:`LabelMatcher` compares a label with them ignoring
  case and punctuation (``Closed - Won`` = ``closed/won``), and ignoring accents only in the
  safe direction: a label written *without* accents matches a known label with them (``GAGNE``
  is ``Gagné``, ``Da thang`` is ``Đã thắng``), but a label with accents must carry the same ones
  (Vietnamese ``Thừa`` is not ``Thua``).

Everything is computed per distinct label, never per row.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from pipesheet.errors import PipesheetError
from pipesheet.i18n import N_, _, note

__all__ = [
    "INVISIBLE",
    "LOST_LABELS",
    "WON_LABELS",
    "LabelMatcher",
    "check_confusable",
    "confusable_pairs",
    "no_closed_label_message",
    "skeleton",
    "strip_invisible",
    "unaccented",
]

#: Unicode Default_Ignorable_Code_Point: characters that show as nothing.
INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)

WON_LABELS: tuple[str, ...] = (
    # en
    "Won",
    "Closed Won",
    "Closed - Won",
    "Closed/Won",
    "Deal Won",
    "closedwon",
    "Win",
    # de, nl
    "Gewonnen",
    "Geschlossen und gewonnen",
    "Geschlossen - gewonnen",
    "Abgeschlossen gewonnen",
    # fr
    "Gagné",
    "Gagnée",
    "Fermé gagné",
    "Fermée gagnée",
    "Clôturé gagné",
    "Clôturée gagnée",
    # es
    "Ganado",
    "Ganada",
    "Cerrado ganado",
    "Cerrada ganada",
    # it
    "Vinto",
    "Vinta",
    "Chiuso vinto",
    "Chiusa vinta",
    "Trattativa vinta",
    "Opportunità vinta",
    # pt
    "Ganho",
    "Ganha",
    "Fechado ganho",
    "Fechada ganha",
    "Fechado e ganho",
    # ca
    "Guanyat",
    "Guanyada",
    "Tancat guanyat",
    "Tancada guanyada",
    "Oportunitat guanyada",
    # sl
    "Dobljeno",
    "Dobljena",
    "Zaprto – dobljeno",
    "Zaprto dobljeno",
    "Dobljen",
    "Posel dobljen",
    "Zaključeno – dobljeno",
    # vi
    "Thắng",
    "Đã thắng",
    "Thành công",
    "Đã chốt thành công",
    "Chốt thành công",
    # pl
    "Wygrana",
    "Wygrany",
)
LOST_LABELS: tuple[str, ...] = (
    "Lost",
    "Closed Lost",
    "Closed - Lost",
    "Closed/Lost",
    "Deal Lost",
    "closedlost",
    "Verloren",
    "Geschlossen und verloren",
    "Geschlossen - verloren",
    "Abgeschlossen verloren",
    "Perdu",
    "Perdue",
    "Fermé perdu",
    "Fermée perdue",
    "Clôturé perdu",
    "Clôturée perdue",
    "Perdu/Abandonné",
    "Perdido",
    "Perdida",
    "Cerrado perdido",
    "Cerrada perdida",
    "Perso",
    "Persa",
    "Chiuso perso",
    "Chiusa persa",
    "Trattativa persa",
    "Opportunità persa",
    "Fechado perdido",
    "Fechada perdida",
    "Fechado e perdido",
    "Perdut",
    "Perduda",
    "Tancat perdut",
    "Tancada perduda",
    "Oportunitat perduda",
    "Izgubljeno",
    "Izgubljena",
    "Zaprto – izgubljeno",
    "Zaprto izgubljeno",
    "Izgubljen",
    "Posel izgubljen",
    "Zaključeno – izgubljeno",
    "Thua",
    "Đã thua",
    "Thất bại",
    "Đã chốt thất bại",
    "Chốt thất bại",
    "Przegrana",
    "Przegrany",
)

_PUNCT = re.compile(r"[\W_]+", re.UNICODE)
_NO_ACCENT = str.maketrans(
    {"đ": "d", "Đ": "D", "ð": "d", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ħ": "h", "ı": "i"}
)


def strip_invisible(text: str) -> str:
    """``text`` without invisible characters, in NFC form (ASCII text is returned as is)."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFC", INVISIBLE.sub("", text))


def _loose(label: str) -> str:
    """Case- and punctuation-insensitive key: ``"Closed - Won"`` → ``"closed won"``."""
    return " ".join(_PUNCT.sub(" ", strip_invisible(label).casefold()).split())


def unaccented(text: str) -> str:
    """``text`` without its accents: ``"probabilità"`` → ``"probabilita"``, ``"Đã thắng"`` →
    ``"Da thang"``, ``"zaključka"`` → ``"zakljucka"`` (ASCII text is returned as is)."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_NO_ACCENT)


class LabelMatcher:
    """Which of several label sets a label belongs to, compared loosely (see the module
    docstring): exact words ignoring case, spaces and punctuation; accents ignored only when the
    label itself has none.

    Args:
        sets: Label sets, e.g. ``(won_labels, lost_labels)``; :meth:`match` returns the index of
            the set a label is in, or -1.  A loose key in two sets, or equal to one of
            ``exclude`` (e.g. the open stages), matches nothing (never a guess).
    """

    def __init__(self, *sets: Iterable[str], exclude: Iterable[str] = ()) -> None:
        loose: dict[str, int] = {}
        plain: dict[str, int] = {}
        for i, labels in enumerate(sets):
            for label in labels:
                key = _loose(str(label))
                for table, k in ((loose, key), (plain, unaccented(key))):
                    table[k] = i if table.get(k, i) == i else -2  # -2: in two sets
        for label in exclude:
            key = _loose(str(label))
            loose[key] = -2
            plain[unaccented(key)] = -2
        self._loose = loose
        self._plain = plain

    def match(self, label: object) -> int:
        """Index of the set ``label`` belongs to, or -1."""
        if not isinstance(label, str):
            return -1
        key = _loose(label)
        hit = self._loose.get(key)
        if hit is None and unaccented(key) == key:  # written without accents
            hit = self._plain.get(key)
        return -1 if hit is None or hit < 0 else hit

    def matches(self, labels: pd.Series) -> np.ndarray:
        """:meth:`match` of every cell, computed once per distinct label."""
        codes, uniques = pd.factorize(labels, use_na_sentinel=True)
        lookup = np.array([self.match(u) for u in uniques] + [-1], dtype=np.int64)
        return lookup[codes]


# ---- look-alike letters --------------------------------------------------------------------
# Cyrillic and Greek letters drawn like Latin ones (Unicode confusables.txt, single letters)
_LOOKALIKE = str.maketrans(
    {
        **dict(zip("АВЕКМНОРСТХУЅІЈԚԜҮӀ", "ABEKMHOPCTXYSIJQWYI", strict=True)),
        **dict(zip("аеорсухѕіјԛԝһӏүԁɡ", "aeopcyxsijqwhlydg", strict=True)),
        **dict(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ", "ABEZHIKMNOPTYX", strict=True)),
        **dict(zip("οαινρυχγ", "oaivpuxy", strict=True)),
    }
)


def skeleton(label: str) -> str:
    """What a label looks like: NFKC form (full-width letters become plain), invisible
    characters dropped, Cyrillic/Greek look-alikes replaced by the Latin letters they look like,
    case-folded, white space collapsed."""
    text = unicodedata.normalize("NFKC", INVISIBLE.sub("", label)).translate(_LOOKALIKE)
    return " ".join(text.split()).casefold()


def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if ch.isalpha() else ""


def _odd_character(label: str, other: str) -> str | None:
    """The first letter of ``label`` from another script than the letters of ``other``, as
    ``"'Р' U+0420 CYRILLIC CAPITAL LETTER ER"``."""
    scripts = {_script(c) for c in other if c.isalpha()}
    for ch in label:
        if ch.isalpha() and _script(ch) not in scripts:
            return f"{ch!r} U+{ord(ch):04X} {unicodedata.name(ch, '?')}"
    for ch in unicodedata.normalize("NFKC", label):  # full-width forms: same script, other look
        if ord(ch) > 0x7F and ch not in other:
            return f"{ch!r} U+{ord(ch):04X} {unicodedata.name(ch, '?')}"
    return None


def _clean(label: str) -> str:
    return " ".join(strip_invisible(label).split())


def confusable_pairs(labels: Sequence[str]) -> list[tuple[str, str, str]]:
    """Pairs of labels that look the same (same :func:`skeleton`) but are different text once
    invisible characters, case and spacing are set aside: ``(label with the odd character, the
    other label, the odd character)``.  Labels are compared cleaned (:func:`strip_invisible`,
    white space collapsed) and returned so."""
    keys = list(dict.fromkeys(_clean(t) for t in labels if isinstance(t, str)))
    by_look: dict[str, list[str]] = {}
    for key in keys:
        if not key.isascii():
            by_look.setdefault(skeleton(key), []).append(key)
    pairs: list[tuple[str, str, str]] = []
    if not by_look:
        return pairs
    for key in keys:
        if key.isascii():
            for other in by_look.get(skeleton(key), []):
                if other.casefold() != key.casefold():
                    pairs.append((other, key, _odd_character(other, key) or "?"))
    for group in by_look.values():  # both non-ASCII (e.g. two Cyrillic spellings)
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                if a.casefold() != b.casefold():
                    odd = _odd_character(a, b)
                    pairs.append((a, b, odd) if odd else (b, a, _odd_character(b, a) or "?"))
    return pairs


def check_confusable(
    labels: pd.Series, *, table: str, column: str, uniques: Sequence[object] | None = None
) -> None:
    """Raise when two labels of ``labels`` look the same but are spelled with letters of
    different scripts (see :func:`confusable_pairs`); the error names both labels, the rows of
    the odd one and the odd character.  Per distinct label (``uniques``, when the caller has
    them already)."""
    if uniques is None:
        uniques = pd.unique(labels.dropna().to_numpy())
    texts = [u for u in uniques if isinstance(u, str)]
    if all(t.isascii() for t in texts):  # the usual case: nothing to compare
        return
    pairs = confusable_pairs(texts)
    if not pairs:
        return
    odd, other, char = pairs[0]
    raw = {t for t in texts if _clean(t) == odd}
    rows = [int(r) for r in labels.index[labels.isin(raw).to_numpy()][:20]]
    raise PipesheetError(
        _(
            "two labels look the same but are different text: {odd!r} and {other!r} — {odd!r} "
            "has the character {char}, a look-alike from another script"
        ).format(odd=odd, other=other, char=char),
        table=table,
        column=column,
        rows=rows,
        value=odd,
        expected=_(
            "one spelling per label: retype {odd!r} as {other!r} (or rename one if they really "
            "are two different stages)"
        ).format(odd=odd, other=other),
    )


_NO_CLOSED_LABEL = {
    "deals table": N_(
        "no Won or Lost label in the deals table's stage column (labels seen: {labels}), so "
        "every deal counts as open and no win probability can be learned. If some of these "
        "labels mean Won or Lost, declare them: --won LABEL --lost LABEL on the command line "
        "(won=[…], lost=[…] in Python)"
    ),
    "history": N_(
        "no Won or Lost label in the history's stage column (labels seen: {labels}), so every "
        "deal counts as open and no win probability can be learned. If some of these labels "
        "mean Won or Lost, declare them: --won LABEL --lost LABEL on the command line (won=[…], "
        "lost=[…] in Python)"
    ),
}


def no_closed_label_message(labels: Iterable[object], table: str) -> str:
    """What to say when a table's stage column holds no Won or Lost label at all: the labels
    seen (up to 20) and how to declare the closed ones.  ``table``: ``"deals table"``,
    ``"history"`` or a table's own name.  A :class:`~pipesheet.i18n.Text` in the language
    spoken (it still starts with "no Won or Lost label" for code that looks for it)."""
    seen = list(dict.fromkeys(str(v) for v in labels if isinstance(v, str)))
    shown = ", ".join(repr(s) for s in seen[:20])
    if len(seen) > 20:
        shown = _("{labels} and {more} more").format(labels=shown, more=len(seen) - 20)
    if table in _NO_CLOSED_LABEL:
        return note(_NO_CLOSED_LABEL[table], labels=shown or _("none"))
    return note(
        N_(
            "no Won or Lost label in the {table}'s stage column (labels seen: {labels}), so "
            "every deal counts as open and no win probability can be learned. If some of these "
            "labels mean Won or Lost, declare them: --won LABEL --lost LABEL on the command "
            "line (won=[…], lost=[…] in Python)"
        ),
        table=table,
        labels=shown or _("none"),
    )
