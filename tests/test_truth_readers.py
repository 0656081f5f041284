"""Files exactly as CRMs and people write them (issues 8 and 10): header collisions, table roles,
field meaning, Won/Lost labels in the users' languages, encodings, snapshots, hostile workbooks,
look-alike labels, encrypted workbooks — through the API and the documented CLI order."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hostile_workbooks as hw
from pipesheet import StageProbabilities, read_deals, read_history, weighted_forecast
from pipesheet.cli import main
from pipesheet.errors import PipesheetError
from pipesheet.exports import limits, read_bytes, read_export, read_table
from pipesheet.labels import LOST_LABELS, WON_LABELS
from pipesheet.stages import StageList

RAW = Path(__file__).parent / "fixtures" / "salesforce_raw"
OPP, HIST, RATES = RAW / "Opportunity.csv", RAW / "OpportunityHistory.csv", RAW / "rates_usd.csv"
SRC = Path(__file__).resolve().parents[1] / "src"
ABOUT_READING = ("header", "role", "two deals", "two history", "two stage", "encoding", "decode")


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> Path:
    """The raw export with its five blank amounts filled (byte for byte otherwise): the
    commands that compute money then reach a result whatever the blank-amount rule is."""
    folder = tmp_path_factory.mktemp("sf")
    text = OPP.read_bytes().decode("latin-1")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    at = rows[0].index("Amount")
    for row in rows[1:]:
        row[at] = row[at] or "1000.00"
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    (folder / "Opportunity.csv").write_bytes(out.getvalue().encode("latin-1"))
    (folder / "OpportunityHistory.csv").write_bytes(HIST.read_bytes())
    return folder


# ---- 8.1 header collisions ---------------------------------------------------------------------
def test_unused_colliding_custom_fields_do_not_stop_the_export():
    t = read_table(OPP)
    assert {"Budget_Confirmed__c", "BudgetConfirmed__c"} <= set(t.columns)
    assert t.shape[1] == 55
    e = read_export(OPP, HIST, on_issues="report")
    assert e.deals is not None and e.history is not None


def test_collision_among_read_columns_names_both_headers(tmp_path):
    p = tmp_path / "deals.csv"
    p.write_text("Deal ID,Close Date,close_date,Stage,Amount\nD1,2026-10-01,2026-11-01,Lead,10\n")
    with pytest.raises(PipesheetError) as info:
        read_deals(read_table(p))
    msg = str(info.value)
    assert "two columns have the same header for the close date" in msg
    assert "'Close Date' (column B)" in msg and "'close_date' (column C)" in msg
    assert "--col close_date=" in msg
    # naming the one to use resolves it
    d = read_deals(read_table(p), columns={"close_date": "close_date"})
    assert d.frame["close_date"].iloc[0] == pd.Timestamp("2026-11-01")


def test_exact_duplicate_headers_kept_until_read(tmp_path):
    p = tmp_path / "deals.csv"
    p.write_text("Deal ID,Notes,Stage,Notes,Amount\nD1,a,Lead,b,10\n")
    assert read_deals(read_table(p)).frame["amount"].iloc[0] == 10  # "Notes" is never read
    q = tmp_path / "twice.csv"
    q.write_text("Deal ID,Stage,Stage,Amount\nD1,Lead,Won,10\n")
    with pytest.raises(PipesheetError, match=r"'Stage' \(column B\) and 'Stage' \(column C\)"):
        read_deals(read_table(q))


# ---- 8.2 table roles ---------------------------------------------------------------------------
@pytest.mark.parametrize("order", ["history first", "deals first"])
def test_salesforce_roles_from_the_export_shape(order):
    files = (HIST, OPP) if order == "history first" else (OPP, HIST)
    e = read_export(*files, on_issues="report")
    assert e.source == "salesforce"
    # the history row's own Id is not the deal: OpportunityId is
    assert e.history["deal_id"].str.startswith("006").all()
    assert e.history["deal_id"].duplicated().any()
    assert set(e.history["deal_id"]) <= set(e.deals["deal_id"])
    notes = " | ".join(e.notes)
    assert (
        "OpportunityHistory.csv read as the stage history "
        "(Salesforce OpportunityHistory; OpportunityId repeats)" in notes
    )
    assert "Opportunity.csv read as the deals table (Salesforce Opportunity export; Id unique)" in (
        notes
    )


def test_generic_deals_with_created_date_is_a_deals_table(tmp_path):
    deals = tmp_path / "deals.csv"
    deals.write_text(
        "Id,Stage,Amount,Created Date\nA,Lead,100,2026-01-05\nB,Won,200,2026-01-09\n"
        "C,Lost,50,2026-02-01\n"
    )
    hist = tmp_path / "changes.csv"
    hist.write_text(
        "Id,OpportunityId,Stage,Date\nh1,A,Lead,2026-01-05\nh2,B,Lead,2026-01-09\n"
        "h3,B,Won,2026-02-01\nh4,C,Lead,2026-02-01\nh5,C,Lost,2026-02-20\n"
    )
    for files in ((deals, hist), (hist, deals)):
        e = read_export(*files)
        assert list(e.deals["Id"]) == ["A", "B", "C"]
        h = read_history(e.history)
        assert h.columns["deal_id"] == "OpportunityId"  # specific id before a generic Id
        assert any("deals.csv read as the deals table (Id unique)" in n for n in e.notes)
        assert any(
            "changes.csv read as the stage history (OpportunityId repeats)" in n for n in e.notes
        )
        model = StageProbabilities().fit(e.history, e.deals)
        assert model.table_["win_probability"].iloc[0] == pytest.approx(0.5)


def test_two_deals_tables_named_with_why(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    for p in (a, b):
        p.write_text("Deal ID,Stage,Amount\nD1,Lead,10\nD2,Won,5\n")
    with pytest.raises(PipesheetError) as info:
        read_export(a, b)
    msg = str(info.value)
    assert "two deals tables given: a.csv (Deal ID unique) and b.csv (Deal ID unique)" in msg


def test_cli_prints_roles_and_encoding_notes_but_json_stays_one_document(capsys, filled):
    h, o = str(filled / "OpportunityHistory.csv"), str(filled / "Opportunity.csv")
    rc, out, _ = cli(capsys, "stages", h, o)
    assert rc == 0
    assert "note: OpportunityHistory.csv read as the stage history" in out
    assert "note: Opportunity.csv: encoding latin-1" in out
    rc, out, err = cli(capsys, "stages", o, h, "--json")
    assert rc == 0 and err == ""
    rows = json.loads(out)  # one JSON document, no notes in it
    assert [r["stage"] for r in rows] == [
        "Prospección",
        "Calificación",
        "Propuesta/Presupuesto",
        "Negociación/Revisión",
    ]
    assert all(r["won"] + r["lost"] > 0 for r in rows)


def test_cli_column_mapping_names_the_exports_own_header(capsys, filled):
    h, o = str(filled / "OpportunityHistory.csv"), str(filled / "Opportunity.csv")
    rc, out, err = cli(capsys, "stages", h, o, "--col", "stage=StageName", "--json")
    assert rc == 0, err
    assert len(json.loads(out)) == 4


DOCUMENTED = [
    ("stages",),
    ("health",),
    ("calibration", "--as-of", "2026-03-31"),
    ("backtest", "--start", "2026-01-01", "--periods", "2", "--rates", str(RATES)),
    ("waterfall", "--from", "2026-01-01", "--to", "2026-03-31", "--rates", str(RATES)),
]


@pytest.mark.parametrize("command", DOCUMENTED, ids=[c[0] for c in DOCUMENTED])
@pytest.mark.parametrize("order", ["history first", "deals first"])
def test_documented_cli_order_on_the_raw_export(capsys, command, order):
    """As exported (blank amounts included): a result, or a clear error that is not about
    reading the files (roles, headers, encoding, labels)."""
    files = (str(HIST), str(OPP)) if order == "history first" else (str(OPP), str(HIST))
    rc, _, err = cli(capsys, command[0], *files, *command[1:])
    if rc == 2:
        assert err.startswith("pipesheet: error: ") and err.count("\n") == 1
        assert "amount is blank" in err  # the money path decides about blank amounts
        assert not any(word in err.casefold() for word in ABOUT_READING)
        assert command[0] not in ("stages", "health") or "amount" in err
    else:
        assert rc == 0 and "Traceback" not in err


@pytest.mark.parametrize("command", DOCUMENTED, ids=[c[0] for c in DOCUMENTED])
@pytest.mark.parametrize("order", ["history first", "deals first"])
def test_documented_cli_order_reaches_a_result(capsys, filled, command, order):
    h, o = str(filled / "OpportunityHistory.csv"), str(filled / "Opportunity.csv")
    files = (h, o) if order == "history first" else (o, h)
    rc, out, err = cli(capsys, command[0], *files, *command[1:])
    assert rc == 0, err
    assert "read as the stage history" in out and "read as the deals table" in out


def test_cli_waterfall_two_snapshots_still_refuses_a_history(capsys, filled):
    rc, _, err = cli(
        capsys, "waterfall", str(filled / "OpportunityHistory.csv"), str(filled / "Opportunity.csv")
    )
    assert rc == 2 and "stage history, not a deals snapshot" in err


# ---- 8.5 field meaning -------------------------------------------------------------------------
def test_salesforce_type_is_not_a_product_line():
    e = read_export(OPP, HIST, on_issues="report")
    assert "product_line" not in e.deals.columns
    assert "Type" in e.deals.columns  # kept under its own name


def test_salesforce_expected_revenue_without_amount_is_refused(tmp_path):
    p = tmp_path / "opps.csv"
    p.write_text(
        "Id,StageName,ExpectedRevenue,CloseDate,Probability\n"
        "0061,Prospecting,1000,2026-10-01,10\n0062,Closed Won,5000,2026-09-01,100\n"
    )
    with pytest.raises(PipesheetError) as info:
        read_export(p)
    msg = str(info.value)
    assert "ExpectedRevenue but no Amount" in msg and "Amount × Probability" in msg


def test_generic_expected_revenue_is_not_an_amount(tmp_path):
    table = pd.DataFrame({"Deal ID": ["A"], "Stage": ["Lead"], "Expected Revenue": [100.0]})
    deals = read_deals(table)  # no amount is needed to read deals (stage probabilities)...
    with pytest.raises(PipesheetError, match="'Expected Revenue' is not the amount"):
        weighted_forecast(deals, {"Lead": 0.1})  # ...but money is never computed from it


def test_odoo_expected_revenue_is_the_deal_value_and_prorated_is_not(tmp_path):
    p = tmp_path / "crm.lead.csv"
    p.write_text(
        "ID,Opportunity,Stage,Expected Revenue,Prorated Revenue,Probability,Expected Closing\n"
        "1,Big deal,Proposition,10000,2500,25,2026-10-30\n"
    )
    e = read_export(p)
    assert e.source == "odoo"
    assert read_deals(e.deals).frame["amount"].iloc[0] == 10000


# ---- 8.6 Won/Lost in the users' languages ------------------------------------------------------
PAIRS = [
    ("Vinto", "Perso"),
    ("Chiuso vinto", "Chiuso perso"),
    ("Guanyat", "Perdut"),
    ("Guanyada", "Perduda"),
    ("Dobljeno", "Izgubljeno"),
    ("Zaprto – dobljeno", "Zaprto – izgubljeno"),
    ("Zaprto - dobljeno", "Zaprto - izgubljeno"),
    ("Thắng", "Thua"),
    ("Đã thắng", "Đã thua"),
    ("Thành công", "Thất bại"),
    ("Ganado", "Perdido"),
    ("Cerrada ganada", "Cerrada perdida"),
    ("Ganada", "Perdida"),
    ("Ganho", "Perdido"),
    ("Fechado ganho", "Fechado perdido"),
    ("Gagné", "Perdu"),
    ("Fermé gagné", "Fermé perdu"),
    ("Gewonnen", "Verloren"),
    ("Geschlossen und gewonnen", "Geschlossen und verloren"),
    ("CERRADA GANADA", "cerrada-perdida"),  # case and punctuation
    ("GAGNE", "PERDU"),  # accents dropped by the user
    ("Da thang", "Da thua"),
]


def _history(won: str, lost: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "deal_id": ["A", "A", "B", "B", "C"],
            "stage": ["Lead", won, "Lead", lost, "Lead"],
            "entered_date": pd.to_datetime(
                ["2026-01-01", "2026-02-01", "2026-01-02", "2026-02-02", "2026-01-03"]
            ),
        }
    )


@pytest.mark.parametrize(("won", "lost"), PAIRS)
def test_closed_labels_in_the_users_languages(won, lost):
    model = StageProbabilities().fit(_history(won, lost))
    row = model.table_.iloc[0]
    assert model.stages_.open == ("Lead",)
    assert (row["won"], row["lost"], row["open"]) == (1, 1, 1)
    assert row["win_probability"] == pytest.approx(0.5)


def test_accents_are_ignored_only_when_the_label_has_none():
    stages = StageList(("Lead",))
    assert stages.code("Thua") == stages.k + 1
    assert stages.code("Thừa") == -1  # "surplus", not "lost"
    assert stages.code("Perdú") == -1
    assert stages.code("Gagne") == stages.k


def test_default_labels_are_in_one_role_each():
    StageList(("Lead",), WON_LABELS, LOST_LABELS)  # raises if a label were both


def test_no_closed_label_is_said_and_the_labels_listed(capsys, tmp_path):
    hist = _history("Signed", "Dropped")
    model = StageProbabilities().fit(hist)
    notes = " ".join(model.notes_)
    assert "no Won or Lost label in the history's stage column" in notes
    assert "'Signed'" in notes and "'Dropped'" in notes and "--won" in notes
    p = tmp_path / "history.csv"
    hist.to_csv(p, index=False)
    rc, _, err = cli(capsys, "stages", str(p))
    assert rc == 2
    assert "labels seen: 'Lead', 'Signed', 'Dropped'" in err and "--won LABEL" in err
    rc, out, _ = cli(capsys, "stages", str(p), "--won", "Signed", "--lost", "Dropped", "--json")
    assert rc == 0 and json.loads(out)[0]["win_probability"] == pytest.approx(0.5)
    for command in (("health",), ("calibration", "--as-of", "2026-01-15")):
        rc, _, err = cli(capsys, *command, str(p))
        assert rc == 2 and "table 'history.csv', column 'stage'" in err and "'Signed'" in err


# ---- 8.7 encodings -----------------------------------------------------------------------------
SLOVENIAN = (
    "Deal ID;Faza;Znesek;Lastnik\n"
    "D1;Prospekt;1.200,00;Čeč Žiga\n"
    "D2;Dobljeno;980,50;Šimen Ćurić\n"
    "D3;Izgubljeno;50,00;Anže Kovač\n"
)


def test_slovenian_cp1250_is_read_as_cp1250(tmp_path):
    p = tmp_path / "prodaja.csv"
    p.write_bytes(SLOVENIAN.encode("cp1250"))
    t = read_table(p)
    assert t.attrs["encoding"] == "cp1250"
    assert list(t["Lastnik"]) == ["Čeč Žiga", "Šimen Ćurić", "Anže Kovač"]
    e = read_export(p)
    assert any("encoding cp1250 (detected" in n for n in e.notes)


def test_a_tie_between_code_pages_is_noted_with_the_other_reading(tmp_path):
    p = tmp_path / "d.csv"
    p.write_bytes("Deal ID,Stage,Amount,Owner\nD1,Lead,100,Čeč\n".encode("cp1250"))
    e = read_export(p)
    note = next(n for n in e.notes if "encoding" in n)
    assert "cp1250 would read the same bytes differently ('Čeč' instead of 'Èeè')" in note
    assert "--encoding cp1250" in note
    assert read_table(p, encoding="cp1250")["Owner"].iloc[0] == "Čeč"


def test_one_stray_byte_keeps_the_file_utf8(tmp_path):
    p = tmp_path / "d.csv"
    good = "Deal ID,Stage,Amount,Owner\nD1,Lead,100,José Ramírez\nD2,Won,50,Zoë Müller\n"
    p.write_bytes(good.encode("utf-8") + "D3,Lost,10,Gonz\xe1lez\n".encode("cp1252"))
    t = read_table(p)
    assert t.attrs["encoding"] == "utf-8"
    assert list(t["Owner"]) == ["José Ramírez", "Zoë Müller", "González"]
    note = " ".join(t.attrs["encoding_notes"])
    assert "1 byte(s) that are not UTF-8, on line(s) 4" in note and "'á'" in note


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-16"])
def test_utf16_with_or_without_bom_is_read(tmp_path, encoding):
    p = tmp_path / "d.csv"
    p.write_bytes("Deal ID,Stage,Amount\nD1,Lead,100\nD2,Won,5\n".encode(encoding))
    t = read_table(p)
    assert list(t.columns) == ["Deal ID", "Stage", "Amount"]
    assert t["Amount"].tolist() == [100, 5] or t["Amount"].tolist() == ["100", "5"]
    assert "UTF-16" in " ".join(t.attrs["encoding_notes"])


def test_binary_is_still_binary(tmp_path):
    p = tmp_path / "d.csv"
    p.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(PipesheetError, match="binary"):
        read_table(p)


# ---- 8.20 snapshot only ------------------------------------------------------------------------
def test_stages_on_a_snapshot_says_what_to_give(capsys, tmp_path):
    p = tmp_path / "deals.csv"
    p.write_text("Deal ID,Stage,Amount\nA,Proposal,10\nB,Lead,5\nC,Won,7\nD,Lost,3\n")
    rc, out, err = cli(capsys, "stages", str(p))
    assert rc == 2 and out == ""
    assert "not identifiable" in err and "stage-history file" in err and "--probabilities" in err
    # the API says the same in its notes, with blank probabilities rather than a guess
    model = StageProbabilities().fit(None, read_table(p))
    assert model.table_["win_probability"].isna().all()
    assert any("not identifiable" in n for n in model.notes_)


# ---- 10.5 invisible and look-alike characters --------------------------------------------------
def _proposal_history(label_b: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "deal_id": ["A", "A", "A", "B", "B", "B"],
            "stage": ["Lead", "Proposal", "Won", "Lead", label_b, "Lost"],
            "entered_date": pd.to_datetime(
                ["2026-01-01", "2026-01-05", "2026-02-01", "2026-01-02", "2026-01-06", "2026-02-02"]
            ),
        }
    )


@pytest.mark.parametrize("invisible", ["\u200b", "\u200d", "\ufeff", "\u00ad", "\u2060"])
def test_invisible_characters_do_not_make_a_second_stage(invisible):
    clean = StageProbabilities().fit(_proposal_history("Proposal")).table_
    odd = StageProbabilities().fit(_proposal_history("Pro" + invisible + "posal")).table_
    pd.testing.assert_frame_equal(clean, odd)
    assert list(odd["stage"]) == ["Lead", "Proposal"]


def test_invisible_characters_in_ids_and_headers(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("\ufeffDeal\u200b ID,Stage,Amount\nD1\u200b,Lead,10\n", encoding="utf-8")
    d = read_deals(read_table(p))
    assert d.columns["deal_id"] == "Deal ID" and d.frame["deal_id"].iloc[0] == "D1"


def test_a_cyrillic_lookalike_label_is_refused_naming_both():
    hist = _proposal_history("\u0420roposal")  # Cyrillic capital ER
    with pytest.raises(PipesheetError) as info:
        read_history(hist)
    msg = str(info.value)
    assert "'Рroposal' and 'Proposal'" in msg
    assert "U+0420 CYRILLIC CAPITAL LETTER ER" in msg
    assert "row 6" in msg


def test_a_greek_lookalike_in_a_deals_table(tmp_path):
    table = pd.DataFrame(
        {"Deal ID": ["A", "B"], "Stage": ["Proposal", "Pr\u03bfposal"], "Amount": [1, 2]}
    )
    with pytest.raises(PipesheetError, match="GREEK SMALL LETTER OMICRON"):
        read_deals(table)


# ---- 10.1 workbooks that would kill the process ------------------------------------------------
PEAK_MB = 400  # the Python process with pandas and calamine loaded is about 140 MB
pytestmark_linux = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="peak memory read from /proc"
)

READER = textwrap.dedent(
    """
    import json, re, sys
    from pathlib import Path
    from pipesheet.errors import PipesheetError
    from pipesheet.exports import read_bytes, read_table
    path = Path(sys.argv[1])
    try:
        if sys.argv[2] == "bytes":
            read_bytes(path.read_bytes(), path.name)
        else:
            read_table(path)
        message = None
    except PipesheetError as err:
        message = str(err)
    # this process's own peak (VmHWM: ru_maxrss would carry the parent's over fork + exec)
    status = Path("/proc/self/status").read_text()
    peak = int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) / 1024
    print(json.dumps({"message": message, "peak_mb": peak}))
    """
)


def _read_in_subprocess(path: Path, how: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", READER, str(path), how],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


HOSTILE = {
    "far_cell_XFD1048576": (lambda: hw.far_cell("XFD1048576"), "has a cell at XFD1048576"),
    "far_cell_CV150000": (lambda: hw.far_cell("CV150000"), "15,000,000 cells"),
    "declared_range": (lambda: hw.declared_range("XFD1048576"), "declares its used range"),
    "sparse_far_cell": (lambda: hw.far_cell("Z60000"), "almost empty but reaches cell Z60000"),
    "compressed_bomb": (lambda: hw.zeros_bomb(50_000_000), "compressed more than 100:1"),
    "lying_sizes": (lambda: hw.lying_sizes(50_000_000), "compressed more than 100:1"),
    "declared_sizes": (
        lambda: hw.lying_sizes(10_000, declared=600 * 1024 * 1024),
        "its parts declare 600 MiB",
    ),
}


@pytestmark_linux
@pytest.mark.parametrize("how", ["file", "bytes"])
@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_workbooks_are_refused_within_bounded_memory(tmp_path, case, how):
    build, expected = HOSTILE[case]
    path = tmp_path / f"{case}.xlsx"
    path.write_bytes(build())
    assert path.stat().st_size < 1_000_000
    result = _read_in_subprocess(path, how)
    assert result["message"] is not None and expected in result["message"]
    assert (
        "10,000,000" in result["message"]
        or "MiB" in result["message"]
        or "1%" in (result["message"])
    )
    assert result["peak_mb"] < PEAK_MB, result


def test_limits_are_stated_constants():
    assert limits.MAX_CELLS == 10_000_000
    assert limits.MAX_DECOMPRESSED == 512 * 1024 * 1024
    assert limits.MAX_RATIO == 100
    doc = (Path(__file__).resolve().parents[1] / "docs" / "engine.md").read_text()
    assert "10,000,000 cells" in doc and "512 MiB" in doc and "100:1" in doc


def test_an_ordinary_workbook_still_reads_and_the_cli_names_the_limit(tmp_path, capsys):
    ok = tmp_path / "ok.xlsx"
    ok.write_bytes(hw.workbook_bytes(hw.sheet_xml(hw.small_table_rows())))
    assert read_table(ok)["Amount"].tolist() == [10, 25]
    bad = tmp_path / "far.xlsx"
    bad.write_bytes(hw.far_cell("XFD1048576"))
    rc, _, err = cli(capsys, "stages", str(bad))
    assert rc == 2 and "XFD1048576" in err and "10,000,000 cells" in err


def test_a_big_legitimate_sheet_passes_the_bounds():
    data = hw.xml_bomb(30_000, 20)  # 600,000 real cells
    limits.check_workbook_bounds(data, "big.xlsx")  # no error


# ---- 10.10 encrypted workbooks -----------------------------------------------------------------
def _cfb_with(names: list[str]) -> bytes:
    """An Office container (CFB) whose directory names these streams (what an encrypted .xlsx
    is: EncryptionInfo + EncryptedPackage)."""
    head = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    entries = b"".join(n.encode("utf-16-le").ljust(64, b"\x00") + b"\x00" * 64 for n in names)
    return head + entries.ljust(512, b"\x00")


@pytest.mark.parametrize("suffix", [".xlsx", ".xls"])
def test_encrypted_workbook_is_named(tmp_path, suffix):
    p = tmp_path / f"locked{suffix}"
    p.write_bytes(_cfb_with(["Root Entry", "EncryptionInfo", "EncryptedPackage"]))
    with pytest.raises(PipesheetError) as info:
        read_table(p)
    msg = str(info.value)
    assert "encrypted (password-protected)" in msg and "without a password" in msg
    assert "Cfb" not in msg


def test_damaged_xls_is_not_a_raw_reader_error(tmp_path):
    p = tmp_path / "old.xls"
    p.write_bytes(_cfb_with(["Root Entry", "Book"]))
    with pytest.raises(PipesheetError) as info:
        read_table(p)
    assert "Cfb" not in str(info.value) and ".xls" in str(info.value)


def test_read_bytes_upload_path_is_bounded_too():
    with pytest.raises(PipesheetError, match="XFD1048576"):
        read_bytes(hw.far_cell("XFD1048576"), "upload.xlsx")
    assert np.isfinite(limits.SPARSE_FILL)


def test_pipedrive_snapshot_needs_the_order_then_learns_from_the_status(capsys):
    path = str(Path(__file__).parent / "fixtures" / "exports" / "pipedrive_deals.csv")
    rc, _, err = cli(capsys, "stages", path)
    assert rc == 2 and "--stages" in err and "order of the stages" in err
    order = "Contact Made,Qualified,Proposal Made,Negotiations Started"
    rc, out, err = cli(capsys, "stages", path, "--stages", order, "--json")
    assert rc == 0, err
    rows = {r["stage"]: r for r in json.loads(out)}
    # the won deal was at Negotiations Started (kept by the reader in last_open_stage)
    assert rows["Negotiations Started"]["won"] == 1
    assert rows["Proposal Made"]["lost"] == 1
