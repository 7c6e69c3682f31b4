"""The audit log in the reader's language: action codes, targets and details as words.

The log stores codes (``note.submit``, target ``note`` 5, ``old=members``) so that it reads the
same whatever language an action was done in; this module turns them into what an admin reads:
"提交审核", the note's title (or "笔记 5" when the viewer may not see it), "之前：本平台成员".
A sensitive word is never named here: the log keeps only its id.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from blueprints.web.forms import FLAG_LABELS, RESOLUTION_LABELS, VISIBILITY_LABELS
from blueprints.web.templating import language_name, role_label, status_label
from hub.extensions import db
from hub.models import AuditEntry, Note, PeerHub, Project, Term, User
from hub.services import notes
from hub.services.visibility import can_view

ACTIONS = {
    "note.submit": _l("Note submitted for review"),
    "note.approved": _l("Note published"),
    "note.changes_requested": _l("Changes requested"),
    "note.rejected": _l("Note rejected"),
    "note.unpublished": _l("Note unpublished"),
    "note.withdraw": _l("Note withdrawn by its author"),
    "note.delete": _l("Note deleted"),
    "note.feature": _l("Note featured"),
    "note.unfeature": _l("Note no longer featured"),
    "note.visibility": _l("Readers narrowed"),
    # i18n: audit log: a partner hub's Update no longer addresses its note to the public
    "note.narrowed_by_origin": _l("Partner hub stopped sharing its note with the public"),
    # i18n: audit log: a partner hub's Update addresses its note to the public again (it arrives as a new note)
    "note.widened_by_origin": _l("Partner hub shared its note with the public again"),
    "note.import": _l("Notes imported"),
    "note.privacy_checked": _l("Privacy check findings looked at before publishing"),
    "note.redact": _l("Personal data removed from a note"),
    "note.changes_submit": _l("Changes to a published note submitted for review"),
    "note.changes_accept": _l("Changes to a published note accepted"),
    "note.changes_return": _l("Changes to a published note sent back"),
    "note.changes_discard": _l("Changes to a published note dropped by its author"),
    "translation.start": _l("Translation started"),
    # i18n: audit log: a translation was taken from readers or from review because its original left its readers
    "translation.original_gone": _l("Translation taken down with its original"),
    # i18n: audit log: a translation taken down with its original (a partner hub's block) came back with it
    "translation.original_back": _l("Translation back with its original"),
    "attachment.add": _l("Attachment added"),
    "attachment.remove": _l("Attachment removed"),
    "comment.remove": _l("Comment removed"),
    "comment.hold": _l("Comment held for a moderator"),
    "comment.release": _l("Held comment published"),
    "comment.decline": _l("Held comment declined"),
    "comment.redact": _l("Personal data removed from a comment"),
    "comment.edit": _l("Comment edited by its writer"),
    "flag.resolve": _l("Report handled"),
    "flag.redact": _l("Personal data removed from a report's explanation"),
    "invitation.create": _l("Invitation created"),
    "invitation.revoke": _l("Invitation withdrawn"),
    "invitation.lapse": _l("Invitation withdrawn: the person who made it may no longer give its role"),
    "user.signup": _l("Joined by invitation"),
    "user.register": _l("Signed up"),
    "user.password_change": _l("Password changed"),
    "user.email_change": _l("E-mail address changed through the link mailed to it"),
    "user.password_set": _l("Password set on the server"),
    "user.reset_token": _l("Password reset link made"),
    "user.password_reset": _l("Password reset"),
    "user.role": _l("Role changed"),
    "user.status": _l("Account status changed"),
    "user.project": _l("Project changed"),
    "user.edits_skip_review": _l("Edits without review changed"),
    "user.export": _l("Account's data downloaded"),
    "user.delete": _l("Account deleted"),
    "token.create": _l("Token made"),
    "token.revoke": _l("Token revoked"),
    "project.create": _l("Project created"),
    "project.update": _l("Project changed"),
    "term.add": _l("Topic or population added"),
    "sensitive_word.add": _l("Sensitive word added"),
    "sensitive_word.remove": _l("Sensitive word removed"),
    "glossary.add": _l("Glossary entry added"),
    "partner.follow": _l("Partner hub followed"),
    "partner.allow": _l("Partner hub allow-listed"),
    "partner.unfollow": _l("Stopped following a partner hub"),
    "partner.allowlist": _l("Partner hub put on the allow-list"),
    "partner.unlist": _l("Partner hub taken off the allow-list"),
    "partner.trust": _l("Trust in a partner hub changed"),
    "partner.block": _l("Partner hub blocked"),
    "partner.unblock": _l("Partner hub unblocked"),
    "partner.follow_accept": _l("Follow request accepted"),
    "partner.follow_reject": _l("Follow request refused"),
    "partner.retry": _l("Failed deliveries sent again"),
    "partner.backfill": _l("Partner hub's notes read again"),
}

DETAILS = {
    "privacy_findings": _l("privacy check findings"), "old": _l("before"), "new": _l("after"),
    "role": _l("role"), "reason": _l("reason"), "resolution": _l("decision"), "hub": _l("hub"),
    "notes_hidden": _l("notes hidden"), "notes_shown": _l("notes shown again"), "deliveries": _l("deliveries"),
    "comments_hidden": _l("comments hidden"), "comments_shown": _l("comments shown again"),
    "project": _l("project"), "invitation": _l("invitation"), "attachment": _l("attachment"), "note": _l("note"),
    "original": _l("original"), "language": _l("language"), "kind": _l("list"), "slug": _l("short name"),
    "concept": _l("concept"), "source": _l("source"), "notes": _l("notes"), "first_line": _l("first line"),
    "last_line": _l("last line"), "findings": _l("privacy check findings"), "redacted": _l("findings removed"),
    "revisions_purged": _l("earlier revisions cleaned"), "attachments": _l("attachments"),
    "content_type": _l("file type"), "size": _l("size in bytes"), "peer": _l("partner hub"),
    "by_admin": _l("by an administrator"), "notes_kept": _l("notes kept"), "notes_deleted": _l("notes deleted"),
    "comments_kept": _l("comments kept"), "comments_deleted": _l("comments deleted"),
    "mailed": _l("link sent by e-mail"),
    "why": _l("what happened to the original"),
    # i18n: audit log: which revision of a note's text readers or moderators had at that moment
    "revision": _l("text version"),
}
# Details the hub keeps for itself: ``version`` is a digest of a note's text that the hub compares
# (hub.services.notes.bring_back_translations), meaningless to a reader; ``revision`` says it in words.
HIDDEN = {"version"}
# Details that hold a note's id: shown as its title, linked, where the viewer may read it.
NOTE_DETAILS = {"note", "original"}
# What happened to a translation's original (hub.services.notes, take_down_translations).
ORIGINAL_LEFT = {"withdrawn": _l("taken back by its author"), "unpublished": _l("taken down by a moderator"),
                 "deleted": _l("deleted"),
                 # i18n: audit log: a partner hub's note was removed by that hub (a Delete: deleted, taken back,
                 # taken down or no longer shared with this hub there)
                 "removed_by_origin": _l("removed by its partner hub"),
                 # i18n: audit log: a partner hub changed its note and the new text went back to review here
                 "changed_by_origin": _l("changed by its partner hub, back in review"),
                 # i18n: audit log: a partner hub stopped addressing its note to the public
                 "narrowed_by_origin": _l("no longer public at its partner hub"),
                 # i18n: audit log: an administrator here blocked the partner hub a note came from
                 "hub_blocked": _l("its partner hub blocked here")}
TRUST_LABELS = {"publish": _l("publish at once"), "moderate": _l("moderation queue")}
TERM_KINDS = {"topic": _l("Topics"), "population": _l("Populations")}
TOKEN_KINDS = {"personal": _l("personal API token"), "organisation": _l("organisation token"),
               "feed": _l("feed address")}
# A moderator who removes the personal data a report named closes the report this way (hub.services.notes),
# and a report about a note deleted since is closed with it.
RESOLUTIONS = {**RESOLUTION_LABELS, "redacted": _l("Personal data removed"),
               # i18n: audit log: a report closed because the note it was about was deleted (here or by its partner hub)
               "note_deleted": _l("The note was deleted")}
YES_NO = {True: _l("yes"), False: _l("no")}
# What an empty detail means where it means something ("moved out of any project"); elsewhere it is
# left out (a personal token has no partner hub).
EMPTY = {"project": _l("No project")}


@dataclass
class AuditRow:
    """One entry as the page shows it."""

    entry: AuditEntry
    action: str
    target: str = ""
    target_href: str | None = None
    target_lang: str | None = None  # a note's title is in the note's language
    details: list[Detail] = field(default_factory=list)


@dataclass(frozen=True)
class Detail:
    """One detail of an entry as the page shows it: a label, a value, and where the value links to."""

    label: str
    value: str
    href: str | None = None
    lang: str | None = None  # a note's title (text its writer chose, isolated) is in the note's language


def action_label(code: str) -> str:
    """Return the translated name of an action code (the code itself when it has none)."""
    return str(ACTIONS.get(code, code))


def describe(entry: AuditEntry, *, viewer: Any, locale: str) -> AuditRow:
    """Return an audit entry in words: its action, its target (linked where the viewer may open it), details."""
    target, href = _target(entry, viewer, locale)
    details = [_detail(entry, key, value, viewer) for key, value in (entry.details or {}).items()
               if (value is not None or key in EMPTY) and key not in HIDDEN]
    note = _row("note", entry.target_id) if entry.target_type == "note" and href else None
    return AuditRow(entry=entry, action=action_label(entry.action), target=target, target_href=href, details=details,
                    target_lang=note.language.replace("_", "-") if note else None)


def _detail(entry: AuditEntry, key: str, value: Any, viewer: Any) -> Detail:
    """Return one detail in words; a note it names is linked where the viewer may read it, a revision
    where they may read the note's history."""
    label = str(DETAILS.get(key, key))
    if key in NOTE_DETAILS and isinstance(value, int):
        note = _readable_note(value, viewer)
        if note is None:
            return Detail(label, _("note %(id)s", id=value))
        return Detail(label, note.title or _("(untitled)"), url_for("notes.detail", note_id=note.id),
                      note.language.replace("_", "-"))
    if key == "revision" and isinstance(value, int):
        # i18n: audit log: %(n)s is the number of a note's revision (1, 2, 3…), as its history page names it
        shown = _("revision %(n)s", n=value)
        note = _readable_note(entry.target_id, viewer) if entry.target_type == "note" else None
        if note is None or not notes.may(viewer, "history", note):
            return Detail(label, shown)
        return Detail(label, shown, url_for("notes.history", note_id=note.id, _anchor=f"revision-{value}"))
    return Detail(label, _value(entry.action, key, value))


