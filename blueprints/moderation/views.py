"""Views of the moderation queue: thin wrappers over hub.services.notes and hub.services.moderation."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, ngettext
from markupsafe import Markup

from blueprints.moderation.forms import (AcceptChangesForm, ApproveForm, DecisionForm, RedactCommentForm, RedactNoteForm,
                                         ResolveForm, ReviewDecisionForm, VisibilityForm)
from blueprints.web.access import requires
from blueprints.web.common import (finding_choices, finding_rows, masked_groups, me, page_arg, privacy_groups,
                                   show_comment_text)
from blueprints.web.forms import (NOTHING_SENT_BACK, RESOLUTION_LABELS, THREAD_CHECK_EXPLANATION, ActionForm,
                                  SentBack, flash_unseen_errors, refusal)
from blueprints.web.refusals import attempt, submitted
from blueprints.web.templating import language_label, queue_counts
from hub.extensions import db
from hub.federation import conversation
from hub.models import SECTIONS, Comment, CommentState, Flag, Note, NoteState
from hub.services import discussion, moderation, notes, revisions, screening
from hub.services.errors import NotAllowed
from hub.services.screening import PrivacyCheckRequired
from hub.services import projects as project_service

bp = Blueprint("moderation", __name__, template_folder="templates")


def _note(note_id: int) -> Note:
    note = db.session.get(Note, note_id)
    if note is None or note.state == NoteState.DELETED:
        abort(404)
    return note


@bp.get("/moderation")
@requires("moderate")
def queue():
    """List submitted notes (with filters) and open flags."""
    project = project_service.by_slug(request.args.get("project", "")) if request.args.get("project") else None
    language = request.args.get("language") if request.args.get("language") in ("zh_Hans", "en") else None
    page = moderation.submitted(project_id=project.id if project else None, language=language,
                                topic=(request.args.get("topic") or "")[:64] or None,
                                page=page_arg())
    return render_template("moderation/queue.html", page=page, counts=queue_counts(),
                           projects=project_service.all_projects(), topics=notes.terms("topic"),
                           selected={"project": request.args.get("project", ""), "language": language or "",
                                     "topic": request.args.get("topic", "")})


@bp.get("/moderation/notes/<int:note_id>")
@requires("moderate")
def review(note_id: int):
    """Show a note with its privacy findings, thread and the decisions a moderator can take."""
    return _review_page(_note(note_id))


def _review_page(note: Note, sent_back: SentBack = NOTHING_SENT_BACK) -> str:
    """Render the review page; ``sent_back`` is one of its forms, refused, shown as it was posted."""
    fields, findings = notes.privacy_findings(note)
    # Empty forms, also on a page that answers a post (a form would read what was posted).
    return render_template("moderation/review.html", note=note, groups=privacy_groups(fields, findings),
                           findings=finding_rows(fields, findings), thread=notes.thread(note),
                           approve_form=ApproveForm(formdata=None, visibility=note.visibility),
                           version=notes.review_version(note), publishable=notes.original_published(note),
                           decision_form=DecisionForm(formdata=None),
                           visibility_form=VisibilityForm(formdata=None, visibility=note.visibility),
                           sent_back=sent_back, ticks=_ticks(sent_back),
                           flags=db.session.scalars(db.select(Flag).where(Flag.note_id == note.id,
                                                                          Flag.resolved_at.is_(None))).all())


def _ticks(sent_back: SentBack) -> dict[str, str]:
    """Return the findings a sent-back decision had ticked (``keep`` or ``redact`` by key), to tick them again."""
    if not sent_back:
        return {}
    checked, redact = finding_choices()
    return {**dict.fromkeys(checked, "keep"), **dict.fromkeys(redact, "redact")}


def _told(note_id: int, notified: str, alone: str) -> str:
    """Say the author is notified only when there is one here: a partner's note, or a note whose author left, has none."""
    note = db.session.get(Note, note_id)
    return notified if note is not None and note.author_id is not None else alone


def _told_writer(comment_id: int, notified: str, alone: str) -> str:
    """Say the writer is notified only for a member's comment (not a partner hub's, nor one whose writer left)."""
    comment = db.session.get(Comment, comment_id)
    return notified if comment is not None and comment.author_id is not None else alone


