"""Leaving the hub: a person's own data as JSON, and deleting their account.

Deleting an account purges the person: their login, e-mail and pseudonym (the user row),
sessions, reset tokens, API and feed tokens, notifications, marks, translation requests, follows,
mail choices and every mail queued or kept for them, the log-in failures counted under their
account and login names, and the note on the invitation they joined by. Their open invitations
are withdrawn.
What they wrote goes or stays as they choose: published notes (and comments) stay credited to
"former member", or go; everything unpublished goes. Deleted notes become tombstones whose
``note.deleted`` events send ``Delete`` to partner hubs; notes that stay are recorded as changed
(``note.updated``): the search index, feeds and cached pages drop the pseudonym, and partners get the
note again without ``peh:authorPseudonym`` (hubs like this one keep none of a note's, see
hub.federation.remote_notes; other software may). Audit entries keep what happened but
nothing of the person: their id is cut from every entry.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash

from hub import events
from hub.extensions import db
from hub.models import (ApiToken, AuditEntry, Comment, CommentState, EmailChange, Flag, Follow, Invitation,
                        LoginFailure, LoginSession, MailSetting, Mark, Note, NoteRevision, NoteState, Notification,
                        OutgoingMail, PasswordReset, PendingRevision, ReviewMessage, TranslationRequest)
from hub.models.base import utcnow
from hub.models.user import Role, User, UserStatus
from hub.permissions import can
from hub.services import accounts, attachment_files, audit, follows, mail_settings, notes
from hub.services.errors import NotAllowed, ServiceError
from hub.services.visibility import may_read

FORMAT = "practice-exchange-hub/personal-data"


# --- the person's own data -------------------------------------------------------------------

def _when(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() + "Z" if moment else None


def _text(item: Any) -> dict[str, Any]:
    return {"title": item.title, "summary": item.summary, "body": item.body, "sections": dict(item.sections or {})}


def _note(note: Note) -> dict[str, Any]:
    pending = note.pending
    return {
        "id": note.id, "state": note.state, "visibility": note.visibility, "language": note.language,
        **_text(note), "place": note.place, "province": note.province, "tags": list(note.tags or []),
        "topics": [t.slug for t in note.terms], "translation_of": note.translation_of_id,
        "created_at": _when(note.created_at), "updated_at": _when(note.updated_at),
        "published_at": _when(note.published_at),
        "revisions": [{"number": r.number, **_text(r), "created_at": _when(r.created_at),
                       "redacted_at": _when(r.redacted_at)} for r in note.revisions],
        "pending_changes": None if pending is None else {**_text(pending), "submitted_at": _when(pending.submitted_at),
                                                         "updated_at": _when(pending.updated_at)},
        # The files themselves are on the note's page and in the editor, for as long as the note exists.
        "attachments": [{"filename": a.filename, "content_type": a.content_type, "size": a.size,
                         "added_at": _when(a.created_at)} for a in note.attachments],
    }


def export(user: User, *, by: User) -> dict[str, Any]:
    """Return everything the hub holds that ``user`` wrote or set, as a JSON-ready mapping."""
    _require(user, by)
    mine = lambda model, column: list(db.session.scalars(sa.select(model).where(column == user.id)  # noqa: E731
                                                         .order_by(model.id)))
    own_notes = [n for n in mine(Note, Note.author_id) if n.state != NoteState.DELETED]
    locale = user.locale or current_app.config["DEFAULT_LOCALE"]
    return {
        "format": FORMAT, "version": 1, "exported_at": _when(utcnow()),
        "account": {
            "username": user.username, "email": user.email, "pseudonym": user.pseudonym, "role": user.role,
            "status": user.status, "project": user.project.slug if user.project else None,
            "locale": user.locale, "timezone": user.timezone, "bio": user.bio,
            "show_activity": user.show_activity, "created_at": _when(user.created_at),
        },
        "notes": [_note(n) for n in own_notes],
        # A revision of someone else's note (a moderator's redaction) holds that author's whole text: it
        # goes out only while the person may still read the note (not once taken back, or they stepped down).
        "revisions_of_other_notes": [
            {"note": r.note_id, "number": r.number, **_text(r), "created_at": _when(r.created_at)}
            for r in mine(NoteRevision, NoteRevision.editor_id)
            if r.note.author_id != user.id and may_read(r.note, user)],
        "comments": [{"id": c.id, "note": c.note_id, "body": c.body, "state": c.state,
                      "removed": c.removed_at is not None, "created_at": _when(c.created_at)}
                     for c in mine(Comment, Comment.author_id)],
        "review_messages": [{"note": m.note_id, "kind": m.kind, "body": m.body, "created_at": _when(m.created_at)}
                            for m in mine(ReviewMessage, ReviewMessage.author_id)],
        "marks": [{"note": m.note_id, "kind": m.kind, "created_at": _when(m.created_at)}
                  for m in mine(Mark, Mark.user_id)],
        "reports": [{"note": f.note_id, "comment": f.comment_id, "reason": f.reason, "detail": f.detail,
                     "created_at": _when(f.created_at)} for f in mine(Flag, Flag.reporter_id)],
        "translation_requests": [{"note": r.note_id, "language": r.language, "created_at": _when(r.created_at)}
                                 for r in mine(TranslationRequest, TranslationRequest.user_id)],
        "follows": [{"kind": f.kind, "about": follows.describe(f, locale=locale), "query": f.query,
                     "filters": dict(f.filters or {}), "frequency": f.frequency, "created_at": _when(f.created_at)}
                    for f in follows.of(user)],
        "mail_choices": {**mail_settings.choices(user).kinds,
                         "topic_in_subject": mail_settings.choices(user).topic_subjects},
    }


def _require(user: User, by: User) -> None:
    if user.id != getattr(by, "id", None) and not can(by, "manage_users"):
        raise NotAllowed(_l("Only administrators can do this."))


# --- deleting an account -----------------------------------------------------------------------

@dataclass(frozen=True)
class Deleted:
    """What deleting an account did, in numbers (what the audit entry keeps)."""

    notes_kept: int
    notes_deleted: int
    comments_kept: int
    comments_deleted: int


def delete_account(user: User, *, by: User, keep_published: bool, password: str | None = None) -> Deleted:
    """Delete ``user``'s account and purge their personal data.

    A person deleting their own account gives their password; an admin may delete anyone's but
    their own (that goes through their own account page). ``keep_published``: published notes
    and comments stay, credited to "former member"; otherwise they go like everything else.
    """
    _require(user, by)
    if user.id == by.id:
        if not password or not check_password_hash(user.password_hash, password):
            raise ServiceError(_l("Your password is not right."), field="password")
    if user.role == Role.ADMIN and _last_admin(user):
        raise NotAllowed(_l("The hub needs an administrator: make someone else an administrator first."))
    digests: set[str] = set()
    notes_kept = notes_deleted = 0
    for note in list(db.session.scalars(sa.select(Note).where(Note.author_id == user.id,
                                                              Note.state != NoteState.DELETED.value))):
        # A moderator publishing or taking the note down meanwhile: decide on the state their decision
        # leaves (a note published meanwhile must be kept or told deleted to partners, never lost between).
        notes.hold(note)
        if note.state == NoteState.DELETED:
            continue
        if keep_published and note.state == NoteState.PUBLISHED:
            note.author = None
            note.pending = None  # the changes were never reviewed: they leave with the person
            events.record("note.updated", subject_type="note", subject_id=note.id)
            notes_kept += 1
        else:
            digests |= notes.tombstone(note)
            notes_deleted += 1
    db.session.flush()
    comments_kept, comments_deleted = _comments(user, keep_published)
    accounts.withdraw_invitations(user, by=None if by.id == user.id else by, everything=True)
    _unlink(user)
    audit.record("user.delete", actor=None if by.id == user.id else by, by_admin=by.id != user.id,
                 notes_kept=notes_kept, notes_deleted=notes_deleted, comments_kept=comments_kept,
                 comments_deleted=comments_deleted)
    db.session.delete(user)
    db.session.commit()
    attachment_files.discard_unused(digests)
    return Deleted(notes_kept, notes_deleted, comments_kept, comments_deleted)


def _last_admin(user: User) -> bool:
    others = sa.select(sa.func.count()).select_from(User).where(
        User.role == Role.ADMIN.value, User.status == UserStatus.ACTIVE.value, User.id != user.id)
    return not db.session.scalar(others)


def _comments(user: User, keep_published: bool) -> tuple[int, int]:
    """Credit the person's published comments to "former member" or delete them; delete the rest."""
    kept = deleted = 0
    for comment in db.session.scalars(sa.select(Comment).where(Comment.author_id == user.id)):
        shown = comment.state == CommentState.PUBLISHED and comment.removed_at is None
        if keep_published and shown:
            comment.author = None
            # Partner hubs that have it drop the pseudonym too (sent again without it).
            events.record("comment.updated", subject_type="comment", subject_id=comment.id, note_id=comment.note_id)
            kept += 1
            continue
        if shown:
            # The row goes in this transaction: the event says all the worker needs to tell the hubs
            # that have it (hub.federation.conversation), as the comment is no longer there to read.
            events.record("comment.removed", subject_type="comment", subject_id=comment.id, note_id=comment.note_id,
                          written_here=True)
        db.session.delete(comment)
        deleted += 1
    return kept, deleted


