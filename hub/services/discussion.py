"""Comments on published notes, screened for personal data like notes are.

A comment in which the privacy check finds nothing appears at once. One with findings is first
shown to its writer (warn → confirm); confirmed, it is *held*: only its writer and the moderators
see it until a moderator releases it, after ticking each finding as checked or removing it, or
declines it. Comments from partner hubs go through :func:`receive_remote_comment`, the same check.

Only published comments are announced (``comment.added`` in the event log, a notification to the
note's author); a held one is announced when it is released.
"""
from __future__ import annotations

import datetime as dt
import enum
import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload
from flask_babel import lazy_gettext as _l

from hub import events, text_safety, worker
from hub.database import lock_for_update
from hub.extensions import db
from hub.models import Comment, CommentState, CommentThread, Flag, Note, NoteState, Notification
from hub.models.base import utcnow
from hub.models.events import Event
from hub.models.user import User
from hub.permissions import can
from hub.services import audit, notes, privacy, redaction, screening
from hub.services.errors import NotAllowed, ServiceError
from hub.text import html_text, render_markdown
from hub.worker import DatabaseCursor

MAX_LENGTH = 5000
FIELD = "comment"
# The cursor of the event-log consumer that turns comment events into activities (hub.federation.conversation).
CONVERSATION_CONSUMER = "federation-conversation"
# The same text from the same member on the same note within this time is the same comment sent twice.
RESENT_WITHIN_SECONDS = 600


def _render(body: str) -> str:
    return render_markdown(body, local_hosts=notes.local_hosts(), top=3)  # under the note page's "Comments" <h2>


PERSONAL_DATA = _l("This comment may contain personal data. Check each highlighted place.")
# i18n: a member tried to edit their comment after a moderator removed it (or the note was deleted)
REMOVED = _l("This comment was removed, so it can no longer be edited.")
# i18n: a moderator's "publish" of a held comment was refused: its text changed while they read it
RELEASE_CHANGED = _l("The comment changed while you were reading it (another moderator removed personal data, or "
                     "its writer changed it), so it was not published. Read it again below.")
# i18n: a moderator's removal of personal data was refused: the comment's text changed while they edited it
REDACTED_MEANWHILE = _l("The comment changed while you were editing it (another moderator removed personal data, "
                        "or its writer changed it), so nothing was saved. The form now shows the comment as it "
                        "is: remove what is still there.")


def _clean(body: str) -> str:
    body = text_safety.without_controls(body or "").strip()
    if text_safety.shows_nothing(body):
        raise ServiceError(_l("Write something first."), field="body")
    if len(body) > MAX_LENGTH:
        raise ServiceError(_l("Keep comments under 5,000 characters."), field="body")
    return body


def findings(comment: Comment) -> list[privacy.Finding]:
    """Return the privacy check's findings in a comment (field name ``comment``)."""
    return findings_each([comment])[0]


def findings_each(comments: Sequence[Comment]) -> list[list[privacy.Finding]]:
    """Return the findings of each of ``comments`` (as :func:`findings`), reading the listed words once."""
    return screening.screen_each([{FIELD: comment.body} for comment in comments])


def add_comment(note: Note, *, by: User, body: str, confirm_privacy: bool = False,
                parent: Comment | None = None) -> Comment:
    """Comment on a published note, or answer one of its comments (``parent``).

    A comment with findings, once confirmed, waits for a moderator.
    """
    if not notes.may(by, "comment", note):
        raise NotAllowed(_l("You may not do this with this note now."))
    if parent is not None and (parent.note_id != note.id or parent.state != CommentState.PUBLISHED
                               or parent.removed_at is not None):
        raise NotAllowed(_l("You may not do this with this note now."))
    body = _clean(body)
    found = screening.require_confirmation({FIELD: body}, confirmed=confirm_privacy, message=PERSONAL_DATA)
    # Two copies of one form at the same moment (a double tap, two web processes) would both find
    # nothing below and both be saved: the second waits here until the first has committed.
    lock_for_update(note)
    again = _same_comment_just_sent(note, by=by, body=body, parent=parent)
    if again is not None:  # the same form sent twice (a double tap, a resent page): one comment
        db.session.commit()  # nothing to save: let the next writer go
        return again
    comment = Comment(note=note, author=by, body=body, body_html=_render(body),
                      state=(CommentState.HELD if found else CommentState.PUBLISHED).value)
    db.session.add(comment)
    db.session.flush()
    if parent is not None:  # the thread it answers travels with it (hub.federation.conversation)
        db.session.add(CommentThread(comment_id=comment.id, parent_id=parent.id))
    if found:
        audit.record("comment.hold", actor=by, target=comment, note=note.id, privacy_findings=len(found))
    else:
        _announce(comment)
    db.session.commit()
    return comment


