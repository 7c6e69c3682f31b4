"""Practice notes: writing, the review state machine, revisions, and what readers do with them.

Every operation checks its permission through :func:`may`, the one table of who may do what
to a note in which state, and commits the change together with its audit entry, its
notifications and its event-log row, so nothing is ever half-saved.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from markupsafe import escape

from hub import events, text_safety
from hub.database import lock_for_update
from hub.extensions import db
from hub.models.base import as_id, utcnow
from hub.models import (LANGUAGES, SECTIONS, Comment, CommentState, Flag, Mark, MarkTotal, Note, NoteRevision,
                        NoteState, Notification, PendingRevision, RemoteMark, ReviewMessage, Term, Visibility)
from hub.models.user import User
from hub.permissions import can
from hub.services import attachment_files, audit, names, privacy, redaction, screening
from hub.services.errors import NotAllowed, ServiceError, at_most
from hub.services.visibility import can_view, may_read
from hub.text import html_line, render_markdown

S = NoteState
EDITABLE = {S.DRAFT, S.CHANGES_REQUESTED, S.SUBMITTED, S.PUBLISHED, S.REJECTED, S.WITHDRAWN, S.UNPUBLISHED}
SUBMITTABLE = {S.DRAFT, S.CHANGES_REQUESTED, S.REJECTED, S.WITHDRAWN, S.UNPUBLISHED}
FLAG_REASONS = ("harmful", "personal_data", "spam", "wrong", "other")
MARK_KINDS = ("tried", "useful")
MAX_TAGS = 10
TAG_LENGTH = 40
PLACE_LENGTH = 100  # city or county, and province: each
MESSAGE_LENGTH = 4000  # a message in a review thread, a moderator's reason
FLAG_DETAIL_LENGTH = 1000


@dataclass
class NoteInput:
    """What an author writes; every field optional so that a half-written draft can be saved."""

    title: str = ""
    summary: str = ""
    body: str = ""
    sections: dict[str, str] = field(default_factory=dict)
    language: str = "zh_Hans"
    place: str = ""
    province: str = ""
    visibility: str = Visibility.MEMBERS.value
    term_ids: list[int] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


# --- who may do what --------------------------------------------------------------------

def _is_author(user: Any, note: Note) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and note.author_id == user.id


def _may_write(user: Any, note: Note) -> bool:
    return _is_author(user, note) and can(user, "write_notes")


# Each action's rule, given the note's state (asked one at a time: a page asks a dozen).
_RULES: dict[str, Callable[[Any, Note, NoteState], bool]] = {
    "edit": lambda user, note, state: state in EDITABLE and _may_write(user, note),
    "submit": lambda user, note, state: state in SUBMITTABLE and _may_write(user, note),
    "withdraw": lambda user, note, state: state in {S.SUBMITTED, S.PUBLISHED} and _may_write(user, note),
    "delete": lambda user, note, state: _may_write(user, note),
    "history": lambda user, note, state: _may_write(user, note) or can(user, "moderate"),
    "reply": lambda user, note, state: state != S.DRAFT and (_may_write(user, note) or can(user, "moderate")),
    "review": lambda user, note, state: state == S.SUBMITTED and can(user, "moderate"),
    "unpublish": lambda user, note, state: state == S.PUBLISHED and can(user, "moderate"),
    "feature": lambda user, note, state: state == S.PUBLISHED and can(user, "moderate"),
    "narrow": lambda user, note, state: can(user, "moderate"),
    "comment": lambda user, note, state: state == S.PUBLISHED and can(user, "comment"),
    "mark": lambda user, note, state: state == S.PUBLISHED and can(user, "comment"),
    "flag": lambda user, note, state: state == S.PUBLISHED and can(user, "flag") and not _is_author(user, note),
}


def may(user: Any, action: str, note: Note) -> bool:
    """Tell whether ``user`` may do ``action`` to ``note`` in its current state."""
    rule = _RULES.get(action)
    if rule is None:
        raise KeyError(f"unknown note action {action!r}")
    state = NoteState(note.state)
    # The visibility rule in memory: a page asks this a dozen times for one loaded note.
    return state != S.DELETED and rule(user, note, state) and may_read(note, user)


def _require(user: Any, action: str, note: Note) -> None:
    if not may(user, action, note):
        raise NotAllowed(_l("You may not do this with this note now."))


# --- one decision at a time ------------------------------------------------------------------

class ChangedMeanwhile(ServiceError):
    """Someone else changed the note between the page and the decision (another moderator, its author,
    its partner hub): nothing of this decision is saved."""


# i18n: a moderator's decision was refused because the note left review while they were reading it
DECIDED_MEANWHILE = _l("Another moderator decided on this note first, so your decision was not applied. "
                       "The page shows the note as it is now.")
MEANWHILE = {
    S.DELETED: _l("This note was deleted while you were reading it. Nothing was changed."),
    S.WITHDRAWN: _l("The author took this note back while you were reading it. Nothing was changed."),
    S.DRAFT: _l("The author took this note back while you were reading it. Nothing was changed."),
}
# i18n: a translation was refused for review or publication because the note it translates left its readers
ORIGINAL_NOT_PUBLISHED = _l("The original of this translation is no longer published (taken back, taken down or "
                            "deleted), so the translation can be neither submitted nor published.")
# What happened to a translation's original when the translation left readers or review (the code is kept in the
# audit entry and the translator's notification; ``why`` in :func:`take_down_translations`).
ORIGINAL_LEFT_MEANWHILE = {
    # i18n: a moderator's decision on a translation was refused: its original left readers while they read
    "withdrawn": _l("While you were reading, the author of the original took it back, so this translation left "
                    "review and its readers. Nothing was changed."),
    # i18n: as above, when a moderator took the original down
    "unpublished": _l("While you were reading, a moderator took the original down, so this translation left review "
                      "and its readers. Nothing was changed."),
    # i18n: as above, when the original was deleted
    "deleted": _l("While you were reading, the original was deleted, so this translation left review and its "
                  "readers. Nothing was changed."),
    # i18n: as above, when the partner hub the original came from deleted it or stopped sharing it with this hub
    "removed_by_origin": _l("While you were reading, the partner hub the original came from removed it, so this "
                            "translation left review and its readers. Nothing was changed."),
    # i18n: as above, when the partner hub the original came from changed it and the new text waits for review here
    "changed_by_origin": _l("While you were reading, the partner hub the original came from changed it and it went "
                            "back to review, so this translation left review and its readers. Nothing was changed."),
    # i18n: as above, when the partner hub the original came from stopped addressing it to the public
    "narrowed_by_origin": _l("While you were reading, the partner hub the original came from stopped sharing it with "
                             "the public, so this translation left review and its readers. Nothing was changed."),
    # i18n: as above, when an administrator here blocked the partner hub the original came from
    "hub_blocked": _l("While you were reading, this hub blocked the partner hub the original came from, so this "
                      "translation left review and its readers. Nothing was changed."),
}
TEXT_CHANGED = _l("The author changed the text since you opened it. Read it again.")
# i18n: a moderator's removal of personal data was refused: the note's text changed while they edited it
REDACTED_MEANWHILE = _l("The note changed while you were editing it (another moderator removed personal data, or "
                        "its author changed it), so nothing was saved. The form now shows the note as it is: "
                        "remove what is still there.")
# i18n: an author's save or button was refused because a moderator decided on the note meanwhile
DECIDED_WHILE_EDITING = _l("A moderator decided on this note while you had it open, so nothing was changed. "
                           "Look at the note again: what you wrote is still in the form.")


def hold(note: Note) -> bool:
    """Lock ``note``'s row until the transaction ends and read everything again; tell whether its state
    is still the one read before.

    A write that decides by a note's state must take it here first: read by two requests at once,
    the state would otherwise let both decide (two moderators publishing and rejecting the same
    note), or let a change land on a note decided meanwhile. PostgreSQL locks the row (the second
    request waits, then reads the first one's outcome), SQLite takes its one write lock
    (:func:`hub.database.lock_for_update`); nothing is written, so readers' caches stay
    (hub/content_version.py counts an ORM update of a note).
    """
    seen = note.state
    db.session.flush()  # what the caller changed is kept: the objects are read again, not thrown away
    lock_for_update(note)
    db.session.expire_all()
    return note.state == seen


def review_version(note: Note) -> str:
    """Name what a moderator reads of a submitted note (a digest of its text, files, readers and terms).

    The review page's decisions carry it, and are refused when the note changed since, by its
    author or, for a partner's note, by its origin.
    """
    shown = {**_fields_of(input_of(note), note), "visibility": note.visibility, "language": note.language,
             "terms": sorted(term.id for term in note.terms)}
    return hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()[:16]


def _still(note: Note, state: NoteState) -> None:
    """Refuse a moderator's decision on ``note`` unless it is (still) in ``state``, saying what happened."""
    if note.state != state:
        raise ChangedMeanwhile(_what_happened(note))


def _what_happened(note: Note) -> Any:
    """Say why ``note`` left the state a moderator read it in: a translation whose original left says so."""
    state = NoteState(note.state)
    if note.original is not None and state in (S.WITHDRAWN, S.UNPUBLISHED):
        last = audit.last_entry(note, actions=("note.withdraw", "note.unpublished", "translation.original_gone"))
        if last is not None and last.action == "translation.original_gone":
            return ORIGINAL_LEFT_MEANWHILE.get((last.details or {}).get("why"), ORIGINAL_NOT_PUBLISHED)
    return MEANWHILE.get(state, DECIDED_MEANWHILE)


def _take_for_decision(note: Note, by: User, action: str, state: NoteState, version: str | None = None, *,
                       publishes: bool = False) -> None:
    """Make ``note`` this moderator's to decide until commit: still in ``state``, ``action`` allowed, its
    row held, and (given ``version``) the very text they read. A translation is published (``publishes``)
    only while its original is published; it may be sent back or rejected meanwhile."""
    _still(note, state)
    _require(by, action, note)
    if not hold(note):
        _still(note, state)
    if publishes:
        _require_original_published(note)  # read after the hold: the original's state as it is now
    if version is not None and version != review_version(note):
        raise ChangedMeanwhile(TEXT_CHANGED)


def original_published(note: Note) -> bool:
    """Tell whether ``note`` may go to review and to readers as far as its original goes (not a translation,
    or one whose original is published)."""
    return note.original is None or note.original.state == S.PUBLISHED


def _require_original_published(note: Note) -> None:
    """Refuse to publish or submit a translation whose original is not published (it would be read alone)."""
    if not original_published(note):
        raise ChangedMeanwhile(ORIGINAL_NOT_PUBLISHED)


def _take_for_author(note: Note) -> None:
    """Hold ``note`` for its author's change; refuse when a moderator decided on it since it was read."""
    if not hold(note):
        raise ChangedMeanwhile(DECIDED_WHILE_EDITING)


class RedactedWhileEditing(ChangedMeanwhile):
    """A moderator removed personal data from the text an author's editor showed after it was opened."""


# i18n: an author's save or autosave was refused: a moderator removed personal data after the editor was opened
REDACTED_WHILE_EDITING = _l("A moderator removed personal data from this note after you opened this editor, so "
                            "nothing was saved: your text would put it back. Open the editor again for the current "
                            "text and redo your changes there, without the removed data. Until then your text "
                            "stays on this page.")


def _refuse_redacted_since(note: Note, seen: int | None) -> None:
    """Refuse an editor's text when a moderator's removal of personal data changed ``note`` since that editor
    showed it (``seen``: the note's :attr:`~Note.text_redactions` then; None: a caller that is no editor).

    Held first (:func:`hold`): a removal committed meanwhile is read, and none lands until this save commits.
    """
    if seen is None:
        return
    hold(note)
    if (note.text_redactions or 0) > seen:
        raise RedactedWhileEditing(REDACTED_WHILE_EDITING)


# --- writing -------------------------------------------------------------------------------

def clean(data: NoteInput) -> NoteInput:
    """Validate and normalise input, raising a field error a person can act on."""
    if data.language not in LANGUAGES:
        raise ServiceError(_l("Choose Chinese or English."), field="language")
    if data.visibility not in {v.value for v in Visibility}:
        raise ServiceError(_l("Choose who may read this note."), field="visibility")
    title = names.clean(data.title, field="title")
    if len(title) > 200:
        raise ServiceError(_l("Keep the title under 200 characters."), field="title")
    if len(data.summary) > 600:
        raise ServiceError(_l("Keep the summary to one or two sentences (600 characters at most)."),
                           field="summary")
    if _looks_like_street_address(data.place):
        raise ServiceError(_l("Give only the city or county, never a street address."), field="place")
    tags = []
    for tag in data.tags:
        tag = re.sub(r"\s+", " ", names.clean(tag, field="tags").lstrip("#"))
        if len(tag) > TAG_LENGTH:
            # i18n: %(n)d is the most characters a free tag may have; %(tag)s the tag that has more
            raise ServiceError(_l("A tag has at most %(n)d characters: shorten “%(tag)s”.", n=TAG_LENGTH, tag=tag),
                               field="tags")
        if tag and tag.lower() not in {t.lower() for t in tags}:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        # i18n: %(n)d is the largest number of free tags on a note
        raise ServiceError(_l("Use at most %(n)d tags.", n=MAX_TAGS), field="tags")
    running = text_safety.without_controls
    sections = {k: running(data.sections.get(k) or "").strip() for k in SECTIONS
                if running(data.sections.get(k) or "").strip()}
    return NoteInput(title=title, summary=running(data.summary).strip(), body=running(data.body).strip(),
                     sections=sections, language=data.language,
                     place=at_most(data.place.strip(), PLACE_LENGTH, field="place"),
                     province=at_most(data.province.strip(), PLACE_LENGTH, field="province"), visibility=data.visibility,
                     term_ids=list(dict.fromkeys(data.term_ids)), tags=tags)


_ADDRESS = re.compile(r"\d+\s*(号|號|弄|室|栋|棟|单元|楼|樓)|(路|街|巷|道)\s*\d|\d+\s+\w+\s+(street|st\.|road|rd\.|avenue|ave)",
                      re.IGNORECASE)


def _looks_like_street_address(place: str) -> bool:
    return bool(_ADDRESS.search(place))


def _apply(note: Note, data: NoteInput) -> None:
    note.title, note.summary, note.body = data.title, data.summary, data.body
    note.sections, note.tags = data.sections, data.tags
    if note.original is not None:
        _follow_original(note)
    else:
        note.language, note.place, note.province = data.language, data.place, data.province
        note.visibility = data.visibility
        note.terms = list(db.session.scalars(sa.select(Term).where(Term.id.in_(data.term_ids)))) if data.term_ids else []
    note.body_html = render_body(note)
    note.updated_at = utcnow()


def _follow_original(translation: Note) -> None:
    """Keep a translation's facts those of its original; saving it means it follows the newest revision."""
    original = translation.original
    translation.place, translation.province, translation.project = original.place, original.province, original.project
    translation.visibility, translation.terms = original.visibility, list(original.terms)
    translation.source_revision = original.revision_number


SECTION_TITLES = {
    # i18n: headings of a note's optional sections: what the practice was, then what happened
    "context": _l("Context"),
    "what_we_did": _l("What we did"),
    "what_happened": _l("What happened"),
    "what_we_learned": _l("What we learned"),
    "do_differently": _l("What we would do differently"),
}


@sa.event.listens_for(Note.body_html, "set")
def _keep_body_text(note: Note, body_html: str, _old: Any, _initiator: Any) -> None:
    """Keep ``note.body_text`` the text of ``body_html`` whenever any code sets it (search excerpts read it).

    An attribute event rather than a step of each service: notes of partner hubs, translations,
    redactions and tombstones set ``body_html`` in their own modules, and none may leave the text behind.
    """
    note.body_text = html_line(body_html or "")


def render_body(note: Note) -> str:
    """Render the note's body and structured sections into sanitised HTML (once, on save)."""
    return render_text(note.body, note.sections or {}, language=note.language)


def render_text(body: str, sections: dict[str, str], *, language: str) -> str:
    """Render a body and its structured sections, titled in the note's language, into sanitised HTML."""
    hosts = local_hosts()
    parts = [render_markdown(body, local_hosts=hosts)] if body else []
    with force_locale(language):
        for key in SECTIONS:
            text = sections.get(key)
            if text:
                title = escape(str(SECTION_TITLES[key]))
                parts.append(f'<section class="note-section" data-section="{key}"><h2>{title}</h2>'
                             f"{render_markdown(text, local_hosts=hosts, top=3)}</section>")
    return "\n".join(parts)


def local_hosts() -> frozenset[str]:
    """Return this hub's own hosts, whose links the Markdown renderer keeps as local."""
    from urllib.parse import urlsplit

    return frozenset({urlsplit(current_app.config["BASE_URL"]).netloc})


# The editor's key (Note.draft_key) as new_draft_key() makes it; anything else sent as one is not used.
DRAFT_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


def new_draft_key() -> str:
    """Return a fresh idempotency key for a new note's editor (see :attr:`Note.draft_key`)."""
    return secrets.token_urlsafe(24)


class SameKey(ServiceError):
    """The editor's key already names a note of this author: the form or autosave was sent again
    (a double tap, a retry, another web process). Nothing new is saved; ``note`` is the one it made."""

    def __init__(self, note: Note) -> None:
        super().__init__(_l("This note was already saved."))
        self.note = note


def keyed(author: User, key: str | None) -> Note | None:
    """Return ``author``'s note made by the editor whose key is ``key``, if any."""
    if not key or not DRAFT_KEY.fullmatch(key):
        return None
    return db.session.scalar(sa.select(Note).where(Note.author_id == author.id, Note.draft_key == key))


def _new_draft(author: User, data: NoteInput, key: str | None) -> Note:
    """Add a draft of ``author`` in their project to the session, or raise :class:`SameKey` for a repeat.

    The unique (author, key) decides between requests sent at the same moment, not a look-up before
    the insert: on PostgreSQL the second insert waits for the first transaction, then conflicts (or
    goes through, when the first was rolled back).
    """
    if not can(author, "write_notes"):
        raise NotAllowed(_l("Only contributors can write notes."))
    note = Note(author=author, project=author.project, state=S.DRAFT.value,
                draft_key=key if key and DRAFT_KEY.fullmatch(key) else None)
    _apply(note, clean(data))
    db.session.add(note)
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        db.session.rollback()  # the insert is the transaction's first write: nothing else is lost
        existing = keyed(author, key)
        if existing is None:
            raise
        raise SameKey(existing) from None
    return note


def create_draft(*, author: User, data: NoteInput, key: str | None = None) -> Note:
    """Start a note as a draft of ``author`` in their project (:class:`SameKey` when ``key`` made one already)."""
    note = _new_draft(author, data, key)
    db.session.commit()
    return note


def submit_new(*, author: User, data: NoteInput, key: str | None = None, confirm_privacy: bool = False) -> Note:
    """Write a new note and send it to the moderators in one transaction.

    Either the note exists submitted, or nothing is saved (a refusal, the privacy check, a crash):
    never a draft left behind that a second try would duplicate.
    """
    return submit(_new_draft(author, data, key), by=author, confirm_privacy=confirm_privacy)


# i18n: an author's "Submit for review" of a draft was refused because the note left the draft's states meanwhile
LEFT_DRAFT_MEANWHILE = _l("This note was submitted, taken back or deleted meanwhile (in another tab or window?), "
                          "so nothing was saved. What you wrote is still in the form.")


def save_and_submit(note: Note, *, by: User, data: NoteInput, confirm_privacy: bool = False,
                    seen: int | None = None) -> Note:
    """Save the author's edit of a note not in review and send it to the moderators, in one transaction.

    Both happen or neither: a refusal (a part missing, the privacy check, a translation whose
    original left its readers, personal data removed since the editor showed the note: ``seen``, as for
    :func:`save`) or a crash leaves the note as it was, and the editor gives the text back with what to
    change, as for a new note (:func:`submit_new`).
    """
    _require(by, "submit", note)
    cleaned = clean(data)
    if not hold(note) and not may(by, "submit", note):  # submitted or deleted in another tab meanwhile
        if submitted_already(note, data):  # by this very form, sent twice at once: nothing more to do
            db.session.commit()
            return note
        raise ChangedMeanwhile(LEFT_DRAFT_MEANWHILE)
    _refuse_redacted_since(note, seen)
    _apply(note, cleaned)
    return submit(note, by=by, confirm_privacy=confirm_privacy)


def submitted_already(note: Note, data: NoteInput) -> bool:
    """Tell whether ``note`` waits for review with this very text: its "Submit" was sent again, not a new edit."""
    return note.state == S.SUBMITTED and same_text(note, data)


def save(note: Note, *, by: User, data: NoteInput, confirm_privacy: bool = False, seen: int | None = None) -> Note:
    """Save the author's edit.

    A draft changes in place; a submitted note also keeps a revision (none when the text is the one it
    waits with: "Save" pressed again). A published note stays as
    readers know it: the edit becomes its pending revision, submitted for review, after the
    privacy check. Only an author an admin let skip review sees an edit without findings go live.
    Fewer readers (members only, say) is the exception: it takes effect at once, as a moderator's
    narrowing does, whatever else waits for review.

    ``seen`` is the note's :attr:`~Note.text_redactions` when the editor showed it: an editor opened
    before a moderator removed personal data would write it back, and is refused (:class:`RedactedWhileEditing`).
    """
    _require(by, "edit", note)
    cleaned = clean(data)
    state = NoteState(note.state)
    if state in (S.SUBMITTED, S.PUBLISHED):  # readers (or a moderator deciding) get this text: it must be whole
        _take_for_author(note)  # and never land on a note a moderator decided on meanwhile
        _require_complete(cleaned)
    _refuse_redacted_since(note, seen)
    if state == S.SUBMITTED and same_text(note, data):  # "Save" pressed again: the revision is kept already
        db.session.commit()
        return note
    if state == S.PUBLISHED:
        cleaned.visibility = _narrower(cleaned.visibility, note.visibility)
        findings = screening.require_confirmation(_fields_of(cleaned, note), confirmed=confirm_privacy)
        if cleaned.visibility != note.visibility:  # fewer readers needs no review: at once, as a moderator would
            _narrow(note, by, cleaned.visibility)
            if note.pending is None and same_text(note, cleaned):  # nothing else changed: nothing waits
                db.session.commit()
                return note
        if findings or not by.edits_skip_review:
            _keep_pending(note, by, cleaned, submit=True)
            audit.record("note.changes_submit", actor=by, target=note, privacy_findings=len(findings))
            db.session.commit()
            return note
        note.pending = None  # an older pending revision is replaced by this edit (delete-orphan)
    _apply(note, cleaned)
    if state in (S.SUBMITTED, S.PUBLISHED):
        _snapshot(note, by)
    if state == S.PUBLISHED:
        events.record("note.updated", subject_type="note", subject_id=note.id)
    db.session.commit()
    return note


def autosaves(note: Note) -> bool:
    """Tell whether the editor's autosave may keep the author's text of ``note`` on the server."""
    return NoteState(note.state) in (S.DRAFT, S.CHANGES_REQUESTED, S.PUBLISHED)


def autosave(note: Note, *, by: User, data: NoteInput, seen: int | None = None) -> Note:
    """Keep the editor's text: a draft changes; a published note's text goes into its pending revision
    (``seen``: as for :func:`save`)."""
    if note.state != S.PUBLISHED:
        if not autosaves(note):
            raise ServiceError(_l("This note is not a draft: save it with the button."))
        return save(note, by=by, data=data, seen=seen)
    _require(by, "edit", note)
    _take_for_author(note)
    _refuse_redacted_since(note, seen)
    cleaned = clean(data)
    cleaned.visibility = _narrower(cleaned.visibility, note.visibility)
    _keep_pending(note, by, cleaned, submit=False)
    db.session.commit()
    return note


def _narrower(wanted: str, current: str) -> str:
    """An edit of a published note may narrow its audience but not widen it past review."""
    return wanted if Visibility(wanted).rank <= Visibility(current).rank else current


def _snapshot(note: Note, by: User) -> NoteRevision:
    note.revision_number += 1
    revision = NoteRevision(note=note, number=note.revision_number, editor=by, title=note.title,
                            summary=note.summary, body=note.body, sections=dict(note.sections or {}))
    db.session.add(revision)
    return revision


# --- pending revisions of published notes ------------------------------------------------

def _keep_pending(note: Note, by: User, data: NoteInput, *, submit: bool) -> PendingRevision:
    """Write ``data`` into the note's pending revision (made when missing); ask for review when ``submit``."""
    pending = note.pending
    if pending is None:
        pending = note.pending = PendingRevision(note=note, version=0)
        db.session.add(pending)
    pending.title, pending.summary, pending.body = data.title, data.summary, data.body
    pending.sections, pending.tags, pending.term_ids = data.sections, data.tags, data.term_ids
    pending.language, pending.place, pending.province = data.language, data.place, data.province
    pending.visibility = data.visibility
    pending.editor = by
    pending.version = (pending.version or 0) + 1
    pending.updated_at = utcnow()
    if submit and pending.submitted_at is None:
        pending.submitted_at = utcnow()
    return pending


def pending_input(pending: PendingRevision) -> NoteInput:
    """Return a pending revision's text as input (for the editor and for applying it)."""
    return NoteInput(title=pending.title, summary=pending.summary, body=pending.body,
                     sections=dict(pending.sections or {}), language=pending.language, place=pending.place,
                     province=pending.province, visibility=pending.visibility,
                     term_ids=list(pending.term_ids or []), tags=list(pending.tags or []))


def draft_of(note: Note) -> NoteInput:
    """Return what the author's editor shows: a published note's pending changes, else the note."""
    return pending_input(note.pending) if note.pending is not None else input_of(note)


def same_text(note: Note, data: NoteInput) -> bool:
    """Tell whether saving ``data`` would leave what the author edits of ``note`` as it is (a form sent again)."""
    try:
        cleaned = clean(data)
    except ServiceError:
        return False
    current = draft_of(note)
    return (dataclasses.replace(cleaned, term_ids=sorted(cleaned.term_ids))
            == dataclasses.replace(current, term_ids=sorted(current.term_ids)))


def waiting_changes(*, page: int = 1, per_page: int = 30):
    """Return a page of published notes whose authors submitted changes, oldest request first."""
    query = (sa.select(PendingRevision).join(Note)
             .where(PendingRevision.submitted_at.is_not(None), Note.state == S.PUBLISHED.value)
             .order_by(PendingRevision.submitted_at, PendingRevision.id))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def pending_findings(pending: PendingRevision) -> tuple[dict[str, str], list[privacy.Finding]]:
    """Scan a pending revision; return the scanned fields and the findings in them."""
    fields = _fields_of(pending_input(pending), pending.note)
    return fields, screening.screen(fields)


def other_changes(note: Note) -> list[str]:
    """Name what a published note's pending revision changes besides its text (place, tags, readers...)."""
    pending, current = pending_input(note.pending), input_of(note)
    changed = [name for name in ("language", "place", "province", "visibility", "tags")
               if getattr(pending, name) != getattr(current, name)]
    if sorted(pending.term_ids) != sorted(current.term_ids):
        changed.append("terms")
    return changed


def _require_pending(by: User, note: Note, version: int | None) -> PendingRevision:
    """Return the changes a moderator decides on, held until commit (see :func:`hold`): still waiting,
    and (given ``version``) the very ones they read."""
    if not can(by, "moderate") or not can_view(note, by):
        raise NotAllowed(_l("Only moderators can do this."))
    _still(note, S.PUBLISHED)
    if not hold(note):
        _still(note, S.PUBLISHED)
    pending = note.pending
    if pending is None or pending.submitted_at is None:
        raise ChangedMeanwhile(CHANGES_GONE)
    if version is not None and version != pending.version:
        raise ChangedMeanwhile(TEXT_CHANGED)
    return pending


# i18n: changes to a published note were decided on by another moderator, or taken back by their author
CHANGES_GONE = _l("These changes are no longer waiting for review: another moderator decided on them first, "
                  "or the author took them back.")


def accept_changes(note: Note, *, by: User, version: int, checked: Iterable[str] = (), message: str = "") -> Note:
    """Publish a published note's pending revision once each finding is ticked as checked.

    A moderator who removes findings goes through :func:`hub.services.moderation.accept_changes`,
    which also cuts them out of the comments quoting them.
    """
    publish_changes(note, by=by, version=version, checked=checked, message=message)
    db.session.commit()
    return note


def publish_changes(note: Note, *, by: User, version: int, checked: Iterable[str] = (), redact: Iterable[str] = (),
                    message: str = "") -> Redacted:
    """Publish a published note's pending revision after each finding is ticked or redacted; the caller commits.

    Return what the moderator removed (cut out of the note's history and translations too).
    """
    pending = _require_pending(by, note, version)
    data = pending_input(pending)
    if _missing_part(data):  # kept by the editor's autosave, or submitted before changes had to be whole
        raise ServiceError(_l("These changes leave the note without a title, a summary or any text. "
                              "Send them back to the author with a message."))
    fields, findings = pending_findings(pending)
    chosen = screening.settle(findings, checked=checked, redact=redact)
    data = _with_text(data, screening.redact(fields, chosen, language=data.language))
    data.visibility = _narrower(data.visibility, note.visibility)
    _apply(note, data)
    _snapshot(note, pending.editor or by)
    db.session.delete(pending)
    note.pending = None
    for attachment in note.attachments:
        attachment.pending = False
    done = _scrub_chosen(note, fields, chosen)
    decision = ReviewMessage(note=note, author=by, kind="changes_accepted", body=message.strip())
    db.session.add(decision)
    audit.record("note.changes_accept", actor=by, target=note, privacy_findings=len(findings),
                 redacted=len(chosen))
    _notify_author(note, "note.changes_accepted")
    _record_review_message(decision, {note.author_id} - {by.id, None})
    events.record("note.updated", subject_type="note", subject_id=note.id)
    return done


def return_changes(note: Note, *, by: User, message: str) -> Note:
    """Send a published note's pending revision back to its author with a message; readers keep the text."""
    pending = _require_pending(by, note, None)
    _need_message(message)
    pending.submitted_at = None
    decision = ReviewMessage(note=note, author=by, kind="changes_returned", body=message.strip())
    db.session.add(decision)
    audit.record("note.changes_return", actor=by, target=note)
    _notify_author(note, "note.changes_returned")
    _record_review_message(decision, {note.author_id} - {by.id, None})
    db.session.commit()
    return note


def discard_changes(note: Note, *, by: User) -> Note:
    """Let the author drop their pending changes to a published note, attachments added since included."""
    _require(by, "edit", note)
    added = [a for a in note.attachments if a.pending]
    if note.pending is None and not added:
        return note
    if note.pending is not None:
        db.session.delete(note.pending)
        note.pending = None
    digests = {a.sha256 for a in added}
    for attachment in added:
        note.attachments.remove(attachment)
    audit.record("note.changes_discard", actor=by, target=note, attachments=len(added))
    db.session.commit()
    attachment_files.discard_unused(digests)
    return note


def hold_for_review(note: Note, *, by: User) -> None:
    """Make sure moderators see a published note's changes: its pending revision, submitted for review.

    When the author changed only attachments, the revision holds the published text, so the
    moderator sees "no changes to the text" beside the new attachments. The caller commits.
    """
    pending = note.pending
    _keep_pending(note, by, pending_input(pending) if pending is not None else input_of(note), submit=True)


def _fold_pending(note: Note) -> None:
    """A note leaving its readers keeps the author's pending changes as its own text (reviewed on resubmission)."""
    if note.pending is not None:
        data = pending_input(note.pending)
        data.visibility = _narrower(data.visibility, note.visibility)
        _apply(note, data)
        db.session.delete(note.pending)
        note.pending = None
    for attachment in note.attachments:
        attachment.pending = False


def _with_text(data: NoteInput, fields: dict[str, str]) -> NoteInput:
    """Return ``data`` with its title, summary, body, sections, place, province and tags taken from ``fields``."""
    data.title, data.summary, data.body, data.place = fields["title"], fields["summary"], fields["body"], fields["place"]
    data.sections = {key: fields[f"section:{key}"] for key in SECTIONS if fields.get(f"section:{key}")}
    data.province = fields.get("province", data.province)
    data.tags = _tags_of(fields, data.tags)
    return data


def _apply_text(note: Note, fields: dict[str, str]) -> None:
    """Replace a note's text (title, summary, body, sections, place, province, tags) with ``fields``, rendered again."""
    redaction.set_text_fields(note, fields)
    note.place = fields.get("place", note.place)
    note.province = fields.get("province", note.province)
    note.tags = _tags_of(fields, note.tags)
    note.body_html = render_body(note)
    note.updated_at = utcnow()


def _tags_of(fields: dict[str, str], tags: list[str] | None) -> list[str]:
    """Return the tags of scanned ``fields`` (one a line, see :func:`_fields_of`), else ``tags``."""
    if "tags" not in fields:
        return list(tags or [])
    return [tag for tag in fields["tags"].split("\n") if tag.strip()]


def _notify_author(note: Note, kind: str) -> None:
    if note.author_id:
        db.session.add(Notification(user_id=note.author_id, kind=kind, note=note))


def _writer_of_changes(note: Note) -> int | None:
    """Return who wrote the note's pending changes (the last to save them), else its author."""
    return (note.pending.editor_id if note.pending is not None else None) or note.author_id


def _notify_cut(redacted: Note, texts: Iterable[Note], changes: Iterable[Note]) -> None:
    """Tell whom a moderator's removal of personal data concerns, once each, naming the note only.

    The author of each note in ``texts`` (whose text lost it: the note ``redacted``, translations of it)
    is told so, a translator that it was their translation, and in the same notice of their own
    pending changes when those lost it too; whoever wrote the other pending changes in ``changes`` is
    told of those. Their editors opened before now are refused (:class:`RedactedWhileEditing`): the
    notice sends them to the note.
    """
    changes = list(changes)
    told = set()
    for note in texts:
        own_changes = note in changes and _writer_of_changes(note) == note.author_id
        if note.author_id:
            data = {"changes": True} if own_changes else {}
            if note is not redacted:  # cut from a translation because it was cut from its original
                data["translation"] = True
            db.session.add(Notification(user_id=note.author_id, kind="note.redacted", note=note, data=data))
        if own_changes:
            told.add(note.id)
    for note in changes:
        if note.id not in told and (writer := _writer_of_changes(note)):
            db.session.add(Notification(user_id=writer, kind="note.changes_redacted", note=note))


# --- privacy check ---------------------------------------------------------------------

def _fields_of(data: NoteInput, note: Note | None = None) -> dict[str, str]:
    # Province and tags are free text shown to every reader (and as search facets): checked like the place.
    fields = {"title": data.title, "summary": data.summary, "body": data.body, "place": data.place,
              "province": data.province or "", "tags": "\n".join(data.tags or [])}
    fields.update({f"section:{k}": v for k, v in data.sections.items()})
    for attachment in (note.attachments if note is not None else []):
        fields[f"attachment:{attachment.id}"] = attachment.filename
    return fields


def input_of(note: Note) -> NoteInput:
    """Return the note's current text as input (for re-checking and editing)."""
    return NoteInput(title=note.title, summary=note.summary, body=note.body, sections=dict(note.sections or {}),
                     language=note.language, place=note.place, province=note.province,
                     visibility=note.visibility, term_ids=[t.id for t in note.terms], tags=list(note.tags or []))


def privacy_findings(note: Note) -> tuple[dict[str, str], list[privacy.Finding]]:
    """Scan the note as it stands; return the scanned fields and the findings in them."""
    fields = _fields_of(input_of(note), note)
    return fields, screening.screen(fields)


def scan_input(data: NoteInput) -> tuple[dict[str, str], list[privacy.Finding]]:
    """Scan text being edited (the editor's live check, the privacy-check page), normalised as saving
    normalises it when it can be (so highlights fall where saving's findings are: " 138…" in a tag)."""
    try:
        data = clean(data)
    except ServiceError:
        pass  # text still being written: check it as it stands
    fields = _fields_of(data)
    return fields, screening.screen(fields)


@dataclass(frozen=True)
class _Scrubbed:
    """What :func:`_scrub_everywhere` changed besides the note itself."""

    revisions: int  # earlier revisions changed
    changes: tuple[Note, ...]  # notes of the family whose pending changes lost something
    translations: tuple[Note, ...]  # translations whose own text did


def _scrub_everywhere(note: Note, removed: redaction.Removed) -> _Scrubbed:
    """Cut removed personal data out of the note's revisions and translations, and out of the pending
    changes of every note of its :func:`family`.

    Return how many revisions were changed, the notes whose pending changes were and the translations
    whose text was. Published translations are re-indexed and sent again to partner hubs through their
    ``note.updated`` events.
    Pending changes reach readers only through a moderator's "Accept", who could not tell a name there
    from any other word: they lose what a moderator removed from any version of the note, the
    original's too (whose published text only its own redaction changes, see :func:`still_holding`).
    Each note whose text or pending changes lost something counts it (:attr:`Note.text_redactions`),
    the note itself too (its caller cut it from its text): its author's editors opened before may not save.
    """
    purged = redaction.scrub_revisions(note.revisions, removed, language=note.language)
    translations = []  # whose own text lost something
    for translation in note.translations:
        if translation.state == S.DELETED:
            continue
        if redaction.scrub_item(translation, removed, language=translation.language):
            translation.body_html = render_body(translation)
            translations.append(translation)
            if translation.state == S.PUBLISHED:
                events.record("note.updated", subject_type="note", subject_id=translation.id, redacted=True)
        purged += redaction.scrub_revisions(translation.revisions, removed, language=translation.language)
    changes = tuple(each for each in family(note) if each.pending is not None
                    and redaction.scrub_item(each.pending, removed, language=each.pending.language))
    changed = [note] if removed else []  # the caller cut it from the note's own text
    for each in {id(each): each for each in (*changed, *translations, *changes)}.values():
        each.text_redactions = (each.text_redactions or 0) + 1  # its editors opened before now may not save
    _scrub_said_about(note, removed)
    return _Scrubbed(revisions=purged, changes=changes, translations=tuple(translations))


def family(note: Note) -> list[Note]:
    """Return the notes that show one text in its languages: the original (``note`` or the one it
    translates) first, then that original's translations, leaving out deleted ones."""
    original = note.original or note
    return [each for each in (original, *original.translations) if each.state != S.DELETED]


def still_holding(note: Note, removed: redaction.Removed) -> tuple[Note, ...]:
    """Return the other notes of ``note``'s :func:`family` whose text readers see still holds what was
    removed from it (their pending changes lost it in :func:`_scrub_everywhere`)."""
    return tuple(other for other in family(note) if other.id != note.id
                 and redaction.scrub(redaction.text_fields(other), removed, language=other.language)
                 != redaction.text_fields(other))


def _scrub_said_about(note: Note, removed: redaction.Removed) -> None:
    """Cut removed personal data out of the note's review thread and of the reports about it.

    The author quoting the number to a moderator, or a reader's report naming the person, would
    otherwise keep it for good, for the author and every moderator to read.
    """
    # What the check finds only: the literal runs an edit deleted are pieces of the note's own
    # sentences (a diff aligns "Call Lee on 138…" with "Call the centre." letter by letter).
    removed = redaction.Removed(fingerprints=removed.fingerprints)
    if not removed:
        return
    said = [(message, "body") for message in db.session.scalars(
        sa.select(ReviewMessage).where(ReviewMessage.note_id == note.id))]
    said += [(report, "detail") for report in db.session.scalars(sa.select(Flag).where(Flag.note_id == note.id))]
    for item, name in said:
        text = getattr(item, name) or ""
        scrubbed = redaction.scrub({name: text}, removed, language=note.language)[name]
        if scrubbed != text:  # a report's column is bounded, and the marker may be longer than what it replaces
            setattr(item, name, text_safety.cut(scrubbed, Flag.detail.type.length) if name == "detail" else scrubbed)


def _files_named_with_personal_data(note: Note, removed: redaction.Removed) -> list[Any]:
    """Return the note's attachments whose names hold what the check finds, or what a redaction removed."""
    named = []
    for attachment in note.attachments:
        name = {f"attachment:{attachment.id}": attachment.filename}
        if screening.screen(name) or redaction.scrub(name, removed, language=note.language) != name:
            named.append(attachment)
    return named


def _refuse_emptied(old: dict[str, str], new: dict[str, str], *, language: str) -> None:
    """Refuse a redaction that leaves the note without the text or the summary it had: readers would
    find a title over nothing. The moderator writes the marker where they cut, or takes the note down."""
    def text(fields: dict[str, str]) -> bool:
        return any(value.strip() for name, value in fields.items() if name == "body" or name.startswith("section:"))

    marker = screening.marker(language)
    if text(old) and not text(new):
        # i18n: %(marker)s is the redaction marker in the note's language, e.g. “[personal data removed]”
        raise ServiceError(_l("This would leave the note with no text, so nothing was saved. Write “%(marker)s” "
                              "where you remove something; if nothing in the note can stay, unpublish it instead.",
                              marker=marker), field="body")
    if old.get("summary", "").strip() and not new.get("summary"):
        # i18n: %(marker)s is the redaction marker in the note's language, e.g. “[personal data removed]”
        raise ServiceError(_l("This would leave the note with no summary, so nothing was saved. Write “%(marker)s” "
                              "where you remove something.", marker=marker), field="summary")


@dataclass(frozen=True)
class Redacted:
    """What a moderator removed from a note ("redact now", or findings removed when publishing), and how
    many other places it was cut from."""

    removed: redaction.Removed = field(repr=False)  # the removed words themselves: never in a log or a traceback
    revisions: int  # earlier revisions, of the note and of its translations
    comments: int = 0  # comments quoting it, in the note's family (hub.services.moderation)
    # The notes of its family (itself included) whose pending changes held it, and were cut too.
    changes: tuple[Note, ...] = ()
    # The note's original and the original's other translations whose text still holds it: another
    # author's text, which only the moderator's own redaction there changes (hub.services.moderation).
    still_in: tuple[Note, ...] = ()


def cut_personal_data(note: Note, *, by: User, fields: dict[str, str], reason: str = "",
                      version: str | None = None) -> Redacted:
    """Cut personal data out of a note's text ("redact now"), its history and translations; the caller commits.

    ``fields`` is the text the moderator leaves (title, summary, body, ``section:<key>``). What
    they removed is also cut out of earlier revisions, pending changes and translations; a
    published note is re-indexed and sent again to partner hubs. The comments on it follow in
    :func:`hub.services.moderation.redact_note`, the one way to redact a note. ``version``
    (notes.review_version) names the text the moderator edited: when the note changed since (another
    moderator's redaction, its author), nothing is saved, as their text would put back what was
    removed meanwhile.
    """
    if not can(by, "moderate") or note.state == S.DELETED or not can_view(note, by):
        raise NotAllowed(_l("Only moderators can do this."))
    hold(note)  # the text compared below, and the revision number, as committed: two redactions never cross
    if note.state == S.DELETED:
        raise ChangedMeanwhile(MEANWHILE[S.DELETED])
    if version is not None and version != review_version(note):
        raise ChangedMeanwhile(REDACTED_MEANWHILE)
    reason = at_most((reason or "").strip(), MESSAGE_LENGTH, field="reason")
    old = redaction.text_fields(note)
    new = {name: (fields.get(name) or "").strip() for name in old.keys() | fields.keys()
           if name in ("title", "summary", "body") or name.startswith("section:")}
    removed = redaction.removed_between(old, new)
    named = _files_named_with_personal_data(note, removed)
    if not removed and not named:
        raise ServiceError(_l("Nothing was removed. Delete the personal data from the text, then save."),
                           field="body")
    if not new.get("title"):
        raise ServiceError(_l("Keep a title."), field="title")
    _refuse_emptied(old, new, language=note.language)
    _apply_text(note, new)
    for attachment in named:  # a file name cannot be edited here: it is replaced by a neutral one
        attachment.filename = f"attachment-{attachment.id}.{attachment.filename.rpartition('.')[2]}"
    scrubbed = _scrub_everywhere(note, removed)
    if note.state in (S.SUBMITTED, S.PUBLISHED):
        _snapshot(note, by)
    db.session.add(ReviewMessage(note=note, author=by, kind="redacted", body=reason))
    audit.record("note.redact", actor=by, target=note, revisions_purged=scrubbed.revisions)
    close_personal_data_flags(by, Flag.note_id == note.id, Flag.comment_id.is_(None))
    _notify_cut(note, (note, *scrubbed.translations), scrubbed.changes)
    if note.state == S.PUBLISHED:
        events.record("note.updated", subject_type="note", subject_id=note.id, redacted=True)
    return Redacted(removed=removed, revisions=scrubbed.revisions, changes=scrubbed.changes)


# --- review ------------------------------------------------------------------------------

def submit(note: Note, *, by: User, confirm_privacy: bool = False) -> Note:
    """Send a note to the moderators, after the privacy check."""
    _require(by, "submit", note)
    _require_original_published(note)
    _require_complete(input_of(note))
    findings = screening.require_confirmation(_fields_of(input_of(note), note), confirmed=confirm_privacy)
    note.state = S.SUBMITTED.value
    note.submitted_at = utcnow()
    _snapshot(note, by)
    audit.record("note.submit", actor=by, target=note, privacy_findings=len(findings))
    db.session.commit()
    return note


INCOMPLETE = {
    "title": _l("Give the note a title before submitting it."),
    "body": _l("Write the note's text, or one of its sections, before submitting it."),
    "summary": _l("Write a summary of one or two sentences before submitting."),
}


def _missing_part(data: NoteInput) -> str | None:
    """Name the first part a note readers may get lacks: its title, its text (body or a section), its summary."""
    if not data.title.strip():
        return "title"
    if not (data.body.strip() or any(text.strip() for text in data.sections.values())):
        return "body"
    return "summary" if not data.summary.strip() else None


def _require_complete(data: NoteInput) -> None:
    """Refuse text that goes to review or to readers without its title, text or summary, on that field."""
    missing = _missing_part(data)
    if missing:
        raise ServiceError(INCOMPLETE[missing], field=missing)


def approve(note: Note, *, by: User, visibility: str | None = None, featured: bool = False,
            message: str = "", checked: Iterable[str] = (), version: str | None = None) -> Note:
    """Publish a submitted note whose every privacy finding the moderator ticked as checked.

    A moderator who removes findings goes through :func:`hub.services.moderation.approve`, which
    also cuts them out of the comments quoting them.
    """
    publish_submitted(note, by=by, visibility=visibility, featured=featured, message=message, checked=checked,
                      version=version)
    db.session.commit()
    return note


def publish_submitted(note: Note, *, by: User, visibility: str | None = None, featured: bool = False,
                      message: str = "", checked: Iterable[str] = (), redact: Iterable[str] = (),
                      version: str | None = None) -> Redacted:
    """Publish a submitted note, optionally narrowing who may read it; the caller commits.

    Every privacy finding must be ticked as checked (``checked``) or chosen for removal
    (``redact``, cut out of the note, its earlier revisions and translations) by the moderator: a
    finding nobody looked at is never published. ``version`` is the :func:`review_version` the
    moderator read: the note changed since, nothing is published. Return what was removed.
    """
    _take_for_decision(note, by, "review", S.SUBMITTED, version, publishes=True)
    fields, findings = privacy_findings(note)
    chosen = screening.settle(findings, checked=checked, redact=redact)
    if chosen:
        _apply_text(note, screening.redact(fields, chosen, language=note.language))
    done = _scrub_chosen(note, fields, chosen)
    if visibility:
        note.visibility = _narrower(visibility, note.visibility)
    note.state = S.PUBLISHED.value
    note.published_at = note.published_at or utcnow()
    # updated_at stays the text's time (a partner hub's note: its origin's, which orders that hub's
    # Updates); partners' systems hear of the publication by changed_at, which the event stamps.
    note.featured = featured
    _decide(note, by, "approved", message)
    audit.record("note.privacy_checked", actor=by, target=note, findings=len(findings), redacted=len(chosen))
    events.record("note.published", subject_type="note", subject_id=note.id)
    return done


def _scrub_chosen(note: Note, fields: dict[str, str], chosen: list[privacy.Finding]) -> Redacted:
    """Cut the findings a moderator chose to remove out of the note's history and translations too."""
    removed = redaction.removed_findings(fields, chosen)
    if not removed:
        return Redacted(removed=removed, revisions=0)
    scrubbed = _scrub_everywhere(note, removed)
    _notify_cut(note, scrubbed.translations, scrubbed.changes)
    return Redacted(removed=removed, revisions=scrubbed.revisions, changes=scrubbed.changes)


def request_changes(note: Note, *, by: User, message: str, version: str | None = None) -> Note:
    """Send a submitted note back to its author with a message (``version``: as for :func:`approve`)."""
    return _send_back(note, by=by, state=S.CHANGES_REQUESTED, message=message, version=version)


def reject(note: Note, *, by: User, reason: str, version: str | None = None) -> Note:
    """Refuse a submitted note, with a reason the author sees (``version``: as for :func:`approve`)."""
    return _send_back(note, by=by, state=S.REJECTED, message=reason, version=version)


def _send_back(note: Note, *, by: User, state: NoteState, message: str, version: str | None) -> Note:
    _take_for_decision(note, by, "review", S.SUBMITTED, version)
    _need_message(message)
    note.state = state.value
    _decide(note, by, state.value, message)
    db.session.commit()
    return note


def unpublish(note: Note, *, by: User, reason: str) -> Note:
    """Take a published note down (moderators), with a reason the author sees."""
    _take_for_decision(note, by, "unpublish", S.PUBLISHED)
    _need_message(reason)
    note.state = S.UNPUBLISHED.value
    note.featured = False
    _fold_pending(note)
    _decide(note, by, "unpublished", reason)
    events.record("note.unpublished", subject_type="note", subject_id=note.id)
    take_down_translations(note, by=by, was_published=True)
    db.session.commit()
    return note


def _need_message(message: str) -> None:
    if text_safety.shows_nothing(message):
        raise ServiceError(_l("Write a message so the author knows what to do."), field="message")


def _decide(note: Note, by: User, kind: str, message: str) -> None:
    """Record a moderator's decision: thread message, audit entry, notification and mail to the author."""
    decision = ReviewMessage(note=note, author=by, kind=kind, body=message.strip())
    db.session.add(decision)
    audit.record(f"note.{kind}", actor=by, target=note)
    if note.author_id:
        db.session.add(Notification(user_id=note.author_id, kind=f"note.{kind}", note=note))
    _record_review_message(decision, {note.author_id} - {by.id, None})


def _record_review_message(message: ReviewMessage, recipients: set[int]) -> None:
    """Record a review-thread message in the event log, naming who hears of it (mail: hub.mail.consumer)."""
    if not recipients:
        return  # a partner's note has no author here
    db.session.flush()
    events.record("review.message", subject_type="review_message", subject_id=message.id, note_id=message.note_id,
                  to=sorted(recipients))


def withdraw(note: Note, *, by: User) -> Note:
    """Take one's own note back from review or from readers."""
    _require(by, "withdraw", note)
    _take_for_author(note)
    was_published = note.state == S.PUBLISHED
    note.state = S.WITHDRAWN.value
    note.featured = False
    _fold_pending(note)
    audit.record("note.withdraw", actor=by, target=note)
    if was_published:
        events.record("note.unpublished", subject_type="note", subject_id=note.id)
    take_down_translations(note, by=by, was_published=was_published)
    db.session.commit()
    return note


def delete(note: Note, *, by: User) -> Note:
    """Delete a note, leaving a tombstone (no text) so partners can be told."""
    _require(by, "delete", note)
    _take_for_author(note)  # whether partners must be told depends on a state a moderator may be changing
    digests = tombstone(note, by=by)
    audit.record("note.delete", actor=by, target=note)
    db.session.commit()
    attachment_files.discard_unused(digests)  # deletes that really delete: the files too
    return note


def tombstone(note: Note, *, by: User | None = None) -> set[str]:
    """Wipe a note to a tombstone in the session (the caller commits); return its files' digests.

    Partner hubs that had it are sent a ``Delete``; the caller discards the files after commit.
    ``by`` is who deletes it (for the audit entries of its translations).
    """
    was_public = note.published_at is not None
    was_published = note.state == S.PUBLISHED
    note.state = S.DELETED.value
    note.deleted_at = utcnow()
    note.title = note.summary = note.body = note.body_html = note.place = note.province = ""
    note.sections, note.tags, note.terms, note.featured = {}, [], [], False
    note.revisions.clear()
    note.pending = None
    digests = {a.sha256 for a in note.attachments}
    note.attachments.clear()
    close_flags_of_deleted(note, by=by)
    db.session.execute(sa.delete(Comment).where(Comment.note_id == note.id))
    db.session.execute(sa.delete(ReviewMessage).where(ReviewMessage.note_id == note.id))
    if was_public:
        events.record("note.deleted", subject_type="note", subject_id=note.id)
    take_down_translations(note, by=by, was_published=was_published)
    return digests


# A translation's states in which its translator is still at work on it, or readers or moderators have it.
_TRANSLATION_IN_USE = {S.DRAFT, S.CHANGES_REQUESTED, S.SUBMITTED, S.PUBLISHED}
# What becomes of a translation when its original leaves: readers lose it, or the moderators' queue does.
_TAKEN_FROM = {S.PUBLISHED: S.UNPUBLISHED, S.SUBMITTED: S.WITHDRAWN}


def take_down_translations(note: Note, *, by: User | None, was_published: bool, why: str | None = None,
                           origin_keeps_its_own: bool = False) -> None:
    """A translation is never read without its original: take its translations from readers (published
    ones) and from the moderators' queue (submitted ones).

    Each translator is told once per thing that happened to their translation: when it was taken
    down or out of review, or (a translation still being written) when its original left its
    readers. An original taken back and then deleted tells them again: the first notice said they
    could submit once the original was published again, which its deletion makes untrue. The notification
    and the audit entry say what happened to the original (``why``): by default read from its state
    here, else given by the caller (a partner's note: what its hub did). When that hub itself changed or
    removed it (``origin_keeps_its_own``), only our members' translations are taken here: the language
    versions it sent follow it (hub.federation.remote_notes).
    """
    why = why or {S.DELETED: "deleted", S.UNPUBLISHED: "unpublished"}.get(S(note.state), "withdrawn")
    for translation in note.translations:
        if origin_keeps_its_own and translation.origin_peer_id is not None:
            continue
        state = S(translation.state)
        taken = _TAKEN_FROM.get(state)
        if taken is not None:
            shown = review_version(translation)  # what readers or moderators had, before pending changes fold in
            translation.state = taken.value
            if state == S.PUBLISHED:
                translation.featured = False
                _fold_pending(translation)
                events.record("note.unpublished", subject_type="note", subject_id=translation.id)
            # ``version`` is compared when the original comes back (bring_back_translations); ``revision``
            # names for an admin what readers or moderators had: no text goes into the log.
            audit.record("translation.original_gone", actor=by, target=translation, original=note.id, why=why,
                         version=shown, revision=_newest_revision(translation))
        told_it_may_come_back = why == "deleted" and _told_original_gone(translation)
        if (taken is not None or (was_published and state in _TRANSLATION_IN_USE) or told_it_may_come_back) \
                and translation.author_id:
            db.session.add(Notification(user_id=translation.author_id, kind="note.original_gone", note=translation,
                                        data={"original": why, "translation": state.value}))


def _newest_revision(note: Note) -> int | None:
    """Return the number of a note's newest revision (the text last submitted or published), if any."""
    return note.revision_number or None


def _told_original_gone(translation: Note) -> bool:
    """Tell whether the translator was told its original had left (and, then, that it could come back)."""
    return db.session.scalar(sa.select(sa.exists().where(Notification.note_id == translation.id,
                                                         Notification.kind == "note.original_gone")))


def bring_back_translations(note: Note, *, why: str) -> int:
    """Give back to readers and review the translations of ``note`` that left with it for ``why`` (a
    partner hub's block lifted), when nothing happened to them since: neither changed (the text, pending
    changes folded in, a file) nor decided on. Return how many came back.

    Each translator who was told that the original left is told that it is back, as they were told
    it left (a ``note.original_back`` notification, shown in their language): that their translation
    is back with readers or in review, or that it waits for them (changed meanwhile, or still a draft).
    """
    back = 0
    for translation in note.translations:
        now = _back_with_original(translation, note, why=why)
        if now in (S.PUBLISHED.value, S.SUBMITTED.value):
            back += 1
        elif now is None and translation.state in (S.DRAFT.value, S.CHANGES_REQUESTED.value):
            now = "draft"
        if now is not None and translation.author_id and _told_it_left(translation, why=why):
            db.session.add(Notification(user_id=translation.author_id, kind="note.original_back", note=translation,
                                        data={"original": why, "translation": now}))
    return back


def _back_with_original(translation: Note, original: Note, *, why: str) -> str | None:
    """Put back a translation that left with ``original`` for ``why`` and is unchanged since; return its
    state now, ``changed`` when it was changed meanwhile (it waits), None when it did not leave so."""
    gone = audit.last_entry(translation)
    details = (gone.details or {}) if gone is not None else {}
    if gone is None or gone.action != "translation.original_gone" or details.get("why") != why \
            or details.get("original") != original.id:
        return None
    state = next((was for was, taken in _TAKEN_FROM.items() if taken == translation.state), None)
    if state is None:
        return None
    if details.get("version") != review_version(translation):
        return "changed"
    translation.state = state.value
    if state == S.PUBLISHED:
        events.record("note.published", subject_type="note", subject_id=translation.id)
    audit.record("translation.original_back", actor=None, target=translation, original=original.id, why=why,
                 revision=_newest_revision(translation))
    return state.value


def _told_it_left(translation: Note, *, why: str) -> bool:
    """Tell whether the translator's latest notice about the original of ``translation`` said it left for ``why``."""
    last = db.session.scalar(sa.select(Notification).where(
        Notification.note_id == translation.id, Notification.user_id == translation.author_id,
        Notification.kind.in_(("note.original_gone", "note.original_back"))).order_by(Notification.id.desc()).limit(1))
    return last is not None and last.kind == "note.original_gone" and (last.data or {}).get("original") == why


def set_featured(note: Note, *, by: User, featured: bool) -> None:
    """Show a published note on the home page, or stop showing it."""
    _require(by, "feature", note)
    note.featured = featured
    audit.record("note.feature" if featured else "note.unfeature", actor=by, target=note)
    db.session.commit()


def narrow_visibility(note: Note, *, by: User, visibility: str) -> None:
    """Let a moderator narrow who may read a note (never widen it)."""
    _require(by, "narrow", note)
    new = _narrower(visibility, note.visibility)
    if new == note.visibility:
        raise ServiceError(_l("Moderators may only narrow who can read a note."), field="visibility")
    _narrow(note, by, new)
    db.session.commit()


def _narrow(note: Note, by: User, visibility: str) -> None:
    """Give ``note`` fewer readers now (a moderator's narrowing, or its author's edit: neither waits for review);
    partner hubs, search and feeds follow through the ``note.updated`` event (caller commits)."""
    audit.record("note.visibility", actor=by, target=note, old=note.visibility, new=visibility)
    note.visibility = visibility
    if note.state == S.PUBLISHED:
        events.record("note.updated", subject_type="note", subject_id=note.id)


def reply(note: Note, *, by: User, body: str, confirm_privacy: bool = False) -> ReviewMessage:
    """Add a message to the review thread, after the privacy check; the other side is notified."""
    _require(by, "reply", note)
    _need_message(body)
    body = at_most(body.strip(), MESSAGE_LENGTH, field="message")
    screen_thread_message(body, confirmed=confirm_privacy)
    message = ReviewMessage(note=note, author=by, kind="reply", body=body)
    db.session.add(message)
    recipients = _thread_recipients(note, by)
    for user_id in recipients:
        db.session.add(Notification(user_id=user_id, kind="note.reply", note=note))
    _record_review_message(message, recipients)
    db.session.commit()
    return message


def screen_thread_message(body: str, *, confirmed: bool) -> None:
    """Refuse a review-thread message with a possible piece of personal data until its writer confirms it."""
    screening.require_confirmation({"message": body}, confirmed=confirmed, message=_l(
        "This message may contain personal data. Check each highlighted place."))


def _thread_recipients(note: Note, sender: User) -> set[int]:
    ids = set(db.session.scalars(sa.select(ReviewMessage.author_id).where(ReviewMessage.note_id == note.id)))
    ids.add(note.author_id)
    ids.discard(sender.id)
    ids.discard(None)
    return ids


def thread(note: Note) -> list[ReviewMessage]:
    """Return the review thread of a note, oldest first."""
    query = sa.select(ReviewMessage).where(ReviewMessage.note_id == note.id).order_by(ReviewMessage.id)
    return list(db.session.scalars(query))


# --- readers -------------------------------------------------------------------------------

def toggle_mark(note: Note, *, by: User, kind: str) -> bool:
    """Add or take back a "we tried this too" / "useful" mark; return whether it is now set."""
    return set_mark(note, by=by, kind=kind, on=None)


def set_mark(note: Note, *, by: User, kind: str, on: bool | None) -> bool:
    """Set (``on``) or take back a "we tried this too" / "useful" mark, or switch it (None); return
    whether it is now set. Asking for the state it is in changes nothing: a button pressed on a page
    that was sent twice, or shown in two tabs, does what it said."""
    if kind not in MARK_KINDS:
        raise ServiceError(_l("Unknown mark."))
    _require(by, "mark", note)
    existing = db.session.scalar(sa.select(Mark).where(Mark.note_id == note.id, Mark.user_id == by.id,
                                                       Mark.kind == kind))
    if on is not None and on == (existing is not None):
        return on
    if existing:
        db.session.delete(existing)
    else:
        db.session.add(Mark(note_id=note.id, user_id=by.id, kind=kind))
    # Federation tells the note's origin (a partner's note) or the hubs that have it (ours).
    events.record("mark.changed", subject_type="note", subject_id=note.id, mark=kind)
    db.session.commit()
    return existing is None


def marks_by(note: Note, viewer: Any) -> tuple[str, ...]:
    """Return the kinds of mark ``viewer`` set on ``note`` (none for the anonymous reader, without a query)."""
    if not getattr(viewer, "is_authenticated", False):
        return ()
    return tuple(sorted(db.session.scalars(sa.select(Mark.kind).where(Mark.note_id == note.id,
                                                                       Mark.user_id == viewer.id))))


def _marks(note: Note, viewer: Any = None) -> dict[str, dict[str, Any]]:
    """Count ``note``'s marks per kind in one statement: our members', partner hubs' and ``viewer``'s own."""
    viewer_id = viewer.id if getattr(viewer, "is_authenticated", False) else None
    local = (sa.select(Mark.kind, sa.func.count(), sa.literal(0),
                       sa.func.sum(sa.case((Mark.user_id == viewer_id, 1), else_=0)))
             .where(Mark.note_id == note.id).group_by(Mark.kind))
    hubs = (sa.select(RemoteMark.kind, sa.func.count(), sa.func.count(), sa.literal(0))
            .where(RemoteMark.note_id == note.id).group_by(RemoteMark.kind))
    found = {kind: {"count": 0, "hubs": 0, "mine": False} for kind in MARK_KINDS}
    for kind, count, from_hubs, own in db.session.execute(sa.union_all(local, hubs)).all():
        if kind in found:
            found[kind]["count"] += count
            found[kind]["hubs"] += from_hubs
            found[kind]["mine"] = found[kind]["mine"] or bool(own)
    return found


def mark_totals(note: Note) -> dict[str, dict[str, int]]:
    """Return for each mark kind of one of our notes its total and how many partner hubs it includes.

    Our members count one each, a partner hub once (hub.federation.conversation keeps one
    RemoteMark per hub and kind, however many of its members marked the note).
    """
    return {kind: {"count": c["count"], "hubs": c["hubs"]} for kind, c in _marks(note).items()}


def mark_counts(note: Note, viewer: Any = None) -> dict[str, dict[str, Any]]:
    """Return for each mark kind its count, the partner hubs in it, and whether ``viewer`` set it."""
    counts = _marks(note, viewer)
    if note.origin_peer_id is not None:
        # A partner's note shows the totals its origin reported (every hub's marks, ours included).
        reported = dict(db.session.execute(sa.select(MarkTotal.kind, MarkTotal.count)
                                           .where(MarkTotal.note_id == note.id)).all())
        if reported:
            counts = {kind: {"count": reported.get(kind, 0), "hubs": 0, "mine": c["mine"]}
                      for kind, c in counts.items()}
    return counts


def flag(note: Note, *, by: User, reason: str, detail: str = "", comment: Comment | None = None,
         confirm_privacy: bool = False) -> Flag:
    """Report a note or one of its comments to the moderators, after the privacy check of its explanation."""
    if reason not in FLAG_REASONS:
        raise ServiceError(_l("Choose a reason."), field="reason")
    if comment is not None and (comment.note_id != note.id or comment.removed_at
                                or comment.state != CommentState.PUBLISHED):
        raise NotAllowed(_l("You may not do this with this note now."))
    if comment is None:
        _require(by, "flag", note)
    elif not (may(by, "comment", note) and comment.author_id != by.id):
        raise NotAllowed(_l("You may not do this with this note now."))
    detail = at_most((detail or "").strip(), FLAG_DETAIL_LENGTH, field="detail")
    screening.require_confirmation({"detail": detail}, confirmed=confirm_privacy, message=_l(
        "This report may contain personal data. Check each highlighted place."))
    item = Flag(note=note, comment=comment, reporter=by, reason=reason, detail=detail)
    db.session.add(item)
    db.session.flush()
    _refuse_second_report(item)
    # A flag on a partner's note also reaches its origin's moderators (the reason only, never who);
    # our moderators hear of it by mail (hub.mail.consumer).
    events.record("flag.added", subject_type="flag", subject_id=item.id)
    db.session.commit()
    return item


class AlreadyReported(ServiceError):
    """The reporter's earlier report on the same note or comment is still open."""


def _refuse_second_report(item: Flag) -> None:
    """Refuse a report while the same person's report on the same note or comment is open (each one mails
    every moderator).

    Checked after the new row is written, with the note held (:func:`hold`): of two reports sent
    at once, the second waits for the first to commit and then sees it.
    """
    hold(item.note)
    same_target = Flag.comment_id.is_(None) if item.comment_id is None else Flag.comment_id == item.comment_id
    same = sa.select(Flag.id).where(Flag.id != item.id, Flag.note_id == item.note_id, same_target,
                                    Flag.reporter_id == item.reporter_id, Flag.resolved_at.is_(None))
    if db.session.scalar(same.limit(1)) is not None:
        raise AlreadyReported(_l("You already reported this; the moderators will look at it."))


def close_personal_data_flags(by: User, *where: Any) -> None:
    """Mark open "contains personal data" reports matching ``where`` handled by a redaction (caller commits)."""
    _close_flags(by, "redacted", Flag.reason == "personal_data", *where)


def close_flags_of_deleted(note: Note, *, by: User | None) -> None:
    """Mark the open reports about a note deleted (here, or by its partner hub) handled (caller commits).

    Nothing is left to look at: its text and comments are gone, and the report would wait in the
    moderators' queue under an empty title, leading to a page that is not there.
    """
    _close_flags(by, "note_deleted", Flag.note_id == note.id)


def _close_flags(by: User | None, resolution: str, *where: Any) -> None:
    for item in db.session.scalars(sa.select(Flag).where(Flag.resolved_at.is_(None), *where)):
        item.resolved_at, item.resolved_by_id, item.resolution = utcnow(), by.id if by else None, resolution
        audit.record("flag.resolve", actor=by, target=item, resolution=resolution, reason=item.reason)


def terms(kind: str) -> list[Term]:
    """Return the vocabulary of ``kind`` ("topic" or "population"), by English name."""
    return list(db.session.scalars(sa.select(Term).where(Term.kind == kind).order_by(Term.name_en)))


def parse_tags(text: str) -> list[str]:
    """Split a comma-separated tag field (Chinese or Latin commas)."""
    return [t for t in re.split(r"[,，、;；]", text or "") if t.strip()]


def ids(values: Iterable[str]) -> list[int]:
    """Keep the integer ids in ``values`` (form input), dropping anything else."""
    return [number for v in values if (number := as_id(str(v))) is not None]
