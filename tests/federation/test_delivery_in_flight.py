"""A delivery replaced while it is on the wire: the newer version still goes.

A comment's Announce is sent; while the partner hub takes its time to answer, a moderator cuts
something out of the comment, and the consumer drops the older version still marked pending (it
is in flight) and queues the newer one. When the first send's outcome is recorded, it must not
be taken for the newer delivery's: on SQLite a table without AUTOINCREMENT gives the new row the
deleted one's id, and the newer Announce was marked sent without ever going (a flaky three-hub
test, tests/federation/test_conversation.py, found it).
"""
from __future__ import annotations

import time

from hub.federation import delivery
from hub.services import discussion
from tests.federation.test_conversation_inbox import _consume
from tests.federation.test_deliveries_follow_the_audience import SECRET, _commented, _states, _types


def _wait_until_received(server, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(server.activities()) < count and time.monotonic() < deadline:
        time.sleep(0.02)


def test_a_comment_cut_while_its_announce_is_on_the_wire_is_sent_again_as_cut(
        app, make_peer, peer_server, publish, people, make_user, project):
    _hub, _note, comment = _commented(app, make_peer, peer_server, publish, make_user, project)
    peer_server.status["delay"] = 1.0  # the hub answers slowly: the Announce stays in flight
    delivery.send_due(app)
    _wait_until_received(peer_server, 2)
    assert _types(peer_server) == ["Create", "Announce"] and _states()[-1] == ("Announce", "pending")

    discussion.redact(comment, by=people["moderator"], body="[personal data removed] on Fridays.")
    _consume(app)  # the older Announce (in flight) is dropped, the cut one queued
    peer_server.status["delay"] = 0.0
    delivery.sender(app).wait(timeout=10)
    delivery.send_due(app, wait=True)  # records the first send, starts the cut one
    delivery.send_due(app, wait=True)

    assert _types(peer_server) == ["Create", "Announce", "Announce"]
    last = peer_server.activities()[-1]
    assert SECRET not in str(last) and "[personal data removed] on Fridays." in str(last)
    assert _states() == [("Create", "sent"), ("Announce", "sent")]
