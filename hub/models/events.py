"""The event log: every change others must hear about, in commit order, and consumers' cursors."""
from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.extensions import db
from hub.models.base import utcnow


class Event(db.Model):
    """One change, recorded in the same transaction as the change itself."""

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(sa.String(60))
    subject_type: Mapped[str] = mapped_column(sa.String(40))
    subject_id: Mapped[int]
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


class ConsumerCursor(db.Model):
    """How far a database-backed consumer of the event log has got."""

    __tablename__ = "consumer_cursor"

    name: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    position: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
