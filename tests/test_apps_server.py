"""``pipesheet app`` as a user runs it: a real server (issue 10.9, 8.18).

* DNS rebinding: pages and the kernel websocket are refused for a foreign ``Host`` header (and a
  websocket from a foreign origin), served for 127.0.0.1 / localhost;
* another address than loopback requires a token;
* SIGTERM or Ctrl+C stops Voila and every kernel it started;
* without the apps extra, one clear line naming it.

No timing is asserted: waits are generous and end on a condition.
"""

from __future__ import annotations

import base64
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("voila")
pytest.importorskip("ipykernel")
psutil = pytest.importorskip("psutil")

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 180


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(*args: str, env: dict | None = None) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipesheet.cli", "app", *args, "--port", str(port)],
        env=dict(os.environ, PYTHONPATH=str(ROOT / "src"), **(env or {})),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            status, _, _ = _get(port, "/", f"127.0.0.1:{port}")
            if status in (200, 302):
                return proc, port
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("pipesheet app did not start:\n" + (proc.stdout.read() or ""))
        time.sleep(0.3)


def _get(port: int, path: str, host: str, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", path, headers={"Host": host, **(headers or {})})
        resp = conn.getresponse()
        body = resp.read() if resp.status != 101 else b""
        return resp.status, resp.getheader("Location"), body
    finally:
        conn.close()


def _websocket(port: int, kernel: str, host: str, origin: str) -> int:
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
        "Sec-WebSocket-Version": "13",
        "Origin": origin,
    }
    return _get(port, f"/api/kernels/{kernel}/channels", host, headers)[0]


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> list:
    """Send ``sig`` to pipesheet app; return the processes it had started that still run."""
    started = psutil.Process(proc.pid).children(recursive=True)
    assert any("voila" in " ".join(p.cmdline()) for p in started)
    proc.send_signal(sig)
    proc.wait(timeout=120)
    _gone, alive = psutil.wait_procs(started, timeout=30)
    return [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]


@pytest.fixture(scope="module")
def server():
    proc, port = _start("lead-planner", "--pool-size", "1")
    yield port
    if proc.poll() is None:
        _stop(proc)


def test_foreign_host_gets_no_page_and_no_kernel(server):
    port = server
    status, _, body = _get(server, "/", f"127.0.0.1:{port}")
    assert status == 200
    kernels = set(re.findall(rb"[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}", body))
    assert kernels, "the page names its kernel"
    kernel = kernels.pop().decode()
    assert _get(server, "/", f"localhost:{port}")[0] == 200
    for host in ("evil.example.com", f"evil.example.com:{port}", f"rebind.attacker.test:{port}"):
        assert _get(server, "/", host)[0] == 403
        assert _get(server, "/voila/render/lead_planner.ipynb", host)[0] == 403
        assert _websocket(server, kernel, host, f"http://{host}") == 403
    # a page of another site may not open the kernel's websocket either
    assert _websocket(server, kernel, f"127.0.0.1:{port}", "http://evil.example.com") == 403
    assert _websocket(server, kernel, f"127.0.0.1:{port}", f"http://127.0.0.1:{port}") == 101


def test_sigterm_stops_voila_and_every_kernel():
    proc, port = _start("--pool-size", "2")
    status, _, _ = _get(port, "/voila/render/dashboard.ipynb", f"127.0.0.1:{port}")
    assert status == 200  # this page holds a kernel, the pools hold more
    kernels = [
        p
        for p in psutil.Process(proc.pid).children(recursive=True)
        if "ipykernel" in " ".join(p.cmdline())
    ]
    assert len(kernels) >= 2
    assert _stop(proc, signal.SIGTERM) == []
    assert proc.returncode == 0


def test_ctrl_c_stops_everything_too():
    proc, _port = _start("lead-planner", "--pool-size", "1")
    assert _stop(proc, signal.SIGINT) == []


def test_another_address_requires_a_token():
    proc, port = _start(
        "lead-planner", "--ip", "0.0.0.0", "--pool-size", "0", env={"PIPESHEET_APP_TOKEN": "t0k3n"}
    )
    try:
        host = f"server.example.com:{port}"
        status, location, _ = _get(port, "/", host)
        assert status in (302, 401, 403) and (status != 302 or "login" in location)
        assert _get(port, "/?token=wrong", host)[0] in (302, 401, 403)
        assert _get(port, "/?token=t0k3n", host)[0] == 200
    finally:
        assert _stop(proc) == []
    first = proc.stdout.readline() if proc.stdout else ""
    assert "?token=t0k3n" in first


def test_a_reverse_proxy_name_can_be_allowed():
    proc, port = _start("lead-planner", "--pool-size", "0", "--allow-host", "apps.example.com")
    try:
        assert _get(port, "/", "apps.example.com")[0] == 200
        assert _get(port, "/", f"127.0.0.1:{port}")[0] == 200
        assert _get(port, "/", "evil.example.com")[0] == 403
    finally:
        assert _stop(proc) == []


def test_without_the_apps_extra_one_clear_line(monkeypatch, capsys):
    import pipesheet.apps.serve as serve
    from pipesheet.cli import main

    monkeypatch.setattr(serve, "missing_modules", lambda: ["voila", "ipykernel"])
    assert main(["app", "--notebooks", str(ROOT / "notebooks")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("pipesheet: error: ")
    assert "pipesheet[apps]" in err and "voila" in err


def test_the_apps_extra_has_what_the_server_needs():
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    names = {re.split(r"[<>=!~\[ ]", r, maxsplit=1)[0].casefold() for r in extras["apps"]}
    from pipesheet.apps.serve import REQUIRED_MODULES

    assert set(REQUIRED_MODULES) <= names
