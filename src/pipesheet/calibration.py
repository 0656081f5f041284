"""Calibration: do the probabilities mean what they say? Predicted vs realised, Brier score and
Brier skill.

Predictions are made as of a past date D with only what was known then, for every deal open on
D; outcomes are read from the rest of the history. ``probabilities`` names which probabilities
are checked — the same values as ``weighted_forecast(probabilities=…)``:

* ``"learned"`` (default): p = P(win | stage on D), learned by ``StageProbabilities(as_of=D)``.
* ``"configured"``: the CRM's own Probability. When the history records one per row (Salesforce
  OpportunityHistory ``Probability``), the latest value recorded on or before D. Otherwise the
  deals table's column as it is now — but a deal closed since D shows 100% or 0% there, its
  outcome rather than what was predicted, so each deal gets its stage's value on D: the most
  common value among the deals open at that stage now (a note says so; the CRM's settings may
  have been changed since D).
* a preset name (``"salesforce"``, ``"hubspot"``, ``"suitecrm"``) or a stage → probability table
  (a table or a mapping): p = the value of the deal's stage on D.

  For these four, y = 1 if the deal ended Won, 0 if Lost, by the end of the history. Deals still
  open at the end are *censored*: left out (never counted as lost), and counted in
  ``open_excluded``. Leaving them out favours deals that close fast, so read the result with the
  share left out in mind.
* ``"time-aware"``: p = P(won by ``period_end`` | stage, age on D)
  (:class:`~pipesheet.timeaware.TimeAwareForecast`);
* ``"calibrated"``: p = the calibrated forecast's probability of each deal, min(1, p · e^b)
  (:class:`~pipesheet.calibrated.CalibratedForecast` on D, which backtests itself on the history
  before D only).

  For these two, y = 1 if the deal was Won by ``period_end``, else 0 — a deal still open then
  was, by definition, not won within the period, so nothing is censored. ``period_end`` must not
  be after the end of the history.

Per stage and per probability bucket (equal-width, ``buckets`` of them): deals, mean predicted,
realised rate (with its Jeffreys 90% interval), and the **Brier score** mean((p − y)²) (0 is
perfect). Always predicting the realised base rate r scores r(1 − r) (``brier_reference``); the
**Brier skill** = 1 − Brier / r(1 − r) says how much better the probabilities are than that: 1 is
perfect, 0 no better, below 0 worse — and the notes then say "worse than always predicting the
base rate".

``probabilities``'s old name ``method=`` (values ``"stage"`` and ``"time-aware"``) and the old
value ``"stage"`` are accepted with a DeprecationWarning for one release.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.base import DEPRECATED, Result, note_is, renamed, signed_number
from pipesheet.errors import PipesheetError
from pipesheet.formats import format_number, format_percent
from pipesheet.history import deal_states, latest_values, load_tables
from pipesheet.i18n import N_, _
from pipesheet.periods import PERIOD_WORDS, day_number, day_timestamp, window_end
from pipesheet.probabilities import StageProbabilities, beta_quantile
from pipesheet.stages import StageList
from pipesheet.timeaware import TimeAwareForecast

__all__ = ["CalibrationResult", "brier_score", "brier_skill", "calibration"]

GROUP_COLUMNS = ("deals", "predicted", "realised", "interval_low", "interval_high", "brier")


def brier_score(predicted: Any, outcome: Any) -> float:
    """mean((p − y)²) over the pairs; y is 1 (won) or 0 (lost). NaN when empty."""
    p = np.asarray(predicted, dtype=float)
    y = np.asarray(outcome, dtype=float)
    if p.shape != y.shape:
        raise PipesheetError(
            _("predictions and outcomes differ in length"),
            table="settings",
            value=f"{p.size} vs {y.size}",
            expected=_("one outcome per prediction"),
        )
    if p.size and ((p < 0) | (p > 1) | np.isnan(p)).any():
        raise PipesheetError(
            _("a probability is outside 0–1"),
            table="settings",
            value=float(p[(p < 0) | (p > 1) | np.isnan(p)][0]),
            expected=_("probabilities between 0 and 1"),
        )
    if y.size and ~np.isin(y, (0.0, 1.0)).all():
        raise PipesheetError(
            _("an outcome is not 0 or 1"), table="settings", expected=_("1 = won, 0 = lost")
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
        brier_reference: The score of always predicting the realised base rate r, r(1 − r).
        brier_skill: 1 − brier / brier_reference (below 0: worse than the base rate).
        probabilities, as_of, period_end: What was calibrated (``"learned"``, ``"time-aware"``,
            ``"calibrated"``, ``"configured"``, a preset name or ``"table"``), and when.
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

    @property
    def brier_skill(self) -> float:
        """1 − Brier / Brier of always predicting the base rate (:func:`brier_skill`)."""
        return brier_skill(self.brier, self.brier_reference)

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
            "brier_skill": self.brier_skill,
        }

    @property
    def summary(self) -> pd.DataFrame:
        """One row: probabilities, as_of, period_end, deals scored, open excluded, mean
        predicted and realised, Brier score, its reference and the Brier skill."""
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
                    "brier_skill": self.brier_skill,
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


#: The named probabilities :func:`calibration` checks besides a preset name or a table;
#: ``"stage"`` is the old name of ``"learned"``.
CALIBRATED = ("learned", "time-aware", "calibrated", "configured")
#: Sources whose outcome is "won by ``period_end``" (the others: won by the end of the history).
WINDOWED = ("time-aware", "calibrated")


def _which_probabilities(value: Any) -> tuple[str, pd.DataFrame | None]:
    """(label, stage table or None): ``"learned"``, ``"time-aware"``, ``"calibrated"``,
    ``"configured"``, a preset name (with its table), or ``"table"`` with the stage →
    probability table given (a table or a mapping). ``"stage"``, the old value of
    ``"learned"``, with a warning."""
    from pipesheet.presets import PRESETS, probability_table

    if isinstance(value, (pd.DataFrame, Mapping)):
        return "table", probability_table(value)
    key = value.strip().casefold() if isinstance(value, str) else value
    if key == "stage":
        warnings.warn(
            "probabilities 'stage' is deprecated: use 'learned'", DeprecationWarning, stacklevel=3
        )
        return "learned", None
    if key in CALIBRATED:
        return key, None
    if key in PRESETS:
        return key, probability_table(key)
    raise PipesheetError(
        _("unknown probabilities to calibrate"),
        table="settings",
        column="probabilities",
        value=value if isinstance(value, (str, int, float)) else type(value).__name__,
        expected=_(
            "'learned' (the stage probabilities), 'time-aware', 'calibrated', 'configured' (the "
            "CRM's Probability column), a preset name ({presets}) or a stage/probability table"
        ).format(presets=", ".join(PRESETS)),
    )


def calibration(
    history: Any,
    deals: Any = None,
    as_of: Any = None,
    *,
    probabilities: str | pd.DataFrame | Mapping[str, float] = "learned",
    period_end: Any = None,
    buckets: int = 10,
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
    method: str = DEPRECATED,
    **options: Any,
) -> CalibrationResult:
    """Calibrate the probabilities predicted on ``as_of`` against what happened after it.

    Args:
        history: Stage history.
        deals: Deals table (optional; checked against the history when given; needed for
            ``"calibrated"`` amounts and, without a probability column in the history, for
            ``"configured"``).
        as_of: Prediction date D (required: a date before the end of the history).
        probabilities: Which probabilities — the same values as
            ``weighted_forecast(probabilities=…)``: ``"learned"`` (default: the stage
            probabilities p_s learned on D), ``"configured"`` (the CRM's Probability column), a
            preset name (``"salesforce"``…) or a stage → probability table or mapping — all
            scored against the outcome by the end of the history, open deals censored; or
            ``"time-aware"`` / ``"calibrated"`` (P(won by ``period_end``), outcome = won by
            ``period_end``). ``method=`` is its old name.
        period_end: End of the forecast window for ``"time-aware"`` and ``"calibrated"`` (a
            date or month / quarter / year: the end of that period containing D).
        buckets: Number of equal-width probability buckets.
        stages, columns: Stage list and column mapping.
        **options: Settings of :class:`~pipesheet.timeaware.TimeAwareForecast` (``conditioning``,
            ``bin_days``, ``min_at_risk``, ``half_life``…) or, for ``"calibrated"``, of
            :class:`~pipesheet.calibrated.CalibratedForecast` (also ``rates``, ``currency``,
            ``blank_amounts``…).

    Returns:
        A :class:`CalibrationResult`.
    """
    label, given = _which_probabilities(
        renamed("method", "probabilities", method, probabilities, "learned")
    )
    if isinstance(buckets, bool) or not isinstance(buckets, (int, np.integer)) or buckets < 1:
        raise PipesheetError(
            _("buckets must be a whole number ≥ 1"),
            table="settings",
            column="buckets",
            value=buckets,
            expected=_("e.g. 10"),
        )
    tables = load_tables(history, deals, stages, columns)
    a = tables.arrays
    d_day = day_number(as_of)
    last_day = int(a.day.max())
    if d_day is None or d_day >= last_day:
        raise PipesheetError(
            _("calibration needs a past as-of date: outcomes are read from the history after it"),
            table="settings",
            column="as_of",
            value=as_of if d_day is None else str(day_timestamp(d_day).date()),
            expected=_("a date before the end of the history ({date})").format(
                date=day_timestamp(last_day).date()
            ),
        )
    notes = list(tables.notes)
    st_d = deal_states(a, d_day)
    open_d = np.flatnonzero((st_d.code >= 0) & (st_d.code < a.k))
    end_ts = None
    if label in WINDOWED:
        predicted, end_day = _windowed(label, tables, d_day, open_d, period_end, notes, options)
        end_ts = day_timestamp(end_day)
        outcome = (deal_states(a, end_day).code[open_d] == a.k).astype(float)
    else:
        predicted = _by_stage(label, given, tables, d_day, st_d, open_d, notes)
        final = deal_states(a, last_day).code[open_d]
        outcome = np.where(final == a.k, 1.0, np.where(final == a.k + 1, 0.0, np.nan))
        n_open = int(np.isnan(outcome).sum())
        if n_open:
            notes.append(
                _(
                    "{count} deal(s) open on {date} are still open at the end of the history: "
                    "censored, not scored (not counted as lost)"
                ).format(count=n_open, date=day_timestamp(d_day).date())
            )
    unknown = np.isnan(predicted)
    if unknown.any():
        notes.append(
            (
                _("{count} deal(s) at stages with no learned probability are not scored")
                if label in ("learned", *WINDOWED)
                else _("{count} deal(s) at stages with no probability are not scored")
            ).format(count=int(unknown.sum()))
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
    result = CalibrationResult(
        by_stage=pd.DataFrame(by_stage),
        by_bucket=pd.DataFrame(by_bucket),
        deals=frame,
        brier=brier_score(p, y),
        brier_reference=rate * (1 - rate) if len(y) else np.nan,
        probabilities=label,
        as_of=day_timestamp(d_day),
        period_end=end_ts,
        notes=notes,
    )
    result.notes[:0] = _skill_notes(result, rate)  # the verdict first
    return result


def brier_skill(brier: float, reference: float) -> float:
    """1 − Brier / Brier of always predicting the base rate (GLOSSARY *Brier skill*): 1 is
    perfect, 0 no better than the base rate, below 0 worse. NaN when the reference is 0 (every
    scored deal had the same outcome) or unknown."""
    if not np.isfinite(brier) or not np.isfinite(reference) or reference <= 0:
        return float("nan")
    return float(1.0 - brier / reference)


def _skill_notes(result: CalibrationResult, rate: float) -> list[str]:
    """What the skill says, in words: worse than the base rate, or not measurable."""
    words = _SOURCE_WORDS.get(result.probabilities)
    name = _(words) if words else _("the {name} probabilities").format(name=result.probabilities)
    skill = result.brier_skill
    if np.isnan(result.brier):
        return [_("no deal could be scored: no Brier score")]
    if np.isnan(skill):
        return [
            _(
                "every scored deal had the same outcome: the Brier skill against the base rate "
                "is not defined"
            )
        ]
    if skill < 0:
        return [
            _(
                "{source} are worse than always predicting the base rate ({rate}): Brier "
                "{brier} vs {reference}, skill {skill}"
            ).format(
                source=name,
                rate=format_percent(rate, 1),
                brier=format_number(result.brier, 4),
                reference=format_number(result.brier_reference, 4),
                skill=signed_number(skill, 2),
            )
        ]
    return []


_SOURCE_WORDS = {
    "learned": N_("the learned stage probabilities"),
    "time-aware": N_("the time-aware probabilities"),
    "calibrated": N_("the calibrated forecast's probabilities"),
    "configured": N_("the CRM's configured probabilities"),
    "table": N_("the given probability table's probabilities"),
}


def _windowed(
    label: str,
    tables: Any,
    d_day: int,
    open_d: np.ndarray,
    period_end: Any,
    notes: list[str],
    options: dict[str, Any],
) -> tuple[np.ndarray, int]:
    """P(won by the period end) of the deals open on D — the time-aware model's, or the
    calibrated forecast's (the model's × e^b, at most 1) — and the period end's day."""
    a = tables.arrays
    if period_end is None:
        raise PipesheetError(
            _("the {label} calibration needs a period end").format(label=label),
            table="settings",
            column="period_end",
            expected=_("a date after as_of, on or before the end of the history"),
        )
    last_day = int(a.day.max())
    if label == "time-aware":
        model = TimeAwareForecast(
            stages=tables.hist.stages, as_of=day_timestamp(d_day), period_end=period_end, **options
        )
        model.fit_loaded(tables, deals=False, forecast_range=False)
        end = model.period_end_
        column, deals_frame = "probability", model.deals_
        said = [n for n in model.notes_ if not note_is(n, "probabilities only")]  # no money
    else:
        from pipesheet.calibrated import CalibratedForecast

        cal = CalibratedForecast(
            stages=tables.hist.stages, as_of=day_timestamp(d_day), period_end=period_end, **options
        )
        _check_end_known(period_end, d_day, last_day, options)
        cal.fit_loaded(tables)
        end = cal.result_.period_end
        column, deals_frame = "calibrated_probability", cal.deals_
        said = [_("calibrated forecast: {method}").format(method=cal.method_), *cal.notes_]
    notes.extend(n for n in said if n not in notes and not note_is(n, "later history row"))
    end_day = int(np.datetime64(end, "D").astype(np.int64))
    if end_day > last_day:
        raise _late_end(end, last_day, tables)
    if label == "time-aware" and isinstance(period_end, str):
        if period_end.strip().casefold() in PERIOD_WORDS:
            _end, note = window_end(
                day_timestamp(d_day), period_end, options.get("fiscal_year_start", 1)
            )
            if note and note not in notes:  # as-of is the period's last day: the next period
                notes.append(note)
    order = pd.Series(np.arange(len(a.ids)), index=pd.Index(a.ids))
    pos = order.reindex(deals_frame["deal_id"]).to_numpy()
    lookup = pd.Series(deals_frame[column].to_numpy(dtype=float), index=pos)
    return lookup.reindex(open_d).to_numpy(dtype=float), end_day


