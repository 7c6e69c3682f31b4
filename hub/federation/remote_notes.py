"""Notes from partner hubs: stored as remote notes, checked, moderated per trust, deleted on request.

A remote note has no local author (``author_id`` is None) and no project; ``origin_peer_id``,
``remote_id`` and ``remote_url`` say where it came from. Its HTML was sanitised again by
:mod:`hub.federation.activities`; its plain text is kept in ``body`` so that search and the
privacy check read it like any other note. Every change records the same events as local
notes, so the search index follows without knowing about federation.

- New notes from a hub trusted to "publish" are published at once, unless the privacy check
  finds something: then, as from any hub trusted to "moderate", they wait in the moderation queue.
- Updates from the origin always apply, also to notes already published here; an update with
  personal data takes a published note back to the queue.
- Deletes from the origin always apply: the text is wiped and a tombstone row stays, so a late
  or replayed Create cannot bring the note back.
- Either way our members' translations of a note that leaves readers leave with it, and their
  translators are told (:func:`hub.services.notes.take_down_translations`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import sqlalchemy as sa

from hub import events
from hub.extensions import db
from hub.federation.activities import InvalidActivity, LanguageVersion, RemoteArticle, language_tag
from hub.models.base import utcnow
from hub.models.federation import PeerHub
from hub.models import Comment, Note, NoteState, ReviewMessage, Term, Visibility
from hub.services import audit, notes, privacy, screening

S = NoteState


def by_remote_id(remote_id: str) -> Note | None:
    """Return the note stored for a remote object id."""
    return db.session.scalar(sa.select(Note).where(Note.remote_id == remote_id))


def findings(article: RemoteArticle) -> list[privacy.Finding]:
    """Run the privacy check over an incoming note's text (the same check as for local text)."""
    fields = {"title": article.title, "summary": article.summary, "body": article.text, "place": article.place,
              "province": article.province, "tags": "\n".join(article.tags)}
    return screening.screen(fields)


def _terms(article: RemoteArticle) -> list[Term]:
    wanted = [("topic", s) for s in article.topics] + [("population", s) for s in article.populations]
    if not wanted:
        return []
    query = sa.select(Term).where(sa.tuple_(Term.kind, Term.slug).in_(wanted))
    return list(db.session.scalars(query))


def fill(note: Note, article: RemoteArticle) -> None:
    """Copy an incoming Article's fields onto the note that stores it."""
    note.title, note.summary = article.title, article.summary
    note.body, note.body_html, note.sections = article.text, article.content_html, {}
    note.language = article.language
    # The origin may narrow who reads its note; it never widens what a moderator here narrowed.
    note.visibility = (article.visibility if note.visibility is None
                       else _narrower(article.visibility, note.visibility))
    note.place, note.province, note.tags = article.place, article.province, article.tags
    note.terms = _terms(article)
    note.remote_url = article.url
    note.updated_at = min(article.updated or article.published or utcnow(), utcnow())
    note.remote_updated_at = article.updated or article.published


def _narrower(wanted: str, current: str) -> str:
    order = [v.value for v in Visibility]
    return wanted if order.index(wanted) <= order.index(current) else current


def _not_after_now(moment: dt.datetime | None) -> dt.datetime:
    now = utcnow()
    return min(moment, now) if moment else now


def receive(peer: PeerHub, article: RemoteArticle, *, at: dt.datetime | None = None) -> Note | None:
    """Store a Create or Update of a note from ``peer``; return the note (None when ignored).

    ``at`` is when the origin made the activity: a note deleted here comes back only through
    a version or an activity newer than the deletion (the origin published it again), never
    through a late or replayed one.
    """
    note = by_remote_id(article.object_id)
    if note is not None and note.origin_peer_id != peer.id:
        raise InvalidActivity("this object belongs to another hub")
    if note is None:
        note = _create(peer, article)
    elif note.state == S.DELETED.value:
        # Only a version made after the deletion revives it (the origin republished the note).
        newest = max([t for t in (article.updated, at) if t is not None], default=None)
        if not (newest and note.deleted_at and newest > note.deleted_at):
            return None
        _create(peer, article, note=note)
    elif _older(article, note):
        return None  # an older version arriving late: the newer one stays
    else:
        _update(note, article, trusted=peer.trust == "publish")
    _sync_translations(peer, note, article)
    return note


def _older(article: RemoteArticle, note: Note) -> bool:
    """Tell whether ``article`` is an older version than the one stored, both by its origin's clock."""
    version = article.updated or article.published
    return version is not None and note.remote_updated_at is not None and version < note.remote_updated_at


def _version_article(article: RemoteArticle, version: LanguageVersion) -> RemoteArticle:
    """Return a language version as an article of its own (a translation note)."""
    return replace(article, object_id=f"{article.object_id}#{language_tag(version.language)}",
                   language=version.language, title=version.title, summary=version.summary,
                   content_html=version.content_html, versions=[])


