"""Calibration: do the probabilities mean what they say? Predicted vs realised, and Brier score.

Predictions are made as of a past date D with only the history known then, for every deal open on
D; outcomes are read from the rest of the history:

* ``probabilities="learned"`` (default): predicted p = P(win | stage on D), learned by
  ``StageProbabilities(as_of=D)``; realised y = 1 if the deal ended Won, 0 if Lost, by the end of
  the history. Deals still open at the end are *censored*: left out (never counted as lost), and
  counted in ``open_excluded``. Leaving them out favours deals that close fast, so read the result
  with the share left out in mind.
* ``probabilities="time-aware"``: predicted p = P(won by ``period_end`` | stage, age on D)
  (:class:`~pipesheet.timeaware.TimeAwareForecast`); y = 1 if the deal was Won by
  ``period_end``, else 0 — a deal still open then was, by definition, not won within the period,
  so nothing is censored. ``period_end`` must not be after the end of the history.

Per stage and per probability bucket (equal-width, ``buckets`` of them): deals, mean predicted,
realised rate (with its Jeffreys 90% interval), and the **Brier score** mean((p − y)²) (0 is
perfect; always predicting the realised base rate r scores r(1 − r), reported as
``brier_reference``).

``probabilities`` names which probabilities are checked, as ``weighted_forecast(probabilities=)``
names which ones a forecast uses; its old name ``method=`` (values ``"stage"`` and
``"time-aware"``) and the old value ``"stage"`` are accepted with a DeprecationWarning for one
release.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.base import DEPRECATED, Result, renamed
from pipesheet.errors import PipesheetError
from pipesheet.history import deal_states, load_tables
from pipesheet.periods import PERIOD_WORDS, day_number, day_timestamp, window_end
from pipesheet.probabilities import StageProbabilities, beta_quantile
from pipesheet.stages import StageList
from pipesheet.timeaware import TimeAwareForecast

__all__ = ["CalibrationResult", "brier_score", "calibration"]

GROUP_COLUMNS = ("deals", "predicted", "realised", "interval_low", "interval_high", "brier")


def brier_score(predicted: Any, outcome: Any) -> float:
    """mean((p − y)²) over the pairs; y is 1 (won) or 0 (lost). NaN when empty."""
    p = np.asarray(predicted, dtype=float)
    y = np.asarray(outcome, dtype=float)
    if p.shape != y.shape:
        raise PipesheetError(
            "predictions and outcomes differ in length",
            table="settings",
            value=f"{p.size} vs {y.size}",
            expected="one outcome per prediction",
        )
    if p.size and ((p < 0) | (p > 1) | np.isnan(p)).any():
        raise PipesheetError(
            "a probability is outside 0–1",
            table="settings",
            value=float(p[(p < 0) | (p > 1) | np.isnan(p)][0]),
            expected="probabilities between 0 and 1",
        )
    if y.size and ~np.isin(y, (0.0, 1.0)).all():
        raise PipesheetError(
            "an outcome is not 0 or 1", table="settings", expected="1 = won, 0 = lost"
        )
    return float(np.mean((p - y) ** 2)) if p.size else float("nan")


@dataclass(repr=False)
class CalibrationResult(Result):
    """Predicted vs realised win rates.

    Attributes:
        by_stage: Per open stage: ``stage``, ``deals`` (scored), ``predicted`` (mean p),
            ``realised`` (share won), ``interval_low``/``interval_high`` (Jeffreys 90% of the
            realised rate), ``brier``, ``open_excluded`` (censored, not scored).
        by_bucket: Per probability bucket (``bucket`` like ``"20–30%"``, ``low``, ``high``) with
            the same measures; empty buckets are kept with 0 deals.
        deals: One row per deal open on ``as_of``: ``deal_id``, ``stage``, ``predicted``,
            ``outcome`` (1 won, 0 lost, NaN censored).
        brier: Brier score over the scored deals.
        brier_reference: The score of always predicting the realised base rate.
        probabilities, as_of, period_end: What was calibrated (``"learned"`` or
            ``"time-aware"``), and when.
        notes: What the user should know.
    """

    by_stage: pd.DataFrame
    by_bucket: pd.DataFrame
    deals: pd.DataFrame
    brier: float
    brier_reference: float
    probabilities: str
    as_of: pd.Timestamp
    period_end: pd.Timestamp | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def method(self) -> str:
        """Deprecated: the old name of :attr:`probabilities` (``"stage"`` for ``"learned"``)."""
        warnings.warn(
            "CalibrationResult.method is deprecated: use probabilities", DeprecationWarning, 2
        )
        return "stage" if self.probabilities == "learned" else self.probabilities

    def to_frame(self) -> pd.DataFrame:
        """Predicted vs realised per probability bucket (see :attr:`by_bucket`)."""
        return self.by_bucket.copy()

    def _figures(self) -> dict[str, Any]:
        return {
            "probabilities": self.probabilities,
            "as_of": self.as_of,
            "period_end": self.period_end,
            "deals": int(self.deals["outcome"].notna().sum()),
            "brier": self.brier,
            "brier_reference": self.brier_reference,
        }

    @property
    def summary(self) -> pd.DataFrame:
        """One row: probabilities, as_of, period_end, deals scored, open excluded, Brier
        scores."""
        scored = self.deals["outcome"].notna()
        return pd.DataFrame(
            [
                {
                    "probabilities": self.probabilities,
                    "as_of": self.as_of,
                    "period_end": self.period_end,
                    "deals": int(scored.sum()),
                    "open_excluded": int((~scored).sum()),
                    "predicted": float(self.deals.loc[scored, "predicted"].mean()),
                    "realised": float(self.deals.loc[scored, "outcome"].mean()),
                    "brier": self.brier,
                    "brier_reference": self.brier_reference,
                }
            ]
        )


def _measures(p: np.ndarray, y: np.ndarray) -> dict[str, float]:
    n = len(p)
    won = float(y.sum())
    lo, hi = beta_quantile([0.05, 0.95], won + 0.5, n - won + 0.5) if n else (np.nan, np.nan)
    return {
        "deals": n,
        "predicted": float(p.mean()) if n else np.nan,
        "realised": won / n if n else np.nan,
        "interval_low": float(lo),
        "interval_high": float(hi),
        "brier": float(np.mean((p - y) ** 2)) if n else np.nan,
    }


#: What :func:`calibration` can check; ``"stage"`` is the old name of ``"learned"``.
CALIBRATED = ("learned", "time-aware")


def _which_probabilities(value: Any) -> str:
    """``"learned"`` or ``"time-aware"`` (``"stage"``, the old value, with a warning)."""
    key = str(value).strip().casefold() if isinstance(value, str) else value
    if key == "stage":
        warnings.warn(
            "probabilities 'stage' is deprecated: use 'learned'", DeprecationWarning, stacklevel=3
        )
        return "learned"
    if key not in CALIBRATED:
        raise PipesheetError(
            "unknown probabilities to calibrate",
            table="settings",
            column="probabilities",
            value=value,
            expected="'learned' (the stage probabilities) or 'time-aware'",
        )
    return key


def calibration(
    history: Any,
    deals: Any = None,
    as_of: Any = None,
    *,
    probabilities: str = "learned",
    period_end: Any = None,
    buckets: int = 10,
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
    method: str = DEPRECATED,
    **time_aware: Any,
) -> CalibrationResult:
    """Calibrate stage (or time-aware) probabilities predicted on ``as_of`` against outcomes.

    Args:
        history: Stage history.
        deals: Deals table (optional; checked against the history when given).
        as_of: Prediction date D (required: a date before the end of the history).
        probabilities: ``"learned"`` (the stage probabilities p_s, outcome by the end of the
            history, open deals censored) or ``"time-aware"`` (P(won by ``period_end``),
            outcome = won by ``period_end``).  ``method=`` is its old name.
        period_end: End of the forecast window for ``"time-aware"`` (a date or month / quarter /
            year: the end of that period containing D).
        buckets: Number of equal-width probability buckets.
        stages, columns: Stage list and column mapping.
        **time_aware: Settings of :class:`~pipesheet.timeaware.TimeAwareForecast`
            (``conditioning``, ``bin_days``, ``min_at_risk``).

    Returns:
        A :class:`CalibrationResult`.
    """
    method = _which_probabilities(
        renamed("method", "probabilities", method, probabilities, "learned")
    )
    if isinstance(buckets, bool) or not isinstance(buckets, (int, np.integer)) or buckets < 1:
        raise PipesheetError(
            "buckets must be a whole number ≥ 1",
            table="settings",
            column="buckets",
            value=buckets,
            expected="e.g. 10",
        )
    tables = load_tables(history, deals, stages, columns)
    a = tables.arrays
    d_day = day_number(as_of)
    last_day = int(a.day.max())
    if d_day is None or d_day >= last_day:
        raise PipesheetError(
            "calibration needs a past as-of date: outcomes are read from the history after it",
            table="settings",
            column="as_of",
            value=as_of if d_day is None else str(day_timestamp(d_day).date()),
            expected=f"a date before the end of the history ({day_timestamp(last_day).date()})",
        )
    notes = list(tables.notes)
    st_d = deal_states(a, d_day)
    open_d = np.flatnonzero((st_d.code >= 0) & (st_d.code < a.k))
    end_ts = None
    if method == "learned":
        model = StageProbabilities(
            stages=tables.hist.stages,
            as_of=day_timestamp(d_day),  # the whole day
        ).fit(tables.hist)
        p_by = model.overall_["win_probability"].to_numpy(dtype=float)
        predicted = p_by[st_d.code[open_d]]
        final = deal_states(a, last_day).code[open_d]
        outcome = np.where(final == a.k, 1.0, np.where(final == a.k + 1, 0.0, np.nan))
        n_open = int(np.isnan(outcome).sum())
        if n_open:
            notes.append(
                f"{n_open} deal(s) open on {day_timestamp(d_day).date()} are still open at the end "
                "of the history: censored, not scored (not counted as lost)"
            )
    else:
        if period_end is None:
            raise PipesheetError(
                "the time-aware calibration needs a period end",
                table="settings",
                column="period_end",
                expected="a date after as_of, on or before the end of the history",
            )
        model = TimeAwareForecast(
            stages=tables.hist.stages,
            as_of=day_timestamp(d_day),
            period_end=period_end,
            **time_aware,
        )
        model.fit_loaded(tables, deals=False, forecast_range=False)
        if isinstance(period_end, str) and period_end.strip().casefold() in PERIOD_WORDS:
            _, note = window_end(
                day_timestamp(d_day), period_end, time_aware.get("fiscal_year_start", 1)
            )
            if note:  # as-of is the period's last day: the next period is calibrated
                notes.append(note)
        end_day = int(np.datetime64(model.period_end_, "D").astype(np.int64))
        if end_day > last_day:
            raise PipesheetError(
                "the period ends after the history does: its outcomes are not known yet",
                table="settings",
                column="period_end",
                value=str(model.period_end_.date()),
                expected=f"a date on or before {day_timestamp(last_day).date()}",
            )
        end_ts = model.period_end_
        order = pd.Series(np.arange(len(a.ids)), index=pd.Index(a.ids))
        pos = order.reindex(model.deals_["deal_id"]).to_numpy()
        lookup = pd.Series(model.deals_["probability"].to_numpy(), index=pos)
        predicted = lookup.reindex(open_d).to_numpy(dtype=float)
        outcome = (deal_states(a, end_day).code[open_d] == a.k).astype(float)
    unknown = np.isnan(predicted)
    if unknown.any():
        notes.append(
            f"{int(unknown.sum())} deal(s) at stages with no learned probability are not scored"
        )
    frame = pd.DataFrame(
        {
            "deal_id": a.ids[open_d],
            "stage": np.asarray(tables.hist.stages.open, dtype=object)[st_d.code[open_d]],
            "predicted": predicted,
            "outcome": np.where(unknown, np.nan, outcome),
        }
    )
    scored = frame["outcome"].notna().to_numpy() & ~unknown
    p, y = predicted[scored], outcome[scored]
    by_stage = []
    for s in tables.hist.stages.open:  # a loop over stages
        at = (frame["stage"] == s).to_numpy()
        row = {"stage": s, **_measures(p[at[scored]], y[at[scored]])}
        row["open_excluded"] = int((at & ~scored).sum())
        by_stage.append(row)
    edges = np.linspace(0.0, 1.0, int(buckets) + 1)
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, int(buckets) - 1)
    by_bucket = []
    for i in range(int(buckets)):  # a loop over buckets
        m = which == i
        by_bucket.append(
            {
                "bucket": f"{edges[i]:.0%}–{edges[i + 1]:.0%}",
                "low": edges[i],
                "high": edges[i + 1],
                **_measures(p[m], y[m]),
            }
        )
    rate = float(y.mean()) if len(y) else np.nan
    return CalibrationResult(
        by_stage=pd.DataFrame(by_stage),
        by_bucket=pd.DataFrame(by_bucket),
        deals=frame,
        brier=brier_score(p, y),
        brier_reference=rate * (1 - rate) if len(y) else np.nan,
        probabilities=method,
        as_of=day_timestamp(d_day),
        period_end=end_ts,
        notes=notes,
    )
