"""Quota tables: a quota per owner, team, country or segment and period, rolled up a hierarchy.

A **quota table** has one row per group and period: the group (owner, team, country, segment…
— any column of the deals table, or a level of the hierarchy), the period (a label such as
``2026-Q3``, ``2026-07``, ``2026``, ``2026-H2``, ``FY2027-Q1``, or start and end date columns)
and the quota (an amount, read by the one rule for amounts in cells, in the reporting currency).
A group listed twice for the same period is refused, naming both rows.

For each row, over the deals of its group, priced by :func:`pipesheet.pricing.price_deals` with
the row's period as the window (the same priced deals as :func:`pipesheet.weighted_forecast`):

    closed    = Σ amount of the won deals closed in the period by the as-of date
    expected  = Σ amount · p of the open deals expected to close in the period (weighted)
    gap       = quota − closed − expected
    coverage  = open pipeline in the period ÷ (quota − closed)          (∞ when the quota is met)
    p_quota   = P(closed + S ≥ quota),  S = Σ amount_d · Bernoulli(p_d) over the row's open deals
    new_leads, leads_per_week = the quota gap's arithmetic (:func:`pipesheet.quota_gap`) on the
                row's quota, closed and expected: ⌈max(gap, 0) / A⌉ won deals, ÷ lead-to-win rate,
                over (period end − as-of − cycle) / 7 weeks

A, the lead-to-win rate and the cycle are the team's (every deal's), not the row's: an owner with
two won deals has no average of their own worth planning on.  A is the mean won deal, the
lead-to-win rate the win probability of the first stage
(:func:`pipesheet.planning.lead_to_win_rate`), the cycle the mean days from created to won —
each can be given instead.

**Hierarchy** (owner → team → region): a table whose columns are the levels, finest first, one row
per member of the finest level (``Owner, Team, Region``).  The deals are matched on its first
column; the quota rows on the column named by ``by``; each level above it rolls up **by exact
sums**: quota, closed, expected, gap and open pipeline of a team are the sums, in whole cents, of
its rows' figures (each row's figures are rounded to the cent once, then summed as integers, so
a team's figures are exactly the sum of the figures shown for its members: 0.10 + 0.20 = 0.30).
A team's P(≥ quota) is **not** a sum of probabilities: it is P(closed + S ≥ quota) over the
team's own deals — the deals of its members' rows — with the team's quota and closed.  A
``Total`` row per period sums the top level the same way when it has several rows.

Deals of groups without a quota row are in no row (a note counts them); a quota row whose group
has no deal is computed (closed and expected 0) and named in a note — a misspelt name, perhaps.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.base import Result, note_is, plain_number
from pipesheet.cells import DATE_MAX, DATE_MIN, clean_text_column, parse_amounts, parse_dates
from pipesheet.columns import DEAL_FIELDS, normalise_header, resolve_columns
from pipesheet.errors import PipesheetError
from pipesheet.forecast import pipeline_position
from pipesheet.formats import format_number, format_percent
from pipesheet.headings import heading, headings
from pipesheet.i18n import N_, _, pgettext
from pipesheet.periods import fiscal_year_month, read_date_setting
from pipesheet.planning import coverage_ratio, quota_gap
from pipesheet.planning import lead_to_win_rate as first_stage_rate
from pipesheet.pricing import Probabilities, Rates, price_deals
from pipesheet.stages import StageList, stage_key
from pipesheet.tables import Deals, check_table, date_order_of, group_field, row_numbers

__all__ = [
    "QUOTA_COLUMNS",
    "QuotaTableResult",
    "period_window",
    "quota_table",
    "read_hierarchy",
    "read_quotas",
]

#: The quota table's columns (aliases compared as headers are); the group column is named by
#: ``by`` (or is the one other column).
QUOTA_FIELDS: dict[str, tuple[str, ...]] = {
    "quota": ("quota", "target", "quota_amount", "sales_quota", "goal", "amount"),
    "period": ("period", "quota_period", "fiscal_period", "quarter", "month"),
    "start": ("start", "period_start", "start_date", "from_date", "valid_from"),
    "end": ("end", "period_end", "end_date", "to_date", "valid_to"),
}
#: The columns of :meth:`QuotaTableResult.to_frame`, in order.
QUOTA_COLUMNS = (
    "period",
    "start",
    "end",
    "level",
    "name",
    "parent",
    "quota",
    "closed",
    "expected",
    "gap",
    "pipeline",
    "coverage",
    "p_quota",
    "new_leads",
    "leads_per_week",
    "open_deals",
    "won_deals",
)
TOTAL = "Total"
_PERIOD_EXPECTED = N_(
    "a period label such as 2026-Q3, 2026-07, Jul 2026, 2026, 2026-H2 or FY2027-Q1 (or start "
    "and end date columns)"
)
_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for name in names
}


# ---- period labels ---------------------------------------------------------------------------
def period_window(label: Any, fiscal_year_start: int = 1) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day of the period a label names.

    ``2026`` (a year), ``2026-Q3`` / ``Q3 2026`` (a quarter), ``2026-H2`` (a half year),
    ``2026-07`` / ``Jul 2026`` (a month); ``FY2027``, ``FY2027-Q1``, ``FY2027-H1`` are of the
    fiscal year starting in month ``fiscal_year_start``, named — as
    :func:`pipesheet.period_labels` names it — by the calendar year in which it ends (with a
    fiscal year starting in July, FY2027-Q1 is 2026-07-01 to 2026-09-30).  Every label
    :func:`pipesheet.period_labels` writes reads back to its period.

    Raises:
        PipesheetError: not a period label (a date is not one: give start and end dates).
    """
    bounds = _parse_label(label, fiscal_year_month(fiscal_year_start))
    if bounds is None:
        raise PipesheetError(
            _("not a period label"),
            table="settings",
            column="period",
            value=label,
            expected=_(_PERIOD_EXPECTED),
        )
    return bounds


