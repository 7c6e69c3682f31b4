"""Migration 0020_s9b_sent_trimmed: deliveries sent before keep no text; waiting ones and what Undos need stay."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_migrate import upgrade

from hub.extensions import db
from tests.helpers import empty_database

NOTE = "http://hub.test/ap/notes/1"
COMMENT = "http://hub.test/ap/comments/2"
TEXT = {"content": "<p>王小明 13800138000</p>", "name": "夜间外展"}


def test_sent_deliveries_of_notes_and_comments_keep_only_their_objects_id(any_db_app):
    empty_database()
    upgrade(revision="0019_s9b_cut_while_held")
    table = sa.table("delivery", *(sa.column(name) for name in (
        "inbox_url", "activity_id", "state", "attempts", "next_attempt_at", "last_error", "created_at")),
        sa.column("activity", sa.JSON))
    topic_announce = {"type": "Announce", "id": "http://hub.test/topics/nsp/actor#announce-1-3", "to": ["p"],
                      "object": NOTE}
    rows = {
        "note sent": ("sent", {"type": "Create", "id": NOTE + "#create-1", "object": {"id": NOTE, "type": "Article",
                                                                                      **TEXT}}),
        "comment sent": ("sent", {"type": "Announce", "id": COMMENT + "#announce-2", "cc": ["c"],
                                  "object": {"id": COMMENT, "type": "Note", **TEXT}}),
        "note waiting": ("pending", {"type": "Update", "id": NOTE + "#update-4",
                                     "object": {"id": NOTE, "type": "Article", **TEXT}}),
        "topic announce": ("sent", topic_announce),
        "like": ("sent", {"type": "Like", "id": "http://hub.test/x#like-5", "object": "http://b/ap/notes/7"}),
    }
    now = dt.datetime(2026, 12, 1)
    with db.engine.begin() as connection:
        for state, activity in rows.values():
            connection.execute(table.insert().values(inbox_url="https://b.example/inbox", activity_id=activity["id"],
                                                     state=state, attempts=1, next_attempt_at=now, last_error="",
                                                     created_at=now, activity=activity))
    upgrade()
    with db.engine.connect() as connection:
        kept = dict(connection.execute(sa.select(table.c.activity_id, table.c.activity)).all())
    assert kept[NOTE + "#create-1"] == {"type": "Create", "id": NOTE + "#create-1",
                                       "object": {"id": NOTE, "type": "Article"}}
    assert kept[COMMENT + "#announce-2"] == {"type": "Announce", "id": COMMENT + "#announce-2", "cc": ["c"],
                                             "object": {"id": COMMENT, "type": "Note"}}
    assert kept[NOTE + "#update-4"] == rows["note waiting"][1]  # still to be sent: whole
    assert kept[topic_announce["id"]] == topic_announce and kept["http://hub.test/x#like-5"] == rows["like"][1]
