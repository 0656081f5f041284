"""Read and validate the user's tables: deals, stage history, currency rates.

Readers turn whatever a spreadsheet or CRM export gives (headers in any common spelling, numbers as
text, dates as dates, ISO text or Excel serial numbers) into clean frames with pipesheet's field
names, and reject bad input with a :class:`~pipesheet.errors.PipesheetError` that names the table,
column, row(s) and value. The frames' index is the *spreadsheet row number* (header = row 1), so
every later message can point at the row the user sees.

Clean deals frame columns: ``deal_id`` (text), ``stage`` (label as written), ``code`` (0..k-1 open,
k Won, k+1 Lost), ``amount`` (float), ``close_date`` (datetime, may be blank), plus any optional
fields found (``owner``, ``product_line``, ``country``, ``segment``, ``currency``,
``forecast_category``, ``created_date``, ``closed_date``, ``probability`` as 0–1, ``status``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.cells import (
    MAX_RATE,
    _factorize_arrow,
    arrow_strings,
    clean_text,
    clean_text_column,
    parse_amounts,
    parse_dates,
    parse_probabilities,
    row_numbers,
    text_codes,
)
from pipesheet.columns import (
    DEAL_FIELDS,
    HISTORY_FIELDS,
    mapping_only,
    mapping_without,
    normalise_header,
    resolve_columns,
)
from pipesheet.errors import PipesheetError, format_rows
from pipesheet.labels import (
    check_confusable,
    no_closed_label_message,
)
from pipesheet.stages import (
    DEFAULT_LOST,
    DEFAULT_WON,
    PipelineStages,
    StageList,
    history_row_order,
    stage_key,
    terminal_matcher,
)

__all__ = [
    "BLANK_AMOUNTS",
    "Deals",
    "History",
    "blank_amount_rows",
    "blank_amounts_choice",
    "check_history_deals",
    "check_table",
    "clean_text",
    "clean_text_column",
    "date_order_of",
    "group_field",
    "group_fields",
    "parse_amounts",
    "parse_date_setting",
    "parse_dates",
    "parse_probabilities",
    "parse_stage_values",
    "read_deals",
    "read_history",
    "read_history_and_deals",
    "read_rates",
    "stage_list_of",
]

TEXT_FIELDS = (
    "owner",
    "product_line",
    "country",
    "segment",
    "currency",
    "forecast_category",
    "pipeline",
)
#: Text read as it is written, never grouped on by default.
_PLAIN_TEXT_FIELDS = ("loss_reason",)


@dataclass
class Deals:
    """A validated deals table.

    Attributes:
        frame: Clean frame (see module docstring); index = spreadsheet row number.
        stages: The stage list the stages were checked against.
        columns: ``{field: header}`` — which user column each field came from.
        notes: Things the user should know (rows skipped on purpose, inferred settings).
    """

    frame: pd.DataFrame
    stages: StageList
    columns: dict[str, str]
    notes: list[str] = field(default_factory=list)
    name: str = "deals"
    #: Why the table has no amounts (the message of a missing amount column), or None. Amounts
    #: are needed only where money is computed; that computation raises this.
    missing_amount: PipesheetError | None = field(default=None, repr=False, compare=False)

    @property
    def open(self) -> pd.DataFrame:
        """Open deals only."""
        return self.frame[self.frame["code"] < self.stages.k]

    @property
    def pipelines(self) -> dict[str, StageList] | None:
        """``{pipeline: its StageList}`` when the deals are in several pipelines (a pipeline
        column with two names or more), else None (one pipeline: everything as for one list).

        The lists are those of :class:`~pipesheet.stages.PipelineStages` when the deals were
        read against one, else the one stage list shared by every pipeline.  A pipeline with no
        stage list (only closed deals, none of its stages known) is not listed."""
        if "pipeline" not in self.frame:
            return None
        names = pd.unique(self.frame["pipeline"].dropna().to_numpy())
        if len(names) < 2:
            return None
        if isinstance(self.stages, PipelineStages):
            return self.stages.lists
        return {str(n): self.stages for n in names}


@dataclass
class History:
    """A validated stage-history table: one row per (deal, stage, date entered).

    Attributes:
        frame: Columns ``deal_id``, ``stage``, ``code``, ``entered_date``; index = spreadsheet row.
        stages: The stage list (given, or inferred from first-entry order).
        columns: ``{field: header}``.
        notes: Things the user should know.
    """

    frame: pd.DataFrame
    stages: StageList
    columns: dict[str, str]
    notes: list[str] = field(default_factory=list)
    name: str = "history"
    _index: _HistoryIndex | None = field(default=None, repr=False, compare=False)
    #: The table as given, for the columns a history may carry per row besides these (amount,
    #: expected close date, probability: :mod:`pipesheet.history` reads them from it).
    source: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def deal_index(self) -> _HistoryIndex:
        """Deal codes and the chronological row order of :attr:`frame` (computed once)."""
        index = self._index
        if index is None or index.frame is not self.frame:
            codes, uniques = pd.factorize(self.frame["deal_id"].to_numpy(), use_na_sentinel=True)
            order = self.frame["entered_date"].to_numpy().astype("datetime64[ns]").astype("int64")
            index = _HistoryIndex(
                self.frame, codes, np.asarray(uniques), history_row_order(codes, order)
            )
            self._index = index
        return index


@dataclass(frozen=True)
class _HistoryIndex:
    """What the engine needs to walk a history fast, computed once when it is read.

    ``deal_codes[i]`` is row i's deal (0..n-1, in order of first appearance; ``deal_ids`` holds the
    ids), and ``sort`` is the permutation putting the rows in chronological order within each
    deal (date, then table order), or None when they already are.
    """

    frame: pd.DataFrame
    deal_codes: np.ndarray
    deal_ids: np.ndarray
    sort: np.ndarray | None

    def sorted_positions(self) -> np.ndarray:
        """Row positions in (deal, date, table order) order."""
        return np.arange(len(self.deal_codes)) if self.sort is None else self.sort


# ---- settings and stage values ----------------------------------------------------------------
def parse_stage_values(
    pairs: Sequence[tuple[Any, Any]],
    *,
    table: str,
    column: str = "probability",
    rows: Sequence[int] | None = None,
    stage_column: str = "stage",
) -> list[tuple[str, float]]:
    """``(stage, value)`` pairs — a probability table, conversions, benchmarks — with the values
    read as :func:`parse_probabilities` reads a column (one scale for all of them) and each stage
    listed once.

    Args:
        pairs: Stage label and value, in order.
        table, column: Named in messages.
        rows: Spreadsheet row of each pair (default 2, 3, … as in a table with a header).
        stage_column: Header of the stage labels, named in messages.

    Raises:
        PipesheetError: a blank stage, a stage listed twice (compared as stage labels are:
            case and spaces folded), or what :func:`parse_probabilities` refuses.
    """
    index = pd.Index(list(rows) if rows is not None else range(2, 2 + len(pairs)), name="row")
    labels = clean_text_column(pd.Series([p[0] for p in pairs], index=index, dtype=object))
    blank = labels.isna().to_numpy()
    if blank.any():
        raise PipesheetError(
            "stage is blank",
            table=table,
            column=stage_column,
            rows=row_numbers(index, blank),
            expected="a stage name",
        )
    keys = labels.map(stage_key)
    dup = keys.duplicated(keep=False).to_numpy()
    if dup.any():
        first = keys[dup].iloc[0]
        same = (keys == first).to_numpy()
        raise PipesheetError(
            "stage listed twice",
            table=table,
            column=stage_column,
            rows=row_numbers(index, same),
            value=labels[same].iloc[0],
            expected="each stage once (which value is meant cannot be guessed)",
        )
    values = parse_probabilities(
        pd.Series([p[1] for p in pairs], index=index, dtype=object), table=table, column=column
    )
    return list(zip(labels.tolist(), values.tolist(), strict=True))


def parse_date_setting(value: Any, name: str = "as_of") -> np.datetime64 | None:
    """A date setting as ``np.datetime64`` (the day, midnight); None when blank.

    Kept for callers of earlier versions: :func:`pipesheet.periods.read_date_setting` is the one
    reader of date settings (a bare date means the whole day: see :mod:`pipesheet.periods`)."""
    from pipesheet.periods import read_date_setting

    day = read_date_setting(value, name)
    return None if day is None else day.to_datetime64()


def _stage_codes(labels: pd.Series, stages: StageList, table: str, column: str) -> np.ndarray:
    codes = stages.codes(labels)
    blank = codes == -2
    if blank.any():
        raise PipesheetError(
            "stage is blank",
            table=table,
            column=column,
            rows=row_numbers(labels.index, blank),
            expected="a stage name",
        )
    unknown = codes < 0
    if unknown.any():
        value = labels[unknown].iloc[0]
        suggestion = stages.suggest(value)
        hint = f" (did you mean {suggestion!r}?)" if suggestion else ""
        raise PipesheetError(
            f"unknown stage{hint}",
            table=table,
            column=column,
            rows=row_numbers(labels.index, unknown),
            value=value,
            expected="one of " + ", ".join([*stages.open, stages.won_label, stages.lost_label]),
        )
    return codes


def date_order_of(table: Any, dayfirst: bool | None = None) -> bool | None:
    """The day/month order for a table's ambiguous text dates: ``dayfirst`` when given, else the
    order the table carries in ``attrs["dayfirst"]`` (set by the file and Excel readers when the
    user chose one), else None."""
    if dayfirst is not None:
        return bool(dayfirst)
    carried = getattr(table, "attrs", {}).get("dayfirst") if hasattr(table, "attrs") else None
    return None if carried is None else bool(carried)


def check_table(table: pd.DataFrame, name: str, *, drop_blank: bool = True) -> pd.DataFrame:
    """The user's table with spreadsheet row numbers as index, entirely blank rows dropped.

    ``drop_blank=False`` skips looking for blank rows (a caller that finds a blank key cell calls
    again with the result, whose row numbers are kept).
    """
    if not isinstance(table, pd.DataFrame):
        raise PipesheetError(f"expected a table, got {type(table).__name__}", table=name)
    out = table.copy(deep=False)  # the readers never write into it
    if not _has_row_index(table):
        # number the rows as the spreadsheet does *before* dropping blank ones
        out.index = pd.RangeIndex(2, 2 + len(table.index), name="row")
    if out.shape[1] == 0 or (drop_blank and out.iloc[:, 0].isna().any()):
        # only then can a row be entirely blank (a full scan of every column is costly)
        out = out.dropna(how="all")
    if out.empty:
        raise PipesheetError(
            "the table is empty", table=name, expected="a header row and at least one data row"
        )
    return out


def _copy_on_write() -> bool:
    """True when pandas copies on write (always from pandas 3): shared columns are then safe."""
    if int(pd.__version__.split(".")[0]) >= 3:
        return True
    return pd.options.mode.copy_on_write is True


def _has_row_index(table: pd.DataFrame) -> bool:
    return table.index.name == "row" and pd.api.types.is_integer_dtype(table.index.dtype)


# ---- readers ---------------------------------------------------------------------------------
def read_deals(
    table: pd.DataFrame | Deals,
    *,
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
    skip_blank_amounts: bool = False,
    name: str = "deals",
    dayfirst: bool | None = None,
) -> Deals:
    """Validate a deals table: one row per deal.

    Required: deal id, stage. Amount is needed wherever money is computed (forecasts, ranges,
    quota gap, backtest, waterfall): a blank amount is kept as NaN here and the computation
    applies its ``blank_amounts`` choice ("error" by default; see
    :func:`pipesheet.pricing.price_deals`); a table without an amount column reads (stage
    probabilities need no amount) and money computations raise the missing-column message.
    Expected close date is needed for forecasts by period (blank close dates are kept and
    reported as "no close date"). Optional: owner, product line, country, segment, currency,
    forecast category, created date, closed date, configured probability (0–100 or 0–1), status.

    Args:
        table: The user's table, headers in the first row (a DataFrame), or an already read Deals.
        stages: Stage list to check against. If not given: inferred from the configured
            probability column when there is one, else from the stages in the table in order of
            appearance (a note says so).
        columns: Explicit ``{field: header}`` mapping.
        skip_blank_amounts: Deprecated: drop the deals whose amount is blank here (counted in
            ``notes``). Use ``blank_amounts="skip"`` where the money is computed instead.
        name: Table name used in messages.
        dayfirst: Day/month order of text dates such as ``03/04/2027`` that no date of their
            column decides (default: the table's ``attrs["dayfirst"]``, which
            :func:`pipesheet.exports.read_table` and the Excel functions set; None: refused).
    """
    if isinstance(table, Deals):
        if stages is not None and stages != table.stages:
            again = read_deals(_restore(table), stages=stages, name=table.name)
            again.missing_amount = table.missing_amount
            return again
        return table
    raw = check_table(table, name)
    dayfirst = date_order_of(table, dayfirst)
    cols = resolve_columns(raw, DEAL_FIELDS, ("deal_id", "stage"), table_name=name, mapping=columns)
    missing_amount = None
    if "amount" not in cols:
        try:  # the message a money computation will give: the reader's own, with its hints
            resolve_columns(raw, DEAL_FIELDS, ("amount",), table_name=name, mapping=columns)
        except PipesheetError as err:
            missing_amount = err
    notes: list[str] = []
    frame = pd.DataFrame(index=raw.index)
    ids = clean_text_column(raw[cols["deal_id"]])
    blank = ids.isna().to_numpy()
    if blank.any():
        raise PipesheetError(
            "deal id is blank",
            table=name,
            column=cols["deal_id"],
            rows=row_numbers(raw.index, blank),
            expected="a unique id per deal",
        )
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        first = ids[dup].iloc[0]
        rows = row_numbers(raw.index, (ids == first).to_numpy())
        raise PipesheetError(
            f"deal id appears more than once ({dup.sum()} rows share an id)",
            table=name,
            column=cols["deal_id"],
            rows=rows,
            value=first,
            expected="one row per deal (a stage history goes in its own table)",
        )
    frame["deal_id"] = ids
    probability = None
    if "probability" in cols:
        probability = parse_probabilities(
            raw[cols["probability"]], table=name, column=cols["probability"]
        )
    labels = raw[cols["stage"]]
    check_confusable(labels, table=name, column=cols["stage"])
    stages = stage_list_of(stages)
    pipelines = (
        pipeline_column(raw[cols["pipeline"]], name, cols["pipeline"])
        if "pipeline" in cols
        else None
    )
    several = pipelines is not None and pipelines.nunique() >= 2
    inferred = stages is None
    if inferred:
        order_labels, order_p = labels, probability
        if "last_open_stage" in cols:  # stages closed deals were at count as stages too
            extra = raw[cols["last_open_stage"]]
            order_labels = pd.concat([labels, extra], ignore_index=True)
            if probability is not None:
                blank = pd.Series(np.nan, index=extra.index)
                order_p = pd.concat([probability, blank], ignore_index=True)
        if several:
            order_pipe = pipelines
            if "last_open_stage" in cols:
                order_pipe = pd.concat([pipelines, pipelines], ignore_index=True)
            stages = _infer_pipeline_stages(order_labels, order_p, order_pipe, notes)
        else:
            stages = _infer_deal_stages(order_labels, order_p, notes)
    frame["stage"] = clean_text_column(labels)
    frame["code"] = _stage_codes(labels, stages, name, cols["stage"])
    if pipelines is not None:
        frame["pipeline"] = pipelines
        if isinstance(stages, PipelineStages):
            check_pipeline_stages(frame, stages, name, cols["stage"], cols["pipeline"])
    elif isinstance(stages, PipelineStages):
        raise PipesheetError(
            "stage lists per pipeline were given but the deals table has no pipeline column",
            table=name,
            expected="a column such as 'Pipeline' naming each deal's pipeline (or map it with "
            "the column mapping pipeline=HEADER), or one stage list for all deals",
        )
    if inferred and not (frame["code"] >= stages.k).any():
        notes.append(no_closed_label_message(pd.unique(frame["stage"].to_numpy()), "deals table"))
    if "amount" in cols:
        frame["amount"] = parse_amounts(
            raw[cols["amount"]], table=name, column=cols["amount"], allow_blank=True
        )
    else:
        frame["amount"] = np.full(len(raw.index), np.nan)
    if "close_date" in cols:
        frame["close_date"] = parse_dates(
            raw[cols["close_date"]], table=name, column=cols["close_date"], dayfirst=dayfirst
        )
    else:
        frame["close_date"] = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
        notes.append("no expected close date column: forecasts cannot be split by period")
    for fld in (*TEXT_FIELDS, *_PLAIN_TEXT_FIELDS):
        if fld in cols and fld != "pipeline":
            frame[fld] = clean_text_column(raw[cols[fld]])
    if "override" in cols:
        frame["override"] = parse_probabilities(
            raw[cols["override"]], table=name, column=cols["override"]
        )
    for fld in ("created_date", "closed_date"):
        if fld in cols:
            frame[fld] = parse_dates(
                raw[cols[fld]], table=name, column=cols[fld], dayfirst=dayfirst
            )
    if probability is not None:
        frame["probability"] = probability
    if "last_open_stage" in cols:
        frame["last_open_stage"] = clean_text_column(raw[cols["last_open_stage"]])
    if "status" in cols:
        frame["status"] = clean_text_column(raw[cols["status"]]).map(
            lambda v: stage_key(v) if isinstance(v, str) else v
        )
    if "currency" in frame:
        frame["currency"] = frame["currency"].map(lambda v: v.upper() if isinstance(v, str) else v)
    if skip_blank_amounts:
        warnings.warn(
            "read_deals(skip_blank_amounts=True) is deprecated: pass blank_amounts='skip' to "
            "the computation (weighted_forecast, pipeline_range, price_deals…) instead",
            DeprecationWarning,
            stacklevel=2,
        )
        if missing_amount is not None:
            raise missing_amount
        skipped, note = blank_amount_rows(frame, "skip", table=name, column=cols["amount"])
        if note:
            notes.append(note)
            frame = frame[~skipped]
    return Deals(frame, stages, dict(cols), notes, name, missing_amount)


def _infer_deal_stages(
    labels: pd.Series, probability: pd.Series | None, notes: list[str]
) -> StageList:
    keys = labels.map(lambda v: stage_key(v) if not pd.isna(v) else "")
    terminal = terminal_matcher(DEFAULT_WON, DEFAULT_LOST)
    present: dict[str, str] = {}
    for label, key in zip(labels.tolist(), keys.tolist(), strict=False):
        if key and key not in present and terminal.match(key) < 0:
            present[key] = clean_text(label)
    if not present:
        raise PipesheetError(
            "no open stages found and no stage list given",
            table="deals",
            expected="a stage list, or open deals in the table",
        )
    if probability is not None:
        frame = pd.DataFrame({"key": keys, "p": probability}).dropna()
        means = frame.groupby("key", sort=False)["p"].median()
        order = sorted(present, key=lambda k: (means.get(k, np.inf), list(present).index(k)))
        stages = StageList(
            tuple(present[k] for k in order),
            source="inferred from the deals' configured probabilities",
        )
    else:
        stages = StageList(
            tuple(present.values()),
            source="inferred from the deals table (order of first appearance)",
        )
    notes.append(f"stage order {stages.source}: " + " → ".join(stages.open))
    return stages


def stage_list_of(stages: Any) -> StageList | None:
    """A ``stages`` setting as a stage list: a :class:`StageList` (or None) as it is; a mapping
    ``{pipeline: StageList}`` as their :class:`~pipesheet.stages.PipelineStages`."""
    if stages is None or isinstance(stages, StageList):
        return stages
    if isinstance(stages, Mapping):
        return PipelineStages.of(stages)
    raise PipesheetError(
        "unknown stage list",
        table="stages",
        value=type(stages).__name__,
        expected="a StageList, or {pipeline: StageList} for several pipelines",
    )


def pipeline_column(values: pd.Series, table: str, column: str) -> pd.Series:
    """The deals' pipeline names, each spelled as its first cell (names are compared as stage
    labels are: case and spaces folded).  With two pipelines or more a blank cell is refused,
    naming the rows: which pipeline's stages apply cannot be guessed."""
    text = clean_text_column(values)
    codes, uniques = pd.factorize(text.map(stage_key, na_action="ignore"), use_na_sentinel=True)
    if len(uniques) == 0:
        return text
    first = pd.Series(text.to_numpy()).groupby(codes).first()
    names = np.append(first.reindex(range(len(uniques))).to_numpy(dtype=object), None)
    out = pd.Series(names[codes], index=values.index, dtype=object)
    blank = out.isna().to_numpy()
    if len(uniques) >= 2 and blank.any():
        raise PipesheetError(
            "pipeline is blank",
            table=table,
            column=column,
            rows=row_numbers(values.index, blank),
            expected="the pipeline of every deal (the table has "
            + ", ".join(repr(n) for n in names[:-1][:6])
            + "): each pipeline has its own stages",
        )
    return out


