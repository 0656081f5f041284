"""PIPE_QUOTA_TABLE and PIPE_SCENARIO through xlwings' own Office.js dispatcher: the spilled
result is the engine's, on the hand-worked tables of tests/test_quotas.py and
tests/test_scenarios.py; bad input is the engine's message in the cell."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("xlwings")

from pipesheet import StageList, apply_scenarios, quota_table
from pipesheet.exports import read_table
from test_excel import (
    assert_clean,
    assert_spill_equals,
    call,
    excel_range,
    message_of,
    serial,
    unformat,
)

FIXTURES = Path(__file__).parent / "fixtures" / "planning"


@pytest.fixture(scope="module")
def files():
    return {n: read_table(FIXTURES / f"{n}.csv") for n in ("deals", "quotas", "teams")}


PROBS = [["Stage", "Probability"], ["Lead", 0.1], ["Proposal", 0.5]]


def test_quota_table_spills_the_engine_result(files):
    got = call(
        "PIPE_QUOTA_TABLE",
        excel_range(files["deals"]),
        PROBS,
        excel_range(files["quotas"]),
        "Salesperson",
        excel_range(files["teams"]),
        serial("2026-08-02"),
    )
    want = quota_table(
        files["deals"],
        {"Lead": 0.1, "Proposal": 0.5},
        files["quotas"],
        by="Salesperson",
        hierarchy=files["teams"],
        as_of="2026-08-02",
    ).to_frame()
    assert_spill_equals(got, want)
    header = got[0]
    team = next(r for r in got if r[header.index("name")] == "Team A")
    # the roll-up to the cent and the team's own P(≥ quota)
    assert team[header.index("quota")] == 1500.3 and team[header.index("closed")] == 0.3
    assert team[header.index("p_quota")] == pytest.approx(0.1)
    assert unformat(team[header.index("start")]) == serial("2026-07-01")


def test_quota_table_errors_in_the_cell(files):
    dup = pd.DataFrame({"Owner": ["Ana", "Ana"], "Period": ["2026-Q3", "2026-Q3"], "Quota": [1, 2]})
    text = message_of(
        call("PIPE_QUOTA_TABLE", excel_range(files["deals"]), PROBS, excel_range(dup))
    )
    assert "table 'quotas', column 'Owner', rows 2, 3: quota listed twice" in text
    text = message_of(
        call(
            "PIPE_QUOTA_TABLE",
            excel_range(files["deals"]),
            PROBS,
            [["Owner", "Period", "Quota"], ["Ana", "soon", 1]],
        )
    )
    assert "row 2: period is not a period label (value 'soon')" in text


DEALS = pd.DataFrame(
    {
        "Deal ID": ["a", "b", "c", "d", "W"],
        "Stage": ["Lead", "Qualified", "Proposal", "Proposal", "Won"],
        "Amount": [100, 300, 1000, 500, 100],
        "Expected Close Date": [
            "2026-10-10",
            "2026-11-15",
            "2026-12-20",
            "2026-09-20",
            "2026-09-15",
        ],
    }
)
STAGES = [["Stage", "Probability"], ["Lead", 0.5], ["Qualified", 0.25], ["Proposal", 0.2]]


def test_scenario_spills_before_and_after():
    got = call(
        "PIPE_SCENARIO",
        excel_range(DEALS),
        STAGES,
        "drop-largest 1",
        300,
        serial("2026-10-01"),
        serial("2026-12-31"),
        serial("2026-09-30"),
    )
    assert_clean(got)
    assert got[0] == ["measure", "before", "after", "change"]
    rows = {r[0]: r[1:] for r in got[1:]}
    # the hand-worked numbers: 325 − 1,000·.2 = 125; P(≥ 300) .4 → .25
    assert rows["forecast"] == [325, 125, -200]
    assert rows["p_quota"][:2] == [pytest.approx(0.4), pytest.approx(0.25)]
    assert rows["p90"][:2] == [1100, 400]
    assert rows["closed"] == [0, 0, 0]
    assert rows["what changed"][2].startswith("drops the 1 largest open deal(s): c (1,000")
    api = apply_scenarios(
        DEALS,
        {"Lead": 0.5, "Qualified": 0.25, "Proposal": 0.2},
        "drop-largest 1",
        quota=300,
        start="2026-10-01",
        end="2026-12-31",
        as_of="2026-09-30",
        stages=StageList(("Lead", "Qualified", "Proposal")),
    ).compare(0)
    for _, r in api.iterrows():
        assert rows[r["measure"]] == [
            pytest.approx(r["before"]),
            pytest.approx(r["after"]),
            pytest.approx(r["change"]),
        ]


@pytest.mark.parametrize(
    ("scenario", "says"),
    [
        ("slip soon", "scenario 'slip soon': N must be a whole number"),
        (None, "no scenario given"),
        ("drop zz", "no deal 'zz' in the deals table"),
    ],
)
def test_scenario_errors_in_the_cell(scenario, says):
    text = message_of(call("PIPE_SCENARIO", excel_range(DEALS), STAGES, scenario))
    assert says in text
