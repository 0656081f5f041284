"""``pipesheet app``: serve the apps with Voila on this computer (or a team server).

Runs ``python -m voila`` on the app notebooks with:

* ``--Voila.ip=127.0.0.1`` (only this computer can connect; put a reverse proxy in front to share,
  see docs/apps.md) and ``--port``; no browser is opened;
* tracebacks hidden from viewers (``--show_tracebacks=False``) and sources stripped
  (``--strip_sources=True``): viewers see the app, never the code or a Python traceback;
* idle kernels culled (``cull_idle_timeout``): each page view starts a kernel, and a closed tab's
  kernel is shut down after ``--cull-idle`` seconds;
* a preheated kernel pool (``--preheat_kernel=True --pool_size=N``) so the first page shows fast;
* the websocket message limit raised to 100 MiB by the shipped ``config/voila.json`` (found through
  ``JUPYTER_CONFIG_PATH``), so an upload above the app's own size limit reaches the app and is
  refused with a clear message instead of being silently dropped.

The notebooks only import and display the apps (:data:`NOTEBOOKS`). ``notebooks/`` of a source
checkout is served when present; otherwise the same notebooks are written to a cache folder.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "CONFIG_DIR",
    "NOTEBOOKS",
    "add_parser",
    "main",
    "notebook_json",
    "run",
    "voila_command",
    "voila_env",
    "write_notebooks",
]

CONFIG_DIR = Path(__file__).resolve().parent / "config"
REPO_NOTEBOOKS = Path(__file__).resolve().parents[3] / "notebooks"
DEFAULT_PORT = 8866
APPS = {"lead-planner": "lead_planner.ipynb", "dashboard": "dashboard.ipynb"}

#: notebook file → (title, code of its only cell)
NOTEBOOKS: dict[str, tuple[str, str]] = {
    "lead_planner.ipynb": (
        "Lead planner",
        "from pipesheet.apps import LeadPlanner\n\nLeadPlanner()",
    ),
    "dashboard.ipynb": (
        "Pipeline forecast dashboard",
        "from pipesheet.apps import Dashboard\n\nDashboard()",
    ),
}


def notebook_json(name: str) -> dict:
    """The notebook ``name`` (a key of :data:`NOTEBOOKS`) as nbformat 4 JSON."""
    title, code = NOTEBOOKS[name]
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": name.removesuffix(".ipynb").replace("_", "-"),
                "metadata": {},
                "outputs": [],
                "source": code.splitlines(keepends=True),
            }
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
            "title": title,
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def write_notebooks(directory: str | os.PathLike) -> Path:
    """Write the app notebooks into ``directory`` (created if needed); returns it."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    for name in NOTEBOOKS:
        text = json.dumps(notebook_json(name), indent=1, ensure_ascii=False) + "\n"
        path = out / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    return out


def _notebooks_dir(given: str | None) -> Path:
    if given:
        return Path(given)
    if all((REPO_NOTEBOOKS / n).is_file() for n in NOTEBOOKS):
        return REPO_NOTEBOOKS
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pipesheet"
    return write_notebooks(cache / "notebooks")


def voila_command(
    target: str | os.PathLike,
    *,
    port: int = DEFAULT_PORT,
    pool_size: int = 1,
    cull_idle: int = 900,
    python: str | None = None,
) -> list[str]:
    """The Voila command line serving ``target`` (a notebook or a folder of notebooks)."""
    cmd = [
        python or sys.executable,
        "-m",
        "voila",
        str(target),
        f"--port={int(port)}",
        "--Voila.ip=127.0.0.1",
        "--no-browser",
        "--show_tracebacks=False",
        "--strip_sources=True",
        f"--MappingKernelManager.cull_idle_timeout={int(cull_idle)}",
        "--MappingKernelManager.cull_interval=60",
    ]
    if pool_size > 0:
        cmd += ["--preheat_kernel=True", f"--pool_size={int(pool_size)}"]
    return cmd


def voila_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for Voila: the shipped ``config/voila.json`` first on ``JUPYTER_CONFIG_PATH``."""
    env = dict(os.environ if base is None else base)
    paths = [str(CONFIG_DIR)]
    if env.get("JUPYTER_CONFIG_PATH"):
        paths.append(env["JUPYTER_CONFIG_PATH"])
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(paths)
    return env


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``app`` command to the ``pipesheet`` CLI's subparsers."""
    p = subparsers.add_parser(
        "app",
        help="serve the web apps (lead planner, forecast dashboard) with Voila",
        description="Serve the pipesheet web apps with Voila on 127.0.0.1 (no browser opened).",
    )
    p.add_argument(
        "which",
        nargs="?",
        default="all",
        choices=("all", *APPS),
        help="serve one app at / or both (default: all, listed at /)",
    )
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    p.add_argument(
        "--pool-size",
        type=int,
        default=1,
        help="kernels kept preheated per notebook for fast first pages (0 = off; default 1)",
    )
    p.add_argument(
        "--cull-idle",
        type=int,
        default=900,
        metavar="SECONDS",
        help="shut down a page's kernel after this long idle (default 900)",
    )
    p.add_argument("--notebooks", metavar="DIR", help="folder of app notebooks to serve")
    p.add_argument("--print-command", action="store_true", help="print the Voila command and exit")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Start Voila and wait for it; returns its exit status (0 after Ctrl+C)."""
    folder = _notebooks_dir(getattr(args, "notebooks", None))
    which = getattr(args, "which", "all")
    target = folder if which == "all" else folder / APPS[which]
    if not Path(target).exists():
        print(f"pipesheet: error: {target} not found", file=sys.stderr)
        return 2
    cmd = voila_command(target, port=args.port, pool_size=args.pool_size, cull_idle=args.cull_idle)
    if getattr(args, "print_command", False):
        print(" ".join(cmd))
        return 0
    base = f"http://127.0.0.1:{args.port}"
    if which == "all":
        urls = [f"{base}/voila/render/{n}" for n in NOTEBOOKS]
    else:
        urls = [f"{base}/"]
    print("pipesheet: serving " + ", ".join(urls) + "  (Ctrl+C to stop)", flush=True)
    try:
        return subprocess.call(cmd, env=voila_env())
    except KeyboardInterrupt:
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pipesheet.apps.serve [which] [--port N]``."""
    parser = argparse.ArgumentParser(prog="pipesheet")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["app", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
