"""Views of the note pages: thin wrappers that check forms and call hub.services.notes."""
from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale, get_timezone, gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user

import search_index
from blueprints.notes.forms import CommentForm, EditCommentForm, FlagForm, MessageForm, NoteForm
from blueprints.web import dates
from blueprints.web.access import public, requires, signed_in
from blueprints.web.common import as_id, id_arg, me, note_for, page_arg, privacy_groups, show_comment_text
from blueprints.web.errors import answers_json, problem_response
from blueprints.web.forms import (NOTHING_SENT_BACK, THREAD_CHECK_EXPLANATION, VISIBILITY_LABELS, ActionForm,
                                  SentBack, flash_unseen_errors, refusal)
from blueprints.web.fragments import deferred, memo, page, share_page
from blueprints.web.refusals import Outcome, attempt, problem, submitted
from hub.extensions import db
from hub.models import LANGUAGES, Comment, CommentState, Note, NoteState
from hub.permissions import can
from hub.services import attachments, discussion, listing, notes, revisions, translations
from hub.services.errors import NotAllowed, ServiceError
from hub.services.screening import PrivacyCheckRequired
from hub.services.visibility import can_view, may_read

bp = Blueprint("notes", __name__, template_folder="templates")
# The flash category that tells the next page "the hub has this note's text from the editor": hub.js then
# drops the device copy it kept while the form was on its way (base.html turns it into a <meta>).
EDITOR_SAVED = "editor-saved"
DEVICE_COPY_MARK = re.compile(r"[0-9a-z]{4,40}")
# i18n: on the page that shows a member the places in their comment that may be personal data
COMMENT_CHECK_EXPLANATION = _l("Remove what could identify someone, or confirm that it may stay: a moderator then "
                               "checks your comment before readers see it.")
# A note page's similar notes come from the search index: a kept page is keyed by the index commit,
# looked at once a second at most (the content version, read on every request, keeps what it shows visible).
INDEX_CHECK_SECONDS = 1.0


def _locale() -> str:
    return str(get_locale())


@bp.get("/notes")
@public
@page("notes", args=("page", "topic", "project", "featured"), shared=True, members=True)
def index():
    """List published notes, newest first, by topic, project or featured."""
    filters, number = listing.Filters.from_args(request.args), page_arg()
    # Deferred: the list is a cached fragment (blueprints/web/fragments.py), keyed by the filters and page.
    page = deferred(listing.notes_page, viewer=current_user, filters=filters, page=number)
    return render_template("notes/index.html", page=page, number=number, filters=filters,
                           topics=deferred(notes.terms, "topic"), topic=deferred(filters.topic_term),
                           project=deferred(filters.project_obj), versions=deferred(
                               lambda: translations.published_versions(page.items, locale=_locale(), viewer=current_user)))


@bp.get("/notes/mine")
@requires("write_notes")
def mine():
    """List the signed-in author's own notes in every state."""
    query = (sa.select(Note).where(Note.author_id == me().id, Note.state != NoteState.DELETED.value)
             .order_by(Note.updated_at.desc()))
    page = db.paginate(query, page=page_arg(), per_page=30, error_out=False)
    return render_template("notes/mine.html", page=page)


@bp.route("/notes/new", methods=["GET", "POST"])
@requires("write_notes")
def new():
    """Open the editor for a new note; the first save makes it a draft, or submits it in one go.

    The form carries an idempotency key (``draft_key``): a post or autosave sent again with it
    reaches the note the first one made (:func:`_again`) instead of making another.
    """
    form = NoteForm(locale=_locale())
    if request.method == "GET":
        form.draft_key.data = notes.new_draft_key()
        if me().project:
            form.place.data = me().project.city
            form.province.data = me().project.province
    if _editing_again() or not form.validate_on_submit():
        return render_template("notes/edit.html", form=form, note=None)
    if form.preview.data:
        return _preview_page(form, None)
    if form.submit_note.data:
        return _submit_new(form)
    with attempt(form=form, answered_by_caller=(notes.SameKey,)) as created:
        note = notes.create_draft(author=me(), data=form.to_input(), key=form.draft_key.data)
    if isinstance(created.error, notes.SameKey):
        return _again(created.error.note, form)
    if not created:
        return render_template("notes/edit.html", form=form, note=None)
    _confirm_saved()
    flash(_("Draft saved. Only you and the moderators can see it."), "info")
    return redirect(url_for("notes.edit", note_id=note.id))


