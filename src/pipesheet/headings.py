"""The column headings of pipesheet's tables, in the language spoken.

The engine's frames keep their English column names (``win_probability``, ``deals_needed``…:
the Python API, JSON and formulas rely on them). What a person reads — the CLI's printed tables,
the apps' tables, the report's and Excel's header rows — shows :func:`heading` of each: the name
as it is in English, its translation in the other languages. A column not listed here shows as
named (add it here, then ``python scripts/i18n.py build``).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from pipesheet.i18n import current_language, pgettext

__all__ = ["column_name", "heading", "headings", "method_name"]


def _table() -> dict[str, str]:
    return {
        "abs_error": pgettext("column", "abs_error"),
        "actual": pgettext("column", "actual"),
        "advice": pgettext("column", "advice"),
        "after": pgettext("column", "after"),
        "age_days": pgettext("column", "age_days"),
        "amount": pgettext("column", "amount"),
        "as_of": pgettext("column", "as_of"),
        "average_amount": pgettext("column", "average_amount"),
        "average_cycle_days": pgettext("column", "average_cycle_days"),
        "average_deal": pgettext("column", "average_deal"),
        "average_deal_source": pgettext("column", "average_deal_source"),
        "average_won_deal": pgettext("column", "average_won_deal"),
        "before": pgettext("column", "before"),
        "bias": pgettext("column", "bias"),
        "bias_factor": pgettext("column", "bias_factor"),
        "bottleneck": pgettext("column", "bottleneck"),
        "brier": pgettext("column", "brier"),
        "brier_reference": pgettext("column", "brier_reference"),
        "brier_skill": pgettext("column", "brier_skill"),
        "bucket": pgettext("column", "bucket"),
        "calibrated_probability": pgettext("column", "calibrated_probability"),
        "category": pgettext("column", "category"),
        "censored": pgettext("column", "censored"),
        "change": pgettext("column", "change"),
        "check": pgettext("column", "check"),
        "close_date": pgettext("column", "close_date"),
        "closed": pgettext("column", "closed"),
        "closed_date": pgettext("column", "closed_date"),
        "closed_deals": pgettext("column", "closed_deals"),
        "closing_amount": pgettext("column", "closing_amount"),
        "closing_close_date": pgettext("column", "closing_close_date"),
        "closing_stage": pgettext("column", "closing_stage"),
        "cohort": pgettext("column", "cohort"),
        "commit_gap": pgettext("column", "commit_gap"),
        "committed": pgettext("column", "committed"),
        "committed_error": pgettext("column", "committed_error"),
        "compared": pgettext("column", "compared"),
        "configured_probability": pgettext("column", "configured_probability"),
        "conversion_to_next": pgettext("column", "conversion_to_next"),
        "conversion_to_won": pgettext("column", "conversion_to_won"),
        "country": pgettext("column", "country"),
        "coverage": pgettext("column", "coverage"),
        "currency": pgettext("column", "currency"),
        "cycle_days": pgettext("column", "cycle_days"),
        "days_in_stage": pgettext("column", "days_in_stage"),
        "days_to_won": pgettext("column", "days_to_won"),
        "deal_id": pgettext("column", "deal_id"),
        "deals": pgettext("column", "deals"),
        "deals_needed": pgettext("column", "deals_needed"),
        "deals_per_day": pgettext("column", "deals_per_day"),
        "difference": pgettext("column", "difference"),
        "end": pgettext("column", "end"),
        "enter_by": pgettext("column", "enter_by"),
        "entered_date": pgettext("column", "entered_date"),
        "entered_stage": pgettext("column", "entered_stage"),
        "error": pgettext("column", "error"),
        "error_bound": pgettext("column", "error_bound"),
        "error_calibrated": pgettext("column", "error_calibrated"),
        "error_time_aware": pgettext("column", "error_time_aware"),
        "error_weighted": pgettext("column", "error_weighted"),
        "eventual_win": pgettext("column", "eventual_win"),
        "evidence": pgettext("column", "evidence"),
        "expected": pgettext("column", "expected"),
        "expected_open": pgettext("column", "expected_open"),
        "explanation": pgettext("column", "explanation"),
        "forecast": pgettext("column", "forecast"),
        "forecast_after": pgettext("column", "forecast_after"),
        "forecast_before": pgettext("column", "forecast_before"),
        "forecast_calibrated": pgettext("column", "forecast_calibrated"),
        "forecast_category": pgettext("column", "forecast_category"),
        "forecast_time_aware": pgettext("column", "forecast_time_aware"),
        "forecast_weighted": pgettext("column", "forecast_weighted"),
        "forecaster": pgettext("column", "forecaster"),
        "gap": pgettext("column", "gap"),
        "gap_value": pgettext("column", "gap_value"),
        "high": pgettext("column", "high"),
        "in_period": pgettext("column", "in_period"),
        "in_range_share": pgettext("column", "in_range_share"),
        "interval_high": pgettext("column", "interval_high"),
        "interval_low": pgettext("column", "interval_low"),
        "item": pgettext("column", "item"),
        "lead_to_win_rate": pgettext("column", "lead_to_win_rate"),
        "leads_per_week": pgettext("column", "leads_per_week"),
        "level": pgettext("column", "level"),
        "log_error": pgettext("column", "log_error"),
        "lost": pgettext("column", "lost"),
        "lost_deals": pgettext("column", "lost_deals"),
        "lost_on": pgettext("column", "lost_on"),
        "low": pgettext("column", "low"),
        "mape": pgettext("column", "mape"),
        "mean": pgettext("column", "mean"),
        "mean_days": pgettext("column", "mean_days"),
        "measure": pgettext("column", "measure"),
        "median_days": pgettext("column", "median_days"),
        "median_days_to_close": pgettext("column", "median_days_to_close"),
        "method": pgettext("column", "method"),
        "model_forecast": pgettext("column", "model_forecast"),
        "model_sd": pgettext("column", "model_sd"),
        "name": pgettext("column", "name"),
        "needed": pgettext("column", "needed"),
        "needed_value": pgettext("column", "needed_value"),
        "new_leads": pgettext("column", "new_leads"),
        "new_revenue_needed": pgettext("column", "new_revenue_needed"),
        "new_won_deals": pgettext("column", "new_won_deals"),
        "noise": pgettext("column", "noise"),
        "noise_z": pgettext("column", "noise_z"),
        "note": pgettext("column", "note"),
        "open": pgettext("column", "open"),
        "open_deals": pgettext("column", "open_deals"),
        "open_deals_after": pgettext("column", "open_deals_after"),
        "open_deals_before": pgettext("column", "open_deals_before"),
        "open_excluded": pgettext("column", "open_excluded"),
        "open_pipeline": pgettext("column", "open_pipeline"),
        "open_value": pgettext("column", "open_value"),
        "opening_amount": pgettext("column", "opening_amount"),
        "opening_close_date": pgettext("column", "opening_close_date"),
        "opening_stage": pgettext("column", "opening_stage"),
        "outcome": pgettext("column", "outcome"),
        "owner": pgettext("column", "owner"),
        "p10": pgettext("column", "p10"),
        "p10_after": pgettext("column", "p10_after"),
        "p10_before": pgettext("column", "p10_before"),
        "p50": pgettext("column", "p50"),
        "p50_after": pgettext("column", "p50_after"),
        "p50_before": pgettext("column", "p50_before"),
        "p80_days": pgettext("column", "p80_days"),
        "p90": pgettext("column", "p90"),
        "p90_after": pgettext("column", "p90_after"),
        "p90_before": pgettext("column", "p90_before"),
        "p_quota": pgettext("column", "p_quota"),
        "p_quota_after": pgettext("column", "p_quota_after"),
        "p_quota_before": pgettext("column", "p_quota_before"),
        "pace": pgettext("column", "pace"),
        "parent": pgettext("column", "parent"),
        "period": pgettext("column", "period"),
        "period_days": pgettext("column", "period_days"),
        "period_end": pgettext("column", "period_end"),
        "period_start": pgettext("column", "period_start"),
        "periods": pgettext("column", "periods"),
        "pipeline": pgettext("column", "pipeline"),
        "pipeline_after": pgettext("column", "pipeline_after"),
        "pipeline_before": pgettext("column", "pipeline_before"),
        "pipeline_name": pgettext("column", "pipeline_name"),
        "predicted": pgettext("column", "predicted"),
        "probabilities": pgettext("column", "probabilities"),
        "probability": pgettext("column", "probability"),
        "product_line": pgettext("column", "product_line"),
        "quota": pgettext("column", "quota"),
        "reached": pgettext("column", "reached"),
        "realised": pgettext("column", "realised"),
        "reason": pgettext("column", "reason"),
        "reference": pgettext("column", "reference"),
        "reference_kind": pgettext("column", "reference_kind"),
        "rollup": pgettext("column", "rollup"),
        "running_total": pgettext("column", "running_total"),
        "scenario": pgettext("column", "scenario"),
        "segment": pgettext("column", "segment"),
        "selling_weeks": pgettext("column", "selling_weeks"),
        "share_amount": pgettext("column", "share_amount"),
        "share_deals": pgettext("column", "share_deals"),
        "shortfall_revenue": pgettext("column", "shortfall_revenue"),
        "shortfall_won": pgettext("column", "shortfall_won"),
        "sign": pgettext("column", "sign"),
        "source": pgettext("column", "source"),
        "spread": pgettext("column", "spread"),
        "stage": pgettext("column", "stage"),
        "stage_probability": pgettext("column", "stage_probability"),
        "stages": pgettext("column", "stages"),
        "stale": pgettext("column", "stale"),
        "start": pgettext("column", "start"),
        "start_date": pgettext("column", "start_date"),
        "starves_won_date": pgettext("column", "starves_won_date"),
        "starves_won_week": pgettext("column", "starves_won_week"),
        "status": pgettext("column", "status"),
        "std_dev": pgettext("column", "std_dev"),
        "step": pgettext("column", "step"),
        "step_conversion": pgettext("column", "step_conversion"),
        "suggestion": pgettext("column", "suggestion"),
        "system_error": pgettext("column", "system_error"),
        "system_forecast": pgettext("column", "system_forecast"),
        "target": pgettext("column", "target"),
        "target_is": pgettext("column", "target_is"),
        "threshold": pgettext("column", "threshold"),
        "threshold_days": pgettext("column", "threshold_days"),
        "time_aware_probability": pgettext("column", "time_aware_probability"),
        "times_threshold": pgettext("column", "times_threshold"),
        "total_actual": pgettext("column", "total_actual"),
        "total_error": pgettext("column", "total_error"),
        "total_forecast": pgettext("column", "total_forecast"),
        "unscored": pgettext("column", "unscored"),
        "value": pgettext("column", "value"),
        "value_cents": pgettext("column", "value_cents"),
        "visits_per_deal": pgettext("column", "visits_per_deal"),
        "weight": pgettext("column", "weight"),
        "weighted": pgettext("column", "weighted"),
        "win_probability": pgettext("column", "win_probability"),
        "win_rate": pgettext("column", "win_rate"),
        "won": pgettext("column", "won"),
        "won_deals": pgettext("column", "won_deals"),
        "won_new": pgettext("column", "won_new"),
        "won_per_day": pgettext("column", "won_per_day"),
        "won_visits": pgettext("column", "won_visits"),
        "z": pgettext("column", "z"),
    }


def heading(name: object) -> str:
    """A column's heading in the language spoken (English: the name itself)."""
    text = str(name)
    if current_language() == "en":
        return text
    return _table().get(text, text)