def _lock(comment: Comment, *, gone: Any = None) -> None:
    """Lock ``comment`` (:func:`hub.database.lock_for_update`) and read it as committed: whoever changes it at the
    same moment waits, or is waited for. Gone meanwhile (its note deleted by its partner hub), the caller is told
    so: ``gone``, or "This comment was removed."."""
    lock_for_update(comment)
    try:
        db.session.refresh(comment)
    except sa.exc.InvalidRequestError:  # the row was deleted since it was read
        raise ServiceError(gone or _l("This comment was removed.")) from None


def may_edit(user: Any, comment: Comment) -> bool:
    """Tell whether ``user`` may change ``comment``: their own, under a note they may comment on now."""
    return (getattr(user, "is_authenticated", False) and comment.author_id is not None
            and comment.author_id == user.id and comment.note is not None and notes.may(user, "comment", comment.note))


def edit_comment(comment: Comment, *, by: User, body: str, confirm_privacy: bool = False,
                 version: str | None = None) -> Comment:
    """Let a comment's writer change its text; readers see the new text, marked "edited", and only it.

    The new text passes the same check as a new comment (warn → confirm): a published comment with
    confirmed findings goes back to the moderators (held, and withdrawn from partner hubs until
    released); a held one stays held. The old text is kept nowhere. The same text sent again (a
    double tap) changes nothing. The note's author is not told of an edit (:func:`_tell_notes_author`).
    ``version`` (:func:`text_version`) names the text the writer's form showed: when the comment changed since
    (a moderator cut personal data out of it, or the note's redaction did), nothing is saved, as the writer's
    text would put back what was cut.
    """
    if comment.removed_at is not None:
        raise ServiceError(REMOVED)
    if not may_edit(by, comment):
        raise NotAllowed(_l("You may not do this with this note now."))
    body = _clean(body)
    found = screening.require_confirmation({FIELD: body}, confirmed=confirm_privacy, message=PERSONAL_DATA)
    _lock(comment, gone=REMOVED)  # two edits at once: the second waits, then reads the first one's outcome
    if comment.removed_at is not None:  # a moderator removed it while its writer was editing
        db.session.commit()
        raise ServiceError(REMOVED)
    if body == comment.body:
        db.session.commit()  # nothing to save: let the next writer go
        return comment
    if version is not None and version != text_version(comment):
        db.session.commit()
        raise notes.ChangedMeanwhile(EDITED_MEANWHILE)
    was_shown = comment.state == CommentState.PUBLISHED
    _set_body(comment, body)
    comment.edited_at = utcnow()
    if found and was_shown:
        comment.state = CommentState.HELD.value
        events.record("comment.removed", subject_type="comment", subject_id=comment.id, note_id=comment.note_id)
    elif was_shown:
        events.record("comment.updated", subject_type="comment", subject_id=comment.id, note_id=comment.note_id)
    audit.record("comment.hold" if found and was_shown else "comment.edit", actor=by, target=comment,
                 note=comment.note_id, privacy_findings=len(found))
    db.session.commit()
    return comment