def _infer_pipeline_stages(
    labels: pd.Series, probability: pd.Series | None, pipelines: pd.Series, notes: list[str]
) -> PipelineStages:
    """Each pipeline's stage order inferred from its own deals (see :func:`_infer_deal_stages`);
    a pipeline with no open stage in the table (only closed deals) gets no list."""
    lists: dict[str, StageList] = {}
    keys = pd.Series(labels.to_numpy(), dtype=object)
    pipe = pipelines.to_numpy()
    p = None if probability is None else pd.Series(probability.to_numpy(), dtype=float)
    terminal = terminal_matcher(DEFAULT_WON, DEFAULT_LOST)
    for name in pd.unique(pipe):  # per pipeline
        mask = pipe == name
        sub = keys[mask]
        if not (terminal.matches(sub.dropna()) < 0).any():
            continue  # only closed deals: nothing of its stages to know
        lists[str(name)] = _infer_deal_stages(
            sub.reset_index(drop=True),
            None if p is None else p[mask].reset_index(drop=True),
            [],
        )
    if not lists:
        raise PipesheetError(
            "no open stages found and no stage list given",
            table="deals",
            expected="a stage list, or open deals in the table",
        )
    stages = PipelineStages.of(lists)
    notes.append(
        f"{pipelines.nunique()} pipelines, each with its own stage order (inferred from its "
        "deals): " + stages.describe()
    )
    return stages


