"""The stage history as arrays, and the pipeline on any date.

The time-aware forecast, the backtest and calibration all walk the same history many times (once
per as-of date), so it is read once (:func:`load_tables`: the history, the deals table when given,
cross-checked) and kept as plain numpy arrays sorted by (deal, date, table position)
(:class:`HistoryArrays`).  On those arrays:

* :func:`deal_states` — every deal's state at the end of a day: its stage then, the day its
  current visit began (a *visit* is a run of consecutive rows of one deal at one stage), and the
  first entry into (and first exit from) each stage it had reached;
* :func:`latest_values` — per deal, the last value recorded on or before a day (an amount or an
  expected close date the history carries, as Salesforce's OpportunityHistory does);
* :func:`history_in_reporting_currency` — such amounts converted like the deals' own.

Days are whole day numbers (days since 1970-01-01, :func:`pipesheet.periods.day_number`): a row
dated any time on day D is known at the end of D.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.cells import parse_amounts, parse_dates, parse_probabilities
from pipesheet.columns import (
    HISTORY_FIELDS,
    LOCAL_CLOSE_DATES,
    LOCAL_PROBABILITIES,
    resolve_columns,
)
from pipesheet.errors import PipesheetError
from pipesheet.i18n import _
from pipesheet.stages import StageList
from pipesheet.tables import (
    NEEDED_FOR,
    Deals,
    History,
    check_table,
    date_order_of,
    read_history_and_deals,
)

__all__ = [
    "DealStates",
    "HistoryArrays",
    "LoadedTables",
    "deal_states",
    "history_in_reporting_currency",
    "latest_values",
    "load_tables",
]

#: Headers of a history's expected close date column (Salesforce OpportunityHistory: CloseDate).
HISTORY_CLOSE_ALIASES = (
    *("close_date", "closedate", "expected_close_date", "expected_close"),
    *LOCAL_CLOSE_DATES,
)
#: Headers of a history's probability column (Salesforce OpportunityHistory: Probability).
HISTORY_PROBABILITY_ALIASES = ("probability", "probability (%)", *LOCAL_PROBABILITIES)


# ---- the history as arrays -------------------------------------------------------------------


@dataclass
class HistoryArrays:
    """History rows sorted by (deal, date, table position), as plain arrays."""

    ids: np.ndarray  # deal id per deal code
    deal: np.ndarray  # deal code per row
    code: np.ndarray  # stage code per row (0..k-1 open, k Won, k+1 Lost)
    day: np.ndarray  # whole day number (days since 1970-01-01) per row
    row: np.ndarray  # spreadsheet row of each history row
    amount: np.ndarray | None  # history amount per row (NaN when blank), if the history has one
    close: np.ndarray | None  # history expected close date per row (NaT when blank), if any
    k: int
    probability: np.ndarray | None = None  # the CRM's probability per row (0–1, NaN blank)


def _day_numbers(values: pd.Series | np.ndarray) -> np.ndarray:
    arr = np.asarray(values, dtype="datetime64[ns]")
    return arr.astype("datetime64[D]").astype(np.int64)


def _arrays(hist: History, extras: dict[str, pd.Series]) -> HistoryArrays:
    frame = hist.frame
    deal_codes, ids = pd.factorize(frame["deal_id"])
    day = _day_numbers(frame["entered_date"])
    position = np.arange(len(frame), dtype=np.int64)
    exact = frame["entered_date"].to_numpy().astype("datetime64[ns]").astype(np.int64)
    sort = np.lexsort((position, exact, deal_codes))
    amount = extras.get("amount")
    close = extras.get("close_date")
    probability = extras.get("probability")
    return HistoryArrays(
        ids=np.asarray(ids, dtype=object),
        deal=deal_codes[sort],
        code=frame["code"].to_numpy()[sort],
        day=day[sort],
        row=frame.index.to_numpy()[sort],
        amount=None if amount is None else amount.to_numpy(dtype=float)[sort],
        close=None if close is None else close.to_numpy(dtype="datetime64[ns]")[sort],
        k=hist.stages.k,
        probability=None if probability is None else probability.to_numpy(dtype=float)[sort],
    )


def _history_extras(source: Any, hist: History) -> dict[str, pd.Series]:
    """Optional per-row amount, expected close date and probability of the history (Salesforce
    OpportunityHistory carries all three), aligned with ``hist.frame``."""
    out: dict[str, pd.Series] = {}
    for fld in ("amount", "close_date", "probability"):
        if fld in hist.frame:
            out[fld] = hist.frame[fld]
    if not isinstance(source, pd.DataFrame):  # an already read History: the table it was read from
        source = hist.source
    if isinstance(source, pd.DataFrame) and len(out) < 3:
        raw = check_table(source, hist.name)
        if len(raw) != len(hist.frame):  # pragma: no cover - the reader keeps every row
            return out
        raw.index = hist.frame.index
        taken = {h for f, h in hist.columns.items() if f != "amount"}
        rest = raw[[c for c in raw.columns if str(c) not in taken]]
        found = resolve_columns(
            rest,
            {
                "amount": HISTORY_FIELDS.get("amount", ("amount",)),
                "close_date": HISTORY_CLOSE_ALIASES,
                "probability": HISTORY_PROBABILITY_ALIASES,
            },
            (),
            table_name=hist.name,
        )
        if "amount" in found and "amount" not in out:
            out["amount"] = parse_amounts(
                rest[found["amount"]], table=hist.name, column=found["amount"], allow_blank=True
            )
        if "close_date" in found and "close_date" not in out:
            out["close_date"] = parse_dates(
                rest[found["close_date"]],
                table=hist.name,
                column=found["close_date"],
                dayfirst=date_order_of(source),
            )
        if "probability" in found and "probability" not in out:
            out["probability"] = parse_probabilities(
                rest[found["probability"]], table=hist.name, column=found["probability"]
            )
    return out


@dataclass
class LoadedTables:
    """The history and the deals table read once (see :func:`load_tables`), the history also as
    arrays, and the notes of reading them."""

    hist: History
    deals: Deals | None
    arrays: HistoryArrays
    notes: list[str]


def load_tables(
    history: Any,
    deals: Any,
    stages: StageList | None,
    columns: Mapping[str, str] | None,
) -> LoadedTables:
    """Read and cross-check the history (required) and the deals table (optional)."""
    hist, table, notes = read_history_and_deals(
        history,
        deals,
        stages=stages,
        columns=columns,
        needed_for=NEEDED_FOR[5],  # time-aware probabilities (learned from the dates…)
    )
    return LoadedTables(hist, table, _arrays(hist, _history_extras(history, hist)), notes)


def history_in_reporting_currency(
    amounts: np.ndarray, rate: np.ndarray | None, rates: Any, tables: LoadedTables
) -> np.ndarray:
    """Amounts recorded in the history, converted like the deals' own: a history row's amount
    is in its deal's currency (the deals table's), so it takes that deal's rate (``rate``,
    aligned with ``amounts``; None without a deals table).

    Raises:
        PipesheetError: rates are given but there is no deals table to tell each deal's
            currency (the history has none).
    """
    if rate is not None:
        return amounts * rate
    if rates is not None:
        raise PipesheetError(
            _("the history's amounts carry no currency, so the rates cannot convert them"),
            table=tables.hist.name,
            column=tables.hist.columns.get("amount", "amount"),
            expected=_("the deals table as well (its currency column says each deal's currency)"),
        )
    return amounts


# ---- the pipeline on a date ------------------------------------------------------------------


@dataclass
class DealStates:
    """Every deal's state at the end of day ``cut`` (deal codes index the arrays).

    A *visit* to a stage is a run of consecutive rows of one deal at that stage.
    """

    code: np.ndarray  # stage code at cut, -1 when the deal had no row yet
    last: np.ndarray  # index (into the sorted rows) of the deal's last row on or before cut
    entry: np.ndarray  # day the deal's current visit began (open deals), else -1
    first_keys: np.ndarray  # sorted keys deal*(k+2)+stage of (deal, stage) pairs seen by cut
    first_days: np.ndarray  # day of the first entry of each pair
    first_leave: np.ndarray  # day that first visit ended (next row at another stage), -1 if not


def deal_states(a: HistoryArrays, cut: int) -> DealStates:
    """Every deal's state at the end of day ``cut``: stage, current visit, first entries."""
    n = len(a.ids)
    width = a.k + 2
    known = np.flatnonzero(a.day <= cut)
    d, c, day = a.deal[known], a.code[known], a.day[known]
    nk = len(known)
    pos = np.arange(nk)
    change = np.ones(nk, dtype=bool)
    change[1:] = (d[1:] != d[:-1]) | (c[1:] != c[:-1])
    run_first = np.maximum.accumulate(np.where(change, pos, 0)) if nk else pos
    starts = np.flatnonzero(change)
    nxt_i = np.searchsorted(starts, pos, side="right")
    next_start = np.where(nxt_i < len(starts), starts[np.minimum(nxt_i, len(starts) - 1)], nk)
    is_last = np.ones(nk, dtype=bool)
    is_last[:-1] = d[1:] != d[:-1]
    last = np.full(n, -1, dtype=np.int64)
    last[d[is_last]] = known[is_last]
    code = np.full(n, -1, dtype=np.int64)
    has = last >= 0
    code[has] = a.code[last[has]]
    entry = np.full(n, -1, dtype=np.int64)
    entry[d[is_last]] = day[run_first[is_last]]
    entry[code >= a.k] = -1
    keys = d * width + c
    first_keys, first_pos = np.unique(keys, return_index=True)  # rows are in date order per deal
    first_days = day[first_pos]
    nxt = next_start[first_pos]
    nxt_c = np.minimum(nxt, max(nk - 1, 0))
    same = (nxt < nk) & (d[nxt_c] == d[first_pos]) if nk else np.zeros(0, dtype=bool)
    first_leave = np.where(same, day[nxt_c], -1)
    return DealStates(code, last, entry, first_keys, first_days, first_leave)


def latest_values(a: HistoryArrays, values: np.ndarray, cut: int, blank: np.ndarray) -> np.ndarray:
    """Per deal: the last non-blank value among its rows on or before ``cut`` (NaN/NaT if none)."""
    keep = np.flatnonzero((a.day <= cut) & ~blank)
    d = a.deal[keep]
    is_last = np.ones(len(keep), dtype=bool)
    is_last[:-1] = d[1:] != d[:-1]
    if values.dtype.kind == "M":
        out = np.full(len(a.ids), np.datetime64("NaT", "ns"))
    else:
        out = np.full(len(a.ids), np.nan)
    out[d[is_last]] = values[keep[is_last]]
    return out
