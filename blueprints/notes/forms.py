"""Forms of the note pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import (BooleanField, HiddenField, RadioField, SelectField, SelectMultipleField, StringField,
                     SubmitField)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from blueprints.web.forms import CONFIRM_LABEL, FLAG_LABELS, VISIBILITY_LABELS, TextAreaField
from blueprints.web.fragments import memo
from hub.models import SECTIONS
from hub.services import notes as note_service

SECTION_LABELS = note_service.SECTION_TITLES


def _isolated(name: str) -> Markup:
    """Isolate a vocabulary name in its checkbox label, as the ``isolate`` macro does in templates
    (markup, not FSI/PDI, so that the label's accessible name stays the plain name)."""
    return Markup('<bdi class="user-text">{}</bdi>').format(name)



class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes (easier on a phone than a multiple select)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, *args, **kwargs) -> None:
        # WTForms' own Chinese for an unknown choice is marked fuzzy in its catalogue, so English shows.
        kwargs.setdefault("invalid_choice_message", _l("Choose only from the offered options."))
        super().__init__(*args, **kwargs)


class NoteForm(FlaskForm):
    """The editor."""

    note_id = HiddenField()
    # The idempotency key of a new note's editor (Note.draft_key): its form and autosaves send it, and
    # the first to arrive makes the note; the hub checks its form (a key it cannot use is not used).
    draft_key = HiddenField()
    # How many removals of personal data the note had when this editor showed it (Note.text_redactions):
    # a save from an editor opened before a later one is refused, as it would write the removed data back.
    redactions_seen = HiddenField(default="0")
    title = StringField(_l("Title"), validators=[Optional(), Length(max=200)])
    summary = TextAreaField(_l("Summary"), validators=[Optional(), Length(max=600)],
                            description=_l("One or two sentences: what this note is about."))
    # i18n: label of the field holding the note's main text (Markdown)
    body = TextAreaField(_l("Note"), validators=[Optional(), Length(max=60000)],
                         description=_l("Markdown works: **bold**, lists with -, headings with ##."))
    context = TextAreaField(SECTION_LABELS["context"], validators=[Optional(), Length(max=20000)])
    what_we_did = TextAreaField(SECTION_LABELS["what_we_did"], validators=[Optional(), Length(max=20000)])
    what_happened = TextAreaField(SECTION_LABELS["what_happened"], validators=[Optional(), Length(max=20000)])
    what_we_learned = TextAreaField(SECTION_LABELS["what_we_learned"], validators=[Optional(), Length(max=20000)])
    do_differently = TextAreaField(SECTION_LABELS["do_differently"], validators=[Optional(), Length(max=20000)])
    language = SelectField(_l("Language of the note"), choices=[("zh_Hans", "中文"), ("en", "English")])
    place = StringField(_l("City or county"), validators=[Optional(), Length(max=100)],
                        description=_l("Never a street address."))
    province = StringField(_l("Province or region"), validators=[Optional(), Length(max=100)])
    visibility = RadioField(_l("Who may read it"), choices=list(VISIBILITY_LABELS.items()), default="members")
    topics = MultiCheckboxField(_l("Topics"), choices=[], coerce=str, validate_choice=True)
    populations = MultiCheckboxField(_l("Populations"), choices=[], coerce=str, validate_choice=True)
    tags = StringField(_l("Tags"), validators=[Optional(), Length(max=400)],
                       # i18n: %(n)d is the most characters one tag may have
                       description=_l("Separate tags with commas; a tag has at most %(n)d characters.",
                                      n=note_service.TAG_LENGTH))
    confirm_privacy = BooleanField(CONFIRM_LABEL)
    save = SubmitField(_l("Save draft"))
    preview = SubmitField(_l("Preview"))
    submit_note = SubmitField(_l("Submit for review"))

    def __init__(self, *args, locale: str = "en", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The vocabulary changes with the content version: read once per version, not at every autosave.
        self.topics.choices, self.populations.choices = memo(
            "term-choices", locale, compute=lambda: tuple(
                [(str(t.id), _isolated(t.name(locale))) for t in note_service.terms(kind)]
                for kind in ("topic", "population")))

    def to_input(self) -> note_service.NoteInput:
        """Return what the author wrote, as the service takes it."""
        return note_service.NoteInput(
            title=self.title.data or "", summary=self.summary.data or "", body=self.body.data or "",
            sections={key: getattr(self, key).data or "" for key in SECTIONS},
            language=self.language.data or "zh_Hans", place=self.place.data or "",
            province=self.province.data or "", visibility=self.visibility.data or "members",
            term_ids=note_service.ids((self.topics.data or []) + (self.populations.data or [])),
            tags=note_service.parse_tags(self.tags.data or ""))

    def seen(self) -> int:
        """Return how many removals of personal data the note had when this editor showed it.

        Absent or not a number (a page from before the hub sent it, a hand-made post): none, so the save
        is refused if the note ever had one. An editor that cannot show it opened the current text may
        hold removed data; a note never redacted saves as before.
        """
        value = (self.redactions_seen.data or "").strip()
        return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else 0

    def fill_from(self, note) -> None:
        """Load what the author edits into the form (for GET): a published note's pending changes, else the note."""
        data = note_service.draft_of(note)
        self.note_id.data = str(note.id)
        self.redactions_seen.data = str(note.text_redactions or 0)
        for name in ("title", "summary", "body", "language", "place", "province", "visibility"):
            getattr(self, name).data = getattr(data, name)
        for key in SECTIONS:
            getattr(self, key).data = data.sections.get(key, "")
        term_ids = {str(term_id) for term_id in data.term_ids}
        self.topics.data = [value for value, _label in self.topics.choices if value in term_ids]
        self.populations.data = [value for value, _label in self.populations.choices if value in term_ids]
        self.tags.data = ", ".join(data.tags)


class MessageForm(FlaskForm):
    """A message in the review thread, or a reason for a decision."""

    message = TextAreaField(_l("Message"), validators=[DataRequired(), Length(max=4000)])
    confirm_privacy = BooleanField(CONFIRM_LABEL)
    # i18n: button: send a message in a note's review thread
    submit = SubmitField(_l("Send"))


class CommentForm(FlaskForm):
    """A comment on a note."""

    body = TextAreaField(_l("Your comment"), validators=[DataRequired(), Length(max=5000)])
    confirm_privacy = BooleanField(CONFIRM_LABEL)
    submit = SubmitField(_l("Post comment"))


class EditCommentForm(CommentForm):
    """A member's own comment, changed, naming the text the writer changed (a moderator may cut it meanwhile)."""

    # i18n: a hidden field: which version of their comment the writer edited (named only if it is wrong)
    version = StringField(_l("Version of the comment"), validators=[Optional(), Length(max=64)],
                          widget=HiddenInput())

    # i18n: button under the form in which a member changes their own comment
    submit = SubmitField(_l("Save comment"))


class FlagForm(FlaskForm):
    """A report to the moderators."""

    reason = RadioField(_l("Why should a moderator look at this?"), choices=list(FLAG_LABELS.items()),
                        validators=[DataRequired()])
    detail = TextAreaField(_l("Details (optional)"), validators=[Optional(), Length(max=1000)])
    confirm_privacy = BooleanField(CONFIRM_LABEL)
    submit = SubmitField(_l("Send report"))

