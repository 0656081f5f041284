"""Cohort and Markov estimates that disagree are said, with the reason measured on the history."""

import pandas as pd
import pytest

from pipesheet import StageList, StageProbabilities
from pipesheet.probabilities import _move_shares
from pipesheet.sample import sample_deals, sample_history

STAGES = StageList(("Qualified", "Proposal"), won=("Won",), lost=("Lost",))


def bouncing_history(n: int = 200) -> pd.DataFrame:
    """Every deal: Qualified → Proposal; half win there, half go back to Qualified and are lost.

    Cohort p(Proposal) = 1/2. Markov: from Proposal, Won 1/2 and back 1/2; from Qualified, 2/3
    of the moves go to Proposal and 1/3 to Lost, so p_P = 1/2 + 1/2 · (2/3) p_P → 3/4."""
    rows = []
    day = pd.Timestamp("2026-01-01")
    for i in range(n):
        deal = f"d{i}"
        rows += [(deal, "Qualified", day), (deal, "Proposal", day + pd.Timedelta(days=5))]
        if i % 2 == 0:
            rows.append((deal, "Won", day + pd.Timedelta(days=10)))
        else:
            rows += [
                (deal, "Qualified", day + pd.Timedelta(days=10)),
                (deal, "Lost", day + pd.Timedelta(days=15)),
            ]
    return pd.DataFrame(rows, columns=["Deal ID", "Stage", "Entered Date"])


def test_bouncing_deals_make_the_estimates_disagree_and_it_is_said_why():
    model = StageProbabilities(stages=STAGES).fit(bouncing_history())
    assert model.probability("Proposal") == pytest.approx(0.5)
    table = model.disagreements()
    row = table.set_index("stage").loc["Proposal"]
    assert row["cohort"] == pytest.approx(0.5)
    assert row["markov"] == pytest.approx(0.75, abs=0.02)
    assert row["backward_share"] == pytest.approx(0.5)
    assert "go back to an earlier stage" in row["why"]
    # Qualified: markov 2/3 · 3/4 = 1/2, the cohort's too — not listed; half its deals came back
    assert "Qualified" not in set(table["stage"])
    _, revisit, skip = _move_shares(model.history_, None)
    assert list(revisit) == pytest.approx([0.5, 0.0]) and list(skip) == pytest.approx([0.0, 0.0])
    notes = model.disagreement_notes()
    assert any(n.startswith("cohort and Markov disagree at Proposal: 50.0% vs 75") for n in notes)


def test_agreeing_estimates_raise_nothing():
    model = StageProbabilities().fit(sample_history(), sample_deals())
    assert model.disagreements().empty and model.disagreement_notes() == []
    markov = StageProbabilities(method="markov").fit(sample_history(), sample_deals())
    assert markov.disagreements().empty