def check_pipeline_stages(
    frame: pd.DataFrame,
    stages: PipelineStages,
    table: str,
    stage_column: str,
    pipeline_column_: str,
    *,
    pipeline: pd.Series | None = None,
) -> None:
    """Refuse a row whose stage is not one of its pipeline's stages (open, Won or Lost), naming
    the pipeline, the stage and the rows; and an open deal of a pipeline without a stage list.
    ``pipeline``: each row's pipeline (default ``frame["pipeline"]``)."""
    pipe = frame["pipeline"] if pipeline is None else pipeline
    values = pipe.to_numpy()
    for name in pd.unique(values):  # per pipeline
        if name is None or (isinstance(name, float) and np.isnan(name)):
            continue
        mask = values == name
        labels = frame["stage"][mask]
        found = stages.find(name)
        if found is None:
            open_ = frame["code"].to_numpy()[mask] < stages.k
            if open_.any():
                raise PipesheetError(
                    f"pipeline {name!r} has no stage list",
                    table=table,
                    column=pipeline_column_,
                    rows=row_numbers(labels.index, open_),
                    value=name,
                    expected="a stage list for each pipeline with open deals; the lists given "
                    "are for " + ", ".join(map(repr, stages.pipeline_names)),
                )
            continue
        own = stages.lists[found]
        codes = own.codes(labels)
        unknown = codes == -1
        if unknown.any():
            value = labels[unknown].iloc[0]
            raise PipesheetError(
                f"stage {value!r} is not a stage of pipeline {found!r}",
                table=table,
                column=stage_column,
                rows=row_numbers(labels.index, unknown),
                value=value,
                expected=f"one of pipeline {found!r}'s stages: "
                + ", ".join([*own.open, own.won_label, own.lost_label]),
            )


