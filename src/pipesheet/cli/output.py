"""What the commands print: human-readable tables (percentages, thousands separators, dates),
or with ``--json`` a list of row objects whose keys are the table headers; and the notes.

The notes of reading the files (encoding, roles…) are printed once, with the first result
(:func:`take_read_notes`).
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

#: Columns shown as percentages.
PERCENT_COLUMNS = {
    "win_probability",
    "interval_low",
    "interval_high",
    "step_conversion",
    "configured_probability",
    "probability",
    "conversion_to_next",
    "conversion_to_won",
    # backtest, calibration, time-aware, bottlenecks
    "mape",
    "bias",
    "error",
    "abs_error",
    "total_error",
    "error_time_aware",
    "error_weighted",
    "error_calibrated",
    "in_range_share",
    "p_quota",
    "calibrated_probability",
    "time_aware_probability",
    "predicted",
    "realised",
    "low",
    "high",
    "stage_probability",
    "eventual_win",
    "reference",
    "gap",
    # losses, commits
    "share_deals",
    "share_amount",
    "committed_error",
    "system_error",
}


def take_read_notes(args: argparse.Namespace) -> list[str]:
    """The notes of reading the files, once (later calls get none)."""
    notes = getattr(args, "read_notes", None) or []
    args.read_notes = []
    return notes


def _jsonable(value: Any) -> Any:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, (float, np.floating)):
        if math.isnan(value) or math.isinf(value):
            return None
        return int(value) if float(value).is_integer() else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (pd.Timestamp,)):
        return value.date().isoformat()
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    cols = [str(c) for c in frame.columns]
    return [
        {c: _jsonable(v) for c, v in zip(cols, row, strict=True)}
        for row in frame.itertuples(index=False)
    ]


def _human(frame: pd.DataFrame) -> str:
    if frame.empty:  # not pandas' "Empty DataFrame / Columns: […]"
        return "(none)"
    shown = frame.copy()
    if list(shown.columns) == ["measure", "value"] and shown["value"].dtype.kind == "f":
        shown["value"] = [
            f"{v * 100:.1f}%" if m in PERCENT_MEASURES and not _blank(v) else _number_text(v)
            for m, v in zip(shown["measure"], shown["value"], strict=True)
        ]
        return shown.to_string(index=False)
    for col in shown.columns:
        values = shown[col]
        if col in PERCENT_COLUMNS and pd.api.types.is_numeric_dtype(values.dtype):
            shown[col] = values.map(lambda v: "" if pd.isna(v) else f"{v * 100:.1f}%")
        elif pd.api.types.is_float_dtype(values.dtype):
            shown[col] = values.map(_number_text)
        elif pd.api.types.is_datetime64_any_dtype(values.dtype):
            shown[col] = values.dt.strftime("%Y-%m-%d").fillna("")
        elif values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
            # text (pandas 3 keeps it as "str"): a blank cell shows blank, never "NaN"
            shown[col] = values.astype(object).map(lambda v: "" if _blank(v) else v)
    return shown.to_string(index=False)


#: Measures (rows of a ``measure``/``value`` table) shown as percentages.
PERCENT_MEASURES = {"p_quota", "win_rate", "lead_to_win_rate"}


def range_words(rng: Any) -> list[str]:
    """What the range's method and ``error_bound`` mean, in words, under the range table."""
    bound = _number_text(float(rng.error_bound))
    if rng.range_method == "exact":
        how = "exact — every combination of wins and losses counted, nothing rounded"
        err = f"error_bound {bound}: P10/P50/P90 are exact up to rounding of cents"
    elif rng.range_method == "lattice":
        how = (
            "lattice — amounts rounded to a fine grid and the distribution computed exactly on "
            "that grid"
        )
        err = f"error_bound {bound}: the most P10/P50/P90 can differ from the exact values"
    else:
        how = "monte_carlo — simulated pipelines (reproducible: fixed seed)"
        err = f"error_bound {bound}: P10/P50/P90 are this close to the exact values (99% sure)"
    lines = [
        f"method: {how}",
        err,
        "mean = Σ amount × probability; P10/P50/P90: 10% / 50% / 90% chance the total won is at "
        "most this",
    ]
    if rng.quota is not None and rng.p_quota is not None:
        lines.append("p_quota: the chance the total won reaches the quota")
    return lines


def _blank(v: Any) -> bool:
    return v is None or v is pd.NaT or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def _number_text(v: float) -> str:
    if pd.isna(v):
        return ""
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    if abs(v) >= 1000 or float(v).is_integer():
        return f"{v:,.0f}"
    return f"{v:,.4g}"


def as_read(raw: pd.DataFrame, table: Any) -> pd.DataFrame:
    """``raw`` (a table as the file held it) with the amounts, probabilities and dates the
    engine read from it, so that a workbook shows numbers and dates, not their text."""
    out = raw.copy()
    rows = pd.RangeIndex(2, 2 + len(raw))  # the engine's frame is indexed by spreadsheet row
    for field, header in table.columns.items():
        if field in ("amount", "probability") or field.endswith("_date"):
            if field in table.frame and header in out:
                out[header] = table.frame[field].reindex(rows).to_numpy()
    return out


def emit(
    args: argparse.Namespace,
    title: str,
    frame: pd.DataFrame,
    notes: Sequence[str] = (),
    extra: Sequence[str] = (),
) -> None:
    """Print one table: its title, the table, ``extra`` lines and the notes (``--json``: the
    rows only)."""
    if args.json:
        print(json.dumps(_records(frame), ensure_ascii=False, indent=1))
        return
    print(title)
    print(_human(frame))
    for line in extra:
        print(line)
    for note in [*notes, *(() if getattr(args, "in_show", False) else take_read_notes(args))]:
        print(f"note: {note}")
    print()


def show(
    args: argparse.Namespace,
    tables: dict[str, tuple[str, pd.DataFrame]],
    notes: Sequence[str] = (),
    on_request: Sequence[str] = (),
) -> None:
    """Print the tables (or only the one chosen with ``--show``; ``on_request`` ones only then);
    with ``--json`` one list of rows: the ``--show`` table, else the first."""
    chosen = args.show
    if args.json:
        print(
            json.dumps(
                _records(tables[chosen or next(iter(tables))][1]), ensure_ascii=False, indent=1
            )
        )
        return
    args.in_show = True  # the reader's notes go last, with the others
    for key, (title, frame) in tables.items():
        if key == chosen or (chosen is None and key not in on_request):
            emit(args, title, frame)
    for note in dict.fromkeys([*notes, *take_read_notes(args)]):
        print(f"note: {note}")
