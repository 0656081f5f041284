"""Excel functions of the calibrated forecast: ``PIPE_CALIBRATED_FORECAST`` (the time-aware
forecast calibrated by its own backtests, :func:`pipesheet.calibrated_forecast`).

The same conventions as :mod:`pipesheet.excel`: one core call per function, tables with their
header row, optional arguments blank or left out, the core's message in the cell for bad input,
the result spilled with its header row.
"""

from typing import Any

import xlwings as xw

from pipesheet.excel import (
    _DOC_BLANK,
    _DOC_CURRENCY,
    _DOC_DATE_ORDER,
    _DOC_OPT_DEALS,
    _DOC_RATES,
    _DOC_TA_HISTORY,
    CELL,
    TABLE,
    _blank_amounts,
    _cell_errors,
    _choice,
    _optional_table,
    _period_end,
)
from pipesheet.excel.convert import (
    date_argument,
    optional_number,
    optional_text,
    rows_from_value,
    spill_frame,
    table_from_range,
)
from pipesheet.i18n import N_

__all__ = ["PIPE_CALIBRATED_FORECAST"]


@xw.func
@xw.arg("history", doc=_DOC_TA_HISTORY, **TABLE)
@xw.arg("deals", doc=_DOC_OPT_DEALS, **TABLE)
@xw.arg(
    "period_end",
    doc=N_(
        'Optional: last day of the forecast window, or "month", "quarter" (default) or '
        '"year" (the end of that period containing as_of; the next one when as_of is its '
        "last day)."
    ),
    **CELL,
)
@xw.arg(
    "as_of", doc=N_("Optional: forecast date (default: the latest date in the history)."), **CELL
)
@xw.arg("quota", doc=N_("Optional: quota; adds P(closed so far + revenue ≥ quota)."), **CELL)
@xw.arg("rates", doc=_DOC_RATES, **TABLE)
@xw.arg("currency", doc=_DOC_CURRENCY, **CELL)
@xw.arg("blank_amounts", doc=_DOC_BLANK, **CELL)
@xw.arg("date_order", doc=_DOC_DATE_ORDER, **CELL)
@xw.arg(
    "show",
    doc=N_(
        'Optional: "summary" (default: one row — the calibrated forecast, P10/P50/P90, '
        'P(≥ quota), the method), "evidence" (the past periods it rests on) or "deals" '
        "(each open deal's probability, the model's and the calibrated one)."
    ),
    **CELL,
)
@_cell_errors(
    N_(
        "Calibrated forecast of the window (as_of, period end]: the time-aware forecast "
        "backtested on the history before as_of, corrected by its own past errors, with an "
        "empirical range P10/P50/P90 and P(closed so far + revenue ≥ quota)."
    )
)
def PIPE_CALIBRATED_FORECAST(
    history,
    deals=None,
    period_end=None,
    as_of=None,
    quota=None,
    rates=None,
    currency=None,
    blank_amounts=None,
    date_order=None,
    show=None,
):
    from pipesheet.calibrated import calibrated_forecast

    what = _choice(show, "show", ("summary", "evidence", "deals"))
    result = calibrated_forecast(
        table_from_range(history, "history", date_order),
        _optional_table(deals, "deals", date_order),
        period_end=_period_end(period_end) or "quarter",
        as_of=date_argument(as_of, "as_of"),
        quota=optional_number(quota, "quota"),
        rates=_optional_table(rates, "rates"),
        currency=optional_text(currency, "currency"),
        blank_amounts=_blank_amounts(blank_amounts),
    )
    frame = {"summary": result.to_frame(), "evidence": result.evidence, "deals": result.deals}
    return spill_frame(frame[what])


def calibration_probabilities(value: Any) -> Any:
    """PIPE_CALIBRATION's ``probabilities``: a stage/probability range (with its header row) as
    a table; otherwise the text as given — "learned" (blank), "time-aware", "calibrated",
    "configured" or a preset name — which :func:`pipesheet.calibration.calibration` checks."""
    rows = rows_from_value(value)
    if len(rows) > 1 or (rows and len(rows[0]) > 1):
        return table_from_range(value, "probabilities")
    return optional_text(value, "probabilities", "learned")
