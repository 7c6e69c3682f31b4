"""The search indexer: a consumer of the event log, and full rebuilds.

The indexer applies events in order and writes its cursor into the index in the same Whoosh
commit as the documents, so a crash at any moment leaves the index at an earlier commit with
the matching cursor: the next run replays from there and never skips. Only the worker writes
the index; web processes read it.
"""
from __future__ import annotations

import gc
import logging
import re
import multiprocessing
import queue
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload
from whoosh import fields
from whoosh.codec.base import Segment
from whoosh.index import Index
from whoosh.searching import Searcher
from whoosh.writing import IndexWriter, SegmentWriter

from hub import events, instance_identity
from hub.extensions import db
from hub.models.events import Event
from hub.models.note import SECTIONS, Note, NoteState
from hub.services import privacy
from hub.services.visibility import goes_with_original
from hub.text import plain_text
from search_index.excerpts import html_text
from search_index.postings import HubCodec
from search_index.schema import CURSOR_ID, INDEX_FORMAT, TEXT_FIELDS, note_document
from search_index.store import IndexStore, IndexUnavailable, open_reader

log = logging.getLogger("hub.search")
# Segments as separate files, not one compound file: Whoosh reads a compound segment's postings into
# a private copy in every web process (hundreds of MB at 100k notes); separate files are read in place.
# The hub's codec writes each segment's postings as arrays too (search_index/postings.py).
WRITER_OPTIONS = {"compound": False, "codec": HubCodec()}
NOTE_EVENTS = {"note.published", "note.updated", "note.unpublished", "note.deleted"}
# What the index holds: published originals (a translation is indexed in its original's document).
PUBLISHED_ORIGINAL = (Note.state == NoteState.PUBLISHED.value, Note.translation_of_id.is_(None))
# What ``document()`` reads of a note besides its row, loaded with it.
_DOCUMENT_LOADS = (selectinload(Note.terms), selectinload(Note.project), selectinload(Note.translations))
# A rebuild process starts a new segment after this many notes, which bounds its memory (about
# 1 GB with the bench corpus: Whoosh's posting pool holds ~60 kB a note until the segment is written)
_SEGMENT_NOTES = 10_000
# and gives that pool room for them: spilling sorted runs to disk and merging them back would
# cost more than the analysis. Larger notes still spill, more slowly.
_SEGMENT_POOL_MB = 1024


def body_text(note: Note) -> str:
    """Return the searchable plain text of a note: body, sections and tags.

    From the sanitised HTML rendered on save (body and sections; the sections' titles left out),
    which costs a tenth of converting the Markdown again; from the Markdown when there is no HTML.
    """
    if note.body_html:
        parts = [html_text(_SECTION_TITLE.sub(r"\1", note.body_html))]
    else:
        parts = [plain_text(note.body)]
        parts += [plain_text((note.sections or {}).get(key, "")) for key in SECTIONS]
    parts.append(" ".join(note.tags or []))
    return "\n".join(p for p in parts if p)


# A structured section's title, as hub.services.notes.render_text writes it.
_SECTION_TITLE = re.compile(r'(<section class="note-section"[^>]*>)<h2>.*?</h2>', re.S)


def _new_slugs(batch: Sequence[Event]) -> list[Event]:
    """Return the project renames of ``batch`` that changed the slug: the project facet holds the slug and
    the index no project name, so a rename of the names alone leaves the index as it is.

    A rename recorded before the event said which (no ``slug_changed``) counts as a new slug.
    """
    return [e for e in batch if e.kind == "project.renamed" and (e.payload or {}).get("slug_changed", True)]


def _originals(ids: Iterable[int]) -> set[int]:
    """Map note ids to the ids of the documents that hold them (a translation lives in its original's)."""
    ids = list(ids)
    rows = db.session.execute(sa.select(Note.id, Note.translation_of_id).where(Note.id.in_(ids))).all()
    return {original or note_id for note_id, original in rows} | (set(ids) - {r[0] for r in rows})


def _published(session, ids: Iterable[int]) -> list[Note]:
    query = (sa.select(Note).where(Note.id.in_(list(ids)), *PUBLISHED_ORIGINAL)
             .options(*_DOCUMENT_LOADS))
    return list(session.scalars(query))


