"""Searches and note pages never fail while notes are written: real processes, the suite's PostgreSQL.

gunicorn's worker processes answer searches and note pages (with similar notes) while
``flask hub worker`` commits a stream of new and edited notes to the index and Whoosh merges
its segments. The minutes-long variant is ``bench/search_soak.py``.
"""
from __future__ import annotations

import pytest

from hub.extensions import db
from tests import concurrent_search


@pytest.fixture
def postgres_hub(make_app, postgres_server, tmp_path):
    """A hub on the suite's PostgreSQL with a file index, as production runs it."""
    app = make_app(DATABASE_URL=postgres_server.url, INDEX_DIR="index", INSTANCE_PATH=str(tmp_path / "instance"))
    with app.app_context():
        db.drop_all()
        db.create_all()
        yield app, concurrent_search.environment(tmp_path / "instance", postgres_server.url)
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def test_searches_and_note_pages_never_fail_while_the_worker_merges(postgres_hub):
    app, env = postgres_hub
    report = concurrent_search.run(app, env, seconds=10, merges=3)
    assert report.errors == [] and report.tracebacks == []
    assert report.merges >= 3  # the state that used to fail, several times over
    kinds = {kind for kind, _status in report.statuses}
    assert kinds == {"api search", "note page", "search page"} and report.requests >= 100
    assert report.indexed_at_end == report.published  # and nothing was lost on the way
