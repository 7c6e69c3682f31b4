"""The search indexer: a consumer of the event log, and full rebuilds.

The indexer applies events in order and writes its cursor into the index in the same Whoosh
commit as the documents, so a crash at any moment leaves the index at an earlier commit with
the matching cursor: the next run replays from there and never skips. Only the worker writes
the index; web processes read it.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from hub import events
from hub.extensions import db
from hub.models.events import Event
from hub.models.note import SECTIONS, Note, NoteState
from hub.text import plain_text
from search_index.schema import CURSOR_ID, note_document
from search_index.store import IndexStore, IndexUnavailable

log = logging.getLogger("hub.search")
NOTE_EVENTS = {"note.published", "note.updated", "note.unpublished", "note.deleted"}


def body_text(note: Note) -> str:
    """Return the searchable plain text of a note: body, sections and tags."""
    parts = [plain_text(note.body)]
    parts += [plain_text((note.sections or {}).get(key, "")) for key in SECTIONS]
    parts.append(" ".join(note.tags or []))
    return "\n".join(p for p in parts if p)


def _originals(ids: Iterable[int]) -> set[int]:
    """Map note ids to the ids of the documents that hold them (a translation lives in its original's)."""
    ids = list(ids)
    rows = db.session.execute(sa.select(Note.id, Note.translation_of_id).where(Note.id.in_(ids))).all()
    return {original or note_id for note_id, original in rows} | (set(ids) - {r[0] for r in rows})


def _published(session, ids: Iterable[int]) -> list[Note]:
    query = (sa.select(Note).where(Note.id.in_(list(ids)), Note.state == NoteState.PUBLISHED.value,
                                   Note.translation_of_id.is_(None))
             .options(selectinload(Note.terms), selectinload(Note.project), selectinload(Note.translations)))
    return list(session.scalars(query))


def document(note: Note) -> dict:
    """Return the index document of a published original, with its published translations."""
    versions = [(t, body_text(t)) for t in note.translations if t.state == NoteState.PUBLISHED]
    return note_document(note, body_text=body_text(note), versions=versions)


def read_cursor(index) -> int:
    """Return the last event id applied to ``index`` (0 for a new index)."""
    with index.searcher() as searcher:
        stored = searcher.document(id=CURSOR_ID)
    return int(stored["cursor"]) if stored else 0


class SearchIndexer:
    """The event-log consumer that keeps the index in step with the database."""

    name = "search"

    def __init__(self, store: IndexStore) -> None:
        self.store = store
        # (index target, generation) -> cursor: reading the cursor opens a searcher (hundreds of
        # ms at scale), and the worker asks every poll; the index changes only through this writer
        # or a swapped-in rebuild, both of which change the key.
        self._known: tuple[tuple[str, int], int] | None = None

    def position(self) -> int:
        """Return the cursor stored in the index; build the index first when it is missing."""
        try:
            index = self.store.open()
        except IndexUnavailable as error:
            log.warning("search index unavailable (%s): rebuilding it from the database", error)
            rebuild(self.store)
            index = self.store.open()
        key = (self.store.current_target(), index.latest_generation())
        if self._known is None or self._known[0] != key:
            self._known = (key, read_cursor(index))
        return self._known[1]

    def apply(self, batch: Sequence[Event]) -> None:
        """Apply a batch of events and move the cursor past it, in one commit."""
        note_ids = _originals(e.subject_id for e in batch if e.subject_type == "note" and e.kind in NOTE_EVENTS)
        index = self.store.open()
        writer = index.writer(timeout=30)
        try:
            for note_id in note_ids:
                writer.delete_by_term("id", str(note_id))
            for note in _published(db.session, note_ids):
                writer.add_document(**document(note))
            writer.update_document(id=CURSOR_ID, kind="meta", cursor=batch[-1].id)
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        log.info("search index: applied events up to %d (%d notes)", batch[-1].id, len(note_ids))


def rebuild(store: IndexStore, *, chunk: int = 500, procs: int = 1) -> int:
    """Build a new index from the database and swap it in atomically; return the notes indexed."""
    head = events.head()  # read first: events after it are replayed, and replay is idempotent
    index, name = store.new_generation()
    options = {"procs": procs, "limitmb": 128, "multisegment": True} if procs > 1 else {}
    writer = index.writer(**options)
    count = 0
    try:
        # A session of its own: memory stays flat over 100k notes and the caller's objects are untouched.
        with Session(db.engine) as session:
            for notes in _published_chunks(session, chunk):
                for note in notes:
                    writer.add_document(**document(note))
                count += len(notes)
                session.expunge_all()
        writer.add_document(id=CURSOR_ID, kind="meta", cursor=head)
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
    store.swap(index, name)
    log.info("search index rebuilt: %d notes, cursor %d", count, head)
    return count


def _published_chunks(session: Session, size: int):
    """Yield the published notes in id order, ``size`` at a time."""
    last = 0
    while True:
        query = (sa.select(Note).where(Note.state == NoteState.PUBLISHED.value, Note.id > last,
                                       Note.translation_of_id.is_(None))
                 .options(selectinload(Note.terms), selectinload(Note.project), selectinload(Note.translations))
                 .order_by(Note.id).limit(size))
        notes = list(session.scalars(query))
        if not notes:
            return
        last = notes[-1].id
        yield notes
