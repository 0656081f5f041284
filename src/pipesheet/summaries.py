"""Summaries computed where the data is: the same estimators over Polars, DuckDB, Spark, Ibis…

A history of a hundred million rows does not fit the pandas path, and a warehouse table should
not travel to the laptop at all. Every estimator needs only a few *small* arrays from a history,
so this module asks the frame's own engine (through `narwhals <https://narwhals-dev.github.io>`_,
which speaks Polars, DuckDB, PySpark, Ibis, PyArrow and more) for those arrays, and numpy/scipy
finish locally exactly as the pandas path does:

* **labels** — the distinct stage labels (a handful) come back and are folded here with the very
  rules of the pandas path (:func:`pipesheet.stages.stage_key`: case, white space, invisible
  characters; look-alike letters refused; Won/Lost in many languages). So are the distinct group
  values, currencies and text dates;
* **reach patterns** — per deal, its final stage, the set of open stages it reached and (when the
  stage order is inferred) the order it first entered them, counted by pattern: ``(group, final
  stage, reached stages, first-entry order) → deals`` — a few thousand rows for millions of deals;
* **transitions** (Markov) — ``(group, from, to) → moves``;
* **visits** (time-aware) — the first visit of each deal to each open stage on the day clock:
  ``(stage, stay, time, outcome) → visits`` (and the deals open on the as-of date);
* **money** — open deals' amounts summed by group, stage, currency and close month.

**Order of rows on one date.** The pandas path orders a deal's rows by date, then by table order.
An eager frame (Polars DataFrame) has a table order; a lazy or distributed one (DuckDB, Spark,
Ibis, Polars LazyFrame) has none, so it must name an *ordering column* (``order_by="row"``, or a
column headed ``row``) — unless no deal has two rows on the same date and time at different
stages, which is checked: if it has, the estimator stops with a :class:`PipesheetError` naming the
deal and the date. Dates are ordered to the microsecond.

**Row numbers in messages.** An eager frame's rows are numbered as in a spreadsheet (header = row
1). A lazy frame has no row numbers: its messages name the column, the value and the deal id(s)
instead (and the ordering column's values when it has one).

Frames of pandas itself never come here (the pandas path reads them); PyArrow tables and other
eager pandas-like frames are converted to pandas and take that path too.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.cells import DATE_MAX, DATE_MIN, DATE_RANGE_TEXT, clean_text, parse_dates
from pipesheet.columns import (
    DEAL_FIELDS,
    HISTORY_FIELDS,
    mapping_only,
    normalise_header,
    resolve_columns,
)
from pipesheet.errors import PipesheetError
from pipesheet.history import HISTORY_CLOSE_ALIASES
from pipesheet.labels import INVISIBLE, confusable_pairs, no_closed_label_message
from pipesheet.stages import (
    DEFAULT_LOST,
    DEFAULT_WON,
    StageList,
    order_from_pairs,
    stage_key,
    terminal_matcher,
)

__all__ = [
    "LAZY_TEXT_DATES",
    "ROW",
    "LazyDeals",
    "LazyHistory",
    "ReachPatterns",
    "backend_of",
    "foreign_frame",
    "lazy_deals",
    "lazy_history",
    "pandas_frame",
    "reach_patterns",
    "transition_counts",
    "visit_counts",
]

#: Most distinct values of a text (or serial-number) date column a lazy frame may have: they are
#: read here, one by one, and sent back as a mapping.
LAZY_TEXT_DATES = 50_000
_US_PER_DAY = 86_400_000_000
_EPOCH = pd.Timestamp("1970-01-01").to_pydatetime()
#: Modules whose frames narwhals reads lazily (or which are lazy by nature).
_PANDAS_LIKE = ("pyarrow", "modin", "cudf")


# ---- which path a table takes ----------------------------------------------------------------


def _root(obj: Any) -> str:
    return type(obj).__module__.split(".", 1)[0]


def foreign_frame(obj: Any) -> bool:
    """True for a frame that is not pandas but that narwhals reads (Polars, DuckDB, Spark,
    Ibis…): it takes the summary path. pandas frames, pipesheet's own tables, mappings and None
    are False (the pandas path); so are eager pandas-like frames (see :func:`pandas_frame`)."""
    if obj is None or isinstance(obj, (pd.DataFrame, Mapping, list, tuple)):
        return False
    root = _root(obj)
    if root in ("pipesheet", "pandas", "numpy", "builtins") or root in _PANDAS_LIKE:
        return False
    nw = _narwhals()
    if nw is None:
        return False
    return nw.dependencies.is_into_dataframe(obj) or _is_lazy_native(nw, obj)


def _is_lazy_native(nw: Any, obj: Any) -> bool:
    try:
        nw.from_native(obj)
    except (TypeError, ValueError):
        return False
    return True


def pandas_frame(obj: Any) -> Any:
    """``obj`` as a pandas DataFrame when it is an eager pandas-like frame (a PyArrow table,
    modin, cuDF): they take the pandas path; anything else is returned as it is."""
    if obj is not None and _root(obj) in _PANDAS_LIKE:
        nw = _narwhals()
        if nw is not None:
            try:
                frame = nw.from_native(obj, eager_only=True)
            except TypeError:
                return obj
            return frame.to_pandas()
    return obj


def backend_of(obj: Any) -> str:
    """The name of the engine a frame runs on (``"pandas"``, ``"polars"``, ``"duckdb"``,
    ``"pyspark"``, ``"ibis"``…)."""
    if isinstance(obj, pd.DataFrame):
        return "pandas"
    nw = _narwhals()
    if nw is None:
        return _root(obj)
    try:
        return str(nw.from_native(obj).implementation).lower()
    except (TypeError, ValueError):
        return _root(obj)


@functools.cache
def _narwhals() -> Any:
    try:
        import narwhals.stable.v2 as nw
    except ImportError:  # pragma: no cover - narwhals is a core dependency
        try:
            import narwhals as nw
        except ImportError:
            return None
    return nw


# ---- a user's table as a lazy frame -----------------------------------------------------------


@dataclass
class _Lazy:
    """A user's table as a narwhals LazyFrame, and what is known about its rows."""

    lf: Any
    name: str
    headers: list[str]
    backend: str
    rows_known: bool  # column _ROW holds spreadsheet row numbers (eager frames)
    order: str | None  # the column that orders rows of one deal at one instant


_ROW = "__pipesheet_row"
#: A column of this name in a lazy frame holds its rows' spreadsheet numbers (header = row 1) —
#: what :mod:`pipesheet.exports.large` gives the files it opens in DuckDB.
ROW = _ROW


def _open(obj: Any, name: str, order_by: str | None = None) -> _Lazy:
    nw = _narwhals()
    try:
        frame = nw.from_native(obj)
    except TypeError as err:
        raise PipesheetError(
            f"expected a table, got {type(obj).__name__}",
            table=name,
            expected="a pandas, Polars, PyArrow, DuckDB, Spark or Ibis frame",
        ) from err
    backend = str(frame.implementation).lower()
    headers = [str(c) for c in frame.collect_schema().names()]
    numbered = _ROW in headers  # a lazy frame that knows its spreadsheet rows
    headers = [h for h in headers if h != _ROW]
    rows_known = isinstance(frame, nw.DataFrame) or numbered
    if isinstance(frame, nw.DataFrame) and not numbered:
        frame = frame.with_row_index(_ROW).lazy()
        frame = frame.with_columns((nw.col(_ROW) + 2).cast(nw.Int64).alias(_ROW))
    order = None
    if order_by is not None:
        if str(order_by) not in headers:
            raise PipesheetError(
                "the ordering column is not in the table",
                table=name,
                column=str(order_by),
                expected="one of the table's columns: " + ", ".join(headers),
            )
        order = str(order_by)
    else:
        found = [h for h in headers if normalise_header(h) == "row"]
        if found:
            order = found[0]
        elif rows_known:
            order = _ROW
    return _Lazy(frame, name, headers, backend, rows_known, order)


