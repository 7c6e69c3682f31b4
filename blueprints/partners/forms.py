"""Forms of the partner hubs page."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

TRUST_CHOICES = [
    # i18n: trust choice: a partner hub's notes wait for a moderator
    ("moderate", _l("Moderation queue")),
    # i18n: trust choice: a partner hub's notes are published without review
    ("publish", _l("Publish at once")),
]


class AddHubForm(FlaskForm):
    """Find a hub by its address, then follow it or only allow-list it."""

    address = StringField(_l("Hub address"), validators=[DataRequired(), Length(max=300)],
                          description=_l("The hub's web address, e.g. https://hub.example.org, "
                                         "or an ActivityPub account such as name@server.example"))
    follow = SubmitField(_l("Follow and allow-list"))
    allow = SubmitField(_l("Only allow-list (let it follow us)"))


class TrustForm(FlaskForm):
    """Choose what happens to a hub's notes."""

    # i18n: label of the trust choice: what happens to notes a partner hub sends
    trust = SelectField(_l("Incoming notes"), choices=TRUST_CHOICES, validate_choice=True)
    submit = SubmitField(_l("Save trust"))
