"""Pipeline health from the stage history: time in stage, stale deals, bottlenecks, cycle time.

All functions take a stage history (a table or a validated :class:`~pipesheet.tables.History`)
and use only rows entered on or before the day ``as_of`` (at any time of it; default: the day of
the latest row in the history), so they describe the pipeline exactly as it was known at the end
of that day.

* **Stage visit**: a deal entering stage s on date e and leaving it (its next row with another
  stage) on date l; consecutive rows repeating a stage continue the same visit.
  Days in the visit = l − e (in days, fractional when times are given).
* **Time in stage** of an open deal: as_of (the start of that day) − date it entered its current
  stage; 0 for a deal that entered it during the as-of day.
* **Stale**: time in stage > the q-quantile (default q = 0.80) of the completed visits to that
  stage by the team's *won* deals.  A stage with no completed visits by won deals has no
  threshold and flags nothing (said in the notes).
* **Step conversion** s → next, by cohort period: among closed deals whose first entry into s
  falls in the period, the share that also reached the next open stage or Won (the same definition
  as :class:`~pipesheet.probabilities.StageProbabilities`).
* **Bottleneck**: per stage, the latest *mature* cohort period (at least ``min_deals`` closed
  deals and ``min_closed_share`` of its deals closed) is compared with the pooled conversion of
  the ``trailing`` periods before it (or with a benchmark the user gives):
  gap = step conversion − reference.  The stage with the most negative gap is the bottleneck.
* **Cycle time** of a closed deal: date it entered Won/Lost − its first history date (or its
  created date, when a deals table with created dates is given).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.errors import PipesheetError
from pipesheet.formats import format_percent
from pipesheet.i18n import _, pgettext
from pipesheet.periods import known_on, period_labels, read_date_setting
from pipesheet.stages import StageList, stage_key
from pipesheet.tables import (
    Deals,
    History,
    parse_stage_values,
    read_history_and_deals,
)

__all__ = [
    "DAY",
    "as_of_day",
    "bottlenecks",
    "conversion_by_stage",
    "cycle_time",
    "deal_cycle_times",
    "stage_durations",
    "stage_visits",
    "stale_deals",
    "stale_thresholds",
    "time_in_stage",
]

DAY = np.timedelta64(86_400_000_000_000, "ns")


# ---- shared preparation ----------------------------------------------------------------------
def _history(
    history: pd.DataFrame | History | None,
    stages: StageList | None,
    columns: Mapping[str, str] | None,
    deals: pd.DataFrame | Deals | None = None,
) -> tuple[History, Deals | None]:
    # i18n: completes "a stage history is needed for …"
    needed_for = _("diagnostics")
    hist, deal_table, _notes = read_history_and_deals(
        history, deals, stages=stages, columns=columns, needed_for=needed_for
    )
    return hist, deal_table


def as_of_day(hist: History, as_of: Any) -> np.datetime64:
    """The as-of day (midnight): the setting, or the day of the latest history row."""
    value = read_date_setting(as_of)
    if value is None:
        value = hist.frame["entered_date"].max().normalize()
    return value.to_datetime64().astype("datetime64[ns]")


def stage_visits(hist: History, as_of: np.datetime64) -> pd.DataFrame:
    """One row per stage visit: deal_id, deal (int code), stage, code, entered, left, outcome.

    ``outcome`` is the deal's status as of ``as_of``: "won", "lost" or "open".
    """
    frame = hist.frame
    frame = frame[known_on(frame["entered_date"], as_of)]  # any time of the as-of day
    if frame.empty:
        raise PipesheetError(
            _("no history rows on or before the as-of date"),
            table=hist.name,
            value=str(pd.Timestamp(as_of).date()),
            expected=_("an as-of date after the first history row"),
        )
    deal, _ids = pd.factorize(frame["deal_id"])
    order = np.lexsort((frame.index.to_numpy(), frame["entered_date"].to_numpy(), deal))
    deal = deal[order]
    code = frame["code"].to_numpy()[order]
    entered = frame["entered_date"].to_numpy()[order]
    ids = frame["deal_id"].to_numpy()[order]
    rows = frame.index.to_numpy()[order]
    new_deal = np.r_[True, deal[1:] != deal[:-1]]
    new_visit = new_deal | np.r_[True, code[1:] != code[:-1]]
    idx = np.flatnonzero(new_visit)
    v_deal = deal[idx]
    v_code = code[idx]
    v_entered = entered[idx]
    # a visit ends where the next visit of the same deal begins
    nxt_same = np.r_[v_deal[1:] == v_deal[:-1], False]
    left = np.full(len(idx), np.datetime64("NaT", "ns"))
    left[nxt_same] = v_entered[1:][nxt_same[:-1]]
    k = hist.stages.k
    last_code = np.full(v_deal.max() + 1, -1)
    last_code[v_deal] = v_code  # later visits overwrite earlier ones: the deal's current stage
    outcome_code = last_code[v_deal]
    outcome = np.where(
        outcome_code == k, "won", np.where(outcome_code == k + 1, "lost", "open")
    ).astype(object)
    names = np.array(hist.stages.names(), dtype=object)
    return pd.DataFrame(
        {
            "deal_id": ids[idx],
            "deal": v_deal,
            "row": rows[idx],
            "stage": names[v_code],
            "code": v_code,
            "entered_date": v_entered,
            "left_date": left,
            "outcome": outcome,
        }
    )


# ---- time in stage and stale deals -----------------------------------------------------------
def stage_durations(
    history: pd.DataFrame | History,
    *,
    outcome: str | None = "won",
    as_of: Any = None,
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Days spent in each open stage by completed visits (deals that left the stage by as_of).

    Args:
        outcome: Only visits of deals with this status as of ``as_of`` ("won", "lost", "open"),
            or None for all.

    Returns:
        One row per open stage: ``stage``, ``visits``, ``mean_days``, ``median_days``,
        ``p80_days``.  Stages without completed visits have NaN statistics.  The mean is what
        :func:`pipesheet.leads_needed` takes as ``days_in_stage``.
    """
    hist, _deals = _history(history, stages, columns)
    as_of_v = as_of_day(hist, as_of)
    visits = stage_visits(hist, as_of_v)
    done = visits[(visits["code"] < hist.stages.k) & visits["left_date"].notna()]
    if outcome is not None:
        done = done[done["outcome"] == outcome]
    days = (done["left_date"] - done["entered_date"]) / pd.Timedelta(days=1)
    grouped = days.groupby(done["code"])
    out = pd.DataFrame({"stage": list(hist.stages.open)})
    out["visits"] = grouped.size().reindex(range(hist.stages.k), fill_value=0).to_numpy()
    out["mean_days"] = grouped.mean().reindex(range(hist.stages.k)).to_numpy()
    out["median_days"] = grouped.median().reindex(range(hist.stages.k)).to_numpy()
    out["p80_days"] = grouped.quantile(0.8).reindex(range(hist.stages.k)).to_numpy()
    return out


