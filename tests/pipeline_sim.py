"""An event-level pipeline generator for tests: deals arrive at a Poisson rate, move through the
stages with given conversions and dwell times, and are written out as a stage history and a deals
table as they stand on an as-of day.

Each deal starts at the first open stage (or skips it, see ``skip``). At each open stage s it
stays an exponential time with mean ``dwell[s]`` days (0: it leaves the same day), then goes

* back to s − 1 with probability ``back[s]``;
* else forward with probability ``conversion[s]`` (to s + 1, or Won from the last stage), where a
  deal moving into stage t jumps over it with probability ``skip[t]`` (and so on);
* else to Lost.

Without backward moves and skips, in steady state: deals reaching s per day
λ_s = per_day · Π_{j<s} conversion_j; P(win | reached s) = Π_{j≥s} conversion_j; the open deals at
s are Poisson with mean λ_s · dwell_s (an M/M/∞ queue); mean days from entering s to Won of won
deals = Σ_{j≥s} dwell_j.

The generation is vectorised over deals; the loop runs over moves (a deal makes at most
``max_moves``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Flow:
    """How deals move: per open stage, forward conversion, mean dwell days, back and skip
    probabilities (None: all 0)."""

    stages: tuple[str, ...]
    conversion: tuple[float, ...]
    dwell: tuple[float, ...]
    back: tuple[float, ...] | None = None
    skip: tuple[float, ...] | None = None

    def reach_per_day(self, per_day: float) -> np.ndarray:
        """λ_s: deals reaching each stage per day (no back moves, no skips)."""
        c = np.asarray(self.conversion, dtype=float)
        return per_day * np.r_[1.0, np.cumprod(c[:-1])]

    def win_probability(self) -> np.ndarray:
        """P(win | reached s) = Π_{j≥s} c_j (no back moves, no skips)."""
        c = np.asarray(self.conversion, dtype=float)
        return np.cumprod(c[::-1])[::-1]

    def expected_open(self, per_day: float) -> np.ndarray:
        """Mean open deals at each stage in steady state: λ_s · dwell_s."""
        return self.reach_per_day(per_day) * np.asarray(self.dwell, dtype=float)

    def days_to_won(self) -> np.ndarray:
        """Mean days from entering s to Won for won deals: Σ_{j≥s} dwell_j."""
        d = np.asarray(self.dwell, dtype=float)
        return np.cumsum(d[::-1])[::-1]


def simulate(
    flow: Flow,
    *,
    per_day: float,
    as_of: str,
    years: float = 4.0,
    amount_mean: float = 20_000.0,
    amount_cv: float = 0.5,
    seed: int = 0,
    max_moves: int = 200,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(history, deals) as known at the end of ``as_of``: history columns ``Deal ID``,
    ``Stage``, ``Entered Date`` (days); deals columns ``Deal ID``, ``Stage`` (on as-of),
    ``Amount`` (gamma with the given mean and coefficient of variation)."""
    rng = np.random.default_rng(seed)
    k = len(flow.stages)
    conv = np.asarray(flow.conversion, dtype=float)
    dwell = np.asarray(flow.dwell, dtype=float)
    back = np.zeros(k) if flow.back is None else np.asarray(flow.back, dtype=float)
    skip = np.zeros(k) if flow.skip is None else np.asarray(flow.skip, dtype=float)
    horizon = years * 365.0  # days before the end of the as-of day
    n = rng.poisson(per_day * horizon)
    t = np.sort(rng.uniform(0.0, horizon, n))

    def skipping(stage: np.ndarray) -> np.ndarray:
        for s in range(k - 1):  # a deal moving into s may jump over it (never past the last)
            jump = (stage == s) & (rng.uniform(size=len(stage)) < skip[s])
            stage = np.where(jump, s + 1, stage)
        return stage

    stage = skipping(np.zeros(n, dtype=np.int64))
    deal_rows, code_rows, time_rows = [], [], []
    alive = np.arange(n)
    for _ in range(max_moves):
        if not len(alive):
            break
        s = stage[alive]
        deal_rows.append(alive)
        code_rows.append(s)
        time_rows.append(t[alive])
        mean = dwell[s]
        t[alive] += np.where(mean > 0, rng.exponential(np.where(mean > 0, mean, 1.0)), 0.0)
        u = rng.uniform(size=len(alive))
        goes_back = (s > 0) & (u < back[s])
        forward = ~goes_back & (u < back[s] + (1 - back[s]) * conv[s])
        nxt = np.where(goes_back, s - 1, np.where(forward, s + 1, k + 1))  # k = Won, k+1 = Lost
        nxt = np.where(forward & (nxt < k), skipping(nxt), nxt)
        stage[alive] = nxt
        done = nxt >= k
        if done.any():
            ended = alive[done]
            deal_rows.append(ended)
            code_rows.append(nxt[done])
            time_rows.append(t[ended])
        alive = alive[~done]
    deal = np.concatenate(deal_rows)
    code = np.concatenate(code_rows)
    when = np.concatenate(time_rows)
    known = when < horizon
    deal, code, when = deal[known], code[known], when[known]
    order = np.lexsort((when, deal))  # a deal's rows in time order (stable for equal days)
    deal, code, when = deal[order], code[order], when[order]
    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    dates = (end - pd.to_timedelta(horizon - when, unit="D")).floor("D")
    names = np.array([*flow.stages, "Won", "Lost"], dtype=object)
    ids = np.array([f"D{i:06d}" for i in range(n)], dtype=object)
    history = pd.DataFrame({"Deal ID": ids[deal], "Stage": names[code], "Entered Date": dates})
    last = np.r_[deal[1:] != deal[:-1], True]
    present = deal[last]
    shape = 1.0 / amount_cv**2
    amount = rng.gamma(shape, amount_mean / shape, n).round(2)
    deals = pd.DataFrame(
        {"Deal ID": ids[present], "Stage": names[code[last]], "Amount": amount[present]}
    )
    return history, deals
