"""What a moderator removes from a note ("Remove personal data now") goes from every place that shows it.

Through the moderation page: the comments that quote the removed name or number, and a translation
made before the redaction that writes the removed Chinese name in pinyin.
"""
from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from hub.extensions import db
from hub.models import Comment, Note
from hub.models.events import Event
from hub.models.user import Role, User
from hub.services import discussion, notes, screening, translations
from tests.helpers import approve_checked, count, login, post_form

NAME, PHONE = "王小明", "13800138000"
TITLE, SUMMARY = "夜间外展", "我们晚上发放纳洛酮。"
BODY = f"姓名：{NAME}，电话 {PHONE}。我们每周走两次。"
LEFT = "姓名：［已删除个人信息］，电话 ［已删除个人信息］。我们每周走两次。"
ALSO_EN = "Also removed from 2 comments that quoted it."
ALSO_ZH = "同时从引用它的 2 条评论中删除。"


def client_of(app, user: User, language: str = "en") -> FlaskClient:
    browser = app.test_client()
    browser.set_cookie("lang", language)
    assert login(browser, user.username).status_code == 302
    return browser


def published(author: User, moderator: User, body: str = BODY) -> Note:
    note = notes.create_draft(author=author, data=notes.NoteInput(
        title=TITLE, summary=SUMMARY, body=body, language="zh_Hans", visibility="public"))
    return approve_checked(notes.submit(note, by=author, confirm_privacy=True), by=moderator)


def released(comment: Comment, moderator: User) -> Comment:
    discussion.release(comment, by=moderator, checked=[screening.key(f) for f in discussion.findings(comment)])
    return comment


def redact_page(browser: FlaskClient, note: Note, body: str, language: str = "en"):
    return post_form(browser, f"/moderation/notes/{note.id}/redact?lang={language}",
                     {"title": TITLE, "summary": SUMMARY, "body": body, "reason": ""}, follow_redirects=True)


@pytest.mark.parametrize("language, also", [("en", ALSO_EN), ("zh_Hans", ALSO_ZH)])
def test_redacting_a_note_cuts_the_removed_name_and_number_out_of_the_comments_quoting_them(
        app, contributor, moderator, member, language, also):
    note = published(contributor, moderator)
    quoting = released(discussion.add_comment(note, by=member, body=f"call {NAME} on {PHONE}", confirm_privacy=True),
                       moderator)
    held = discussion.add_comment(note, by=member, body=f"{NAME} 的号码是 138 0013 8000 吗？", confirm_privacy=True)
    other = discussion.add_comment(note, by=contributor, body="谢谢大家，我们下周再去。")
    reader = app.test_client()
    assert NAME in reader.get(f"/notes/{note.id}").get_data(as_text=True)

    page = redact_page(client_of(app, moderator, language), note, LEFT, language).get_data(as_text=True)

    for browser in (reader, client_of(app, member)):  # the held comment's writer sees it too
        shown = browser.get(f"/notes/{note.id}").get_data(as_text=True)
        assert NAME not in shown and PHONE not in shown and "138 0013 8000" not in shown
    db.session.expire_all()
    assert db.session.get(Comment, quoting.id).body == "call ［已删除个人信息］ on ［已删除个人信息］"
    assert db.session.get(Comment, held.id).body == "［已删除个人信息］ 的号码是 ［已删除个人信息］ 吗？"
    assert db.session.get(Comment, held.id).state == "held"  # still waits for a moderator
    assert db.session.get(Comment, other.id).body == "谢谢大家，我们下周再去。"
    # Readers' copies follow as after a comment's own redaction: one update, of the published comment only.
    updated = {c.id: count(Event, Event.kind == "comment.updated", Event.subject_id == c.id)
               for c in (quoting, held, other)}
    assert updated == {quoting.id: 1, held.id: 0, other.id: 0}
    assert also in page  # the moderator is told, in their language


def test_a_redaction_that_no_comment_quotes_says_nothing_about_comments(app, contributor, moderator, member):
    note = published(contributor, moderator)
    discussion.add_comment(note, by=member, body="谢谢分享。")
    page = redact_page(client_of(app, moderator), note, LEFT).get_data(as_text=True)
    assert "Removed from the note" in page and "that quoted it" not in page


