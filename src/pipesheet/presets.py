"""Stage → probability tables to start from before a team has history.

These are the *configured* probabilities that ship with common CRMs — a starting point typed in by
their vendors, not learned from anyone's data. Compare them with learned ones
(:func:`pipesheet.stage_probabilities`) as soon as there is history; pipesheet never mixes the two
silently.

* ``salesforce`` — Salesforce's default Opportunity stages (Setup → Opportunity → Stage).
* ``hubspot`` — HubSpot's default sales pipeline deal stages.
* ``suitecrm`` — SuiteCRM's (SugarCRM heritage) default sales stages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from pipesheet.columns import resolve_columns
from pipesheet.errors import PipesheetError
from pipesheet.i18n import N_, _
from pipesheet.stages import DEFAULT_LOST, DEFAULT_WON, StageList, terminal_matcher
from pipesheet.tables import check_table, parse_stage_values

__all__ = ["PRESETS", "preset", "probability_table", "stages_from_probabilities"]

PRESETS: dict[str, tuple[tuple[str, float], ...]] = {
    "salesforce": (
        ("Prospecting", 0.10),
        ("Qualification", 0.10),
        ("Needs Analysis", 0.20),
        ("Value Proposition", 0.50),
        ("Id. Decision Makers", 0.60),
        ("Perception Analysis", 0.70),
        ("Proposal/Price Quote", 0.75),
        ("Negotiation/Review", 0.90),
        ("Closed Won", 1.00),
        ("Closed Lost", 0.00),
    ),
    "hubspot": (
        ("Appointment Scheduled", 0.20),
        ("Qualified To Buy", 0.40),
        ("Presentation Scheduled", 0.60),
        ("Decision Maker Bought-In", 0.80),
        ("Contract Sent", 0.90),
        ("Closed Won", 1.00),
        ("Closed Lost", 0.00),
    ),
    "suitecrm": (
        ("Prospecting", 0.10),
        ("Qualification", 0.20),
        ("Needs Analysis", 0.25),
        ("Value Proposition", 0.30),
        ("Id. Decision Makers", 0.40),
        ("Perception Analysis", 0.50),
        ("Proposal/Price Quote", 0.65),
        ("Negotiation/Review", 0.80),
        ("Closed Won", 1.00),
        ("Closed Lost", 0.00),
    ),
}

_FIELDS = {
    "stage": ("stage", "stage_name", "name", "deal_stage"),
    "probability": (
        "probability",
        "win_probability",
        "probability (%)",
        "p",
        "default_probability",
    ),
}


def preset(name: str) -> pd.DataFrame:
    """A CRM's default stage probabilities: columns ``stage`` and ``probability`` (0–1).

    Args:
        name: ``"salesforce"``, ``"hubspot"`` or ``"suitecrm"`` (case-insensitive).
    """
    key = str(name).strip().casefold()
    if key not in PRESETS:
        raise PipesheetError(
            _("unknown preset"),
            table="presets",
            value=name,
            expected=_("one of {names}").format(names=", ".join(PRESETS)),
        )
    return pd.DataFrame(list(PRESETS[key]), columns=["stage", "probability"])


def probability_table(
    table: pd.DataFrame | Mapping[str, float] | str, *, name: str = "probabilities"
) -> pd.DataFrame:
    """A user-supplied stage → probability table, validated.

    Accepts a preset name, a mapping ``{stage: p}``, or a table with a stage column and a
    probability column (also ``win_probability`` as produced by
    :func:`~pipesheet.stage_probabilities`). Probabilities are read as
    :func:`~pipesheet.cells.parse_probabilities` reads them: 0–1 or 0–100, one scale for the whole
    table (a value with ``%`` is a percent; 0.1 beside 25 is refused, naming the cells); each
    stage once (a stage listed twice is refused).

    Returns:
        Columns ``stage`` and ``probability`` (0–1, blank where unknown).
    """
    if isinstance(table, str):
        return preset(table)
    if isinstance(table, Mapping):
        table = pd.DataFrame({"stage": list(table), "probability": list(table.values())})
    raw = check_table(table, name)
    cols = resolve_columns(raw, _FIELDS, ("stage", "probability"), table_name=name)
    pairs = list(
        zip(
            raw[cols["stage"]].to_numpy(dtype=object),
            raw[cols["probability"]].to_numpy(dtype=object),
            strict=True,
        )
    )
    read = parse_stage_values(
        pairs,
        table=name,
        column=cols["probability"],
        rows=[int(r) for r in raw.index],
        stage_column=cols["stage"],
    )
    return pd.DataFrame(
        {
            "stage": [s for s, _p in read],
            "probability": np.array([p for _s, p in read], dtype=float),
        }
    )


def stages_from_probabilities(
    table: pd.DataFrame | Mapping[str, float] | str,
    *,
    won: Iterable[str] = DEFAULT_WON,
    lost: Iterable[str] = DEFAULT_LOST,
) -> StageList:
    """The open-stage order of a stage → probability table (or preset): ascending probability.

    Stages whose label is a Won/Lost label are terminal; the rest are open, ordered by their
    probability (ties keep the table's order).  (Formerly ``StageList.from_probabilities``.)
    """
    probs = probability_table(table)
    won, lost = tuple(won), tuple(lost)
    rows = probs[terminal_matcher(won, lost).matches(probs["stage"]) < 0]
    ordered = rows.sort_values("probability", kind="stable")["stage"].tolist()
    return StageList(
        tuple(ordered), won, lost, N_("inferred from the probability table (ascending)")
    )
