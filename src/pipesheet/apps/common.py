"""Shared presentation helpers of the apps: formatted HTML tables, PNG charts, error boxes, xlsx,
and the apps' one guard (:func:`guard`, :func:`guarded`).

Presentation only: numbers arrive computed by the core and are formatted here, never derived.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import math
import sys
import traceback
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import pandas as pd

from pipesheet.errors import PipesheetError

__all__ = [
    "CSS",
    "INTERNAL_ERROR",
    "error_html",
    "figure",
    "fmt_money",
    "fmt_number",
    "fmt_pct",
    "guard",
    "guarded",
    "html_table",
    "png",
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
    """Thousands-separated number; blank for NaN, ∞ for infinity."""
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
    return f"{v:,.{decimals}f}"


def fmt_money(x: object) -> str:
    """Whole currency units with thousands separators."""
    return fmt_number(x, 0)


def fmt_pct(x: object, decimals: int = 1) -> str:
    """A 0–1 share as a percentage; blank for NaN."""
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(v) else f"{v * 100:.{decimals}f}%"


def html_table(
    frame: pd.DataFrame,
    formats: Mapping[str, Callable[[object], str]] | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    flag: str | None = None,
    css_id: str = "",
) -> str:
    """An HTML table of a frame; ``formats`` per column, ``headers`` renames, ``flag`` marks rows
    where that boolean column is True."""
    formats = formats or {}
    headers = headers or {}
    cols = [c for c in frame.columns if c != flag or flag in headers]
    head = "".join(f"<th>{html.escape(str(headers.get(c, c)))}</th>" for c in cols)
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
                text = "" if pd.isna(v) else str(v.date())
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


#: What a viewer reads when something unexpected happens inside pipesheet (a bug).
INTERNAL_ERROR = (
    "Something went wrong inside pipesheet (a bug, not a problem with your data); the page keeps "
    "the results it showed. Please report it on the pipesheet issue tracker, saying what you "
    "clicked or typed."
)
MEMORY_ERROR = "Not enough memory on the server for this; try smaller files."

F = TypeVar("F", bound=Callable[..., Any])


def guard(show: Callable[[str], None], action: F) -> F:
    """``action`` (a widget callback) under the apps' one guard: a :class:`PipesheetError` the
    callback did not handle is shown with ``show(message)``; anything else shows
    :data:`INTERNAL_ERROR` (the traceback goes to the server's log, never to the viewer). An
    exception escaping a callback would otherwise be lost: ipywidgets only logs it, and Voila
    hides tracebacks, so the viewer would see nothing happen."""

    @functools.wraps(action)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return action(*args, **kwargs)
        except PipesheetError as err:
            show(str(err))
        except MemoryError:
            show(MEMORY_ERROR)
        except Exception:
            stream = sys.__stderr__ or sys.stderr
            print(
                f"pipesheet app: internal error in {getattr(action, '__qualname__', action)}:\n"
                + traceback.format_exc(),
                file=stream,
                flush=True,
            )
            show(INTERNAL_ERROR)
        return None

    return run  # type: ignore[return-value]


def guarded(method: F) -> F:
    """Method decorator form of :func:`guard`: shows problems with ``self._show_problem``."""

    @functools.wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        return guard(self._show_problem, functools.partial(method, self))(*args, **kwargs)

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
