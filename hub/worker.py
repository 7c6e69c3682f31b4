"""The background worker: feeds the event log to its consumers, in order, and keeps house.

Each consumer keeps its own cursor and is handed events after it. A consumer that fails
is retried on the next round from the same cursor, so no event is skipped. Consumers
are registered by the parts of the hub that need them (search indexing, federation).

A node runs one worker; several nodes may share one database. Each worker feeds its own node's
search index (a consumer whose cursor lives in the index), while work that must happen once for
the whole hub (consumers marked ``shared``, the periodic tasks, housekeeping) is done only by the
worker holding its claim (hub.claims).

Between rounds the worker writes a heartbeat row (time, pid, host, its lag per consumer);
:func:`worker_status` reads it for readiness checks and the admin page. SIGINT, SIGTERM and
SIGHUP stop it after the round in progress (see :class:`StopFlag`).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import select
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from flask import Flask, current_app

from hub import claims, events
from hub.extensions import db
from hub.models.base import utcnow
from hub.models.events import ConsumerCursor, Event
from hub.models.user import EmailChange, LoginFailure, PasswordReset
from hub.models.worker import WorkerHeartbeat

log = logging.getLogger("hub.worker")
EXTENSION_KEY = "hub.consumers"
TASKS_KEY = "hub.periodic"
STOP_HOOKS_KEY = "hub.periodic.on_stop"
LEASES_KEY = "hub.leases"
DUE_KEY = "hub.periodic.due"
IDLE_KEY = "hub.idle"
# What a task's ``due`` answers: True/False here and now, or a SQL condition the worker asks the database.
Due = bool | sa.ColumnElement[bool]


class Consumer(Protocol):
    """Something that applies events and remembers how far it got.

    A consumer whose cursor is shared by every node (kept in the database) sets ``shared = True``:
    only the worker holding its claim runs it. Others (the search indexer) run on every node.

    A consumer that must look again when something other than the log changes defines ``watch()``,
    returning a SQL scalar (the search indexer: the database's identity, renewed by a restore);
    an idle worker skips a caught-up consumer only while the log's head and that value stay put.
    """

    name: str

    def position(self) -> int:
        """Return the id of the last event applied."""

    def apply(self, batch: Sequence[Event]) -> None:
        """Apply ``batch`` and move the cursor past it, atomically."""


class CursorMoved(RuntimeError):
    """Another worker moved a shared cursor meanwhile; this round's work is rolled back."""


class DatabaseCursor:
    """A cursor kept in the ``consumer_cursor`` table, for consumers whose state is in the database."""

    def __init__(self, name: str) -> None:
        self.name = name

    def get(self) -> int:
        """Return the stored position (0 before the first event)."""
        return db.session.scalar(
            sa.select(ConsumerCursor.position).where(ConsumerCursor.name == self.name)
        ) or 0

    def skip_to_head(self) -> int:
        """Move the stored position up to the head of the log and return it (commits).

        For a consumer with nobody to tell about the past: no partner hub yet, no mail server.
        """
        position, head = self.get(), events.head()
        if head > position:
            self.set(head)
            db.session.commit()
        return max(position, head)

    def set(self, position: int, *, expected: int | None = None) -> None:
        """Store the position in the current transaction (the caller commits).

        With ``expected``, move it only from there (compare and set): raise :class:`CursorMoved`
        when another worker moved it meanwhile, so work done twice is never committed twice.
        """
        if expected is not None and db.session.get(ConsumerCursor, self.name) is not None:
            moved = db.session.execute(sa.update(ConsumerCursor).where(
                ConsumerCursor.name == self.name, ConsumerCursor.position == expected).values(position=position))
            if moved.rowcount != 1:
                raise CursorMoved(f"cursor {self.name} is no longer at {expected}")
            return
        cursor = db.session.get(ConsumerCursor, self.name) or ConsumerCursor(name=self.name)
        cursor.position = position
        db.session.add(cursor)


def register(app: Flask, consumer: Consumer) -> None:
    """Add ``consumer`` to the worker of ``app``."""
    app.extensions.setdefault(EXTENSION_KEY, []).append(consumer)


def consumers(app: Flask) -> list[Consumer]:
    """Return the registered consumers."""
    return list(app.extensions.get(EXTENSION_KEY, []))


def add_task(app: Flask, key: str, task: Callable[[Flask], int | None], *,
             on_stop: Callable[[Flask], None] | None = None, due: Callable[[Flask], Due] | None = None) -> None:
    """Run ``task(app)`` every round on the one worker that holds the claim ``key`` (it returns its work done).

    ``due(app)`` tells cheaply whether the task has anything to do: a bool, or a SQL condition (an
    ``EXISTS``) that the worker asks together with every other task's and the head of the event log in
    one statement (see :class:`Idle`); a task without it runs every round. ``on_stop(app)`` runs when
    that worker stops cleanly, before it gives the claim up.
    """
    app.extensions.setdefault(TASKS_KEY, []).append((key, task))
    if due is not None:
        app.extensions.setdefault(DUE_KEY, {})[key] = due
    if on_stop is not None:
        app.extensions.setdefault(STOP_HOOKS_KEY, []).append((key, on_stop))


def leases(app: Flask) -> claims.Leases:
    """Return this worker's claims on shared work (one set per app, i.e. per worker process)."""
    found = app.extensions.get(LEASES_KEY)
    if found is None:
        found = app.extensions[LEASES_KEY] = claims.Leases(node_name(app), float(app.config["WORKER_CLAIM_SECONDS"]))
    return found


def run_once(app: Flask, *, batch_size: int = 500) -> int:
    """Give every consumer the events it has not seen and run the periodic tasks; return the work done.

    Shared consumers and the tasks run only while this worker holds their claims, and only when
    :class:`Idle` does not know them to have nothing to do.
    """
    applied = 0
    held = leases(app)
    idle = Idle.of(app)
    look = idle.look(app)
    for consumer in consumers(app):
        try:
            if getattr(consumer, "shared", False) and not held.hold(f"consumer:{consumer.name}"):
                continue
            if look is not None and idle.caught_up(consumer, look):
                continue  # nothing new since it last looked
            position = consumer.position()
            batch = events.after(position, limit=batch_size)
            idle.saw(consumer, look if not batch and look is not None and position == look.head else None)
            if batch:
                consumer.apply(batch)
                applied += len(batch)
        except Exception:  # one failing consumer must not stop the others
            db.session.rollback()
            idle.saw(consumer, None)
            log.exception("consumer %s failed; it will retry from its cursor", consumer.name)
    # Periodic tasks (federation: process the inbox, send due deliveries); each returns its work done.
    for key, task in app.extensions.get(TASKS_KEY, []):
        try:
            if held.hold(key) and (look is None or look.wants(key)):
                applied += task(app) or 0
        except Exception:
            db.session.rollback()
            log.exception("periodic task %s failed; it runs again next round", key)
    return applied


@dataclass(frozen=True)
class Look:
    """What one cheap look at the database found: the head of the event log, what consumers watch, the tasks with work."""

    head: int
    watched: dict[str, Any]
    due: frozenset[str]
    checked: frozenset[str]
    full: bool = False  # a round that runs everything all the same

    def wants(self, key: str) -> bool:
        """Tell whether the task ``key`` may have work (every task the look did not check may)."""
        return self.full or key in self.due or key not in self.checked


class Idle:
    """Makes an idle round cheap: one statement instead of a query or two per consumer and task.

    Each round first asks the database, in one statement, for the head of the event log, what
    consumers ``watch`` and each task's ``due`` condition. A consumer whose position equalled that
    head (and whose watched value was the same) when it last found nothing to do is skipped: the log
    is written in commit order (hub.events), so a new event moves the head and the consumer runs in
    the same round. A task runs only when its condition holds. So an event, an inbox item or a due
    delivery is handled within one poll, as before. Leases are renewed as before: every round asks
    :meth:`claims.Leases.hold` for each key first (it writes only when a renewal is due).

    Every ``FULL_ROUND_SECONDS`` (and when the look fails) a round runs everything, as every round
    did before: a consumer's own checks (the search index against a restored database) and any
    work a ``due`` condition might miss wait at most that long.
    """

    FULL_ROUND_SECONDS = 60.0

    def __init__(self) -> None:
        self.positions: dict[str, tuple[int, Any]] = {}  # consumer -> (head, watched value) when it had nothing to do
        self.full_at = float("-inf")

    @classmethod
    def of(cls, app: Flask) -> Idle:
        """Return the idle state of ``app``'s worker (one per app, i.e. per worker process)."""
        return app.extensions.setdefault(IDLE_KEY, cls())

    def look(self, app: Flask) -> Look | None:
        """Return what the database holds for this round (None when the look failed: this round runs everything)."""
        now = time.monotonic()
        full = now - self.full_at >= self.FULL_ROUND_SECONDS
        if full:
            self.full_at = now
        try:
            watches = {c.name: c.watch() for c in consumers(app) if hasattr(c, "watch")}
            answers = {key: due(app) for key, due in app.extensions.get(DUE_KEY, {}).items()}
            asked = {key: answer for key, answer in answers.items() if not isinstance(answer, bool)}
            row = db.session.execute(sa.select(sa.select(sa.func.max(Event.id)).scalar_subquery(),
                                               *watches.values(), *asked.values())).one()
            db.session.rollback()  # end the read transaction (SQLite stays unlocked)
        except Exception:
            db.session.rollback()
            log.warning("worker: the look before the round failed; this round runs everything", exc_info=True)
            return None
        watched = dict(zip(watches, row[1:]))
        due = {key for key, answer in answers.items() if answer is True}
        due |= {key for key, found in zip(asked, row[1 + len(watches):]) if found}
        return Look(head=row[0] or 0, watched=watched, due=frozenset(due), checked=frozenset(answers), full=full)

    def caught_up(self, consumer: Consumer, look: Look) -> bool:
        """Tell whether ``consumer`` found nothing to do when the log and what it watches were as ``look`` found them."""
        return not look.full and self.positions.get(consumer.name) == (look.head, look.watched.get(consumer.name))

    def at(self, consumer: Consumer, head: int) -> bool:
        """Tell whether ``consumer`` found nothing to do at ``head`` (its lag there is 0)."""
        return self.positions.get(consumer.name, (None,))[0] == head

    def saw(self, consumer: Consumer, caught_up: Look | None) -> None:
        """Remember that ``consumer``, at the head ``caught_up`` found, had nothing to do (None: it had work, failed,
        or stands elsewhere, e.g. a cursor past the head, which it must keep looking at)."""
        if caught_up is None:
            self.positions.pop(consumer.name, None)
        else:
            self.positions[consumer.name] = (caught_up.head, caught_up.watched.get(consumer.name))


def housekeeping() -> None:
    """Delete what is no longer needed: old log-in failures, spent reset tokens and e-mail changes."""
    day_ago = utcnow() - dt.timedelta(days=1)
    db.session.execute(sa.delete(LoginFailure).where(LoginFailure.at < day_ago))
    db.session.execute(sa.delete(PasswordReset).where(PasswordReset.expires_at < day_ago))
    db.session.execute(sa.delete(EmailChange).where(sa.or_(EmailChange.expires_at < day_ago,
                                                           EmailChange.used_at < day_ago)))
    db.session.commit()


class StopFlag:
    """A request to stop, safe to set from a signal handler and from another thread.

    A Python signal handler runs in the main thread between two bytecodes, possibly while that
    thread is inside ``threading.Event.wait()`` holding the Event's lock; ``Event.set()`` in the
    handler then waits for that lock forever. So :meth:`set` takes no lock: it assigns a flag and
    writes a byte to a pipe, and :meth:`wait` sleeps in ``select()`` on the pipe, which that byte
    wakes at once.
    """

    def __init__(self) -> None:
        self._set = False
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)

    def set(self) -> None:
        """Ask the worker to stop (from anywhere, signal handlers included)."""
        self._set = True
        try:
            os.write(self._write, b"!")
        except OSError:  # the pipe is full (it has been woken already) or closed
            pass

    def is_set(self) -> bool:
        """Tell whether a stop was asked for."""
        return self._set

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds or until :meth:`set`; return whether a stop was asked for."""
        if not self._set:
            select.select([self._read], [], [], timeout)
        return self._set

    def close(self) -> None:
        """Release the pipe."""
        for fd in (self._read, self._write):
            try:
                os.close(fd)
            except OSError:
                pass


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def run(app: Flask, *, stop: StopFlag | None = None) -> None:
    """Run until ``stop`` is set or SIGINT, SIGTERM or SIGHUP arrives, then return cleanly.

    Raise :class:`AlreadyRunning` when another worker runs on this instance.
    """
    own_flag = stop is None
    stop = stop or StopFlag()
    previous = _stop_on_signals(stop)
    poll = float(app.config["WORKER_POLL_SECONDS"])
    last_housekeeping = 0.0
    heartbeat = Heartbeat(app)
    try:
        with instance_lock(app, "worker"), app.app_context():
            log.info("worker started with consumers: %s", ", ".join(c.name for c in consumers(app)) or "none")
            heartbeat.beat(force=True)
            while not stop.is_set():
                applied = run_once(app)
                heartbeat.beat()
                db.session.remove()
                last_housekeeping = _maybe_housekeep(app, last_housekeeping)
                if not applied:
                    stop.wait(poll)
            _finish_tasks(app)
            heartbeat.beat(stopped=True)
            _release_claims(app)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if own_flag:
            stop.close()
    log.info("worker stopped")


def _finish_tasks(app: Flask) -> None:
    """Let the tasks this worker holds finish what they started (a clean stop)."""
    for key, hook in app.extensions.get(STOP_HOOKS_KEY, []):
        if key in leases(app).mine:
            try:
                hook(app)
            except Exception:
                db.session.rollback()
                log.exception("task %s did not finish cleanly", key)


def _release_claims(app: Flask) -> None:
    """Give up this worker's claims so that another node takes over now (they expire anyway)."""
    try:
        leases(app).release_all()
    except Exception:
        db.session.rollback()
        log.warning("claims not released; they come free when they expire", exc_info=True)