def _submit_new(form: NoteForm):
    """Write and submit a new note in one transaction; refused, the text comes back as it was sent."""
    with attempt(form=form, answered_by_caller=(PrivacyCheckRequired, notes.SameKey)) as done:
        note = notes.submit_new(author=me(), data=form.to_input(), key=form.draft_key.data,
                                confirm_privacy=form.confirm_privacy.data)
    if isinstance(done.error, PrivacyCheckRequired):
        return _privacy_page(form, None, done.error), 422
    if isinstance(done.error, notes.SameKey):
        return _again(done.error.note, form)
    if not done:  # nothing saved: the editor again, with the text and what to change
        return render_template("notes/edit.html", form=form, note=None), 422
    _confirm_saved()
    return _submitted(note)


def _again(note: Note, form: NoteForm):
    """Answer a new note's form sent again (its key made ``note`` already).

    A draft, or new text for a note its author may still change, is saved into that note as the
    editor of the note would save it; the same text sent again changes nothing, and the answer is the
    one the first sending got. A note deleted since is not brought back: see :func:`_key_note_deleted`.
    """
    if note.state == NoteState.DELETED:
        return _key_note_deleted(form)
    if note.state in (NoteState.DRAFT, NoteState.CHANGES_REQUESTED) or (
            notes.may(me(), "edit", note) and not notes.same_text(note, form.to_input())):
        return _save_edit(note, form) or _editor_page(form, note)
    _confirm_saved()
    if note.state == NoteState.SUBMITTED:
        return _submitted(note)
    # i18n: a new note's form arrived twice (a double tap, a retry): the second changed nothing
    flash(_("This note was already saved; it is shown as the hub has it."), "info")
    return redirect(url_for("notes.detail", note_id=note.id))


def _key_note_deleted(form: NoteForm):
    """Answer an editor whose key made a note deleted since (in another tab; a form or autosave sent again after).

    Nothing is saved and nothing is claimed: the deleted note stays deleted, and the text comes
    back in the editor with a new key, so that saving it again, by the person's own choice, makes
    a new note.
    """
    form.draft_key.data = notes.new_draft_key()
    form.form_errors.append(_("The note this editor saved was deleted meanwhile (in another tab or window?), so "
                              "nothing was saved. Your text is still here: save it again to keep it as a new note."))
    return render_template("notes/edit.html", form=form, note=None), 409


def _preview_page(form: NoteForm, note: Note | None):
    """Show the editor again with the rendered text and the privacy findings (works without script)."""
    data = form.to_input()
    fields, findings = notes.scan_input(data)
    return render_template("notes/edit.html", form=form, note=note,
                           thread=notes.thread(note) if note else [], original=_original_for_translator(note),
                           preview_html=notes.render_text(data.body, data.sections, language=data.language),
                           groups=privacy_groups(fields, findings))


def _editing_again() -> bool:
    """Tell whether the author chose "go back and edit" on the privacy-check page."""
    return request.method == "POST" and request.form.get("edit_again") == "1"


@bp.route("/notes/<int:note_id>/edit", methods=["GET", "POST"])
@requires("write_notes")
def edit(note_id: int):
    """Edit a note; a published note's edit waits for review as its pending revision."""
    note = note_for(me(), note_id)
    if not notes.may(me(), "edit", note):
        abort(403)
    form = NoteForm(locale=_locale())
    if request.method == "GET":
        form.fill_from(note)
    elif form.preview.data and form.validate_on_submit():
        return _preview_page(form, note)
    elif not _editing_again() and form.validate_on_submit() and (answer := _save_edit(note, form)):
        return answer
    return _editor_page(form, note)


