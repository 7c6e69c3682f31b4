"""The conversation across hubs: where comments come from, partner hubs' marks and flags, topic followers.

These tables extend the note, comment and flag models without changing them: a comment from a
partner hub is an ordinary :class:`~hub.models.discussion.Comment` (no local author, held for a
moderator like a member's) plus a :class:`CommentThread` row saying where it came from.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.extensions import db
from hub.models.base import utcnow
from hub.models.federation import PeerHub
from hub.models.discussion import Comment


class CommentThread(db.Model):
    """Where a comment sits in a conversation: its parent, and for a partner hub's comment its origin.

    Local comments that answer no other comment have no row. Whether readers see a comment is its
    own ``state`` (a partner's comment is held like a member's, see hub.services.discussion). ``peer`` is the hub the comment
    was received from (the note's origin relays comments written elsewhere), ``origin_host``
    the hub where it was written, ``remote_id`` its ActivityPub id there.
    """

    __tablename__ = "comment_thread"

    comment_id: Mapped[int] = mapped_column(sa.ForeignKey("comment.id", ondelete="CASCADE"), primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("comment.id", ondelete="SET NULL"), index=True)
    peer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("peer_hub.id", ondelete="CASCADE"), index=True)
    origin_host: Mapped[str] = mapped_column(sa.String(300), default="")
    remote_id: Mapped[str | None] = mapped_column(sa.String(500), unique=True)
    author_pseudonym: Mapped[str] = mapped_column(sa.String(60), default="")
    remote_updated_at: Mapped[dt.datetime | None]
    # Removed because a partner hub withdrew it (its writer's hub, or the note's origin while its
    # moderators look at an edit), not by ours: a newer version from that hub shows it again.
    withdrawn: Mapped[bool] = mapped_column(default=False)
    # Removed because an admin blocked the hub it came from or was written on: unblocking shows it again.
    hidden_by_block: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # A moderator here changed a partner member's comment in a way its writer's hub does not take (more
    # than cutting spans out): the text here is this hub's own until that hub sends a newer version.
    edited_here: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # A moderator here cut personal data out of it (so that its writer's hub takes the cut) while it was
    # held: that hub hears when it is released (hub.services.discussion.release), once.
    cut_while_held: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    comment: Mapped[Comment] = relationship(foreign_keys=[comment_id])
    parent: Mapped[Comment | None] = relationship(foreign_keys=[parent_id])
    peer: Mapped[PeerHub | None] = relationship()


class RemoteMark(db.Model):
    """A partner hub's "we tried this too" or "useful" on one of our notes: one per hub and kind."""

    __tablename__ = "remote_mark"
    __table_args__ = (sa.UniqueConstraint("note_id", "peer_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(sa.ForeignKey("note.id", ondelete="CASCADE"), index=True)
    peer_id: Mapped[int] = mapped_column(sa.ForeignKey("peer_hub.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(20))
    activity_id: Mapped[str] = mapped_column(sa.String(500), default="")  # the Like, so its Undo can name it
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MarkTotal(db.Model):
    """The totals of a partner hub's note as its origin last reported them (shown instead of ours)."""

    __tablename__ = "mark_total"

    note_id: Mapped[int] = mapped_column(sa.ForeignKey("note.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
    reported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class FlagOrigin(db.Model):
    """The partner hub a flag came from (its reporter is never known here, by design)."""

    __tablename__ = "flag_origin"

    flag_id: Mapped[int] = mapped_column(sa.ForeignKey("flag.id", ondelete="CASCADE"), primary_key=True)
    peer_id: Mapped[int] = mapped_column(sa.ForeignKey("peer_hub.id", ondelete="CASCADE"), index=True)
    activity_id: Mapped[str] = mapped_column(sa.String(500), unique=True)

    peer: Mapped[PeerHub] = relationship()


class TopicFollower(db.Model):
    """An actor elsewhere (a person on Mastodon, another hub) that follows one topic's Group actor."""

    __tablename__ = "topic_follower"
    __table_args__ = (sa.UniqueConstraint("term_id", "peer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(sa.ForeignKey("term.id", ondelete="CASCADE"), index=True)
    peer_id: Mapped[int] = mapped_column(sa.ForeignKey("peer_hub.id", ondelete="CASCADE"), index=True)
    follow_activity_id: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    peer: Mapped[PeerHub] = relationship()
