"""The "Partner hubs" admin page and the services behind it: follow, trust, block, retry, backfill."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from hub.extensions import db
from hub.federation import inbox, peers
from hub.models.audit import AuditEntry
from hub.models.events import Event
from hub.models.federation import Delivery, InboxItem, NoteReceipt, PeerHub
from hub.models.note import Note
from hub.services import notes
from tests.federation.fixtures import PUBLIC
from tests.helpers import count, post_form

PAGE = "/admin/partners/"


def _serve_hub(peer_server, make_peer):
    """Make the fake peer a discoverable hub: WebFinger and actor."""
    host = peer_server.base.removeprefix("http://")
    peer = make_peer(host, scheme="http", register=False)
    peer_server.serve_actor(peer)
    peer_server.documents[f"/.well-known/webfinger?resource=acct:hub@{host}"] = {
        "subject": f"acct:hub@{host}", "links": [{"rel": "self", "type": "application/activity+json",
                                                  "href": peer.actor_id}]}
    return peer


def _actions(action: str) -> int:
    return count(AuditEntry, AuditEntry.action == action)


def test_only_admins_see_the_partner_hubs_page(client, login_as, people):
    login_as(people["moderator"])
    assert client.get(PAGE).status_code == 403


def test_admin_follows_a_hub_by_its_address(client, login_as, people, peer_server, make_peer):
    peer = _serve_hub(peer_server, make_peer)
    login_as(people["admin"])
    page = client.get(PAGE).get_data(as_text=True)
    assert "Partner hubs" in page and 'name="address"' in page
    response = post_form(client, PAGE, {"address": peer.base, "follow": "1"})
    assert response.status_code == 302
    row = db.session.scalar(sa.select(PeerHub))
    assert row.actor_id == peer.actor_id and row.we_follow == "pending" and row.partner
    assert row.inbox_url == peer.base + "/inbox" and row.public_key_pem.startswith("-----BEGIN PUBLIC KEY")
    follow = db.session.scalar(sa.select(Delivery))
    assert follow.activity["type"] == "Follow" and follow.activity["object"] == peer.actor_id
    assert follow.activity["id"] == row.follow_activity_id
    assert _actions("partner.follow") == 1
    detail = client.get(f"{PAGE}{row.id}").get_data(as_text=True)
    assert "follow request pending" in detail


def test_a_wrong_address_is_explained_and_changes_nothing(client, login_as, people, peer_server):
    login_as(people["admin"])
    response = post_form(client, PAGE, {"address": peer_server.base + "/nothing-here", "follow": "1"})
    assert response.status_code == 200
    assert "No hub was found at this address" in response.get_data(as_text=True)
    assert count(PeerHub) == 0 and count(Delivery) == 0


def test_the_hub_itself_cannot_be_followed(app, people, monkeypatch):
    from hub.federation import client as fed_client
    from hub.services.errors import ServiceError
    import pytest

    monkeypatch.setattr(fed_client, "discover", lambda address: fed_client.RemoteActor(
        "http://hub.test/actor", "http://hub.test", "me", "http://hub.test/actor/inbox", "", "", "k", "pem"))
    with pytest.raises(ServiceError):
        peers.follow("http://hub.test", by=people["admin"])


def test_allow_listing_without_following(people, peer_server, make_peer):
    peer = _serve_hub(peer_server, make_peer)
    row = peers.allow(peer.base, by=people["admin"])
    assert row.partner and row.we_follow == "none" and count(Delivery) == 0
    assert _actions("partner.allow") == 1


def test_admin_sets_trust(client, login_as, people, make_peer):
    peer = make_peer()
    login_as(people["admin"])
    post_form(client, f"{PAGE}{peer.row.id}/trust", {"trust": "publish"}, form_url=f"{PAGE}{peer.row.id}")
    db.session.refresh(peer.row)
    assert peer.row.trust == "publish" and _actions("partner.trust") == 1


def _remote_note(peer, state="published", number=1):
    note = Note(origin_peer_id=peer.row.id, remote_id=f"{peer.base}/ap/notes/{number}", state=state,
                visibility="public", title=f"remote {number}", published_at=dt.datetime(2026, 1, 1))
    db.session.add(note)
    db.session.commit()
    return note


def test_blocking_hides_the_hubs_notes_and_unblocking_brings_them_back(client, login_as, people, make_peer):
    peer = make_peer(they_follow=True)
    shown = _remote_note(peer)
    login_as(people["admin"])
    post_form(client, f"{PAGE}{peer.row.id}/block", {}, form_url=f"{PAGE}{peer.row.id}")
    db.session.refresh(peer.row)
    db.session.refresh(shown)
    assert peer.row.blocked and not peer.row.they_follow and shown.state == "unpublished"
    assert db.session.scalar(sa.select(Event.kind).where(Event.subject_id == shown.id)) == "note.unpublished"
    assert _actions("partner.block") == 1
    post_form(client, f"{PAGE}{peer.row.id}/unblock", {}, form_url=f"{PAGE}{peer.row.id}")
    db.session.refresh(shown)
    assert shown.state == "published" and _actions("partner.unblock") == 1


def test_unblocking_leaves_notes_a_moderator_took_down(people, make_peer):
    peer = make_peer()
    note = _remote_note(peer)
    notes.unpublish(note, by=people["moderator"], reason="harmful")
    peers.block(peer.row, by=people["admin"])
    peers.unblock(peer.row, by=people["admin"])
    assert note.state == "unpublished"


def test_taking_a_hub_off_the_allow_list_deletes_its_partners_notes(app, people, make_peer, publish):
    peer = make_peer(they_follow=True)
    public, partners = publish("public"), publish("partners")
    from hub import events
    from hub.federation import delivery

    delivery.FederationConsumer().apply(events.after(0))
    assert count(NoteReceipt) == 2
    peers.set_partner(peer.row, False, by=people["admin"])
    deletes = [d for d in db.session.scalars(sa.select(Delivery)) if d.activity["type"] == "Delete"]
    assert [d.activity["object"]["id"].rsplit("/", 1)[1] for d in deletes] == [str(partners.id)]
    assert count(NoteReceipt) == 1 and _actions("partner.unlist") == 1
    assert public  # the public note stays with them


def test_admin_retries_dead_letters(client, login_as, people, make_peer):
    peer = make_peer()
    db.session.add(Delivery(peer_id=peer.row.id, inbox_url=peer.base + "/inbox", activity_id="x",
                            activity={"type": "Create", "id": "x"}, state="dead", attempts=10, last_error="HTTP 500"))
    db.session.commit()
    login_as(people["admin"])
    assert "HTTP 500" in client.get(f"{PAGE}{peer.row.id}").get_data(as_text=True)
    post_form(client, f"{PAGE}{peer.row.id}/retry", {}, form_url=f"{PAGE}{peer.row.id}")
    row = db.session.scalar(sa.select(Delivery))
    assert row.state == "pending" and row.attempts == 0 and _actions("partner.retry") == 1


def test_admin_accepts_a_held_follow_request(app, client, login_as, people, make_peer):
    app.config.update(FEDERATION_MODE="open", FEDERATION_OPEN_FOLLOWS="hold")
    peer = make_peer(partner=False)
    peer.post(client, peer.activity("Follow", "http://hub.test/actor"))
    inbox.process_pending(app)
    login_as(people["admin"])
    assert "asks to follow us" in client.get(f"{PAGE}{peer.row.id}").get_data(as_text=True)
    post_form(client, f"{PAGE}{peer.row.id}/follow-requests/accept", {}, form_url=f"{PAGE}{peer.row.id}")
    db.session.refresh(peer.row)
    assert peer.row.they_follow
    assert db.session.scalar(sa.select(Delivery)).activity["type"] == "Accept"
    assert db.session.scalar(sa.select(InboxItem.state)) == "done"


def test_backfill_reads_the_outbox_and_skips_what_is_known(app, people, peer_server, make_peer):
    host = peer_server.base.removeprefix("http://")
    peer = make_peer(host, scheme="http", we_follow="accepted", trust="publish")
    articles = [peer.article(n, to=[PUBLIC]) for n in (3, 2, 1)]
    peer_server.documents["/outbox"] = {"type": "OrderedCollection", "totalItems": 3, "first": peer.base + "/outbox?page=1"}
    peer_server.documents["/outbox?page=1"] = {
        "type": "OrderedCollectionPage", "next": peer.base + "/outbox?page=2",
        "orderedItems": [{"type": "Create", "id": a["id"] + "/activity", "actor": peer.actor_id, "object": a}
                         for a in articles[:2]]}
    peer_server.documents["/outbox?page=2"] = {
        "type": "OrderedCollectionPage",
        "orderedItems": [{"type": "Create", "id": articles[2]["id"] + "/activity", "actor": peer.actor_id,
                          "object": articles[2]},
                         {"type": "Create", "actor": "https://elsewhere.example/actor",
                          "object": {**articles[2], "id": "https://elsewhere.example/n/9"}}]}
    assert peers.backfill(peer.row) == 3
    assert count(Note, Note.state == "published") == 3 and peer.row.last_backfill_at is not None
    assert peers.backfill(peer.row) == 0
    assert count(Note) == 3


def test_due_backfills_run_in_the_background(app, people, peer_server, make_peer):
    host = peer_server.base.removeprefix("http://")
    peer = make_peer(host, scheme="http", we_follow="accepted", trust="publish")
    peer_server.documents["/outbox"] = {"type": "OrderedCollection", "orderedItems": [
        {"type": "Create", "actor": peer.actor_id, "object": peer.article(1)}]}
    assert peers.due_for_backfill() == [peer.row]
    peers.backfill_due(app)
    app.extensions[peers.BACKFILL_KEY]["future"].result(timeout=10)
    assert count(Note, Note.state == "published") == 1
    assert peers.due_for_backfill() == []
