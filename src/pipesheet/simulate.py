"""Pipelines generated from known processes: the ground truth for measuring forecast accuracy.

:func:`simulate_pipeline` walks deals through a funnel day by day (vectorised: one step per
stage change, never a loop over deals) and returns what a CRM would export on the export date —
a deals table and a stage history — generated from a process whose parameters are known, so a
forecast made on any earlier date can be checked against what the process then did.

The process (:class:`Scenario`):

* deals are created at ``per_day`` a day (Poisson) over ``days`` before the export date, most at
  the first stage, ``mid_funnel`` of them at the 2nd or 3rd;
* from stage s a deal moves on with probability ``conversion[s]`` (on the logit scale shifted by
  its rep's effect and by ``drift`` per year), else it is lost; it may skip a stage
  (``skip``); the days it spends at s are lognormal around ``dwell[s]`` (× ``lost_dwell`` before
  a loss);
* ``zombie``: at each step a deal may go quiet — nobody updates it again; of those, a share is
  closed out as Lost in a clean-up months later (``zombie_cleanup``) and a few come back and win
  (``zombie_revive``); the rest stay open for ever, growing older than any deal that closed;
* ``quarter_push``: a share of wins are recorded on the last days of their quarter (the
  quarter-end push) instead of when they happened;
* reps differ in win rate (``rep_sd`` on the logit scale), and reps hired in the last year differ
  by ``new_rep_logit`` (a pipeline whose mix of reps changes);
* amounts are lognormal; ``whale_share`` of deals are ``whale_factor`` times larger;
* expected close dates: set at creation (optimistically when ``slip`` > 0) and pushed out at a
  stage change that finds them passed; a closed deal's is overwritten with its close date (as
  CRMs do).  The history carries the expected close date of each moment.

:data:`SCENARIOS` names the processes the accuracy benchmark runs.  The same seed gives the same
tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["SCENARIOS", "Scenario", "simulate_pipeline"]

WON, LOST = "Closed Won", "Closed Lost"


@dataclass(frozen=True)
class Scenario:
    """Parameters of a generated pipeline (see the module docstring)."""

    name: str = "baseline"
    description: str = "a stationary pipeline: no quirks"
    stages: tuple[str, ...] = ("Lead", "Qualified", "Proposal", "Negotiation")
    end: str = "2026-09-30"
    days: int = 1095
    per_day: float = 25.0
    conversion: tuple[float, ...] = (0.55, 0.55, 0.60, 0.65)
    dwell: tuple[float, ...] = (12.0, 18.0, 24.0, 16.0)
    dwell_sigma: float = 0.6
    lost_dwell: float = 1.5
    mid_funnel: float = 0.15
    skip: float = 0.03
    zombie: float = 0.0
    zombie_cleanup: float = 0.2
    zombie_revive: float = 0.03
    quarter_push: float = 0.0
    n_reps: int = 12
    rep_sd: float = 0.0
    new_rep_logit: float = 0.0
    drift: float = 0.0
    amount_median: float = 20_000.0
    amount_sigma: float = 0.8
    whale_share: float = 0.0
    whale_factor: float = 30.0
    slip: float = 0.0
    tags: tuple[str, ...] = field(default=())


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(),
        Scenario(
            "long_open",
            "deals that go quiet and stay open far past any closed deal's age",
            zombie=0.06,
        ),
        Scenario("quarter_end", "wins recorded in the last days of each quarter", quarter_push=0.6),
        Scenario(
            "reps",
            "reps with different win rates; last year's hires win less",
            rep_sd=0.5,
            new_rep_logit=-0.8,
        ),
        Scenario("slipping", "optimistic expected close dates, pushed out as they pass", slip=2.0),
        Scenario("skipping", "a third of the moves skip a stage", skip=0.3),
        Scenario("drift", "win rates falling over time (−0.2 logit a year per step)", drift=-0.2),
        Scenario(
            "whales",
            "a few very large deals: 0.3% of deals fifty times the usual size",
            whale_share=0.003,
            whale_factor=50,
        ),
        Scenario(
            "everything",
            "all of the above at once, milder",
            zombie=0.04,
            quarter_push=0.4,
            rep_sd=0.4,
            new_rep_logit=-0.5,
            slip=1.5,
            skip=0.15,
            drift=-0.15,
            whale_share=0.005,
            whale_factor=30,
        ),
    )
}


def _day(text: str) -> int:
    return int(np.datetime64(text, "D").astype(np.int64))


def _quarter_end(days: np.ndarray) -> np.ndarray:
    stamps = pd.DatetimeIndex(days.astype("datetime64[D]"))
    ends = (stamps + pd.offsets.QuarterEnd(0)).to_numpy().astype("datetime64[D]")
    return ends.astype(np.int64)


def simulate_pipeline(
    scenario: Scenario | str = "baseline", seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(deals, history)`` exported on ``scenario.end`` from the scenario's process.

    deals: ``Deal ID``, ``Stage``, ``Amount``, ``Expected Close Date``, ``Owner``,
    ``Created Date``; history: ``Deal ID``, ``Stage``, ``Entered Date``, ``Close Date`` (the
    expected close date as known at that row).  Dates are ``datetime64``.
    """
    s = SCENARIOS[scenario] if isinstance(scenario, str) else scenario
    rng = np.random.Generator(np.random.PCG64(seed))
    end = _day(s.end)
    first = end - s.days
    n = int(rng.poisson(s.per_day * s.days))
    created = np.sort(rng.integers(first, end + 1, size=n))
    k = len(s.stages)
    won_code, lost_code = k, k + 1
    # reps: hired evenly from before the history to 100 days before its end
    hired = np.linspace(first - 200, end - 100, s.n_reps).astype(np.int64)
    rep_effect = rng.normal(0.0, s.rep_sd, s.n_reps) + np.where(
        hired > end - 365, s.new_rep_logit, 0.0
    )
    available = np.maximum((created[:, None] >= hired[None, :]).sum(axis=1), 1)
    rep = np.floor(rng.random(n) * available).astype(np.int64)
    start = np.where(rng.random(n) < s.mid_funnel, rng.integers(1, min(3, k), size=n), 0)
    amount = np.exp(np.log(s.amount_median) + s.amount_sigma * rng.standard_normal(n))
    amount = np.where(rng.random(n) < s.whale_share, amount * s.whale_factor, amount)
    amount = np.maximum(np.round(amount), 100.0)
    base = np.log(np.asarray(s.conversion) / (1 - np.asarray(s.conversion)))
    log_dwell = np.log(np.asarray(s.dwell))
    # expected close at creation: a guess of the cycle, optimistic by `slip`
    guess = np.exp(np.log(70.0) - 0.25 * s.slip + 0.5 * rng.standard_normal(n))
    expected = created + np.maximum(np.rint(guess), 7).astype(np.int64)

    rows = k + 4
    stage_mat = np.full((n, rows), -1, dtype=np.int16)
    day_mat = np.zeros((n, rows), dtype=np.int64)
    close_mat = np.zeros((n, rows), dtype=np.int64)
    stage_mat[:, 0], day_mat[:, 0], close_mat[:, 0] = start, created, expected
    cur, now, active = start.copy(), created.copy(), np.ones(n, dtype=bool)
    for step in range(1, rows):  # one step per stage change: at most k + 3
        idx = np.flatnonzero(active)
        if not len(idx):
            break
        quiet = rng.random(len(idx)) < s.zombie
        if quiet.any():  # gone quiet: a clean-up loss, a late win, or open for ever
            q = idx[quiet]
            fate = rng.random(len(q))
            revive = fate < s.zombie_revive
            cleanup = ~revive & (fate < s.zombie_revive + s.zombie_cleanup)
            later = np.where(revive, rng.integers(90, 400, len(q)), rng.integers(180, 720, len(q)))
            closes = (revive | cleanup) & (now[q] + later <= end)
            c = q[closes]
            outcome = np.where(revive, won_code, lost_code)[closes]
            stage_mat[c, step] = outcome
            day_mat[c, step] = now[c] + later[closes]
            close_mat[c, step] = day_mat[c, step]
            cur[c], now[c] = outcome, day_mat[c, step]
            active[q] = False
            idx = idx[~quiet]
        i = cur[idx]
        years = (now[idx] - end) / 365.0
        p = 1.0 / (1.0 + np.exp(-(base[i] + rep_effect[rep[idx]] + s.drift * years)))
        advance = rng.random(len(idx)) < p
        skip = advance & (rng.random(len(idx)) < s.skip) & (i + 2 <= k)
        nxt = np.where(advance, np.minimum(i + 1 + skip, k), lost_code)
        dwell = np.exp(log_dwell[i] + s.dwell_sigma * rng.standard_normal(len(idx)))
        dwell *= np.where(advance, 1.0, s.lost_dwell)
        when = now[idx] + np.maximum(1, np.rint(dwell)).astype(np.int64)
        if s.quarter_push > 0:
            push = (nxt == won_code) & (rng.random(len(idx)) < s.quarter_push)
            q_end = _quarter_end(when) - rng.integers(0, 4, size=len(idx))
            when = np.where(push & (q_end >= when), q_end, when)
        happens = when <= end
        active[idx[~happens]] = False
        ok, nxt_ok, when_ok = idx[happens], nxt[happens], when[happens]
        passed = expected[ok] < when_ok + 7
        expected[ok] = np.where(passed, when_ok + 30, expected[ok])
        closed = nxt_ok >= won_code
        expected[ok[closed]] = when_ok[closed]  # a CRM overwrites it with the close date
        stage_mat[ok, step], day_mat[ok, step], close_mat[ok, step] = nxt_ok, when_ok, expected[ok]
        cur[ok], now[ok] = nxt_ok, when_ok
        active[ok[closed]] = False
    names = np.array([*s.stages, WON, LOST], dtype=object)
    ids = np.array([f"D{j:06d}" for j in range(n)], dtype=object)
    final_close = close_mat[np.arange(n), np.maximum((stage_mat >= 0).sum(axis=1) - 1, 0)]
    owners = np.array([f"Rep {r + 1:02d}" for r in range(s.n_reps)], dtype=object)

    def dates(days: np.ndarray) -> np.ndarray:
        return days.astype("datetime64[D]").astype("datetime64[ns]")

    deals = pd.DataFrame(
        {
            "Deal ID": ids,
            "Stage": names[cur],
            "Amount": amount,
            "Expected Close Date": dates(final_close),
            "Owner": owners[rep],
            "Created Date": dates(created),
        }
    )
    keep = stage_mat.reshape(-1) >= 0
    deal_of = np.repeat(np.arange(n), rows)[keep]
    history = pd.DataFrame(
        {
            "Deal ID": ids[deal_of],
            "Stage": names[stage_mat.reshape(-1)[keep]],
            "Entered Date": dates(day_mat.reshape(-1)[keep]),
            "Close Date": dates(close_mat.reshape(-1)[keep]),
        }
    )
    return deals, history


