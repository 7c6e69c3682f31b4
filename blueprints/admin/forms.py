"""Forms of the administration pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, RadioField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from blueprints.web.forms import EMAIL_MESSAGE, TextAreaField, within
from blueprints.web.templating import ROLE_LABELS
from hub.models import Role


def role_choices(roles=tuple(Role)) -> list[tuple[str, object]]:
    """Return translated choices for the given roles."""
    return [(r.value, ROLE_LABELS[r.value]) for r in roles]


class InvitationForm(FlaskForm):
    """Create an invitation link."""

    role = SelectField(_l("Role"), choices=[], validate_choice=True)
    project = SelectField(_l("Project"), choices=[], validate_choice=True)
    days = IntegerField(_l("Valid for (days)"), default=14,
                        validators=[DataRequired(), within(10_000), NumberRange(1, 90)])
    note = StringField(_l("For whom (only you and the hub's administrators see this)"),
                       validators=[Optional(), Length(max=200)],
                       description=_l("A pseudonym or a hint; avoid real names."))
    email = EmailField(_l("Send the link to this e-mail address (optional)"),
                       validators=[Optional(), Email(EMAIL_MESSAGE), Length(max=254)],
                       description=_l("The hub mails the link and then forgets the address. You can also copy the "
                                      "link and send it yourself."))
    language = SelectField(_l("Language of the e-mail"), choices=[], validate_choice=True, validators=[Optional()])
    submit = SubmitField(_l("Create invitation"))


class RoleForm(FlaskForm):
    """Change a user's role."""

    role = SelectField(_l("Role"), choices=[], validate_choice=True)
    submit = SubmitField(_l("Change role"))


class ProjectAssignForm(FlaskForm):
    """Move a user into a project."""

    project = SelectField(_l("Project"), choices=[], validate_choice=True)
    submit = SubmitField(_l("Save project"))


class ProjectForm(FlaskForm):
    """Create or edit a project."""

    slug = StringField(_l("Short name (in addresses)"), validators=[DataRequired(), Length(min=3, max=64)],
                       description=_l("Lower-case letters, digits and dashes, e.g. chengdu-peer-centre."))
    name_zh = StringField(_l("Name in Chinese"), validators=[Optional(), Length(max=200)])
    name_en = StringField(_l("Name in English"), validators=[Optional(), Length(max=200)])
    city = StringField(_l("City or county"), validators=[Optional(), Length(max=100)])
    province = StringField(_l("Province or region"), validators=[Optional(), Length(max=100)])
    country = StringField(_l("Country code"), validators=[Optional(), Length(min=2, max=2)],
                          description=_l("Two letters, e.g. CN, VN."))
    description_zh = TextAreaField(_l("Description in Chinese"), validators=[Optional(), Length(max=4000)])
    description_en = TextAreaField(_l("Description in English"), validators=[Optional(), Length(max=4000)])
    submit = SubmitField(_l("Save project"))


class TermForm(FlaskForm):
    """Add a topic or population to the vocabulary."""

    # i18n: the vocabulary list a new term joins: Topics or Populations
    kind = SelectField(_l("List"), choices=[("topic", _l("Topics")), ("population", _l("Populations"))])
    slug = StringField(_l("Short name (in addresses)"), validators=[DataRequired(), Length(min=2, max=64)])
    name_zh = StringField(_l("Name in Chinese"), validators=[DataRequired(), Length(max=100)])
    name_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=100)])
    # i18n: button: add the topic or population to the vocabulary
    submit = SubmitField(_l("Add"))


class SensitiveWordForm(FlaskForm):
    """Add a word the privacy check warns about."""

    word = StringField(_l("Word or name"), validators=[DataRequired(), Length(min=2, max=100)],
                       description=_l("For example the name of a clinic's staff member. Checked in every note before it is published."))
    # i18n: button: add the word to the privacy check's list
    submit = SubmitField(_l("Add"))


class GlossaryForm(FlaskForm):
    """Add synonyms to the search glossary."""

    concept = StringField(_l("Existing term or new short name"), validators=[DataRequired(), Length(max=64)],
                          description=_l("Give a term the glossary knows (e.g. 美沙酮 or methadone) to add synonyms to it, or a new short name (a-z, 0-9, _)."))
    terms_zh = StringField(_l("Chinese terms"), validators=[Length(max=500)],
                           description=_l("Separate terms with |, e.g. 美沙酮|美沙冬"))
    terms_en = StringField(_l("English terms"), validators=[Length(max=500)],
                           description=_l("Separate terms with |, e.g. methadone|MMT"))
    submit = SubmitField(_l("Add to glossary"))


class DeleteUserForm(FlaskForm):
    """Delete a person's account (on their request)."""

    what = RadioField(_l("What happens to what they published"), validators=[DataRequired()], choices=[
        ("keep", _l("Keep their published notes and comments, credited to “former member”")),
        ("remove", _l("Delete their published notes and comments too")),
    ])
    # i18n: button: an administrator deletes a person's account for good
    submit = SubmitField(_l("Delete account"))
