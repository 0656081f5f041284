"""Rows of a deals table and a stage history that contradict each other.

:func:`check_export` lists them as an issues table (:data:`ISSUE_COLUMNS`): one deal id twice,
history for deals that do not exist, a deal both won and lost (deals table vs history, a Won and
a Lost row at the same moment).  The CRM readers add their own (status vs stage) with
:func:`row_issue`.  :func:`issues_error` turns the list into one error, :func:`set_aside` drops
the deals concerned instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipesheet.cells import clean_text, clean_text_column
from pipesheet.columns import DEAL_FIELDS, HISTORY_FIELDS
from pipesheet.errors import PipesheetError
from pipesheet.exports.fields import find_column, is_terminal
from pipesheet.i18n import _
from pipesheet.stages import DEFAULT_LOST, DEFAULT_WON

__all__ = ["ISSUE_COLUMNS", "check_export", "issue_frame", "issues_error", "row_issue", "set_aside"]

ISSUE_COLUMNS = ("table", "row", "deal_id", "problem", "value")
_ID = ("deal_id", "Deal ID", "opportunity_id", "record_id", "id")
_STAGE = ("stage", "stage_name", "deal_stage", "to_stage", "new_stage")
_DATE = ("entered_date", "date_entered", "date", "createddate")
#: The same, and the readers' names in the users' languages (``ID opportunità``, ``Faza``,
#: ``Datum vstopa``…): a generic table keeps its headers until the readers read it.
_DEAL_ID = (*_ID[:-1], *DEAL_FIELDS["deal_id"])
_HISTORY_ID = (*_ID[:-1], *HISTORY_FIELDS["deal_id"])
_DEAL_STAGE = (*_STAGE, *DEAL_FIELDS["stage"])
_HISTORY_STAGE = (*_STAGE, *HISTORY_FIELDS["stage"])
_HISTORY_DATE = (*_DATE, *HISTORY_FIELDS["entered_date"])
_LISTED = 1000  # rows listed per kind of contradiction


def row_issue(table: str, frame: pd.DataFrame, position: int, problem: str, value: str) -> tuple:
    """One issues-table row for the row at ``position`` of ``frame`` (fields ``deal_id``…)."""
    deal = clean_text(frame["deal_id"].iloc[position]) if "deal_id" in frame else None
    return (table, int(frame.index[position]), deal, problem, value)


def issue_frame(rows: list[tuple]) -> pd.DataFrame:
    """The issues table of ``rows`` (tuples in :data:`ISSUE_COLUMNS` order)."""
    return pd.DataFrame(rows, columns=list(ISSUE_COLUMNS))


def _listed(
    table: str, at: pd.Index, ids: pd.Series, problem: str, values: pd.Series
) -> list[tuple]:
    """Issue rows for the rows ``at`` (the first :data:`_LISTED`), ``values`` shown as text."""
    at = at[:_LISTED]
    return [
        (table, int(r), ids.loc[r], problem, str(v))
        for r, v in zip(at, values.loc[at], strict=True)
    ]


def check_export(deals: pd.DataFrame | None, history: pd.DataFrame | None) -> pd.DataFrame:
    """Rows of a deals table and a history that contradict each other, as an issues table.

    Finds: a deal id twice in the deals table; history rows for deals that are not in the deals
    table; a deal whose history ends Won while the deals table says Lost (or the reverse); a deal
    with a Won row and a Lost row at the same moment in the history.  Tables use pipesheet field
    names or common aliases.

    Returns:
        Columns :data:`ISSUE_COLUMNS` (``table``, ``row``, ``deal_id``, ``problem``, ``value``);
        empty when the tables agree.
    """
    rows: list[tuple] = []
    d_ids = d_stage = None
    if deals is not None:
        id_col = find_column(deals, _DEAL_ID, "deal_id")
        st_col = find_column(deals, _DEAL_STAGE, "stage")
        if id_col is not None:
            d_ids = clean_text_column(deals[id_col])
            dup = d_ids.duplicated(keep=False) & d_ids.notna()
            at = deals.index[dup.to_numpy()]
            rows += _listed("deals", at, d_ids, _("deal id appears more than once"), d_ids)
        if st_col is not None:
            d_stage = deals[st_col]
    if history is not None:
        h_id = find_column(history, _HISTORY_ID, "deal_id")
        h_st = find_column(history, _HISTORY_STAGE, "stage")
        h_dt = find_column(history, _HISTORY_DATE, "entered_date")
        if h_dt is not None and not pd.api.types.is_datetime64_any_dtype(history[h_dt].dtype):
            h_dt = None  # unreadable dates: the reader names the cell; order can't be checked
        if h_id is None or h_st is None:
            return issue_frame(rows)
        h_ids = clean_text_column(history[h_id])
        if d_ids is not None:
            unknown = ~h_ids.isin(set(d_ids.dropna())).to_numpy() & h_ids.notna().to_numpy()
            problem = _("history for a deal that is not in the deals table")
            rows += _listed("history", history.index[unknown], h_ids, problem, h_ids)
        won = is_terminal(history[h_st], DEFAULT_WON)
        lost = is_terminal(history[h_st], DEFAULT_LOST)
        if h_dt is not None and (won.any() and lost.any()):
            # only deals with both a Won and a Lost row can have them at the same moment
            suspects = set(h_ids[won]) & set(h_ids[lost])
            sel = h_ids.isin(suspects).to_numpy() if suspects else np.zeros(len(h_ids), bool)
            frame = pd.DataFrame(
                {"id": h_ids[sel], "t": history[h_dt][sel], "won": won[sel], "lost": lost[sel]}
            )
            g = frame.groupby(["id", "t"], sort=False)[["won", "lost"]].transform("any")
            both = (g["won"] & g["lost"]).to_numpy() & (won[sel] | lost[sel])
            problem = _("deal both won and lost at the same moment")
            rows += _listed("history", history.index[sel][both], h_ids, problem, history[h_st])
        if d_ids is not None and d_stage is not None and h_dt is not None:
            order = np.lexsort((history.index.to_numpy(), history[h_dt].to_numpy()))
            last = pd.DataFrame(
                {"id": h_ids.to_numpy()[order], "won": won[order], "lost": lost[order]}
            ).drop_duplicates("id", keep="last")
            last = last.set_index("id")
            d_won = is_terminal(d_stage, DEFAULT_WON)
            d_lost = is_terminal(d_stage, DEFAULT_LOST)
            h_won = d_ids.map(last["won"]).fillna(False).to_numpy(dtype=bool)
            h_lost = d_ids.map(last["lost"]).fillna(False).to_numpy(dtype=bool)
            clash = (d_won & h_lost) | (d_lost & h_won)
            problem = _("deal both won and lost: the deals table and the history disagree")
            rows += _listed("deals", deals.index[clash], d_ids, problem, d_stage)
    return issue_frame(rows)


def issues_error(issues: pd.DataFrame) -> PipesheetError:
    """One error for an issues table: the first kind of contradiction, its rows, and a count of
    the others."""
    first = issues.iloc[0]
    same = issues[(issues["table"] == first["table"]) & (issues["problem"] == first["problem"])]
    more = len(issues) - len(same)
    said = {"problem": first["problem"], "count": len(same), "deal": first["deal_id"]}
    return PipesheetError(
        _(
            "{problem} ({count} row(s), first deal {deal!r}); {more} more contradicting row(s) of "
            "other kinds"
        ).format(**said, more=more)
        if more > 0
        else _("{problem} ({count} row(s), first deal {deal!r})").format(**said),
        table=first["table"],
        rows=[int(r) for r in same["row"].tolist()[:50]],
        value=first["value"] if first["value"] not in ("", None) else None,
        expected=_(
            "rows that agree with each other (or read with on_issues='report' to set them aside "
            "and get the list)"
        ),
    )


def set_aside(
    deals: pd.DataFrame | None, history: pd.DataFrame | None, issues: pd.DataFrame
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The tables without the rows of the deals named in ``issues``."""
    bad_ids = set(issues["deal_id"].dropna().astype(str))

    def keep(table: pd.DataFrame | None) -> pd.DataFrame | None:
        col = find_column(table, _HISTORY_ID, "deal_id") if table is not None and bad_ids else None
        if col is None:
            return table
        return table[~clean_text_column(table[col]).isin(bad_ids).to_numpy()]

    return keep(deals), keep(history)
