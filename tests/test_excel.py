"""The Excel functions, called through xlwings' own Office.js dispatcher.

Each test builds the payload the Office.js client sends (2-D arrays, Excel serial dates, nulls,
error objects, omitted optionals as null), runs ``xlwings.server.custom_functions_call`` on
:mod:`pipesheet.excel`, and compares the spilled result with the core's result on the same data.
``xlwings.server`` is xlwings PRO code: the test process uses the noncommercial licence key.
"""

from __future__ import annotations

import os

# Before the first ``import xlwings`` in this process (xw.func/arg/ret are no-ops otherwise).
os.environ["XLWINGS_ON_SERVER"] = "true"
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

import asyncio
import math
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest

xlwings = pytest.importorskip("xlwings")
import xlwings.server as xls  # noqa: E402

import pipesheet.excel as excel  # noqa: E402
from pipesheet import (  # noqa: E402
    PipesheetError,
    StageProbabilities,
    coverage_ratio,
    forecast_categories,
    leads_needed,
    pipeline_position,
    preset,
    quota_gap,
    read_deals,
    sales_velocity,
    stage_probabilities,
    weighted_forecast,
)
from pipesheet.tables import parse_dates  # noqa: E402

EPOCH = pd.Timestamp("1899-12-30")
DATE_COLUMNS = ("Expected Close Date", "Created Date", "Closed Date", "Entered Date")


# ---- payload helpers ----------------------------------------------------------------------------
def serial(value: Any) -> float | None:
    """An Excel serial number for a date (None for blank)."""
    ts = pd.to_datetime(value)
    return None if pd.isna(ts) else float((ts - EPOCH) / pd.Timedelta(days=1))


def excel_range(frame: pd.DataFrame) -> list[list[Any]]:
    """A frame as Office.js sends a table range: header row, dates as serials, blanks as null."""
    out = frame.copy().astype(object)
    for col in out.columns:
        if col in DATE_COLUMNS:
            # the sample mixes ISO text and serial numbers, as exports do; Excel holds dates
            dates = parse_dates(frame[col].replace("", None), table="t", column=col)
            out[col] = [serial(v) for v in dates]
    body = out.where(out.notna(), None).to_numpy().tolist()
    body = [[x.item() if isinstance(x, np.generic) else x for x in row] for row in body]
    return [list(map(str, frame.columns)), *body]


def cell(value: Any) -> list[list[Any]]:
    return [[value]]


def call(func_name: str, *args: Any) -> Any:
    payload = {
        "client": "Office.js",
        "func_name": func_name,
        "args": [a if a is None or isinstance(a, list) else cell(a) for a in args],
        "caller_address": "Forecast!A1",
        "culture_info_name": "en-US",
        "date_format": "M/d/yyyy",
        "version": xlwings.__version__,
        "runtime": "1.4",
    }
    return asyncio.run(xls.custom_functions_call(payload, excel))


ERROR_NA = {"type": "Error", "basicValue": "#N/A", "errorType": "NotAvailable"}
ERROR_DIV0 = {"type": "Error", "basicValue": "#DIV/0!", "errorType": "Div0"}


def assert_clean(result: list[list[Any]]) -> None:
    """No None/NaN anywhere: Office.js would show them as #NUM!."""
    for row in result:
        for x in row:
            assert x is not None
            assert not (isinstance(x, float) and math.isnan(x))
            assert not (isinstance(x, dict) and x.get("type") == "Error"), x


def unformat(x: Any) -> Any:
    """The number inside an Office.js FormattedNumber (dates come back that way)."""
    return x["basicValue"] if isinstance(x, dict) and x.get("type") == "FormattedNumber" else x


def assert_spill_equals(result: list[list[Any]], frame: pd.DataFrame) -> None:
    """The spilled array equals the core's frame: same header, same values (NaN ↔ empty cell)."""
    assert_clean(result)
    assert result[0] == [str(c) for c in frame.columns]
    assert len(result) == len(frame) + 1, (len(result), len(frame))
    for got_row, (_, want_row) in zip(result[1:], frame.iterrows(), strict=True):
        for col, got, want in zip(frame.columns, got_row, want_row, strict=True):
            got = unformat(got)
            if isinstance(want, (pd.Timestamp, np.datetime64)):
                want = serial(want)
            if want is None or (isinstance(want, float) and math.isnan(want)):
                assert got == "", (col, got)
            elif isinstance(want, (int, float, np.number)) and not isinstance(want, bool):
                if math.isinf(float(want)):
                    assert got == "infinite", (col, got)
                else:
                    assert got == pytest.approx(float(want), rel=1e-12, abs=1e-9), (col, got)
            else:
                assert got == want, (col, got, want)


