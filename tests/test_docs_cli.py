"""docs/cli.md shows real output: every example (a code block starting with ``$ pipesheet``) is
run on the bundled sample, copied as deals.csv, history.csv and rates.csv, and what it prints
must be the block's output — all of it, or where the block shortens it with "…" lines (each
stands for lines left out), the lines shown, each run of them as printed and in order; a line
ending in " …" is cut short."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from pipesheet.cli import main
from pipesheet.sample import DATA_DIR, DEALS_FILE, HISTORY_FILE, RATES_FILE

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
SKIP = "…"


def examples() -> list[tuple[str, list[str]]]:
    """(command, the output lines shown) of every ``$ pipesheet`` block of docs/cli.md."""
    blocks = re.findall(r"```[a-z]*\n(\$ pipesheet .*?)```", DOC.read_text(encoding="utf-8"), re.S)
    out = []
    for block in blocks:
        command, *lines = block.rstrip("\n").split("\n")
        if "tests/fixtures/" in command:  # run on those files by tests/test_docs_teams.py
            continue
        out.append((command[2:], lines))
    return out


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sample")
    for src, name in ((DEALS_FILE, "deals.csv"), (HISTORY_FILE, "history.csv")):
        shutil.copy(DATA_DIR / src, folder / name)
    shutil.copy(DATA_DIR / RATES_FILE, folder / "rates.csv")
    return folder


def run(command: str, folder: Path, capsys, monkeypatch) -> list[str]:
    monkeypatch.chdir(folder)
    argv = shlex.split(command)
    assert argv[0] == "pipesheet"
    status = main(argv[1:])
    out = capsys.readouterr()
    assert status == 0, out.err
    return [line.rstrip() for line in out.out.rstrip("\n").split("\n")]


def test_the_page_has_examples():
    commands = [c for c, _ in examples()]
    assert any(c.startswith("pipesheet balance ") for c in commands)
    assert any(c.startswith("pipesheet diagnostics ") and "--show design" in c for c in commands)


def same(printed: str, shown: str) -> bool:
    """A printed line is the line shown (one shown as "text …" is cut short: a prefix)."""
    if shown.endswith(" " + SKIP):
        return printed.startswith(shown[: -len(SKIP)].rstrip())
    return printed == shown


def runs(shown: list[str]) -> list[list[str]]:
    """The runs of lines between the "…" lines (a run may be empty)."""
    out: list[list[str]] = [[]]
    for line in shown:
        if line == SKIP:
            out.append([])
        else:
            out[-1].append(line)
    return out


@pytest.mark.parametrize(("command", "shown"), examples(), ids=[c for c, _ in examples()])
def test_the_example_output_is_what_the_command_prints(
    command, shown, sample_dir, capsys, monkeypatch
):
    printed = run(command, sample_dir, capsys, monkeypatch)
    parts = runs([line.rstrip() for line in shown])
    at = 0
    for n, part in enumerate(parts):
        first, last = n == 0, n == len(parts) - 1
        candidates = [0] if first else range(at, len(printed) - len(part) + 1)
        found = next(
            (
                i
                for i in candidates
                if i + len(part) <= len(printed)
                and all(same(p, q) for p, q in zip(printed[i : i + len(part)], part, strict=True))
            ),
            None,
        )
        where = "at the start" if first else "after the lines before it"
        assert found is not None, (
            f"docs/cli.md shows lines not printed {where}:\n"
            + "\n".join(part)
            + "\n--- printed:\n"
            + "\n".join(printed)
        )
        at = found + len(part)
        if last and part:  # an example ending in a "…" line may stop early
            assert at == len(printed), (
                "the example stops before the output does (end it with a … line):\n"
                + "\n".join(printed[at:])
            )