def _editor_page(form: NoteForm, note: Note, *, redacted_meanwhile: notes.RedactedWhileEditing | None = None) -> str:
    """Render the editor of ``note`` with ``form`` (as the note has it, or as it was sent and refused).

    ``redacted_meanwhile``: the save was refused as the editor predates a moderator's removal of personal
    data; the page says so on its own, not as fields to correct (nothing in them is wrong).
    """
    original = _original_for_translator(note)
    return render_template("notes/edit.html", form=form, note=note, thread=notes.thread(note), original=original,
                           original_changes=translations.original_changes(note) if original is not None else [],
                           redacted_meanwhile=redacted_meanwhile)


def _original_for_translator(note: Note | None) -> Note | None:
    """Return the original a translation's editor shows beside it, while its translator may read it.

    Taken back, taken down or deleted, the original is its author's and the moderators' again: its
    text (a draft its author reworks, say) never reaches the translator's editor.
    """
    original = note.original if note is not None else None
    return original if original is not None and may_read(original, me()) else None


def _save_edit(note: Note, form: NoteForm):
    """Save a posted editor into ``note`` (and submit it when asked); None: show the editor again, refused.

    Saving and submitting a note not in review is one transaction (:func:`notes.save_and_submit`):
    refused, nothing is saved and the editor comes back with the text and what to change.
    """
    if form.submit_note.data and notes.submitted_already(note, form.to_input()):
        _confirm_saved()  # "Submit" sent twice (a double click, a slow phone): the first one's answer again
        return _submitted(note)
    submitting = form.submit_note.data and note.state not in (NoteState.PUBLISHED, NoteState.SUBMITTED)
    readers = note.visibility
    with attempt(form=form, answered_by_caller=(PrivacyCheckRequired, notes.RedactedWhileEditing)) as saved:
        (notes.save_and_submit if submitting else notes.save)(
            note, by=me(), data=form.to_input(), confirm_privacy=form.confirm_privacy.data, seen=form.seen())
    if isinstance(saved.error, PrivacyCheckRequired):
        return _privacy_page(form, note, saved.error), 422
    if isinstance(saved.error, notes.RedactedWhileEditing):  # the text as sent, and why, as a message of its own
        return _editor_page(form, note, redacted_meanwhile=saved.error), 409
    if not saved:
        return (_editor_page(form, note), 422) if submitting else None
    _confirm_saved()
    return _submitted(note) if submitting else _after_save(note, narrowed=note.visibility != readers)


def _confirm_saved() -> None:
    """Tell the next page that the hub has the text the editor sent, by the mark it sent it with (EDITOR_SAVED)."""
    mark = request.form.get("device_copy", "")
    if DEVICE_COPY_MARK.fullmatch(mark):  # the editor script's own mark, nothing else, goes into the page
        flash(mark, EDITOR_SAVED)


def _after_save(note: Note, *, narrowed: bool = False):
    """Say what became of a save: a draft kept, changes waiting for review, or changes published (and
    fewer readers at once, when the author ``narrowed`` who may read a published note)."""
    if note.state != NoteState.PUBLISHED:
        # i18n: flash after an author saves a note in the editor
        flash(_("Saved."), "info")
        return redirect(url_for("notes.edit", note_id=note.id))
    if narrowed:
        # i18n: an author narrowed who may read their published note; %(readers)s is e.g. "Members of this hub"
        flash(_("Who may read it changed at once: %(readers)s.", readers=VISIBILITY_LABELS[note.visibility]), "info")
        if note.pending is None:
            return redirect(url_for("notes.detail", note_id=note.id))
    if note.pending is not None:
        flash(_("Your changes wait for a moderator. Until they are accepted, readers see the published text."),
              "info")
    else:
        flash(_("Your changes are published."), "info")
    return redirect(url_for("notes.detail", note_id=note.id))


