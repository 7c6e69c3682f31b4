"""Views of the mail pages: choosing what is mailed, unsubscribing in one click, opening a mailed link."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.mail.forms import KIND_LABELS, MailSettingsForm
from blueprints.web.access import public, signed_in
from blueprints.web.common import me
from blueprints.web.refusals import attempt
from hub.extensions import csrf
from hub.mail import outbox
from hub.services import mail_settings
from hub.services.errors import ServiceError

bp = Blueprint("mail", __name__, template_folder="templates")


@bp.route("/account/mail", methods=["GET", "POST"])
@signed_in
def settings():
    """Choose which e-mails to receive."""
    user = me()
    kinds = mail_settings.kinds_for(user)
    form = MailSettingsForm()
    if request.method == "GET":
        chosen = mail_settings.choices(user)
        for kind in kinds:
            getattr(form, kind).data = chosen.kinds[kind]
        form.topic_subjects.data = chosen.topic_subjects
    if form.validate_on_submit():
        mail_settings.save(user, kinds={k: bool(getattr(form, k).data) for k in kinds},
                           topic_subjects=bool(form.topic_subjects.data))
        flash(_("Your e-mail choices are saved."), "info")
        return redirect(url_for("mail.settings"))
    return render_template("mail/settings.html", form=form, kinds=kinds, user=user,
                           mail_on=outbox.enabled())


@bp.route("/mail/unsubscribe/<token>", methods=["GET", "POST"])
@public
@csrf.exempt  # RFC 8058: mail programs POST here without a form; the signed token is the permission
def unsubscribe(token: str):
    """Stop one kind of mail without signing in: GET asks (mail scanners open links), POST does it."""
    with attempt(answered_by_caller=(ServiceError,)) as valid:
        found = mail_settings.read_token(token) if request.method == "GET" else mail_settings.unsubscribe(token)
    if not valid:
        return render_template("mail/unsubscribe.html", error=valid.error.message, done=False), 400
    return render_template("mail/unsubscribe.html", what=KIND_LABELS[found.kind], done=request.method == "POST",
                           error=None)


@bp.get("/mail/notes/<int:note_id>")
@public
def open_note(note_id: int):
    """Open a note from a mail: signed in, the note; otherwise sign in first, then the note."""
    target = url_for("notes.detail", note_id=note_id)
    if current_user.is_authenticated:
        return redirect(target)
    return redirect(url_for("auth.login", next=target))
