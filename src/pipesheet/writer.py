"""Write result tables to a new workbook — the one writer every surface uses.

:func:`build_workbook` lays tables out on sheets (a single table per sheet, or several titled
tables one below the other), each as an Excel Table with a bold, frozen header, number formats
chosen from the column's meaning (money, percentages, counts, dates), and text that starts with
``=``, ``+``, ``-`` or ``@`` stored as text so Excel never runs data as a formula.
Words follow the language spoken (:mod:`pipesheet.i18n`), numbers never: the header row shows each
column's :func:`~pipesheet.headings.heading` and a measure/item/setting table's first column the
heading of each name — or the frame's ``attrs["labels"]`` (one per row, already translated) —
while the number formats still follow the English names; numbers and dates stay numbers and dates.
:func:`write_workbook` saves a *new* file atomically (a temporary file in the same folder, then a
rename) and refuses to replace an existing one unless told; :func:`workbook_bytes` gives the
bytes for a download. Reading files is :func:`pipesheet.exports.read_table`.

Text a workbook cannot hold: XML 1.0 — and so an .xlsx cell — has no place for the control
characters U+0000–U+0008, U+000B, U+000C, U+000E–U+001F, for U+FFFE/U+FFFF or for lone surrogates.
They are removed from text cells, headers, titles and sheet names (tab, line feed and carriage
return are kept). Only text is touched: numbers and dates are written exactly as computed.

A user's file is never lost: the output may not be any of the inputs (same resolved path or same
file on disk, hard links included — even with ``overwrite``), a folder, or an existing file or
link (dangling or not) unless ``overwrite``. Every workbook written here carries a fingerprint of
its own content (SHA-256 of every part but ``docProps/custom.xml``, stored in the custom document
property ``pipesheet_fingerprint``); :func:`written_by_pipesheet` recomputes it from the file's
bytes, so a workbook somebody has since edited and saved (Excel keeps the property but rewrites
the parts) is no longer taken for pipesheet's own.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipesheet.errors import PipesheetError
from pipesheet.headings import heading, headings
from pipesheet.i18n import N_, _

__all__ = [
    "atomic_write_bytes",
    "build_workbook",
    "cell_text",
    "check_output",
    "workbook_bytes",
    "write_workbook",
    "written_by_pipesheet",
]

#: Author recorded in every workbook pipesheet writes.
CREATOR = "pipesheet"
#: Custom document property holding the content fingerprint (see :func:`written_by_pipesheet`).
FINGERPRINT_PROPERTY = "pipesheet_fingerprint"
_FINGERPRINT_PART = "docProps/custom.xml"
_PLACEHOLDER = "0" * 64
#: Largest workbook (sum of its uncompressed parts) whose fingerprint is checked.
_FINGERPRINT_MAX_BYTES = 512 * 1024 * 1024
#: The one money format of every workbook pipesheet writes (results and templates alike).
MONEY = "#,##0.00"
PERCENT = "0.0%"
DATE = "yyyy-mm-dd"
_INJECTION = ("=", "+", "-", "@")
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NOT_IN_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")
_PERCENT_COLS = re.compile(
    r"(probability|conversion|interval_|win_rate|error|mape|bias|gap_share|reference|p_quota|"
    r"share)",
    re.IGNORECASE,
)
_MONEY_COLS = re.compile(
    r"(amount|pipeline|weighted|forecast|actual|value|std_dev|mean|p10|p50|p90|quota|total|"
    r"change|target|average_deal|gap|closed|expected_open|running_total)",
    re.IGNORECASE,
)
_COUNT_COLS = {
    "deals",
    "reached",
    "won",
    "lost",
    "open",
    "visits",
    "won_visits",
    "closed_deals",
    "converted",
    "entered",
    "deals_needed",
    "won_deals",
    "won_new",
    "open_deals",
    "periods",
    "sign",
    "value_cents",
    "draws",
    "new_won_deals",
    "new_leads",
}

#: A sheet is one table, or several ``(title, table)`` pairs laid out one below the other.
Sheet = pd.DataFrame | Sequence[tuple[str, pd.DataFrame]]
#: ``charts(worksheet, sheet_name, [(title, header_row, table), ...])`` adds native charts.
ChartHook = Callable[[Any, str, list[tuple[str, int, pd.DataFrame]]], None]


def cell_value(v: Any) -> Any:
    """A value openpyxl can store: NaN/NaT/inf → empty, numpy scalars → Python, dates kept."""
    if v is None or v is pd.NaT:
        return None
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if isinstance(v, np.datetime64):
        return None if np.isnat(v) else pd.Timestamp(v).to_pydatetime()
    if isinstance(v, str):
        return cell_text(v)
    if isinstance(v, (datetime, date, int)):
        return v
    return cell_text(str(v))


def cell_text(text: str) -> str:
    """``text`` without the characters an .xlsx cannot hold (control characters other than tab,
    line feed and carriage return; U+FFFE/U+FFFF; lone surrogates), which are removed."""
    return _NOT_IN_XML.sub("", text)


def _sheet_title(name: str, used: set[str]) -> str:
    """A valid, unique worksheet name: no ``[]:*?/\\`` or control characters, at most 31
    characters, not blank, not starting or ending with an apostrophe."""
    base = _NOT_IN_SHEET_NAME.sub("_", cell_text(name)).strip().strip("'")[:31] or "Sheet"
    title, i = base, 2
    while title.casefold() in used:
        suffix = f" ({i})"
        title, i = base[: 31 - len(suffix)] + suffix, i + 1
    used.add(title.casefold())
    return title


def number_format(header: str, values: pd.Series) -> str | None:
    """The Excel number format a column's name and values call for (None: leave General)."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return DATE
    if pd.api.types.is_bool_dtype(values.dtype):
        return None
    if header in _COUNT_COLS:
        return "#,##0"
    if _PERCENT_COLS.search(header):
        return PERCENT
    if header.endswith("_days") or header in (
        "days_in_stage",
        "times_threshold",
        "selling_weeks",
        "leads_per_week",
        "coverage",
    ):
        return "0.0"
    if _MONEY_COLS.search(header):
        return MONEY
    if pd.api.types.is_float_dtype(values.dtype):
        return "#,##0.00"
    return None


