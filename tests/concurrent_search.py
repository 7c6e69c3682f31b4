"""Readers and the writer at once, in separate processes: searches and note pages while the worker merges.

One run: gunicorn with the hub's settings (hub.gunicorn_conf) and several worker processes serves
``/api/v1/search``, the search page and note pages (with their similar notes) to client threads, while
this process publishes and edits notes and ``flask hub worker`` commits them to the index — small
commits that Whoosh merges every few. It counts every answer of 500 or more, every failed connection
and every traceback the servers log. Used by the test suite (seconds,
tests/functional/test_search_under_writes.py) and by ``bench/search_soak.py`` (minutes).
"""
from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask
from whoosh import index as whoosh_index

import search_index
from hub import events
from hub.extensions import db
from hub.models.base import utcnow
from hub.models.note import Note
from hub.models.user import Role
from hub.services import accounts
from tests import spawn
from tests.helpers import publish_directly

ROOT = Path(__file__).resolve().parents[1]
QUERIES = ["外展", "美沙酮", "outreach", "methadone clinic", '"同伴 外展"', "针具 -美沙酮", "outraech", "社区"]


@dataclass
class Report:
    """What one run saw."""

    seconds: float = 0.0
    statuses: Counter = field(default_factory=Counter)  # (kind of request, status) -> count
    errors: list[str] = field(default_factory=list)  # answers >= 500 and failed connections
    tracebacks: list[str] = field(default_factory=list)  # exceptions the servers logged
    latencies: dict[str, list[float]] = field(default_factory=dict)  # kind -> seconds
    published: int = 0
    edited: int = 0
    generations: int = 0  # index commits seen
    merges: int = 0  # commits seen with fewer segments than the one before
    indexed_at_end: int = -1  # notes the API found for a word every note has, once the worker caught up

    @property
    def requests(self) -> int:
        """Return how many requests were answered or failed."""
        return sum(self.statuses.values())


def environment(instance: Path, database_url: str) -> dict[str, str]:
    """Return the environment of the hub's processes: a file index in ``instance``, ``database_url``."""
    return {**os.environ, "HUB_ENV": "development", "HUB_INSTANCE_PATH": str(instance),
            "HUB_DATABASE_URL": database_url, "HUB_INDEX_DIR": "index", "HUB_SECRET_KEY": "soak-secret-" + "0123456789" * 3,
            "HUB_WORKER_POLL_SECONDS": "0.05", "HUB_PASSWORD_HASH_METHOD": "scrypt:1024:8:1", "FLASK_APP": "wsgi"}


