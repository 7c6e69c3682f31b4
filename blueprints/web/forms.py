"""Form pieces more than one face uses: the action button, the labels of visibility, report reasons and
report decisions (forms and the audit log), a number bound, the message of a wrong e-mail address."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SubmitField
from wtforms.validators import StopValidation

# WTForms' own Chinese for this is half English ("无效的 Email 地址。").
EMAIL_MESSAGE = _l("This is not a valid e-mail address.")

VISIBILITY_LABELS = {
    "members": _l("Members of this hub"),
    "partners": _l("Members and partner hubs"),
    "public": _l("Everyone, also without an account"),
}

FLAG_LABELS = {
    "harmful": _l("Harmful or dangerous"),
    "personal_data": _l("Contains personal data"),
    "spam": _l("Spam or advertising"),
    "wrong": _l("Wrong or misleading"),
    "other": _l("Something else"),
}
RESOLUTION_LABELS = {
    "dismissed": _l("Nothing to do: dismiss the report"),
    "comment_removed": _l("Remove the comment"),
    "note_unpublished": _l("Unpublish the note"),
    "author_asked": _l("Ask the author to remove the personal data (write what to remove below)"),
}


class ActionForm(FlaskForm):
    """A form with nothing but its CSRF token, for buttons that act."""

    # i18n: the button that confirms an action (withdraw, delete, block a hub...)
    submit = SubmitField(_l("Confirm"))


def within(limit: int):
    """A WTForms validator that stops a number beyond ±``limit`` before other checks run."""

    def check(_form, field) -> None:
        if field.data is not None and abs(field.data) > limit:
            raise StopValidation(_l("This number is too large."))
    return check