def _restore(deals: Deals) -> pd.DataFrame:
    frame = deals.frame.drop(columns=["code"])
    if deals.missing_amount is not None:  # no amount column: not a column of blanks
        frame = frame.drop(columns=["amount"])
    return frame


def read_history(
    table: pd.DataFrame | History,
    *,
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
    deals: Deals | None = None,
    won: tuple[str, ...] = DEFAULT_WON,
    lost: tuple[str, ...] = DEFAULT_LOST,
    name: str = "history",
    dayfirst: bool | None = None,
) -> History:
    """Validate a stage-history table: one row per (deal, stage, date entered).

    This is the shape of Salesforce OpportunityHistory and of HubSpot/Pipedrive stage-change
    exports. Rows of one deal on the same date keep the order they have in the table. A row
    repeating the deal's previous stage is kept (it does not change the stage).

    Args:
        table: The user's history table, or an already read History.
        stages: Stage list. If not given, the order of open stages is inferred from first-entry
            order (see :class:`~pipesheet.stages.StageList`), with Won/Lost from ``won``/``lost``.
        columns: Explicit ``{field: header}`` mapping.
        deals: The deals table, when given: every history row must belong to one of its deals.
        won, lost: Won/Lost labels used when the stage list is inferred.
        name: Table name used in messages.
        dayfirst: Day/month order of ambiguous text dates (see :func:`read_deals`).
    """
    if isinstance(table, History):
        return table
    stages = stage_list_of(stages)
    raw = check_table(table, name, drop_blank=False)  # blank rows: see below
    cols = resolve_columns(
        raw,
        HISTORY_FIELDS,
        ("deal_id", "stage", "entered_date"),
        table_name=name,
        mapping=columns,
        shared=("amount",),  # a history's amount is optional; --columns amount=… is the deals'
    )
    notes: list[str] = []
    deal_codes, deal_uniques, as_given = text_codes(raw[cols["deal_id"]])
    if (deal_codes < 0).any():  # only a row with a blank id can be entirely blank
        raw = check_table(raw, name)
        deal_codes, deal_uniques, as_given = text_codes(raw[cols["deal_id"]])
    blank = deal_codes < 0
    if blank.any():
        raise PipesheetError(
            "deal id is blank",
            table=name,
            column=cols["deal_id"],
            rows=row_numbers(raw.index, blank),
            expected="the id of a deal",
        )
    if as_given and arrow_strings(raw[cols["deal_id"]]) is not None:
        ids = raw[cols["deal_id"]]  # clean Arrow text: kept as it is (no Python objects)
    elif as_given:  # the ids are clean text: a copy of the column beats a lookup per row
        ids = pd.Series(
            raw[cols["deal_id"]].to_numpy(dtype=object).copy(), index=raw.index, dtype=object
        )
    else:
        ids = pd.Series(deal_uniques[deal_codes], index=raw.index, dtype=object)
    entered = parse_dates(
        raw[cols["entered_date"]],
        table=name,
        column=cols["entered_date"],
        allow_blank=False,
        dayfirst=date_order_of(table, dayfirst),
    )
    labels = raw[cols["stage"]]
    # factorise the labels once; both the inference and the coding below reuse it
    arrow = arrow_strings(labels)
    if arrow is not None:  # Arrow text: factorised in Arrow (no Python objects per row)
        label_codes, label_uniques = _factorize_arrow(arrow)
    else:
        label_codes, label_uniques = pd.factorize(labels.to_numpy(), use_na_sentinel=True)
    check_confusable(labels, table=name, column=cols["stage"], uniques=label_uniques)
    categorical = pd.Series(
        pd.Categorical.from_codes(label_codes, categories=pd.Index(label_uniques, dtype=object)),
        index=labels.index,
    )
    order = entered.to_numpy().view("int64")  # nanoseconds, no copy
    sort = history_row_order(deal_codes, order)
    if stages is None:
        stages = StageList.from_history(
            categorical, deal_codes, order, won=won, lost=lost, _sort=sort
        )
        notes.append(f"stage order {stages.source}: " + " → ".join(stages.open))
    codes = _stage_codes(categorical, stages, name, cols["stage"])
    if not (codes >= stages.k).any():
        notes.append(no_closed_label_message(label_uniques, "history"))
    frame = pd.DataFrame(
        {"deal_id": ids, "stage": labels, "code": codes, "entered_date": entered},
        index=raw.index,
        copy=not _copy_on_write(),  # with copy-on-write, sharing the columns is safe
    )
    index = _HistoryIndex(frame, deal_codes, deal_uniques, sort)
    history = History(frame, stages, dict(cols), notes, name, _index=index, source=table)
    return history if deals is None else check_history_deals(history, deals)