def message_of(result: Any) -> str:
    """The text of a one-cell result."""
    assert isinstance(result, list) and len(result) == 1 and len(result[0]) == 1, result
    assert isinstance(result[0][0], str)
    return result[0][0]


def core_error(fn, *args, **kwargs) -> str:
    with pytest.raises(PipesheetError) as info:
        fn(*args, **kwargs)
    return str(info.value)


# ---- data ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model(history, deals) -> StageProbabilities:
    return StageProbabilities().fit(history, deals)


@pytest.fixture(scope="module")
def probs_spill(history, deals) -> list[list[Any]]:
    return call("PIPE_STAGE_PROBABILITIES", excel_range(history), excel_range(deals))


# ---- registration -------------------------------------------------------------------------------
def test_meta_lists_every_function_with_descriptions():
    meta = xls.custom_functions_meta(excel)
    functions = {f["id"]: f for f in meta["functions"]}
    assert set(functions) == set(excel.__all__)
    for fid, f in functions.items():
        assert re.fullmatch(r"PIPE_[A-Z_]+", fid), fid  # valid VBA identifier and Office.js id
        assert f["name"] == fid  # no namespace prefix
        assert len(f["description"]) > 20, fid
        assert f["parameters"], fid
        for p in f["parameters"]:
            assert p["description"] and not p["description"].startswith("Positional"), (fid, p)
        optional = [p.get("optional", False) for p in f["parameters"]]
        assert optional == sorted(optional), f"{fid}: required after optional"


def test_functions_imported_into_a_module_register_too():
    """xlwings Lite registers what main.py imports: ``from pipesheet.excel import *``."""
    import types

    main = types.ModuleType("main")
    exec("from pipesheet.excel import *", main.__dict__)
    names = {f["id"] for f in xls.custom_functions_meta(main)["functions"]}
    assert names == set(excel.__all__)


# ---- every function equals the core -------------------------------------------------------------
def test_stage_probabilities_equal_core(probs_spill, history, deals):
    assert_spill_equals(probs_spill, stage_probabilities(history, deals))


def test_stage_probabilities_markov_and_options_equal_core(history, deals):
    result = call(
        "PIPE_STAGE_PROBABILITIES",
        excel_range(history),
        excel_range(deals),
        "markov",
        None,
        None,
        serial("2026-06-30"),
    )
    want = stage_probabilities(history, deals, method="markov", as_of="2026-06-30")
    assert_spill_equals(result, want)


def test_stage_probabilities_by_group_equal_core(history, deals):
    result = call(
        "PIPE_STAGE_PROBABILITIES",
        excel_range(history),
        excel_range(deals),
        None,
        None,
        None,
        None,
        "Segment",
        10,
    )
    assert_spill_equals(result, stage_probabilities(history, deals, by="Segment", shrinkage=10))


def test_stage_probability_equals_core(history, deals, model):
    for stage in ("Lead", "Proposal", "Closed Won"):
        got = call("PIPE_STAGE_PROBABILITY", stage, excel_range(history), excel_range(deals))
        assert got == [[pytest.approx(model.probability(stage), rel=1e-12)]]


def test_stage_probability_unknown_is_explained(deals):
    # A snapshot cannot identify P(win | early stage): the cell says so instead of a number.
    got = message_of(call("PIPE_STAGE_PROBABILITY", "Lead", None, excel_range(deals)))
    assert got.startswith("unknown")


def test_weighted_forecast_equals_core(deals, rates, model, probs_spill):
    result = call(
        "PIPE_WEIGHTED_FORECAST",
        excel_range(deals),
        probs_spill,
        "quarter",
        "Owner",
        excel_range(rates),
        None,
        None,
        None,
        True,
    )
    want = weighted_forecast(deals, model, period="quarter", by="Owner", rates=rates, total=True)
    assert_spill_equals(result, want)
    assert result[-1][0] == "Total"


