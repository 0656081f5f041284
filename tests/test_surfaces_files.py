"""The one workbook writer (pipesheet.writer): any text is written safely, numbers never change,
a user's file is never lost (issue 10.6, 10.7)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from pipesheet.errors import PipesheetError
from pipesheet.writer import (
    build_workbook,
    cell_text,
    check_output,
    workbook_bytes,
    write_workbook,
    written_by_pipesheet,
)

CONTROL = "".join(chr(c) for c in range(32) if c not in (9, 10, 13))


def _hostile_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "owner": ["Ana\x07 Bell", "Bo\x00b", "=cmd\x1b", "tab\tand\nline"],
            "stage\x01": ["Pro\x0bposal", "Lead", "\ufffeWon", "x" + CONTROL + "y"],
            "amount": [1234.5678, 1e15 + 0.5, -0.0001, 7.0],
            "win_probability": [0.1, 0.25, 1 / 3, 0.0],
            "close_date": pd.to_datetime(["2026-01-31", "2026-02-28", None, "2027-12-31"]),
        }
    )


def test_control_characters_are_removed_and_numbers_kept(tmp_path):
    frame = _hostile_frame()
    out = write_workbook(
        tmp_path / "r.xlsx", {"Deals\x07 [by owner]: a/b*?": frame, "Deals": frame.head(1)}
    )
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Deals _by owner__ a_b__", "Deals"]
    ws = wb.worksheets[0]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    assert rows[0] == ["owner", "stage", "amount", "win_probability", "close_date"]
    assert [r[0] for r in rows[1:]] == ["Ana Bell", "Bob", "=cmd", "tab\tand\nline"]
    assert [r[1] for r in rows[1:]] == ["Proposal", "Lead", "Won", "xy"]
    assert ws["A4"].data_type == "s" and ws["A4"].quotePrefix  # still never a formula
    # numbers as computed (openpyxl writes 16 significant digits; Excel keeps 15)
    assert [r[2] for r in rows[1:]] == pytest.approx(frame["amount"].tolist(), rel=1e-15)
    assert [r[3] for r in rows[1:]] == pytest.approx(frame["win_probability"].tolist(), rel=1e-15)
    assert rows[1][4].date().isoformat() == "2026-01-31" and rows[3][4] is None


def test_download_bytes_with_control_characters_open():
    data = workbook_bytes({"Results": _hostile_frame()})
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb["Results"]["A2"].value == "Ana Bell"


def test_cell_text_keeps_everything_an_xlsx_can_hold():
    text = "Čeč Zoë Müller — 東京 🙂 tab\t line\n cr\r"
    assert cell_text(text) == text
    assert cell_text("a" + CONTROL + "\ud800\uffff" + "b") == "ab"


def test_dashboard_download_with_control_characters():
    pytest.importorskip("ipywidgets")
    pytest.importorskip("matplotlib")
    from pipesheet.apps import Dashboard
    from pipesheet.sample import sample_deals, sample_history, sample_rates

    deals = sample_deals()
    deals["Owner"] = deals["Owner"].str.replace(" ", "\x07 ", regex=False)
    app = Dashboard(deals, sample_history(), sample_rates(), source="test")
    assert app.error == ""
    app.group.value = "owner"
    wb = openpyxl.load_workbook(io.BytesIO(app.results_xlsx()))
    texts = [c.value for ws in wb for r in ws.iter_rows() for c in r if isinstance(c.value, str)]
    assert any("Lukas Becker" == t for t in texts)
    assert not any("\x07" in t for t in texts)


def test_table_names_are_not_doubled():
    wb = build_workbook(
        {
            "Stage probabilities": [("Stage probabilities", pd.DataFrame({"a": [1]}))],
            "Lead plan": [
                ("Lead plan", pd.DataFrame({"a": [1]})),
                ("Explanation", pd.DataFrame({"b": ["x"]})),
            ],
            "Deals": pd.DataFrame({"a": [1]}),
        }
    )
    names = sorted(t for ws in wb for t in ws.tables)
    assert names == ["Deals", "Lead_plan", "Lead_plan_Explanation", "Stage_probabilities"]


def test_measure_tables_format_each_row_by_its_name():
    frame = pd.DataFrame(
        {
            "measure": ["mean", "p10", "p_quota", "error_bound", "lead_to_win_rate", "new_leads"],
            "value": [1000.0, 900.0, 0.67, 12.5, 0.2, 45.0],
        }
    )
    summary = pd.DataFrame(
        {"item": ["Deals", "Open pipeline", "Overall win rate"], "value": [3000, 1.5e6, 0.3]}
    )
    ws = build_workbook({"Range": frame, "Summary": summary})
    fmts = {r[0].value: r[1].number_format for r in ws["Range"].iter_rows(min_row=2)}
    assert fmts == {
        "mean": "#,##0.00",
        "p10": "#,##0.00",
        "p_quota": "0.0%",
        "error_bound": "#,##0.00",
        "lead_to_win_rate": "0.0%",
        "new_leads": "#,##0",
    }
    fmts = {r[0].value: r[1].number_format for r in ws["Summary"].iter_rows(min_row=2)}
    assert fmts == {"Deals": "#,##0", "Open pipeline": "#,##0.00", "Overall win rate": "0.0%"}


# ---- user files ---------------------------------------------------------------------------------
def test_fingerprint_is_verified_on_the_bytes(tmp_path):
    out = write_workbook(tmp_path / "a.xlsx", {"T": pd.DataFrame({"x": [1.0, 2.0]})})
    assert written_by_pipesheet(out)
    # the same parts re-zipped (another compression) are still the same content
    with zipfile.ZipFile(out) as z:
        parts = [(i, z.read(i)) for i in z.infolist()]
    again = tmp_path / "b.xlsx"
    with zipfile.ZipFile(again, "w", zipfile.ZIP_STORED) as z:
        for info, data in parts:
            z.writestr(info.filename, data)
    assert written_by_pipesheet(again)
    # one changed byte in a sheet: not pipesheet's file any more
    changed = tmp_path / "c.xlsx"
    with zipfile.ZipFile(changed, "w") as z:
        for info, data in parts:
            if info.filename.startswith("xl/worksheets/"):
                data = data.replace(b"<v>2</v>", b"<v>3</v>")
            z.writestr(info.filename, data)
    assert not written_by_pipesheet(changed)
    # a user's workbook with pipesheet as creator (Excel keeps dc:creator) is not ours
    wb = openpyxl.Workbook()
    wb.properties.creator = "pipesheet"
    wb.save(tmp_path / "user.xlsx")
    assert not written_by_pipesheet(tmp_path / "user.xlsx")
    (tmp_path / "text.xlsx").write_text("not a zip")
    assert not written_by_pipesheet(tmp_path / "text.xlsx")
    assert not written_by_pipesheet(tmp_path / "missing.xlsx")


def test_check_output_rules(tmp_path):
    given = tmp_path / "in.xlsx"
    given.write_bytes(b"x")
    with pytest.raises(PipesheetError, match="overwrite an input"):
        check_output(given, inputs=[given], overwrite=True)
    with pytest.raises(PipesheetError, match="overwrite an input"):
        check_output(tmp_path / "sub" / ".." / "in.xlsx", inputs=[str(given)], overwrite=True)
    with pytest.raises(PipesheetError, match="already exists"):
        check_output(given)
    assert check_output(given, overwrite=True) == given
    with pytest.raises(PipesheetError, match=r"must be an \.xlsx"):
        check_output(tmp_path / "a.csv")
    with pytest.raises(PipesheetError, match="folder does not exist"):
        check_output(tmp_path / "nowhere" / "a.xlsx")


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    import os

    out = tmp_path / "a.xlsx"
    out.write_bytes(b"old")

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(PipesheetError, match="No space left on device"):
        write_workbook(out, {"T": pd.DataFrame({"x": np.arange(3)})}, overwrite=True)
    assert out.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.xlsx"]