def _same_comment_just_sent(note: Note, *, by: User, body: str, parent: Comment | None) -> Comment | None:
    """Return ``by``'s comment with this very text on ``note`` (under ``parent``) from the last few
    minutes, if there is one: a form sent again, not a second comment."""
    since = utcnow() - dt.timedelta(seconds=RESENT_WITHIN_SECONDS)
    query = (sa.select(Comment).where(Comment.note_id == note.id, Comment.author_id == by.id, Comment.body == body,
                                      Comment.removed_at.is_(None), Comment.created_at >= since)
             .outerjoin(CommentThread, CommentThread.comment_id == Comment.id)
             .where(CommentThread.parent_id == parent.id if parent is not None else CommentThread.parent_id.is_(None))
             .order_by(Comment.id.desc()).limit(1))
    return db.session.scalar(query)


def receive_remote_comment(note: Note, *, body: str, trusted: bool, body_html: str | None = None,
                           **columns: Any) -> Comment:
    """Store a comment a partner hub sent about ``note``; the caller commits.

    The comment is shown at once only when the hub is ``trusted`` to publish and the privacy
    check finds nothing; otherwise it is held for a moderator like a local comment with findings.
    ``body`` is its plain text (what is scanned and searched), ``body_html`` its sanitised HTML
    (rendered from ``body`` when missing); ``columns`` are further Comment columns (the remote
    id, the origin hub, the remote writer's name).
    """
    comment = Comment(note=note, author=None, **columns)
    return _screen_remote(comment, body=body, body_html=body_html, trusted=trusted)


def restore_remote_comment(comment: Comment, *, body: str, trusted: bool, body_html: str | None = None) -> Comment:
    """Show again, as a new version, a partner's comment that a partner hub had withdrawn; the caller commits.

    It passes the same check as a new one (:func:`receive_remote_comment`).
    """
    comment.removed_at = None
    return _screen_remote(comment, body=body, body_html=body_html, trusted=trusted)


def _remote_body(body: str | None) -> str:
    """Bound a partner's comment as a local one is (its writer cannot be asked to shorten it; the whole
    stays at its origin), never splitting a character cluster."""
    return text_safety.cut((body or "").strip(), MAX_LENGTH)


def _screen_remote(comment: Comment, *, body: str, body_html: str | None, trusted: bool) -> Comment:
    comment.body = _remote_body(body)
    comment.body_html = body_html or _render(comment.body)
    found = screening.screen({FIELD: comment.body})
    comment.state = (CommentState.PUBLISHED if trusted and not found else CommentState.HELD).value
    db.session.add(comment)
    db.session.flush()
    if comment.state == CommentState.PUBLISHED:
        _announce(comment)
    return comment


def update_remote_comment(comment: Comment, *, body: str, body_html: str | None = None) -> Comment:
    """Apply a partner hub's correction of its comment; the caller commits.

    The new text passes the same check: a published comment in which it finds something goes
    back to the moderators (held, ``comment.removed`` for readers' copies), like a remote note.
    """
    was_shown = comment.state == CommentState.PUBLISHED and comment.removed_at is None
    comment.body = _remote_body(body)
    comment.body_html = body_html or _render(comment.body)
    if not was_shown:
        return comment
    if findings(comment):
        comment.state = CommentState.HELD.value
        events.record("comment.removed", subject_type="comment", subject_id=comment.id, note_id=comment.note_id)
    else:
        events.record("comment.updated", subject_type="comment", subject_id=comment.id, note_id=comment.note_id)
    return comment


def _announce(comment: Comment, *, redacted: bool = False) -> None:
    """Tell the event log and the note's author about a comment readers can now see.

    ``redacted``: a moderator here cut personal data out of it, so the hub that wrote it hears too.
    The note's author is told of a comment once (:func:`_tell_notes_author`).
    """
    extra = {"redacted": True} if redacted else {}
    events.record("comment.added", subject_type="comment", subject_id=comment.id, note_id=comment.note_id, **extra)
    _tell_notes_author(comment)


