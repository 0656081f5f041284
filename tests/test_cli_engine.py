"""``--engine pandas|duckdb|auto``: CSV and Parquet read through DuckDB give the pandas engine's
output (stage-probabilities, forecast and its range), errors still name the row, and the
engine is chosen as documented (pipesheet.exports.large)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipesheet.cli import main
from pipesheet.exports import large
from pipesheet.sample import DATA_DIR, sample_history
from test_summaries import need

DEALS = str(Path(DATA_DIR) / "sample_deals.csv")
HISTORY = str(Path(DATA_DIR) / "sample_history.csv")
RATES = str(Path(DATA_DIR) / "sample_rates.csv")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


def without_read_notes(text: str) -> list[str]:
    """The output without the lines that say how each file was read (they differ by engine)."""
    return [line for line in text.splitlines() if ".csv" not in line and ".parquet" not in line]


@pytest.fixture(autouse=True)
def _duckdb():
    need("duckdb")


@pytest.mark.parametrize(
    "argv",
    [
        ["stage-probabilities", HISTORY, DEALS, "--by", "Owner"],
        ["stage-probabilities", HISTORY, DEALS, "--method", "markov", "--as-of", "2026-03-31"],
        [
            "forecast",
            DEALS,
            HISTORY,
            "--rates",
            RATES,
            "--period",
            "quarter",
            "--by",
            "Segment",
            "--range",
            "--quota",
            "4000000",
            "--period-start",
            "2026-07-01",
            "--period-end",
            "2026-12-31",
            "--as-of",
            "2026-06-30",
        ],
    ],
    ids=["stages-by", "markov-as-of", "forecast-range"],
)
def test_duckdb_engine_prints_what_pandas_prints(capsys, argv):
    s1, pandas_out, _ = run(capsys, *argv, "--engine", "pandas")
    s2, duck_out, _ = run(capsys, *argv, "--engine", "duckdb")
    assert s1 == s2 == 0
    assert without_read_notes(duck_out) == without_read_notes(pandas_out)
    assert "read through DuckDB" in duck_out


def test_parquet_is_read_through_duckdb_by_auto(tmp_path, capsys):
    pq = need("pyarrow.parquet")
    pa = need("pyarrow")
    path = tmp_path / "history.parquet"
    pq.write_table(pa.Table.from_pandas(sample_history(), preserve_index=False), str(path))
    status, out, _ = run(capsys, "stage-probabilities", str(path), "--json")
    assert status == 0
    status, ref, _ = run(capsys, "stage-probabilities", HISTORY, "--json")
    assert json.loads(out) == json.loads(ref)


def test_errors_name_the_row_through_duckdb(tmp_path, capsys):
    bad = sample_history()
    bad.loc[10, "Stage"] = "Prpoosal"
    path = tmp_path / "history.csv"
    bad.to_csv(path, index=False)
    stages = ["--stages", "Lead,Qualified,Proposal,Negotiation"]
    for engine in ("pandas", "duckdb"):
        status, _, err = run(capsys, "stage-probabilities", str(path), *stages, "--engine", engine)
        assert status == 2
        assert "row 12" in err and "'Prpoosal'" in err and "did you mean 'Proposal'" in err


def test_engine_choice(tmp_path, monkeypatch):
    assert large.choose_engine([HISTORY], "auto", supported=True, command="x") == "pandas"
    monkeypatch.setattr(large, "AUTO_BYTES", 1)
    assert large.choose_engine([HISTORY], "auto", supported=True, command="x") == "duckdb"
    assert large.choose_engine([HISTORY], "auto", supported=False, command="x") == "pandas"
    assert large.choose_engine(["a.xlsx"], "auto", supported=True, command="x") == "pandas"
    assert large.choose_engine([HISTORY], "pandas", supported=True, command="x") == "pandas"


def test_duckdb_engine_refusals(capsys, tmp_path):
    status, _, err = run(capsys, "diagnostics", HISTORY, DEALS, "--engine", "duckdb")
    assert status == 2 and "pandas engine only" in err
    book = tmp_path / "deals.xlsx"
    book.write_bytes(b"")
    status, _, err = run(capsys, "stage-probabilities", str(book), "--engine", "duckdb")
    assert status == 2 and "reads CSV and Parquet" in err
    status, _, err = run(
        capsys, "stage-probabilities", HISTORY, "--engine", "duckdb", "--encoding", "cp1250"
    )
    assert status == 2 and "UTF-8, UTF-16 or latin-1" in err
