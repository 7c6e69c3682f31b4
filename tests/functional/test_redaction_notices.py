"""Whoever wrote changes a moderator's redaction cut is told, in their language, without the data.

A moderator removes a name or number from a note ("redact now", or findings removed on "Accept"); the
same data is cut out of the changes not yet published of every note of its family: the note's own,
a translation's, the original's. Their writer (the author, the translator) finds a notification that
their changes were edited to remove personal data, leading to the note, and naming nothing removed.
An author whose own note and own changes lost it gets one notification saying both.
"""
from __future__ import annotations

import html as html_lib
import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from hub.extensions import db
from hub.models import Note, Notification
from hub.models.user import Role, User
from tests.functional.test_redaction_across_versions import LEFT, edited, redact, translation_with_changes
from tests.functional.test_redaction_everywhere import (LANGUAGES, NAME, PHONE, client_of, published,
                                                        published_translation, removing_every_finding)
from tests.helpers import post_form

CHANGES_CUT = {
    "en": "A moderator removed personal data from your changes to “{title}” that are not published yet. "
          "Open the editor again before you change them further.",
    "zh_Hans": "审核员从你对“{title}”尚未发布的修改中删除了个人信息。请重新打开编辑器，再继续修改。"}
NOTE_AND_CHANGES_CUT = {
    "en": "A moderator removed personal data from “{title}”, and from your changes to it that are not published "
          "yet. Open the editor again before you change them further.",
    "zh_Hans": "审核员从“{title}”以及你对它尚未发布的修改中删除了个人信息。请重新打开编辑器，再继续修改。"}
TRANSLATION_CUT = {
    "en": "A moderator removed personal data from the original of your translation “{title}”. It was removed from "
          "your translation too.",
    "zh_Hans": "审核员删除了你的译文“{title}”的原文中的个人信息。你的译文中的这些信息也已删除。"}
TRANSLATION_AND_CHANGES_CUT = {
    "en": "A moderator removed personal data from the original of your translation “{title}”. It was removed from "
          "your translation too, and from your changes to it that are not published yet. Open the editor again "
          "before you change them further.",
    "zh_Hans": "审核员删除了你的译文“{title}”的原文中的个人信息。你的译文以及你对它尚未发布的修改中的这些信息也已删除。"
               "请重新打开编辑器，再继续修改。"}
PINYIN = "Wang Xiaoming"  # the name in the translation's changes (translation_with_changes)


def told(browser: FlaskClient) -> str:
    """Return the person's notifications page, its text unescaped, bidi isolates left out."""
    page = browser.get("/account/notifications")
    assert page.status_code == 200
    return re.sub("[\u2066-\u2069]", "", html_lib.unescape(page.get_data(as_text=True)))


def notices(user: User, note: Note) -> list[str]:
    """Return the kinds of ``user``'s notifications about ``note``."""
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Notification.kind).where(
        Notification.user_id == user.id, Notification.note_id == note.id).order_by(Notification.id)))


def leads_to(page: str, note: Note, text: str) -> bool:
    """Tell whether ``page`` holds ``text`` as a link to ``note`` (the title isolated in its own element)."""
    links = re.findall(rf'<a href="/notes/{note.id}">(.*?)</a>', page, re.S)
    return text in [re.sub(r"<[^>]+>", "", link) for link in links]


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_translator_whose_waiting_changes_lost_the_data_is_told_without_it(
        app, contributor, moderator, make_user, language):
    original = published(contributor, moderator)
    translator, translation = translation_with_changes(original, make_user, moderator)

    redact(client_of(app, moderator), original, LEFT)
    page = told(client_of(app, translator, language))

    assert notices(translator, translation)[-1:] == ["note.changes_redacted"]
    assert leads_to(page, translation, CHANGES_CUT[language].format(title=translation.title))
    assert NAME not in page and PINYIN not in page and PHONE not in page


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_author_whose_note_and_own_changes_lost_the_data_gets_one_notice_saying_both(
        app, contributor, moderator, language):
    note = edited(published(contributor, moderator), contributor, f"姓名：{NAME}，电话 {PHONE}。冬天也去。")

    redact(client_of(app, moderator), note, LEFT)
    page = told(client_of(app, contributor, language))

    assert notices(contributor, note)[-1:] == ["note.redacted"]
    assert "note.changes_redacted" not in notices(contributor, note)
    assert leads_to(page, note, NOTE_AND_CHANGES_CUT[language].format(title=note.title))
    assert NAME not in page and PHONE not in page