def test_a_translation_made_before_the_redaction_loses_the_removed_name_in_pinyin(app, contributor, moderator,
                                                                                    make_user):
    original = published(contributor, moderator)
    translator = make_user("tina", role=Role.CONTRIBUTOR, pseudonym="Tina")
    translation = translations.start(original, by=translator, language="en")
    english = ("Name: Wang Xiaoming. Ask for Xiao Ming Wang or wangxiaoming on WeChat; Xiaoming Wang knows. "
               "Dr Wang at the clinic and the Wang River stay; Wangxiaomingo is a band.")
    notes.save(translation, by=translator, data=notes.NoteInput(
        title="Night outreach", summary="We hand out naloxone at night.", body=english, language="en",
        visibility="public"))
    assert "Wang Xiaoming" in client_of(app, translator).get(f"/notes/{translation.id}").get_data(as_text=True)

    redact_page(client_of(app, moderator), original, LEFT)

    translation = db.session.get(Note, translation.id)
    db.session.refresh(translation)
    assert translation.body == (
        "Name: [personal data removed]. Ask for [personal data removed] or [personal data removed] on WeChat; "
        "[personal data removed] knows. Dr Wang at the clinic and the Wang River stay; Wangxiaomingo is a band.")
    shown = client_of(app, translator).get(f"/notes/{translation.id}").get_data(as_text=True)
    assert "Xiaoming" not in shown.replace("Wangxiaomingo", "") and "Xiao Ming" not in shown


def test_pinyin_is_looked_for_only_for_names_and_never_run_together_into_an_english_word(
        app, contributor, moderator, make_user):
    # 人民公园东门 is longer than a name; 胡曼 is a name of two characters, whose syllables run together
    # spell "human": a two-character name is looked for with a gap only.
    body = f"我们在人民公园东门见面，胡曼也来了。{BODY}"
    original = published(contributor, moderator, body=body)
    translator = make_user("tina", role=Role.CONTRIBUTOR, pseudonym="Tina")
    translation = translations.start(original, by=translator, language="en")
    notes.save(translation, by=translator, data=notes.NoteInput(
        title="Night outreach", summary="We hand out naloxone at night.", language="en", visibility="public",
        body="We meet at renmin gongyuan dongmen; Hu Man came too. Ren Min works for human rights."))
    redact_page(client_of(app, moderator), original, body.replace("人民公园东门", "").replace("胡曼", "")
                .replace(NAME, ""))
    db.session.expire_all()
    assert db.session.get(Note, translation.id).body == (
        "We meet at renmin gongyuan dongmen; [personal data removed] came too. Ren Min works for human rights.")


def test_a_name_deleted_with_its_label_is_cut_in_pinyin_from_the_translation(app, contributor, moderator, make_user):
    # The moderator deletes "姓名：王小明，" whole: the name is found inside what went, by the scanner.
    original = published(contributor, moderator)
    translator = make_user("tina", role=Role.CONTRIBUTOR, pseudonym="Tina")
    translation = translations.start(original, by=translator, language="en")
    notes.save(translation, by=translator, data=notes.NoteInput(
        title="Night outreach", summary="We hand out naloxone at night.", language="en", visibility="public",
        body="Name: Wang Xiaoming, phone 13800138000. We go twice a week."))

    redact_page(client_of(app, moderator), original, BODY.replace(f"姓名：{NAME}，", ""))

    db.session.expire_all()
    assert db.session.get(Note, translation.id).body == (
        "Name: [personal data removed], phone 13800138000. We go twice a week.")


def test_a_removed_word_is_cut_from_comments_as_a_whole_word_only(app, contributor, moderator, member):
    note = notes.create_draft(author=contributor, data=notes.NoteInput(
        title="Night outreach", summary="Naloxone at night.", body="Ask Lee at the van. We drive to Leeds.",
        language="en", visibility="public"))
    note = approve_checked(notes.submit(note, by=contributor, confirm_privacy=True), by=moderator)
    comment = discussion.add_comment(note, by=member, body="Lee drove us to Leeds and back.", confirm_privacy=True)

    post_form(client_of(app, moderator), f"/moderation/notes/{note.id}/redact",
              {"title": "Night outreach", "summary": "Naloxone at night.", "body": "Ask  at the van. We drive to Leeds.",
               "reason": ""}, follow_redirects=True)

    db.session.expire_all()
    assert db.session.get(Comment, comment.id).body == "[personal data removed] drove us to Leeds and back."
