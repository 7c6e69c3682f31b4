"""Translations of notes: each is a note of its own, linked to its original and reviewed like one.

A translation records the revision of the original it was made from; when the original is
revised later, the translation is outdated until its translator saves it again. Readers see a
note in their language when a published translation exists.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from hub.extensions import db
from hub.models import LANGUAGES, Note, note_term, NoteState, Term, TranslationRequest
from hub.models.user import User
from hub.permissions import can
from hub.services import audit, revisions
from hub.services.errors import NotAllowed, ServiceError
from hub.services.visibility import can_view, published_for

ACTIVE = (NoteState.DRAFT, NoteState.SUBMITTED, NoteState.CHANGES_REQUESTED, NoteState.PUBLISHED,
          NoteState.WITHDRAWN, NoteState.UNPUBLISHED)


def language_of(locale: str) -> str:
    """Return the note language a reader's locale reads (zh_Hans for any Chinese, else en)."""
    return "zh_Hans" if str(locale).startswith("zh") else "en"


def other_languages(note: Note) -> list[str]:
    """Return the languages ``note`` could be translated into."""
    return [lang for lang in LANGUAGES if lang != note.language]


def existing(original: Note, language: str) -> Note | None:
    """Return the active translation of ``original`` into ``language``, if any."""
    query = sa.select(Note).where(Note.translation_of_id == original.id, Note.language == language,
                                  Note.state.in_([s.value for s in ACTIVE]))
    return db.session.scalar(query.order_by(Note.id.desc()))


def start(original: Note, *, by: User, language: str) -> Note:
    """Start (or continue) translating ``original`` into ``language``; return the translation draft."""
    if not can(by, "translate"):
        raise NotAllowed(_l("Only contributors can translate notes."))
    if original.translation_of_id or original.state != NoteState.PUBLISHED or not can_view(original, by):
        raise NotAllowed(_l("Only published notes can be translated."))
    if language not in other_languages(original):
        raise ServiceError(_l("Choose a language the note is not written in."), field="language")
    current = existing(original, language)
    if current is not None:
        if current.author_id == by.id:
            return current
        raise ServiceError(_l("Someone is already translating this note into this language."))
    translation = Note(author=by, original=original, language=language, state=NoteState.DRAFT.value,
                       project=original.project, visibility=original.visibility, place=original.place,
                       province=original.province, terms=list(original.terms),
                       source_revision=original.revision_number, body_html="")
    db.session.add(translation)
    db.session.flush()
    audit.record("translation.start", actor=by, target=translation, original=original.id, language=language)
    db.session.commit()
    return translation


def is_outdated(translation: Note) -> bool:
    """Tell whether the original was revised after the translation was last saved."""
    original = translation.original
    return bool(original and (translation.source_revision or 0) < original.revision_number)


def original_changes(translation: Note) -> list[tuple[str, str]]:
    """Return what changed in the original since the revision the translation was made from."""
    original = translation.original
    by_number = {r.number: r for r in original.revisions}
    newest = by_number.get(original.revision_number)
    if newest is None:
        return []
    return revisions.diff(by_number.get(translation.source_revision or 0), newest)


def request(original: Note, *, by: User, language: str) -> bool:
    """Ask for a translation of ``original`` into ``language``; return False when already asked."""
    if not can(by, "comment") or original.state != NoteState.PUBLISHED or not can_view(original, by):
        raise NotAllowed(_l("You may not do this with this note now."))
    if language not in other_languages(original):
        raise ServiceError(_l("Choose a language the note is not written in."), field="language")
    exists = db.session.scalar(sa.select(TranslationRequest.id).where(
        TranslationRequest.note_id == original.id, TranslationRequest.language == language,
        TranslationRequest.user_id == by.id))
    if exists:
        return False
    db.session.add(TranslationRequest(note_id=original.id, language=language, user_id=by.id))
    db.session.commit()
    return True


def published_versions(notes: Iterable[Note], *, locale: str, viewer: Any) -> dict[int, Note]:
    """Map each note id to the version to show a reader of ``locale``: a published translation, or itself."""
    notes = list(notes)
    language = language_of(locale)
    wanted = [n.id for n in notes if n.language != language and not n.translation_of_id]
    shown = {n.id: n for n in notes}
    # Two steps: in one query SQLite (without statistics) walks the state index, i.e. every
    # published note (6 ms at 5k notes, growing with the hub); the translations' own index is instant.
    candidates = []
    if wanted:
        candidates = list(db.session.scalars(sa.select(Note.id).where(Note.translation_of_id.in_(wanted))))
    if candidates:
        query = sa.select(Note).where(Note.id.in_(candidates), Note.language == language, published_for(viewer))
        for translation in db.session.scalars(query.order_by(Note.id)):
            shown[translation.translation_of_id] = translation
    return shown


def published_translations(original: Note, viewer: Any) -> list[Note]:
    """Return the published translations of ``original`` that ``viewer`` may see, by language, the newest last."""
    query = (sa.select(Note).where(Note.translation_of_id == original.id, published_for(viewer))
             .order_by(Note.language, Note.id))
    return list(db.session.scalars(query))


@dataclass
class QueueItem:
    """A note that needs translating, or a translation that needs updating."""

    note: Note
    language: str
    requests: int
    translation: Note | None
    outdated: bool


def queue(*, viewer: Any, language: str | None = None, topic: str | None = None, limit: int = 100) -> list[QueueItem]:
    """Return published originals lacking a published translation, and outdated translations.

    Requested notes first (most requests), then outdated ones, then oldest first: volunteers pick
    what readers asked for. Three queries, whatever the number of notes.
    """
    originals = sa.select(Note).where(published_for(viewer), Note.translation_of_id.is_(None))
    if topic:
        originals = originals.where(Note.id.in_(
            sa.select(note_term.c.note_id).join(Term, Term.id == note_term.c.term_id).where(Term.slug == topic)))
    notes = list(db.session.scalars(originals.order_by(Note.published_at)))
    ids = [n.id for n in notes]
    translations: dict[tuple[int, str], Note] = {}
    for t in db.session.scalars(sa.select(Note).where(Note.translation_of_id.in_(ids),
                                                      Note.state.in_([s.value for s in ACTIVE])).order_by(Note.id)):
        translations[(t.translation_of_id, t.language)] = t
    requests = dict(((row.note_id, row.language), row.n) for row in db.session.execute(
        sa.select(TranslationRequest.note_id, TranslationRequest.language, sa.func.count().label("n"))
        .where(TranslationRequest.note_id.in_(ids)).group_by(TranslationRequest.note_id, TranslationRequest.language)))
    items = []
    for note in notes:
        for target in other_languages(note):
            if language and target != language:
                continue
            translation = translations.get((note.id, target))
            published = translation is not None and translation.state == NoteState.PUBLISHED
            outdated = published and is_outdated(translation)
            if not published or outdated:
                items.append(QueueItem(note=note, language=target, requests=requests.get((note.id, target), 0),
                                       translation=translation, outdated=outdated))
    items.sort(key=lambda item: (-item.requests, not item.outdated, item.note.published_at))
    return items[:limit]

