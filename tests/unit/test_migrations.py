"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""
from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from hub.extensions import db
from tests.helpers import empty_database


def test_upgrade_from_empty_matches_the_models(any_db_app):
    empty_database()
    upgrade()
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), db.metadata)
    assert diff == []


def test_upgrade_is_repeatable_and_downgrade_empties(any_db_app):
    empty_database()
    upgrade()
    upgrade()  # a second `flask hub init` changes nothing
    downgrade(revision="base")
    tables = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
    assert tables == set()
    upgrade()


def test_pseudonym_skeletons_are_backfilled_and_old_look_alikes_keep_working(any_db_app):
    from hub.text_safety import skeleton

    empty_database()
    upgrade(revision="0004")
    user = sa.table("user", *(sa.column(name) for name in (
        "username", "pseudonym", "password_hash", "role", "status", "bio", "created_at", "password_changed_at")))
    now = sa.func.current_timestamp()
    with db.engine.begin() as connection:
        for username, pseudonym in [("lily", "Lily"), ("fake", "LiIy"), ("lee", "小李")]:
            connection.execute(user.insert().values(username=username, pseudonym=pseudonym, password_hash="x",
                                                    role="member", status="active", bio="", created_at=now,
                                                    password_changed_at=now))
    upgrade()
    with db.engine.connect() as connection:
        rows = dict(connection.execute(sa.text('SELECT username, pseudonym_skeleton FROM "user"')).all())
    assert rows == {"lily": skeleton("Lily"), "fake": None, "lee": skeleton("小李")}


def test_notes_written_before_body_text_get_the_text_of_their_html(any_db_app):
    from hub.text import html_line

    empty_database()
    upgrade(revision="0009_federation")
    columns = {"state": "published", "visibility": "public", "language": "zh_Hans", "title": "外展", "summary": "",
               "body": "", "sections": "{}", "place": "", "province": "", "tags": "[]", "featured": False,
               "revision_number": 1}
    note = sa.table("note", *(sa.column(name) for name in [*columns, "body_html", "created_at", "updated_at"]))
    pages = ["<p>同伴在社区<strong>外展</strong>。</p><p>a &amp; b</p>", ""]
    now = sa.func.current_timestamp()
    with db.engine.begin() as connection:
        for page in pages:
            connection.execute(note.insert().values(**columns, body_html=page, created_at=now, updated_at=now))
    upgrade()
    with db.engine.connect() as connection:
        texts = list(connection.execute(sa.text("SELECT body_text FROM note ORDER BY id")).scalars())
    assert texts == ["同伴在社区外展。 a & b", ""] == [html_line(page) for page in pages]


def test_notes_get_the_time_of_their_last_change_here_and_the_widest_readers_they_had(any_db_app):
    """changed_at is read back from the event log (else the note's own times); reach from what it was shown to."""
    import datetime as dt

    empty_database()
    upgrade(revision="0013_s7_accounts")
    day = dt.datetime(2026, 3, 1, 8, 0)
    columns = {"language": "en", "title": "", "summary": "", "body": "", "sections": "{}", "body_html": "",
               "place": "", "province": "", "tags": "[]", "featured": False, "revision_number": 1, "created_at": day,
               "updated_at": day}
    rows = [  # id, state, visibility, published_at, deleted_at, the last change event (days after day), translation of
        (1, "published", "public", day, None, 30, None),  # a partner's note approved here a month after its edit
        (2, "published", "partners", day, None, None, None),
        (3, "deleted", "members", day, day + dt.timedelta(days=2), 2, None),  # was public: harvesters had it
        (4, "draft", "members", None, None, None, None),
        (5, "published", "public", day, None, 40, 2),  # a translation of 2, published later
    ]
    note = sa.table("note", *(sa.column(name) for name in [*columns, "id", "state", "visibility", "published_at",
                                                             "deleted_at", "translation_of_id"]))
    event = sa.table("event", *(sa.column(name) for name in ("at", "kind", "subject_type", "subject_id", "payload")))
    with db.engine.begin() as connection:
        for note_id, state, visibility, published, deleted, changed, original in rows:
            connection.execute(note.insert().values(**columns, id=note_id, state=state, visibility=visibility,
                                                    published_at=published, deleted_at=deleted,
                                                    translation_of_id=original))
            if changed is not None:
                connection.execute(event.insert().values(at=day + dt.timedelta(days=changed), kind="note.published",
                                                         subject_type="note", subject_id=note_id, payload="{}"))
        connection.execute(event.insert().values(at=day + dt.timedelta(days=90), kind="comment.added",
                                                 subject_type="note", subject_id=1, payload="{}"))
        connection.execute(sa.text("INSERT INTO harvest_record (note_id, datestamp, deleted, sets) "
                                   "VALUES (3, :day, :yes, '[]')"), {"day": day, "yes": True})
    upgrade()
    with db.engine.connect() as connection:
        after = sa.table("note", sa.column("id"), sa.column("changed_at", sa.DateTime), sa.column("reach"))
        found = {row.id: (row.changed_at, row.reach) for row in connection.execute(sa.select(after))}
    assert found == {1: (day + dt.timedelta(days=30), "public"), 2: (day + dt.timedelta(days=40), "partners"),
                     3: (day + dt.timedelta(days=2), "public"), 4: (day, None), 5: (day + dt.timedelta(days=40), "public")}