def _decide(note_id: int, form, action, success: str, *, back: str = "moderation.review",
            done: str = "moderation.queue", sends_back: bool = True, then: Callable[[Any], None] | None = None):
    """Run a moderator's decision; refused, it comes back on its page (``back``) with the message written.

    The form is sent back as the decision's endpoint name (``approve``, ``reject``…), which the
    page's template looks for. A refusal that names no field (another moderator decided first,
    the author changed the text) is flashed above the page, which shows the note as it is now;
    where the page no longer offers that decision, it shows what the moderator wrote for them to
    copy. When the form holds nothing written (``sends_back`` false), the refusal is flashed
    above the page it goes back to. ``then``, given, is called with what ``action`` returned, once done.
    """
    note = _note(note_id)
    result: list[Any] = []
    decided = submitted(form, lambda: result.append(action(note, form)))
    if decided:
        flash(success, "info")
        if then is not None:
            then(result[0])
        return redirect(url_for(done))
    if not sends_back:
        flash(refusal(form), "error")
        return redirect(url_for(back, note_id=note_id))
    flash_unseen_errors(form)
    if note.state == NoteState.DELETED:
        abort(410)  # deleted meanwhile: the error page shows what the moderator wrote
    page = _changes_page if back == "moderation.changes" else _review_page
    # 409: the decision met a note that is no longer as the page showed it (decided, changed, taken back).
    status = 409 if isinstance(decided.error, (NotAllowed, notes.ChangedMeanwhile)) else 200
    return page(note, SentBack(form, request.endpoint.rpartition(".")[2])), status


@bp.post("/moderation/notes/<int:note_id>/approve")
@requires("moderate")
def approve(note_id: int):
    """Publish a submitted note."""
    checked, redact = finding_choices()
    return _decide(note_id, ApproveForm(), lambda note, f: moderation.approve(
        note, by=me(), visibility=f.visibility.data, featured=f.featured.data, message=f.message.data or "",
        checked=checked, redact=redact, version=f.version.data or None),
        _told(note_id, _("Published. The author is notified."), _("Published.")),
        then=lambda done: _tell_redacted(done, note_id=note_id))


@bp.post("/moderation/notes/<int:note_id>/request-changes")
@requires("moderate")
def request_changes(note_id: int):
    """Send a note back to its author."""
    return _decide(note_id, ReviewDecisionForm(), lambda note, f: notes.request_changes(
        note, by=me(), message=f.message.data, version=f.version.data or None), _("Sent back to the author with your message."))


@bp.post("/moderation/notes/<int:note_id>/reject")
@requires("moderate")
def reject(note_id: int):
    """Refuse a note, with a reason."""
    return _decide(note_id, ReviewDecisionForm(), lambda note, f: notes.reject(
        note, by=me(), reason=f.message.data, version=f.version.data or None),
        _told(note_id, _("Rejected. The author is notified."), _("Rejected.")))


@bp.post("/moderation/notes/<int:note_id>/unpublish")
@requires("moderate")
def unpublish(note_id: int):
    """Take a published note down."""
    return _decide(note_id, DecisionForm(), lambda note, f: notes.unpublish(note, by=me(), reason=f.message.data),
                   _told(note_id, _("Unpublished. The author is notified."), _("Unpublished.")))


@bp.post("/moderation/notes/<int:note_id>/visibility")
@requires("moderate")
def visibility(note_id: int):
    """Narrow who may read a note."""
    return _decide(note_id, VisibilityForm(),
                   lambda note, f: notes.narrow_visibility(note, by=me(), visibility=f.visibility.data),
                   _("Visibility narrowed."), sends_back=False)


@bp.post("/moderation/comments/<int:comment_id>/remove")
@requires("moderate")
def remove_comment(comment_id: int):
    """Hide a comment."""
    comment = db.session.get(Comment, comment_id) or abort(404)
    if ActionForm().validate_on_submit() and comment.removed_at is None:
        discussion.remove_comment(comment, by=me())
        flash(_("Comment removed."), "info")
    return redirect(url_for("notes.detail", note_id=comment.note_id))


# --- changes to published notes --------------------------------------------------------------

@bp.get("/moderation/changes")
@requires("moderate")
def changes_queue():
    """List published notes whose authors submitted changes."""
    return render_template("moderation/changes_queue.html", page=notes.waiting_changes(page=page_arg()),
                           counts=queue_counts())


@bp.get("/moderation/notes/<int:note_id>/changes")
@requires("moderate")
def changes(note_id: int):
    """Show an author's changes to a published note: what changed, the privacy findings, the decisions."""
    return _changes_page(_note(note_id))