@bp.post("/notes/<int:note_id>/changes/discard")
@requires("write_notes")
def discard_changes(note_id: int):
    """Drop the author's pending changes to a published note."""
    return _act(note_id, lambda note, _f: notes.discard_changes(note, by=me()),
                _("Your changes are discarded. The published text stays as it is."))


def _submitted(note: Note):
    """Say that ``note`` went to the moderators, and show it."""
    flash(_("Submitted. A moderator will review your note; you will be notified."), "info")
    return redirect(url_for("notes.detail", note_id=note.id))


def _privacy_page(form: NoteForm, note: Note | None, error: PrivacyCheckRequired):
    _mark_unticked(form)
    fields, _findings = notes.scan_input(form.to_input())
    if note is not None:
        fields.update({f"attachment:{a.id}": a.filename for a in note.attachments})
    return render_template("notes/privacy_check.html", form=form, note=note,
                           groups=privacy_groups(fields, error.findings))


def _mark_unticked(form) -> None:
    """Mark the confirmation box when its check page was sent without the tick (not on the page's first showing).

    The check pages send ``privacy_check=1``: a form from the editor or the note page does not, and
    the writer has not seen the highlighted places yet.
    """
    if request.form.get("privacy_check") == "1" and not form.confirm_privacy.data:
        form.confirm_privacy.errors = [*form.confirm_privacy.errors,
                                       _("Tick this box to confirm that you checked each highlighted place.")]


@bp.post("/notes/autosave")
@requires("write_notes")
@answers_json
def autosave():
    """Keep the editor's content on the server (JSON, called by the editor script).

    A draft is saved; a published note's text goes into its pending revision, never over the
    published text.
    """
    form = NoteForm(locale=_locale())
    if not form.validate():  # a problem document like any other refusal, each field's errors named
        return problem_response(400, refusal(form), ok=False,
                                errors={k: [str(e) for e in v] for k, v in form.errors.items()})
    get_timezone()  # chosen now, from the signed-in person: after the save's commit their row would be read again
    made = False
    with attempt(answered_by_caller=(ServiceError,)) as saved:
        if form.note_id.data:
            note = note_for(me(), as_id(form.note_id.data) or abort(404))
        else:
            note, made = notes.create_draft(author=me(), data=form.to_input(), key=form.draft_key.data), True
    if isinstance(saved.error, notes.SameKey):  # sent again (a retry, two tabs): the note its key made
        note, saved = saved.error.note, Outcome()
        if note.state == NoteState.DELETED:  # deleted since: stays deleted, and the editor keeps the text
            # i18n: the editor's autosave, after the note it had saved was deleted (in another tab)
            return problem_response(410, _("The note this editor saved was deleted meanwhile (in another tab or "
                                           "window?), so the hub did not save this text. Press “Save draft” to "
                                           "keep it as a new note."), ok=False, reason="deleted")
    if saved and not made:
        if not notes.autosaves(note):
            # i18n: the editor's autosave, after the note was submitted or withdrawn (in another tab)
            return problem_response(409, _("This note is no longer a draft (it was submitted or withdrawn "
                                           "meanwhile), so the hub does not save it automatically."),
                                    ok=False, reason="not_a_draft")
        with attempt(answered_by_caller=(ServiceError,)) as saved:
            notes.autosave(note, by=me(), data=form.to_input(), seen=form.seen())
    if isinstance(saved.error, notes.RedactedWhileEditing):  # editor.js shows it and keeps the text in the page
        return problem(saved.error, 409, ok=False, reason="redacted")
    if not saved:  # the editor script reads "ok" and keeps the device copy
        return problem(saved.error, 400, ok=False, errors={saved.error.field or "form": [str(saved.error.message)]})
    saved_at = note.pending.updated_at if note.pending is not None else note.updated_at
    return jsonify(ok=True, id=note.id, edit_url=url_for("notes.edit", note_id=note.id),
                   saved_at=dates.moment(saved_at))


