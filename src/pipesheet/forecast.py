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

Multi-currency: amounts are converted with a user-given rates table (reporting-currency units per
unit). Mixing currencies without rates is an error, never a silent sum.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.errors import PipesheetError
from pipesheet.periods import known_on, within_days
from pipesheet.presets import probability_table
from pipesheet.probabilities import StageProbabilities
from pipesheet.stages import StageList
from pipesheet.tables import Deals, group_fields, parse_date_setting, read_deals, read_rates

__all__ = [
    "CATEGORIES",
    "FORECAST_COLUMNS",
    "PipelinePosition",
    "deal_probabilities",
    "fiscal_year_month",
    "forecast_categories",
    "period_labels",
    "pipeline_position",
    "pipeline_range",
    "reporting_amounts",
    "weighted_forecast",
]

FORECAST_COLUMNS = ("period", "deals", "pipeline", "weighted", "std_dev")
CATEGORIES = ("Closed", "Commit", "Best Case", "Pipeline", "Omitted")
NO_CLOSE_DATE = "(no close date)"
Probabilities = StageProbabilities | pd.DataFrame | Mapping[str, float] | str


# ---- probabilities per deal ------------------------------------------------------------------
def deal_probabilities(deals: Deals, probabilities: Probabilities) -> np.ndarray:
    """P(win) of each deal from its stage: Won → 1, Lost → 0, open stages from ``probabilities``.

    Args:
        deals: Validated deals.
        probabilities: A fitted :class:`StageProbabilities` (per group when fitted with ``by`` and
            the deals carry that column), a stage → probability table or mapping, a preset name,
            or ``"configured"`` to use the deals' own configured probability column.

    Raises:
        PipesheetError: an open deal's stage has no known probability.
    """
    stages = deals.stages
    frame = deals.frame
    codes = frame["code"].to_numpy()
    k = stages.k
    p = np.where(codes == k, 1.0, 0.0)
    is_open = codes < k
    if isinstance(probabilities, str) and probabilities.strip().casefold() == "configured":
        if "probability" not in frame:
            raise PipesheetError(
                "the deals table has no configured probability column",
                table=deals.name,
                expected="a Probability column, learned probabilities or a preset",
            )
        conf = frame["probability"].to_numpy(dtype=float)
        missing = is_open & np.isnan(conf)
        if missing.any():
            raise PipesheetError(
                "configured probability is blank",
                table=deals.name,
                column=deals.columns["probability"],
                rows=[int(r) for r in frame.index[missing][:50]],
                expected="a probability for every open deal",
            )
        p[is_open] = conf[is_open]
        return p
    if isinstance(probabilities, StageProbabilities):
        by = probabilities.by
        table = probabilities.table_
        if by is not None:
            fld = table.columns[0]
            if fld in frame:
                key = pd.MultiIndex.from_arrays([table[fld].astype(str), table["stage"]])
                lookup = pd.Series(table["win_probability"].to_numpy(), index=key)
                stage_names = np.array(stages.open, dtype=object)[np.clip(codes, 0, k - 1)]
                want = pd.MultiIndex.from_arrays(
                    [frame[fld].fillna("(blank)").astype(str), stage_names]
                )
                per_group = lookup.reindex(want).to_numpy(dtype=float)
                overall = probabilities.overall_["win_probability"].to_numpy()
                fallback = overall[np.clip(codes, 0, k - 1)]
                values = np.where(np.isnan(per_group), fallback, per_group)
                p[is_open] = values[is_open]
                _check_known_p(deals, p, is_open)
                return p
        by_stage = probabilities.overall_["win_probability"].to_numpy(dtype=float)
    else:
        table = probability_table(probabilities)
        by_stage = np.full(k, np.nan)
        codes_t = stages.codes(table["stage"])
        for c, v in zip(codes_t, table["probability"].to_numpy(dtype=float), strict=True):
            if 0 <= c < k:
                by_stage[c] = v
        p[is_open] = by_stage[codes[is_open]]
        label = (
            f"preset {probabilities.strip().casefold()!r}"
            if isinstance(probabilities, str)
            else "probability table"
        )
        _check_known_p(deals, p, is_open, table, label)
        return p
    p[is_open] = by_stage[codes[is_open]]
    _check_known_p(deals, p, is_open)
    return p


