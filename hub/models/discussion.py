"""Discussion of published notes: members' comments and their "we tried this too" / "useful" marks."""
from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.extensions import db
from hub.models.base import utcnow
from hub.models.note import Note

if TYPE_CHECKING:
    from hub.models.user import User


class CommentState(enum.StrEnum):
    """Whether readers see a comment: at once, or after a moderator checked it for personal data."""

    PUBLISHED = "published"
    HELD = "held"  # the privacy check found something; it waits for a moderator


class Comment(db.Model):
    """A member's comment on a published note."""

    __tablename__ = "comment"
    # Its id names it on partner hubs (/ap/comments/<id>): never given again to a newer comment.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(sa.ForeignKey("note.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)
    state: Mapped[str] = mapped_column(sa.String(20), default=CommentState.PUBLISHED.value, index=True)
    removed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # When its writer last changed it (None: never), shown beside it as "edited"; no earlier text is
    # kept anywhere. A partner's comment carries the time its hub reports (``peh:editedAt``).
    edited_at: Mapped[dt.datetime | None]

    author: Mapped[User | None] = relationship()
    note: Mapped[Note] = relationship()
    # Where a partner's comment came from and what a reply answers (hub.models.conversation);
    # named by string, so that this module need not import the one that extends it.
    thread: Mapped[CommentThread | None] = relationship(
        "CommentThread", primaryjoin="Comment.id == foreign(CommentThread.comment_id)", viewonly=True, uselist=False)


class Mark(db.Model):
    """A member's "we tried this too" or "useful" mark on a note."""

    __tablename__ = "mark"
    __table_args__ = (sa.UniqueConstraint("note_id", "user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(sa.ForeignKey("note.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(20))  # "tried" or "useful"
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
