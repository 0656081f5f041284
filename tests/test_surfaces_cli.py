"""The command line never shows a traceback, never loses a user's file, and says things clearly.

Issue 10.6/10.7 and 8.19/8.21: one guard in ``main()`` (exit 2 with one ``pipesheet: error:`` line
for bad input, 3 with one sentence for an internal error, 141 for a closed pipe), inputs never
overwritten, help text on every option.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import pipesheet.cli as cli
from pipesheet.cli import build_parser, main
from pipesheet.report import SHEETS
from pipesheet.writer import written_by_pipesheet

SRC = Path(__file__).resolve().parents[1] / "src"
DATA = SRC / "pipesheet" / "data"
DEALS, HISTORY, RATES = (DATA / f"sample_{n}.csv" for n in ("deals", "history", "rates"))


def run_cli(*args: str, stdout=subprocess.PIPE, env: dict | None = None):
    """``python -m pipesheet.cli ARGS`` in a subprocess (this worktree's source first)."""
    full_env = dict(os.environ)
    full_env.pop("PIPESHEET_DEBUG", None)
    full_env.update(PYTHONPATH=str(SRC), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "pipesheet.cli", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
        timeout=300,
    )


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("pipesheet: error: "), err
    assert "Traceback" not in err
    return lines[0]


# ---- the guard ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["presets", "salesforce"],
        ["forecast", str(DEALS), str(HISTORY), "--rates", str(RATES), "--json", "--range"],
    ],
)
def test_a_closed_pipe_ends_quietly(args):
    """``pipesheet … | head``: the reader is gone before pipesheet writes (deterministic: the
    read end is closed before the process starts)."""
    read, write = os.pipe()
    os.close(read)
    try:
        proc = run_cli(*args, stdout=write)
    finally:
        os.close(write)
    assert proc.returncode == cli.EXIT_BROKEN_PIPE
    assert proc.stderr == ""  # no traceback, no "Exception ignored" at exit