def _changes_page(note: Note, sent_back: SentBack = NOTHING_SENT_BACK):
    """Render the page of a published note's changes (see :func:`changes`); ``sent_back`` as for the review page."""
    if note.pending is None or note.pending.submitted_at is None or not note.is_published:
        if sent_back:  # decided meanwhile (the refusal is flashed): the note as it is now, with what was written
            return _review_page(note, sent_back)
        flash(_("These changes are no longer waiting for review."), "info")
        return redirect(url_for("moderation.changes_queue"))
    fields, findings = notes.pending_findings(note.pending)
    return render_template("moderation/changes.html", note=note, pending=note.pending,
                           lines=revisions.diff(note, note.pending), other=notes.other_changes(note),
                           groups=privacy_groups(fields, findings), findings=finding_rows(fields, findings),
                           accept_form=AcceptChangesForm(formdata=None, version=note.pending.version),
                           decision_form=DecisionForm(formdata=None), thread=notes.thread(note),
                           sent_back=sent_back, ticks=_ticks(sent_back))


@bp.post("/moderation/notes/<int:note_id>/changes/accept")
@requires("moderate")
def accept_changes(note_id: int):
    """Publish an author's changes to a published note, once every finding is ticked or removed."""
    checked, redact = finding_choices()
    return _decide(note_id, AcceptChangesForm(), lambda note, f: moderation.accept_changes(
        note, by=me(), version=f.version.data, checked=checked, redact=redact, message=f.message.data or ""),
        _told(note_id, _("The changes are published. The author is notified."), _("The changes are published.")),
        back="moderation.changes", done="moderation.changes_queue",
        then=lambda done: _tell_redacted(done, note_id=note_id))


@bp.post("/moderation/notes/<int:note_id>/changes/return")
@requires("moderate")
def return_changes(note_id: int):
    """Send an author's changes back with a message; readers keep the published text."""
    return _decide(note_id, DecisionForm(), lambda note, f: notes.return_changes(note, by=me(), message=f.message.data),
                   _("Sent back to the author with your message."), back="moderation.changes",
                   done="moderation.changes_queue")


# --- held comments ---------------------------------------------------------------------------

@bp.get("/moderation/comments")
@requires("moderate")
def held_comments():
    """List comments waiting because the privacy check found something in them."""
    page = discussion.held(page=page_arg())
    # What the page says of each comment is read for all of them at once: a page costs as many queries as one.
    comments = list(page.items)
    cut_off, origins = _writers_hubs_cut_off(comments), conversation.origins_of(comments)
    items = []
    for comment, found in zip(comments, discussion.findings_each(comments)):
        fields = {discussion.FIELD: comment.body}
        items.append({"comment": comment, "groups": privacy_groups(fields, found),
                      "findings": finding_rows(fields, found), "origin": origins[comment.id],
                      "version": discussion.text_version(comment),
                      "hub_takes_cuts": discussion.writers_hub_takes_cuts(comment),
                      "hub_cut_off": comment.id in cut_off})
    return render_template("moderation/held_comments.html", page=page, items=items,
                           counts=queue_counts(), form=ActionForm())


def _held(comment_id: int, action, success: str):
    comment = db.session.get(Comment, comment_id) or abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    with attempt() as done:
        reach = action(comment)
    if done:
        flash(success, "info")
        cut_off = cut_off_reason(comment) if reach is not None and _writers_hub_cut_off(comment) else None
        if reach in (discussion.Reach.MARKED, discussion.Reach.NOT_WRITER) or cut_off:  # a partner's comment cut
            _flash_reach(reach, marker=screening.marker(discussion.comment_language(comment)), cut_off=cut_off)
    return redirect(url_for("moderation.held_comments"))


@bp.post("/moderation/comments/<int:comment_id>/release")
@requires("moderate")
def release_comment(comment_id: int):
    """Show a held comment to readers, after ticking or removing each finding."""
    checked, redact = finding_choices()
    version = request.form.get("version") or None
    return _held(comment_id, lambda c: discussion.release(c, by=me(), checked=checked, redact=redact,
                                                          version=version),
                 _told_writer(comment_id, _("The comment is published. Its writer is notified."),
                              _("The comment is published.")))


@bp.post("/moderation/comments/<int:comment_id>/decline")
@requires("moderate")
def decline_comment(comment_id: int):
    """Keep a held comment from readers."""
    return _held(comment_id, lambda c: discussion.decline(c, by=me()),
                 _told_writer(comment_id, _("The comment will not be published. Its writer is notified."),
                              _("The comment will not be published.")))


# --- redact now --------------------------------------------------------------------------------

