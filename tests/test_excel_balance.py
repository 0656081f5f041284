"""PIPE_BALANCE and PIPE_STAGE_DESIGN through xlwings' own Office.js dispatcher: the spilled
table is the core's (:func:`pipesheet.balance.pipeline_balance`,
:func:`pipesheet.stage_design.stage_design_check`) on the same data, bad input is the core's
message in the cell."""

from __future__ import annotations

import os

# Before the first ``import xlwings`` in this process (xw.func/arg/ret are no-ops otherwise).
os.environ["XLWINGS_ON_SERVER"] = "true"
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

import pytest

pytest.importorskip("xlwings")

import pandas as pd

from pipesheet import StageList
from pipesheet.balance import TABLE_COLUMNS, pipeline_balance
from pipesheet.stage_design import FLAG_COLUMNS, stage_design_check
from test_excel import (
    assert_clean,
    call,
    core_error,
    excel_range,
    message_of,
    serial,
)

TARGET, START, END = 3_000_000, "2026-10-01", "2026-12-31"


def assert_spill_equals(result, frame: pd.DataFrame) -> None:
    """:func:`test_excel.assert_spill_equals`, a missing date (NaT) being an empty cell too."""
    import test_excel

    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    test_excel.assert_spill_equals(result, out)


@pytest.fixture(scope="module")
def ranges(deals, history, rates):
    return excel_range(deals), excel_range(history), excel_range(rates)


def test_balance_equals_the_core(ranges, deals, history, rates):
    d, h, r = ranges
    got = call("PIPE_BALANCE", d, h, TARGET, serial(START), serial(END), None, None, r)
    want = pipeline_balance(history, deals, TARGET, START, END, rates=rates).to_frame()
    assert list(want.columns) == list(TABLE_COLUMNS)
    assert_spill_equals(got, want)
    # thin stages carry the week their shortfall reaches Won, as an Excel date
    assert (want["status"] == "thin").any()


def test_balance_with_every_argument_equals_the_core(ranges, deals, history, rates):
    d, h, r = ranges
    stages = [["Lead"], ["Qualified"], ["Proposal"], ["Negotiation"]]
    got = call(
        "PIPE_BALANCE",
        d,
        h,
        1_500_000,
        serial("2026-07-01"),
        serial("2026-09-30"),
        serial("2026-08-31"),
        30_000,
        r,
        "EUR",
        "error",
        "dmy",
        stages,
    )
    want = pipeline_balance(
        history,
        deals,
        1_500_000,
        "2026-07-01",
        "2026-09-30",
        as_of="2026-08-31",
        average_deal=30_000,
        rates=rates,
        currency="EUR",
        stages=StageList(("Lead", "Qualified", "Proposal", "Negotiation")),
    ).to_frame()
    assert_spill_equals(got, want)


def test_balance_counts_only_without_deals(ranges, history):
    _, h, _ = ranges
    got = call("PIPE_BALANCE", None, h, TARGET, serial(START), serial(END), None, 25_000)
    want = pipeline_balance(history, None, TARGET, START, END, average_deal=25_000).to_frame()
    assert_spill_equals(got, want)
    values = [row[got[0].index("needed_value")] for row in got[1:]]
    assert values == [""] * (len(got) - 1)  # counted, not valued: empty cells, never #NUM!


@pytest.mark.parametrize(
    ("args", "kwargs", "names"),
    [
        ((-5, START, END), {}, ("target", "-5")),
        (("lots", START, END), {}, ("target", "lots")),
        ((TARGET, START, "2026-09-30"), {}, ("period_end", "2026-09-30")),
        ((TARGET, None, END), {}, ("period_start",)),
    ],
)
def test_bad_arguments_show_the_core_message(ranges, deals, history, rates, args, kwargs, names):
    d, h, r = ranges
    cells = [serial(a) if isinstance(a, str) and a[:2] == "20" else a for a in args]
    text = message_of(call("PIPE_BALANCE", d, h, *cells, None, None, r))
    assert text == core_error(pipeline_balance, history, deals, *args, rates=rates)
    assert all(n in text for n in names) and "Traceback" not in text


def test_balance_without_deals_or_average_deal_says_what_is_needed(ranges):
    _, h, _ = ranges
    text = message_of(call("PIPE_BALANCE", None, h, TARGET, serial(START), serial(END)))
    assert "average won deal" in text and "deals table" in text


def test_stage_design_on_a_sound_list_says_no_flag_raised(ranges, deals, history):
    d, h, _ = ranges
    got = call("PIPE_STAGE_DESIGN", h, d)
    want = stage_design_check(history, deals)
    assert want.ok
    assert got == [["no flag raised (4 open stages, as of 2026-09-30)"]]


def test_stage_design_flags_equal_the_core(ranges, deals, history):
    d, h, _ = ranges
    stages = [["Lead"], ["Qualified"], ["Demo"], ["Proposal"], ["Negotiation"]]
    got = call("PIPE_STAGE_DESIGN", h, d, serial("2026-09-30"), stages)
    want = stage_design_check(
        history,
        deals,
        as_of="2026-09-30",
        stages=StageList(("Lead", "Qualified", "Demo", "Proposal", "Negotiation")),
    )
    assert list(want.flags.columns) == list(FLAG_COLUMNS)
    assert set(want.flags["check"]) == {"skipped", "too_few_closed"}
    assert_spill_equals(got, want.to_frame())
    assert_clean(got)


def test_stage_design_bad_as_of_is_named(ranges):
    d, h, _ = ranges
    text = message_of(call("PIPE_STAGE_DESIGN", h, d, "yesterday-ish"))
    assert "as_of" in text and "yesterday-ish" in text
