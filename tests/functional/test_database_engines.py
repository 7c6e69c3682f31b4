"""The database as the hub's processes share it: several writers at once, foreign keys, migrations, backups.

The hub's processes (gunicorn's workers, the worker) write to one database. The concurrency tests
start real processes that write through the hub's services, on a SQLite file (the default) and,
where the rule is the hub's own, on the suite's PostgreSQL server.
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from hub.extensions import db
from hub.models import Comment, Note
from hub.models.user import Role
from hub.services import discussion
from tests import spawn
from tests.functional.test_form_fuzz import published_note
from tests.processes import hub_env

pytestmark = pytest.mark.postgres

# A member's comment sent from a process of its own once the file ``argv[3]`` appears. The check for
# the same comment just sent is made slow (0.5 s after it looked), as on a loaded server: without a
# lock, two copies sent at once both find nothing and both are saved.
COMMENT = """
import os, sys, time
from hub import create_app
from hub.extensions import db
from hub.models import Note
from hub.models.user import User
from hub.services import discussion

looked = discussion._same_comment_just_sent
def slowly(*args, **kwargs):
    found = looked(*args, **kwargs)
    time.sleep(0.5)
    return found
discussion._same_comment_just_sent = slowly

with create_app().app_context():
    note, member = db.session.get(Note, int(sys.argv[1])), db.session.get(User, int(sys.argv[2]))
    db.session.rollback()
    print("ready", flush=True)
    while not os.path.exists(sys.argv[3]):
        time.sleep(0.005)
    print(discussion.add_comment(note, by=member, body=sys.argv[4]).id, flush=True)
"""


@pytest.fixture
def app(shared_app):
    """The hub of the test on its shared database (the role fixtures use it)."""
    return shared_app


def process_env(app, shared_database_url: str) -> dict[str, str]:
    """Return the environment of a hub process on the test's database."""
    return {**hub_env(Path(app.instance_path)), "HUB_DATABASE_URL": shared_database_url}


