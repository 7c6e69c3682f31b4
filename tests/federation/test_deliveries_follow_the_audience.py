"""A delivery that waits (a hub down) or failed (dead-lettered for an admin to send again) goes only while what it
carries is still for that hub: a note narrowed or taken down since, a comment under it, a translation changed since
takes its waiting copies with it, and "send failed deliveries again" sends only what the hub may still read.

Each test runs the real sender against a hub on 127.0.0.1 (tests.federation.fixtures.DocumentServer) and reads
what that hub received.
"""
from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from hub.extensions import db
from hub.federation import delivery, peers
from hub.models.federation import Delivery
from hub.services import discussion, moderation, notes
from tests.federation.test_conversation_inbox import _consume, _remote_note
from tests.helpers import login, post_form

SECRET = "Ask for Fang at the back gate"  # what a comment said, that must not reach a hub no longer in the audience


def _follower(make_peer, server, **kwargs):
    return make_peer(server.base.removeprefix("http://"), scheme="http", they_follow=True, **kwargs)


def _received(server) -> str:
    return json.dumps(server.activities(), ensure_ascii=False)


def _types(server) -> list[str]:
    return [activity["type"] for activity in server.activities()]


def _states() -> list[tuple[str, str]]:
    return [(d.activity["type"], d.state) for d in db.session.scalars(sa.select(Delivery).order_by(Delivery.id))]


def _later(monkeypatch, seconds: int = 120) -> None:
    """Let every backoff run out (the sender reads the time through delivery.utcnow)."""
    at = delivery.utcnow() + dt.timedelta(seconds=seconds)
    monkeypatch.setattr(delivery, "utcnow", lambda: at)


def _commented(app, make_peer, peer_server, publish, make_user, project):
    """A public note the hub has, and a comment under it whose Announce has not reached the hub yet."""
    hub = _follower(make_peer, peer_server)
    hub.row.signature_scheme = "rfc9421"  # known: a failing hub is asked once per try
    note = publish("public")
    _consume(app)
    delivery.send_due(app, wait=True)
    assert _types(peer_server) == ["Create"]
    writer = make_user("fang", pseudonym="阿芳", project=project)
    comment = discussion.add_comment(note, by=writer, body=f"{SECRET} on Fridays.")
    _consume(app)
    return hub, note, comment


def _admin_retries(app, admin) -> None:
    browser = app.test_client()
    assert login(browser, admin.username).status_code == 302
    assert post_form(browser, "/admin/partners/retry", {}, form_url="/admin/partners/").status_code == 302


def test_a_failed_comment_is_not_sent_again_once_its_note_is_for_members_only(
        app, make_peer, peer_server, publish, people, make_user, project):
    _hub, note, _comment = _commented(app, make_peer, peer_server, publish, make_user, project)
    peer_server.status["post"] = 400
    delivery.send_due(app, wait=True)  # refused for good: dead-lettered
    assert _states()[-1] == ("Announce", "dead")
    notes.narrow_visibility(note, by=people["moderator"], visibility="members")
    _consume(app)
    peer_server.status["post"] = 202
    delivery.send_due(app, wait=True)  # the hub is told to delete the note
    _admin_retries(app, people["admin"])
    delivery.send_due(app, wait=True)
    assert _types(peer_server) == ["Create", "Announce", "Delete"]  # the refused try, then only the Delete
    assert ("Announce", "dead") not in _states() and ("Announce", "pending") not in _states()


def test_a_comment_waiting_for_a_hub_that_was_down_does_not_go_once_its_note_is_taken_down(
        app, make_peer, peer_server, publish, people, make_user, project, monkeypatch):
    app.config["FEDERATION_RETRY_BASE_SECONDS"] = 60  # longer than the steps below take on a busy machine
    _hub, note, _comment = _commented(app, make_peer, peer_server, publish, make_user, project)
    peer_server.status["post"] = 503
    delivery.send_due(app, wait=True)  # the hub is down: the Announce waits
    notes.unpublish(note, by=people["moderator"], reason="Checking a detail.")
    _consume(app)
    peer_server.status["post"] = 202
    _later(monkeypatch)
    delivery.send_due(app, wait=True)
    assert _types(peer_server) == ["Create", "Announce", "Delete"]
    assert _states() == [("Create", "sent"), ("Delete", "sent")]


def test_a_comment_waiting_for_a_hub_taken_off_the_allow_list_does_not_go(
        app, make_peer, peer_server, publish, people, make_user, project, monkeypatch):
    app.config["FEDERATION_RETRY_BASE_SECONDS"] = 60
    hub = _follower(make_peer, peer_server)
    hub.row.signature_scheme = "rfc9421"
    note = publish("partners")
    _consume(app)
    delivery.send_due(app, wait=True)
    comment = discussion.add_comment(note, by=make_user("fang", pseudonym="阿芳", project=project),
                                     body=f"{SECRET} on Fridays.")
    _consume(app)
    peer_server.status["post"] = 503
    delivery.send_due(app, wait=True)
    peers.set_partner(hub.row, False, by=people["admin"])  # partners notes are no longer for it
    _consume(app)
    peer_server.status["post"] = 202
    _later(monkeypatch)
    delivery.send_due(app, wait=True)
    assert _types(peer_server) == ["Create", "Announce", "Delete"]  # the refused try, then only the Delete
    assert comment.id and _states() == [("Create", "sent"), ("Delete", "sent")]


