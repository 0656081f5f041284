"""The docs' examples of several pipelines, overrides, commits and lost reasons (issue 14) show
the real output: each example between ``<!-- BEGIN example NAME -->`` and ``<!-- END example
NAME -->`` in a docs page is run here (Python code or a ``pipesheet`` command, on
tests/fixtures/teams) and must print what the page shows.

Regenerate the examples with ``.venv/bin/python tests/test_docs_teams.py``.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

SETUP = """\
import pandas as pd
import pipesheet as ps

pd.set_option("display.width", 160)
pd.set_option("display.max_columns", 20)
deals = pd.read_csv("tests/fixtures/teams/deals.csv")
history = pd.read_csv("tests/fixtures/teams/history.csv")
commits = pd.read_csv("tests/fixtures/teams/commits.csv")
"""

#: (page, name, kind, code): kind "python" runs ``SETUP`` + code; "console" runs the command.
EXAMPLES: list[tuple[str, str, str, str]] = [
    (
        "engine.md",
        "pipelines",
        "python",
        """\
model = ps.StageProbabilities().fit(history, deals)
print(model.table_[["pipeline_name", "stage", "reached", "won", "lost", "win_probability"]])
print(ps.weighted_forecast(deals, model, period=None, by="pipeline", total=True))
""",
    ),
    (
        "engine.md",
        "overrides",
        "python",
        """\
model = ps.StageProbabilities().fit(history, deals)
priced = ps.price_deals(deals, model)
print(priced.open_deals()[["deal_id", "stage", "amount", "stage_probability",
                           "probability", "source", "weighted"]])
print(priced.notes)
print(priced.weighted, ps.price_deals(deals, model, overrides=False).weighted)
""",
    ),
    (
        "engine.md",
        "commits",
        "python",
        """\
result = ps.compare_commits(deals, commits, history=history)
print(result)
print(repr(result))
""",
    ),
    (
        "engine.md",
        "losses",
        "python",
        """\
result = ps.lost_reasons(deals, history)
print(result)
""",
    ),
    (
        "cli.md",
        "cli-pipelines",
        "console",
        "pipesheet pipelines tests/fixtures/teams/deals.csv "
        "tests/fixtures/teams/history.csv --quota 60000 --show summary",
    ),
    (
        "cli.md",
        "cli-deals",
        "console",
        "pipesheet forecast tests/fixtures/teams/deals.csv "
        "tests/fixtures/teams/history.csv --pipeline Renewal --deals",
    ),
    (
        "cli.md",
        "cli-commits",
        "console",
        "pipesheet commits tests/fixtures/teams/deals.csv "
        "tests/fixtures/teams/history.csv --commits tests/fixtures/teams/commits.csv",
    ),
    (
        "cli.md",
        "cli-losses",
        "console",
        "pipesheet losses tests/fixtures/teams/deals.csv "
        "tests/fixtures/teams/history.csv --show stages",
    ),
    (
        "finance.md",
        "finance-commits",
        "console",
        "pipesheet commits tests/fixtures/teams/deals.csv "
        "tests/fixtures/teams/history.csv --commits tests/fixtures/teams/commits.csv "
        "--show summary",
    ),
    (
        "finance.md",
        "finance-losses",
        "console",
        "pipesheet losses tests/fixtures/teams/deals.csv tests/fixtures/teams/history.csv",
    ),
    (
        "apps.md",
        "apps-panel",
        "python",
        """\
from pipesheet.apps.dashboard import Dashboard

app = Dashboard(deals, history, source="team")
print(app.teams.summary[["pipeline_name", "stages", "open_deals", "weighted", "p10", "p90"]])
print(app.teams.overrides[["deal_id", "stage", "stage_probability", "probability"]])
app.teams.selector.value = "Renewal"   # the pipeline selector: one pipeline alone
print(app.priced.weighted)
""",
    ),
]


@contextlib.contextmanager
def _at_root():
    here = os.getcwd()
    os.chdir(ROOT)
    try:
        yield
    finally:
        os.chdir(here)


def run(kind: str, code: str) -> str:
    """The example's block as the page shows it: the code or command, then its output."""
    out = io.StringIO()
    with _at_root(), contextlib.redirect_stdout(out):
        if kind == "python":
            exec(compile(SETUP + code, "<docs example>", "exec"), {})
        else:
            from pipesheet.cli import main

            argv = shlex.split(code)[1:]
            assert main(argv) == 0, code
    text = out.getvalue().rstrip("\n")
    if kind == "python":
        return f"```python\n{SETUP}{code}```\n\n```text\n{text}\n```"
    return f"```console\n$ {code}\n{text}\n```"


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- BEGIN example {name} -->", f"<!-- END example {name} -->"


@pytest.mark.parametrize(("page", "name", "kind", "code"), EXAMPLES, ids=[e[1] for e in EXAMPLES])
def test_docs_show_the_real_output(page, name, kind, code):
    if "pipesheet.apps" in code:
        pytest.importorskip("ipywidgets")
    text = (DOCS / page).read_text(encoding="utf-8")
    begin, end = _markers(name)
    assert begin in text and end in text, f"docs/{page} has no example {name}"
    shown = text.split(begin)[1].split(end)[0].strip("\n")
    assert shown == run(kind, code), f"docs/{page} is stale: run tests/test_docs_teams.py"


def test_the_names_table_has_the_new_concepts():
    text = (DOCS / "engine.md").read_text(encoding="utf-8")
    table = text.split("## Names across surfaces")[1].split("\n## ")[0]
    for concept in ("several pipelines", "probability override", "commits", "lost reasons"):
        assert re.search(rf"^\| {concept} \|", table, re.M), concept


if __name__ == "__main__":
    for page, name, kind, code in EXAMPLES:
        path = DOCS / page
        text = path.read_text(encoding="utf-8")
        begin, end = _markers(name)
        head, rest = text.split(begin)
        _, tail = rest.split(end)
        path.write_text(head + begin + "\n" + run(kind, code) + "\n" + end + tail, "utf-8")
        print(f"updated docs/{page}: {name}")
