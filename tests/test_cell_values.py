"""Every cell value read right or refused naming the cell (issue 10.2–10.4, 10.10, 8.14, 8.17).

One rule for numbers, dates and probabilities in cells (:mod:`pipesheet.cells`), the same in the
engine's readers, the CSV/XLSX reader and the Excel functions.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipesheet import read_deals, read_history, weighted_forecast
from pipesheet.cells import (
    DATE_MAX,
    DATE_MIN,
    MAX_AMOUNT,
    read_date_texts,
    read_number_texts,
)
from pipesheet.cli import main
from pipesheet.errors import PipesheetError
from pipesheet.exports import read_table
from pipesheet.planning import leads_needed, quota_gap
from pipesheet.presets import probability_table
from pipesheet.stages import StageList
from pipesheet.tables import parse_amounts, parse_dates, parse_probabilities, read_rates

STAGES = StageList(("Lead", "Qualified", "Proposal"))


def deals_table(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    base = {
        "Deal ID": [f"D{i}" for i in range(1, n + 1)],
        "Stage": ["Lead"] * n,
        "Amount": [1000.0] * n,
        "Close Date": ["2026-10-01"] * n,
    }
    base.update(columns)
    return pd.DataFrame(base)


def error_of(fn) -> str:
    with pytest.raises(PipesheetError) as info:
        fn()
    return str(info.value)


def amounts(values, index=None) -> pd.Series:
    s = pd.Series(values, dtype=object)
    s.index = index if index is not None else range(2, 2 + len(s))
    return parse_amounts(s, table="deals", column="Amount")


# ---- 10.2 amounts ------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["(1,200)", "1,200-", "−1200", "–1200", "($1,200.00)", "-€1,200"])
def test_accounting_and_unicode_negatives_are_negative(text):
    read = read_number_texts(pd.Series([text]), ".")
    assert read.values[0] == -1200  # read as what they say...
    msg = error_of(lambda: amounts(["100", text]))
    # ... which an amount refuses, naming the cell
    assert "column 'Amount', row 3: amount is negative" in msg and repr(text) in msg


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1.5M", "has a magnitude suffix"),
        ("250k", "has a magnitude suffix"),
        ("2bn", "has a magnitude suffix"),
        ("€ 3 Mio.", "has a magnitude suffix"),
        ("50%", "is a percentage"),
        ("TRUE", "is TRUE/FALSE"),
        ("#N/A", "is an Excel error value"),
        ("#VALUE!", "is an Excel error value"),
        ("n/a", "is not a number"),
        ("12 apples", "is not a number"),
    ],
)
def test_amount_text_that_is_not_a_plain_number_is_refused_naming_the_cell(text, problem):
    msg = error_of(lambda: amounts(["1,000", "2,000", text]))
    assert f"column 'Amount', row 4: amount {problem}" in msg
    assert repr(text) in msg and "expected" in msg


def test_true_cell_and_na_cell_are_not_one_and_not_blank():
    msg = error_of(lambda: amounts([10.0, True, 20.0]))
    assert "row 3: amount is TRUE/FALSE" in msg
    # 10.10: an Excel error value is named as such, never reported as "blank"
    msg = error_of(lambda: read_deals(deals_table(Amount=[1.0, "#N/A", 3.0]), stages=STAGES))
    assert "row 3: amount is an Excel error value (value '#N/A')" in msg
    assert "blank" not in msg.split(";")[0]


def test_supported_magnitude():
    assert amounts([MAX_AMOUNT, 0.0]).tolist() == [MAX_AMOUNT, 0.0]
    msg = error_of(lambda: amounts([1.0, 1e308]))
    assert "row 3: amount is too large" in msg and "1e+15" in msg
    msg = error_of(lambda: amounts(["1e308"]))
    assert "too large" in msg
    msg = error_of(lambda: read_rates({"USD": 1.0, "XYZ": 1e9}))
    assert "rate is too large" in msg


def test_amounts_of_1e308_never_reach_a_forecast():
    table = deals_table(Amount=[1e308, 1e308])
    msg = error_of(
        lambda: weighted_forecast(table, {"Lead": 0.5, "Qualified": 0.6, "Proposal": 0.7})
    )
    assert "amount is too large" in msg


def test_currency_signs_codes_and_separators_are_read():
    got = amounts(["$ 3,000.00", "USD 1,200", "1 250", "1'250", "kr 1 200", "1.5E+06", 7, 8.25])
    assert got.tolist() == [3000, 1200, 1250, 1250, 1200, 1.5e6, 7, 8.25]
    # the decimal mark of text without evidence comes from the column
    assert amounts(["1.250", "12,5"]).tolist() == [1250, 12.5]
    assert amounts(["1,250", "12.5"]).tolist() == [1250, 12.5]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(min_value=0, max_value=10**12),
    st.integers(min_value=0, max_value=99),
    st.sampled_from([".", ","]),
    st.sampled_from(["", "$", "€ ", "USD ", " EUR", " kr"]),
    st.booleans(),
)
def test_property_formatted_amounts_read_back_exactly(whole, cents, decimal, affix, negative):
    """Any amount written with thousands separators, a decimal mark and a currency reads back
    to the same number (or, written as a negative, is read as a negative)."""
    thousands = "," if decimal == "." else "."
    digits = f"{whole:,}".replace(",", thousands)
    text = f"{digits}{decimal}{cents:02d}"
    text = f"{affix}{text}" if not affix.startswith(" ") else f"{text}{affix}"
    if negative:
        text = f"({text})"
    value = whole + cents / 100
    read = read_number_texts(pd.Series([text]), decimal)
    assert read.problems[0] is None
    assert read.values[0] == pytest.approx(-value if negative else value, rel=1e-15, abs=1e-9)
    if negative and value > 0:
        with pytest.raises(PipesheetError, match="amount is negative"):
            amounts([text, f"1{decimal}50"])


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=12))
def test_property_any_text_is_a_number_or_a_named_refusal(text):
    """Whatever a cell holds, an amount is a finite non-negative number or a PipesheetError
    naming the column and the row — never another exception, never NaN or infinity."""
    try:
        got = amounts([text, "5"])
    except PipesheetError as err:
        assert "column 'Amount'" in str(err) and "row" in str(err)
        return
    value = got.iloc[0]
    assert math.isnan(value) is False or not text.strip()
    if not math.isnan(value):
        assert 0 <= value <= MAX_AMOUNT


def test_csv_typing_follows_the_same_rule(tmp_path: Path):
    p = tmp_path / "deals.csv"
    p.write_text(
        "Deal ID,Stage,Amount,Close Date\n"
        'D1,Lead,"1,200.50",2026-10-01\n'
        'D2,Lead,"(1,200.00)",2026-10-01\n'
        'D3,Lead,"2,000.00",2026-10-01\n',
        encoding="utf-8",
    )
    t = read_table(p)
    assert t["Amount"].tolist() == [1200.5, -1200.0, 2000.0]
    msg = error_of(lambda: read_deals(t, stages=STAGES))
    assert "row 3: amount is negative (value -1200.0)" in msg
    p.write_text(
        'Deal ID,Stage,Amount\nD1,Lead,"1,200.50"\nD2,Lead,1.5M\nD3,Lead,50%\n', encoding="utf-8"
    )
    t = read_table(p)  # not typed: the column holds text that is not a number
    assert t["Amount"].tolist() == ["1,200.50", "1.5M", "50%"]
    assert "row 3: amount has a magnitude suffix" in error_of(lambda: read_deals(t, stages=STAGES))


# ---- xlsx cells the fast reader would change ----------------------------------------------------
def _workbook(path: Path, rows: list[list]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Deals"
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_xlsx_error_cells_and_true_in_amounts_are_named(tmp_path: Path):
    head = ["Deal ID", "Stage", "Amount", "Close Date"]
    day = dt.datetime(2026, 10, 1)
    p = _workbook(
        tmp_path / "d.xlsx",
        [head, ["D1", "Lead", 100, day], ["D2", "Lead", "#N/A", day], ["D3", "Lead", 50, day]],
    )
    msg = error_of(lambda: read_deals(read_table(p), stages=STAGES))
    assert "column 'Amount', row 3: amount is an Excel error value (value '#N/A')" in msg
    p = _workbook(
        tmp_path / "d2.xlsx",
        [head, ["D1", "Lead", 100, day], ["D2", "Lead", True, day], ["D3", "Lead", 50, day]],
    )
    msg = error_of(lambda: read_deals(read_table(p), stages=STAGES))
    assert "row 3: amount is TRUE/FALSE" in msg
    # "#VALUE!" in a close date is an error naming the cell, never "no close date"
    p = _workbook(
        tmp_path / "d3.xlsx",
        [head, ["D1", "Lead", 100, day], ["D2", "Lead", 20, "#VALUE!"], ["D3", "Lead", 50, None]],
    )
    msg = error_of(lambda: read_deals(read_table(p), stages=STAGES))
    assert "column 'Close Date', row 3: date is an Excel error value (value '#VALUE!')" in msg
    # a boolean column stays boolean (IsWon TRUE/FALSE is data, not a changed value)
    p = _workbook(tmp_path / "b.xlsx", [["Id", "IsWon"], ["a", True], ["b", False]])
    assert read_table(p)["IsWon"].tolist() == [True, False]


def test_xlsx_error_cells_in_an_excel_table(tmp_path: Path):
    from openpyxl.worksheet.table import Table

    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "notes"
    rows = [["Deal ID", "Stage", "Amount"], ["D1", "Lead", 5], ["D2", "Lead", "#DIV/0!"]]
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            ws.cell(row=3 + i, column=2 + j, value=v)
    ws.add_table(Table(displayName="Deals", ref="B3:D5"))
    wb.save(tmp_path / "t.xlsx")
    t = read_table(tmp_path / "t.xlsx", table="Deals")
    msg = error_of(lambda: read_deals(t, stages=STAGES))
    assert "amount is an Excel error value (value '#DIV/0!')" in msg


# ---- 10.3 dates ---------------------------------------------------------------------------------
def dates(values, **kw) -> pd.Series:
    s = pd.Series(values, dtype=object)
    s.index = range(2, 2 + len(s))
    return parse_dates(s, table="deals", column="Close Date", **kw)


@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        ("9999-12-31", "date outside the supported range 1980-01-01 to 2199-12-31"),
        ("0001-01-01", "date outside the supported range"),
        ("1900-01-01", "date outside the supported range"),
        (dt.datetime(9999, 12, 31), "date outside the supported range"),
        (dt.date(1, 1, 1), "date outside the supported range"),
        ("December", "not a date"),
        ("today", "not a date"),
        ("2026", "a year alone is not a date"),
        (2026, "a year alone is not a date"),
        (0, "number outside the supported date range"),
        (-5, "number outside the supported date range"),
        ("-5", "not a date"),
        (dt.time(10, 30), "a time without a date"),
        ("10:30", "a time without a date"),
        ("#VALUE!", "date is an Excel error value"),
        (True, "date is TRUE/FALSE"),
        ("31/02/2026", "not a real date"),
    ],
)
def test_dates_outside_the_rule_are_refused_naming_the_cell(cell, problem):
    msg = error_of(lambda: dates(["2026-10-01", cell]))
    assert f"column 'Close Date', row 3: {problem}" in msg
    assert "expected" in msg


def test_placeholder_message_says_to_leave_the_cell_blank():
    msg = error_of(lambda: dates(["9999-12-31"]))
    assert "leave the cell blank when there is no date" in msg


def test_placeholders_beside_serial_numbers_never_become_1816():
    msg = error_of(lambda: dates([46000, "9999-12-31", 46001]))
    assert "row 3: date outside the supported range" in msg


def test_supported_range_edges():
    got = dates([DATE_MIN, DATE_MAX, "2199-12-31 23:59", 29221]).tolist()
    assert got[:2] == [DATE_MIN, DATE_MAX] and got[3] == DATE_MIN
    assert "outside" in error_of(lambda: dates(["2200-01-01"]))
    assert "outside" in error_of(lambda: dates(["1979-12-31"]))


def test_time_zone_keeps_the_local_wall_time():
    stamp = pd.Timestamp("2026-09-30 23:30", tz="America/Bogota")
    assert dates([stamp]).iloc[0] == pd.Timestamp("2026-09-30 23:30")
    assert dates(["2026-09-30T23:30:00-05:00"]).iloc[0] == pd.Timestamp("2026-09-30 23:30")
    aware = pd.Series(pd.to_datetime(["2026-09-30 23:30"]).tz_localize("Europe/Ljubljana"))
    got = parse_dates(aware, table="d", column="c")
    assert got.iloc[0] == pd.Timestamp("2026-09-30 23:30")


def test_text_date_forms():
    got = dates(
        ["2026-09-30", "2026/09/30", "30.09.2026", "30 Sep 2026", "Sep 30, 2026", "30-Sep-2026"]
    )
    assert set(got) == {pd.Timestamp("2026-09-30")}


@settings(max_examples=150, deadline=None)
@given(st.dates(min_value=DATE_MIN.date(), max_value=DATE_MAX.date()), st.booleans())
def test_property_dates_in_range_read_back_in_every_form(day, dayfirst):
    ts = pd.Timestamp(day)
    serial = (ts - pd.Timestamp("1899-12-30")).days
    forms = [
        day.isoformat(),
        day.strftime("%d/%m/%Y") if dayfirst else day.strftime("%m/%d/%Y"),
        day.strftime("%d.%m.%Y"),
        day.strftime("%d %b %Y"),
        serial,
        str(serial),
        dt.datetime.combine(day, dt.time(12)),
    ]
    got = dates(forms, dayfirst=dayfirst).dt.normalize()
    assert (got == ts).all()


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(max_size=14), st.integers(-(10**6), 10**7), st.floats(allow_nan=False)))
def test_property_any_date_cell_is_a_supported_date_or_a_named_refusal(cell):
    try:
        got = dates([cell])
    except PipesheetError as err:
        assert "column 'Close Date'" in str(err) and "row 2" in str(err)
        return
    value = got.iloc[0]
    assert pd.isna(value) or DATE_MIN <= value <= DATE_MAX + pd.Timedelta(days=1)


# ---- 8.14 the day/month order ------------------------------------------------------------------
def test_date_order_from_the_data_else_the_setting_else_refused():
    assert dates(["25/03/2027", "03/04/2027"]).tolist() == [
        pd.Timestamp("2027-03-25"),
        pd.Timestamp("2027-04-03"),
    ]
    assert dates(["03/25/2027", "03/04/2027"]).iloc[1] == pd.Timestamp("2027-03-04")
    msg = error_of(lambda: dates(["03/04/2027", "05/06/2027"]))
    assert "column 'Close Date', rows 2, 3: day/month order is ambiguous" in msg
    assert "--date-order" in msg and "dayfirst" in msg and "date_order" in msg
    assert dates(["03/04/2027"], dayfirst=True).iloc[0] == pd.Timestamp("2027-04-03")
    assert dates(["03/04/2027"], dayfirst=False).iloc[0] == pd.Timestamp("2027-03-04")
    msg = error_of(lambda: dates(["25/03/2027", "03/25/2027"]))
    assert "both day/month and month/day order" in msg and "rows 2, 3" in msg


def test_date_order_on_every_surface_of_the_engine(tmp_path: Path):
    p = tmp_path / "d.csv"
    p.write_text(
        "Deal ID,Stage,Amount,Close Date\nD1,Lead,10,03/04/2027\nD2,Lead,20,05/06/2027\n",
        encoding="utf-8",
    )
    # refused when used (not guessed from the file's convention)
    msg = error_of(lambda: read_deals(read_table(p), stages=STAGES))
    assert "Close Date" in msg and "day/month order is ambiguous" in msg
    # the file reader's setting travels with the table...
    t = read_table(p, dayfirst=True)
    assert read_deals(t, stages=STAGES).frame["close_date"].iloc[0] == pd.Timestamp("2027-04-03")
    # ... and read_deals takes it directly for a table given as text
    raw = pd.read_csv(p, dtype=str)
    got = read_deals(raw, stages=STAGES, dayfirst=False).frame["close_date"].iloc[0]
    assert got == pd.Timestamp("2027-03-04")
    # a semicolon (European) file is no longer read day first without a word
    p2 = tmp_path / "d2.csv"
    p2.write_text("Deal ID;Stage;Amount;Close Date\nD1;Lead;10,5;03/04/2027\n", encoding="utf-8")
    assert "ambiguous" in error_of(lambda: read_deals(read_table(p2), stages=STAGES))


def test_cli_forecast_refuses_ambiguous_dates_and_takes_date_order(tmp_path: Path, capsys):
    deals = tmp_path / "deals.csv"
    deals.write_text(
        "Deal ID,Stage,Amount,Expected Close Date\nD1,Lead,1000,03/04/2027\n"
        "D2,Proposal,2000,05/06/2027\n",
        encoding="utf-8",
    )
    probs = tmp_path / "p.csv"
    probs.write_text("Stage,Probability\nLead,10\nProposal,50\n", encoding="utf-8")
    base = ["forecast", str(deals), "--probabilities", str(probs), "--stages", "Lead,Proposal"]
    assert main([*base, "--json"]) == 2
    err = capsys.readouterr().err
    assert err.count("pipesheet: error:") == 1 and "--date-order dmy or mdy" in err
    assert main([*base, "--json", "--date-order", "dmy"]) == 0
    assert '"2027-04"' in capsys.readouterr().out
    assert main([*base, "--json", "--date-order", "mdy"]) == 0
    assert '"2027-03"' in capsys.readouterr().out


# ---- 10.4 probabilities and conversions --------------------------------------------------------
def probs(values) -> pd.Series:
    s = pd.Series(values, dtype=object, index=range(2, 2 + len(values)))
    return parse_probabilities(s, table="probabilities", column="Probability")


def test_probability_scale_is_decided_only_when_every_value_agrees():
    assert probs([0.1, 0.5, 1, 0]).tolist() == [0.1, 0.5, 1.0, 0.0]
    assert probs([10, 50, 100, 0]).tolist() == [0.1, 0.5, 1.0, 0.0]
    assert probs(["10%", "50%", 0.25]).tolist() == [0.1, 0.5, 0.25]  # % is explicit
    # one value above 1 no longer flips a table of shares to percent...
    msg = error_of(lambda: probs([0.1, 0.2, 0.3, 40]))
    assert "probabilities on two scales" in msg and "row 5" in msg and "0.1" in msg
    # ... and 0.5 beside 10 is refused rather than read as 0.5%
    msg = error_of(lambda: probs([10, 20, 0.5]))
    assert "row 4" in msg and "two scales" in msg


def test_probability_limits_and_words():
    assert "probability above 100%" in error_of(lambda: probs(["150%"]))
    assert "probability above 100%" in error_of(lambda: probs([150]))
    msg = error_of(lambda: probs([0.2, -0.1]))
    assert "row 3: probability is negative" in msg and "amount" not in msg  # 10.10
    assert "probability is an Excel error value" in error_of(lambda: probs([0.2, "#N/A"]))


def test_stage_listed_twice_is_refused_in_tables_conversions_and_benchmarks():
    table = pd.DataFrame({"Stage": ["Lead", "Proposal", "lead "], "Probability": [0.1, 0.5, 0.2]})
    msg = error_of(lambda: probability_table(table))
    assert "stage listed twice" in msg and "rows 2, 4" in msg
    msg = error_of(lambda: leads_needed(1000, 100, [("Lead", 0.5), ("Lead", 0.4)]))
    assert "stage listed twice" in msg
    from pipesheet.diagnostics import bottlenecks
    from pipesheet.sample import sample_history

    msg = error_of(lambda: bottlenecks(sample_history(), benchmark=[("Lead", 50), ("Lead", 60)]))
    assert "stage listed twice" in msg


def test_conversions_on_one_scale(capsys):
    plan = leads_needed(1_000_000, 25_000, [("Lead", 50), ("Qualified", 40), ("Proposal", 25)])
    assert plan.leads == 800
    msg = error_of(lambda: leads_needed(1000, 100, [("Lead", "150%"), ("Proposal", 0.4)]))
    assert "above 100%" in msg  # never 1.5%
    msg = error_of(lambda: leads_needed(1000, 100, [("Lead", 1.5), ("Proposal", 0.4)]))
    assert "two scales" in msg
    assert main(["leads", "--target", "1000", "--average-deal", "100", "--conversions",
                 "Lead=150%,Proposal=40%"]) == 2  # fmt: skip
    assert "above 100%" in capsys.readouterr().err
    assert main(["leads", "--target", "1000", "--average-deal", "100", "--conversions",
                 "Lead=50,Lead=40"]) == 2  # fmt: skip
    assert "stage listed twice" in capsys.readouterr().err


def test_single_rate_settings():
    gap = quota_gap(100_000, 0, 0, average_deal=10_000, lead_to_win_rate="20%")
    assert gap.new_leads == 50
    assert "above 100%" in error_of(
        lambda: quota_gap(100_000, 0, 0, average_deal=10_000, lead_to_win_rate="150%")
    )


def test_configured_probabilities_of_deals_on_one_scale():
    table = deals_table(Stage=["Lead", "Qualified"], **{"Probability": [0.1, 30]})
    msg = error_of(lambda: read_deals(table, stages=STAGES))
    assert "column 'Probability'" in msg and "two scales" in msg


# ---- 8.17 preset names that do not match -------------------------------------------------------
def test_preset_with_other_stage_names_lists_both_sets():
    table = deals_table(Stage=["Lead", "Qualified", "Proposal", "Lead"])
    msg = error_of(lambda: weighted_forecast(table, "salesforce", stages=STAGES))
    assert "do not match the preset 'salesforce'" in msg
    assert "'Lead', 'Qualified', 'Proposal'" in msg and "'Prospecting'" in msg
    assert "rows 2, 3, 4, 5" in msg
    # a table naming some stages: every stage without a probability is named with its count
    partial = {"Lead": 0.1}
    msg = error_of(lambda: weighted_forecast(table, partial, stages=STAGES))
    assert "'Qualified' (1 deal), 'Proposal' (1 deal)" in msg and "'Lead'" not in msg.split(";")[0]


def test_read_history_rejects_placeholder_dates_naming_the_row():
    history = pd.DataFrame(
        {
            "Deal ID": ["a", "a", "b"],
            "Stage": ["Lead", "Won", "Lead"],
            "Entered Date": ["2026-01-01", "9999-12-31", "2026-01-02"],
        }
    )
    msg = error_of(lambda: read_history(history))
    assert "column 'Entered Date', row 3: date outside the supported range" in msg


def test_no_nan_or_inf_leaks_from_odd_cells():
    """A table full of odd cells ends in a result or a PipesheetError, never NaN/inf output."""
    rng = np.random.default_rng(1)
    odd = ["(1,200)", "1.5M", "TRUE", "#N/A", "", "1e308", "50%", "−5", "12,5", "3"]
    for _ in range(30):
        cells = rng.choice(odd, size=4).tolist()
        try:
            out = weighted_forecast(
                deals_table(Amount=cells), {"Lead": 0.5, "Qualified": 0.5, "Proposal": 0.5},
                stages=STAGES, period=None,
            )  # fmt: skip
        except PipesheetError:
            continue
        assert np.isfinite(out[["pipeline", "weighted", "std_dev"]].to_numpy(float)).all()


def test_read_date_texts_reports_forms():
    read = read_date_texts(pd.Series(["2026-09-30", "30/09/2026", "30.09.2026", "30 Sep 2026"]))
    assert read.form.tolist() == ["iso", "slash", "dot", "name"]


# ---- the whole path: odd cells through the file reader, the engine and the CLI ----------------
ODD_CELLS = st.sampled_from(
    [
        "(1,200)", "1,200-", "−1200", "1.5M", "250k", "50%", "TRUE", "FALSE", "#N/A", "#VALUE!",
        "1e308", "", " ", "12,5", "1.250", "1,250", "3", "0", "9999-12-31", "0001-01-01",
        "December", "today", "2026", "10:30", "03/04/2027", "25/03/2027", "03/25/2027",
        "2026-10-01", "2026-10-01T23:30:00-05:00", "45930", "-5", "\x07", "Lead", "Won",
        "Lost", "Proposal", "n/a", "€ 3.000,00",
    ]
)  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(ODD_CELLS, ODD_CELLS, ODD_CELLS), min_size=1, max_size=5))
def test_property_odd_files_end_in_a_result_or_one_clear_error(tmp_path_factory, rows):
    import csv
    import io
    import json
    from contextlib import redirect_stderr, redirect_stdout

    folder = tmp_path_factory.mktemp("odd")
    deals = folder / "deals.csv"
    with deals.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Deal ID", "Stage", "Amount", "Expected Close Date"])
        for i, (stage, amount, close) in enumerate(rows):
            w.writerow([f"D{i}", stage, amount, close])
    probs = folder / "p.csv"
    probs.write_text("Stage,Probability\nLead,10%\nProposal,50%\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(
            ["forecast", str(deals), "--probabilities", str(probs), "--stages", "Lead,Proposal",
             "--json", "--period", "quarter", "--date-order", "dmy"]
        )  # fmt: skip
    assert code in (0, 2)
    if code == 2:
        lines = [x for x in err.getvalue().splitlines() if x.strip()]
        assert len(lines) == 1 and lines[0].startswith("pipesheet: error:")
    else:
        for row in json.loads(out.getvalue()):
            for v in row.values():
                assert not (isinstance(v, float) and not math.isfinite(v))
