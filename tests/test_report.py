"""``pipesheet report``: the workbook holds what the API returns, opens in LibreOffice, is safe."""

from __future__ import annotations

import argparse
import os
import subprocess
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from conftest import require_tool
from pipesheet import StageProbabilities, read_deals, weighted_forecast
from pipesheet.cli.report import add_parsers, run
from pipesheet.diagnostics import bottlenecks
from pipesheet.report import SHEETS, build_report, write_report
from pipesheet.sample import generate_pipeline
from pipesheet.waterfall import waterfall_from_history


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("in")
    deals, history = generate_pipeline(800, seed=11, dirty=False)
    deals = deals.drop(columns=["Currency"])
    names = deals["Owner"].dropna().unique()[:3]
    risky = dict(zip(names, ["=2+3", "@SUM(A1)", "-cmd|' /C calc'!A0"], strict=True))
    deals["Owner"] = deals["Owner"].replace(risky)
    deals.to_csv(d / "deals.csv", index=False)
    history.to_csv(d / "history.csv", index=False)
    return d / "deals.csv", d / "history.csv"


@pytest.fixture(scope="module")
def report(inputs):
    return build_report(*inputs, period="quarter", progress=False)


@pytest.fixture(scope="module")
def written(report, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "report.xlsx"
    write_report(report, out)
    return out


def _table(ws, title):
    """Read back the Excel Table under a title cell as a frame."""
    rows = list(ws.iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] == title)
    header = [h for h in rows[start + 1] if h is not None]
    body = []
    for r in rows[start + 2 :]:
        if all(v is None for v in r[: len(header)]):
            break
        body.append(r[: len(header)])
    return pd.DataFrame(body, columns=header)


def test_sheets_in_order(written):
    wb = openpyxl.load_workbook(written)
    assert wb.sheetnames == list(SHEETS)


def test_sheets_hold_what_the_api_returns(inputs, written):
    deals_raw = pd.read_csv(inputs[0])
    hist_raw = pd.read_csv(inputs[1])
    wb = openpyxl.load_workbook(written)
    model = StageProbabilities().fit(hist_raw, deals_raw)
    got = _table(wb["Stage probabilities"], "Stage probabilities")
    assert got["stage"].tolist() == model.table_["stage"].tolist()
    np.testing.assert_allclose(
        got["win_probability"].astype(float), model.table_["win_probability"], rtol=1e-12
    )
    fc = weighted_forecast(
        read_deals(deals_raw, stages=model.stages_), model, period="quarter", total=True
    )
    got = _table(wb["Forecast"], "Weighted forecast by quarter")
    np.testing.assert_allclose(got["weighted"].astype(float), fc["weighted"], rtol=1e-12)
    as_of = pd.Timestamp(hist_raw["Entered Date"].max())
    w = waterfall_from_history(
        hist_raw, "2026-06-30", as_of, deals_raw, start="2026-07-01", end="2026-09-30"
    )
    got = _table(wb["Waterfall"], "Pipeline closing 2026-07-01 – 2026-09-30")
    assert got["value_cents"].tolist() == w.table["value_cents"].tolist()
    b = bottlenecks(hist_raw, as_of=as_of)
    got = _table(wb["Diagnostics"], "Bottlenecks")
    assert got["stage"].tolist() == b["stage"].tolist()
    np.testing.assert_allclose(got["gap"].astype(float), b["gap"], rtol=1e-12)
    summary = dict(_table(wb["Summary"], "Summary").values)
    assert summary["Weighted forecast"] == pytest.approx(float(fc["weighted"].iloc[-1]))


def test_formats_tables_charts_frozen_headers(written):
    wb = openpyxl.load_workbook(written)
    for name in SHEETS:
        ws = wb[name]
        assert ws.tables, name
        assert ws.freeze_panes == "A3", name
    ws = wb["Stage probabilities"]
    assert ws["F3"].number_format == "0.0%"
    with zipfile.ZipFile(written) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) == 3


def test_text_from_data_is_never_a_formula(written):
    with zipfile.ZipFile(written) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert b"<f>" not in z.read(name), name
    wb = openpyxl.load_workbook(written)
    ws = wb["Diagnostics"]
    texts = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    risky = [c for c in texts if c.value[:1] in "=+-@"]
    assert risky, "the fixture owners should reach the stale-deals table"
    assert all(c.data_type == "s" and c.quotePrefix for c in risky)


def test_refuses_to_overwrite_and_force_replaces_atomically(report, tmp_path):
    out = tmp_path / "r.xlsx"
    out.write_bytes(b"keep me")
    with pytest.raises(Exception, match="already exists"):
        write_report(report, out)
    assert out.read_bytes() == b"keep me"
    write_report(report, out, force=True)
    assert zipfile.is_zipfile(out)
    assert [p.name for p in tmp_path.iterdir()] == ["r.xlsx"]  # no temp file left


def test_cli_run_never_touches_inputs(inputs, tmp_path, capsys):
    before = [(p.read_bytes(), os.stat(p).st_mtime_ns) for p in inputs]
    parser = argparse.ArgumentParser()
    add_parsers(parser.add_subparsers())
    out = tmp_path / "cli.xlsx"
    args = parser.parse_args(["report", *map(str, inputs), "-o", str(out), "--no-progress"])
    assert run(args) == 0
    assert out.exists()
    assert run(args) == 2
    assert "already exists" in capsys.readouterr().err
    args = parser.parse_args(["report", str(inputs[0]), "-o", str(inputs[0]), "--force"])
    assert run(args) == 2
    assert [(p.read_bytes(), os.stat(p).st_mtime_ns) for p in inputs] == before


def test_opens_in_libreoffice_headless(written, tmp_path):
    soffice = require_tool("soffice", "libreoffice")
    env = dict(os.environ, HOME=str(tmp_path))
    proc = subprocess.run(
        [
            soffice,
            "--headless",
            "--norestore",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(tmp_path / "lo"),
            str(written),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    converted = tmp_path / "lo" / "report.xlsx"
    assert proc.returncode == 0 and converted.exists(), proc.stderr
    wb = openpyxl.load_workbook(converted)
    assert wb.sheetnames == list(SHEETS)
    orig = openpyxl.load_workbook(written)
    for name in ("Stage probabilities", "Waterfall"):
        a = [[c.value for c in r] for r in orig[name].iter_rows(max_row=8, max_col=6)]
        b = [[c.value for c in r] for r in wb[name].iter_rows(max_row=8, max_col=6)]
        assert len(a) == len(b)
        for ra, rb in zip(a, b, strict=True):
            for va, vb in zip(ra, rb, strict=True):
                if isinstance(va, float):
                    assert vb == pytest.approx(va, rel=1e-9)
                else:
                    assert va == vb
