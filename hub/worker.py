"""The background worker: feeds the event log to its consumers, in order, and keeps house.

Each consumer keeps its own cursor and is handed events after it. A consumer that fails
is retried on the next round from the same cursor, so no event is skipped. Consumers
are registered by the parts of the hub that need them (search indexing, federation).
"""
from __future__ import annotations

import datetime as dt
import logging
import signal
import time
import threading
from collections.abc import Sequence
from typing import Protocol

import sqlalchemy as sa
from flask import Flask

from hub import events
from hub.extensions import db
from hub.models.base import utcnow
from hub.models.events import ConsumerCursor, Event
from hub.models.user import LoginFailure, PasswordReset

log = logging.getLogger("hub.worker")
EXTENSION_KEY = "hub.consumers"


class Consumer(Protocol):
    """Something that applies events and remembers how far it got."""

    name: str

    def position(self) -> int:
        """Return the id of the last event applied."""

    def apply(self, batch: Sequence[Event]) -> None:
        """Apply ``batch`` and move the cursor past it, atomically."""


class DatabaseCursor:
    """A cursor kept in the ``consumer_cursor`` table, for consumers whose state is in the database."""

    def __init__(self, name: str) -> None:
        self.name = name

    def get(self) -> int:
        """Return the stored position (0 before the first event)."""
        return db.session.scalar(
            sa.select(ConsumerCursor.position).where(ConsumerCursor.name == self.name)
        ) or 0

    def set(self, position: int) -> None:
        """Store the position in the current transaction (the caller commits)."""
        cursor = db.session.get(ConsumerCursor, self.name) or ConsumerCursor(name=self.name)
        cursor.position = position
        db.session.add(cursor)


def register(app: Flask, consumer: Consumer) -> None:
    """Add ``consumer`` to the worker of ``app``."""
    app.extensions.setdefault(EXTENSION_KEY, []).append(consumer)


def consumers(app: Flask) -> list[Consumer]:
    """Return the registered consumers."""
    return list(app.extensions.get(EXTENSION_KEY, []))


def run_once(app: Flask, *, batch_size: int = 500) -> int:
    """Give every consumer the events it has not seen; return how many were applied."""
    applied = 0
    for consumer in consumers(app):
        try:
            batch = events.after(consumer.position(), limit=batch_size)
            if batch:
                consumer.apply(batch)
                applied += len(batch)
        except Exception:  # one failing consumer must not stop the others
            db.session.rollback()
            log.exception("consumer %s failed; it will retry from its cursor", consumer.name)
    # Periodic tasks (federation: process the inbox, send due deliveries); each returns its work done.
    for task in app.extensions.get("hub.periodic", []):
        try:
            applied += task(app) or 0
        except Exception:
            db.session.rollback()
            log.exception("periodic task %s failed; it runs again next round", getattr(task, "__name__", task))
    return applied


def housekeeping() -> None:
    """Delete what is no longer needed: old log-in failures and spent reset tokens."""
    day_ago = utcnow() - dt.timedelta(days=1)
    db.session.execute(sa.delete(LoginFailure).where(LoginFailure.at < day_ago))
    db.session.execute(sa.delete(PasswordReset).where(PasswordReset.expires_at < day_ago))
    db.session.commit()


def run(app: Flask, *, stop: threading.Event | None = None) -> None:
    """Run until ``stop`` is set or SIGINT/SIGTERM arrives, then return cleanly."""
    stop = stop or threading.Event()
    _stop_on_signals(stop)
    poll = float(app.config["WORKER_POLL_SECONDS"])
    log.info("worker started with consumers: %s", ", ".join(c.name for c in consumers(app)) or "none")
    last_housekeeping = 0.0
    with app.app_context():
        while not stop.is_set():
            applied = run_once(app)
            db.session.remove()
            last_housekeeping = _maybe_housekeep(last_housekeeping)
            if not applied:
                stop.wait(poll)
    log.info("worker stopped")


def _maybe_housekeep(last: float) -> float:
    now = time.monotonic()
    if now - last < 3600:
        return last
    try:
        housekeeping()
    except Exception:
        db.session.rollback()
        log.exception("housekeeping failed")
    return now


def _stop_on_signals(stop: threading.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
