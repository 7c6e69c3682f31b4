"""The event log ("outbox"): changes others must hear about, recorded in the caller's transaction.

Consumers read the log in id order and keep a cursor: the id of the last event they applied.
That is only safe if ids become visible in increasing order, i.e. if the log is written in
commit order. SQLite serialises writers, so it is. PostgreSQL takes an id from a sequence
when the row is inserted, and a transaction that took id N can commit after one that took
N+1: a consumer that saw N+1 would move past N and never apply it.

So on PostgreSQL, writing events is serialised with a transaction-scoped advisory lock:

- :func:`record` keeps the event aside; the row is inserted when the transaction commits,
  after the transaction's other changes have been flushed;
- a flush that inserts events first takes ``pg_advisory_xact_lock(LOG_LOCK)``, which is
  released when the transaction ends. Between taking the lock and committing, a transaction
  only inserts its events, so it never waits for anything else while holding it (no deadlock),
  and the next writer takes its ids only after this one has committed (or rolled back).

The lock is released after the commit is visible to other transactions, so a reader that sees
event N+1 also sees N. The price: event-writing transactions commit one at a time, which halves
their throughput with several concurrent writers (``bench/eventlog.py``, figures in
``bench/README.md``); only publishing, comments, changes to published notes and federation
record events, at human rates far below that.

The other way, if write rates ever need it: consume only up to a safe horizon. At each poll,
read ``max(id)`` and ``pg_snapshot_xmax(pg_current_snapshot())`` together; once
``pg_snapshot_xmin(pg_current_snapshot())`` has passed that xmax, every transaction that could
still hold an id at or below that max has ended. It needs no lock and keeps the integer cursor,
but it is only sound if a transaction has its xid before it takes an event id (call
``pg_current_xact_id()`` before inserting events: an extra round trip, like the lock), ``head()``
must then wait for the horizon too (a rebuilt index starts from it), and any long write
transaction on the server (an import, a migration, another database's batch) stalls every
consumer meanwhile.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.extensions import db
from hub.models.base import utcnow
from hub.models.events import Event
from hub.models.note import Note, NoteState, Visibility

# Any 64-bit number no other part of the hub uses as an advisory lock key ("hub event log").
LOG_LOCK = 0x6875625F6C6F67
_PENDING = "hub.events.pending"


def record(kind: str, *, subject_type: str, subject_id: int, **payload: Any) -> Event:
    """Add an event to the current transaction; it is written on commit and then visible to consumers."""
    event = Event(kind=kind, subject_type=subject_type, subject_id=subject_id, payload=payload)
    session = db.session()
    if not session.in_transaction():
        session.begin()  # so that a rollback before any query still discards the event
    session.info.setdefault(_PENDING, []).append(event)
    return event


def after(position: int, *, limit: int = 500) -> list[Event]:
    """Return up to ``limit`` events after ``position``, oldest first."""
    query = sa.select(Event).where(Event.id > position).order_by(Event.id).limit(limit)
    return list(db.session.scalars(query))


def head() -> int:
    """Return the id of the newest event (0 for an empty log)."""
    return db.session.scalar(sa.select(sa.func.max(Event.id))) or 0


def fingerprint(position: int) -> str | None:
    """Return a short fingerprint of the event at ``position`` (None when there is none).

    A consumer that keeps its cursor outside the database keeps this too: a different
    fingerprint at the same id later means the log is another history (a restored database),
    see hub.instance_identity.
    """
    event = db.session.get(Event, position) if position else None
    if event is None:
        return None
    text = f"{event.id}|{event.at.isoformat()}|{event.kind}|{event.subject_type}|{event.subject_id}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# Events that change what readers and partners' systems get of a note: each stamps Note.changed_at.
NOTE_CHANGES = frozenset({"note.published", "note.updated", "note.unpublished", "note.deleted"})
# Events that change a name every note of their subject is shown with (the author's pseudonym, the project's
# name): each stamps changed_at of the subject's published notes, in one statement however many there are.
RENAMES = {"user.renamed": Note.author_id, "project.renamed": Note.project_id}
_WIDEST = sa.case(*((sa.or_(Note.reach == v, Note.visibility == v), v) for v in (Visibility.PUBLIC.value,
                                                                                  Visibility.PARTNERS.value)),
                  else_=Visibility.MEMBERS.value)


def renamed_notes(batch: Iterable[Event], kind: str) -> set[int]:
    """Return the ids of the published notes whose author or project (``kind``, one of :data:`RENAMES`)
    the events of ``batch`` rename: consumers that show the name read those notes again."""
    renamed = _renamed([e for e in batch if e.kind == kind])
    return set() if renamed is None else set(db.session.scalars(sa.select(Note.id).where(renamed)))


@sa.event.listens_for(Session, "before_commit")
def _write_recorded_events(session: Session) -> None:
    """Insert the transaction's events last: flush everything else first, then the events."""
    pending = session.info.pop(_PENDING, None)
    if pending:
        session.flush()
        _stamp_changed_notes(session, {e.subject_id for e in pending
                                       if e.subject_type == "note" and e.kind in NOTE_CHANGES},
                             _renamed(pending))
        session.add_all(pending)  # the commit's own flush inserts them (and takes the lock)