def _header_table(table: _Lazy) -> pd.DataFrame:
    """An empty pandas frame with the table's headers (what the column resolver reads)."""
    return pd.DataFrame(columns=[h for h in table.headers])


def _collect(lf: Any) -> pd.DataFrame:
    """A (small) lazy result as a pandas frame."""
    out = lf.collect()
    return out.to_pandas()


def _where(table: _Lazy, lf: Any, condition: Any, deal: str | None) -> tuple[list[int], str]:
    """Rows (eager frames) and deal ids / ordering values (any frame) where ``condition`` holds:
    what a message can say about where a problem is."""
    nw = _narwhals()
    cols = []
    if table.rows_known:
        cols.append(nw.col(_ROW))
    if deal is not None:
        cols.append(nw.col(deal).alias("__deal"))
    names = lf.collect_schema().names()
    order = table.order if table.order in names else ("o" if "o" in names else None)
    if order is not None and table.order != _ROW:
        cols.append(nw.col(order).alias("__order"))
    if not cols:
        return [], ""
    sample = _collect(lf.filter(condition).select(*cols).head(20))
    rows = [int(r) for r in sample[_ROW]] if table.rows_known else []
    bits = []
    if not table.rows_known:
        if "__deal" in sample:
            ids = ", ".join(repr(clean_text(v)) for v in dict.fromkeys(sample["__deal"].tolist()))
            bits.append(f"deal id(s) {ids}")
        if "__order" in sample:
            bits.append(
                f"{table.order} {', '.join(str(v) for v in sample['__order'].tolist()[:5])}"
            )
        bits.append(f"a {table.backend} frame has no spreadsheet row numbers")
    return rows, (" (" + "; ".join(bits) + ")") if bits else ""


# ---- ids, labels and dates --------------------------------------------------------------------


def _clean_text(nw: Any, expr: Any) -> Any:
    """Text as the pandas path cleans ids: invisible characters dropped, white space collapsed
    and stripped, empty → null (NFC normalisation is not applied on other engines)."""
    expr = (
        expr.str.replace_all(INVISIBLE.pattern, "").str.replace_all(r"\s+", " ").str.strip_chars()
    )
    return nw.when(expr == "").then(None).otherwise(expr)


def _clean_id(nw: Any, name: str, dtype: Any, *, text: bool = True) -> Any:
    """The deal id as the pandas path reads it: text cleaned (:func:`_clean_text`; with
    ``text=False`` left as it is, for a later check per distinct id); whole numbers as text."""
    expr = nw.col(name)
    if dtype == nw.String:
        if text:
            expr = _clean_text(nw, expr)
    elif dtype.is_float():
        whole = expr.cast(nw.Int64)
        expr = (
            nw.when(whole.cast(nw.Float64) == expr)
            .then(whole.cast(nw.String))
            .otherwise(expr.cast(nw.String))
        )
    elif dtype.is_integer():
        expr = expr.cast(nw.String)
    return expr


def _dirty(nw: Any, expr: Any) -> Any:
    """True for an id that cleaning might change: anything but printable ASCII without leading,
    trailing or double spaces (one regular-expression match, far cheaper than cleaning)."""
    return expr.str.contains(r"[^ -~]|^ | $|  ") | (expr == "")


def _codes_expr(nw: Any, column: str, labels: list[Any], codes: list[int]) -> Any:
    """Each label's code (-2 for any other value): a CASE chain for a few labels (three times
    faster than a map lookup in DuckDB), a lookup for many."""
    present = labels_present(labels)
    values = codes_present(labels, codes)
    col = nw.col(column)
    if len(present) > 64:
        return col.replace_strict(present, values, default=-2, return_dtype=nw.Int64)
    expr = nw.lit(-2, nw.Int64)
    for label, code in reversed(list(zip(present, values, strict=True))):
        expr = nw.when(col == label).then(nw.lit(code, nw.Int64)).otherwise(expr)
    return expr


def _distinct(lf: Any, column: str, extra: Sequence[Any] = ()) -> pd.DataFrame:
    nw = _narwhals()
    return _collect(lf.group_by(column).agg(nw.len().alias("__n"), *extra))


def _micros(nw: Any, name: str, dtype: Any, backend: str) -> tuple[Any, bool]:
    """(an integer expression ordering the column's instants — microseconds since 1970, or days
    for a date column —, whether its unit is a day)."""
    expr = nw.col(name)
    if backend in ("pyspark", "pyspark[connect]", "sqlframe"):  # no durations: from the parts
        days = _civil_days(nw, expr.dt.year(), expr.dt.month(), expr.dt.day())
        if dtype == nw.Date:
            return days, True
        clock = (
            expr.dt.hour().cast(nw.Int64) * 3_600_000_000
            + expr.dt.minute().cast(nw.Int64) * 60_000_000
            + expr.dt.second().cast(nw.Int64) * 1_000_000
            + expr.dt.microsecond().cast(nw.Int64)
        )
        return days * _US_PER_DAY + clock, False
    if dtype == nw.Date and backend == "duckdb":  # a date minus a date is days there: fast
        return (expr - nw.lit(_EPOCH.date())).cast(nw.Int64), True
    if dtype == nw.Date:
        expr = expr.cast(nw.Datetime("us"))
        return (expr - nw.lit(_EPOCH)).dt.total_microseconds() // _US_PER_DAY, True
    return (expr - nw.lit(_EPOCH)).dt.total_microseconds(), False


def _civil_days(nw: Any, year: Any, month: Any, day: Any) -> Any:
    """Days since 1970-01-01 of a (proleptic Gregorian) date from its parts, in integer
    arithmetic (H. Hinnant's days_from_civil; years ≥ 0)."""
    y = year.cast(nw.Int64)
    m = month.cast(nw.Int64)
    d = day.cast(nw.Int64)
    y = nw.when(m <= 2).then(y - 1).otherwise(y)
    era = y // 400
    yoe = y - era * 400
    mp = nw.when(m > 2).then(m - 3).otherwise(m + 9)
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def _date_key(table: _Lazy, column: str, dayfirst: bool | None) -> tuple[Any, bool]:
    """The entered date as an integer key (microseconds, or days for a date column) and whether
    the unit is a day. Text and number columns are read here per distinct value (the rule of
    :func:`pipesheet.cells.parse_dates`) and mapped back."""
    nw = _narwhals()
    dtype = table.lf.collect_schema()[column]
    if dtype == nw.Date or isinstance(dtype, nw.Datetime):
        if isinstance(dtype, nw.Datetime) and getattr(dtype, "time_zone", None):
            raise PipesheetError(
                "dates with a time zone",
                table=table.name,
                column=column,
                value=str(dtype),
                expected="local dates and times without a time zone (convert them in the "
                f"{table.backend} frame first)",
            )
        return _micros(nw, column, dtype, table.backend)
    values = _distinct(table.lf, column)
    raw = values[column]
    if len(raw) > LAZY_TEXT_DATES:
        raise PipesheetError(
            f"{len(raw):,} distinct text dates: too many to read one by one",
            table=table.name,
            column=column,
            expected=f"a date or datetime column in the {table.backend} frame (cast it there)",
        )
    index = pd.RangeIndex(2, 2 + len(raw), name="row")
    series = pd.Series(raw.to_numpy(dtype=object), index=index, dtype=object)
    try:
        parsed = parse_dates(series, table=table.name, column=column, dayfirst=dayfirst)
    except PipesheetError as err:
        raise PipesheetError(
            err.problem,
            table=table.name,
            column=column,
            value=err.value,
            expected=err.expected,
        ) from err
    known = parsed.notna().to_numpy()
    micros = (
        parsed.to_numpy()[known].astype("datetime64[us]").astype(np.int64).tolist()
        if known.any()
        else []
    )
    old = raw[known].tolist()
    expr = nw.col(column).replace_strict(old, micros, default=None, return_dtype=nw.Int64)
    return expr, False