def _sync_translations(peer: PeerHub, original: Note, article: RemoteArticle) -> None:
    """Keep one translation note per language version the origin sent; drop versions it no longer sends."""
    db.session.flush()
    wanted = set()
    # A language we translated ourselves (and offered to the origin) keeps our translation.
    ours = set(db.session.scalars(sa.select(Note.language).where(
        Note.translation_of_id == original.id, Note.origin_peer_id.is_(None), Note.state != S.DELETED.value)))
    for version in article.versions:
        if version.language in ours:
            continue
        part = _version_article(article, version)
        wanted.add(part.object_id)
        translation = by_remote_id(part.object_id)
        if translation is None or translation.state == S.DELETED.value:
            translation = _create(peer, part, note=translation)
        else:
            _update(translation, part, trusted=peer.trust == "publish")
        translation.translation_of_id = original.id
    stale = sa.select(Note).where(Note.translation_of_id == original.id, Note.origin_peer_id == peer.id,
                                  Note.state != S.DELETED.value)
    for translation in db.session.scalars(stale):
        if translation.remote_id not in wanted:
            delete(peer, translation.remote_id or "", make_tombstone=False, at=article.updated)


def _create(peer: PeerHub, article: RemoteArticle, *, note: Note | None = None) -> Note:
    note = note or Note(origin_peer_id=peer.id, remote_id=article.object_id, author_id=None, project_id=None)
    note.deleted_at = None
    fill(note, article)
    db.session.add(note)
    _arrive(note, article, trusted=peer.trust == "publish")
    return note


def _arrive(note: Note, article: RemoteArticle, *, trusted: bool) -> None:
    """Publish a note that (again) arrives for its readers at once from a hub trusted to publish when the
    privacy check finds nothing, else queue it for our moderators; record what readers must hear."""
    was_published = note.state == S.PUBLISHED.value
    if trusted and not findings(article):
        note.state = S.PUBLISHED.value
        if not was_published:
            note.published_at = _not_after_now(article.published)
        db.session.flush()
        events.record("note.updated" if was_published else "note.published", subject_type="note",
                      subject_id=note.id, origin="remote")
    else:
        note.state, note.submitted_at, note.featured = S.SUBMITTED.value, utcnow(), False
        db.session.flush()
        if was_published:
            events.record("note.unpublished", subject_type="note", subject_id=note.id, origin="remote")


def _shown(note: Note) -> tuple:
    """Return what readers see of a note (its text and the short fields beside it)."""
    return (note.title, note.summary, note.body, note.language, note.place, note.province, list(note.tags or []))


# What the origin did to who may read its note, as the audit log says it: no longer public (an Update to its
# followers, to some hubs, or without the Public collection), or public again after that.
NARROWED, WIDENED = "note.narrowed_by_origin", "note.widened_by_origin"


def _audience_change(note: Note, article: RemoteArticle) -> str | None:
    """Tell whether the origin's new version takes a public note here from public view (NARROWED), or makes
    public again what it had taken from public view (WIDENED: not what a moderator here narrowed since)."""
    public = Visibility.PUBLIC.value
    if note.visibility == public and article.visibility != public:
        return NARROWED
    if note.visibility != public and article.visibility == public and note.state in (S.PUBLISHED.value,
                                                                                      S.SUBMITTED.value):
        last = audit.last_entry(note, actions=(NARROWED, WIDENED, "note.visibility"))
        return WIDENED if last is not None and last.action == NARROWED else None
    return None


def _update(note: Note, article: RemoteArticle, *, trusted: bool) -> None:
    """Apply the origin's new version; a changed text from a hub not trusted to publish is screened again.

    A public note the origin no longer addresses to the public has left public view: it stays for the
    readers the origin still shares it with, and our members' translations of it leave readers and review,
    as when the origin deletes it. Made public again, it arrives again, as a new note does (:func:`_arrive`).
    """
    notes.hold(note)  # a moderator publishing it meanwhile: the new text then goes back to review, never out unread
    before = _shown(note)
    audience = _audience_change(note, article)
    if audience is not None:
        audit.record(audience, actor=None, target=note, old=note.visibility, new=article.visibility)
    if audience == WIDENED:
        note.visibility = None  # the origin's own narrowing, lifted by the origin: no moderator's choice here
    fill(note, article)
    if audience == NARROWED:
        notes.take_down_translations(note, by=None, was_published=note.state == S.PUBLISHED.value,
                                     why="narrowed_by_origin", origin_keeps_its_own=True)
    elif audience == WIDENED:
        was_published = note.state == S.PUBLISHED.value
        _arrive(note, article, trusted=trusted)
        if was_published and note.state != S.PUBLISHED.value:
            notes.take_down_translations(note, by=None, was_published=True, why="changed_by_origin",
                                         origin_keeps_its_own=True)
        return
    if note.state != S.PUBLISHED.value:
        return  # waiting for review, rejected or taken down here: the new text waits there too
    if findings(article) or (not trusted and _shown(note) != before):
        note.state, note.submitted_at, note.featured = S.SUBMITTED.value, utcnow(), False
        events.record("note.unpublished", subject_type="note", subject_id=note.id, origin="remote")
        # Our members' translations leave readers and review with it (the origin's own ones are synced after).
        notes.take_down_translations(note, by=None, was_published=True, why="changed_by_origin",
                                     origin_keeps_its_own=True)
    else:
        events.record("note.updated", subject_type="note", subject_id=note.id, origin="remote")