def read_history_and_deals(
    history: Any,
    deals: Any = None,
    *,
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
    needed_for: str = "this",
) -> tuple[History, Deals | None, list[str]]:
    """The stage history (required) and the deals table (optional), read against one stage list
    and cross-checked (every history row belongs to a deal of the table), with the notes of
    reading them. ``columns`` may map fields of both tables; ``needed_for`` says in the message
    what needs the history when none is given."""
    if history is None:
        raise PipesheetError(
            f"a stage history is needed for {needed_for}",
            table="history",
            expected="a table with deal id, stage and date entered (e.g. OpportunityHistory)",
        )
    stages = stage_list_of(stages)
    deal_columns = mapping_without(columns, ("entered_date",))
    hist = read_history(
        history,
        stages=stages,
        columns=mapping_only(columns, ("deal_id", "stage", "entered_date", "amount")),
    )
    if deals is not None and (stages is None or isinstance(stages, PipelineStages)):
        hist = history_by_pipeline(hist, deals, deal_columns, inferred=stages is None)
    notes = list(hist.notes)
    table = None
    if deals is not None:
        table = read_deals(deals, stages=hist.stages, columns=deal_columns)
        notes += [n for n in table.notes if n not in notes]
        check_history_deals(hist, table)
    return hist, table, notes


