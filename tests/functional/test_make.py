"""``make run``'s serving step: PORT chooses the port, and the hub's own address follows it."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests import spawn

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, deadline: float) -> bytes:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_port_makes_make_serve_listen_there_with_a_matching_base_url(tmp_path):
    port = _free_port()
    env = {**os.environ, "HUB_ENV": "development", "HUB_INSTANCE_PATH": str(tmp_path), "FLASK_APP": "wsgi",
           "HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'm.sqlite'}"}
    env.pop("HUB_BASE_URL", None)
    spawn.run([sys.executable, "-m", "flask", "hub", "init"], env=env, cwd=ROOT, check=True, capture_output=True)
    server = spawn.popen(["make", "--no-print-directory", "serve", f"PORT={port}"], env=env, cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        actor = json.loads(_get(f"http://127.0.0.1:{port}/actor", time.monotonic() + 60))
        assert actor["id"] == f"http://127.0.0.1:{port}/actor"
        assert b"<html" in _get(f"http://127.0.0.1:{port}/", time.monotonic() + 5)
    finally:
        os.killpg(server.pid, signal.SIGINT)  # Ctrl-C, as in a terminal: make, the server and its worker
        try:
            output, _ = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            output, _ = server.communicate()
    assert f"http://127.0.0.1:{port}" in output
