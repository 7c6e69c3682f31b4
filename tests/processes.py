"""Helpers for tests that run the hub as real processes: workers, `flask hub serve`, writers."""
from __future__ import annotations

import collections
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

from whoosh import query as q

from hub.extensions import db
from search_index.indexer import read_cursor
from search_index.store import IndexStore
from tests import spawn
from tests.federation.fixtures import keypair

FLASK = [sys.executable, "-m", "flask"]


def hub_env(instance: Path) -> dict[str, str]:
    """Return the environment of a development hub with its instance folder and SQLite database in ``instance``."""
    return {"HUB_ENV": "development", "HUB_INSTANCE_PATH": str(instance), "FLASK_APP": "wsgi",
            "HUB_DATABASE_URL": f"sqlite:///{instance / 'hub.sqlite'}", "PATH": "/usr/bin:/bin",
            "PYTHONUNBUFFERED": "1"}


def start(args: list[str], env: dict[str, str], *, until: str = "worker started", **popen) -> subprocess.Popen:
    """Start ``flask <args>`` (more ``subprocess.Popen`` options in ``popen``) and wait for a line containing ``until``."""
    process = spawn.popen([*FLASK, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          **popen)
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        seen.append(line)
        if until in line:
            return process
        if not line and process.poll() is not None:
            break
    process.kill()
    raise AssertionError(f"no {until!r} from flask {' '.join(args)}:\n{''.join(seen)}")


def worker_pid(instance: Path) -> int:
    """Return the pid the running worker wrote into the instance's lock file."""
    return int(re.search(r"pid (\d+)", (instance / "worker.lock").read_text()).group(1))


def alive(pid: int) -> bool:
    """Tell whether a process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_until_gone(pid: int, seconds: float = 20) -> bool:
    """Wait until process ``pid`` has ended; return whether it has."""
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not alive(pid)


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def node_env(instance: Path, url: str, name: str) -> dict[str, str]:
    """Return the environment of one node's worker: its own instance folder, the shared database and key."""
    instance.mkdir()
    (instance / "federation_key.pem").write_bytes(keypair(0)[0])  # every node signs with the hub's one key
    return {**hub_env(instance), "HUB_DATABASE_URL": url, "HUB_NODE_NAME": name, "HUB_WORKER_POLL_SECONDS": "0.2",
            "HUB_WORKER_CLAIM_SECONDS": "4", "HUB_FEDERATION_ALLOW_LOOPBACK": "true",
            "HUB_FEDERATION_RETRY_BASE_SECONDS": "0.5", "HUB_BASE_URL": "http://hub.test"}


def index_documents(instance: Path) -> tuple[collections.Counter[int], int]:
    """Return how many documents a node's search index holds per note id, and its cursor."""
    index = IndexStore(str(instance / "index")).open()
    with index.searcher() as searcher:
        found = collections.Counter(int(searcher.stored_fields(n)["id"])
                                    for n in searcher.docs_for_query(q.Term("kind", "note")))
    return found, read_cursor(index)


def indexed_ids(instance: Path) -> set[int]:
    """Return the ids of the notes in a node's search index."""
    return set(index_documents(instance)[0])


def wait_for(condition, seconds: float = 60, what: str = "") -> None:
    """Wait until ``condition()`` is true (looking again at the database each time), or fail."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.rollback()
        try:
            if condition():
                return
        except Exception:  # an index being written or swapped in: look again
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
