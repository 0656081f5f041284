"""Stage probabilities learned from the team's own history: P(win | a deal reached stage s).

Two estimators (``method=``):

**Cohort ("ever reached", default).** For each open stage *s*, take the deals whose history shows
they entered *s*. Among them count the won (W_s), lost (L_s) and still open (O_s) ones.

    p_s = W_s / (W_s + L_s)

Open deals are left out: they are *censored* (their outcome is not known yet), and counting them
as losses would bias every rate down. With ``won_passes_all=True`` a won deal counts as having
reached every open stage (Odoo's convention); lost deals never do. That option is off by default
because CRMs where deals are created mid-funnel would be inflated by it: a deal created at Proposal
that was won never was a Lead. With the option on and every deal recorded at each stage it passes,
p_s equals Odoo's stage-only learned score W / (W + L≥s), L≥s = lost deals that reached s.

**Markov.** Counts the observed transitions between consecutive stages of each deal (including
moves backwards and skipped stages), turns them into a transition matrix P over the open stages
plus the two absorbing states Won and Lost, and computes the probability of ending in Won from each
stage: with Q the open→open block and R the open→(Won, Lost) block, the fundamental matrix
N = (I − Q)⁻¹ and B = N·R; p_s = B[s, Won]. A stage never left (no observed transition out) has no
estimate; stages that can lead into it get none either (reported as unknown).

**Interval.** Cohort: the Beta posterior Beta(W_s + a, L_s + b) with the Jeffreys prior
a = b = ½ by default (``prior=``); ``interval=0.90`` reports its 5% and 95% quantiles; when
p_s is exactly 0 (or 1) the lower (upper) bound is 0 (1), so the interval contains the estimate.
Markov: the same quantiles of p_s over draws from the Dirichlet posterior of each transition row
(Jeffreys prior ½ per observed destination, fixed seed, so results are reproducible).

**Shrinkage** (with ``by=``): a small group g is pulled toward the overall rate p:
(W_g + m·p) / (W_g + L_g + m). This is the posterior mean under the prior Beta(m·p, m·(1 − p)),
and that prior is used for the group's interval too. m = ``shrinkage`` (0 = off).

**Step conversion** s → next: among closed deals that reached s, the share that also reached the
next open stage or Won.

**as_of**: only history rows entered on or before that day (at any time of it: a bare date means
the whole day, :mod:`pipesheet.periods`) are used — the pipeline exactly as it was known then
(deals won later are still open at as_of). This is what makes backtests honest.

**Snapshot only** (a deals table, no history): the current stage of open deals is known, but a
closed deal's row says only Won or Lost, not how far it got, so p_s is *not identifiable* and is
reported as unknown (blank), with a note. If the deals table has a status column (won/lost/open,
as Pipedrive exports) and the stage column keeps the last stage a closed deal was at, p_s is
estimated assuming deals move forward and start at the first stage (stated in the notes).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.base import Estimator
from pipesheet.columns import mapping_only, mapping_without
from pipesheet.errors import PipesheetError
from pipesheet.periods import known_on, read_date_setting
from pipesheet.stages import PipelineStages, StageList, stage_key
from pipesheet.summaries import foreign_frame, pandas_frame
from pipesheet.tables import (
    Deals,
    History,
    check_history_deals,
    group_field,
    history_by_pipeline,
    read_deals,
    read_history,
    stage_list_of,
)

__all__ = ["TABLE_COLUMNS", "StageProbabilities", "beta_quantile", "stage_probabilities"]

TABLE_COLUMNS = (
    "stage",
    "reached",
    "won",
    "lost",
    "open",
    "win_probability",
    "interval_low",
    "interval_high",
    "step_conversion",
)
OPEN, WIN, LOSS = 0, 1, 2


class StageProbabilities(Estimator):
    """Learn P(win | stage) from stage history (or a snapshot), scikit-learn style.

    Configure in the constructor, :meth:`fit` on the tables, read the results in attributes.

    Args:
        method: ``"cohort"`` (ever-reached, default) or ``"markov"`` (absorbing chain).
        stages: Stage list; inferred from the history (first-entry order) when not given.  With
            deals in several pipelines (a pipeline column): ``{pipeline: StageList}``, one list
            shared by all, or None to infer each pipeline's from its own deals.
        won_passes_all: Count won deals as having reached every open stage (off by default).
        prior: (a, b) of the Beta prior; default Jeffreys (½, ½).
        interval: Credible mass of the reported interval (0.90 → 5% and 95% quantiles).
        shrinkage: m, the weight of the overall rate when estimating groups (``by``).
        as_of: Use only what was known at the end of this day (history rows entered on or
            before it, at any time of the day).
        by: A deals-table field or header (owner, product line, country, segment…): one table
            per group. Needs a deals table.
        columns: Explicit ``{field: header}`` column mapping (applies to both tables).
        draws: Posterior draws for the Markov interval.
        seed: Random seed for the Markov interval draws.
        order_by: The history column that orders a deal's rows on the same date and time (a
            lazy or distributed frame — DuckDB, Spark, Ibis, a Polars LazyFrame — has no table
            order; a column headed ``row`` is used when there is one). See
            :mod:`pipesheet.summaries`.

    Attributes (after ``fit``):
        table_: One row per open stage (per group with ``by``): ``stage``, ``reached``, ``won``,
            ``lost``, ``open``, ``win_probability``, ``interval_low``, ``interval_high``,
            ``step_conversion`` and, when the deals carry it, ``configured_probability``. Unknown
            values are NaN.
        overall_: The same table without grouping (equal to ``table_`` when ``by`` is None).
            With several pipelines: every deal pooled over the union of their stages (a stage
            name two pipelines share pools them) — what is priced is ``table_``'s.
        pipelines_: With deals in several pipelines, ``{pipeline: StageProbabilities}``, each
            learned from that pipeline's own deals with its own stages; ``table_`` is theirs,
            one after the other, with a leading ``pipeline_name`` column. None with one pipeline.
        stages_: The StageList used (``stages_.source`` says how its order was obtained; a
            :class:`~pipesheet.stages.PipelineStages` with several pipelines).
        notes_: What the user should know (inferred settings, skipped rows, unidentifiable values).
        deals_, history_: The validated tables.
    """

    _fitted_attribute = "table_"
    _unfitted = "the probabilities have not been learned yet"

    def __init__(
        self,
        method: str = "cohort",
        *,
        stages: StageList | None = None,
        won_passes_all: bool = False,
        prior: tuple[float, float] = (0.5, 0.5),
        interval: float = 0.90,
        shrinkage: float = 0.0,
        as_of: Any = None,
        by: str | None = None,
        columns: Mapping[str, str] | None = None,
        draws: int = 2000,
        seed: int = 0,
        order_by: str | None = None,
    ) -> None:
        self.method = method
        self.stages = stages
        self.won_passes_all = won_passes_all
        self.prior = prior
        self.interval = interval
        self.shrinkage = shrinkage
        self.as_of = as_of
        self.by = by
        self.columns = columns
        self.draws = draws
        self.seed = seed
        self.order_by = order_by

    # ---- public --------------------------------------------------------------------------------
    def fit(
        self,
        history: pd.DataFrame | History | None = None,
        deals: pd.DataFrame | Deals | None = None,
    ) -> StageProbabilities:
        """Learn the probabilities from a stage history and/or a deals table.

        Either table may be a pandas frame or any frame :mod:`pipesheet.summaries` reads
        (Polars, DuckDB, PySpark, Ibis…: the counting runs on that engine, the same result)."""
        self._check_params()
        history, deals = pandas_frame(history), pandas_frame(deals)
        if foreign_frame(history) or foreign_frame(deals):
            return self._fit_summaries(history, deals)
        notes: list[str] = []
        stages = stage_list_of(self.stages)
        hist: History | None = None
        deal_cols = mapping_without(self.columns, ("entered_date",))
        if history is not None:
            hist_cols = mapping_only(self.columns, ("deal_id", "stage", "entered_date", "amount"))
            hist = read_history(history, stages=stages, columns=hist_cols)
            if deals is not None and (stages is None or isinstance(stages, PipelineStages)):
                hist = history_by_pipeline(hist, deals, deal_cols, inferred=stages is None)
            stages = hist.stages
            notes += hist.notes
        deal_table: Deals | None = None
        if deals is not None:
            deal_table = read_deals(deals, stages=stages, columns=deal_cols)
            stages = deal_table.stages
            notes += [n for n in deal_table.notes if n not in notes]
            if hist is not None:
                check_history_deals(hist, deal_table)
        if hist is None and deal_table is None:
            raise PipesheetError(
                "no data to learn from", expected="a stage-history table and/or a deals table"
            )
        as_of = read_date_setting(self.as_of)  # a day: rows of any time that day are known
        by_field = group_field(self.by, deal_table)
        self.stages_ = stages
        self.deals_ = deal_table
        self.history_ = hist
        self._frames = None  # fitted on pandas frames (the summary path keeps its own)
        self.pipelines_ = None
        if deal_table is not None and deal_table.pipelines is not None:
            self._fit_pipelines(hist, deal_table, by_field, notes)
            return self
        if hist is not None:
            counts = self._counts_from_history(hist, deal_table, as_of, by_field, notes)
        else:
            counts = self._counts_from_snapshot(deal_table, as_of, by_field, notes)
        configured = None
        if deal_table is not None and "probability" in deal_table.frame:
            configured = _configured(deal_table, stages)
        return self._finish(counts, None, by_field, configured, hist is not None, notes)

    def _finish(self, counts, weights, by_field, configured, has_history, notes):
        """The tables from the per-deal (or per-pattern, with ``weights``) counts."""
        reached, outcome, groups, group_names, transitions = counts
        overall = self._table(reached, outcome, transitions, None, weights)
        if by_field is None:
            table = overall
        else:
            parts = []
            for g, name in enumerate(group_names):
                mask = groups == g
                sub_trans = None if transitions is None else transitions[1][g]
                sub_w = None if weights is None else weights[mask]
                part = self._table(reached[mask], outcome[mask], sub_trans, overall, sub_w)
                part.insert(0, by_field, name)
                parts.append(part)
            table = pd.concat(parts, ignore_index=True)
            if self.shrinkage:
                notes.append(
                    f"groups shrunk toward the overall rate with weight m = {self.shrinkage:g}"
                )
        if configured is not None:
            for t in (table, overall):
                t["configured_probability"] = t["stage"].map(configured).astype(float)
        unknown = overall.loc[overall["win_probability"].isna(), "stage"].tolist()
        if unknown and has_history:
            notes.append(
                "no closed deals to learn from at: "
                + ", ".join(unknown)
                + " (win probability unknown)"
            )
        self.table_ = table
        self.overall_ = overall
        self.notes_ = notes
        return self

    def _fit_pipelines(self, hist, deals: Deals, by_field, notes: list[str]) -> None:
        """Several pipelines: one model per pipeline, learned from its own deals and history
        rows only, with its own stage list; ``overall_`` pools every deal over the union."""
        from pipesheet.pipelines import split_deals, split_history

        params = self.get_params()
        params["columns"] = None  # the tables are read already
        params["by"] = None if by_field in (None, "pipeline") else by_field
        parts = split_history(hist, deals) if hist is not None else {}
        models: dict[str, StageProbabilities] = {}
        tables = []
        for name, (_, sub) in split_deals(deals).items():  # per pipeline
            part = parts.get(name)
            if part is not None and part.frame.empty:
                notes.append(f"pipeline {name!r} has no stage-history rows: nothing to learn from")
                part = None
            model = StageProbabilities(**{**params, "stages": sub.stages})
            model.fit(part, sub)
            models[name] = model
            notes += [f"{name}: {n}" for n in model.notes_ if not n.startswith("stage order")]
            t = model.table_.copy()
            t.insert(0, "pipeline_name", name)
            tables.append(t)
        pooled = StageProbabilities(**{**params, "stages": deals.stages})
        pooled._pooled_fit(hist, deals)
        notes.append(
            f"{len(models)} pipelines: each pipeline's stage probabilities are learned from its "
            "own deals only (" + deals.stages.describe() + ")"
        )
        self.pipelines_ = models
        self.table_ = pd.concat(tables, ignore_index=True)
        self.overall_ = pooled.overall_
        self.notes_ = list(dict.fromkeys(notes))

    def _pooled_fit(self, hist, deals) -> None:
        """Every deal over the union of the pipelines' stages (``overall_`` of a model of several
        pipelines)."""
        as_of = read_date_setting(self.as_of)
        self.stages_, self.deals_, self.history_ = deals.stages, deals, hist
        notes: list[str] = []
        if hist is not None:
            counts = self._counts_from_history(hist, deals, as_of, None, notes)
        else:
            counts = self._counts_from_snapshot(deals, as_of, None, notes)
        reached, outcome, _, _, transitions = counts
        self.overall_ = self._table(reached, outcome, transitions, None)
        if "probability" in deals.frame:
            configured = _configured(deals, deals.stages)
            self.overall_["configured_probability"] = (
                self.overall_["stage"].map(configured).astype(float)
            )

    def probability(self, stage: str, group: Any = None, pipeline: Any = None) -> float:
        """Learned P(win | stage) for one stage (and group, when fitted with ``by``; and
        pipeline, when the deals are in several — needed only for a stage name two pipelines
        share).

        Won is 1 and Lost is 0. Unknown values are NaN.
        """
        self.check_fitted()
        models = getattr(self, "pipelines_", None)
        if models:
            if pipeline is None:
                having = [n for n, m in models.items() if 0 <= m.stages_.code(stage) < m.stages_.k]
                if len(having) > 1:
                    raise PipesheetError(
                        f"stage {stage!r} is in several pipelines ("
                        + ", ".join(map(repr, having))
                        + "): say which",
                        table="stages",
                        value=stage,
                        expected="a pipeline name",
                    )
                if not having and self.stages_.code(stage) < 0:
                    raise PipesheetError(
                        "unknown stage",
                        table="stages",
                        value=stage,
                        expected="a stage of one of the pipelines: " + self.stages_.describe(),
                    )
                # Won and Lost are 1 and 0 in every pipeline
                pipeline = having[0] if having else next(iter(models))
            name = self.stages_.find(pipeline)
            if name is None or name not in models:
                raise PipesheetError(
                    "unknown pipeline",
                    table="deals",
                    column="pipeline",
                    value=pipeline,
                    expected="one of " + ", ".join(map(repr, models)),
                )
            return models[name].probability(stage, group)
        code = self.stages_.code(stage)
        if code < 0:
            raise PipesheetError(
                "unknown stage",
                table="stages",
                value=stage,
                expected="one of " + ", ".join(self.stages_.names()),
            )
        if code == self.stages_.k:
            return 1.0
        if code == self.stages_.k + 1:
            return 0.0
        table = self.overall_
        if group is not None:
            if self.by is None:
                raise PipesheetError(
                    "a group was asked for but the probabilities were not learned by group",
                    value=group,
                    expected="fit with by=...",
                )
            col = self.table_.columns[0]
            table = self.table_[self.table_[col].astype(str) == str(group)]
            if table.empty:
                raise PipesheetError("unknown group", table="deals", column=col, value=group)
        return float(table["win_probability"].iloc[code])

    def probabilities(self) -> dict[str, float]:
        """``{stage: P(win | stage)}`` over the open stages (overall), plus Won=1 and Lost=0."""
        self.check_fitted()
        out = dict(zip(self.overall_["stage"], self.overall_["win_probability"], strict=True))
        out[self.stages_.won_label] = 1.0
        out[self.stages_.lost_label] = 0.0
        return out

    def disagreements(self, threshold: float = 0.10) -> pd.DataFrame:
        """Stages where the cohort and the Markov estimates differ strongly, and why.

        Both are learned from the same history (as of the same date). A stage is listed when the
        two differ by at least ``threshold`` (absolute) and their intervals do not overlap.
        ``why`` names what makes them differ, measured on the history: the cohort counts every
        deal that ever reached the stage once (W/(W+L)), the Markov estimate follows each move —
        so moves back from the stage (``backward_share``: of the moves out of it), deals that
        come back to it (``revisit_share``: of the deals that reached it, those with two visits
        or more) and deals that pass by it (``skip_share``: of the closed deals that reached a
        later stage, those that never entered it) pull them apart.

        Returns columns ``stage``, ``cohort``, ``markov``, ``difference`` (markov − cohort),
        ``backward_share``, ``revisit_share``, ``skip_share``, ``why``; empty without a history.
        """
        self.check_fitted()
        columns = [
            "stage",
            "cohort",
            "markov",
            "difference",
            "backward_share",
            "revisit_share",
            "skip_share",
            "why",
        ]
        if self.history_ is None:
            return pd.DataFrame(columns=columns)
        params = {
            "stages": self.stages_,
            "as_of": self.as_of,
            "won_passes_all": self.won_passes_all,
            "prior": self.prior,
            "interval": self.interval,
            "draws": self.draws,
            "seed": self.seed,
        }
        other = "markov" if self.method == "cohort" else "cohort"
        frames = getattr(self, "_frames", None)  # fitted on another engine: refit there
        if frames is not None:
            params.update(columns=self.columns, order_by=self.order_by)
            fitted = StageProbabilities(method=other, **params).fit(*frames)
        else:
            fitted = StageProbabilities(method=other, **params).fit(self.history_, self.deals_)
        both = {self.method: self.overall_, other: fitted.overall_}
        co, mk = both["cohort"], both["markov"]
        diff = mk["win_probability"].to_numpy() - co["win_probability"].to_numpy()
        apart = (mk["interval_low"].to_numpy() > co["interval_high"].to_numpy()) | (
            co["interval_low"].to_numpy() > mk["interval_high"].to_numpy()
        )
        flagged = (np.abs(diff) >= threshold) & apart
        lazy = frames is not None  # the moves are counted per row: pandas frames only
        if flagged.any() and not lazy:
            back, revisit, skip = _move_shares(self.history_, self.as_of)
        else:
            back = revisit = skip = np.full(self.stages_.k, np.nan)
        rows = []
        for s in np.flatnonzero(flagged):
            reasons = []
            if back[s] >= 0.05:
                reasons.append(f"{back[s]:.0%} of the moves out of it go back to an earlier stage")
            if revisit[s] >= 0.05:
                reasons.append(f"{revisit[s]:.0%} of its deals come back to it")
            if skip[s] >= 0.05:
                reasons.append(f"{skip[s]:.0%} of the closed deals past it never entered it")
            why = (
                "; ".join(reasons)
                + " — the cohort counts each deal that reached the stage once, the Markov "
                "estimate follows every move"
                if reasons
                else "few closed deals behind one of the two estimates (see their intervals)"
            )
            if lazy:
                why = (
                    "the reasons (moves back, revisits, skipped stages) are counted on pandas "
                    "frames only"
                )
            rows.append(
                {
                    "stage": self.stages_.open[s],
                    "cohort": float(co["win_probability"].iloc[s]),
                    "markov": float(mk["win_probability"].iloc[s]),
                    "difference": float(diff[s]),
                    "backward_share": float(back[s]),
                    "revisit_share": float(revisit[s]),
                    "skip_share": float(skip[s]),
                    "why": why,
                }
            )
        return pd.DataFrame(rows, columns=columns)

    def disagreement_notes(self, threshold: float = 0.10) -> list[str]:
        """:meth:`disagreements` as sentences for the notes."""
        return [
            f"cohort and Markov disagree at {r.stage}: {r.cohort:.1%} vs {r.markov:.1%} — {r.why}"
            for r in self.disagreements(threshold).itertuples()
        ]

    # ---- counting ------------------------------------------------------------------------------
    def _counts_from_history(self, hist: History, deals: Deals | None, as_of, by_field, notes):
        frame = hist.frame
        k = hist.stages.k
        index = hist.deal_index()  # deal codes and chronological order, computed when read
        deal_codes, deal_ids = index.deal_codes, index.deal_ids
        sort = index.sorted_positions()
        if as_of is not None:
            keep = known_on(frame["entered_date"], as_of)
            dropped = int((~keep).sum())
            if dropped:
                notes.append(
                    f"as of {pd.Timestamp(as_of).date()}: {dropped} later history row(s) not used"
                )
            if not keep.any():
                raise PipesheetError(
                    "no history on or before the as-of date",
                    table=hist.name,
                    value=str(pd.Timestamp(as_of).date()),
                    expected="an as-of date after the first history row",
                )
            frame = frame[keep]
            # renumber the deals that still have rows, keep the chronological order
            present = np.bincount(deal_codes[keep], minlength=len(deal_ids)) > 0
            renumber = np.cumsum(present) - 1
            new_position = np.cumsum(keep) - 1
            sort = new_position[sort[keep[sort]]]
            deal_codes, deal_ids = renumber[deal_codes[keep]], deal_ids[present]
        n = len(deal_ids)
        codes = frame["code"].to_numpy()
        if index.sort is None and as_of is None:  # already chronological: no gathers
            d_sorted, c_sorted = deal_codes, codes
        else:
            d_sorted, c_sorted = deal_codes[sort], codes[sort]
        last = np.ones(len(sort), dtype=bool)
        last[:-1] = d_sorted[1:] != d_sorted[:-1]
        final = np.empty(n, dtype=np.int64)
        final[d_sorted[last]] = c_sorted[last]
        outcome = np.where(final == k, WIN, np.where(final == k + 1, LOSS, OPEN))
        reached = np.zeros((n, k), dtype=bool)
        at = np.flatnonzero(codes < k)
        reached.ravel()[deal_codes[at].astype(np.int64) * k + codes[at]] = True  # flat: faster
        if self.won_passes_all:
            reached[outcome == WIN, :] = True
        transitions = None
        if self.method == "markov":
            same = d_sorted[1:] == d_sorted[:-1]
            src, dst = c_sorted[:-1][same], c_sorted[1:][same]
            moved = src != dst
            transitions = (src[moved], dst[moved], d_sorted[1:][same][moved])
        groups, names = None, None
        if by_field is not None:
            groups_all, names = _group_codes(deals, by_field)
            lookup = pd.Series(groups_all, index=deals.frame["deal_id"].to_numpy())
            groups = lookup.reindex(deal_ids).to_numpy()
            if np.isnan(groups.astype(float)).any():
                missing = int(np.isnan(groups.astype(float)).sum())
                notes.append(
                    f"{missing} deal(s) in the history are not in the deals table and "
                    "were left out of the groups"
                )
            groups = np.nan_to_num(groups.astype(float), nan=-1).astype(np.int64)
        if deals is not None:
            without = ~deals.frame["deal_id"].isin(pd.Index(deal_ids)).to_numpy()
            if without.any():
                notes.append(
                    f"{int(without.sum())} deal(s) in the deals table have no history "
                    "row and are not used"
                )
        if transitions is not None:
            transitions = self._transition_counts(transitions, groups, names, k)
        return reached, outcome, groups, names, transitions

    def _fit_summaries(self, history: Any, deals: Any) -> StageProbabilities:
        """:meth:`fit` on frames of another engine: the counting runs there
        (:mod:`pipesheet.summaries`), the same tables are finished here."""
        from pipesheet import summaries as sm

        if history is None or not sm.foreign_frame(history):
            raise PipesheetError(
                "a deals table on another engine needs its stage history on that engine too",
                table="history",
                value=type(history).__name__,
                expected=f"the history as a {sm.backend_of(deals)} frame (or both as pandas)",
            )
        notes: list[str] = []
        hist = sm.lazy_history(
            history,
            stages=self.stages,
            columns=mapping_only(self.columns, ("deal_id", "stage", "entered_date", "amount")),
            order_by=self.order_by,
        )
        stages = hist.stages
        notes += hist.notes
        deal_table = None
        if deals is not None:
            if not sm.foreign_frame(deals) or sm.backend_of(deals) != hist.backend:
                raise PipesheetError(
                    "the deals table and the history must be frames of the same engine",
                    table="deals",
                    value=sm.backend_of(deals),
                    expected=f"a {hist.backend} frame, like the history",
                )
            deal_table = sm.lazy_deals(
                deals, stages=stages, columns=mapping_without(self.columns, ("entered_date",))
            )
            sm.check_history_in_deals(hist, deal_table)
        as_of = read_date_setting(self.as_of)
        by_field = sm.group_field(self.by, deal_table)
        self.stages_ = stages
        self.deals_ = deal_table
        self.history_ = hist
        self._frames = (history, deals)  # the engine's frames: a refit (disagreements) reads them
        k = stages.k
        cut = None
        if as_of is not None:
            cut = hist.cut(int(as_of.to_datetime64().astype("datetime64[D]").astype(np.int64)))
            dropped = sm.rows_from(hist, cut)
            if dropped:
                notes.append(f"as of {as_of.date()}: {dropped} later history row(s) not used")
            if dropped == hist.rows:
                raise PipesheetError(
                    "no history on or before the as-of date",
                    table=hist.name,
                    value=str(as_of.date()),
                    expected="an as-of date after the first history row",
                )
        groups = None if by_field is None else sm.group_values(deal_table, by_field)
        if cut is None and groups is None and hist.inferred is not None:
            patterns = hist.inferred
        else:
            patterns = sm.reach_patterns(hist, cut, groups=groups)
        reached = patterns.reached.copy()
        final = patterns.final
        outcome = np.where(final == k, WIN, np.where(final == k + 1, LOSS, OPEN))
        if self.won_passes_all:
            reached[outcome == WIN, :] = True
        names = patterns.group_names
        transitions = None
        if self.method == "markov":
            moves = sm.transition_counts(hist, cut, groups=groups)
            transitions = _transition_matrices(moves, k, names)
        if deal_table is not None:
            without = sm.deals_without_history(hist, deal_table, cut)
            if without:
                notes.append(
                    f"{without} deal(s) in the deals table have no history row and are not used"
                )
        configured = None
        if deal_table is not None and "probability" in deal_table.columns:
            configured = sm.configured_medians(deal_table)
        counts = (reached, outcome, patterns.group, names, transitions)
        return self._finish(counts, patterns.count, by_field, configured, True, notes)

    def _transition_counts(self, transitions, groups, names, k):
        src, dst, deal = transitions
        size = k + 2

        def matrix(mask):
            flat = src[mask] * size + dst[mask]
            return np.bincount(flat, minlength=size * size).reshape(size, size)

        overall = matrix(np.ones(len(src), dtype=bool))
        per_group = []
        if groups is not None:
            g_of = groups[deal]
            per_group = [matrix(g_of == g) for g in range(len(names))]
        return overall, per_group

    def _counts_from_snapshot(self, deals: Deals, as_of, by_field, notes):
        frame = deals.frame
        stages = deals.stages
        k = stages.k
        if as_of is not None:
            if "created_date" in frame:
                created = frame["created_date"]
                frame = frame[created.isna().to_numpy() | known_on(created, as_of)]
            notes.append(
                "a snapshot cannot be rewound to an earlier date: deals created after "
                "the as-of date were dropped, the rest are as they are now"
            )
        codes = frame["code"].to_numpy()
        n = len(frame)
        reached = np.zeros((n, k), dtype=bool)
        outcome = np.full(n, OPEN)
        status = frame["status"] if "status" in frame else None
        if status is not None:
            st = status.map(lambda v: _status_code(v, stages)).to_numpy()
            bad = st < 0
            if bad.any():
                rows = [int(r) for r in frame.index[bad][:20]]
                raise PipesheetError(
                    "unknown status",
                    table=deals.name,
                    column=deals.columns["status"],
                    rows=rows,
                    value=status[bad].iloc[0],
                    expected="open, won or lost",
                )
            outcome = st
            at = np.where(codes < k, codes, -1)
            if "last_open_stage" in frame:  # an export reader moved it there (Pipedrive, Odoo)
                last = stages.codes(frame["last_open_stage"])
                at = np.where((at < 0) & (last >= 0) & (last < k), last, at)
            if ((outcome != OPEN) & (at < 0)).any() or (at < 0).all():
                status = None
        if status is not None:
            # the last open stage of closed deals is known (Pipedrive style)
            reached = np.arange(k)[None, :] <= at[:, None]
            notes.append(
                "snapshot with a status column: a deal is taken to have reached every "
                "stage up to the one it is (or was last) at — this assumes deals move "
                "forward and start at the first stage"
            )
            self._snapshot_identified = True
        else:
            outcome = np.where(codes == k, WIN, np.where(codes == k + 1, LOSS, OPEN))
            reached[np.flatnonzero(codes < k), codes[codes < k]] = True
            self._snapshot_identified = False
            won, lost = int((outcome == WIN).sum()), int((outcome == LOSS).sum())
            notes.append(
                "snapshot only (no stage history): closed deals do not record how far they got, "
                "so P(win | stage) is not identifiable and is reported as unknown. "
                f"Closed deals: {won} won, {lost} lost"
                + (
                    f" ({won / (won + lost):.1%} of closed deals won — not a stage probability)"
                    if won + lost
                    else ""
                )
                + ". Give a stage history, a status column, or start from a preset."
            )
        groups, names = None, None
        if by_field is not None:
            groups_all, names = _group_codes(deals, by_field)
            groups = pd.Series(groups_all, index=deals.frame.index).loc[frame.index].to_numpy()
        return reached, outcome, groups, names, None

    # ---- the table -----------------------------------------------------------------------------
    def _table(
        self, reached, outcome, transitions, overall: pd.DataFrame | None, weights=None
    ) -> pd.DataFrame:
        stages = self.stages_
        k = stages.k
        # counts as products of 0/1 matrices (exact: float64 counts below 2**53); with
        # ``weights`` each row stands for that many deals (a pattern of the summary path)
        r = reached.astype(np.float64)
        by_outcome = np.stack([outcome == WIN, outcome == LOSS, outcome == OPEN]).astype(np.float64)
        if weights is not None:
            by_outcome *= np.asarray(weights, dtype=np.float64)[None, :]
        w, ll, o = by_outcome @ r
        n_reached = w + ll + o
        won_f, closed_f = by_outcome[0], by_outcome[0] + by_outcome[1]
        # step conversion: of closed deals that reached s, share that reached s+1 or Won:
        # reached s+1 (closed) plus won without reaching s+1; the last stage's next is Won
        step_num = np.empty(k)
        both = r[:, :-1] * r[:, 1:]
        step_num[:-1] = closed_f @ both + won_f @ r[:, :-1] - won_f @ both
        step_num[-1] = won_f @ r[:, -1]
        step_den = w + ll
        with np.errstate(invalid="ignore", divide="ignore"):
            step = np.where(step_den > 0, step_num / step_den, np.nan)
        a, b = (np.full(k, float(self.prior[0])), np.full(k, float(self.prior[1])))
        if overall is not None and self.shrinkage:
            p_all = overall["win_probability"].to_numpy()
            known = ~np.isnan(p_all)
            a = np.where(known, self.shrinkage * np.nan_to_num(p_all), a)
            b = np.where(known, self.shrinkage * (1 - np.nan_to_num(p_all)), b)
        identified = getattr(self, "_snapshot_identified", True) or self.history_ is not None
        lo_q, hi_q = (1 - self.interval) / 2, 1 - (1 - self.interval) / 2
        if self.method == "markov" and transitions is not None:
            counts = transitions[0] if isinstance(transitions, tuple) else transitions
            p, lo, hi = self._markov(counts)
        else:
            n_closed = w + ll
            with np.errstate(invalid="ignore", divide="ignore"):
                if overall is not None and self.shrinkage:
                    p = np.where(n_closed + a + b > 0, (w + a) / (n_closed + a + b), np.nan)
                    p = np.where(
                        (n_closed == 0) & np.isnan(overall["win_probability"].to_numpy()), np.nan, p
                    )
                else:
                    p = np.where(n_closed > 0, w / n_closed, np.nan)
            aa, bb = w + a, ll + b
            ok = (aa > 0) & (bb > 0) & ~np.isnan(p)
            lo = np.full(k, np.nan)
            hi = np.full(k, np.nan)
            lo[ok] = beta_quantile(lo_q, aa[ok], bb[ok])
            hi[ok] = beta_quantile(hi_q, aa[ok], bb[ok])
            # a rate of exactly 0 or 1 with a zero parameter: the interval collapses to it
            lo[~ok & ~np.isnan(p)] = p[~ok & ~np.isnan(p)]
            hi[~ok & ~np.isnan(p)] = p[~ok & ~np.isnan(p)]
        # at a rate of exactly 0 or 1 the equal-tailed interval would exclude the estimate itself
        # (1 won of 1: p = 1, 95% quantile 0.998): that side's bound is the rate (Brown, Cai and
        # DasGupta's boundary rule for the Jeffreys interval)
        with np.errstate(invalid="ignore"):
            lo = np.where(p == 0, 0.0, lo)
            hi = np.where(p == 1, 1.0, hi)
        if not identified:
            p = np.full(k, np.nan)
            lo = hi = step = np.full(k, np.nan)
            w = ll = n_reached = np.full(k, np.nan)
        return pd.DataFrame(
            {
                "stage": list(stages.open),
                # counts are whole numbers (NaN only where a snapshot cannot tell them)
                "reached": _counts(n_reached),
                "won": _counts(w),
                "lost": _counts(ll),
                "open": _counts(o),
                "win_probability": p,
                "interval_low": lo,
                "interval_high": hi,
                "step_conversion": step,
            }
        )

    def _markov(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Absorption probability into Won from each open stage, with posterior quantiles."""
        k = self.stages_.k
        counts = counts.astype(float)
        p = _absorb(counts, k)
        rng = np.random.Generator(np.random.PCG64(self.seed))
        observed = counts > 0
        alpha = np.where(observed, counts + 0.5, 0.0)
        # Dirichlet draws for every transient row at once, via normalised gammas
        gam = rng.standard_gamma(
            np.broadcast_to(np.where(observed, alpha, 1.0), (self.draws, *alpha.shape))
        )
        gam = np.where(observed, gam, 0.0)
        draws = np.array([_absorb(g, k) for g in gam]) if self.draws else np.empty((0, k))
        lo_q, hi_q = (1 - self.interval) / 2, 1 - (1 - self.interval) / 2
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: unknown stages
            lo = np.where(
                np.isnan(p), np.nan, np.nanquantile(draws, lo_q, axis=0) if len(draws) else np.nan
            )
            hi = np.where(
                np.isnan(p), np.nan, np.nanquantile(draws, hi_q, axis=0) if len(draws) else np.nan
            )
        return p, lo, hi

    # ---- checks --------------------------------------------------------------------------------
    def _check_params(self) -> None:
        if self.method not in ("cohort", "markov"):
            raise PipesheetError(
                "unknown method", value=self.method, expected="'cohort' or 'markov'"
            )
        a, b = self.prior
        if not (a >= 0 and b >= 0):
            raise PipesheetError(
                "prior parameters must be non-negative",
                value=self.prior,
                expected="(a, b) with a, b ≥ 0, e.g. (0.5, 0.5)",
            )
        if not 0 < self.interval < 1:
            raise PipesheetError(
                "interval must be between 0 and 1",
                value=self.interval,
                expected="e.g. 0.90 for the 5%–95% interval",
            )
        if self.shrinkage < 0:
            raise PipesheetError(
                "shrinkage must be non-negative",
                value=self.shrinkage,
                expected="a weight m ≥ 0 (0 = no shrinkage)",
            )