@bp.post("/notes/preview")
@requires("write_notes")
@answers_json
def preview():
    """Render the editor's text and check it for personal data (JSON)."""
    form = NoteForm(locale=_locale())
    if not form.validate():
        return jsonify(ok=False), 400
    data = form.to_input()
    fields, found = notes.scan_input(data)
    return jsonify(ok=True, html=notes.render_text(data.body, data.sections, language=data.language), findings=[
        {"field": f.field, "kind": f.kind, "label": f.label, "masked": f.masked(fields[f.field])}
        for f in found], summary=ngettext("%(num)s place to check for personal data",
                                          "%(num)s places to check for personal data", len(found)))


def _readers_own() -> tuple | None:
    """What a member's page of a published note shows of their own: their comments and marks.

    None (the page is not kept for the role) for the note's author, a moderator, a draft, a
    translation (redirected to its original) or a note that does not exist. Read from what
    :func:`memo` keeps per content version, so that a kept page is served without a statement.
    """
    note_id = request.view_args["note_id"]
    loaded: list[Note | None] = []

    def note() -> Note | None:  # read once, on a miss only
        if not loaded:
            loaded.append(db.session.get(Note, note_id))
            g.hub_note_read = loaded[0]  # held for the view, whose own lookup then finds it in the session
        return loaded[0]

    facts = memo("note-facts", note_id, compute=lambda: _note_facts(note()))
    if not facts:
        return None
    author_id, published, translation = facts
    if not published or translation or author_id == current_user.id or can(current_user, "moderate"):
        return None
    commenters = memo("comment-authors", note_id, compute=lambda: discussion.comment_authors(note()))
    mine = tuple(comment_id for comment_id, author_id in commenters if author_id == current_user.id)
    marks = memo("marks-by", note_id, current_user.id, compute=lambda: notes.marks_by(note(), current_user))
    return mine, marks


def _note_facts(note: Note | None) -> tuple | str:
    """Return a note's author, whether it is published and whether it is a translation ("" for no note)."""
    return "" if note is None else (note.author_id, note.is_published, note.translation_of_id is not None)


@bp.get("/notes/<int:note_id>")
@public
@page("note", args=("version",), vary=lambda: search_index.commit(max_age=INDEX_CHECK_SECONDS), members=_readers_own)
def detail(note_id: int):
    """Show a note to whoever may see it, in the reader's language when a published translation exists.

    A published note's page is made of cached fragments (blueprints/web/fragments.py); what only
    rendering a fragment needs is deferred, so a page served from cache reads the note and little
    else. The fragments' keys name what differs between readers of the same role: whether they
    wrote the note, their own marks and comments (held ones too), the state of changes waiting for
    review (for its author and the moderators), and the search index's commit (similar notes).
    """
    note = note_for(current_user, note_id)
    if note.original is not None and note.is_published and can_view(note.original, current_user):
        return redirect(url_for("notes.detail", note_id=note.original.id, version=note.language))
    share_page(note.is_published, members=note.is_published)  # a draft's page is its author's and the moderators'
    version = request.args.get("version")
    return _note_page(note, version=version if version in ("original", *LANGUAGES) else None)  # else the default