def accept_removing_every_finding(reviewer: FlaskClient, note: Note):
    """Have a moderator accept ``note``'s waiting changes with every privacy finding removed."""
    url = f"/moderation/notes/{note.id}/changes"
    return post_form(reviewer, f"{url}/accept", removing_every_finding(reviewer, url, "/changes/accept"),
                     form_url=url)


def test_an_author_whose_changes_lost_a_number_removed_on_accepting_a_translation_is_told(
        app, contributor, moderator, make_user):
    original = edited(published(contributor, moderator, body="我们每周走两次。"), contributor,
                      f"电话 {PHONE}。我们每周走两次。")
    translator = make_user("tina", role=Role.CONTRIBUTOR, pseudonym="Tina")
    translation = edited(published_translation(original, translator, moderator, "We go twice a week."), translator,
                         f"Call {PHONE}. We go twice a week.")

    decision = accept_removing_every_finding(client_of(app, moderator), translation)
    page = told(client_of(app, contributor))

    assert decision.status_code == 302
    assert notices(contributor, original)[-1:] == ["note.changes_redacted"]
    assert leads_to(page, original, CHANGES_CUT["en"].format(title=original.title))
    assert PHONE not in page


def test_redacting_what_no_waiting_changes_hold_tells_the_author_of_the_note_only(app, contributor, moderator):
    note = edited(published(contributor, moderator), contributor, "我们每周走两次，冬天也去。")

    redact(client_of(app, moderator), note, LEFT)
    page = told(client_of(app, contributor))

    assert "note.changes_redacted" not in notices(contributor, note)
    assert leads_to(page, note, f"A moderator removed personal data from “{note.title}”.")


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_translator_whose_published_translation_lost_the_data_is_told(app, contributor, moderator, make_user,
                                                                        language):
    """The original's redaction cuts the name out of a translation too: its translator hears that it was
    cut from the original, and so from their translation."""
    original = published(contributor, moderator)
    translator = make_user("tina", role=Role.CONTRIBUTOR, pseudonym="Tina")
    translation = published_translation(original, translator, moderator, f"Name: {NAME}. We go twice a week.")

    redact(client_of(app, moderator), original, LEFT)
    page = told(client_of(app, translator, language))

    db.session.refresh(translation)
    assert NAME not in translation.body
    assert notices(translator, translation)[-1:] == ["note.redacted"]
    assert leads_to(page, translation, TRANSLATION_CUT[language].format(title=translation.title))
    assert NAME not in page


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_translator_whose_translation_and_own_changes_lost_the_data_gets_one_notice_saying_both(
        app, contributor, moderator, make_user, language):
    original = published(contributor, moderator)
    translator = make_user("tina", role=Role.CONTRIBUTOR, pseudonym="Tina")
    translation = edited(published_translation(original, translator, moderator, f"Name: {NAME}. We go twice a week."),
                         translator, f"Name: {NAME}. We go twice a week, in winter too.")

    redact(client_of(app, moderator), original, LEFT)
    page = told(client_of(app, translator, language))

    assert notices(translator, translation)[-1:] == ["note.redacted"]
    assert "note.changes_redacted" not in notices(translator, translation)
    assert leads_to(page, translation, TRANSLATION_AND_CHANGES_CUT[language].format(title=translation.title))
    assert NAME not in page


def test_a_translator_whose_translation_lost_a_number_removed_on_accepting_the_originals_changes_is_told(
        app, contributor, moderator, make_user):
    """Findings removed on "Accept" of the original's changes are cut from its translations too: each translator
    hears that it was cut from the original of their translation (the one notice of this path)."""
    original = edited(published(contributor, moderator, body="我们每周走两次。"), contributor,
                      f"电话 {PHONE}。我们每周走两次。")
    translator = make_user("tina", role=Role.CONTRIBUTOR, pseudonym="Tina")
    translation = published_translation(original, translator, moderator, f"Call {PHONE}. We go twice a week.")

    decision = accept_removing_every_finding(client_of(app, moderator), original)
    page = told(client_of(app, translator))

    assert decision.status_code == 302
    db.session.refresh(translation)
    assert PHONE not in translation.body
    assert leads_to(page, translation, TRANSLATION_CUT["en"].format(title=translation.title))
    assert PHONE not in page
