"""Reading the user's tables: column aliases, explicit mapping, numeric text, dates, row numbers."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipesheet import (
    PipesheetError,
    StageList,
    read_deals,
    read_history,
    read_rates,
    reporting_amounts,
)
from pipesheet.cells import (
    _already_clean,
    _factorize_runs,
    parse_amounts,
    parse_dates,
    text_codes,
)
from pipesheet.columns import normalise_header

STAGES = StageList(("Lead", "Qualified", "Proposal"))


def deals_with(headers: dict[str, str]) -> pd.DataFrame:
    base = {
        "id": ["D1", "D2", "D3"],
        "stage": ["Lead", "Proposal", "Closed Won"],
        "amount": [100, 200, 300],
        "close": ["2026-10-01", "2026-11-15", "2026-09-01"],
    }
    return pd.DataFrame({headers.get(k, k): v for k, v in base.items()})


@pytest.mark.parametrize(
    "headers",
    [
        {"id": "Opportunity ID", "stage": "StageName", "amount": "Amount", "close": "CloseDate"},
        {"id": "Record ID", "stage": "dealstage", "amount": "amount", "close": "closedate"},
        {
            "id": "Deal - ID",
            "stage": "Deal - Stage",
            "amount": "Deal - Value",
            "close": "Expected close date",
        },
        {"id": "deal_id", "stage": "STAGE_NAME", "amount": "value", "close": "Expected Close Date"},
        {
            "id": "ID",
            "stage": "Sales Stage",
            "amount": "Opportunity Amount",
            "close": "date_deadline",
        },
    ],
)
def test_column_aliases(headers):
    deals = read_deals(deals_with(headers), stages=STAGES)
    assert deals.columns["stage"] == headers["stage"]
    assert deals.columns["amount"] == headers["amount"]
    assert deals.columns["close_date"] == headers["close"]
    assert deals.frame["amount"].tolist() == [100.0, 200.0, 300.0]
    assert deals.frame["code"].tolist() == [0, 2, 3]
    assert deals.frame["close_date"].iloc[1] == pd.Timestamp("2026-11-15")


def test_normalised_headers():
    assert normalise_header("Deal - Stage") == "dealstage"
    assert normalise_header(" Close_Date ") == "closedate"
    assert normalise_header("Probability (%)") == "probability"


def test_explicit_mapping_wins():
    table = pd.DataFrame(
        {
            "Nr": ["a", "b"],
            "Fase": ["Lead", "Proposal"],
            "Stage": ["x", "y"],  # would be picked by alias; the mapping says otherwise
            "Importe": ["1.250,50", "99"],
            "Cierre": ["2026-01-31", "2026-02-28"],
        }
    )
    deals = read_deals(
        table,
        stages=STAGES,
        columns={"deal_id": "Nr", "stage": "Fase", "amount": "Importe", "close_date": "cierre"},
    )
    assert deals.frame["stage"].tolist() == ["Lead", "Proposal"]
    assert deals.frame["amount"].tolist() == [1250.5, 99.0]
    assert deals.columns["close_date"] == "Cierre"  # matched loosely
    with pytest.raises(PipesheetError, match="column mapping says stage is in column 'Etapa'"):
        read_deals(table, stages=STAGES, columns={"stage": "Etapa"})
    with pytest.raises(PipesheetError, match="unknown field 'colour'"):
        read_deals(table, stages=STAGES, columns={"colour": "Fase"})


def test_amounts_as_numeric_text():
    values = pd.Series(["12.500,50", "1 250", "$ 3,000.00", "12,5", "EUR 99", "7", 8.25])
    # "12.500,50" EU thousands + decimal comma; "1 250" space thousands; "12,5" can only be a
    # decimal comma; "3,000.00" only a decimal point; symbols and codes around are ignored
    got = parse_amounts(values, table="deals", column="Amount").tolist()
    assert got == [12500.5, 1250.0, 3000.0, 12.5, 99.0, 7.0, 8.25]
    # "12,500" takes the column's mark: thousands beside "3,000.00", a decimal comma beside "12,5"
    assert parse_amounts(pd.Series(["12,500", "3,000.00"]), table="d", column="A")[0] == 12500
    assert parse_amounts(pd.Series(["12,500", "12,5"]), table="d", column="A")[0] == 12.5
    # ... and is refused, naming the cell, when the column has both marks
    with pytest.raises(PipesheetError, match="row 2: amount could have a decimal comma"):
        parse_amounts(
            pd.Series(["12,500", "12,5", "3,000.00"], index=[2, 3, 4]), table="d", column="A"
        )


def test_dates_iso_datetime_serial_and_string_serial():
    # Excel's 1900 date system counts days from 1899-12-30: 45930 is 2025-09-30
    assert date(1899, 12, 30) + timedelta(days=45930) == date(2025, 9, 30)
    values = pd.Series(
        [
            "2025-09-30",
            datetime(2025, 9, 30, 15, 30),
            45930,
            "45930",  # a serial read from a CSV as text
            45930.5,  # noon
            "2025-09-30T08:00:00Z",
            None,
        ],
        dtype=object,
    )
    got = parse_dates(values, table="deals", column="Close")
    assert got.tolist()[:6] == [
        pd.Timestamp("2025-09-30"),
        pd.Timestamp("2025-09-30 15:30"),
        pd.Timestamp("2025-09-30"),
        pd.Timestamp("2025-09-30"),
        pd.Timestamp("2025-09-30 12:00"),
        pd.Timestamp("2025-09-30 08:00"),
    ]
    assert pd.isna(got.iloc[6])
    real = pd.Series(pd.to_datetime(["2025-01-02", "2025-03-04"]))
    assert parse_dates(real, table="t", column="c").tolist() == real.tolist()


def test_serials_as_numbers_column_and_text_column():
    numeric = pd.Series([45930.0, 45931.0])
    text = pd.Series(["45930", "45931"], dtype="str")
    want = [pd.Timestamp("2025-09-30"), pd.Timestamp("2025-10-01")]
    assert parse_dates(numeric, table="t", column="c").tolist() == want
    assert parse_dates(text, table="t", column="c").tolist() == want


def test_row_numbers_are_spreadsheet_rows_and_blank_rows_dropped():
    table = pd.DataFrame(
        {
            "Deal ID": ["a", None, "b"],
            "Stage": ["Lead", None, "Qualified"],
            "Amount": [1, None, 2],
        }
    )
    deals = read_deals(table, stages=STAGES)
    assert deals.frame.index.tolist() == [2, 4]  # header is row 1; the blank row 3 is dropped


def test_ids_cleaned_and_excel_float_ids():
    table = pd.DataFrame(
        {"Deal ID": [101.0, " x  y ", 7], "Stage": ["Lead"] * 3, "Amount": [1, 2, 3]}
    )
    deals = read_deals(table, stages=STAGES)
    assert deals.frame["deal_id"].tolist() == ["101", "x y", "7"]


def test_stage_inferred_from_deals_notes_the_source():
    table = pd.DataFrame(
        {
            "Deal ID": ["a", "b", "c", "d"],
            "Stage": ["Proposal", "Lead", "Closed Won", "Qualified"],
            "Amount": 1,
            "Probability (%)": [60, 10, 100, 30],
        }
    )
    deals = read_deals(table)
    assert deals.stages.open == ("Lead", "Qualified", "Proposal")  # by configured probability
    assert any("configured probabilities" in n for n in deals.notes)
    assert deals.frame["probability"].tolist() == [0.6, 0.1, 1.0, 0.3]


def test_blank_amounts_are_read_and_priced_only_by_choice():
    table = pd.DataFrame(
        {"Deal ID": ["a", "b", "c"], "Stage": ["Lead"] * 3, "Amount": [1, None, " "]}
    )
    deals = read_deals(table, stages=STAGES)  # reading needs no amount
    assert deals.frame["amount"].isna().tolist() == [False, True, True]
    with pytest.raises(PipesheetError, match="amount is blank"):
        reporting_amounts(deals)
    with pytest.deprecated_call():
        skipped = read_deals(table, stages=STAGES, skip_blank_amounts=True)
    assert skipped.frame["deal_id"].tolist() == ["a"]
    assert any("2 deal(s) with a blank amount skipped (rows 3, 4)" in n for n in skipped.notes)


def test_history_frame_and_rates():
    h = pd.DataFrame(
        {
            "OpportunityId": ["o1", "o1", "o2"],
            "StageName": ["Lead", "Closed Won", "Lead"],
            "CreatedDate": ["2026-01-01", "2026-02-01", 45930],
        }
    )
    hist = read_history(h, stages=STAGES)
    assert hist.frame["code"].tolist() == [0, 3, 0]
    assert hist.frame["entered_date"].iloc[2] == pd.Timestamp("2025-09-30")
    rates = read_rates({"eur": 1, "USD": "0,92"})
    assert rates.to_dict() == {"EUR": 1.0, "USD": 0.92}


# ---- the fast paths agree with the plain ones ------------------------------------------------
@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.sampled_from(["a", "a", "b", " b", "c  d", "", None, 3.0, 4, "é\u2003x"]), max_size=30
    )
)
def test_factorize_runs_and_clean_text_match_plain(values):
    series = pd.Series(values, dtype=object)
    codes, uniques = _factorize_runs(series)
    plain_codes, plain_uniques = pd.factorize(series.to_numpy(), use_na_sentinel=True)
    assert codes.tolist() == plain_codes.tolist()
    assert list(uniques) == list(plain_uniques)
    codes, uniques, _ = text_codes(series)
    cleaned = [None if c < 0 else uniques[c] for c in codes]
    expected = []
    for v in values:
        if v is None:
            expected.append(None)
        elif isinstance(v, float | int):
            expected.append(str(int(v)))
        else:
            expected.append(" ".join(v.split()) or None)
    assert cleaned == expected


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(alphabet=" a\t\xa0\u2003b\x00", max_size=4), min_size=1, max_size=6))
def test_already_clean_is_sound_and_exact_without_nul(texts):
    arr = np.array(texts, dtype=object)
    truly = all(" ".join(t.split()) == t and t != "" for t in texts)
    if _already_clean(arr):  # never wrong when it says "clean" (then no cleaning is done)
        assert truly
    if not any("\x00" in t for t in texts):  # NUL is its separator: only then may it be cautious
        assert _already_clean(arr) == truly


def test_history_grouped_or_shuffled_gives_same_result():
    from pipesheet import StageProbabilities
    from pipesheet.sample import sample_history

    h = sample_history()
    a = StageProbabilities().fit(h).table_
    b = StageProbabilities().fit(h.sample(frac=1, random_state=1)).table_
    pd.testing.assert_frame_equal(a, b)