def _note_page(note: Note, *, version: str | None = None, sent_back: SentBack = NOTHING_SENT_BACK) -> str:
    """Render a note's page (see :func:`detail`); ``sent_back`` is one of its forms, refused, shown as it was posted."""
    versions = deferred(lambda: [] if note.original else translations.published_translations(note, current_user))
    shown = deferred(_version_to_show, note, version, versions)
    me_id = current_user.id if current_user.is_authenticated else None
    is_author = me_id is not None and note.author_id == me_id
    # Changes waiting for review are not content readers see (hub/content_version.py): in the key instead.
    changes = _changes_waiting(note) if note.is_published and (is_author or can(current_user, "moderate")) else None
    commenters = [] if me_id is None else memo("comment-authors", note.id, compute=lambda: discussion.comment_authors(note))
    mine = [comment_id for comment_id, author_id in commenters if author_id == me_id]
    return render_template(
        "notes/detail.html", note=note, shown=shown, version=version, versions=versions,
        comments=deferred(discussion.visible_comments, note, current_user), is_author=is_author,
        my_comments=tuple(mine), changes=changes, index_commit=search_index.commit() if note.is_published else None, attachments=deferred(attachments.shown, note, current_user),
        outdated=deferred(lambda: shown.value() is not note and translations.is_outdated(shown.value())),
        marks=deferred(notes.mark_counts, note, current_user),
        my_marks=memo("marks-by", note.id, me_id, compute=lambda: notes.marks_by(note, current_user)),
        thread=deferred(notes.thread, note) if notes.may(current_user, "history", note) else [],
        # Empty forms, also on a page that answers a post (a form would read what was posted).
        comment_form=deferred(CommentForm, formdata=None), flag_form=deferred(FlagForm, formdata=None),
        message_form=deferred(MessageForm, formdata=None), action_form=deferred(ActionForm), sent_back=sent_back,
        similar=deferred(search_index.similar, note, viewer=current_user) if note.is_published else [])


@bp.get("/notes/<int:note_id>/history")
@signed_in
def history(note_id: int):
    """Show the revisions of a note with what changed between them (author and moderators)."""
    note = note_for(me(), note_id)
    if not notes.may(me(), "history", note):
        abort(404)
    return render_template("notes/history.html", note=note, changes=revisions.changes(note))


def _changes_waiting(note: Note) -> str | None:
    """Say which changes to a published note wait: none (None), ``saved`` or ``submitted`` for review."""
    pending = note.pending
    return None if pending is None else ("submitted" if pending.submitted_at else "saved")


def _version_to_show(note: Note, version: str | None, published: list[Note]) -> Note:
    """Pick the text to show: the original, a named language's translation, or the reader's language.

    ``published`` are the note's published translations the reader may see (the newest last).
    """
    if version == "original" or note.original is not None:
        return note
    available = {t.language: t for t in published}
    if version in available:
        return available[version]
    return available.get(translations.language_of(_locale()), note)


def _act(note_id: int, action, success: str, *, form_class=ActionForm, to: str = "notes.detail",
         sent_back_as: str | None = None):
    """Run ``action(note, form)`` for a posted form; flash the outcome and go back to the note.

    A form in which the person wrote something is named by ``sent_back_as`` on the note page:
    see :func:`_send_back`.
    """
    note = note_for(me(), note_id)
    form = form_class()
    done = submitted(form, lambda: action(note, form))
    if done:
        flash(success, "info")
        return _back_from(note, to)
    return _send_back(note, form, sent_back_as, done.error) or _back_from(note, to)


def _back_from(note: Note, to: str):
    """Go back to the note after an action (to the list of one's notes, or all notes, when it is gone from view)."""
    if note.state == NoteState.DELETED:
        return redirect(url_for("notes.mine"))
    return redirect(url_for(to, note_id=note.id) if can_view(note, me()) else url_for("notes.index"))


def _send_back(note: Note, form, sent_back_as: str | None, error: ServiceError | None = None) -> str | None:
    """Return the note page with a refused form filled in as it was posted, the errors beside its fields.

    None for a button, or when the person may not do this at all (``error`` is NotAllowed): what is
    wrong is then flashed, and the view goes back to the note as after any action.
    """
    if sent_back_as is None or isinstance(error, NotAllowed):
        flash(refusal(form), "error")
        return None
    flash_unseen_errors(form)
    about = id_arg("parent") if sent_back_as == "reply" else id_arg("comment") if sent_back_as == "flag" else None
    return _note_page(note, sent_back=SentBack(form, sent_back_as, about))


@bp.post("/notes/<int:note_id>/withdraw")
@requires("write_notes")
def withdraw(note_id: int):
    """Take one's own note back."""
    return _act(note_id, lambda note, _f: notes.withdraw(note, by=me()), _("The note is withdrawn."))


