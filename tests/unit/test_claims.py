"""Claims on shared work (hub.claims) and the compare-and-set cursor, on SQLite and PostgreSQL."""
from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from hub import claims, events, worker
from hub.extensions import db
from hub.federation import delivery
from hub.models.federation import Delivery
from hub.models.worker import WorkClaim
from tests.federation.fixtures import make_peer, people, publish  # noqa: F401
from tests.helpers import count

pytestmark = pytest.mark.postgres


@pytest.fixture
def app(any_db_app):
    return any_db_app


def test_one_owner_at_a_time_until_the_lease_expires_or_is_released(app):
    assert claims.claim("job", owner="node-a", seconds=0.5)
    assert not claims.claim("job", owner="node-b", seconds=0.5)
    assert claims.claim("job", owner="node-a", seconds=0.5)  # renewing
    assert claims.remaining("job")[0] == "node-a"
    time.sleep(0.6)  # node-a crashed: it renews no more
    assert claims.remaining("job") is None
    assert claims.claim("job", owner="node-b", seconds=30)
    assert not claims.claim("job", owner="node-a", seconds=30)
    claims.release("job", owner="node-a")  # not the holder: nothing happens
    assert claims.remaining("job")[0] == "node-b"
    claims.release("job", owner="node-b")
    assert count(WorkClaim) == 0 and claims.claim("job", owner="node-a", seconds=30)


def test_leases_renew_at_half_time_and_a_clean_stop_hands_over_at_once(app):
    a, b = claims.Leases("node-a", 30), claims.Leases("node-b", 30)
    assert a.hold("federation-send") and not b.hold("federation-send")
    expires = db.session.scalar(sa.select(WorkClaim.expires))
    assert a.hold("federation-send")  # remembered: not written again
    assert db.session.scalar(sa.select(WorkClaim.expires)) == expires
    a.release_all()
    b.theirs.clear()  # b remembers a's lease until it expires; a fresh worker would not
    assert b.hold("federation-send")


def test_a_shared_cursor_moves_only_from_where_it_was_read(app, make_peer, publish):
    make_peer("b.example", they_follow=True)
    publish("public")
    first, second = delivery.FederationConsumer(), delivery.FederationConsumer()
    batch = events.after(first.position())
    second.position()  # a second holder (its lease overlapped) read the same position
    first.apply(batch)
    with pytest.raises(worker.CursorMoved):
        second.apply(batch)
    db.session.rollback()
    assert count(Delivery) == 1 and delivery.DatabaseCursor("federation").get() == batch[-1].id


def test_a_worker_runs_shared_work_only_while_it_holds_the_claim(app, make_peer, publish):
    make_peer("b.example", they_follow=True)
    publish("public")
    app.config["NODE_NAME"] = "node-b"
    assert claims.claim("consumer:federation", owner="node-a", seconds=30)
    worker.run_once(app)
    assert count(Delivery) == 0  # node-a holds the federation consumer
    claims.release("consumer:federation", owner="node-a")
    worker.leases(app).theirs.clear()
    worker.run_once(app)
    assert count(Delivery) == 1
