"""A history with a stage-design defect, in the shape of the bundled sample: a "Demo" stage
that only 5 of the deals reaching Proposal visited (the day after they were qualified) — a stage
most deals skip, with too few closed deals to learn a probability."""

from __future__ import annotations

import pandas as pd

STAGES = ("Lead", "Qualified", "Demo", "Proposal", "Negotiation")


def with_demo_stage(history: pd.DataFrame, visits: int = 5) -> pd.DataFrame:
    """``history`` (Deal ID, Stage, Entered Date) with a Demo row for ``visits`` deals."""
    h = history.copy()
    h["Entered Date"] = pd.to_datetime(h["Entered Date"])
    reached = h.loc[h["Stage"] == "Proposal", "Deal ID"].unique()[:visits]
    qual = h[(h["Stage"] == "Qualified") & h["Deal ID"].isin(reached)]
    day_after = qual["Entered Date"] + pd.Timedelta(days=1)
    demo = qual.assign(Stage="Demo", **{"Entered Date": day_after})
    out = pd.concat([h, demo]).sort_values(["Deal ID", "Entered Date"], kind="stable")
    out["Entered Date"] = out["Entered Date"].dt.strftime("%Y-%m-%d")
    return out.reset_index(drop=True)
