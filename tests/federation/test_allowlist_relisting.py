"""A hub taken off the allow-list and put back on it: what waited for it while it was off.

- A moderator's cut of a comment written on that hub (the only version it takes, and it keeps what was cut out
  until it gets it) waits for it, and reaches it once it is listed again: once, the newest cut only, and never
  when the comment was removed meanwhile.
- Our members' marks and flags queued for it do not go once it is off the list; withdrawals (an Undo) still do.
- An Offer of our translation that may already be at that hub (its answer timed out) leaves a record when it is
  dropped, so that the translation's withdrawal still goes there when the translation is taken down.

Everything goes through the admin's partner page and the worker's consumers; what a hub gets is read from what
the sender would send (tests.federation.test_conversation_inbox._send_all) or from a fake hub on 127.0.0.1.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.federation import delivery
from hub.models.federation import Delivery
from hub.services import discussion, notes, screening
from hub.text import html_text
from tests.federation.test_allowlist_origins import _origin
from tests.federation.test_conversation_inbox import (_a_partners_comment_both_hubs_have, _consume, _remote_note,
                                                      _send_all)
from tests.federation.test_conversation_inbox import _take_off_the_allow_list as _take_off_the_list
from tests.federation.test_deliveries_follow_the_audience import _offered
from tests.federation.test_offered_translations_withdrawn import _got, _send, _times_out
from tests.helpers import login, post_form


def _put_back_on_the_list(admin, peer) -> None:
    """Put ``peer`` back on the allow-list through the admin's partner page."""
    from flask import current_app

    browser = current_app.test_client()
    assert login(browser, admin.username).status_code == 302
    url = f"/admin/partners/{peer.row.id}/allowlist/on"
    assert post_form(browser, url, {}, form_url=f"/admin/partners/{peer.row.id}").status_code == 302
    db.session.expire_all()


def _to(peer, went: list[dict]) -> list[tuple[str, str]]:
    """Return the activities among ``went`` addressed to ``peer``: type and the text of the comment they bring."""
    return [(a["type"], html_text(a["object"].get("content", "")) if isinstance(a.get("object"), dict) else "")
            for a in went if peer.actor_id in a.get("to", []) + a.get("cc", [])]


# --- a moderator's cut for the hub the comment was written on ------------------------------------

def test_a_cut_waiting_for_the_writers_hub_reaches_it_once_the_hub_is_back_on_the_allow_list(
        app, client, make_peer, publish, people):
    moderator, admin = people["moderator"], people["admin"]
    writer, _reader, comment = _a_partners_comment_both_hubs_have(app, client, make_peer, publish)
    marker = screening.marker(discussion.comment_language(comment))
    assert discussion.redact(comment, by=moderator, body="We post kits. Our van waits .") is discussion.Reach.MARKED
    _consume(app)  # the cut is queued for both hubs; the writer's hub is down
    _take_off_the_list(app, admin, writer)
    _consume(app)
    assert _to(writer, _send_all()) == []  # nothing goes to it while it is off
    # A second cut while it is off: the newest is the one it gets.
    assert discussion.redact(comment, by=moderator, body=f"We post . Our van waits {marker}.") \
        is discussion.Reach.MARKED
    _consume(app)
    assert _to(writer, _send_all()) == []

    _put_back_on_the_list(admin, writer)
    _consume(app)
    went = _to(writer, _send_all())
    newest = html_text(comment.body_html)
    assert marker in newest and "gate 7" not in newest
    assert went == [("Announce", newest)]  # once, the newest version only
    _put_back_on_the_list(admin, writer)  # listed again (already on it): nothing more
    _consume(app)
    assert _to(writer, _send_all()) == []


def _cut_while_off_the_list(app, client, make_peer, publish, people):
    """A moderator's cut of a comment written on a hub taken off the allow-list: held for it, nothing sent. Return
    the writer's hub and the comment."""
    writer, _reader, comment = _a_partners_comment_both_hubs_have(app, client, make_peer, publish)
    _take_off_the_list(app, people["admin"], writer)
    assert discussion.redact(comment, by=people["moderator"], body="We post kits. Our van waits .") \
        is discussion.Reach.MARKED
    _consume(app)
    assert [kind for kind, _text in _to(writer, _send_all())] == []
    return writer, comment


