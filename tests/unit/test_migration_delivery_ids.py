"""Migration 0025_s13_lead_delivery_ids: deliveries keep their rows and ids, and SQLite never gives a delivery's or an
attachment's id twice."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_migrate import upgrade

from hub.extensions import db
from tests.helpers import empty_database


def test_deliveries_keep_their_ids_and_a_new_one_never_takes_a_deleted_ones(any_db_app):
    empty_database()
    upgrade(revision="0024_s12_editor_text_redactions")
    table = sa.table("delivery", *(sa.column(name) for name in (
        "id", "inbox_url", "activity_id", "state", "attempts", "next_attempt_at", "last_error", "created_at")),
        sa.column("activity", sa.JSON))
    now = dt.datetime(2026, 12, 1)

    def queue(connection, activity_id: str, **row) -> None:
        connection.execute(table.insert().values(inbox_url="https://b.example/inbox", activity_id=activity_id,
                                                 state="pending", attempts=0, next_attempt_at=now, last_error="",
                                                 created_at=now, activity={"type": "Announce", "id": activity_id},
                                                 **row))

    with db.engine.begin() as connection:
        queue(connection, "http://hub.test/ap/comments/1#announce-3", id=1)
        queue(connection, "http://hub.test/ap/comments/1#announce-4", id=2)
    upgrade()
    with db.engine.begin() as connection:
        assert dict(connection.execute(sa.select(table.c.id, table.c.activity_id)).all()) == {
            1: "http://hub.test/ap/comments/1#announce-3", 2: "http://hub.test/ap/comments/1#announce-4"}
        if connection.dialect.name == "postgresql":  # rows written with their ids: move the sequence past them
            connection.execute(sa.text("SELECT setval('delivery_id_seq', 2)"))
        connection.execute(table.delete().where(table.c.id == 2))  # superseded while it was on the wire
        queue(connection, "http://hub.test/ap/comments/1#announce-5")
        newest = connection.execute(sa.select(sa.func.max(table.c.id))).scalar()
        schemas = dict(connection.execute(sa.text(
            "SELECT name, sql FROM sqlite_master WHERE name IN ('delivery', 'attachment')")).all()) \
            if connection.dialect.name == "sqlite" else {}
    assert newest == 3
    assert all("AUTOINCREMENT" in sql for sql in schemas.values()) and len(schemas) in (0, 2)
