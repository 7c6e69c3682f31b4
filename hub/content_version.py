"""What readers see, as one value that changes in the same transaction as anything they see.

Pages cache rendered fragments keyed by this value (``blueprints/web/fragments.py``). Every web
process reads it once per request, so a change made through any process, on any node, changes
every cache key at once; nothing has to be deleted from a cache to invalidate it.

What counts as reader-visible: a note that is published, or was published before this
transaction (its text, terms, readers, featuring, translations and attachments with it);
comments and marks (partner hubs' too: where a comment came from, a hub's marks, the totals
an origin reports); projects; topics and populations; accounts (pseudonyms, roles, who is
active); partner hubs (their names are shown on their notes). Drafts and submissions do not
count, nor an author's changes to a published note waiting for review (``pending_revision``):
autosave, which saves them every few seconds, leaves every cache alone; the note page keys what
it shows of them to the author and the moderators by their state instead. Held comments count
(they are comments), though only their writers see them: the page keys them by the reader. Notifications
count too, so that a person's unread count can be cached with the rest (they are made with
comments and moderators' decisions, and read in one go). Changes are
noticed in the ORM's flushes and in bulk statements run through the session (``insert``,
``update``, ``delete`` on those tables, e.g. an import), and the value is replaced just before
the transaction commits, with the transaction: a rolled-back change changes nothing, and a
reader never sees the new value without the change.

The value is random, not a counter, so a restored database never brings back a value that
stood for other content. On PostgreSQL the replacement takes the event log's lock first
(``hub.events.LOG_LOCK``): writers that record events and change the value then take the two
locks in one order, and never wait for each other in a cycle.
"""
from __future__ import annotations

import functools
import secrets
from itertools import chain
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import ORMExecuteState, Session

from hub.events import LOG_LOCK
from hub.extensions import db
from hub.models import (Attachment, Comment, CommentThread, Mark, MarkTotal, Note, NoteState, Notification, PeerHub,
                        Project, RemoteMark, Term, note_term)
from hub.models.base import utcnow
from hub.models.meta import HubMeta
from hub.models.user import User

KEY = "content_version"
_CHANGED = "hub.content_version.changed"
# Rows of these are shown to readers whatever their state; a note only when it is (or was) published.
ALWAYS = (Attachment, Comment, CommentThread, Mark, MarkTotal, Notification, PeerHub, Project, RemoteMark, Term, User)
TABLES = frozenset(model.__table__.name for model in (*ALWAYS, Note)) | {note_term.name}


# Built once, as a plain table statement: every request reads it, and the ORM adds nothing here.
_READ = sa.select(HubMeta.__table__.c.value).where(HubMeta.__table__.c.key == KEY)


def current() -> str:
    """Return the content version: the same text in every process until a reader-visible change commits.

    On PostgreSQL, when the request has no transaction yet (a reader served from cache needs
    none), it is read without opening one: one round trip instead of three. Whatever the
    request reads later is as new or newer (read committed), so a fragment cached under this
    value never shows older content than the value stands for.
    """
    session = db.session()
    if session.in_transaction() or db.engine.dialect.name != "postgresql":
        return session.connection().scalar(_READ) or "0"
    return _read_without_transaction(db.engine)