def _fold_labels(
    labels: Sequence[Any], first: Sequence[Any], counts: Sequence[int] | None = None
) -> tuple[list[Any], list[str]]:
    """Distinct labels in the order the pandas path meets them (``first``: the row or ordering
    value of each one's first appearance), and their folded keys. Without an order, the most
    frequent spelling comes first (then in text order)."""
    if counts is not None and all(not _present(f) for f in first):
        first = [-int(n) for n in counts]
    order = sorted(range(len(labels)), key=lambda i: (_sortable(first[i]), str(labels[i])))
    ordered = [labels[i] for i in order]
    return ordered, [stage_key(u) if _present(u) else "" for u in ordered]


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and np.isnan(value))


def _sortable(value: Any) -> tuple[int, Any]:
    if not _present(value):
        return (1, 0)
    try:
        return (0, float(value))
    except (TypeError, ValueError):
        return (0, str(value))


def _check_confusable_labels(table: _Lazy, lf: Any, column: str, labels: list[Any]) -> None:
    texts = [u for u in labels if isinstance(u, str)]
    if all(t.isascii() for t in texts):
        return
    pairs = confusable_pairs(texts)
    if not pairs:
        return
    nw = _narwhals()
    odd, other, char = pairs[0]
    raw = [t for t in texts if " ".join(INVISIBLE.sub("", t).split()) == odd] or [odd]
    rows, where = _where(table, lf, nw.col(column).is_in(raw), None)
    raise PipesheetError(
        f"two labels look the same but are different text: {odd!r} and {other!r} — {odd!r} "
        f"has the character {char}, a look-alike from another script{where}",
        table=table.name,
        column=column,
        rows=rows,
        value=odd,
        expected=f"one spelling per label: retype {odd!r} as {other!r} (or rename one if they "
        "really are two different stages)",
    )


# ---- the history ------------------------------------------------------------------------------


@dataclass
class LazyHistory:
    """A stage history on another engine, validated: its lazy frame has columns ``d`` (deal id,
    cleaned), ``c`` (stage code: 0..k-1 open, k Won, k+1 Lost), ``t`` (the instant entered as an
    integer key, ``0`` = the earliest), ``day`` (whole day number since 1970-01-01) and ``o``
    (the ordering column, when there is one); plus ``amount``/``close_date`` when the history
    carries them."""

    lf: Any
    table: _Lazy
    stages: StageList
    columns: dict[str, str]
    notes: list[str]
    unit_day: bool  # t counts days (a date column) rather than microseconds
    t_min: int  # the key of the earliest instant (t = key - t_min)
    day_min: int
    day_max: int
    rows: int
    name: str = "history"
    inferred: ReachPatterns | None = field(default=None, repr=False)
    #: Text ids not yet known to be clean (cleaning them row by row is costly: it is checked per
    #: distinct id first, see :meth:`ensure_clean_ids`).
    ids_unchecked: bool = False

    def ensure_clean_ids(self) -> None:
        """Make sure the ids are the pandas path's: checked per distinct id; only when some id
        differs once cleaned (spaces, invisible characters) are the rows' ids cleaned."""
        if not self.ids_unchecked:
            return
        nw = _narwhals()
        ids = self.lf.select("d").unique()
        dirty = _collect(ids.filter(_dirty(nw, nw.col("d"))).select(nw.len().alias("n")))
        if int(dirty["n"].iloc[0]):
            self.clean_ids()
        self.ids_unchecked = False

    def clean_ids(self) -> None:
        """Clean the ids row by row (some need it); a blank one is an error."""
        nw = _narwhals()
        self.lf = self.lf.with_columns(_clean_text(nw, nw.col("d")).alias("d"))
        self.ids_unchecked = False
        blank = _collect(self.lf.select(nw.col("d").is_null().cast(nw.Int64).sum().alias("n")))
        if int(blank["n"].iloc[0]):
            rows, where = _where(self.table, self.lf, nw.col("d").is_null(), None)
            raise PipesheetError(
                f"deal id is blank{where}",
                table=self.name,
                column=self.columns["deal_id"],
                rows=rows,
                expected="the id of a deal",
            )

    @property
    def backend(self) -> str:
        return self.table.backend

    @property
    def ordered(self) -> bool:
        """True when rows of one deal at one instant have an order (an ordering column)."""
        return self.table.order is not None

    @property
    def t_span(self) -> int:
        """The largest ``t`` (the history's span in key units)."""
        per_day = 1 if self.unit_day else _US_PER_DAY
        return (self.day_max - self.day_min + 1) * per_day

    def cut(self, day: int) -> int:
        """The key of the first instant after day ``day`` (rows with t below it are known)."""
        per_day = 1 if self.unit_day else _US_PER_DAY
        return (day + 1) * per_day - self.t_min