def _check_end_known(period_end: Any, d_day: int, last_day: int, options: dict) -> None:
    """Refuse a window that ends after the history, before fitting anything on it."""
    from pipesheet.periods import window_end_day

    end_day = window_end_day(period_end, d_day, options.get("fiscal_year_start", 1), [])
    if end_day > last_day:
        raise _late_end(day_timestamp(end_day), last_day, None)


def _late_end(end: pd.Timestamp, last_day: int, tables: Any) -> PipesheetError:
    return PipesheetError(
        _("the period ends after the history does: its outcomes are not known yet"),
        table="settings",
        column="period_end",
        value=str(pd.Timestamp(end).date()),
        expected=_("a date on or before {date}").format(date=day_timestamp(last_day).date()),
    )


def _by_stage(
    label: str,
    given: pd.DataFrame | None,
    tables: Any,
    d_day: int,
    st_d: Any,
    open_d: np.ndarray,
    notes: list[str],
) -> np.ndarray:
    """Each open deal's eventual win probability on D: learned on D, from a preset or a table
    (by its stage on D), or the CRM's configured one (see :func:`_configured`)."""
    a = tables.arrays
    stages = tables.hist.stages
    codes = st_d.code[open_d]
    if label == "learned":
        model = StageProbabilities(stages=stages, as_of=day_timestamp(d_day)).fit(tables.hist)
        return model.overall_["win_probability"].to_numpy(dtype=float)[codes]
    if label == "configured":
        return _configured(tables, d_day, open_d, codes, notes)
    by_stage = np.full(a.k, np.nan)
    matched = stages.codes(given["stage"])
    for c, v in zip(matched, given["probability"].to_numpy(dtype=float), strict=True):
        if 0 <= c < a.k:
            by_stage[c] = v
    if np.isnan(by_stage).all():
        present = [stages.open[c] for c in sorted(set(codes.tolist()))]
        problem = (
            _(
                "the history's stage names do not match the probability table: the open stages "
                "are {stages}; the probability table has {given}"
            )
            if label == "table"
            else _(
                "the history's stage names do not match the preset {preset}: the open stages "
                "are {stages}; the preset {preset} has {given}"
            )
        )
        raise PipesheetError(
            problem.format(
                preset=repr(label),
                stages=", ".join(map(repr, present or stages.open)),
                given=", ".join(map(repr, given["stage"].tolist())),
            ),
            table=tables.hist.name,
            column=tables.hist.columns.get("stage"),
            expected=_(
                "probabilities for the history's own stage names (a stage/probability table)"
            ),
        )
    missing = [stages.open[c] for c in sorted(set(codes[np.isnan(by_stage[codes])].tolist()))]
    if missing:
        notes.append(
            (
                _("the probability table has no probability for {stages}")
                if label == "table"
                else _("the preset {preset} has no probability for {stages}")
            ).format(preset=repr(label), stages=", ".join(missing))
        )
    return by_stage[codes]