def test_weighted_forecast_defaults_and_presets_equal_core(deals, rates):
    # Omitted optionals arrive as null; "configured" uses the deals' own probability column.
    result = call(
        "PIPE_WEIGHTED_FORECAST", excel_range(deals), "configured", None, None, excel_range(rates)
    )
    assert_spill_equals(result, weighted_forecast(deals, "configured", rates=rates))
    table = excel_range(preset("salesforce"))
    sf = pd.DataFrame(
        {
            "Deal ID": ["A", "B", "C"],
            "Stage": ["Prospecting", "Negotiation/Review", "Closed Won"],
            "Amount": [1000, 2000, 500],
            "Close Date": [serial("2026-10-01")] * 3,
        }
    )
    got = call("PIPE_WEIGHTED_FORECAST", excel_range(sf), "salesforce", "none")
    assert_spill_equals(got, weighted_forecast(sf, "salesforce", period=None))
    assert got[0][2] == "weighted"
    assert got[1][2] == pytest.approx(1000 * 0.1 + 2000 * 0.9)
    got = call("PIPE_WEIGHTED_FORECAST", excel_range(sf), table, "year")
    assert_spill_equals(got, weighted_forecast(sf, preset("salesforce"), period="year"))


def test_forecast_total_equals_core(deals, rates, model, probs_spill):
    got = call("PIPE_FORECAST_TOTAL", excel_range(deals), probs_spill, excel_range(rates))
    want = weighted_forecast(deals, model, period=None, rates=rates)["weighted"].iloc[0]
    assert got == [[pytest.approx(want, rel=1e-12)]]


def test_forecast_range_equals_core(deals, rates, model, probs_spill):
    ranges = pytest.importorskip("pipesheet.ranges")
    from pipesheet.forecast import deal_probabilities, reporting_amounts

    got = call(
        "PIPE_FORECAST_RANGE", excel_range(deals), probs_spill, 3_000_000, excel_range(rates)
    )
    table = read_deals(deals, stages=model.stages_)
    p = deal_probabilities(table, model)
    amount, _ = reporting_amounts(table, rates)
    is_open = (table.frame["code"] < table.stages.k).to_numpy()
    want = ranges.forecast_range(amount[is_open], p[is_open], quota=3_000_000).to_frame()
    assert_spill_equals(got, want)


def test_forecast_categories_equal_core(deals, rates):
    got = call("PIPE_FORECAST_CATEGORIES", excel_range(deals), excel_range(rates))
    assert_spill_equals(got, forecast_categories(deals, rates=rates))


def test_pipeline_position_equals_core(deals, rates, model, probs_spill):
    got = call(
        "PIPE_PIPELINE_POSITION",
        excel_range(deals),
        probs_spill,
        serial("2026-10-01"),
        serial("2026-12-31"),
        excel_range(rates),
    )
    pos = pipeline_position(deals, model, "2026-10-01", "2026-12-31", rates=rates)
    assert_clean(got)
    values = {row[0]: row[1] for row in got[1:]}
    assert got[0] == ["measure", "value"]
    for name in (
        "closed",
        "expected_open",
        "open_pipeline",
        "open_deals",
        "average_won_deal",
        "win_rate",
        "average_cycle_days",
    ):
        assert values[name] == pytest.approx(getattr(pos, name), rel=1e-12), name
    assert values["currency"] == pos.currency == "EUR"


def test_leads_needed_worked_example():
    conversions = [["Stage", "Conversion"], ["Lead", 0.5], ["Qualified", 0.4], ["Proposal", 0.25]]
    got = call("PIPE_LEADS_NEEDED", 1_000_000, 25_000, conversions)
    plan = leads_needed(1_000_000, 25_000, {"Lead": 0.5, "Qualified": 0.4, "Proposal": 0.25})
    assert_spill_equals(got, plan.table)
    assert [row[3] for row in got[1:]] == [800, 400, 160, 40]


