"""What every estimator and every result of pipesheet has in common.

* :class:`Estimator` — in the manner of scikit-learn's ``BaseEstimator`` and lifelines'
  ``BaseFitter``: the settings are the keyword arguments of ``__init__``, stored unchanged under
  the same names (:meth:`~Estimator.get_params`); ``fit(...)`` learns and sets attributes ending
  in ``_``; ``repr(model)`` shows the settings that differ from their defaults; a fitted-only
  method calls :meth:`~Estimator.check_fitted` ("call fit first", never an AttributeError).
  :class:`~pipesheet.StageProbabilities` and :class:`~pipesheet.TimeAwareForecast` are estimators.
* :class:`Result` — the one result protocol: ``to_frame()`` (the result's natural table),
  ``notes`` (what the user should know, a list of sentences) and a readable ``repr`` (one line:
  the class and its key figures, never a table dump).  Results are plain (not frozen)
  dataclasses declared with ``@dataclass(repr=False)`` so that this ``__repr__`` is the one used;
  each says which figures are key in :meth:`~Result._figures`.  Other views (``summary``,
  ``wide``…) may stay as extras.

A renamed keyword keeps its old spelling for one release: :func:`renamed` takes it with a
:class:`DeprecationWarning`; an estimator's old keyword defaults to :data:`DEPRECATED` so that it
is not a setting.

Notes are sentences in the language spoken (:mod:`pipesheet.i18n`). A result that passes on only
some of another's notes recognises them with :func:`note_is` — by the message they were written
from, in whatever language — never by an English word in them. :func:`signed_number` and
:func:`plain_number` write the numbers of those sentences that :mod:`pipesheet.formats` has no
form for (a sign always shown; no grouping), in the language's separators.
"""

from __future__ import annotations

import inspect
import math
import re
import warnings
from functools import cache
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from pipesheet.errors import PipesheetError
from pipesheet.formats import format_number, symbols
from pipesheet.i18n import N_, _, current_language, translations

__all__ = [
    "DEPRECATED",
    "Estimator",
    "Result",
    "note_is",
    "plain_number",
    "renamed",
    "signed_number",
]


class _Deprecated:
    """The default of a deprecated keyword: "not given"."""

    def __repr__(self) -> str:
        return "DEPRECATED"


#: Default of an old keyword kept for one release (not a setting: :meth:`Estimator.get_params`
#: leaves it out).
DEPRECATED: Any = _Deprecated()


def renamed(old: str, new: str, old_value: Any, new_value: Any, default: Any, stacklevel: int = 3):
    """The value of a renamed keyword: ``new_value``, or the old keyword's value (with a
    :class:`DeprecationWarning`) when only the old one was given.

    Raises:
        PipesheetError: both were given, with different values.
    """
    if old_value is DEPRECATED:
        return new_value
    warnings.warn(
        f"{old}= is deprecated and will be removed: use {new}=", DeprecationWarning, stacklevel
    )
    if new_value is not DEPRECATED and new_value != default and new_value != old_value:
        raise PipesheetError(
            _("both {new}= and its old name {old}= are given").format(new=new, old=old),
            table="settings",
            column=new,
            value=f"{new}={new_value!r}, {old}={old_value!r}",
            expected=_("only {new}=").format(new=new),
        )
    return old_value


def _short(value: Any) -> str:
    """A value as ``repr`` shows it: numbers rounded, dates as days, tables by their shape."""
    if isinstance(value, pd.DataFrame):
        return f"<{len(value)} rows>"
    if isinstance(value, pd.Timestamp):
        return str(value.date()) if value == value.normalize() else str(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if not math.isfinite(v):
            return str(v)
        return f"{v:,.0f}" if abs(v) >= 1000 or v.is_integer() else f"{v:.4g}"
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return f"{int(value):,}"
    return repr(value)


class Result:
    """The result protocol: ``to_frame()``, ``notes`` and a one-line ``repr``.

    Subclasses (dataclasses with ``repr=False``) define :meth:`to_frame` and :meth:`_figures`
    and carry a ``notes`` list.
    """

    notes: list[str]

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - every result defines it
        """The result's natural table."""
        raise NotImplementedError

    def _figures(self) -> dict[str, Any]:  # pragma: no cover - every result defines it
        """The key figures ``repr`` shows, in order."""
        raise NotImplementedError

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={_short(value)}"
            for name, value in self._figures().items()
            if value is not None
        )
        notes = len(getattr(self, "notes", None) or ())
        tail = f", {notes} note{'s' if notes != 1 else ''}" if notes else ""
        return f"{type(self).__name__}({shown}{tail})"