def _parse_label(label: Any, m0: int) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """(first day, last day) of a period label, or None when it is not one."""
    if isinstance(label, bool) or label is None:
        return None
    if isinstance(label, (int, np.integer)) or (
        isinstance(label, (float, np.floating)) and float(label).is_integer()
    ):
        label = str(int(label))
    if not isinstance(label, str):
        return None
    text = re.sub(r"[\s/_.]+", "-", label.strip().casefold()).strip("-")
    text = re.sub(r"^fy-", "fy", text)
    text = re.sub(r"-fy-?", "-fy", text)
    for pattern, kind in _LABELS:
        hit = pattern.fullmatch(text)
        if hit is not None:
            return _bounds(kind, hit.groupdict(), m0)
    return None


_LABELS = [
    (re.compile(r"(?P<fy>fy)?(?P<y>\d{4})"), "year"),
    (re.compile(r"(?P<fy>fy)?(?P<y>\d{4})-?q(?P<n>[1-4])"), "quarter"),
    (re.compile(r"q(?P<n>[1-4])-?(?P<fy>fy)?(?P<y>\d{4})"), "quarter"),
    (re.compile(r"(?P<fy>fy)?(?P<y>\d{4})-?h(?P<n>[12])"), "half"),
    (re.compile(r"h(?P<n>[12])-?(?P<fy>fy)?(?P<y>\d{4})"), "half"),
    (re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})"), "month"),
    (re.compile(r"(?P<m>\d{1,2})-(?P<y>\d{4})"), "month"),
    (re.compile(r"(?P<name>[a-z]{3,9})-(?P<y>\d{4})"), "month"),
    (re.compile(r"(?P<y>\d{4})-(?P<name>[a-z]{3,9})"), "month"),
]


def _bounds(kind: str, g: dict[str, Any], m0: int) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    year = int(g["y"])
    if kind == "month":
        month = _MONTHS.get(g["name"]) if g.get("name") else int(g["m"])
        if month is None or not 1 <= month <= 12:
            return None
        first, months = pd.Timestamp(year, month, 1), 1
    else:
        fiscal = bool(g.get("fy")) and m0 != 1
        first = pd.Timestamp(year - 1, m0, 1) if fiscal else pd.Timestamp(year, 1, 1)
        months = {"year": 12, "quarter": 3, "half": 6}[kind]
        if kind != "year":
            first += pd.DateOffset(months=months * (int(g["n"]) - 1))
    last = first + pd.DateOffset(months=months) - pd.Timedelta(days=1)
    if first < DATE_MIN or last > DATE_MAX:
        return None
    return pd.Timestamp(first), pd.Timestamp(last)


# ---- reading the quota table and the hierarchy ------------------------------------------------
def _deal_field(header: Any) -> str | None:
    """The deals field a header names (by the deals table's aliases), or None."""
    key = normalise_header(header)
    for fld, aliases in DEAL_FIELDS.items():
        if key in {normalise_header(a) for a in (fld, *aliases)}:
            return fld
    return None


def _same_column(a: Any, b: Any) -> bool:
    """Two headers name the same thing: equal as headers, or aliases of one deals field."""
    if normalise_header(a) == normalise_header(b):
        return True
    fa = _deal_field(a)
    return fa is not None and fa == _deal_field(b)


def _group_header(raw: pd.DataFrame, by: Any, taken: set[str], name: str) -> str | None:
    others = [str(h) for h in raw.columns if str(h) not in taken]
    if by is not None and str(by).strip():
        hits = [h for h in others if _same_column(h, by)]
        if not hits:
            raise PipesheetError(
                _("no column for {by} in the quota table").format(by=repr(str(by))),
                table=name,
                column=str(by),
                expected=_("a column naming each quota's group; the table has {columns}").format(
                    columns=", ".join(repr(str(h)) for h in raw.columns)
                ),
            )
        return hits[0]
    if not others:
        return None
    if len(others) > 1:
        raise PipesheetError(
            _("cannot tell which column names the quotas' groups"),
            table=name,
            expected=_("by= (the command line's --by) naming one of {columns}").format(
                columns=", ".join(repr(h) for h in others)
            ),
        )
    return others[0]


