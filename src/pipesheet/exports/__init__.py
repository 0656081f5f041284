"""Read real CRM exports: Salesforce, HubSpot, Pipedrive, Odoo, or any CSV/XLSX table.

:func:`read_table` reads one file (:func:`read_bytes`: its content, e.g. an upload) into a frame
whose index is the *spreadsheet row number* (header = row 1), so every later error points at the
row the user sees:

* CSV (:mod:`~pipesheet.exports.csvfile`): encoding detected by
  :mod:`~pipesheet.exports.encoding` (UTF-8 with or without BOM, UTF-16, UTF-8 with a few stray
  bytes, one-byte code pages such as cp1252/latin-1 and cp1250) and named in a note; delimiter
  ``,`` ``;`` tab or ``|`` detected from the first lines (the one that splits the lines into the
  same number of fields).
* Numbers and dates (:mod:`~pipesheet.exports.values`): decimal mark detected from the numbers in
  the whole file (``1.250,50`` and ``12,5`` mean a decimal comma, ``1,250.50`` and ``12.5`` a
  decimal point; a ``;`` file with only ambiguous numbers such as ``1,250`` is read with a
  decimal comma, the European convention); numbers with thousands separators become numbers;
  date columns become dates, with day/month order taken from the values (a first part above 12
  means day first) or, when every date is ambiguous, from the export's convention (``dayfirst=``
  overrides; ``30.09.2026`` is always day first). Plain whole numbers stay text so ids keep their
  leading zeros.
* XLSX/XLSM/XLSB/XLS/ODS (:mod:`~pipesheet.exports.workbook`): read with the calamine engine
  (read only: the input is never saved); ``sheet=`` picks a worksheet, ``table=`` an Excel Table
  by name.  Workbook XML that pipesheet itself inspects is parsed with ``defusedxml``; what a
  workbook may make a reader decompress and allocate is bounded first
  (:mod:`~pipesheet.exports.limits`).

:func:`read_export` — the one loader of the CLI and ``pipesheet report`` — recognises the tool
from the headers (:func:`detect_source`), tells the deals table from the stage history by the
export's shape or repeated deal ids (:func:`~pipesheet.exports.sources.table_role`, noted per
file) and returns an :class:`Export` with a deals table and, when the files hold one, a stage
history, both with pipesheet's field names (``deal_id``, ``stage``, ``amount``, ``close_date``…)
ready for :func:`pipesheet.read_deals` and :func:`pipesheet.read_history`:

* **Salesforce** (:mod:`~pipesheet.exports.salesforce`) Opportunity (report export or Data
  Loader API names) and OpportunityHistory (one row per change; rows keep the amount and close
  date of that moment, so a waterfall can be rebuilt at any date).  ``IsWon``/``IsClosed`` are
  checked against the stage.
* **HubSpot** (:mod:`~pipesheet.exports.hubspot`) deals, including ``Date entered "<stage>
  (<pipeline>)"`` columns, which become a stage history (one row per stage entered).
* **Pipedrive** (:mod:`~pipesheet.exports.pipedrive`) deals (``Deal - …`` headers): a won or
  lost deal keeps the stage it was at, so the stage becomes Won/Lost from ``Deal - Status`` and
  the old stage goes to ``last_open_stage``.
* **Odoo** (:mod:`~pipesheet.exports.odoo`) CRM leads/opportunities: archived (``Active``
  false) leads are lost.
* anything else: a deals table or a stage history recognised by its columns.

Rows that contradict each other — history for deals that do not exist, a deal both won and lost
(status vs stage, deals table vs history, a Won and a Lost row at the same moment), one deal id
twice — are reported (:mod:`~pipesheet.exports.checks`): :func:`check_export` returns them as an
issues table, and :func:`read_export` raises a :class:`~pipesheet.errors.PipesheetError` listing
them (or, with ``on_issues="report"``, sets those rows aside and returns them in
``Export.issues``).

:func:`lookup` joins a column (a list price, an owner…) from a second table, and returns the keys
that did not match, never dropping a row.
"""

from pipesheet.exports.checks import ISSUE_COLUMNS, check_export
from pipesheet.exports.csvfile import TEXT_SUFFIXES
from pipesheet.exports.export import Export, read_export
from pipesheet.exports.lookup import LookupResult, lookup
from pipesheet.exports.sources import SOURCES, detect_source
from pipesheet.exports.table import read_bytes, read_table
from pipesheet.exports.workbook import WORKBOOK_SUFFIXES

__all__ = [
    "ISSUE_COLUMNS",
    "SOURCES",
    "TEXT_SUFFIXES",
    "WORKBOOK_SUFFIXES",
    "Export",
    "LookupResult",
    "check_export",
    "detect_source",
    "lookup",
    "read_bytes",
    "read_export",
    "read_table",
]
