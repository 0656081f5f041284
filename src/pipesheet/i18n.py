"""The language pipesheet speaks: English (the source), Italian, Slovenian, Vietnamese, Catalan.

Only words and formats change with the language — never a number.

**Which language.** The current language lives in a :class:`contextvars.ContextVar`, so an Excel
request or an app session never leaks its language into another thread or task. Nothing set: the
``PIPESHEET_LANG`` environment variable, then the system locale (``LANGUAGE``, ``LC_ALL``,
``LC_MESSAGES``, ``LANG``: ``it_IT.UTF-8`` → ``it``, ``ca_ES@valencia`` → ``ca``), then English.
A language asked for explicitly (``--lang xx``, ``?lang=xx``, an Excel ``lang`` argument) that
pipesheet does not speak is an error listing the languages; an environment or system locale it
does not speak falls back to English silently (``de_DE`` is not a mistake of the user's).

**Messages.** ``_("text")`` translates; ``ngettext(singular, plural, n)`` picks the plural form of
the language (Slovenian has four); ``pgettext(context, text)`` where a word needs its context;
``N_("text")`` marks a module constant for extraction (translate it where it is used:
``_(CONSTANT)``). Values go in *after* translation, by name:
``_("amount is blank ({count} deal(s))").format(count=n)`` — one message per sentence, never a
sentence glued from translated pieces (word order differs between languages).

**Catalogs.** gettext ``.mo`` files shipped in the package,
``pipesheet/locale/<lang>/LC_MESSAGES/pipesheet.mo``, read with the standard library (no Babel at
run time); Babel is the developers' tool that extracts and compiles them (``scripts/i18n.py``).
A message missing from a catalog shows in English.

**Notes that remember their English.** Code recognises some notes by their words (``n.startswith(
"stage order")``, ``"blank amount" in n``). :func:`note` translates a note and returns it as a
:class:`Text`: a ``str`` in the language spoken whose ``startswith``, ``endswith`` and ``in`` also
answer for its English text, so that code keeps working in every language.
"""

from __future__ import annotations

import contextlib
import contextvars
import gettext as _gettext
import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path

__all__ = [
    "DEFAULT",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "N_",
    "Text",
    "UnknownLanguage",
    "_",
    "current_language",
    "language",
    "language_from_environment",
    "ngettext",
    "normalise_language",
    "note",
    "pgettext",
    "set_language",
]

#: The languages pipesheet speaks (codes of ISO 639-1); English is the source.
LANGUAGES = ("en", "it", "sl", "vi", "ca")
DEFAULT = "en"
#: Each language's name in itself (for a language selector).
LANGUAGE_NAMES = {
    "en": "English",
    "it": "Italiano",
    "sl": "Slovenščina",
    "vi": "Tiếng Việt",
    "ca": "Català",
}
DOMAIN = "pipesheet"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "pipesheet_language", default=None
)


class UnknownLanguage(ValueError):
    """A language pipesheet does not speak was asked for explicitly.

    A ``ValueError`` (not a :class:`~pipesheet.errors.PipesheetError`: this module sits below the
    errors); surfaces show ``str(error)``.
    """


def normalise_language(value: object) -> str | None:
    """``"sl-SI"``, ``"it_IT.UTF-8"``, ``"ca_ES@valencia"``, ``"VI"`` → ``"sl"``, ``"it"``,
    ``"ca"``, ``"vi"``; None for a blank value or one pipesheet does not speak."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    code = text.split(".")[0].split("@")[0].replace("-", "_").split("_")[0].casefold()
    return code if code in LANGUAGES else None


def language_from_environment(environ: dict[str, str] | None = None) -> str:
    """``PIPESHEET_LANG``, then the system locale variables, then English."""
    env = os.environ if environ is None else environ
    for name in ("PIPESHEET_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        for part in env.get(name, "").split(":"):  # LANGUAGE may list several: "sl:en"
            if part in ("C", "POSIX"):
                continue
            code = normalise_language(part)
            if code:
                return code
    return DEFAULT


def _check(lang: object) -> str:
    code = normalise_language(lang)
    if code is None:
        known = ", ".join(f"{c} ({LANGUAGE_NAMES[c]})" for c in LANGUAGES)
        raise UnknownLanguage(
            _("unknown language {lang!r}; expected one of {known}").format(lang=lang, known=known)
        )
    return code


def set_language(lang: object | None) -> str:
    """Speak ``lang`` in this context from now on (None: back to the environment's); returns
    the language now spoken.

    Raises:
        UnknownLanguage: a language pipesheet does not speak.
    """
    if lang is None:
        _current.set(None)
        return current_language()
    code = _check(lang)
    _current.set(code)
    return code


@contextlib.contextmanager
def language(lang: object | None) -> Iterator[str]:
    """Speak ``lang`` inside the ``with`` block (None: the current language)."""
    if lang is None:
        yield current_language()
        return
    token = _current.set(_check(lang))
    try:
        yield _current.get() or DEFAULT
    finally:
        _current.reset(token)


def current_language() -> str:
    """The language spoken now: set in this context, else the environment's."""
    return _current.get() or language_from_environment()


@cache
def _catalog(lang: str) -> _gettext.NullTranslations:
    if lang == DEFAULT:
        return _gettext.NullTranslations()
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if not path.is_file():
        return _gettext.NullTranslations()
    with path.open("rb") as fh:
        return _gettext.GNUTranslations(fh)


def translations(lang: str | None = None) -> _gettext.NullTranslations:
    """The gettext catalog of ``lang`` (default: the current language)."""
    return _catalog(_check(lang) if lang is not None else current_language())


def _(message: str) -> str:
    """``message`` in the current language (English when the catalog lacks it)."""
    return translations().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of the message for ``n`` in the current language (its plural rules)."""
    return translations().ngettext(singular, plural, int(n))


def pgettext(context: str, message: str) -> str:
    """``message`` in the current language, as meant in ``context``."""
    return translations().pgettext(context, message)


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it (translate it where it is shown)."""
    return message


class Text(str):
    """A sentence in the language spoken that remembers its English text (:attr:`english`).

    It is the translated ``str`` (printed, compared, hashed, joined as such); ``startswith``,
    ``endswith`` and ``in`` are true when they are for the translation *or* for the English text,
    so code that recognises a note by its English words works whatever the language.
    """

    english: str

    def __new__(cls, text: str, english: str | None = None) -> Text:
        out = super().__new__(cls, text)
        out.english = str(text) if english is None else str(english)
        return out

    def __reduce__(self) -> tuple:
        return (Text, (str(self), self.english))

    def startswith(self, prefix, *args) -> bool:  # type: ignore[override]
        return str.startswith(self, prefix, *args) or self.english.startswith(prefix, *args)

    def endswith(self, suffix, *args) -> bool:  # type: ignore[override]
        return str.endswith(self, suffix, *args) or self.english.endswith(suffix, *args)

    def __contains__(self, part: object) -> bool:
        return str.__contains__(self, part) or (  # type: ignore[operator]
            isinstance(part, str) and part in self.english
        )


def note(message: str, /, **values: object) -> Text:
    """``_(message).format(**values)`` as a :class:`Text` remembering
    ``message.format(**values)`` (its English; a value that is a :class:`Text` goes into it in
    English).  Mark the message for extraction with ``N_``:
    ``note(N_("{count} deal(s) skipped"), count=n)``."""
    english = {k: v.english if isinstance(v, Text) else v for k, v in values.items()}
    return Text(_(message).format(**values), message.format(**english))