def read_quotas(
    table: pd.DataFrame,
    *,
    by: str | None = None,
    start: Any = None,
    end: Any = None,
    fiscal_year_start: int = 1,
    columns: Mapping[str, str] | None = None,
    name: str = "quotas",
) -> pd.DataFrame:
    """Read and check a quota table.

    Args:
        table: One row per group and period: the group column (named by ``by``, or the one
            column that is not the quota or the period), the period (a ``Period`` label, see
            :func:`period_window`, or ``Start`` and ``End`` dates — both given, they must agree)
            and the ``Quota`` (also ``Target``, ``Goal``…) amount.  No group column: one quota
            per period for everyone.
        by: The group column's header (or the deals field it means: ``owner`` finds
            ``Salesperson``).
        start, end: The period of every row, when the table has no period column (not both).
        fiscal_year_start: First month of the fiscal year, for ``FY`` labels.
        columns: Explicit ``{field: header}`` for ``quota``, ``period``, ``start``, ``end``.

    Returns:
        Index: the spreadsheet row; columns ``name`` (the group as written; None without a
        group column), ``key`` (folded for matching), ``period`` (label), ``start``, ``end``
        (days), ``quota`` (float) and ``cents`` (the quota in whole cents).
        ``attrs["group"]`` is the group column's header.

    Raises:
        PipesheetError: naming the table, column, rows and value: a blank or non-numeric quota,
            a blank group, a period that is not a label, an end before its start, a period both
            in the table and given, no period at all, a group listed twice for one period.
    """
    raw = check_table(table, name)
    cols = resolve_columns(raw, QUOTA_FIELDS, ("quota",), table_name=name, mapping=columns)
    group = _group_header(raw, by, set(cols.values()), name)
    quota = parse_amounts(
        raw[cols["quota"]], table=name, column=cols["quota"], allow_blank=True, what="quota"
    )
    blank = quota.isna().to_numpy()
    if blank.any():
        raise PipesheetError(
            _("quota is blank"),
            table=name,
            column=cols["quota"],
            rows=row_numbers(raw.index, blank),
            expected=_("a quota amount on every row (leave out a row without a quota)"),
        )
    out = pd.DataFrame(index=raw.index)
    if group is None:
        out["name"], out["key"] = None, ""
    else:
        names = clean_text_column(raw[group])
        missing = names.isna().to_numpy()
        if missing.any():
            raise PipesheetError(
                _("{column} is blank").format(column=group),
                table=name,
                column=group,
                rows=row_numbers(raw.index, missing),
                expected=_("the {column} each quota belongs to").format(column=group),
            )
        out["name"] = names
        out["key"] = names.map(stage_key)
    dayfirst = date_order_of(table)
    first, last, label = _windows(raw, cols, start, end, fiscal_year_start, name, dayfirst)
    out["period"], out["start"], out["end"] = label, first, last
    out["quota"] = quota
    out["cents"] = np.rint(quota.to_numpy() * 100).astype(np.int64)
    dup = out.duplicated(["key", "start", "end"], keep=False).to_numpy()
    if dup.any():
        at = int(np.flatnonzero(dup)[0])
        same = (
            (out["key"] == out["key"].iloc[at])
            & (out["start"] == out["start"].iloc[at])
            & (out["end"] == out["end"].iloc[at])
        ).to_numpy()
        twice = (
            _("quota listed twice for {column} {name}, period {period}")
            if group
            else _("quota listed twice for period {period}")
        )
        raise PipesheetError(
            twice.format(
                column=group, name=repr(out["name"].iloc[at]), period=out["period"].iloc[at]
            ),
            table=name,
            column=group or cols["quota"],
            rows=row_numbers(raw.index, same),
            expected=_("one quota per group and period"),
        )
    out.attrs["group"] = group
    out.attrs["table"] = name
    return out


