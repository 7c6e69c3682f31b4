"""The ``flask hub`` commands, through Flask's CLI runner."""
from __future__ import annotations

import threading
import time

import sqlalchemy as sa

from hub import demo, worker
from hub.extensions import db
from hub.models.base import utcnow as datetime_now
from hub.models.project import Project
from hub.models.user import User
from tests.helpers import count


def test_init_creates_the_schema_on_an_empty_database(make_app, tmp_path):
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    with app.app_context():
        db.drop_all()
        result = app.test_cli_runner().invoke(args=["hub", "init"])
        assert result.exit_code == 0, result.output
        assert "user" in sa.inspect(db.engine).get_table_names()


def test_demo_is_idempotent_and_prints_the_accounts(runner):
    first = runner.invoke(args=["hub", "demo"])
    assert first.exit_code == 0, first.output
    assert demo.PASSWORD in first.output and "moderator" in first.output
    users, projects = count(User), count(Project)
    assert users == len(demo.USERS) and projects == len(demo.PROJECTS)
    second = runner.invoke(args=["hub", "demo"])
    assert "0 new records" in second.output
    assert (count(User), count(Project)) == (users, projects)


def test_demo_has_every_role_and_a_project_abroad(runner):
    runner.invoke(args=["hub", "demo"])
    roles = set(db.session.scalars(sa.select(User.role)))
    assert roles == {"member", "contributor", "moderator", "admin"}
    countries = set(db.session.scalars(sa.select(Project.country)))
    assert "CN" in countries and countries - {"CN"}


def test_create_admin_reports_a_bad_username(runner):
    result = runner.invoke(args=["hub", "create-admin", "--username", "x", "--pseudonym", "Boss",
                                 "--password", "long enough pw"])
    assert result.exit_code != 0 and "username" in result.output
    result = runner.invoke(args=["hub", "create-admin", "--username", "boss", "--pseudonym", "Boss",
                                 "--password", "long enough pw"])
    assert result.exit_code == 0 and count(User, User.role == "admin") == 1


def test_worker_feeds_consumers_and_stops_cleanly(app):
    from hub import events

    seen: list[int] = []

    class Recorder:
        name = "recorder"

        def position(self) -> int:
            return seen[-1] if seen else 0

        def apply(self, batch) -> None:
            seen.extend(e.id for e in batch)

    worker.register(app, Recorder())
    recorded = [events.record("x", subject_type="t", subject_id=i) for i in range(3)]
    db.session.commit()
    ids = [event.id for event in recorded]
    stop = worker.StopFlag()
    thread = threading.Thread(target=worker.run, args=(app,), kwargs={"stop": stop})
    app.config["WORKER_POLL_SECONDS"] = 0.05
    thread.start()
    deadline = time.monotonic() + 5
    while len(seen) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(timeout=5)
    assert seen == ids and not thread.is_alive()


def test_worker_retries_a_failing_consumer_from_its_cursor(app):
    from hub import events

    calls: list[list[int]] = []

    class Flaky:
        name = "flaky"

        def position(self) -> int:
            return 0

        def apply(self, batch) -> None:
            calls.append([e.id for e in batch])
            raise RuntimeError("index unavailable")

    app.extensions[worker.EXTENSION_KEY] = [Flaky()]  # alone: the hub's own consumers would count the event
    events.record("x", subject_type="t", subject_id=1)
    db.session.commit()
    assert worker.run_once(app) == 0
    assert worker.run_once(app) == 0
    assert calls == [[1], [1]]


def test_worker_heartbeat_and_status(app):
    app.config.update(WORKER_POLL_SECONDS=0.05, WORKER_HEARTBEAT_SECONDS=0.1)
    assert worker.worker_status()["running"] is False
    stop = worker.StopFlag()
    thread = threading.Thread(target=worker.run, args=(app,), kwargs={"stop": stop})
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not worker.worker_status()["running"] and time.monotonic() < deadline:
            db.session.rollback()
            time.sleep(0.05)
        status = worker.worker_status()
    finally:
        stop.set()
        thread.join(timeout=10)
    assert status["running"] and status["node"] == worker.node_name(app) and status["age_seconds"] < 5
    assert status["lag"] == {"search": 0, "federation": 0, "federation-conversation": 0, "oai-harvest": 0, "mail": 0}
    assert status["workers"][0]["node"] == status["node"]
    db.session.rollback()
    stopped = worker.worker_status()
    assert stopped["running"] is False and stopped["stopped_at"] is not None


def test_worker_without_a_recent_heartbeat_is_not_running(app):
    import datetime as dt

    from hub.models.worker import WorkerHeartbeat

    app.config["WORKER_HEARTBEAT_SECONDS"] = 5
    old = dt.datetime(2026, 1, 1)
    db.session.add(WorkerHeartbeat(node=worker.node_name(app), host="h", pid=1, started_at=old,
                                   beat_at=datetime_now() - dt.timedelta(seconds=16), lag={"search": 3}))
    db.session.commit()
    status = worker.worker_status()
    assert status["running"] is False and status["lag"] == {"search": 3} and status["age_seconds"] >= 16


def test_search_status_says_when_the_index_misses_a_note_although_it_is_caught_up(app, runner, contributor):
    from hub.models.base import utcnow
    from hub.models.note import Note

    worker.run_once(app)
    healthy = runner.invoke(args=["hub", "search-status"])
    assert "lag 0 events" in healthy.output and "does not match" not in healthy.output
    # A published note whose event never reached the indexer (as a skipped event would leave it).
    db.session.add(Note(author=contributor, state="published", visibility="public", language="en", title="Lost",
                        summary="s", body="b", body_html="", published_at=utcnow()))
    db.session.commit()
    result = runner.invoke(args=["hub", "search-status"])
    assert "lag 0 events" in result.output and "does not match the database" in result.output
