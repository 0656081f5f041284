"""Read one or more CRM export files (or frames) into a deals table and a stage history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pipesheet.base import Result
from pipesheet.errors import PipesheetError
from pipesheet.exports.checks import check_export, issue_frame, issues_error, set_aside
from pipesheet.exports.csvfile import delimiter_name
from pipesheet.exports.hubspot import DATE_ENTERED
from pipesheet.exports.sources import SOURCES, convert, detect_source, table_role
from pipesheet.exports.table import read_table
from pipesheet.i18n import N_, _, pgettext
from pipesheet.stages import StageList

__all__ = ["Export", "read_export"]


@dataclass(repr=False)
class Export(Result):
    """What :func:`read_export` recognised.

    Attributes:
        source: Tool the deals came from (one of :data:`SOURCES`).
        deals: Deals table with pipesheet field names (``deal_id``, ``stage``, ``amount``…), index
            = spreadsheet row of the file it came from; None when only a history was given.
        history: Stage history (``deal_id``, ``stage``, ``entered_date`` and, from Salesforce,
            ``amount`` and ``close_date`` at that moment), or None.
        issues: Contradicting rows (:data:`ISSUE_COLUMNS`), empty when the files agree.
        notes: What was detected and assumed (encoding, delimiter, decimal mark, date order…).
        files: The files read.
        stages: The stage order the export itself states (HubSpot's ``Date entered`` columns
            are in pipeline order), or None to let pipesheet infer it.
    """

    source: str
    deals: pd.DataFrame | None
    history: pd.DataFrame | None
    issues: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    stages: StageList | None = None

    def to_frame(self) -> pd.DataFrame:
        """The deals table (the stage history when only a history was read)."""
        table = self.deals if self.deals is not None else self.history
        return pd.DataFrame() if table is None else table.copy()

    def _figures(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "deals": None if self.deals is None else len(self.deals),
            "history": None if self.history is None else len(self.history),
            "issues": len(self.issues),
        }


def read_export(
    *sources: str | Path | pd.DataFrame,
    source: str | None = None,
    sheet: str | int | None = None,
    table: str | None = None,
    dayfirst: bool | None = None,
    decimal: str | None = None,
    encoding: str | None = None,
    on_issues: str = "raise",
    columns: Mapping[str, str] | None = None,
) -> Export:
    """Read one or more CRM export files (or frames) into a deals table and a stage history.

    The one loader of every surface (the CLI, ``pipesheet report``): give the files in any
    order, e.g. a Salesforce Opportunity export and an OpportunityHistory export; a HubSpot deals
    export (its ``Date entered`` columns become the history); a deals CSV and a history CSV from
    any other tool.  Which file is which is decided by :func:`~pipesheet.exports.sources.table_role`
    (the export's known shape, else whether deal ids repeat) and stated in a note per file, e.g.
    "OpportunityHistory.csv read as the stage history (Salesforce OpportunityHistory;
    OpportunityId repeats)", beside the encoding, delimiter and decimal mark used.

    Args:
        sources: File paths (CSV/XLSX) or frames.
        source: Force the tool (one of :data:`SOURCES`) instead of recognising it by its headers.
        sheet, table, dayfirst, decimal, encoding: Passed to :func:`read_table`.
        on_issues: ``"raise"`` (default): contradicting rows raise a PipesheetError listing them;
            ``"report"``: they are set aside and returned in ``Export.issues``.
        columns: The user's ``{field: header}`` column mapping: used to find the deal id when
            deciding roles, and, in a known export, before the tool's own headers.

    Raises:
        PipesheetError: unreadable files, two deals tables or two histories (naming both and
            why each was read so), contradicting rows (with "raise").
    """
    if on_issues not in ("raise", "report"):
        raise PipesheetError(
            _("on_issues must be 'raise' or 'report'"),
            table="settings",
            value=on_issues,
            expected=_("raise or report"),
        )
    if source is not None and source not in SOURCES:
        raise PipesheetError(
            _("unknown export source"),
            table="settings",
            value=source,
            expected=", ".join(SOURCES),
        )
    if not sources:
        raise PipesheetError(
            _("no input files"), expected=_("a deals export and/or a history export")
        )
    deals = history = None
    deal_source = "generic"
    notes: list[str] = []
    files: list[str] = []
    issues: list[tuple] = []
    stage_order: StageList | None = None
    read: list[tuple[str, str, str, pd.DataFrame]] = []  # (label, kind, reason, frame)
    for item in sources:
        if isinstance(item, pd.DataFrame):
            frame, label = item.copy(), pgettext("table", "table")
            if frame.index.name != "row":
                frame.index = pd.RangeIndex(2, 2 + len(frame), name="row")
        else:
            frame = read_table(
                item, sheet, table, encoding=encoding, decimal=decimal, dayfirst=dayfirst
            )
            label = Path(item).name
            files.append(str(item))
            notes += [f"{label}: {n}" for n in _file_notes(frame)]
        kind = source or detect_source(frame)
        role, reason = table_role(frame, kind, columns)
        if kind == "generic" and role == "history":
            kind = "generic_history"
        read.append((label, kind, reason, frame))
    _check_roles(read)
    for label, kind, reason, frame in read:
        d, h = convert(frame, kind, label, issues, columns)
        if d is not None and h is not None and kind == "hubspot":
            reason += _("; its Date entered columns are the stage history")
        if d is not None and h is not None:
            said = _("{label} read as the deals table and stage history ({reason})")
        elif h is not None:
            said = _("{label} read as the stage history ({reason})")
        else:
            said = _("{label} read as the deals table ({reason})")
        notes.append(said.format(label=label, reason=reason))
        for t in (d, h):
            if t is not None:
                t.attrs["label"] = label  # the file it came from, for messages
        if d is not None:
            deals, deal_source = d, kind
        if h is not None:
            history = h
            stage_order = h.attrs.get("stages", stage_order)
    found = pd.concat([issue_frame(issues), check_export(deals, history)], ignore_index=True)
    if len(found):
        if on_issues == "raise":
            raise issues_error(found)
        deals, history = set_aside(deals, history, found)
        notes.append(
            _("{count} contradicting row(s) set aside; see the issues table").format(
                count=len(found)
            )
        )
    return Export(
        source=deal_source if deals is not None else "generic",
        deals=deals,
        history=history,
        issues=found,
        notes=notes,
        files=files,
        stages=stage_order,
    )


def _check_roles(read: list[tuple[str, str, str, pd.DataFrame]]) -> None:
    """At most one deals table and one history: else an error naming both files and why each
    was read as it was."""
    histories = ("salesforce_history", "generic_history")
    for role, problem, kinds in (
        (
            "deals table",
            N_("two deals tables given: {a} ({ra}) and {b} ({rb})"),
            lambda k: k not in histories,
        ),
        (
            "stage history",
            N_("two stage histories given: {a} ({ra}) and {b} ({rb})"),
            lambda k: k in (*histories, "hubspot"),
        ),
    ):
        same = [(lb, r) for lb, k, r, f in read if kinds(k) and _gives(k, f, role)]
        if len(same) > 1:
            (a, ra), (b, rb) = same[:2]
            raise PipesheetError(
                _(problem).format(a=a, ra=ra, b=b, rb=rb),
                table=b,
                expected=_(
                    "one deals table (one row per deal: ids unique) and/or one stage history (one "
                    "row per deal, stage and date: deal ids repeat); for two snapshots of the "
                    "deals use pipesheet waterfall OPENING CLOSING"
                ),
            )


def _gives(kind: str, frame: pd.DataFrame, role: str) -> bool:
    if kind == "hubspot" and role == "stage history":
        return any(DATE_ENTERED.match(str(c)) for c in frame.columns)
    return True


def _file_notes(frame: pd.DataFrame) -> list[str]:
    a = frame.attrs
    out = []
    if a.get("encoding"):
        how = "; ".join(a.get("encoding_notes") or [])
        comma = a.get("decimal") == ","
        if how:
            said = (
                _("encoding {encoding} ({how}), {delimiter}-separated, decimal comma")
                if comma
                else _("encoding {encoding} ({how}), {delimiter}-separated, decimal point")
            )
        else:
            said = (
                _("encoding {encoding}, {delimiter}-separated, decimal comma")
                if comma
                else _("encoding {encoding}, {delimiter}-separated, decimal point")
            )
        out.append(
            said.format(
                encoding=a["encoding"],
                how=how,
                delimiter=delimiter_name(a.get("delimiter") or ","),
            )
        )
    if a.get("date_order") == "day first":
        out.append(_("dates day first"))
    elif a.get("date_order") == "month first":
        out.append(_("dates month first"))
    elif a.get("date_order"):
        out.append(f"dates {a['date_order']}")
    out += a.get("notes", [])
    return out
