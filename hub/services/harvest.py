"""The records OAI-PMH harvesters see, kept by an event-log consumer so that deletions persist.

A note is harvestable while it is what an unknown machine may read of this hub: what a hub we do
not know may read (``Audience.hub(None)``): a published, public original written here, without
partner hubs' notes and translations, which travel inside their original. The
:class:`HarvestConsumer` follows the event log: a harvestable note gets (or refreshes) its record;
a note that was harvestable and no longer is (unpublished, withdrawn, deleted, narrowed to
partners or members) keeps its record, marked deleted, for good: the repository declares
``deletedRecord=persistent``. Each change stamps the record with the time it was applied, so an
incremental harvest (``from`` its last response date) never misses one.

Datestamps are not ``Note.changed_at`` (the time a change was made here, which the JSON API and
the feeds sync by): they are the time the worker applied the change to the records, after it
was committed, which is what ``from`` must compare with. Records are notes written here only, so
a partner hub's note approved here is no record (it stays with its own hub's repository).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import selectinload

from hub import events
from hub.extensions import db
from hub.models.base import utcnow
from hub.models.events import Event
from hub.models import HarvestRecord, Note, Project, Term
from hub.services.visibility import Audience, published_for
from hub.worker import DatabaseCursor

CONSUMER_NAME = "oai-harvest"


def harvestable() -> sa.ColumnElement[bool]:
    """Return the condition of notes harvesters may see: what a hub we do not know may read here."""
    return published_for(Audience.hub(None))


def sets_of(note: Note) -> list[str]:
    """Return the set specs a note belongs to: its topics and its project."""
    specs = [f"topic:{t.slug}" for t in note.topics]
    if note.project is not None:
        specs.append(f"project:{note.project.slug}")
    return specs


def refresh(note_ids: set[int], *, now: dt.datetime) -> None:
    """Bring the records of ``note_ids`` up to date in the current transaction (the caller commits)."""
    live = {n.id: n for n in db.session.scalars(
        sa.select(Note).where(Note.id.in_(note_ids), harvestable()).options(selectinload(Note.terms),
                                                                          selectinload(Note.project)))}
    known = {r.note_id: r for r in db.session.scalars(sa.select(HarvestRecord).where(
        HarvestRecord.note_id.in_(note_ids)))}
    for note_id in sorted(note_ids):
        record = known.get(note_id)
        if note_id in live:
            record = record or HarvestRecord(note_id=note_id)
            record.deleted, record.sets, record.datestamp = False, sets_of(live[note_id]), now
            db.session.add(record)
        elif record is not None and not record.deleted:
            record.deleted, record.datestamp = True, now


class HarvestConsumer:
    """The event-log consumer that keeps harvest records; its cursor lives in the database."""

    name = CONSUMER_NAME
    # One cursor in the database for every node: with several workers (main's leases), only the
    # holder of this consumer's claim may run it, or two nodes would write the same records.
    shared = True

    def __init__(self) -> None:
        self.cursor = DatabaseCursor(CONSUMER_NAME)
        self.read_at: int | None = None  # the position the batch being applied was read after

    def position(self) -> int:
        """Return the id of the last event applied."""
        self.read_at = self.cursor.get()
        return self.read_at

    def apply(self, batch: Sequence[Event]) -> None:
        """Refresh the records of the notes ``batch`` is about, and move the cursor, in one transaction."""
        note_ids = {e.subject_id for e in batch if e.subject_type == "note"}
        note_ids |= events.renamed_notes(batch, "project.renamed")  # dc:creator and the sets name the project
        if note_ids:
            refresh(note_ids, now=utcnow().replace(microsecond=0))
        # Compare and set: if another worker moved the cursor meanwhile, this batch is not committed twice.
        self.cursor.set(batch[-1].id, expected=self.read_at)
        db.session.commit()
        self.read_at = batch[-1].id


def init_app(app: Flask) -> None:
    """Register the harvest consumer with the worker of ``app``."""
    from hub import worker

    worker.register(app, HarvestConsumer())


# --- reading, for the OAI-PMH face --------------------------------------------------------------

@dataclass(frozen=True)
class Selection:
    """What a harvester asks for: a time range (inclusive, naive UTC) and a set."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None
    set_spec: str | None = None


def _selected(selection: Selection) -> sa.Select:
    query = sa.select(HarvestRecord)
    if selection.since is not None:
        query = query.where(HarvestRecord.datestamp >= selection.since)
    if selection.until is not None:
        query = query.where(HarvestRecord.datestamp <= selection.until)
    return query


def _in_set(record: HarvestRecord, spec: str | None) -> bool:
    return spec is None or any(s == spec or s.startswith(spec + ":") for s in record.sets or [])


def records(selection: Selection, *, after: tuple[dt.datetime, int] | None, limit: int) -> tuple[list[HarvestRecord], int]:
    """Return up to ``limit`` records after ``after`` by (datestamp, note id), and how many match in all."""
    query = _selected(selection).order_by(HarvestRecord.datestamp, HarvestRecord.note_id)
    # Sets live in a JSON list, which SQLite and PostgreSQL query differently: filter here. A hub
    # has thousands of public notes, not millions, and only the ids and set lists are read.
    matching = [r for r in db.session.scalars(query) if _in_set(r, selection.set_spec)]
    if after is not None:
        start = next((i for i, r in enumerate(matching) if (r.datestamp, r.note_id) > after), len(matching))
    else:
        start = 0
    return matching[start:start + limit], len(matching)


def record(note_id: int) -> HarvestRecord | None:
    """Return the harvest record of ``note_id``."""
    return db.session.get(HarvestRecord, note_id)


def notes_of(found: list[HarvestRecord]) -> dict[int, Note]:
    """Return the live notes of ``found`` records, by id, with what their metadata needs."""
    ids = [r.note_id for r in found if not r.deleted]
    if not ids:
        return {}
    query = (sa.select(Note).where(Note.id.in_(ids), harvestable())
             .options(selectinload(Note.terms), selectinload(Note.project)))
    return {n.id: n for n in db.session.scalars(query)}


def earliest() -> dt.datetime | None:
    """Return the oldest datestamp of any record."""
    return db.session.scalar(sa.select(sa.func.min(HarvestRecord.datestamp)))


def set_names() -> list[tuple[str, str]]:
    """Return every set spec with its name in both languages: the two families, each topic and project."""
    specs = [("topic", "主题 / Topics"), ("project", "项目 / Projects")]
    specs += [(f"topic:{t.slug}", f"{t.name_zh} / {t.name_en}")
              for t in db.session.scalars(sa.select(Term).where(Term.kind == "topic").order_by(Term.slug))]
    specs += [(f"project:{p.slug}", f"{p.name_zh} / {p.name_en}")
              for p in db.session.scalars(sa.select(Project).order_by(Project.slug))]
    return specs
