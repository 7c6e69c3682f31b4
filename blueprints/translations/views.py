"""Views of the translation workflow: thin wrappers over hub.services.translations."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.notes.forms import ActionForm
from blueprints.notes.views import _note_for
from hub.extensions import db
from hub.models.note import LANGUAGES
from blueprints.web.access import requires
from hub.services import notes, translations
from hub.services.errors import ServiceError

bp = Blueprint("translations", __name__, template_folder="templates")


def _me():
    return current_user._get_current_object()


def _language() -> str:
    language = request.args.get("language", "")
    if language not in LANGUAGES:
        abort(404)
    return language


@bp.get("/translations")
@requires("translate")
def queue():
    """List notes waiting for a translation, and translations outdated by a newer original."""
    language = request.args.get("language") if request.args.get("language") in LANGUAGES else None
    topic = (request.args.get("topic") or "")[:64] or None
    return render_template("translations/queue.html", items=translations.queue(viewer=_me(), language=language,
                                                                                topic=topic),
                           topics=notes.terms("topic"), selected={"language": language or "", "topic": topic or ""},
                           action_form=ActionForm())


@bp.post("/notes/<int:note_id>/translate")
@requires("translate")
def start(note_id: int):
    """Start or continue a translation of a note into ``language``."""
    original = _note_for(_me(), note_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        translation = translations.start(original, by=_me(), language=_language())
    except ServiceError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return redirect(url_for("notes.detail", note_id=note_id))
    return redirect(url_for("notes.edit", note_id=translation.id))


@bp.post("/notes/<int:note_id>/request-translation")
@requires("comment")
def ask(note_id: int):
    """Ask for a translation of a note."""
    original = _note_for(_me(), note_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        added = translations.request(original, by=_me(), language=_language())
    except ServiceError as error:
        flash(str(error.message), "error")
    else:
        flash(_("Thank you: translators will see your request.") if added else _("You already asked for this."),
              "info")

    return redirect(url_for("notes.detail", note_id=note_id))