def deal_pipelines(deals: Any, columns: Mapping[str, str] | None = None) -> pd.Series | None:
    """Each deal's pipeline (index: deal id) when the deals table is in several pipelines, else
    None — read from a raw table or a :class:`Deals` without reading the rest of it."""
    if isinstance(deals, Deals):
        if deals.pipelines is None:
            return None
        return pd.Series(deals.frame["pipeline"].to_numpy(), index=deals.frame["deal_id"])
    raw = check_table(deals, "deals")
    cols = resolve_columns(
        raw, DEAL_FIELDS, ("deal_id", "stage"), table_name="deals", mapping=columns
    )
    if "pipeline" not in cols:
        return None
    pipe = pipeline_column(raw[cols["pipeline"]], "deals", cols["pipeline"])
    if pipe.nunique() < 2:
        return None
    ids = clean_text_column(raw[cols["deal_id"]])
    return pd.Series(pipe.to_numpy(), index=ids.to_numpy())


def history_by_pipeline(
    hist: History, deals: Any, columns: Mapping[str, str] | None = None, *, inferred: bool
) -> History:
    """The history against its pipelines' stage lists when the deals are in several pipelines
    (else as it is): each pipeline's open-stage order inferred from the first entries of its
    own deals (``inferred``; :meth:`StageList.from_history`), or the given
    :class:`~pipesheet.stages.PipelineStages` checked — a history row whose stage is not one of
    its deal's pipeline's stages is refused, naming the pipeline, the stage and the rows."""
    pipes = deal_pipelines(deals, columns)
    if pipes is None:
        return hist
    frame = hist.frame
    index = hist.deal_index()
    row_pipe = pd.Series(
        pipes.reindex(pd.Index(index.deal_ids)).to_numpy()[index.deal_codes], index=frame.index
    )
    notes = list(hist.notes)
    stages = hist.stages
    if inferred:
        won, lost = hist.stages.won, hist.stages.lost
        lists: dict[str, StageList] = {}
        order = frame["entered_date"].to_numpy().view("int64")
        terminal = terminal_matcher(won, lost)
        for name in pd.unique(pipes.to_numpy()):  # per pipeline
            mask = (row_pipe == name).to_numpy()
            if not mask.any() or not (terminal.matches(frame["stage"][mask]) < 0).any():
                continue  # no open stage in its history: only closed deals, nothing to order
            lists[str(name)] = StageList.from_history(
                frame["stage"][mask],
                pd.factorize(index.deal_codes[mask])[0],
                order[mask],
                won=won,
                lost=lost,
            )
        stages = PipelineStages.of(lists)
        notes = [n for n in notes if not n.startswith("stage order inferred")]
        notes.append(
            f"{pipes.nunique()} pipelines, each with its own stage order (inferred from the "
            "first entries of its own deals): " + stages.describe()
        )
        codes = _stage_codes(frame["stage"], stages, hist.name, hist.columns["stage"])
        frame = frame.assign(code=codes)
    known = row_pipe.notna().to_numpy()
    check_pipeline_stages(
        frame[known],
        stages,
        hist.name,
        hist.columns["stage"],
        "pipeline (of the deals table)",
        pipeline=row_pipe[known],
    )
    out = History(frame, stages, hist.columns, notes, hist.name)
    if index.frame is hist.frame:  # the same rows in the same order: the index still holds
        out._index = _HistoryIndex(frame, index.deal_codes, index.deal_ids, index.sort)
    return out