def _show_note_text(form: RedactNoteForm, note) -> None:
    """Fill the redaction form with the note's text as it is now, and name that version."""
    form.title.data, form.summary.data, form.body.data = note.title, note.summary, note.body
    for key in SECTIONS:
        getattr(form, key).data = (note.sections or {}).get(key, "")
    form.version.data = notes.review_version(note)


@bp.route("/moderation/notes/<int:note_id>/redact", methods=["GET", "POST"])
@requires("moderate")
def redact_note(note_id: int):
    """Let a moderator take personal data out of a note, its history and every copy of it."""
    note = _note(note_id)
    form = RedactNoteForm()
    if request.method == "GET":
        _show_note_text(form, note)
    elif form.validate_on_submit():
        text = {"title": form.title.data, "summary": form.summary.data or "", "body": form.body.data or ""}
        text.update({f"section:{key}": getattr(form, key).data or "" for key in SECTIONS})
        with attempt(form=form) as redacted:
            done = moderation.redact_note(note, by=me(), fields=text, reason=form.reason.data or "",
                                          version=form.version.data or None)
        if isinstance(redacted.error, notes.ChangedMeanwhile):
            _show_note_text(form, note)  # as it is now: what this moderator saw is no longer the note's text
        if redacted:
            # i18n: %(n)d is how many earlier versions of the note had the removed data cut out too
            flash(ngettext("Removed from the note and from %(n)d earlier revision. Search and partner hubs follow.",
                           "Removed from the note and from %(n)d earlier revisions. Search and partner hubs follow.",
                           done.revisions, n=done.revisions), "info")
            _tell_redacted(done, note_id=note.id)
            return redirect(url_for("notes.detail", note_id=note.id))
    fields, findings = notes.privacy_findings(note)
    return render_template("moderation/redact.html", note=note, form=form, groups=privacy_groups(fields, findings))


def _tell_redacted(done: notes.Redacted, *, note_id: int) -> None:
    """Say where else what a moderator removed from a note went (comments quoting it, changes not yet
    published), and which of the note's other language versions still hold it, each with a link to
    remove it there.

    Only the language is named, never a title: a title may hold the very data, and flashes ride in the cookie.
    """
    if done.comments:
        # i18n: %(n)d is how many comments quoted what was removed from the note, and had it cut out too
        flash(ngettext("Also removed from %(n)d comment that quoted it.",
                       "Also removed from %(n)d comments that quoted it.", done.comments, n=done.comments), "info")
    for other in done.changes:
        _tell_changes_cut(other, itself=other.id == note_id)
    for other in done.still_in:
        if other.original is None:
            # i18n: a moderator removed personal data from a translation; its original note still holds it
            said, link = (_("The original note (%(language)s) still holds what you removed; it was not changed.",
                            language=language_label(other.language)), _("Remove it from the original"))
        else:
            # i18n: a moderator removed personal data from a note; another translation of it still holds it
            said, link = (_("The %(language)s translation still holds what you removed; it was not changed.",
                            language=language_label(other.language)), _("Remove it from that translation"))
        flash(_with_link(said, url_for("moderation.redact_note", note_id=other.id), link), "warning")


def _tell_changes_cut(other: Note, *, itself: bool) -> None:
    """Say that a note's pending changes lost what was removed, with a link to them when they wait for review."""
    language = language_label(other.language)
    if itself:
        # i18n: the author's edits of a published note, kept until a moderator accepts them
        said = _("Also removed from the changes to this note that are not published yet.")
    elif other.original is None:
        # i18n: a moderator removed personal data from a translation; it was cut from its original's edits too
        said = _("Also removed from the changes to the original note (%(language)s) that are not published yet.",
                 language=language)
    else:
        # i18n: a moderator removed personal data from a note; it was cut from another translation's edits too
        said = _("Also removed from the changes to the %(language)s translation that are not published yet.",
                 language=language)
    if other.pending is not None and other.pending.submitted_at is not None and other.is_published:
        said = _with_link(said, url_for("moderation.changes", note_id=other.id), _("Review those changes"))
    flash(said, "info")


def _with_link(said: str, url: str, link: str) -> Markup:
    """Return a translated sentence followed by a link; each part is escaped (no user text goes in them)."""
    return Markup('{} <a href="{}">{}</a>').format(said, url, link)


