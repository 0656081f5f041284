"""The stage list: ordered open stages, and the labels that mean Won and Lost.

Stage labels are compared after dropping invisible characters, putting them in NFC form, folding
case and collapsing white space (``" proposal "`` is ``"Proposal"``), so labels in any language
work. Won and Lost are recognised from a default list of labels (English, German, French,
Spanish, Italian, Portuguese, Catalan, Slovenian, Vietnamese, Dutch, Polish CRMs) unless the user
gives their own; a label that is not one of them exactly is still Won/Lost when it matches one
ignoring case and punctuation, and accents when it is written without any (``CERRADA GANADA``,
``Closed-Won``, ``Gagne``): see :class:`pipesheet.labels.LabelMatcher`.

When the order of the open stages is not given it can be inferred:

* from a stage history — stage *a* comes before *b* when more deals first entered *a* before *b*
  than the other way round (pairwise first-entry order, ties broken by average first-entry rank);
* from a stage → probability table — ascending configured probability
  (:func:`pipesheet.presets.stages_from_probabilities`).

The :class:`StageList` records which way it was made in :attr:`StageList.source`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipesheet.errors import PipesheetError
from pipesheet.labels import LOST_LABELS, WON_LABELS, LabelMatcher, strip_invisible

__all__ = [
    "DEFAULT_LOST",
    "DEFAULT_WON",
    "PipelineStages",
    "StageList",
    "order_from_pairs",
    "stage_key",
    "terminal_matcher",
]

#: Labels meaning Won / Lost when none are given: the common closed labels of the users'
#: languages (en, de, fr, es, it, pt, ca, sl, vi, nl, pl; see :mod:`pipesheet.labels`).
DEFAULT_WON: tuple[str, ...] = WON_LABELS
DEFAULT_LOST: tuple[str, ...] = LOST_LABELS

#: Status codes used in the engine's arrays: open stages are 0..k-1, then these two.
WON, LOST = "won", "lost"


def stage_key(label: object) -> str:
    """Fold a stage label for comparison: invisible characters dropped, NFC form, case-folded,
    white space collapsed (:func:`pipesheet.labels.strip_invisible`)."""
    return " ".join(strip_invisible(str(label)).split()).casefold()


def terminal_matcher(
    won: Iterable[str] = DEFAULT_WON, lost: Iterable[str] = DEFAULT_LOST, open_: Iterable[str] = ()
) -> LabelMatcher:
    """A :class:`~pipesheet.labels.LabelMatcher` of the Won (0) and Lost (1) labels, loosely
    (case, punctuation, accents where safe); a label equal to an open stage matches neither."""
    return LabelMatcher(won, lost, exclude=open_)


@dataclass(frozen=True)
class StageList:
    """Ordered open stages plus the labels meaning Won and Lost.

    Args:
        open: Open stages in funnel order, first to last (e.g. Lead, Qualified, Proposal).
        won: Labels meaning the deal was won (any of them; compared case-insensitively).
        lost: Labels meaning the deal was lost.
        source: How the order was obtained (``"given"``, or how it was inferred).
    """

    open: tuple[str, ...]
    won: tuple[str, ...] = DEFAULT_WON
    lost: tuple[str, ...] = DEFAULT_LOST
    source: str = "given"
    _codes: dict[str, int] = field(init=False, repr=False, compare=False)
    _terminal: LabelMatcher = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "open", tuple(str(s).strip() for s in self.open))
        object.__setattr__(self, "won", tuple(str(s).strip() for s in _as_tuple(self.won)))
        object.__setattr__(self, "lost", tuple(str(s).strip() for s in _as_tuple(self.lost)))
        if not self.open:
            raise PipesheetError(
                "the stage list has no open stages",
                table="stages",
                expected="at least one open stage, e.g. Lead, Qualified, Proposal",
            )
        if not self.won or not self.lost:
            missing = "Won" if not self.won else "Lost"
            raise PipesheetError(
                f"the stage list has no label meaning {missing}",
                table="stages",
                expected=f"a {missing} label such as 'Closed {missing}'",
            )
        codes: dict[str, int] = {}
        for i, name in enumerate(self.open):
            key = stage_key(name)
            if not key:
                raise PipesheetError(
                    "blank open stage name", table="stages", rows=[i + 2], expected="a stage name"
                )
            if key in codes:
                raise PipesheetError(
                    "stage listed twice",
                    table="stages",
                    rows=[i + 2],
                    value=name,
                    expected="each open stage once",
                )
            codes[key] = i
        k = len(self.open)
        for code, labels, what in ((k, self.won, "Won"), (k + 1, self.lost, "Lost")):
            for label in labels:
                key = stage_key(label)
                if codes.get(key, code) != code:
                    other = "an open stage" if codes[key] < k else "Won"
                    raise PipesheetError(
                        f"label is both {other} and {what}",
                        table="stages",
                        value=label,
                        expected="each label in one role only",
                    )
                codes[key] = code
        object.__setattr__(self, "_codes", codes)
        object.__setattr__(self, "_terminal", terminal_matcher(self.won, self.lost, self.open))

    @property
    def k(self) -> int:
        """Number of open stages."""
        return len(self.open)

    @property
    def won_label(self) -> str:
        """The label used when reporting Won (the first Won label)."""
        return self.won[0]

    @property
    def lost_label(self) -> str:
        """The label used when reporting Lost (the first Lost label)."""
        return self.lost[0]

    def code(self, label: object) -> int:
        """0..k-1 for open stages, k for Won, k+1 for Lost, -1 if unknown (Won/Lost labels are
        also matched loosely, see :func:`terminal_matcher`)."""
        code = self._codes.get(stage_key(label))
        if code is not None:
            return code
        role = self._terminal.match(label) if isinstance(label, str) else -1
        return self.k + role if role >= 0 else -1

    def codes(self, labels: pd.Series) -> np.ndarray:
        """Vectorised :meth:`code` over a column; -2 marks a blank cell.

        Factorises first, so the cost of folding labels is per distinct label.
        """
        if isinstance(labels.dtype, pd.CategoricalDtype):  # already factorised
            values, uniques = labels.cat.codes.to_numpy(), labels.cat.categories
        else:
            values, uniques = pd.factorize(labels, use_na_sentinel=True)
        lookup = np.array(
            [self.code(u) if stage_key(u) else -2 for u in uniques] + [-2], dtype=np.int64
        )
        return lookup[values]

    def names(self) -> list[str]:
        """Display name for each code: open stages, then Won, then Lost."""
        return [*self.open, self.won_label, self.lost_label]

    def suggest(self, label: object) -> str | None:
        """The known stage closest to an unknown label (for error messages)."""
        choices = {stage_key(s): s for s in (*self.open, *self.won, *self.lost)}
        close = difflib.get_close_matches(stage_key(label), list(choices), n=1, cutoff=0.5)
        return choices[close[0]] if close else None

    def with_open(self, open_stages: Sequence[str], source: str) -> StageList:
        """A copy with another order of open stages."""
        return StageList(tuple(open_stages), self.won, self.lost, source)

    # ---- inference -------------------------------------------------------------------------
    @classmethod
    def from_history(
        cls,
        labels: pd.Series,
        deal_codes: np.ndarray,
        order: np.ndarray,
        *,
        won: Iterable[str] = DEFAULT_WON,
        lost: Iterable[str] = DEFAULT_LOST,
        _sort: np.ndarray | bool | None = False,
    ) -> StageList:
        """Infer the open-stage order from history rows (pairwise first-entry order).

        For each deal, take the first time it entered each open stage (by ``order``, ties broken
        by table order). Stage *a* beats *b* when more deals first entered *a* before *b* than the
        other way round; stages are ranked by the number of stages they beat, ties broken by the
        average position of their first entry within a deal.

        Args:
            labels: Stage label of each history row.
            deal_codes: Integer deal code of each row (0..n-1).
            order: Sort key of each row within its deal (the date), smaller = earlier; rows with
                the same key keep their table order.
        """
        won, lost = tuple(won), tuple(lost)
        matcher = terminal_matcher(won, lost)
        # per distinct label, not per row: a million rows have a handful of labels
        if isinstance(labels.dtype, pd.CategoricalDtype):  # already factorised
            values, uniques = labels.cat.codes.to_numpy(), labels.cat.categories
        else:
            values, uniques = pd.factorize(labels, use_na_sentinel=True)
        label_keys = [stage_key(u) for u in uniques]
        key_codes, keys = pd.factorize(pd.Series(label_keys, dtype=object))
        display: dict[str, str] = {}
        for label, key in zip(uniques, label_keys, strict=True):
            display.setdefault(key, " ".join(strip_invisible(str(label)).split()))
        open_keys = [j for j, key in enumerate(keys) if key and matcher.match(key) < 0]
        if not open_keys:
            raise PipesheetError(
                "no open stages found in the history",
                table="history",
                column="stage",
                expected="rows for open stages, not only Won/Lost",
            )
        m = len(open_keys)
        to_open = np.full(len(keys) + 1, -1, dtype=np.int64)
        to_open[open_keys] = np.arange(m)
        stage_of_label = np.append(to_open[key_codes], -1)  # label code -1 (blank) → -1
        stage = stage_of_label[values]
        deal_codes = np.asarray(deal_codes, dtype=np.int64)
        sort = history_row_order(deal_codes, np.asarray(order)) if _sort is False else _sort
        if sort is not None:
            stage, deal_codes = stage[sort], deal_codes[sort]
        # rows are now chronological within each deal; keep each (deal, stage)'s first entry:
        # a stable (radix) sort by stage keeps each stage's rows in (deal, time) order, so a
        # first entry is a row whose deal or stage differs from the row before — no hashing
        keep = stage >= 0
        position = np.flatnonzero(keep)
        j_all = stage[keep].astype(np.int16 if m < 2**15 else np.int64)
        by_stage = np.argsort(j_all, kind="stable")
        j, position = j_all[by_stage], position[by_stage]
        d = deal_codes[position]
        first = np.ones(len(j), dtype=bool)
        first[1:] = (d[1:] != d[:-1]) | (j[1:] != j[:-1])
        n_deals = int(deal_codes.max()) + 1 if len(deal_codes) else 0
        small = len(deal_codes) < np.iinfo(np.int32).max
        never = np.iinfo(np.int32 if small else np.int64).max
        # entered[s, deal] = sorted position of the deal's first entry into s (stage-major, so
        # each comparison below runs over contiguous memory); filled through its flat index
        entered = np.full((m, n_deals), never, dtype=np.int32 if small else np.int64)
        at = np.flatnonzero(first)
        entered.ravel()[j[at].astype(np.int64) * n_deals + d[at]] = position[at]
        reached = (entered != never).astype(np.float64)
        n_reached = reached.sum(axis=1)
        both = reached @ reached.T  # both[a, b] = deals that reached a and b
        # before[a, b] = deals that first entered a before b, both reached: every deal with
        # entered[a] < entered[b] minus those that reached a but never b
        before = np.empty((m, m), dtype=np.float64)
        for a in range(m):
            before[a] = np.count_nonzero(entered[a] < entered, axis=1)
        before -= n_reached[:, None] - both
        ordering = order_from_pairs(before, n_reached)
        names = [display[keys[open_keys[s]]] for s in ordering]
        return cls(tuple(names), won, lost, "inferred from the history (first-entry order)")


def order_from_pairs(before: np.ndarray, n_reached: np.ndarray) -> list[int]:
    """The open-stage order from first-entry counts: ``before[a, b]`` = deals that reached a and
    b and first entered a before b, ``n_reached[a]`` = deals that reached a. Stage *a* beats *b*
    when ``before[a, b] > before[b, a]``; stages are ranked by the number they beat, ties broken
    by their average first-entry rank (:meth:`StageList.from_history`)."""
    m = len(n_reached)
    wins = (before > before.T).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_rank = np.where(n_reached > 0, before.sum(axis=0) / n_reached, m)
    return sorted(range(m), key=lambda s: (-wins[s], mean_rank[s]))


@dataclass(frozen=True)
class PipelineStages(StageList):
    """The stage lists of several pipelines (e.g. New business, Renewal), each with its own open
    stages, and — as a :class:`StageList` — their *union*: the open stages of every pipeline in
    pipeline order (a name two pipelines share is one stage of the union), the Won and Lost
    labels of all of them.

    The union codes every deal of every pipeline (open 0..k-1, Won k, Lost k+1), so a table of
    several pipelines reads like one; what is learned or priced per pipeline uses
    :meth:`stage_list` of the deal's pipeline.  Build it with :meth:`of`.

    Attributes:
        pipelines: ``((name, StageList), …)`` in the order given.
    """

    pipelines: tuple[tuple[str, StageList], ...] = ()

    @classmethod
    def of(cls, lists: Mapping[str, StageList], source: str | None = None) -> PipelineStages:
        """The union of ``{pipeline: StageList}`` (names compared as stage labels are: case and
        spaces folded; two names that fold alike are refused)."""
        items = [(str(name).strip(), sl) for name, sl in lists.items()]
        if not items:
            raise PipesheetError(
                "no pipelines given", table="stages", expected="{pipeline: StageList}"
            )
        seen: dict[str, str] = {}
        for name, sl in items:
            key = stage_key(name)
            if not key:
                raise PipesheetError(
                    "blank pipeline name", table="stages", expected="a name per pipeline"
                )
            if key in seen:
                raise PipesheetError(
                    "pipeline listed twice",
                    table="stages",
                    value=name,
                    expected="each pipeline once (names are compared without case and spaces)",
                )
            if not isinstance(sl, StageList):
                raise PipesheetError(
                    "a pipeline's stages must be a StageList",
                    table="stages",
                    value=name,
                    expected="{pipeline: StageList((...open stages...), won, lost)}",
                )
            seen[key] = name

        def union(parts: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
            out: dict[str, str] = {}
            for part in parts:
                for label in part:
                    out.setdefault(stage_key(label), label)
            return tuple(out.values())

        lists_ = [sl for _, sl in items]
        if source is None:
            source = "per pipeline: " + "; ".join(f"{name} ({sl.source})" for name, sl in items)
        return cls(
            union(sl.open for sl in lists_),
            union(sl.won for sl in lists_),
            union(sl.lost for sl in lists_),
            source,
            pipelines=tuple(items),
        )

    @property
    def lists(self) -> dict[str, StageList]:
        """``{pipeline: StageList}``."""
        return dict(self.pipelines)

    @property
    def pipeline_names(self) -> list[str]:
        """The pipelines' names, in order."""
        return [name for name, _ in self.pipelines]

    def find(self, pipeline: object) -> str | None:
        """The pipeline's name as listed (compared without case and spaces), or None."""
        key = stage_key(pipeline)
        return next((n for n, _ in self.pipelines if stage_key(n) == key), None)

    def stage_list(self, pipeline: object) -> StageList:
        """The stage list of one pipeline.

        Raises:
            PipesheetError: no such pipeline.
        """
        name = self.find(pipeline)
        if name is None:
            raise PipesheetError(
                "unknown pipeline",
                table="stages",
                value=pipeline,
                expected="one of the pipelines " + ", ".join(map(repr, self.pipeline_names)),
            )
        return self.lists[name]

    def describe(self) -> str:
        """``New business: Lead → Proposal; Renewal: Renewal call → Quote`` (for notes)."""
        return "; ".join(f"{n}: " + " → ".join(sl.open) for n, sl in self.pipelines)