HOUSEKEEPING_SECONDS = 3600


def _maybe_housekeep(app: Flask, last: float) -> float:
    now = time.monotonic()
    if now - last < HOUSEKEEPING_SECONDS:
        return last
    try:
        # Claimed for the whole hour and never released: once an hour across all nodes.
        if claims.claim("housekeeping", owner=node_name(app), seconds=HOUSEKEEPING_SECONDS):
            housekeeping()
    except Exception:
        db.session.rollback()
        log.exception("housekeeping failed")
    return now


def _stop_on_signals(stop: StopFlag) -> dict[int, Any]:
    """Make the stop signals set ``stop``; return the handlers they had (only the main thread can do this)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}
    for sig in STOP_SIGNALS:
        previous[sig] = signal.signal(sig, lambda *_: stop.set())
    return previous


# --- one worker per instance ------------------------------------------------------------------

class AlreadyRunning(RuntimeError):
    """Another process holds this instance's worker lock; the message names it."""


def lock_paths(app: Flask) -> list[Path]:
    """Return the lock files of this instance: its folder's, and its index folder's when that lies elsewhere.

    What must never have two writers is a node's index (and the instance files beside it); work
    shared by the nodes of one database is claimed in the database instead (hub.claims).
    """
    instance = Path(app.instance_path)
    paths = [instance / "worker.lock"]
    location = app.config["INDEX_DIR"]
    if location != ":memory:":
        index = (instance / location).resolve()
        if not index.is_relative_to(instance.resolve()):
            paths.append(index / "worker.lock")
    return paths


