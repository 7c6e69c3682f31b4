"""An operator's upgrade of a hub that has lived a while: `flask hub init` on a database an older
version wrote, then the hub used as before."""
from __future__ import annotations

import datetime as dt
import signal
import sys

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from hub.extensions import db
from hub.models.discussion import Comment
from hub.schema_check import schema_state
from tests import spawn
from tests.helpers import empty_database, login, post_form
from tests.processes import hub_env


def test_comments_written_after_the_upgrade_never_take_the_id_of_one_deleted_before_it(app, make_user):
    """Comment ids name comments on partner hubs (/ap/comments/<id>). A hub of 0015 had deleted its
    newest comments with their note; after the upgrade the next comment must get a new id, not theirs."""
    empty_database()
    upgrade(revision="0015_s8_partner")
    day = dt.datetime(2026, 11, 1, 8, 0)
    note = {"state": "published", "visibility": "public", "language": "en", "title": "Outreach", "summary": "",
            "body": "Peer outreach.", "sections": "{}", "body_html": "<p>Peer outreach.</p>", "place": "",
            "province": "", "tags": "[]", "featured": False, "revision_number": 1, "created_at": day,
            "updated_at": day, "published_at": day, "changed_at": day}
    with db.engine.begin() as connection:
        for note_id, comment_ids in [(1, [1]), (2, [2, 3])]:
            connection.execute(sa.table("note", *map(sa.column, [*note, "id"])).insert().values(**note, id=note_id))
            for comment_id in comment_ids:
                connection.execute(sa.text("INSERT INTO comment (id, note_id, body, body_html, created_at, state) "
                                           "VALUES (:id, :note, 'Seen.', '<p>Seen.</p>', :day, 'published')"),
                                   {"id": comment_id, "note": note_id, "day": day})
                connection.execute(sa.text("INSERT INTO event (at, kind, subject_type, subject_id, payload) "
                                           "VALUES (:day, 'comment.added', 'comment', :id, '{}')"),
                                   {"id": comment_id, "day": day})
        # the second note deleted: a tombstone, its comments gone (hub.services.notes.tombstone)
        connection.execute(sa.text("DELETE FROM comment WHERE note_id = 2"))
        connection.execute(sa.text("UPDATE note SET state = 'deleted', deleted_at = :day WHERE id = 2"), {"day": day})

    result = app.test_cli_runner().invoke(args=["hub", "init"])
    assert result.exit_code == 0, result.output

    make_user("mary")
    browser = app.test_client()
    login(browser, "mary")
    post_form(browser, "/notes/1/comments", {"body": "Written after the upgrade."}, form_url="/notes/1")
    written = db.session.scalars(sa.select(Comment).where(Comment.body == "Written after the upgrade.")).one()
    assert written.id == 4  # 2 and 3 are known elsewhere as the deleted note's comments


# The statement of the upgrade from 0016 to kill `flask hub init` at: SQLite copies comment_thread to
# change it (0017: CREATE TABLE _alembic_tmp_comment_thread, copy, DROP, rename), PostgreSQL alters it (0019).
MIDWAY = {"sqlite": "DROP TABLE comment_thread", "postgresql": "ADD COLUMN cut_while_held"}


@pytest.mark.postgres
def test_an_upgrade_killed_midway_leaves_the_older_schema_and_init_runs_again(make_app, shared_database_url,
                                                                             tmp_path):
    """`flask hub init` killed with SIGKILL in the middle of an upgrade: the database is as it was
    (its schema, its rows), and running the command again upgrades it."""
    app = make_app(DATABASE_URL=shared_database_url)
    with app.app_context():
        empty_database()
        upgrade(revision="0016_s8_comments")
        day = dt.datetime(2026, 11, 1, 8, 0)
        with db.engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO note (id, state, visibility, language, title, summary, body, sections, body_html, place, "
                "province, tags, featured, revision_number, created_at, updated_at, published_at, changed_at) "
                "VALUES (1, 'published', 'public', 'en', 'Outreach', '', 'Peer outreach.', '{}', '<p>x</p>', '', '', "
                "'[]', false, 1, :day, :day, :day, :day)"), {"day": day})
            connection.execute(sa.text("INSERT INTO comment (id, note_id, body, body_html, created_at, state) "
                                       "VALUES (1, 1, 'Seen.', '<p>Seen.</p>', :day, 'published')"), {"day": day})
            connection.execute(sa.text("INSERT INTO comment_thread (comment_id, origin_host, author_pseudonym, "
                                       "withdrawn) VALUES (1, 'hub-b.example', 'Lin', false)"))
        dialect = db.engine.dialect.name
        db.engine.dispose()
    env = {**hub_env(tmp_path), "HUB_DATABASE_URL": shared_database_url}

    killed = spawn.run([sys.executable, "-m", "tests.killed", MIDWAY[dialect], "hub", "init"], env=env,
                       capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    with app.app_context():
        assert schema_state().current == {"0016_s8_comments"}
        tables = set(sa.inspect(db.engine).get_table_names())
        assert "comment_thread" in tables and not {t for t in tables if t.startswith("_alembic_tmp")}
        db.engine.dispose()

    again = spawn.run([sys.executable, "-m", "flask", "hub", "init"], env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Database is up to date" in again.stdout
    with app.app_context():
        assert schema_state().ok
        assert db.session.scalar(sa.text("SELECT author_pseudonym FROM comment_thread WHERE comment_id = 1")) == "Lin"
        db.session.remove()
        db.engine.dispose()
