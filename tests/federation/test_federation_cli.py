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
