"""Privacy leftovers of a moderator's removal of personal data, driven through the moderation pages.

- Publishing a note, or its author's changes, with findings chosen for removal cuts them out of the
  comments that quote them too, as "Remove personal data now" does, and says so.
- Removing personal data from a translation cleans the comments on its original, and says which of
  the note's other language versions still hold it, with a link to remove it there (another
  author's text is never changed unasked).
- A removal that would leave a note without its text or summary, or a comment empty, is refused
  in the moderator's language and nothing is saved.
- The audit log names a translation taken down with its original by its revision, linked, and its
  original by title, linked; the digest the hub compares is not shown.
"""
from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from hub.extensions import db
from hub.models import Comment, Note
from hub.models.events import Event
from hub.models.user import Role, User
from hub.services import discussion, notes, screening, translations
from tests.forms import form_fields
from tests.helpers import approve_checked, count, login, post_form

NAME, PHONE = "王小明", "13800138000"
TITLE, SUMMARY = "夜间外展", "我们晚上发放纳洛酮。"
BODY = f"姓名：{NAME}，电话 {PHONE}。我们每周走两次。"
ALSO = {"en": "Also removed from 1 comment that quoted it.", "zh_Hans": "同时从引用它的 1 条评论中删除。"}
LANGUAGES = ["en", "zh_Hans"]


def client_of(app, user: User, language: str = "en") -> FlaskClient:
    browser = app.test_client()
    assert login(browser, user.username).status_code == 302
    browser.get(f"/?lang={language}")  # the language chosen is kept for the next pages
    return browser


def published(author: User, moderator: User, body: str = BODY) -> Note:
    note = notes.create_draft(author=author, data=notes.NoteInput(
        title=TITLE, summary=SUMMARY, body=body, language="zh_Hans", visibility="public"))
    return approve_checked(notes.submit(note, by=author, confirm_privacy=True), by=moderator)


def quoted_by(note: Note, member: User, moderator: User) -> Comment:
    """Return a published comment on ``note`` quoting the name and number, released by a moderator."""
    comment = discussion.add_comment(note, by=member, body=f"call {NAME} on {PHONE}", confirm_privacy=True)
    discussion.release(comment, by=moderator, checked=[screening.key(f) for f in discussion.findings(comment)])
    return comment


def removing_every_finding(browser: FlaskClient, page_url: str, action: str) -> dict[str, str]:
    """Return the decision form of a moderation page as it stands, every finding chosen for removal."""
    html = browser.get(page_url).get_data(as_text=True)
    choices = dict.fromkeys(re.findall(r'name="(finding:[^"]+)" value="redact"', html), "redact")
    fields = dict(form_fields(html, action))
    assert choices, "the page lists the findings"
    return {**fields, **choices}


def body_of(comment: Comment) -> str:
    db.session.expire_all()
    return db.session.get(Comment, comment.id).body


# --- 1. publishing with findings removed cleans the comments quoting them ---------------------------

@pytest.mark.parametrize("language", LANGUAGES)
def test_publishing_again_with_the_findings_removed_cuts_them_from_the_comments_quoting_them(
        app, contributor, moderator, member, language):
    note = published(contributor, moderator)
    quoting = quoted_by(note, member, moderator)
    notes.unpublish(note, by=moderator, reason="Out of date.")
    notes.submit(note, by=contributor, confirm_privacy=True)
    reviewer = client_of(app, moderator, language)
    url = f"/moderation/notes/{note.id}"

    page = post_form(reviewer, f"{url}/approve", removing_every_finding(reviewer, url, "/approve"), form_url=url,
                     follow_redirects=True).get_data(as_text=True)

    assert body_of(quoting) == "call ［已删除个人信息］ on ［已删除个人信息］"
    shown = app.test_client().get(f"/notes/{note.id}").get_data(as_text=True)
    assert NAME not in shown and PHONE not in shown
    assert ALSO[language] in page
    assert count(Event, Event.kind == "comment.updated", Event.subject_id == quoting.id) == 1