def beta_quantile(q: Any, a: Any, b: Any) -> np.ndarray:
    """The q-quantile of Beta(a, b) (vectorised): the inverse of the regularised incomplete beta
    function, I_x(a, b) = q.  scipy.special is imported here, when an interval is computed, so
    that importing pipesheet does not load scipy."""
    from scipy.special import betaincinv

    return betaincinv(a, b, q)


def _absorb(counts: np.ndarray, k: int) -> np.ndarray:
    """P(absorbed in Won | start at open stage s) from transition counts; NaN when unknown."""
    out_total = counts[:k].sum(axis=1)
    known = out_total > 0
    # stages never left are unknown; so is any stage that can reach one of them
    unknown = ~known
    changed = True
    reach = counts[:k, :k] > 0
    while changed:
        new = unknown | (reach & unknown[None, :]).any(axis=1)
        changed = bool((new != unknown).any())
        unknown = new
    p = np.full(k, np.nan)
    ok = ~unknown
    if ok.any():
        idx = np.flatnonzero(ok)
        probs = counts[idx] / out_total[idx, None]
        q = probs[:, idx]
        r_won = probs[:, k]
        try:
            p[idx] = np.linalg.solve(np.eye(len(idx)) - q, r_won)
        except np.linalg.LinAlgError:  # pragma: no cover - (I - Q) is singular only without exits
            pass
    return np.clip(p, 0.0, 1.0)


