"""A hub whose database has no schema, or one an upgrade has not migrated: gunicorn and the worker
refuse to start and say what to run, and ``/readyz`` names the schema instead of "cannot reach"."""
from __future__ import annotations

import sys

import pytest
from flask_migrate import downgrade, upgrade

from hub.extensions import db
from tests import spawn
from tests.processes import FLASK, free_port
from tests.stack import flask, production_env


@pytest.fixture
def file_app(make_app, tmp_path):
    """A hub on a SQLite file with no tables at all (a database nobody ran `flask hub init` on)."""
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'hub.sqlite'}")
    with app.app_context():
        db.drop_all()
        yield app
        db.session.remove()
        db.engine.dispose()


def readiness(app):
    answer = app.test_client().get("/readyz")
    return answer.status_code, answer.get_json()


def test_readiness_names_a_missing_or_old_schema_and_not_the_connection(file_app):
    status, body = readiness(file_app)
    assert status == 503 and body["checks"]["database"] == {"ok": True, "detail": "reachable"}
    assert "schema" in body["failed"] and "flask hub init" in body["checks"]["schema"]["detail"]
    assert body["checks"]["schema"]["detail"].startswith("the database has no hub schema")

    upgrade()
    status, body = readiness(file_app)
    assert body["checks"]["schema"] == {"ok": True, "detail": "up to date"}

    downgrade(revision="-1")
    status, body = readiness(file_app)
    detail = body["checks"]["schema"]["detail"]
    assert status == 503 and "schema" in body["failed"] and "this hub needs" in detail and "flask hub init" in detail


def test_the_worker_refuses_a_database_without_the_schema(file_app):
    result = file_app.test_cli_runner().invoke(args=["hub", "worker"])
    assert result.exit_code == 1
    assert "The worker does not start: the database has no hub schema: run `flask hub init`" in result.output


@pytest.mark.postgres
def test_gunicorn_stops_with_the_reason_on_a_database_not_migrated(postgres_server, tmp_path):
    """As deployed: gunicorn with the hub's settings on PostgreSQL, before and after `flask hub init`."""
    url = postgres_server.create_database("schema_check")
    env = production_env(tmp_path / "instance", url)
    command = [sys.executable, "-m", "gunicorn", "-c", "python:hub.gunicorn_conf", "-b", f"127.0.0.1:{free_port()}",
               "-w", "2", "hub:create_app()"]
    try:
        done = spawn.run(command, env=env, capture_output=True, text=True, timeout=90, cwd=tmp_path)
        assert done.returncode != 0
        assert "The hub does not start: the database has no hub schema: run `flask hub init`" in done.stderr

        flask(env, "hub", "init")
        flask(env, "db", "downgrade", "--", "-1")
        worker = spawn.run([*FLASK, "hub", "worker"], env=env, capture_output=True, text=True, timeout=90)
        assert worker.returncode == 1 and "this hub needs" in worker.stderr and "flask hub init" in worker.stderr
    finally:
        postgres_server.drop_database("schema_check")


def test_init_on_a_newer_versions_schema_says_so_and_changes_nothing(file_app):
    """Old code put back after an upgrade (a downgrade): `flask hub init` names the newer schema instead of
    Alembic's "Can't locate revision", as the worker and /readyz do."""
    import sqlalchemy as sa

    upgrade()
    with db.engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '0099_s99_future'"))
    result = file_app.test_cli_runner().invoke(args=["hub", "init"])
    assert result.exit_code == 1, result.output
    assert "Nothing was changed: the database's schema (0099_s99_future) is newer than this version" in result.output
    status, body = readiness(file_app)
    assert status == 503 and "is newer than this version of the hub knows" in body["checks"]["schema"]["detail"]
    with db.engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT version_num FROM alembic_version")) == "0099_s99_future"