def test_a_cut_held_for_a_writers_hub_off_the_allow_list_goes_when_the_hub_restarts_in_open_mode(
        app, client, make_peer, publish, people):
    """In open mode every hub is in reach: what was held for hubs off the list goes (the worker's first send)."""
    writer, comment = _cut_while_off_the_list(app, client, make_peer, publish, people)
    app.config["FEDERATION_MODE"] = "open"  # read at start: the worker's first send after the restart
    app.extensions.pop(delivery.MODE_CHECKED_KEY, None)
    delivery.drop_for_mode(app)
    assert _to(writer, _send_all()) == [("Announce", html_text(comment.body_html))]


def test_a_cut_held_for_a_hub_listed_again_while_blocked_goes_once_it_is_unblocked(
        app, client, make_peer, publish, people):
    from hub.federation import peers

    admin = people["admin"]
    writer, comment = _cut_while_off_the_list(app, client, make_peer, publish, people)
    peers.block(writer.row, by=admin)
    _put_back_on_the_list(admin, writer)  # listed again, still blocked: nothing goes yet (but the block's Reject)
    _consume(app)
    assert [kind for kind, _text in _to(writer, _send_all()) if kind != "Reject"] == []
    peers.unblock(db.session.get(type(writer.row), writer.row.id), by=admin)
    _consume(app)
    went = _send_all()
    # The block ended its follow: once it follows again (and is accepted), it has the note and the cut.
    from hub.federation import inbox

    writer.post(client, writer.activity("Follow", "http://hub.test/actor"))
    inbox.process_pending(app)
    _consume(app)
    went += _send_all()
    assert ("Announce", html_text(comment.body_html)) in _to(writer, went)


def test_a_cut_for_a_writers_hub_off_the_allow_list_that_no_longer_follows_us_waits_for_it_too(
        app, client, make_peer, publish, people):
    """It has the note and the comment (it stopped following since): the moderator is told it gets the cut once
    listed again, and it does."""
    moderator, admin = people["moderator"], people["admin"]
    writer, _reader, comment = _a_partners_comment_both_hubs_have(app, client, make_peer, publish)
    _take_off_the_list(app, admin, writer)
    writer.row.they_follow = False
    db.session.commit()
    assert discussion.redact(comment, by=moderator, body="We post kits. Our van waits .") is discussion.Reach.MARKED
    _consume(app)
    assert _to(writer, _send_all()) == []
    _put_back_on_the_list(admin, writer)
    _consume(app)
    assert _to(writer, _send_all()) == [("Announce", html_text(comment.body_html))]


def test_a_cut_waiting_for_a_writers_hub_off_the_allow_list_does_not_go_once_the_comment_is_removed(
        app, client, make_peer, publish, people):
    moderator, admin = people["moderator"], people["admin"]
    writer, _reader, comment = _a_partners_comment_both_hubs_have(app, client, make_peer, publish)
    discussion.redact(comment, by=moderator, body="We post kits. Our van waits .")
    _consume(app)
    _take_off_the_list(app, admin, writer)
    discussion.remove_comment(comment, by=moderator)
    _consume(app)
    _put_back_on_the_list(admin, writer)
    _consume(app)
    went = _to(writer, _send_all())
    assert [kind for kind, _ in went] == ["Delete"]  # its removal only, never a version of its text


# --- our members' marks and flags ---------------------------------------------------------------

def test_marks_and_flags_queued_for_an_origin_taken_off_the_allow_list_do_not_go_but_an_undo_does(
        app, client, make_peer, peer_server, people):
    origin = _origin(make_peer, peer_server)
    note = _remote_note(app, client, origin)
    author, moderator = people["author"], people["moderator"]
    notes.toggle_mark(note, by=author, kind="useful")
    _send(app)
    assert [a["type"] for a in peer_server.activities()] == ["Like"]
    notes.toggle_mark(note, by=author, kind="useful")  # taken back: an Undo
    notes.toggle_mark(note, by=author, kind="tried")  # a new mark: a Like
    notes.flag(note, by=moderator, reason="wrong", detail="", confirm_privacy=True)
    _consume(app)  # queued while the origin was a partner; not sent yet
    _take_off_the_list(app, people["admin"], origin)
    delivery.send_due(app, wait=True)
    assert [a["type"] for a in peer_server.activities()] == ["Like", "Undo"]
    db.session.expire_all()
    assert [d.activity["type"] for d in db.session.scalars(
        sa.select(Delivery).where(Delivery.state.in_(("pending", "dead"))))] == []  # nor later, when listed again


# --- an Offer that may be at the origin ----------------------------------------------------------