def _status_code(value: object, stages: StageList) -> int:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return -1
    key = stage_key(value)
    if key in ("open", "active", "in progress"):
        return OPEN
    if key == "won" or stages.code(value) == stages.k:
        return WIN
    if key == "lost" or stages.code(value) == stages.k + 1:
        return LOSS
    return -1


def _move_shares(hist: History, as_of: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per open stage: the share of moves out of it that go back to an earlier open stage, the
    share of the deals that reached it with two visits or more, and the share of the closed deals
    that reached a later stage (or Won) without ever entering it."""
    k = hist.stages.k
    frame = hist.frame
    index = hist.deal_index()
    order = index.sorted_positions()
    deal, code = index.deal_codes[order], frame["code"].to_numpy()[order]
    when = read_date_setting(as_of)
    if when is not None:
        keep = known_on(frame["entered_date"].to_numpy()[order], when)
        deal, code = deal[keep], code[keep]
    same = deal[1:] == deal[:-1]
    src, dst = code[:-1][same], code[1:][same]
    moved = (src != dst) & (src < k)
    out = np.bincount(src[moved], minlength=k)[:k].astype(float)
    backward = np.bincount(src[moved & (dst < src)], minlength=k)[:k].astype(float)
    # visits: a run of rows at one stage
    start = np.ones(len(code), dtype=bool)
    start[1:] = (deal[1:] != deal[:-1]) | (code[1:] != code[:-1])
    visits = pd.DataFrame({"deal": deal[start], "code": code[start]})
    visits = visits[visits["code"] < k]
    per = visits.groupby(["deal", "code"]).size()
    reached = per.groupby(level="code").size().reindex(range(k), fill_value=0).to_numpy()
    again = (per >= 2).groupby(level="code").sum().reindex(range(k), fill_value=0).to_numpy()
    n = int(deal.max()) + 1 if len(deal) else 0
    at = np.zeros((n, k + 2), dtype=bool)
    at[deal, code] = True
    final = np.full(n, -1)
    last = np.ones(len(deal), dtype=bool)
    last[:-1] = deal[1:] != deal[:-1]
    final[deal[last]] = code[last]
    closed = final >= k
    later = np.zeros((n, k), dtype=bool)  # reached a later open stage or Won
    reach_won = at[:, k]
    for s in range(k):  # a loop over stages
        later[:, s] = at[:, s + 1 : k].any(axis=1) | reach_won
    past = closed[:, None] & later
    skipped = (past & ~at[:, :k]).sum(axis=0).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (
            np.where(out > 0, backward / out, 0.0),
            np.where(reached > 0, again / reached, 0.0),
            np.where(past.sum(axis=0) > 0, skipped / past.sum(axis=0), 0.0),
        )


def _transition_matrices(moves: pd.DataFrame, k: int, names: list[str] | None):
    """(overall, per-group) transition count matrices from ``(g, src, dst) → n`` counts."""
    from pipesheet.summaries import fold_groups

    size = k + 2

    def matrix(frame: pd.DataFrame) -> np.ndarray:
        flat = frame["src"].to_numpy(dtype=np.int64) * size + frame["dst"].to_numpy(dtype=np.int64)
        weights = frame["n"].to_numpy(dtype=np.float64)
        counts = np.bincount(flat, weights=weights, minlength=size * size)
        return np.rint(counts).astype(np.int64).reshape(size, size)

    overall = matrix(moves)
    per_group = []
    if names is not None:
        raw = list(dict.fromkeys(moves["g"].tolist()))
        codes, folded = fold_groups(raw)
        where = dict(zip(raw, codes, strict=True))
        g_of = np.array([folded[where[v]] for v in moves["g"].tolist()], dtype=object)
        per_group = [matrix(moves[g_of == name]) for name in names]
    return overall, per_group


def _configured(deals: Deals, stages: StageList) -> dict[str, float]:
    frame = deals.frame
    at = frame[frame["code"] < stages.k]
    med = at.groupby("code")["probability"].median()
    return {stages.open[int(c)]: float(v) for c, v in med.items()}


def _group_codes(deals: Deals, by_field: str) -> tuple[np.ndarray, list[str]]:
    values = deals.frame[by_field].fillna("(blank)")
    codes, names = pd.factorize(values, sort=True)
    return codes, [str(n) for n in names]


def stage_probabilities(
    history: pd.DataFrame | History | None = None,
    deals: pd.DataFrame | Deals | None = None,
    **options: Any,
) -> pd.DataFrame:
    """P(win | stage) per open stage, learned from history — see :class:`StageProbabilities`.

    Returns the fitted ``table_``; the notes are in ``result.attrs["notes"]`` and the stage order's
    source in ``result.attrs["stage_order"]``.
    """
    model = StageProbabilities(**options).fit(history, deals)
    table = model.table_.copy()
    table.attrs["notes"] = list(model.notes_)
    table.attrs["stage_order"] = model.stages_.source
    return table


def _counts(values: np.ndarray) -> np.ndarray:
    """Deal counts (exact float64 sums of 0/1) as int64, unless some are unknown (NaN)."""
    values = np.asarray(values, dtype=float)
    return values if np.isnan(values).any() else np.rint(values).astype(np.int64)
