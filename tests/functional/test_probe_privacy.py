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
    assert TITLE in page and f'href="/notes/{note.id}"' in page  # readable: named and linked

    notes.unpublish(note, by=moderator, reason="Out of date.")
    discussion.decline(db.session.get(Comment, declined.id), by=moderator)
    page = reader.get("/account/notifications").get_data(as_text=True)
    assert reader.get(f"/notes/{note.id}").status_code == 404
    assert TITLE not in page and f"/notes/{note.id}" not in page
    assert page.count(NO_LONGER[language]) == 2

    author_page = client_of(app, contributor, language).get("/account/notifications").get_data(as_text=True)
    assert TITLE in author_page and f'href="/notes/{note.id}"' in author_page  # the author still reads it

