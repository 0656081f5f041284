"""Stage design check: is the stage list itself sound? Each flag comes with its evidence.

The methods advise 4–6 open stages so the tool stays usable, and every stage should tell
something about a deal's chances. From the stage history as of ``as_of`` (only rows known at the
end of that day), per open stage s:

* **too many stages** (``too_many_stages``): more than ``max_stages`` open stages (default 6).
  Suggests the neighbours with the closest win probabilities as the first candidates to merge.
* **skipped** (``skipped``): of the deals that reached a *later* stage (an open stage after s, or
  Won), the share that never entered s: ``skip_share = later without s ÷ later``. Flagged when
  ``skip_share ≥ skip_share_min`` (default 0.5: most deals skip it) over at least ``min_deals``
  deals (default 20). Suggests dropping it or making it a field of the deal.
* **adds no information** (``no_information``): the step conversion s → next (of the closed deals
  that reached s, the share that reached the next stage or Won; see
  :class:`~pipesheet.probabilities.StageProbabilities`) is ``≥ merge_conversion`` (default 0.95)
  over at least ``min_deals`` closed deals, or the median days of the completed visits to s is
  ``≤ merge_days`` (default 1) over at least ``min_deals`` visits: a stage every deal passes, or
  passes at once, adds no information — suggests merging it with the next stage (the previous
  one for the last stage).
* **too few closed deals** (``too_few_closed``): W_s + L_s (closed deals that reached s) below
  ``min_closed`` (default 20): its win probability rests on too little to learn (the Jeffreys
  interval of 5 closed deals spans about 60 points). Suggests pooling it with a neighbour or
  giving a prior (a preset's probability, shrinkage).
* **moved back from** (``backward``): of the completed visits to s (deals that left s by as-of),
  the share whose next stage is an earlier open stage ``≥ backward_share_min`` (default 0.10)
  over at least ``min_deals`` visits. Suggests clearer entry criteria for s, or merging it with
  the stage deals go back to.

A stage can raise several flags; a sound stage list raises none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.base import Result, note_is
from pipesheet.diagnostics import as_of_day, stage_visits
from pipesheet.errors import PipesheetError
from pipesheet.formats import format_number, format_percent, symbols
from pipesheet.i18n import _, ngettext
from pipesheet.probabilities import StageProbabilities
from pipesheet.stages import StageList
from pipesheet.tables import Deals, History, read_history_and_deals

__all__ = ["CHECKS", "FLAG_COLUMNS", "StageDesignResult", "stage_design_check"]

#: The checks, in the order flags are listed.
CHECKS = ("too_many_stages", "skipped", "no_information", "too_few_closed", "backward")
FLAG_COLUMNS = ("check", "stage", "value", "threshold", "deals", "evidence", "suggestion")
EVIDENCE_COLUMNS = (
    "stage",
    "reached",
    "won",
    "lost",
    "closed",
    "win_probability",
    "step_conversion",
    "completed_visits",
    "median_days",
    "later_deals",
    "skip_share",
    "leaving_visits",
    "backward_share",
    "back_to",
)
_DAY = pd.Timedelta(days=1)


@dataclass(repr=False)
class StageDesignResult(Result):
    """The flags raised on a stage list, with the numbers behind them.

    Attributes:
        flags: One row per flag (:data:`FLAG_COLUMNS`): ``check`` (one of :data:`CHECKS`),
            ``stage`` (blank for ``too_many_stages``), ``value`` (the measured number: stages,
            share, conversion, days or closed deals), ``threshold`` (what it was compared with),
            ``deals`` (the deals or visits it rests on), ``evidence`` and ``suggestion`` (text).
        evidence: One row per open stage with every number the checks use
            (:data:`EVIDENCE_COLUMNS`), flagged or not.
        thresholds: The thresholds used.
        as_of: The day the history was taken at.
        notes: What the user should know.
    """

    flags: pd.DataFrame
    evidence: pd.DataFrame
    thresholds: dict[str, float]
    as_of: pd.Timestamp
    notes: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """The flags (a copy); ``attrs`` carry the thresholds and notes."""
        out = self.flags.copy()
        out.attrs["thresholds"] = dict(self.thresholds)
        out.attrs["notes"] = list(self.notes)
        return out

    @property
    def ok(self) -> bool:
        """True when no flag is raised."""
        return self.flags.empty

    def _figures(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "stages": len(self.evidence),
            "flags": len(self.flags),
            "checks": ", ".join(dict.fromkeys(self.flags["check"])) or None,
        }

    def __str__(self) -> str:
        """The check as pipesheet prints it: one line per flag with its evidence and advice (in
        the language spoken)."""
        k = len(self.evidence)
        day = self.as_of.date()
        if self.flags.empty:
            lines = [
                ngettext(
                    "Stage design check as of {as_of}: {count} open stage, no flag raised",
                    "Stage design check as of {as_of}: {count} open stages, no flag raised",
                    k,
                ).format(as_of=day, count=k)
            ]
        else:
            lines = [
                ngettext(
                    "Stage design check as of {as_of}: {count} open stage, {flags} flag(s)",
                    "Stage design check as of {as_of}: {count} open stages, {flags} flag(s)",
                    k,
                ).format(as_of=day, count=k, flags=len(self.flags))
            ]
            for row in self.flags.itertuples():
                where = f"{row.stage}: " if row.stage else ""
                lines.append(f"- [{row.check}] {where}{row.evidence} → {row.suggestion}")
        lines += [_("note: {note}").format(note=n) for n in self.notes]
        return "\n".join(lines)


def _share(value: Any, name: str) -> float:
    try:
        x = float("nan") if isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        x = float("nan")
    if not 0 <= x <= 1:
        raise PipesheetError(
            _("{name} must be a share between 0 and 1").format(name=name.replace("_", " ")),
            table="settings",
            column=name,
            value=value,
            expected=_("e.g. 0.5 for 50%"),
        )
    return x


def _count(value: Any, name: str) -> int:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0
    if not ok:
        raise PipesheetError(
            _("{name} must be a whole number ≥ 0").format(name=name.replace("_", " ")),
            table="settings",
            column=name,
            value=value,
            expected=_("e.g. 20"),
        )
    return int(value)


def _days(value: Any, name: str) -> float:
    try:
        x = float("nan") if isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        x = float("nan")
    if not x >= 0 or not np.isfinite(x):
        raise PipesheetError(
            _("{name} must be a number of days ≥ 0").format(name=name.replace("_", " ")),
            table="settings",
            column=name,
            value=value,
            expected=_("e.g. 1"),
        )
    return x


def stage_design_check(
    history: pd.DataFrame | History,
    deals: pd.DataFrame | Deals | None = None,
    *,
    as_of: Any = None,
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
    max_stages: int = 6,
    skip_share_min: float = 0.5,
    merge_conversion: float = 0.95,
    merge_days: float = 1.0,
    min_closed: int = 20,
    backward_share_min: float = 0.10,
    min_deals: int = 20,
) -> StageDesignResult:
    """Flag the stages that make the stage list unsound, each with its evidence and a suggestion.

    Args:
        history: The stage history (deal id, stage, date entered).
        deals: The deals table (optional: its history rows are checked against it).
        as_of: The day (default: the day of the latest history row).
        stages, columns: Stage list and ``{field: header}`` mapping (as everywhere).
        max_stages: More open stages than this is flagged (default 6).
        skip_share_min: Share of the deals past a stage that never entered it from which the
            stage is flagged as skipped (default 0.5).
        merge_conversion: Step conversion from which a stage adds no information (default 0.95).
        merge_days: Median days in stage up to which a stage adds no information (default 1).
        min_closed: Closed deals (won + lost) a stage needs to learn a probability (default 20).
        backward_share_min: Share of visits leaving a stage backwards from which it is flagged
            (default 0.10).
        min_deals: Deals or visits the skip, no-information and backward flags must rest on
            (default 20).

    Returns:
        A :class:`StageDesignResult`.
    """
    thresholds = {
        "max_stages": _count(max_stages, "max_stages"),
        "skip_share_min": _share(skip_share_min, "skip_share_min"),
        "merge_conversion": _share(merge_conversion, "merge_conversion"),
        "merge_days": _days(merge_days, "merge_days"),
        "min_closed": _count(min_closed, "min_closed"),
        "backward_share_min": _share(backward_share_min, "backward_share_min"),
        "min_deals": _count(min_deals, "min_deals"),
    }
    # i18n: completes "a stage history is needed for …"
    needed_for = _("the stage design check")
    hist, deal_table, notes = read_history_and_deals(
        history, deals, stages=stages, columns=columns, needed_for=needed_for
    )
    unused = _("no expected close date column: forecasts cannot be split by period")
    notes = [n for n in notes if n != unused and not note_is(n, "no expected close date column")]
    stage_list = hist.stages
    as_of_v = as_of_day(hist, as_of)
    day = pd.Timestamp(as_of_v)
    model = StageProbabilities(stages=stage_list, as_of=day).fit(hist, deal_table)
    evidence = _evidence(stage_visits(hist, as_of_v), model.overall_, stage_list)
    flags = _flags(evidence, stage_list, thresholds)
    if not len(flags):
        flags = pd.DataFrame(columns=list(FLAG_COLUMNS))
    return StageDesignResult(
        flags=flags.reset_index(drop=True),
        evidence=evidence,
        thresholds=thresholds,
        as_of=day,
        notes=notes,
    )


def _evidence(visits: pd.DataFrame, table: pd.DataFrame, stages: StageList) -> pd.DataFrame:
    """Per open stage: the numbers every check uses."""
    k = stages.k
    n = int(visits["deal"].max()) + 1
    opn = visits[visits["code"] < k]
    # reached matrix and won deals, as of the day
    reached = np.zeros((n, k), dtype=bool)
    reached[opn["deal"].to_numpy(), opn["code"].to_numpy()] = True
    won = np.zeros(n, dtype=bool)
    won[visits.loc[visits["outcome"] == "won", "deal"].to_numpy()] = True
    # later[:, s]: reached an open stage after s, or Won
    from_s = np.logical_or.accumulate(reached[:, ::-1], axis=1)[:, ::-1]  # reached s or later
    after = np.zeros((n, k), dtype=bool)
    after[:, :-1] = from_s[:, 1:]
    after |= won[:, None]
    later_n = after.sum(axis=0)
    skipped_n = (after & ~reached).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        skip_share = np.where(later_n > 0, skipped_n / later_n, np.nan)
    # completed visits: days, and where deals went next
    done = opn[opn["left_date"].notna()]
    days = (done["left_date"] - done["entered_date"]) / _DAY
    median_days = days.groupby(done["code"].to_numpy()).median().reindex(range(k)).to_numpy()
    done_n = np.bincount(done["code"].to_numpy(), minlength=k)
    nxt = visits["code"].shift(-1).to_numpy()
    same = np.r_[visits["deal"].to_numpy()[1:] == visits["deal"].to_numpy()[:-1], False]
    leaving = (visits["code"].to_numpy() < k) & same
    code = visits["code"].to_numpy()
    back = leaving & (np.nan_to_num(nxt, nan=k + 2) < code)
    leave_n = np.bincount(code[leaving], minlength=k)
    back_n = np.bincount(code[back], minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        back_share = np.where(leave_n > 0, back_n / leave_n, np.nan)
    back_to = [""] * k
    if back.any():
        pairs = pd.DataFrame({"src": code[back], "dst": nxt[back].astype(np.int64)})
        top = pairs.groupby(["src", "dst"]).size().reset_index(name="n")
        top = top.sort_values(["src", "n", "dst"], ascending=[True, False, True])
        for src, dst in top.drop_duplicates("src")[["src", "dst"]].itertuples(index=False):
            back_to[int(src)] = stages.open[int(dst)]
    won_n = table["won"].to_numpy()
    lost_n = table["lost"].to_numpy()
    return pd.DataFrame(
        {
            "stage": list(stages.open),
            "reached": table["reached"].to_numpy(),
            "won": won_n,
            "lost": lost_n,
            "closed": won_n + lost_n,
            "win_probability": table["win_probability"].to_numpy(dtype=float),
            "step_conversion": table["step_conversion"].to_numpy(dtype=float),
            "completed_visits": done_n,
            "median_days": median_days.astype(float),
            "later_deals": later_n,
            "skip_share": skip_share,
            "leaving_visits": leave_n,
            "backward_share": back_share,
            "back_to": back_to,
        }
    )


def _pct(x: float) -> str:
    return format_percent(x, 0)


def _flags(ev: pd.DataFrame, stages: StageList, th: dict[str, float]) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    names = list(stages.open)
    k = len(names)
    p = ev["win_probability"].to_numpy()
    min_deals = th["min_deals"]
    if k > th["max_stages"]:
        diffs = np.abs(np.diff(p)) if k > 1 else np.array([])
        suggestion = _(
            "keep 4–{max} open stages: merge stages that add no information (flagged below, if any)"
        ).format(max=th["max_stages"])
        if np.isfinite(diffs).any():
            i = int(np.nanargmin(diffs))
            suggestion = _(
                "keep 4–{max} open stages: merge stages that add no information (flagged below, "
                "if any); the neighbours with the closest win probabilities are {first} "
                "({first_share}) and {second} ({second_share})"
            ).format(
                max=th["max_stages"],
                first=names[i],
                first_share=_pct(p[i]),
                second=names[i + 1],
                second_share=_pct(p[i + 1]),
            )
        rows.append(
            {
                "check": "too_many_stages",
                "stage": "",
                "value": float(k),
                "threshold": float(th["max_stages"]),
                "deals": int(ev["reached"].max()) if k else 0,
                "evidence": _("{count} open stages: {stages}").format(
                    count=k, stages=" → ".join(names)
                ),
                "suggestion": suggestion,
            }
        )
    for s, name in enumerate(names):
        r = ev.iloc[s]
        if r["later_deals"] >= min_deals and r["skip_share"] >= th["skip_share_min"]:
            rows.append(
                {
                    "check": "skipped",
                    "stage": name,
                    "value": float(r["skip_share"]),
                    "threshold": th["skip_share_min"],
                    "deals": int(r["later_deals"]),
                    "evidence": _(
                        "{share} of the {count} deals that got past {stage} never entered it"
                    ).format(
                        share=_pct(r["skip_share"]),
                        count=format_number(int(r["later_deals"]), 0),
                        stage=name,
                    ),
                    "suggestion": _(
                        "most deals skip it: drop it, or make it a field of the deal (a checkbox) "
                        "rather than a stage"
                    ),
                }
            )
        conv_full = r["closed"] >= min_deals and r["step_conversion"] >= th["merge_conversion"]
        no_time = r["completed_visits"] >= min_deals and r["median_days"] <= th["merge_days"]
        if conv_full or no_time:
            why = []
            if conv_full:
                why.append(
                    _("step conversion {share} of {count} closed deals").format(
                        share=_pct(r["step_conversion"]),
                        count=format_number(int(r["closed"]), 0),
                    )
                )
            if no_time:
                why.append(
                    _("median {days} days in stage over {count} visits").format(
                        days=format(r["median_days"], "g").replace(".", symbols()[1]),
                        count=format_number(int(r["completed_visits"]), 0),
                    )
                )
            other = names[s + 1] if s + 1 < k else (names[s - 1] if s else stages.won_label)
            rows.append(
                {
                    "check": "no_information",
                    "stage": name,
                    "value": float(r["step_conversion"] if conv_full else r["median_days"]),
                    "threshold": th["merge_conversion"] if conv_full else th["merge_days"],
                    "deals": int(r["closed"] if conv_full else r["completed_visits"]),
                    "evidence": "; ".join(why),
                    "suggestion": _("it adds no information: merge it with {stage}").format(
                        stage=other
                    ),
                }
            )
        if r["closed"] < th["min_closed"]:
            nb = names[s - 1] if s else (names[1] if k > 1 else "")
            closed = int(r["closed"])
            rows.append(
                {
                    "check": "too_few_closed",
                    "stage": name,
                    "value": float(r["closed"]),
                    "threshold": float(th["min_closed"]),
                    "deals": closed,
                    "evidence": ngettext(
                        "{count} closed deal reached it ({won} won, {lost} lost): too few to "
                        "learn a win probability",
                        "{count} closed deals reached it ({won} won, {lost} lost): too few to "
                        "learn a win probability",
                        closed,
                    ).format(count=closed, won=int(r["won"]), lost=int(r["lost"])),
                    "suggestion": (
                        _(
                            "pool it with {stage}, or give it a prior (a preset's probability, or "
                            "shrinkage) until more deals close"
                        ).format(stage=nb)
                        if nb
                        else _(
                            "give it a prior (a preset's probability, or shrinkage) until more "
                            "deals close"
                        )
                    ),
                }
            )
        if r["leaving_visits"] >= min_deals and r["backward_share"] >= th["backward_share_min"]:
            dest = r["back_to"]
            rows.append(
                {
                    "check": "backward",
                    "stage": name,
                    "value": float(r["backward_share"]),
                    "threshold": th["backward_share_min"],
                    "deals": int(r["leaving_visits"]),
                    "evidence": _(
                        "{share} of the {count} visits leaving {stage} went back (mostly to "
                        "{back_to})"
                    ).format(
                        share=_pct(r["backward_share"]),
                        count=format_number(int(r["leaving_visits"]), 0),
                        stage=name,
                        back_to=dest,
                    ),
                    "suggestion": _(
                        "deals enter {stage} too early: make its entry criteria clear, or merge "
                        "it with {back_to}"
                    ).format(stage=name, back_to=dest),
                }
            )
    out = pd.DataFrame(rows, columns=list(FLAG_COLUMNS))
    order = {c: i for i, c in enumerate(CHECKS)}
    stage_pos = {n: i for i, n in enumerate(names)}
    out["_c"] = out["check"].map(order)
    out["_s"] = out["stage"].map(stage_pos).fillna(-1)
    return out.sort_values(["_c", "_s"], kind="stable").drop(columns=["_c", "_s"])
