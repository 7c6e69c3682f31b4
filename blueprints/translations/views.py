"""Views of the translation workflow: thin wrappers over hub.services.translations."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from blueprints.web.access import requires
from blueprints.web.common import me, note_for
from blueprints.web.forms import ActionForm
from blueprints.web.refusals import attempt
from hub.models import LANGUAGES
from hub.services import notes, translations

bp = Blueprint("translations", __name__, template_folder="templates")


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
    return render_template("translations/queue.html", items=translations.queue(viewer=me(), language=language,
                                                                                topic=topic),
                           topics=notes.terms("topic"), selected={"language": language or "", "topic": topic or ""},
                           action_form=ActionForm())


@bp.post("/notes/<int:note_id>/translate")
@requires("translate")
def start(note_id: int):
    """Start or continue a translation of a note into ``language``."""
    original = note_for(me(), note_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    with attempt() as started:
        translation = translations.start(original, by=me(), language=_language())
    if not started:
        return redirect(url_for("notes.detail", note_id=note_id))
    return redirect(url_for("notes.edit", note_id=translation.id))


@bp.post("/notes/<int:note_id>/request-translation")
@requires("comment")
def ask(note_id: int):
    """Ask for a translation of a note."""
    original = note_for(me(), note_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    with attempt() as asked:
        added = translations.request(original, by=me(), language=_language())
    if asked:
        flash(_("Thank you: translators will see your request.") if added else _("You already asked for this."),
              "info")

    return redirect(url_for("notes.detail", note_id=note_id))
