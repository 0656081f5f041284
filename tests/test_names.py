"""One meaning per name: the renamed keywords, attributes, commands and options keep their old
spelling for one release (a DeprecationWarning in Python; plain aliases on the command line) and
give the same results as the new ones."""

from __future__ import annotations

import inspect
import json

import pandas as pd
import pytest

import pipesheet as ps
from pipesheet.cli import main
from pipesheet.sample import DATA_DIR, DEALS_FILE, HISTORY_FILE

DEALS, HISTORY = str(DATA_DIR / DEALS_FILE), str(DATA_DIR / HISTORY_FILE)


def test_forecast_range_takes_range_method_and_its_old_name():
    new = ps.forecast_range([100, 300], [0.5, 0.25], quota=300, range_method="exact")
    assert new.range_method == "exact"
    with pytest.warns(DeprecationWarning, match="range_method"):
        old = ps.forecast_range([100, 300], [0.5, 0.25], quota=300, method="exact")
    assert (old.p10, old.p50, old.p90, old.p_quota) == (new.p10, new.p50, new.p90, new.p_quota)
    with pytest.warns(DeprecationWarning, match="range_method"):
        assert new.method == "exact"
    with pytest.warns(DeprecationWarning), pytest.raises(ps.PipesheetError, match="both"):
        ps.forecast_range([100], [0.5], range_method="lattice", method="exact")


def test_pipeline_range_passes_range_method(deals, rates):
    got = ps.pipeline_range(deals, "configured", rates=rates, range_method="monte_carlo", draws=500)
    assert got.range_method == "monte_carlo"


def test_time_aware_forecast_takes_period_end_and_its_old_name(history):
    new = ps.TimeAwareForecast(as_of="2026-06-30", period_end="2026-09-30").fit(history)
    with pytest.warns(DeprecationWarning, match="period_end"):
        model = ps.TimeAwareForecast(as_of="2026-06-30", period="2026-09-30")
    old = model.fit(history)
    assert old.period_end_ == new.period_end_ == pd.Timestamp("2026-09-30")
    pd.testing.assert_frame_equal(old.deals_, new.deals_)
    assert "period" not in new.get_params() and new.get_params()["period_end"] == "2026-09-30"
    with pytest.warns(DeprecationWarning):
        assert new.period == "2026-09-30"


def test_calibration_takes_probabilities_and_the_old_method(history):
    new = ps.calibration(history, None, "2026-03-31", probabilities="learned")
    assert new.probabilities == "learned" and "probabilities" in new.summary.columns
    with pytest.warns(DeprecationWarning, match="probabilities"):
        old = ps.calibration(history, None, "2026-03-31", method="stage")
    with pytest.warns(DeprecationWarning, match="learned"):
        value = ps.calibration(history, None, "2026-03-31", probabilities="stage")
    for got in (old, value):
        assert got.probabilities == "learned" and got.brier == new.brier
    with pytest.warns(DeprecationWarning):
        assert new.method == "stage"
    with pytest.raises(ps.PipesheetError, match="probabilities to calibrate"):
        ps.calibration(history, None, "2026-03-31", probabilities="isotonic")


def _json(capsys, *argv: str):
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("new", "old"),
    [
        (["stage-probabilities", HISTORY], ["stages", HISTORY]),
        (
            ["quota-gap", "--quota", "1000000", "--average-deal", "20000", "--lead-to-win", "0.2"],
            ["gap", "--quota", "1000000", "--average-deal", "20000", "--lead-to-win", "0.2"],
        ),
        (["diagnostics", HISTORY, DEALS], ["health", HISTORY, DEALS]),
        (
            ["stage-probabilities", HISTORY, "--columns", "stage=Stage"],
            ["stage-probabilities", HISTORY, "--col", "stage=Stage"],
        ),
        (
            ["calibration", HISTORY, "--as-of", "2026-03-31", "--probabilities", "learned"],
            ["calibration", HISTORY, "--as-of", "2026-03-31", "--method", "stage"],
        ),
    ],
    ids=["stages", "gap", "health", "col", "calibration-method"],
)
def test_old_command_and_option_names_still_work(capsys, new, old):
    assert _json(capsys, *old) == _json(capsys, *new)


def test_help_shows_the_new_names_and_the_aliases(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("stage-probabilities (stages)", "quota-gap (gap)", "diagnostics (health)"):
        assert name in out


def test_excel_arguments_follow_the_engine():
    pytest.importorskip("xlwings")
    import pipesheet.excel as excel

    assert "range_method" in inspect.signature(excel.PIPE_FORECAST_RANGE).parameters
    assert "probabilities" in inspect.signature(excel.PIPE_CALIBRATION).parameters
    assert "period_end" in inspect.signature(excel.PIPE_TIME_AWARE_FORECAST).parameters


def test_quota_gap_takes_as_of_and_its_old_name():
    args = (1_000_000, 200_000, 300_000)
    kw = {"average_deal": 25_000, "lead_to_win_rate": 0.1, "period_end": "2026-12-31"}
    new = ps.quota_gap(*args, as_of="2026-09-30", **kw)
    with pytest.warns(DeprecationWarning, match="as_of"):
        old = ps.quota_gap(*args, today="2026-09-30", **kw)
    assert old.leads_per_week == new.leads_per_week and new.selling_weeks > 0
