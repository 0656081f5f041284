"""Several pipelines: one deals table whose deals belong to pipelines with their own stages.

A team may run several pipelines (New business, Renewal…), each with its own stage list and
its own win probabilities.  A deals table says which pipeline a deal is in with a pipeline column
(``Pipeline``, ``Sales Pipeline``, ``Pipeline Name``, HubSpot ``Pipeline``, Pipedrive
``Deal - Pipeline``; the column mapping field ``pipeline``).

* **One pipeline** — no such column, or one name in it — is read and computed exactly as
  before: nothing here applies.
* **Several pipelines** (two names or more): each pipeline has its own stage list — given as
  ``{pipeline: StageList}`` (:class:`~pipesheet.stages.PipelineStages`), one
  :class:`~pipesheet.stages.StageList` shared by all, or inferred per pipeline (from the first
  entries of its own deals in the stage history, else from its deals' order of appearance) —
  and a deal whose stage is not one of its pipeline's stages is refused, naming the pipeline,
  the stage and the row.  The tables are read against the union of the lists (so a deal's
  Won/Lost/open status reads as for one pipeline); what is learned or priced per pipeline uses
  the pipeline's own list (:func:`split_deals`, :func:`split_history`).

What is computed per pipeline: the stage probabilities (each pipeline's from its own deals
only: :class:`~pipesheet.StageProbabilities`), every priced deal (its own pipeline's
probability: :func:`pipesheet.price_deals`), hence the weighted forecast (``by="pipeline"``
gives one row per pipeline), the range, the pipeline position and the quota gap; the stale
thresholds of the diagnostics.  Money totals are the sums over the pipelines; a range of the
total is the distribution of the sum of every pipeline's deals (not the sum of the pipelines'
P10s).  :func:`pipeline_summary` is the table per pipeline and in total.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipesheet.stages import StageList
from pipesheet.tables import Deals, History

__all__ = ["pipeline_summary", "recode", "split_deals", "split_history"]


def recode(codes: np.ndarray, labels: pd.Series, union: StageList, own: StageList) -> np.ndarray:
    """Codes against the union stage list → codes against one pipeline's list (open 0..k-1 of
    its own stages, Won k, Lost k+1; -1 for a label not in it)."""
    k_u, k = union.k, own.k
    lookup = np.full(k_u + 2, -1, dtype=np.int64)
    for i, name in enumerate(union.open):  # per stage of the union
        c = own.code(name)
        lookup[i] = c if 0 <= c < k else -1
    lookup[k_u], lookup[k_u + 1] = k, k + 1
    out = lookup[np.asarray(codes, dtype=np.int64)]
    return out


def split_deals(deals: Deals) -> dict[str, tuple[np.ndarray, Deals]]:
    """``{pipeline: (mask of its rows, its Deals)}`` — each read against the pipeline's own
    stage list (same rows, same spreadsheet row numbers, ``code`` against its own stages) —
    when the deals are in several pipelines; ``{}`` otherwise."""
    lists = deals.pipelines
    if lists is None:
        return {}
    frame = deals.frame
    pipe = frame["pipeline"].to_numpy()
    out: dict[str, tuple[np.ndarray, Deals]] = {}
    for name, own in lists.items():  # per pipeline
        mask = pipe == name
        sub = frame[mask].copy()
        sub["code"] = recode(sub["code"].to_numpy(), sub["stage"], deals.stages, own)
        out[name] = (
            mask,
            Deals(sub, own, dict(deals.columns), [], deals.name, deals.missing_amount),
        )
    return out


def split_history(hist: History, deals: Deals) -> dict[str, History]:
    """``{pipeline: its History}`` — the rows of its deals, coded against its own stages — when
    the deals are in several pipelines; ``{}`` otherwise."""
    lists = deals.pipelines
    if lists is None:
        return {}
    frame = hist.frame
    of_deal = pd.Series(deals.frame["pipeline"].to_numpy(), index=deals.frame["deal_id"])
    row_pipe = frame["deal_id"].map(of_deal).to_numpy()
    out: dict[str, History] = {}
    for name, own in lists.items():  # per pipeline
        sub = frame[row_pipe == name].copy()
        sub["code"] = recode(sub["code"].to_numpy(), sub["stage"], hist.stages, own)
        out[name] = History(sub, own, dict(hist.columns), [], hist.name)
    return out


def pipeline_summary(priced: Any, quota: float | None = None, **options: Any) -> pd.DataFrame:
    """Per pipeline and in total: the stage order, open deals, open pipeline, weighted forecast,
    closed so far, and the forecast range of its open deals (mean, P10, P50, P90; with a quota,
    P(closed so far + range ≥ quota) of the total only — a quota is the team's).

    ``priced``: a :class:`~pipesheet.pricing.PricedDeals` (each deal priced with its own
    pipeline's probability).  The total's money figures are the sums of the pipelines'; its range
    is the distribution of the sum of all the open deals.  With one pipeline: one row, "Total".
    ``options``: see :func:`pipesheet.ranges.forecast_range`.
    """
    deals = priced.deals
    lists = deals.pipelines or {}
    rows = []
    frame = deals.frame
    for name, own in lists.items():  # per pipeline
        mask = (frame["pipeline"] == name).to_numpy()
        rows.append(_summary_row(priced, name, " → ".join(own.open), mask, None, options))
    total = _summary_row(
        priced, "Total", "" if lists else " → ".join(deals.stages.open), None, quota, options
    )
    rows.append(total)
    out = pd.DataFrame(rows)
    out.attrs["currency"] = priced.currency
    out.attrs["notes"] = list(priced.notes)
    return out


def _summary_row(priced, name, stages, where, quota, options) -> dict[str, Any]:
    open_ = priced.open if where is None else priced.open & where
    won = priced.closed_in if where is None else priced.closed_in & where
    rng = priced.range(quota, where=where, **options)
    row = {
        "pipeline_name": name,
        "stages": stages,
        "open_deals": int(open_.sum()),
        "pipeline": float(priced.amount[open_].sum()),
        "weighted": float((priced.amount * priced.probability)[open_].sum()),
        "closed": float(priced.amount[won].sum()),
        "mean": rng.mean,
        "p10": rng.p10,
        "p50": rng.p50,
        "p90": rng.p90,
    }
    if quota is not None:
        row["p_quota"] = rng.p_quota
    return row