def headings(names: Iterable[object]) -> list[str]:
    """:func:`heading` of each name."""
    if current_language() == "en":
        return [str(n) for n in names]
    table = _table()
    return [table.get(str(n), str(n)) for n in names]


@cache
def _names_by_heading() -> dict[str, str]:
    """Each heading (case and spacing folded) → its column name: the names themselves and their
    translations in every language (a translation two names share is left out)."""
    from pipesheet.i18n import LANGUAGES, language

    found: dict[str, set[str]] = {}
    for lang in LANGUAGES:
        with language(lang):
            for name, shown in _table().items():
                found.setdefault(" ".join(shown.split()).casefold(), set()).add(name)
    return {text: next(iter(names)) for text, names in found.items() if len(names) == 1}


def column_name(text: object) -> str | None:
    """The column name whose heading, in any language, is ``text`` (``"Fase"`` → ``"stage"``;
    ``"stage"`` → ``"stage"``); None when ``text`` is no heading of pipesheet's. Reads back a
    table pipesheet wrote in another language (an Excel function's spilled result)."""
    return _names_by_heading().get(" ".join(str(text).split()).casefold())


def method_name(method: str) -> str:
    """A forecast method or probability source (``"time-aware"``, ``"calibrated"``,
    ``"learned"``, ``"cohort"``…) as the language spoken names it — for what people read; the
    tables and the API keep the English names. Another name is shown as it is."""
    names = {
        "time-aware": pgettext("method", "time-aware"),
        "weighted pipeline": pgettext("method", "weighted pipeline"),
        "calibrated": pgettext("method", "calibrated"),
        "recommended": pgettext("method", "recommended"),
        "learned": pgettext("method", "learned"),
        "configured": pgettext("method", "configured"),
        "cohort": pgettext("method", "cohort"),
        "markov": pgettext("method", "Markov"),
    }
    return names.get(method, method)
