"""Forms of the token pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

DAYS_CHOICES = [("30", _l("30 days")), ("90", _l("90 days")), ("365", _l("a year")), ("", _l("until revoked"))]


class TokenForm(FlaskForm):
    """Name a new token and say how long it lasts."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)],
                       description=_l("What will use it, e.g. \"our newsletter\"; only you and administrators see it."))
    days = SelectField(_l("Lasts"), choices=DAYS_CHOICES, default="90", validate_choice=True)
    submit = SubmitField(_l("Make a token"))

    def days_value(self) -> int | None:
        """Return the chosen lifetime in days (None: until revoked)."""
        return int(self.days.data) if self.days.data else None
