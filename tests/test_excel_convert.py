"""Cell conversions for the Excel functions (no xlwings needed)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from pipesheet import PipesheetError
from pipesheet.excel.convert import (
    mapping_from_range,
    optional_bool,
    scalar,
    spill_frame,
    spill_scalar,
    stage_list_from_range,
    table_from_range,
)

ERR = {"type": "Error", "basicValue": "#N/A", "errorType": "NotAvailable"}


class JsNull:  # stands in for Pyodide's JsNull sentinel (xlwings Lite's empty cell)
    pass


def test_table_from_range_cleans_cells_and_keeps_row_numbers():
    rng = [
        ["Deal ID", "Amount", "Note", None],
        [1.0, 10, "  ", None],
        ["B", ERR, JsNull(), ""],
        [None, None, None, None],
        ["C", 2.5, "x", None],
        ["", None, None, None],
    ]
    frame = table_from_range(rng, "deals")
    assert list(frame.columns) == ["Deal ID", "Amount", "Note"]  # blank unnamed column dropped
    assert list(frame.index) == [2, 3, 4, 5] and frame.index.name == "row"  # trailing blanks cut
    assert frame["Amount"].tolist()[1] == "#N/A"  # an error cell stays visible as its text
    assert frame["Note"].isna().tolist() == [True, True, True, False]  # "  " and JsNull are blank
    assert frame["Deal ID"].tolist()[0] == 1.0


def test_numeric_columns_become_numbers():
    frame = table_from_range([["a", "b"], [1, "x"], [2.5, None], [None, "y"]], "t")
    assert frame["a"].dtype == float and math.isnan(frame["a"].iloc[2])


@pytest.mark.parametrize(
    ("rng", "words"),
    [
        ([[None, None]], "empty"),
        ([["a", "b"]], "no data rows"),
        ([["a", None], [1, 2]], "no header"),
    ],
)
def test_bad_ranges(rng, words):
    with pytest.raises(PipesheetError, match=words):
        table_from_range(rng, "deals")


def test_same_header_twice_stops_only_a_field_that_needs_it():
    from pipesheet import read_deals

    frame = table_from_range(
        [["Deal ID", "Note", "Stage", "note", "Amount"], [1, "a", "Lead", "b", 5]], "d"
    )
    assert read_deals(frame).frame["amount"].iloc[0] == 5  # the two notes are never read
    clash = table_from_range([["Deal ID", "Stage", "stage", "Amount"], [1, "Lead", "Won", 5]], "d")
    with pytest.raises(PipesheetError, match=r"same header for the stage.*'Stage' and 'stage'"):
        read_deals(clash)


def test_scalars():
    assert scalar([[5]], "x") == 5
    assert scalar([[""]], "x") is None
    assert scalar(None, "x") is None
    with pytest.raises(PipesheetError, match=r"error cell.*#N/A"):
        scalar([[ERR]], "target")
    with pytest.raises(PipesheetError, match="#DIV/0!"):
        scalar("#DIV/0!", "target")
    with pytest.raises(PipesheetError, match="range of 2 cells"):
        scalar([[1, 2]], "target")
    assert optional_bool([[None]], "t") is False
    assert optional_bool("yes", "t") is True
    with pytest.raises(PipesheetError, match="TRUE or FALSE"):
        optional_bool("maybe", "t")


def test_stage_lists():
    s = stage_list_from_range([["Stage"], ["Lead"], ["Proposal"], ["Closed Won"], ["Closed Lost"]])
    assert s.open == ("Lead", "Proposal") and s.code("closed won") == 2
    typed = stage_list_from_range(
        [
            ["Stage", "Type"],
            ["Neu", "Open"],
            ["Angebot", "open"],
            ["Auftrag", "Won"],
            ["Absage", "Lost"],
        ]
    )
    assert typed.open == ("Neu", "Angebot") and typed.code("Auftrag") == 2
    assert typed.code("Absage") == 3
    assert stage_list_from_range([[None]]) is None


def test_mapping():
    assert mapping_from_range([["Stage", "Days"], ["Lead", 10]], "d") == {"Lead": 10}
    assert mapping_from_range([["Lead", 10], ["Won", 0]], "d") == {"Lead": 10, "Won": 0}
    assert mapping_from_range(None, "d") is None


def test_spill_has_header_no_index_no_nan():
    frame = pd.DataFrame(
        {"a": [1.5, np.nan], "b": [np.inf, 2], "c": [pd.Timestamp("2026-01-02"), pd.NaT]},
        index=[10, 11],
    )
    out = spill_frame(frame)
    assert out[0] == ["a", "b", "c"]
    assert out[1] == [1.5, "infinite", dt.datetime(2026, 1, 2)]
    assert out[2] == ["", 2, ""]
    assert spill_scalar(float("nan")) == "" and spill_scalar(np.float64(2.0)) == 2.0