def stale_thresholds(
    history: pd.DataFrame | History,
    *,
    quantile: float = 0.80,
    as_of: Any = None,
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
    deals: pd.DataFrame | Deals | None = None,
) -> pd.DataFrame:
    """Per open stage, the time in stage beyond which an open deal is stale.

    threshold_s = the ``quantile`` of the days won deals spent in s (completed visits).  With a
    deals table whose deals are in several pipelines: per pipeline and stage, from that
    pipeline's won deals only (:mod:`pipesheet.pipelines`).

    Returns:
        ``stage``, ``won_visits``, ``threshold_days`` (NaN when no won deal left the stage);
        several pipelines: ``pipeline_name`` first, each pipeline's own stages in its order.
    """
    q = _quantile(quantile)
    hist, deal_table = _history(history, stages, columns, deals)
    visits = stage_visits(hist, as_of_day(hist, as_of))
    lists = deal_table.pipelines if deal_table is not None else None
    if lists:
        return _pipeline_thresholds(visits, hist.stages, lists, deal_table, q)
    return _thresholds(visits, hist.stages, q)


def _pipeline_thresholds(
    visits: pd.DataFrame, stages: StageList, lists: dict, deals: Deals, q: float
) -> pd.DataFrame:
    """:func:`_thresholds` per pipeline (its own deals' visits, its own stages)."""
    of_deal = deals.frame.set_index("deal_id")["pipeline"]
    pipe = visits["deal_id"].map(of_deal).to_numpy()
    parts = []
    for name, own in lists.items():  # per pipeline
        t = _thresholds(visits[pipe == name], stages, q).set_index("stage")
        t = t.loc[[stages.open[stages.code(s)] for s in own.open]].reset_index()
        t["stage"] = list(own.open)
        t.insert(0, "pipeline_name", name)
        parts.append(t)
    return pd.concat(parts, ignore_index=True)