def test_after_an_unblock_a_retry_sends_nothing_of_a_note_narrowed_while_the_hub_was_blocked(
        app, make_peer, peer_server, publish, people, make_user, project):
    hub, note, _comment = _commented(app, make_peer, peer_server, publish, make_user, project)
    notes.toggle_mark(note, by=people["moderator"], kind="useful")  # an Update with the new totals waits too
    _consume(app)
    peers.block(hub.row, by=people["admin"])  # what waited for it is dead-lettered
    assert {kind for kind, state in _states() if state == "dead"} == {"Announce", "Update"}
    notes.narrow_visibility(note, by=people["moderator"], visibility="members")
    _consume(app)
    peers.unblock(hub.row, by=people["admin"])
    hub.row.they_follow = True  # it followed again, and was accepted
    db.session.commit()
    _admin_retries(app, people["admin"])
    delivery.send_due(app, wait=True)
    went = [a["type"] for a in peer_server.activities()]
    assert went[0] == "Create" and "Announce" not in went and "Update" not in went
    assert SECRET not in _received(peer_server)
    assert not [row for row in _states() if row[1] in ("dead", "pending")]


def test_a_retry_still_sends_a_failed_comment_whose_note_the_hub_may_still_read(
        app, make_peer, peer_server, publish, people, make_user, project):
    _hub, _note, _comment = _commented(app, make_peer, peer_server, publish, make_user, project)
    peer_server.status["post"] = 400
    delivery.send_due(app, wait=True)
    peer_server.status["post"] = 202
    _admin_retries(app, people["admin"])
    delivery.send_due(app, wait=True)
    assert _types(peer_server) == ["Create", "Announce", "Announce"]
    assert _states() == [("Create", "sent"), ("Announce", "sent")]


def _offered(app, client, make_peer, peer_server, people, body: str):
    """Our member's translation of a partner's note, published here (personal data ticked as checked) and
    queued as an Offer to the note's origin (the hub on 127.0.0.1)."""
    from hub.services import screening, translations

    app.config["FEDERATION_RETRY_BASE_SECONDS"] = 60  # longer than the steps below take on a busy machine
    origin = make_peer(peer_server.base.removeprefix("http://"), scheme="http", trust="publish")
    origin.row.signature_scheme = "rfc9421"
    draft = translations.start(_remote_note(app, client, origin), by=people["author"], language="zh_Hans")
    data = notes.input_of(draft)
    data.title, data.summary, data.body = "伙伴笔记", "摘要。", body
    notes.save(draft, by=people["author"], data=data)
    notes.submit(draft, by=people["author"], confirm_privacy=True)
    _fields, found = notes.privacy_findings(draft)
    notes.approve(draft, by=people["moderator"], checked=[screening.key(f) for f in found])
    _consume(app)
    return draft


def test_only_the_latest_version_of_our_translation_is_offered_to_the_origin(
        app, client, make_peer, peer_server, people, monkeypatch):
    draft = _offered(app, client, make_peer, peer_server, people, "找王小明拿针具，电话 13812345678。")
    peer_server.status["post"] = 503
    delivery.send_due(app, wait=True)  # the origin is down: the Offer waits
    moderation.redact_note(draft, by=people["moderator"],
                           fields={"title": "伙伴笔记", "summary": "摘要。", "body": "找中心拿针具。"})
    _consume(app)
    peer_server.status["post"] = 202
    _later(monkeypatch)
    delivery.send_due(app, wait=True)
    refused, *offered = peer_server.activities()
    assert refused["type"] == "Offer" and "13812345678" in json.dumps(refused)
    assert [a["type"] for a in offered] == ["Offer"]
    assert "13812345678" not in json.dumps(offered) and "王小明" not in json.dumps(offered, ensure_ascii=False)


def test_a_translation_taken_down_before_the_origin_got_it_is_not_offered(app, client, make_peer, peer_server,
                                                                          people):
    draft = _offered(app, client, make_peer, peer_server, people, "我们去找人。")
    peer_server.status["post"] = 400
    delivery.send_due(app, wait=True)  # refused: dead-lettered
    notes.unpublish(draft, by=people["moderator"], reason="Checking a detail.")
    _consume(app)
    peer_server.status["post"] = 202
    assert delivery.retry_dead() == 0
    db.session.commit()
    delivery.send_due(app, wait=True)
    assert _types(peer_server) == ["Offer"]  # only the refused try
