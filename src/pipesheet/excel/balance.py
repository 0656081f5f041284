"""The pipeline balance and the stage design check as Excel functions: ``PIPE_BALANCE``
(:func:`pipesheet.balance.pipeline_balance`) and ``PIPE_STAGE_DESIGN``
(:func:`pipesheet.stage_design.stage_design_check`). Same conventions as
:mod:`pipesheet.excel`: tables with their header row, optional arguments left out or blank, the
core's message in the cell on bad input, the core's table spilled with its header row."""

import xlwings as xw

from pipesheet.excel import (
    _DOC_BLANK,
    _DOC_CURRENCY,
    _DOC_DATE_ORDER,
    _DOC_HISTORY,
    _DOC_RATES,
    _DOC_STAGES,
    CELL,
    TABLE,
    _blank_amounts,
    _cell_errors,
    _optional_table,
)
from pipesheet.excel.convert import (
    date_argument,
    optional_number,
    optional_text,
    spill_frame,
    stage_list_from_range,
    table_from_range,
)
from pipesheet.i18n import N_, ngettext

__all__ = ["PIPE_BALANCE", "PIPE_STAGE_DESIGN"]


@xw.func
@xw.arg(
    "deals",
    doc=N_(
        "Deals table with its header row (Deals[#All]): deal id, stage, amount, close "
        "date… Its won deals give the average won deal, its amounts the values. May be "
        "blank when average_deal is given (then deals are counted, not valued)."
    ),
    **TABLE,
)
@xw.arg(
    "history",
    doc=N_(
        "Stage history with its header row (History[#All]): deal id, stage, entered date. "
        "Conversions, days in stage and the open deals of the as-of day come from it."
    ),
    **TABLE,
)
@xw.arg("target", doc=N_("Revenue target of the period, in the reporting currency."), **CELL)
@xw.arg("period_start", doc=N_("First day of the period the target is for."), **CELL)
@xw.arg(
    "period_end",
    doc=N_("Last day of the period (pace = target ÷ days of the period, both days counted)."),
    **CELL,
)
@xw.arg(
    "as_of",
    doc=N_(
        "Optional: only what was known at the end of this day. Default: the day of the latest "
        "history row."
    ),
    **CELL,
)
@xw.arg(
    "average_deal",
    doc=N_("Optional: the average won deal (default: the mean amount of the deals won by as-of)."),
    **CELL,
)
@xw.arg("rates", doc=_DOC_RATES, **TABLE)
@xw.arg("currency", doc=_DOC_CURRENCY, **CELL)
@xw.arg("blank_amounts", doc=_DOC_BLANK, **CELL)
@xw.arg("date_order", doc=_DOC_DATE_ORDER, **CELL)
@xw.arg("stages", doc=_DOC_STAGES, **TABLE)
@_cell_errors(
    N_(
        "Pipeline balance: the open deals each stage should hold today for won revenue to "
        "arrive at the target's pace — needed = deals reaching the stage per day × days in it "
        "(Little's law) — against what it holds: gap = open − needed, in deals and value; thin "
        "/ bloated beyond 2 × √needed; what to do; the week a thin stage's shortfall reaches "
        "Won."
    )
)
def PIPE_BALANCE(
    deals,
    history,
    target,
    period_start,
    period_end,
    as_of=None,
    average_deal=None,
    rates=None,
    currency=None,
    blank_amounts=None,
    date_order=None,
    stages=None,
):
    from pipesheet.balance import pipeline_balance

    result = pipeline_balance(
        table_from_range(history, "history", date_order),
        _optional_table(deals, "deals", date_order),
        optional_number(target, "target"),
        date_argument(period_start, "period_start"),
        date_argument(period_end, "period_end"),
        as_of=date_argument(as_of, "as_of"),
        stages=stage_list_from_range(stages),
        rates=_optional_table(rates, "rates"),
        currency=optional_text(currency, "currency"),
        blank_amounts=_blank_amounts(blank_amounts),
        average_deal=optional_number(average_deal, "average_deal"),
    )
    return spill_frame(result.to_frame())


@xw.func
@xw.arg("history", doc=_DOC_HISTORY, **TABLE)
@xw.arg(
    "deals",
    doc=N_(
        "Optional: Deals table with its header row (Deals[#All]): deal id, stage, amount, "
        "close date… (its history rows are checked)."
    ),
    **TABLE,
)
@xw.arg(
    "as_of",
    doc=N_(
        "Optional: only what was known at the end of this day. Default: the day of the latest "
        "history row."
    ),
    **CELL,
)
@xw.arg("stages", doc=_DOC_STAGES, **TABLE)
@xw.arg("date_order", doc=_DOC_DATE_ORDER, **CELL)
@_cell_errors(
    N_(
        "Stage design check: flags on the stage list itself — more than 6 open stages, stages "
        "most deals skip, stages that add no information (step conversion ≈ 100% or ≈ 0 days "
        "in stage), too few closed deals to learn a probability, stages deals move back from — "
        'each with its evidence and a suggestion; "no flag raised" when the list is sound.'
    )
)
def PIPE_STAGE_DESIGN(history, deals=None, as_of=None, stages=None, date_order=None):
    from pipesheet.stage_design import stage_design_check

    result = stage_design_check(
        table_from_range(history, "history", date_order),
        _optional_table(deals, "deals", date_order),
        as_of=date_argument(as_of, "as_of"),
        stages=stage_list_from_range(stages),
    )
    if result.ok:
        k = len(result.evidence)
        return ngettext(
            "no flag raised ({n} open stage, as of {date})",
            "no flag raised ({n} open stages, as of {date})",
            k,
        ).format(n=k, date=result.as_of.date())
    return spill_frame(result.to_frame())