class Estimator:
    """The estimator protocol: settings from ``__init__``, ``fit``, attributes ending in ``_``.

    Subclasses store every ``__init__`` keyword as an attribute of the same name, and name the
    attribute ``fit`` sets (:attr:`_fitted_attribute`) and the message of an unfitted use
    (:attr:`_unfitted`).
    """

    _fitted_attribute: ClassVar[str] = "result_"
    #: Marked with ``N_`` where it is defined; translated when it is shown.
    _unfitted: ClassVar[str] = N_("the model has not been fitted yet")

    @classmethod
    def _param_names(cls) -> list[str]:
        """The settings: the keyword arguments of ``__init__`` (an old keyword that defaults to
        :data:`DEPRECATED` is not one)."""
        params = inspect.signature(cls.__init__).parameters.values()
        return [
            p.name
            for p in params
            if p.name != "self"
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            and p.default is not DEPRECATED
        ]

    def get_params(self) -> dict[str, Any]:
        """The settings as ``{name: value}`` (the constructor's arguments, as given)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def __repr__(self) -> str:
        params = inspect.signature(type(self).__init__).parameters
        changed = []
        for name, value in self.get_params().items():
            default = params[name].default
            try:
                same = value is default or bool(value == default)
            except (TypeError, ValueError):  # a table compared with None, say
                same = False
            if not same:
                changed.append(f"{name}={_short(value)}")
        return f"{type(self).__name__}({', '.join(changed)})"

    @property
    def is_fitted(self) -> bool:
        """True once :meth:`fit` has run."""
        return hasattr(self, self._fitted_attribute)

    def check_fitted(self) -> None:
        """Refuse a use that needs :meth:`fit` first, in one clear sentence.

        Raises:
            PipesheetError: not fitted yet.
        """
        if not self.is_fitted:
            raise PipesheetError(_(self._unfitted), expected=_("call fit(history, deals) first"))


# ---- the text of notes and figures ------------------------------------------------------------
_PLACEHOLDER = re.compile(r"\{[a-zA-Z_][a-zA-Z0-9_]*(?:![rsa])?(?::[^{}]*)?\}")


def _pattern(template: str) -> re.Pattern[str]:
    """A message as a pattern: its placeholders match any text, the rest matches itself."""
    pieces = _PLACEHOLDER.split(template)
    literal = [re.escape(p.replace("{{", "{").replace("}}", "}")) for p in pieces]
    return re.compile("(.+?)".join(literal), re.S)


@cache
def _note_patterns(lang: str, fragment: str) -> tuple[re.Pattern[str], ...]:
    """The patterns of the translations (in ``lang``) of every message whose English text holds
    ``fragment``."""
    catalog = getattr(translations(lang), "_catalog", None) or {}
    found = []
    for key, text in catalog.items():
        msgid = key[0] if isinstance(key, tuple) else key
        if isinstance(msgid, str) and fragment in msgid.rsplit("\x04", 1)[-1] and text:
            found.append(_pattern(text))
    return tuple(found)


def note_is(note: str, fragment: str) -> bool:
    """Whether ``note`` was written from a message whose English text holds ``fragment`` — in
    English the fragment itself, in another language the message's translation (its
    placeholders filled with anything). A note in a language pipesheet's catalog does not hold
    is matched as English."""
    if fragment in note:
        return True
    lang = current_language()
    if lang == "en":
        return False
    return any(p.fullmatch(note) for p in _note_patterns(lang, fragment))


def _point(text: str) -> str:
    """An English-written number (``1234.5``, no grouping) in the language's decimal sign."""
    point = symbols()[1]
    return text if point == "." else text.replace(".", point)


def plain_number(value: float, decimals: int | None = None) -> str:
    """A number without grouping — ``f"{value:.{decimals}f}"``, or ``f"{value:g}"`` when
    ``decimals`` is None — with the language's decimal sign (``1234.50`` → ``1234,50`` in it)."""
    text = f"{value:g}" if decimals is None else f"{value:.{decimals}f}"
    return _point(text)


def signed_number(value: float, decimals: int = 0) -> str:
    """A number with its sign always shown, grouped as the language groups: what
    ``f"{value:+,.{decimals}f}"`` writes in English (``+1,234``, ``-0.5``, ``+0``)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    v = float(value)
    negative = v < 0 or (v == 0 and math.copysign(1.0, v) < 0)
    return ("-" if negative else "+") + format_number(abs(v), decimals)
