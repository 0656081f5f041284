"""Reading real CRM exports: fixtures in each tool's shape, a corpus of bad inputs, lookups."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.worksheet.table import Table

from pipesheet import (
    PipesheetError,
    StageProbabilities,
    read_deals,
    read_history,
    reporting_amounts,
)
from pipesheet.exports import check_export, detect_source, lookup, read_export, read_table

FIX = Path(__file__).parent / "fixtures" / "exports"
BAD = Path(__file__).parent / "fixtures" / "bad"


def test_salesforce_opportunity_and_history():
    e = read_export(
        FIX / "salesforce_opportunities.csv", FIX / "salesforce_opportunity_history.csv"
    )
    assert e.source == "salesforce"
    d = read_deals(e.deals)
    row = d.frame.set_index("deal_id").loc["0065g00000AbC06"]
    assert row["amount"] == 1_200_000.00  # "1,200,000.00"
    assert row["close_date"] == pd.Timestamp("2026-10-15")  # "10/15/2026", month first
    assert d.frame.set_index("deal_id").loc["0065g00000AbC05", "amount"] == 75250.25
    assert d.frame.set_index("deal_id").loc["0065g00000AbC04", "code"] == d.stages.k  # won
    h = read_history(e.history, stages=d.stages)
    assert len(h.frame) == 13
    assert h.frame["entered_date"].iloc[0] == pd.Timestamp("2026-08-16 09:12:44")
    assert list(e.history.columns) == [
        "deal_id",
        "stage",
        "entered_date",
        "amount",
        "close_date",
        "probability",
    ]
    # formula-looking text survives as text
    assert e.deals.set_index("deal_id").loc["0065g00000AbC06", "name"].startswith("=HYPERLINK")


def test_hubspot_date_entered_columns_become_history():
    e = read_export(FIX / "hubspot_deals.csv")
    assert e.source == "hubspot"
    assert e.stages is not None
    assert e.stages.open == (
        "Appointment Scheduled",
        "Qualified To Buy",
        "Presentation Scheduled",
        "Decision Maker Bought-In",
        "Contract Sent",
    )
    h = e.history
    fab = h[h["deal_id"] == "15234567003"]
    assert list(fab["stage"]) == [
        "Appointment Scheduled",
        "Qualified To Buy",
        "Presentation Scheduled",
        "Decision Maker Bought-In",
        "Contract Sent",
        "Closed Won",
    ]
    assert fab["entered_date"].iloc[-1] == pd.Timestamp("2026-09-18 17:20")
    model = StageProbabilities(stages=e.stages).fit(h, e.deals)
    t = model.table_.set_index("stage")
    assert (
        t.loc["Appointment Scheduled", "won"] == 1 and t.loc["Appointment Scheduled", "lost"] == 1
    )


def test_pipedrive_status_sets_won_and_lost():
    e = read_export(FIX / "pipedrive_deals.csv")
    assert e.source == "pipedrive"
    d = e.deals.set_index("deal_id")
    assert (
        d.loc["103", "stage"] == "Won" and d.loc["103", "last_open_stage"] == "Negotiations Started"
    )
    assert d.loc["104", "stage"] == "Lost"
    assert d.loc["102", "amount"] == 18250.75
    assert d.loc["104", "closed_date"] == pd.Timestamp("2026-08-28 11:11:11")
    deals = read_deals(e.deals)
    assert set(deals.open["deal_id"]) == {"101", "102", "105"}


def test_odoo_latin1_semicolon_decimal_comma_french_stages():
    t = read_table(FIX / "odoo_leads_fr.csv")
    assert t.attrs["encoding"] == "latin-1"
    assert t.attrs["delimiter"] == ";"
    assert t.attrs["decimal"] == ","
    assert t.attrs["date_order"] == "day first"
    e = read_export(FIX / "odoo_leads_fr.csv")
    assert e.source == "odoo"
    d = read_deals(e.deals)
    f = d.frame.set_index("deal_id")
    assert f["amount"].tolist() == [1250.0, 12500.5, 980.25, 45000.0, 3400.0]
    assert list(f["stage"][:3]) == ["Nouveau", "Qualifié", "Proposition"]
    assert f["code"].iloc[3] == d.stages.k  # Gagné = won
    assert f["code"].iloc[4] == d.stages.k + 1  # archived = lost
    assert f["close_date"].iloc[0] == pd.Timestamp("2026-10-30")
    assert f["probability"].iloc[0] == pytest.approx(0.105)


def test_cp1252_semicolon_german_and_bom_tab_history():
    t = read_table(FIX / "generic_deals_de.csv")
    assert t.attrs["encoding"] == "cp1252"  # the euro sign is byte 0x80
    h = read_table(FIX / "generic_history_de.tsv")
    assert h.attrs["encoding"] == "utf-8-sig" and h.attrs["delimiter"] == "\t"
    e = read_export(FIX / "generic_deals_de.csv", FIX / "generic_history_de.tsv")
    d = read_deals(e.deals)
    assert d.frame["amount"].tolist() == [1250.0, 12000.5, 980.0, 45000.0, 3400.0]
    assert d.frame["close_date"].iloc[0] == pd.Timestamp("2026-10-31")  # 31.10.2026
    assert d.frame["owner"].iloc[0] == "Jürgen Weiß"
    model = StageProbabilities().fit(e.history, e.deals)
    assert model.stages_.open == ("Qualifiziert", "Angebot", "Verhandlung")
    assert model.table_["win_probability"].iloc[0] == pytest.approx(0.5)


def test_row_numbers_are_spreadsheet_rows(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("Deal ID,Stage,Amount\nD1,Lead,10\n\nD2,Lead,x\n")
    with pytest.raises(PipesheetError, match="row 4"):
        read_deals(read_table(p))


def test_ambiguous_dates_need_the_data_or_the_setting(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("Deal ID,Stage,Amount,Close Date\nD1,Lead,10,03/04/2026\n")
    assert read_table(p, dayfirst=True)["Close Date"].iloc[0] == pd.Timestamp("2026-04-03")
    assert read_table(p, dayfirst=False)["Close Date"].iloc[0] == pd.Timestamp("2026-03-04")
    t = read_table(p)  # no convention is guessed: left as text, with a note...
    assert t["Close Date"].iloc[0] == "03/04/2026"
    assert any("could be day/month or month/day" in n for n in t.attrs["notes"])
    with pytest.raises(PipesheetError, match=r"Close Date.*day/month order is ambiguous"):
        read_deals(t)  # ... and refused, naming the column, when it is used


def test_detect_source_generic():
    assert detect_source(pd.DataFrame(columns=["Deal ID", "Stage", "Amount"])) == "generic"


def _workbook_with_extras(path: Path) -> None:
    """An .xlsm with a VBA part, a drawing shape and a slicer cache, plus an Excel Table."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Pipeline"
    ws.append(["Notes"])
    ws2 = wb.create_sheet("Data")
    for r in (["Deal ID", "Stage", "Amount"], ["D1", "Lead", 10], ["D2", "Closed Won", 25.5]):
        ws2.append(r)
    ws2.add_table(Table(displayName="Deals", ref="A1:C3"))
    plain = path.with_suffix(".tmp.xlsx")
    wb.save(plain)
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        dst.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0fake-macro-project")
        dst.writestr(
            "xl/drawings/drawing1.xml",
            '<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/'
            'spreadsheetDrawing"><xdr:twoCellAnchor><xdr:sp/></xdr:twoCellAnchor></xdr:wsDr>',
        )
        dst.writestr(
            "xl/slicerCaches/slicerCache1.xml",
            '<slicerCacheDefinition xmlns="http://schemas.microsoft.com/office/spreadsheetml/'
            '2009/9/main" name="Slicer_Stage" sourceName="Stage"/>',
        )
    plain.unlink()


