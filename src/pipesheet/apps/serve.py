"""``pipesheet app``: serve the apps with Voila on this computer (or a team server).

Runs ``python -m voila`` on the app notebooks with:

* ``--Voila.ip=127.0.0.1`` (only this computer can connect; put a reverse proxy in front to share,
  see docs/apps.md) and ``--port``; no browser is opened;
* requests checked against DNS rebinding: on 127.0.0.1 every page and the kernel websocket are
  refused (HTTP 403) unless the ``Host`` header is a loopback address or ``localhost`` — a web
  page on another site cannot reach the apps by pointing its own name at 127.0.0.1
  (jupyter_server's ``allow_remote_access=False`` and ``local_hostnames``, set in the shipped
  ``config/voila.json``); a websocket from another origin is refused too (same-origin check);
* bound to any other address (``--ip``), a token is required on every page and websocket
  (``PIPESHEET_APP_TOKEN``, or a random one printed in the address), and the ``Host`` check is
  left to the token (the server's name is not known in advance); ``--allow-host NAME`` adds the
  public name of a reverse proxy in front to the names the ``Host`` check accepts;
* tracebacks hidden from viewers (``--show_tracebacks=False``) and sources stripped
  (``--strip_sources=True``): viewers see the app, never the code or a Python traceback;
* idle kernels culled (``cull_idle_timeout``): each page view starts a kernel, and a closed tab's
  kernel is shut down after ``--cull-idle`` seconds;
* a preheated kernel pool (``--preheat_kernel=True --pool_size=N``) so the first page shows fast;
* the websocket message limit raised to 100 MiB by the shipped ``config/voila.json`` (found through
  ``JUPYTER_CONFIG_PATH``), so an upload above the app's own size limit reaches the app and is
  refused with a clear message instead of being silently dropped.

The notebooks only import and display the apps (:data:`NOTEBOOKS`), in the language the page's
address asks for (``…/dashboard.ipynb?lang=sl``): the app is built in the server's language
first — in a preheated kernel, before anyone asks for the page — then
``app.set_language(page_language())`` waits for the page's request and speaks its ``lang``
(:func:`pipesheet.apps.common.page_language`). ``notebooks/`` of a source checkout is served
when present; otherwise the same notebooks are written to a cache folder.

Stopping ``pipesheet app`` (Ctrl+C, SIGTERM, SIGHUP) stops everything it started: Voila runs in
its own process group, and on the way out every process started under it — the kernels too,
which jupyter_client starts in sessions of their own — is sent SIGTERM, then SIGKILL after
:data:`STOP_GRACE_S` seconds (on Linux pipesheet also becomes the "child subreaper", so that a
kernel orphaned by Voila's exit is still found).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import ipaddress
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipesheet.errors import PipesheetError

__all__ = [
    "CONFIG_DIR",
    "NOTEBOOKS",
    "TOKEN_ENV",
    "is_loopback",
    "notebook_json",
    "run",
    "voila_command",
    "voila_env",
    "write_notebooks",
]

CONFIG_DIR = Path(__file__).resolve().parent / "config"
REPO_NOTEBOOKS = Path(__file__).resolve().parents[3] / "notebooks"
DEFAULT_PORT = 8866
DEFAULT_IP = "127.0.0.1"
#: Token required when the apps are served on another address than loopback.
TOKEN_ENV = "PIPESHEET_APP_TOKEN"
#: Seconds the processes get to stop after SIGTERM before they are killed.
STOP_GRACE_S = 10.0
#: What ``pipesheet app`` needs beyond the core (the ``apps`` extra).
REQUIRED_MODULES = ("voila", "ipykernel", "ipywidgets", "matplotlib", "psutil")
APPS = {"lead-planner": "lead_planner.ipynb", "dashboard": "dashboard.ipynb"}

#: notebook file → (title, code of its only cell)
NOTEBOOKS: dict[str, tuple[str, str]] = {
    "lead_planner.ipynb": (
        "Lead planner",
        "from pipesheet.apps import LeadPlanner, page_language\n\n"
        "app = LeadPlanner()\n"
        "app.set_language(page_language())  # ?lang=sl in the page's address\n"
        "app",
    ),
    "dashboard.ipynb": (
        "Pipeline forecast dashboard",
        "from pipesheet.apps import Dashboard, page_language\n\n"
        "app = Dashboard()\n"
        "app.set_language(page_language())  # ?lang=sl in the page's address\n"
        "app",
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


def is_loopback(ip: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``: only this computer can connect."""
    if ip.strip().casefold() == "localhost":
        return True
    try:
        return ipaddress.ip_address(ip.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def voila_command(
    target: str | os.PathLike,
    *,
    port: int = DEFAULT_PORT,
    pool_size: int = 1,
    cull_idle: int = 900,
    python: str | None = None,
    ip: str = DEFAULT_IP,
) -> list[str]:
    """The Voila command line serving ``target`` (a notebook or a folder of notebooks).

    On another address than loopback a token is required (:func:`voila_env` passes it to Voila
    in ``JUPYTER_TOKEN``, never on the command line where other users could read it)."""
    cmd = [
        python or sys.executable,
        "-m",
        "voila",
        str(target),
        f"--port={int(port)}",
        f"--Voila.ip={ip}",
        "--no-browser",
        "--show_tracebacks=False",
        "--strip_sources=True",
        f"--MappingKernelManager.cull_idle_timeout={int(cull_idle)}",
        "--MappingKernelManager.cull_interval=60",
    ]
    if not is_loopback(ip):
        cmd.append("--Voila.auto_token=True")  # the token comes from JUPYTER_TOKEN
    if pool_size > 0:
        cmd += ["--preheat_kernel=True", f"--pool_size={int(pool_size)}"]
    return cmd


def voila_env(
    base: dict[str, str] | None = None,
    *,
    token: str | None = None,
    config_dir: str | os.PathLike | None = None,
    ip: str | None = None,
) -> dict[str, str]:
    """Environment for Voila: the shipped ``config/voila.json`` (or ``config_dir``) first on
    ``JUPYTER_CONFIG_PATH``; with ``token``, ``JUPYTER_TOKEN``; with the address ``ip`` served
    (unless all addresses), ``VOILA_APP_IP``: where a preheated kernel asks Voila for its page's
    request (its ``?lang=``) — Voila's default, 127.0.0.1, is not listened on when serving
    another address."""
    env = dict(os.environ if base is None else base)
    paths = [str(config_dir or CONFIG_DIR)]
    if env.get("JUPYTER_CONFIG_PATH"):
        paths.append(env["JUPYTER_CONFIG_PATH"])
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(paths)
    if ip and ip.strip() not in ("0.0.0.0", "::"):
        # a preheated kernel asks Voila for its page's address (and language) at this address
        host = ip.strip().strip("[]")
        env["VOILA_APP_IP"] = f"[{host}]" if ":" in host else host
    if token:
        env["JUPYTER_TOKEN"] = token
    else:
        env.pop("JUPYTER_TOKEN", None)
    return env


def server_config(
    directory: str | os.PathLike,
    *,
    allow_remote_access: bool = False,
    hostnames: Sequence[str] = (),
) -> Path:
    """A copy of the shipped configuration in ``directory``: with ``allow_remote_access`` the
    ``Host`` check is left to the token (another address than loopback); ``hostnames`` are added
    to the names a request's ``Host`` may carry (a reverse proxy's public name)."""
    config = json.loads((CONFIG_DIR / "voila.json").read_text(encoding="utf-8"))
    settings = config["Voila"]["tornado_settings"]
    settings["allow_remote_access"] = bool(allow_remote_access)
    names = [*settings.get("local_hostnames", ["localhost"])]
    names += [h.strip().casefold() for h in hostnames if h.strip() and h.strip() not in names]
    settings["local_hostnames"] = names
    out = Path(directory)
    (out / "voila.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return out


def missing_modules() -> list[str]:
    """The modules of the ``apps`` extra that are not installed."""
    return [m for m in REQUIRED_MODULES if importlib.util.find_spec(m) is None]


def run(args: argparse.Namespace) -> int:
    """Start Voila and wait for it; returns its exit status (0 after Ctrl+C or SIGTERM, once
    everything started is stopped).

    Raises:
        PipesheetError: the ``apps`` extra is not installed, or the notebooks are missing.
    """
    folder = _notebooks_dir(getattr(args, "notebooks", None))
    which = getattr(args, "which", "all")
    target = folder if which == "all" else folder / APPS[which]
    if not Path(target).exists():
        raise PipesheetError(
            "the app notebooks were not found",
            table="options",
            column="--notebooks",
            value=str(target),
            expected="a folder holding " + " and ".join(NOTEBOOKS),
        )
    ip = getattr(args, "ip", DEFAULT_IP) or DEFAULT_IP
    cmd = voila_command(
        target, port=args.port, pool_size=args.pool_size, cull_idle=args.cull_idle, ip=ip
    )
    if getattr(args, "print_command", False):
        print(" ".join(cmd))
        return 0
    missing = missing_modules()
    if missing:
        raise PipesheetError(
            "pipesheet app needs the apps extra, which is not installed (missing: "
            + ", ".join(missing)
            + ")",
            table="options",
            expected='pip install "pipesheet[apps]" (from a clone: pip install -e ".[apps,xlsx]")',
        )
    token = None
    if not is_loopback(ip):
        token = os.environ.get(TOKEN_ENV, "").strip() or secrets.token_urlsafe(24)
    host = "127.0.0.1" if ip in ("0.0.0.0", "::") else ip
    base = f"http://{host}:{args.port}"
    query = f"?token={token}" if token else ""
    if which == "all":
        urls = [f"{base}/voila/render/{n}{query}" for n in NOTEBOOKS]
    else:
        urls = [f"{base}/{query}"]
    hostnames = list(getattr(args, "allow_host", None) or [])
    with contextlib.ExitStack() as stack:
        config_dir = None
        if token or hostnames:
            config_dir = server_config(
                stack.enter_context(tempfile.TemporaryDirectory()),
                allow_remote_access=bool(token),
                hostnames=hostnames,
            )
        env = voila_env(token=token, config_dir=config_dir, ip=ip)
        print("pipesheet: serving " + ", ".join(urls) + "  (Ctrl+C to stop)", flush=True)
        return _serve(cmd, env)


class _Stop(Exception):
    """A stop signal (SIGTERM, SIGHUP) received while serving."""


def _serve(cmd: list[str], env: dict[str, str]) -> int:
    """Run Voila in its own process group; on Ctrl+C, SIGTERM or SIGHUP (or Voila's own exit)
    stop everything started under it."""
    _become_subreaper()

    def stop(signum: int, _frame: Any) -> None:
        raise _Stop(signum)

    previous = {}
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            previous[sig] = signal.signal(sig, stop)
    proc: subprocess.Popen | None = None
    status = 0
    try:
        proc = subprocess.Popen(cmd, env=env, start_new_session=True)
        status = proc.wait()
    except (KeyboardInterrupt, _Stop):
        status = 0
    finally:
        # no second signal may interrupt the clean-up
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        with contextlib.suppress(KeyboardInterrupt):
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            if proc is not None:
                stop_process_tree(proc)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    return status


def stop_process_tree(proc: subprocess.Popen, grace: float = STOP_GRACE_S) -> None:
    """Stop ``proc``, its process group and every process started under it (kernels included):
    SIGTERM, then SIGKILL for those still running after ``grace`` seconds."""
    import psutil

    def everyone() -> list[psutil.Process]:
        found: dict[int, psutil.Process] = {}
        roots = [psutil.Process()]  # orphans come back to us (subreaper)
        with contextlib.suppress(psutil.Error):
            roots.append(psutil.Process(proc.pid))
        for root in roots:
            with contextlib.suppress(psutil.Error):
                for child in root.children(recursive=True):
                    found[child.pid] = child
        return list(found.values())

    procs = everyone()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.terminate()
    _gone, alive = psutil.wait_procs(procs, timeout=grace)
    procs = alive + [p for p in everyone() if p.pid not in {a.pid for a in alive}]
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(procs, timeout=grace)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)


def _become_subreaper() -> None:
    """On Linux, adopt orphaned descendants (PR_SET_CHILD_SUBREAPER), so that a kernel left
    behind by Voila is still ours to stop. Elsewhere a no-op."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass
