"""``pipesheet balance`` and ``pipesheet diagnostics --show design``: the human output is the
engine's own (``print(result)``), ``--json`` the engine's rows, bad input one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from demo_stage import STAGES as DEMO_STAGES
from demo_stage import with_demo_stage
from pipesheet import StageList
from pipesheet.balance import TABLE_COLUMNS, pipeline_balance
from pipesheet.cli import main
from pipesheet.sample import DATA_DIR, DEALS_FILE, HISTORY_FILE, RATES_FILE
from pipesheet.stage_design import FLAG_COLUMNS, stage_design_check

DEALS, HISTORY, RATES = (str(DATA_DIR / f) for f in (DEALS_FILE, HISTORY_FILE, RATES_FILE))
EXPORTS = Path(__file__).parent / "fixtures" / "exports"
PERIOD = ["--period-start", "2026-10-01", "--period-end", "2026-12-31"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("pipesheet: error: "), err
    return lines[0]


def test_the_human_output_is_the_engines(capsys, deals, history, rates):
    status, out, err = run(
        capsys, "balance", HISTORY, DEALS, "--rates", RATES, "--target", "3000000", *PERIOD
    )
    assert status == 0 and err == ""
    want = pipeline_balance(history, deals, 3_000_000, "2026-10-01", "2026-12-31", rates=rates)
    assert out.startswith(str(want) + "\n")
    rest = out[len(str(want)) + 1 :].splitlines()
    assert rest and all(line.startswith("note: ") for line in rest)  # how the files were read
    assert any("read as the stage history" in line for line in rest)


def test_json_is_one_document_of_the_engines_rows(capsys, deals, history, rates):
    argv = ["balance", DEALS, HISTORY, "--rates", RATES, "--target", "3000000", *PERIOD]
    status, out, _ = run(capsys, *argv, "--as-of", "2026-09-15", "--noise-z", "1.5", "--json")
    assert status == 0
    rows = json.loads(out)  # one document
    want = pipeline_balance(
        history,
        deals,
        3_000_000,
        "2026-10-01",
        "2026-12-31",
        rates=rates,
        as_of="2026-09-15",
        noise_z=1.5,
    ).to_frame()
    assert [list(r) for r in rows] == [list(TABLE_COLUMNS)] * len(want)
    for row, (_, expected) in zip(rows, want.iterrows(), strict=True):
        for col in TABLE_COLUMNS:
            value = expected[col]
            if pd.isna(value):
                assert row[col] is None, col  # NaN and NaT → null
            elif isinstance(value, pd.Timestamp):
                assert row[col] == value.date().isoformat(), col
            elif isinstance(value, str):
                assert row[col] == value, col
            else:
                assert row[col] == pytest.approx(float(value), rel=1e-12), col
    assert any(r["starves_won_week"] for r in rows)  # an ISO date for a thin stage


def test_options_reach_the_engine(capsys, history):
    stages = "Lead,Qualified,Proposal,Negotiation"
    argv = ["balance", HISTORY, "--target", "500000", *PERIOD, "--average-deal", "20000"]
    status, out, _ = run(capsys, *argv, "--stages", stages, "--json")
    assert status == 0
    want = pipeline_balance(
        history,
        None,
        500_000,
        "2026-10-01",
        "2026-12-31",
        average_deal=20_000,
        stages=StageList(tuple(stages.split(","))),
    )
    rows = json.loads(out)
    assert [r["needed"] for r in rows] == pytest.approx(want.table["needed"].tolist())
    assert all(r["needed_value"] is None for r in rows)  # no deals file: counted, not valued


def test_a_german_export_as_it_was_saved(capsys):
    """cp1252, semicolons, decimal commas, German stage names and a tab-separated history."""
    deals, history = EXPORTS / "generic_deals_de.csv", EXPORTS / "generic_history_de.tsv"
    argv = ["balance", str(deals), str(history), "--target", "100000"]
    status, out, _ = run(
        capsys, *argv, "--period-start", "2026-07-01", "--period-end", "30.09.2026"
    )
    assert status == 0
    assert "Qualifiziert" in out and "Verhandlung" in out and "45,000 EUR" in out
    assert "encoding cp1252" in out


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--target", "-5", *PERIOD], ("target", "-5")),
        (["--target", "nan", *PERIOD], ("target",)),
        (
            ["--target", "1000", "--period-start", "2026-10-01", "--period-end", "2026-09-31"],
            ("period_end", "2026-09-31", "calendar date"),
        ),
        (
            ["--target", "1000", "--period-start", "2026-10-01", "--period-end", "2026-09-30"],
            ("ends before it starts", "2026-09-30"),
        ),
        (["--target", "1000", *PERIOD, "--noise-z", "0"], ("noise_z",)),
        (["--target", "lots", *PERIOD], ("--target", "lots")),
        (["--target", "1000"], ("--period-start",)),
    ],
)
def test_bad_settings_are_one_clear_line(capsys, extra, words):
    status, out, err = run(capsys, "balance", DEALS, HISTORY, "--rates", RATES, *extra)
    assert status == 2 and out == ""
    line = error_line(err)
    assert all(w in line for w in words), line


def test_without_a_history_or_rates_it_says_what_is_needed(capsys):
    status, _, err = run(capsys, "balance", DEALS, "--target", "1000", *PERIOD)
    assert status == 2 and "needs a stage-history file" in error_line(err)
    status, _, err = run(capsys, "balance", DEALS, HISTORY, "--target", "1000", *PERIOD)
    assert status == 2 and "exchange rates" in error_line(err)  # EUR and USD deals
    status, _, err = run(capsys, "balance", HISTORY, "--target", "1000", *PERIOD)
    assert status == 2 and "average won deal" in error_line(err)


# ---- diagnostics --show design ------------------------------------------------------------------
def test_diagnostics_notes_say_the_sample_raises_no_flag(capsys):
    status, out, _ = run(capsys, "diagnostics", HISTORY, DEALS, "--top", "2")
    assert status == 0
    assert "note: stage design: no flag raised (4 open stages)" in out.splitlines()


def test_diagnostics_notes_carry_each_flag(capsys, tmp_path, history, deals):
    path = tmp_path / "history.csv"
    demo = with_demo_stage(history)
    demo.to_csv(path, index=False)
    status, out, _ = run(capsys, "health", str(path), DEALS, "--top", "2")
    assert status == 0
    want = stage_design_check(demo, deals)
    notes = [line for line in out.splitlines() if line.startswith("note: stage design: ")]
    assert notes == [
        f"note: stage design: [{r.check}] {r.stage}: {r.evidence} → {r.suggestion}"
        for r in want.flags.itertuples()
    ]
    assert "Stale deals" in out  # the other tables are still there


def test_show_design_prints_the_flags_table(capsys, history, deals):
    stages = ",".join(DEMO_STAGES)
    status, out, _ = run(
        capsys, "diagnostics", HISTORY, DEALS, "--show", "design", "--stages", stages
    )
    assert status == 0
    want = stage_design_check(history, deals, stages=StageList(DEMO_STAGES))
    lines = out.splitlines()
    assert lines[0] == str(want).splitlines()[0]
    assert lines[1].split() == list(FLAG_COLUMNS)
    assert "Stale deals" not in out and "note: stage design: [" not in out
    status, out, _ = run(
        capsys, "diagnostics", HISTORY, DEALS, "--show", "design", "--stages", stages, "--json"
    )
    rows = json.loads(out)
    assert [(r["check"], r["stage"], r["deals"]) for r in rows] == [
        (r.check, r.stage, r.deals) for r in want.flags.itertuples()
    ]


def test_show_design_on_a_sound_list(capsys):
    status, out, _ = run(capsys, "diagnostics", HISTORY, DEALS, "--show", "design")
    assert status == 0
    assert out.splitlines()[:2] == [
        "Stage design check as of 2026-09-30: 4 open stages, no flag raised",
        "(none)",
    ]
    status, out, _ = run(capsys, "diagnostics", HISTORY, DEALS, "--show", "design", "--json")
    assert json.loads(out) == []