@bp.route("/moderation/comments/<int:comment_id>/redact", methods=["GET", "POST"])
@requires("moderate")
def redact_comment(comment_id: int):
    """Let a moderator take personal data out of a comment."""
    comment = db.session.get(Comment, comment_id) or abort(404)
    if comment.removed_at is not None:
        abort(404)
    form = RedactCommentForm()
    if request.method == "GET":
        show_comment_text(form, comment)
    elif form.validate_on_submit():
        with attempt(form=form) as redacted:
            reach = discussion.redact(comment, by=me(), body=form.body.data, version=form.version.data or None)
        if not redacted and db.session.get(Comment, comment_id) is None:
            abort(404)  # gone meanwhile (its partner hub deleted the note): as the page would answer now
        if isinstance(redacted.error, notes.ChangedMeanwhile):
            show_comment_text(form, comment)  # as it is now: saving the text this moderator saw would undo a cut
        if redacted:
            _flash_reach(reach, marker=screening.marker(discussion.comment_language(comment)),
                         until_release=_cut_waits_for_release(comment),
                         cut_off=cut_off_reason(comment) if _writers_hub_cut_off(comment) else None)
            return redirect(url_for("notes.detail", note_id=comment.note_id))
    fields = {discussion.FIELD: comment.body}
    return render_template("moderation/redact_comment.html", comment=comment, form=form,
                           groups=privacy_groups(fields, discussion.findings(comment)),
                           hub_takes_cuts=discussion.writers_hub_takes_cuts(comment),
                           hub_cut_off=_writers_hub_cut_off(comment),
                           until_release=_cut_waits_for_release(comment),
                           marker=screening.marker(discussion.comment_language(comment)))


def _cut_waits_for_release(comment: Comment) -> bool:
    """Tell whether a cut in a partner member's held comment stays here until the comment is released."""
    return (comment.state == CommentState.HELD and bool(discussion.writers_hub_takes_cuts(comment))
            and not _writers_hub_cut_off(comment))


def _writers_hub_cut_off(comment: Comment) -> bool:
    """Tell whether the partner hub a comment was written on would take a cut but is sent nothing now (blocked,
    off the allow-list, not following): the cut is saved marked all the same, yet does not reach it."""
    return comment.id in _writers_hubs_cut_off([comment])


def _writers_hubs_cut_off(comments: list[Comment]) -> set[int]:
    """Return the ids of those ``comments`` whose writer's hub is cut off (:func:`_writers_hub_cut_off`), read
    for all of them at once."""
    taking = [c for c in comments if discussion.writers_hub_takes_cuts(c)]
    return {c.id for c in taking} - conversation.sent_to_their_writers(taking)


@bp.app_template_global()
def cut_off_reason(comment: Comment) -> str:
    """Say why the partner hub ``comment`` was written on is sent nothing of it now, in the end of a sentence
    ("… does not get this change, as …"), for each cause hub.federation.conversation.why_not_sent_to_its_writer
    names."""
    why = conversation.why_not_sent_to_its_writer(comment)
    if why == "note":
        # i18n: ends a sentence saying why a partner hub does not get a moderator's change of a comment
        return _("this note is no longer shared with partner hubs (it was taken down, or narrowed to members).")
    if why == "unlisted":
        # i18n: ends a sentence saying why a partner hub does not get a moderator's change of a comment
        return _("it is off the allow-list: it gets your latest cut only if it is put back on the list.")
    # i18n: ends a sentence saying why a partner hub does not get a moderator's change of a comment
    return _("this hub sends it no comments now (it is blocked, does not follow this hub, or may not read this "
             "note).")


def _flash_reach(reach: discussion.Reach, *, marker: str, until_release: bool = False,
                 cut_off: str | None = None) -> None:
    """Say where a redaction of a comment went: a partner member's comment may stay as it was on its hub.

    ``until_release``: the comment is held, so nothing left this hub yet; its writer's hub hears at release.
    ``cut_off``: why its writer's hub, which would take the cut, is sent nothing now (:func:`cut_off_reason`).
    """
    if cut_off and reach is discussion.Reach.MARKED:
        # i18n: %(marker)s is the redaction marker, e.g. “[personal data removed]”; %(why)s ends the sentence
        flash(_("Removed from the comment; each deletion is marked “%(marker)s”. The partner hub the comment was "
                "written on does not get this change, as %(why)s", marker=marker, why=cut_off), "warning")
    elif cut_off and reach is discussion.Reach.EVERYWHERE:
        # i18n: %(why)s ends the sentence (why that hub is sent nothing now)
        flash(_("Removed from the comment. The partner hub the comment was written on does not get this change, "
                "as %(why)s", why=cut_off), "warning")
    elif until_release and reach is discussion.Reach.MARKED:
        # i18n: %(marker)s is the redaction marker, e.g. “[personal data removed]”
        flash(_("Removed from the comment; each deletion is marked “%(marker)s”. The comment still waits for a "
                "moderator: the cut stays on this hub until the comment is released, then reaches the partner hub "
                "it was written on.", marker=marker), "info")
    elif until_release and reach is discussion.Reach.EVERYWHERE:
        flash(_("Removed from the comment. The comment still waits for a moderator: the cut stays on this hub "
                "until the comment is released, then reaches the partner hub it was written on."), "info")
    elif reach is discussion.Reach.MARKED:
        # i18n: %(marker)s is the redaction marker, e.g. “[personal data removed]”
        flash(_("Removed from the comment. Each deletion is marked “%(marker)s”, so that the partner hub the "
                "comment was written on takes the change too.", marker=marker), "info")
    elif reach is discussion.Reach.NOT_WRITER:
        flash(_("Saved on this hub. The partner hub the comment was written on keeps its original: it takes only "
                "personal data cut out of the text as it was written there."), "warning")
    else:
        flash(_("Removed from the comment."), "info")


