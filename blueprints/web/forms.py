"""Form pieces more than one face uses: the action button, the visibility labels, a number bound."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SubmitField
from wtforms.validators import StopValidation

VISIBILITY_LABELS = {
    "members": _l("Members of this hub"),
    "partners": _l("Members and partner hubs"),
    "public": _l("Everyone, also without an account"),
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