def _unlink(user: User) -> None:
    """Delete the rows that are only the person's, and cut their id out of every other row.

    Explicitly, not by the foreign keys' ON DELETE: SQLite enforces none of them unless asked
    (``PRAGMA foreign_keys``), and a token left behind would keep reading, as whoever gets the id next.
    """
    uid = user.id
    for model, column in ((LoginSession, LoginSession.user_id), (PasswordReset, PasswordReset.user_id),
                          (EmailChange, EmailChange.user_id),
                          (Notification, Notification.user_id), (Mark, Mark.user_id),
                          (TranslationRequest, TranslationRequest.user_id), (Follow, Follow.user_id),
                          (MailSetting, MailSetting.user_id), (OutgoingMail, OutgoingMail.user_id),
                          (ApiToken, ApiToken.user_id)):
        db.session.execute(sa.delete(model).where(column == uid))
    names = [user.username, *([user.email] if user.email else [])]
    db.session.execute(sa.delete(LoginFailure).where(LoginFailure.key.in_(
        [accounts.throttle_key("user", str(uid)), *(accounts.throttle_key("account", name) for name in names)])))
    # The note on the invitation the person joined by says whom it was for: it goes with them.
    db.session.execute(sa.update(Invitation).where(Invitation.used_by_id == uid).values(note=""))
    # Tombstones keep their row (partner hubs were told of the deletion) but not their author.
    for model, column in ((Note, Note.author_id), (NoteRevision, NoteRevision.editor_id),
                          (PendingRevision, PendingRevision.editor_id),
                          (ReviewMessage, ReviewMessage.author_id), (Flag, Flag.reporter_id),
                          (Flag, Flag.resolved_by_id), (Invitation, Invitation.created_by_id),
                          (Invitation, Invitation.used_by_id), (AuditEntry, AuditEntry.actor_id),
                          (ApiToken, ApiToken.created_by_id)):
        db.session.execute(sa.update(model).where(column == uid).values({column.key: None}))
    db.session.execute(sa.update(AuditEntry).where(AuditEntry.target_type == "user", AuditEntry.target_id == uid)
                       .values(target_id=None))
