"""The command line of issue 14.1–14.2: ``quota-gap --quota FILE [--hierarchy FILE]`` and
``forecast --scenario``: the same numbers as the API, ``--json`` one document, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipesheet import StageList, apply_scenarios, quota_gap, quota_table
from pipesheet.cli import main
from pipesheet.exports import read_table
from pipesheet.sample import DATA_DIR, DEALS_FILE, HISTORY_FILE

FIXTURES = Path(__file__).parent / "fixtures" / "planning"
DEALS, QUOTAS, TEAMS, PROBS = (
    str(FIXTURES / f"{n}.csv") for n in ("deals", "quotas", "teams", "probabilities")
)
SAMPLE = [str(DATA_DIR / DEALS_FILE), str(DATA_DIR / HISTORY_FILE)]
RATES = str(DATA_DIR / "sample_rates.csv")
GAP = [
    "quota-gap",
    DEALS,
    "--probabilities",
    PROBS,
    "--quota",
    QUOTAS,
    "--by",
    "owner",
    "--hierarchy",
    TEAMS,
    "--as-of",
    "2026-08-02",
    "--average-deal",
    "250",
    "--lead-to-win",
    "0.25",
    "--cycle-days",
    "0",
]


def run_json(capsys, *argv: str):
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_quota_table_json_is_the_api(capsys):
    rows = run_json(capsys, *GAP)
    api = quota_table(
        read_table(DEALS),
        read_table(PROBS),
        read_table(QUOTAS),
        by="owner",
        hierarchy=read_table(TEAMS),
        as_of="2026-08-02",
        average_deal=250,
        lead_to_win_rate=0.25,
        cycle_days=0,
    ).table
    assert [r["name"] for r in rows] == api["name"].tolist()
    for r, (_, a) in zip(rows, api.iterrows(), strict=True):
        for key in ("quota", "closed", "expected", "gap", "coverage", "p_quota", "leads_per_week"):
            assert r[key] == pytest.approx(a[key]), key
        assert r["level"] == a["level"]
    team = next(r for r in rows if r["name"] == "Team A")
    # the roll-up to the cent: 0.10 + 0.20 = 0.30 exactly, 1,000.10 + 500.20 = 1,500.30
    assert (team["quota"], team["closed"], team["gap"]) == (1500.3, 0.3, 800)
    assert team["p_quota"] == pytest.approx(0.1)


def test_quota_table_printed(capsys):
    assert main(GAP) == 0
    out = capsys.readouterr().out
    assert "Quotas as of 2026-08-02" in out
    assert "Q3 2026   Team Team A 1,500.30   0.30   700.00   800.00    2.00×   10.0%" in out
    assert "note: 1 open or won deal(s) are in no row: their owner has no quota row (Dan)" in out


def test_one_quota_number_still_works(capsys):
    rows = run_json(
        capsys, "gap", "--quota", "1,000,000", "--average-deal", "20000", "--lead-to-win", "0.2"
    )
    gap = quota_gap(1_000_000, average_deal=20_000, lead_to_win_rate=0.2)
    got = {r["measure"]: r["value"] for r in rows}
    assert got["gap"] == 1_000_000 and got["new_leads"] == gap.new_leads == 250


def test_the_period_can_come_from_the_options(tmp_path, capsys):
    plain = tmp_path / "quotas.csv"
    plain.write_text("Owner,Quota\nAna,1000.10\nBen,500.20\n", encoding="utf-8")
    rows = run_json(
        capsys,
        "quota-gap",
        DEALS,
        "--probabilities",
        PROBS,
        "--quota",
        str(plain),
        "--period-start",
        "2026-07-01",
        "--period-end",
        "2026-09-30",
        "--as-of",
        "2026-08-02",
    )
    assert [r["name"] for r in rows] == ["Ana", "Ben", "Total"]
    assert rows[-1]["closed"] == 0.3 and rows[-1]["period"] == "2026-07-01 – 2026-09-30"


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--closed", "5"], "--closed is measured for each row of a quota table"),
        (["--period-start", "2026-07-01"], "the quota table has its own periods"),
        (["--by", "country"], "no column for 'country' in the quota table"),
    ],
)
def test_quota_table_errors_are_one_line(capsys, extra, says):
    argv = [a for a in GAP if a not in ("--by", "owner")] + extra
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pipesheet: error: ") and "\n" not in err and says in err


def test_quota_neither_number_nor_file(capsys):
    assert main(["quota-gap", "--quota", "lots", "--average-deal", "1", "--lead-to-win", "1"]) == 2
    err = capsys.readouterr().err
    assert "--quota is neither a number nor a quota table file" in err and "'lots'" in err


def test_a_duplicate_in_the_quota_file_names_the_rows(tmp_path, capsys):
    dup = tmp_path / "quotas.csv"
    dup.write_text("Owner;Period;Quota\nAna;2026-Q3;1\nBen;2026-Q3;2\nAna;2026-Q3;3\n", "utf-8")
    argv = [a if a != QUOTAS else str(dup) for a in GAP]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "rows 2, 4: quota listed twice for Owner 'Ana', period 2026-Q3" in err


# ---- scenarios -----------------------------------------------------------------------------
SCENARIO_ARGS = [
    "forecast",
    *SAMPLE,
    "--rates",
    RATES,
    "--as-of",
    "2026-09-30",
    "--period-start",
    "2026-10-01",
    "--period-end",
    "2026-12-31",
    "--quota",
    "2500000",
    "--scenario",
    "drop-largest 3",
    "--scenario",
    "conversion Proposal=35%",
    "--combine-scenarios",
]


def test_scenarios_json_is_the_api(capsys, deals, history, rates):
    from pipesheet import StageProbabilities

    rows = run_json(capsys, *SCENARIO_ARGS)
    model = StageProbabilities().fit(history, deals)
    api = apply_scenarios(
        deals,
        model,
        ["drop-largest 3", "conversion Proposal=35%"],
        quota=2_500_000,
        start="2026-10-01",
        end="2026-12-31",
        as_of="2026-09-30",
        rates=rates,
        combine=True,
    ).table
    assert [r["scenario"] for r in rows] == api["scenario"].tolist()
    for r, (_, a) in zip(rows, api.iterrows(), strict=True):
        for key in (
            "forecast_before",
            "forecast_after",
            "p_quota_before",
            "p_quota_after",
            "p50_after",
        ):
            assert r[key] == pytest.approx(a[key]), key
        assert r["change"] == a["change"]


def test_scenarios_printed_after_the_forecast(capsys):
    assert main(SCENARIO_ARGS[:-3]) == 0
    out = capsys.readouterr().out
    assert out.index("Weighted forecast") < out.index("Forecast range") < out.index("Scenario:")
    assert "Scenario: drop-largest 3 (EUR)" in out
    assert "what changed: drops the 3 largest open deal(s)" in out


def test_add_leads_from_the_history_on_the_command_line(capsys):
    rows = run_json(capsys, *SCENARIO_ARGS[:-5], "--scenario", "add-leads 10/week")
    assert rows[0]["forecast_after"] > rows[0]["forecast_before"]
    assert "median days of the completed visits" in rows[0]["change"]


@pytest.mark.parametrize(
    ("scenario", "says"),
    [
        ("drop-largest many", "scenario 'drop-largest many': N must be a whole number"),
        ("conversion Negotiations=20%", "'Negotiations' is not an open stage"),
        ("explode", "scenario 'explode': not understood; expected one of: drop-largest N"),
    ],
)
def test_scenario_errors_are_one_line(capsys, scenario, says):
    argv = [*SCENARIO_ARGS[:-5], "--scenario", scenario]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pipesheet: error: ") and "\n" not in err and says in err


def test_hand_worked_scenario_on_the_command_line(tmp_path, capsys):
    deals = tmp_path / "deals.csv"
    deals.write_text(
        "Deal ID,Stage,Amount,Close Date\n"
        "a,Lead,100,2026-10-10\nb,Qualified,300,2026-11-15\nc,Proposal,1000,2026-12-20\n",
        encoding="utf-8",
    )
    probs = tmp_path / "probs.csv"
    probs.write_text("Stage,Probability\nLead,50%\nQualified,25%\nProposal,20%\n", "utf-8")
    rows = run_json(
        capsys,
        "forecast",
        str(deals),
        "--probabilities",
        str(probs),
        "--stages",
        "Lead,Qualified,Proposal",
        "--quota",
        "300",
        "--scenario",
        "drop-largest 1",
    )
    # 325 − 1,000 · .2 = 125; P(≥ 300): 1 − .75 · .8 = .4 → P(b) = .25
    assert (rows[0]["forecast_before"], rows[0]["forecast_after"]) == (325, 125)
    assert rows[0]["p_quota_before"] == pytest.approx(0.4)
    assert rows[0]["p_quota_after"] == pytest.approx(0.25)
    assert StageList(("Lead",)).k == 1  # (the stage list type the option builds)