def test_leads_needed_from_learned_conversions_with_deadline(probs_spill, model):
    days = [
        ["Stage", "Days"],
        ["Lead", 10],
        ["Qualified", 20],
        ["Proposal", 15],
        ["Negotiation", 12],
    ]
    got = call("PIPE_LEADS_NEEDED", 2_000_000, 30_000, probs_spill, serial("2026-12-31"), days)
    plan = leads_needed(
        2_000_000,
        30_000,
        model,
        deadline="2026-12-31",
        days_in_stage={"Lead": 10, "Qualified": 20, "Proposal": 15, "Negotiation": 12},
    )
    assert_spill_equals(got, plan.table)  # enter_by dates come back as date-formatted serials
    assert got[1][4]["numberFormat"] == "M/d/yyyy"


def test_quota_gap_equals_core():
    got = call(
        "PIPE_QUOTA_GAP",
        1_000_000,
        400_000,
        250_000,
        25_000,
        0.2,
        900_000,
        serial("2026-10-01"),
        serial("2026-12-31"),
        30,
    )
    want = quota_gap(
        1_000_000,
        400_000,
        250_000,
        average_deal=25_000,
        lead_to_win_rate=0.2,
        open_pipeline=900_000,
        as_of="2026-10-01",
        period_end="2026-12-31",
        cycle_days=30,
    )
    assert_spill_equals(got, want.to_frame())
    # Omitted optionals: no dates → weeks unknown (empty), no coverage (empty); no #NUM!.
    got = call("PIPE_QUOTA_GAP", 1_000_000, 400_000, 250_000, 25_000, 20)
    want = quota_gap(1_000_000, 400_000, 250_000, average_deal=25_000, lead_to_win_rate=20)
    assert_spill_equals(got, want.to_frame())
    assert dict(got[1:])["selling_weeks"] == ""


def test_coverage_velocity_preset_equal_core():
    assert call("PIPE_COVERAGE", 900_000, 1_000_000, 400_000) == [
        [pytest.approx(coverage_ratio(900_000, 1_000_000, 400_000))]
    ]
    assert call("PIPE_COVERAGE", 900_000, 1_000_000, 1_200_000) == [["infinite"]]
    assert call("PIPE_VELOCITY", 50, 0.25, 30_000, 60) == [
        [pytest.approx(sales_velocity(50, 0.25, 30_000, 60))]
    ]
    for name in ("salesforce", "hubspot", "SuiteCRM"):
        assert_spill_equals(call("PIPE_PRESET", name), preset(name))


# ---- real workbook cells ------------------------------------------------------------------------
def test_blank_rows_oversized_ranges_and_iso_text_dates_give_the_same_result(deals, rates, model):
    small = deals.iloc[::7]  # open and closed deals
    want = weighted_forecast(small, model, stages=model.stages_, rates=rates)
    probs = [["Stage", "Probability"], *[[s, p] for s, p in model.probabilities().items()]]
    rng = excel_range(small)
    # a range drawn wider and longer than the table: blank column, blank rows below
    padded = [[*r, None] for r in rng] + [[None] * (len(rng[0]) + 1)] * 5
    padded[0][-1] = ""
    for args in (rng, padded, [[*r] for r in [list(small.columns), *small.to_numpy().tolist()]]):
        got = call("PIPE_WEIGHTED_FORECAST", args, probs, None, None, excel_range(rates))
        assert_spill_equals(got, want)


def test_numeric_text_blank_cells_and_empty_strings(model):
    frame = pd.DataFrame(
        {
            "Deal ID": [101.0, 102.0, 103.0],
            "Stage": ["Proposal", " proposal ", "Lead"],
            "Amount": ["12,500", 10000, 2500.5],
            "Expected Close Date": [serial("2026-10-15"), "", None],
        }
    )
    rng = excel_range(frame)
    got = call("PIPE_WEIGHTED_FORECAST", rng, [["Stage", "p"], ["Lead", 0.1], ["Proposal", 0.3]])
    want = weighted_forecast(frame.replace("", None), {"Lead": 0.1, "Proposal": 0.3})
    assert_spill_equals(got, want)
    assert got[-1][0] == "(no close date)"


# ---- bad input comes back as the core's message -------------------------------------------------
BAD_PROBS = [["Stage", "Probability"], ["Lead", 0.1], ["Proposal", 0.3]]


