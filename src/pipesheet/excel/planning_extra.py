"""Excel functions of how teams plan: ``PIPE_PIPELINES`` (several pipelines, per pipeline and in
total; each priced open deal with where its probability comes from — its stage or its own
override), ``PIPE_COMMITS`` (a manager's commits beside the system's forecast and what was won;
who forecasts better) and ``PIPE_LOSSES`` (lost deals by reason and by stage).

The same conventions as :mod:`pipesheet.excel`: one core call per function, tables with their
header row, optional arguments blank or left out, the core's message in the cell for bad input,
the result spilled with its header row.
"""

from typing import Any

import xlwings as xw

from pipesheet.errors import PipesheetError
from pipesheet.excel import (
    _DOC_AS_OF,
    _DOC_BLANK,
    _DOC_CURRENCY,
    _DOC_DATE_ORDER,
    _DOC_DEALS,
    _DOC_RATES,
    CELL,
    TABLE,
    _blank_amounts,
    _blank_arg,
    _cell_errors,
    _optional_table,
    _probabilities,
)
from pipesheet.excel.convert import (
    arguments_table,
    date_argument,
    either,
    optional_number,
    optional_text,
    spill_frame,
    table_from_range,
)
from pipesheet.i18n import N_, _

__all__ = ["PIPE_COMMITS", "PIPE_LOSSES", "PIPE_PIPELINES"]


def _show(value: Any, choices: tuple[str, ...]) -> str:
    """The ``show`` argument: one of ``choices`` (the first by default)."""
    text = optional_text(value, "show", choices[0]).strip().casefold()
    if text not in choices:
        raise PipesheetError(
            _("unknown table to show"),
            table=arguments_table(),
            column="show",
            value=value if isinstance(value, str) else text,
            expected=either(f'"{c}"' for c in choices),
        )
    return text


def _rates(value: Any) -> Any:
    return None if _blank_arg(value) else table_from_range(value, "rates")


@xw.func
@xw.arg(
    "deals",
    doc=N_(
        "Deals table with its header row (Deals[#All]): deal id, stage, amount, close "
        "date… With a pipeline column, each pipeline has its own stages."
    ),
    **TABLE,
)
@xw.arg(
    "probabilities",
    doc=N_(
        "Stage probabilities: a table of stage and probability (e.g. Stages[#All] or the "
        "result of PIPE_STAGE_PROBABILITIES), a preset name (salesforce, hubspot, "
        'suitecrm) or "configured". A table with a pipeline column (the result of '
        "PIPE_STAGE_PROBABILITIES on deals of several pipelines) prices each pipeline's "
        "deals with its own rows."
    ),
    **TABLE,
)
@xw.arg("quota", doc=N_("Optional: quota; adds P(total ≥ quota) to the Total row."), **CELL)
@xw.arg("rates", doc=_DOC_RATES, **TABLE)
@xw.arg("currency", doc=_DOC_CURRENCY, **CELL)
@xw.arg("as_of", doc=_DOC_AS_OF, **CELL)
@xw.arg(
    "start", doc=N_("Optional: only open deals expected to close on or after this date."), **CELL
)
@xw.arg(
    "end", doc=N_("Optional: only open deals expected to close on or before this date."), **CELL
)
@xw.arg("blank_amounts", doc=_DOC_BLANK, **CELL)
@xw.arg(
    "show",
    doc=N_(
        'Optional: "summary" (default: one row per pipeline and the Total — open deals, '
        'pipeline, weighted, closed, range) or "deals" (each priced open deal, its '
        'probability and its source: "stage" or "override").'
    ),
    **CELL,
)
@xw.arg("date_order", doc=_DOC_DATE_ORDER, **CELL)
@_cell_errors(
    N_(
        "Per pipeline and in total: open deals, pipeline, weighted forecast (each deal at its "
        "own pipeline's probability, or its override), closed so far and the range "
        "P10/P50/P90."
    )
)
def PIPE_PIPELINES(
    deals,
    probabilities,
    quota=None,
    rates=None,
    currency=None,
    as_of=None,
    start=None,
    end=None,
    blank_amounts=None,
    show=None,
    date_order=None,
):
    from pipesheet.pipelines import pipeline_summary
    from pipesheet.pricing import price_deals

    what = _show(show, ("summary", "deals"))
    priced = price_deals(
        table_from_range(deals, "deals", date_order),
        _probabilities(probabilities),
        start=date_argument(start, "start"),
        end=date_argument(end, "end"),
        as_of=date_argument(as_of, "as_of"),
        rates=_rates(rates),
        currency=optional_text(currency, "currency"),
        blank_amounts=_blank_amounts(blank_amounts),
    )
    if what == "deals":
        return spill_frame(priced.open_deals().reset_index(drop=True))
    return spill_frame(pipeline_summary(priced, optional_number(quota, "quota")))


