"""``pipesheet app``: serve the web apps with Voila (:mod:`pipesheet.apps.serve` runs it; it
needs the ``apps`` extra, and says so in one line when it is missing)."""

from __future__ import annotations

import argparse
from typing import Any

from pipesheet.apps.serve import APPS, DEFAULT_IP, DEFAULT_PORT, TOKEN_ENV, run
from pipesheet.i18n import _


def add_parsers(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``app`` command to the ``pipesheet`` subparsers."""
    p = subparsers.add_parser(
        "app",
        help=_("serve the web apps (lead planner, forecast dashboard) with Voila"),
        description=_("Serve the pipesheet web apps with Voila on 127.0.0.1 (no browser opened)."),
    )
    p.add_argument(
        "which",
        nargs="?",
        default="all",
        choices=("all", *APPS),
        help=_("serve one app at / or both (default: all, listed at /)"),
    )
    p.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=_("port (default {port})").format(port=DEFAULT_PORT),
    )
    p.add_argument(
        "--ip",
        default=DEFAULT_IP,
        metavar="ADDRESS",
        help=_(
            "address to listen on (default {ip}: only this computer); any other address "
            "requires a token ({token}, or a random one printed in the address)"
        ).format(ip=DEFAULT_IP, token=TOKEN_ENV),
    )
    p.add_argument(
        "--allow-host",
        action="append",
        metavar="NAME",
        help=_(
            "also serve requests whose Host header is NAME, e.g. the public name of a reverse "
            "proxy in front (repeatable; default: only 127.0.0.1, ::1 and localhost)"
        ),
    )
    p.add_argument(
        "--pool-size",
        type=int,
        default=1,
        help=_("kernels kept preheated per notebook for fast first pages (0 = off; default 1)"),
    )
    p.add_argument(
        "--cull-idle",
        type=int,
        default=900,
        metavar="SECONDS",
        help=_("shut down a page's kernel after this long idle (default 900)"),
    )
    p.add_argument("--notebooks", metavar="DIR", help=_("folder of app notebooks to serve"))
    p.add_argument(
        "--print-command", action="store_true", help=_("print the Voila command and exit")
    )
    p.set_defaults(func=run)
    return p
