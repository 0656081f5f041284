"""The priced deals: one path from a deals table to every money figure of a forecast.

:func:`price_deals` reads the deals, converts their amounts into the reporting currency
(:func:`deal_rates`), applies the blank-amount choice
(:func:`pipesheet.tables.blank_amount_rows`), attaches each deal's probability
(:func:`deal_probabilities`) and selects the open deals of the forecast (open at the as-of date,
expected to close in the period window).  The weighted forecast, its range and the pipeline
position (:mod:`pipesheet.forecast`), the dashboard and the report all price through it, so the
forecast range always covers the same open deals as the weighted pipeline and its mean equals it.

For each open deal d with amount a_d (in the reporting currency) and win probability p_d:

    weighted  = Σ a_d · p_d
    variance  = Σ a_d² · p_d · (1 − p_d)        (deals assumed independent)

**Multi-currency**: amounts are converted with a user-given rates table (reporting-currency units
per unit).  Mixing currencies without rates is an error, never a silent sum.

**Blank amounts** (``blank_amounts``): "error" (default: stop, naming the rows and the choices),
"skip" (leave those deals out of every money figure, counted in a note) or "zero" (count them as
0, counted in a note).  It applies to the deals whose amount is money in the figures: open and
won deals (a lost deal's amount is never summed).  Stage probabilities need no amount.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.base import Result
from pipesheet.errors import PipesheetError, format_rows
from pipesheet.periods import (
    NO_CLOSE_DATE,
    as_of_cutoff,
    period_labels,
    read_date_setting,
    within_days,
)
from pipesheet.presets import probability_table
from pipesheet.probabilities import StageProbabilities
from pipesheet.stages import StageList, stage_key
from pipesheet.summaries import foreign_frame, pandas_frame
from pipesheet.tables import (
    _BLANK_CHOICES,
    Deals,
    blank_amount_rows,
    blank_amounts_choice,
    group_fields,
    read_deals,
    read_rates,
)

__all__ = [
    "GROUP_COLUMN",
    "PricedDeals",
    "Probabilities",
    "Rates",
    "deal_probabilities",
    "deal_rates",
    "money_amounts",
    "override_mask",
    "price_deals",
    "reporting_amounts",
]

#: What a forecast takes as probabilities: learned ones, a stage → probability table or mapping,
#: a preset name, or "configured" (the deals' own probability column).

Probabilities = StageProbabilities | pd.DataFrame | Mapping[str, float] | str
#: Currency rates: a (currency, rate) table or a mapping, reporting-currency units per unit.
Rates = pd.DataFrame | Mapping[str, float] | None
#: The column a grouping field is shown under, where its name is taken: ``pipeline`` is the Σ
#: amount column of a forecast, so a forecast by pipeline names its groups ``pipeline_name``.
GROUP_COLUMN = {"pipeline": "pipeline_name"}


# ---- probabilities per deal ------------------------------------------------------------------


def deal_probabilities(
    deals: Deals, probabilities: Probabilities, *, overrides: bool = True
) -> np.ndarray:
    """P(win) of each deal: Won → 1, Lost → 0, an open deal's from its stage with
    ``probabilities`` — or its own **override** (a probability override column, e.g.
    "Probability Override", "Manager Probability"), which wins over its stage's.

    Args:
        deals: Validated deals.
        probabilities: A fitted :class:`StageProbabilities` (per group when fitted with ``by`` and
            the deals carry that column; per pipeline when the deals are in several), a stage →
            probability table or mapping (with a pipeline column: one table per pipeline), a
            preset name, or ``"configured"`` to use the deals' own configured probability column.
        overrides: Use the deals' overrides (default); False prices every deal at its stage's.

    Raises:
        PipesheetError: an open deal without an override has a stage with no known probability.
    """
    is_open = (deals.frame["code"] < deals.stages.k).to_numpy()
    return _probabilities_of(deals, probabilities, is_open, overrides=overrides)[0]


def override_mask(deals: Deals, overrides: bool = True) -> np.ndarray:
    """The open deals whose own probability (the override column) wins over their stage's."""
    frame = deals.frame
    if not overrides or "override" not in frame:
        return np.zeros(len(frame), dtype=bool)
    return (frame["code"] < deals.stages.k).to_numpy() & frame["override"].notna().to_numpy()


def _probabilities_of(
    deals: Deals, probabilities: Probabilities, check: np.ndarray, *, overrides: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(each deal's P(win), its stage's P(win), the deals priced at their override) — see
    :func:`deal_probabilities`; only the deals in ``check`` without an override must have a
    known stage probability (an unknown one elsewhere is NaN)."""
    own = override_mask(deals, overrides)
    stage_p = _stage_probabilities_of(deals, probabilities, check & ~own)
    p = stage_p
    if own.any():
        p = np.where(own, deals.frame["override"].to_numpy(dtype=float), stage_p)
    return p, stage_p, own


def _per_pipeline(probabilities: Probabilities, deals: Deals) -> dict[str, Any] | None:
    """What prices each pipeline's deals, when ``probabilities`` are per pipeline: a model
    learned on several pipelines, a table with a pipeline column, or ``{pipeline: …}``."""
    lists = deals.pipelines
    if isinstance(probabilities, StageProbabilities):
        models = getattr(probabilities, "pipelines_", None)
        return dict(models) if models and lists is not None else None
    if isinstance(probabilities, pd.DataFrame):
        return _pipeline_tables(probabilities, deals)
    if isinstance(probabilities, Mapping) and lists is not None:
        values = list(probabilities.values())
        names = {stage_key(n) for n in lists}
        if (
            values
            and all(stage_key(k) in names for k in probabilities)
            and all(isinstance(v, (StageProbabilities, pd.DataFrame, Mapping, str)) for v in values)
        ):
            return {str(k): v for k, v in probabilities.items()}
    return None


def _pipeline_tables(table: pd.DataFrame, deals: Deals) -> dict[str, pd.DataFrame] | None:
    """A stage/probability table with a pipeline column, split per pipeline (None without one).
    Deals of one pipeline take its part; deals without a pipeline column take the whole table
    only when no stage name is listed for two pipelines."""
    from pipesheet.columns import DEAL_FIELDS, resolve_columns
    from pipesheet.tables import check_table, pipeline_column

    raw = check_table(table, "probabilities")
    found = resolve_columns(
        raw, {"pipeline": DEAL_FIELDS["pipeline"]}, (), table_name="probabilities"
    )
    if "pipeline" not in found:
        return None
    col = found["pipeline"]
    names = pipeline_column(raw[col], "probabilities", col)
    rest = raw.drop(columns=[col])
    parts = {str(n): rest[(names == n).to_numpy()] for n in pd.unique(names.dropna().to_numpy())}
    if deals.pipelines is not None:
        return parts
    if "pipeline" in deals.frame:
        present = pd.unique(deals.frame["pipeline"].dropna().to_numpy())
        if len(present) == 1:
            key = stage_key(present[0])
            hit = next((v for n, v in parts.items() if stage_key(n) == key), None)
            if hit is None:
                raise PipesheetError(
                    f"the probability table has no rows for pipeline {present[0]!r}",
                    table="probabilities",
                    column=col,
                    expected="rows for the deals' pipeline; the table has "
                    + ", ".join(map(repr, parts)),
                )
            return {str(present[0]): hit}
    stage_keys = pd.Series([stage_key(v) for p_ in parts.values() for v in p_.iloc[:, 0]])
    if stage_keys.duplicated().any():
        raise PipesheetError(
            "the probability table is per pipeline, and a stage name is in several of them, but "
            "the deals table has no pipeline column to tell which applies",
            table="probabilities",
            column=col,
            expected="a pipeline column in the deals table (or one pipeline's rows only)",
        )
    return {"": rest}


def _stage_probabilities_of(
    deals: Deals, probabilities: Probabilities, check: np.ndarray
) -> np.ndarray:
    """Each deal's P(win) from its stage; only the deals in ``check`` must have a known one."""
    parts = _per_pipeline(probabilities, deals)
    if parts is not None and "" in parts:
        return _stage_probabilities_of(deals, parts[""], check)
    if parts is not None:
        return _by_pipeline(deals, parts, check)
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
        missing = check & np.isnan(conf)
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
                _check_known_p(deals, p, check)
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
        _check_known_p(deals, p, check, table, label)
        return p
    p[is_open] = by_stage[codes[is_open]]
    _check_known_p(deals, p, check)
    return p


def _by_pipeline(deals: Deals, parts: dict[str, Any], check: np.ndarray) -> np.ndarray:
    """Each deal priced with its own pipeline's probabilities (per distinct pipeline)."""
    from pipesheet.pipelines import split_deals

    frame = deals.frame
    codes = frame["code"].to_numpy()
    p = np.where(codes == deals.stages.k, 1.0, 0.0)
    if deals.pipelines is None:  # one pipeline: the one part (checked by _pipeline_tables)
        return _stage_probabilities_of(deals, next(iter(parts.values())), check)
    keyed = {stage_key(n): v for n, v in parts.items()}
    for name, (mask, sub) in split_deals(deals).items():  # per pipeline
        part = keyed.get(stage_key(name))
        need = check[mask]
        if part is None:
            if need.any():
                raise PipesheetError(
                    f"no stage probabilities for pipeline {name!r}",
                    table=deals.name,
                    column=deals.columns.get("pipeline"),
                    rows=[int(r) for r in sub.frame.index[need][:50]],
                    value=name,
                    expected="probabilities for every pipeline with open deals; given for "
                    + ", ".join(map(repr, parts)),
                )
            continue
        try:
            p[mask] = _stage_probabilities_of(sub, part, need)
        except PipesheetError as err:
            raise PipesheetError(
                f"pipeline {name!r}: {err.problem}",
                table=err.table,
                column=err.column,
                rows=err.rows,
                value=err.value,
                expected=err.expected,
            ) from None
    return p


def _check_known_p(
    deals: Deals,
    p: np.ndarray,
    check: np.ndarray,
    given: pd.DataFrame | None = None,
    label: str | None = None,
) -> None:
    """Refuse open deals without a probability, naming every such stage with its deals' rows;
    with a given table or preset whose names match none of the deals' stages, say so and list
    both sets of names."""
    missing = check & np.isnan(p)
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
        present = [names[c] for c in sorted(set(codes[check].tolist()))]
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


# ---- currency and blank amounts ---------------------------------------------------------------


def deal_rates(
    deals: Deals, rates: Rates = None, currency: str | None = None
) -> tuple[np.ndarray, str | None]:
    """Each deal's rate into the reporting currency (1 when nothing is converted), and that
    currency's code.

    With one currency (or no currency column) nothing is converted. With several, ``rates`` is
    required: rate = reporting-currency units per unit. The reporting currency is ``currency``,
    or the one whose rate is 1. Amounts recorded elsewhere for a deal (a stage history's amount
    column) are in the deal's currency and convert with the same rate.

    Raises:
        PipesheetError: several currencies and no rates, or a deal's currency missing from rates.
    """
    frame = deals.frame
    ones = np.ones(len(frame))
    if "currency" not in frame:
        return ones, currency
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
        return ones, (present[0] if present else currency)
    table = read_rates(rates)
    if currency is None:
        unit = [c for c, r in table.items() if r == 1.0]
        if len(unit) != 1:
            raise PipesheetError(
                "cannot tell the reporting currency from the rates",
                table="rates",
                expected="exactly one currency with rate 1, or name the reporting currency",
            )
        currency = unit[0]
    currency = currency.upper()
    if currency not in table.index:
        table.loc[currency] = 1.0
    rate = cur.map(table).to_numpy(dtype=float)
    missing = np.isnan(rate)
    if missing.any():
        value = cur[missing].iloc[0]
        without = sorted({str(c) for c in cur[missing].dropna()})
        raise PipesheetError(
            ("no exchange rate for " + ", ".join(without) if without else "currency is blank"),
            table=deals.name,
            column=deals.columns["currency"],
            rows=[int(r) for r in frame.index[missing][:50]],
            value=value,
            expected="a currency listed in the rates table: " + ", ".join(table.index),
        )
    return rate, currency


def _money_scope(deals: Deals) -> np.ndarray:
    """Open and won deals: the ones whose amount enters a money figure."""
    return (deals.frame["code"] <= deals.stages.k).to_numpy()


def money_amounts(
    deals: Deals,
    rates: Rates,
    currency: str | None,
    blank_amounts: str,
    scope: np.ndarray | None,
) -> tuple[np.ndarray, str | None, np.ndarray, str]:
    """Amounts in the reporting currency with the blank-amount choice applied: (amounts — NaN
    where a blank is skipped or out of scope, 0 where counted as 0 —, currency, blanks, note).

    ``scope``: the deals whose amount is money here (default: open and won deals)."""
    if deals.missing_amount is not None:
        raise deals.missing_amount
    scope = _money_scope(deals) if scope is None else scope
    rate, cur = deal_rates(deals, rates, currency)
    column = deals.columns.get("amount", "amount")
    blank, note = blank_amount_rows(
        deals.frame, blank_amounts, table=deals.name, column=column, scope=scope
    )
    amount = deals.frame["amount"].to_numpy(dtype=float) * rate
    if note and blank_amounts_choice(blank_amounts) == "zero":
        amount = np.where(blank, 0.0, amount)
    return amount, cur, blank, note


def reporting_amounts(
    deals: Deals,
    rates: Rates = None,
    currency: str | None = None,
    *,
    blank_amounts: str = "error",
    scope: np.ndarray | None = None,
) -> tuple[np.ndarray, str | None]:
    """Each deal's amount in the reporting currency, and that currency's code.

    Amount × :func:`deal_rates`. The blank-amount choice applies to the deals in ``scope``
    (default: open and won deals): "error" raises naming the rows, "zero" gives 0, "skip" leaves
    NaN for the caller to leave out (:func:`price_deals` does, and counts them in a note). A
    blank amount out of scope (a lost deal's) is NaN.

    Raises:
        PipesheetError: several currencies and no rates, a deal's currency missing from rates,
            blank amounts with ``blank_amounts="error"``, or no amount column.
    """
    amount, cur, _, _ = money_amounts(deals, rates, currency, blank_amounts, scope)
    return amount, cur


# ---- the priced deals: one path for the forecast, its range, the position --------------------


@dataclass(repr=False)
class PricedDeals(Result):
    """The deals priced once, for every money figure of a forecast (see :func:`price_deals`).

    Attributes:
        deals: The deals read (every row of the table).
        amount: Each deal's amount in the reporting currency (NaN where a blank amount was
            skipped, and for a lost deal's blank amount; 0 where counted as 0).
        probability: Each deal's P(win) (Won 1, Lost 0; NaN without probabilities).
        currency: The reporting currency, when known.
        open: The priced open deals — open at the as-of date (not closed since, as far as the
            table tells, and created on or before it), expected close date in the window
            [start, end], amount known. The weighted pipeline and the range are over these.
        won: Won deals closed on or before the as-of date, amount known.
        closed_in: Those of ``won`` closed in the window (closed date, or the expected close date
            when no closed date is recorded): "closed so far".
        lost: Lost deals closed on or before the as-of date.
        closed_by: Won or lost deals closed on or before the as-of date, amount known or not
            (win rates and cycles are about deals, not money).
        as_of, start, end: The settings used (None when not given).
        override: The deals priced at their own probability (the override column) instead of
            their stage's (open deals with an override; all False without the column).
        stage_probability: Each deal's P(win) from its stage alone (what ``probability`` would
            be without overrides; NaN where unknown).
        notes: What the user should know (blank amounts, overdue deals, deals left out,
            overrides).
    """

    deals: Deals
    amount: np.ndarray
    probability: np.ndarray
    currency: str | None
    open: np.ndarray
    won: np.ndarray
    closed_in: np.ndarray
    lost: np.ndarray
    closed_by: np.ndarray
    as_of: pd.Timestamp | None = None
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    override: np.ndarray | None = None
    stage_probability: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    #: The summary path (:func:`price_deals` of another engine's frame): each row is a cell of
    #: ``count`` deals, ``amount`` their Σ amount, ``amount_sq`` their Σ amount², and
    #: ``amount_each`` one deal's amount (cells of one amount, for a range). None: one deal a row.
    count: np.ndarray | None = None
    amount_sq: np.ndarray | None = None
    amount_each: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.override is None:
            self.override = np.zeros(len(self.amount), dtype=bool)
        if self.stage_probability is None:
            self.stage_probability = np.where(self.override, np.nan, self.probability)

    def to_frame(self) -> pd.DataFrame:
        """One row per deal read: ``deal_id``, ``pipeline`` (with several pipelines),
        ``stage``, ``amount`` (reporting currency), ``probability`` (the one priced),
        ``stage_probability`` (its stage's), ``override`` (True: priced at its own
        probability), and which figures it is in: ``open`` (the priced open deals), ``won``,
        ``closed_in``, ``lost``.  Index: the spreadsheet row."""
        frame = self.deals.frame
        out = pd.DataFrame(
            {
                "deal_id": frame["deal_id"].to_numpy(),
                "stage": frame["stage"].to_numpy(),
                "amount": self.amount,
                "probability": self.probability,
                "stage_probability": self.stage_probability,
                "override": self.override,
                "open": self.open,
                "won": self.won,
                "closed_in": self.closed_in,
                "lost": self.lost,
            },
            index=frame.index,
        )
        if self.deals.pipelines is not None:
            out.insert(1, "pipeline_name", frame["pipeline"].to_numpy())
        return out

    def open_deals(self) -> pd.DataFrame:
        """The priced open deals, one row each, as every money figure counts them:
        ``deal_id``, ``pipeline_name`` (several pipelines), ``stage``, ``owner`` (when known),
        ``close_date``, ``amount``, ``probability``, ``source`` ("override": the deal's own
        probability; "stage": its stage's), ``stage_probability``, ``weighted`` (amount ×
        probability).  Index: the spreadsheet row."""
        frame = self.deals.frame
        sel = self.open
        out = pd.DataFrame({"deal_id": frame["deal_id"].to_numpy()[sel]}, index=frame.index[sel])
        if self.deals.pipelines is not None:
            out["pipeline_name"] = frame["pipeline"].to_numpy()[sel]
        out["stage"] = frame["stage"].to_numpy()[sel]
        if "owner" in frame:
            out["owner"] = frame["owner"].to_numpy()[sel]
        out["close_date"] = frame["close_date"].to_numpy()[sel]
        out["amount"] = self.amount[sel]
        out["probability"] = self.probability[sel]
        out["source"] = np.where(self.override[sel], "override", "stage")
        out["stage_probability"] = self.stage_probability[sel]
        out["weighted"] = (self.amount * self.probability)[sel]
        out.attrs["currency"] = self.currency
        out.attrs["notes"] = list(self.notes)
        return out

    def _figures(self) -> dict[str, Any]:
        return {
            "open_deals": int(self.open.sum())
            if self.count is None
            else int(self.count[self.open].sum()),
            "pipeline": self.pipeline,
            "weighted": self.weighted,
            "closed": self.closed,
            "currency": self.currency,
            "as_of": self.as_of,
        }

    @property
    def windowed(self) -> bool:
        """True when the deals are of a period window (start and/or end given)."""
        return self.start is not None or self.end is not None

    @property
    def weighted(self) -> float:
        """Σ amount · p over the priced open deals (NaN without probabilities)."""
        return float((self.amount * self.probability)[self.open].sum())

    @property
    def pipeline(self) -> float:
        """Σ amount over the priced open deals."""
        return float(self.amount[self.open].sum())

    @property
    def closed(self) -> float:
        """Σ amount of the won deals closed in the window by the as-of date."""
        return float(self.amount[self.closed_in].sum())

    def forecast(
        self,
        period: str | None = "month",
        fiscal_year_start: int = 1,
        by: str | Sequence[str] | None = None,
        total: bool = False,
    ) -> pd.DataFrame:
        """The weighted forecast table of the priced open deals (see :func:`weighted_forecast`)."""
        table = self.deals
        frame = table.frame
        notes = list(self.notes)
        amount, p = self.amount, self.probability
        keys = group_fields(table, by)
        # "pipeline" is also the name of the Σ amount column: the group column is pipeline_name
        named = {k: GROUP_COLUMN.get(k, k) for k in keys}
        work = pd.DataFrame({named[k]: frame[k] for k in keys})
        keys = [named[k] for k in keys]
        if period is not None:
            work["period"] = period_labels(frame["close_date"], period, fiscal_year_start)
        work["deals"] = 1 if self.count is None else self.count
        work["pipeline"] = amount
        work["weighted"] = amount * p
        squares = amount**2 if self.amount_sq is None else self.amount_sq
        work["variance"] = squares * p * (1 - p)
        work = work[self.open]
        group_cols = [*keys, *(["period"] if period is not None else [])]
        for col in keys:
            work[col] = work[col].fillna("(blank)")
        sums = ["deals", "pipeline", "weighted", "variance"]
        if group_cols:
            out = work.groupby(group_cols, sort=True, dropna=False)[sums].sum().reset_index()
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
            out = pd.DataFrame({c: [work[c].sum()] for c in sums})
            out["deals"] = len(work) if self.count is None else int(work["deals"].sum())
        if total and group_cols:
            tot: dict[str, Any] = {c: "" for c in group_cols}
            tot[group_cols[0]] = "Total"
            tot.update({c: work[c].sum() for c in sums})
            out = pd.concat([out, pd.DataFrame([tot])], ignore_index=True)
        out["deals"] = out["deals"].astype(int)
        out["std_dev"] = np.sqrt(out.pop("variance").to_numpy())
        out.attrs["currency"] = self.currency
        out.attrs["notes"] = notes
        return out

    def range(
        self,
        quota: float | None = None,
        *,
        where: np.ndarray | None = None,
        closed: float | None = None,
        **options: Any,
    ):
        """The forecast range of the priced open deals (those also in ``where``, when given):
        Σ amount_d · Bernoulli(p_d), whose mean is :attr:`weighted`.

        ``closed`` (closed so far, added for P(≥ quota)) defaults to :attr:`closed` — of the
        won deals also in ``where`` — when the deals are of a window or ``where`` selects them,
        else None (no period: P(S ≥ quota)). ``options``: see
        :func:`pipesheet.ranges.forecast_range`.
        """
        from pipesheet.ranges import forecast_range

        chosen = self.open if where is None else self.open & np.asarray(where, dtype=bool)
        if closed is None and (self.windowed or where is not None):
            won = self.closed_in if where is None else self.closed_in & where
            closed = float(self.amount[won].sum())
        amounts, probs = self.amount[chosen], self.probability[chosen]
        if self.count is not None:  # cells of one amount: each deal again
            if self.amount_each is None:  # pragma: no cover - price_deals sets it
                raise PipesheetError("the deals were summed without their amounts")
            many = self.count[chosen]
            amounts = np.repeat(self.amount_each[chosen], many)
            probs = np.repeat(probs, many)
        return forecast_range(amounts, probs, quota=quota, closed=closed, **options)


def price_deals(
    deals: pd.DataFrame | Deals,
    probabilities: Probabilities | None = None,
    *,
    start: Any = None,
    end: Any = None,
    as_of: Any = None,
    rates: Rates = None,
    currency: str | None = None,
    blank_amounts: str = "error",
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
    skip_blank_amounts: bool | None = None,
    by: str | Sequence[str] | None = None,
    per_amount: bool = False,
    overrides: bool = True,
) -> PricedDeals:
    """Read, convert and price the deals once: the one path every money figure of a forecast
    takes (weighted forecast, range, pipeline position, dashboard, report).

    * **Amounts** in the reporting currency (:func:`deal_rates`), with the ``blank_amounts``
      choice applied to open and won deals: "error" (default) stops naming the rows, "skip"
      leaves those deals out of every money figure, "zero" counts them as 0 — both counted in a
      note.  ``skip_blank_amounts=True`` is the deprecated spelling of "skip".
    * **As of** (a bare date covers its whole day): a deal created after it is left out; a deal
      won or lost after it is neither open nor closed then (the deals table shows only its final
      stage; a stage history rebuilds that day's pipeline — :func:`pipesheet.backtest.backtest`).
      Both are counted in notes; open deals expected to close before it are counted as overdue.
    * **Window** [start, end] (inclusive; a bare end date covers its day): the open deals
      expected to close in it, and the won deals closed in it ("closed so far": closed date, or
      the expected close date when no closed date is recorded). No bound: every open deal.
    * **Probabilities** from :func:`deal_probabilities` (an unknown one is an error only for a
      priced open deal); None: NaN (money figures only).
    * **Other engines** (a Polars, DuckDB, Spark, Ibis… frame, :mod:`pipesheet.summaries`): the
      deals are summed where they are by *cell* — deals alike in stage, currency, expected close
      date, configured probability, the ``by`` fields (and created/closed dates with ``as_of``;
      the amount itself with ``per_amount``, which a range needs) — with Σ amount and Σ amount²;
      the cells are priced here as deals are. The same figures, up to the order of
      floating-point sums; messages name sample deal ids instead of rows.
      priced open deal); None: NaN (money figures only).  With deals in several pipelines
      (:mod:`pipesheet.pipelines`) each deal takes its own pipeline's probability.
    * **Overrides**: an open deal with a probability in the override column ("Probability
      Override", "Manager Probability", "Override %"…; read like every probability column: one
      scale for the column) is priced at it instead of its stage's — in every figure — and a
      note counts them ("N deal(s) use their own probability (override) instead of their
      stage's"); ``overrides=False`` prices every deal at its stage's.

    Returns:
        A :class:`PricedDeals`.
    """
    if isinstance(stages, StageList) and isinstance(deals, Deals) and deals.stages != stages:
        deals = read_deals(deals, stages=stages)
    if isinstance(probabilities, StageProbabilities) and stages is None:
        stages = probabilities.stages_
    choice = blank_amounts_choice(blank_amounts, skip_blank_amounts)
    deals = pandas_frame(deals)
    if foreign_frame(deals):
        return _price_cells(
            deals,
            probabilities,
            start,
            end,
            as_of,
            rates,
            currency,
            choice,
            stages,
            columns,
            by=by,
            per_amount=per_amount,
        )
    table = read_deals(deals, stages=stages, columns=columns)
    return _price(
        table, probabilities, start, end, as_of, rates, currency, choice, overrides=overrides
    )


def _price_cells(
    deals,
    probabilities,
    start,
    end,
    as_of,
    rates,
    currency,
    choice,
    stages,
    columns,
    *,
    by,
    per_amount,
) -> PricedDeals:
    """:func:`price_deals` of a deals table on another engine: summed there by cell
    (:func:`pipesheet.summaries.money_cells`), the cells priced here as deals are, each
    counting for its deals."""
    from pipesheet.summaries import cells_error, money_cells

    names = [by] if isinstance(by, str) else list(by or ())
    if isinstance(probabilities, StageProbabilities) and probabilities.by is not None:
        names.append(probabilities.by)  # learned per group: each deal's group picks its p
    cells = money_cells(
        deals,
        stages=stages,
        columns=columns,
        by=[n for n in names if n and str(n).strip()],
        dates=read_date_setting(as_of, "as_of") is not None,
        per_amount=per_amount,
    )
    try:
        present = {f: h for f, h in cells.columns.items() if h in cells.frame.columns}
        table = read_deals(cells.frame, stages=cells.stages, columns=present)
        table.notes[:0] = [n for n in cells.notes if n not in table.notes]
        each = table.frame["amount"].to_numpy(dtype=float)
        table.frame["amount"] = cells.amount_sum
        return _price(
            table,
            probabilities,
            start,
            end,
            as_of,
            rates,
            currency,
            choice,
            count=cells.count,
            amount_sq=cells.amount_sq,
            amount_each=each,
        )
    except PipesheetError as err:
        raise cells_error(err, cells) from err


def _price(
    table: Deals,
    probabilities,
    start,
    end,
    as_of,
    rates,
    currency,
    choice: str,
    *,
    overrides: bool = True,
    count: np.ndarray | None = None,
    amount_sq: np.ndarray | None = None,
    amount_each: np.ndarray | None = None,
) -> PricedDeals:
    """The body of :func:`price_deals` on the deals read; with ``count`` each row stands for
    that many deals (a cell of the summary path) with Σ amount in ``amount`` and Σ amount² in
    ``amount_sq``."""

    def n(mask: np.ndarray) -> int:
        return int(mask.sum()) if count is None else int(count[mask].sum())

    notes = list(table.notes)
    frame = table.frame
    k = table.stages.k
    code = frame["code"].to_numpy()
    day = read_date_setting(as_of, "as_of")
    cut = None if day is None else as_of_cutoff(day)
    close = frame["close_date"]
    closed_on = frame["closed_date"].fillna(close) if "closed_date" in frame else close
    if count is not None:
        note = _blank_cells(table, choice, count)
    amount, cur, _, note_rows = money_amounts(table, rates, currency, choice, None)
    note = note_rows if count is None else note
    if note:
        notes.append(note)
    known = ~np.isnan(amount)
    squares = None
    if count is not None:  # Σ amount² and each deal's amount, converted like the amounts
        rate, _ = deal_rates(table, rates, currency)
        squares = np.where(np.isnan(amount), np.nan, np.nan_to_num(amount_sq) * rate**2)
        amount_each = np.where(np.isnan(amount), np.nan, np.nan_to_num(amount_each) * rate)
        if choice == "zero":
            squares = np.where(np.isnan(amount_sq) & ~np.isnan(amount), 0.0, squares)
            amount_each = np.where(np.isnan(amount_sq) & ~np.isnan(amount), 0.0, amount_each)
    created_by = np.ones(len(frame), dtype=bool)
    closed_by = np.ones(len(frame), dtype=bool)
    if cut is not None:
        if "created_date" in frame:
            created_by = ~(frame["created_date"] >= cut).to_numpy()
        closed_by = ~(closed_on >= cut).to_numpy()  # a blank date: taken as closed by then
        later = (code >= k) & ~closed_by & created_by
        if later.any():
            notes.append(
                f"{n(later)} deal(s) won or lost after {day.date()} are left out: a "
                "deals table shows only their final stage (a stage history rebuilds the "
                "pipeline of that day: see backtest)"
            )
        new = ~created_by
        if new.any():
            notes.append(f"{n(new)} deal(s) created after {day.date()} are left out")
    open_now = (code < k) & created_by
    open_sel = open_now & within_days(close, start, end) & known
    won = (code == k) & closed_by & created_by & known
    lost = (code == k + 1) & closed_by & created_by
    closed_in = won & within_days(closed_on, start, end)
    own = np.zeros(len(frame), dtype=bool)
    if probabilities is None:
        p = stage_p = np.full(len(frame), np.nan)
    else:
        p, stage_p, own = _probabilities_of(table, probabilities, open_sel, overrides=overrides)
        used = open_sel & own
        if used.any():
            notes.append(
                f"{int(used.sum())} deal(s) use their own probability (override) instead of "
                f"their stage's ({format_rows([int(r) for r in frame.index[used]])})"
            )
    if day is not None:
        overdue = open_sel & (close < day).to_numpy()
        if overdue.any():
            notes.append(
                f"{n(overdue)} open deal(s) have an expected close date before "
                f"{day.date()} (overdue); they are kept in their period"
            )
    return PricedDeals(
        deals=table,
        amount=amount,
        probability=p,
        currency=cur,
        open=open_sel,
        won=won,
        closed_in=closed_in,
        lost=lost,
        closed_by=(code >= k) & closed_by & created_by,
        as_of=day,
        start=read_date_setting(start, "start"),
        end=read_date_setting(end, "end"),
        override=own,
        stage_probability=stage_p,
        notes=notes,
        count=count,
        amount_sq=squares,
        amount_each=amount_each,
    )


def _blank_cells(table: Deals, choice: str, count: np.ndarray) -> str:
    """The blank-amount rule on cells: the error or the note, counting deals."""
    frame = table.frame
    blank = frame["amount"].isna().to_numpy() & _money_scope(table)
    if not blank.any():
        return ""
    if table.missing_amount is not None:
        raise table.missing_amount
    total = int(count[blank].sum())
    column = table.columns.get("amount", "amount")
    if choice == "error":
        raise PipesheetError(
            f"amount is blank ({total} deal(s))",
            table=table.name,
            column=column,
            rows=[int(r) for r in frame.index[blank][:50]],
            expected=_BLANK_CHOICES,
        )
    what = "skipped" if choice == "skip" else "counted as 0"
    return f"{total} deal(s) with a blank amount {what}"