@pytest.mark.parametrize("language", LANGUAGES)
def test_accepting_changes_with_the_findings_removed_cuts_them_from_the_comments_quoting_them(
        app, contributor, moderator, member, language):
    note = published(contributor, moderator)
    quoting = quoted_by(note, member, moderator)
    held = discussion.add_comment(note, by=member, body=f"{NAME} 还在吗？", confirm_privacy=True)
    notes.save(note, by=contributor, confirm_privacy=True, data=notes.NoteInput(
        title=TITLE, summary=SUMMARY, body=BODY + "冬天也去。", language="zh_Hans", visibility="public"))
    reviewer = client_of(app, moderator, language)
    url = f"/moderation/notes/{note.id}/changes"

    page = post_form(reviewer, f"{url}/accept", removing_every_finding(reviewer, url, "/accept"), form_url=url,
                     follow_redirects=True).get_data(as_text=True)

    db.session.expire_all()
    assert db.session.get(Note, note.id).body == "姓名：［已删除个人信息］，电话 ［已删除个人信息］。我们每周走两次。冬天也去。"
    assert body_of(quoting) == "call ［已删除个人信息］ on ［已删除个人信息］"
    assert body_of(held) == "［已删除个人信息］ 还在吗？"
    assert {"en": "Also removed from 2 comments that quoted it.", "zh_Hans": "同时从引用它的 2 条评论中删除。"}[language] in page


# --- 2. redacting a translation ---------------------------------------------------------------

STILL_IN_ORIGINAL = {"en": "The original note (Chinese) still holds what you removed; it was not changed.",
                     "zh_Hans": "原文笔记（中文）仍含有你删除的内容；原文没有改动。"}
REMOVE_THERE = {"en": "Remove it from the original", "zh_Hans": "也从原文中删除"}


def published_translation(original: Note, translator: User, moderator: User, body: str) -> Note:
    translation = translations.start(original, by=translator, language="en")
    notes.save(translation, by=translator, data=notes.NoteInput(
        title="Night outreach", summary="We hand out naloxone at night.", body=body, language="en",
        visibility="public"), confirm_privacy=True)
    return approve_checked(notes.submit(translation, by=translator, confirm_privacy=True), by=moderator)


@pytest.mark.parametrize("language", LANGUAGES)
def test_redacting_a_translation_cleans_the_comments_on_its_original_and_points_to_the_original(
        app, contributor, moderator, member, make_user, language):
    original = published(contributor, moderator)
    translator = make_user("tina", role=Role.CONTRIBUTOR, pseudonym="Tina")
    translation = published_translation(original, translator, moderator, f"Call {PHONE}. We go twice a week.")
    on_original = quoted_by(original, member, moderator)
    on_translation = discussion.add_comment(translation, by=member, body=f"Is {PHONE} still right?",
                                            confirm_privacy=True)

    page = post_form(client_of(app, moderator, language), f"/moderation/notes/{translation.id}/redact",
                     {"title": "Night outreach", "summary": "We hand out naloxone at night.",
                      "body": "Call the centre. We go twice a week.", "reason": ""},
                     follow_redirects=True).get_data(as_text=True)

    assert PHONE not in body_of(on_original) and NAME in body_of(on_original)  # only what was removed here
    assert PHONE not in body_of(on_translation)
    db.session.expire_all()
    assert db.session.get(Note, original.id).body == BODY  # another author's note: named, not changed
    assert STILL_IN_ORIGINAL[language] in page
    assert re.search(rf'<a href="/moderation/notes/{original.id}/redact">{REMOVE_THERE[language]}</a>', page)


def test_redacting_what_no_other_version_holds_names_none(app, contributor, moderator, make_user):
    original = published(contributor, moderator)
    translator = make_user("tina", role=Role.CONTRIBUTOR, pseudonym="Tina")
    translation = published_translation(original, translator, moderator, "Ask Lena at the van. We go twice a week.")

    page = post_form(client_of(app, moderator), f"/moderation/notes/{translation.id}/redact",
                     {"title": "Night outreach", "summary": "We hand out naloxone at night.",
                      "body": "Ask at the van. We go twice a week.", "reason": ""},
                     follow_redirects=True).get_data(as_text=True)

    assert "Removed from the note" in page and "still holds what you removed" not in page


