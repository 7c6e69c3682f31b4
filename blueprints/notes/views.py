"""Views of the note pages: thin wrappers that check forms and call hub.services.notes."""
from __future__ import annotations

import re

import sqlalchemy as sa
from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _, ngettext
from flask_login import current_user

import search_index
from blueprints import dates
from blueprints.common import apply_service_error, id_arg, page_arg
from blueprints.notes import bp
from blueprints.notes.findings import finding_label
from blueprints.notes.forms import ActionForm, CommentForm, FlagForm, MessageForm, NoteForm
from hub.extensions import db
from hub.models.note import Comment, Note, NoteState
from hub.permissions import public, requires, signed_in
from hub.services import listing, notes, privacy, revisions, translations
from hub.services.errors import ServiceError
from hub.services.visibility import can_view


def _me():
    return current_user._get_current_object()


def _locale() -> str:
    return str(get_locale())


def _note_for(viewer, note_id: int) -> Note:
    """Return the note if ``viewer`` may see it; 410 for a tombstone, 404 otherwise."""
    note = db.session.get(Note, note_id)
    if note is None:
        abort(404)
    if note.state == NoteState.DELETED:
        abort(410)
    if not can_view(note, viewer):
        abort(404)  # not 403: do not even confirm that a draft exists
    return note


@bp.get("/notes")
@public
def index():
    """List published notes, newest first, by topic, project or featured."""
    filters = listing.Filters.from_args(request.args)
    page = listing.notes_page(viewer=current_user, filters=filters, page=page_arg())
    return render_template("notes/index.html", page=page, filters=filters, topics=notes.terms("topic"),
                           versions=translations.published_versions(page.items, locale=_locale(), viewer=current_user),
                           topic=filters.topic_term(), project=filters.project_obj())


@bp.get("/notes/mine")
@requires("write_notes")
def mine():
    """List the signed-in author's own notes in every state."""
    query = (sa.select(Note).where(Note.author_id == _me().id, Note.state != NoteState.DELETED.value)
             .order_by(Note.updated_at.desc()))
    page = db.paginate(query, page=page_arg(), per_page=30, error_out=False)
    return render_template("notes/mine.html", page=page)


@bp.route("/notes/new", methods=["GET", "POST"])
@requires("write_notes")
def new():
    """Open the editor for a new note; the first save makes it a draft."""
    form = NoteForm(locale=_locale())
    if request.method == "GET" and _me().project:
        form.place.data = _me().project.city
        form.province.data = _me().project.province
    if _editing_again() or not form.validate_on_submit():
        return render_template("notes/edit.html", form=form, note=None)
    if form.preview.data:
        return _preview_page(form, None)
    try:
        note = notes.create_draft(author=_me(), data=form.to_input())
    except ServiceError as error:
        db.session.rollback()
        apply_service_error(form, error)
        return render_template("notes/edit.html", form=form, note=None)
    if form.submit_note.data:
        return _submit(note, form)
    flash(_("Draft saved. Only you and the moderators can see it."), "info")
    return redirect(url_for("notes.edit", note_id=note.id))


def _preview_page(form: NoteForm, note: Note | None):
    """Show the editor again with the rendered text and the privacy findings (works without script)."""
    data = form.to_input()
    fields, findings = notes.scan_input(data)
    return render_template("notes/edit.html", form=form, note=note,
                           thread=notes.thread(note) if note else [],
                           preview_html=notes.render_text(data.body, data.sections, language=data.language),
                           groups=privacy_groups(fields, findings))


def _editing_again() -> bool:
    """Tell whether the author chose "go back and edit" on the privacy-check page."""
    return request.method == "POST" and request.form.get("edit_again") == "1"