@bp.get("/moderation/flags")
@requires("moderate")
def flags():
    """List open flags; the reporter's pseudonym is shown to moderators only."""
    return _flags_page()


def _flags_page(sent_back: SentBack = NOTHING_SENT_BACK) -> str:
    """Render the open flags; ``sent_back`` is one flag's form, refused, shown as it was posted."""
    reason = request.args.get("reason") if request.args.get("reason") in notes.FLAG_REASONS else None
    page = moderation.open_flags(reason=reason, page=page_arg())
    kept = []
    if sent_back and sent_back.about in {item.id for item in page.items}:
        flash_unseen_errors(sent_back.form)  # the rest is shown beside the form's fields
    elif sent_back:
        # Its form is not on this page (handled meanwhile, or on another page of the list): say
        # everything here, once, and keep what was written to copy.
        flash(refusal(sent_back.form), "error")
        kept = [sent_back.form.message.data] if (sent_back.form.message.data or "").strip() else []
    # A reporter may send an explanation with personal data in it anyway: the list says what and where,
    # masked, and offers to remove it (never mailed: hub.mail.compose names no explanation).
    found = moderation.explanations_findings(page.items)
    explained = {item.id: masked_groups({moderation.EXPLANATION: item.detail}, found[item.id])
                 for item in page.items if item.id in found}
    return render_template("moderation/flags.html", page=page, reason=reason, counts=queue_counts(),
                           form=ResolveForm(formdata=None), sent_back=sent_back, kept=kept, explained=explained,
                           action_form=ActionForm())


@bp.post("/moderation/flags/<int:flag_id>/resolve")
@requires("moderate")
def resolve(flag_id: int):
    """Handle a flag; a refused decision comes back on the list with the message written."""
    item = db.session.get(Flag, flag_id) or abort(404)
    form = ResolveForm()
    done = submitted(form, lambda: moderation.resolve_flag(item, by=me(), resolution=form.resolution.data,
                                                           message=form.message.data or "",
                                                           confirm_privacy=form.confirm_privacy.data),
                     answered_by_caller=(PrivacyCheckRequired,))
    if done:
        flash(_("Report handled."), "info")
        return redirect(url_for("moderation.flags"))
    if isinstance(done.error, PrivacyCheckRequired):  # the message to the author, as a reply in the thread
        # Only asking the author sends a message through the check: the decision stays, shown in words.
        return render_template("notes/text_check.html", note=item.note, form=form, text_field=form.message,
                               text_label=_("Message to the author"), hidden_fields=[form.resolution],
                               decision=RESOLUTION_LABELS.get(form.resolution.data), action=request.path,
                               back=(url_for("moderation.flags"), _("Back to the reports")),
                               groups=privacy_groups({"message": form.message.data.strip()}, done.error.findings),
                               message=done.error.message, explanation=str(THREAD_CHECK_EXPLANATION)), 422
    return _flags_page(SentBack(form, "resolve", flag_id))


@bp.post("/moderation/flags/<int:flag_id>/redact")
@requires("moderate")
def redact_explanation(flag_id: int):
    """Remove the personal data the privacy check finds from a report's explanation."""
    item = db.session.get(Flag, flag_id) or abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    with attempt() as redacted:
        moderation.redact_explanation(item, by=me())
    if redacted:
        flash(_("The personal data was removed from the report's explanation."), "info")
    return redirect(url_for("moderation.flags"))