# --- 3. a redaction never leaves a note or a comment empty --------------------------------------

EMPTIED_NOTE = {"en": "This would leave the note with no text, so nothing was saved.",
                "zh_Hans": "这样笔记就没有正文了，所以没有保存任何改动。"}
EMPTIED_SUMMARY = {"en": "This would leave the note with no summary, so nothing was saved.",
                   "zh_Hans": "这样笔记就没有摘要了，所以没有保存任何改动。"}
EMPTIED_COMMENT = {"en": "This would leave the comment empty, so nothing was saved.",
                   "zh_Hans": "这样评论就空了，所以没有保存任何改动。"}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("emptied", ["body", "summary"])
def test_a_redaction_that_empties_the_note_is_refused_and_saves_nothing(
        app, contributor, moderator, member, language, emptied):
    note = published(contributor, moderator)
    quoting = quoted_by(note, member, moderator)
    revisions = len(note.revisions)
    text = {"title": TITLE, "summary": SUMMARY, "body": BODY, "reason": "", emptied: ""}

    answer = post_form(client_of(app, moderator, language), f"/moderation/notes/{note.id}/redact", text)

    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert {"body": EMPTIED_NOTE, "summary": EMPTIED_SUMMARY}[emptied][language] in page
    assert "［已删除个人信息］" in page  # what to write instead, in the note's language
    db.session.expire_all()
    kept = db.session.get(Note, note.id)
    assert (kept.body, kept.summary, len(kept.revisions)) == (BODY, SUMMARY, revisions)
    assert body_of(quoting) == f"call {NAME} on {PHONE}"
    assert count(Event, Event.kind == "note.updated", Event.subject_id == note.id) == 0


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("left", ["", " \u200b "])
def test_a_redaction_that_empties_a_comment_is_refused_and_saves_nothing(
        app, contributor, moderator, member, language, left):
    note = published(contributor, moderator)
    comment = quoted_by(note, member, moderator)

    answer = post_form(client_of(app, moderator, language), f"/moderation/comments/{comment.id}/redact",
                       {"body": left})

    assert answer.status_code == 200 and EMPTIED_COMMENT[language] in answer.get_data(as_text=True)
    assert body_of(comment) == f"call {NAME} on {PHONE}"


# --- 4. the audit log names a translation taken down by what an admin understands --------------

TAKEN_DOWN = {"en": ("text version: ", "revision 1", "original: "), "zh_Hans": ("文本版本：", "第 1 版", "原文：")}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_audit_log_names_a_translation_taken_down_by_its_revision_and_its_original_linked(
        app, contributor, moderator, admin, make_user, language):
    original = published(contributor, moderator, body="我们每周走两次。")
    translator = make_user("tina", role=Role.CONTRIBUTOR, pseudonym="Tina")
    translation = published_translation(original, translator, moderator, "We go twice a week.")
    post_form(client_of(app, moderator), f"/moderation/notes/{original.id}/unpublish", {"message": "Out of date."},
              form_url=f"/moderation/notes/{original.id}")
    db.session.expire_all()
    assert db.session.get(Note, translation.id).state == "unpublished"
    digest = notes.review_version(db.session.get(Note, translation.id))

    page = client_of(app, admin, language).get("/admin/audit?action=translation.original_gone").get_data(as_text=True)

    version, revision, named = TAKEN_DOWN[language]
    history = f"/notes/{translation.id}/history#revision-1"
    assert f'{version}<a href="{history}">{revision}</a>' in page
    assert f'{named}<a href="/notes/{original.id}" lang="zh-Hans"><bdi class="user-text">{TITLE}</bdi></a>' in page
    assert f'href="/notes/{translation.id}"' in page  # the translation itself, by its title
    assert not re.search(r"\b[0-9a-f]{16}\b", page) and digest[:8] not in page
    history_page = client_of(app, admin, language).get(f"/notes/{translation.id}/history").get_data(as_text=True)
    assert 'id="revision-1"' in history_page
