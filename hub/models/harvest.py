"""What OAI-PMH harvesters have been shown: one record per note that was ever public, kept after it goes."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.extensions import db
from hub.models.base import utcnow


class HarvestRecord(db.Model):
    """A note as harvesters know it; ``deleted`` once it is no longer public (the row is never removed)."""

    __tablename__ = "harvest_record"
    __table_args__ = (sa.Index("ix_harvest_record_datestamp_note", "datestamp", "note_id"),)

    # Not a foreign key: the record outlives whatever happens to the note's row.
    note_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    datestamp: Mapped[dt.datetime] = mapped_column(default=utcnow)  # when harvesters last had news of it
    deleted: Mapped[bool] = mapped_column(default=False)
    sets: Mapped[list[str]] = mapped_column(sa.JSON, default=list)  # "topic:nsp", "project:chengdu-…"
