"""fediverse-pasture's actor verification against our hub's instance actor, all on 127.0.0.1.

verify_actor probes an actor with test actors of its own: an unsigned POST must be refused,
signed GETs and POSTs from actors whose keys sit behind signed GETs must work, and the
WebFinger round trip (preferredUsername@host) must lead back to the actor.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import fediverse_pasture  # noqa: F401  (installed by `make install-test`: missing, this test fails, never skips)
import pytest

from tests import spawn
from tests.federation.hubs import Hub, free_port


PASTURE_APP = '''
import os
from fediverse_pasture.verify_actor import build_app

app = build_app(False, os.environ["PASTURE_DOMAIN"], False, 10)
'''


@pytest.fixture(scope="module")
def pasture_and_hub(tmp_path_factory):
    """Run verify_actor's server (serving its test actors) and one open-mode hub."""
    root = tmp_path_factory.mktemp("pasture")
    hub = Hub(root, "hub", FEDERATION_MODE="open")
    port = free_port()
    directory = root / "pasture"
    directory.mkdir()
    (directory / "pasture_app.py").write_text(PASTURE_APP)
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(directory), "PASTURE_DOMAIN": f"127.0.0.1:{port}"}
    log = directory / "pasture.log"
    process = None
    try:
        init = hub.init_command()
        assert init.wait(timeout=120) == 0
        hub.start()
        hypercorn = Path(sys.executable).with_name("hypercorn")
        process = spawn.popen([str(hypercorn), "pasture_app:app", "--bind", f"127.0.0.1:{port}"],
                              cwd=directory, env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT,
                              start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("verify_actor did not start:\n" + log.read_text()[-3000:])
        yield f"http://127.0.0.1:{port}", hub
    finally:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        hub.stop()


def test_verify_actor_passes(pasture_and_hub):
    pasture, hub = pasture_and_hub
    query = urllib.parse.urlencode({"actor_uri": hub.base + "/actor"})
    request = urllib.request.Request(f"{pasture}/?{query}", headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        report = json.loads(response.read())
    result = report["result"]
    messages = report["messages"]
    assert result["webfinger"] is True, messages
    for name in ("alice", "dean"):  # unsigned POSTs are refused
        assert result[name] == {"get_actor": True, "post_inbox": False}, (name, messages)
    for name in ("bob", "claire", "emily", "frank"):  # signed ones, keys behind signed GETs included
        assert result[name] == {"get_actor": True, "post_inbox": True}, (name, messages)
