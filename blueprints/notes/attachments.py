"""Views of a note's attachments: the author adds and removes them; readers of the note open them."""
from __future__ import annotations

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Response
from wtforms import SubmitField

from blueprints.notes.views import bp
from blueprints.web.access import public, requires
from blueprints.web.common import me, note_for
from blueprints.web.errors import problem_response, render_error, wants_json
from blueprints.web.forms import ActionForm
from blueprints.web.refusals import attempt
from hub.extensions import db
from hub.models import Attachment, Note
from hub.services import attachments, notes
from hub.services.errors import ServiceError
from hub.services.visibility import ANONYMOUS, may_read

# An attachment is shown on its own, never as a page: no scripts, no plugins, no framing by others.
SERVE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
    # private: members-only notes have attachments too, so shared caches must never keep them.
    "Cache-Control": "private, max-age=3600",
}
# The attachment of a note that not everyone may read (a draft, one waiting for review, members or partners
# only) is kept by no browser either: on a phone several people share, the next one would be shown it from
# the cache, without the hub being asked (as pages: blueprints.web.security.PAGE_HEADERS).
NOT_FOR_EVERYONE = {"Cache-Control": "private, no-store"}


class AttachmentForm(FlaskForm):
    """The upload of one photo or PDF."""

    file = FileField(_l("Photo or PDF"), validators=[FileRequired(_l("Choose a file to attach."))])
    # i18n: button: attach the chosen photo or PDF to the note
    submit = SubmitField(_l("Attach"))


def _attachment_of(note: Note, attachment_id: int) -> Attachment:
    """Return the note's attachment ``attachment_id``; 404 when it belongs to another note."""
    item = db.session.get(Attachment, attachment_id)
    if item is None or item.note_id != note.id:
        abort(404)
    return item


def _back_to(note: Note) -> Response:
    """Return to the editor, or to the note for someone who may not edit it."""
    target = "notes.edit" if notes.may(me(), "edit", note) else "notes.detail"
    return redirect(url_for(target, note_id=note.id))


def _refused(note: Note, message: str, status: int = 400) -> Response:
    """Answer an upload the hub will not keep: in place for the script (a problem document), else back in the editor."""
    if wants_json():  # the editor's upload script asks for JSON to show the answer in place
        return problem_response(status, message, ok=False)
    flash(message, "error")
    return _back_to(note)


@bp.post("/notes/<int:note_id>/attachments")
@requires("write_notes")
def add_attachment(note_id: int):
    """Attach an uploaded photo or PDF to a note."""
    note = note_for(me(), note_id)
    form = AttachmentForm()
    if not form.validate_on_submit():
        errors = form.file.errors or [_("Please fill in the form completely.")]
        return _refused(note, str(errors[0]))
    upload = form.file.data
    with attempt(answered_by_caller=(ServiceError,)) as added:
        item = attachments.add(note, by=me(), filename=upload.filename or "", stream=upload.stream)
    if not added:
        return _refused(note, str(added.error.message), 422)
    # i18n: %(name)s is the attached file's name, e.g. photo.jpg
    message = _("Attached %(name)s.", name=item.filename)
    if wants_json():
        return jsonify(ok=True, message=message, html=render_template("notes/_attachments_form.html", note=note))
    flash(message, "info")
    return _back_to(note)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge):
    """Refuse an upload over MAX_CONTENT_LENGTH where the editor can show it, not on a bare error page."""
    if request.endpoint != "notes.add_attachment":
        return render_error(413)
    try:
        note = note_for(me(), request.view_args["note_id"])
    except HTTPException:  # no such note for this person: the plain answer
        return render_error(413)
    limit = int(current_app.config.get("ATTACHMENT_MAX_BYTES", attachments.DEFAULT_MAX_BYTES))
    return _refused(note, _("The file is larger than %(mb)s MB. Make it smaller and try again.",
                            mb=f"{limit / 1024 / 1024:g}"), 413)


@bp.post("/notes/<int:note_id>/attachments/<int:attachment_id>/delete")
@requires("write_notes")
def delete_attachment(note_id: int, attachment_id: int):
    """Remove an attachment from a note."""
    note = note_for(me(), note_id)
    item = _attachment_of(note, attachment_id)
    if not ActionForm().validate_on_submit():
        flash(_("Please fill in the form completely."), "error")
        return _back_to(note)
    name = item.filename
    with attempt() as removed:
        attachments.remove(item, by=me())
    if removed:
        # i18n: %(name)s is the removed file's name, e.g. photo.jpg
        flash(_("Removed %(name)s.", name=name), "info")
    return _back_to(note)


@bp.get("/notes/<int:note_id>/attachments/<int:attachment_id>")
@public
def attachment(note_id: int, attachment_id: int):
    """Send an attachment to whoever may see its note, with headers that keep it inert."""
    note = note_for(current_user, note_id)
    item = _attachment_of(note, attachment_id)
    if item not in attachments.shown(note, current_user):
        abort(404)  # waiting for review: not even its existence is told
    path = attachments.path_of(item)
    if not path.is_file():
        abort(404)
    # Images open in the browser; PDFs are downloaded, so no viewer runs them on this origin.
    response = send_file(path, mimetype=item.content_type, as_attachment=not item.content_type.startswith("image/"),
                         download_name=item.filename, etag=item.sha256, conditional=True, max_age=0)
    response.headers.update(SERVE_HEADERS)
    if not may_read(note, ANONYMOUS):
        response.headers.update(NOT_FOR_EVERYONE)
    del response.headers["Expires"]
    return response
