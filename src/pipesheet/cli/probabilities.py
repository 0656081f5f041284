"""``pipesheet stage-probabilities`` (alias ``stages``): stage probabilities learned from a stage
history (:class:`pipesheet.StageProbabilities`)."""

from __future__ import annotations

import argparse
from typing import Any

import pandas as pd

from pipesheet.cli.inputs import fit_probabilities, load_files
from pipesheet.cli.options import add_file_options
from pipesheet.cli.output import emit
from pipesheet.errors import PipesheetError
from pipesheet.labels import no_closed_label_message


def add_parsers(sub: Any) -> None:
    """Add the command to the ``pipesheet`` subparsers."""
    p = sub.add_parser(
        "stage-probabilities",
        aliases=["stages"],
        help="stage probabilities learned from history",
    )
    add_file_options(p)
    p.add_argument(
        "--method",
        choices=["cohort", "markov"],
        default="cohort",
        help="cohort: won ÷ closed among deals that reached the stage (default); markov: an "
        "absorbing chain of the observed stage-to-stage transitions",
    )
    p.add_argument(
        "--won-passes-all",
        action="store_true",
        help="count won deals as having reached every stage (Odoo's convention)",
    )
    p.add_argument(
        "--shrinkage",
        type=float,
        default=0.0,
        help="pull small groups toward the overall rate with this weight",
    )
    p.set_defaults(func=cmd_stages, summary_path=True)


def _learned_something(model: Any) -> None:
    """Refuse a stage-probability table that could only be blank: no closed label at all, or a
    deals snapshot (no history), which cannot identify P(win | stage) (GLOSSARY "Snapshot")."""
    snapshot = model.history_ is None
    unordered = snapshot and model.stages_.source.startswith("inferred from the deals table")
    if model.table_["win_probability"].notna().any() and not unordered:
        return
    table = model.history_ if model.history_ is not None else model.deals_
    if not hasattr(table, "frame"):  # a frame of another engine: its reader said what it saw
        said = [n for n in model.notes_ if n.startswith("no Won or Lost label")]
        raise PipesheetError(
            said[0] if said else "no closed deal at any stage: no win probability to learn",
            table=table.name,
            column=table.columns.get("stage"),
            expected="some deals in a Won or Lost stage",
        )
    frame = table.frame
    if not (frame["code"] >= model.stages_.k).any():
        which = "history" if model.history_ is not None else "deals table"
        raise PipesheetError(
            no_closed_label_message(pd.unique(frame["stage"].to_numpy()), which),
            table=table.name,
            column=table.columns.get("stage"),
            expected="some deals in a Won or Lost stage",
        )
    if snapshot and model.table_["win_probability"].notna().any():
        raise PipesheetError(
            "the deals table says how far closed deals got (a status column), but not the "
            "order of the stages, which the estimate depends on (a deal is taken to have "
            "passed every stage before the one it was at)",
            table=table.name,
            expected="the funnel order: --stages A,B,C (or a stage-history file)",
        )
    if snapshot:
        raise PipesheetError(
            "stage probabilities cannot be learned from a deals table alone: a closed deal's "
            "row says Won or Lost but not how far it got, so P(win | stage) is not "
            "identifiable from a snapshot",
            table=table.name,
            expected="a stage-history file beside the deals file (e.g. OpportunityHistory.csv), "
            "or, to forecast without learning, forecast --probabilities "
            "salesforce|hubspot|suitecrm|configured|FILE",
        )


def cmd_stages(args: argparse.Namespace) -> int:
    """Learn and print the stage-probability table."""
    from pipesheet.exports.large import duckdb_progress

    deals, history = load_files(args)
    with duckdb_progress(getattr(args, "duckdb", None), enabled=not args.json):
        model = fit_probabilities(args, deals, history)
    _learned_something(model)
    # where cohort and Markov differ strongly, and why (human output only: not JSON rows)
    disagree = [] if args.json else model.disagreement_notes()
    emit(
        args,
        f"Stage probabilities ({model.method}; order {model.stages_.source})",
        model.table_,
        [*model.notes_, *disagree],
    )
    return 0