def test_workbook_with_macros_shapes_slicers_is_read_never_saved(tmp_path):
    path = tmp_path / "pipeline.xlsm"
    _workbook_with_extras(path)
    before = (path.read_bytes(), os.stat(path).st_mtime_ns)
    t = read_table(path, table="Deals")
    assert list(t.columns) == ["Deal ID", "Stage", "Amount"]
    assert list(t.index) == [2, 3]
    s = read_table(path, sheet="Data")
    assert s["Amount"].tolist() == [10.0, 25.5]
    e = read_export(path, table="Deals")
    assert read_deals(e.deals).frame["amount"].sum() == 35.5
    assert (path.read_bytes(), os.stat(path).st_mtime_ns) == before


CASES = json.loads((BAD / "cases.json").read_text(encoding="utf-8"))


def test_bad_corpus_is_large_enough():
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_bad_input_gives_clear_message(case):
    opts = dict(case["options"])
    check = opts.pop("check", None)
    second = opts.pop("second", None)
    files = [BAD / case["file"]] + ([BAD / second] if second else [])
    with pytest.raises(PipesheetError) as info:
        e = read_export(*files, **opts)
        if check == "deals":  # read, then priced (a blank amount stops only where money is)
            reporting_amounts(read_deals(e.deals))
    message = str(info.value)
    assert case["expected"] in message
    assert "Traceback" not in message


def test_contradictions_can_be_reported_instead_of_raised():
    e = read_export(
        BAD / "history_unknown_deal_deals.csv",
        BAD / "history_unknown_deal_history.csv",
        on_issues="report",
    )
    assert list(e.issues["row"]) == [3, 4]
    assert set(e.issues["deal_id"]) == {"D9"}
    assert "D9" not in set(e.history["Deal ID"])
    assert any("set aside" in n for n in e.notes)


def test_check_export_finds_won_and_lost():
    deals = pd.DataFrame({"deal_id": ["A", "B"], "stage": ["Won", "Lead"]})
    hist = pd.DataFrame(
        {
            "deal_id": ["A", "A", "B"],
            "stage": ["Lead", "Lost", "Lead"],
            "entered_date": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-01-01"]),
        }
    )
    issues = check_export(deals, hist)
    assert issues["problem"].str.contains("both won and lost").any()
    assert issues["deal_id"].tolist() == ["A"]


def test_lookup_reports_unmatched_and_never_drops():
    deals = pd.DataFrame({"Product": ["Basic", "Pro ", "Gold", None], "Qty": [1, 2, 3, 4]})
    prices = pd.DataFrame({"product": ["basic", "PRO"], "List Price": [100.0, 250.0]})
    r = lookup(deals, prices, "Product", "List Price", other_on="product")
    assert len(r.table) == 4
    assert r.table["List Price"].tolist()[:2] == [100.0, 250.0]
    assert r.table["List Price"].isna().tolist()[2:] == [True, True]
    assert r.unmatched["row"].tolist() == [4, 5]
    assert r.matched == 2
    with pytest.raises(PipesheetError, match="2 key"):
        lookup(deals, prices, "Product", "List Price", other_on="product", on_unmatched="raise")


def test_lookup_ambiguous_key_is_an_error():
    owners = pd.DataFrame({"id": ["1", 1.0, "2"], "Owner": ["A", "B", "C"]})
    with pytest.raises(PipesheetError, match="more than once") as info:
        lookup(pd.DataFrame({"id": [1]}), owners, "id", "Owner", other_name="owners")
    assert "rows 2, 3" in str(info.value)