def _quantile(quantile: Any) -> float:
    try:
        q = float(quantile)
    except (TypeError, ValueError):
        q = np.nan
    if not 0 < q < 1:
        raise PipesheetError(
            _("stale quantile must be between 0 and 1"),
            table="settings",
            column="quantile",
            value=quantile,
            expected=_("e.g. 0.8 for the 80th percentile"),
        )
    return q


def _thresholds(visits: pd.DataFrame, stages: StageList, q: float) -> pd.DataFrame:
    k = stages.k
    won = visits[(visits["outcome"] == "won") & (visits["code"] < k) & visits["left_date"].notna()]
    days = (won["left_date"] - won["entered_date"]) / pd.Timedelta(days=1)
    grouped = days.groupby(won["code"])
    return pd.DataFrame(
        {
            "stage": list(stages.open),
            "won_visits": grouped.size().reindex(range(k), fill_value=0).to_numpy(),
            "threshold_days": grouped.quantile(q).reindex(range(k)).to_numpy(),
        }
    )


def time_in_stage(
    history: pd.DataFrame | History,
    *,
    as_of: Any = None,
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Open deals (as of ``as_of``) with the date they entered their current stage.

    Returns:
        ``deal_id``, ``stage``, ``entered_date``, ``days_in_stage`` (= as_of − entered date).
    """
    hist, _deals = _history(history, stages, columns)
    as_of_v = as_of_day(hist, as_of)
    return _current(stage_visits(hist, as_of_v), hist.stages, as_of_v)


def _current(visits: pd.DataFrame, stages: StageList, as_of: np.datetime64) -> pd.DataFrame:
    last = visits[visits["left_date"].isna() & (visits["code"] < stages.k)]
    out = last[["deal_id", "stage", "entered_date"]].copy()
    # measured to the start of the as-of day; a deal that entered during that day has 0 days
    out["days_in_stage"] = np.maximum((as_of - last["entered_date"].to_numpy()) / DAY, 0.0)
    out.index = last["row"].to_numpy()
    out.index.name = "row"
    return out


def stale_deals(
    history: pd.DataFrame | History,
    deals: pd.DataFrame | Deals | None = None,
    *,
    quantile: float = 0.80,
    as_of: Any = None,
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
    only_stale: bool = False,
) -> pd.DataFrame:
    """Open deals with their time in stage against the team's own won deals.

    stale = days_in_stage > threshold_days, threshold_days = ``quantile`` of the days won deals
    spent in that stage (see :func:`stale_thresholds`).

    Args:
        deals: Adds the deals' amount, owner and expected close date when given.
        only_stale: Return only the stale deals.

    Returns:
        ``deal_id``, ``stage``, ``entered_date``, ``days_in_stage``, ``threshold_days``,
        ``times_threshold`` (days ÷ threshold), ``stale`` (bool), then ``amount``, ``owner``,
        ``close_date`` when a deals table is given; stale deals first, longest over first.
        With deals in several pipelines, ``pipeline_name`` follows ``deal_id`` and each deal is
        measured against its own pipeline's won deals (:func:`stale_thresholds`).
        ``attrs["notes"]`` says which stages have no threshold.
    """
    q = _quantile(quantile)
    hist, deal_table = _history(history, stages, columns, deals)
    as_of_v = as_of_day(hist, as_of)
    visits = stage_visits(hist, as_of_v)
    current = _current(visits, hist.stages, as_of_v)
    lists = deal_table.pipelines if deal_table is not None else None
    if lists:  # each pipeline's deals against its own won deals
        thresholds = _pipeline_thresholds(visits, hist.stages, lists, deal_table, q)
        of_deal = deal_table.frame.set_index("deal_id")["pipeline"]
        current.insert(1, "pipeline_name", current["deal_id"].map(of_deal).to_numpy())
        threshold = pd.Series(
            thresholds["threshold_days"].to_numpy(),
            index=pd.MultiIndex.from_arrays(
                [thresholds["pipeline_name"], thresholds["stage"].map(stage_key)]
            ),
        )
        key = pd.MultiIndex.from_arrays([current["pipeline_name"], current["stage"].map(stage_key)])
        current["threshold_days"] = threshold.reindex(key).to_numpy(dtype=float)
        thresholds = thresholds.assign(
            stage=thresholds["pipeline_name"] + ": " + thresholds["stage"]
        )
    else:
        thresholds = _thresholds(visits, hist.stages, q)
        threshold = thresholds.set_index("stage")["threshold_days"]
        current["threshold_days"] = current["stage"].map(threshold).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        current["times_threshold"] = current["days_in_stage"] / current["threshold_days"]
    current["stale"] = (current["days_in_stage"] > current["threshold_days"]).to_numpy()
    if deal_table is not None:
        extra = deal_table.frame.set_index("deal_id")
        for col in ("amount", "owner", "close_date"):
            if col in extra:
                current[col] = current["deal_id"].map(extra[col]).to_numpy()
    current = current.sort_values(
        ["stale", "times_threshold"], ascending=[False, False], kind="stable"
    )
    if only_stale:
        current = current[current["stale"]]
    missing = thresholds.loc[thresholds["threshold_days"].isna(), "stage"].tolist()
    notes = [
        _("stale = longer in stage than {share} of the team's won deals").format(
            share=format_percent(q, 0)
        )
    ]
    if missing:
        notes.append(
            _(
                "no won deal has left these stages, so none of their deals is flagged: {stages}"
            ).format(stages=", ".join(missing))
        )
    current.attrs["notes"] = notes
    current.attrs["as_of"] = pd.Timestamp(as_of_v)
    return current


# ---- conversion and bottlenecks --------------------------------------------------------------
def _reached(visits: pd.DataFrame, stages: StageList):
    """First-entry date per (deal, open stage), and each deal's outcome (0 open, 1 won, 2 lost)."""
    k = stages.k
    n = int(visits["deal"].max()) + 1
    first = np.full((n, k), np.datetime64("NaT", "ns"))
    opn = visits[visits["code"] < k]
    firsts = opn.groupby(["deal", "code"], sort=False)["entered_date"].min()
    d = firsts.index.get_level_values(0).to_numpy()
    c = firsts.index.get_level_values(1).to_numpy()
    first[d, c] = firsts.to_numpy()
    outcome = np.zeros(n, dtype=np.int8)
    o = visits.drop_duplicates("deal")[["deal", "outcome"]]
    outcome[o["deal"].to_numpy()] = (
        o["outcome"].map({"open": 0, "won": 1, "lost": 2}).to_numpy(dtype=np.int8)
    )
    return first, outcome


def conversion_by_stage(
    history: pd.DataFrame | History,
    *,
    period: str = "quarter",
    fiscal_year_start: int = 1,
    as_of: Any = None,
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Step conversion of each open stage by cohort period (period of first entering the stage).

    step_conversion = converted / closed_deals, where closed_deals are the deals (closed as of
    ``as_of``) whose first entry into s falls in the period, and converted those of them that
    also reached the next open stage or Won.

    Returns:
        Long table ``stage``, ``period``, ``entered`` (all deals entering s in the period),
        ``closed_deals``, ``converted``, ``step_conversion``; stages in funnel order, periods in
        time order.
    """
    hist, _deals = _history(history, stages, columns)
    visits = stage_visits(hist, as_of_day(hist, as_of))
    return _conversion(visits, hist.stages, period, fiscal_year_start)


def _conversion(
    visits: pd.DataFrame, stages: StageList, period: str, fiscal_year_start: int
) -> pd.DataFrame:
    k = stages.k
    first, outcome = _reached(visits, stages)
    reached = ~np.isnat(first)
    nxt = np.zeros_like(reached)
    nxt[:, :-1] = reached[:, 1:]
    nxt |= (outcome == 1)[:, None]
    closed = outcome > 0
    parts = []
    for s in range(k):
        mask = reached[:, s]
        if not mask.any():
            continue
        dates = pd.Series(first[mask, s])
        labels = period_labels(dates, period, fiscal_year_start).to_numpy()
        start = dates.dt.to_period("D").dt.start_time.to_numpy()
        frame = pd.DataFrame(
            {
                "period": labels,
                "start": start,
                "entered": 1,
                "closed_deals": closed[mask].astype(int),
                "converted": (closed[mask] & nxt[mask, s]).astype(int),
            }
        )
        g = frame.groupby("period", sort=False).agg(
            start=("start", "min"),
            entered=("entered", "sum"),
            closed_deals=("closed_deals", "sum"),
            converted=("converted", "sum"),
        )
        g = g.sort_values("start").drop(columns="start").reset_index()
        g.insert(0, "stage", stages.open[s])
        parts.append(g)
    if not parts:
        return pd.DataFrame(
            columns=["stage", "period", "entered", "closed_deals", "converted", "step_conversion"]
        )
    out = pd.concat(parts, ignore_index=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["step_conversion"] = np.where(
            out["closed_deals"] > 0, out["converted"] / out["closed_deals"], np.nan
        )
    return out


def bottlenecks(
    history: pd.DataFrame | History,
    *,
    period: str = "quarter",
    trailing: int = 4,
    benchmark: Mapping[str, float] | Sequence[tuple[str, Any]] | None = None,
    min_deals: int = 10,
    min_closed_share: float = 0.8,
    fiscal_year_start: int = 1,
    as_of: Any = None,
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Which stage converts furthest below its own trailing average (or a benchmark).

    For each open stage: the latest *mature* cohort period — at least ``min_deals`` closed deals
    and at least ``min_closed_share`` of the deals that entered already closed (a young cohort has
    closed mostly its fast losses, which would look like a drop) — gives
    ``step_conversion``; ``reference`` is the pooled conversion (Σ converted ÷ Σ closed) of the
    ``trailing`` periods before it, or the benchmark of the stage when given (read as
    probabilities are: one scale for all values, each stage once);
    gap = step_conversion − reference.  ``bottleneck`` marks the stage with the most negative gap.

    Returns:
        ``stage``, ``period``, ``closed_deals``, ``step_conversion``, ``reference``,
        ``reference_kind`` ("trailing average of N periods" or "benchmark"), ``gap``,
        ``bottleneck``.  ``attrs["notes"]`` explains stages without enough data.
    """
    if isinstance(trailing, bool) or not isinstance(trailing, (int, np.integer)) or trailing < 1:
        raise PipesheetError(
            _("trailing must be a whole number of periods, 1 or more"),
            table="settings",
            column="trailing",
            value=trailing,
            expected=_("e.g. 4"),
        )
    hist, _deals = _history(history, stages, columns)
    visits = stage_visits(hist, as_of_day(hist, as_of))
    conv = _conversion(visits, hist.stages, period, fiscal_year_start)
    bench = _benchmark(benchmark, hist.stages)
    rows, notes = [], []
    for stage in hist.stages.open:
        part = conv[conv["stage"] == stage].reset_index(drop=True)
        closed_n = part["closed_deals"].to_numpy()
        mature = (closed_n >= min_deals) & (
            closed_n >= min_closed_share * part["entered"].to_numpy()
        )
        enough = np.flatnonzero(mature)
        if not len(enough):
            notes.append(
                _(
                    "{stage}: no period with {count} or more closed deals and {share} of its "
                    "deals closed"
                ).format(stage=stage, count=min_deals, share=format_percent(min_closed_share, 0))
            )
            rows.append((stage, None, 0, np.nan, np.nan, "", np.nan))
            continue
        i = int(enough[-1])
        cur = part.iloc[i]
        if bench is not None and stage in bench:
            ref, kind = bench[stage], pgettext("reference", "benchmark")
        else:
            prev = part.iloc[max(0, i - trailing) : i]
            den = prev["closed_deals"].sum()
            ref = prev["converted"].sum() / den if den else np.nan
            kind = _("trailing average of {count} periods").format(count=len(prev))
            if not den:
                notes.append(
                    _("{stage}: no earlier period to compare {period} with").format(
                        stage=stage, period=cur["period"]
                    )
                )
        rows.append(
            (
                stage,
                cur["period"],
                int(cur["closed_deals"]),
                float(cur["step_conversion"]),
                float(ref),
                kind,
                float(cur["step_conversion"]) - float(ref),
            )
        )
    out = pd.DataFrame(
        rows,
        columns=[
            "stage",
            "period",
            "closed_deals",
            "step_conversion",
            "reference",
            "reference_kind",
            "gap",
        ],
    )
    gaps = out["gap"].to_numpy(dtype=float)
    out["bottleneck"] = False
    if np.isfinite(gaps).any() and np.nanmin(gaps) < 0:
        out.loc[int(np.nanargmin(gaps)), "bottleneck"] = True
    out.attrs["notes"] = notes
    return out


def _benchmark(
    benchmark: Mapping[str, float] | Sequence[tuple[str, Any]] | None, stages: StageList
) -> dict[str, float] | None:
    """Benchmark step conversions per open stage, read as probabilities are (one scale for all
    values: 0.55, 55 or 55%; each stage once)."""
    if benchmark is None:
        return None
    pairs = list(benchmark.items()) if isinstance(benchmark, Mapping) else list(benchmark)
    read = parse_stage_values(pairs, table="benchmark", column="conversion")
    out = {}
    for i, (label, v) in enumerate(read):
        code = stages.code(label)
        if not 0 <= code < stages.k:
            raise PipesheetError(
                _("benchmark for a stage that is not an open stage"),
                table="benchmark",
                value=label,
                expected=_("one of {values}").format(values=", ".join(stages.open)),
            )
        if np.isnan(v):
            raise PipesheetError(
                _("benchmark conversion is blank"),
                table="benchmark",
                rows=[i + 2],
                value=label,
                expected=_("a rate such as 0.55 or 55%"),
            )
        out[stages.open[code]] = v
    return out


# ---- cycle time ------------------------------------------------------------------------------
def deal_cycle_times(
    history: pd.DataFrame | History,
    deals: pd.DataFrame | Deals | None = None,
    *,
    as_of: Any = None,
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Per closed deal: ``deal_id``, ``outcome`` (won/lost), ``start_date``, ``closed_date``,
    ``cycle_days`` = closed date (entry into Won/Lost) − start date (created date from the deals
    table when there is one, else the deal's first history date)."""
    hist, deal_table = _history(history, stages, columns, deals)
    visits = stage_visits(hist, as_of_day(hist, as_of))
    k = hist.stages.k
    start = visits.groupby("deal")["entered_date"].min()
    closing = (
        visits[visits["code"] >= k]
        .groupby("deal")
        .agg(closed_date=("entered_date", "max"), code=("code", "last"))
    )
    ids = visits.drop_duplicates("deal").set_index("deal")["deal_id"]
    final = visits.groupby("deal")["outcome"].first()
    closing = closing[final.reindex(closing.index).to_numpy() != "open"]
    out = pd.DataFrame(
        {
            "deal_id": ids.reindex(closing.index).to_numpy(),
            "outcome": final.reindex(closing.index).to_numpy(),
            "start_date": start.reindex(closing.index).to_numpy(),
            "closed_date": closing["closed_date"].to_numpy(),
        }
    )
    if deal_table is not None and "created_date" in deal_table.frame:
        created = out["deal_id"].map(deal_table.frame.set_index("deal_id")["created_date"])
        out["start_date"] = created.fillna(out["start_date"]).to_numpy()
    out["cycle_days"] = (out["closed_date"] - out["start_date"]) / pd.Timedelta(days=1)
    return out


def cycle_time(
    history: pd.DataFrame | History,
    deals: pd.DataFrame | Deals | None = None,
    *,
    as_of: Any = None,
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Cycle time summary by outcome: ``outcome``, ``deals``, ``mean_days``, ``median_days``,
    ``p80_days`` (see :func:`deal_cycle_times`)."""
    per = deal_cycle_times(history, deals, as_of=as_of, stages=stages, columns=columns)
    g = per.groupby("outcome")["cycle_days"]
    out = pd.DataFrame(
        {
            "deals": g.size(),
            "mean_days": g.mean(),
            "median_days": g.median(),
            "p80_days": g.quantile(0.8),
        }
    ).reindex(["won", "lost"])
    out["deals"] = out["deals"].fillna(0).astype(int)
    return out.rename_axis("outcome").reset_index()
