"""The bad-input corpus: every kind of bad input gets a PipesheetError naming table, column,
spreadsheet row (header = row 1) and the offending value — never a pandas traceback."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipesheet import (
    PipesheetError,
    StageList,
    StageProbabilities,
    read_deals,
    read_history,
    read_rates,
    reporting_amounts,
    weighted_forecast,
)

STAGES = StageList(("Lead", "Qualified", "Proposal"))


def deals(**overrides) -> pd.DataFrame:
    table = {
        "Deal ID": ["D1", "D2", "D3", "D4"],
        "Stage": ["Lead", "Qualified", "Proposal", "Closed Won"],
        "Amount": [1000, 2000, 3000, 4000],
        "Close Date": ["2026-10-01", "2026-10-15", "2026-11-01", "2026-09-01"],
    }
    table.update(overrides)
    return pd.DataFrame(table)


def message(fn) -> str:
    with pytest.raises(PipesheetError) as err:
        fn()
    assert isinstance(err.value, ValueError)
    return str(err.value)


def assert_names(text: str, *parts: str) -> None:
    for part in parts:
        assert part in text, f"{part!r} not in {text!r}"


def test_unknown_stage_suggests_the_closest():
    text = message(
        lambda: read_deals(deals(Stage=["Lead", "Qualifed", "Proposal", "Won"]), stages=STAGES)
    )
    # D2 is on spreadsheet row 3 (header = row 1)
    assert_names(
        text, "table 'deals'", "column 'Stage'", "row 3", "'Qualifed'", "did you mean 'Qualified'"
    )


def test_unknown_stage_in_history():
    h = pd.DataFrame(
        {
            "Deal ID": ["D1", "D1", "D2"],
            "Stage": ["Lead", "Proposal", "Negotation"],
            "Entered Date": ["2026-01-01", "2026-01-05", "2026-01-02"],
        }
    )
    text = message(lambda: read_history(h, stages=STAGES))
    assert_names(
        text, "table 'history'", "column 'Stage'", "row 4", "'Negotation'", "expected one of"
    )


def test_missing_required_column_lists_what_is_there():
    no_amount = read_deals(deals().drop(columns=["Amount"]), stages=STAGES)  # stages need none
    text = message(lambda: weighted_forecast(no_amount, {"Lead": 0.1, "Qualified": 0.3}))
    assert_names(
        text, "table 'deals'", "missing required column for amount", "'Deal ID'", "'Stage'"
    )
    text = message(lambda: read_deals(deals().drop(columns=["Stage"]), stages=STAGES))
    assert_names(text, "table 'deals'", "missing required column for stage")
    text = message(lambda: read_history(pd.DataFrame({"Deal": ["a"], "Stage": ["Lead"]})))
    assert_names(text, "table 'history'", "entered_date")


def test_missing_column_suggests_a_near_header():
    table = deals().rename(columns={"Stage": "Stagee"})
    text = message(lambda: read_deals(table, stages=STAGES))
    assert_names(text, "did you mean 'Stagee'?", "stage=Stagee")


def test_negative_amount():
    text = message(lambda: read_deals(deals(Amount=[1000, 2000, -5, 4000]), stages=STAGES))
    assert_names(text, "table 'deals'", "column 'Amount'", "row 4", "amount is negative", "-5")
    assert "np.int64" not in text


def test_non_numeric_amount():
    text = message(
        lambda: read_deals(deals(Amount=["1,000", "lots", "3000", "4.000,00"]), stages=STAGES)
    )
    assert_names(text, "table 'deals'", "column 'Amount'", "row 3", "not a number", "'lots'")


def test_infinite_and_boolean_amounts():
    text = message(lambda: read_deals(deals(Amount=[1.0, np.inf, 2.0, 3.0]), stages=STAGES))
    assert_names(text, "column 'Amount'", "row 3", "not finite")
    text = message(lambda: read_deals(deals(Amount=[True, False, True, True]), stages=STAGES))
    assert_names(text, "column 'Amount'", "TRUE/FALSE")


def test_unparseable_date():
    dates = ["2026-10-01", "next week", "2026-11-01", "2026-09-01"]
    text = message(lambda: read_deals(deals(**{"Close Date": dates}), stages=STAGES))
    assert_names(text, "table 'deals'", "column 'Close Date'", "row 3", "not a date", "'next week'")


def test_ambiguous_day_month_date_is_not_guessed():
    dates = ["2026-10-01", "03/04/2026", "2026-11-01", "2026-09-01"]
    text = message(lambda: read_deals(deals(**{"Close Date": dates}), stages=STAGES))
    assert_names(text, "row 3", "ambiguous", "'03/04/2026'")


def test_serial_out_of_range():
    dates = ["2026-10-01", "2026-10-01", 99999999, "2026-09-01"]
    text = message(lambda: read_deals(deals(**{"Close Date": dates}), stages=STAGES))
    assert_names(text, "column 'Close Date'", "row 4", "outside the supported date range")


def test_blank_history_date():
    h = pd.DataFrame(
        {"Deal ID": ["a", "b"], "Stage": ["Lead", "Lead"], "Entered Date": ["2026-01-01", None]}
    )
    text = message(lambda: read_history(h, stages=STAGES))
    assert_names(text, "table 'history'", "column 'Entered Date'", "row 3", "date is blank")


def test_duplicate_deal_ids_name_every_row():
    text = message(
        lambda: read_deals(deals(**{"Deal ID": ["D1", "D2", "D1", "D1"]}), stages=STAGES)
    )
    assert_names(
        text, "table 'deals'", "column 'Deal ID'", "rows 2, 4, 5", "'D1'", "more than once"
    )


def test_blank_deal_id():
    text = message(lambda: read_deals(deals(**{"Deal ID": ["D1", " ", "D3", "D4"]}), stages=STAGES))
    assert_names(text, "column 'Deal ID'", "row 3", "deal id is blank")


def test_history_rows_for_unknown_deals():
    h = pd.DataFrame(
        {
            "Deal ID": ["D1", "D9", "D2"],
            "Stage": ["Lead", "Lead", "Qualified"],
            "Entered Date": ["2026-01-01", "2026-01-02", "2026-01-03"],
        }
    )
    text = message(lambda: StageProbabilities(stages=STAGES).fit(h, deals()))
    assert_names(
        text, "table 'history'", "column 'Deal ID'", "row 3", "'D9'", "not in the deals table"
    )


@pytest.mark.parametrize(
    "table",
    [
        pd.DataFrame({"Deal ID": [], "Stage": [], "Amount": []}),
        pd.DataFrame({"Deal ID": [None, None], "Stage": [None, None], "Amount": [None, None]}),
        pd.DataFrame(),
    ],
)
def test_empty_tables(table):
    text = message(lambda: read_deals(table, stages=STAGES))
    assert_names(text, "table 'deals'", "the table is empty")
    text = message(lambda: read_history(table.rename(columns={"Amount": "Date"})))
    assert_names(text, "table 'history'", "the table is empty")


def test_not_a_table():
    text = message(lambda: read_deals([1, 2, 3]))
    assert_names(text, "table 'deals'", "expected a table, got list")


def test_stage_list_without_won_or_lost():
    assert_names(
        message(lambda: StageList(("Lead",), won=())), "table 'stages'", "no label meaning Won"
    )
    assert_names(
        message(lambda: StageList(("Lead",), lost=[])), "table 'stages'", "no label meaning Lost"
    )


def test_history_with_only_terminal_rows():
    h = pd.DataFrame(
        {"Deal ID": ["a", "b"], "Stage": ["Closed Won", "Lost"], "Date": ["2026-01-01"] * 2}
    )
    assert_names(message(lambda: read_history(h)), "table 'history'", "no open stages")


def test_mixed_currencies_without_rates():
    table = deals(Currency=["EUR", "USD", "EUR", "EUR"])
    probs = {"Lead": 0.1, "Qualified": 0.2, "Proposal": 0.5}
    text = message(lambda: weighted_forecast(table, probs, stages=STAGES))
    assert_names(text, "table 'deals'", "column 'Currency'", "EUR, USD", "no exchange rates")
    text = message(lambda: weighted_forecast(table, probs, stages=STAGES, rates={"EUR": 1}))
    assert_names(text, "column 'Currency'", "row 3", "no exchange rate for USD", "'USD'")


def test_bad_rates():
    text = message(lambda: read_rates(pd.DataFrame({"Currency": ["EUR", "USD"], "Rate": [1, 0]})))
    assert_names(text, "table 'rates'", "column 'Rate'", "row 3", "above zero")
    text = message(lambda: read_rates(pd.DataFrame({"Currency": ["EUR", "eur"], "Rate": [1, 1]})))
    assert_names(text, "table 'rates'", "rows 2, 3", "currency listed twice", "'EUR'")


def test_probability_above_100():
    text = message(
        lambda: read_deals(deals(**{"Probability (%)": [10, 20, 150, 100]}), stages=STAGES)
    )
    assert_names(text, "column 'Probability (%)'", "row 4", "probability above 100", "150")


def test_row_numbers_count_blank_rows():
    # a blank line in the sheet is still a row: D3 sits on row 5, after the blank row 4
    table = pd.DataFrame(
        {
            "Deal ID": ["D1", "D2", None, "D3"],
            "Stage": ["Lead", "Lead", None, "Lead"],
            "Amount": [1, 2, None, -3],
        }
    )
    text = message(lambda: read_deals(table, stages=STAGES))
    assert_names(text, "row 5", "amount is negative")


def test_blank_amounts_skipped_on_purpose_are_counted():
    table = deals(Amount=[1000, None, "", 4000])
    text = message(lambda: reporting_amounts(read_deals(table, stages=STAGES)))
    assert_names(text, "rows 3, 4", "amount is blank", "skip", "zero")
    with pytest.deprecated_call():
        ok = read_deals(table, stages=STAGES, skip_blank_amounts=True)
    assert len(ok.frame) == 2
    assert any("2 deal(s) with a blank amount skipped (rows 3, 4)" in n for n in ok.notes)


def test_many_rows_are_summarised():
    n = 12
    table = pd.DataFrame({"Deal ID": [f"d{i}" for i in range(n)], "Stage": "Lead", "Amount": -1})
    text = message(lambda: read_deals(table, stages=STAGES))
    assert_names(text, "rows 2, 3, 4, 5, 6 and 7 more")


def test_history_blank_rows_dropped_and_rows_still_counted():
    h = pd.DataFrame(
        {
            "Deal ID": ["a", None, "b", "b"],
            "Stage": ["Lead", None, "Lead", "Proposl"],
            "Entered Date": ["2026-01-01", None, "2026-01-02", "2026-01-03"],
        }
    )
    text = message(lambda: read_history(h, stages=STAGES))
    assert_names(text, "table 'history'", "row 5", "'Proposl'", "did you mean 'Proposal'")
    ok = read_history(h.iloc[:3], stages=STAGES)
    assert ok.frame.index.tolist() == [2, 4]
    h.loc[1, "Stage"] = "Lead"  # not blank: a row with a stage but no deal id is an error
    assert_names(message(lambda: read_history(h, stages=STAGES)), "row 3", "deal id is blank")
