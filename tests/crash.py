"""Crash trials: the worker is killed with SIGKILL at random moments while writer processes publish.

Used by tests/functional/test_crash_trials.py (a short trial in `make test`) and bench/crash.py
(longer soaks). A trial runs against a PostgreSQL database that :func:`prepare` filled with
people and one partner hub that follows this one (its inbox: a local recording server):

1. writer processes publish notes through the services (draft, submit, approve: the web's path)
   and print the id of each note once ``approve`` has committed: the confirmed writes;
2. meanwhile the worker (``flask hub worker``) is started, killed with SIGKILL a random time after
   it said it started, and started again, ``kills`` times; then the writers are told to stop;
3. one last worker catches up and is stopped with SIGTERM.

Then :class:`TrialResult` compares what was confirmed with what every consumer applied.
"""
from __future__ import annotations

import collections
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from hub import events
from hub.extensions import db
from hub.models.events import Event
from hub.models.federation import Delivery, PeerHub
from hub.models.note import Note
from hub.models.user import Role, User
from hub.services import accounts, notes, vocabulary
from hub.worker import DatabaseCursor
from tests import spawn
from tests.federation.fixtures import DocumentServer
from tests.processes import index_documents, node_env, start, wait_for

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "crash trial password"


def prepare(app: Flask, inbox: DocumentServer) -> tuple[int, int]:
    """Add the vocabulary, an author, a moderator and a following partner hub; return the people's ids."""
    with app.app_context():
        vocabulary.seed()
        author = accounts.create_user(accounts.NewAccount("writer", "Writer W", PASSWORD), role=Role.CONTRIBUTOR)
        moderator = accounts.create_user(accounts.NewAccount("checker", "Checker C", PASSWORD), role=Role.MODERATOR)
        db.session.add(PeerHub(actor_id=inbox.base + "/actor", base_url=inbox.base, inbox_url=inbox.base + "/inbox",
                               they_follow=True, partner=True))
        db.session.commit()
        return author.id, moderator.id


def write_notes(author_id: int, moderator_id: int, stop_file: str, prefix: str) -> None:
    """Publish notes as the web does until ``stop_file`` exists, printing "confirmed <id>" after each commit.

    The body of a writer process.
    """
    from hub import create_app

    app = create_app()
    with app.app_context():
        author, moderator = db.session.get(User, author_id), db.session.get(User, moderator_id)
        number = 0
        while not Path(stop_file).exists():
            number += 1
            data = notes.NoteInput(title=f"{prefix} 外展笔记 {number}", summary="同伴外展的一次经验。",
                                   body="我们在社区开展外展，发放针具和纳洛酮。" * 5, visibility="public")
            note = notes.create_draft(author=author, data=data)
            notes.submit(note, by=author, confirm_privacy=True)
            notes.approve(note, by=moderator)
            print(f"confirmed {note.id}", flush=True)
            time.sleep(0.1)  # people write at a human pace; the trial is about the worker


@dataclass
class TrialResult:
    """What a trial confirmed, what the consumers applied, and what went wrong."""

    seed: int
    kills: int = 0
    kills_while_writing: int = 0
    seconds: float = 0.0
    confirmed: set[int] = field(default_factory=set)
    published: set[int] = field(default_factory=set)
    indexed: collections.Counter[int] = field(default_factory=collections.Counter)
    cursor: int = 0
    head: int = 0
    deliveries_per_event: collections.Counter[int] = field(default_factory=collections.Counter)
    published_events: set[int] = field(default_factory=set)
    unsent: int = 0
    received: collections.Counter[str] = field(default_factory=collections.Counter)
    activities: set[str] = field(default_factory=set)

    def problems(self) -> list[str]:
        """Return every way in which a confirmed write was lost or applied twice (empty: none)."""
        found = []
        if self.confirmed != self.published:
            found.append(f"confirmed but not published: {sorted(self.confirmed - self.published)}")
        if set(self.indexed) != self.published:
            found.append(f"index: missing {sorted(self.published - set(self.indexed))}, "
                         f"extra {sorted(set(self.indexed) - self.published)}")
        if any(n != 1 for n in self.indexed.values()):
            found.append(f"index: notes held twice {sorted(i for i, n in self.indexed.items() if n != 1)}")
        if self.cursor != self.head:
            found.append(f"index cursor {self.cursor}, log head {self.head}")
        if set(self.deliveries_per_event) != self.published_events:
            found.append(f"events without a delivery: {sorted(self.published_events - set(self.deliveries_per_event))}")
        if any(n != 1 for n in self.deliveries_per_event.values()):
            found.append("an event became two deliveries")
        if self.unsent or set(self.received) != self.activities:
            found.append(f"{self.unsent} deliveries unsent; {len(self.activities - set(self.received))} never arrived")
        return found

    @property
    def resent(self) -> int:
        """Return how many deliveries arrived more than once (a kill between sending and recording it)."""
        return sum(n - 1 for n in self.received.values())


