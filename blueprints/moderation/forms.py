"""Forms of the moderation pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from blueprints.web.forms import VISIBILITY_LABELS

RESOLUTION_LABELS = {
    "dismissed": _l("Nothing to do: dismiss the report"),
    "comment_removed": _l("Remove the comment"),
    "note_unpublished": _l("Unpublish the note"),
}


class ApproveForm(FlaskForm):
    """Publish a submitted note, possibly narrowing its audience."""

    visibility = SelectField(_l("Who may read it"), choices=list(VISIBILITY_LABELS.items()))
    featured = BooleanField(_l("Feature on the home page"))
    message = TextAreaField(_l("Message to the author (optional)"), validators=[Optional(), Length(max=4000)])
    # i18n: button: a moderator publishes the note under review
    submit = SubmitField(_l("Publish"))


class DecisionForm(FlaskForm):
    """Request changes, reject or unpublish: a message is required."""

    message = TextAreaField(_l("Message to the author"), validators=[DataRequired(), Length(max=4000)])
    # i18n: button: send the note back to its author with the message
    submit = SubmitField(_l("Send"))


class ResolveForm(FlaskForm):
    """Close a flag."""

    # i18n: what a moderator decides about a report (flag)
    resolution = RadioField(_l("Decision"), choices=list(RESOLUTION_LABELS.items()), validators=[DataRequired()])
    message = TextAreaField(_l("Reason (shown to the author when a note is unpublished)"),
                            validators=[Optional(), Length(max=4000)])
    submit = SubmitField(_l("Handle report"))


class VisibilityForm(FlaskForm):
    """Narrow who may read a note."""

    visibility = SelectField(_l("Who may read it"), choices=list(VISIBILITY_LABELS.items()))
    submit = SubmitField(_l("Narrow visibility"))
