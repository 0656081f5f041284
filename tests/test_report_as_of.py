"""The report and the commands agree on an as-of date (issue 8.9): a history row stamped later on
the as-of day counts in both, so they see the same deals and name the same bottleneck."""

from __future__ import annotations

import json

import pandas as pd

from pipesheet import StageProbabilities
from pipesheet.cli import main
from pipesheet.diagnostics import bottlenecks, stale_deals
from pipesheet.report import build_report
from pipesheet.sample import sample_deals, sample_history, sample_rates


def _with_a_late_row(as_of: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The sample, with every row of the as-of day moved to 15:00 that day (a stamped export)."""
    history = sample_history()
    col = "Entered Date"
    day = pd.to_datetime(history[col]).dt.normalize() == pd.Timestamp(as_of)
    assert day.any()
    history[col] = history[col].astype(object)
    history.loc[day, col] = f"{as_of} 15:00:00"
    return history, sample_deals()


def test_report_and_commands_see_the_same_rows(tmp_path, capsys):
    as_of = "2026-03-31"
    history, deals = _with_a_late_row(as_of)
    # a few deals moved on the day itself: they must count
    stamped = (history["Entered Date"] == f"{as_of} 15:00:00").sum()
    assert stamped > 0
    h, d = tmp_path / "history.csv", tmp_path / "deals.csv"
    history.to_csv(h, index=False)
    deals.to_csv(d, index=False)
    rates = tmp_path / "rates.csv"
    sample_rates().to_csv(rates, index=False)
    report = build_report(str(h), str(d), as_of=as_of, rates=str(rates), progress=False)
    sheet = dict(report.sheets["Stage probabilities"])["Stage probabilities"]
    model = StageProbabilities(as_of=as_of).fit(history, deals)
    assert sheet["won"].tolist() == model.table_["won"].tolist()
    assert sheet["lost"].tolist() == model.table_["lost"].tolist()
    assert main(["stages", str(h), str(d), "--as-of", as_of, "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert [r["won"] for r in cli] == sheet["won"].tolist()
    diag = dict(report.sheets["Diagnostics"])
    core = bottlenecks(history, period="quarter", as_of=as_of)
    assert diag["Bottlenecks"]["bottleneck"].tolist() == core["bottleneck"].tolist()
    stale = stale_deals(history, deals, as_of=as_of, only_stale=True)
    assert sorted(diag["Stale deals"]["deal_id"]) == sorted(stale["deal_id"])
    # the rows stamped at 15:00 count exactly as they did at midnight: the whole day is known
    unstamped = StageProbabilities(as_of=as_of).fit(sample_history(), deals)
    pd.testing.assert_frame_equal(model.table_, unstamped.table_)
