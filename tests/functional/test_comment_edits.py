"""A member edits their own comment: the new text only, marked "edited", after the same privacy check as a new one."""
from __future__ import annotations

import html
import re

import sqlalchemy as sa

from hub.extensions import db
from hub.models import Comment
from hub.models.events import Event
from hub.services import discussion, screening
from tests.functional.test_form_fuzz import published_note as published
from tests.functional.test_forms_sent_back import browser_of
from tests.helpers import count, csrf_token, post_form

PHONE = "138 1234 5678"


def _edit_url(note_id: int, comment_id: int) -> str:
    return f"/notes/{note_id}/comments/{comment_id}/edit"


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _events(kind: str, comment_id: int) -> int:
    return count(Event, Event.kind == kind, Event.subject_id == comment_id)


def _database_dump() -> str:
    """Return every row of the (SQLite) test database as SQL text: what anyone with the database could read."""
    return "\n".join(db.session.connection().connection.driver_connection.iterdump())


def test_a_member_edits_their_comment_and_a_regretted_phone_number_is_gone_for_good(app, contributor, moderator,
                                                                                     member, make_user):
    note = published(contributor, moderator)
    writer, reader = browser_of(app, member), browser_of(app, make_user("reader"))
    # Posted with a phone number, confirmed, checked by a moderator and shown: then regretted.
    post_form(writer, f"/notes/{note.id}/comments", {"body": f"Call me on {PHONE}.", "confirm_privacy": "y"},
              form_url=f"/notes/{note.id}")
    comment = db.session.scalar(sa.select(Comment))
    discussion.release(comment, by=moderator, checked=[screening.key(f) for f in discussion.findings(comment)])
    assert PHONE in _text(reader.get(f"/notes/{note.id}"))
    page = _text(writer.get(f"/notes/{note.id}"))
    assert f'href="{_edit_url(note.id, comment.id)}"' in page
    assert f'href="{_edit_url(note.id, comment.id)}"' not in _text(reader.get(f"/notes/{note.id}"))

    form = writer.get(_edit_url(note.id, comment.id))
    assert form.status_code == 200 and f"Call me on {PHONE}." in _text(form) and 'name="csrf_token"' in _text(form)
    response = post_form(writer, _edit_url(note.id, comment.id), {"body": "Ask the centre for my number."})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/notes/{note.id}#comment-{comment.id}"

    db.session.expire_all()
    comment = db.session.get(Comment, comment.id)
    assert comment.body == "Ask the centre for my number." and comment.state == "published"
    assert comment.edited_at is not None and _events("comment.updated", comment.id) == 1
    shown = _text(reader.get(f"/notes/{note.id}"))
    assert "Ask the centre for my number." in shown and PHONE not in shown
    assert re.search(r'class="edited">edited <time datetime="[0-9T:.-]+Z">', shown)
    assert "修改于 <time" in _text(reader.get(f"/notes/{note.id}?lang=zh_Hans"))
    assert "Readers see the new text, marked as edited." in _text(writer.get(f"/notes/{note.id}"))
    # No earlier version is kept anywhere: not in a revision, an audit entry, an event or a delivery.
    assert PHONE not in _database_dump() and "Call me on" not in _database_dump()


def test_an_edit_with_personal_data_asks_first_then_waits_for_a_moderator(app, contributor, moderator, member,
                                                                          make_user):
    note = published(contributor, moderator)
    comment = discussion.add_comment(note, by=member, body="We did this too.")
    writer, reader = browser_of(app, member), browser_of(app, make_user("reader"))
    url = _edit_url(note.id, comment.id)
    warned = post_form(writer, url, {"body": f"We did this too. Call {PHONE}."})
    assert warned.status_code == 422
    page = _text(warned)
    assert "This comment may contain personal data" in page and f'action="{url}"' in page
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).body == "We did this too."  # nothing saved before the confirmation
    confirmed = post_form(writer, url, {"body": f"We did this too. Call {PHONE}.", "confirm_privacy": "y",
                                        "privacy_check": "1"})
    assert confirmed.status_code == 302
    db.session.expire_all()
    comment = db.session.get(Comment, comment.id)
    assert comment.state == "held" and PHONE in comment.body
    assert _events("comment.removed", comment.id) == 1 and _events("comment.updated", comment.id) == 0
    assert "We did this too" not in _text(reader.get(f"/notes/{note.id}"))  # withdrawn from readers
    assert "waits for a moderator because it may contain personal data" in _text(writer.get(f"/notes/{note.id}"))
    assert comment in discussion.held()


