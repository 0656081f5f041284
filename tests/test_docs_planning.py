"""The docs' examples of quota tables and scenarios (issue 14.1–14.2) are the real output:
docs/engine.md (``print(result)``), docs/cli.md (the commands' printed output) and docs/apps.md
(the dashboard panels' numbers on the bundled sample).

``python tests/test_docs_planning.py`` prints the blocks, to paste when the output changes."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipesheet import StageList, apply_scenarios, quota_table
from pipesheet.cli import main
from pipesheet.exports import read_table
from pipesheet.sample import DATA_DIR

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FIXTURES = ROOT / "tests" / "fixtures" / "planning"

QUOTA_COMMAND = (
    "quota-gap deals.csv --probabilities probabilities.csv --quota quotas.csv --by owner "
    "--hierarchy teams.csv --as-of 2026-08-02 --average-deal 250 --lead-to-win 0.25 "
    "--cycle-days 0"
)
SCENARIO_COMMAND = [
    "forecast",
    "deals.csv",
    "history.csv",
    "--rates",
    "rates.csv",
    "--period",
    "none",
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
]


def engine_quota_example() -> str:
    result = quota_table(
        read_table(FIXTURES / "deals.csv"),
        {"Lead": 0.1, "Proposal": 0.5},
        read_table(FIXTURES / "quotas.csv"),
        by="owner",
        hierarchy=read_table(FIXTURES / "teams.csv"),
        as_of="2026-08-02",
        average_deal=250,
        lead_to_win_rate=0.25,
        cycle_days=0,
    )
    return str(result)


def engine_scenario_example() -> str:
    deals = pd.DataFrame(
        {
            "Deal ID": ["a", "b", "c", "d", "W"],
            "Stage": ["Lead", "Qualified", "Proposal", "Proposal", "Won"],
            "Amount": [100, 300, 1000, 500, 100],
            "Close Date": ["2026-10-10", "2026-11-15", "2026-12-20", "2026-09-20", "2026-09-15"],
        }
    )
    result = apply_scenarios(
        deals,
        {"Lead": 0.5, "Qualified": 0.25, "Proposal": 0.2},
        ["drop-largest 1", "slip 30"],
        quota=300,
        start="2026-10-01",
        end="2026-12-31",
        as_of="2026-09-30",
        stages=StageList(("Lead", "Qualified", "Proposal")),
    )
    return str(result)


def cli_output(cwd: Path, argv: list[str]) -> str:
    """What ``pipesheet ARGV`` prints, run in ``cwd`` (file names print as given)."""
    out = io.StringIO()
    here = os.getcwd()
    try:
        os.chdir(cwd)
        with contextlib.redirect_stdout(out):
            assert main(argv) == 0
    finally:
        os.chdir(here)
    return out.getvalue().rstrip("\n")


def cli_quota_example() -> str:
    return cli_output(FIXTURES, QUOTA_COMMAND.split())


def cli_scenario_example(folder: Path) -> str:
    for name in ("deals", "history", "rates"):
        shutil.copy(DATA_DIR / f"sample_{name}.csv", folder / f"{name}.csv")
    return cli_output(folder, SCENARIO_COMMAND)


def apps_example() -> tuple[str, str]:
    """The dashboard's panels on the sample: the default scenario's line, and the quota table of
    300,000 per owner (Group by: Owner) as a Markdown table."""
    pytest.importorskip("ipywidgets")
    from pipesheet.apps.dashboard import Dashboard

    app = Dashboard()
    view = app.scenario_panel.result.compare(0).set_index("measure")
    line = (
        f"P(≥ quota) {view.loc['p_quota', 'before'] * 100:.1f}% → "
        f"{view.loc['p_quota', 'after'] * 100:.1f}%, forecast "
        f"{view.loc['forecast', 'before']:,.0f} → {view.loc['forecast', 'after']:,.0f}"
    )
    app.group.value = "owner"
    app.quotas_panel.per_group.value = 300_000
    t = app.quotas_panel.result.table
    rows = ["| name | quota | closed | expected | gap | coverage | P(≥ quota) | leads a week |"]
    rows.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in t.itertuples():
        rows.append(
            f"| {r.name} | {r.quota:,.2f} | {r.closed:,.2f} | {r.expected:,.2f} | {r.gap:,.2f} "
            f"| {r.coverage:.2f}× | {r.p_quota * 100:.1f}% | {r.leads_per_week:,.1f} |"
        )
    return line, "\n".join(rows)


def text_of(page: str) -> str:
    return (DOCS / page).read_text(encoding="utf-8")


def test_engine_examples_are_the_real_output():
    text = text_of("engine.md")
    assert "```text\n" + engine_quota_example() + "\n```" in text
    assert "```text\n" + engine_scenario_example() + "\n```" in text


def test_cli_examples_are_the_real_output(tmp_path):
    text = text_of("cli.md")
    assert f"$ pipesheet {QUOTA_COMMAND}\n{cli_quota_example()}\n```" in text
    command = " ".join(f'"{a}"' if " " in a else a for a in SCENARIO_COMMAND)
    assert f"$ pipesheet {command}\n{cli_scenario_example(tmp_path)}\n```" in text


def test_apps_example_is_the_real_output():
    line, table = apps_example()
    text = "\n".join(row.strip() for row in text_of("apps.md").splitlines())  # a list's indent
    assert line in " ".join(text.split())
    assert table in text


if __name__ == "__main__":
    import tempfile

    print(engine_quota_example(), engine_scenario_example(), cli_quota_example(), sep="\n\n")
    with tempfile.TemporaryDirectory() as folder:
        print(cli_scenario_example(Path(folder)))
    print(*apps_example(), sep="\n\n")