def _measure_format(label: str, value: Any = 0.0) -> str:
    """The format of a value in a measure/value table (Range, Quota gap, Summary), chosen from
    the measure's name as :func:`number_format` chooses it from a header; whole numbers that are
    not money are counts."""
    key = "_".join(label.casefold().split())
    if key in ("error_bound", "std_dev", "mean"):
        return MONEY
    # "rate" as a word ("win rate", "win_rate"), not inside one ("Calibrated forecast")
    if re.search(r"(?<![a-z])rate|P\(|probability|p_quota", label, re.IGNORECASE):
        return PERCENT
    fmt = number_format(key, pd.Series([], dtype=float))
    if isinstance(value, int) and fmt in (None, "#,##0.00") and not _MONEY_COLS.search(key):
        return "#,##0"
    return fmt or MONEY


def _distinct(shown: list[str], names: list[str]) -> list[str]:
    """Headings an Excel Table can hold (distinct, ignoring case): a heading two columns share
    in a translation is followed by the column's name."""
    seen = [h.casefold() for h in shown]
    return [
        f"{h} ({n})" if seen.count(h.casefold()) > 1 and h != n else h
        for h, n in zip(shown, names, strict=True)
    ]


def _table_name(text: str, used: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_]", "_", text)[:40] or "T"
    if not re.match(r"[A-Za-z_]", base):
        base = "T_" + base
    name, i = base, 2
    while name.casefold() in used:
        name, i = f"{base}_{i}", i + 1
    used.add(name.casefold())
    return name


