"""An idle worker asks the database one question per round, and still handles new work in its next round.

A worker polls every ``WORKER_POLL_SECONDS`` (1 s in production, 0.2 s for the test hubs); before,
each idle round sent about 19 statements (a cursor and the log per consumer, a query per task),
some 10–20 ms of CPU: 1.5–2.3 % of a core per idle worker at 1 s (bench/idle_worker.py).
"""
from __future__ import annotations

import contextlib
import json
import time

import pytest
import sqlalchemy as sa

import search_index
from hub import worker
from hub.extensions import db
from hub.models.federation import InboxItem
from hub.models.user import Role
from hub.models.worker import WorkClaim
from hub.services import accounts
from tests.helpers import publish_directly

LOOK = "SELECT (SELECT max(event.id)"


class Anonymous:
    is_authenticated = False
    is_active = False


@contextlib.contextmanager
def counted(engine: sa.Engine):
    """Collect the SQL statements sent through ``engine`` meanwhile."""
    statements: list[str] = []

    def seen(_connection, _cursor, statement, *_):
        statements.append(" ".join(statement.split()))

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)


@pytest.fixture
def hub(make_app, shared_database_url):
    """A hub with a mail server set (so the mail tasks ask too) on a SQLite file or on PostgreSQL."""
    app = make_app(DATABASE_URL=shared_database_url, MAIL_SERVER="127.0.0.1", WORKER_POLL_SECONDS=0.01,
                   WORKER_HEARTBEAT_SECONDS=3600)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_an_idle_worker_sends_one_statement_per_round(hub, monkeypatch):
    """The worker as `flask hub worker` runs it (worker.run), its rounds counted with their statements."""
    run_once, stop, rounds = worker.run_once, worker.StopFlag(), []
    with counted(db.engine) as seen:
        def counted_round(app, **options):
            before = len(seen)
            applied = run_once(app, **options)
            rounds.append((applied, seen[before:]))
            if len(rounds) == 33:
                stop.set()
            return applied

        monkeypatch.setattr(worker, "run_once", counted_round)
        worker.run(hub, stop=stop)
    stop.close()
    idle = rounds[3:]  # the first rounds build the index and take the claims
    assert [applied for applied, _ in idle] == [0] * 30
    assert max(len(statements) for _, statements in idle) == 1, idle[0][1]
    assert all(statements[0].startswith(LOOK) for _, statements in idle)


def _idle_rounds(app, n: int = 3) -> None:
    for _ in range(n):
        assert worker.run_once(app) == 0
        db.session.remove()


def test_an_idle_worker_handles_new_work_in_its_next_round(hub):
    _idle_rounds(hub)
    author = accounts.create_user(accounts.NewAccount("writer", "Writer", "long enough pw"), role=Role.CONTRIBUTOR)
    publish_directly(author, title="Needle exchange", body="外展笔记 alpha")
    db.session.add(InboxItem(activity_id="https://peer.test/a/1", actor_id="https://peer.test/actor",
                             raw=json.dumps({"type": "Nonsense"})))
    db.session.commit()
    assert worker.run_once(hub) > 0  # one round: the event and the inbox item
    assert [n.title for n in search_index.search("外展", viewer=Anonymous()).notes] == ["Needle exchange"]
    assert db.session.scalar(sa.select(InboxItem.state)) != "pending"
    _idle_rounds(hub)


def test_an_idle_worker_renews_its_claims_in_time(make_app, tmp_path):
    """A claim is renewed once half its time has gone, idle or not (hub.claims.Leases)."""
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'hub.sqlite'}", WORKER_CLAIM_SECONDS=0.2)
    with app.app_context():
        _idle_rounds(app, 1)
        expiries = [dict(db.session.execute(sa.select(WorkClaim.key, WorkClaim.expires)).all())]
        for _ in range(3):
            time.sleep(0.15)  # more than half of the claim's time: every claim is due for renewal
            _idle_rounds(app, 1)
            expiries.append(dict(db.session.execute(sa.select(WorkClaim.key, WorkClaim.expires)).all()))
        assert set(expiries[0]) >= {"federation-send", "federation-inbox", "consumer:federation", "mail-send"}
        for before, after in zip(expiries, expiries[1:]):
            assert all(after[key] > before[key] for key in before), (before, after)


def test_a_node_that_does_not_hold_a_shared_consumer_reports_its_lag_without_moving_its_cursor(app, make_user):
    """With no partner hub and no mail server the holder skips the federation and mail cursors to the head;
    another node's heartbeat only reads them (before, its lag report moved them: a write by a non-holder)."""
    from hub import claims
    from hub.models.events import ConsumerCursor, Event

    assert not app.config.get("MAIL_SERVER")
    for name in ("federation", "mail"):
        assert claims.claim(f"consumer:{name}", owner="the other node", seconds=60)
    publish_directly(make_user("writer"), title="A note", body="Text.")
    head = db.session.scalar(sa.select(sa.func.max(Event.id)))
    lag = worker.lags(app)
    positions = dict(db.session.execute(sa.select(ConsumerCursor.name, ConsumerCursor.position)).all())
    assert lag["federation"] == lag["mail"] == head > 0
    assert positions.get("federation", 0) == positions.get("mail", 0) == 0
