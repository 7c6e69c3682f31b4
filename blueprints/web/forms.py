"""Form pieces more than one face uses: the action button, the multi-line text field, the labels of
visibility, report reasons and report decisions (forms and the audit log), a number bound, the message of
a wrong e-mail address, what is wrong with a refused form."""
from __future__ import annotations

from dataclasses import dataclass

from flask import flash
from flask_babel import gettext as _, lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SubmitField, TextAreaField as PlainTextAreaField
from wtforms.validators import StopValidation

from hub.text_safety import without_controls

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

# The tick box under text in which the privacy check found something (every form that screens text).
CONFIRM_LABEL = _l("I checked the highlighted places: they are not personal data, or the person agreed.")
# Above a review-thread message the privacy check stopped (a reply, a moderator's request to the author).
THREAD_CHECK_EXPLANATION = _l("Only the note's author and the moderators read this thread. Still, leave out what "
                              "could identify someone, or confirm that it may stay.")

RESOLUTION_LABELS = {
    "dismissed": _l("Nothing to do: dismiss the report"),
    "comment_removed": _l("Remove the comment"),
    "note_unpublished": _l("Unpublish the note"),
    "author_asked": _l("Ask the author to remove the personal data (write what to remove below)"),
}


def lf_line_breaks(text: str | None) -> str | None:
    """Return ``text`` with each CRLF or CR line break made one LF, and without control characters
    no reader sees (:func:`hub.text_safety.without_controls`)."""
    if not isinstance(text, str):
        return text
    return without_controls(text.replace("\r\n", "\n").replace("\r", "\n"))


class TextAreaField(PlainTextAreaField):
    """A multi-line text field; every form's multi-line text is one of these.

    Browsers send a textarea's line breaks as CRLF but count each as one character for
    ``maxlength``: with LF line breaks before validation, ``Length`` counts what the browser let
    the person write, and the text is stored with one kind of line break.
    """

    def __init__(self, *args, filters=(), **kwargs) -> None:
        super().__init__(*args, filters=(lf_line_breaks, *filters), **kwargs)


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


def _hidden(field) -> bool:
    return getattr(field.widget, "input_type", None) == "hidden"


def _problems(form: FlaskForm, fields) -> list[str]:
    """Return the errors of ``fields`` (each named by its label, unless it is a plain hidden field) and the form's own."""
    problems = []
    for field in fields:
        for error in field.errors:
            # i18n: one problem of a refused form: %(field)s is the field's label, %(problem)s what is wrong with it
            problems.append(str(error) if field.type in ("HiddenField", "CSRFTokenField") else _(
                "%(field)s: %(problem)s", field=field.label.text, problem=error))
    return problems + [str(error) for error in form.form_errors]


def refusal(form: FlaskForm) -> str:
    """Return what is wrong with a refused form, field by field, in the reader's language (for a flash)."""
    # Nothing named (a form that was not posted at all): say what always helps.
    return " ".join(_problems(form, form)) or _("The form was sent incompletely. Please try again.")


def flash_unseen_errors(form: FlaskForm) -> None:
    """Flash what is wrong with a form sent back to its page that the page shows beside none of its
    fields (the form's own errors, its hidden fields'): above the page, where it is seen."""
    for problem in _problems(form, [field for field in form if _hidden(field)]):
        flash(problem, "error")


@dataclass(frozen=True)
class SentBack:
    """One of a page's forms, sent back to the page with what is wrong and filled in as it was posted.

    ``kind`` names which of the page's forms it is, ``about`` the item it belongs to where the
    page has one such form per item (an answer under each comment). The page shows the form that
    :meth:`of` returns in place of an empty one, with its errors, and renders afresh (never from a
    cached fragment) whatever holds it: the text the person wrote is not lost.
    """

    form: FlaskForm | None = None
    kind: str = ""
    about: int | None = None

    def __bool__(self) -> bool:
        return self.form is not None

    def of(self, kind: str, about: int | None = None) -> FlaskForm | None:
        """Return the form sent back if it is the page's ``kind`` form (of item ``about``), else None."""
        return self.form if self.form is not None and (self.kind, self.about) == (kind, about) else None


NOTHING_SENT_BACK = SentBack()