def test_an_offer_that_timed_out_then_dropped_with_its_origin_off_the_list_is_still_withdrawn(
        app, client, make_peer, peer_server, people):
    translation = _offered(app, client, make_peer, peer_server, people, "我们去找人。")
    object_id = f"http://hub.test/ap/notes/{translation.id}"
    _times_out(app, peer_server)  # the origin has it, though we could not tell
    origin = db.session.get(Delivery, 1).peer
    browser = app.test_client()
    assert login(browser, people["admin"].username).status_code == 302
    assert post_form(browser, f"/admin/partners/{origin.id}/allowlist/off", {},
                     form_url=f"/admin/partners/{origin.id}").status_code == 302  # the dead Offer is dropped
    notes.unpublish(translation, by=people["moderator"], reason="Checking a detail.")
    _send(app)
    assert _got(peer_server) == [("Offer", object_id), ("Delete", object_id)]



# --- our follow of a hub taken off the list before it went ----------------------------------------

def test_our_follow_of_a_hub_taken_off_the_allow_list_waits_and_goes_once_it_is_back(
        app, client, login_as, people, peer_server, make_peer):
    from hub.models.federation import PeerHub
    from tests.federation.test_partners import PAGE, _serve_hub

    peer = _serve_hub(peer_server, make_peer)
    login_as(people["admin"])
    assert post_form(client, PAGE, {"address": peer.base, "follow": "1"}).status_code == 302  # a Follow queued
    row = db.session.scalar(sa.select(PeerHub))
    assert post_form(client, f"{PAGE}{row.id}/allowlist/off", {}, form_url=f"{PAGE}{row.id}").status_code == 302
    delivery.send_due(app, wait=True)
    assert peer_server.activities() == []
    for lang, said in (("en", "waits until the hub is back on the allow-list"),
                       ("zh_Hans", "等该平台重新加入允许名单后发送")):
        page = client.get(f"{PAGE}{row.id}?lang={lang}").get_data(as_text=True)
        assert said in page
    assert delivery.stats().get("dead", 0) == 0 and delivery.stats()["held"] == 1
    said = app.test_cli_runner().invoke(args=["hub", "federation-status"]).output
    assert "0 failed, 1 held for hubs off the allow-list." in said and "failed deliveries=0" in said
    assert post_form(client, f"{PAGE}{row.id}/allowlist/on", {}, form_url=f"{PAGE}{row.id}").status_code == 302
    delivery.send_due(app, wait=True)
    assert [(a["type"], a["id"]) for a in peer_server.activities()] == [("Follow", row.follow_activity_id)]


def _follow_held_off_the_list(app, client, login_as, people, peer_server, make_peer):
    """Our Follow of a hub (on 127.0.0.1), held because the hub was taken off the allow-list before it went."""
    from hub.models.federation import PeerHub
    from tests.federation.test_partners import PAGE, _serve_hub

    peer = _serve_hub(peer_server, make_peer)
    login_as(people["admin"])
    assert post_form(client, PAGE, {"address": peer.base, "follow": "1"}).status_code == 302
    row = db.session.scalar(sa.select(PeerHub))
    assert post_form(client, f"{PAGE}{row.id}/allowlist/off", {}, form_url=f"{PAGE}{row.id}").status_code == 302
    delivery.send_due(app, wait=True)
    assert peer_server.activities() == []
    return f"{PAGE}{row.id}", row.follow_activity_id


# The follow ended while it waited (an unfollow, a block, which told the hub so): the old Follow must never go
# after the Undo that ended it, or this hub would follow that one again unasked.
ENDINGS = {"unfollowed, then listed again": ("/unfollow", "/allowlist/on"),
           "blocked, listed again, unblocked": ("/block", "/allowlist/on", "/unblock"),
           "blocked, unblocked, listed again": ("/block", "/unblock", "/allowlist/on")}


@pytest.mark.parametrize("steps", list(ENDINGS))
def test_a_follow_ended_while_it_waited_for_the_allow_list_never_goes(
        app, client, login_as, people, peer_server, make_peer, steps):
    page, follow_id = _follow_held_off_the_list(app, client, login_as, people, peer_server, make_peer)
    for step in ENDINGS[steps]:
        assert post_form(client, page + step, {}, form_url=page).status_code == 302
        delivery.send_due(app, wait=True)
    went = [(a["type"], a["id"]) for a in peer_server.activities()]
    assert ("Follow", follow_id) not in went, went
