"""A moderator's removal of personal data reaches every version of a note, driven through the moderation pages.

- Changes not yet published (an author's edit of a published note, waiting for a moderator's
  "Accept") lose what was removed from any version of the note: the note's own, its translations'
  when the original is redacted, the original's when a translation is. Accepting them later
  never brings it back; the moderator is told where it was cut, with a link to changes that wait.
- A name removed in pinyin ("Wang Xiaoming", from the English translation) is found in Han
  characters (王小明) in the Chinese original, which the moderator is told still holds it, and
  in the comments written in Chinese; written another way ("Xiaoming Wang") in English comments.
  A name removed in Han characters is found in pinyin in comments on the translation.
- Only names cross scripts: an everyday word that reads like the removed name (黎明 "dawn" for
  "Li Ming", 东门 for "Dong Men") stays.
"""
from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from hub.extensions import db
from hub.models import Note
from hub.models.user import Role, User
from hub.services import discussion, notes, translations
from tests.forms import form_fields
from tests.functional.test_redaction_everywhere import (BODY, LANGUAGES, NAME, PHONE, STILL_IN_ORIGINAL, SUMMARY,
                                                        TITLE, body_of, client_of, published, published_translation,
                                                        removing_every_finding)
from tests.helpers import post_form

EN_TITLE, EN_SUMMARY = "Night outreach", "We hand out naloxone at night."
ZH_MARK, EN_MARK = "［已删除个人信息］", "[personal data removed]"


def translated(original: Note, translator: User, body: str) -> Note:
    """Return an English translation of ``original`` saved by ``translator``, not yet submitted."""
    translation = translations.start(original, by=translator, language="en")
    return notes.save(translation, by=translator, confirm_privacy=True, data=notes.NoteInput(
        title=EN_TITLE, summary=EN_SUMMARY, body=body, language="en", visibility="public"))


def edited(note: Note, author: User, body: str) -> Note:
    """Return a published note whose author submitted changes to its text (kept until a moderator accepts them)."""
    title, summary = (TITLE, SUMMARY) if note.language == "zh_Hans" else (EN_TITLE, EN_SUMMARY)
    notes.save(note, by=author, confirm_privacy=True, data=notes.NoteInput(
        title=title, summary=summary, body=body, language=note.language, visibility="public"))
    assert note.pending is not None and note.pending.submitted_at is not None
    return note


def redact(browser: FlaskClient, note: Note, body: str) -> str:
    """Remove personal data from ``note`` on its moderation form, leaving ``body``; return the page shown after."""
    title, summary = (TITLE, SUMMARY) if note.language == "zh_Hans" else (EN_TITLE, EN_SUMMARY)
    return post_form(browser, f"/moderation/notes/{note.id}/redact",
                     {"title": title, "summary": summary, "body": body, "reason": ""},
                     follow_redirects=True).get_data(as_text=True)


def accept_changes(browser: FlaskClient, note: Note) -> None:
    """Accept a note's waiting changes on their moderation page, as shown, every finding ticked as checked."""
    url = f"/moderation/notes/{note.id}/changes"
    html = browser.get(url).get_data(as_text=True)
    keep = dict.fromkeys(re.findall(r'name="(finding:[^"]+)" value="keep"', html), "keep")
    answer = post_form(browser, f"{url}/accept", {**dict(form_fields(html, "/changes/accept")), **keep},
                       form_url=url)
    assert answer.status_code == 302


def reload(note: Note) -> Note:
    db.session.expire_all()
    return db.session.get(Note, note.id)


def translation_with_changes(original: Note, make_user, moderator: User) -> tuple[User, Note]:
    """Return tina, and her published English translation of ``original`` whose changes waiting for review
    name Wang Xiaoming and give the phone number."""
    translator = make_user("tina", role=Role.CONTRIBUTOR, pseudonym="Tina")
    translation = published_translation(original, translator, moderator, "We go twice a week.")
    edited(translation, translator, f"Name: Wang Xiaoming, phone {PHONE}. We go twice a week, in winter too.")
    return translator, translation


# --- 1. changes not yet published ----------------------------------------------------------------

