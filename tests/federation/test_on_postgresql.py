"""The federation services on SQLite and on a real PostgreSQL server (queries, JSON columns, lengths)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub import events
from hub.extensions import db
from hub.federation import delivery, inbox, peers
from hub.models.federation import Delivery, NoteReceipt
from hub.models.note import Note
from hub.services import notes
from tests.helpers import count

pytestmark = pytest.mark.postgres


@pytest.fixture
def app(any_db_app):
    """Run every test of this module on SQLite and on PostgreSQL."""
    return any_db_app


def test_remote_notes_with_topics_translations_updates_deletes_and_blocks(app, client, make_peer, people):
    peer = make_peer(trust="publish")
    article = peer.article(contentMap={"en": "<p>Outreach</p>", "zh-Hans": "<p>外展</p>"},
                           **{"peh:topics": ["outreach", "nsp"], "peh:populations": ["unknown-slug"]})
    peer.post(client, peer.activity("Create", article))
    peer.post(client, peer.activity("Update", {**article, "name": "Changed", "updated": "2026-05-01T00:00:00Z"}))
    inbox.process_pending(app)
    original = db.session.scalar(sa.select(Note).where(Note.translation_of_id.is_(None)))
    assert original.title == "Changed" and sorted(t.slug for t in original.topics) == ["nsp", "outreach"]
    assert count(Note, Note.state == "published") == 2
    peers.block(peer.row, by=people["admin"])
    assert count(Note, Note.state == "published") == 0
    peers.unblock(peer.row, by=people["admin"])
    assert count(Note, Note.state == "published") == 2
    peer.post(client, peer.activity("Delete", {"id": article["id"], "type": "Tombstone", "formerType": "Article"}))
    inbox.process_pending(app)
    assert set(db.session.scalars(sa.select(Note.state))) == {"deleted"}


def test_deliveries_receipts_and_withdrawals(app, make_peer, publish, people):
    partner = make_peer("b.example", they_follow=True)
    public, partners = publish("public"), publish("partners")
    delivery.FederationConsumer().apply(events.after(0))
    assert count(Delivery) == 2 and count(NoteReceipt) == 2
    notes.narrow_visibility(public, by=people["moderator"], visibility="members")
    delivery.FederationConsumer().apply(events.after(delivery.FederationConsumer().position()))
    peers.set_partner(partner.row, False, by=people["admin"])
    # The Creates never sent are dropped (delivery.supersede): the hub hears only of the removals.
    kinds = [d.activity["type"] for d in db.session.scalars(sa.select(Delivery).order_by(Delivery.id))]
    assert kinds == ["Delete", "Delete"] and count(NoteReceipt) == 0
    assert peers.overview()[0].pending == 2
