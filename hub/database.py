"""Database connections: SQLite set up for several processes, PostgreSQL's handed out alive.

SQLite (the embedded default) is written by several processes at once: the web processes and
the worker. Each new SQLite connection is set up by :func:`configure_sqlite`:

- ``journal_mode=WAL``: readers never block the writer nor the writer them, so a long read (an
  export, a backup, a search rebuild) no longer holds every comment and autosave until it ends
  (in the default rollback journal a writer waits for all readers to finish before it commits,
  and fails with "database is locked" after the busy timeout). WAL is a property of the file,
  kept across connections; an in-memory database (the tests') stays as it is.
- ``busy_timeout``: a writer waits up to ``DATABASE_BUSY_TIMEOUT`` seconds for another's commit.
- ``foreign_keys=ON``: SQLite leaves foreign keys unchecked unless asked, and so ignored the
  ``ON DELETE CASCADE`` the models declare; PostgreSQL always applies them.

The driver's own transaction handling is kept: pysqlite begins a transaction just before the
first INSERT, UPDATE or DELETE, so a transaction's first statement that touches the database
for writing waits for the write lock rather than failing. (A transaction that read first and
then writes would fail at once with SQLITE_BUSY when another process writes meanwhile: SQLite
cannot upgrade a read snapshot that has gone stale.) Reads before that first write see the
latest commit, not a snapshot; a service that must read and then write consistently takes the
lock first with :func:`lock_for_update`, on either database.

PostgreSQL connections taken from the pool are checked without a round trip for most requests.

SQLAlchemy's ``pool_pre_ping`` sends a query on every checkout of a pooled connection: one
round trip more per request, about a sixth of a cached page's time. Instead, when a connection
is taken from the pool:

- if it was used in the last ``DATABASE_PING_AFTER_SECONDS`` (default 30), its socket is
  looked at without a round trip: a server that restarted, or a connection the server ended
  (``pg_terminate_backend``, an idle timeout), has said goodbye or closed it, so the socket
  reads as ready while the hub expects nothing; such a connection is thrown away and another
  one opened, before the request uses it;
- otherwise (idle longer, or never checked in) it is pinged as ``pool_pre_ping`` would.

What this does not see within those 30 seconds is a peer that vanished without a word (a
network cut between hosts); the first query then fails and SQLAlchemy drops the pool's
connections, as it does for any lost connection.
"""
from __future__ import annotations

import select
import time
from typing import Any

import sqlalchemy as sa
from flask import Flask

from hub.extensions import db

LAST_USED = "hub.last_used"


def configure_sqlite(engine: sa.Engine, *, busy_timeout: float) -> None:
    """Set up each new connection of a SQLite ``engine`` for several processes, as the module says."""
    @sa.event.listens_for(engine, "connect")
    def _settings(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        dbapi_connection.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            dbapi_connection.execute("PRAGMA journal_mode = WAL")


def lock_for_update(row: Any) -> None:
    """Make whoever else locks ``row`` wait until this transaction ends, and read what they committed.

    PostgreSQL locks the row (``SELECT … FOR NO KEY UPDATE``). SQLite has no row locks: the transaction
    takes the database's write lock now (``BEGIN IMMEDIATE``), unless it holds it already because
    it wrote. Call it before the reads that decide what to write.
    """
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        if not connection.connection.driver_connection.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        return
    mapper = sa.inspect(row).mapper
    keys = [column == value for column, value in zip(mapper.primary_key, mapper.primary_key_from_instance(row))]
    # FOR NO KEY UPDATE, the lock an UPDATE of the row takes: not FOR UPDATE, which also waits for the
    # KEY SHARE lock that inserting a row referring to it takes (a report, a comment), so two
    # transactions that each inserted one and then locked the note would deadlock.
    db.session.execute(sa.select(*mapper.primary_key).where(*keys).with_for_update(key_share=True))


def _socket_says_gone(dbapi_connection: Any) -> bool:
    """Tell whether an idle connection's socket has something to read: the server's goodbye, or its close."""
    try:
        poller = select.poll()
        poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    except (OSError, ValueError, AttributeError):  # closed, or a driver without a socket
        return True


def watch(engine: sa.Engine, *, ping_after: float) -> None:
    """Check each PostgreSQL connection taken from ``engine``'s pool as the module says."""
    dialect = engine.dialect

    @sa.event.listens_for(engine, "connect")
    def _fresh(_dbapi_connection: Any, record: Any) -> None:
        record.info[LAST_USED] = time.monotonic()

    @sa.event.listens_for(engine, "checkin")
    def _used(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[LAST_USED] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(LAST_USED, 0.0) <= ping_after:
            if _socket_says_gone(dbapi_connection):
                raise sa.exc.DisconnectionError("the server closed this connection")
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:  # noqa: BLE001  (any failure: open another connection)
            raise sa.exc.DisconnectionError(str(error)) from error


def init_app(app: Flask) -> None:
    """Set up the app's SQLite connections, or watch its PostgreSQL ones (unless asked for ``pool_pre_ping``)."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        configure_sqlite(engine, busy_timeout=float(app.config["DATABASE_BUSY_TIMEOUT"]))
    elif engine.dialect.name == "postgresql" and not app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping"):
        watch(engine, ping_after=float(app.config["DATABASE_PING_AFTER_SECONDS"]))
