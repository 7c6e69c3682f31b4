"""The index never drifts: a worker killed mid-batch replays; a broken index is rebuilt; outages are told."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from whoosh import query as q

import search_index
from hub import events
from hub.extensions import db
from hub.models.base import utcnow
from hub.models.note import Note
from hub.models.user import Role
from hub.services import accounts, vocabulary

from tests import spawn

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def file_hub(make_app, tmp_path):
    """A hub with a file database and a file index, as the worker process sees it."""
    env = {"HUB_ENV": "development", "HUB_INSTANCE_PATH": str(tmp_path / "instance"),
           "HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.sqlite'}", "HUB_INDEX_DIR": "index",
           "HUB_WORKER_POLL_SECONDS": "0.1", "FLASK_APP": "wsgi", "PATH": os.environ.get("PATH", "")}
    app = make_app(DATABASE_URL=env["HUB_DATABASE_URL"], INDEX_DIR="index", INSTANCE_PATH=env["HUB_INSTANCE_PATH"])
    with app.app_context():
        vocabulary.seed()
        yield app, env
        db.session.remove()


def _publish_many(count: int) -> None:
    """Insert published notes with their events, as an import would (one transaction)."""
    author = accounts.create_user(accounts.NewAccount("bulk", "Bulk", "long enough pw"), role=Role.CONTRIBUTOR)
    for i in range(count):
        note = Note(author=author, state="published", visibility="public", language="zh_Hans",
                    title=f"外展笔记 {i}", summary="关于针具交换和美沙酮维持治疗的经验。",
                    body="同伴教育员在社区开展外展，" * 30, body_html="", published_at=utcnow())
        db.session.add(note)
        db.session.flush()
        events.record("note.published", subject_type="note", subject_id=note.id)
    db.session.commit()


def _indexed_ids() -> set[int]:
    with search_index._state().store.open().searcher() as searcher:
        return {int(searcher.stored_fields(n)["id"]) for n in searcher.docs_for_query(q.Term("kind", "note"))}


def _published_ids() -> set[int]:
    return set(db.session.scalars(sa.select(Note.id).where(Note.state == "published")))


def _start_worker(env) -> subprocess.Popen:
    return spawn.popen([sys.executable, "-m", "flask", "hub", "worker"], cwd=ROOT, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for_line(process: subprocess.Popen, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if text in line:
            return
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"worker never said {text!r}")


def test_worker_killed_mid_batch_replays_and_never_skips(file_hub):
    app, env = file_hub
    search_index.rebuild()  # an empty index with cursor 0
    _publish_many(1200)
    worker = _start_worker(env)
    _wait_for_line(worker, "worker started")
    time.sleep(0.8)  # inside the first batch: 500 notes take seconds to analyse
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    info = search_index.status()
    assert info["cursor"] < info["head"], "the kill should land before the last batch was committed"
    assert _indexed_ids() <= _published_ids()

    worker = _start_worker(env)
    try:
        deadline = time.monotonic() + 120
        while search_index.status()["lag"] and time.monotonic() < deadline:
            time.sleep(0.3)
    finally:
        worker.send_signal(signal.SIGINT)
        worker.communicate(timeout=20)
    assert search_index.status()["lag"] == 0
    assert _indexed_ids() == _published_ids()


def test_a_corrupt_index_is_rebuilt_at_start_with_a_warning(file_hub, caplog):
    app, env = file_hub
    _publish_many(3)
    search_index.rebuild()
    live = Path(env["HUB_INSTANCE_PATH"]) / "index" / "current"
    for toc in live.glob("_MAIN_*.toc"):
        toc.write_bytes(b"garbage")
    from hub import worker

    worker.run_once(app)
    assert "rebuilding it from the database" in caplog.text
    assert _indexed_ids() == _published_ids()


def test_a_damaged_arrays_file_is_rebuilt_at_start_with_a_warning(file_hub, caplog):
    from hub import worker
    from search_index.postings import EXT

    app, env = file_hub
    _publish_many(3)
    search_index.rebuild()
    live = Path(env["HUB_INSTANCE_PATH"]) / "index" / "current"
    for arrays in live.glob(f"*{EXT}"):  # the only copy of the segment's postings
        arrays.write_bytes(arrays.read_bytes()[:100])
    worker.run_once(app)
    assert "search index unavailable" in caplog.text and "rebuilding it from the database" in caplog.text
    assert _indexed_ids() == _published_ids()


def test_an_index_of_an_older_format_is_rebuilt_at_start_with_a_warning(file_hub, caplog):
    from hub import worker
    from search_index import indexer
    from search_index.schema import CURSOR_ID, INDEX_FORMAT

    app, env = file_hub
    _publish_many(2)
    search_index.rebuild()
    index = search_index._state().store.open()
    with index.writer() as writer:  # what an index written before formats were recorded holds
        writer.update_document(id=CURSOR_ID, kind="meta", cursor=indexer.read_cursor(index))
    worker.run_once(app)
    assert f"has format 1, this version uses {INDEX_FORMAT}: rebuilding" in caplog.text
    assert indexer.read_meta(search_index._state().store.open()).format == INDEX_FORMAT
    assert _indexed_ids() == _published_ids()
    assert search_index.search("美沙酮", viewer=None).total == 2  # through the concept token of 美沙酮维持治疗


def test_search_while_the_index_is_unavailable_says_so(make_app, tmp_path):
    app = make_app(INDEX_DIR="index", INSTANCE_PATH=str(tmp_path / "instance"))
    client = app.test_client()
    response = client.get("/search?q=美沙酮&lang=en")
    assert response.status_code == 503
    assert "Search is unavailable right now" in response.get_data(as_text=True)
    api = client.get("/api/v1/search?q=x")
    assert api.status_code == 503 and api.mimetype == "application/problem+json"
    assert api.get_json()["code"] == "search_unavailable"


def test_rebuild_swaps_in_a_new_generation_while_searches_keep_working(file_hub):
    app, env = file_hub
    _publish_many(5)
    search_index.rebuild()

    class Anonymous:
        is_authenticated = False
        is_active = False

    before = search_index.search("外展", viewer=Anonymous()).total
    search_index.rebuild()
    after = search_index.search("外展", viewer=Anonymous()).total
    generations = sorted(p.name for p in (Path(env["HUB_INSTANCE_PATH"]) / "index").glob("gen-*"))
    assert before == after == 5 and len(generations) == 2
