"""The stage list: labels, Won/Lost recognition, and inferring the open-stage order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipesheet import PipesheetError, StageList, read_history
from pipesheet.presets import stages_from_probabilities
from pipesheet.stages import history_row_order, stage_key


def history(paths: dict[str, list[str]], start: str = "2026-01-01") -> pd.DataFrame:
    """One row per stage entered, one day apart, in the order given."""
    rows = []
    day = pd.Timestamp(start)
    for deal, stages in paths.items():
        for i, stage in enumerate(stages):
            rows.append((deal, stage, (day + pd.Timedelta(days=i)).date().isoformat()))
    return pd.DataFrame(rows, columns=["Deal ID", "Stage", "Entered Date"])


def test_codes_fold_case_and_space():
    s = StageList(("Lead", "Qualified", "Proposal"))
    labels = pd.Series(["lead", " Qualified ", "PROPOSAL", "Closed Won", "closed lost", "x", None])
    # open 0..2, Won = k = 3, Lost = k + 1 = 4, unknown -1, blank -2
    assert s.codes(labels).tolist() == [0, 1, 2, 3, 4, -1, -2]
    assert s.names() == ["Lead", "Qualified", "Proposal", "Won", "Lost"]
    assert stage_key("  Closed   Won ") == "closed won"


def test_other_languages_and_custom_labels():
    s = StageList(("Neu", "Angebot"))
    assert s.code("Gewonnen") == 2 and s.code("Verloren") == 3
    custom = StageList(("Fase 1", "Fase 2"), won=("Chiuso vinto",), lost=("Chiuso perso",))
    assert custom.code("chiuso vinto") == 2 and custom.won_label == "Chiuso vinto"


def test_suggest_closest_stage():
    s = StageList(("Lead", "Qualified", "Proposal"))
    assert s.suggest("Proposl") == "Proposal"
    assert s.suggest("zzzzzz") is None


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"open": ()}, ["no open stages"]),
        ({"open": ("A",), "won": ()}, ["no label meaning Won"]),
        ({"open": ("A",), "lost": ()}, ["no label meaning Lost"]),
        ({"open": ("A", "a")}, ["stage listed twice", "row 3", "'a'"]),
        ({"open": ("A", "Won")}, ["both an open stage and Won", "'Won'"]),
    ],
)
def test_bad_stage_lists(kwargs, words):
    with pytest.raises(PipesheetError) as err:
        StageList(**kwargs)
    message = str(err.value)
    assert "table 'stages'" in message
    for word in words:
        assert word in message


def test_order_inferred_from_history_first_entry():
    # Deals created mid-funnel and moving back still give the funnel order A < B < C:
    # d1 A B C Won; d2 B C Lost (created at B); d3 A B A B (back move, open); d4 C B C (back)
    # pairwise: A before B in d1, d3 (B never before A's first entry) -> A beats B;
    # B before C in d1, d2, d3? (d3 never reaches C), d4 has C first -> B beats C 2:1.
    h = history(
        {
            "d1": ["A", "B", "C", "Closed Won"],
            "d2": ["B", "C", "Closed Lost"],
            "d3": ["A", "B", "A", "B"],
            "d4": ["C", "B", "C"],
        }
    )
    table = read_history(h)
    assert table.stages.open == ("A", "B", "C")
    assert "first-entry" in table.stages.source
    assert any("stage order inferred" in n for n in table.notes)


def test_inferred_order_does_not_depend_on_row_order():
    paths = {
        f"d{i}": ["Lead", "Qualified", "Proposal", "Closed Won"][: 2 + i % 3] for i in range(30)
    }
    h = history(paths)
    shuffled = h.sample(frac=1, random_state=4).reset_index(drop=True)
    assert read_history(h).stages.open == read_history(shuffled).stages.open
    assert read_history(shuffled).stages.open == ("Lead", "Qualified", "Proposal")


def test_same_date_rows_keep_table_order():
    # both rows on the same day: the table order (A then B) decides
    h = pd.DataFrame(
        {"Deal": ["x", "x", "y", "y"], "Stage": ["A", "B", "A", "B"], "Date": ["2026-01-01"] * 4}
    )
    assert read_history(h).stages.open == ("A", "B")


def test_order_inferred_from_probability_table():
    s = stages_from_probabilities({"Proposal": 0.5, "Lead": 0.1, "Won": 1.0, "Lost": 0})
    assert s.open == ("Lead", "Proposal")
    assert "probability table" in s.source


@settings(max_examples=60, deadline=None)
@given(
    deal=st.lists(st.integers(0, 5), min_size=1, max_size=40),
    data=st.data(),
)
def test_row_order_sorts_by_deal_then_date_then_position(deal, data):
    order = data.draw(st.lists(st.integers(0, 3), min_size=len(deal), max_size=len(deal)))
    deal_codes = pd.factorize(np.array(deal))[0]
    perm = history_row_order(deal_codes, np.array(order))
    perm = np.arange(len(deal)) if perm is None else perm
    expected = sorted(range(len(deal)), key=lambda i: (deal_codes[i], order[i], i))
    assert perm.tolist() == expected


@pytest.mark.parametrize("presorted", [False, True])
def test_row_order_large_keys(presorted):
    # many deals and dates: the combined key needs several 16-bit radix passes (or, nearly
    # sorted, one timsort); both must equal a lexsort by (deal, date, position)
    rng = np.random.default_rng(5)
    deal = rng.integers(0, 20_000, 50_000)
    order = rng.integers(0, 400, 50_000) * 86_400
    if presorted:
        s = np.lexsort((order, deal))
        deal, order = deal[s], order[s]
        order[:10] = order[:10][::-1]  # a few rows out of order
    codes = pd.factorize(deal)[0]
    perm = history_row_order(codes, order)
    assert perm is not None
    assert perm.tolist() == np.lexsort((np.arange(len(codes)), order, codes)).tolist()
