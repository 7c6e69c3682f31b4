"""In-app notifications: what happened to one's notes."""
from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from hub.extensions import db
from hub.models.base import utcnow
from hub.models import Notification
from hub.models.user import User
from hub.services import visibility


def page_for(user: User, *, page: int = 1, per_page: int = 30):
    """Return a page of ``user``'s notifications, newest first."""
    query = (sa.select(Notification).where(Notification.user_id == user.id)
             .order_by(Notification.id.desc()))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def readable_notes(user: User, items: Iterable[Notification]) -> set[int]:
    """Return the ids of the notes named in ``items`` that ``user`` may still read.

    A notification outlives the note's visibility: a note unpublished, narrowed or deleted since is
    shown by neither title nor link (the one rule, :func:`visibility.may_read`).
    """
    return {n.note_id for n in items if n.note is not None and visibility.may_read(n.note, user)}


def mark_read(user: User) -> None:
    """Mark every notification of ``user`` read."""
    if not unread_count(user):  # nothing to write: cached pages stay valid (hub.content_version)
        return
    db.session.execute(sa.update(Notification).where(Notification.user_id == user.id,
                                                     Notification.read_at.is_(None)).values(read_at=utcnow()))
    db.session.commit()


def unread_count(user: User) -> int:
    """Return how many notifications ``user`` has not read."""
    query = sa.select(sa.func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))
    return db.session.scalar(query) or 0
