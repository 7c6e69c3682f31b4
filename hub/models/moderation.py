"""Moderation around notes: the review thread, members' flags, and notifications of decisions."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.extensions import db
from hub.models.base import utcnow
from hub.models.discussion import Comment
from hub.models.note import Note

if TYPE_CHECKING:
    from hub.models.user import User


class ReviewMessage(db.Model):
    """A message in a note's review thread between its author and the moderators."""

    __tablename__ = "review_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(sa.ForeignKey("note.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    # "changes_requested", "rejected", "approved", "unpublished" or "reply"
    kind: Mapped[str] = mapped_column(sa.String(30))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    author: Mapped[User | None] = relationship()
    note: Mapped[Note] = relationship()


class Flag(db.Model):
    """A member's report that a note or comment needs a moderator's look."""

    __tablename__ = "flag"

    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(sa.ForeignKey("note.id", ondelete="CASCADE"), index=True)
    comment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("comment.id", ondelete="CASCADE"))
    reporter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    reason: Mapped[str] = mapped_column(sa.String(20))  # harmful, personal_data, spam, wrong, other
    detail: Mapped[str] = mapped_column(sa.String(1000), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    resolution: Mapped[str] = mapped_column(sa.String(30), default="")

    note: Mapped[Note] = relationship()
    comment: Mapped[Comment | None] = relationship()
    reporter: Mapped[User | None] = relationship(foreign_keys=[reporter_id])


class Notification(db.Model):
    """An in-app message to one person (a decision on their note, a reply in a thread)."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    note_id: Mapped[int | None] = mapped_column(sa.ForeignKey("note.id", ondelete="CASCADE"))
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    read_at: Mapped[dt.datetime | None]

    note: Mapped[Note | None] = relationship()
