"""Weighted forecast: expected revenue from open deals, by period and group.

For each open deal d with amount a_d (in the reporting currency) at stage s(d) with win probability
p_d = p_{s(d)}:

    weighted  = Σ a_d · p_d
    variance  = Σ a_d² · p_d · (1 − p_d)        (deals assumed independent)
    std_dev   = √variance

summed over the deals whose expected close date falls in each period (month, quarter, or year;
quarters and years can follow a fiscal year that starts in any month) and any grouping columns.
Closed deals are not part of the weighted pipeline (Won revenue is "closed so far").

Forecast categories follow Salesforce's names and roll up the usual way:
Commit = Closed + Commit; Best Case = Commit + Best Case; Pipeline = Best Case + Pipeline;
Omitted stays out of every roll-up.

Every figure here prices the deals through the one priced-deal path,
:func:`pipesheet.pricing.price_deals` (amounts converted, the blank-amount choice applied,
probabilities attached, the open deals of the window selected), so :func:`weighted_forecast`,
:func:`pipeline_position` and :func:`pipeline_range` cover the same open deals and the range's
mean equals the weighted forecast.  (``price_deals``, ``PricedDeals``, ``deal_probabilities``,
``deal_rates``, ``reporting_amounts`` and the blank-amount helpers are importable from here too,
as before.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.base import Result
from pipesheet.columns import normalise_header
from pipesheet.errors import PipesheetError
from pipesheet.periods import fiscal_year_month, period_labels
from pipesheet.pricing import (
    PricedDeals,
    Probabilities,
    Rates,
    deal_probabilities,
    deal_rates,
    money_amounts,
    price_deals,
    reporting_amounts,
)
from pipesheet.stages import StageList
from pipesheet.tables import (
    BLANK_AMOUNTS,
    Deals,
    blank_amount_rows,
    blank_amounts_choice,
    read_deals,
)

__all__ = [
    "BLANK_AMOUNTS",
    "CATEGORIES",
    "FORECAST_COLUMNS",
    "PipelinePosition",
    "PricedDeals",
    "blank_amount_rows",
    "blank_amounts_choice",
    "deal_probabilities",
    "deal_rates",
    "fiscal_year_month",
    "forecast_categories",
    "period_labels",
    "pipeline_position",
    "pipeline_range",
    "price_deals",
    "reporting_amounts",
    "weighted_forecast",
]

FORECAST_COLUMNS = ("period", "deals", "pipeline", "weighted", "std_dev")
CATEGORIES = ("Closed", "Commit", "Best Case", "Pipeline", "Omitted")


# ---- weighted forecast -------------------------------------------------------------------------
def weighted_forecast(
    deals: pd.DataFrame | Deals,
    probabilities: Probabilities,
    *,
    period: str | None = "month",
    fiscal_year_start: int = 1,
    by: str | Sequence[str] | None = None,
    rates: Rates = None,
    currency: str | None = None,
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
    as_of: Any = None,
    start: Any = None,
    end: Any = None,
    blank_amounts: str = "error",
    total: bool = False,
) -> pd.DataFrame:
    """Σ amount × P(win | stage) over open deals, by period of expected close date and by group.

    Args:
        deals: Deals table (one row per deal).
        probabilities: Learned :class:`StageProbabilities`, a stage → probability table, mapping
            or preset name, or ``"configured"`` (the deals' own Probability column).
        period: ``"month"``, ``"quarter"``, ``"year"``, or None for one total.
        fiscal_year_start: First month of the fiscal year (1–12) for quarters and years.
        by: Grouping column(s): owner, product line, country, segment, forecast category…
        rates: Currency rates (reporting-currency units per unit) when deals mix currencies.
        currency: Reporting currency code (default: the one whose rate is 1).
        stages, columns: Stage list and column mapping for reading the deals.
        as_of: Only deals open at the end of that day are forecast (created on or before it,
            when created dates exist; not won or lost since, as far as the table tells); open
            deals with an expected close date before it are counted as overdue in the notes.
        start, end: Only open deals expected to close in [start, end] (inclusive).
        blank_amounts: "error" (default), "skip" or "zero" — see :func:`price_deals`.
        total: Add a final ``Total`` row.

    The deals are those of :func:`price_deals` with the same settings — the ones
    :func:`pipeline_range` covers: its mean equals the total here.

    Returns:
        Columns: the ``by`` fields, ``period``, ``deals`` (count), ``pipeline`` (Σ amount),
        ``weighted`` (Σ amount·p), ``std_dev`` (√Σ amount²·p(1−p)). ``attrs["currency"]`` holds
        the reporting currency and ``attrs["notes"]`` what the user should know.
    """
    priced = price_deals(
        deals,
        probabilities,
        start=start,
        end=end,
        as_of=as_of,
        rates=rates,
        currency=currency,
        blank_amounts=blank_amounts,
        stages=stages,
        columns=columns,
        by=by,
    )
    return priced.forecast(period, fiscal_year_start, by, total)


# ---- forecast categories -----------------------------------------------------------------------
_CATEGORY_KEYS = {
    "closed": "Closed",
    "commit": "Commit",
    "bestcase": "Best Case",
    "pipeline": "Pipeline",
    "omitted": "Omitted",
    "mostlikely": "Best Case",
}


def forecast_categories(
    deals: pd.DataFrame | Deals,
    *,
    rates: pd.DataFrame | Mapping[str, float] | None = None,
    currency: str | None = None,
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
    blank_amounts: str = "error",
) -> pd.DataFrame:
    """Amounts by forecast category with the usual roll-ups.

    Rows Closed, Commit, Best Case, Pipeline, Omitted with ``deals``, ``amount`` and ``rollup``:
    Closed; Commit = Closed + Commit; Best Case = Commit + Best Case; Pipeline = Best Case +
    Pipeline; Omitted is not rolled up (its rollup is its own amount). Lost deals are left out.
    ``blank_amounts``: see :func:`price_deals` (a skipped deal is in no category; the note is in
    ``attrs["notes"]``).
    """
    table = read_deals(deals, stages=stages, columns=columns)
    frame = table.frame
    if "forecast_category" not in frame:
        raise PipesheetError(
            "the deals table has no forecast category column",
            table=table.name,
            expected="a column such as 'Forecast Category' with Closed, Commit, "
            "Best Case, Pipeline or Omitted",
        )
    amount, cur, _, note = money_amounts(table, rates, currency, blank_amounts, None)
    raw = frame["forecast_category"]
    cat = raw.map(lambda v: _CATEGORY_KEYS.get(normalise_header(v)) if isinstance(v, str) else None)
    bad = cat.isna().to_numpy() & raw.notna().to_numpy()
    if bad.any():
        raise PipesheetError(
            "unknown forecast category",
            table=table.name,
            column=table.columns["forecast_category"],
            rows=[int(r) for r in frame.index[bad][:50]],
            value=raw[bad].iloc[0],
            expected="one of " + ", ".join(CATEGORIES),
        )
    keep = (frame["code"] != table.stages.k + 1).to_numpy() & cat.notna().to_numpy()
    keep &= ~np.isnan(amount)  # a blank amount skipped on purpose
    sums = (
        pd.DataFrame({"category": cat[keep], "amount": amount[keep], "deals": 1})
        .groupby("category")[["deals", "amount"]]
        .sum()
        .reindex(list(CATEGORIES), fill_value=0)
    )
    rollup = sums["amount"].copy()
    running = 0.0
    for c in CATEGORIES[:4]:
        running += sums.loc[c, "amount"]
        rollup[c] = running
    out = pd.DataFrame(
        {
            "category": list(CATEGORIES),
            "deals": sums["deals"].astype(int).to_numpy(),
            "amount": sums["amount"].to_numpy(dtype=float),
            "rollup": rollup.to_numpy(dtype=float),
        }
    )
    out.attrs["currency"] = cur
    out.attrs["notes"] = [*table.notes, *([note] if note else [])]
    return out


# ---- where the period stands -------------------------------------------------------------------
@dataclass(repr=False)
class PipelinePosition(Result):
    """Where a period stands: what is closed, what is open, and what the open deals are worth.

    Attributes:
        closed: Won amount with a closed (or, lacking it, expected close) date in the period,
            on or before the as-of date.
        expected_open: Weighted value of open deals expected to close in the period.
        open_pipeline: Unweighted amount of those open deals.
        open_deals: Their count.
        average_won_deal: Mean amount of all won deals (NaN if none).
        win_rate: Won ÷ closed over all closed deals (NaN if none).
        average_cycle_days: Mean days from created to closed over won deals (NaN if unknown).
        currency: Reporting currency.
        notes: What the user should know (from :func:`price_deals`).
    """

    closed: float
    expected_open: float
    open_pipeline: float
    open_deals: int
    average_won_deal: float
    win_rate: float
    average_cycle_days: float
    currency: str | None
    notes: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """Two columns, ``measure`` and ``value``: the figures above and the currency (as
        ``PIPE_PIPELINE_POSITION`` spills them)."""
        names = [
            "closed",
            "expected_open",
            "open_pipeline",
            "open_deals",
            "average_won_deal",
            "win_rate",
            "average_cycle_days",
            "currency",
        ]
        return pd.DataFrame({"measure": names, "value": [getattr(self, n) for n in names]})

    def _figures(self) -> dict[str, Any]:
        return {
            "closed": self.closed,
            "expected_open": self.expected_open,
            "open_pipeline": self.open_pipeline,
            "open_deals": self.open_deals,
            "currency": self.currency,
        }


def pipeline_position(
    deals: pd.DataFrame | Deals,
    probabilities: Probabilities | None,
    start: Any = None,
    end: Any = None,
    *,
    as_of: Any = None,
    rates: Rates = None,
    currency: str | None = None,
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
    blank_amounts: str = "error",
) -> PipelinePosition:
    """Closed so far, expected from open deals, and the averages a quota gap needs.

    The deals are those of :func:`price_deals` with the same settings: open deals expected to
    close in [start, end] (inclusive) at the as-of date, and won deals closed in it by then
    (closed date; the expected close date when no closed date is recorded). Without start/end
    every deal counts. The averages (won deal, win rate, cycle) are over every deal closed by
    the as-of date. With ``probabilities=None`` only the unweighted figures are computed
    (``expected_open`` is NaN).
    """
    priced = price_deals(
        deals,
        probabilities,
        start=start,
        end=end,
        as_of=as_of,
        rates=rates,
        currency=currency,
        blank_amounts=blank_amounts,
        stages=stages,
        columns=columns,
    )
    frame = priced.deals.frame
    k = priced.deals.stages.k
    code = frame["code"].to_numpy()
    won = priced.won
    won_deals = (code == k) & priced.closed_by  # rates and cycles: of deals, amount or not
    n_won = int(won_deals.sum())
    n_closed = n_won + int(priced.lost.sum())
    cycle = np.nan
    if "created_date" in frame:
        close = frame["close_date"]
        closed_on = frame["closed_date"].fillna(close) if "closed_date" in frame else close
        days = (closed_on - frame["created_date"]).dt.days.to_numpy(dtype=float)[won_deals]
        days = days[~np.isnan(days)]
        cycle = float(days.mean()) if len(days) else np.nan
    return PipelinePosition(
        closed=priced.closed,
        expected_open=priced.weighted if probabilities is not None else np.nan,
        open_pipeline=priced.pipeline,
        open_deals=int(priced.open.sum()),
        average_won_deal=float(priced.amount[won].mean()) if won.any() else np.nan,
        win_rate=float(n_won / n_closed) if n_closed else np.nan,
        average_cycle_days=cycle,
        currency=priced.currency,
        notes=list(priced.notes),
    )


# ---- the range of the open pipeline -----------------------------------------------------------
def pipeline_range(
    deals: pd.DataFrame | Deals,
    probabilities: Probabilities,
    *,
    quota: float | None = None,
    start: Any = None,
    end: Any = None,
    as_of: Any = None,
    closed: float | None = None,
    rates: Rates = None,
    currency: str | None = None,
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
    blank_amounts: str = "error",
    **options: Any,
):
    """Forecast range of the open deals: the distribution of S = Σ amount_d · Bernoulli(p_d).

    The deals are exactly those :func:`weighted_forecast` sums with the same settings (the
    priced open deals of :func:`price_deals`: open at ``as_of``, expected to close in
    [start, end], amounts converted, the ``blank_amounts`` choice applied), so the range's mean
    equals the weighted forecast. With a quota, P(≥ quota) = P(closed so far + S ≥ quota), where
    closed so far is ``closed`` when given, else — for a window (start and/or end) — the won
    amount closed in it by the as-of date; without a window it is P(S ≥ quota). The
    distribution comes from :func:`pipesheet.ranges.forecast_range` (``options``:
    range_method, draws, seed, grid_points).

    Returns:
        A :class:`pipesheet.ranges.ForecastRange` (mean, std_dev, P10/P50/P90, closed,
        P(≥ quota)).
    """
    priced = price_deals(
        deals,
        probabilities,
        start=start,
        end=end,
        as_of=as_of,
        rates=rates,
        currency=currency,
        blank_amounts=blank_amounts,
        stages=stages,
        columns=columns,
        per_amount=True,
    )
    return priced.range(quota, closed=closed, **options)
