"""An index that does not belong to the database beside it is rebuilt, and search-status says when they differ.

A database restored from a dump older than the index leaves the index's cursor ahead of the
event log: without a check, the events written after the restore look applied and their notes are
never found, while notes the dump does not hold stay findable.
"""
from __future__ import annotations

import shutil

import pytest
import sqlalchemy as sa

import search_index
from hub import events, instance_identity, worker
from hub.extensions import db
from hub.models.user import Role
from hub.services import accounts
from search_index import indexer
from tests.helpers import publish_directly


WORDS = {"A": "alpha", "B": "bravo", "C": "charlie", "D": "delta", "E": "echo", "F": "foxtrot", "G": "golf"}


class Anonymous:
    is_authenticated = False
    is_active = False


@pytest.fixture
def sqlite_file_hub(make_app, tmp_path):
    """A hub whose database is a file that can be copied away and back (a backup and a restore)."""
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'hub.sqlite'}")
    with app.app_context():
        accounts.create_user(accounts.NewAccount("writer", "Writer", "long enough pw"), role=Role.CONTRIBUTOR)
        yield app, tmp_path / "hub.sqlite"
        db.session.remove()


def _publish(title: str) -> int:
    """Publish a note whose body holds a word of its own."""
    author = db.session.scalars(sa.select(accounts.User)).first()
    return publish_directly(author, title=title, body=f"外展笔记 {WORDS[title]}")


def _found(text: str = "外展") -> list[str]:
    page = search_index.search(text, viewer=Anonymous(), per_page=50)
    assert page.total == len(page.notes)  # nothing counted that the database no longer holds
    return sorted(n.title for n in page.notes)


def _copy(source, target) -> None:
    """Copy the database file while nothing holds it open (a backup, or a restore)."""
    db.session.remove()
    db.engine.dispose()
    shutil.copy(source, target)


@pytest.mark.parametrize("written_after_restore", [1, 3], ids=["log behind the index", "log past the index"])
def test_a_database_restored_from_an_older_dump_gets_its_index_rebuilt(sqlite_file_hub, caplog,
                                                                       written_after_restore):
    app, database = sqlite_file_hub
    _publish("A")
    _publish("B")
    worker.run_once(app)
    _copy(database, database.with_suffix(".dump"))
    _publish("C")
    _publish("D")
    worker.run_once(app)
    assert _found() == ["A", "B", "C", "D"]

    _copy(database.with_suffix(".dump"), database)  # the restore: the index still has C and D
    new = ["E", "F", "G"][:written_after_restore]  # E takes C's event id, F takes D's: the index's cursor
    for title in new:
        _publish(title)
    worker.run_once(app)
    assert "that is not this database's" in caplog.text or "beyond the event log's last event" in caplog.text
    assert _found() == ["A", "B", *new]
    assert _found("charlie") == _found("delta") == []  # E and F took C's and D's ids: their words are gone
    assert [_found(WORDS[title]) for title in new] == [[title] for title in new]
    assert search_index.status()["in_step"]


def test_an_index_built_from_another_database_is_rebuilt(sqlite_file_hub, caplog):
    app, _database = sqlite_file_hub
    _publish("A")
    worker.run_once(app)
    worker.run_once(app)  # idle: nothing new in the log
    assert indexer.read_meta(search_index._state().store.open()).database == indexer.database_identity()
    another = instance_identity.new_identity()  # what a restore does: the same log, another database
    db.session.commit()
    worker.run_once(app)
    assert "was built from another database: rebuilding" in caplog.text
    assert indexer.read_meta(search_index._state().store.open()).database == another


def test_an_index_in_step_is_not_rebuilt(sqlite_file_hub, caplog):
    app, _database = sqlite_file_hub
    for title in "ABC":
        _publish(title)
        worker.run_once(app)
    worker.run_once(app)
    assert caplog.text.count("rebuilding") == 1  # the first poll: no index yet
    assert _found() == ["A", "B", "C"]


def test_an_index_written_before_it_recorded_its_database_gains_the_record_without_a_rebuild(sqlite_file_hub,
                                                                                              caplog):
    from whoosh.filedb.filestore import RamStorage

    from search_index.indexer import WRITER_OPTIONS
    from search_index.schema import build_schema

    app, _database = sqlite_file_hub
    _publish("A")
    schema = build_schema()
    schema.remove("database")
    schema.remove("event")
    index = RamStorage().create_index(schema)  # what the previous version wrote: cursor and format only
    with index.writer(**WRITER_OPTIONS) as writer:
        writer.add_document(**indexer.cursor_document(0))
    search_index._state().store.swap(index, "ram")
    worker.run_once(app)
    assert "rebuilding" not in caplog.text
    meta = indexer.read_meta(search_index._state().store.open())
    assert (meta.cursor, meta.database) == (events.head(), indexer.database_identity()) and meta.event
    assert _found() == ["A"]


def _drop_from_index(note_id: int, *, instead: int | None = None) -> None:
    """Take a note's document out of the index without an event (what a missed event leaves)."""
    index = search_index._state().store.open()
    writer = index.writer()
    writer.delete_by_term("id", str(note_id))
    if instead is not None:  # and hold a note that is not published in its place
        writer.add_document(id=str(instead), kind="note", title="x", visibility="public")
    writer.commit()


@pytest.mark.parametrize("instead", [None, 999], ids=["one note missing", "as many notes, not the same"])
def test_search_status_says_when_index_and_database_differ_with_nothing_left_to_apply(sqlite_file_hub, instead):
    app, _database = sqlite_file_hub
    first = _publish("A")
    _publish("B")
    worker.run_once(app)
    runner = app.test_cli_runner()
    in_step = runner.invoke(args=["hub", "search-status"])
    assert in_step.exit_code == 0 and "does not match" not in in_step.output

    _drop_from_index(first, instead=instead)
    result = runner.invoke(args=["hub", "search-status"])
    assert result.exit_code == 1
    assert "(lag 0 events)" in result.output
    assert f"1 published notes not indexed, {0 if instead is None else 1} indexed notes not published" in result.output
    assert "The index does not match the database although it has applied every event" in result.output


def test_search_status_while_catching_up_is_not_a_failure(sqlite_file_hub):
    app, _database = sqlite_file_hub
    _publish("A")
    worker.run_once(app)
    _publish("B")
    result = app.test_cli_runner().invoke(args=["hub", "search-status"])
    assert result.exit_code == 0 and "(lag 1 events)" in result.output and "does not match" not in result.output