def _renamed(pending: Iterable[Event]) -> sa.ColumnElement[bool] | None:
    """Return the condition of the published notes whose author or project the ``pending`` events rename
    (None when they rename nothing)."""
    subjects: dict[str, set[int]] = {}
    for event in pending:
        if event.kind in RENAMES:
            subjects.setdefault(event.kind, set()).add(event.subject_id)
    if not subjects:
        return None
    return sa.and_(Note.state == NoteState.PUBLISHED.value,
                   sa.or_(*(RENAMES[kind].in_(ids) for kind, ids in subjects.items())))


def _stamp_changed_notes(session: Session, note_ids: set[int], renamed: sa.ColumnElement[bool] | None = None) -> None:
    """Set ``changed_at`` of the notes (and of a translation's original) to now, and widen ``reach``
    of those published; set ``changed_at`` of the published notes ``renamed`` names too.

    Stamped under the event log's lock, right before the commit: stamps then follow commit order,
    so a partner syncing by (changed_at, id) after a stamp it saw never misses a note committed
    later with an earlier stamp. On PostgreSQL the database's clock stamps (one clock for every
    node); SQLite has one writer at a time on one machine.
    """
    if not note_ids and renamed is None:
        return
    bind = session.get_bind(Event.__mapper__)
    if bind.dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(LOG_LOCK)))
        now: Any = sa.func.timezone("UTC", sa.func.clock_timestamp())
    else:
        now = utcnow()
    if renamed is not None:  # a person's 1,000 notes: one statement, not 1,000 events
        session.execute(sa.update(Note).where(renamed).values(changed_at=now)
                        .execution_options(synchronize_session=False))
    if not note_ids:
        return
    originals = sa.select(Note.translation_of_id).where(Note.id.in_(note_ids), Note.translation_of_id.is_not(None))
    session.execute(sa.update(Note).where(sa.or_(Note.id.in_(note_ids), Note.id.in_(originals.scalar_subquery())))
                    .values(changed_at=now).execution_options(synchronize_session=False))
    session.execute(sa.update(Note).where(Note.id.in_(note_ids), Note.state == NoteState.PUBLISHED.value)
                    .values(reach=_WIDEST).execution_options(synchronize_session=False))


@sa.event.listens_for(Session, "before_flush")
def _serialise_event_writers(session: Session, _context: Any, _instances: Any) -> None:
    """On PostgreSQL, take the event log's lock before a flush that inserts events."""
    if any(isinstance(obj, Event) for obj in session.new) and \
            session.get_bind(Event.__mapper__).dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(LOG_LOCK)))


@sa.event.listens_for(Session, "after_transaction_end")
def _forget_recorded_events(session: Session, transaction: Any) -> None:
    """Drop events kept aside when their transaction ends without a commit."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
