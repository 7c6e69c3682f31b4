"""Pooled PostgreSQL connections are checked when taken (hub/database.py): a connection the server
ended is replaced before a request uses it, whether it was used a moment ago (its socket tells)
or long ago (a ping tells)."""
from __future__ import annotations

import time

import psycopg
import pytest

from hub import database
from hub.extensions import db


@pytest.mark.parametrize("ping_after", [30, 0], ids=["recently-used", "idle"])
def test_a_connection_the_server_ended_is_replaced_before_a_request_uses_it(make_app, postgres_database, ping_after):
    app = make_app(DATABASE_URL=postgres_database, DATABASE_PING_AFTER_SECONDS=ping_after)
    client = app.test_client()
    assert client.get("/").status_code == 200  # the pool now holds a connection (/healthz needs none)
    with psycopg.connect(postgres_database, autocommit=True) as admin:
        ended = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                              "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()[0]
    assert ended >= 1
    time.sleep(0.2)  # the server's goodbye reaches the socket
    for _ in range(3):
        assert client.get("/").status_code == 200
    with app.app_context():
        db.engine.dispose()


def test_a_live_connection_is_reused_without_a_round_trip(make_app, postgres_database):
    app = make_app(DATABASE_URL=postgres_database)
    client = app.test_client()
    assert client.get("/").status_code == 200
    with app.app_context():
        connection = db.engine.raw_connection()
        try:
            assert not database._socket_says_gone(connection.dbapi_connection)
        finally:
            connection.close()
        db.engine.dispose()