@bp.post("/notes/<int:note_id>/delete")
@requires("write_notes")
def delete(note_id: int):
    """Delete one's own note (a tombstone remains)."""
    return _act(note_id, lambda note, _f: notes.delete(note, by=me()), _("The note is deleted."))


@bp.post("/notes/<int:note_id>/reply")
@signed_in
def reply(note_id: int):
    """Answer in the review thread, after the privacy check."""
    def run(note, form):
        notes.reply(note, by=me(), body=form.message.data, confirm_privacy=form.confirm_privacy.data)
    return _act_checked(note_id, run, _("Message sent."), MessageForm, "message", "message",
                        str(THREAD_CHECK_EXPLANATION))


@bp.post("/notes/<int:note_id>/comments")
@requires("comment")
def comment(note_id: int):
    """Comment on a published note, or answer one of its comments (parent=<comment id>).

    A comment with personal data waits for a moderator.
    """
    posted = []

    def run(note, form):
        parent_id = id_arg("parent")
        parent = db.session.get(Comment, parent_id) if parent_id else None
        if "parent" in request.args and parent is None:
            abort(404)
        posted.append(discussion.add_comment(note, by=me(), body=form.body.data, parent=parent,
                                             confirm_privacy=form.confirm_privacy.data))
    sent_back_as = "reply" if "parent" in request.args else "comment"
    response = _act_checked(note_id, run, None, CommentForm, "body", sent_back_as, str(COMMENT_CHECK_EXPLANATION))
    if posted and posted[0].state == CommentState.HELD:
        _flash_held(posted[0])
    elif posted:
        flash(_("Comment posted."), "info")
    return response


def _flash_held(comment: Comment) -> None:
    """Tell a comment's writer that it waits for a moderator, and why."""
    flash(_("Your comment waits for a moderator because it may contain personal data (%(kinds)s). "
            "Readers will see it once a moderator has checked it.",
            kinds=", ".join(sorted({f.label for f in discussion.findings(comment)}))), "warning")


@bp.route("/notes/<int:note_id>/comments/<int:comment_id>/edit", methods=["GET", "POST"])
@requires("comment")
def edit_comment(note_id: int, comment_id: int):
    """Let a member change their own comment, after the same privacy check as a new one.

    Someone else's comment is refused (403; 404 when they may not even see it); a removed one of
    one's own is refused with a message on the note's page.
    """
    note = note_for(me(), note_id)
    comment = db.session.get(Comment, comment_id)
    mine = comment is not None and comment.note_id == note.id and comment.author_id == me().id
    if not mine:
        seen = comment is not None and comment.note_id == note.id and comment.removed_at is None \
            and comment.state == CommentState.PUBLISHED
        abort(403 if seen else 404)
    if comment.removed_at is not None:
        flash(str(discussion.REMOVED), "error")
        return redirect(url_for("notes.detail", note_id=note.id))
    if not discussion.may_edit(me(), comment):
        abort(403)
    form = EditCommentForm()
    if request.method == "GET":
        show_comment_text(form, comment)
        return render_template("notes/edit_comment.html", note=note, comment=comment, form=form)
    was_held = comment.state == CommentState.HELD
    done = submitted(form, lambda: discussion.edit_comment(comment, by=me(), body=form.body.data,
                                                           confirm_privacy=form.confirm_privacy.data,
                                                           version=form.version.data or None),
                     answered_by_caller=(PrivacyCheckRequired,))
    if isinstance(done.error, PrivacyCheckRequired):
        return _text_check_page(note, form, form.body, done.error, str(COMMENT_CHECK_EXPLANATION),
                                hidden_fields=[form.version])
    if not done:
        if done.error is not None and comment.removed_at is not None:  # removed by a moderator meanwhile
            flash(str(done.error.message), "error")
            return redirect(url_for("notes.detail", note_id=note.id))
        if isinstance(done.error, notes.ChangedMeanwhile):
            show_comment_text(form, comment)  # as it is now: the text the writer saw would put back a cut
        return render_template("notes/edit_comment.html", note=note, comment=comment, form=form), 422
    if comment.state == CommentState.HELD and not was_held:
        _flash_held(comment)
    elif was_held:
        # i18n: a member edited their comment that still waits for a moderator
        flash(_("Saved. Your comment still waits for a moderator; readers will see it once a moderator has "
                "checked it."), "info")
    else:
        # i18n: a member edited their own published comment
        flash(_("Your comment is changed. Readers see the new text, marked as edited."), "info")
    return redirect(url_for("notes.detail", note_id=note.id, _anchor=f"comment-{comment.id}"))