def run(app: Flask, env: dict[str, str], *, seconds: float, merges: int = 0, web_processes: int = 3,
        clients: int = 6, write_every: float = 0.04, log=lambda message: None) -> Report:
    """Serve, search and write for ``seconds`` and until the index was merged ``merges`` times (at most
    six times as long: on a loaded machine merges come later); return what was seen. Call inside
    ``app``'s context.

    ``app`` and ``env`` name the same database (with its schema) and instance folder.
    """
    report = Report()
    author = accounts.create_user(accounts.NewAccount("soak", "Soak", "long enough pw"), role=Role.CONTRIBUTOR)
    ids = [_publish(author, number) for number in range(30)]
    search_index.rebuild()
    port = _free_port()
    worker = spawn.popen([sys.executable, "-m", "flask", "hub", "worker"], cwd=ROOT, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server_log = Path(env["HUB_INSTANCE_PATH"]) / "gunicorn.log"
    with open(server_log, "w") as output:
        server = spawn.popen([sys.executable, "-m", "gunicorn", "-c", "python:hub.gunicorn_conf", "-w",
                              str(web_processes), "-b", f"127.0.0.1:{port}", "wsgi:app"],
                             cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    stop = threading.Event()
    threads = []
    try:
        _wait_until_up(base, server)
        _warm_up(base, ids, web_processes)
        ids.append(_publish(author, len(ids)))  # and the worker, which loads them too
        _indexed_once_caught_up(base, len(ids))
        threads = [threading.Thread(target=_client, args=(base, ids, report, stop, seed), daemon=True)
                   for seed in range(clients)]
        threads.append(threading.Thread(target=_watch_index, args=(Path(env["HUB_INSTANCE_PATH"]) / "index",
                                                                   report, stop), daemon=True))
        started = time.monotonic()
        for thread in threads:
            thread.start()
        number = len(ids)
        while (time.monotonic() - started < seconds
               or (report.merges < merges and time.monotonic() - started < 6 * seconds)):
            if number % 3:
                ids.append(_publish(author, number))
                report.published = len(ids)
            else:
                _edit(random.choice(ids), number)
                report.edited += 1
            number += 1
            if number % 100 == 0:
                log(f"{time.monotonic() - started:.0f} s: {report.requests} requests, {len(report.errors)} errors, "
                    f"{report.generations} commits, {report.merges} merges")
            time.sleep(write_every)
        report.seconds = time.monotonic() - started
        report.published = len(ids)
        report.indexed_at_end = _indexed_once_caught_up(base, len(ids))
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        # Graceful (SIGTERM): each worker ends its loop. A quick shutdown (SIGINT) raises SystemExit in each
        # worker wherever it is: once in seven runs a worker printed it as a traceback, counted as an error.
        server.send_signal(signal.SIGTERM)
        worker.terminate()
        for process in (server, worker):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    report.tracebacks = _tracebacks(server_log.read_text(errors="replace"))
    return report


def _publish(author, number: int) -> int:
    """Publish a note with words every note has and a number of its own; return its id."""
    body = f"同伴外展员第 {number} 次去社区，讲美沙酮门诊。Peer outreach round {number}, methadone clinic nearby."
    return publish_directly(author, title=f"外展笔记 {number}", body=body)


def _edit(note_id: int, number: int) -> None:
    """Change a published note (the index deletes its document and adds it again)."""
    note = db.session.get(Note, note_id)
    note.title = f"外展笔记 {note_id}（第 {number} 次修改）"
    note.updated_at = utcnow()
    events.record("note.updated", subject_type="note", subject_id=note_id)
    db.session.commit()


def _client(base: str, ids: list[int], report: Report, stop: threading.Event, seed: int) -> None:
    """Search, open note pages and the search page until ``stop``, recording every answer."""
    rng = random.Random(seed)
    while not stop.is_set():
        choice = rng.random()
        query = urllib.parse.quote(rng.choice(QUERIES))
        if choice < 0.5:
            kind, path = "api search", f"/api/v1/search?q={query}&page={rng.choice([1, 1, 2])}" + rng.choice(
                ["", "&sort=newest"])
        elif choice < 0.85:
            kind, path = "note page", f"/notes/{rng.choice(ids)}"
        else:
            kind, path = "search page", f"/search?q={query}"
        started = time.monotonic()
        try:
            with urllib.request.urlopen(base + path, timeout=30) as answer:
                answer.read()
                status = answer.status
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError as error:
            status = f"{type(error).__name__}"
        report.latencies.setdefault(kind, []).append(time.monotonic() - started)
        report.statuses[(kind, status)] += 1
        if not isinstance(status, int) or status >= 500:
            report.errors.append(f"GET {path}: {status}")


def _watch_index(folder: Path, report: Report, stop: threading.Event) -> None:
    """Count the index's commits and merges as the worker makes them."""
    seen_generation, seen_segments = -1, 0
    while not stop.wait(0.01):
        try:
            toc = whoosh_index.open_dir(str(folder / os.readlink(folder / "current")))._read_toc()
        except (OSError, whoosh_index.EmptyIndexError):
            continue
        if toc.generation != seen_generation:
            if seen_generation >= 0 and len(toc.segments) < seen_segments:
                report.merges += 1
            report.generations += 1
            seen_generation, seen_segments = toc.generation, len(toc.segments)


def _indexed_once_caught_up(base: str, published: int, timeout: float = 60) -> int:
    """Return how many notes a search for a word of every note finds, once that is all of them (or time is up)."""
    deadline = time.monotonic() + timeout
    found = -1
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/api/v1/search?q=outreach&per_page=1", timeout=30) as answer:
                found = json.loads(answer.read())["total"]
        except urllib.error.HTTPError as error:  # counted by the clients' requests; -status here
            found = -error.code
        if found == published:
            break
        time.sleep(0.2)
    return found


def _tracebacks(log: str) -> list[str]:
    """Return the last line of every traceback in a server log (the exception)."""
    found = []
    lines = log.splitlines()
    for number, line in enumerate(lines):
        if line.startswith("Traceback"):
            end = number + 1
            while end < len(lines) and (lines[end].startswith(" ") or not lines[end].strip()):
                end += 1
            found.append("server: " + (lines[end] if end < len(lines) else line))
    return found


def _warm_up(base: str, ids: list[int], web_processes: int) -> None:
    """Send each web process its first search and note page (the analyzer's dictionaries are loaded when the
    process starts, hub.gunicorn_conf; the index and templates at first use), so that the time measured is spent
    searching while the index changes."""
    def one(number: int) -> None:
        for path in ("/api/v1/search?q=%E5%A4%96%E5%B1%95", f"/notes/{ids[number % len(ids)]}"):
            with urllib.request.urlopen(base + path, timeout=60) as answer:
                answer.read()
    threads = [threading.Thread(target=one, args=(number,)) for number in range(2 * web_processes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _wait_until_up(base: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within a minute")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