def delete(peer: PeerHub, object_id: str, *, make_tombstone: bool, at: dt.datetime | None = None) -> Note | None:
    """Apply the origin's Delete: wipe the note, keep a tombstone; return it (None if unknown).

    ``at`` is the origin's time of deletion (by its clock, which later activities are compared with). A partner's
    translation of one of our notes it offered again after the deletion stays (:func:`_withdrawn_since`).
    """
    note = by_remote_id(object_id)
    if note is not None and note.origin_peer_id != peer.id:
        raise InvalidActivity("this object belongs to another hub")
    if note is not None and not _withdrawn_since(note, at):
        return note
    at = at or utcnow()
    if note is None:
        if not make_tombstone:
            return None
        note = Note(origin_peer_id=peer.id, remote_id=object_id, state=S.DELETED.value, deleted_at=at)
        db.session.add(note)
        db.session.flush()
        return note
    # A moderator deciding on the note meanwhile: whether partners and the index must hear of the
    # deletion depends on the state that decision leaves, so wait for it and read that state.
    notes.hold(note)
    if note.state == S.DELETED.value:
        # A later Delete of a note deleted here moves its time on: a replay of a version made between the two
        # (shared again, then deleted again) must not bring it back (receive).
        if note.deleted_at is None or at > note.deleted_at:
            note.deleted_at = at
        return note
    for translation in db.session.scalars(sa.select(Note).where(Note.translation_of_id == note.id,
                                                                 Note.origin_peer_id == peer.id)):
        delete(peer, translation.remote_id or "", make_tombstone=False, at=at)
    was_published = note.published_at is not None or note.state == S.PUBLISHED.value
    readers_had_it = note.state == S.PUBLISHED.value
    note.state, note.deleted_at = S.DELETED.value, at
    note.title = note.summary = note.body = note.body_html = note.place = note.province = ""
    note.sections, note.tags, note.terms, note.featured = {}, [], [], False
    note.revisions.clear()
    note.attachments.clear()
    notes.close_flags_of_deleted(note, by=None)
    db.session.execute(sa.delete(Comment).where(Comment.note_id == note.id))
    db.session.execute(sa.delete(ReviewMessage).where(ReviewMessage.note_id == note.id))
    if was_published:
        events.record("note.deleted", subject_type="note", subject_id=note.id, origin="remote")
    # Our members' translations of it: a Delete says only that its hub no longer shares it with us (deleted,
    # taken back, taken down or narrowed there), so that is what their translators are told.
    notes.take_down_translations(note, by=None, was_published=readers_had_it, why="removed_by_origin",
                                 origin_keeps_its_own=True)
    return note


def _withdrawn_since(note: Note, at: dt.datetime | None) -> bool:
    """Tell whether a Delete made at ``at`` follows the version of ``note`` stored here, when ``note`` is a partner's
    translation of one of our notes: its hub withdrew it, then offered it again (``remote_updated_at`` is also
    the time of the last Offer taken: hub.federation.conversation.on_offer), and the withdrawal came late (a
    retried dead letter, a slow queue). A Delete without a date, or for any other note, removes it all the same.
    """
    if note.translation_of_id is None or note.original is None or note.original.origin_peer_id is not None:
        return True
    return at is None or note.remote_updated_at is None or at >= note.remote_updated_at


def hide_from(peer: PeerHub) -> int:
    """Take down every published note of a blocked hub (they leave lists and search); return how many.

    Our members' translations of them leave readers and review with them, their translators told why.
    """
    count = 0
    for note in db.session.scalars(sa.select(Note).where(Note.origin_peer_id == peer.id,
                                                         Note.state == S.PUBLISHED.value)):
        note.state, note.featured = S.UNPUBLISHED.value, False
        events.record("note.unpublished", subject_type="note", subject_id=note.id, origin="remote")
        notes.take_down_translations(note, by=None, was_published=True, why=BLOCKED, origin_keeps_its_own=True)
        count += 1
    return count


def unhide_from(peer: PeerHub) -> int:
    """Bring back the notes a block took down (not those a moderator took down), and our members'
    translations the block took with them (not those changed or decided on since); return how many notes."""
    taken_down_by_moderator = sa.select(ReviewMessage.note_id).where(ReviewMessage.kind == "unpublished")
    query = sa.select(Note).where(Note.origin_peer_id == peer.id, Note.state == S.UNPUBLISHED.value,
                                  Note.published_at.is_not(None), Note.id.not_in(taken_down_by_moderator))
    count = 0
    for note in db.session.scalars(query):
        note.state = S.PUBLISHED.value
        events.record("note.published", subject_type="note", subject_id=note.id, origin="remote")
        notes.bring_back_translations(note, why=BLOCKED)
        count += 1
    return count


# The code said to translators and in the audit log when a block takes a partner's note down (hub.services.notes).
BLOCKED = "hub_blocked"