def history_row_order(deal_codes: np.ndarray, order: np.ndarray) -> np.ndarray | None:
    """Permutation putting rows in (deal, order, table position) order; None if already so.

    Exports usually list each deal's rows together and in date order: that is checked in O(n)
    and no sort is done. Otherwise one stable sort of a combined integer key.
    """
    n = len(deal_codes)
    if n < 2:
        return None
    deal_codes = np.asarray(deal_codes, dtype=np.int64)
    order = np.asarray(order)
    step = np.diff(deal_codes)
    if (step >= 0).all() and (np.diff(order)[step == 0] >= 0).all():
        return None
    rank_codes, uniq = pd.factorize(order)
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[np.argsort(uniq, kind="stable")] = np.arange(len(uniq))
    n_deals = int(deal_codes.max()) + 1
    if n_deals * len(uniq) >= 2**62:  # pragma: no cover - astronomically many keys
        return np.lexsort((order, deal_codes))
    key = deal_codes * len(uniq) + rank[rank_codes]
    if np.count_nonzero(np.diff(key) < 0) * 100 < n:
        return np.argsort(key, kind="stable")  # nearly sorted: timsort merges a few runs
    # LSD radix sort on 16-bit digits (numpy's stable sort of uint16 is a radix sort)
    perm = np.argsort((key & 0xFFFF).astype(np.uint16), kind="stable")
    shift = 16
    while int(key.max()) >> shift:
        digit = ((key[perm] >> shift) & 0xFFFF).astype(np.uint16)
        perm = perm[np.argsort(digit, kind="stable")]
        shift += 16
    return perm


def _as_tuple(value: Iterable[str] | str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value)