@contextlib.contextmanager
def instance_lock(app: Flask, holder: str) -> Iterator[None]:
    """Hold this instance's exclusive lock for ``holder`` (worker, restore), or raise :class:`AlreadyRunning`.

    ``flock`` locks belong to the open file: the operating system drops them when the process
    ends, however it ends, so a killed worker never leaves a stale lock. They do not work across
    machines on network file systems: every node keeps its instance folder on a local disk.
    """
    handles = []
    try:
        for path in lock_paths(app):
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(path, "a+")
            handles.append(handle)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                other = handle.read().strip() or "another process"
                raise AlreadyRunning(f"{other} already uses this instance ({path}); stop it first "
                                     "(one worker per instance folder, and no restore while it runs).") from None
            handle.seek(0)
            handle.truncate()
            handle.write(f"{holder} (pid {os.getpid()} on {socket.gethostname()}, since {utcnow():%Y-%m-%d %H:%M:%S} UTC)")
            handle.flush()
        yield
    finally:
        for handle in handles:
            handle.close()  # closing drops the lock


# --- heartbeat and status ----------------------------------------------------------------------

def node_name(app: Flask) -> str:
    """Return this node's name: ``HUB_NODE_NAME``, else the host name and the instance folder."""
    return str(app.config.get("NODE_NAME") or f"{socket.gethostname()}:{app.instance_path}")