def _tell_notes_author(comment: Comment) -> None:
    """Tell the note's author of a new comment on it, once: an edit is no news to them.

    As on Discourse, GitHub or Mastodon's comment threads, a changed comment brings no new
    notification, nor a mail (hub.mail.consumer mails ``comment.added`` once per comment): not
    when its writer edits it, a moderator cuts personal data out of it, or a partner hub corrects
    it, and not when a comment held again after an edit is shown again. The notification they have
    quotes nothing (neither does the mail) and leads to the comment itself, so, read or unread, it
    shows only the comment as it stands.
    """
    note = comment.note
    if not note.author_id or note.author_id == comment.author_id:
        return
    told = sa.select(Notification.id).where(Notification.user_id == note.author_id, Notification.note_id == note.id,
                                            Notification.kind == "comment.added",
                                            Notification.data["comment"].as_integer() == comment.id)
    if db.session.scalar(told.limit(1)) is None:
        db.session.add(Notification(user_id=note.author_id, kind="comment.added", note=note,
                                    data={"comment": comment.id}))


def visible_comments(note: Note, viewer: Any = None) -> list[Comment]:
    """Return the comments ``viewer`` sees on ``note``, oldest first: published ones and their own held ones."""
    shown = Comment.state == CommentState.PUBLISHED.value
    if getattr(viewer, "is_authenticated", False):
        shown = sa.or_(shown, Comment.author_id == viewer.id)
    query = (sa.select(Comment).where(Comment.note_id == note.id, Comment.removed_at.is_(None), shown)
             .options(selectinload(Comment.author), joinedload(Comment.thread))  # each shows its writer and origin
             .order_by(Comment.id))
    return _in_thread_order(list(db.session.scalars(query)))


def _in_thread_order(comments: list[Comment]) -> list[Comment]:
    """Put each reply right after the comment it answers (and that comment's earlier replies).

    A reply whose parent is not shown keeps its place among the comments it came with.
    """
    ids = {c.id for c in comments}
    parents = {c.id: c.thread.parent_id for c in comments if c.thread is not None and c.thread.parent_id is not None}
    replies: dict[int, list[Comment]] = {}
    for comment in comments:
        if parents.get(comment.id) in ids:
            replies.setdefault(parents[comment.id], []).append(comment)
    ordered: list[Comment] = []

    def add(comment: Comment) -> None:
        ordered.append(comment)
        for reply in replies.get(comment.id, []):
            add(reply)
    for comment in comments:
        if parents.get(comment.id) not in ids:
            add(comment)
    return ordered


def comment_authors(note: Note) -> list[tuple[int, int | None]]:
    """Return (comment id, author id) of every comment on ``note`` someone may see, held ones too.

    A cached page's key names the reader's own comments among them: those are what the page
    shows differently to their writer (their held comments, no "report" form on their own).
    """
    query = sa.select(Comment.id, Comment.author_id).where(Comment.note_id == note.id, Comment.removed_at.is_(None))
    return [tuple(row) for row in db.session.execute(query.order_by(Comment.id))]


def _held_query():
    return (sa.select(Comment).join(Note, Note.id == Comment.note_id)
            .where(Comment.state == CommentState.HELD.value, Comment.removed_at.is_(None),
                   Note.state != NoteState.DELETED.value))