def build_workbook(sheets: Mapping[str, Sheet], *, charts: ChartHook | None = None):
    """An openpyxl Workbook holding the tables (see the module docstring for the layout)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.table import Table, TableStyleInfo

    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.creator = CREATOR
    used: set[str] = set()
    titles: set[str] = set()
    bold = Font(bold=True)
    for sheet_name, content in sheets.items():
        ws = wb.create_sheet(_sheet_title(sheet_name, titles))
        titled = not isinstance(content, pd.DataFrame)
        tables = list(content) if titled else [(sheet_name, content)]
        row = 1
        anchors: list[tuple[str, int, pd.DataFrame]] = []
        for title, frame in tables:
            if titled:
                ws.cell(row=row, column=1, value=cell_text(str(title))).font = bold
                row += 1
            header_row = row
            labels = frame.attrs.get("labels")
            frame = frame.reset_index(drop=True)
            # formats follow the column names; the header row shows their headings
            headers = [cell_text(str(c)) for c in frame.columns]
            shown = _distinct([cell_text(h) for h in headings(headers)], headers)
            for j, h in enumerate(shown, start=1):
                ws.cell(row=row, column=j, value=h).font = bold
            formats = [
                number_format(h, frame[c]) for h, c in zip(headers, frame.columns, strict=True)
            ]
            columns = [frame[c].to_numpy(dtype=object) for c in frame.columns]
            # two columns, "measure"/"item" then "value": each row's value formatted by its name
            measures = len(headers) == 2 and headers[0] in ("measure", "item", "setting")
            if measures and (labels is None or len(labels) != len(frame)):
                labels = [heading(x) if isinstance(x, str) else x for x in columns[0]]
            for i in range(len(frame)):
                r = row + 1 + i
                for j, col in enumerate(columns):
                    v = cell_value(labels[i] if measures and j == 0 else col[i])
                    if v is None:
                        continue
                    c = ws.cell(row=r, column=j + 1, value=v)
                    if isinstance(v, str):
                        if v.startswith(_INJECTION):
                            c.data_type = "s"  # stored as text: never run as a formula
                            c.quotePrefix = True
                        continue
                    fmt = formats[j]
                    if isinstance(v, (datetime, date)):
                        fmt = DATE
                    elif measures and j == 1 and not isinstance(v, bool):
                        fmt = _measure_format(str(columns[0][i]), v)
                    elif fmt is None and isinstance(v, float):
                        fmt = _measure_format(str(columns[0][i]), v)
                    if fmt:
                        c.number_format = fmt
            last = row + max(len(frame), 1)
            if len(frame) == 0:
                ws.cell(row=row + 1, column=1, value=_("(no rows)"))
            if headers:
                ref = f"A{header_row}:{get_column_letter(len(headers))}{last}"
                label = sheet_name if str(title) == sheet_name else f"{sheet_name}_{title}"
                tab = Table(displayName=_table_name(label, used), ref=ref)
                tab.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
                ws.add_table(tab)
            if not anchors:
                ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
            anchors.append((title, header_row, frame))
            for j, h in enumerate(shown, start=1):
                width = max(10, min(45, len(h) + 3))
                letter = get_column_letter(j)
                if (ws.column_dimensions[letter].width or 0) < width:
                    ws.column_dimensions[letter].width = width
            row = last + 3
        if charts is not None:
            charts(ws, sheet_name, anchors)
    return wb


def write_workbook(
    path: str | os.PathLike,
    sheets: Mapping[str, Sheet],
    *,
    overwrite: bool = False,
    charts: ChartHook | None = None,
    inputs: Iterable[str | os.PathLike | None] = (),
) -> Path:
    """Write the tables to a new .xlsx atomically (a temporary file in the same folder, then a
    rename), with the permissions of a normal new file and a content fingerprint.

    Args:
        overwrite: Replace an existing file (never an input, never a folder).
        inputs: The files this output was computed from; the output may be none of them.

    Raises:
        PipesheetError: see :func:`check_output`; or the file cannot be written (the operating
            system's reason, e.g. a read-only folder or a full disk).
    """
    dest = check_output(path, inputs=inputs, overwrite=overwrite)
    data = workbook_bytes(sheets, charts=charts)
    check_output(dest, inputs=inputs, overwrite=overwrite)  # nothing appeared meanwhile
    atomic_write_bytes(dest, data)
    return dest


def check_output(
    path: str | os.PathLike,
    *,
    inputs: Iterable[str | os.PathLike | None] = (),
    overwrite: bool = False,
    suffix: str = ".xlsx",
) -> Path:
    """The output path, checked before anything is computed or written.

    Raises:
        PipesheetError: the name does not end in ``suffix``; the output is one of ``inputs``
            (same resolved path, or the same file on disk — a hard or symbolic link to it),
            whatever ``overwrite`` says; it is a folder; it exists (a file or a link, even a
            dangling one) and ``overwrite`` is false; or its folder does not exist.
    """
    dest = Path(path)
    if suffix and dest.suffix.casefold() != suffix:
        raise PipesheetError(
            _("the output must be an {suffix} file").format(suffix=suffix),
            table="output",
            value=str(dest),
            expected=_("a file name ending in {suffix}").format(suffix=suffix),
        )
    for given in inputs:
        if given is not None and _same_file(dest, Path(given)):
            raise PipesheetError(
                _("the output would overwrite an input file"),
                table="output",
                value=str(dest),
                expected=_(
                    "another file name than the input {name!r} (inputs are only read, never "
                    "replaced, even with --force)"
                ).format(name=Path(given).name),
            )
    if dest.is_dir():
        raise PipesheetError(
            _("the output is a folder"),
            table="output",
            value=str(dest),
            expected=_("a file name ending in {suffix}").format(suffix=suffix)
            if suffix
            else _("a file name ending in a file name"),
        )
    if os.path.lexists(dest) and not overwrite:
        raise PipesheetError(
            _("the output already exists (a link)")
            if dest.is_symlink()
            else _("the output already exists (a file)"),
            table="output",
            value=str(dest),
            expected=_("a new file name, or --force to replace it"),
        )
    if not dest.parent.is_dir():
        raise PipesheetError(
            _("the output folder does not exist"),
            table="output",
            value=str(dest.parent),
            expected=_("an existing folder"),
        )
    return dest


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name the same file: same resolved path, or same device and inode
    (hard links)."""
    try:
        if a.resolve() == b.resolve():
            return True
    except (OSError, RuntimeError):  # a symlink loop: not a file we could read
        pass
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist
        return False


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, made a normal
    file (``0666`` minus the umask), then renamed over ``path`` (``os.replace``) — a reader sees
    the old file or the new one, never half of one.

    Raises:
        PipesheetError: the folder cannot be written to (named, with the system's reason).
    """
    dest = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".pipesheet-", suffix=".tmp", dir=dest.parent)
    except OSError as err:
        raise _os_error(err, dest.parent, N_("cannot create a file in the output folder")) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # a normal file, not mkstemp's private 0600
        os.replace(tmp, dest)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise _os_error(err, dest, N_("cannot write the output file")) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _os_error(err: OSError, where: Path, problem: str) -> PipesheetError:
    reason = err.strerror or type(err).__name__
    return PipesheetError(
        _("{problem}: {reason}").format(problem=_(problem), reason=reason),
        table="output",
        value=str(where),
        expected=_("a folder you can write to, with free space"),
    )


def workbook_bytes(sheets: Mapping[str, Sheet], *, charts: ChartHook | None = None) -> bytes:
    """The .xlsx file's bytes (what :func:`write_workbook` writes; also for a download link),
    with the content fingerprint in the ``pipesheet_fingerprint`` document property."""
    from openpyxl.packaging.custom import StringProperty

    wb = build_workbook(sheets, charts=charts)
    wb.custom_doc_props.append(StringProperty(name=FINGERPRINT_PROPERTY, value=_PLACEHOLDER))
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zin:
        infos = zin.infolist()
        parts = {i.filename: zin.read(i) for i in infos}
    stamp = _fingerprint(parts)
    parts[_FINGERPRINT_PART] = parts[_FINGERPRINT_PART].replace(
        _PLACEHOLDER.encode(), stamp.encode(), 1
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in infos:
            zout.writestr(info, parts[info.filename], compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _fingerprint(parts: Mapping[str, bytes]) -> str:
    """SHA-256 over every part (name and uncompressed bytes, in name order) except the one
    holding the fingerprint."""
    h = hashlib.sha256()
    for name in sorted(parts):
        if name == _FINGERPRINT_PART:
            continue
        data = parts[name]
        h.update(name.encode("utf-8") + b"\0" + str(len(data)).encode() + b"\0")
        h.update(data)
    return h.hexdigest()


def written_by_pipesheet(path: str | os.PathLike) -> bool:
    """True when ``path`` is a workbook pipesheet wrote *and nobody has changed since*, so
    replacing it loses nothing of the user's: its ``pipesheet_fingerprint`` property equals the
    fingerprint recomputed from its bytes. A workbook edited and saved in Excel (which keeps
    custom properties but rewrites the parts), a link, or any other file gives False. Only
    reads the file."""
    p = Path(path)
    if p.is_symlink() or not p.is_file():
        return False
    try:
        with zipfile.ZipFile(p) as z:
            infos = z.infolist()
            if sum(i.file_size for i in infos) > _FINGERPRINT_MAX_BYTES:
                return False
            parts = {i.filename: z.read(i) for i in infos}
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, RuntimeError, EOFError):
        return False
    custom = parts.get(_FINGERPRINT_PART, b"").decode("utf-8", "replace")
    found = re.search(
        r'<property[^>]*name="' + FINGERPRINT_PROPERTY + r'"[^>]*>\s*<vt:lpwstr>([0-9a-f]{64})<',
        custom,
    )
    return found is not None and found.group(1) == _fingerprint(parts)