@bp.route("/notes/<int:note_id>/edit", methods=["GET", "POST"])
@requires("write_notes")
def edit(note_id: int):
    """Edit a note; saving a submitted or published note keeps a revision."""
    note = _note_for(_me(), note_id)
    if not notes.may(_me(), "edit", note):
        abort(403)
    form = NoteForm(locale=_locale())
    if request.method == "GET":
        form.fill_from(note)
    elif form.preview.data and form.validate_on_submit():
        return _preview_page(form, note)
    elif not _editing_again() and form.validate_on_submit():
        try:
            notes.save(note, by=_me(), data=form.to_input(), confirm_privacy=form.confirm_privacy.data)
        except notes.PrivacyCheckRequired as error:
            db.session.rollback()
            return _privacy_page(form, note, error), 422
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
        else:
            if form.submit_note.data:
                return _submit(note, form)
            flash(_("Saved."), "info")
            return redirect(url_for("notes.edit", note_id=note.id) if note.state != NoteState.PUBLISHED
                            else url_for("notes.detail", note_id=note.id))
    return render_template("notes/edit.html", form=form, note=note, thread=notes.thread(note),
                           original_changes=translations.original_changes(note) if note.original else [])


def _submit(note: Note, form: NoteForm):
    """Submit after the privacy check; show the findings when there are any."""
    try:
        notes.submit(note, by=_me(), confirm_privacy=form.confirm_privacy.data)
    except notes.PrivacyCheckRequired as error:
        db.session.rollback()
        return _privacy_page(form, note, error), 422
    except ServiceError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return redirect(url_for("notes.edit", note_id=note.id))
    flash(_("Submitted. A moderator will review your note; you will be notified."), "info")
    return redirect(url_for("notes.detail", note_id=note.id))


def _privacy_page(form: NoteForm, note: Note | None, error: notes.PrivacyCheckRequired):
    fields, _findings = notes.scan_input(form.to_input())
    if note is not None:
        fields.update({f"attachment:{a.id}": a.filename for a in note.attachments})
    return render_template("notes/privacy_check.html", form=form, note=note,
                           groups=privacy_groups(fields, error.findings))


def privacy_groups(fields: dict[str, str], findings: list) -> list[dict]:
    """Group findings by field, with highlight segments for the template (no HTML built here)."""
    groups = []
    for name, text in fields.items():
        mine = [f for f in findings if f.field == name]
        if mine:
            groups.append({"field": name, "kinds": sorted({f.kind for f in mine}),
                           "segments": privacy.highlight(text, mine)})
    return groups


@bp.post("/notes/autosave")
@requires("write_notes")
def autosave():
    """Save the editor's content as a draft (JSON, called by the editor script)."""
    form = NoteForm(locale=_locale())
    if not form.validate():
        return jsonify(ok=False, errors={k: [str(e) for e in v] for k, v in form.errors.items()}), 400
    try:
        if form.note_id.data:
            note_id = int(form.note_id.data) if re.fullmatch(r"[0-9]{1,18}", form.note_id.data) else abort(404)
            note = _note_for(_me(), note_id)
            if note.state not in (NoteState.DRAFT, NoteState.CHANGES_REQUESTED):
                return jsonify(ok=False, reason="not_a_draft"), 409
            notes.save(note, by=_me(), data=form.to_input())
        else:
            note = notes.create_draft(author=_me(), data=form.to_input())
    except ServiceError as error:
        db.session.rollback()
        return jsonify(ok=False, errors={error.field or "form": [str(error.message)]}), 400
    return jsonify(ok=True, id=note.id, edit_url=url_for("notes.edit", note_id=note.id),
                   saved_at=dates.moment(note.updated_at))


@bp.post("/notes/preview")
@requires("write_notes")
def preview():
    """Render the editor's text and check it for personal data (JSON)."""
    form = NoteForm(locale=_locale())
    if not form.validate():
        return jsonify(ok=False), 400
    data = form.to_input()
    fields, found = notes.scan_input(data)
    return jsonify(ok=True, html=notes.render_text(data.body, data.sections, language=data.language), findings=[
        {"field": f.field, "kind": f.kind, "label": finding_label(f.kind), "masked": f.masked(fields[f.field])}
        for f in found], summary=ngettext("%(num)s place to check for personal data",
                                          "%(num)s places to check for personal data", len(found)))


@bp.get("/notes/<int:note_id>")
@public
def detail(note_id: int):
    """Show a note to whoever may see it, in the reader's language when a published translation exists."""
    note = _note_for(current_user, note_id)
    if note.original is not None and note.is_published and can_view(note.original, current_user):
        return redirect(url_for("notes.detail", note_id=note.original.id, version=note.language))
    shown = _version_to_show(note, request.args.get("version"))
    return render_template(
        "notes/detail.html", note=note, shown=shown, comments=notes.visible_comments(note),
        versions=translations.published_translations(note, current_user) if not note.original else [],
        outdated=shown is not note and translations.is_outdated(shown),
        marks=notes.mark_counts(note, current_user), thread=notes.thread(note) if notes.may(current_user, "history", note) else [],
        comment_form=CommentForm(), flag_form=FlagForm(), message_form=MessageForm(), action_form=ActionForm(),
        similar=search_index.similar(note, viewer=current_user) if note.is_published else [])