@functools.cache
def _driver_statement(dialect: sa.Dialect) -> str:
    """Return :data:`_READ` as SQL text with its one parameter written in, compiled once (for psycopg and libpq)."""
    return str(_READ.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _read_without_transaction(engine: sa.Engine) -> str:
    """Read the content version on a pooled connection in autocommit, through the driver alone.

    The request's session is not involved: a page served whole from the cache then uses no
    session at all. The statement is prepared on the connection once and reused; SQLAlchemy's
    execution layer, which this read would otherwise pass through, cost more than the read itself
    (client CPU per read: 0.11 ms through ``Connection.scalar``, 0.08 ms this way). A failure is
    raised as SQLAlchemy raises it (``sqlalchemy.exc.OperationalError`` when the server is
    unreachable), so the pages' error handling, the 503 while the database is down, is the same,
    and a connection the server dropped is thrown out of the pool.
    """
    sql = _driver_statement(engine.dialect)
    dbapi_error = engine.dialect.loaded_dbapi.Error
    try:
        pooled = engine.raw_connection()
    except dbapi_error as error:  # no connection to be had (the server is down): as Engine.connect raises it
        raise sa.exc.DBAPIError.instance(None, None, error, dbapi_error, dialect=engine.dialect,
                                         connection_invalidated=engine.dialect.is_disconnect(error, None, None)
                                         ) from error
    try:
        value = _read_through_libpq(pooled, sql)
        if value is not _UNREAD:
            return value or "0"
        driver = pooled.driver_connection
        try:
            driver.autocommit = True  # the pool hands connections out idle; setting this sends nothing
            try:
                row = driver.execute(sql, prepare=True).fetchone()
            finally:
                driver.autocommit = False  # back to what the pool and the sessions expect
        except dbapi_error as error:
            gone = engine.dialect.is_disconnect(error, pooled, None)
            if gone or driver.closed or driver.autocommit:  # not a connection the sessions may get again
                pooled.invalidate(error)
            raise sa.exc.DBAPIError.instance(sql, None, error, dbapi_error,
                                             connection_invalidated=gone, dialect=engine.dialect) from error
    finally:
        pooled.close()
    return (row[0] if row else None) or "0"


_UNREAD = object()
_PREPARED = b"hub_content_version"  # psycopg names its own prepared statements _pg3_N


def _read_through_libpq(pooled: Any, sql: str) -> str | None | object:
    """Read the content version with psycopg's libpq calls alone; ``_UNREAD`` when that did not work.

    psycopg's ``execute`` wraps the same two libpq calls in a cursor, its prepared-statement
    bookkeeping and its waiting machinery: about two thirds of this read's client CPU. A
    connection the pool hands out is idle, and one statement outside a transaction leaves it
    idle, as psycopg expects it. Anything unusual (the connection not idle, an error from the
    server, a connection that broke) returns ``_UNREAD``, and the caller reads through psycopg,
    which raises the error as usual.
    """
    from psycopg import pq

    pgconn = pooled.driver_connection.pgconn
    if pgconn.transaction_status != pq.TransactionStatus.IDLE:
        return _UNREAD
    if not pooled.info.get(_PREPARED):  # once per connection: the statement lives as long as the connection
        if pgconn.prepare(_PREPARED, sql.encode()).status != pq.ExecStatus.COMMAND_OK:
            return _UNREAD
        pooled.info[_PREPARED] = True
    result = _exec_prepared(pgconn)
    if result.status != pq.ExecStatus.TUPLES_OK or pgconn.transaction_status != pq.TransactionStatus.IDLE:
        return _UNREAD
    value = result.get_value(0, 0) if result.ntuples else None
    return None if value is None else value.decode()


def _exec_prepared(pgconn: Any) -> Any:
    """Run the prepared read on ``pgconn`` (the one statement this module sends past psycopg's cursors)."""
    return pgconn.exec_prepared(_PREPARED, None)


@functools.cache
def column() -> sa.ScalarSelect:
    """Return the content version as a column, to read beside another statement's (one round trip for both)."""
    return _READ.scalar_subquery()


def _reader_visible(obj: Any) -> bool:
    """Tell whether a changed ORM object is something readers may see."""
    if isinstance(obj, ALWAYS):
        return True
    if not isinstance(obj, Note):
        return False
    history = sa.inspect(obj).attrs.state.history
    states = [*history.added, *history.unchanged, *history.deleted]
    # Unknown (not loaded): count it; a draft costs at worst one needless refresh of the caches.
    return not states or NoteState.PUBLISHED.value in states


@sa.event.listens_for(Session, "before_flush")
def _notice_flush(session: Session, _context: Any, _instances: Any) -> None:
    """Remember that this transaction changes what readers see."""
    if not session.info.get(_CHANGED) and any(
            _reader_visible(obj) for obj in chain(session.new, session.dirty, session.deleted)
            if obj in session.new or obj in session.deleted or session.is_modified(obj)):
        session.info[_CHANGED] = True


@sa.event.listens_for(Session, "do_orm_execute")
def _notice_statement(state: ORMExecuteState) -> None:
    """Remember bulk inserts, updates and deletes of reader-visible tables."""
    if (state.is_insert or state.is_update or state.is_delete) and \
            getattr(state.statement.table, "name", None) in TABLES:
        state.session.info[_CHANGED] = True


@sa.event.listens_for(Session, "before_commit")
def _replace_on_commit(session: Session) -> None:
    """Give the content version a new value inside the committing transaction when readers' content changed."""
    session.flush()  # so that changes still pending are noticed first
    if not session.info.pop(_CHANGED, False):
        return
    dialect = session.get_bind(HubMeta.__mapper__).dialect.name
    if dialect == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(LOG_LOCK)))
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(HubMeta)
    value, now = secrets.token_hex(8), utcnow()
    session.execute(insert.values(key=KEY, value=value, updated_at=now).on_conflict_do_update(
        index_elements=[HubMeta.key], set_={"value": value, "updated_at": now}))


@sa.event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: Any) -> None:
    """A transaction that ends without committing changed nothing readers see."""
    if transaction.parent is None:
        session.info.pop(_CHANGED, None)