# ---- measuring pipesheet's forecasts on them ------------------------------------------------
METHODS = ("weighted pipeline", "time-aware", "calibrated")


def evaluate_forecasts(
    scenario: Scenario | str = "baseline",
    seeds: tuple[int, ...] = (1, 2, 3),
    *,
    period: str = "quarter",
    periods: int = 6,
    **calibration: object,
) -> pd.DataFrame:
    """Forecast the last ``periods`` whole periods of generated pipelines with each method, as of
    the day before each period starts, and compare with what the process then did.

    Methods: the weighted pipeline (p_stage of the deals expected to close in the period, close
    dates as known then), the time-aware forecast, and the calibrated forecast
    (:class:`pipesheet.calibrated.CalibratedForecast`, ``calibration`` passed to it). Actual =
    revenue won in the period from the deals open the day before (what a pipeline forecast
    predicts).

    Returns one row per (seed, period, method): ``scenario``, ``seed``, ``period``, ``method``,
    ``forecast``, ``actual``, ``p10``, ``p50``, ``p90`` (the method's range: the deals' coin flips
    for the first two, the calibrated range for the third), ``brier`` and ``brier_reference``
    (sums over the deals of (p − y)² and of (r − y)², y = won in the period, r = the period's
    base rate), ``deals``.
    """
    from pipesheet.backtest import backtest
    from pipesheet.calibrated import CalibratedForecast
    from pipesheet.ranges import forecast_range
    from pipesheet.timeaware import load_tables

    s = SCENARIOS[scenario] if isinstance(scenario, str) else scenario
    months = {"month": 1, "quarter": 3}[period]
    export = pd.Timestamp(s.end)
    last_end = (export + pd.offsets.MonthEnd(0)) if export.is_month_end else export
    last_end = last_end if last_end.is_month_end else last_end - pd.offsets.MonthEnd(1)
    while last_end.month % months:
        last_end = last_end - pd.offsets.MonthEnd(1)
    first_start = (
        last_end - pd.DateOffset(months=months * periods) + pd.offsets.MonthEnd(0)
    ) + pd.Timedelta(days=1)
    rows: list[dict] = []
    for seed in seeds:
        deals, history = simulate_pipeline(s, seed)
        tables = load_tables(history, deals, None, None)
        result = backtest(tables.hist, tables.deals, first_start, periods, period)
        wide = result.table.set_index(["period", "method"])
        cache: dict = {}
        for label, pred in result.predictions.groupby("period", sort=False):
            start = pd.Timestamp(wide.xs(label, level="period")["period_start"].iloc[0])
            end = pd.Timestamp(wide.xs(label, level="period")["period_end"].iloc[0])
            actual = float(wide.xs(label, level="period")["actual"].iloc[0])
            y = pred["won"].to_numpy(dtype=float)
            amount = pred["amount"].to_numpy(dtype=float)
            naive = np.where(pred["in_period"], pred["stage_probability"], 0.0)
            timed = pred["time_aware_probability"].to_numpy(dtype=float)
            cal = CalibratedForecast(
                stages=tables.hist.stages,
                as_of=start - pd.Timedelta(days=1),
                period_end=end,
                **calibration,  # type: ignore[arg-type]
            ).fit_loaded(tables, cache=cache)
            calibrated = (
                cal.deals_.set_index("deal_id")["calibrated_probability"]
                .reindex(pred["deal_id"])
                .to_numpy(dtype=float)
            )
            for method, p in zip(METHODS, (naive, timed, calibrated), strict=True):
                ok = ~np.isnan(p)
                rate = y[ok].mean() if ok.any() else np.nan
                row = {
                    "scenario": s.name,
                    "seed": seed,
                    "period": label,
                    "method": method,
                    "forecast": float(np.sum(amount[ok] * p[ok])),
                    "actual": actual,
                    "brier": float(np.sum((p[ok] - y[ok]) ** 2)),
                    "brier_reference": float(np.sum((rate - y[ok]) ** 2)),
                    "deals": int(ok.sum()),
                }
                if method == "calibrated":
                    row.update(forecast=cal.forecast_, p10=cal.p10_, p50=cal.p50_, p90=cal.p90_)
                else:
                    rng = forecast_range(amount[ok], p[ok])
                    row.update(p10=rng.p10, p50=rng.p50, p90=rng.p90)
                rows.append(row)
    return pd.DataFrame(rows)


def accuracy_table(evaluated: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and method: ``periods``, ``mape`` (mean |forecast/actual − 1|), ``bias``
    (mean of forecast/actual − 1), ``coverage`` (share of periods whose actual fell inside
    P10–P90), ``above_p50`` (share above P50) and ``brier_skill`` (1 − Σ Brier / Σ Brier of the
    base rate, pooled over the periods' deals; below 0: worse than the base rate)."""
    frame = evaluated[evaluated["actual"] > 0].copy()
    frame["error"] = frame["forecast"] / frame["actual"] - 1.0
    frame["inside"] = (frame["actual"] >= frame["p10"]) & (frame["actual"] <= frame["p90"])
    frame["above"] = frame["actual"] > frame["p50"]
    g = frame.groupby(["scenario", "method"], sort=False)
    return pd.DataFrame(
        {
            "periods": g.size(),
            "mape": g["error"].apply(lambda e: e.abs().mean()),
            "bias": g["error"].mean(),
            "coverage": g["inside"].mean(),
            "above_p50": g["above"].mean(),
            "brier_skill": 1.0 - g["brier"].sum() / g["brier_reference"].sum(),
        }
    ).reset_index()