def _readable_note(note_id: int, viewer: Any) -> Note | None:
    """Return the note ``note_id`` when it is there and the viewer may read it, else None."""
    note = db.session.get(Note, note_id)
    return note if note is not None and note.state != "deleted" and can_view(note, viewer) else None


def _target(entry: AuditEntry, viewer: Any, locale: str) -> tuple[str, str | None]:
    """Name what an entry acted on: a title or name where the viewer may see it, else its kind and id."""
    kind, ident = entry.target_type, entry.target_id
    if not kind or ident is None:
        return "", None
    row = _row(kind, ident)
    if kind == "note":
        note = _readable_note(ident, viewer)
        if note is not None:
            return note.title or _("(untitled)"), url_for("notes.detail", note_id=note.id)
        return _("note %(id)s", id=ident), None
    if kind == "user" and row is not None:
        return row.pseudonym, url_for("admin.user", user_id=row.id)
    if kind == "project" and row is not None:
        return row.name(locale), url_for("main.project", slug=row.slug)
    if kind == "peerhub" and row is not None:
        return row.name or row.base_url, url_for("partners.detail", peer_id=row.id)
    if kind == "term" and row is not None:
        return row.name(locale), None
    names = {"user": _("account %(id)s", id=ident), "project": _("project %(id)s", id=ident),
             "peerhub": _("partner hub %(id)s", id=ident), "term": _("vocabulary term %(id)s", id=ident),
             "invitation": _("invitation %(id)s", id=ident), "comment": _("comment %(id)s", id=ident),
             "flag": _("report %(id)s", id=ident), "sensitiveword": _("sensitive word %(id)s", id=ident),
             "glossaryentry": _("glossary entry %(id)s", id=ident), "apitoken": _("token %(id)s", id=ident)}
    return names.get(kind, f"{kind} {ident}"), None


