"""One result protocol and one estimator protocol (pipesheet.base), for every public class.

Every class pipesheet exports is an input (a table read, a stage list), an error, an estimator or
a result.  Each result is built here on the bundled sample and must have ``to_frame()`` (a
table), ``notes`` (a list of sentences) and a one-line ``repr`` of its key figures.  A new public
class that is none of these, or a result without a builder here, fails this test.
"""

from __future__ import annotations

import importlib
import inspect
import warnings
from pathlib import Path

import pandas as pd
import pytest

import pipesheet
from pipesheet.base import Estimator, Result
from pipesheet.sample import DATA_DIR, DEALS_FILE, HISTORY_FILE, SAMPLE_AS_OF

#: Public classes that are inputs, not results.
INPUTS = {pipesheet.Deals, pipesheet.History, pipesheet.StageList, pipesheet.PipelineStages}
PLANNING = Path(__file__).parent / "fixtures" / "teams"
CONVERSIONS = [("Lead", 0.5), ("Qualified", 0.4), ("Proposal", 0.25)]


def public_classes() -> list[type]:
    return [
        obj
        for obj in (getattr(pipesheet, name) for name in pipesheet.__all__)
        if inspect.isclass(obj)
    ]


@pytest.fixture(scope="module")
def model(deals, history):
    return pipesheet.StageProbabilities().fit(history, deals)


def build(cls: type, deals, history, rates, model):
    """A ``cls`` computed on the bundled sample."""
    ps = pipesheet
    builders = {
        ps.LeadPlan: lambda: ps.leads_needed(1_000_000, 25_000, CONVERSIONS),
        ps.QuotaGap: lambda: ps.quota_gap(
            1_000_000, 200_000, 300_000, average_deal=25_000, lead_to_win_rate=0.1
        ),
        ps.PipelinePosition: lambda: ps.pipeline_position(deals, model, rates=rates),
        ps.ForecastRange: lambda: ps.pipeline_range(deals, model, quota=3e6, rates=rates),
        ps.PricedDeals: lambda: ps.price_deals(deals, model, rates=rates),
        ps.TimeAwareResult: lambda: ps.time_aware_forecast(history, deals, rates=rates),
        ps.BacktestResult: lambda: ps.backtest(
            history, deals, "2025-07-01", periods=2, period="quarter", rates=rates
        ),
        ps.CalibrationResult: lambda: ps.calibration(history, deals, "2025-06-30"),
        ps.AccuracyResult: lambda: ps.forecast_accuracy(
            pd.DataFrame({"Quarter": ["2025-Q3", "2025-Q4"], "Forecast": [1e6, 1.2e6]}),
            deals,
            rates=rates,
        ),
        ps.Waterfall: lambda: ps.waterfall_from_history(
            history, "2025-09-30", SAMPLE_AS_OF, deals, rates=rates
        ),
        ps.Export: lambda: ps.read_export(DATA_DIR / DEALS_FILE, DATA_DIR / HISTORY_FILE),
        ps.BalanceResult: lambda: ps.pipeline_balance(
            history, deals, 1_500_000, "2026-10-01", "2026-12-31", as_of=SAMPLE_AS_OF, rates=rates
        ),
        ps.StageDesignResult: lambda: ps.stage_design_check(history, deals),
        ps.CalibratedResult: lambda: ps.calibrated_forecast(
            history, deals, "quarter", as_of="2026-08-15", rates=rates
        ),
        ps.QuotaTableResult: lambda: ps.quota_table(
            deals,
            model,
            pd.DataFrame({"Owner": ["Zoë Müller", "Priya Raman"], "Quota": [300_000, 250_000]}),
            start="2026-10-01",
            end="2026-12-31",
            as_of=SAMPLE_AS_OF,
            rates=rates,
        ),
        ps.ScenarioResult: lambda: ps.apply_scenarios(
            deals,
            model,
            ["drop-largest 2", "slip 30"],
            quota=2_500_000,
            start="2026-10-01",
            end="2026-12-31",
            as_of=SAMPLE_AS_OF,
            rates=rates,
        ),
        ps.LookupResult: lambda: ps.lookup(
            deals, rates, "Currency", "Rate", other_on="Currency", on_unmatched="report"
        ),
        ps.LossesResult: lambda: ps.lost_reasons(
            pd.read_csv(PLANNING / "deals.csv"), pd.read_csv(PLANNING / "history.csv")
        ),
        ps.CommitsResult: lambda: ps.compare_commits(
            pd.read_csv(PLANNING / "deals.csv"),
            pd.read_csv(PLANNING / "commits.csv"),
            history=pd.read_csv(PLANNING / "history.csv"),
        ),
    }
    if cls not in builders:
        pytest.fail(f"{cls.__name__} is a public result without a builder in test_protocol.py")
    return builders[cls]()


