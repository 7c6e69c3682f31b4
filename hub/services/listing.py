"""Lists of published notes: newest, by topic, by project, featured — always through the visibility rule."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from hub.extensions import db
from hub.models import Note, note_term, Term
from hub.models.project import Project
from hub.services.visibility import published_for


@dataclass(frozen=True)
class Filters:
    """What a list of notes is narrowed to."""

    topic: str | None = None
    project: str | None = None
    featured: bool = False

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Filters:
        """Read the filters from query-string arguments, ignoring junk."""
        return cls(topic=(args.get("topic") or "")[:64] or None, project=(args.get("project") or "")[:64] or None,
                   featured=args.get("featured") == "1")

    def topic_term(self) -> Term | None:
        """Return the topic filtered on, if it exists."""
        if not self.topic:
            return None
        return db.session.scalar(sa.select(Term).where(Term.slug == self.topic))

    def project_obj(self) -> Project | None:
        """Return the project filtered on, if it exists."""
        if not self.project:
            return None
        return db.session.scalar(sa.select(Project).where(Project.slug == self.project))


def _query(viewer: Any, filters: Filters) -> sa.Select:
    query = (sa.select(Note).where(published_for(viewer), Note.translation_of_id.is_(None))
             # What a note's card shows: the project in the same statement, the terms in one more.
             .options(selectinload(Note.terms), joinedload(Note.project))
             .order_by(Note.published_at.desc(), Note.id.desc()))
    if filters.topic:
        query = query.where(Note.id.in_(
            sa.select(note_term.c.note_id).join(Term, Term.id == note_term.c.term_id).where(Term.slug == filters.topic)))
    if filters.project:
        query = query.where(Note.project_id.in_(sa.select(Project.id).where(Project.slug == filters.project)))
    if filters.featured:
        query = query.where(Note.featured.is_(True))
    return query


def notes_page(*, viewer: Any, filters: Filters = Filters(), page: int = 1, per_page: int = 20):
    """Return a page of published notes ``viewer`` may see, newest first."""
    return db.paginate(_query(viewer, filters), page=page, per_page=per_page, error_out=False)


def newest(*, viewer: Any, limit: int = 6, filters: Filters = Filters()) -> list[Note]:
    """Return the newest published notes ``viewer`` may see."""
    return list(db.session.scalars(_query(viewer, filters).limit(limit)))
