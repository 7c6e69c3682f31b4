"""Published notes as machines read them: filtered lists in a stable order, pages by cursor.

The JSON API, the Atom feeds and the overview read notes through :func:`select_notes` (a
query of the published originals an audience may see, narrowed by :class:`NoteFilters`) and
:func:`notes_after` (one page of it after a :class:`Cursor`). Who may see what is never
decided here: every query starts from :func:`hub.services.visibility.published_for`.

A cursor names the last note of the previous page by its sort value and id, so a page never
repeats or skips a note when others are published meanwhile (offsets would).
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from hub.extensions import db
from hub.models import Note, Project, Term, note_term
from hub.models.base import is_row_id
from hub.services.errors import ServiceError
from hub.services.visibility import gone_for, published_for

ORDERS = ("published", "updated")  # newest publication first; oldest change first (for syncing)
# Newest change first: the feeds, whose readers look at the top only (see blueprints/feeds).
CHANGED = "changed"
# Notes gone for a reader, oldest first, for mirrors syncing deletions (GET /api/v1/notes/removed).
REMOVED = "removed"


class BadCursor(ServiceError):
    """A cursor that this hub did not write, or that belongs to another order."""


@dataclass(frozen=True)
class NoteFilters:
    """What a list of notes is narrowed to; empty values narrow nothing."""

    topic: str | None = None
    project: str | None = None
    place: str | None = None  # a province or a city/county, as written on the note
    language: str | None = None
    population: str | None = None
    updated_since: dt.datetime | None = None  # naive UTC, inclusive; of changed_at (changes here)


@dataclass(frozen=True)
class Cursor:
    """Where the previous page ended: its last note's sort value and id."""

    order: str
    value: dt.datetime
    note_id: int

    def encode(self) -> str:
        """Return the cursor as an opaque URL-safe string."""
        raw = json.dumps([self.order, self.value.isoformat(), self.note_id], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, *, order: str) -> Cursor:
        """Read a cursor written by :meth:`encode`; raise :class:`BadCursor` for anything else."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            written_order, value, note_id = json.loads(raw)
            cursor = cls(str(written_order), dt.datetime.fromisoformat(value), note_id)
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, RecursionError):
            raise BadCursor("not a cursor of this hub", field="cursor") from None
        if not is_row_id(note_id):  # JSON numbers: 1e308, 10**30, -1 or true were never a note's id
            raise BadCursor("not a cursor of this hub", field="cursor")
        if cursor.order != order or cursor.value.tzinfo is not None:
            raise BadCursor("the cursor belongs to another order", field="cursor")
        return cursor


@dataclass
class NotePage:
    """One page of notes and the cursor of the next page (None on the last page)."""

    notes: list[Note]
    next_cursor: Cursor | None


def _sort_column(order: str) -> Any:
    # Syncing reads changes made here (changed_at), not the text's own time (updated_at): a partner
    # hub's note approved today keeps its origin's older time, and a sync since yesterday must see it.
    return Note.published_at if order == "published" else Note.changed_at


def select_notes(audience: Any, filters: NoteFilters = NoteFilters()) -> sa.Select:
    """Return the query of published originals ``audience`` may see, narrowed by ``filters``."""
    query = sa.select(Note).where(published_for(audience), Note.translation_of_id.is_(None))
    for kind, slug in (("topic", filters.topic), ("population", filters.population)):
        if slug:
            query = query.where(Note.id.in_(
                sa.select(note_term.c.note_id).join(Term, Term.id == note_term.c.term_id)
                .where(Term.kind == kind, Term.slug == slug)))
    if filters.project:
        query = query.where(Note.project_id.in_(sa.select(Project.id).where(Project.slug == filters.project)))
    if filters.place:
        query = query.where(sa.or_(Note.province == filters.place, Note.place == filters.place))
    if filters.language:
        query = query.where(Note.language == filters.language)
    if filters.updated_since is not None:
        query = query.where(Note.changed_at >= filters.updated_since)
    return query


def notes_after(audience: Any, *, filters: NoteFilters = NoteFilters(), order: str = "published",
                cursor: Cursor | None = None, limit: int = 20) -> NotePage:
    """Return up to ``limit`` notes after ``cursor`` in ``order``, with the cursor of the next page."""
    if order not in (*ORDERS, CHANGED):
        raise ValueError(f"unknown order {order!r}")
    query = select_notes(audience, filters).options(
        selectinload(Note.terms), selectinload(Note.project), selectinload(Note.author))
    return _page(query, order=order, newest_first=order != "updated", cursor=cursor, limit=limit)


def _page(query: sa.Select, *, order: str, newest_first: bool, cursor: Cursor | None, limit: int) -> NotePage:
    """Return up to ``limit`` rows of ``query`` after ``cursor`` by (sort value, id), and the next cursor."""
    column = _sort_column(order)
    if newest_first:
        query = query.order_by(column.desc(), Note.id.desc())
        if cursor is not None:
            query = query.where(sa.tuple_(column, Note.id) < sa.tuple_(cursor.value, cursor.note_id))
    else:
        query = query.order_by(column.asc(), Note.id.asc())
        if cursor is not None:
            query = query.where(sa.tuple_(column, Note.id) > sa.tuple_(cursor.value, cursor.note_id))
    notes = list(db.session.scalars(query.limit(limit + 1)))
    more = len(notes) > limit
    notes = notes[:limit]
    following = Cursor(order, getattr(notes[-1], column.key), notes[-1].id) if more else None
    return NotePage(notes=notes, next_cursor=following)


def removed_after(audience: Any, *, since: dt.datetime | None = None, cursor: Cursor | None = None,
                  limit: int = 20) -> NotePage:
    """Return up to ``limit`` originals gone for ``audience`` (:func:`visibility.gone_for`), the
    longest gone first, changed at or after ``since``; their ``changed_at`` is when they went.

    Only ids and times may leave: the caller shows nothing else of these notes.
    """
    query = sa.select(Note).where(gone_for(audience), Note.translation_of_id.is_(None))
    if since is not None:
        query = query.where(Note.changed_at >= since)
    return _page(query, order=REMOVED, newest_first=False, cursor=cursor, limit=limit)


def removed(audience: Any, note_id: int) -> bool:
    """Tell whether the note ``note_id`` (an original or a translation) is gone for ``audience``."""
    return db.session.scalar(sa.select(Note.id).where(Note.id == note_id, gone_for(audience))) is not None


def note(audience: Any, note_id: int) -> Note | None:
    """Return the published note ``note_id`` (an original or a translation) if ``audience`` may see it."""
    query = (sa.select(Note).where(Note.id == note_id, published_for(audience))
             .options(selectinload(Note.terms), selectinload(Note.project), selectinload(Note.attachments)))
    return db.session.scalar(query)


def translations_of(audience: Any, original: Note) -> list[Note]:
    """Return the published translations of ``original`` that ``audience`` may see, by language."""
    query = (sa.select(Note).where(Note.translation_of_id == original.id, published_for(audience))
             .order_by(Note.language, Note.id))
    return list(db.session.scalars(query))


def terms(kind: str) -> list[Term]:
    """Return the vocabulary of ``kind`` ("topic" or "population"), by short name."""
    return list(db.session.scalars(sa.select(Term).where(Term.kind == kind).order_by(Term.slug)))


def projects() -> list[Project]:
    """Return every project, by short name (a stable order for machines)."""
    return list(db.session.scalars(sa.select(Project).order_by(Project.slug)))
