"""Conversion by stage over time, and bottleneck flags.

**Step conversion** of stage s in a period (the glossary's definition, per cohort): take the
*closed* deals that entered s in that period (their first entry into s); the step conversion is
the share of them that also reached the next open stage or Won:

    step_s(period) = converted_s(period) / closed_s(period)

Open deals are censored and left out, as for the win probability. Over all periods together this
equals the ``step_conversion`` column of :class:`~pipesheet.probabilities.StageProbabilities`.

**Bottleneck**: the stage whose step conversion in the period checked (default: the latest period
in which every stage has at least ``min_closed`` closed deals and at most ``max_open_share`` of
its deals still open) falls furthest below its own
trailing average (the mean of the ``trailing`` periods before it, weighted by closed deals: Σ
converted ÷ Σ closed), or below a ``benchmark`` the user gives:

    shortfall_s = step_s(checked period) − reference_s       (negative = below)

The stage with the most negative shortfall is *the* bottleneck; every stage below its reference is
flagged ``below``. Recent cohorts are partly still open (censored), and losses are often recorded
later than wins, so a recent period can look better or worse than it will end up: that is why the
default checks a period whose deals are mostly closed; read the counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.errors import PipesheetError
from pipesheet.forecast import period_labels
from pipesheet.probabilities import _as_of
from pipesheet.stages import StageList
from pipesheet.tables import Deals, History, read_history

__all__ = ["BOTTLENECK_COLUMNS", "CONVERSION_COLUMNS", "bottlenecks", "conversion_by_period"]

CONVERSION_COLUMNS = (
    "stage",
    "period",
    "entered",
    "open",
    "closed",
    "converted",
    "step_conversion",
)
BOTTLENECK_COLUMNS = (
    "stage",
    "period",
    "closed",
    "step_conversion",
    "reference",
    "reference_kind",
    "shortfall",
    "below",
    "bottleneck",
)


def conversion_by_period(
    history: pd.DataFrame | History,
    *,
    period: str = "quarter",
    fiscal_year_start: int = 1,
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
    deals: Deals | None = None,
    as_of: Any = None,
) -> pd.DataFrame:
    """Step conversion of each open stage by the period deals entered it.

    Args:
        history: Stage history (one row per deal, stage and date entered).
        period: ``"month"``, ``"quarter"`` or ``"year"`` of the first entry into the stage.
        fiscal_year_start: First month of the fiscal year (1–12).
        stages, columns, deals: As for :func:`~pipesheet.tables.read_history`.
        as_of: Use only history rows entered on or before this date.

    Returns:
        Columns ``stage``, ``period``, ``entered`` (deals that first entered the stage in the
        period), ``open`` (of those, still open), ``closed`` (closed ones),
        ``converted`` (of those, how many reached the next stage or Won),
        ``step_conversion`` (converted ÷ closed); stages in funnel order, periods ascending.
    """
    hist = read_history(history, stages=stages, columns=columns, deals=deals)
    frame = hist.frame
    k = hist.stages.k
    when = _as_of(as_of)
    if when is not None:
        frame = frame[frame["entered_date"] <= when]
    if frame.empty:
        raise PipesheetError(
            "no stage history to measure conversion from",
            table=hist.name,
            expected="history rows entered on or before the as-of date",
        )
    deal, _ids = pd.factorize(frame["deal_id"])
    n = int(deal.max()) + 1
    codes = frame["code"].to_numpy()
    dates = frame["entered_date"].to_numpy(dtype="datetime64[ns]")
    order = np.lexsort((np.arange(len(frame)), dates.astype(np.int64), deal))
    last = np.ones(len(order), dtype=bool)
    last[:-1] = deal[order][1:] != deal[order][:-1]
    final = np.empty(n, dtype=np.int64)
    final[deal[order][last]] = codes[order][last]
    won, closed = final == k, final >= k
    is_open = codes < k
    # first entry date into each open stage, NaT where never reached
    first = np.full((n, k), np.datetime64("NaT", "ns"))
    entries = pd.DataFrame({"d": deal[is_open], "c": codes[is_open], "t": dates[is_open]})
    firsts = entries.groupby(["d", "c"], sort=False)["t"].min()
    first[firsts.index.get_level_values(0), firsts.index.get_level_values(1)] = firsts.to_numpy()
    reached = ~np.isnat(first)
    nxt = np.zeros_like(reached)
    nxt[:, :-1] = reached[:, 1:]
    nxt |= won[:, None]
    parts = []
    for s in range(k):  # a loop over stages (4–6), never over deals
        mask = reached[:, s]
        labels = period_labels(pd.Series(first[mask, s]), period, fiscal_year_start)
        done = closed[mask]
        part = (
            pd.DataFrame(
                {
                    "period": labels.to_numpy(),
                    "entered": 1,
                    "open": ~done,
                    "closed": done,
                    "converted": nxt[mask, s] & done,
                }
            )
            .groupby("period", sort=True)[["entered", "open", "closed", "converted"]]
            .sum()
            .reset_index()
        )
        part.insert(0, "stage", hist.stages.open[s])
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    for col in ("entered", "open", "closed", "converted"):
        out[col] = out[col].astype(int)
    out["step_conversion"] = out["converted"] / out["closed"]
    out.attrs["stages"] = hist.stages
    return out


def bottlenecks(
    history: pd.DataFrame | History,
    *,
    benchmark: Mapping[str, float] | None = None,
    trailing: int = 4,
    min_closed: int = 20,
    max_open_share: float = 0.2,
    period: str = "quarter",
    check_period: str | None = None,
    fiscal_year_start: int = 1,
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
    deals: Deals | None = None,
    as_of: Any = None,
) -> pd.DataFrame:
    """Flag the stage whose step conversion falls furthest below its trailing average.

    Args:
        history: Stage history.
        benchmark: ``{stage: step conversion}`` to compare against instead of the trailing
            average (0–1 or percentages); stages missing from it use the trailing average.
        trailing: Number of periods before the checked one that make the trailing average.
        min_closed: Fewest closed deals a stage needs in a period for it to be checked.
        max_open_share: Largest share of still-open deals a period may have at any stage to be
            checked by default (recent cohorts are censored: their conversion is not final).
        period: Cohort period (``"month"``, ``"quarter"``, ``"year"``).
        check_period: The period to check (a label such as ``"2026-Q2"``); default the latest
            period in which every stage has at least ``min_closed`` closed deals and at most
            ``max_open_share`` of its deals still open.
        fiscal_year_start, stages, columns, deals, as_of: As for :func:`conversion_by_period`.

    Returns:
        One row per open stage: ``stage``, ``period`` (checked), ``closed``, ``step_conversion``,
        ``reference`` (trailing average or benchmark), ``reference_kind``, ``shortfall``
        (step − reference), ``below`` (shortfall < 0) and ``bottleneck`` (True for the one stage
        with the most negative shortfall). ``attrs["notes"]`` says what was compared.
    """
    if int(trailing) < 1:
        raise PipesheetError(
            "trailing periods must be at least 1",
            table="settings",
            column="trailing",
            value=trailing,
            expected="a whole number ≥ 1",
        )
    conv = conversion_by_period(
        history,
        period=period,
        fiscal_year_start=fiscal_year_start,
        stages=stages,
        columns=columns,
        deals=deals,
        as_of=as_of,
    )
    stage_list: StageList = conv.attrs["stages"]
    wide_closed = conv.pivot(index="period", columns="stage", values="closed").reindex(
        columns=list(stage_list.open)
    )
    wide_conv = conv.pivot(index="period", columns="stage", values="converted").reindex(
        columns=list(stage_list.open)
    )
    wide_open = conv.pivot(index="period", columns="stage", values="open").reindex(
        columns=list(stage_list.open)
    )
    wide_entered = conv.pivot(index="period", columns="stage", values="entered").reindex(
        columns=list(stage_list.open)
    )
    open_share = (wide_open / wide_entered).fillna(0)
    wide_closed = wide_closed.fillna(0)
    wide_conv = wide_conv.fillna(0)
    periods = list(wide_closed.index)
    if check_period is None:
        ok = (wide_closed >= min_closed).all(axis=1) & (open_share <= max_open_share).all(axis=1)
        full = wide_closed.index[ok]
        if not len(full):
            raise PipesheetError(
                f"no {period} has at least {min_closed} closed deals and at most "
                f"{max_open_share:.0%} still open at every stage",
                table="history",
                expected="more closed deals, a longer period, or a lower minimum",
            )
        check_period = str(full[-1])
    elif check_period not in periods:
        raise PipesheetError(
            "period not found in the history",
            table="settings",
            column="check_period",
            value=check_period,
            expected="one of " + ", ".join(map(str, periods[-8:])),
        )
    at = periods.index(check_period)
    before = periods[max(0, at - int(trailing)) : at]
    closed_now = wide_closed.loc[check_period].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        step_now = wide_conv.loc[check_period].to_numpy(dtype=float) / closed_now
        trail = (
            wide_conv.loc[before].sum().to_numpy(dtype=float)
            / wide_closed.loc[before].sum().to_numpy(dtype=float)
            if before
            else np.full(stage_list.k, np.nan)
        )
    step_now = np.where(closed_now >= min_closed, step_now, np.nan)
    reference = trail.copy()
    kind = np.array([f"trailing {len(before)} {period}s"] * stage_list.k, dtype=object)
    for i, s in enumerate(stage_list.open):
        if benchmark and s in benchmark:
            b = float(benchmark[s])
            reference[i] = b / 100.0 if b > 1 else b
            kind[i] = "benchmark"
    shortfall = step_now - reference
    below = np.nan_to_num(shortfall, nan=0.0) < 0
    flag = np.zeros(stage_list.k, dtype=bool)
    if below.any():
        flag[int(np.nanargmin(np.where(below, shortfall, np.nan)))] = True
    out = pd.DataFrame(
        {
            "stage": list(stage_list.open),
            "period": check_period,
            "closed": closed_now.astype(int),
            "step_conversion": step_now,
            "reference": reference,
            "reference_kind": kind,
            "shortfall": shortfall,
            "below": below,
            "bottleneck": flag,
        }
    )
    notes = [
        f"step conversion of deals that entered each stage in {check_period} compared with "
        + (f"the {len(before)} {period}s before it" if before else "no earlier period")
    ]
    if flag.any():
        i = int(np.flatnonzero(flag)[0])
        notes.append(
            f"bottleneck: {stage_list.open[i]} converted {step_now[i]:.0%} against "
            f"{reference[i]:.0%} ({kind[i]})"
        )
    else:
        notes.append("no stage converted below its reference")
    out.attrs["notes"] = notes
    return out
