"""Every argument of every Excel function: a bad value gets a message naming the argument and
what was expected — never "could not compute", never an exception type (issue 10.8) — and a
result too large for Office.js comes back as a message naming the 5 MB cap (issue 8.23).

Called through xlwings' own Office.js dispatcher, as ``tests/test_excel.py`` does.
"""

from __future__ import annotations

import os

os.environ["XLWINGS_ON_SERVER"] = "true"
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

import inspect
import json
import re
from typing import Any

import pandas as pd
import pytest

pytest.importorskip("xlwings")

import pipesheet.excel as excel
import pipesheet.excel.convert as convert
from pipesheet.sample import sample_deals, sample_history, sample_rates
from test_excel import ERROR_NA, call, excel_range, message_of, serial

BAD = {
    "text": "abc",
    "negative": -5,
    "huge": 1e308,
    "boolean": True,
    "error cell": ERROR_NA,
    "2x2 range": [[1, 2], [3, 4]],
}
#: arguments whose bad values are legitimate input of another kind (a one-cell stage list, a
#: text label) and reach the engine, whose message names the table instead
NAMED_ELSEWHERE = {"stages", "by", "currency", "stage"}


@pytest.fixture(scope="module")
def tables() -> dict[str, Any]:
    deals, history = sample_deals(), sample_history()
    keep = set(deals["Deal ID"].iloc[::10])
    deals = deals[deals["Deal ID"].isin(keep)].reset_index(drop=True)
    history = history[history["Deal ID"].isin(keep)].reset_index(drop=True)
    d, h, r = excel_range(deals), excel_range(history), excel_range(sample_rates())
    probs = call("PIPE_STAGE_PROBABILITIES", h, d)
    reasons = deals.assign(
        **{"Loss Reason": ["Price", None] * (len(deals) // 2) + [None] * (len(deals) % 2)}
    )
    commits = [["Owner", "Quarter", "Commit"], [deals["Owner"].iloc[0], "2026-Q2", 100_000]]
    conv = [["Stage", "conversion"], ["Lead", 0.5], ["Qualified", 0.4], ["Proposal", 0.25]]
    return {
        "PIPE_STAGE_PROBABILITIES": [h, d],
        "PIPE_STAGE_PROBABILITY": ["Proposal", h, d],
        "PIPE_WEIGHTED_FORECAST": [d, probs, "quarter", None, r],
        "PIPE_FORECAST_TOTAL": [d, probs, r],
        "PIPE_FORECAST_RANGE": [d, probs, 3e6, r],
        "PIPE_FORECAST_CATEGORIES": [d, r],
        "PIPE_PIPELINE_POSITION": [d, probs, serial("2026-07-01"), serial("2026-09-30"), r],
        "PIPE_LEADS_NEEDED": [1e6, 25_000, conv],
        "PIPE_QUOTA_GAP": [1e6, 2e5, 3e5, 25_000, 0.2],
        "PIPE_COVERAGE": [3e6, 1e6],
        "PIPE_VELOCITY": [10, 0.2, 1000, 30],
        "PIPE_TIME_AWARE_FORECAST": [h, d, "quarter", serial("2026-08-15"), None, r],
        "PIPE_BACKTEST": [h, d, serial("2026-01-01"), 2, "quarter", None, None, r],
        "PIPE_CALIBRATION": [h, serial("2026-03-31"), d],
        "PIPE_WATERFALL": [d, d, None, None, None, r],
        "PIPE_WATERFALL_HISTORY": [
            h,
            serial("2026-06-30"),
            serial("2026-09-30"),
            d,
            *[None] * 3,
            r,
        ],
        "PIPE_STALE_DEALS": [h, d],
        "PIPE_BOTTLENECKS": [h],
        "PIPE_CYCLE_TIME": [h, d],
        "PIPE_PRESET": ["salesforce"],
        "PIPE_BALANCE": [d, h, 3e6, serial("2026-10-01"), serial("2026-12-31"), None, None, r],
        "PIPE_STAGE_DESIGN": [h, d],
        "PIPE_CALIBRATED_FORECAST": [h, d, "quarter", serial("2026-08-15"), 2.5e6, r],
        "PIPE_QUOTA_TABLE": [
            d,
            probs,
            [["Owner", "Period", "Quota"], ["Zoë Müller", "2026-Q4", 3e5], ["Ana", "2026-Q4", 1e5]],
            "Owner",
            None,
            None,
            r,
        ],
        "PIPE_SCENARIO": [
            d,
            probs,
            "drop-largest 3",
            3e6,
            serial("2026-10-01"),
            serial("2026-12-31"),
            None,
            r,
        ],
        "PIPE_PIPELINES": [d, probs, 3e6, r],
        "PIPE_COMMITS": [d, commits, h, None, None, None, None, None, r],
        "PIPE_LOSSES": [excel_range(reasons), h, None, None, None, None, r],
    }


def _is_message(result: Any) -> bool:
    return (
        isinstance(result, list)
        and len(result) == 1
        and len(result[0]) == 1
        and isinstance(result[0][0], str)
    )


def test_every_function_has_a_working_baseline(tables):
    assert set(tables) == set(excel.__all__)
    for name, args in tables.items():
        result = call(name, *args)
        assert not _is_message(result) or not result[0][0].startswith("table"), (name, result)


@pytest.mark.parametrize("function", sorted(excel.__all__))
def test_every_bad_argument_is_named(tables, function):
    params = list(inspect.signature(getattr(excel, function)).parameters)
    base = tables[function] + [None] * (len(params) - len(tables[function]))
    problems = []
    for i, param in enumerate(params):
        for label, bad in BAD.items():
            args = list(base)
            args[i] = bad
            result = call(function, *args)
            if not _is_message(result):
                continue  # a legitimate value of this argument (e.g. -5 as a closed amount)
            text = result[0][0]
            if text in (convert.INFINITE, "-" + convert.INFINITE):
                continue  # a documented result (coverage when the quota is already met)
            if function == "PIPE_STAGE_DESIGN" and text.startswith("no flag raised ("):
                continue  # its documented result on a sound stage list
            if "could not compute" in text or "Error" in text.split(":")[0]:
                problems.append(f"{param}={label}: {text}")
            elif param not in NAMED_ELSEWHERE and not re.search(rf"\b{param}\b", text):
                problems.append(f"{param}={label} not named: {text}")
    assert problems == []


def test_seed_abc_and_negative(tables):
    args = tables["PIPE_FORECAST_RANGE"]
    for seed in ("abc", -5, 2.5):
        text = message_of(call("PIPE_FORECAST_RANGE", *args, None, None, seed))
        assert text.startswith("table 'arguments', column 'seed'"), text
        assert "whole number from 0" in text
    assert not _is_message(call("PIPE_FORECAST_RANGE", *args, None, "monte_carlo", "42"))


def test_quota_gap_overflow_is_named():
    text = message_of(call("PIPE_QUOTA_GAP", 1e308, 0, 0, 1e-308, 0.2))
    assert "too many to count" in text and "average_deal" in text


def test_an_internal_error_is_one_sentence(monkeypatch, tables):
    def broken(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr("pipesheet.forecast.forecast_categories", broken)  # where it runs
    text = message_of(call("PIPE_FORECAST_CATEGORIES", *tables["PIPE_FORECAST_CATEGORIES"]))
    assert text == excel.INTERNAL_ERROR
    assert "KeyError" not in text and "boom" not in text


# ---- the Office.js payload cap ------------------------------------------------------------------
@pytest.fixture(scope="module")
def big_spill() -> tuple[list, list[list[Any]]]:
    """A real 36,000-deal waterfall deal list (about 1 MB) and the table it came from."""
    deals = sample_deals()
    many = pd.concat(
        [deals.assign(**{"Deal ID": deals["Deal ID"] + f"-{i}"}) for i in range(12)],
        ignore_index=True,
    )
    rng = excel_range(many)
    args = [rng, rng, None, None, "deals", excel_range(sample_rates())]
    return args, call("PIPE_WATERFALL", *args)


def test_payload_estimate_matches_what_xlwings_sends(big_spill):
    _, sent = big_spill
    assert len(sent) > 4_000
    actual = len(json.dumps(sent, ensure_ascii=False, separators=(",", ":")).encode())
    estimate = convert.payload_bytes(excel.spill_frame(pd.DataFrame(sent[1:], columns=sent[0])))
    # dates come back from the dispatcher as formatted numbers already; same shape estimated
    assert actual * 0.9 <= estimate <= actual * 1.15, (estimate, actual)


def test_a_spill_over_the_cap_is_a_message_naming_it(big_spill, monkeypatch):
    args, sent = big_spill
    size = len(json.dumps(sent).encode())
    monkeypatch.setattr(convert, "SPILL_LIMIT_BYTES", size // 2)
    text = message_of(call("PIPE_WATERFALL", *args))
    assert "too large to send to Excel" in text and "5 MB" in text
    assert f"{len(sent) - 1:,} rows" in text
    monkeypatch.setattr(convert, "SPILL_LIMIT_BYTES", size * 2)
    assert call("PIPE_WATERFALL", *args) == sent