def document(note: Note) -> dict:
    """Return the index document of a published original, with the published translations that reach its readers.

    The document is found by the original's readers: a translation a moderator narrowed further
    stays out, or a search would tell them which words it holds.

    Contact data (phone, ID and card numbers, e-mail, WeChat …) is blanked out of the indexed text,
    so that search can never be used to find who wrote or holds a number.
    """
    versions = [(t, body_text(t)) for t in note.translations if goes_with_original(t, note)]
    fields = note_document(note, body_text=body_text(note), versions=versions)
    return fields | {name: privacy.mask_for_index(fields[name]) for name in TEXT_FIELDS}


def database_identity() -> str:
    """Return what identifies this database: the identity ``flask hub restore`` renews (hub.instance_identity)."""
    return instance_identity.database_identity()


@dataclass(frozen=True)
class Meta:
    """What the index records about itself in its cursor document, in the commit that moves the cursor."""

    cursor: int = 0  # the last event applied
    format: int = INDEX_FORMAT
    database: str | None = None  # database_identity() of the database it was built from
    event: str | None = None  # hub.events.fingerprint() of the event at the cursor


def read_cursor(index) -> int:
    """Return the last event id applied to ``index`` (0 for a new index)."""
    return read_meta(index).cursor


def read_meta(index) -> Meta:
    """Return what ``index`` records about itself; a new, empty index has the current format."""
    with Searcher(open_reader(index)) as searcher:
        return meta_of(searcher)


def meta_of(searcher: Searcher) -> Meta:
    """Return what the commit that ``searcher`` reads records about the index."""
    stored = searcher.document(id=CURSOR_ID)
    if not stored:
        return Meta()
    # An index written before these were stored has no format (1), database or event.
    return Meta(cursor=int(stored["cursor"]), format=int(stored.get("format") or 1),
                database=stored.get("database"), event=stored.get("event"))


def cursor_document(cursor: int, *, database: str | None = None, event: str | None = None) -> dict:
    """Return the document that records the cursor, the index format, and the database and event it
    belongs to (see :class:`Meta`) in the index."""
    found = {"database": database, "event": event}
    return {"id": CURSOR_ID, "kind": "meta", "cursor": cursor, "format": INDEX_FORMAT,
            **{name: value for name, value in found.items() if value}}


def foreign_reason(meta: Meta) -> str | None:
    """Return why an index recording ``meta`` does not belong to this database, or None when it does.

    After a database is restored from a dump older than the index, the index's cursor is ahead of
    the event log, and once new events reach the cursor, the event there is another one: either
    way the events after the restore would look applied and never be indexed.
    """
    identity = database_identity()
    if meta.database and identity and meta.database != identity:
        return "was built from another database"
    head = events.head()
    if meta.cursor > head:
        return f"has applied events up to {meta.cursor}, beyond the event log's last event {head}"
    if meta.event and meta.cursor:
        found = events.fingerprint(meta.cursor)
        if found is not None and found != meta.event:  # absent (a gap in ids): nothing to compare
            return f"has applied an event {meta.cursor} that is not this database's"
    return None