def run_trial(app: Flask, url: str, folder: Path, inbox: DocumentServer, people: tuple[int, int], *,
              writers: int = 3, kills: int = 6, seed: int | None = None) -> TrialResult:
    """Run one trial (see the module's docstring) and return its result."""
    seed = seed if seed is not None else random.randrange(1 << 30)
    rng, result, began = random.Random(seed), TrialResult(seed=seed), time.monotonic()
    env = node_env(folder / "node", url, "crash-node")
    writer_env = {**node_env(folder / "writer", url, "writer"), "PYTHONPATH": str(ROOT)}
    stop_file = folder / "stop-writing"
    code = "import sys; from tests.crash import write_notes; write_notes(*map(int, sys.argv[1:3]), *sys.argv[3:5])"
    processes = [spawn.popen([sys.executable, "-c", code, *map(str, people), str(stop_file), f"w{n}"],
                             env=writer_env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for n in range(writers)]
    try:
        for _ in range(kills):
            worker = start(["hub", "worker"], env)
            time.sleep(rng.uniform(0.0, 1.5))
            writing = all(p.poll() is None for p in processes)
            worker.send_signal(signal.SIGKILL)
            worker.communicate()
            result.kills += 1
            result.kills_while_writing += writing
    finally:
        stop_file.touch()
    for process in processes:
        output, errors = process.communicate()
        if process.returncode != 0:
            raise AssertionError(f"a writer failed:\n{errors}")
        result.confirmed |= {int(line.split()[1]) for line in output.splitlines() if line.startswith("confirmed ")}
    last = start(["hub", "worker"], env)
    try:
        with app.app_context():
            try:
                wait_for(lambda: _caught_up(folder / "node"), seconds=180, what="the last worker to catch up")
            except AssertionError as error:
                raise AssertionError(f"{error}: {_progress(folder / 'node')}") from None
    finally:
        last.send_signal(signal.SIGTERM)
        last.communicate(timeout=60)
    with app.app_context():
        _collect(result, folder / "node", inbox)
    result.seconds = time.monotonic() - began
    return result


def _caught_up(node: Path) -> bool:
    """Tell whether both consumers have applied the whole log and every delivery is sent."""
    head = events.head()
    pending = db.session.scalar(sa.select(sa.func.count()).select_from(Delivery).where(Delivery.state != "sent"))
    return DatabaseCursor("federation").get() == head and pending == 0 and index_documents(node)[1] == head


def _progress(node: Path) -> str:
    """Describe how far the consumers got, for a trial that did not finish."""
    states = dict(db.session.execute(sa.select(Delivery.state, sa.func.count()).group_by(Delivery.state)).all())
    try:
        cursor = index_documents(node)[1]
    except Exception as error:  # no index yet
        cursor = f"unavailable ({error})"
    return (f"head {events.head()}, federation cursor {DatabaseCursor('federation').get()}, index cursor {cursor}, "
            f"deliveries {states}")


def _collect(result: TrialResult, node: Path, inbox: DocumentServer) -> None:
    result.published = set(db.session.scalars(sa.select(Note.id).where(Note.state == "published")))
    result.indexed, result.cursor = index_documents(node)
    result.head = events.head()
    result.published_events = set(db.session.scalars(sa.select(Event.id).where(Event.kind == "note.published")))
    result.deliveries_per_event = collections.Counter(db.session.scalars(sa.select(Delivery.event_id)))
    result.unsent = db.session.scalar(sa.select(sa.func.count()).select_from(Delivery).where(Delivery.state != "sent"))
    result.activities = set(db.session.scalars(sa.select(Delivery.activity_id)))
    result.received = collections.Counter(activity["id"] for activity in inbox.activities())
    db.session.rollback()
