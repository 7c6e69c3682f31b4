"""A form sent twice (a double tap, a page sent again after a slow answer) does what it said once."""
from __future__ import annotations

import sqlalchemy as sa

from hub.extensions import db
from hub.models import Comment, Mark
from hub.services import discussion
from tests.functional.test_forms_sent_back import browser_of
from tests.functional.test_form_fuzz import published_note as published
from tests.helpers import count, post_form


def test_the_same_comment_sent_twice_is_one_comment_and_a_later_repeat_is_another(app, contributor, moderator,
                                                                                   member):
    note = published(contributor, moderator)
    browser = browser_of(app, member)
    for _ in range(2):
        response = post_form(browser, f"/notes/{note.id}/comments", {"body": "We did this too."},
                             form_url=f"/notes/{note.id}")
        assert response.status_code == 302
    assert count(Comment) == 1
    post_form(browser, f"/notes/{note.id}/comments", {"body": "Another thought."}, form_url=f"/notes/{note.id}")
    assert count(Comment) == 2
    first = db.session.scalar(sa.select(Comment).where(Comment.body == "We did this too."))
    first.created_at = first.created_at.replace(year=first.created_at.year - 1)  # long ago: said again on purpose
    db.session.commit()
    post_form(browser, f"/notes/{note.id}/comments", {"body": "We did this too."}, form_url=f"/notes/{note.id}")
    assert count(Comment) == 3


def test_the_same_answer_under_two_comments_is_two_answers_and_twice_under_one_is_one(app, contributor, moderator, member):
    note = published(contributor, moderator)
    one = discussion.add_comment(note, by=contributor, body="First.")
    two = discussion.add_comment(note, by=contributor, body="Second.")
    for parent in (one, two, one):
        discussion.add_comment(note, by=member, body="Thank you.", parent=parent)
    assert count(Comment) == 4


def test_a_mark_button_pressed_twice_sets_the_mark_once(app, contributor, moderator, member):
    note = published(contributor, moderator)
    browser = browser_of(app, member)
    page = browser.get(f"/notes/{note.id}").get_data(as_text=True)
    assert 'name="on" value="1"' in page
    for _ in range(2):  # the same button, sent twice
        post_form(browser, f"/notes/{note.id}/marks/tried", {"on": "1"}, form_url=f"/notes/{note.id}")
    assert count(Mark) == 1
    assert 'name="on" value="0"' in browser.get(f"/notes/{note.id}").get_data(as_text=True)
    for _ in range(2):
        post_form(browser, f"/notes/{note.id}/marks/tried", {"on": "0"}, form_url=f"/notes/{note.id}")
    assert count(Mark) == 0
    post_form(browser, f"/notes/{note.id}/marks/tried", {}, form_url=f"/notes/{note.id}")  # a page from before
    assert count(Mark) == 1
