"""A partner's Delete of its own note always removes it here, whatever the dates say; a deleted note comes back
only through a version dated after the partner's latest Delete of it.

Dates from another hub cannot be trusted to order a Delete before a version: an Article's ``updated`` and an
activity's ``published`` are stamped at different moments, maybe on different machines (this hub's own sender
stamps an Update's Article when it queues it), and a hub that dates nothing leaves only our clock to compare with.
What the origin withdrew must never stay because of them (hub.federation.remote_notes.delete). The other side:
this hub dates its own Deletes no earlier than the note's last change (hub.federation.delivery.queue_delete), so
that no version it sent before brings a note back at a partner.
"""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from hub import worker
from hub.extensions import db
from hub.federation import activities
from hub.models import Note
from hub.models.federation import Delivery
from hub.services import notes
from tests.federation.test_conversation_inbox import _consume, _send_all

FIRST, DELETED, AGAIN, LATER = ("2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z", "2026-02-03T00:00:00Z",
                                "2026-02-04T00:00:00Z")
WORDS = "We met people where they are."


def _take(app, client, peer, activity) -> None:
    """The partner sends ``activity`` to our inbox, and our worker applies it."""
    assert peer.post(client, activity).status_code == 202
    worker.run_once(app)
    db.session.expire_all()


def _delete(peer, **dated) -> dict:
    return peer.activity("Delete", {"id": peer.article()["id"], "type": "Tombstone", "formerType": "Article"},
                         **dated)


def _note(peer) -> Note:
    return db.session.scalar(sa.select(Note).where(Note.remote_id == peer.article()["id"]))


def _page(app, note: Note) -> str:
    answer = app.test_client().get(f"/notes/{note.id}?lang=en", follow_redirects=True)
    return answer.get_data(as_text=True) if answer.status_code == 200 else ""


# How the partner shares its note again after a Delete: published again unchanged, or a new version.
SHARED_AGAIN = {
    "a Create of the same version": lambda peer: peer.activity(
        "Create", peer.article(updated=FIRST), published=AGAIN),
    "an Update of a newer version": lambda peer: peer.activity("Update", peer.article(updated=AGAIN)),
}


@pytest.mark.parametrize("how", list(SHARED_AGAIN))
def test_a_later_delete_is_not_undone_by_a_replay_of_the_version_shared_before_it(app, client, make_peer, how):
    peer = make_peer(trust="publish")
    _take(app, client, peer, peer.activity("Create", peer.article(published=FIRST, updated=FIRST), published=FIRST))
    _take(app, client, peer, SHARED_AGAIN[how](peer))
    _take(app, client, peer, _delete(peer, published=DELETED))  # late, but a Delete: it removes the note
    assert _note(peer).state == "deleted"
    _take(app, client, peer, _delete(peer, published=LATER))  # deleted again after sharing it again
    _take(app, client, peer, SHARED_AGAIN[how](peer))  # a replay of the version shared on the 3rd
    note = _note(peer)
    assert note.state == "deleted" and note.body == "" and WORDS not in _page(app, note)


@pytest.mark.parametrize("dated", [{}, {"published": AGAIN}], ids=["undated", "same time"])
def test_a_delete_the_dates_cannot_place_after_the_note_shared_again_removes_it(app, client, make_peer, dated):
    peer = make_peer(trust="publish")
    _take(app, client, peer, peer.activity("Create", peer.article(updated=FIRST), published=FIRST))
    _take(app, client, peer, SHARED_AGAIN["a Create of the same version"](peer))
    _take(app, client, peer, _delete(peer, **dated))
    note = _note(peer)
    assert note.state == "deleted" and WORDS not in _page(app, note)


def test_a_delete_dated_before_the_articles_updated_still_removes_the_note(app, client, make_peer):
    """The partner's Update went out at 10:00:00 with an Article stamped 10:00:03 (built later, or on another
    machine), its Delete at 10:00:01: the Delete is the partner's last word."""
    peer = make_peer(trust="publish")
    _take(app, client, peer, peer.activity("Create", peer.article(published=FIRST, updated=FIRST), published=FIRST))
    _take(app, client, peer, peer.activity("Update", peer.article(updated="2026-02-02T10:00:03Z"),
                                           published="2026-02-02T10:00:00.000Z"))
    _take(app, client, peer, _delete(peer, published="2026-02-02T10:00:01.000Z"))
    note = _note(peer)
    assert note.state == "deleted" and WORDS not in _page(app, note)


def test_an_undated_create_from_a_clock_ahead_does_not_bring_back_what_an_undated_delete_removed(
        app, client, make_peer):
    """A hub that dates no activity, its clock a minute ahead of ours: its Delete reached us before the Create
    of the note it published seconds earlier (a retry). Only our clock dates that Delete."""
    peer = make_peer(trust="publish")
    ahead = activities.iso(dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(seconds=60))
    _take(app, client, peer, _delete(peer))
    create = peer.activity("Create", peer.article(published=ahead))
    create.pop("published", None)
    create["object"].pop("updated", None)
    _take(app, client, peer, create)
    assert _note(peer).state == "deleted"


def test_our_delete_is_dated_no_earlier_than_the_version_we_sent(app, make_peer, publish, people):
    """An edit stamped after the event that narrows the note (another node's clock, or the Article built when
    queued): the Delete we send is dated at least as late as the note's last change, so no Article of it we sent
    before can bring it back at the partner."""
    make_peer(they_follow=True)
    note = publish("public")
    _consume(app)
    _send_all()
    notes.narrow_visibility(note, by=people["moderator"], visibility="members")
    note.updated_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(seconds=5)
    db.session.commit()
    _consume(app)
    deletes = [d.activity for d in db.session.scalars(sa.select(Delivery).where(Delivery.state == "pending"))
               if d.activity["type"] == "Delete"]
    assert len(deletes) == 1
    sent_as = activities.parse_time(activities.iso(note.updated_at))  # the ``updated`` an Article of it carries
    assert activities.parse_time(deletes[0]["published"]) >= sent_as
    assert activities.parse_time(deletes[0]["object"]["deleted"]) >= sent_as
