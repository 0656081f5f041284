"""``pipesheet report`` and money: the Summary's totals are the sheets' totals (also with
``--by``), the backtest and calibration start where the history allows and the Summary says what
was skipped, the Backtest sheet converts currencies, blank amounts are a choice."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from pipesheet import PipesheetError, StageList, backtest, read_deals
from pipesheet.cli import main
from pipesheet.report import build_report, write_report
from pipesheet.sample import sample_deals, sample_history, sample_rates
from test_money import SF, SF_STAGES, sf_tables
from test_report import _table


def _summary(path) -> dict:
    wb = openpyxl.load_workbook(path)
    return dict(_table(wb["Summary"], "Summary").values), wb


def _total(forecast: pd.DataFrame) -> pd.Series:
    first = forecast.columns[0]
    return forecast[forecast[first].astype(str) == "Total"].iloc[0]


@pytest.mark.parametrize("by", [None, "owner", "country"])
def test_summary_totals_are_the_sheets_totals(by, tmp_path):
    report = build_report(
        sample_deals(),
        sample_history(),
        rates=sample_rates(),
        by=by,
        quota=4_000_000,
        progress=False,
    )
    out = tmp_path / "report.xlsx"
    write_report(report, out)
    summary, wb = _summary(out)
    forecast = _table(wb["Forecast"], "Weighted forecast by quarter")
    total = _total(forecast)
    rows = forecast[forecast.iloc[:, 0].astype(str) != "Total"]
    assert summary["Weighted forecast"] == pytest.approx(float(total["weighted"]), rel=1e-12)
    assert summary["Weighted forecast"] == pytest.approx(rows["weighted"].astype(float).sum())
    assert summary["Open pipeline"] == pytest.approx(float(total["pipeline"]), rel=1e-12)
    assert summary["Open deals"] == int(total["deals"]) == int(rows["deals"].sum())
    title = next(t for t, _ in report.sheets["Range"])
    rng = _table(wb["Range"], title).set_index("measure")["value"]
    assert summary["Range mean"] == pytest.approx(float(rng["mean"]))
    assert summary["Range mean"] == pytest.approx(summary["Weighted forecast"], rel=1e-12)
    assert summary["Range P90"] == pytest.approx(float(rng["p90"]))
    assert summary["P(total ≥ quota)"] == pytest.approx(float(rng["p_quota"]))
    assert summary["Weighted forecast"] > 0


def _late_history(start: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The sample, keeping only the deals whose history starts on or after ``start``."""
    history, deals = sample_history(), sample_deals()
    first = (
        pd.to_datetime(history["Entered Date"], format="mixed").groupby(history["Deal ID"]).min()
    )
    keep = first.index[first >= pd.Timestamp(start)]
    return history[history["Deal ID"].isin(keep)], deals[deals["Deal ID"].isin(keep)]


def test_backtest_and_calibration_start_where_the_history_allows():
    history, deals = _late_history("2026-01-10")
    h0 = pd.to_datetime(history["Entered Date"], format="mixed").min().normalize()
    report = build_report(deals, history, rates=sample_rates(), progress=False)
    summary = dict(report.summary.values)
    assert summary["Backtest periods"].startswith("1 quarter, 2026-04-01")
    assert f"the history starts on {h0.date()}" in summary["Backtest skipped"]
    assert summary["Backtest skipped"].startswith("3 of the 4 quarters")
    titles = [t for t, _ in report.sheets["Backtest"]]
    assert titles[0] == "Backtest by period"
    wide = report.sheets["Backtest"][0][1]
    assert wide["period"].tolist() == ["2026-Q2"]
    cal_title = report.sheets["Calibration"][0][0]
    assert cal_title == "Stage probabilities predicted on 2026-03-31"
    assert summary["Calibration predicted on"] == pd.Timestamp("2026-03-31")
    assert any("backtest and calibration: 3 of the 4 quarters" in n for n in report.notes)
    text = " ".join(str(v) for v in report.summary["value"])
    assert "no history on or before" not in text


def test_no_period_fits_the_history_and_the_summary_says_so():
    history, deals = _late_history("2026-08-01")
    report = build_report(deals, history, rates=sample_rates(), progress=False)
    summary = dict(report.summary.values)
    assert summary["Backtest skipped"].startswith("4 of the 4 quarters")
    note = report.sheets["Backtest"][0][1]
    assert "the history starts on" in note["note"].iloc[0]
    assert "Backtest periods" not in summary


def test_backtest_sheet_converts_currencies():
    deals, _, rates = sf_tables()
    # the export as its files hold it (the history with its own Id), read by the export reader;
    # Won/Lost in English here: the Spanish labels are the readers' matter (issue 8.6)
    history = pd.read_csv(
        SF / "OpportunityHistory.csv", encoding="latin-1", dtype=str, keep_default_na=False
    )
    labels = {"Cerrada ganada": "Closed Won", "Cerrada perdida": "Closed Lost"}
    deals["StageName"] = deals["StageName"].replace(labels)
    history["StageName"] = history["StageName"].replace(labels)
    with pytest.raises(PipesheetError, match="amount is blank"):
        build_report(deals, history, rates=rates, progress=False)
    report = build_report(deals, history, rates=rates, blank_amounts="skip", progress=False)
    wide = report.sheets["Backtest"][0][1]
    first = pd.Timestamp(wide["period_start"].iloc[0])
    stages = StageList(SF_STAGES.open)
    hist = history
    want = backtest(
        hist,
        deals,
        first,
        len(wide),
        "quarter",
        rates=rates,
        currency="USD",
        stages=stages,
        blank_amounts="skip",
    )
    pd.testing.assert_frame_equal(wide.reset_index(drop=True), want.wide)
    summary = dict(report.summary.values)
    assert summary["Reporting currency"] == "USD"
    assert any("blank amount skipped" in n for n in report.notes)
    # the won amounts are in USD: far below the COP figures they come from
    assert wide["actual"].max() < 5_000_000


def test_cli_report_offers_blank_amounts(tmp_path, capsys):
    deals = sample_deals()
    table = read_deals(deals)
    rows = (table.frame["code"] < table.stages.k).to_numpy().nonzero()[0][:2]
    deals.loc[rows, "Amount"] = None
    d, h, r = tmp_path / "deals.csv", tmp_path / "history.csv", tmp_path / "rates.csv"
    deals.to_csv(d, index=False)
    sample_history().to_csv(h, index=False)
    sample_rates().to_csv(r, index=False)
    out = tmp_path / "report.xlsx"
    assert main(["report", str(d), str(h), "--rates", str(r), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "amount is blank" in err and "--blank-amounts" in err and not out.exists()
    args = ["report", str(d), str(h), "--rates", str(r), "-o", str(out), "--blank-amounts"]
    assert main([*args, "skip"]) == 0
    wb = openpyxl.load_workbook(out)
    notes = _table(wb["Summary"], "Notes")["note"].tolist()
    assert any("2 deal(s) with a blank amount skipped" in n for n in notes)
