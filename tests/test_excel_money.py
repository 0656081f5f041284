"""Money in the Excel functions, through xlwings' own Office.js dispatcher (as test_excel.py):
the range covers the weighted forecast's deals for any as-of, blank amounts are a choice, the
backtest converts currencies, the lead plan learns days in stage."""

from __future__ import annotations

import os

os.environ["XLWINGS_ON_SERVER"] = "true"
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("xlwings")

from pipesheet import (
    StageList,
    StageProbabilities,
    backtest,
    leads_needed,
    pipeline_range,
    read_deals,
    weighted_forecast,
)
from pipesheet.planning import days_in_stage_from_history
from pipesheet.sample import sample_deals, sample_history, sample_rates
from test_excel import assert_spill_equals, call, excel_range, message_of, serial
from test_money import SF_STAGES, sf_tables

AS_OF_DAYS = st.dates(
    min_value=pd.Timestamp("2025-01-15").date(), max_value=pd.Timestamp("2026-09-30").date()
)


@pytest.fixture(scope="module")
def deals():
    return sample_deals()


@pytest.fixture(scope="module")
def rates():
    return sample_rates()


@pytest.fixture(scope="module")
def model(deals):
    return StageProbabilities().fit(sample_history(), deals)


@pytest.fixture(scope="module")
def probs(model):
    return excel_range(model.table_[["stage", "win_probability"]])


@pytest.fixture(scope="module")
def ranges(deals, rates):
    return excel_range(deals), excel_range(rates)


def _range_rows(result) -> dict:
    return {row[0]: row[1] for row in result[1:]}


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(day=AS_OF_DAYS, window=st.booleans())
def test_forecast_range_mean_is_the_forecast_total_for_any_as_of(ranges, probs, model, day, window):
    deal_range, rate_range = ranges
    start = serial(pd.Timestamp(day) - pd.Timedelta(days=45)) if window else None
    end = serial(pd.Timestamp(day) + pd.Timedelta(days=45)) if window else None
    as_of = serial(day)
    total = call("PIPE_FORECAST_TOTAL", deal_range, probs, rate_range, None, as_of, start, end)
    rng = call(
        "PIPE_FORECAST_RANGE",
        deal_range,
        probs,
        2_000_000,
        rate_range,
        None,
        None,
        None,
        as_of,
        start,
        end,
    )
    got = _range_rows(rng)
    assert got["mean"] == pytest.approx(total[0][0], rel=1e-12, abs=1e-6)
    kw = dict(
        as_of=pd.Timestamp(day),
        rates=sample_rates(),
        start=None if start is None else pd.Timestamp(day) - pd.Timedelta(days=45),
        end=None if end is None else pd.Timestamp(day) + pd.Timedelta(days=45),
    )
    core = pipeline_range(sample_deals(), model, quota=2_000_000, **kw)
    assert_spill_equals(rng, core.to_frame())
    assert ("closed" in got) is window


def test_forecast_range_of_the_issue_example(ranges, probs, model):
    deal_range, rate_range = ranges
    as_of = serial("2026-03-31")
    total = call("PIPE_FORECAST_TOTAL", deal_range, probs, rate_range, None, as_of)
    rng = call("PIPE_FORECAST_RANGE", deal_range, probs, None, rate_range, *[None] * 3, as_of)
    assert _range_rows(rng)["mean"] == pytest.approx(total[0][0], rel=1e-12)
    want = weighted_forecast(
        sample_deals(), model, period=None, rates=sample_rates(), as_of="2026-03-31"
    )
    assert total[0][0] == pytest.approx(float(want["weighted"].iloc[0]))


def test_blank_amounts_is_an_argument_of_the_money_functions(deals, rates, probs, model):
    blanked = deals.copy()
    table = read_deals(deals)
    rows = np.flatnonzero((table.frame["code"] < table.stages.k).to_numpy())[:3]
    blanked.loc[rows, "Amount"] = None
    deal_range, rate_range = excel_range(blanked), excel_range(rates)
    text = message_of(call("PIPE_WEIGHTED_FORECAST", deal_range, probs, None, None, rate_range))
    assert "amount is blank" in text and "blank_amounts" in text
    got = call(
        "PIPE_WEIGHTED_FORECAST",
        deal_range,
        probs,
        "quarter",
        None,
        rate_range,
        *[None] * 6,
        "skip",
    )
    want = weighted_forecast(blanked, model, period="quarter", rates=rates, blank_amounts="skip")
    assert_spill_equals(got, want)
    zero = call("PIPE_FORECAST_TOTAL", deal_range, probs, rate_range, *[None] * 4, "zero")
    want0 = weighted_forecast(blanked, model, period=None, rates=rates, blank_amounts="zero")
    assert zero[0][0] == pytest.approx(float(want0["weighted"].iloc[0]))
    rng = call("PIPE_FORECAST_RANGE", deal_range, probs, None, rate_range, *[None] * 6, "skip")
    assert _range_rows(rng)["mean"] == pytest.approx(float(want["weighted"].sum()))
    pos = call(
        "PIPE_PIPELINE_POSITION", deal_range, probs, None, None, rate_range, None, None, "skip"
    )
    assert {r[0]: r[1] for r in pos[1:]}["open_deals"] == int(want["deals"].sum())
    cats = call("PIPE_FORECAST_CATEGORIES", deal_range, rate_range, None, "zero")
    assert cats[0][:2] == ["category", "deals"]
    bad = message_of(
        call("PIPE_FORECAST_TOTAL", deal_range, probs, rate_range, *[None] * 4, "ignore")
    )
    assert "blank amounts" in bad and "skip" in bad
    # stage probabilities need no choice
    assert call("PIPE_STAGE_PROBABILITIES", excel_range(sample_history()), deal_range)[0][0] == (
        "stage"
    )


def test_leads_needed_learns_days_in_stage_from_a_history():
    history = sample_history()
    conversions = excel_range(
        StageProbabilities().fit(history, sample_deals()).table_[["stage", "step_conversion"]]
    )
    got = call(
        "PIPE_LEADS_NEEDED",
        1_000_000,
        25_000,
        conversions,
        serial("2026-12-31"),
        None,
        excel_range(history),
    )
    model = StageProbabilities().fit(history, sample_deals())
    want = leads_needed(
        1_000_000,
        25_000,
        model,
        deadline="2026-12-31",
        days_in_stage=days_in_stage_from_history(history),
    )
    assert_spill_equals(got, want.table)


def test_backtest_converts_the_historys_amounts():
    deals, history, rates = sf_tables()
    # Won/Lost in English here: the Spanish labels are the readers' matter (issue 8.6)
    labels = {"Cerrada ganada": "Closed Won", "Cerrada perdida": "Closed Lost"}
    deals["StageName"] = deals["StageName"].replace(labels)
    history["StageName"] = history["StageName"].replace(labels)
    stages = [[s] for s in SF_STAGES.open]
    got = call(
        "PIPE_BACKTEST",
        excel_range(history),
        excel_range(deals),
        serial("2025-07-01"),
        4,
        "quarter",
        "detail",
        None,
        excel_range(rates),
        None,
        stages,
        "skip",
    )
    want = backtest(
        history,
        deals,
        "2025-07-01",
        4,
        "quarter",
        rates=rates,
        stages=StageList(SF_STAGES.open),
        blank_amounts="skip",
    )
    assert_spill_equals(got, want.table)
    assert want.currency == "USD" and (want.table["open_deals"] > 0).all()