def _configured(
    tables: Any, d_day: int, open_d: np.ndarray, codes: np.ndarray, notes: list[str]
) -> np.ndarray:
    """The CRM's own probability of each deal open on D, as known on D.

    * The history records one per row (Salesforce OpportunityHistory ``Probability``): the
      latest value recorded on or before D.
    * Otherwise the deals table's Probability column, as it is now. A deal closed since D shows
      100% or 0% there — its outcome, not what was predicted — so each deal gets the value of
      its stage on D: the most common value among the deals open at that stage now (a note says
      so; the values may have been changed since D).
    """
    a = tables.arrays
    day = day_timestamp(d_day).date()
    if a.probability is not None:
        known = latest_values(a, a.probability, d_day, np.isnan(a.probability))[open_d]
        notes.append(
            _("configured probabilities: as the history recorded them on or before {date}").format(
                date=day
            )
        )
        return known
    deals = tables.deals
    if deals is None or "probability" not in deals.frame:
        raise PipesheetError(
            _(
                "no configured probabilities: neither the history nor a deals table has a "
                "Probability column"
            ),
            table=tables.hist.name,
            expected=_(
                "a Probability column in the history (e.g. Salesforce OpportunityHistory) or "
                "the deals table (e.g. Probability (%))"
            ),
        )
    frame = deals.frame
    now_open = frame[frame["code"] < deals.stages.k]
    values = now_open[["code", "probability"]].dropna()  # codes of the history's stage list
    by_stage = np.full(a.k, np.nan)
    mixed = []
    for c, part in values.groupby("code")["probability"]:  # a loop over stages
        if 0 <= c < a.k:
            counts = part.round(6).value_counts()
            by_stage[int(c)] = float(counts.index[0])
            if len(counts) > 1:
                mixed.append(tables.hist.stages.open[int(c)])
    names = tables.hist.stages.open
    said = ", ".join(
        f"{s} {format_percent(by_stage[i], 0)}" for i, s in enumerate(names) if by_stage[i] >= 0
    )
    if mixed:
        note = _(
            "configured probabilities: the history records none, so each deal gets its stage's "
            "value on {date} as the deals table shows it now for the deals open at that stage "
            "({values}); the CRM's settings may have been changed since (deals at {stages} "
            "differ: the most common value was used)"
        )
    else:
        note = _(
            "configured probabilities: the history records none, so each deal gets its stage's "
            "value on {date} as the deals table shows it now for the deals open at that stage "
            "({values}); the CRM's settings may have been changed since"
        )
    notes.append(note.format(date=day, values=said, stages=", ".join(mixed)))
    return by_stage[codes]
