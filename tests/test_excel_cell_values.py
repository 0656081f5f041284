"""The Excel functions read cells by the engine's one rule (issue 10.2–10.4, 8.14): text dates
take the ``date_order`` argument, error cells are named, probability tables and benchmarks are
read on one scale with each stage once."""

from __future__ import annotations

import os

os.environ["XLWINGS_ON_SERVER"] = "true"
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

import asyncio
from typing import Any

import pytest

xlwings = pytest.importorskip("xlwings")
import xlwings.server as xls  # noqa: E402

import pipesheet.excel as excel  # noqa: E402
from pipesheet.errors import PipesheetError  # noqa: E402
from pipesheet.excel.convert import mapping_from_range, table_from_range  # noqa: E402

ERROR_NA = {"type": "Error", "basicValue": "#N/A", "errorType": "NotAvailable"}
DEALS = [
    ["Deal ID", "Stage", "Amount", "Expected Close Date"],
    ["D1", "Lead", 1000, "03/04/2027"],
    ["D2", "Proposal", 2000, "05/06/2027"],
]
PROBS = [["Stage", "Probability"], ["Lead", 0.1], ["Proposal", 0.5]]


def call(func_name: str, *args: Any) -> Any:
    payload = {
        "client": "Office.js",
        "func_name": func_name,
        "args": [a if a is None or isinstance(a, list) else [[a]] for a in args],
        "caller_address": "Forecast!A1",
        "culture_info_name": "en-US",
        "date_format": "M/d/yyyy",
        "version": xlwings.__version__,
        "runtime": "1.4",
    }
    return asyncio.run(xls.custom_functions_call(payload, excel))


def text_of(result: Any) -> str:
    return str(result[0][0]) if isinstance(result, list) else str(result)


def test_weighted_forecast_text_dates_need_the_data_or_date_order():
    args = [DEALS, PROBS, "month", None, None, None, None, None, None, None, None, None]
    msg = text_of(call("PIPE_WEIGHTED_FORECAST", *args))
    assert "day/month order is ambiguous" in msg and "date_order" in msg
    got = call("PIPE_WEIGHTED_FORECAST", *args, "dmy")
    assert [r[0] for r in got[1:]] == ["2027-04", "2027-06"]
    got = call("PIPE_WEIGHTED_FORECAST", *args, "mdy")
    assert [r[0] for r in got[1:]] == ["2027-03", "2027-05"]
    msg = text_of(call("PIPE_WEIGHTED_FORECAST", *args, "ymd?"))
    assert "unknown date order" in msg and "dmy" in msg


def test_error_cell_in_an_amount_is_named():
    deals = [row[:] for row in DEALS]
    deals[2][2] = ERROR_NA
    msg = text_of(
        call("PIPE_FORECAST_TOTAL", deals, PROBS, None, None, None, None, None, None, "dmy")
    )
    assert "row 3: amount is an Excel error value (value '#N/A')" in msg


def test_probability_table_on_two_scales_or_with_a_stage_twice_is_refused():
    probs = [["Stage", "Probability"], ["Lead", 0.1], ["Proposal", 50]]
    msg = text_of(
        call("PIPE_FORECAST_TOTAL", DEALS, probs, None, None, None, None, None, None, "dmy")
    )
    assert "two scales" in msg
    probs = [["Stage", "Probability"], ["Lead", 0.1], ["Lead", 0.2], ["Proposal", 0.5]]
    msg = text_of(
        call("PIPE_FORECAST_TOTAL", DEALS, probs, None, None, None, None, None, None, "dmy")
    )
    assert "stage listed twice" in msg and "rows 2, 3" in msg
    probs = [["Stage", "Probability"], ["Lead", -0.1], ["Proposal", 0.5]]
    msg = text_of(
        call("PIPE_FORECAST_TOTAL", DEALS, probs, None, None, None, None, None, None, "dmy")
    )
    assert "probability is negative" in msg


def test_mapping_ranges_refuse_a_name_twice_and_keep_a_percent_first_row():
    assert mapping_from_range([["Lead", "55%"], ["Proposal", "60%"]], "benchmark") == {
        "Lead": "55%",
        "Proposal": "60%",
    }
    with pytest.raises(PipesheetError, match="listed twice"):
        mapping_from_range([["Stage", "Rate"], ["Lead", 0.5], ["lead", 0.6]], "benchmark")


def test_table_from_range_carries_the_date_order():
    frame = table_from_range(DEALS, "deals", "dmy")
    assert frame.attrs["dayfirst"] is True
    assert table_from_range(DEALS, "deals").attrs["dayfirst"] is None
