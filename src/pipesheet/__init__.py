"""pipesheet — honest sales-pipeline numbers over spreadsheet tables.

The engine: pure Python over pandas and numpy (scipy where a distribution is needed); it knows
nothing of Excel or Jupyter.  Its surfaces — the Excel functions (:mod:`pipesheet.excel`), the web
apps (:mod:`pipesheet.apps`), the command line (:mod:`pipesheet.cli`) and the finance report
(:mod:`pipesheet.report`) — call the names below.  Every result has ``to_frame()``, ``notes``
and a one-line ``repr``; the estimators are configured in the constructor, ``fit`` and read
their ``*_`` attributes (:mod:`pipesheet.base`).

Reading tables
    :func:`read_deals`, :func:`read_history`, :func:`read_rates` (→ :class:`Deals`,
    :class:`History`), :class:`StageList`; CRM exports and files: :func:`read_export`
    (→ :class:`Export`), :func:`read_table`, :func:`lookup` (→ :class:`LookupResult`); every
    refusal is a :class:`PipesheetError` naming the table, column, row and value.  Several
    pipelines, each with its own stages: :class:`PipelineStages`.
Stage probabilities
    :class:`StageProbabilities`, :func:`stage_probabilities`; CRM presets: :data:`PRESETS`,
    :func:`preset`, :func:`probability_table`, :func:`stages_from_probabilities`.
Forecasts and ranges
    :func:`weighted_forecast`, :func:`forecast_categories`, :func:`pipeline_position`
    (→ :class:`PipelinePosition`), :func:`pipeline_range` and :func:`forecast_range`
    (→ :class:`ForecastRange`); the one priced-deal path: :func:`price_deals`
    (→ :class:`PricedDeals`), :func:`deal_probabilities`, :func:`reporting_amounts`,
    :func:`period_labels`; time-aware: :class:`TimeAwareForecast`, :func:`time_aware_forecast`
    (→ :class:`TimeAwareResult`).
Planning
    :func:`leads_needed` (→ :class:`LeadPlan`), :func:`quota_gap` (→ :class:`QuotaGap`),
    :func:`coverage_ratio`, :func:`sales_velocity`, :func:`days_in_stage_from_history`,
    :func:`lead_to_win_rate`; pipeline balance: :func:`pipeline_balance`
    (→ :class:`BalanceResult`); quota tables and hierarchies: :func:`quota_table`
    (→ :class:`QuotaTableResult`), :func:`read_quotas`, :func:`read_hierarchy`,
    :func:`period_window`; what-if scenarios: :func:`apply_scenarios`
    (→ :class:`ScenarioResult`), :func:`parse_scenario`; several pipelines, per pipeline and in
    total: :func:`pipeline_summary`; a manager's commits beside the system's forecast:
    :func:`compare_commits` (→ :class:`CommitsResult`), :func:`read_commits`.
Checking the forecast
    :func:`backtest` (→ :class:`BacktestResult`), :func:`calibration`
    (→ :class:`CalibrationResult`), :func:`brier_score`, :func:`brier_skill`,
    :func:`forecast_accuracy` (→ :class:`AccuracyResult`), :func:`forecasts_from_snapshots`;
    pipelines from known processes: :func:`simulate_pipeline`, :data:`SCENARIOS`,
    :func:`evaluate_forecasts`, :func:`accuracy_table`.
Diagnostics and changes
    :func:`stale_deals`, :func:`stale_thresholds`, :func:`bottlenecks`, :func:`cycle_time`,
    :func:`deal_cycle_times`, :func:`conversion_by_stage`, :func:`stage_durations`,
    :func:`time_in_stage`; the stage design check: :func:`stage_design_check`
    (→ :class:`StageDesignResult`); the waterfall: :func:`pipeline_waterfall`,
    :func:`waterfall_from_history`, :func:`snapshot_at` (→ :class:`Waterfall`); lost reasons:
    :func:`lost_reasons` (→ :class:`LossesResult`).
Samples
    :func:`sample_deals`, :func:`sample_history`, :func:`sample_rates`,
    :func:`generate_pipeline`.

The names resolve on first use (PEP 562): ``import pipesheet`` — and so ``import pipesheet.cli``
or ``import pipesheet.excel`` — loads only what is used, never scipy or openpyxl up front.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Where each public name lives, by job (the order of the module docstring).
_HOMES: dict[str, tuple[str, ...]] = {
    # reading tables
    "pipesheet.errors": ("PipesheetError",),
    "pipesheet.tables": ("Deals", "History", "read_deals", "read_history", "read_rates"),
    "pipesheet.stages": ("PipelineStages", "StageList"),
    "pipesheet.exports": ("Export", "LookupResult", "lookup", "read_export", "read_table"),
    # stage probabilities
    "pipesheet.probabilities": ("StageProbabilities", "stage_probabilities"),
    "pipesheet.presets": ("PRESETS", "preset", "probability_table", "stages_from_probabilities"),
    # forecasts and ranges
    "pipesheet.forecast": (
        "PipelinePosition",
        "forecast_categories",
        "pipeline_position",
        "pipeline_range",
        "weighted_forecast",
    ),
    "pipesheet.ranges": ("ForecastRange", "forecast_range"),
    "pipesheet.pricing": ("PricedDeals", "deal_probabilities", "price_deals", "reporting_amounts"),
    "pipesheet.periods": ("period_labels",),
    "pipesheet.timeaware": ("TimeAwareForecast", "TimeAwareResult", "time_aware_forecast"),
    "pipesheet.calibrated": ("CalibratedForecast", "CalibratedResult", "calibrated_forecast"),
    # planning
    "pipesheet.planning": (
        "LeadPlan",
        "QuotaGap",
        "coverage_ratio",
        "days_in_stage_from_history",
        "lead_to_win_rate",
        "leads_needed",
        "quota_gap",
        "sales_velocity",
    ),
    "pipesheet.balance": ("BalanceResult", "pipeline_balance"),
    "pipesheet.quotas": (
        "QuotaTableResult",
        "period_window",
        "quota_table",
        "read_hierarchy",
        "read_quotas",
    ),
    "pipesheet.scenarios": ("ScenarioResult", "apply_scenarios", "parse_scenario"),
    "pipesheet.pipelines": ("pipeline_summary",),
    "pipesheet.commits": ("CommitsResult", "compare_commits", "read_commits"),
    # checking the forecast
    "pipesheet.backtest": ("BacktestResult", "backtest"),
    "pipesheet.calibration": ("CalibrationResult", "brier_score", "brier_skill", "calibration"),
    "pipesheet.accuracy": ("AccuracyResult", "forecast_accuracy", "forecasts_from_snapshots"),
    "pipesheet.simulate": (
        "SCENARIOS",
        "accuracy_table",
        "evaluate_forecasts",
        "simulate_pipeline",
    ),
    # diagnostics and changes
    "pipesheet.diagnostics": (
        "bottlenecks",
        "conversion_by_stage",
        "cycle_time",
        "deal_cycle_times",
        "stage_durations",
        "stale_deals",
        "stale_thresholds",
        "time_in_stage",
    ),
    "pipesheet.stage_design": ("StageDesignResult", "stage_design_check"),
    "pipesheet.losses": ("LossesResult", "lost_reasons"),
    "pipesheet.waterfall": (
        "Waterfall",
        "pipeline_waterfall",
        "snapshot_at",
        "waterfall_from_history",
    ),
    # samples
    "pipesheet.sample": ("generate_pipeline", "sample_deals", "sample_history", "sample_rates"),
}
_HOME = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "PRESETS",
    "SCENARIOS",
    "AccuracyResult",
    "BacktestResult",
    "BalanceResult",
    "CalibratedForecast",
    "CalibratedResult",
    "CalibrationResult",
    "CommitsResult",
    "Deals",
    "Export",
    "ForecastRange",
    "History",
    "LeadPlan",
    "LookupResult",
    "LossesResult",
    "PipelinePosition",
    "PipelineStages",
    "PipesheetError",
    "PricedDeals",
    "QuotaGap",
    "QuotaTableResult",
    "ScenarioResult",
    "StageDesignResult",
    "StageList",
    "StageProbabilities",
    "TimeAwareForecast",
    "TimeAwareResult",
    "Waterfall",
    "__version__",
    "accuracy_table",
    "apply_scenarios",
    "backtest",
    "bottlenecks",
    "brier_score",
    "brier_skill",
    "calibrated_forecast",
    "calibration",
    "compare_commits",
    "conversion_by_stage",
    "coverage_ratio",
    "cycle_time",
    "days_in_stage_from_history",
    "deal_cycle_times",
    "deal_probabilities",
    "evaluate_forecasts",
    "forecast_accuracy",
    "forecast_categories",
    "forecast_range",
    "forecasts_from_snapshots",
    "generate_pipeline",
    "lead_to_win_rate",
    "leads_needed",
    "lookup",
    "lost_reasons",
    "parse_scenario",
    "period_labels",
    "period_window",
    "pipeline_balance",
    "pipeline_position",
    "pipeline_range",
    "pipeline_summary",
    "pipeline_waterfall",
    "preset",
    "price_deals",
    "probability_table",
    "quota_gap",
    "quota_table",
    "read_commits",
    "read_deals",
    "read_export",
    "read_hierarchy",
    "read_history",
    "read_quotas",
    "read_rates",
    "read_table",
    "reporting_amounts",
    "sales_velocity",
    "sample_deals",
    "sample_history",
    "sample_rates",
    "simulate_pipeline",
    "snapshot_at",
    "stage_design_check",
    "stage_durations",
    "stage_probabilities",
    "stages_from_probabilities",
    "stale_deals",
    "stale_thresholds",
    "time_aware_forecast",
    "time_in_stage",
    "waterfall_from_history",
    "weighted_forecast",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562)."""
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'pipesheet' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later uses are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    """``pipesheet.backtest`` and ``pipesheet.calibration`` are functions, as they always were,
    although modules of the same names exist: importing such a module (which binds it as an
    attribute of the package) must not hide the function."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and name in _HOME:
            return  # the module stays in sys.modules; the attribute stays the function
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


if TYPE_CHECKING:  # what the names are, for type checkers and editors
    from pipesheet.accuracy import AccuracyResult, forecast_accuracy, forecasts_from_snapshots
    from pipesheet.backtest import BacktestResult, backtest
    from pipesheet.balance import BalanceResult, pipeline_balance
    from pipesheet.calibrated import CalibratedForecast, CalibratedResult, calibrated_forecast
    from pipesheet.calibration import CalibrationResult, brier_score, brier_skill, calibration
    from pipesheet.commits import CommitsResult, compare_commits, read_commits
    from pipesheet.diagnostics import (
        bottlenecks,
        conversion_by_stage,
        cycle_time,
        deal_cycle_times,
        stage_durations,
        stale_deals,
        stale_thresholds,
        time_in_stage,
    )
    from pipesheet.errors import PipesheetError
    from pipesheet.exports import Export, LookupResult, lookup, read_export, read_table
    from pipesheet.forecast import (
        PipelinePosition,
        forecast_categories,
        pipeline_position,
        pipeline_range,
        weighted_forecast,
    )
    from pipesheet.losses import LossesResult, lost_reasons
    from pipesheet.periods import period_labels
    from pipesheet.pipelines import pipeline_summary
    from pipesheet.planning import (
        LeadPlan,
        QuotaGap,
        coverage_ratio,
        days_in_stage_from_history,
        lead_to_win_rate,
        leads_needed,
        quota_gap,
        sales_velocity,
    )
    from pipesheet.presets import PRESETS, preset, probability_table, stages_from_probabilities
    from pipesheet.pricing import PricedDeals, deal_probabilities, price_deals, reporting_amounts
    from pipesheet.probabilities import StageProbabilities, stage_probabilities
    from pipesheet.quotas import (
        QuotaTableResult,
        period_window,
        quota_table,
        read_hierarchy,
        read_quotas,
    )
    from pipesheet.ranges import ForecastRange, forecast_range
    from pipesheet.sample import generate_pipeline, sample_deals, sample_history, sample_rates
    from pipesheet.scenarios import ScenarioResult, apply_scenarios, parse_scenario
    from pipesheet.simulate import (
        SCENARIOS,
        accuracy_table,
        evaluate_forecasts,
        simulate_pipeline,
    )
    from pipesheet.stage_design import StageDesignResult, stage_design_check
    from pipesheet.stages import PipelineStages, StageList
    from pipesheet.tables import Deals, History, read_deals, read_history, read_rates
    from pipesheet.timeaware import TimeAwareForecast, TimeAwareResult, time_aware_forecast
    from pipesheet.waterfall import (
        Waterfall,
        pipeline_waterfall,
        snapshot_at,
        waterfall_from_history,
    )