class SearchIndexer:
    """The event-log consumer that keeps the index in step with the database."""

    name = "search"

    def __init__(self, store: IndexStore) -> None:
        self.store = store
        # (index target, generation) -> what the index records: reading it opens a reader, and the
        # worker asks every poll; the index changes only through this writer or a swapped-in
        # rebuild, both of which change the key. The database is checked against it every time the
        # worker asks: at a new event or a new database identity (hub.worker.Idle), once a minute at least.
        self._known: tuple[tuple[str, int], Meta] | None = None

    def position(self) -> int:
        """Return the cursor stored in the index; rebuild the index first when it is missing, of another
        format, or does not belong to this database (a restored database: see :func:`foreign_reason`)."""
        try:
            index = self.store.open()
            meta = self._meta(index)
        except IndexUnavailable as error:  # no index, an unreadable TOC or a segment that cannot be read
            log.warning("search index unavailable (%s): rebuilding it from the database", error)
            rebuild(self.store)
            meta = self._meta(self.store.open())
            return meta.cursor
        if meta.format != INDEX_FORMAT:
            reason = f"has format {meta.format}, this version uses {INDEX_FORMAT}"
        else:
            reason = foreign_reason(meta)
        if reason:
            log.warning("search index %s: rebuilding it from the database", reason)
            rebuild(self.store)
            meta = self._meta(self.store.open())
        return meta.cursor

    def watch(self) -> sa.ScalarSelect[str]:
        """Return what makes an idle worker ask :meth:`position` again without a new event: the database's
        identity (``flask hub restore`` renews it; hub.worker.Idle)."""
        return instance_identity.identity_query()

    def _meta(self, index: Index) -> Meta:
        key = (self.store.current_target(), index.latest_generation())
        if self._known is None or self._known[0] != key:
            self._known = (key, read_meta(index))
        return self._known[1]

    def apply(self, batch: Sequence[Event]) -> None:
        """Apply a batch of events and move the cursor past it, in one commit."""
        note_ids = _originals({e.subject_id for e in batch if e.subject_type == "note" and e.kind in NOTE_EVENTS}
                              | events.renamed_notes(_new_slugs(batch), "project.renamed"))
        index = self.store.open()
        writer = index.writer(timeout=30, **WRITER_OPTIONS)
        try:
            _add_meta_fields(writer)
            for note_id in note_ids:
                writer.delete_by_term("id", str(note_id))
            for note in _published(db.session, note_ids):
                writer.add_document(**document(note))
            writer.update_document(**cursor_document(batch[-1].id, database=database_identity(),
                                                     event=events.fingerprint(batch[-1].id)))
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        log.info("search index: applied events up to %d (%d notes)", batch[-1].id, len(note_ids))


def _add_meta_fields(writer: IndexWriter) -> None:
    """Give an index written before the cursor document held them the fields :class:`Meta` stores
    (before anything is added: Whoosh changes a schema only then)."""
    for name in ("database", "event"):
        if name not in writer.schema:
            writer.add_field(name, fields.STORED())


def rebuild(store: IndexStore, *, chunk: int = 500, procs: int = 1) -> int:
    """Build a new index from the database and swap it in atomically; return the notes indexed.

    With ``procs`` > 1 (and an index on disk), that many processes each load, analyse and write
    notes into segments of their own (a new one every ``_SEGMENT_NOTES``), taking chunks of
    ``chunk`` notes from a shared queue; the segments are committed side by side, unmerged.
    """
    head = events.head()  # read first: events after it are replayed, and replay is idempotent
    meta = cursor_document(head, database=database_identity(), event=events.fingerprint(head))
    index, name = store.new_generation()
    writer = index.writer(**WRITER_OPTIONS)  # holds the index lock; sub-processes write segments under it
    try:
        if procs > 1 and not store.in_memory:
            segments, count = _index_in_processes(index, procs, chunk, meta)
        else:
            segments, count = [], _index_here(writer, chunk)
            writer.add_document(**meta)
    except BaseException:
        writer.cancel()
        raise
    writer.commit(mergetype=lambda _writer, existing: [*existing, *segments])
    store.swap(index, name)
    log.info("search index rebuilt: %d notes, cursor %d", count, head)
    return count


def _index_here(writer: IndexWriter, size: int) -> int:
    """Add every published note to ``writer`` in this process; return how many."""
    count = 0
    # A session of its own: memory stays flat over 100k notes and the caller's objects are untouched.
    with Session(db.engine) as session:
        for notes in _published_chunks(session, size):
            for note in notes:
                writer.add_document(**document(note))
            count += len(notes)
            session.expunge_all()
    return count


def _index_in_processes(index: Index, procs: int, size: int, meta: dict) -> tuple[list[Segment], int]:
    """Index the published notes in ``procs`` forked processes; return their segments and note count."""
    # Load the analyzer's dictionaries here, once: forked children share them instead of each loading them.
    list(index.schema["body"].analyzer("预热 warm-up", positions=True, chars=True, mode="index"))
    context = multiprocessing.get_context("fork")  # children inherit the engine and the loaded analyzer
    jobs = context.Queue()
    results = context.Queue()
    for job in [_CURSOR_JOB, *_id_ranges(size)]:
        jobs.put(job)
    for _ in range(procs):
        jobs.put(None)
    workers = [context.Process(target=_segment_worker, args=(db.engine, index, jobs, results, size, meta),
                               name=f"reindex-{number}", daemon=True) for number in range(procs)]
    for worker in workers:
        worker.start()
    try:
        outcomes = [_next_result(results, workers) for _ in workers]
    except BaseException:
        for worker in workers:
            worker.terminate()
        raise
    finally:
        for worker in workers:
            worker.join()
    return [segment for segments, _count in outcomes for segment in segments], sum(count for _s, count in outcomes)


