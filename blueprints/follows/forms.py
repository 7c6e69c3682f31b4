"""Forms of the Following page and the follow buttons."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, SubmitField
from wtforms.validators import Length, Optional

from hub.models import Frequency

FREQUENCY_LABELS = {
    # i18n: how often new notes in what one follows are mailed: as soon as one is published
    Frequency.IMMEDIATELY.value: _l("Immediately"),
    # i18n: how often new notes in what one follows are mailed: once a day, in one mail
    Frequency.DAILY.value: _l("Daily"),
    # i18n: how often new notes in what one follows are mailed: once a week, in one mail
    Frequency.WEEKLY.value: _l("Weekly"),
}
KIND_LABELS = {
    "topic": _l("Topic"),
    "population": _l("Population"),
    "project": _l("Project"),
    # i18n: a city, county or province one follows
    "place": _l("Place"),
    "hub": _l("Partner hub"),
    "search": _l("Saved search"),
}


def frequency_choices() -> list[tuple[str, object]]:
    """Return the frequencies, in the reader's language."""
    return list(FREQUENCY_LABELS.items())


class FollowForm(FlaskForm):
    """Follow one thing: a button (kind and value hidden) or a choice on the Following page."""

    kind = HiddenField()
    # A bound only: what each kind takes (a place's 100 characters) the service says, in its own words.
    # i18n: the label of a field holding the topic, project, place or partner hub to follow (named in error messages)
    value = StringField(_l("What to follow"), validators=[Optional(), Length(max=1000)])
    q = HiddenField()  # its bound (500 characters, as the search page reads a search) the service says in its words
    frequency = SelectField(_l("How often"), choices=[], validate_choice=False, validators=[Optional()])
    next = HiddenField()
    # i18n: button: start following a topic, project, place or search
    submit = SubmitField(_l("Follow"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.frequency.choices = frequency_choices()


class FrequencyForm(FlaskForm):
    """Change how often one follow is mailed."""

    frequency = SelectField(_l("How often"), choices=[], validate_choice=True)
    # i18n: button: save how often one follow is mailed
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.frequency.choices = frequency_choices()
