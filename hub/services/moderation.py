"""The moderation queue: submitted notes and open flags, resolving flags, and a moderator's removal of
personal data from a note, which reaches the comments that quote it (:func:`_finish_removal`)."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from hub.extensions import db
from hub.models.base import utcnow
from hub.models import Flag, Note, note_term, NoteState, PendingRevision, ReviewMessage, Notification, Term
from hub.models.user import User
from hub.permissions import can
from hub.services import audit, discussion, notes, screening
from hub.services.errors import NotAllowed, ServiceError, at_most

RESOLUTIONS = ("dismissed", "comment_removed", "note_unpublished", "author_asked")
EXPLANATION = "detail"  # the field a report's explanation is screened as (hub.services.notes.flag)


def _require_moderator(user: Any) -> None:
    if not can(user, "moderate"):
        raise NotAllowed(_l("Only moderators can do this."))


def submitted(*, project_id: int | None = None, language: str | None = None, topic: str | None = None,
              page: int = 1, per_page: int = 30):
    """Return a page of notes waiting for review, oldest first."""
    query = sa.select(Note).where(Note.state == NoteState.SUBMITTED.value).order_by(Note.submitted_at, Note.id)
    if project_id:
        query = query.where(Note.project_id == project_id)
    if language:
        query = query.where(Note.language == language)
    if topic:
        query = query.where(Note.id.in_(sa.select(note_term.c.note_id).join(Term).where(Term.slug == topic)))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def open_flags(*, reason: str | None = None, page: int = 1, per_page: int = 30):
    """Return a page of unresolved flags, oldest first."""
    query = sa.select(Flag).where(Flag.resolved_at.is_(None)).order_by(Flag.created_at, Flag.id)
    if reason:
        query = query.where(Flag.reason == reason)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def queue_counts() -> dict[str, int]:
    """Return how many notes, changes to published notes and held comments wait, and how many flags are open."""
    waiting = sa.select(sa.func.count()).select_from(Note).where(Note.state == NoteState.SUBMITTED.value)
    changes = (sa.select(sa.func.count()).select_from(PendingRevision).join(Note)
               .where(PendingRevision.submitted_at.is_not(None), Note.state == NoteState.PUBLISHED.value))
    flags = sa.select(sa.func.count()).select_from(Flag).where(Flag.resolved_at.is_(None))
    return {"submitted": db.session.scalar(waiting) or 0, "changes": db.session.scalar(changes) or 0,
            "comments": discussion.held_count(), "flags": db.session.scalar(flags) or 0}


def redact_note(note: Note, *, by: User, fields: dict[str, str], reason: str = "",
                version: str | None = None) -> notes.Redacted:
    """Let a moderator cut personal data out of a note ("redact now"): its text, history, translations, comments.

    See :func:`hub.services.notes.cut_personal_data` and :func:`_finish_removal`.
    """
    return _finish_removal(note, notes.cut_personal_data(note, by=by, fields=fields, reason=reason,
                                                            version=version), by=by)


def approve(note: Note, *, by: User, visibility: str | None = None, featured: bool = False, message: str = "",
            checked: Iterable[str] = (), redact: Iterable[str] = (), version: str | None = None) -> notes.Redacted:
    """Publish a submitted note (:func:`hub.services.notes.publish_submitted`); the findings the moderator
    chose to remove go from the comments quoting them too (:func:`_finish_removal`)."""
    done = notes.publish_submitted(note, by=by, visibility=visibility, featured=featured, message=message,
                                   checked=checked, redact=redact, version=version)
    return _finish_removal(note, done, by=by)


def accept_changes(note: Note, *, by: User, version: int, checked: Iterable[str] = (), redact: Iterable[str] = (),
                   message: str = "") -> notes.Redacted:
    """Publish an author's changes to a published note (:func:`hub.services.notes.publish_changes`); the
    findings the moderator chose to remove go from the comments quoting them too (:func:`_finish_removal`)."""
    done = notes.publish_changes(note, by=by, version=version, checked=checked, redact=redact, message=message)
    return _finish_removal(note, done, by=by)


def _finish_removal(note: Note, done: notes.Redacted, *, by: User) -> notes.Redacted:
    """Finish a moderator's removal of personal data from a note, and commit: each comment that quotes it
    is redacted too (:func:`hub.services.discussion.scrub_comments`), held ones included.

    The comments of the whole family count (the original and every translation of it): a reader
    quotes a name where they read it. The family's other texts readers see are only named (``still_in``):
    another author's note changes by the moderator's own redaction there. (Their changes not yet
    published lost it already: :func:`hub.services.notes.cut_personal_data`.)
    """
    comments = discussion.scrub_comments([each.id for each in notes.family(note)], done.removed, by=by)
    still_in = notes.still_holding(note, done.removed) if done.removed else ()
    db.session.commit()
    return dataclasses.replace(done, comments=comments, still_in=still_in)


def resolve_flag(item: Flag, *, by: User, resolution: str, message: str = "", confirm_privacy: bool = False) -> None:
    """Close a flag: dismiss it, remove the flagged comment, unpublish the note, or ask its author to redact it."""
    _require_moderator(by)
    if item.resolved_at is not None:
        raise ServiceError(_l("This flag has already been handled."))
    if resolution not in RESOLUTIONS:
        raise ServiceError(_l("Choose what to do with this flag."), field="resolution")
    if resolution == "comment_removed":
        if item.comment is None:
            raise ServiceError(_l("This flag is about the note, not a comment."), field="resolution")
        if item.comment.removed_at is None:
            discussion.remove_comment(item.comment, by=by)
    if resolution == "author_asked":
        _ask_author_to_redact(item, by=by, message=message, confirm_privacy=confirm_privacy)
    if resolution == "note_unpublished" and item.note.state == NoteState.PUBLISHED:
        notes.unpublish(item.note, by=by, reason=message or str(_l("Removed after a report by a member.")))
    item.resolved_at = utcnow()
    item.resolved_by_id = by.id
    item.resolution = resolution
    audit.record("flag.resolve", actor=by, target=item, resolution=resolution, reason=item.reason)
    db.session.commit()


def _ask_author_to_redact(item: Flag, *, by: User, message: str, confirm_privacy: bool) -> None:
    """Ask a flagged note's author to take personal data out, in the review thread (they are notified),
    after the privacy check every message in that thread passes."""
    if item.comment is not None or item.note.author_id is None:
        raise ServiceError(_l("Only a note written here has an author to ask: redact it yourself or take it down."),
                           field="resolution")
    if not message.strip():
        raise ServiceError(_l("Write a message so the author knows what to do."), field="message")
    message = at_most(message.strip(), notes.MESSAGE_LENGTH, field="message")
    notes.screen_thread_message(message, confirmed=confirm_privacy)
    note = item.note
    db.session.add(ReviewMessage(note=note, author=by, kind="redaction_requested", body=message))
    db.session.add(Notification(user_id=note.author_id, kind="note.redaction_requested", note=note))


def explanation_findings(item: Flag) -> list[screening.Finding]:
    """Return what the privacy check finds in a report's explanation (a reporter may have sent it anyway)."""
    return screening.screen({EXPLANATION: item.detail}) if item.detail else []


def explanations_findings(items: Sequence[Flag]) -> dict[int, list[screening.Finding]]:
    """Return :func:`explanation_findings` of each report of ``items`` that has an explanation, by id."""
    explained = [item for item in items if item.detail]
    found = screening.screen_each([{EXPLANATION: item.detail} for item in explained])
    return {item.id: findings for item, findings in zip(explained, found)}


def redact_explanation(item: Flag, *, by: User) -> int:
    """Cut what the privacy check finds out of a report's explanation, for good; return how many places."""
    _require_moderator(by)
    found = explanation_findings(item)
    if not found:
        raise ServiceError(_l("The privacy check finds nothing to remove in this report's explanation."))
    item.detail = screening.redact({EXPLANATION: item.detail}, found, language=item.note.language)[EXPLANATION]
    audit.record("flag.redact", actor=by, target=item, findings=len(found))
    db.session.commit()
    return len(found)