def _row(kind: str, ident: int) -> Any:
    """Load the target row of the kinds shown by name (None for others or when it is gone)."""
    model = {"note": Note, "user": User, "project": Project, "peerhub": PeerHub, "term": Term}.get(kind)
    return db.session.get(model, ident) if model else None


def _value(action: str, key: str, value: Any) -> str:
    """Translate a detail's value where it is one of the hub's codes; numbers and addresses stay as they are."""
    if value is None:
        return str(EMPTY[key])
    if isinstance(value, bool):
        return str(YES_NO[value])
    text = str(value)
    if action == "user.role" or key == "role":
        return role_label(text)
    if action == "user.status":
        return status_label(text)
    if action in ("note.visibility", "note.narrowed_by_origin", "note.widened_by_origin"):
        return str(VISIBILITY_LABELS.get(text, text))
    if action == "partner.trust":
        return str(TRUST_LABELS.get(text, text))
    if key == "reason":
        return str(FLAG_LABELS.get(text, text))
    if key == "why":
        return str(ORIGINAL_LEFT.get(text, text))
    if key == "resolution":
        return str(RESOLUTIONS.get(text, text))
    if key == "kind" and action.startswith("token."):
        return str(TOKEN_KINDS.get(text, text))
    if key == "kind":
        return str(TERM_KINDS.get(text, text))
    if key == "language" and text in ("zh_Hans", "en"):
        return language_name(text)
    return text
