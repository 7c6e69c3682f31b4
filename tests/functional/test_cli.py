"""The ``flask hub`` commands, through Flask's CLI runner."""
from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import sqlalchemy as sa

from hub import demo, worker
from hub.extensions import db
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
    stop = threading.Event()
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


def test_worker_process_stops_on_ctrl_c(tmp_path):
    env = {"HUB_ENV": "development", "HUB_INSTANCE_PATH": str(tmp_path), "FLASK_APP": "wsgi",
           "HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'w.sqlite'}", "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-m", "flask", "hub", "init"], env=env, check=True, capture_output=True)
    process = subprocess.Popen([sys.executable, "-m", "flask", "hub", "worker"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    started = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not started:
        line = process.stdout.readline()
        started = [line] if "worker started" in line else []
        if not line and process.poll() is not None:
            break
    assert started, "the worker never started"
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert "Traceback" not in output and "worker stopped" in output
