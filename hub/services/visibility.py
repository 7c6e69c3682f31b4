"""Who may see which note: the one rule every read path applies.

Pages, lists, counts, search, feeds, the JSON API, exports and the federation outbox all
ask :func:`visible_notes` (a SQL condition) or :func:`can_view` (which runs that same
condition for one note), so there is exactly one definition of the rule:

- a published note is seen by everyone when it is ``public``, and by signed-in active
  accounts when it is ``members`` or ``partners``;
- any other note (draft, submitted, changes requested, rejected, unpublished, withdrawn) is
  seen only by its author and by moderators;
- a deleted note (a tombstone) is seen by nobody;
- a :data:`PARTNER_READER` (an organisation's API token, a person's feed token) reads as a member
  of an allow-listed partner hub: published ``public`` notes, and ``partners`` notes written here
  (a partner hub's own ``partners`` notes were shared with this hub's members, not with its partners).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from hub.extensions import db
from hub.models.note import Note, NoteState, Visibility
from hub.permissions import can


@dataclass(frozen=True)
class PartnerReader:
    """Whoever reads as a member of an allow-listed partner hub; never signed in here."""

    is_authenticated: bool = False
    is_active: bool = False


PARTNER_READER = PartnerReader()


def _signed_in(viewer: Any) -> bool:
    return bool(getattr(viewer, "is_authenticated", False) and viewer.is_active)


def visible_notes(viewer: Any) -> sa.ColumnElement[bool]:
    """Return the SQL condition selecting the notes ``viewer`` may see."""
    published = Note.state == NoteState.PUBLISHED.value
    if isinstance(viewer, PartnerReader):
        written_here = sa.and_(Note.visibility == Visibility.PARTNERS.value, Note.origin_peer_id.is_(None))
        return sa.and_(published, sa.or_(Note.visibility == Visibility.PUBLIC.value, written_here))
    if not _signed_in(viewer):
        return sa.and_(published, Note.visibility == Visibility.PUBLIC.value)
    if can(viewer, "moderate"):
        return Note.state != NoteState.DELETED.value
    return sa.or_(published, sa.and_(Note.author_id == viewer.id, Note.state != NoteState.DELETED.value))


def published_for(viewer: Any) -> sa.ColumnElement[bool]:
    """Return the condition for published notes ``viewer`` may see (what lists and counts show)."""
    return sa.and_(Note.state == NoteState.PUBLISHED.value, visible_notes(viewer))


def can_view(note: Note, viewer: Any) -> bool:
    """Tell whether ``viewer`` may see ``note``, by the same rule as every list."""
    if note.id is None:
        return False
    query = sa.select(Note.id).where(Note.id == note.id, visible_notes(viewer))
    return db.session.scalar(query) is not None

