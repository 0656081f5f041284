"""Excel functions for planning as teams do it: a quota table rolled up a team hierarchy
(``PIPE_QUOTA_TABLE``) and what-if scenarios before and after (``PIPE_SCENARIO``).

Thin wrappers, as every ``PIPE_`` function: the cell ranges become frames
(:mod:`pipesheet.excel.convert`), one engine function computes (:func:`pipesheet.quota_table`,
:func:`pipesheet.apply_scenarios`), the result spills with its header row; bad input shows the
engine's message in the cell.  Imported into :mod:`pipesheet.excel`, so ``from pipesheet.excel
import *`` registers them.
"""

import xlwings as xw

from pipesheet.errors import PipesheetError
from pipesheet.excel import (
    _DOC_BLANK,
    _DOC_CURRENCY,
    _DOC_DATE_ORDER,
    _DOC_DEALS,
    _DOC_END,
    _DOC_PROBS,
    _DOC_RATES,
    _DOC_START,
    CELL,
    TABLE,
    _blank_amounts,
    _cell_errors,
    _optional_table,
    _probabilities,
)
from pipesheet.excel.convert import (
    arguments_table,
    date_argument,
    optional_number,
    optional_text,
    spill_frame,
    table_from_range,
)
from pipesheet.i18n import N_, _

__all__ = ["PIPE_QUOTA_TABLE", "PIPE_SCENARIO"]


@xw.func
@xw.arg(
    "deals",
    doc=N_(
        "Deals table with its header row (Deals[#All]): deal id, stage, amount, close date… "
        "With the column the quotas are by (e.g. Owner)."
    ),
    **TABLE,
)
@xw.arg("probabilities", doc=_DOC_PROBS, **TABLE)
@xw.arg(
    "quotas",
    doc=N_(
        "Quota table with its header row (Quotas[#All]): a group column (e.g. Owner or "
        "Team), a Period label (2026-Q3, 2026-07, 2026, FY2027-Q1) or Start and End dates, "
        "and the Quota."
    ),
    **TABLE,
)
@xw.arg(
    "by",
    doc=N_(
        "Optional: the quota table's group column (default: its one column that is not the "
        "period or the quota)."
    ),
    **CELL,
)
@xw.arg(
    "hierarchy",
    doc=N_(
        "Optional: levels finest first, e.g. Teams[#All] with Owner, Team, Region: each "
        "level above the quotas' is rolled up by exact sums."
    ),
    **TABLE,
)
@xw.arg(
    "as_of",
    doc=N_(
        "Optional: only what was known at the end of this day. Leads per week count the weeks "
        "left from it."
    ),
    **CELL,
)
@xw.arg("rates", doc=_DOC_RATES, **TABLE)
@xw.arg("currency", doc=_DOC_CURRENCY, **CELL)
@xw.arg("blank_amounts", doc=_DOC_BLANK, **CELL)
@xw.arg("date_order", doc=_DOC_DATE_ORDER, **CELL)
@_cell_errors(
    N_(
        "Per quota row (and each team and region above it): quota, closed, expected "
        "(weighted), gap = quota − closed − expected, coverage, P(closed + range ≥ quota) from "
        "the row's own deals, and the new leads needed per week; roll-ups are exact sums to "
        "the cent."
    )
)
def PIPE_QUOTA_TABLE(
    deals,
    probabilities,
    quotas,
    by=None,
    hierarchy=None,
    as_of=None,
    rates=None,
    currency=None,
    blank_amounts=None,
    date_order=None,
):
    from pipesheet.quotas import quota_table

    result = quota_table(
        table_from_range(deals, "deals", date_order),
        _probabilities(probabilities),
        table_from_range(quotas, "quotas", date_order),
        by=optional_text(by, "by"),
        hierarchy=_optional_table(hierarchy, "hierarchy"),
        as_of=date_argument(as_of, "as_of"),
        rates=_optional_table(rates, "rates"),
        currency=optional_text(currency, "currency"),
        blank_amounts=_blank_amounts(blank_amounts),
    )
    return spill_frame(result.to_frame())


@xw.func
@xw.arg("deals", doc=_DOC_DEALS, **TABLE)
@xw.arg("probabilities", doc=_DOC_PROBS, **TABLE)
@xw.arg(
    "scenario",
    doc=N_(
        'The what-if, as text: "drop-largest 3", "drop D-0012,D-0044", "slip 30" '
        '(days), "conversion Proposal=35%", "add-leads 10/week" (with a history, or '
        '"add-leads 10/week cycle 60").'
    ),
    **CELL,
)
@xw.arg("quota", doc=N_("Optional: quota; adds P(closed so far + range ≥ quota)."), **CELL)
@xw.arg("start", doc=_DOC_START, **CELL)
@xw.arg("end", doc=_DOC_END, **CELL)
@xw.arg(
    "as_of",
    doc=N_("Optional: only what was known at the end of this day. New leads start the day after."),
    **CELL,
)
@xw.arg("rates", doc=_DOC_RATES, **TABLE)
@xw.arg("currency", doc=_DOC_CURRENCY, **CELL)
@xw.arg("blank_amounts", doc=_DOC_BLANK, **CELL)
@xw.arg(
    "history",
    doc=N_(
        "Optional: Stage history with its header row (History[#All]): deal id, stage, "
        "entered date. For add-leads: the days in each stage."
    ),
    **TABLE,
)
@xw.arg("date_order", doc=_DOC_DATE_ORDER, **CELL)
@_cell_errors(
    N_(
        "A what-if on the open pipeline: the forecast, pipeline, open deals, P10/P50/P90, "
        "closed so far and P(≥ quota) before and after it, with what changed in words."
    )
)
def PIPE_SCENARIO(
    deals,
    probabilities,
    scenario,
    quota=None,
    start=None,
    end=None,
    as_of=None,
    rates=None,
    currency=None,
    blank_amounts=None,
    history=None,
    date_order=None,
):
    from pipesheet.scenarios import apply_scenarios

    text = optional_text(scenario, "scenario")
    if text is None:
        raise PipesheetError(
            _("no scenario given"),
            table=arguments_table(),
            column="scenario",
            expected=_('a scenario such as "drop-largest 3"'),
        )
    result = apply_scenarios(
        table_from_range(deals, "deals", date_order),
        _probabilities(probabilities),
        text,
        quota=optional_number(quota, "quota"),
        start=date_argument(start, "start"),
        end=date_argument(end, "end"),
        as_of=date_argument(as_of, "as_of"),
        rates=_optional_table(rates, "rates"),
        currency=optional_text(currency, "currency"),
        blank_amounts=_blank_amounts(blank_amounts),
        history=_optional_table(history, "history", date_order),
    )
    view = result.compare(0)
    return [*spill_frame(view), ["what changed", "", "", view.attrs["change"]]]
