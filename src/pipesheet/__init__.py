"""pipesheet — honest sales-pipeline numbers over spreadsheet tables.

The core engine: pure Python over pandas and numpy; it knows nothing of Excel or Jupyter.
"""

from pipesheet.backtest import BacktestResult, backtest
from pipesheet.calibration import CalibrationResult, brier_score, calibration
from pipesheet.errors import PipesheetError
from pipesheet.forecast import (
    PipelinePosition,
    PricedDeals,
    deal_probabilities,
    forecast_categories,
    period_labels,
    pipeline_position,
    pipeline_range,
    price_deals,
    reporting_amounts,
    weighted_forecast,
)
from pipesheet.planning import (
    LeadPlan,
    QuotaGap,
    coverage_ratio,
    leads_needed,
    quota_gap,
    sales_velocity,
)
from pipesheet.presets import PRESETS, preset, probability_table, stages_from_probabilities
from pipesheet.probabilities import StageProbabilities, stage_probabilities
from pipesheet.stages import StageList
from pipesheet.tables import Deals, History, read_deals, read_history, read_rates
from pipesheet.timeaware import TimeAwareForecast, TimeAwareResult, time_aware_forecast

__version__ = "0.1.0"

__all__ = [
    "PRESETS",
    "BacktestResult",
    "CalibrationResult",
    "Deals",
    "History",
    "LeadPlan",
    "PipelinePosition",
    "PipesheetError",
    "PricedDeals",
    "QuotaGap",
    "StageList",
    "StageProbabilities",
    "TimeAwareForecast",
    "TimeAwareResult",
    "__version__",
    "backtest",
    "brier_score",
    "calibration",
    "coverage_ratio",
    "deal_probabilities",
    "forecast_categories",
    "leads_needed",
    "period_labels",
    "pipeline_position",
    "pipeline_range",
    "preset",
    "price_deals",
    "probability_table",
    "quota_gap",
    "read_deals",
    "read_history",
    "read_rates",
    "reporting_amounts",
    "sales_velocity",
    "stage_probabilities",
    "stages_from_probabilities",
    "time_aware_forecast",
    "weighted_forecast",
]