@xw.func
@xw.arg("deals", doc=_DOC_DEALS, **TABLE)
@xw.arg(
    "commits",
    doc=N_(
        "Commits table with its header row: who (Owner, Team… a group column of the "
        "deals), period (2026-Q3, 2026-07, 2026) and the committed amount (Commit)."
    ),
    **TABLE,
)
@xw.arg(
    "history",
    doc=N_(
        "Optional: Stage history with its header row (History[#All]): deal id, stage, "
        "entered date. Learns the probabilities and rebuilds the system's forecast of past "
        "periods."
    ),
    **TABLE,
)
@xw.arg(
    "probabilities",
    doc=N_(
        "Optional: Stage probabilities: a table of stage and probability (e.g. "
        "Stages[#All] or the result of PIPE_STAGE_PROBABILITIES), a preset name "
        '(salesforce, hubspot, suitecrm) or "configured". Default: learned from the '
        "history."
    ),
    **TABLE,
)
@xw.arg(
    "by", doc=N_("Optional: the deals column the commits are for (default: the commits')."), **CELL
)
@xw.arg(
    "period", doc=N_('Optional: "month", "quarter" or "year" (default: from the labels).'), **CELL
)
@xw.arg("fiscal_year_start", doc=N_("Optional: first month of the fiscal year (1–12)."), **CELL)
@xw.arg(
    "as_of",
    doc=N_("Optional: the day (default: the history's last day): earlier periods are past."),
    **CELL,
)
@xw.arg("rates", doc=_DOC_RATES, **TABLE)
@xw.arg("currency", doc=_DOC_CURRENCY, **CELL)
@xw.arg("blank_amounts", doc=_DOC_BLANK, **CELL)
@xw.arg(
    "show",
    doc=N_(
        'Optional: "table" (default: each commit, the system forecast, the actual and '
        'the errors) or "summary" (MAPE and bias of the manager and of the model).'
    ),
    **CELL,
)
@xw.arg("date_order", doc=_DOC_DATE_ORDER, **CELL)
@_cell_errors(
    N_(
        "A manager's commits beside the system's forecast and what was won: errors = forecast "
        "/ actual − 1, and who forecasts better (MAPE, bias) over the past periods."
    )
)
def PIPE_COMMITS(
    deals,
    commits,
    history=None,
    probabilities=None,
    by=None,
    period=None,
    fiscal_year_start=None,
    as_of=None,
    rates=None,
    currency=None,
    blank_amounts=None,
    show=None,
    date_order=None,
):
    from pipesheet.commits import compare_commits

    what = _show(show, ("table", "summary"))
    result = compare_commits(
        table_from_range(deals, "deals", date_order),
        table_from_range(commits, "commits", date_order),
        None if _blank_arg(probabilities) else _probabilities(probabilities),
        history=_optional_table(history, "history", date_order),
        by=optional_text(by, "by"),
        period=optional_text(period, "period"),
        fiscal_year_start=optional_number(fiscal_year_start, "fiscal_year_start", 1),
        as_of=date_argument(as_of, "as_of"),
        rates=_rates(rates),
        currency=optional_text(currency, "currency"),
        blank_amounts=_blank_amounts(blank_amounts),
    )
    return spill_frame(result.summary if what == "summary" else result.table)


@xw.func
@xw.arg(
    "deals",
    doc=N_(
        "Deals table with its header row (Deals[#All]): deal id, stage, amount, close date… "
        "With a loss-reason column (Loss Reason…)."
    ),
    **TABLE,
)
@xw.arg(
    "history",
    doc=N_(
        "Optional: Stage history with its header row (History[#All]): deal id, stage, "
        "entered date. Tells the stage each deal was lost at."
    ),
    **TABLE,
)
@xw.arg(
    "show",
    doc=N_('Optional: "reasons" (default), "stages" (the stage lost at), "both" or "deals".'),
    **CELL,
)
@xw.arg("as_of", doc=_DOC_AS_OF, **CELL)
@xw.arg("start", doc=N_("Optional: only deals lost on or after this date."), **CELL)
@xw.arg("end", doc=N_("Optional: only deals lost on or before this date."), **CELL)
@xw.arg("rates", doc=_DOC_RATES, **TABLE)
@xw.arg("currency", doc=_DOC_CURRENCY, **CELL)
@xw.arg("blank_amounts", doc=_DOC_BLANK, **CELL)
@xw.arg("date_order", doc=_DOC_DATE_ORDER, **CELL)
@_cell_errors(
    N_(
        'Lost deals by reason (blank: "(no reason given)") and by the stage they were lost '
        "at: deals, amount (reporting currency) and their shares."
    )
)
def PIPE_LOSSES(
    deals,
    history=None,
    show=None,
    as_of=None,
    start=None,
    end=None,
    rates=None,
    currency=None,
    blank_amounts=None,
    date_order=None,
):
    from pipesheet.losses import lost_reasons

    what = _show(show, ("reasons", "stages", "both", "deals"))
    result = lost_reasons(
        table_from_range(deals, "deals", date_order),
        _optional_table(history, "history", date_order),
        as_of=date_argument(as_of, "as_of"),
        start=date_argument(start, "start"),
        end=date_argument(end, "end"),
        rates=_rates(rates),
        currency=optional_text(currency, "currency"),
        blank_amounts=_blank_amounts(blank_amounts),
    )
    table = {
        "reasons": result.by_reason,
        "stages": result.by_stage,
        "both": result.by_reason_stage,
        "deals": result.deals.reset_index(drop=True),
    }[what]
    return spill_frame(table)
