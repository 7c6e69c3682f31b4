"""After a comment changes (its writer's edit, a moderator's redaction), no copy of it that a partner hub can
still get carries the earlier text: not a delivery waiting, not one dead-lettered for an admin to send again,
whatever became of the hub (blocked since) or of the note (taken down since)."""
from __future__ import annotations

import json

import sqlalchemy as sa

from hub.extensions import db
from hub.federation import peers
from hub.models.federation import Delivery
from hub.services import discussion, notes
from tests.federation.test_conversation_inbox import _consume, _send_all
from tests.helpers import csrf_token, login, post_form

EARLIER, NOW = "Ask for Fang at the back gate on Fridays.", "Ask at the front desk."


def _browser(app, user):
    browser = app.test_client()
    assert login(browser, user.username).status_code == 302
    return browser


def _every_delivery() -> str:
    """Every activity this hub holds for partner hubs, whatever its state, as text."""
    return "\n".join(json.dumps(d.activity, ensure_ascii=False) for d in db.session.scalars(sa.select(Delivery)))


def _admin_presses(app, admin, url: str) -> None:
    browser = _browser(app, admin)
    page = url.rsplit("/", 1)[0] if url.endswith(("/unblock", "/retry")) else url
    assert browser.post(url, data={"csrf_token": csrf_token(browser, page)}).status_code == 302


def test_an_edit_leaves_no_earlier_version_for_a_hub_blocked_since_to_get_after_its_unblock(
        app, client, make_peer, publish, people, make_user, project):
    note = publish("public")
    reader = make_peer("reader.example", they_follow=True)
    blocked = make_peer("blocked.example", they_follow=True)
    _consume(app)
    _send_all()  # both hubs have the note
    writer = make_user("fang", pseudonym="阿芳", project=project)
    comment = discussion.add_comment(note, by=writer, body=EARLIER)
    _consume(app)  # its Announce waits for both hubs...
    peers.block(blocked.row, by=people["admin"])  # ...and the blocked one's is dead-lettered
    states = {d.inbox_url: d.state for d in db.session.scalars(sa.select(Delivery))
              if d.activity["type"] == "Announce"}
    assert states == {reader.base + "/inbox": "pending", blocked.base + "/inbox": "dead"}

    edited = post_form(_browser(app, writer), f"/notes/{note.id}/comments/{comment.id}/edit", {"body": NOW})
    assert edited.status_code == 302
    _consume(app)
    assert "Fang" not in _every_delivery()
    went = _send_all()
    # The block lifted, an admin sends the failed deliveries again: nothing of the earlier text goes.
    _admin_presses(app, people["admin"], f"/admin/partners/{blocked.row.id}/unblock")
    _admin_presses(app, people["admin"], f"/admin/partners/{blocked.row.id}/retry")
    went += _send_all()
    assert "Fang" not in json.dumps(went, ensure_ascii=False) + _every_delivery()
    assert [a["object"]["content"].strip() for a in went if a["type"] == "Announce"] == [f"<p>{NOW}</p>"]
    # What any hub or visitor reads of it now: the comment's document and the note's page.
    document = client.get(f"/ap/comments/{comment.id}", headers={"Accept": "application/activity+json"})
    assert document.status_code == 200 and NOW in document.get_data(as_text=True)
    assert document.headers["Cache-Control"] == "private, no-store"  # no shared cache keeps a version
    page = client.get(f"/notes/{note.id}").get_data(as_text=True)
    assert NOW in page and "Fang" not in page + document.get_data(as_text=True)


def test_a_redaction_of_a_comment_under_a_note_taken_down_since_leaves_no_earlier_version_waiting(
        app, client, make_peer, publish, people, make_user, project):
    note = publish("public")
    make_peer("reader.example", they_follow=True)
    _consume(app)
    _send_all()
    writer = make_user("fang", pseudonym="阿芳", project=project)
    comment = discussion.add_comment(note, by=writer, body=EARLIER)
    _consume(app)  # its Announce waits (the reader hub is down, say)
    moderator = people["moderator"]
    notes.unpublish(note, by=moderator, reason="Checking a detail.")
    _consume(app)
    page = f"/moderation/comments/{comment.id}/redact"
    answer = post_form(_browser(app, moderator), page, {"body": "Ask for [name removed] at the back gate on Fridays."})
    assert answer.status_code == 302
    _consume(app)
    went = _send_all()
    assert "Fang" not in json.dumps(went, ensure_ascii=False) + _every_delivery()