def start_writer(script: str, env: dict[str, str], *args: object) -> subprocess.Popen:
    """Start ``script`` in a Python process of its own and wait until it says it is ready."""
    process = spawn.popen([sys.executable, "-c", script, *map(str, args)], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    line = process.stdout.readline()
    assert line.strip() == "ready", line + process.stdout.read()
    return process


def finish(process: subprocess.Popen) -> str:
    """Wait for a writer and return what it printed last, failing with its output when it failed."""
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    return output.strip().splitlines()[-1]


def test_the_same_comment_sent_twice_at_the_same_moment_is_one_comment(app, shared_database_url, tmp_path, contributor,
                                                                       moderator, member):
    note = published_note(contributor, moderator)
    env = process_env(app, shared_database_url)
    go = tmp_path / "go"
    writers = [start_writer(COMMENT, env, note.id, member.id, go, "We tried this at our centre too.")
               for _ in range(2)]
    go.touch()
    ids = {finish(writer) for writer in writers}
    db.session.rollback()
    bodies = db.session.scalars(sa.select(Comment.body).where(Comment.note_id == note.id)).all()
    assert bodies == ["We tried this at our centre too."]
    assert len(ids) == 1  # both copies were answered with the one comment


def test_different_comments_sent_at_the_same_moment_are_all_saved(app, shared_database_url, tmp_path, contributor,
                                                                  moderator, member):
    note = published_note(contributor, moderator)
    env = process_env(app, shared_database_url)
    go = tmp_path / "go"
    writers = [start_writer(COMMENT, env, note.id, member.id, go, f"Thought number {n}.") for n in range(3)]
    go.touch()
    for writer in writers:
        finish(writer)
    db.session.rollback()
    bodies = db.session.scalars(sa.select(Comment.body).where(Comment.note_id == note.id)).all()
    assert sorted(bodies) == [f"Thought number {n}." for n in range(3)]


# A read transaction another process holds open, as an export or a report over a large hub does,
# until the file ``argv[2]`` appears (at most 20 s).
LONG_READ = """
import os, sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN")
connection.execute("SELECT count(*) FROM comment").fetchall()
print("ready", flush=True)
deadline = time.monotonic() + 20
while not os.path.exists(sys.argv[2]) and time.monotonic() < deadline:
    time.sleep(0.05)
connection.execute("COMMIT")
print("done", flush=True)
"""


@pytest.mark.parametrize("shared_database_url", ["sqlite"], indirect=True)
def test_a_comment_is_saved_at_once_while_another_process_holds_a_long_read(app, shared_database_url, tmp_path,
                                                                           contributor, moderator, member):
    note = published_note(contributor, moderator)
    env = process_env(app, shared_database_url)
    database, go, read_done = sa.make_url(shared_database_url).database, tmp_path / "go", tmp_path / "read-done"
    reader = start_writer(LONG_READ, env, database, read_done)
    try:
        writer = start_writer(COMMENT, env, note.id, member.id, go, "Written during an export.")
        started = time.monotonic()
        go.touch()
        finish(writer)  # before WAL: "database is locked" once the busy timeout ran out, the comment lost
        assert time.monotonic() - started < 10  # it never waited for the reader (20 s)
    finally:
        read_done.touch()
        finish(reader)
    db.session.rollback()
    assert db.session.scalars(sa.select(Comment.body)).all() == ["Written during an export."]


@pytest.mark.parametrize("shared_database_url", ["sqlite"], indirect=True)
def test_a_sqlite_file_is_shared_in_wal_mode_with_foreign_keys_and_a_busy_timeout(app):
    with db.engine.connect() as connection:
        settings = [connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                    for name in ("journal_mode", "foreign_keys", "busy_timeout")]
    assert settings == ["wal", 1, 15_000]


def test_an_in_memory_database_checks_foreign_keys_too(make_app):
    with make_app().app_context(), db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "memory"


def test_deleting_a_note_deletes_its_comments_as_the_schema_says(app, contributor, moderator, member):
    note = published_note(contributor, moderator)
    discussion.add_comment(note, by=member, body="We did this too.")
    db.session.execute(sa.delete(Note).where(Note.id == note.id))  # ON DELETE CASCADE, not the ORM's cascade
    db.session.commit()
    assert db.session.scalars(sa.select(Comment)).all() == []


@pytest.mark.parametrize("shared_database_url", ["sqlite"], indirect=True)
def test_a_migration_that_copies_the_note_table_keeps_its_comments(app, make_user):
    db.drop_all()
    upgrade()
    note = published_note(make_user("lee", role=Role.CONTRIBUTOR), make_user("moder", role=Role.MODERATOR))
    discussion.add_comment(note, by=make_user("mary"), body="We did this too.")
    db.session.remove()
    downgrade(revision="0009_federation")  # drops note.body_text: SQLite copies the table and drops the old one
    upgrade()
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT body FROM comment").scalars().all() == ["We did this too."]
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


@pytest.mark.parametrize("shared_database_url", ["sqlite"], indirect=True)
def test_a_backup_holds_what_another_process_wrote_into_the_wal_and_restores_it(app, shared_database_url, tmp_path,
                                                                                contributor, moderator, member):
    note = published_note(contributor, moderator)
    go = tmp_path / "go"
    go.touch()
    finish(start_writer(COMMENT, process_env(app, shared_database_url), note.id, member.id, go, "Written before the backup."))
    database = Path(sa.make_url(shared_database_url).database)
    assert Path(f"{database}-wal").stat().st_size > 0  # not yet in the database file: this process keeps it open
    runner = app.test_cli_runner()
    result = runner.invoke(args=["hub", "backup", str(tmp_path / "hub.tar")])
    assert result.exit_code == 0, result.output
    discussion.add_comment(note, by=member, body="Written after the backup.")
    result = runner.invoke(args=["hub", "restore", "--yes", str(tmp_path / "hub.tar")])
    assert result.exit_code == 0, result.output
    db.session.remove()
    assert db.session.scalars(sa.select(Comment.body)).all() == ["Written before the backup."]
    assert db.session.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
