"""What the commands read: the files, the stage list, the column mapping, the settings.

Files are read by the one loader every surface uses (:func:`pipesheet.exports.read_export`),
imported only when a command is given files, so that ``pipesheet leads --conversions …`` reads
nothing but its arguments.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import pandas as pd

from pipesheet.columns import HISTORY_FIELDS, resolve_columns
from pipesheet.errors import PipesheetError
from pipesheet.labels import no_closed_label_message
from pipesheet.stages import DEFAULT_LOST, DEFAULT_WON, StageList, terminal_matcher
from pipesheet.tables import read_history


def is_history(frame: pd.DataFrame) -> bool:
    """A table is read as a stage history by the readers' rule
    (:func:`pipesheet.exports.sources.table_role`: the export's shape, else repeated deal ids)."""
    from pipesheet.exports.sources import table_role

    return table_role(frame)[0] == "history"


def load_files(args: argparse.Namespace) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The deals table and the stage history of ``args.files``, in any order, read by the one
    loader every surface uses (:func:`pipesheet.exports.read_export`: CRM-aware, roles decided
    from the export's shape and repeated ids).  What it noticed (encoding, roles…) is kept in
    ``args`` and printed with the first result (human output only)."""
    if not args.files:
        return None, None
    from pipesheet.exports.large import choose_engine, read_large

    engine = choose_engine(
        args.files,
        getattr(args, "engine", "pandas"),
        supported=getattr(args, "summary_path", False),
        command=str(getattr(args, "command", "this command")),
    )
    if engine == "duckdb":  # the files stay where they are; the counting runs in DuckDB
        large = read_large(
            args.files,
            encoding=getattr(args, "encoding", None),
            columns=column_mapping(args) if getattr(args, "columns", None) else None,
        )
        args.read_notes = list(large.notes)
        args.duckdb = large.connection
        return large.deals, large.history
    from pipesheet.exports import read_export

    export = read_export(
        *args.files,
        sheet=args.sheet,
        table=args.table,
        encoding=getattr(args, "encoding", None),
        dayfirst=getattr(args, "dayfirst", None),
        columns=column_mapping(args) if getattr(args, "columns", None) else None,
    )
    args.read_notes = list(export.notes)
    args.export_stages = export.stages
    learns = not (
        getattr(args, "command", None) == "waterfall"
        or getattr(args, "probabilities", None)
        or getattr(args, "conversions", None)
    )
    deals, history = pipeline_only(args, export.deals, export.history)
    if history is not None and learns:
        _need_closed_labels(args, history)
    return deals, history


def pipeline_only(
    args: argparse.Namespace, deals: pd.DataFrame | None, history: pd.DataFrame | None
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """``--pipeline NAME``: the deals of that pipeline (names compared without case and spaces)
    and the history rows of those deals — one pipeline, computed as a file of one pipeline.
    The rows keep their spreadsheet row numbers."""
    name = getattr(args, "pipeline", None)
    if not name:
        return deals, history
    from pipesheet.cells import clean_text_column
    from pipesheet.columns import DEAL_FIELDS
    from pipesheet.stages import stage_key

    if deals is None:
        raise PipesheetError(
            "--pipeline needs the deals file: it says which pipeline each deal is in",
            table="options",
            column="--pipeline",
            value=name,
            expected="a deals file with a pipeline column beside the history",
        )
    label = deals.attrs.get("label") or "deals"
    mapping = only_fields(column_mapping(args), DEAL_FIELDS)
    cols = resolve_columns(deals, DEAL_FIELDS, ("deal_id",), table_name=label, mapping=mapping)
    if "pipeline" not in cols:
        raise PipesheetError(
            "--pipeline: the deals file has no pipeline column",
            table=label,
            column="--pipeline",
            value=name,
            expected="a column such as 'Pipeline' (or map yours with --columns pipeline=HEADER)",
        )
    names = clean_text_column(deals[cols["pipeline"]])
    keep = (names.map(stage_key, na_action="ignore") == stage_key(name)).to_numpy()
    if not keep.any():
        present = list(dict.fromkeys(names.dropna()))
        raise PipesheetError(
            "no deal is in this pipeline",
            table=label,
            column=cols["pipeline"],
            value=name,
            expected="one of the pipelines in the file: " + ", ".join(map(repr, present)),
        )
    chosen = deals[keep]
    args.read_notes = [
        *getattr(args, "read_notes", []),
        f"pipeline {names[keep].iloc[0]!r} only: {int(keep.sum()):,} of {len(deals):,} deals",
    ]
    if history is None:
        return chosen, None
    hist_map = only_fields(column_mapping(args), HISTORY_FIELDS)
    hcol = resolve_columns(
        history, HISTORY_FIELDS, ("deal_id",), table_name="history", mapping=hist_map
    )["deal_id"]
    ids = set(clean_text_column(chosen[cols["deal_id"]]).dropna())
    rows = clean_text_column(history[hcol]).isin(ids).to_numpy()
    return chosen, history[rows]


def _need_closed_labels(args: argparse.Namespace, history: pd.DataFrame) -> None:
    """A history without any Won or Lost label (defaults, or --won/--lost) teaches nothing: every
    deal is open.  Say so, listing the labels it has and how to declare them."""
    mapping = only_fields(column_mapping(args), HISTORY_FIELDS)
    col = resolve_columns(
        history,
        HISTORY_FIELDS,
        ("stage",),
        table_name="history",
        mapping=mapping,
        shared=("amount",),
    )["stage"]
    won = tuple(getattr(args, "won", None) or DEFAULT_WON)
    lost = tuple(getattr(args, "lost", None) or DEFAULT_LOST)
    if (terminal_matcher(won, lost).matches(history[col]) >= 0).any():
        return
    raise PipesheetError(
        no_closed_label_message(pd.unique(history[col].dropna().to_numpy()), "history"),
        table=history.attrs.get("label", "history"),
        column=col,
        expected="some deals that reached a Won or Lost stage",
    )


def stage_list(args: argparse.Namespace) -> StageList | None:
    """The stage list of ``--stages``/``--won``/``--lost`` (or the export's own order); a
    :class:`Pending` when only ``--won``/``--lost`` are given; None to infer it all."""
    won = tuple(args.won) if args.won else DEFAULT_WON
    lost = tuple(args.lost) if args.lost else DEFAULT_LOST
    if args.stages:
        return StageList(tuple(s.strip() for s in args.stages.split(",") if s.strip()), won, lost)
    order = getattr(args, "export_stages", None)
    if order is not None:  # the export states its pipeline order (HubSpot's column order)
        return StageList(order.open, won, lost, order.source)
    if args.won or args.lost:
        return Pending(won, lost)  # type: ignore[return-value]
    return None


class Pending:
    """Won/Lost labels given without an open-stage order: the order is still inferred."""

    def __init__(self, won: tuple[str, ...], lost: tuple[str, ...]) -> None:
        self.won, self.lost = won, lost


def column_mapping(args: argparse.Namespace) -> dict[str, str] | None:
    """``--columns FIELD=HEADER`` (repeatable; the old spelling ``--col`` too) as a mapping."""
    out: dict[str, str] = {}
    for item in getattr(args, "columns", None) or []:
        field, sep, header = item.partition("=")
        if not sep or not field.strip() or not header.strip():
            raise PipesheetError(
                "column mapping must look like field=Header",
                table="options",
                column="--columns",
                value=item,
                expected="e.g. --columns stage=Fase",
            )
        out[field.strip()] = header.strip()
    return out or None


def fit_probabilities(args: argparse.Namespace, deals, history, **extra: Any):
    """:class:`~pipesheet.probabilities.StageProbabilities` learned from the files with the
    command's settings (``--method``, ``--stages``/``--won``/``--lost``, ``--as-of``, ``--by``,
    ``--columns``…)."""
    from pipesheet.probabilities import StageProbabilities

    if history is None:
        stages = stage_list(args)
        if isinstance(stages, Pending):
            raise PipesheetError(
                "--won/--lost without --stages need a history file to infer the stage order",
                table="options",
                expected="--stages A,B,C or a history file",
            )
    else:
        stages = history_stages(args, history)
    return StageProbabilities(
        method=getattr(args, "method", "cohort"),
        stages=stages,
        won_passes_all=getattr(args, "won_passes_all", False),
        shrinkage=getattr(args, "shrinkage", 0.0) or 0.0,
        as_of=args.as_of,
        by=extra.get("by", getattr(args, "by", None)),
        columns=column_mapping(args),
    ).fit(history, deals)


def only_fields(mapping: dict[str, str] | None, fields: dict) -> dict[str, str] | None:
    """The entries of ``mapping`` for ``fields`` (None when none)."""
    if not mapping:
        return None
    return {k: v for k, v in mapping.items() if k in fields} or None


def forecast_probabilities(args: argparse.Namespace, deals, history):
    """(what the forecast prices with, the learned model or None): ``--probabilities``
    (a preset, ``configured`` or a stage/probability file), else learned from the history."""
    if args.probabilities:
        from pipesheet.presets import PRESETS

        value = args.probabilities
        if value.casefold() in PRESETS or value.casefold() == "configured":
            return value, None
        from pipesheet.exports import read_table

        return read_table(value), None
    if history is None:
        raise PipesheetError(
            "a forecast needs stage probabilities",
            table="options",
            expected="a history file to learn them from, or --probabilities "
            "salesforce|hubspot|suitecrm|configured|FILE",
        )
    model = fit_probabilities(args, deals, history, by=None)
    return model, model


def given_stages(args: argparse.Namespace) -> StageList | None:
    """``--stages`` (with ``--won``/``--lost``), or None when the order is to be inferred."""
    stages = stage_list(args)
    return None if isinstance(stages, Pending) else stages


def conversions_arg(text: str) -> list[tuple[str, float]]:
    """``Stage=rate,…`` (``--conversions``, ``--benchmark``) as (stage, rate text) pairs."""
    pairs = []
    for item in text.split(","):
        stage, sep, rate = item.rpartition("=")
        if not sep:
            raise PipesheetError(
                "conversions must look like Stage=rate,...",
                table="options",
                column="--conversions",
                value=item,
                expected="e.g. Lead=0.5,Qualified=0.4,Proposal=0.25",
            )
        pairs.append((stage.strip(), rate.strip()))
    return pairs


def days_arg(text: str) -> dict[str, float]:
    """``Stage=days,…`` (``--days-in-stage``) as a mapping."""
    out: dict[str, float] = {}
    for item in text.split(","):
        stage, sep, days = item.rpartition("=")
        try:
            value = float(days)
        except ValueError:
            value = math.nan
        if not sep or not stage.strip() or math.isnan(value):
            raise PipesheetError(
                "days in stage must look like Stage=days,...",
                table="options",
                column="--days-in-stage",
                value=item,
                expected="e.g. Lead=12,Qualified=20,Proposal=15",
            )
        out[" ".join(stage.split())] = value
    return out


def need_history(history: pd.DataFrame | None, what: str) -> pd.DataFrame:
    """The history, or a clear error saying ``what`` needs one."""
    if history is None:
        raise PipesheetError(
            f"{what} needs a stage-history file",
            table="options",
            expected="a history CSV/XLSX (deal id, stage, date entered), e.g. OpportunityHistory",
        )
    return history


def rates_file(args: argparse.Namespace) -> pd.DataFrame | None:
    """The ``--rates`` file as a table (None when not given)."""
    if not getattr(args, "rates", None):
        return None
    from pipesheet.exports import read_table

    return read_table(args.rates)


def history_stages(args: argparse.Namespace, history: pd.DataFrame) -> StageList | None:
    """--stages / --won / --lost for a history-based command (the open order is inferred from the
    history when only --won/--lost are given)."""
    stages = stage_list(args)
    if isinstance(stages, Pending) and not isinstance(history, pd.DataFrame):
        from pipesheet.summaries import lazy_history

        return lazy_history(
            history,
            won=stages.won,
            lost=stages.lost,
            columns=only_fields(column_mapping(args), HISTORY_FIELDS),
        ).stages
    if isinstance(stages, Pending):
        return read_history(
            history,
            won=stages.won,
            lost=stages.lost,
            columns=only_fields(column_mapping(args), HISTORY_FIELDS),
        ).stages
    return stages