def test_a_held_comment_edited_by_its_writer_stays_held(app, contributor, moderator, member, make_user):
    note = published(contributor, moderator)
    comment = discussion.add_comment(note, by=member, body=f"Call {PHONE}.", confirm_privacy=True)
    assert comment.state == "held"
    writer = browser_of(app, member)
    assert f'href="{_edit_url(note.id, comment.id)}"' in _text(writer.get(f"/notes/{note.id}"))
    response = post_form(writer, _edit_url(note.id, comment.id), {"body": "Ask the centre for the kits."})
    assert response.status_code == 302
    db.session.expire_all()
    comment = db.session.get(Comment, comment.id)
    assert comment.state == "held" and comment.body == "Ask the centre for the kits."
    assert _events("comment.updated", comment.id) == _events("comment.added", comment.id) == 0
    assert "Ask the centre" not in _text(browser_of(app, make_user("reader")).get(f"/notes/{note.id}"))
    assert "Your comment still waits for a moderator" in _text(writer.get(f"/notes/{note.id}"))


def test_an_empty_edit_says_what_to_write_and_changes_nothing(app, contributor, moderator, member):
    note = published(contributor, moderator)
    comment = discussion.add_comment(note, by=member, body="We did this too.")
    writer = browser_of(app, member)
    for body in ("", "   \r\n  ", "\u200b"):
        response = post_form(writer, _edit_url(note.id, comment.id), {"body": body})
        assert response.status_code == 422, body
        page = _text(response)
        assert "Please correct the marked fields." in page and 'aria-invalid="true"' in page
    chinese = post_form(writer, _edit_url(note.id, comment.id) + "?lang=zh_Hans", {"body": "\u200b"})
    assert "请先写点内容。" in _text(chinese)
    db.session.expire_all()
    comment = db.session.get(Comment, comment.id)
    assert comment.body == "We did this too." and comment.edited_at is None


def test_a_removed_comment_cannot_be_edited_and_its_writer_is_told_why(app, contributor, moderator, member):
    note = published(contributor, moderator)
    comment = discussion.add_comment(note, by=member, body="We did this too.")
    writer = browser_of(app, member)
    token = csrf_token(writer, _edit_url(note.id, comment.id))  # the form is open...
    discussion.remove_comment(comment, by=moderator)  # ...when a moderator removes the comment
    for response in (writer.post(_edit_url(note.id, comment.id), data={"csrf_token": token, "body": "Changed."}),
                     writer.get(_edit_url(note.id, comment.id))):
        assert response.status_code == 302 and response.headers["Location"] == f"/notes/{note.id}"
    assert "This comment was removed, so it can no longer be edited." in _text(writer.get(f"/notes/{note.id}"))
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).body == "We did this too."


def test_only_its_writer_may_edit_a_comment(app, client, contributor, moderator, member, fred):
    note = published(contributor, moderator)
    shown = discussion.add_comment(note, by=member, body="We did this too.")
    held = discussion.add_comment(note, by=member, body=f"Call {PHONE}.", confirm_privacy=True)
    other = published(contributor, moderator, title="Another note")
    for who, expected in ((fred, 403), (moderator, 403), (contributor, 403)):
        browser = browser_of(app, who)
        assert browser.get(_edit_url(note.id, shown.id)).status_code == expected
        token = csrf_token(browser, f"/notes/{note.id}")
        assert browser.post(_edit_url(note.id, shown.id), data={"csrf_token": token, "body": "Mine now."}
                            ).status_code == expected
        assert browser.get(_edit_url(note.id, held.id)).status_code == 404  # they do not even see it
        assert f'href="{_edit_url(note.id, shown.id)}"' not in _text(browser.get(f"/notes/{note.id}"))
    writer = browser_of(app, member)
    assert writer.get(_edit_url(other.id, shown.id)).status_code == 404  # under another note
    assert writer.get(_edit_url(note.id, 999)).status_code == 404
    assert client.get(_edit_url(note.id, shown.id)).status_code == 302  # signed out: to the log-in page
    no_token = writer.post(_edit_url(note.id, shown.id), data={"body": "Without the form's token."})
    assert no_token.status_code == 400
    db.session.expire_all()
    assert db.session.get(Comment, shown.id).body == "We did this too."


def test_an_edit_sent_twice_is_saved_and_announced_once(app, contributor, moderator, member):
    note = published(contributor, moderator)
    comment = discussion.add_comment(note, by=member, body="We did this too.")
    writer = browser_of(app, member)
    token = csrf_token(writer, _edit_url(note.id, comment.id))
    answers = [writer.post(_edit_url(note.id, comment.id), data={"csrf_token": token, "body": "We did it twice."})
               for _ in range(2)]
    assert [a.status_code for a in answers] == [302, 302]
    assert answers[0].headers["Location"] == answers[1].headers["Location"]
    db.session.expire_all()
    first_edit = db.session.get(Comment, comment.id).edited_at
    assert _events("comment.updated", comment.id) == 1 and first_edit is not None
    assert count(Comment) == 1