def test_every_public_class_is_an_input_an_error_an_estimator_or_a_result():
    other = [
        cls.__name__
        for cls in public_classes()
        if cls not in INPUTS and not issubclass(cls, (Exception, Estimator, Result))
    ]
    assert other == [], "give these the result protocol (pipesheet.base.Result)"


@pytest.mark.parametrize(
    "cls",
    [c for c in public_classes() if issubclass(c, Result)],
    ids=lambda c: c.__name__,
)
def test_every_result_has_the_protocol(cls, deals, history, rates, model):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        result = build(cls, deals, history, rates, model)
    check_result(result, cls)


def test_the_report_has_the_protocol(deals, history, rates):
    from pipesheet.report import Report, build_report

    report = build_report(deals, history, rates=rates, progress=False)
    check_result(report, Report)


def check_result(result, cls):
    assert type(result) is cls
    frame = result.to_frame()
    assert isinstance(frame, pd.DataFrame) and len(frame.columns) > 0
    assert isinstance(result.notes, list) and all(isinstance(n, str) for n in result.notes)
    # the protocol's repr, not the dataclass's field dump
    assert type(result).__repr__ is Result.__repr__
    text = repr(result)
    assert text.startswith(f"{cls.__name__}(") and text.endswith(")")
    assert "\n" not in text and len(text) < 300, text
    assert "DataFrame" not in text and "array(" not in text


def test_the_results_are_plain_dataclasses_all_alike():
    import dataclasses

    results = [c for c in public_classes() if issubclass(c, Result)]
    for cls in results:
        assert dataclasses.is_dataclass(cls), cls
        assert not cls.__dataclass_params__.frozen, f"{cls.__name__} is frozen: none is"


@pytest.mark.parametrize(
    "cls", [c for c in public_classes() if issubclass(c, Estimator)], ids=lambda c: c.__name__
)
def test_every_estimator_has_the_protocol(cls, history):
    model = cls()
    assert repr(model) == f"{cls.__name__}()"  # nothing differs from the defaults
    with pytest.raises(pipesheet.PipesheetError, match="fit"):
        model.check_fitted()
    assert not model.is_fitted
    params = model.get_params()
    assert params and all(hasattr(model, name) for name in params)
    again = cls(**{**params, "as_of": "2025-12-31"})
    assert repr(again) == f"{cls.__name__}(as_of='2025-12-31')"
    assert again.fit(history) is again and again.is_fitted


def test_the_public_names_resolve_lazily_and_agree_with_all():
    assert set(pipesheet.__all__) == {*pipesheet._HOME, "__version__"}
    for name in pipesheet.__all__:
        assert getattr(pipesheet, name) is not None
    # the functions keep their names although modules of the same names exist
    importlib.import_module("pipesheet.backtest")
    importlib.import_module("pipesheet.calibration")

    assert callable(pipesheet.backtest) and pipesheet.backtest.__name__ == "backtest"
    assert callable(pipesheet.calibration) and pipesheet.calibration.__name__ == "calibration"
