"""A comment's writer edits it while a moderator cuts personal data out of it: the writer's form, opened
before the cut, would put the cut data back (a name is no finding of the privacy check, so readers would
see it at once). Nothing is saved then; the form shows the comment as it is now, in the writer's language."""
from __future__ import annotations

import pytest

from hub.extensions import db
from hub.models import Comment
from hub.services import discussion
from tests.forms import form_fields
from tests.functional.test_moderation_conflicts import browser, page_text, people, published, redaction_form  # noqa: F401

TEXT = "Ask Lin Fang at the back gate on Tuesdays."
CUT = "Ask someone at the back gate on Tuesdays."
CHANGED = {"en": "Your comment changed while you were editing it",
           "zh_Hans": "你编辑期间这条评论被改动过"}


def _opened_then_cut(app, people, lang: str):
    """The writer opens the edit form of their published comment; a moderator then cuts the name out of it."""
    note = published(people["author"], people["moderator"])
    comment = discussion.add_comment(note, by=people["member"], body=TEXT)
    db.session.commit()
    writer, moderator = browser(app, people["member"]), browser(app, people["moderator"])
    url = f"/notes/{note.id}/comments/{comment.id}/edit?lang={lang}"
    stale = dict(form_fields(writer.get(url).get_data(as_text=True), ""))
    assert moderator.post(f"/moderation/comments/{comment.id}/redact",
                          data=redaction_form(moderator, comment, CUT)).status_code == 302
    return note, comment, writer, url, stale


def _saved(comment: Comment) -> str:
    db.session.expire_all()
    return db.session.get(Comment, comment.id).body


@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
def test_an_edit_form_opened_before_a_moderators_cut_saves_nothing_and_shows_the_comment_as_it_is(app, people, lang):
    note, comment, writer, url, stale = _opened_then_cut(app, people, lang)
    answer = writer.post(url, data={**stale, "body": TEXT.replace("Tuesdays", "Tuesday")})  # a typo fixed
    page = page_text(answer)
    assert answer.status_code == 422 and CHANGED[lang] in page
    assert _saved(comment) == CUT and "Lin Fang" not in page_text(writer.get(f"/notes/{note.id}"))
    again = dict(form_fields(answer.get_data(as_text=True), ""))
    assert again["body"].strip() == CUT and "Lin Fang" not in page  # the form holds the comment as it is now
    # Made again on the text as it is now, the change is saved.
    assert writer.post(url, data={**again, "body": CUT.replace("Tuesdays", "Tuesday")}).status_code == 302
    assert _saved(comment) == CUT.replace("Tuesdays", "Tuesday")


def test_confirming_the_privacy_check_of_a_stale_edit_saves_nothing_either(app, people):
    """The check page (a phone number found) carries the version the edit started from to the confirmation."""
    _note, comment, writer, url, stale = _opened_then_cut(app, people, "en")
    body = TEXT + " Or call 13912345678."
    check = writer.post(url, data={**stale, "body": body})
    assert check.status_code == 422 and "13912345678" in page_text(check)
    confirmed = {**dict(form_fields(check.get_data(as_text=True), url)), "confirm_privacy": "y"}
    assert confirmed["version"] == stale["version"]
    answer = writer.post(url, data=confirmed)
    assert answer.status_code == 422 and CHANGED["en"] in page_text(answer)
    assert _saved(comment) == CUT


def test_an_edit_form_opened_after_the_cut_saves_as_before(app, people):
    note = published(people["author"], people["moderator"])
    comment = discussion.add_comment(note, by=people["member"], body=TEXT)
    db.session.commit()
    writer = browser(app, people["member"])
    url = f"/notes/{note.id}/comments/{comment.id}/edit"
    fields = dict(form_fields(writer.get(url).get_data(as_text=True), ""))
    assert writer.post(url, data={**fields, "body": "Ask at the back gate."}).status_code == 302
    assert writer.post(url, data={**fields, "body": "Ask at the back gate."}).status_code == 302  # a double tap
    assert _saved(comment) == "Ask at the back gate."
