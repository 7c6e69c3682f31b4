"""In allow-list mode nothing of ours goes to a hub off the list, not even to the origin of a note we have: our
members' comments on it and our translations of it (offered to the origin) stay here once that hub is no longer
a partner, whether it was taken off before they were written or while they waited (a restart in allow-list
mode with them still queued: tests.federation.test_allowlist_switch).

The origin is a fake hub on 127.0.0.1 (tests.federation.fixtures.DocumentServer) run against the real sender;
the test reads what it received.
"""
from __future__ import annotations

import sqlalchemy as sa

from hub.extensions import db
from hub.federation import delivery
from hub.models import Comment, Note
from hub.models.federation import Delivery
from hub.services import notes, translations
from tests.federation.test_conversation_inbox import _consume, _remote_note
from tests.federation.test_conversation_inbox import _take_off_the_allow_list as _take_off_the_list
from tests.helpers import approve_checked, login, post_form

SECRET = "Ask for Fang at the back gate"  # what our member wrote, for this hub and the note's partners only


def _origin(make_peer, server, **kwargs):
    """The hub a note came from, on 127.0.0.1 (trusted to publish, so its note is shown at once)."""
    return make_peer(server.base.removeprefix("http://"), scheme="http", trust="publish", **kwargs)


def _comment_on(app, note: Note, username: str) -> str:
    """Have ``username`` comment on ``note`` through the note page; return the page shown after it."""
    browser = app.test_client()
    assert login(browser, username).status_code == 302
    response = post_form(browser, f"/notes/{note.id}/comments?lang=en", {"body": f"{SECRET} on Fridays."},
                         form_url=f"/notes/{note.id}?lang=en", follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _translate(note: Note, people) -> Note:
    """Our member's published Chinese translation of ``note``."""
    draft = translations.start(note, by=people["author"], language="zh_Hans")
    data = notes.input_of(draft)
    data.title, data.summary, data.body = "伙伴笔记", "摘要。", "我们去找人。"
    notes.save(draft, by=people["author"], data=data)
    notes.submit(draft, by=people["author"], confirm_privacy=True)
    return approve_checked(draft, by=people["moderator"])


def _queued_for(origin) -> list[str]:
    """Return what waits for ``origin`` (or failed and may be sent again), not what is kept as a record only."""
    db.session.expire_all()
    return [d.activity["type"] for d in db.session.scalars(
        sa.select(Delivery).where(Delivery.peer_id == origin.row.id, Delivery.state.in_(("pending", "dead")))
        .order_by(Delivery.id))]


def test_a_comment_and_a_translation_on_a_note_of_a_hub_off_the_allow_list_stay_here(
        app, client, make_peer, peer_server, people):
    origin = _origin(make_peer, peer_server)
    note = _remote_note(app, client, origin)
    _take_off_the_list(app, people["admin"], origin)
    page = _comment_on(app, note, people["author"].username)
    assert "Comment posted." in page and SECRET in page  # it is here, for our members
    _translate(note, people)
    _consume(app)
    delivery.send_due(app, wait=True)
    assert peer_server.activities() == []
    assert _queued_for(origin) == []
    comment = db.session.scalar(sa.select(Comment).where(Comment.note_id == note.id))
    assert comment.state == "published" and comment.removed_at is None


def test_a_comment_and_a_translation_waiting_for_an_origin_taken_off_the_allow_list_do_not_go(
        app, client, make_peer, peer_server, people):
    origin = _origin(make_peer, peer_server)
    note = _remote_note(app, client, origin)
    _comment_on(app, note, people["author"].username)
    _translate(note, people)
    _consume(app)
    assert _queued_for(origin) == ["Create", "Offer"]  # while it was a partner; not sent yet
    _take_off_the_list(app, people["admin"], origin)
    delivery.send_due(app, wait=True)
    assert peer_server.activities() == []
    assert _queued_for(origin) == []