CUT_FROM_OWN_CHANGES = {"en": "Also removed from the changes to this note that are not published yet.",
                        "zh_Hans": "同时从这篇笔记尚未发布的修改中删除。"}
CUT_FROM_TRANSLATIONS_CHANGES = {
    "en": "Also removed from the changes to the English translation that are not published yet.",
    "zh_Hans": "同时从英语译文尚未发布的修改中删除。"}
CUT_FROM_ORIGINALS_CHANGES = {
    "en": "Also removed from the changes to the original note (Chinese) that are not published yet.",
    "zh_Hans": "同时从原文笔记（中文）尚未发布的修改中删除。"}
REVIEW_THEM = {"en": "Review those changes", "zh_Hans": "审核这些修改"}
LEFT = f"姓名：{ZH_MARK}，电话 {ZH_MARK}。我们每周走两次。"


@pytest.mark.parametrize("language", LANGUAGES)
def test_redacting_a_note_cuts_the_data_from_its_waiting_changes_and_accepting_them_keeps_it_out(
        app, contributor, moderator, language):
    note = edited(published(contributor, moderator), contributor, BODY + "冬天也去。")
    reviewer = client_of(app, moderator, language)

    page = redact(reviewer, note, LEFT)
    accept_changes(reviewer, note)

    assert reload(note).body == LEFT + "冬天也去。"
    assert CUT_FROM_OWN_CHANGES[language] in page


@pytest.mark.parametrize("language", LANGUAGES)
def test_redacting_an_original_cuts_the_data_from_a_translations_waiting_changes(
        app, contributor, moderator, make_user, language):
    original = published(contributor, moderator)
    _translator, translation = translation_with_changes(original, make_user, moderator)
    reviewer = client_of(app, moderator, language)

    page = redact(reviewer, original, LEFT)
    accept_changes(reviewer, translation)

    assert reload(translation).body == f"Name: {EN_MARK}, phone {EN_MARK}. We go twice a week, in winter too."
    assert CUT_FROM_TRANSLATIONS_CHANGES[language] in page
    assert re.search(rf'<a href="/moderation/notes/{translation.id}/changes">{REVIEW_THEM[language]}</a>', page)


@pytest.mark.parametrize("language", LANGUAGES)
def test_redacting_a_translation_cuts_the_data_from_the_originals_waiting_changes(
        app, contributor, moderator, make_user, language):
    original = edited(published(contributor, moderator, body="我们每周走两次。"), contributor,
                      f"电话 {PHONE}。我们每周走两次。")
    translator = make_user("tina", role=Role.CONTRIBUTOR, pseudonym="Tina")
    translation = published_translation(original, translator, moderator, f"Call {PHONE}. We go twice a week.")
    reviewer = client_of(app, moderator, language)

    page = redact(reviewer, translation, "Call the centre. We go twice a week.")

    assert CUT_FROM_ORIGINALS_CHANGES[language] in page
    assert "still holds" not in page and "仍含有" not in page  # the text readers see never held it
    accept_changes(reviewer, original)
    assert reload(original).body == f"电话 {ZH_MARK}。我们每周走两次。"


def test_redacting_what_no_waiting_changes_hold_says_nothing_of_them(app, contributor, moderator):
    note = edited(published(contributor, moderator), contributor, f"姓名：{NAME}。我们每周走两次。")
    page = redact(client_of(app, moderator), note, f"姓名：{NAME}，电话 {ZH_MARK}。我们每周走两次。")
    assert "Removed from the note" in page and "not published yet" not in page
    assert reload(note).pending.body == f"姓名：{NAME}。我们每周走两次。"


# --- 2. a name across scripts ----------------------------------------------------------------------

