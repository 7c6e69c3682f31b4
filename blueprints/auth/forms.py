"""Forms for signing up, signing in and the account pages."""
from __future__ import annotations

import zoneinfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, RadioField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from blueprints.web.forms import EMAIL_MESSAGE, TextAreaField
from blueprints.web.templating import language_name

# Offer the zones people of this network live in first, then every other zone.
COMMON_ZONES = ["Asia/Shanghai", "Asia/Ho_Chi_Minh", "Asia/Bangkok", "Asia/Yangon", "Asia/Kolkata",
                "Europe/London", "Europe/Geneva", "America/New_York", "UTC"]


def timezone_choices() -> list[tuple[str, str]]:
    """Return the time-zone choices: common ones first, then all others."""
    rest = sorted(zoneinfo.available_timezones() - set(COMMON_ZONES))
    # i18n: the time-zone choice that follows the hub's default time zone
    return [("", _l("Hub default"))] + [(z, z) for z in COMMON_ZONES + rest]


class LoginForm(FlaskForm):
    """Username or e-mail, and password."""

    login = StringField(_l("Username or e-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Sign in"))


class SignupForm(FlaskForm):
    """A new account: login name, pseudonym, password."""

    username = StringField(
        _l("Username (for signing in, never shown)"),
        validators=[DataRequired(), Length(min=3, max=40)],
        description=_l("Lower-case letters, digits, dot, dash or underscore."),
    )
    pseudonym = StringField(
        _l("Pseudonym (shown to others)"), validators=[DataRequired(), Length(min=2, max=60)],
        description=_l("Do not use your real name. This is the only name others will see."),
    )
    email = EmailField(_l("E-mail (optional, never shown)"),
                       validators=[Optional(), Email(EMAIL_MESSAGE), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=10, max=200)],
                             description=_l("At least 10 characters."))
    confirm = PasswordField(_l("Password again"),
                            validators=[DataRequired(), EqualTo("password", _l("The two passwords differ."))])
    submit = SubmitField(_l("Create account"))


class ForgotForm(FlaskForm):
    """Ask for a password-reset link."""

    login = StringField(_l("Username or e-mail"), validators=[DataRequired(), Length(max=254)])
    submit = SubmitField(_l("Send reset link"))


class ConfirmEmailForm(FlaskForm):
    """Make the new e-mail address a link confirms the account's own."""

    submit = SubmitField(_l("Use this address"))


class ResetForm(FlaskForm):
    """Choose a new password through a reset link."""

    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=10, max=200)],
                             description=_l("At least 10 characters."))
    confirm = PasswordField(_l("New password again"),
                            validators=[DataRequired(), EqualTo("password", _l("The two passwords differ."))])
    submit = SubmitField(_l("Set new password"))


class PasswordForm(FlaskForm):
    """Change the password while signed in."""

    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=10, max=200)],
                                 description=_l("At least 10 characters. Other browsers will be signed out."))
    confirm = PasswordField(_l("New password again"),
                            validators=[DataRequired(), EqualTo("new_password", _l("The two passwords differ."))])
    submit = SubmitField(_l("Change password"))


class ProfileForm(FlaskForm):
    """What a person may change about themselves."""

    pseudonym = StringField(_l("Pseudonym (shown to others)"),
                            validators=[DataRequired(), Length(min=2, max=60)])
    email = EmailField(_l("E-mail (optional, never shown)"), validators=[Optional(), Email(EMAIL_MESSAGE), Length(max=254)])
    locale = SelectField(_l("Language"), choices=[], validate_choice=True)
    timezone = SelectField(_l("Time zone"), choices=[], validate_choice=True)
    bio = TextAreaField(_l("About me (optional)"), validators=[Optional(), Length(max=1000)],
                        description=_l("Shown to signed-in members. Leave out anything that identifies you."))
    show_activity = BooleanField(_l("Let signed-in members see that I joined and which project I am in"),
                                 description=_l("Off: your pseudonym appears only beside what you write."))
    confirm_privacy = BooleanField(_l("I checked the highlighted places: they are not personal data, or the person agreed."))
    # i18n: button: save the profile
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.timezone.choices = timezone_choices()
        self.locale.choices = [("", _l("As my browser says"))] + [
            (code, language_name(code)) for code in current_app.config["LOCALES"]]


LEAVING_CHOICES = [
    ("keep", _l("Keep my published notes and comments for readers, credited to “former member”")),
    ("remove", _l("Delete my published notes and comments too")),
]


class DeleteAccountForm(FlaskForm):
    """Delete one's own account."""

    what = RadioField(_l("What happens to what you published"), choices=LEAVING_CHOICES,
                      validators=[DataRequired()])
    password = PasswordField(_l("Your password"), validators=[DataRequired(), Length(max=200)])
    # i18n: button: delete one's own account for good
    submit = SubmitField(_l("Delete my account"))