def _windows(
    raw: pd.DataFrame,
    cols: dict[str, str],
    start: Any,
    end: Any,
    fiscal_year_start: int,
    name: str,
    dayfirst: bool | None,
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(first days, last days, labels) of the rows' periods."""
    has_dates = "start" in cols or "end" in cols
    has_label = "period" in cols
    given = start is not None or end is not None
    if (has_dates or has_label) and given:
        raise PipesheetError(
            _("the quota table has its own periods and a period start/end is given too"),
            table=name,
            column=cols.get("period") or cols.get("start") or cols.get("end"),
            expected=_(
                "the period in one place: the table's period column, or the period start and "
                "end settings for a table without one"
            ),
        )
    if has_dates and not ("start" in cols and "end" in cols):
        raise PipesheetError(
            _("the quota table has a period start column but no end column")
            if "start" in cols
            else _("the quota table has a period end column but no start column"),
            table=name,
            expected=_("both a start and an end date column, or a period label column"),
        )
    labels = None
    if has_label:
        labels, first, last = _label_windows(raw, cols["period"], fiscal_year_start, name)
    if has_dates:
        dates = {
            k: parse_dates(
                raw[cols[k]], table=name, column=cols[k], allow_blank=False, dayfirst=dayfirst
            ).dt.normalize()
            for k in ("start", "end")
        }
        before = (dates["end"] < dates["start"]).to_numpy()
        if before.any():
            raise PipesheetError(
                _("the period ends before it starts"),
                table=name,
                column=cols["end"],
                rows=row_numbers(raw.index, before),
                value=str(dates["end"][before].iloc[0].date()),
                expected=_("an end date on or after the start date"),
            )
        if labels is not None:
            differ = ((dates["start"] != first) | (dates["end"] != last)).to_numpy()
            if differ.any():
                raise PipesheetError(
                    _("the period label and the start/end dates disagree"),
                    table=name,
                    column=cols["period"],
                    rows=row_numbers(raw.index, differ),
                    value=labels[differ].iloc[0],
                    expected=_("dates spanning exactly the labelled period (or only one of them)"),
                )
        first, last = dates["start"], dates["end"]
        if labels is None:
            labels = pd.Series(
                [f"{a.date()} – {b.date()}" for a, b in zip(first, last, strict=True)],
                index=raw.index,
                dtype=object,
            )
        return first, last, labels
    if labels is not None:
        return first, last, labels
    lo = read_date_setting(start, "start")
    hi = read_date_setting(end, "end")
    if lo is None or hi is None:
        raise PipesheetError(
            _("the quotas have no period"),
            table=name,
            expected=_(
                "a Period column (2026-Q3…) or Start and End columns in the quota table, or a "
                "period start and end (--period-start/--period-end)"
            ),
        )
    if hi < lo:
        raise PipesheetError(
            _("the period ends before it starts"),
            table="settings",
            column="end",
            value=str(hi.date()),
            expected=_("a date on or after {date}").format(date=lo.date()),
        )
    n = len(raw.index)
    return (
        pd.Series([lo] * n, index=raw.index, dtype="datetime64[ns]"),
        pd.Series([hi] * n, index=raw.index, dtype="datetime64[ns]"),
        pd.Series([f"{lo.date()} – {hi.date()}"] * n, index=raw.index, dtype=object),
    )


def _label_windows(
    raw: pd.DataFrame, column: str, fiscal_year_start: int, name: str
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Each row's period label read once per distinct label."""
    values = raw[column]
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    m0 = fiscal_year_month(fiscal_year_start)
    parsed = [_parse_label(u, m0) for u in uniques]
    bad_unique = np.array([p is None for p in parsed] + [True])
    bad = bad_unique[codes]
    if bad.any():
        first_bad = values[bad].iloc[0]
        blank = codes[bad][0] < 0
        is_date = isinstance(first_bad, (pd.Timestamp, np.datetime64)) or hasattr(first_bad, "year")
        raise PipesheetError(
            _("period is blank")
            if blank
            else _("a date is not a period")
            if is_date
            else _("period is not a period label"),
            table=name,
            column=column,
            rows=row_numbers(raw.index, bad),
            value=None if blank else first_bad,
            expected=_(_PERIOD_EXPECTED),
        )
    firsts = np.array([p[0] for p in parsed], dtype="datetime64[ns]")
    lasts = np.array([p[1] for p in parsed], dtype="datetime64[ns]")
    labels = clean_text_column(pd.Series(uniques, dtype=object)).to_numpy(dtype=object)
    return (
        pd.Series(labels[codes], index=raw.index, dtype=object),
        pd.Series(firsts[codes], index=raw.index),
        pd.Series(lasts[codes], index=raw.index),
    )


def read_hierarchy(table: pd.DataFrame, *, name: str = "hierarchy") -> pd.DataFrame:
    """Read and check a hierarchy: its columns are the levels, finest first (``Owner, Team,
    Region``), one row per member of the finest level.

    Returns:
        The cleaned names (index: spreadsheet row; the table's headers).

    Raises:
        PipesheetError: fewer than two columns, a blank cell, a member of the finest level
            listed twice, or a member of a higher level under two parents (a team in two
            regions) — naming the rows.
    """
    raw = check_table(table, name)
    headers = [str(c) for c in raw.columns]
    if len(headers) < 2:
        raise PipesheetError(
            _("a hierarchy needs at least two levels"),
            table=name,
            expected=_("columns from the finest level up, e.g. Owner, Team, Region"),
        )
    frame = pd.DataFrame({h: clean_text_column(raw[h]) for h in headers}, index=raw.index)
    for h in headers:
        blank = frame[h].isna().to_numpy()
        if blank.any():
            raise PipesheetError(
                _("{column} is blank").format(column=h),
                table=name,
                column=h,
                rows=row_numbers(raw.index, blank),
                expected=_("the {column} of every row").format(column=h),
            )
    keys = frame.map(stage_key)
    dup = keys[headers[0]].duplicated(keep=False).to_numpy()
    if dup.any():
        first = keys[headers[0]][dup].iloc[0]
        raise PipesheetError(
            _("{column} listed twice").format(column=headers[0]),
            table=name,
            column=headers[0],
            rows=row_numbers(raw.index, (keys[headers[0]] == first).to_numpy()),
            value=frame[headers[0]][dup].iloc[0],
            expected=_("one row per {column}").format(column=headers[0]),
        )
    for lower, upper in itertools.pairwise(headers[1:]):
        parents = keys.groupby(lower)[upper].nunique()
        split = parents[parents > 1]
        if len(split):
            at = (keys[lower] == split.index[0]).to_numpy()
            raise PipesheetError(
                _("{lower} {name} is under more than one {upper}").format(
                    lower=lower, name=repr(frame[lower][at].iloc[0]), upper=upper
                ),
                table=name,
                column=upper,
                rows=row_numbers(raw.index, at),
                value=", ".join(dict.fromkeys(frame[upper][at])),
                expected=_("one {upper} per {lower}").format(upper=upper, lower=lower),
            )
    return frame


# ---- which row each deal belongs to -----------------------------------------------------------
@dataclass
class _Levels:
    """The levels from the quota rows' level up: each deal's member of the quota rows' level
    (``codes``, -1: none), the members' names per level, and each member's parent at the next
    level (``parent[i][code]``)."""

    names: list[str]
    codes: np.ndarray
    members: list[list[str]]
    parent: list[np.ndarray]
    index: dict[str, int]
    notes: list[str] = field(default_factory=list)

    def deal_codes(self, present: np.ndarray) -> list[np.ndarray]:
        """Each deal's member code at every level, counting only the deals of the quota rows
        in ``present`` (codes of the first level); -1 elsewhere."""
        codes = np.where(np.isin(self.codes, present), self.codes, -1)
        out = [codes]
        for up in self.parent:
            codes = np.where(codes >= 0, up[np.maximum(codes, 0)], -1)
            out.append(codes)
        return out


def _deals_field(header: str, deals: Deals) -> str:
    """The deals field a quota or hierarchy column matches (its header, or an alias of it)."""
    try:
        return group_field(header, deals)  # type: ignore[return-value]
    except PipesheetError:
        fld = _deal_field(header)
        if fld is not None and fld in deals.frame and fld not in ("deal_id", "amount"):
            return fld
    raise PipesheetError(
        _("the deals table has no column {header} to match the quotas on").format(
            header=repr(header)
        ),
        table=deals.name,
        column=header,
        expected=_(
            "a deals column of that name (owner, country, segment, product line…), or a "
            "hierarchy table whose first column is one"
        ),
    )


def _deal_keys(deals: Deals, fld: str) -> np.ndarray:
    """Each deal's value of ``fld`` folded for matching (None when blank), per distinct value."""
    codes, uniques = pd.factorize(deals.frame[fld].to_numpy(dtype=object), use_na_sentinel=True)
    keys = np.array([stage_key(u) for u in uniques] + [None], dtype=object)
    return keys[codes]


def _mapped(keys: np.ndarray, mapping: Mapping[str, Any]) -> np.ndarray:
    """``mapping`` applied to each key (None where it has none)."""
    out = pd.Series(keys, dtype=object).map(mapping).to_numpy(dtype=object)
    return np.where(pd.isna(out), None, out)


def _levels(deals: Deals, quotas: pd.DataFrame, hierarchy: pd.DataFrame | None) -> _Levels:
    """Which quota row (and which member of each level above it) every deal belongs to."""
    group = quotas.attrs.get("group")
    table = quotas.attrs.get("table", "quotas")
    frame = deals.frame
    if group is None:
        if hierarchy is not None:
            raise PipesheetError(
                _("a hierarchy needs quotas per member: the quota table has no group column"),
                table=table,
                expected=_("a column such as Owner or Team naming each quota's group"),
            )
        return _Levels(["total"], np.zeros(len(frame), dtype=np.int64), [[TOTAL]], [], {"": 0})
    notes: list[str] = []
    row_keys = list(dict.fromkeys(quotas["key"]))
    names = dict(zip(quotas["key"], quotas["name"], strict=True))
    if hierarchy is None:
        fld = _deals_field(group, deals)
        keys = _deal_keys(deals, fld)
        level_names, above = [group], []
    else:
        levels = [str(c) for c in hierarchy.columns]
        at = next((i for i, h in enumerate(levels) if _same_column(h, group)), None)
        if at is None:
            raise PipesheetError(
                _("the hierarchy has no level {group} (the quota table's groups)").format(
                    group=repr(group)
                ),
                table="hierarchy",
                expected=_("one of its columns: {columns}").format(
                    columns=", ".join(repr(h) for h in levels)
                ),
            )
        hkeys = hierarchy.map(stage_key)
        known = set(hkeys[levels[at]])
        absent = [k for k in row_keys if k not in known]
        if absent:
            rows = quotas.index[quotas["key"].isin(absent).to_numpy()]
            raise PipesheetError(
                _("{group} {name} is not in the hierarchy").format(
                    group=group, name=repr(names[absent[0]])
                ),
                table=table,
                column=group,
                rows=[int(r) for r in rows[:50]],
                value=names[absent[0]],
                expected=_(
                    "every {group} of the quota table in the hierarchy's {level} column: {names}"
                ).format(
                    group=group,
                    level=levels[at],
                    names=", ".join(dict.fromkeys(hierarchy[levels[at]])),
                ),
            )
        fld = _deals_field(levels[0], deals)
        finest = _deal_keys(deals, fld)
        keys = _mapped(finest, dict(zip(hkeys[levels[0]], hkeys[levels[at]], strict=True)))
        unknown = (finest != None) & (keys == None) & _counted(deals)  # noqa: E711
        if unknown.any():
            who = list(dict.fromkeys(frame[fld][unknown]))
            notes.append(
                _(
                    "{count} open or won deal(s) of {groups} {field}(s) not in the hierarchy are "
                    "in no row: {names}"
                ).format(
                    count=int(unknown.sum()),
                    groups=len(who),
                    field=heading(fld).replace("_", " "),
                    names=", ".join(map(str, who[:10])) + (" …" if len(who) > 10 else ""),
                )
            )
        level_names = levels[at:]
        above = [(hkeys, hierarchy, levels[i], levels[i + 1]) for i in range(at, len(levels) - 1)]
    index = {k: i for i, k in enumerate(row_keys)}
    codes = pd.Series(keys, dtype=object).map(index).fillna(-1).to_numpy().astype(np.int64)
    outside = (keys != None) & (codes < 0) & _counted(deals)  # noqa: E711
    if outside.any():
        who = list(dict.fromkeys(frame[fld][outside]))
        notes.append(
            _(
                "{count} open or won deal(s) are in no row: their {field} has no quota row "
                "({names})"
            ).format(
                count=int(outside.sum()),
                field=heading(fld).replace("_", " "),
                names=", ".join(map(str, who[:10])) + (" …" if len(who) > 10 else ""),
            )
        )
    members = [[names[k] for k in row_keys]]
    parent: list[np.ndarray] = []
    lower_keys = row_keys
    for hkeys, hframe, lower, upper in above:
        up_of = dict(zip(hkeys[lower], hkeys[upper], strict=True))
        order = list(dict.fromkeys(up_of[k] for k in lower_keys))
        up_index = {k: i for i, k in enumerate(order)}
        shown = dict(zip(hkeys[upper], hframe[upper], strict=True))
        members.append([shown[k] for k in order])
        parent.append(np.array([up_index[up_of[k]] for k in lower_keys], dtype=np.int64))
        lower_keys = order
    seen = set(keys[keys != None].tolist())  # noqa: E711
    idle = [k for k in row_keys if k not in seen]
    if idle:
        notes.append(
            _(
                "no deal of {group} {names}: closed and expected are 0 (a name spelt differently "
                "in the deals?)"
            ).format(
                group=group,
                names=", ".join(repr(names[k]) for k in idle[:10])
                + (" …" if len(idle) > 10 else ""),
            )
        )
    return _Levels(level_names, codes, members, parent, index, notes)


def _counted(deals: Deals) -> np.ndarray:
    """Open and won deals: the ones a quota row's figures could hold."""
    return (deals.frame["code"] <= deals.stages.k).to_numpy()


# ---- the result --------------------------------------------------------------------------------
@dataclass(repr=False)
class QuotaTableResult(Result):
    """Each quota row — and each level above it in the hierarchy — with its closed, expected,
    gap, coverage, P(≥ quota) and the new leads it needs per week (see :func:`quota_table`).

    Attributes:
        table: One row per quota row and roll-up (:data:`QUOTA_COLUMNS`), per period: the
            members of each group before the group, a ``Total`` row last when the top level has
            several rows.
        currency: The reporting currency.
        as_of: The as-of day (None when not given).
        average_deal, lead_to_win_rate, cycle_days: The team's figures the leads rest on (NaN
            when unknown).
        levels: The levels shown, from the quota rows' level up.
        notes: What the user should know.
    """

    table: pd.DataFrame
    currency: str | None
    as_of: pd.Timestamp | None
    average_deal: float
    lead_to_win_rate: float
    cycle_days: float
    levels: list[str]
    notes: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """The table (:attr:`table`)."""
        return self.table.copy()

    def _figures(self) -> dict[str, Any]:
        leaf = self.table[self.table["level"] == self.levels[0]]
        return {
            "rows": len(self.table),
            "quota": float(leaf["quota"].sum()),
            "closed": float(leaf["closed"].sum()),
            "expected": float(leaf["expected"].sum()),
            "currency": self.currency,
        }

    def formatted(self) -> pd.DataFrame:
        """The table as pipesheet prints it: money to the cent, P(≥ quota) in percent,
        coverage as a multiple."""
        t = self.table

        def money(x: float) -> str:
            return "" if pd.isna(x) else format_number(x, 2)

        def times(x: float) -> str:
            return "" if pd.isna(x) else "∞" if math.isinf(x) else plain_number(x, 2) + "×"

        def per_week(x: float) -> str:
            return "" if pd.isna(x) else "∞" if math.isinf(x) else format_number(x, 1)

        total = (t["level"] == "total").to_numpy()
        return pd.DataFrame(
            {
                "period": t["period"],
                "level": t["level"].where(~total, pgettext("quota level", "total")),
                "name": t["name"].where(~(total & (t["name"] == TOTAL)), pgettext("row", "Total")),
                "quota": t["quota"].map(money),
                "closed": t["closed"].map(money),
                "expected": t["expected"].map(money),
                "gap": t["gap"].map(money),
                "coverage": t["coverage"].map(times),
                "p_quota": t["p_quota"].map(lambda p: "" if pd.isna(p) else format_percent(p, 1)),
                "leads_per_week": t["leads_per_week"].map(per_week),
            }
        )

    def __str__(self) -> str:
        """The quota table as pipesheet prints it, with what the leads rest on and the notes."""
        cur = f" ({self.currency})" if self.currency else ""
        title = (
            _("Quotas as of {date}{currency}").format(date=self.as_of.date(), currency=cur)
            if self.as_of is not None
            else _("Quotas{currency}").format(currency=cur)
        )
        shown = self.formatted()
        shown.columns = headings(shown.columns)
        lines = [title]
        lines += [line.rstrip() for line in shown.to_string(index=False).splitlines()]
        lines += self.basis()
        lines += [_("note: {note}").format(note=n) for n in self.notes]
        return "\n".join(lines)

    def basis(self) -> list[str]:
        """What the figures rest on, in words."""

        def num(x: float, grouped: bool) -> str:
            if pd.isna(x):
                return _("unknown")
            return format_number(x, 2) if grouped else plain_number(x, 1)

        return [
            _(
                "gap = quota − closed − expected; coverage = open pipeline ÷ (quota − closed); "
                "p_quota = P(closed + range of the row's open deals ≥ quota)"
            ),
            _(
                "leads per week: ⌈max(gap, 0) ÷ average deal {average}⌉ won deals ÷ lead-to-win "
                "rate {rate}%, over the weeks from as-of to the period end minus the "
                "{cycle}-day cycle"
            ).format(
                average=num(self.average_deal, True),
                rate=num(self.lead_to_win_rate * 100, False),
                cycle=num(self.cycle_days, False),
            ),
        ]


# ---- the computation ---------------------------------------------------------------------------
def quota_table(
    deals: pd.DataFrame | Deals,
    probabilities: Probabilities,
    quotas: pd.DataFrame,
    *,
    by: str | None = None,
    hierarchy: pd.DataFrame | None = None,
    as_of: Any = None,
    start: Any = None,
    end: Any = None,
    rates: Rates = None,
    currency: str | None = None,
    blank_amounts: str = "error",
    stages: StageList | None = None,
    columns: Mapping[str, str] | None = None,
    average_deal: float | None = None,
    lead_to_win_rate: float | None = None,
    cycle_days: float | None = None,
    fiscal_year_start: int = 1,
    range_method: str = "auto",
) -> QuotaTableResult:
    """Quota, closed, expected, gap, coverage, P(≥ quota) and new leads per week for each row
    of a quota table, rolled up a hierarchy by exact sums (see the module docstring).

    Args:
        deals: The deals table.
        probabilities: What the open deals are weighted with (learned, a table, a preset,
            ``"configured"``), as for :func:`pipesheet.weighted_forecast`.
        quotas: The quota table (:func:`read_quotas`).
        by: The quota table's group column (default: its one column that is not the quota or
            the period).
        hierarchy: Levels, finest first (``Owner, Team, Region``; :func:`read_hierarchy`): the
            deals are matched on its first column, the quota rows on the column ``by`` names,
            and each level above is rolled up.
        as_of: What was known at the end of that day (deals created after it, and won or lost
            after it, are left out, as for the forecast); the start of the time left for leads.
        start, end: The period of every quota, for a table without a period column.
        rates, currency, blank_amounts, stages, columns: As for
            :func:`pipesheet.price_deals`.
        average_deal: Average won deal for the leads (default: the mean won deal, every deal
            closed by as-of).
        lead_to_win_rate: Share of new leads won (default: the first stage's win probability).
        cycle_days: Days from lead to won (default: mean days from created to closed of the won
            deals; 0 with a note when the deals have no created date).
        fiscal_year_start: First month of the fiscal year, for ``FY`` labels.
        range_method: How P(≥ quota) is computed (:func:`pipesheet.forecast_range`).

    Returns:
        A :class:`QuotaTableResult`.
    """
    q = read_quotas(quotas, by=by, start=start, end=end, fiscal_year_start=fiscal_year_start)
    tree = None if hierarchy is None else read_hierarchy(hierarchy)
    money = {"rates": rates, "currency": currency, "blank_amounts": blank_amounts}
    whole = price_deals(deals, probabilities, as_of=as_of, stages=stages, columns=columns, **money)
    table = whole.deals
    levels = _levels(table, q, tree)
    notes = list(levels.notes)
    pos = pipeline_position(table, probabilities, as_of=as_of, **money)
    a = _given(average_deal, pos.average_won_deal)
    r = _given(lead_to_win_rate, first_stage_rate(probabilities, table.stages))
    cycle = _given(cycle_days, pos.average_cycle_days)
    no_average, no_rate = math.isnan(a) or a <= 0, math.isnan(r) or r <= 0
    if no_average and no_rate:
        notes.append(
            _(
                "new leads are not computed: no won deal gives an average deal and the "
                "lead-to-win rate is unknown (give average_deal / lead_to_win_rate)"
            )
        )
    elif no_average:
        notes.append(
            _(
                "new leads are not computed: no won deal gives an average deal (give "
                "average_deal / lead_to_win_rate)"
            )
        )
    elif no_rate:
        notes.append(
            _(
                "new leads are not computed: the lead-to-win rate is unknown (give "
                "average_deal / lead_to_win_rate)"
            )
        )
    if math.isnan(cycle):
        cycle = 0.0
        if as_of is not None:
            notes.append(_("cycle length unknown (no created dates): taken as 0 days"))
    rows: list[dict[str, Any]] = []
    for (first, last), at in q.groupby(["start", "end"], sort=True).indices.items():
        priced = price_deals(table, probabilities, start=first, end=last, as_of=as_of, **money)
        window = q.iloc[np.sort(at)]
        label = window["period"].iloc[0]
        notes += [f"{label}: {n}" if note_is(n, "overdue") else n for n in priced.notes]
        rows += _window_rows(priced, window, levels, (a, r, cycle), as_of, range_method)
    out = pd.DataFrame(rows, columns=list(QUOTA_COLUMNS))
    for col in ("open_deals", "won_deals"):
        out[col] = out[col].astype(int)
    return QuotaTableResult(
        out,
        whole.currency,
        whole.as_of,
        a,
        r,
        cycle,
        list(levels.names),
        list(dict.fromkeys(notes)),
    )


def _given(value: float | None, default: float) -> float:
    return float(default) if value is None else float(value)


def _cents(x: np.ndarray | float) -> np.ndarray:
    """Money in whole cents (rounded half to even once)."""
    return np.rint(np.asarray(x, dtype=float) * 100).astype(np.int64)


def _window_rows(
    priced: Any,
    window: pd.DataFrame,
    levels: _Levels,
    planning: tuple[float, float, float],
    as_of: Any,
    range_method: str,
) -> list[dict[str, Any]]:
    """The rows of one period: its quota rows, their roll-ups and the total."""
    leaf_codes = np.array([levels.index[k] for k in window["key"]], dtype=np.int64)
    dc = levels.deal_codes(leaf_codes)
    k0 = len(levels.members[0])
    amount = np.nan_to_num(priced.amount)
    weighted = np.nan_to_num(priced.amount * priced.probability)
    inside = dc[0] >= 0
    sel_open, sel_won = priced.open & inside, priced.closed_in & inside

    def per_member(sel: np.ndarray, values: np.ndarray | None) -> np.ndarray:
        w = None if values is None else values[sel]
        return np.bincount(dc[0][sel], weights=w, minlength=k0)

    quota0 = np.zeros(k0, dtype=np.int64)
    quota0[leaf_codes] = window["cents"].to_numpy()
    figures = [
        {
            "quota": quota0,
            "closed": _cents(per_member(sel_won, amount)),
            "expected": _cents(per_member(sel_open, weighted)),
            "pipeline": _cents(per_member(sel_open, amount)),
            "open_deals": per_member(sel_open, None).astype(np.int64),
            "won_deals": per_member(sel_won, None).astype(np.int64),
        }
    ]
    present = [np.zeros(k0, dtype=bool)]
    present[0][leaf_codes] = True
    for up in levels.parent:  # exact sums in whole cents, level by level
        lower = figures[-1]
        n_up = int(up.max()) + 1 if up.size else 0
        sums = {}
        for key, values in lower.items():
            acc = np.zeros(n_up, dtype=np.int64)
            np.add.at(acc, up[present[-1]], values[present[-1]])
            sums[key] = acc
        figures.append(sums)
        here = np.zeros(n_up, dtype=bool)
        here[up[present[-1]]] = True
        present.append(here)
    top = len(levels.names) - 1
    order = _outline(levels, leaf_codes, top)
    label = window["period"].iloc[0]
    first, last = window["start"].iloc[0], window["end"].iloc[0]
    rows = []
    for level, code in order:
        fig = {k: v[code] for k, v in figures[level].items()}
        parent = levels.members[level + 1][levels.parent[level][code]] if level < top else None
        mask = dc[level] == code
        rows.append(
            _row(
                priced,
                mask,
                fig,
                label,
                first,
                last,
                levels.names[level],
                levels.members[level][code],
                parent,
                planning,
                as_of,
                range_method,
            )
        )
    if present[top].sum() > 1:
        fig = {k: int(v[present[top]].sum()) for k, v in figures[top].items()}
        rows.append(
            _row(
                priced,
                inside,
                fig,
                label,
                first,
                last,
                "total",
                TOTAL,
                None,
                planning,
                as_of,
                range_method,
            )
        )
    return rows


def _outline(levels: _Levels, leaf_codes: np.ndarray, top: int) -> list[tuple[int, int]]:
    """(level, code) of the rows of a period in outline order: the members of each group in the
    quota table's order, then the group."""
    paths = []
    for c in leaf_codes:
        path = [int(c)]
        for up in levels.parent:
            path.append(int(up[path[-1]]))
        paths.append(path)
    out: list[tuple[int, int]] = []

    def emit(level: int, code: int, under: list[list[int]]) -> None:
        if level > 0:
            for child in dict.fromkeys(p[level - 1] for p in under):
                emit(level - 1, child, [p for p in under if p[level - 1] == child])
        out.append((level, code))

    for root in dict.fromkeys(p[top] for p in paths):
        emit(top, root, [p for p in paths if p[top] == root])
    return out


def _row(
    priced: Any,
    mask: np.ndarray,
    fig: dict[str, Any],
    label: str,
    first: pd.Timestamp,
    last: pd.Timestamp,
    level: str,
    name: str,
    parent: str | None,
    planning: tuple[float, float, float],
    as_of: Any,
    range_method: str,
) -> dict[str, Any]:
    """One row: the figures in cents made money again, P(≥ quota) over the row's own deals,
    coverage and the leads (the quota gap's arithmetic)."""
    quota, closed = int(fig["quota"]) / 100, int(fig["closed"]) / 100
    expected, pipeline = int(fig["expected"]) / 100, int(fig["pipeline"]) / 100
    gap = int(fig["quota"] - fig["closed"] - fig["expected"]) / 100
    rng = priced.range(quota, where=mask, closed=closed, range_method=range_method)
    a, r, cycle = planning
    new_leads = per_week = math.nan
    if not (math.isnan(a) or a <= 0 or math.isnan(r) or r <= 0):
        g = quota_gap(
            quota,
            closed,
            expected,
            average_deal=a,
            lead_to_win_rate=r,
            as_of=as_of,
            period_end=last,
            cycle_days=cycle,
        )
        new_leads, per_week = float(g.new_leads), g.leads_per_week
    return {
        "period": label,
        "start": first,
        "end": last,
        "level": level,
        "name": name,
        "parent": parent,
        "quota": quota,
        "closed": closed,
        "expected": expected,
        "gap": gap,
        "pipeline": pipeline,
        "coverage": coverage_ratio(pipeline, quota, closed),
        "p_quota": rng.p_quota,
        "new_leads": new_leads,
        "leads_per_week": per_week,
        "open_deals": int(fig["open_deals"]),
        "won_deals": int(fig["won_deals"]),
    }
