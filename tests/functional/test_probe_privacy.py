"""What a probe found: notifications naming notes one may no longer read, reports that skip the
privacy check, and a moderator's text lost when another moderator handled the report first.

Driven through the pages (HTTP client), as a person would act.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from hub.extensions import db
from hub.models import Comment, Flag
from hub.models.user import User
from hub.services import discussion, notes, screening
from tests.helpers import count, login, post_form

PHONE = "13812345678"
TITLE = "Night outreach with naloxone kits"


def published(author: User, moderator: User) -> notes.Note:
    data = notes.NoteInput(title=TITLE, summary="What we learned at night.", body="We walked the route twice.",
                           language="en", visibility="public")
    note = notes.submit(notes.create_draft(author=author, data=data), by=author, confirm_privacy=True)
    return notes.approve(note, by=moderator, checked=[screening.key(f) for f in notes.privacy_findings(note)[1]])


def client_of(app, user: User, language: str = "en") -> FlaskClient:
    browser = app.test_client()
    assert login(browser, user.username).status_code == 302
    browser.get(f"/?lang={language}")
    return browser


# --- 1. notifications name only notes the person may still read ----------------------------------

NO_LONGER = {"en": "a note you can no longer read", "zh_Hans": "一篇你已无法阅读的笔记"}


@pytest.mark.parametrize("language", ["en", "zh_Hans"])
def test_a_notification_about_a_note_taken_down_names_neither_its_title_nor_links_to_it(
        app, contributor, moderator, member, language):
    note = published(contributor, moderator)
    declined = discussion.add_comment(note, by=member, body=f"My number is {PHONE}.", confirm_privacy=True)
    released = discussion.add_comment(note, by=member, body=f"Or call {PHONE[:-1]}9.", confirm_privacy=True)
    discussion.release(released, by=moderator, checked=[screening.key(f) for f in discussion.findings(released)])
    reader = client_of(app, member, language)
    page = reader.get("/account/notifications").get_data(as_text=True)
    assert TITLE in page and f'href="/notes/{note.id}#comment-{released.id}"' in page  # readable: named and linked

    notes.unpublish(note, by=moderator, reason="Out of date.")
    discussion.decline(db.session.get(Comment, declined.id), by=moderator)
    page = reader.get("/account/notifications").get_data(as_text=True)
    assert reader.get(f"/notes/{note.id}").status_code == 404
    assert TITLE not in page and f"/notes/{note.id}" not in page
    assert page.count(NO_LONGER[language]) == 2

    author_page = client_of(app, contributor, language).get("/account/notifications").get_data(as_text=True)
    assert TITLE in author_page and f'href="/notes/{note.id}#comment-{released.id}"' in author_page  # still read


# --- 2. a report's explanation goes through the privacy check ---------------------------------------

UNTICKED_REPORT = {"en": "This report may contain personal data", "zh_Hans": "这条举报可能含有个人信息"}


@pytest.mark.parametrize("language", ["en", "zh_Hans"])
@pytest.mark.parametrize("on_comment", [False, True])
def test_a_report_with_a_phone_number_comes_back_to_be_ticked(app, contributor, moderator, member, make_user,
                                                              language, on_comment):
    note = published(contributor, moderator)
    url = f"/notes/{note.id}/flag"
    if on_comment:
        comment = discussion.add_comment(note, by=make_user("olga"), body="We tried this in Kunming.")
        url += f"?comment={comment.id}"
    reporter = client_of(app, member, language)
    detail = f"她的电话是 {PHONE}"
    check = post_form(reporter, url, {"reason": "harmful", "detail": detail}, form_url=f"/notes/{note.id}")
    assert check.status_code == 422 and count(Flag) == 0
    page = check.get_data(as_text=True)
    assert UNTICKED_REPORT[language] in page and f"<mark>{PHONE}</mark>" in page
    assert 'name="confirm_privacy"' in page and f"{detail}</textarea>" in page
    assert '<input checked id="reason-0" name="reason" required type="radio" value="harmful">' in page

    unticked = post_form(reporter, url, {"reason": "harmful", "detail": detail, "privacy_check": "1"},
                         form_url=f"/notes/{note.id}")
    assert unticked.status_code == 422 and count(Flag) == 0

    sent = post_form(reporter, url, {"reason": "harmful", "detail": detail, "privacy_check": "1",
                                     "confirm_privacy": "y"}, form_url=f"/notes/{note.id}")
    assert sent.status_code == 302
    item = db.session.scalars(sa.select(Flag)).one()
    assert item.detail == detail and item.reason == "harmful" and (item.comment_id is not None) == on_comment


def test_a_report_without_personal_data_is_sent_at_once(app, contributor, moderator, member):
    note = published(contributor, moderator)
    sent = post_form(client_of(app, member), f"/notes/{note.id}/flag",
                     {"reason": "wrong", "detail": "The dose in step 2 is wrong."}, form_url=f"/notes/{note.id}")
    assert sent.status_code == 302 and count(Flag) == 1


# --- 3. a report handled meanwhile keeps what the second moderator wrote --------------------------

HANDLED = {"en": "This flag has already been handled.", "zh_Hans": "这条举报已经处理过了。"}


@pytest.mark.parametrize("language", ["en", "zh_Hans"])
def test_a_report_handled_by_another_moderator_says_so_once_and_keeps_the_text(
        app, contributor, moderator, member, make_user, language):
    from hub.models.user import Role
    note = published(contributor, moderator)
    item = notes.flag(note, by=member, reason="wrong", detail="The dose is wrong.")
    first, second = client_of(app, moderator), client_of(app, make_user("mod2", role=Role.MODERATOR), language)
    url = f"/moderation/flags/{item.id}/resolve"
    post_form(first, url, {"resolution": "dismissed"}, form_url="/moderation/flags")
    late = post_form(second, url, {"resolution": "dismissed", "message": "keep this text"},
                     form_url="/moderation/flags")
    assert late.status_code in (200, 409)
    page = late.get_data(as_text=True)
    assert page.count(HANDLED[language]) == 1
    assert "keep this text</textarea>" in page and 'class="kept-text"' in page


def test_asking_the_author_to_remove_personal_data_screens_the_message_as_a_reply_is(
        app, contributor, moderator, member):
    from hub.models import ReviewMessage
    note = published(contributor, moderator)
    item = notes.flag(note, by=member, reason="personal_data")
    reviewer = client_of(app, moderator)
    url = f"/moderation/flags/{item.id}/resolve"
    text = f"Please remove the number {PHONE}."
    check = post_form(reviewer, url, {"resolution": "author_asked", "message": text}, form_url="/moderation/flags")
    assert check.status_code == 422 and count(ReviewMessage, ReviewMessage.kind == "redaction_requested") == 0
    page = check.get_data(as_text=True)
    assert f"<mark>{PHONE}</mark>" in page and 'name="confirm_privacy"' in page and f"{text}</textarea>" in page
    sent = post_form(reviewer, url, {"resolution": "author_asked", "message": text, "confirm_privacy": "y"},
                     form_url="/moderation/flags")
    assert sent.status_code == 302 and count(ReviewMessage, ReviewMessage.kind == "redaction_requested") == 1
    db.session.expire_all()
    assert db.session.get(Flag, item.id).resolution == "author_asked"
