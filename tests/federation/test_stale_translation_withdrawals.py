"""A withdrawal of a partner's translation older than the Offer of it held here removes nothing.

Origin side: a partner's Delete of its translation, dated before the Offer we took (a retried dead letter, a slow
queue), leaves it (hub.federation.remote_notes.delete); a Delete without a date still removes it. Sender side: a
withdrawal of our translation dead-lettered, then overtaken by an Offer the origin took, is dropped when an admin
sends the dead letters again (hub.federation.delivery._Wanted).
"""
from __future__ import annotations

import sqlalchemy as sa

from hub.extensions import db
from hub.federation import delivery, peers
from hub.models import Note
from hub.models.federation import Delivery
from hub.services import notes
from tests.helpers import approve_checked
from tests.federation.test_offered_translations_withdrawn import (_got, _offer, _queue, _read, _republish, _send,
                                                                  _take, _translated, _withdrawal)


def test_origin_side_a_withdrawal_older_than_the_offer_we_hold_does_not_delete_it(
        app, client, make_peer, publish, people, login_as):
    note = publish("public")
    partner = make_peer(trust="moderate")
    # The partner withdrew its translation on the 2nd, offered it again on the 3rd; the Delete of the 2nd
    # arrives late (a retry of a dead letter, a slow queue).
    _take(app, client, partner, _offer(partner, note, at="2026-02-03T00:00:00Z"))
    _take(app, client, partner, _withdrawal(partner, at="2026-02-02T00:00:00Z"))
    translation = db.session.scalar(sa.select(Note).where(Note.remote_id == f"{partner.base}/ap/notes/7"))
    assert translation.state == "submitted", translation.state
    assert "Outreach experience" in _queue(login_as(people["moderator"]))


def test_sender_side_a_dead_withdrawal_retried_after_the_translation_is_back_is_not_sent(
        app, client, make_peer, peer_server, people):
    translation, object_id = _translated(app, client, make_peer, peer_server, people, "我们去找人。")
    peer_server.status["post"] = 400
    notes.unpublish(translation, by=people["moderator"], reason="Checking a detail.")
    _send(app)  # the withdrawal is refused: dead, waiting for an admin
    peer_server.status["post"] = 202
    _republish(translation, people)
    _send(app)  # offered again, and taken
    assert [kind for kind, _ in _got(peer_server)] == ["Offer", "Delete", "Offer"]
    peers.retry_dead_letters(by=people["admin"])  # an admin sends the failed deliveries again
    delivery.send_due(app, wait=True)
    # The translation is published and offered: the origin must not be told it is gone.
    assert [kind for kind, _ in _got(peer_server)] == ["Offer", "Delete", "Offer"], _got(peer_server)


def test_origin_side_a_late_withdrawal_of_a_translation_offered_again_unchanged_does_not_delete_it(
        app, client, make_peer, publish, people, login_as):
    """Republished unchanged, the translation comes with its old ``updated`` (the 1st): the Offer's own time
    (the 3rd) is what the withdrawal (the 2nd) is older than."""
    note = publish("public")
    partner = make_peer(trust="moderate")
    offer = _offer(partner, note, at="2026-02-03T00:00:00Z")
    offer["object"]["updated"] = "2026-02-01T00:00:00Z"
    _take(app, client, partner, offer)
    _take(app, client, partner, _withdrawal(partner, at="2026-02-02T00:00:00Z"))
    translation = db.session.scalar(sa.select(Note).where(Note.remote_id == f"{partner.base}/ap/notes/7"))
    assert translation.state == "submitted", translation.state


def test_origin_side_a_withdrawal_without_a_date_deletes_the_translation(
        app, client, make_peer, publish, people, login_as):
    note = publish("public")
    partner = make_peer(trust="moderate")
    _take(app, client, partner, _offer(partner, note, at="2026-02-03T00:00:00Z"))
    withdrawal = _withdrawal(partner, at="2026-02-02T00:00:00Z")
    del withdrawal["published"]
    _take(app, client, partner, withdrawal)
    translation = db.session.scalar(sa.select(Note).where(Note.remote_id == f"{partner.base}/ap/notes/7"))
    assert translation.state == "deleted", translation.state
    assert "Outreach experience" not in _queue(login_as(people["moderator"]))


def test_origin_side_a_late_withdrawal_of_an_accepted_translation_offered_again_does_not_take_it_down(
        app, client, make_peer, publish, people):
    note = publish("public")
    partner = make_peer(trust="moderate")
    _take(app, client, partner, _offer(partner, note, at="2026-02-01T00:00:00Z"))
    translation = db.session.scalar(sa.select(Note).where(Note.remote_id == f"{partner.base}/ap/notes/7"))
    approve_checked(translation, by=people["moderator"])
    # Withdrawn on the 2nd (that Delete is late), offered again unchanged on the 3rd.
    again = _offer(partner, note, at="2026-02-03T00:00:00Z")
    again["object"]["updated"] = "2026-02-01T00:00:00Z"
    _take(app, client, partner, again)
    _take(app, client, partner, _withdrawal(partner, at="2026-02-02T00:00:00Z"))
    translation = db.session.get(Note, translation.id)
    assert translation.state == "published", translation.state
    assert "Outreach experience" in _read(app, note)