def lazy_history(
    history: Any,
    *,
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
    order_by: str | None = None,
    won: tuple[str, ...] = DEFAULT_WON,
    lost: tuple[str, ...] = DEFAULT_LOST,
    name: str = "history",
    dayfirst: bool | None = None,
) -> LazyHistory:
    """Validate a stage history held by another engine (see the module docstring): the same
    checks and the same stage list as :func:`pipesheet.tables.read_history`, computed on the
    distinct values."""
    nw = _narwhals()
    table = _open(history, name, order_by)
    cols = resolve_columns(
        _header_table(table),
        HISTORY_FIELDS,
        ("deal_id", "stage", "entered_date"),
        table_name=name,
        mapping=mapping_only(columns, ("deal_id", "stage", "entered_date", "amount")),
    )
    schema = table.lf.collect_schema()
    notes: list[str] = []
    id_col, stage_col, date_col = cols["deal_id"], cols["stage"], cols["entered_date"]
    key, unit_day = _date_key(table, date_col, dayfirst)
    lf = table.lf.with_columns(
        _clean_id(nw, id_col, schema[id_col], text=False).alias("d"),
        key.alias("__key"),
    )
    stats = _collect(
        lf.select(
            nw.len().alias("rows"),
            nw.col("d").is_null().cast(nw.Int64).sum().alias("blank_ids"),
            nw.col("__key").is_null().cast(nw.Int64).sum().alias("blank_dates"),
            nw.col("__key").min().alias("kmin"),
            nw.col("__key").max().alias("kmax"),
        )
    ).iloc[0]
    if int(stats["rows"]) == 0:
        raise PipesheetError(
            "the table is empty", table=name, expected="a header row and at least one data row"
        )
    if int(stats["blank_ids"]):
        rows, where = _where(table, lf, nw.col("d").is_null(), None)
        raise PipesheetError(
            f"deal id is blank ({int(stats['blank_ids'])} row(s)){where}",
            table=name,
            column=id_col,
            rows=rows,
            expected="the id of a deal",
        )
    if int(stats["blank_dates"]):
        rows, where = _where(table, lf, nw.col("__key").is_null(), "d")
        raise PipesheetError(
            f"date is blank{where}",
            table=name,
            column=date_col,
            rows=rows,
            expected="a date such as 2026-09-30",
        )
    kmin, kmax = int(stats["kmin"]), int(stats["kmax"])
    per_day = 1 if unit_day else _US_PER_DAY
    lo_day, hi_day = kmin // per_day, kmax // per_day
    limits = (_day(DATE_MIN), _day(DATE_MAX))
    for day in (lo_day, hi_day):
        if not limits[0] <= day <= limits[1]:
            bad = day * per_day
            cond = (nw.col("__key") < limits[0] * per_day) | (
                nw.col("__key") >= (limits[1] + 1) * per_day
            )
            rows, where = _where(table, lf, cond, "d")
            raise PipesheetError(
                f"date outside the supported range {DATE_RANGE_TEXT}{where}",
                table=name,
                column=date_col,
                rows=rows,
                value=str(np.datetime64(int(bad), "D" if unit_day else "us")),
                expected="a date in that range",
            )
    # the labels: distinct values folded here, with the pandas path's rules
    first = [nw.col(table.order).min().alias("__first")] if table.order else []
    distinct = _distinct(table.lf, stage_col, first)
    labels = distinct[stage_col].tolist()
    firsts = distinct["__first"].tolist() if first else [None] * len(labels)
    labels, keys = _fold_labels(labels, firsts, distinct["__n"].tolist())
    _check_confusable_labels(table, table.lf, stage_col, labels)
    provisional = None
    if stages is None:
        stages, provisional = _provisional(labels, keys, won, lost)
    codes = _label_codes(table, lf, stage_col, labels, stages)
    lf = lf.with_columns(
        _codes_expr(nw, stage_col, labels, codes).alias("c"),
        (nw.col("__key") - kmin).alias("t"),
        (nw.col("__key") if unit_day else nw.col("__key") // per_day).alias("day"),
    )
    select = ["d", "c", "t", "day"]
    if table.order is not None:
        lf = lf.with_columns(nw.col(table.order).alias("o"))
        select.append("o")
    taken = {h for f, h in cols.items() if f != "amount"}
    rest = pd.DataFrame(columns=[h for h in table.headers if h not in taken])
    more = resolve_columns(
        rest,
        {"amount": HISTORY_FIELDS.get("amount", ("amount",)), "close_date": HISTORY_CLOSE_ALIASES},
        (),
        table_name=name,
    )
    for fld in ("amount", "close_date"):
        header = cols.get(fld) or more.get(fld)
        if header is not None:
            cols[fld] = header
            lf = lf.with_columns(nw.col(header).alias(fld))
            select.append(fld)
    if table.rows_known:
        select.append(_ROW)
    lf = lf.select(*select)
    hist = LazyHistory(
        lf,
        table,
        stages,
        dict(cols),
        notes,
        unit_day,
        kmin,
        lo_day,
        hi_day,
        int(stats["rows"]),
        name,
        ids_unchecked=schema[id_col] == nw.String,
    )
    if provisional is not None:
        patterns = reach_patterns(hist, None, infer=len(provisional[0]))
        order = order_from_pairs(patterns.before, patterns.first_reached)
        open_names = [provisional[0][s] for s in order]
        stages = StageList(
            tuple(open_names),
            tuple(won),
            tuple(lost),
            "inferred from the history (first-entry order)",
        )
        remap = np.empty(len(order) + 2, dtype=np.int64)
        remap[np.asarray(order)] = np.arange(len(order))
        remap[len(order)], remap[len(order) + 1] = len(order), len(order) + 1
        hist.lf = hist.lf.with_columns(
            _codes_expr(nw, "c", list(range(len(remap))), remap.tolist()).alias("c")
        )
        hist.stages = stages
        hist.inferred = patterns.renumbered(remap)
        notes.append(f"stage order {stages.source}: " + " → ".join(stages.open))
    code_of = [stages.code(u) if k else -2 for u, k in zip(labels, keys, strict=True)]
    if not any(c >= stages.k for c in code_of):
        notes.append(no_closed_label_message(labels, "history"))
    return hist


def labels_present(labels: list[Any]) -> list[Any]:
    """The non-blank labels (the keys of the label → code mapping)."""
    return [u for u in labels if _present(u)]


def codes_present(labels: list[Any], codes: list[int]) -> list[int]:
    return [c for u, c in zip(labels, codes, strict=True) if _present(u)]


def _day(stamp: pd.Timestamp) -> int:
    return int(stamp.to_datetime64().astype("datetime64[D]").astype(np.int64))


def _provisional(
    labels: list[Any], keys: list[str], won: tuple[str, ...], lost: tuple[str, ...]
) -> tuple[StageList, tuple[list[str], dict[str, int]]]:
    """Before the order is known: the open stages in order of first appearance, each label's
    provisional code (open j, m = Won, m+1 = Lost)."""
    matcher = terminal_matcher(won, lost)
    display: dict[str, str] = {}
    for label, key in zip(labels, keys, strict=True):
        if key:
            display.setdefault(key, " ".join(INVISIBLE.sub("", str(label)).split()))
    open_keys = [k for k in display if matcher.match(k) < 0]
    if not open_keys:
        raise PipesheetError(
            "no open stages found in the history",
            table="history",
            column="stage",
            expected="rows for open stages, not only Won/Lost",
        )
    names = [display[k] for k in open_keys]
    stages = StageList(tuple(names), tuple(won), tuple(lost), "provisional")
    return stages, (names, {k: i for i, k in enumerate(open_keys)})


def _label_codes(
    table: _Lazy,
    lf: Any,
    column: str,
    labels: list[Any],
    stages: StageList,
) -> list[int]:
    """Each distinct label's code; a blank or unknown label is an error naming its rows."""
    nw = _narwhals()
    codes = [stages.code(u) if _present(u) and stage_key(u) else -2 for u in labels]
    blank = [u for u, c in zip(labels, codes, strict=True) if c == -2]
    if blank:
        cond = nw.col(column).is_null()
        texts = [u for u in blank if _present(u)]
        if texts:
            cond = cond | nw.col(column).is_in(texts)
        rows, where = _where(table, lf, cond, "d")
        raise PipesheetError(
            f"stage is blank{where}",
            table=table.name,
            column=column,
            rows=rows,
            expected="a stage name",
        )
    unknown = [u for u, c in zip(labels, codes, strict=True) if c == -1]
    if unknown:
        value = unknown[0]
        suggestion = stages.suggest(value)
        hint = f" (did you mean {suggestion!r}?)" if suggestion else ""
        rows, where = _where(table, lf, nw.col(column) == value, "d")
        raise PipesheetError(
            f"unknown stage{hint}{where}",
            table=table.name,
            column=column,
            rows=rows,
            value=value,
            expected="one of " + ", ".join([*stages.open, stages.won_label, stages.lost_label]),
        )
    return codes


# ---- the deals table --------------------------------------------------------------------------


@dataclass
class LazyDeals:
    """A deals table on another engine, validated: its lazy frame has columns ``d`` (deal id,
    cleaned), ``c`` (stage code) and the optional fields under their field names (as given)."""

    lf: Any
    table: _Lazy
    stages: StageList
    columns: dict[str, str]
    notes: list[str]
    rows: int
    name: str = "deals"
    raw: Any = None  # the table as given, with the cleaned id ``d``


def lazy_deals(
    deals: Any,
    *,
    stages: StageList | None,
    columns: Mapping[str, str] | None = None,
    name: str = "deals",
    notes: list[str] | None = None,
) -> LazyDeals:
    """Validate a deals table held by another engine: ids present and unique, stages known.
    Without ``stages`` (a money figure's deals alone) the open stages are those of the table in
    order of first appearance (refined by :func:`money_cells` as the pandas reader does)."""
    nw = _narwhals()
    table = _open(deals, name)
    cols = resolve_columns(
        _header_table(table), DEAL_FIELDS, ("deal_id", "stage"), table_name=name, mapping=columns
    )
    for fld, what in (("pipeline", "several pipelines"), ("override", "probability overrides")):
        if fld in cols:
            raise PipesheetError(
                f"{what} are computed on pandas frames only: this {type(deals).__name__} deals "
                f"table has a {fld} column",
                table=name,
                column=cols[fld],
                expected="a pandas frame (e.g. .to_pandas()) for a deals table with "
                "pipelines or overrides — it is one row per deal, small enough for memory",
            )
    schema = table.lf.collect_schema()
    lf = table.lf.with_columns(_clean_id(nw, cols["deal_id"], schema[cols["deal_id"]]).alias("d"))
    stats = _collect(
        lf.select(
            nw.len().alias("rows"),
            nw.col("d").is_null().cast(nw.Int64).sum().alias("blank"),
            nw.col("d").n_unique().alias("ids"),
        )
    ).iloc[0]
    if int(stats["blank"]):
        rows, where = _where(table, lf, nw.col("d").is_null(), None)
        raise PipesheetError(
            f"deal id is blank{where}",
            table=name,
            column=cols["deal_id"],
            rows=rows,
            expected="a unique id per deal",
        )
    n_rows = int(stats["rows"])
    if int(stats["ids"]) != n_rows:
        dup = _collect(lf.group_by("d").agg(nw.len().alias("n")).filter(nw.col("n") > 1).head(1))
        first = dup["d"].iloc[0]
        rows, where = _where(table, lf, nw.col("d") == first, None)
        raise PipesheetError(
            f"deal id appears more than once ({n_rows - int(stats['ids'])} extra row(s)){where}",
            table=name,
            column=cols["deal_id"],
            rows=rows,
            value=first,
            expected="one row per deal (a stage history goes in its own table)",
        )
    first = [nw.col(table.order).min().alias("__first")] if table.order else []
    distinct = _distinct(table.lf, cols["stage"], first)
    labels = distinct[cols["stage"]].tolist()
    firsts = distinct["__first"].tolist() if first else [None] * len(labels)
    labels, _ = _fold_labels(labels, firsts, distinct["__n"].tolist())
    _check_confusable_labels(table, table.lf, cols["stage"], labels)
    if stages is None:
        from pipesheet.tables import _infer_deal_stages

        stages = _infer_deal_stages(pd.Series(labels, dtype=object), None, [])
    codes = _label_codes(table, lf, cols["stage"], labels, stages)
    lf = lf.with_columns(_codes_expr(nw, cols["stage"], labels, codes).alias("c"))
    keep = ["d", "c", *(_ROW for _ in [0] if table.rows_known)]
    for fld, header in cols.items():
        if fld not in ("deal_id", "stage"):
            lf = lf.with_columns(nw.col(header).alias(fld))
            keep.append(fld)
    raw = (
        table.lf.with_columns(nw.col(cols["deal_id"]).alias("__id"))
        .with_columns(_clean_id(nw, "__id", schema[cols["deal_id"]]).alias("d"))
        .drop("__id")
    )
    return LazyDeals(lf.select(*keep), table, stages, dict(cols), notes or [], n_rows, name, raw)


def deals_of(deals: LazyDeals, ids: Any) -> pd.DataFrame:
    """The deals table's rows (as given) of the deals in ``ids`` (a lazy frame with a ``d``
    column), as a pandas frame for the pandas reader: index = spreadsheet row (eager frames),
    else in deal id order."""
    nw = _narwhals()
    got = _collect(deals.raw.join(ids.select("d").unique(), on="d", how="semi"))
    if _ROW in got:
        got = got.sort_values(_ROW, kind="stable")
        got.index = pd.Index(got.pop(_ROW).to_numpy(dtype=np.int64), name="row")
    else:
        got = got.sort_values("d", kind="stable").reset_index(drop=True)
    got.attrs["deal_ids"] = got.pop("d").to_numpy(dtype=object)
    del nw
    return got


def without_rows(err: PipesheetError, raw: pd.DataFrame, deals: LazyDeals) -> PipesheetError:
    """An error of the pandas reader on rows collected from a lazy frame, with the deal ids in
    place of row numbers it cannot know (eager frames keep their rows)."""
    if deals.table.rows_known or not err.rows:
        return err
    ids = raw.attrs.get("deal_ids")
    named = []
    if ids is not None:
        for r in err.rows[:5]:
            if 2 <= r < 2 + len(ids):
                named.append(repr(clean_text(ids[r - 2])))
    where = (
        f" (deal id(s) {', '.join(named)}; a {deals.table.backend} frame has no spreadsheet row "
        "numbers)"
        if named
        else ""
    )
    return PipesheetError(
        err.problem + where,
        table=err.table,
        column=err.column,
        value=err.value,
        expected=err.expected,
    )


def check_history_in_deals(hist: LazyHistory, deals: LazyDeals) -> list[str]:
    """Every history deal must be in the deals table (as the pandas path requires); the notes
    on deals without history."""
    nw = _narwhals()
    hist.ensure_clean_ids()
    h_ids = hist.lf.select("d").unique()
    d_ids = deals.lf.select("d")
    missing = h_ids.join(d_ids, on="d", how="anti")
    sample = _collect(missing.head(1))
    if len(sample):
        value = sample["d"].iloc[0]
        rows, where = _where(hist.table, hist.lf, nw.col("d") == value, None)
        raise PipesheetError(
            f"history rows for a deal that is not in the deals table{where}",
            table=hist.name,
            column=hist.columns["deal_id"],
            rows=rows,
            value=value,
            expected="deal ids that appear in table " + repr(deals.name),
        )
    return []


def deals_without_history(
    hist: LazyHistory, deals: LazyDeals, cut: int | None = None, *, open_only: bool = False
) -> int:
    """How many deals of the table (the open ones only, with ``open_only``) have no history row
    (known by ``cut``, when given)."""
    nw = _narwhals()
    d = deals.lf.filter(nw.col("c") < deals.stages.k) if open_only else deals.lf
    h = hist.lf if cut is None else hist.lf.filter(nw.col("t") < cut)
    out = d.select("d").join(h.select("d").unique(), on="d", how="anti")
    return int(_collect(out.select(nw.len().alias("n")))["n"].iloc[0])


def group_values(deals: LazyDeals, field_name: str) -> Any:
    """The deals' ``(d, g)`` frame of a group field (raw values; folded locally)."""
    nw = _narwhals()
    return deals.lf.select("d", nw.col(field_name).alias("g"))


def fold_groups(raw: Sequence[Any]) -> tuple[np.ndarray, list[str]]:
    """Raw group values → (code per value, sorted names), as the pandas path names groups:
    clean text, ``(blank)`` for none, sorted."""
    cleaned = [clean_text(v) if _present(v) else None for v in raw]
    names = sorted({c if c is not None else "(blank)" for c in cleaned})
    where = {n: i for i, n in enumerate(names)}
    codes = np.array([where[c if c is not None else "(blank)"] for c in cleaned], dtype=np.int64)
    return codes, names


# ---- reach patterns (cohort) ------------------------------------------------------------------


@dataclass
class ReachPatterns:
    """Deals counted by pattern: ``count[i]`` deals of group ``group[i]`` ended (as of the cut)
    at stage code ``final[i]`` and reached the open stages of ``reached[i]`` (bool, per stage).

    ``before[a, b]`` (when asked for) counts the deals that reached both a and b and first
    entered a before b; ``first_reached[a]`` the deals that reached a.
    """

    count: np.ndarray
    final: np.ndarray
    reached: np.ndarray
    group: np.ndarray
    group_names: list[str] | None
    before: np.ndarray | None = None
    first_reached: np.ndarray | None = None

    def renumbered(self, remap: np.ndarray) -> ReachPatterns:
        """The same counts with stage code s renamed remap[s] (open stages reordered)."""
        k = self.reached.shape[1]
        reached = np.zeros_like(self.reached)
        reached[:, remap[:k]] = self.reached
        return ReachPatterns(self.count, remap[self.final], reached, self.group, self.group_names)


def _bits(n: int, width: int = 62) -> list[list[int]]:
    return [list(range(i, min(i + width, n))) for i in range(0, n, width)]


def reach_patterns(
    hist: LazyHistory,
    cut: int | None,
    *,
    infer: int = 0,
    groups: Any = None,
    key: str = "t",
) -> ReachPatterns:
    """Count deals by (group, final stage, reached stages) — see :class:`ReachPatterns` — from
    the rows known by ``cut`` (a key from :meth:`LazyHistory.cut`; None: every row).

    One aggregation by deal, then one by pattern, on the frame's engine. The final stage is the
    code of the deal's latest row (date, then the ordering column); when two rows of a deal share
    the latest instant at different stages and the frame has no ordering column, that is an
    error. ``infer`` = m: the codes are provisional (m open stages) and the first-entry order is
    counted too (for :func:`pipesheet.stages.order_from_pairs`). ``groups``: a lazy ``(d, g)``
    frame of the deals' group values.
    """
    nw = _narwhals()
    k = infer or hist.stages.k
    big = k + 2
    lf = hist.lf if cut is None else hist.lf.filter(nw.col("t") < cut)
    if key == "pos":
        lf = lf.with_columns(
            (nw.col("c") * 0 + 1).cum_sum().over("d", order_by=["t", "o"]).alias("pos")
        )
    t, c = nw.col(key), nw.col("c")
    span = hist.rows if key == "pos" else hist.t_span
    if span * big >= 2**62:
        if key != "pos" and hist.ordered:
            return reach_patterns(hist, cut, infer=infer, groups=groups, key="pos")
        raise PipesheetError(  # pragma: no cover - 2**62 / 512 µs is 285 years
            "too many stages to order the history's instants on this engine",
            table=hist.name,
            expected="fewer stages, or a date column (days) instead of date and time",
        )
    first_cols = [nw.when(c == s).then(t).otherwise(None).alias(f"f{s}") for s in range(k)]
    rows = lf.with_columns(
        (t * big + c).alias("hi"), (t * big + (big - 1 - c)).alias("lo"), *first_cols
    )
    per = rows.group_by("d").agg(
        nw.col("hi").max(), nw.col("lo").max(), *[nw.col(f"f{s}").min() for s in range(k)]
    )
    if groups is not None:
        per = per.join(groups, on="d", how="left")
    f = [nw.col(f"f{s}") for s in range(k)]
    exprs = [
        (nw.col("hi") % big).alias("final"),
        ((big - 1) - nw.col("lo") % big).alias("final_low"),
        (_dirty(nw, nw.col("d")) if hist.ids_unchecked else nw.lit(False)).alias("dirty"),
    ]
    for chunk_i, chunk in enumerate(_bits(k)):
        exprs.append(
            functools.reduce(
                lambda a, b: a + b,
                [
                    nw.when(f[s].is_null())
                    .then(nw.lit(0, nw.Int64))
                    .otherwise(nw.lit(1 << (s - chunk[0]), nw.Int64))
                    for s in chunk
                ],
            ).alias(f"mask{chunk_i}")
        )
    pairs = [(a, b) for a in range(k) for b in range(a + 1, k)] if infer else []
    for chunk_i, chunk in enumerate(_bits(len(pairs))):
        exprs.append(
            functools.reduce(
                lambda x, y: x + y,
                [
                    nw.when(f[pairs[p][0]] < f[pairs[p][1]])
                    .then(nw.lit(1 << (p - chunk[0]), nw.Int64))
                    .otherwise(nw.lit(0, nw.Int64))
                    for p in chunk
                ],
            ).alias(f"lt{chunk_i}")
        )
    if pairs:
        exprs.append(
            functools.reduce(
                lambda x, y: x + y,
                [
                    nw.when(f[a] == f[b]).then(nw.lit(1, nw.Int64)).otherwise(nw.lit(0, nw.Int64))
                    for a, b in pairs
                ],
            ).alias("eq")
        )
    else:
        exprs.append(nw.lit(0, nw.Int64).alias("eq"))
    shaped = per.with_columns(*exprs)
    keys = [c_ for c_ in shaped.collect_schema().names() if c_ in ("g",)]
    keys += ["final", "final_low", *[f"mask{i}" for i in range(len(_bits(k)))]]
    keys += [f"lt{i}" for i in range(len(_bits(len(pairs))))]
    out = _collect(
        shaped.with_columns((nw.col("eq") > 0).alias("eq"))
        .group_by(*keys, "eq", "dirty")
        .agg(nw.len().alias("n"))
    )
    if hist.ids_unchecked:  # checked per deal on the way: clean them only if some need it
        if out["dirty"].astype(bool).any():
            hist.clean_ids()
            return reach_patterns(hist, cut, infer=infer, groups=groups, key=key)
        hist.ids_unchecked = False
    tie = (out["final"] != out["final_low"]).to_numpy() | (out["eq"].to_numpy(dtype=bool))
    if tie.any():
        if key == "t" and hist.ordered:
            return reach_patterns(hist, cut, infer=infer, groups=groups, key="pos")
        _raise_tie(hist, lf)
    return _patterns(out, k, pairs, groups is not None)


def _patterns(out: pd.DataFrame, k: int, pairs: list[tuple[int, int]], grouped: bool):
    count = out["n"].to_numpy(dtype=np.int64)
    reached = np.zeros((len(out), k), dtype=bool)
    for i, chunk in enumerate(_bits(k)):
        mask = out[f"mask{i}"].to_numpy(dtype=np.int64)
        for j, s in enumerate(chunk):
            reached[:, s] = (mask >> j) & 1 == 1
    final = out["final"].to_numpy(dtype=np.int64)
    group = np.zeros(len(out), dtype=np.int64)
    names = None
    if grouped:
        raw = out["g"].tolist()
        uniq = list(dict.fromkeys(raw))
        codes, names = fold_groups(uniq)
        where = {id(u) if not _hashable(u) else u: i for i, u in enumerate(uniq)}
        group = np.array([codes[where[u]] for u in raw], dtype=np.int64)
    patterns = ReachPatterns(count, final, reached, group, names)
    if pairs:
        before = np.zeros((k, k))
        for i, chunk in enumerate(_bits(len(pairs))):
            lt = out[f"lt{i}"].to_numpy(dtype=np.int64)
            for j, p in enumerate(chunk):
                a, b = pairs[p]
                first = ((lt >> j) & 1 == 1).astype(float)
                both = (reached[:, a] & reached[:, b]).astype(float)
                before[a, b] += float(count @ (first * both))
                before[b, a] += float(count @ ((1 - first) * both))
        patterns.before = before
        patterns.first_reached = count @ reached.astype(float)
    return patterns


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _raise_tie(hist: LazyHistory, lf: Any) -> None:
    """Two rows of one deal at the same instant, at different stages, and nothing to order
    them by."""
    nw = _narwhals()
    pairs = lf.group_by("d", "t").agg(
        nw.col("c").min().alias("lo"), nw.col("c").max().alias("hi"), nw.col("day").min()
    )
    sample = _collect(pairs.filter(nw.col("lo") != nw.col("hi")).head(1))
    deal = sample["d"].iloc[0] if len(sample) else "?"
    day = str(np.datetime64(int(sample["day"].iloc[0]), "D")) if len(sample) else "the same date"
    raise PipesheetError(
        f"deal {deal!r} has rows at different stages on the same date and time ({day}), and a "
        f"{hist.backend} frame has no row order to tell which came first",
        table=hist.name,
        column=hist.columns["entered_date"],
        value=deal,
        expected="an ordering column: order_by='row' (or a column headed 'row') giving the rows' "
        "order in the export, or dates with times that differ",
    )


# ---- transitions (Markov) ---------------------------------------------------------------------


def transition_counts(hist: LazyHistory, cut: int | None, *, groups: Any = None) -> pd.DataFrame:
    """Moves between consecutive rows of a deal at different stages, counted by
    ``(g, src, dst)`` (``g`` only with ``groups``), in (date, ordering column) order."""
    nw = _narwhals()
    hist.ensure_clean_ids()
    lf = hist.lf if cut is None else hist.lf.filter(nw.col("t") < cut)
    order = ["t", "o"] if hist.ordered else ["t"]
    lf = lf.with_columns(
        nw.col("c").shift(1).over("d", order_by=order).alias("src"),
        nw.col("t").shift(1).over("d", order_by=order).alias("t0"),
    )
    if groups is not None:
        lf = lf.join(groups, on="d", how="left")
    moved = lf.filter(~nw.col("src").is_null() & (nw.col("src") != nw.col("c")))
    if not hist.ordered:
        tie = _collect(moved.filter(nw.col("t0") == nw.col("t")).select(nw.len().alias("n")))
        if int(tie["n"].iloc[0]):
            _raise_tie(hist, lf)
    keys = ["g", "src", "c"] if groups is not None else ["src", "c"]
    out = _collect(moved.group_by(*keys).agg(nw.len().alias("n")))
    return out.rename(columns={"c": "dst"})


# ---- visits (time-aware) ----------------------------------------------------------------------


@dataclass
class VisitCounts:
    """First visits to each open stage, counted by (stage, stay, time, outcome[, start]) — see
    :func:`pipesheet.timeaware._visits` — and the deals open at the cut with their stage and the
    day their current visit began."""

    stage: np.ndarray
    stay: np.ndarray
    time: np.ndarray
    outcome: np.ndarray
    start: np.ndarray | None
    count: np.ndarray
    open_ids: np.ndarray
    open_code: np.ndarray
    open_entry: np.ndarray
    opened: Any = None  # the open deals as a lazy frame (column d)
    extras: dict[str, np.ndarray] = field(default_factory=dict)


def visit_counts(hist: LazyHistory, cut_day: int, *, by_start: bool = False) -> VisitCounts:
    """:class:`VisitCounts` as known at the end of day ``cut_day``, on the frame's engine."""
    nw = _narwhals()
    hist.ensure_clean_ids()
    k = hist.stages.k
    lf = hist.lf
    if _ROW in lf.collect_schema().names():  # the pandas path numbers deals by first row
        lf = lf.with_columns(nw.col(_ROW).min().over("d").alias("__first"))
    lf = lf.filter(nw.col("t") < hist.cut(cut_day))
    order = ["t", "o"] if hist.ordered else ["t"]
    rows = lf.with_columns(
        nw.col("c").shift(1).over("d", order_by=order).alias("prev"),
        nw.col("t").shift(1).over("d", order_by=order).alias("t0"),
        nw.col("day").max().over("d").alias("last_day"),
    )
    if not hist.ordered:
        tie = _collect(
            rows.filter((nw.col("t0") == nw.col("t")) & (nw.col("prev") != nw.col("c"))).select(
                nw.len().alias("n")
            )
        )
        if int(tie["n"].iloc[0]):
            _raise_tie(hist, lf)
    starts = rows.filter(nw.col("prev").is_null() | (nw.col("prev") != nw.col("c")))
    starts = starts.with_columns(
        nw.col("day").shift(-1).over("d", order_by=order).alias("leave"),
        (nw.col("c") * 0 + 1).cum_sum().over(["d", "c"], order_by=order).alias("nth"),
    )
    starts = starts.with_columns(
        nw.when(nw.col("leave").is_null()).then(nw.col("c")).otherwise(None).alias("fin_c"),
    ).with_columns(nw.col("fin_c").max().over("d").alias("final"))
    first = starts.filter((nw.col("nth") == 1) & (nw.col("c") < k))
    won = nw.col("final") == k
    lost = nw.col("final") == k + 1
    end = nw.when(won | lost).then(nw.col("last_day")).otherwise(nw.lit(cut_day, nw.Int64))
    time = end - nw.col("day")
    time = nw.when(time < 0).then(nw.lit(0, nw.Int64)).otherwise(time)
    gone = nw.col("leave") - nw.col("day")
    gone = nw.when(gone < 0).then(nw.lit(0, nw.Int64)).otherwise(gone)
    visits = first.with_columns(
        time.alias("time"),
    ).with_columns(
        nw.when(nw.col("leave").is_null())
        .then(nw.col("time"))
        .otherwise(nw.when(gone < nw.col("time")).then(gone).otherwise(nw.col("time")))
        .alias("stay"),
        nw.when(won)
        .then(nw.lit(1, nw.Int64))
        .otherwise(nw.when(lost).then(nw.lit(2, nw.Int64)).otherwise(nw.lit(0, nw.Int64)))
        .alias("outcome"),
    )
    keys = ["c", "stay", "time", "outcome", *(["day"] if by_start else [])]
    out = _collect(visits.group_by(*keys).agg(nw.len().alias("n")))
    first_col = ["__first"] if "__first" in lf.collect_schema().names() else []
    opened_lf = starts.filter(nw.col("leave").is_null() & (nw.col("c") < k)).select(
        "d", "c", "day", *first_col
    )
    extras = []
    for fld in ("amount", "close_date"):
        if fld in hist.lf.collect_schema().names():
            known = lf.filter(~nw.col(fld).is_null())
            last = known.with_columns(
                nw.col("t").shift(-1).over("d", order_by=order).alias("__next")
            ).filter(nw.col("__next").is_null())
            opened_lf = opened_lf.join(
                last.select("d", nw.col(fld).alias(f"__{fld}")), on="d", how="left"
            )
            extras.append(fld)
    opened = _collect(opened_lf).sort_values(first_col or ["d"], kind="stable")
    return VisitCounts(
        stage=out["c"].to_numpy(dtype=np.int64),
        stay=out["stay"].to_numpy(dtype=np.int64),
        time=out["time"].to_numpy(dtype=np.int64),
        outcome=out["outcome"].to_numpy(dtype=np.int64),
        start=out["day"].to_numpy(dtype=np.int64) if by_start else None,
        count=out["n"].to_numpy(dtype=np.int64),
        open_ids=opened["d"].to_numpy(dtype=object),
        open_code=opened["c"].to_numpy(dtype=np.int64),
        open_entry=opened["day"].to_numpy(dtype=np.int64),
        opened=opened_lf,
        extras=_read_extras(hist, opened, extras),
    )


def _read_extras(hist: LazyHistory, opened: pd.DataFrame, fields: list[str]):
    """The history's latest amount / expected close date of each open deal, read by the pandas
    path's rules (:func:`pipesheet.cells.parse_amounts`, :func:`~pipesheet.cells.parse_dates`)."""
    from pipesheet.cells import parse_amounts

    out: dict[str, np.ndarray] = {}
    index = pd.RangeIndex(2, 2 + len(opened), name="row")
    for fld in fields:
        values = pd.Series(opened[f"__{fld}"].to_numpy(dtype=object), index=index, dtype=object)
        header = hist.columns.get(fld, fld)
        try:
            if fld == "amount":
                read = parse_amounts(values, table=hist.name, column=header, allow_blank=True)
                out[fld] = read.to_numpy(dtype=float)
            else:
                read = parse_dates(values, table=hist.name, column=header)
                out[fld] = read.to_numpy(dtype="datetime64[ns]")
        except PipesheetError as err:
            raise PipesheetError(
                err.problem,
                table=hist.name,
                column=header,
                value=err.value,
                expected=err.expected,
            ) from err
    return out


# ---- small questions ----------------------------------------------------------------------------


def rows_from(hist: LazyHistory, cut: int) -> int:
    """How many history rows are dated after the cut (not known then)."""
    nw = _narwhals()
    out = _collect(hist.lf.filter(nw.col("t") >= cut).select(nw.len().alias("n")))
    return int(out["n"].iloc[0])


def group_field(by: str | None, deals: LazyDeals | None) -> str | None:
    """The field of a deals table on another engine to group by (see
    :func:`pipesheet.tables.group_field`)."""
    from pipesheet.tables import TEXT_FIELDS

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
            if fld in ("deal_id", "amount"):
                break
            return "c" if fld == "stage" else fld
    raise PipesheetError(
        "cannot group by this column",
        table=deals.name,
        column=str(by),
        expected="one of the deals table's columns: "
        + ", ".join(h for f, h in deals.columns.items() if f in (*TEXT_FIELDS, "stage")),
    )


def configured_medians(deals: LazyDeals) -> dict[str, float]:
    """The median configured probability of the deals at each open stage, read as the pandas
    path reads the column (:func:`pipesheet.cells.parse_probabilities`: one scale for the
    column), from its distinct (stage, value) pairs."""
    from pipesheet.cells import parse_probabilities

    nw = _narwhals()
    k = deals.stages.k
    pairs = _collect(deals.lf.group_by("c", "probability").agg(nw.len().alias("n")))
    values = pd.Series(
        pairs["probability"].to_numpy(dtype=object),
        index=pd.RangeIndex(2, 2 + len(pairs), name="row"),
        dtype=object,
    )
    try:
        p = parse_probabilities(values, table=deals.name, column=deals.columns["probability"])
    except PipesheetError as err:
        raise PipesheetError(
            err.problem,
            table=deals.name,
            column=deals.columns["probability"],
            value=err.value,
            expected=err.expected,
        ) from err
    out: dict[str, float] = {}
    code = pairs["c"].to_numpy(dtype=np.int64)
    n = pairs["n"].to_numpy(dtype=np.int64)
    pv = p.to_numpy(dtype=float)
    for s in range(k):
        sel = (code == s) & ~np.isnan(pv)
        if sel.any():
            out[deals.stages.open[s]] = float(np.median(np.repeat(pv[sel], n[sel])))
    return out


# ---- money: the deals table summed by cell ---------------------------------------------


@dataclass
class MoneyCells:
    """A deals table on another engine summed by *cell*: deals alike in every column a money
    figure reads (stage, currency, expected close date, configured probability, the grouping
    fields, and with an as-of date the created and closed dates; and the amount itself when
    each deal's amount is needed, for a range).

    ``frame`` has those columns under the table's own headers (one row per cell, a sample deal
    id of each cell as its id and the cell's largest amount as its amount — a valid amount, so
    the pandas reader reads the cells as it reads deals); ``count``, ``amount_sum`` and
    ``amount_sq`` are the cells' deals, Σ amount and Σ amount² (blank amounts: NaN).
    """

    frame: pd.DataFrame
    count: np.ndarray
    amount_sum: np.ndarray
    amount_sq: np.ndarray
    stages: StageList
    columns: dict[str, str]
    notes: list[str]
    table: _Lazy


def money_cells(
    deals: Any,
    *,
    stages: StageList | None,
    columns: Mapping[str, str] | None,
    by: Sequence[str] = (),
    dates: bool = False,
    per_amount: bool = False,
    name: str = "deals",
) -> MoneyCells:
    """:class:`MoneyCells` of a deals table on another engine (one aggregation there)."""
    from pipesheet.cells import MAX_AMOUNT, parse_probabilities
    from pipesheet.tables import TEXT_FIELDS, _infer_deal_stages

    nw = _narwhals()
    notes: list[str] = []
    inferred = stages is None
    lazy = lazy_deals(deals, stages=stages, columns=columns, name=name, notes=notes)
    stages = lazy.stages
    cols = lazy.columns
    schema = lazy.table.lf.collect_schema()
    keys = [cols["stage"]]
    for fld in ("currency", "close_date", "probability"):
        if fld in cols:
            keys.append(cols[fld])
    if dates:
        keys += [cols[f] for f in ("created_date", "closed_date") if f in cols]
    for field_name in by:
        fld = group_field(field_name, lazy)
        if fld != "c" and cols[fld] not in keys and fld in TEXT_FIELDS:
            keys.append(cols[fld])
    raw = lazy.raw
    sums = [nw.len().alias("__n"), nw.col("d").min().alias("__id")]
    if "amount" in cols:
        header = cols["amount"]
        dtype = schema[header]
        if dtype.is_numeric():
            a = nw.col(header).cast(nw.Float64)
            blank = a.is_null() | a.is_nan() if dtype.is_float() else a.is_null()
        else:  # text amounts: read here per distinct value, by the pandas path's rule
            a = _text_amounts(lazy, header)
            blank = a.is_null()
        raw = raw.with_columns(
            nw.when(blank).then(None).otherwise(a).alias("__a"), blank.alias("__blank")
        )
        stats = _collect(
            raw.select(nw.col("__a").min().alias("lo"), nw.col("__a").max().alias("hi"))
        )
        lo, hi = stats["lo"].iloc[0], stats["hi"].iloc[0]
        for bad, problem, cond in (
            (
                lo is not None and not pd.isna(lo) and lo < 0,
                "amount is negative",
                nw.col("__a") < 0,
            ),
            (
                hi is not None and not pd.isna(hi) and not hi <= MAX_AMOUNT,
                "amount is too large",
                nw.col("__a") > MAX_AMOUNT,
            ),
        ):
            if bad:
                rows, where = _where(lazy.table, raw, cond, "d")
                raise PipesheetError(
                    problem + where,
                    table=name,
                    column=header,
                    rows=rows,
                    value=float(lo if problem.endswith("negative") else hi),
                    expected="a non-negative number of at most 1e+15",
                )
        keys.append("__blank")
        if per_amount:
            keys.append("__a")
        sums += [
            nw.col("__a").sum().alias("__sum"),
            (nw.col("__a") * nw.col("__a")).sum().alias("__sq"),
            nw.col("__a").max().alias("__max"),
        ]
    first = [nw.col(lazy.table.order).min().alias("__first")] if lazy.table.order else []
    out = _collect(raw.group_by(*keys).agg(*sums, *first))
    if first:
        out = out.sort_values(["__first", "__id"], kind="stable").reset_index(drop=True)
    else:
        out = out.sort_values("__id", kind="stable").reset_index(drop=True)
    count = out.pop("__n").to_numpy(dtype=np.int64)
    if "amount" in cols:
        blank = out.pop("__blank").to_numpy(dtype=bool)
        amount_sum = np.where(blank, np.nan, out.pop("__sum").to_numpy(dtype=float))
        amount_sq = np.where(blank, np.nan, out.pop("__sq").to_numpy(dtype=float))
        out[cols["amount"]] = np.where(blank, np.nan, out.pop("__max").to_numpy(dtype=float))
        out.pop("__a") if "__a" in out else None
    else:
        amount_sum = amount_sq = np.full(len(out), np.nan)
    out[cols["deal_id"]] = out.pop("__id")
    out.pop("__first") if "__first" in out else None
    if inferred:
        labels = pd.Series(np.repeat(out[cols["stage"]].to_numpy(dtype=object), count))
        probability = None
        if "probability" in cols:
            values = pd.Series(out[cols["probability"]].to_numpy(dtype=object), dtype=object)
            probability = pd.Series(
                np.repeat(
                    parse_probabilities(values, table=name, column=cols["probability"]).to_numpy(
                        dtype=float
                    ),
                    count,
                )
            )
        stages = _infer_deal_stages(labels, probability, notes)
    out.index = pd.RangeIndex(2, 2 + len(out), name="row")
    return MoneyCells(out, count, amount_sum, amount_sq, stages, dict(cols), notes, lazy.table)


def _text_amounts(lazy: LazyDeals, header: str) -> Any:
    """A text amount column read per distinct value (:func:`pipesheet.cells.parse_amounts`:
    one decimal mark for the column) and mapped back as numbers."""
    from pipesheet.cells import parse_amounts

    nw = _narwhals()
    raw = _distinct(lazy.table.lf, header)[header]
    if len(raw) > LAZY_TEXT_DATES:
        raise PipesheetError(
            f"{len(raw):,} distinct text amounts: too many to read one by one",
            table=lazy.name,
            column=header,
            expected=f"a numeric amount column in the {lazy.table.backend} frame (cast it there)",
        )
    values = pd.Series(
        raw.to_numpy(dtype=object), index=pd.RangeIndex(2, 2 + len(raw), name="row"), dtype=object
    )
    try:
        read = parse_amounts(values, table=lazy.name, column=header, allow_blank=True)
    except PipesheetError as err:
        rows, where = _where(lazy.table, lazy.raw, nw.col(header) == err.value, "d")
        raise PipesheetError(
            err.problem + where,
            table=lazy.name,
            column=header,
            rows=rows,
            value=err.value,
            expected=err.expected,
        ) from err
    known = read.notna().to_numpy()
    old = [v for v, ok in zip(raw.tolist(), known, strict=True) if ok]
    new = read.to_numpy()[known].tolist()
    return nw.col(header).replace_strict(old, new, default=None, return_dtype=nw.Float64)


def cells_error(err: PipesheetError, cells: MoneyCells) -> PipesheetError:
    """An error of the pandas reader on the cells, naming sample deal ids for the cell rows it
    cannot point at."""
    if not err.rows:
        return err
    ids = cells.frame[cells.columns["deal_id"]].to_numpy(dtype=object)
    named = [repr(clean_text(ids[r - 2])) for r in err.rows[:5] if 2 <= r < 2 + len(ids)]
    where = (
        f" (e.g. deal id(s) {', '.join(named)}; the {cells.table.backend} frame was summed "
        "where it is, so rows are not numbered)"
        if named
        else ""
    )
    return PipesheetError(
        err.problem + where,
        table=err.table,
        column=err.column,
        value=err.value,
        expected=err.expected,
    )
