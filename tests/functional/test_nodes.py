"""Two nodes on one PostgreSQL database: shared work is done once, each node's index gets everything."""
from __future__ import annotations

import collections
import os
import signal

import pytest
import sqlalchemy as sa

from hub import claims
from hub.extensions import db
from hub.models.federation import Delivery, PeerHub
from hub.models.note import Note
from tests.federation.fixtures import DocumentServer, people, publish  # noqa: F401
from tests.processes import indexed_ids, node_env, start, wait_for, worker_pid

pytestmark = pytest.mark.postgres


@pytest.fixture
def app(make_app, postgres_database):
    """The hub as the tests write to it: same database as the nodes' workers."""
    application = make_app(DATABASE_URL=postgres_database)
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def inbox():
    """A partner hub's inbox and outbox on 127.0.0.1 that records what it receives."""
    server = DocumentServer()
    yield server
    server.close()


def test_two_nodes_send_each_delivery_once_and_both_indexes_hold_every_note(app, publish, inbox, tmp_path,
                                                                            postgres_database):
    db.session.add(PeerHub(actor_id=inbox.base + "/actor", base_url=inbox.base, inbox_url=inbox.base + "/inbox",
                           outbox_url=inbox.base + "/outbox", they_follow=True, partner=True, we_follow="accepted"))
    db.session.commit()
    inbox.documents["/outbox"] = {"type": "OrderedCollection", "orderedItems": []}
    nodes = {name: tmp_path / name for name in ("node-a", "node-b")}
    workers = {name: start(["hub", "worker"], node_env(folder, postgres_database, name))
               for name, folder in nodes.items()}
    try:
        published = [publish("public", title=f"笔记 {n}").id for n in range(10)]

        def settled() -> bool:
            sent = db.session.scalar(sa.select(sa.func.count()).select_from(Delivery).where(Delivery.state == "sent"))
            return sent == len(published) and all(indexed_ids(nodes[name]) == set(published) for name in workers)

        wait_for(settled, what="every delivery sent and both indexes complete")
        # The node that sends dies; the other takes its claims over when they expire.
        sender = claims.remaining("federation-send")[0]
        os.kill(worker_pid(nodes[sender]), signal.SIGKILL)
        workers.pop(sender).wait()
        published += [publish("public", title=f"后来的笔记 {n}").id for n in range(3)]
        wait_for(settled, what="the other node to take over")
        received = collections.Counter(activity["id"] for activity in inbox.activities())
        expected = set(db.session.scalars(sa.select(Delivery.activity_id)))
        assert set(received) == expected and len(expected) == len(published)
        assert max(received.values()) == 1, "a delivery was sent twice"
        assert inbox.gets.count("/outbox") == 1, "the partner's outbox was read by both nodes"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Note).where(
            Note.state == "published")) == len(published)
    finally:
        for process in workers.values():
            process.send_signal(signal.SIGTERM)
        for process in workers.values():
            process.wait(timeout=30)