# A job for a rebuild process: the first and last note id of a chunk, or this: add the cursor document.
_CURSOR_JOB = "cursor"


def _id_ranges(size: int) -> list[tuple[int, int]]:
    """Return (first id, last id) of consecutive chunks of ``size`` published notes."""
    ids = list(db.session.scalars(sa.select(Note.id).where(*PUBLISHED_ORIGINAL).order_by(Note.id)))
    return [(ids[start], ids[min(start + size, len(ids)) - 1]) for start in range(0, len(ids), size)]


def _next_result(results: multiprocessing.Queue,
                 workers: list[multiprocessing.Process]) -> tuple[list[Segment], int]:
    """Return the next (segments, count) from a rebuild process; raise if one failed or died."""
    while True:
        try:
            outcome = results.get(timeout=1)
        except queue.Empty:
            dead = [w for w in workers if w.exitcode not in (None, 0)]
            if dead:
                raise RuntimeError(f"search index rebuild: {dead[0].name} died (exit {dead[0].exitcode})") from None
            continue
        if isinstance(outcome, str):
            raise RuntimeError(f"search index rebuild failed in a sub-process:\n{outcome}")
        return outcome


def _segment_worker(engine: sa.Engine, index: Index, jobs: multiprocessing.Queue,
                    results: multiprocessing.Queue, size: int, meta: dict) -> None:
    """Write segments from the chunks on ``jobs`` until None; put (segments, count) on ``results``."""
    try:
        engine.dispose(close=False)  # the parent's pooled connections are not ours to use
        # This process lives for one rebuild and makes next to no reference cycles (same peak
        # memory without collections), while each collection walks millions of pooled postings.
        gc.disable()
        segments: list[Segment] = []
        writer, count = _sub_writer(index), 0
        with Session(engine) as session:
            for job in iter(jobs.get, None):
                if job == _CURSOR_JOB:
                    writer.add_document(**meta)
                    continue
                for notes in _published_chunks(session, size, first=job[0], last=job[1]):
                    for note in notes:
                        writer.add_document(**document(note))
                    count += len(notes)
                session.expunge_all()
                if writer.doc_count() >= _SEGMENT_NOTES:
                    segments.append(writer._finalize_segment())
                    writer = _sub_writer(index)
                    gc.collect()  # the finished segment's pool, once per segment (2.6 GB peaks at 100k without)
        if writer.doc_count():
            segments.append(writer._finalize_segment())
        else:  # not cancel(): that would delete the temporary folder that the other processes share
            writer._close_segment()
        results.put((segments, count))
    except BaseException:
        results.put(traceback.format_exc())
        raise


def _sub_writer(index: Index) -> SegmentWriter:
    """Return a writer for one more segment of ``index``, whose lock the parent process holds.

    As Whoosh's own multi-process writer does: no lock, and the segment is finished with
    ``_finalize_segment()``, without a TOC; the parent commits the segments.
    """
    return SegmentWriter(index, _lk=False, limitmb=_SEGMENT_POOL_MB, **WRITER_OPTIONS)


def _published_chunks(session: Session, size: int, *, first: int = 1, last: int | None = None):
    """Yield the published notes with ids from ``first`` to ``last`` in id order, ``size`` at a time."""
    after = first - 1
    while True:
        query = (sa.select(Note).where(*PUBLISHED_ORIGINAL, Note.id > after,
                                       *([Note.id <= last] if last is not None else []))
                 .options(*_DOCUMENT_LOADS)
                 .order_by(Note.id).limit(size))
        notes = list(session.scalars(query))
        if not notes:
            return
        after = notes[-1].id
        yield notes
