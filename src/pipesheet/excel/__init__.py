"""pipesheet as Excel functions (xlwings): classic Windows add-in, xlwings Lite, xlwings Server.

Every function is a thin wrapper over the core engine: it turns cell ranges into frames
(:mod:`pipesheet.excel.convert`), calls one core function, and spills the core's result with its
header row. Nothing here computes pipeline numbers.

* Tables are passed with their header row (``Deals[#All]``, ``History[#All]``); scalars as cells or
  values; optional arguments may be left out or left blank.
* Bad input returns the core's message as text in the cell (table, column, row, value, what was
  expected), never a traceback.
* Results never contain NaN/None: unknown values are empty cells, infinity is ``"infinite"``.

Use it: classic add-in — ``UDF Modules = pipesheet.excel`` and *Import Functions*; xlwings Lite —
``from pipesheet.excel import *`` in ``main.py``; xlwings Server — register this module as the
custom-functions module. See ``docs/excel.md``.

The Python names are the Excel names (``PIPE_…``): valid VBA identifiers and Office.js ids, so a
workbook's formulas read the same in every runtime. Parameters carry no type annotations on
purpose: xlwings reads annotations as converters.
"""

import functools
import inspect
import logging
import sys
from collections.abc import Callable
from typing import Any

import pandas as pd
import xlwings as xw
from xlwings import conversion as _xlconv

from pipesheet.errors import PipesheetError
from pipesheet.excel.convert import (
    arguments_table,
    date_argument,
    either,
    mapping_from_range,
    number_argument,
    optional_bool,
    optional_number,
    optional_text,
    rows_from_value,
    scalar,
    spill_frame,
    spill_scalar,
    spill_too_large,
    stage_list_from_range,
    table_from_range,
    whole_argument,
)
from pipesheet.i18n import (
    LANGUAGE_NAMES,
    LANGUAGES,
    N_,
    _,
    current_language,
    language,
    normalise_language,
)

__all__ = [
    "PIPE_BACKTEST",
    "PIPE_BALANCE",
    "PIPE_BOTTLENECKS",
    "PIPE_CALIBRATED_FORECAST",
    "PIPE_CALIBRATION",
    "PIPE_COMMITS",
    "PIPE_COVERAGE",
    "PIPE_CYCLE_TIME",
    "PIPE_FORECAST_CATEGORIES",
    "PIPE_FORECAST_RANGE",
    "PIPE_FORECAST_TOTAL",
    "PIPE_LEADS_NEEDED",
    "PIPE_LOSSES",
    "PIPE_PIPELINES",
    "PIPE_PIPELINE_POSITION",
    "PIPE_PRESET",
    "PIPE_QUOTA_GAP",
    "PIPE_QUOTA_TABLE",
    "PIPE_SCENARIO",
    "PIPE_STAGE_DESIGN",
    "PIPE_STAGE_PROBABILITIES",
    "PIPE_STAGE_PROBABILITY",
    "PIPE_STALE_DEALS",
    "PIPE_TIME_AWARE_FORECAST",
    "PIPE_VELOCITY",
    "PIPE_WATERFALL",
    "PIPE_WATERFALL_HISTORY",
    "PIPE_WEIGHTED_FORECAST",
]

# One Office.js sub-namespace would rename every function (NS.PIPE_…); the prefix groups them.
__xlwings_func_namespace__ = ""


class _KeepOfficeJsCells(_xlconv.CleanDataFromReadStage):
    """Office.js (Server, Lite): hand the cells over untouched — :func:`table_from_range` cleans
    nulls, "" and error objects in one vectorised pass. xlwings' per-cell cleaning costs ~45 µs a
    cell on CPython (it retries ``import pyodide`` for every cell), 6 s for a 10,000-row table.
    Classic (COM) keeps xlwings' cleaning, which turns COM error codes into ``#N/A`` text."""

    def __call__(self, c: Any) -> None:
        if getattr(c.engine, "name", None) != "officejs":
            super().__call__(c)


class TableArgument(_xlconv.Accessor):
    """xlwings converter for a table argument: a 2-D list of raw cells."""

    @staticmethod
    def reader(options: Any) -> Any:
        return _xlconv.ValueAccessor.reader(options).insert_stage(
            _KeepOfficeJsCells(options), replace=_xlconv.CleanDataFromReadStage
        )


# tables: always 2-D; error cells as their text (classic), raw cells (Office.js)
TABLE = {"convert": TableArgument, "ndim": 2, "err_to_str": True}
CELL = {"ndim": 2, "err_to_str": True}  # single values: ``scalar`` rejects error cells

_DOC_DEALS = N_(
    "Deals table with its header row (Deals[#All]): deal id, stage, amount, close date…"
)
_DOC_HISTORY = N_(
    "Stage history with its header row (History[#All]): deal id, stage, entered date."
)
_DOC_OPTIONAL_DEALS = N_(
    "Optional: Deals table with its header row (Deals[#All]): deal id, stage, amount, close date…"
)
_DOC_PROBS = N_(
    "Stage probabilities: a table of stage and probability (e.g. Stages[#All] or the "
    "result of PIPE_STAGE_PROBABILITIES), a preset name (salesforce, hubspot, suitecrm) or "
    '"configured".'
)
_DOC_STAGES = N_("Optional: open stages in funnel order (one column; Won/Lost labels allowed).")
_DOC_RATES = N_("Optional: currency rates table (currency, rate) when deals mix currencies.")
_DOC_CURRENCY = N_("Optional: reporting currency code (default: the one whose rate is 1).")
_DOC_AS_OF = N_("Optional: only what was known at the end of this day.")
_DOC_BLANK = N_(
    'Optional: what a blank amount means: "error" (default: a message naming the rows), '
    '"skip" (leave those deals out) or "zero" (count them as 0).'
)
_DOC_START = N_("Optional: only open deals expected to close on or after this date.")
_DOC_END = N_("Optional: only open deals expected to close on or before this date.")
_DOC_DATE_ORDER = N_(
    'Optional: "dmy" or "mdy" — the order of text dates such as 03/04/2027 that no '
    "date of their column decides (a part above 12); blank: such dates are refused."
)


#: The sentence a cell shows when something unexpected happens inside pipesheet (a bug).
INTERNAL_ERROR = N_(
    "pipesheet could not compute this: something went wrong inside pipesheet (a bug, not a "
    "problem with your data); please report it on the pipesheet issue tracker with this formula "
    "and its inputs."
)
_DOC_LANG = N_(
    'Optional: the language of the headings and messages: "en", "it", "sl", "vi" or "ca" '
    "(blank: Excel's language when it sends it, else the Python side's). Never changes a number."
)

#: Each function's description and its arguments' (the English texts, marked for translation):
#: :func:`describe_functions` registers them in a language.
_DESCRIPTIONS: dict[str, str] = {}