@bp.get("/notes/<int:note_id>/history")
@signed_in
def history(note_id: int):
    """Show the revisions of a note with what changed between them (author and moderators)."""
    note = _note_for(_me(), note_id)
    if not notes.may(_me(), "history", note):
        abort(404)
    return render_template("notes/history.html", note=note, changes=revisions.changes(note))


def _version_to_show(note: Note, version: str | None) -> Note:
    """Pick the text to show: the original, a named language's translation, or the reader's language."""
    if version == "original" or note.original is not None:
        return note
    available = {t.language: t for t in translations.published_translations(note, current_user)}
    if version in available:
        return available[version]
    return translations.published_versions([note], locale=_locale(), viewer=current_user)[note.id]


def _act(note_id: int, action, success: str, *, form_class=ActionForm, to: str = "notes.detail"):
    """Run ``action(note, form)`` for a posted form; flash the outcome and go back to the note."""
    note = _note_for(_me(), note_id)
    form = form_class()
    if not form.validate_on_submit():
        flash(_("Please fill in the form completely."), "error")
        return redirect(url_for(to, note_id=note.id))
    try:
        action(note, form)
    except ServiceError as error:
        db.session.rollback()
        flash(str(error.message), "error")
    else:
        flash(success, "info")
    if note.state == NoteState.DELETED:
        return redirect(url_for("notes.mine"))
    return redirect(url_for(to, note_id=note.id) if can_view(note, _me()) else url_for("notes.index"))


@bp.post("/notes/<int:note_id>/withdraw")
@requires("write_notes")
def withdraw(note_id: int):
    """Take one's own note back."""
    return _act(note_id, lambda note, _f: notes.withdraw(note, by=_me()), _("The note is withdrawn."))


@bp.post("/notes/<int:note_id>/delete")
@requires("write_notes")
def delete(note_id: int):
    """Delete one's own note (a tombstone remains)."""
    return _act(note_id, lambda note, _f: notes.delete(note, by=_me()), _("The note is deleted."))


@bp.post("/notes/<int:note_id>/reply")
@signed_in
def reply(note_id: int):
    """Answer in the review thread."""
    return _act(note_id, lambda note, f: notes.reply(note, by=_me(), body=f.message.data),
                _("Message sent."), form_class=MessageForm)


@bp.post("/notes/<int:note_id>/comments")
@requires("comment")
def comment(note_id: int):
    """Comment on a published note."""
    return _act(note_id, lambda note, f: notes.add_comment(note, by=_me(), body=f.body.data),
                _("Comment posted."), form_class=CommentForm)


@bp.post("/notes/<int:note_id>/marks/<any(tried, useful):kind>")
@requires("comment")
def mark(note_id: int, kind: str):
    """Set or take back a mark."""
    return _act(note_id, lambda note, _f: notes.toggle_mark(note, by=_me(), kind=kind), _("Thank you."))


@bp.post("/notes/<int:note_id>/flag")
@requires("flag")
def flag(note_id: int):
    """Report a note, or one of its comments (comment_id), to the moderators."""
    def run(note, form):
        comment_id = id_arg("comment")
        target = db.session.get(Comment, comment_id) if comment_id else None
        if "comment" in request.args and target is None:
            abort(404)
        notes.flag(note, by=_me(), reason=form.reason.data, detail=form.detail.data or "", comment=target)
    return _act(note_id, run, _("Thank you. A moderator will look at it."), form_class=FlagForm)


@bp.post("/notes/<int:note_id>/feature")
@requires("moderate")
def feature(note_id: int):
    """Show a note on the home page, or stop showing it."""
    featured = request.args.get("on") == "1"
    return _act(note_id, lambda note, _f: notes.set_featured(note, by=_me(), featured=featured),
                _("Featured notes updated."))