def lags(app: Flask) -> dict[str, int]:
    """Return how many events each consumer is behind the head of the log.

    A shared consumer this node does not hold is read from its cursor only: its ``position()`` may
    move the cursor (to the head, with no partner hub or no mail server), which is the holder's to do.
    """
    head = events.head()
    idle = Idle.of(app)
    mine = leases(app).mine
    found = {}
    for consumer in consumers(app):
        if idle.at(consumer, head):  # known without asking it (an index to open, a cursor to read)
            found[consumer.name] = 0
            continue
        try:
            if getattr(consumer, "shared", False) and f"consumer:{consumer.name}" not in mine:
                found[consumer.name] = max(0, head - consumer.cursor.get())
                continue
            found[consumer.name] = max(0, head - consumer.position())
        except Exception:  # an unavailable consumer has no lag to report; the round logs why
            db.session.rollback()
    return found


class Heartbeat:
    """Writes this worker's heartbeat row, at most every ``WORKER_HEARTBEAT_SECONDS``."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.node = node_name(app)
        self.interval = float(app.config["WORKER_HEARTBEAT_SECONDS"])
        self.started_at = utcnow()
        self.last = float("-inf")

    def beat(self, *, force: bool = False, stopped: bool = False) -> None:
        """Write the heartbeat if it is due (or ``force``/``stopped``); a failure is logged, not raised."""
        now = time.monotonic()
        if not (force or stopped) and now - self.last < self.interval:
            return
        self.last = now
        try:
            row = db.session.get(WorkerHeartbeat, self.node) or WorkerHeartbeat(node=self.node)
            row.host, row.pid, row.started_at = socket.gethostname(), os.getpid(), self.started_at
            row.beat_at, row.stopped_at = utcnow(), utcnow() if stopped else None
            row.lag = lags(self.app)
            db.session.add(row)
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.warning("worker heartbeat not written", exc_info=True)


def worker_status(*, node: str | None = None) -> dict[str, Any]:
    """Return the state of this node's worker (or ``node``'s) and of every node's.

    Keys: ``node``, ``running`` (a heartbeat younger than 3 heartbeat intervals and no clean
    stop since), ``last_heartbeat`` (naive UTC datetime or None), ``age_seconds``, ``pid``,
    ``host``, ``started_at``, ``lag`` (events behind the log, per consumer), and ``workers``:
    the same for every node that ever ran a worker, this one included.
    """
    node = node or node_name(current_app)
    rows = {row.node: row for row in db.session.scalars(sa.select(WorkerHeartbeat).order_by(WorkerHeartbeat.node))}
    stale = 3 * float(current_app.config["WORKER_HEARTBEAT_SECONDS"])
    workers = [_describe(row, stale) for row in rows.values()]
    mine = next((w for w in workers if w["node"] == node), None) or {
        "node": node, "running": False, "last_heartbeat": None, "age_seconds": None, "pid": None, "host": None,
        "started_at": None, "stopped_at": None, "lag": {}}
    return {**mine, "workers": workers}


def any_running() -> bool:
    """Tell whether a worker runs now on any node (a fresh heartbeat): one of them runs the shared consumers, such
    as the conversation's, so work that waits for them gets done only then."""
    return any(worker["running"] for worker in worker_status()["workers"])


def _describe(row: WorkerHeartbeat, stale: float) -> dict[str, Any]:
    age = max(0.0, (utcnow() - row.beat_at).total_seconds())
    return {"node": row.node, "running": row.stopped_at is None and age < stale, "last_heartbeat": row.beat_at,
            "age_seconds": age, "pid": row.pid, "host": row.host, "started_at": row.started_at,
            "stopped_at": row.stopped_at, "lag": dict(row.lag or {})}
