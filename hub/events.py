"""The event log ("outbox"): changes others must hear about, recorded in the caller's transaction."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from hub.extensions import db
from hub.models.events import Event


def record(kind: str, *, subject_type: str, subject_id: int, **payload: Any) -> Event:
    """Add an event to the current transaction; it becomes visible to consumers on commit."""
    event = Event(kind=kind, subject_type=subject_type, subject_id=subject_id, payload=payload)
    db.session.add(event)
    return event


def after(position: int, *, limit: int = 500) -> list[Event]:
    """Return up to ``limit`` events after ``position``, oldest first."""
    query = sa.select(Event).where(Event.id > position).order_by(Event.id).limit(limit)
    return list(db.session.scalars(query))


def head() -> int:
    """Return the id of the newest event (0 for an empty log)."""
    return db.session.scalar(sa.select(sa.func.max(Event.id))) or 0