def _check_known_p(
    deals: Deals,
    p: np.ndarray,
    is_open: np.ndarray,
    given: pd.DataFrame | None = None,
    label: str | None = None,
) -> None:
    """Refuse open deals without a probability, naming every such stage with its deals' rows;
    with a given table or preset whose names match none of the deals' stages, say so and list
    both sets of names."""
    missing = is_open & np.isnan(p)
    if not missing.any():
        return
    frame = deals.frame
    codes = frame["code"].to_numpy()
    names = deals.stages.open
    counts = np.bincount(codes[missing], minlength=deals.stages.k)
    listed = ", ".join(
        f"{names[c]!r} ({counts[c]} deal{'s' if counts[c] > 1 else ''})"
        for c in range(len(names))
        if counts[c]
    )
    rows = [int(r) for r in frame.index[missing][:50]]
    if given is not None:
        present = [names[c] for c in sorted(set(codes[is_open].tolist()))]
        known = deals.stages.codes(given["stage"])
        if not ((known >= 0) & (known < deals.stages.k)).any():
            raise PipesheetError(
                f"the deals' stage names do not match the {label}: the deals' open stages are "
                f"{', '.join(map(repr, present))}; the {label} has "
                f"{', '.join(map(repr, given['stage'].tolist()))}",
                table=deals.name,
                column=deals.columns["stage"],
                rows=rows,
                expected="probabilities for the deals' own stage names (a stage/probability "
                "table), or learned probabilities from a history",
            )
        raise PipesheetError(
            f"the {label} has no probability for stage(s) {listed}",
            table=deals.name,
            column=deals.columns["stage"],
            rows=rows,
            expected="a probability for every open stage of the deals; the "
            f"{label} has {', '.join(map(repr, given['stage'].tolist()))}",
        )
    raise PipesheetError(
        f"no win probability is known for stage(s) {listed}",
        table=deals.name,
        column=deals.columns["stage"],
        rows=rows,
        expected="learned probabilities with closed deals at that stage, or a table/preset "
        "giving it a probability",
    )


# ---- currency ----------------------------------------------------------------------------------
def reporting_amounts(
    deals: Deals,
    rates: pd.DataFrame | Mapping[str, float] | None = None,
    currency: str | None = None,
) -> tuple[np.ndarray, str | None]:
    """Each deal's amount in the reporting currency, and that currency's code.

    With one currency (or no currency column) amounts are used as they are. With several,
    ``rates`` is required: amount × rate, where rate = reporting-currency units per unit. The
    reporting currency is ``currency``, or the one whose rate is 1.

    Raises:
        PipesheetError: several currencies and no rates, or a deal's currency missing from rates.
    """
    frame = deals.frame
    amount = frame["amount"].to_numpy(dtype=float)
    if "currency" not in frame:
        return amount, currency
    cur = frame["currency"]
    present = sorted(c for c in cur.dropna().unique())
    if rates is None:
        if len(present) > 1:
            raise PipesheetError(
                "the deals are in several currencies (" + ", ".join(present) + ") and no "
                "exchange rates were given",
                table=deals.name,
                column=deals.columns["currency"],
                expected="a rates table (currency, rate) to convert into one reporting currency",
            )
        if cur.isna().any() and present:
            blank = cur.isna().to_numpy()
            raise PipesheetError(
                "currency is blank",
                table=deals.name,
                column=deals.columns["currency"],
                rows=[int(r) for r in frame.index[blank][:50]],
                expected=f"a currency code (the others are {present[0]})",
            )
        return amount, (present[0] if present else currency)
    table = read_rates(rates)
    if currency is None:
        ones = [c for c, r in table.items() if r == 1.0]
        if len(ones) != 1:
            raise PipesheetError(
                "cannot tell the reporting currency from the rates",
                table="rates",
                expected="exactly one currency with rate 1, or name the reporting currency",
            )
        currency = ones[0]
    currency = currency.upper()
    if currency not in table.index:
        table.loc[currency] = 1.0
    rate = cur.map(table).to_numpy(dtype=float)
    missing = np.isnan(rate)
    if missing.any():
        value = cur[missing].iloc[0]
        raise PipesheetError(
            "no exchange rate for this currency" if value is not None else "currency is blank",
            table=deals.name,
            column=deals.columns["currency"],
            rows=[int(r) for r in frame.index[missing][:50]],
            value=value,
            expected="a currency listed in the rates table: " + ", ".join(table.index),
        )
    return amount * rate, currency