def _request_culture() -> str | None:
    """The culture Excel sent with this call (``"it-IT"``): Office.js (xlwings Lite, xlwings
    Server, Excel on the web) sends it in the request data xlwings' dispatcher
    (``custom_functions_call(data, module)``) holds as ``data["culture_info_name"]``; found on the
    call stack. None where there is no such request (the classic add-in, a direct Python call)."""
    frame = sys._getframe(1)
    for _depth in range(64):
        if frame is None:
            return None
        code = frame.f_code
        if code.co_name == "custom_functions_call" and str(
            frame.f_globals.get("__name__", "")
        ).startswith("xlwings"):
            data = frame.f_locals.get("data")
            try:
                value = data.get("culture_info_name") if data is not None else None
            except (AttributeError, TypeError):
                return None
            return value if isinstance(value, str) else None
        frame = frame.f_back
    return None


def call_language(lang: Any = None) -> str:
    """The language of one Excel call: the ``lang`` argument when given (a language pipesheet
    does not speak is an error), else the culture Excel sent with the request when pipesheet
    speaks it (``it-IT`` → ``it``; ``de-DE`` → not spoken: next), else the language of the Python
    side (:func:`pipesheet.i18n.current_language`: ``PIPESHEET_LANG``, the system locale).

    Raises:
        PipesheetError: ``lang`` is an error cell, a range or a language pipesheet does not
            speak (the message lists those it speaks).
    """
    asked = optional_text(lang, "lang")
    if asked is not None:
        code = normalise_language(asked)
        if code is None:
            raise PipesheetError(
                _("unknown language"),
                table=arguments_table(),
                column="lang",
                value=asked,
                expected=", ".join(f"{c} ({LANGUAGE_NAMES[c]})" for c in LANGUAGES),
            )
        return code
    return normalise_language(_request_culture()) or current_language()


