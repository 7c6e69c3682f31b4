"""A hub switched from open federation to allow-list mode (``FEDERATION_MODE``, read at start) sends nothing more
to followers that are not partners: what was still waiting for them when it restarted is dropped, as when a hub is
taken off the allow-list, while partners still get theirs.

The hub runs twice on one database file (open, then restarted in allow-list mode); each follower is a fake hub on
127.0.0.1 (tests.federation.fixtures.DocumentServer) whose received activities the test reads.
"""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from hub import worker
from hub.extensions import db
from hub.federation import delivery
from hub.models.federation import Delivery
from hub.services import discussion
from tests.federation.fixtures import DocumentServer
from tests.federation.test_conversation_inbox import _consume

SECRET = "Ask for Fang at the back gate"


@pytest.fixture
def database(tmp_path) -> str:
    """A database file both runs of the hub open."""
    return f"sqlite:///{tmp_path / 'hub.sqlite'}"


@pytest.fixture
def app(make_app, database):
    """The hub as it ran before the switch: open federation, any hub may follow."""
    application = make_app(DATABASE_URL=database, FEDERATION_MODE="open", FEDERATION_ALLOW_LOOPBACK=True)
    with application.app_context():
        yield application
        db.session.remove()


@pytest.fixture
def servers():
    """Two fake hubs: a partner and an open-mode follower that is none."""
    made = DocumentServer(), DocumentServer()
    yield made
    for server in made:
        server.close()


def _follower(make_peer, server, *, partner: bool):
    return make_peer(server.base.removeprefix("http://"), scheme="http", they_follow=True, partner=partner)


def test_restarting_in_allowlist_mode_drops_what_waited_for_followers_off_the_allow_list(
        app, make_app, database, make_peer, servers, publish, make_user, project):
    partner_server, open_server = servers
    partner = _follower(make_peer, partner_server, partner=True)
    outsider = _follower(make_peer, open_server, partner=False)
    note = publish("public")
    writer = make_user("fang", pseudonym="阿芳", project=project)
    discussion.add_comment(note, by=writer, body=f"{SECRET} on Fridays.")
    _consume(app)  # queued for both followers; the hub stops before sending them
    waiting = {(d.peer_id, d.activity["type"]) for d in db.session.scalars(sa.select(Delivery))}
    assert waiting == {(partner.row.id, "Create"), (partner.row.id, "Announce"),
                       (outsider.row.id, "Create"), (outsider.row.id, "Announce")}

    restarted = make_app(DATABASE_URL=database, FEDERATION_MODE="allowlist", FEDERATION_ALLOW_LOOPBACK=True)
    with restarted.app_context():
        worker.run_once(restarted)
        delivery.finish_sending(restarted)
        db.session.remove()

    assert open_server.activities() == []  # neither the note nor the comment under it
    assert [a["type"] for a in partner_server.activities()] == ["Create", "Announce"]
    assert SECRET in json.dumps(partner_server.activities(), ensure_ascii=False)
    db.session.expire_all()
    left = [(d.peer_id, d.state) for d in db.session.scalars(sa.select(Delivery))]
    assert sorted(left) == [(partner.row.id, "sent"), (partner.row.id, "sent")]


def test_restarting_in_allowlist_mode_drops_our_comment_and_translation_waiting_for_an_origin_off_the_list(
        app, make_app, database, client, make_peer, servers, people):
    from tests.federation.test_allowlist_origins import SECRET as WRITTEN, _origin, _queued_for, _translate
    from tests.federation.test_conversation_inbox import _remote_note

    origin_server, _unused = servers
    origin = _origin(make_peer, origin_server, partner=False)  # open mode: any hub may send us its notes
    note = _remote_note(app, client, origin)
    discussion.add_comment(note, by=people["author"], body=f"{WRITTEN} on Fridays.")
    _translate(note, people)
    _consume(app)
    assert _queued_for(origin) == ["Create", "Offer"]  # the hub stops before sending them

    restarted = make_app(DATABASE_URL=database, FEDERATION_MODE="allowlist", FEDERATION_ALLOW_LOOPBACK=True)
    with restarted.app_context():
        worker.run_once(restarted)
        delivery.finish_sending(restarted)
        db.session.remove()

    assert origin_server.activities() == []
    assert _queued_for(origin) == []