# ---- periods -----------------------------------------------------------------------------------
def fiscal_year_month(fiscal_year_start: Any) -> int:
    """The first month of the fiscal year as a number 1–12 (a setting; anything else is an
    error)."""
    try:
        month = int(fiscal_year_start)
    except (TypeError, ValueError):
        month = 0
    if not 1 <= month <= 12:
        raise PipesheetError(
            "fiscal year start must be a month number",
            table="settings",
            column="fiscal_year_start",
            value=fiscal_year_start,
            expected="a whole number from 1 (January) to 12 (December)",
        )
    return month


def period_labels(dates: pd.Series, period: str = "month", fiscal_year_start: int = 1) -> pd.Series:
    """Label each date with its period: ``2026-10`` (month), ``2026-Q4`` (quarter), ``2026`` (year).

    With a fiscal year starting in month m ≠ 1, quarters and years are fiscal and named by the
    calendar year in which the fiscal year *ends*: with m = 7, 2026-08-15 is in ``FY2027-Q1``.
    Blank dates get ``"(no close date)"``.
    """
    period = str(period).strip().casefold()
    if period not in ("month", "quarter", "year"):
        raise PipesheetError(
            "unknown period",
            table="settings",
            column="period",
            value=period,
            expected="month, quarter or year",
        )
    m0 = fiscal_year_month(fiscal_year_start)
    d = pd.to_datetime(dates)
    blank = d.isna().to_numpy()
    year = d.dt.year.fillna(0).to_numpy(dtype=np.int64)
    month = d.dt.month.fillna(1).to_numpy(dtype=np.int64)
    if period == "month":
        key = year * 100 + month
        fmt = lambda v: f"{v // 100:04d}-{v % 100:02d}"  # noqa: E731
    else:
        fy = year + ((month >= m0) & (m0 != 1))
        q = (month - m0) % 12 // 3 + 1
        prefix = "FY" if m0 != 1 else ""
        if period == "quarter":
            key = fy * 10 + q
            fmt = lambda v: f"{prefix}{v // 10:04d}-Q{v % 10}"  # noqa: E731
        else:
            key = fy
            fmt = lambda v: f"{prefix}{v:04d}"  # noqa: E731
    key = np.where(blank, -1, key)
    codes, uniques = pd.factorize(key)
    names = np.array([NO_CLOSE_DATE if u < 0 else fmt(int(u)) for u in uniques], dtype=object)
    return pd.Series(names[codes], index=dates.index, dtype=object)


