"""Benchmark: cold start of the surfaces against ``python -c "import pandas"``, in the same run.

What is timed (each a fresh interpreter, so nothing is imported yet; wall time of the whole
process, start to exit):

* **pandas** — ``python -c "import pandas"``: the floor every surface stands on.
* **leads** — ``pipesheet leads --target 1000000 --average-deal 25000 --conversions
  "Lead=0.5,Qualified=0.4,Proposal=0.25"`` (as ``python -m pipesheet.cli``): pure arithmetic;
  the command line must load only what that command uses (no scipy, no openpyxl, no CRM-export
  readers).
* **excel** — ``python -c "import pipesheet.excel"``: what the Excel add-in loads to register
  the ``PIPE_`` functions (xlwings itself included).
* **xlwings** (for reference) — ``python -c "import pandas, xlwings"``: the part of **excel**
  that is xlwings' own, which pipesheet cannot make smaller (where matplotlib is installed,
  xlwings imports it); **excel_no_mpl** and **xlwings_no_mpl** are the same two without
  matplotlib (as in an xlwings Lite workbook that does not list it).

Target: leads and excel ≤ 1.5 × pandas.  Each figure is the median of ``--repeat`` runs,
interleaved so that a slow moment of the machine hits every command alike.  The modules each
command loaded are listed with ``--modules``.

Run::

    .venv/bin/python benchmarks/bench_startup.py [--repeat 10] [--modules]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET = 1.5
SRC = Path(__file__).resolve().parents[1] / "src"
LEADS = [
    "-m",
    "pipesheet.cli",
    "leads",
    "--target",
    "1000000",
    "--average-deal",
    "25000",
    "--conversions",
    "Lead=0.5,Qualified=0.4,Proposal=0.25",
]
COMMANDS = {
    "pandas": ["-c", "import pandas"],
    "leads": LEADS,
    "excel": ["-c", "import pipesheet.excel"],
    "xlwings": ["-c", "import pandas, xlwings"],
    # xlwings where matplotlib is not installed (as in an xlwings Lite workbook without it)
    "excel_no_mpl": ["-c", "import sys; sys.modules['matplotlib'] = None; import pipesheet.excel"],
    "xlwings_no_mpl": [
        "-c",
        "import sys; sys.modules['matplotlib'] = None; import pandas, xlwings",
    ],
}
#: Modules whose presence after a command says it loaded more than it needs.
HEAVY = ("scipy", "scipy.stats", "openpyxl", "pipesheet.exports", "matplotlib", "xlwings")


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    env["XLWINGS_ON_SERVER"] = "true"  # as the Excel tests and xlwings Server run it
    env.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_once(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], env=_env(), check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def loaded(args: list[str]) -> list[str]:
    """The heavy modules present at the end of the command."""
    code = (
        "import runpy, sys\n"
        f"sys.argv = {['x', *args[2:]]!r}\n"
        "try:\n"
        f"    runpy.run_module({args[1]!r}, run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('LOADED:', *(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    if args[0] == "-c":
        code = (
            f"{args[1]}\nimport sys\nprint('LOADED:', *(m for m in {HEAVY!r} if m in sys.modules))"
        )
    done = subprocess.run(
        [sys.executable, "-c", code], env=_env(), check=True, capture_output=True, text=True
    )
    return done.stdout.rsplit("LOADED:", 1)[-1].split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--modules", action="store_true", help="list the heavy modules loaded")
    args = parser.parse_args()
    for cmd in COMMANDS.values():  # warm the file system cache once
        run_once(cmd)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.repeat):
        for name, cmd in COMMANDS.items():
            times[name].append(run_once(cmd))
    median = {name: statistics.median(values) for name, values in times.items()}
    base = median["pandas"]
    print(f"median of {args.repeat} cold starts (python {sys.version.split()[0]})")
    for name, value in median.items():
        ratio = value / base
        mark = ""
        if name in ("leads", "excel", "excel_no_mpl"):
            mark = "  ok" if ratio <= TARGET else f"  above the {TARGET}× target"
        print(f"  {name:14s} {value * 1000:7.0f} ms  {ratio:4.2f}× pandas{mark}")
    own = median["excel"] - median["xlwings"]
    own_no_mpl = median["excel_no_mpl"] - median["xlwings_no_mpl"]
    print(
        f"  excel above pandas + xlwings: {own * 1000:.0f} ms with matplotlib, "
        f"{own_no_mpl * 1000:.0f} ms without (pipesheet's own share)"
    )
    if args.modules:
        for name in ("leads", "excel"):
            print(f"  {name} loaded: {' '.join(loaded(COMMANDS[name])) or '(none of them)'}")


if __name__ == "__main__":
    main()