def held(*, page: int = 1, per_page: int = 30):
    """Return a page of held comments, oldest first, each with its note, writer and place in the conversation
    (read for the whole page at once)."""
    query = _held_query().order_by(Comment.id).options(
        selectinload(Comment.note).selectinload(Note.original), selectinload(Comment.author),
        selectinload(Comment.thread))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def held_count() -> int:
    """Return how many comments wait for a moderator."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(_held_query().subquery())) or 0


def _require_moderator(by: User) -> None:
    if not can(by, "moderate"):
        raise NotAllowed(_l("Only moderators can do this."))


def _require_held(comment: Comment) -> None:
    if comment.state != CommentState.HELD or comment.removed_at is not None:
        raise ServiceError(_l("This comment is no longer waiting for a moderator."))


def comment_language(comment: Comment) -> str:
    """Return the language a comment's redaction marker is written in: its note's."""
    return comment.note.language if comment.note else "en"


def release(comment: Comment, *, by: User, checked: Iterable[str] = (), redact: Iterable[str] = (),
            version: str | None = None) -> Reach | None:
    """Show a held comment to readers, after each finding is ticked as checked or removed.

    Return where the findings removed now went (as :func:`redact`), None when none was. A partner
    member's comment cut now, or while it was held, reaches the hub it was written on with the cuts.
    ``version`` (:func:`text_version`) names the text the moderator read: when another moderator's cut (or its
    writer's edit) changed it since, nothing happens, as the findings chosen were those of the other text and
    saving the cut computed from it would put back what was cut out meanwhile.
    """
    _require_moderator(by)
    _lock(comment)  # a redaction or another decision at the same moment: this one reads its outcome
    _require_held(comment)
    if version is not None and version != text_version(comment):
        raise notes.ChangedMeanwhile(RELEASE_CHANGED)
    found = findings(comment)
    chosen = screening.settle(found, checked=checked, redact=redact)
    reach = None
    if chosen:
        redacted = screening.redact({FIELD: comment.body}, chosen, language=comment_language(comment))
        reach = _cut(comment, redacted[FIELD])
    thread = comment.thread
    cut_before = thread is not None and thread.cut_while_held
    if thread is not None:
        thread.cut_while_held = False
    comment.state = CommentState.PUBLISHED.value
    audit.record("comment.release", actor=by, target=comment, note=comment.note_id, findings=len(found),
                 redacted=len(chosen))
    _notify_writer(comment, "comment.released")
    _announce(comment, redacted=bool(chosen) or cut_before)
    db.session.commit()
    return reach


def decline(comment: Comment, *, by: User) -> None:
    """Keep a held comment from readers for good; its writer is told."""
    _require_moderator(by)
    _lock(comment)  # a release at the same moment: the second one reads the first one's outcome
    _require_held(comment)
    comment.removed_at = utcnow()
    audit.record("comment.decline", actor=by, target=comment, note=comment.note_id)
    _notify_writer(comment, "comment.declined")
    db.session.commit()


class Reach(enum.Enum):
    """Where a moderator's redaction of a comment goes (:func:`redact`)."""

    EVERYWHERE = "everywhere"  # every copy follows: readers here, the hubs that have the note
    MARKED = "marked"  # the same, a partner member's comment whose cuts were marked so that its hub takes them
    NOT_WRITER = "not_writer"  # the partner hub the comment was written on keeps its original


# i18n: a member's save of their own comment was refused: the comment changed after they opened the form
EDITED_MEANWHILE = _l("Your comment changed while you were editing it (a moderator may have removed personal data "
                      "from it), so nothing was saved. The form now shows your comment as it is: make your change "
                      "again.")


def text_version(comment: Comment) -> str:
    """Name the text of ``comment`` a moderator edits (a digest): the redaction form carries it back."""
    return hashlib.sha256(comment.body.encode()).hexdigest()[:16]


def redact(comment: Comment, *, by: User, body: str, version: str | None = None) -> Reach:
    """Let a moderator cut personal data out of a comment ("redact now"); readers' copies follow.

    A partner member's comment goes back to its hub only as cuts (:func:`redaction.only_cuts`):
    spans simply deleted are marked so; any other change stays here and on the other hubs.
    ``version`` (:func:`text_version`) names the text the moderator edited: when the comment changed since
    (another moderator's cut, its writer's edit), nothing is saved, as their text would put back what was
    cut out meanwhile.
    """
    _require_moderator(by)
    _lock(comment)  # two moderators at once: the second waits, then compares with the first one's text
    if comment.removed_at is not None:
        raise ServiceError(_l("This comment was removed."))
    if version is not None and version != text_version(comment):
        raise notes.ChangedMeanwhile(REDACTED_MEANWHILE)
    if text_safety.shows_nothing(text_safety.without_controls(body or "")):
        raise ServiceError(_emptied(comment), field="body")
    body = _clean(body)
    if body == comment.body:
        raise ServiceError(_l("Nothing was removed. Delete the personal data from the text, then save."),
                           field="body")
    lost = _would_lose_a_cut(comment, body)
    if lost is not None:
        raise ServiceError(lost, field="body")
    reach = _redact_body(comment, by=by, body=body)
    db.session.commit()
    return reach