def _cell_errors(description: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The one guard of the Excel functions, with the function's ``description`` (English,
    marked ``N_``; what Excel's function wizard shows, see :func:`describe_functions`).

    Every function gets a last optional argument ``lang``; the call runs in
    :func:`call_language` (the words and formats of its headings and messages — never a number).
    The cell shows one clear sentence, never a traceback or an exception type:

    * bad input (:class:`PipesheetError`): the core's message (table, column, row, value and what
      was expected; arguments are named);
    * a ``lang`` pipesheet does not speak: the message lists the languages it speaks;
    * a result too large for Office.js (:func:`pipesheet.excel.convert.spill_too_large`, 5 MB):
      a message naming the cap, instead of a cell stuck at #BUSY;
    * not enough memory: a message saying so;
    * anything else is a bug: :data:`INTERNAL_ERROR`, with the traceback in the log (the
      xlwings Lite console, the server's log) for the bug report.
    """

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        own = inspect.signature(f)
        lang = inspect.Parameter("lang", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None)
        signature = own.replace(parameters=[*own.parameters.values(), lang])

        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            asked = bound.arguments.pop("lang", None)
            with language(normalise_language(_request_culture()) or current_language()):
                try:
                    code = call_language(asked)
                except PipesheetError as err:
                    return [[str(err)]]
            with language(code):
                return _guarded(f, bound.args, bound.kwargs)

        wrapper.__signature__ = signature  # type: ignore[attr-defined]
        wrapper.__doc__ = _(description)
        _DESCRIPTIONS[f.__name__] = description
        return wrapper

    return decorate


def _guarded(f: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    """``f(*args, **kwargs)`` with the guard of :func:`_cell_errors`."""
    try:
        result = f(*args, **kwargs)
        too_large = spill_too_large(result)
        return result if too_large is None else [[too_large]]
    except PipesheetError as err:
        return [[str(err)]]
    except MemoryError:
        return [[_("not enough memory to compute this; expected smaller tables.")]]
    except Exception:  # a bug, not bad input: still no traceback in the cell
        logging.getLogger("pipesheet.excel").exception("%s failed", f.__name__)
        return [[_(INTERNAL_ERROR)]]


def _probabilities(value: Any) -> Any:
    """A stage → probability table (DataFrame) or a preset name / "configured" (text)."""
    from pipesheet.presets import PRESETS

    rows = rows_from_value(value)
    if len(rows) > 1 or (rows and len(rows[0]) > 1):
        return table_from_range(value, "probabilities")
    text = optional_text(value, "probabilities")
    if text is None or (text.casefold() not in PRESETS and text.casefold() != "configured"):
        raise PipesheetError(
            _("no stage probabilities given") if text is None else _("unknown stage probabilities"),
            table=arguments_table(),
            column="probabilities",
            value=text,
            expected=_(
                "a stage/probability table (e.g. Stages[#All]), a preset name ({presets}) or "
                '"configured"'
            ).format(presets=", ".join(PRESETS)),
        )
    return text


def _period(value: Any) -> str | None:
    text = optional_text(value, "period", "month")
    return None if text.casefold() in ("none", "total", "all", "") else text


def _learn(history, deals, method, stages, won_passes_all, as_of, date_order=None) -> Any:
    from pipesheet.probabilities import StageProbabilities

    return StageProbabilities(
        optional_text(method, "method", "cohort"),
        stages=stage_list_from_range(stages),
        won_passes_all=optional_bool(won_passes_all, "won_passes_all"),
        as_of=date_argument(as_of, "as_of"),
    ).fit(
        table_from_range(history, "history", date_order) if not _blank_arg(history) else None,
        table_from_range(deals, "deals", date_order) if not _blank_arg(deals) else None,
    )


def _blank_amounts(value: Any) -> str:
    """The blank_amounts argument: error (default), skip or zero."""
    from pipesheet.tables import blank_amounts_choice

    return blank_amounts_choice(optional_text(value, "blank_amounts", "error"))


def _blank_arg(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, (list, tuple)):
        flat = [c for r in value for c in (r if isinstance(r, (list, tuple)) else [r])]
        return all(c is None or (isinstance(c, str) and not c.strip()) for c in flat)
    return isinstance(value, str) and not value.strip()


# ---- stage probabilities -----------------------------------------------------------------------
@xw.func
@xw.arg(
    "history",
    doc=N_(
        "Stage history with its header row (History[#All]): deal id, stage, entered date. "
        "Leave blank to learn from a deals snapshot."
    ),
    **TABLE,
)
@xw.arg(
    "deals",
    doc=_DOC_OPTIONAL_DEALS,
    **TABLE,
)
@xw.arg("method", doc=N_('Optional: "cohort" (default, ever reached) or "markov".'), **CELL)
@xw.arg("stages", doc=_DOC_STAGES, **TABLE)
@xw.arg("won_passes_all", doc=N_("Optional: TRUE counts won deals at every stage (Odoo)."), **CELL)
@xw.arg("as_of", doc=_DOC_AS_OF, **CELL)
@xw.arg("by", doc=N_("Optional: group column of the deals table (owner, segment…)."), **CELL)
@xw.arg("shrinkage", doc=N_("Optional: weight m pulling small groups to the overall rate."), **CELL)
@xw.arg("date_order", doc=_DOC_DATE_ORDER, **CELL)
@_cell_errors(
    N_(
        "Win probability of each open stage learned from your history: p = won / (won + lost) "
        "among closed deals that reached the stage, with a 90% interval and the step "
        "conversion."
    )
)
def PIPE_STAGE_PROBABILITIES(
    history,
    deals=None,
    method=None,
    stages=None,
    won_passes_all=None,
    as_of=None,
    by=None,
    shrinkage=None,
    date_order=None,
):
    from pipesheet.probabilities import StageProbabilities

    model = StageProbabilities(
        optional_text(method, "method", "cohort"),
        stages=stage_list_from_range(stages),
        won_passes_all=optional_bool(won_passes_all, "won_passes_all"),
        as_of=date_argument(as_of, "as_of"),
        by=optional_text(by, "by"),
        shrinkage=number_argument(shrinkage, "shrinkage", 0.0, minimum=0),
    ).fit(
        None if _blank_arg(history) else table_from_range(history, "history", date_order),
        None if _blank_arg(deals) else table_from_range(deals, "deals", date_order),
    )
    return spill_frame(model.table_)


@xw.func
@xw.arg("stage", doc=N_("The stage name, e.g. Proposal."), **CELL)
@xw.arg("history", doc=_DOC_HISTORY, **TABLE)
@xw.arg(
    "deals",
    doc=_DOC_OPTIONAL_DEALS,
    **TABLE,
)
@xw.arg("method", doc=N_('Optional: "cohort" (default) or "markov".'), **CELL)
@xw.arg("stages", doc=_DOC_STAGES, **TABLE)
@xw.arg("won_passes_all", doc=N_("Optional: TRUE counts won deals at every stage."), **CELL)
@xw.arg("as_of", doc=_DOC_AS_OF, **CELL)
@xw.arg("date_order", doc=_DOC_DATE_ORDER, **CELL)
@xw.arg(
    "pipeline",
    doc=N_(
        "Optional: with deals in several pipelines, the pipeline whose stage is meant "
        "(needed only for a stage name two pipelines share)."
    ),
    **CELL,
)
@_cell_errors(
    N_("Learned win probability of one stage (Won = 1, Lost = 0); a message when unknown.")
)
def PIPE_STAGE_PROBABILITY(
    stage,
    history,
    deals=None,
    method=None,
    stages=None,
    won_passes_all=None,
    as_of=None,
    date_order=None,
    pipeline=None,
):
    name = optional_text(stage, "stage")
    if name is None:
        raise PipesheetError(_("no stage given"), table=arguments_table(), column="stage")
    model = _learn(history, deals, method, stages, won_passes_all, as_of, date_order)
    p = model.probability(name, pipeline=optional_text(pipeline, "pipeline"))
    if pd.isna(p):
        return _("unknown: no closed deals reached {stage!r} to learn from.").format(stage=name)
    return spill_scalar(p)


# ---- forecasts ----------------------------------------------------------------------------------
@xw.func
@xw.arg("deals", doc=_DOC_DEALS, **TABLE)
@xw.arg("probabilities", doc=_DOC_PROBS, **TABLE)
@xw.arg("period", doc=N_('Optional: "month" (default), "quarter", "year" or "none".'), **CELL)
@xw.arg("by", doc=N_("Optional: group column (owner, product line, segment…)."), **CELL)
@xw.arg("rates", doc=_DOC_RATES, **TABLE)
@xw.arg("currency", doc=_DOC_CURRENCY, **CELL)
@xw.arg("fiscal_year_start", doc=N_("Optional: first month of the fiscal year (1–12)."), **CELL)
@xw.arg("as_of", doc=_DOC_AS_OF, **CELL)
@xw.arg("total", doc=N_("Optional: TRUE adds a Total row."), **CELL)
@xw.arg("start", doc=_DOC_START, **CELL)
@xw.arg("end", doc=_DOC_END, **CELL)
@xw.arg("blank_amounts", doc=_DOC_BLANK, **CELL)
@xw.arg("date_order", doc=_DOC_DATE_ORDER, **CELL)
@_cell_errors(
    N_(
        "Weighted forecast of open deals by close period: Σ amount × P(win | stage), with the "
        "deal count, pipeline and standard deviation √Σ amount²·p(1−p)."
    )
)
def PIPE_WEIGHTED_FORECAST(
    deals,
    probabilities,
    period=None,
    by=None,
    rates=None,
    currency=None,
    fiscal_year_start=None,
    as_of=None,
    total=None,
    start=None,
    end=None,
    blank_amounts=None,
    date_order=None,
):
    from pipesheet.forecast import weighted_forecast

    out = weighted_forecast(
        table_from_range(deals, "deals", date_order),
        _probabilities(probabilities),
        period=_period(period),
        fiscal_year_start=optional_number(fiscal_year_start, "fiscal_year_start", 1),
        by=optional_text(by, "by"),
        rates=None if _blank_arg(rates) else table_from_range(rates, "rates"),
        currency=optional_text(currency, "currency"),
        as_of=date_argument(as_of, "as_of"),
        start=date_argument(start, "start"),
        end=date_argument(end, "end"),
        blank_amounts=_blank_amounts(blank_amounts),
        total=optional_bool(total, "total"),
    )
    return spill_frame(out)


@xw.func
@xw.arg("deals", doc=_DOC_DEALS, **TABLE)
@xw.arg("probabilities", doc=_DOC_PROBS, **TABLE)
@xw.arg("rates", doc=_DOC_RATES, **TABLE)
@xw.arg("currency", doc=_DOC_CURRENCY, **CELL)
@xw.arg("as_of", doc=_DOC_AS_OF, **CELL)
@xw.arg("start", doc=_DOC_START, **CELL)
@xw.arg("end", doc=_DOC_END, **CELL)
@xw.arg("blank_amounts", doc=_DOC_BLANK, **CELL)
@xw.arg("date_order", doc=_DOC_DATE_ORDER, **CELL)
@_cell_errors(N_("Weighted value of all open deals, one number: Σ amount × P(win | stage)."))
def PIPE_FORECAST_TOTAL(
    deals,
    probabilities,
    rates=None,
    currency=None,
    as_of=None,
    start=None,
    end=None,
    blank_amounts=None,
    date_order=None,
):
    from pipesheet.forecast import weighted_forecast

    out = weighted_forecast(
        table_from_range(deals, "deals", date_order),
        _probabilities(probabilities),
        period=None,
        rates=None if _blank_arg(rates) else table_from_range(rates, "rates"),
        currency=optional_text(currency, "currency"),
        as_of=date_argument(as_of, "as_of"),
        start=date_argument(start, "start"),
        end=date_argument(end, "end"),
        blank_amounts=_blank_amounts(blank_amounts),
    )
    return spill_scalar(out["weighted"].iloc[0])


@xw.func
@xw.arg("deals", doc=_DOC_DEALS, **TABLE)
@xw.arg("probabilities", doc=_DOC_PROBS, **TABLE)
@xw.arg("quota", doc=N_("Optional: quota; adds P(total ≥ quota)."), **CELL)
@xw.arg("rates", doc=_DOC_RATES, **TABLE)
@xw.arg("currency", doc=_DOC_CURRENCY, **CELL)
@xw.arg(
    "range_method",
    doc=N_('Optional: "auto" (default), "exact", "lattice" or "monte_carlo".'),
    **CELL,
)
@xw.arg("seed", doc=N_("Optional: random seed of the simulation (default 0)."), **CELL)
@xw.arg(
    "as_of",
    doc=N_(
        "Optional: only what was known at the end of this day. The same open deals as "
        "PIPE_WEIGHTED_FORECAST's."
    ),
    **CELL,
)
@xw.arg(
    "start",
    doc=N_(
        "Optional: only open deals expected to close on or after this date. With start/end, "
        "P(≥ quota) adds what is closed so far."
    ),
    **CELL,
)
@xw.arg("end", doc=_DOC_END, **CELL)
@xw.arg("blank_amounts", doc=_DOC_BLANK, **CELL)
@xw.arg("date_order", doc=_DOC_DATE_ORDER, **CELL)
@_cell_errors(
    N_(
        "Range of the open deals' outcome, each deal won or lost independently: mean (= the "
        "weighted forecast of the same deals), P10, P50, P90 and P(closed so far + range ≥ "
        "quota)."
    )
)
def PIPE_FORECAST_RANGE(
    deals,
    probabilities,
    quota=None,
    rates=None,
    currency=None,
    range_method=None,
    seed=None,
    as_of=None,
    start=None,
    end=None,
    blank_amounts=None,
    date_order=None,
):
    from pipesheet.forecast import pipeline_range

    result = pipeline_range(
        table_from_range(deals, "deals", date_order),
        _probabilities(probabilities),
        quota=optional_number(quota, "quota"),
        start=date_argument(start, "start"),
        end=date_argument(end, "end"),
        as_of=date_argument(as_of, "as_of"),
        rates=None if _blank_arg(rates) else table_from_range(rates, "rates"),
        currency=optional_text(currency, "currency"),
        blank_amounts=_blank_amounts(blank_amounts),
        range_method=optional_text(range_method, "range_method", "auto"),
        seed=whole_argument(seed, "seed", 0, minimum=0, maximum=2**32 - 1),
    )
    return spill_frame(result.to_frame())


@xw.func
@xw.arg("deals", doc=_DOC_DEALS, **TABLE)
@xw.arg("rates", doc=_DOC_RATES, **TABLE)
@xw.arg("currency", doc=_DOC_CURRENCY, **CELL)
@xw.arg("blank_amounts", doc=_DOC_BLANK, **CELL)
@xw.arg("date_order", doc=_DOC_DATE_ORDER, **CELL)
@_cell_errors(
    N_(
        "Amounts by forecast category (Closed, Commit, Best Case, Pipeline, Omitted) with the "
        "roll-ups Commit = Closed + Commit, Best Case = Commit + Best Case, Pipeline = Best "
        "Case + Pipeline."
    )
)
def PIPE_FORECAST_CATEGORIES(deals, rates=None, currency=None, blank_amounts=None, date_order=None):
    from pipesheet.forecast import forecast_categories

    out = forecast_categories(
        table_from_range(deals, "deals", date_order),
        rates=None if _blank_arg(rates) else table_from_range(rates, "rates"),
        currency=optional_text(currency, "currency"),
        blank_amounts=_blank_amounts(blank_amounts),
    )
    return spill_frame(out)


@xw.func
@xw.arg("deals", doc=_DOC_DEALS, **TABLE)
@xw.arg("probabilities", doc=_DOC_PROBS, **TABLE)
@xw.arg("start", doc=N_("Optional: first day of the period."), **CELL)
@xw.arg("end", doc=N_("Optional: last day of the period."), **CELL)
@xw.arg("rates", doc=_DOC_RATES, **TABLE)
@xw.arg("currency", doc=_DOC_CURRENCY, **CELL)
@xw.arg("as_of", doc=_DOC_AS_OF, **CELL)
@xw.arg("blank_amounts", doc=_DOC_BLANK, **CELL)
@xw.arg("date_order", doc=_DOC_DATE_ORDER, **CELL)
@_cell_errors(
    N_(
        "Where a period stands: closed so far, expected from open deals (weighted), open "
        "pipeline, average won deal, win rate and average cycle — the inputs of "
        "PIPE_QUOTA_GAP."
    )
)
def PIPE_PIPELINE_POSITION(
    deals,
    probabilities,
    start=None,
    end=None,
    rates=None,
    currency=None,
    as_of=None,
    blank_amounts=None,
    date_order=None,
):
    from pipesheet.forecast import pipeline_position

    pos = pipeline_position(
        table_from_range(deals, "deals", date_order),
        _probabilities(probabilities),
        date_argument(start, "start"),
        date_argument(end, "end"),
        as_of=date_argument(as_of, "as_of"),
        rates=None if _blank_arg(rates) else table_from_range(rates, "rates"),
        currency=optional_text(currency, "currency"),
        blank_amounts=_blank_amounts(blank_amounts),
    )
    return spill_frame(pos.to_frame())


# ---- planning -----------------------------------------------------------------------------------
@xw.func
@xw.arg("target", doc=N_("Revenue target."), **CELL)
@xw.arg("average_deal", doc=N_("Average won deal."), **CELL)
@xw.arg(
    "conversions",
    doc=N_(
        "Step conversion of each open stage to the next, in funnel order (the last one to "
        "Won): a table of stage and conversion, or the result of PIPE_STAGE_PROBABILITIES."
    ),
    **TABLE,
)
@xw.arg("deadline", doc=N_("Optional: date the target must be closed by."), **CELL)
@xw.arg("days_in_stage", doc=N_("Optional: table of stage and days spent in it."), **TABLE)
@xw.arg(
    "history",
    doc=N_(
        "Optional: Stage history with its header row (History[#All]): deal id, stage, "
        "entered date. With a deadline and no days_in_stage, the days are learned from it "
        "(median days of won deals' visits to each stage)."
    ),
    **TABLE,
)
@xw.arg(
    "as_of",
    doc=N_(
        "Optional: only what was known at the end of this day (for the days learned from the "
        "history)."
    ),
    **CELL,
)
@_cell_errors(
    N_(
        "Reverse funnel: won deals needed = ⌈target / average deal⌉, deals needed at each "
        "stage = ⌈won needed / conversion to Won⌉; with a deadline, the date deals must enter "
        "each stage."
    )
)
def PIPE_LEADS_NEEDED(
    target,
    average_deal,
    conversions,
    deadline=None,
    days_in_stage=None,
    history=None,
    as_of=None,
):
    from pipesheet.planning import days_in_stage_from_history, leads_needed

    days = mapping_from_range(days_in_stage, "days_in_stage")
    when = date_argument(deadline, "deadline")
    if days is None and when is not None and not _blank_arg(history):
        days = days_in_stage_from_history(
            table_from_range(history, "history"), as_of=date_argument(as_of, "as_of")
        )
    plan = leads_needed(
        scalar(target, "target"),
        scalar(average_deal, "average_deal"),
        table_from_range(conversions, "conversions"),
        deadline=when,
        days_in_stage=days,
    )
    return spill_frame(plan.table)


@xw.func
@xw.arg("quota", doc=N_("The period's quota."), **CELL)
@xw.arg("closed", doc=N_("Revenue already won in the period."), **CELL)
@xw.arg("expected_open", doc=N_("Weighted value of open deals closing in the period."), **CELL)
@xw.arg("average_deal", doc=N_("Average won deal."), **CELL)
@xw.arg("lead_to_win_rate", doc=N_("Share of new leads that end up won (0–1 or %)."), **CELL)
@xw.arg("open_pipeline", doc=N_("Optional: unweighted open pipeline (for coverage)."), **CELL)
@xw.arg(
    "as_of",
    doc=N_("Optional: the as-of date, e.g. TODAY() (with period_end: leads per week)."),
    **CELL,
)
@xw.arg("period_end", doc=N_("Optional: last day of the period."), **CELL)
@xw.arg("cycle_days", doc=N_("Optional: average days from lead to won (default 0)."), **CELL)
@_cell_errors(
    N_(
        "Quota gap = quota − closed − expected from open deals, turned into new won deals, new "
        "leads and leads per week over the selling time left."
    )
)
def PIPE_QUOTA_GAP(
    quota,
    closed,
    expected_open,
    average_deal,
    lead_to_win_rate,
    open_pipeline=None,
    as_of=None,
    period_end=None,
    cycle_days=None,
):
    from pipesheet.planning import quota_gap

    gap = quota_gap(
        optional_number(quota, "quota"),
        optional_number(closed, "closed", 0.0),
        optional_number(expected_open, "expected_open", 0.0),
        average_deal=optional_number(average_deal, "average_deal"),
        lead_to_win_rate=optional_number(lead_to_win_rate, "lead_to_win_rate"),
        open_pipeline=optional_number(open_pipeline, "open_pipeline"),
        as_of=date_argument(as_of, "as_of"),
        period_end=date_argument(period_end, "period_end"),
        cycle_days=optional_number(cycle_days, "cycle_days", 0.0),
    )
    return spill_frame(gap.to_frame())


@xw.func
@xw.arg("open_pipeline", doc=N_("Open pipeline in the period (unweighted)."), **CELL)
@xw.arg("quota", doc=N_("The period's quota."), **CELL)
@xw.arg("closed", doc=N_("Optional: revenue already won in the period (default 0)."), **CELL)
@_cell_errors(N_("Coverage ratio = open pipeline ÷ (quota − closed so far)."))
def PIPE_COVERAGE(open_pipeline, quota, closed=None):
    from pipesheet.planning import coverage_ratio

    return spill_scalar(
        coverage_ratio(
            optional_number(open_pipeline, "open_pipeline"),
            optional_number(quota, "quota"),
            optional_number(closed, "closed", 0.0),
        )
    )


@xw.func
@xw.arg("open_opportunities", doc=N_("Number of open opportunities."), **CELL)
@xw.arg("win_rate", doc=N_("Win rate (0–1 or %)."), **CELL)
@xw.arg("average_won_deal", doc=N_("Average won deal."), **CELL)
@xw.arg("cycle_days", doc=N_("Average sales cycle in days."), **CELL)
@_cell_errors(
    N_("Sales velocity per day = open opportunities × win rate × average won deal ÷ cycle days.")
)
def PIPE_VELOCITY(open_opportunities, win_rate, average_won_deal, cycle_days):
    from pipesheet.planning import sales_velocity

    return spill_scalar(
        sales_velocity(
            optional_number(open_opportunities, "open_opportunities"),
            optional_number(win_rate, "win_rate"),
            optional_number(average_won_deal, "average_won_deal"),
            optional_number(cycle_days, "cycle_days"),
        )
    )


# ---- time-aware forecast, backtest, calibration ------------------------------------------------
def _optional_table(value: Any, name: str, date_order: Any = None) -> pd.DataFrame | None:
    return None if _blank_arg(value) else table_from_range(value, name, date_order)


#: Largest value of each whole-number argument (beyond it the dates or sizes involved are out
#: of any range the engine computes in).
_WHOLE_MAX = {
    "periods": 600,
    "buckets": 1_000,
    "trailing": 1_000,
    "min_deals": 10**9,
    "top": 10**7,
}


def _whole(value: Any, name: str, default: int) -> Any:
    """A whole-number argument (Excel numbers arrive as floats). Text, TRUE/FALSE and numbers out
    of range are refused here, naming the argument; a number that is not whole goes to the core
    as given, which names the argument in its message."""
    return whole_argument(value, name, default, maximum=_WHOLE_MAX.get(name), strict=False)


def _period_end(value: Any) -> Any:
    """A period end: a date, or "month", "quarter" or "year" (the end of that period)."""
    cell = scalar(value, "period_end")
    if isinstance(cell, str) and cell.strip().casefold() in ("month", "quarter", "year"):
        return cell.strip().casefold()
    try:
        return date_argument(cell, "period_end")
    except PipesheetError as err:
        raise PipesheetError(
            err.problem,
            table=arguments_table(),
            column="period_end",
            value=cell,
            expected=_('a date, or "month", "quarter" or "year"'),
        ) from None


def _choice(value: Any, name: str, options: tuple[str, ...]) -> str:
    """One of ``options`` (case-insensitive); blank → the first."""
    text = optional_text(value, name, options[0]).casefold()
    if text not in options:
        raise PipesheetError(
            _("unknown {argument}").format(argument=name),
            table=arguments_table(),
            column=name,
            value=text,
            expected=either(repr(o) for o in options),
        )
    return text


_DOC_TA_HISTORY = N_(
    "Stage history with its header row (History[#All]): deal id, stage, entered date "
    "(optionally amount and close date per row)."
)
_DOC_OPT_DEALS = N_(
    "Optional: Deals table with its header row (Deals[#All]): deal id, stage, amount, "
    "close date… (amounts, currency)."
)
_DOC_WATERFALL_SHOW = N_(
    'Optional: "steps" (default: the reconciled steps) or "deals" (each deal).'
)


@xw.func
@xw.arg("history", doc=_DOC_TA_HISTORY, **TABLE)
@xw.arg("deals", doc=_DOC_OPT_DEALS, **TABLE)
@xw.arg(
    "period_end",
    doc=N_(
        'Optional: last day of the forecast period, or "month", "quarter" (default) or '
        '"year" (the end of that period containing as_of; the next one when as_of is its '
        "last day)."
    ),
    **CELL,
)
@xw.arg(
    "as_of", doc=N_("Optional: forecast date (default: the latest date in the history)."), **CELL
)
@xw.arg("quota", doc=N_("Optional: quota; adds P(forecast ≥ quota)."), **CELL)
@xw.arg("rates", doc=_DOC_RATES, **TABLE)
@xw.arg("currency", doc=_DOC_CURRENCY, **CELL)
@xw.arg(
    "conditioning",
    doc=N_(
        'Optional: "age" (default: given the deal is still open at its age) or "stage" '
        "(p_stage × timing)."
    ),
    **CELL,
)
@xw.arg(
    "show",
    doc=N_(
        'Optional: "summary" (default: one row), "stages" (per stage) or "deals" (per open deal).'
    ),
    **CELL,
)
@xw.arg("stages", doc=_DOC_STAGES, **TABLE)
@xw.arg("blank_amounts", doc=_DOC_BLANK, **CELL)
@xw.arg("date_order", doc=_DOC_DATE_ORDER, **CELL)
@_cell_errors(
    N_(
        "Time-aware forecast of the period (as_of, period end]: Σ amount × P(won by the period "
        "end | stage, days in stage), learned from cycle times with open deals censored; with "
        "its range P10/P50/P90 and P(≥ quota)."
    )
)
def PIPE_TIME_AWARE_FORECAST(
    history,
    deals=None,
    period_end=None,
    as_of=None,
    quota=None,
    rates=None,
    currency=None,
    conditioning=None,
    show=None,
    stages=None,
    blank_amounts=None,
    date_order=None,
):
    from pipesheet.timeaware import time_aware_forecast

    what = _choice(show, "show", ("summary", "stages", "deals"))
    result = time_aware_forecast(
        table_from_range(history, "history", date_order),
        _optional_table(deals, "deals", date_order),
        period_end=_period_end(period_end) or "quarter",
        as_of=date_argument(as_of, "as_of"),
        quota=optional_number(quota, "quota"),
        rates=_optional_table(rates, "rates"),
        currency=optional_text(currency, "currency"),
        conditioning=optional_text(conditioning, "conditioning", "age"),
        stages=stage_list_from_range(stages),
        blank_amounts=_blank_amounts(blank_amounts),
    )
    frame = {"summary": result.to_frame(), "stages": result.table, "deals": result.deals}[what]
    return spill_frame(frame)


@xw.func
@xw.arg("history", doc=_DOC_TA_HISTORY, **TABLE)
@xw.arg("deals", doc=_DOC_OPT_DEALS, **TABLE)
@xw.arg("start", doc=N_("First day of the first period to backtest, e.g. DATE(2026,1,1)."), **CELL)
@xw.arg("periods", doc=N_("Optional: number of consecutive periods (default 4)."), **CELL)
@xw.arg("period", doc=N_('Optional: "month" (default) or "quarter".'), **CELL)
@xw.arg(
    "show",
    doc=N_(
        'Optional: "summary" (default: MAPE, bias and P10–P90 coverage, in_range_share, '
        'per method and of the recommended forecast), "periods" (the methods and the '
        'recommended forecast per period) or "detail" (one row per period and method).'
    ),
    **CELL,
)
@xw.arg(
    "actual",
    doc=N_(
        'Optional: "pipeline" (default: won from deals open at the start) or "all" (every win).'
    ),
    **CELL,
)
@xw.arg("rates", doc=_DOC_RATES, **TABLE)
@xw.arg("currency", doc=_DOC_CURRENCY, **CELL)
@xw.arg("stages", doc=_DOC_STAGES, **TABLE)
@xw.arg("blank_amounts", doc=_DOC_BLANK, **CELL)
@xw.arg("date_order", doc=_DOC_DATE_ORDER, **CELL)
@_cell_errors(
    N_(
        "Backtest: rebuild the pipeline the day before each past period from the history, "
        "forecast the period with the time-aware, the weighted-pipeline and the calibrated "
        "methods, compare with what was won; the recommended forecast is the calibrated one "
        "when it rests on enough past periods, else the time-aware one. Error = "
        "forecast/actual − 1; MAPE = mean |error|, bias = mean error."
    )
)
def PIPE_BACKTEST(
    history,
    deals=None,
    start=None,
    periods=None,
    period=None,
    show=None,
    actual=None,
    rates=None,
    currency=None,
    stages=None,
    blank_amounts=None,
    date_order=None,
):
    from pipesheet.backtest import backtest

    what = _choice(show, "show", ("summary", "periods", "detail"))
    result = backtest(
        table_from_range(history, "history", date_order),
        _optional_table(deals, "deals", date_order),
        date_argument(start, "start"),
        periods=_whole(periods, "periods", 4),
        period=optional_text(period, "period", "month"),
        actual=optional_text(actual, "actual", "pipeline"),
        rates=_optional_table(rates, "rates"),
        currency=optional_text(currency, "currency"),
        stages=stage_list_from_range(stages),
        blank_amounts=_blank_amounts(blank_amounts),
    )
    frame = {"summary": result.summary, "periods": result.wide, "detail": result.table}[what]
    return spill_frame(frame)


@xw.func
@xw.arg("history", doc=_DOC_TA_HISTORY, **TABLE)
@xw.arg(
    "as_of", doc=N_("Date the probabilities are predicted on (before the history ends)."), **CELL
)
@xw.arg(
    "deals",
    doc=_DOC_OPTIONAL_DEALS,
    **TABLE,
)
@xw.arg(
    "show",
    doc=N_(
        'Optional: "buckets" (default: per probability bucket), "stages" (per stage) '
        'or "summary" (the Brier score over all deals, its base-rate reference and the '
        "skill)."
    ),
    **CELL,
)
@xw.arg(
    "probabilities",
    doc=N_(
        'Optional: "learned" (default: the stage probabilities P(win | stage)), '
        '"configured" (the CRM\'s Probability column), a preset name or a '
        'stage/probability table — outcome by the end of the history; or "time-aware" / '
        '"calibrated" (P(won by period_end)).'
    ),
    **CELL,
)
@xw.arg(
    "period_end",
    doc=N_(
        'Optional (time-aware, calibrated): a date, or "month", "quarter" or "year" '
        "containing as_of (the next one when as_of is its last day)."
    ),
    **CELL,
)
@xw.arg(
    "buckets", doc=N_("Optional: number of equal-width probability buckets (default 10)."), **CELL
)
@xw.arg("stages", doc=_DOC_STAGES, **TABLE)
@xw.arg("date_order", doc=_DOC_DATE_ORDER, **CELL)
@xw.arg(
    "rates",
    doc=N_(
        'Optional ("calibrated"): currency rates table (currency, rate) when deals mix currencies.'
    ),
    **TABLE,
)
@xw.arg("currency", doc=_DOC_CURRENCY, **CELL)
@xw.arg("blank_amounts", doc=_DOC_BLANK, **CELL)
@_cell_errors(
    N_(
        "Calibration: predicted probability vs realised win rate of the deals open on as_of, "
        "per probability bucket or stage, the Brier score mean((p − y)²) and the Brier skill "
        "against always predicting the base rate."
    )
)
def PIPE_CALIBRATION(
    history,
    as_of,
    deals=None,
    show=None,
    probabilities=None,
    period_end=None,
    buckets=None,
    stages=None,
    date_order=None,
    rates=None,
    currency=None,
    blank_amounts=None,
):
    from pipesheet.calibration import calibration
    from pipesheet.excel.accuracy import calibration_probabilities

    which = calibration_probabilities(probabilities)
    money = {}
    if isinstance(which, str) and which.strip().casefold() == "calibrated":
        money = {
            "rates": _optional_table(rates, "rates"),
            "currency": optional_text(currency, "currency"),
            "blank_amounts": _blank_amounts(blank_amounts),
        }

    what = _choice(show, "show", ("buckets", "stages", "summary"))
    result = calibration(
        table_from_range(history, "history", date_order),
        _optional_table(deals, "deals", date_order),
        date_argument(as_of, "as_of"),
        probabilities=which,
        period_end=_period_end(period_end),
        buckets=_whole(buckets, "buckets", 10),
        stages=stage_list_from_range(stages),
        **money,
    )
    frame = {"buckets": result.by_bucket, "stages": result.by_stage, "summary": result.summary}
    return spill_frame(frame[what])


# ---- reconciliation and pipeline health ---------------------------------------------------------
@xw.func
@xw.arg(
    "opening", doc=N_("Deals snapshot at the start, with its header row (e.g. Sep[#All])."), **TABLE
)
@xw.arg(
    "closing", doc=N_("Deals snapshot at the end, with its header row (e.g. Oct[#All])."), **TABLE
)
@xw.arg("start", doc=N_("Optional: first day of the tracked close-date period."), **CELL)
@xw.arg("end", doc=N_("Optional: last day of the tracked close-date period."), **CELL)
@xw.arg("show", doc=_DOC_WATERFALL_SHOW, **CELL)
@xw.arg("rates", doc=_DOC_RATES, **TABLE)
@xw.arg("currency", doc=_DOC_CURRENCY, **CELL)
@xw.arg("stages", doc=_DOC_STAGES, **TABLE)
@xw.arg("blank_amounts", doc=_DOC_BLANK, **CELL)
@xw.arg("date_order", doc=_DOC_DATE_ORDER, **CELL)
@_cell_errors(
    N_(
        "Pipeline waterfall between two deals snapshots: opening + new + pulled in + increased "
        "− decreased − pushed out − won − lost − removed = closing, in deals and value "
        "(reconciled to the cent)."
    )
)
def PIPE_WATERFALL(
    opening,
    closing,
    start=None,
    end=None,
    show=None,
    rates=None,
    currency=None,
    stages=None,
    blank_amounts=None,
    date_order=None,
):
    from pipesheet.waterfall import pipeline_waterfall

    what = _choice(show, "show", ("steps", "deals"))
    result = pipeline_waterfall(
        table_from_range(opening, "opening", date_order),
        table_from_range(closing, "closing", date_order),
        start=date_argument(start, "start"),
        end=date_argument(end, "end"),
        stages=stage_list_from_range(stages),
        rates=_optional_table(rates, "rates"),
        currency=optional_text(currency, "currency"),
        blank_amounts=_blank_amounts(blank_amounts),
    )
    return spill_frame(result.table if what == "steps" else result.deals)


@xw.func
@xw.arg("history", doc=_DOC_TA_HISTORY, **TABLE)
@xw.arg("opening_date", doc=N_("Date of the opening pipeline."), **CELL)
@xw.arg("closing_date", doc=N_("Date of the closing pipeline."), **CELL)
@xw.arg(
    "deals",
    doc=N_(
        "Optional: Deals table with its header row (Deals[#All]): deal id, stage, amount, "
        "close date… (amounts when the history has none)."
    ),
    **TABLE,
)
@xw.arg("start", doc=N_("Optional: first day of the tracked close-date period."), **CELL)
@xw.arg("end", doc=N_("Optional: last day of the tracked close-date period."), **CELL)
@xw.arg("show", doc=_DOC_WATERFALL_SHOW, **CELL)
@xw.arg("rates", doc=_DOC_RATES, **TABLE)
@xw.arg("currency", doc=_DOC_CURRENCY, **CELL)
@xw.arg("stages", doc=_DOC_STAGES, **TABLE)
@xw.arg("blank_amounts", doc=_DOC_BLANK, **CELL)
@xw.arg("date_order", doc=_DOC_DATE_ORDER, **CELL)
@_cell_errors(
    N_(
        "Pipeline waterfall between two dates of a stage history (each deal as it was on each "
        "date), reconciled to the cent like PIPE_WATERFALL."
    )
)
def PIPE_WATERFALL_HISTORY(
    history,
    opening_date,
    closing_date,
    deals=None,
    start=None,
    end=None,
    show=None,
    rates=None,
    currency=None,
    stages=None,
    blank_amounts=None,
    date_order=None,
):
    from pipesheet.waterfall import waterfall_from_history

    what = _choice(show, "show", ("steps", "deals"))
    result = waterfall_from_history(
        table_from_range(history, "history", date_order),
        date_argument(opening_date, "opening_date"),
        date_argument(closing_date, "closing_date"),
        _optional_table(deals, "deals", date_order),
        start=date_argument(start, "start"),
        end=date_argument(end, "end"),
        stages=stage_list_from_range(stages),
        rates=_optional_table(rates, "rates"),
        currency=optional_text(currency, "currency"),
        blank_amounts=_blank_amounts(blank_amounts),
    )
    return spill_frame(result.table if what == "steps" else result.deals)


@xw.func
@xw.arg("history", doc=_DOC_HISTORY, **TABLE)
@xw.arg(
    "deals",
    doc=N_(
        "Optional: Deals table with its header row (Deals[#All]): deal id, stage, amount, "
        "close date… (adds amount, owner, close date)."
    ),
    **TABLE,
)
@xw.arg(
    "quantile",
    doc=N_("Optional: stale = longer in stage than this share of won deals (0.8)."),
    **CELL,
)
@xw.arg("as_of", doc=_DOC_AS_OF, **CELL)
@xw.arg("only_stale", doc=N_("Optional: TRUE lists only the stale deals."), **CELL)
@xw.arg("top", doc=N_("Optional: show only the first N rows (stale deals come first)."), **CELL)
@xw.arg("stages", doc=_DOC_STAGES, **TABLE)
@xw.arg("date_order", doc=_DOC_DATE_ORDER, **CELL)
@_cell_errors(
    N_(
        "Open deals with their days in stage against the team's won deals: stale = days in "
        "stage > the 80th percentile (quantile) of the days won deals spent there; stale deals "
        "first, longest over their threshold first."
    )
)
def PIPE_STALE_DEALS(
    history,
    deals=None,
    quantile=None,
    as_of=None,
    only_stale=None,
    top=None,
    stages=None,
    date_order=None,
):
    from pipesheet.diagnostics import stale_deals

    n = _whole(top, "top", 0)
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise PipesheetError(
            _("top must be a whole number of rows"),
            table=arguments_table(),
            column="top",
            value=n,
            expected=_("e.g. 10 (blank = all)"),
        )
    out = stale_deals(
        table_from_range(history, "history", date_order),
        _optional_table(deals, "deals", date_order),
        quantile=optional_number(quantile, "quantile", 0.80),
        as_of=date_argument(as_of, "as_of"),
        only_stale=optional_bool(only_stale, "only_stale"),
        stages=stage_list_from_range(stages),
    )
    return spill_frame(out.head(n) if n else out)


@xw.func
@xw.arg("history", doc=_DOC_HISTORY, **TABLE)
@xw.arg(
    "period", doc=N_('Optional: cohort period, "quarter" (default), "month" or "year".'), **CELL
)
@xw.arg(
    "trailing", doc=N_("Optional: earlier periods averaged as the reference (default 4)."), **CELL
)
@xw.arg("benchmark", doc=N_("Optional: table of stage and benchmark step conversion."), **TABLE)
@xw.arg(
    "min_deals", doc=N_("Optional: closed deals a cohort needs to be checked (default 10)."), **CELL
)
@xw.arg("as_of", doc=_DOC_AS_OF, **CELL)
@xw.arg("stages", doc=_DOC_STAGES, **TABLE)
@xw.arg("date_order", doc=_DOC_DATE_ORDER, **CELL)
@_cell_errors(
    N_(
        "Step conversion of each stage's latest mature cohort against its trailing average (or "
        "a benchmark): gap = conversion − reference; the most negative gap is the bottleneck."
    )
)
def PIPE_BOTTLENECKS(
    history,
    period=None,
    trailing=None,
    benchmark=None,
    min_deals=None,
    as_of=None,
    stages=None,
    date_order=None,
):
    from pipesheet.diagnostics import bottlenecks

    out = bottlenecks(
        table_from_range(history, "history", date_order),
        period=optional_text(period, "period", "quarter"),
        trailing=_whole(trailing, "trailing", 4),
        benchmark=mapping_from_range(benchmark, "benchmark"),
        min_deals=_whole(min_deals, "min_deals", 10),
        as_of=date_argument(as_of, "as_of"),
        stages=stage_list_from_range(stages),
    )
    return spill_frame(out)


@xw.func
@xw.arg("history", doc=_DOC_HISTORY, **TABLE)
@xw.arg(
    "deals",
    doc=N_(
        "Optional: Deals table with its header row (Deals[#All]): deal id, stage, amount, "
        "close date… (created dates start the cycle)."
    ),
    **TABLE,
)
@xw.arg("as_of", doc=_DOC_AS_OF, **CELL)
@xw.arg("per_deal", doc=N_("Optional: TRUE lists each closed deal's cycle instead."), **CELL)
@xw.arg("stages", doc=_DOC_STAGES, **TABLE)
@xw.arg("date_order", doc=_DOC_DATE_ORDER, **CELL)
@_cell_errors(
    N_(
        "Cycle time of closed deals by outcome (won, lost): deals, mean, median and 80th "
        "percentile of the days from creation (or first history row) to Won/Lost."
    )
)
def PIPE_CYCLE_TIME(history, deals=None, as_of=None, per_deal=None, stages=None, date_order=None):
    from pipesheet.diagnostics import cycle_time, deal_cycle_times

    args = (
        table_from_range(history, "history", date_order),
        _optional_table(deals, "deals", date_order),
    )
    opts = {"as_of": date_argument(as_of, "as_of"), "stages": stage_list_from_range(stages)}
    if optional_bool(per_deal, "per_deal"):
        return spill_frame(deal_cycle_times(*args, **opts))
    return spill_frame(cycle_time(*args, **opts))


@xw.func
@xw.arg("name", doc=N_("salesforce, hubspot or suitecrm."), **CELL)
@_cell_errors(N_("A CRM's default (configured) stage probabilities: stage and probability."))
def PIPE_PRESET(name):
    from pipesheet.presets import preset

    text = optional_text(name, "name", "")
    try:
        return spill_frame(preset(text))
    except PipesheetError as err:
        raise PipesheetError(
            err.problem, table=arguments_table(), column="name", value=text, expected=err.expected
        ) from None


# the functions of other areas, each in its own module (they use the guard and helpers above)
from pipesheet.excel.accuracy import PIPE_CALIBRATED_FORECAST  # noqa: E402
from pipesheet.excel.balance import PIPE_BALANCE, PIPE_STAGE_DESIGN  # noqa: E402
from pipesheet.excel.planning_extra import (  # noqa: E402 (uses the above)
    PIPE_COMMITS,
    PIPE_LOSSES,
    PIPE_PIPELINES,
)
from pipesheet.excel.planning_tables import PIPE_QUOTA_TABLE, PIPE_SCENARIO  # noqa: E402

#: The arguments' descriptions in English (kept when :func:`describe_functions` translates them).
_ARG_DOCS: dict[tuple[str, str], str] = {}


def describe_functions(lang: str | None = None) -> None:
    """Set the descriptions of the functions and of their arguments — what Excel's function
    wizard shows, from xlwings' metadata (``custom_functions_meta``, the classic add-in's
    *Import Functions*) — in ``lang`` (default: the language spoken now), and give every
    function its last argument ``lang``.

    xlwings registers the functions once, so the descriptions are in the language spoken when
    :mod:`pipesheet.excel` is imported (``PIPESHEET_LANG``, else the system locale of the Python
    side); call this before the registration to choose another. The results of a call follow the
    call's own language (:func:`call_language`).

    Raises:
        UnknownLanguage: a language pipesheet does not speak.
    """
    with language(lang):
        for name in __all__:
            fn = globals()[name]
            xlfunc = getattr(fn, "__xlfunc__", None)
            if xlfunc is None:  # xlwings' decorators are inactive in this process
                continue
            if "lang" in xlfunc["argmap"] and (name, "lang") not in _ARG_DOCS:
                xw.arg("lang", doc=_DOC_LANG, **CELL)(fn)
            xlfunc["ret"]["doc"] = _(_DESCRIPTIONS[name])
            for arg in xlfunc["args"]:
                english = _ARG_DOCS.setdefault((name, arg["name"]), arg["doc"])
                arg["doc"] = _(english)


describe_functions()