def _act_checked(note_id: int, action, success: str | None, form_class, text_field: str, sent_back_as: str,
                 explanation: str, *, also: tuple[str, ...] = ()):
    """Like :func:`_act`, but text with personal data first comes back for the writer to confirm or edit.

    ``also`` names the form's other fields the check page shows again (a report's reason).
    """
    note = note_for(me(), note_id)
    form = form_class()
    done = submitted(form, lambda: action(note, form), answered_by_caller=(PrivacyCheckRequired,))
    if isinstance(done.error, PrivacyCheckRequired):
        return _text_check_page(note, form, getattr(form, text_field), done.error, explanation,
                                other_fields=[getattr(form, name) for name in also])
    if done and success:
        flash(success, "info")
    elif not done and (page := _send_back(note, form, sent_back_as, done.error)) is not None:
        return page
    return redirect(url_for("notes.detail", note_id=note.id))


def _text_check_page(note: Note, form, text, error: PrivacyCheckRequired, explanation: str, *,
                     other_fields: list | None = None, hidden_fields: list | None = None):
    """Show a writer the places in ``text`` (a form's field) that may be personal data, to edit or confirm.

    ``hidden_fields`` go back unchanged with the confirmation (the version of the text an edit started from)."""
    _mark_unticked(form)
    scanned = {error.findings[0].field: text.data.strip()}
    return render_template("notes/text_check.html", note=note, form=form, text_field=text,
                           other_fields=other_fields or [], hidden_fields=hidden_fields or [],
                           action=request.full_path.rstrip("?"),  # keeps ?parent= of an answer
                           groups=privacy_groups(scanned, error.findings),
                           message=error.message, explanation=explanation), 422


@bp.post("/notes/<int:note_id>/marks/<any(tried, useful):kind>")
@requires("comment")
def mark(note_id: int, kind: str):
    """Set or take back a mark, as the button said (``on``: 1 or 0; a page from before it: switch it)."""
    on = {"1": True, "0": False}.get(request.form.get("on", ""))
    # i18n: flash after a reader marks a note "we tried this too" or "useful"
    return _act(note_id, lambda note, _f: notes.set_mark(note, by=me(), kind=kind, on=on), _("Thank you."))


@bp.post("/notes/<int:note_id>/flag")
@requires("flag")
def flag(note_id: int):
    """Report a note, or one of its comments (comment_id), to the moderators."""
    def run(note, form):
        comment_id = id_arg("comment")
        target = db.session.get(Comment, comment_id) if comment_id else None
        if "comment" in request.args and target is None:
            abort(404)
        notes.flag(note, by=me(), reason=form.reason.data, detail=form.detail.data or "", comment=target,
                   confirm_privacy=form.confirm_privacy.data)
    return _act_checked(note_id, run, _("Thank you. A moderator will look at it."), FlagForm, "detail", "flag", _(
        "Only the moderators read a report. Still, leave out what could identify someone, or confirm that it "
        "may stay."), also=("reason",))


@bp.post("/notes/<int:note_id>/feature")
@requires("moderate")
def feature(note_id: int):
    """Show a note on the home page, or stop showing it."""
    featured = request.args.get("on") == "1"
    return _act(note_id, lambda note, _f: notes.set_featured(note, by=me(), featured=featured),
                _("Featured notes updated."))