# ---- weighted forecast -------------------------------------------------------------------------
def weighted_forecast(
    deals: pd.DataFrame | Deals,
    probabilities: Probabilities,
    *,
    period: str | None = "month",
    fiscal_year_start: int = 1,
    by: str | Sequence[str] | None = None,
    rates: pd.DataFrame | Mapping[str, float] | None = None,
    currency: str | None = None,
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
    as_of: Any = None,
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
        as_of: Only deals open on this date (created on or before it, when created dates exist)
            are forecast; open deals with an expected close date before it are counted as
            overdue in the notes.
        total: Add a final ``Total`` row.

    Returns:
        Columns: the ``by`` fields, ``period``, ``deals`` (count), ``pipeline`` (Σ amount),
        ``weighted`` (Σ amount·p), ``std_dev`` (√Σ amount²·p(1−p)). ``attrs["currency"]`` holds
        the reporting currency and ``attrs["notes"]`` what the user should know.
    """
    if isinstance(stages, StageList) and isinstance(deals, Deals) and deals.stages != stages:
        deals = read_deals(deals, stages=stages)
    if isinstance(probabilities, StageProbabilities) and stages is None:
        stages = probabilities.stages_
    table = read_deals(deals, stages=stages, columns=columns)
    notes = list(table.notes)
    p = deal_probabilities(table, probabilities)
    amount, cur = reporting_amounts(table, rates, currency)
    frame = table.frame
    is_open = (frame["code"] < table.stages.k).to_numpy()
    when = parse_date_setting(as_of)  # a day: deals created at any time of it are open then
    if when is not None and "created_date" in frame:
        created = frame["created_date"]
        is_open = is_open & (created.isna().to_numpy() | known_on(created, when))
    if when is not None:
        overdue = is_open & (frame["close_date"] < when).to_numpy()
        if overdue.any():
            notes.append(
                f"{int(overdue.sum())} open deal(s) have an expected close date before "
                f"{pd.Timestamp(when).date()} (overdue); they are kept in their period"
            )
    keys = group_fields(table, by)
    work = pd.DataFrame({k: frame[k] for k in keys})
    if period is not None:
        work["period"] = period_labels(frame["close_date"], period, fiscal_year_start)
    work["deals"] = 1
    work["pipeline"] = amount
    work["weighted"] = amount * p
    work["variance"] = amount**2 * p * (1 - p)
    work = work[is_open]
    group_cols = [*keys, *(["period"] if period is not None else [])]
    for col in keys:
        work[col] = work[col].fillna("(blank)")
    if group_cols:
        out = (
            work.groupby(group_cols, sort=True, dropna=False)[
                ["deals", "pipeline", "weighted", "variance"]
            ]
            .sum()
            .reset_index()
        )
        if period is not None:
            late = out["period"] == NO_CLOSE_DATE
            out = pd.concat([out[~late], out[late]], ignore_index=True)
            if late.any():
                notes.append(
                    f"{int(out.loc[out['period'] == NO_CLOSE_DATE, 'deals'].sum())} open "
                    "deal(s) have no expected close date"
                )
            if keys:
                out = out.sort_values(keys, kind="stable", ignore_index=True)
    else:
        out = pd.DataFrame(
            {
                "deals": [len(work)],
                "pipeline": [work["pipeline"].sum()],
                "weighted": [work["weighted"].sum()],
                "variance": [work["variance"].sum()],
            }
        )
    if total and group_cols:
        tot = {c: "" for c in group_cols}
        tot[group_cols[0]] = "Total"
        tot.update(
            deals=int(work["deals"].sum()),
            pipeline=work["pipeline"].sum(),
            weighted=work["weighted"].sum(),
            variance=work["variance"].sum(),
        )
        out = pd.concat([out, pd.DataFrame([tot])], ignore_index=True)
    out["deals"] = out["deals"].astype(int)
    out["std_dev"] = np.sqrt(out.pop("variance").to_numpy())
    out.attrs["currency"] = cur
    out.attrs["notes"] = notes
    return out


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
) -> pd.DataFrame:
    """Amounts by forecast category with the usual roll-ups.

    Rows Closed, Commit, Best Case, Pipeline, Omitted with ``deals``, ``amount`` and ``rollup``:
    Closed; Commit = Closed + Commit; Best Case = Commit + Best Case; Pipeline = Best Case +
    Pipeline; Omitted is not rolled up (its rollup is its own amount). Lost deals are left out.
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
    amount, cur = reporting_amounts(table, rates, currency)
    from pipesheet.columns import normalise_header

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
    return out


# ---- where the period stands -------------------------------------------------------------------
@dataclass(frozen=True)
class PipelinePosition:
    """Where a period stands: what is closed, what is open, and what the open deals are worth.

    Attributes:
        closed: Won amount with a closed (or, lacking it, expected close) date in the period.
        expected_open: Weighted value of open deals expected to close in the period.
        open_pipeline: Unweighted amount of those open deals.
        open_deals: Their count.
        average_won_deal: Mean amount of all won deals (NaN if none).
        win_rate: Won ÷ closed over all closed deals (NaN if none).
        average_cycle_days: Mean days from created to closed over won deals (NaN if unknown).
        currency: Reporting currency.
    """

    closed: float
    expected_open: float
    open_pipeline: float
    open_deals: int
    average_won_deal: float
    win_rate: float
    average_cycle_days: float
    currency: str | None


def pipeline_position(
    deals: pd.DataFrame | Deals,
    probabilities: Probabilities | None,
    start: Any = None,
    end: Any = None,
    *,
    rates: pd.DataFrame | Mapping[str, float] | None = None,
    currency: str | None = None,
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
) -> PipelinePosition:
    """Closed so far, expected from open deals, and the averages a quota gap needs.

    Deals count for the period [start, end] (inclusive) by closed date (won deals; the expected
    close date when no closed date is recorded) and expected close date (open deals). Without
    start/end every deal counts. With ``probabilities=None`` only the unweighted figures are
    computed (``expected_open`` is NaN).
    """
    table, p, amount, cur = _priced_deals(deals, probabilities, rates, currency, stages, columns)
    frame = table.frame
    k = table.stages.k
    code = frame["code"].to_numpy()
    won, lost, is_open = code == k, code == k + 1, code < k
    close = frame["close_date"]
    closed_on = frame["closed_date"].fillna(close) if "closed_date" in frame else close
    won_in = won & _within(closed_on, start, end)
    open_in = is_open & _within(close, start, end)
    n_closed = int(won.sum() + lost.sum())
    cycle = np.nan
    if "created_date" in frame:
        days = (closed_on - frame["created_date"]).dt.days.to_numpy(dtype=float)[won]
        days = days[~np.isnan(days)]
        cycle = float(days.mean()) if len(days) else np.nan
    return PipelinePosition(
        closed=float(amount[won_in].sum()),
        expected_open=float((amount * p)[open_in].sum()),
        open_pipeline=float(amount[open_in].sum()),
        open_deals=int(open_in.sum()),
        average_won_deal=float(amount[won].mean()) if won.any() else np.nan,
        win_rate=float(won.sum() / n_closed) if n_closed else np.nan,
        average_cycle_days=cycle,
        currency=cur,
    )


# ---- the range of the open pipeline -----------------------------------------------------------
def pipeline_range(
    deals: pd.DataFrame | Deals,
    probabilities: Probabilities,
    *,
    quota: float | None = None,
    start: Any = None,
    end: Any = None,
    rates: pd.DataFrame | Mapping[str, float] | None = None,
    currency: str | None = None,
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
    **options: Any,
):
    """Forecast range of the open deals: the distribution of Σ amount_d · Bernoulli(p_d).

    Open deals are those not Won or Lost; with ``start``/``end`` only those whose expected close
    date falls in [start, end]. Amounts are converted to the reporting currency as in
    :func:`weighted_forecast`, probabilities come from :func:`deal_probabilities`, and the
    distribution from :func:`pipesheet.ranges.forecast_range` (``options``: method, draws, seed,
    grid_points), whose mean equals the weighted forecast of the same deals.

    Returns:
        A :class:`pipesheet.ranges.ForecastRange` (mean, std_dev, P10/P50/P90, P(≥ quota)).
    """
    from pipesheet.ranges import forecast_range

    table, p, amount, _ = _priced_deals(deals, probabilities, rates, currency, stages, columns)
    frame = table.frame
    chosen = (frame["code"] < table.stages.k).to_numpy() & _within(frame["close_date"], start, end)
    return forecast_range(amount[chosen], p[chosen], quota=quota, **options)


def _priced_deals(
    deals: pd.DataFrame | Deals,
    probabilities: Probabilities | None,
    rates: pd.DataFrame | Mapping[str, float] | None,
    currency: str | None,
    stages: StageList | None,
    columns: Mapping[str, str] | None,
) -> tuple[Deals, np.ndarray, np.ndarray, str | None]:
    """The deals read (with a fitted model's stage list unless ``stages`` is given), each deal's
    probability (NaN when ``probabilities`` is None), amount in the reporting currency, and that
    currency."""
    if isinstance(probabilities, StageProbabilities) and stages is None:
        stages = probabilities.stages_
    table = read_deals(deals, stages=stages, columns=columns)
    if probabilities is None:
        p = np.full(len(table.frame), np.nan)
    else:
        p = deal_probabilities(table, probabilities)
    amount, cur = reporting_amounts(table, rates, currency)
    return table, p, amount, cur


def _within(dates: pd.Series, start: Any, end: Any) -> np.ndarray:
    """start ≤ date ≤ end in whole days (inclusive: any time of the end day; a missing bound is
    open; a blank date is outside a bound)."""
    return within_days(dates, start, end)