def _deals(**overrides: list[Any]) -> pd.DataFrame:
    base = {
        "Deal ID": ["A", "B", "C"],
        "Stage": ["Lead", "Proposal", "Lead"],
        "Amount": [1000.0, 2000.0, 3000.0],
        "Expected Close Date": [serial("2026-10-01")] * 3,
    }
    base.update(overrides)
    return pd.DataFrame(base)


@pytest.mark.parametrize(
    ("label", "frame"),
    [
        ("unknown stage", _deals(Stage=["Lead", "Propsal", "Lead"])),
        ("text amount", _deals(Amount=[1000.0, "lots", 3000.0])),
        ("missing header", _deals().drop(columns=["Stage"])),
    ],
)
def test_bad_tables_return_the_core_message(label, frame):
    got = message_of(call("PIPE_WEIGHTED_FORECAST", excel_range(frame), BAD_PROBS))
    want = core_error(weighted_forecast, frame, {"Lead": 0.1, "Proposal": 0.3})
    assert got == want, label
    assert "Traceback" not in got
    assert "row" in got or "column" in got


def test_error_cell_in_a_table_is_reported_not_read_as_a_number():
    rng = excel_range(_deals())
    rng[2][2] = ERROR_DIV0  # the amount of the second deal is #DIV/0!
    got = message_of(call("PIPE_WEIGHTED_FORECAST", rng, BAD_PROBS))
    assert got == core_error(
        weighted_forecast,
        _deals(Amount=[1000.0, "#DIV/0!", 3000.0]),
        {"Lead": 0.1, "Proposal": 0.3},
    )
    assert "row 3" in got and "#DIV/0!" in got and "'Amount'" in got
    rng = excel_range(_deals())
    rng[1][3] = ERROR_NA  # an error in a date cell
    got = message_of(call("PIPE_WEIGHTED_FORECAST", rng, BAD_PROBS))
    assert "#N/A" in got and "row 2" in got and "Expected Close Date" in got


def test_error_cell_as_an_argument():
    got = message_of(call("PIPE_COVERAGE", [[ERROR_DIV0]], 1_000_000))
    assert "open_pipeline" in got and "#DIV/0!" in got
    got = message_of(call("PIPE_LEADS_NEEDED", [[ERROR_NA]], 25_000, BAD_PROBS))
    assert "target" in got and "#N/A" in got


@pytest.mark.parametrize(
    "rng",
    [
        [[None, None], [None, None]],  # an empty range
        [["Deal ID", "Stage", "Amount"]],  # header only
        [["Deal ID", "Stage", "Amount"], [None, None, None], ["", "", ""]],  # blank rows
    ],
)
def test_empty_tables(rng):
    got = message_of(call("PIPE_WEIGHTED_FORECAST", rng, BAD_PROBS))
    assert "table 'deals'" in got
    assert "empty" in got or "no data rows" in got


def test_bad_scalars_return_the_core_message():
    got = message_of(call("PIPE_QUOTA_GAP", "a lot", 0, 0, 25_000, 0.2))
    assert got == core_error(quota_gap, "a lot", 0, 0, average_deal=25_000, lead_to_win_rate=0.2)
    got = message_of(call("PIPE_VELOCITY", 10, 0.2, 1000, 0))
    assert got == core_error(sales_velocity, 10, 0.2, 1000, 0)
    got = message_of(call("PIPE_PRESET", "pipedrive"))
    # the core's words, under the argument's name
    assert got == core_error(preset, "pipedrive").replace(
        "table 'presets'", "table 'arguments', column 'name'"
    )
    got = message_of(call("PIPE_WEIGHTED_FORECAST", excel_range(_deals()), BAD_PROBS, "week"))
    assert "period" in got and "month, quarter or year" in got
    got = message_of(call("PIPE_WEIGHTED_FORECAST", excel_range(_deals()), None))
    assert "probabilities" in got


def test_a_stage_without_probability_is_named():
    got = message_of(
        call("PIPE_WEIGHTED_FORECAST", excel_range(_deals()), [["Stage", "p"], ["Lead", 0.1]])
    )
    assert got == core_error(weighted_forecast, _deals(), {"Lead": 0.1})
    assert "Proposal" in got
