"""The ``flask hub federation-*`` commands."""
from __future__ import annotations

import sqlalchemy as sa

from hub.extensions import db
from hub.models.federation import Delivery, PeerHub
from tests.federation.test_partners import _serve_hub


def test_follow_from_the_command_line_is_audited_under_an_admin(app, people, peer_server, make_peer):
    peer = _serve_hub(peer_server, make_peer)
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["hub", "federation-follow", peer.base, "--as", "moder"])
    assert refused.exit_code != 0 and "not an administrator" in refused.output
    result = runner.invoke(args=["hub", "federation-follow", peer.base, "--as", "ada"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(PeerHub.we_follow)) == "pending"
    status = runner.invoke(args=["hub", "federation-status"])
    assert peer.base in status.output and "pending" in status.output and "1 waiting" in status.output


def test_retry_from_the_command_line(app, people, make_peer):
    peer = make_peer()
    db.session.add(Delivery(peer_id=peer.row.id, inbox_url=peer.base + "/inbox", activity_id="x",
                            activity={"type": "Create", "id": "x"}, state="dead", last_error="HTTP 503"))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["hub", "federation-retry", "--as", "ada"])
    assert result.exit_code == 0 and "1 failed deliveries queued again" in result.output


def test_backfill_from_the_command_line(app, people, peer_server, make_peer):
    host = peer_server.base.removeprefix("http://")
    peer = make_peer(host, scheme="http", we_follow="accepted", trust="publish")
    peer_server.documents["/outbox"] = {"type": "OrderedCollection", "orderedItems": [
        {"type": "Create", "actor": peer.actor_id, "object": peer.article(1)}]}
    result = app.test_cli_runner().invoke(args=["hub", "federation-backfill", "--as", "ada"])
    assert result.exit_code == 0 and "1 notes added" in result.output


def test_backfill_waits_for_the_worker_reading_the_same_hub_and_reports_what_each_stored(app, people, peer_server,
                                                                                        make_peer, monkeypatch):
    from hub import claims
    from hub.federation import activities, peers, remote_notes

    host = peer_server.base.removeprefix("http://")
    peer = make_peer(host, scheme="http", we_follow="accepted", trust="publish")
    peer_server.documents["/outbox"] = {"type": "OrderedCollection", "orderedItems": [
        {"type": "Create", "actor": peer.actor_id, "object": peer.article(n)} for n in (2, 1)]}
    key = f"backfill:{peer.row.id}"
    assert claims.claim(key, owner="node-a", seconds=60)  # the worker is reading this hub
    waits = []

    def worker_finishes(seconds):
        """While the command waits, the worker stores note 1 and lets go of the hub."""
        if not waits:
            remote_notes.receive(peer.row, activities.parse_article(peer.article(1), actor_id=peer.actor_id))
            db.session.commit()
            claims.release(key, owner="node-a")
        waits.append(seconds)

    monkeypatch.setattr(peers.time, "sleep", worker_finishes)
    result = app.test_cli_runner().invoke(args=["hub", "federation-backfill", "--as", "ada"])
    assert result.exit_code == 0, result.output
    assert "1 notes added (1 more were stored by the worker" in result.output and len(waits) == 1


def test_backfill_gives_up_when_the_worker_reads_the_hub_too_long(app, people, peer_server, make_peer):
    from hub import claims

    host = peer_server.base.removeprefix("http://")
    peer = make_peer(host, scheme="http", we_follow="accepted", trust="publish")
    assert claims.claim(f"backfill:{peer.row.id}", owner="node-a", seconds=60)
    result = app.test_cli_runner().invoke(args=["hub", "federation-backfill", "--as", "ada", "--wait", "1"])
    assert result.exit_code == 0 and "has been reading it for more than 1 s" in result.output
    assert peer_server.gets == []