def check_history_deals(history: History, deals: Deals) -> History:
    """The history, once every row is known to belong to a deal of the deals table."""
    frame = history.frame
    known = frame["deal_id"].isin(deals.frame["deal_id"]).to_numpy()
    if not known.all():
        raise PipesheetError(
            "history rows for a deal that is not in the deals table",
            table=history.name,
            column=history.columns["deal_id"],
            rows=row_numbers(frame.index, ~known),
            value=frame["deal_id"][~known].iloc[0],
            expected="deal ids that appear in table " + repr(deals.name),
        )
    return history


def group_field(by: str | None, deals: Deals | None) -> str | None:
    """The field of ``deals`` to group by, named by its field name or by the user's header
    (None when ``by`` is None)."""
    if by is None:
        return None
    if deals is None:
        raise PipesheetError(
            "grouping needs a deals table",
            value=by,
            expected="a deals table with the column " + repr(by),
        )
    key = normalise_header(by)
    for fld, header in deals.columns.items():
        if key in (normalise_header(fld), normalise_header(header)):
            if fld not in deals.frame or fld in ("deal_id", "amount"):
                break
            return fld
    raise PipesheetError(
        "cannot group by this column",
        table=deals.name,
        column=str(by),
        expected="one of the deals table's columns: "
        + ", ".join(h for f, h in deals.columns.items() if f in (*TEXT_FIELDS, "stage")),
    )


