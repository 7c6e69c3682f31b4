"""A partner's Delete of its own note older than the version held here removes nothing.

The partner took its note down or narrowed it (a Delete, dated the 2nd), then shared it again: a Create when it
published it again unchanged (its ``updated`` still the 1st, the Create dated the 3rd), or an Update of a new
version. The Delete, late (a retried dead letter, a slow queue), must not wipe the note the partner shares now
(hub.federation.remote_notes.delete). A Delete made after that, or one the dates cannot place, still removes it.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub import worker
from hub.extensions import db
from hub.models import Note

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


# How the partner shares its note again after the Delete: published again unchanged, or a new version.
SHARED_AGAIN = {
    "a Create of the same version": lambda peer: peer.activity(
        "Create", peer.article(updated=FIRST), published=AGAIN),
    "an Update of a newer version": lambda peer: peer.activity("Update", peer.article(updated=AGAIN)),
}


def _shared_again_then_late_delete(app, client, peer, how: str) -> Note:
    _take(app, client, peer, peer.activity("Create", peer.article(published=FIRST, updated=FIRST), published=FIRST))
    _take(app, client, peer, SHARED_AGAIN[how](peer))
    _take(app, client, peer, _delete(peer, published=DELETED))
    return db.session.scalar(sa.select(Note).where(Note.remote_id == peer.article()["id"]))


def _page(app, note: Note) -> str:
    answer = app.test_client().get(f"/notes/{note.id}?lang=en", follow_redirects=True)
    return answer.get_data(as_text=True) if answer.status_code == 200 else ""


@pytest.mark.parametrize("how", list(SHARED_AGAIN))
def test_a_late_delete_older_than_the_note_shared_again_leaves_it(app, client, make_peer, how):
    peer = make_peer(trust="publish")
    note = _shared_again_then_late_delete(app, client, peer, how)
    assert note.state == "published", note.state
    assert WORDS in _page(app, note)


@pytest.mark.parametrize("how", list(SHARED_AGAIN))
def test_a_delete_made_after_the_note_was_shared_again_removes_it(app, client, make_peer, how):
    peer = make_peer(trust="publish")
    note = _shared_again_then_late_delete(app, client, peer, how)
    _take(app, client, peer, _delete(peer, published=LATER))
    assert note.state == "deleted" and note.body == ""
    assert WORDS not in _page(app, note)
    # A replay of the Create that shared it again (older than this Delete) does not bring it back.
    _take(app, client, peer, SHARED_AGAIN[how](peer))
    assert note.state == "deleted"


@pytest.mark.parametrize("dated", [{}, {"published": AGAIN}], ids=["undated", "same time"])
def test_a_delete_the_dates_cannot_place_after_the_note_shared_again_removes_it(app, client, make_peer, dated):
    peer = make_peer(trust="publish")
    _take(app, client, peer, peer.activity("Create", peer.article(updated=FIRST), published=FIRST))
    _take(app, client, peer, SHARED_AGAIN["a Create of the same version"](peer))
    _take(app, client, peer, _delete(peer, **dated))
    note = db.session.scalar(sa.select(Note).where(Note.remote_id == peer.article()["id"]))
    assert note.state == "deleted" and WORDS not in _page(app, note)