def _would_lose_a_cut(comment: Comment, body: str) -> Any | None:
    """Say why saving ``body``, a change the writer's hub does not take, would keep from it a cut not yet on its
    way to it; None when it would not.

    A cut made while the comment is held (by the moderator, or by a note's redaction scrubbing it) goes to
    that hub only at release, and then, as one saved on a shown comment, only once the conversation's
    consumer reads its event (``comment.added`` or ``comment.updated``, marked ``redacted``): either is then
    built from the comment as it stands, which would be this change, and that hub is never sent it
    (``edited_here``). Once the cut is queued for it, a later change keeps it
    (hub.federation.conversation._kept_for_its_writer). No copy of the cut text is kept anywhere else for
    it: the moderator publishes the comment first, or saves again once the worker has read the log.
    """
    if not writers_hub_takes_cuts(comment) or _for_the_writers_hub(comment, body)[1] is not Reach.NOT_WRITER:
        return None
    if comment.state == CommentState.HELD and comment.thread.cut_while_held:
        return _l("Nothing was saved: the personal data you cut out of this comment reaches the partner hub it was "
                  "written on only when the comment is published, and that hub does not take this change, so it "
                  "would never get the cut. Publish the comment first, then change it.")
    read = DatabaseCursor(CONVERSATION_CONSUMER).get()
    waiting = db.session.scalars(sa.select(Event.payload).where(
        Event.id > read, Event.kind.in_(("comment.added", "comment.updated")), Event.subject_type == "comment",
        Event.subject_id == comment.id))
    if not any(payload.get("redacted") for payload in waiting):
        return None
    if not worker.any_running():  # the cut goes on its way only when a worker reads the log: waiting is no help
        return _l("Nothing was saved: the personal data you cut out a moment ago is not yet on its way to the "
                  "partner hub this comment was written on, and that hub does not take this change, so it would "
                  "never get the cut. The hub's worker, which sends it, is not running, so waiting will not help: "
                  "ask an admin to start it (Administration, System says how), then save this change again.")
    return _l("Nothing was saved: the personal data you cut out a moment ago is not yet on its way to the "
              "partner hub this comment was written on, and that hub does not take this change, so it would "
              "never get the cut. Try again in a minute.")


def _emptied(comment: Comment) -> Any:
    """Say why a moderator's redaction that leaves a comment empty is refused, and what to do instead."""
    # i18n: %(marker)s is the redaction marker in the comment's language, e.g. “[personal data removed]”
    return _l("This would leave the comment empty, so nothing was saved. Write “%(marker)s” where you remove "
              "something; to hide the whole comment, remove it instead.",
              marker=screening.marker(comment_language(comment)))


def _redact_body(comment: Comment, *, by: User, body: str, **audited: Any) -> Reach:
    """Save a moderator's redaction of a comment and tell whom it concerns; the caller commits."""
    reach = _cut(comment, body)
    if comment.state == CommentState.HELD and reach is not Reach.NOT_WRITER and written_elsewhere(comment):
        comment.thread.cut_while_held = True  # its writer's hub hears at release (release)
    audit.record("comment.redact", actor=by, target=comment, note=comment.note_id, **audited)
    notes.close_personal_data_flags(by, Flag.comment_id == comment.id)
    _notify_writer(comment, "comment.redacted")
    if comment.state == CommentState.PUBLISHED:
        events.record("comment.updated", subject_type="comment", subject_id=comment.id, note_id=comment.note_id,
                      redacted=True)
    return reach