def test_head_reads_the_start_of_the_output():
    """The real pipeline: ``pipesheet presets salesforce | head -1``."""
    env = dict(os.environ, PYTHONPATH=str(SRC))
    proc = subprocess.run(
        f"{sys.executable} -m pipesheet.cli presets salesforce | head -1",
        shell=True,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.stdout == "Preset: salesforce\n"
    assert proc.stderr == ""


def test_overflow_in_planning_is_a_clear_error():
    proc = run_cli(
        "leads", "--target", "1e308", "--average-deal", "1e-308", "--conversions", "Lead=0.5"
    )
    assert proc.returncode == 2
    line = one_error_line(proc.stderr)
    assert "too many to count" in line and "target" in line


def test_usage_errors_have_the_same_prefix(capsys):
    assert main(["forecast", str(DEALS), "--period", "week"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "--period" in line and "'week'" in line and "pipesheet forecast --help" in line
    assert main(["no-such-command"]) == 2
    one_error_line(capsys.readouterr().err)


def test_help_and_version_exit_zero(capsys):
    assert main(["--version"]) == 0
    assert main(["report", "--help"]) == 0
    assert capsys.readouterr().err == ""


def test_an_internal_error_is_one_sentence_with_where_to_report(monkeypatch, capsys):
    def broken(name):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(cli.demo, "preset", broken)
    monkeypatch.delenv("PIPESHEET_DEBUG", raising=False)
    assert main(["presets", "hubspot"]) == cli.EXIT_INTERNAL
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pipesheet: internal error:")
    assert "report it" in err and "PIPESHEET_DEBUG=1" in err
    assert "ZeroDivisionError" not in err and "Traceback" not in err
    monkeypatch.setenv("PIPESHEET_DEBUG", "1")  # the details, for the bug report
    with pytest.raises(ZeroDivisionError):
        main(["presets", "hubspot"])


def test_a_file_the_system_refuses_is_a_clear_error(tmp_path, capsys):
    missing = tmp_path / "nope.csv"
    assert main(["stages", str(missing)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "nope.csv" in line


# ---- output files ------------------------------------------------------------------------------
def test_output_is_a_folder(tmp_path, capsys):
    folder = tmp_path / "out.xlsx"
    folder.mkdir()
    for extra in ([], ["--force"]):
        assert main(["demo", "--output", str(folder), *extra]) == 2
        assert "is a folder" in one_error_line(capsys.readouterr().err)
        code = main(["report", str(DEALS), "--rates", str(RATES), "-o", str(folder), *extra])
        assert code == 2
        assert "is a folder" in one_error_line(capsys.readouterr().err)
    assert folder.is_dir() and not any(folder.iterdir())


def test_output_folder_not_writable(tmp_path, monkeypatch, capsys):
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    assert main(["demo", "--output", str(tmp_path / "d.xlsx")]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "Permission denied" in line and str(tmp_path) in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_output_in_a_read_only_folder(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        assert main(["demo", "--output", str(folder / "d.xlsx")]) == 2
        assert "Permission denied" in one_error_line(capsys.readouterr().err)
    finally:
        folder.chmod(0o755)


def _report(*args: str) -> int:
    return main(["report", *args, "--no-progress"])


@pytest.mark.parametrize("which", ["previous", "rates", "rates-link", "rates-hardlink"])
def test_report_force_never_overwrites_an_input(tmp_path, capsys, which):
    deals = tmp_path / "deals.csv"
    deals.write_bytes(DEALS.read_bytes())
    rates = tmp_path / "rates.xlsx"
    pd.read_csv(RATES).to_excel(rates, index=False)
    previous = tmp_path / "previous.xlsx"
    pd.read_csv(DEALS).head(50).to_excel(previous, index=False)
    before = {p: p.read_bytes() for p in (deals, rates, previous)}
    out = {"previous": previous, "rates": rates}.get(which)
    if which == "rates-link":
        out = tmp_path / "link.xlsx"
        out.symlink_to(rates)
    elif which == "rates-hardlink":
        out = tmp_path / "hard.xlsx"
        os.link(rates, out)
    code = _report(
        str(deals), "--previous", str(previous), "--rates", str(rates), "-o", str(out), "--force"
    )
    assert code == 2
    assert "overwrite an input" in one_error_line(capsys.readouterr().err)
    assert {p: p.read_bytes() for p in before} == before


def test_a_dangling_link_is_not_replaced_without_force(tmp_path, capsys):
    link = tmp_path / "demo.xlsx"
    link.symlink_to(tmp_path / "elsewhere" / "gone.xlsx")
    assert main(["demo", "--output", str(link)]) == 2
    assert "already exists" in one_error_line(capsys.readouterr().err)
    assert link.is_symlink()


def test_demo_replaces_only_its_own_unchanged_workbook(tmp_path, capsys):
    out = tmp_path / "pipesheet-demo.xlsx"
    assert main(["demo", "--output", str(out)]) == 0
    assert written_by_pipesheet(out)
    assert main(["demo", "--output", str(out)]) == 0  # the README command, run twice
    # the user opens it in Excel, types a note and saves: the creator and the custom property
    # survive (as in Excel), the content does not match its fingerprint any more
    wb = openpyxl.load_workbook(out)
    assert wb.properties.creator == "pipesheet"
    wb["Lead plan"]["H1"] = "my notes"
    wb.save(out)
    assert "pipesheet_fingerprint" in [p.name for p in openpyxl.load_workbook(out).custom_doc_props]
    assert not written_by_pipesheet(out)
    saved = out.read_bytes()
    capsys.readouterr()
    assert main(["demo", "--output", str(out)]) == 2
    assert "already exists" in one_error_line(capsys.readouterr().err)
    assert out.read_bytes() == saved
    assert main(["demo", "--output", str(out), "--force"]) == 0
    assert written_by_pipesheet(out)


def test_written_files_are_normal_files_and_no_temp_is_left(tmp_path):
    out = tmp_path / "demo.xlsx"
    assert main(["demo", "--output", str(out)]) == 0
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask
    assert [p.name for p in tmp_path.iterdir()] == ["demo.xlsx"]


# ---- what a sales manager reads ----------------------------------------------------------------
def test_demo_workbook_numbers_dates_percentages_and_table_names(tmp_path, capsys):
    out = tmp_path / "demo.xlsx"
    assert main(["demo", "--output", str(out)]) == 0
    wb = openpyxl.load_workbook(out)
    deals = wb["Deals"]
    header = [c.value for c in deals[1]]
    row = {h: c for h, c in zip(header, deals[2], strict=True)}
    assert isinstance(row["Amount"].value, (int, float))
    assert row["Amount"].number_format == "#,##0.00"
    assert row["Expected Close Date"].is_date
    assert row["Created Date"].number_format == "yyyy-mm-dd"
    history = wb["History"]
    assert history["C2"].is_date
    rng = {r[0].value: r[1] for r in wb["Range"].iter_rows(min_row=2)}
    assert rng["p_quota"].number_format == "0.0%"
    assert rng["p10"].number_format == "#,##0.00"
    names = [t for ws in wb for t in ws.tables]
    assert "Stage_probabilities" in names
    assert not any("_Stage_probabilities" in n or n.count("Deals") > 1 for n in names)


def test_one_money_format_for_every_workbook():
    pytest.importorskip("xlwings")  # pipesheet.excel is the Excel surface (the excel extra)
    from pipesheet import writer
    from pipesheet.excel import templates

    assert templates.MONEY == writer.MONEY == "#,##0.00"
    wb = openpyxl.load_workbook(Path(__file__).resolve().parents[1] / "workbooks/pipeline.xlsx")
    header = [c.value for c in wb["Deals"][1]]
    assert wb["Deals"].cell(2, header.index("Amount") + 1).number_format == writer.MONEY


def _walk(parser: argparse.ArgumentParser, path: list[str]):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            seen: set[int] = set()
            for name, sub in action.choices.items():
                if id(sub) in seen:  # an alias (``stages`` of ``stage-probabilities``)
                    continue
                seen.add(id(sub))
                yield [*path, name], "(the command itself)", helps.get(name)
                yield from _walk(sub, [*path, name])
        else:
            yield path, "/".join(action.option_strings) or action.dest, action.help


def test_every_option_of_every_command_has_help():
    missing = [
        f"{' '.join(path)} {option}"
        for path, option, text in _walk(build_parser(), ["pipesheet"])
        if not text or text == argparse.SUPPRESS or not str(text).strip()
    ]
    assert missing == []
    commands = {p[-1] for p, o, _ in _walk(build_parser(), ["pipesheet"]) if len(p) == 2}
    assert {"report", "app", "demo", "forecast", "diagnostics"} <= commands


def test_report_help_names_every_sheet(capsys):
    assert main(["report", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for sheet in SHEETS:
        assert sheet in text, sheet


def test_range_output_says_what_method_and_error_bound_mean(capsys):
    args = ["forecast", str(DEALS), str(HISTORY), "--rates", str(RATES), "--period", "none"]
    assert main([*args, "--quota", "3500000"]) == 0
    out = capsys.readouterr().out
    method = next(line for line in out.splitlines() if line.startswith("method: "))
    assert "—" in method and len(method.split()) > 5
    assert any(line.startswith("error_bound ") and ":" in line for line in out.splitlines())
    p_quota = next(line for line in out.splitlines() if line.strip().startswith("p_quota "))
    assert p_quota.strip().endswith("%")


def test_the_demo_workbook_is_ignored_by_git():
    """``pipesheet demo`` in a clone (the README's first command) leaves git status clean."""
    import shutil

    root = SRC.parent
    lines = (root / ".gitignore").read_text().splitlines()
    assert "/pipesheet-demo.xlsx" in lines or "pipesheet-demo.xlsx" in lines
    if shutil.which("git") and (root / ".git").exists():
        proc = subprocess.run(
            ["git", "check-ignore", "-q", "pipesheet-demo.xlsx"], cwd=root, timeout=60
        )
        assert proc.returncode == 0
