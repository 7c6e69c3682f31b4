"""Forms of the mail pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SubmitField

KIND_LABELS = {
    "review": _l("Decisions on my notes and messages in their review"),
    "comments": _l("Comments on my notes, also from partner hubs"),
    "follows": _l("New notes in what I follow (immediately, daily or weekly, as set for each)"),
    "flags": _l("Reports waiting for moderators"),
}


class MailSettingsForm(FlaskForm):
    """Which mails a person receives: one box per kind, and whether subjects may name topics."""

    review = BooleanField(KIND_LABELS["review"])
    comments = BooleanField(KIND_LABELS["comments"])
    follows = BooleanField(KIND_LABELS["follows"])
    flags = BooleanField(KIND_LABELS["flags"])
    topic_subjects = BooleanField(
        _l("Name the topic in the subject line"),
        description=_l("Off by default: anyone who sees your phone's screen can read a subject line, and topic "
                       "names can say more than you want. Note titles are never in subject lines."))
    # i18n: button: save which e-mails one receives
    submit = SubmitField(_l("Save"))
