"""docs/scale.md shows real output: its DuckDB example runs and prints what the page shows, and
those are the pandas path's figures."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "scale.md"


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_the_duckdb_example_prints_what_the_page_shows():
    pytest.importorskip("duckdb")
    code = next(b for b in blocks("python") if "import duckdb" in b)
    shown = blocks("text")[0]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(DOC), "exec"), {"__name__": "docs_scale"})
    assert out.getvalue().rstrip() == shown.rstrip()


def test_the_figures_are_the_pandas_paths():
    import pipesheet as ps
    from pipesheet.sample import sample_deals, sample_history, sample_rates

    model = ps.StageProbabilities().fit(sample_history(), sample_deals())
    shown = blocks("text")[0]
    for row in model.table_.itertuples():
        assert any(
            part.split()[1:6]
            == [row.stage, str(row.reached), str(row.won), str(row.lost), str(row.open)]
            for part in shown.splitlines()
        ), row.stage
    total = ps.weighted_forecast(
        sample_deals(), model, period="quarter", rates=sample_rates(), total=True
    ).iloc[-1]
    assert f"{total['pipeline']:.2f}" in shown
