"""The `pipesheet` command line, end to end: real files in, the engine's numbers out."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

import pipesheet as ps
from pipesheet.cli import main
from pipesheet.sample import DATA_DIR, sample_deals, sample_history, sample_rates

DEALS = str(Path(DATA_DIR) / "sample_deals.csv")
HISTORY = str(Path(DATA_DIR) / "sample_history.csv")
RATES = str(Path(DATA_DIR) / "sample_rates.csv")


def run_json(capsys, *argv: str) -> list[dict]:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_stages_json_matches_the_engine(capsys):
    rows = run_json(capsys, "stages", HISTORY, DEALS)
    model = ps.StageProbabilities().fit(sample_history(), sample_deals())
    assert [r["stage"] for r in rows] == list(model.table_["stage"])
    for row, p in zip(rows, model.table_["win_probability"], strict=True):
        assert row["win_probability"] == pytest.approx(p)
    assert set(rows[0]) >= {
        "stage",
        "reached",
        "won",
        "lost",
        "open",
        "win_probability",
        "interval_low",
        "interval_high",
        "step_conversion",
    }


def test_file_order_does_not_matter(capsys):
    a = run_json(capsys, "stages", DEALS, HISTORY)
    b = run_json(capsys, "stages", HISTORY, DEALS)
    assert a == b


def test_forecast_json_matches_the_engine(capsys):
    rows = run_json(
        capsys,
        "forecast",
        DEALS,
        HISTORY,
        "--rates",
        RATES,
        "--period",
        "quarter",
        "--by",
        "Segment",
    )
    model = ps.StageProbabilities().fit(sample_history(), sample_deals())
    want = ps.weighted_forecast(
        sample_deals(), model, period="quarter", by="Segment", rates=sample_rates()
    )
    assert len(rows) == len(want)
    assert sum(r["weighted"] for r in rows) == pytest.approx(want["weighted"].sum())
    assert rows[0]["segment"] == want["segment"].iloc[0]


def test_forecast_with_preset_and_explicit_stages(tmp_path, capsys):
    deals = pd.DataFrame(
        {
            "Opportunity ID": ["1", "2"],
            "StageName": ["Prospecting", "Closed Won"],
            "Amount": ["10,000", "5000"],
            "CloseDate": ["2026-10-15", "2026-09-01"],
        }
    )
    path = tmp_path / "opps.csv"
    deals.to_csv(path, index=False)
    rows = run_json(
        capsys,
        "forecast",
        str(path),
        "--probabilities",
        "salesforce",
        "--stages",
        "Prospecting,Qualification",
        "--period",
        "none",
    )
    # one open deal: 10,000 × 10% (Salesforce's Prospecting) = 1,000
    assert rows == [
        {
            "deals": 1,
            "pipeline": 10000.0,
            "weighted": 1000.0,
            "std_dev": pytest.approx(math.sqrt(10000**2 * 0.1 * 0.9)),
        }
    ]


def test_leads_worked_example(capsys):
    rows = run_json(
        capsys,
        "leads",
        "--target",
        "1000000",
        "--average-deal",
        "25000",
        "--conversions",
        "Lead=0.5,Qualified=0.4,Proposal=25%",
    )
    assert [r["deals_needed"] for r in rows] == [800, 400, 160, 40]


def test_bad_input_exits_2_with_clear_message(tmp_path, capsys):
    bad = tmp_path / "deals.csv"
    bad.write_text("Deal ID,Stage,Amount\nA,Lead,100\nB,Propsal,-5\n", encoding="utf-8")
    assert main(["stages", str(bad), "--stages", "Lead,Proposal"]) == 2
    err = capsys.readouterr().err
    assert "table 'deals'" in err and "column 'Stage'" in err and "row 3" in err
    assert "'Propsal'" in err and "did you mean 'Proposal'" in err
    assert main(["stages", str(bad), "--stages", "Lead,Propsal"]) == 2
    err = capsys.readouterr().err
    assert "column 'Amount'" in err and "row 3" in err and "negative" in err


def test_latin1_semicolon_csv(tmp_path, capsys):
    path = tmp_path / "deals.csv"
    path.write_bytes(
        "Deal ID;Étape;Amount\nA;Qualifié;100\nB;Gagné;200\nC;Perdu;50\n".encode("latin-1")
    )
    # a snapshot (no history): the stage is read, but P(win | stage) cannot be learned from it
    assert main(["stages", str(path), "--col", "stage=Étape", "--stages", "Qualifié"]) == 2
    err = capsys.readouterr().err
    assert "not identifiable" in err and "history" in err and "--probabilities" in err


def test_demo_writes_a_workbook(tmp_path, capsys):
    out = tmp_path / "demo.xlsx"
    assert main(["demo", "--output", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Stage probabilities" in text and "Weighted forecast" in text and "Lead plan" in text
    sheets = pd.read_excel(out, sheet_name=None, engine="openpyxl")
    assert {"Stage probabilities", "Forecast", "Range", "Lead plan"} <= set(sheets)
    model = ps.StageProbabilities().fit(sample_history(), sample_deals())
    got = sheets["Stage probabilities"]["win_probability"].to_numpy()
    assert got == pytest.approx(model.table_["win_probability"].to_numpy())


def test_forecast_range_json_is_one_document_equal_to_the_engine(capsys):
    rows = run_json(capsys, "forecast", DEALS, HISTORY, "--rates", RATES, "--quota", "3500000")
    got = {r["measure"]: r["value"] for r in rows}
    model = ps.StageProbabilities().fit(sample_history(), sample_deals())
    want = ps.pipeline_range(sample_deals(), model, quota=3_500_000, rates=sample_rates())
    assert got["p50"] == pytest.approx(want.p50)
    assert got["p_quota"] == pytest.approx(want.p_quota)


def test_demo_replaces_its_own_workbook_but_never_a_users_file(tmp_path, capsys):
    out = tmp_path / "demo.xlsx"
    assert main(["demo", "--output", str(out)]) == 0
    assert main(["demo", "--output", str(out)]) == 0  # the README command, run twice
    mine = tmp_path / "budget.xlsx"
    pd.DataFrame({"a": [1]}).to_excel(mine, index=False, engine="openpyxl")
    before = mine.read_bytes()
    assert main(["demo", "--output", str(mine)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert mine.read_bytes() == before


def test_a_deals_column_mapping_does_not_stop_the_history(capsys):
    """--columns amount=Amount names the deals' column; the history (no amount) is not refused,
    while a mapped header that no table has still is."""
    from pipesheet.cli import main
    from pipesheet.sample import DATA_DIR

    files = [str(DATA_DIR / "sample_deals.csv"), str(DATA_DIR / "sample_history.csv")]
    rates = ["--rates", str(DATA_DIR / "sample_rates.csv")]
    assert main(["forecast", *files, *rates, "--columns", "amount=Amount", "--json"]) == 0
    capsys.readouterr()
    assert main(["forecast", *files, *rates, "--columns", "amount=Amuont"]) == 2
    err = capsys.readouterr().err
    assert "table 'deals'" in err and "'Amuont', which is not there" in err


def test_a_blank_text_cell_prints_blank_not_nan(tmp_path, capsys):
    """A deal without an owner: the stale-deals table shows an empty owner cell (pandas 3 keeps
    text as "str", whose blank is NaN) — found by tests/test_fuzz.py."""
    deals = tmp_path / "deals.csv"
    history = tmp_path / "history.csv"
    deals.write_text(
        "Deal ID,Stage,Amount,Expected Close Date,Owner\n"
        "D0,Lead,0,2024-01-01,\nD1,Lead,0,2024-01-01,Ana\nD3,Closed Won,5,2024-01-01,Ana\n",
        encoding="utf-8",
    )
    history.write_text(
        "Deal ID,Stage,Entered Date\nD0,Lead,2024-01-01\nD1,Lead,2024-01-01\n"
        "D3,Lead,2024-01-01\nD3,Closed Won,2027-11-15\n",
        encoding="utf-8",
    )
    assert main(["health", str(history), str(deals), "--stages", "Lead,Qualified"]) == 0
    out = capsys.readouterr().out
    assert "NaN" not in out and "nan" not in out.split()
