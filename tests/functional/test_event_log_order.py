"""On PostgreSQL the event log is consumed in commit order: an event that commits late is still applied."""
from __future__ import annotations

import threading

import pytest

from hub import events, worker
from hub.extensions import db
from hub.models.events import Event

pytestmark = pytest.mark.postgres


class Recorder:
    """A consumer that remembers the subjects of the events it was given."""

    name = "recorder"

    def __init__(self) -> None:
        self.applied: list[tuple[int, int]] = []

    def position(self) -> int:
        return self.applied[-1][0] if self.applied else 0

    def apply(self, batch) -> None:
        self.applied.extend((event.id, event.subject_id) for event in batch)

    @property
    def subjects(self) -> list[int]:
        return [subject for _id, subject in self.applied]


@pytest.fixture
def pg_app(make_app, postgres_database):
    """A hub on a database of its own on the suite's PostgreSQL server, with a recording consumer."""
    app = make_app(DATABASE_URL=postgres_database)
    app.extensions["test.recorder"] = recorder = Recorder()
    worker.register(app, recorder)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_an_event_recorded_first_but_committed_last_is_applied(pg_app):
    recorder = pg_app.extensions["test.recorder"]
    with pg_app.app_context():  # connection 1: records its event, goes on working, commits last
        events.record("test.first", subject_type="t", subject_id=1)
        db.session.flush()
        with pg_app.app_context():  # connection 2: records and commits meanwhile; the worker runs
            events.record("test.second", subject_type="t", subject_id=2)
            db.session.commit()
            worker.run_once(pg_app)
            db.session.remove()
        assert recorder.subjects == [2]
        db.session.commit()
    worker.run_once(pg_app)
    assert recorder.subjects == [2, 1]
    assert [event_id for event_id, _ in recorder.applied] == sorted(event_id for event_id, _ in recorder.applied)


def test_a_writer_waits_while_an_earlier_event_row_is_uncommitted(pg_app):
    """Even an event row flushed early (added directly) cannot be overtaken: the log's lock holds the next writer."""
    recorder = pg_app.extensions["test.recorder"]
    flushed, release = threading.Event(), threading.Event()
    committed: list[str] = []

    def first() -> None:
        with pg_app.app_context():
            db.session.add(Event(kind="test.first", subject_type="t", subject_id=1, payload={}))
            db.session.flush()  # takes its id now
            flushed.set()
            release.wait(10)
            db.session.commit()
            committed.append("first")
            db.session.remove()

    def second() -> None:
        with pg_app.app_context():
            events.record("test.second", subject_type="t", subject_id=2)
            db.session.commit()
            committed.append("second")
            db.session.remove()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    assert flushed.wait(10)
    threads[1].start()
    threads[1].join(1.0)
    try:
        assert committed == [], "the second writer committed while an earlier event was uncommitted"
        worker.run_once(pg_app)
        db.session.rollback()
        assert recorder.subjects == []
    finally:
        release.set()
        for thread in threads:
            thread.join(10)
    worker.run_once(pg_app)
    # Both committed (the second once the first had: checked above); which thread noted it first after
    # their commits is up to the scheduler, so the log's order is read from the worker instead.
    assert sorted(committed) == ["first", "second"] and recorder.subjects == [1, 2]
