"""Views of the moderation queue: thin wrappers over hub.services.notes and hub.services.moderation."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from blueprints.moderation.forms import ApproveForm, DecisionForm, ResolveForm, VisibilityForm
from blueprints.web.access import requires
from blueprints.web.common import me, page_arg, privacy_groups
from blueprints.web.forms import ActionForm
from blueprints.web.refusals import attempt
from hub.extensions import db
from hub.models import Comment, Flag, Note, NoteState
from hub.services import moderation, notes
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
    return render_template("moderation/queue.html", page=page, counts=moderation.queue_counts(),
                           projects=project_service.all_projects(), topics=notes.terms("topic"),
                           selected={"project": request.args.get("project", ""), "language": language or "",
                                     "topic": request.args.get("topic", "")})


@bp.get("/moderation/notes/<int:note_id>")
@requires("moderate")
def review(note_id: int):
    """Show a note with its privacy findings, thread and the decisions a moderator can take."""
    note = _note(note_id)
    fields, findings = notes.privacy_findings(note)
    approve_form = ApproveForm(visibility=note.visibility)
    return render_template("moderation/review.html", note=note, groups=privacy_groups(fields, findings),
                           thread=notes.thread(note), approve_form=approve_form, decision_form=DecisionForm(),
                           visibility_form=VisibilityForm(visibility=note.visibility),
                           flags=db.session.scalars(db.select(Flag).where(Flag.note_id == note.id,
                                                                          Flag.resolved_at.is_(None))).all())


def _decide(note_id: int, form, action, success: str):
    note = _note(note_id)
    if not form.validate_on_submit():
        flash(_("Write a message so the author knows what to do."), "error")
        return redirect(url_for("moderation.review", note_id=note_id))
    with attempt() as decided:
        action(note, form)
    if not decided:
        return redirect(url_for("moderation.review", note_id=note_id))
    flash(success, "info")
    return redirect(url_for("moderation.queue"))


@bp.post("/moderation/notes/<int:note_id>/approve")
@requires("moderate")
def approve(note_id: int):
    """Publish a submitted note."""
    return _decide(note_id, ApproveForm(), lambda note, f: notes.approve(
        note, by=me(), visibility=f.visibility.data, featured=f.featured.data, message=f.message.data or ""),
        _("Published. The author is notified."))


@bp.post("/moderation/notes/<int:note_id>/request-changes")
@requires("moderate")
def request_changes(note_id: int):
    """Send a note back to its author."""
    return _decide(note_id, DecisionForm(), lambda note, f: notes.request_changes(note, by=me(), message=f.message.data),
                   _("Sent back to the author with your message."))


@bp.post("/moderation/notes/<int:note_id>/reject")
@requires("moderate")
def reject(note_id: int):
    """Refuse a note, with a reason."""
    return _decide(note_id, DecisionForm(), lambda note, f: notes.reject(note, by=me(), reason=f.message.data),
                   _("Rejected. The author is notified."))


@bp.post("/moderation/notes/<int:note_id>/unpublish")
@requires("moderate")
def unpublish(note_id: int):
    """Take a published note down."""
    return _decide(note_id, DecisionForm(), lambda note, f: notes.unpublish(note, by=me(), reason=f.message.data),
                   _("Unpublished. The author is notified."))


@bp.post("/moderation/notes/<int:note_id>/visibility")
@requires("moderate")
def visibility(note_id: int):
    """Narrow who may read a note."""
    return _decide(note_id, VisibilityForm(),
                   lambda note, f: notes.narrow_visibility(note, by=me(), visibility=f.visibility.data),
                   _("Visibility narrowed."))


@bp.post("/moderation/comments/<int:comment_id>/remove")
@requires("moderate")
def remove_comment(comment_id: int):
    """Hide a comment."""
    comment = db.session.get(Comment, comment_id) or abort(404)
    if ActionForm().validate_on_submit() and comment.removed_at is None:
        notes.remove_comment(comment, by=me())
        flash(_("Comment removed."), "info")
    return redirect(url_for("notes.detail", note_id=comment.note_id))


@bp.get("/moderation/flags")
@requires("moderate")
def flags():
    """List open flags; the reporter's pseudonym is shown to moderators only."""
    reason = request.args.get("reason") if request.args.get("reason") in notes.FLAG_REASONS else None
    page = moderation.open_flags(reason=reason, page=page_arg())
    return render_template("moderation/flags.html", page=page, reason=reason, counts=moderation.queue_counts(),
                           form=ResolveForm())


@bp.post("/moderation/flags/<int:flag_id>/resolve")
@requires("moderate")
def resolve(flag_id: int):
    """Handle a flag."""
    item = db.session.get(Flag, flag_id) or abort(404)
    form = ResolveForm()
    if not form.validate_on_submit():
        flash(_("Choose what to do with this flag."), "error")
        return redirect(url_for("moderation.flags"))
    with attempt() as resolved:
        moderation.resolve_flag(item, by=me(), resolution=form.resolution.data, message=form.message.data or "")
    if resolved:
        flash(_("Report handled."), "info")
    return redirect(url_for("moderation.flags"))
