"""Shared presentation helpers of the apps: formatted HTML tables, PNG charts, error boxes, xlsx,
the apps' one guard (:func:`guard`, :func:`guarded`) and their language (:func:`page_language`,
:class:`Words`, :func:`language_selector`).

Presentation only: numbers arrive computed by the core and are formatted here, never derived.

**Language.** Every app speaks one language per page (the kernel is one page's session): the
``?lang=sl`` of the page's address (:func:`page_language`), else the server's
(``PIPESHEET_LANG``, the system locale), else English; a selector on the page switches it. The
app runs each callback inside ``with language(app.lang)`` (:func:`guard`, :func:`speaking`), so
its words, the engine's notes and the formats below follow the page's language. Numbers are
written as :mod:`pipesheet.formats` writes them in that language (CLDR's conventions, as Babel
writes them: ``1,234,567`` in English, ``1.234.567`` in Italian, Slovenian, Vietnamese and
Catalan; ``25.0%`` / ``25,0%``); dates inside sentences and tables are ISO in English (as they
always were) and the language's medium form elsewhere (``30 set 2026``, ``30. sep. 2026``,
``30 thg 9, 2026``, ``30 de set. 2026``: Babel's ``babel.dates``). The language never changes a
number.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import math
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import parse_qs

import pandas as pd

from pipesheet.errors import PipesheetError
from pipesheet.formats import format_date, format_number, format_percent
from pipesheet.headings import heading
from pipesheet.i18n import (
    LANGUAGE_NAMES,
    LANGUAGES,
    N_,
    UnknownLanguage,
    _,
    current_language,
    language,
    normalise_language,
)

__all__ = [
    "CSS",
    "INTERNAL_ERROR",
    "Words",
    "app_language",
    "error_html",
    "figure",
    "fmt_date",
    "fmt_long_date",
    "fmt_money",
    "fmt_number",
    "fmt_pct",
    "fmt_signed",
    "guard",
    "guarded",
    "html_table",
    "language_change",
    "language_options",
    "note",
    "page_language",
    "page_query",
    "png",
    "set_options",
    "speaking",
    "unknown_language_message",
    "xlsx_bytes",
    "xlsx_link",
]

CSS = """
<style>
.pipesheet-table { border-collapse: collapse; font-size: 13px; margin: 4px 0 10px 0; }
.pipesheet-table th { text-align: left; border-bottom: 2px solid #999; padding: 3px 10px; }
.pipesheet-table td { border-bottom: 1px solid #ddd; padding: 3px 10px; text-align: right; }
.pipesheet-table td:first-child { text-align: left; }
.pipesheet-table tr.flag td { background: #fde2e1; font-weight: bold; }
.pipesheet-error { color: #8a1c1c; background: #fde2e1; border: 1px solid #e0a0a0;
  padding: 8px 12px; border-radius: 4px; white-space: pre-wrap; }
.pipesheet-note { color: #555; font-size: 12px; }
.pipesheet-kpis { display: flex; gap: 24px; flex-wrap: wrap; margin: 6px 0; }
.pipesheet-kpi { border: 1px solid #ccc; border-radius: 6px; padding: 6px 14px; min-width: 140px; }
.pipesheet-kpi .label { color: #555; font-size: 12px; }
.pipesheet-kpi .value { font-size: 22px; font-weight: bold; }
</style>
"""


def fmt_number(x: object, decimals: int = 0) -> str:
    """Thousands-separated number in the language spoken (``1,234,567`` / ``1.234.567``); blank
    for NaN, ∞ for infinity."""
    if x is None or (isinstance(x, str)):
        return "" if x is None else html.escape(x)
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return html.escape(str(x))
    if math.isnan(v):
        return ""
    if math.isinf(v):
        return "∞"
    return format_number(v, decimals)


def fmt_money(x: object) -> str:
    """Whole currency units with thousands separators (the currency is named beside it)."""
    return fmt_number(x, 0)


def fmt_pct(x: object, decimals: int = 1) -> str:
    """A 0–1 share as a percentage in the language spoken (``25.0%`` / ``25,0%``); blank for
    NaN."""
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(v) else format_percent(v, decimals)


def fmt_signed(x: object, decimals: int = 0) -> str:
    """A change with its sign (``+1,234`` / ``-56.5``; ``+0`` for nothing); blank for NaN."""
    text = fmt_number(x, decimals)
    return text if not text or text.startswith("-") else "+" + text


def fmt_date(x: object) -> str:
    """A day: ISO in English (``2026-09-30``, as the apps always wrote it), the language's
    medium form in the others (``30 set 2026``); blank for NaT/None."""
    if x is None or (not isinstance(x, str) and pd.isna(x)):  # type: ignore[call-overload]
        return ""
    if current_language() == "en":
        return str(pd.Timestamp(x).date())  # type: ignore[arg-type]
    return format_date(x, "medium")


def fmt_long_date(x: object) -> str:
    """A day in a sentence: ``30 Sep 2026`` in English (as the apps always wrote it), the
    language's medium form in the others (``30 set 2026``, ``30 thg 9, 2026``)."""
    if x is None or (not isinstance(x, str) and pd.isna(x)):  # type: ignore[call-overload]
        return ""
    if current_language() == "en":
        return f"{pd.Timestamp(x):%d %b %Y}"  # type: ignore[arg-type]
    return format_date(x, "medium")


def note(text: str, ident: str = "", cls: str = "pipesheet-note") -> str:
    """A note (escaped) in a ``div`` of the apps' note style."""
    attr = f' id="{ident}"' if ident else ""
    return f'<div class="{cls}"{attr}>{html.escape(text)}</div>'


def html_table(
    frame: pd.DataFrame,
    formats: Mapping[str, Callable[[object], str]] | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    flag: str | None = None,
    css_id: str = "",
) -> str:
    """An HTML table of a frame; ``formats`` per column, ``headers`` renames (a column without
    one shows its :func:`~pipesheet.headings.heading`), ``flag`` marks rows where that boolean
    column is True. Floats show two decimals and days :func:`fmt_date`, in the language
    spoken."""
    formats = formats or {}
    headers = headers or {}
    cols = [c for c in frame.columns if c != flag or flag in headers]
    head = "".join(
        f"<th>{html.escape(str(headers[c]) if c in headers else heading(c))}</th>" for c in cols
    )
    rows = []
    for rec in frame.to_dict("records"):
        cls = ' class="flag"' if flag and bool(rec.get(flag)) else ""
        cells = []
        for c in cols:
            v = rec[c]
            f = formats.get(c)
            if f is not None:
                text = f(v)
            elif isinstance(v, float):
                text = fmt_number(v, 2)
            elif isinstance(v, pd.Timestamp):
                text = fmt_date(v)
            else:
                text = "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
                text = html.escape(text)
            cells.append(f"<td>{text}</td>")
        rows.append(f"<tr{cls}>{''.join(cells)}</tr>")
    ident = f' id="{css_id}"' if css_id else ""
    return (
        f'<table class="pipesheet-table"{ident}><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


#: What a viewer reads when something unexpected happens inside pipesheet (a bug); shown in the
#: page's language (``_(INTERNAL_ERROR)``).
INTERNAL_ERROR = N_(
    "Something went wrong inside pipesheet (a bug, not a problem with your data); the page keeps "
    "the results it showed. Please report it on the pipesheet issue tracker, saying what you "
    "clicked or typed."
)
MEMORY_ERROR = N_("Not enough memory on the server for this; try smaller files.")

F = TypeVar("F", bound=Callable[..., Any])


def guard(
    show: Callable[[str], None], action: F, *, lang: Callable[[], str | None] | None = None
) -> F:
    """``action`` (a widget callback) under the apps' one guard: a :class:`PipesheetError` the
    callback did not handle is shown with ``show(message)``; anything else shows
    :data:`INTERNAL_ERROR` (the traceback goes to the server's log, never to the viewer). An
    exception escaping a callback would otherwise be lost: ipywidgets only logs it, and Voila
    hides tracebacks, so the viewer would see nothing happen.

    ``lang`` (the app's language, asked at each call) is spoken while the callback runs: its
    words, the engine's notes and messages, the formats."""

    @functools.wraps(action)
    def run(*args: Any, **kwargs: Any) -> Any:
        with language(lang() if lang is not None else None):
            return _guarded_call(show, action, args, kwargs)

    return run  # type: ignore[return-value]


def _guarded_call(show: Callable[[str], None], action: Callable, args: Any, kwargs: Any) -> Any:
    try:
        return action(*args, **kwargs)
    except PipesheetError as err:
        show(str(err))
    except MemoryError:
        show(_(MEMORY_ERROR))
    except Exception:
        stream = sys.__stderr__ or sys.stderr
        print(
            f"pipesheet app: internal error in {getattr(action, '__qualname__', action)}:\n"
            + traceback.format_exc(),
            file=stream,
            flush=True,
        )
        show(_(INTERNAL_ERROR))
    return None


def guarded(method: F) -> F:
    """Method decorator form of :func:`guard`: shows problems with ``self._show_problem``, in
    the language ``self.lang``."""

    @functools.wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        action = functools.partial(method, self)
        return guard(self._show_problem, action, lang=lambda: getattr(self, "lang", None))(
            *args, **kwargs
        )

    return run  # type: ignore[return-value]


def speaking(method: F) -> F:
    """Method decorator: the method runs in the language ``self.lang`` (an app's public
    methods, called from a script or a test as well as from the page)."""

    @functools.wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        with language(getattr(self, "lang", None)):
            return method(self, *args, **kwargs)

    return run  # type: ignore[return-value]


def error_html(message: str, *, prefix: str = "") -> str:
    """The engine's message in a red box (escaped; never a traceback)."""
    text = html.escape(prefix + message)
    return f'<div class="pipesheet-error" role="alert">{text}</div>'


def figure(width: float = 6.4, height: float = 3.2):
    """A matplotlib Figure on the Agg canvas (no pyplot state, safe in a server)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=96, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png(fig) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def xlsx_bytes(sheets: Mapping[str, pd.DataFrame]) -> bytes:
    """The results as .xlsx bytes, written by the same writer as every other surface."""
    from pipesheet.writer import workbook_bytes

    return workbook_bytes(sheets)


def xlsx_link(content: bytes, filename: str, label: str) -> str:
    """An HTML download link carrying the workbook as a data URI."""
    mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    data = base64.b64encode(content).decode("ascii")
    return (
        f'<a class="pipesheet-download" download="{html.escape(filename)}" '
        f'href="data:{mime};base64,{data}">{html.escape(label)}</a>'
    )


# ---- the page's language ---------------------------------------------------------------------
_QUERY: list[str] = []  # the page's query string, once known (a kernel serves one page)


def page_query() -> str:
    """The query string of the page this kernel serves ("" outside Voila).

    Voila hands the page's request to the kernel in ``QUERY_STRING``. A preheated kernel
    (``pipesheet app`` keeps one ready per app) ran the notebook before anyone asked for the
    page: there ``voila.utils.get_query_string()`` waits for the page's request and returns its
    query string. Asked once per kernel (a second wait would wait for a request that never
    comes)."""
    if _QUERY:
        return _QUERY[0]
    query = os.environ.get("QUERY_STRING") or ""
    if os.environ.get("VOILA_PREHEAT") == "True":
        try:
            from voila.utils import get_query_string
        except ImportError:
            pass
        else:
            import warnings

            with warnings.catch_warnings():  # "failed to connect": no page, no language
                warnings.simplefilter("ignore")
                query = get_query_string() or ""
    _QUERY.append(query)
    return query


def page_language(query: str | None = None) -> str | None:
    """The language the page's address asks for (``…/dashboard.ipynb?lang=sl`` → ``"sl"``), as
    written (an app checks it); None when the address names none. ``query`` defaults to the
    page's (:func:`page_query`)."""
    values = parse_qs(page_query() if query is None else query).get("lang") or [""]
    value = values[-1].strip()
    return value or None


def app_language(lang: object | None) -> str:
    """The language an app starts in: ``lang`` (``"sl"``, ``"sl-SI"``…), else the one spoken
    where it is built (``PIPESHEET_LANG``, the system locale, English).

    Raises:
        UnknownLanguage: a language pipesheet does not speak.
    """
    if lang is None:
        return current_language()
    code = normalise_language(lang)
    if code is None:
        with language(lang):  # raises the message naming the languages spoken
            pass
    return code or current_language()


def language_options() -> list[tuple[str, str]]:
    """The language selector's choices: each language's name in itself."""
    return [(LANGUAGE_NAMES[code], code) for code in LANGUAGES]


def language_change(
    current: str, asked: object | None, show_problem: Callable[[str], None]
) -> str | None:
    """The language a page switches to when ``asked`` for one (``"sl"``, ``"sl-SI"``…), or None
    when nothing changes: none asked, the one spoken already, or one pipesheet does not speak —
    then the page says so with ``show_problem``, in its ``current`` language."""
    if asked is None:
        return None
    code = normalise_language(asked)
    if code is None:
        with language(current):
            show_problem(unknown_language_message(asked))
        return None
    return None if code == current else code


def unknown_language_message(lang: object) -> str:
    """The message for a language asked for that pipesheet does not speak."""
    try:
        with language(lang):
            pass
    except UnknownLanguage as err:
        return str(err)
    return ""


def set_options(dropdown: Any, options: Any) -> None:
    """New options (e.g. the same choices in another language) keeping the value chosen."""
    options = list(options)
    if list(dropdown.options) == options:
        return
    keep = dropdown.value
    dropdown.options = options
    values = [o[1] if isinstance(o, tuple) else o for o in options]
    if keep in values:
        dropdown.value = keep


class Words:
    """The words an app shows on its widgets, each written by a function: written once when
    added, and again in the language spoken by :meth:`refresh` (the app's language changed)."""

    def __init__(self) -> None:
        self._writers: list[Callable[[], None]] = []

    def add(self, write: Callable[[], None]) -> None:
        """Run ``write`` now and on each :meth:`refresh`."""
        write()
        self._writers.append(write)

    def html(self, make: Callable[[], str], **kwargs: Any) -> Any:
        """A ``w.HTML`` showing ``make()``."""
        import ipywidgets as w

        box = w.HTML(**kwargs)
        self.add(lambda: setattr(box, "value", make()))
        return box

    def describe(self, widget: Any, make: Callable[[], str]) -> Any:
        """``widget`` with the description ``make()``."""
        self.add(lambda: setattr(widget, "description", make()))
        return widget

    def options(self, dropdown: Any, make: Callable[[], Any]) -> Any:
        """``dropdown`` with the options ``make()`` (its value kept: :func:`set_options`)."""
        self.add(lambda: set_options(dropdown, make()))
        return dropdown

    def refresh(self) -> None:
        """Write every word again, in the language spoken now."""
        for write in self._writers:
            write()