ALSO = {"en": "Also removed from 2 comments that quoted it.", "zh_Hans": "同时从引用它的 2 条评论中删除。"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_name_removed_in_pinyin_from_a_translation_is_found_in_han_in_the_original_and_its_comments(
        app, contributor, moderator, member, make_user, language):
    original = published(contributor, moderator)
    translator = make_user("tina", role=Role.CONTRIBUTOR, pseudonym="Tina")
    translation = published_translation(original, translator, moderator,
                                        f"Name: Wang Xiaoming, phone {PHONE}. We go twice a week.")
    in_chinese = discussion.add_comment(original, by=member, body=f"{NAME}还在那里吗？", confirm_privacy=True)
    in_english = discussion.add_comment(translation, by=member, body="Is Xiaoming Wang still there?",
                                        confirm_privacy=True)

    page = redact(client_of(app, moderator, language), translation,
                  f"Name: {EN_MARK}, phone {PHONE}. We go twice a week.")

    assert body_of(in_chinese) == f"{ZH_MARK}还在那里吗？"
    assert body_of(in_english) == f"Is {EN_MARK} still there?"
    assert ALSO[language] in page
    assert STILL_IN_ORIGINAL[language] in page
    assert f'<a href="/moderation/notes/{original.id}/redact">' in page
    assert reload(original).body == BODY  # another author's text: named, not changed


@pytest.mark.parametrize("language", LANGUAGES)
def test_approving_a_translation_with_a_pinyin_name_removed_cleans_the_chinese_comments_and_names_the_original(
        app, contributor, moderator, member, make_user, language):
    original = published(contributor, moderator)
    quoting = discussion.add_comment(original, by=member, body=f"我认识{NAME}。", confirm_privacy=True)
    translator = make_user("tina", role=Role.CONTRIBUTOR, pseudonym="Tina")
    translation = notes.submit(translated(original, translator, "Name: Wang Xiaoming. We go twice a week."),
                               by=translator, confirm_privacy=True)
    reviewer = client_of(app, moderator, language)
    url = f"/moderation/notes/{translation.id}"

    page = post_form(reviewer, f"{url}/approve", removing_every_finding(reviewer, url, "/approve"), form_url=url,
                     follow_redirects=True).get_data(as_text=True)

    assert reload(translation).body == f"Name: {EN_MARK}. We go twice a week."
    assert body_of(quoting) == f"我认识{ZH_MARK}。"
    assert STILL_IN_ORIGINAL[language] in page


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_name_removed_in_han_from_the_original_is_cut_in_pinyin_from_comments_on_its_translation(
        app, contributor, moderator, member, make_user, language):
    original = published(contributor, moderator)
    translator = make_user("tina", role=Role.CONTRIBUTOR, pseudonym="Tina")
    translation = published_translation(original, translator, moderator, "We go twice a week.")
    comments = [discussion.add_comment(translation, by=member, body=body, confirm_privacy=True)
                for body in ("Xiaoming Wang helped us.", "Ask Wang Xiao Ming.", "Wang Xiaoming knows.")]

    redact(client_of(app, moderator, language), original, LEFT)

    assert [body_of(each) for each in comments] == [
        f"{EN_MARK} helped us.", f"Ask {EN_MARK}.", f"{EN_MARK} knows."]


def test_a_name_removed_in_pinyin_never_cuts_an_everyday_word_that_reads_alike(app, contributor, moderator, member,
                                                                       make_user):
    original = published(contributor, moderator, body="黎明时分，李明在东门等我们。我们每周走两次。")
    translator = make_user("tina", role=Role.CONTRIBUTOR, pseudonym="Tina")
    translation = published_translation(original, translator, moderator,
                                        "At dawn Li Ming waits for us at the east gate. We go twice a week.")
    on_original = discussion.add_comment(original, by=member, body="黎明时分李明也来过。", confirm_privacy=True)
    # What a moderator removes in Han characters is identifying here, everyday word or not (东门, "east
    # gate", the meeting place): written in pinyin it goes too. Only a name removed in pinyin is looked
    # for in Han characters, where 黎明 "dawn" must stay.
    on_translation = discussion.add_comment(translation, by=member, body="We met at Dong Men.",
                                            confirm_privacy=True)
    reviewer = client_of(app, moderator)

    page = redact(reviewer, translation, "At dawn someone waits for us at the east gate. We go twice a week.")
    redact(reviewer, original, f"黎明时分，{ZH_MARK}在{ZH_MARK}等我们。我们每周走两次。")

    assert "Also removed from 1 comment that quoted it." in page
    assert body_of(on_original) == f"黎明时分{ZH_MARK}也来过。"  # 黎明 "dawn" reads li ming too
    assert body_of(on_translation) == f"We met at {EN_MARK}."