def group_fields(deals: Deals, by: str | Sequence[str] | None) -> list[str]:
    """:func:`group_field` of each of ``by`` (none when blank)."""
    if by is None or (isinstance(by, str) and not by.strip()):
        return []
    names = [by] if isinstance(by, str) else list(by)
    return [group_field(name, deals) for name in names]


def read_rates(table: pd.DataFrame | Mapping[str, float], *, name: str = "rates") -> pd.Series:
    """Currency rates: units of the reporting currency per one unit of each currency.

    Accepts a table with columns currency and rate, or a mapping ``{"USD": 0.92, ...}``.
    """
    if isinstance(table, Mapping):
        table = pd.DataFrame({"currency": list(table), "rate": list(table.values())})
    raw = check_table(table, name)
    cols = resolve_columns(
        raw,
        {
            "currency": ("currency", "code", "iso", "from"),
            "rate": ("rate", "fx_rate", "exchange_rate", "conversion_rate", "rate_to_reporting"),
        },
        ("currency", "rate"),
        table_name=name,
    )
    codes = clean_text_column(raw[cols["currency"]]).map(
        lambda v: v.upper() if isinstance(v, str) else v
    )
    rates = parse_amounts(
        raw[cols["rate"]], table=name, column=cols["rate"], what="rate", limit=MAX_RATE
    )
    zero = (rates <= 0).to_numpy()
    if zero.any():
        raise PipesheetError(
            "rate must be above zero",
            table=name,
            column=cols["rate"],
            rows=row_numbers(raw.index, zero),
            value=rates[zero].iloc[0],
            expected="a positive rate (reporting currency per unit)",
        )
    dup = codes.duplicated(keep=False).to_numpy()
    if dup.any():
        raise PipesheetError(
            "currency listed twice",
            table=name,
            column=cols["currency"],
            rows=row_numbers(raw.index, dup),
            value=codes[dup].iloc[0],
            expected="one rate per currency",
        )
    return pd.Series(rates.to_numpy(), index=codes.to_numpy(), name="rate")


# ---- blank amounts: the one place the choice is made -------------------------------------------
#: What a blank amount means where money is computed (the first is the default).
BLANK_AMOUNTS = ("error", "skip", "zero")
_BLANK_CHOICES = (
    "an amount; or choose what blank amounts mean: skip (leave those deals out of the money "
    "figures, counted in a note) or zero (count them as 0) — --blank-amounts skip|zero on the "
    "command line, the blank_amounts argument in Excel and Python, 'Blank amounts' in the "
    "dashboard (the default, error, stops here)"
)


def blank_amounts_choice(blank_amounts: Any = "error", skip_blank_amounts: Any = None) -> str:
    """The blank-amount choice as one of :data:`BLANK_AMOUNTS` (case-insensitive; blank →
    "error"). ``skip_blank_amounts=True`` is the deprecated spelling of "skip"."""
    if skip_blank_amounts:
        warnings.warn(
            "skip_blank_amounts=True is deprecated: use blank_amounts='skip'",
            DeprecationWarning,
            stacklevel=3,
        )
        return "skip"
    if blank_amounts is None or (isinstance(blank_amounts, str) and not blank_amounts.strip()):
        return "error"
    key = str(blank_amounts).strip().casefold()
    if key not in BLANK_AMOUNTS:
        raise PipesheetError(
            "unknown choice for blank amounts",
            table="settings",
            column="blank_amounts",
            value=blank_amounts,
            expected="error (stop and name the rows), skip (leave those deals out, counted in a "
            "note) or zero (count them as 0)",
        )
    return key


def blank_amount_rows(
    frame: pd.DataFrame,
    blank_amounts: str,
    *,
    table: str = "deals",
    column: str = "amount",
    scope: np.ndarray | None = None,
) -> tuple[np.ndarray, str]:
    """Apply the blank-amount choice — the one place it is decided.

    Args:
        frame: A deals frame (``amount`` NaN where blank; index = spreadsheet row).
        blank_amounts: "error", "skip" or "zero" (see :func:`blank_amounts_choice`).
        table, column: Named in the message.
        scope: The deals whose amount is money in the computation (default: all).

    Returns:
        (mask of the blank amounts in scope, the note counting them — "" when there are none).

    Raises:
        PipesheetError: blank amounts in scope and the choice is "error" (naming the rows and
            the three choices).
    """
    blank = frame["amount"].isna().to_numpy()
    if scope is not None:
        blank = blank & scope
    if not blank.any():
        return blank, ""
    rows = [int(r) for r in frame.index[blank][:50]]
    choice = blank_amounts_choice(blank_amounts)
    if choice == "error":
        raise PipesheetError(
            f"amount is blank ({int(blank.sum())} deal(s))",
            table=table,
            column=column,
            rows=rows,
            expected=_BLANK_CHOICES,
        )
    what = "skipped" if choice == "skip" else "counted as 0"
    where = format_rows([int(r) for r in frame.index[blank]])
    return blank, f"{int(blank.sum())} deal(s) with a blank amount {what} ({where})"
