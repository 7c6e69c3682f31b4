"""Forms of the moderation pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, RadioField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from blueprints.web.forms import CONFIRM_LABEL, RESOLUTION_LABELS, VISIBILITY_LABELS, TextAreaField
from hub.services.notes import SECTION_TITLES


def seen_version():
    """Return the hidden field naming the version of a submitted note the moderator read (notes.review_version).

    Optional: a decision posted without it (a script, a page from before it) is still refused when
    another moderator decided first, only not for a changed text.
    """
    # i18n: a hidden field: which version of a note the moderator read (named only if it is wrong)
    return StringField(_l("Version of the note"), validators=[Optional(), Length(max=64)], widget=HiddenInput())


class ApproveForm(FlaskForm):
    """Publish a submitted note, possibly narrowing its audience."""

    version = seen_version()
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


class ReviewDecisionForm(DecisionForm):
    """Request changes to a submitted note or reject it, naming the version the moderator read."""

    version = seen_version()


class ResolveForm(FlaskForm):
    """Close a flag."""

    # i18n: what a moderator decides about a report (flag)
    resolution = RadioField(_l("Decision"), choices=list(RESOLUTION_LABELS.items()), validators=[DataRequired()])
    # i18n: on the reports list; the author reads it when the note is unpublished or they are asked to remove personal data
    message = TextAreaField(_l("Message to the author (when you unpublish the note or ask them to remove personal data)"),
                            validators=[Optional(), Length(max=4000)])
    confirm_privacy = BooleanField(CONFIRM_LABEL)
    submit = SubmitField(_l("Handle report"))


class VisibilityForm(FlaskForm):
    """Narrow who may read a note."""

    visibility = SelectField(_l("Who may read it"), choices=list(VISIBILITY_LABELS.items()))
    submit = SubmitField(_l("Narrow visibility"))


class AcceptChangesForm(FlaskForm):
    """Publish the changes an author made to a published note."""

    # i18n: a hidden field: which version of an author's changes the moderator read (named only if it is wrong)
    version = IntegerField(_l("Version of the changes"), validators=[InputRequired()], widget=HiddenInput())
    message = TextAreaField(_l("Message to the author (optional)"), validators=[Optional(), Length(max=4000)])
    # i18n: button: a moderator publishes an author's changes to a published note
    submit = SubmitField(_l("Publish the changes"))


class RedactNoteForm(FlaskForm):
    """A moderator edits a note's text to take personal data out, naming the version of the note they edited."""

    version = seen_version()
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    summary = TextAreaField(_l("Summary"), validators=[Optional(), Length(max=600)])
    # i18n: label of the field holding the note's main text (Markdown)
    body = TextAreaField(_l("Note"), validators=[Optional(), Length(max=60000)])
    context = TextAreaField(SECTION_TITLES["context"], validators=[Optional(), Length(max=20000)])
    what_we_did = TextAreaField(SECTION_TITLES["what_we_did"], validators=[Optional(), Length(max=20000)])
    what_happened = TextAreaField(SECTION_TITLES["what_happened"], validators=[Optional(), Length(max=20000)])
    what_we_learned = TextAreaField(SECTION_TITLES["what_we_learned"], validators=[Optional(), Length(max=20000)])
    do_differently = TextAreaField(SECTION_TITLES["do_differently"], validators=[Optional(), Length(max=20000)])
    reason = TextAreaField(_l("Message to the author (optional)"), validators=[Optional(), Length(max=4000)])
    # i18n: button: save the note with the personal data a moderator removed
    submit = SubmitField(_l("Remove it everywhere"))


class RedactCommentForm(FlaskForm):
    """A moderator edits a comment's text to take personal data out, naming the text they edited."""

    # i18n: a hidden field: which version of a comment the moderator edited (named only if it is wrong)
    version = StringField(_l("Version of the comment"), validators=[Optional(), Length(max=64)],
                          widget=HiddenInput())
    # Left empty, the service says what to do instead (hub.services.discussion.redact).
    body = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=5000)])
    submit = SubmitField(_l("Remove it everywhere"))