def scrub_comments(note_ids: Iterable[int], removed: redaction.Removed, *, by: User) -> int:
    """Cut what a redaction of a note removed out of the comments on it (and on its translations).

    A reader quoting the note ("call 王小明 on 138…") would otherwise keep the data in view after the
    moderator removed it from the note. Each comment changed is redacted as by :func:`redact`:
    readers' copies follow, a partner member's comment reaches its hub as cuts it takes. Return
    how many comments changed; the caller commits.
    """
    if not removed:
        return 0
    def scrubbed(comment: Comment) -> str:
        return redaction.scrub({FIELD: comment.body}, removed, language=comment_language(comment))[FIELD]

    query = (sa.select(Comment).where(Comment.note_id.in_(list(note_ids)), Comment.removed_at.is_(None))
             .options(joinedload(Comment.thread)).order_by(Comment.id))
    quoting = [comment.id for comment in db.session.scalars(query.execution_options(populate_existing=True))
               if scrubbed(comment) != comment.body]
    if not quoting:
        return 0
    # Those that quote it, locked (in id order) and read again as committed: a moderator's redaction of one of
    # them at the same moment waits, or is waited for and cut from (its version check then refuses a form read
    # before this). Only those: locking the others would widen the window for two redactions of one note's
    # family (the original and a translation) to wait on each other.
    changed = 0
    for comment in db.session.scalars(query.where(Comment.id.in_(quoting)).with_for_update(key_share=True, of=Comment)
                                      .execution_options(populate_existing=True)):
        body = scrubbed(comment)
        if body != comment.body:
            _redact_body(comment, by=by, body=body, with_note=True)
            changed += 1
    return changed


def written_elsewhere(comment: Comment) -> bool:
    """Tell whether a comment was written on a partner hub (and received from it or relayed)."""
    thread = comment.thread
    return thread is not None and thread.peer_id is not None


def writers_hub_takes_cuts(comment: Comment) -> bool | None:
    """Tell a moderator, before a redaction, what the hub a comment was written on will take of it.

    None: the comment was written here. True: that hub takes personal data cut out (deleted, or
    replaced by the marker), nothing else. False: it keeps its original whatever is changed here.
    """
    if not written_elsewhere(comment):
        return None
    return not comment.thread.edited_here and comment.note.origin_peer_id is None


def _for_the_writers_hub(comment: Comment, body: str) -> tuple[str, Reach]:
    """Return the text to save of a partner member's comment, and whether the hub it was written on takes it.

    That hub takes only spans replaced by the marker, checked on the text as it will check it; a
    comment under a partner's note (relayed here by its origin) goes to no other hub at all.
    """
    if not writers_hub_takes_cuts(comment):
        return body, Reach.NOT_WRITER
    before = html_text(comment.body_html)
    if redaction.only_cuts(before, html_text(_render(body))):
        return body, Reach.EVERYWHERE
    marked = redaction.mark_cuts(comment.body, body, language=comment_language(comment))
    if marked is not None and redaction.only_cuts(before, html_text(_render(marked))):
        return marked, Reach.MARKED
    return body, Reach.NOT_WRITER


def _cut(comment: Comment, body: str) -> Reach:
    """Save ``body``, personal data cut out of a comment's, as its writer's hub (if a partner) takes it."""
    reach = Reach.EVERYWHERE
    if written_elsewhere(comment):
        body, reach = _for_the_writers_hub(comment, body)
        comment.thread.edited_here = reach is Reach.NOT_WRITER
    _set_body(comment, body)
    return reach


def _set_body(comment: Comment, body: str) -> None:
    comment.body = body
    comment.body_html = _render(body)


def remove_comment(comment: Comment, *, by: User, reason: str = "") -> None:
    """Hide a comment (moderators)."""
    _require_moderator(by)
    was_shown = comment.state == CommentState.PUBLISHED and comment.removed_at is None
    comment.removed_at = utcnow()
    audit.record("comment.remove", actor=by, target=comment, note=comment.note_id)
    if was_shown:
        events.record("comment.removed", subject_type="comment", subject_id=comment.id, note_id=comment.note_id)
    db.session.commit()


def apply_redaction_from_origin(comment: Comment, *, body: str, body_html: str) -> None:
    """Take the text the note's origin hub redacted of our member's comment (checked by the caller); the caller commits.

    Readers here then see what they see on every other hub; the writer is told, as of a redaction here.
    """
    comment.body, comment.body_html = body, body_html
    _notify_writer(comment, "comment.redacted")


def _notify_writer(comment: Comment, kind: str) -> None:
    if comment.author_id:
        db.session.add(Notification(user_id=comment.author_id, kind=kind, note_id=comment.note_id,
                                    data={"comment": comment.id}))
