"""A search reads one commit of the index from start to end, whatever the worker commits meanwhile.

Whoosh's own ``Searcher.refresh()`` (whoosh3 3.54) kept the old reader's segments beside the new
commit's, so after the worker's commits merged segments, searches read merged-away segments
(every note twice, then ``stored_fields()`` of deleted files: a TypeError and a 500). These tests
make those states happen deterministically, in one thread.
"""
from __future__ import annotations

import datetime as dt

import pytest

import search_index
from hub import worker
from hub.extensions import db
from hub.models.user import Role
from hub.services import notes, vocabulary
from search_index import searcher
from search_index.indexer import WRITER_OPTIONS, cursor_document
from search_index.store import IndexStore

ANYONE = {"audience": "public", "filters": {}, "glossary": None, "sort": "relevance", "limit": 50}


class Anonymous:
    is_authenticated = False
    is_active = False


def _doc(number: int, body: str = "美沙酮维持治疗门诊 methadone clinic") -> dict:
    return {"id": str(number), "kind": "note", "title": f"笔记 {number}", "summary": "summary", "body": body,
            "visibility": "public", "topic": "oat", "project": "p", "province": "四川", "language": "zh_Hans",
            "year": "2024", "origin": "local", "published": dt.datetime(2024, 1, 1) + dt.timedelta(days=number)}


def _commit(store: IndexStore, *docs: dict, delete: tuple[int, ...] = (), **options) -> None:
    writer = store.open().writer(**WRITER_OPTIONS)
    for number in delete:
        writer.delete_by_term("id", str(number))
    for doc in docs:
        writer.add_document(**doc)
    writer.commit(**options)


@pytest.fixture
def store(tmp_path) -> IndexStore:
    """An index on disk (where a merge really deletes files), with the cursor document and notes 1-3."""
    store = IndexStore(str(tmp_path / "index"))
    index, name = store.new_generation()
    writer = index.writer(**WRITER_OPTIONS)
    writer.add_document(**cursor_document(0))
    writer.commit()
    store.swap(index, name)
    for number in (1, 2, 3):
        _commit(store, _doc(number), merge=False)
    return store


def _ids(view: searcher.View, text: str = "美沙酮") -> list[int]:
    return sorted(hit.note_id for hit in searcher.run(view, text, **ANYONE).hits)


def test_a_view_reads_exactly_the_segments_of_the_latest_commit_after_merges(store):
    pool = searcher.SearcherPool(store)
    for number in range(4, 30):  # Whoosh merges the small segments every few commits
        _commit(store, _doc(number))
        view = pool.view()
        toc = store.open()._read_toc()
        assert [s.segment_id() for s in view.searcher.ixreader.segments()] == [s.segment_id() for s in toc.segments]
        assert view.key[1] == toc.generation
        assert _ids(view) == list(range(1, number + 1))  # each note once
    assert len(toc.segments) < number  # merges did happen


def test_a_view_sees_a_commit_made_after_the_last_one_it_saw_and_keeps_its_reader_until_then(store):
    pool = searcher.SearcherPool(store)
    first = pool.view()
    assert pool.view().searcher is first.searcher  # no commit: the same reader, no folder listing
    _commit(store, _doc(4), merge=False)
    _commit(store, _doc(5), merge=False)  # the TOC of the commit in between is deleted by this one
    folder = store.path / "current"
    assert not (folder / f"_MAIN_{first.key[1] + 1}.toc").exists()
    view = pool.view()
    assert view.key[1] == first.key[1] + 2 == store.open().latest_generation()
    assert _ids(view) == [1, 2, 3, 4, 5]
    assert pool.view().searcher is view.searcher


def test_a_view_keeps_reading_its_commit_after_a_merge_deletes_its_files(store):
    pool = searcher.SearcherPool(store)
    view = pool.view()
    folder = store.path / "current"
    segment_files = {path.name for path in folder.glob("MAIN_*.*")}
    _commit(store, _doc(4), delete=(2,), optimize=True)  # one segment; every older file deleted
    assert segment_files and not segment_files & {path.name for path in folder.iterdir()}

    assert _ids(view) == [1, 2, 3]  # the commit the view was taken at, whole
    assert sorted(searcher.similar(view, "美沙酮维持治疗门诊", audience="public", leave_out=1, limit=5)) == [2, 3]
    assert searcher.run(view, "methadone clinc", **ANYONE).total == 3
    assert _ids(pool.view()) == [1, 3, 4]  # and the next search reads the new commit


def test_a_view_keeps_its_dates_and_lengths_when_a_merge_deletes_its_files_before_it_reads_them(store):
    view = searcher.SearcherPool(store).view()
    _commit(store, _doc(4), delete=(2,), optimize=True)  # before any search read the view's columns
    newest = searcher.run(view, "美沙酮", **{**ANYONE, "sort": "newest"})
    assert [hit.note_id for hit in newest.hits] == [3, 2, 1]  # by date, as the commit holds them
    assert all(view.snapshot.published[1:]) and all(view.snapshot.lengths("body")[1:])


def test_a_view_reads_its_commits_cursor_after_a_merge_deletes_its_files(store):
    """What search reads of a view's commit besides the arrays: the cursor document's stored fields."""
    from search_index.indexer import meta_of

    view = searcher.SearcherPool(store).view()
    _commit(store, _doc(4), delete=(2,), optimize=True)  # before anything read the view's stored fields
    assert meta_of(view.searcher).cursor == 0  # once a TypeError in a web process, a 500 on the search page


def test_a_deletion_in_a_kept_segment_is_seen_by_the_next_view(store):
    pool = searcher.SearcherPool(store)
    assert _ids(pool.view()) == [1, 2, 3]
    _commit(store, delete=(2,), merge=False)  # same segments, one more deletion
    assert _ids(pool.view()) == [1, 3]


def test_a_view_outlives_rebuilds_swapped_in_and_pruned(store):
    pool = searcher.SearcherPool(store)
    view = pool.view()
    for _ in range(3):  # the view's generation folder is deleted by the third swap
        index, name = store.new_generation()
        writer = index.writer(**WRITER_OPTIONS)
        writer.add_document(**_doc(9))
        writer.commit()
        store.swap(index, name)
    assert not (store.path / view.key[0]).exists()
    assert _ids(view) == [1, 2, 3]
    assert _ids(pool.view()) == [9]


@pytest.fixture
def app(make_app):
    """A hub whose index is on disk, as in production (the suite's default index is in memory)."""
    application = make_app(INDEX_DIR="index")
    with application.app_context():
        yield application
        db.session.remove()


@pytest.fixture
def file_index_hub(app, make_user, project):
    """The hub above with an author, a moderator and an index rebuilt from its (empty) database."""
    vocabulary.seed()
    people = {"author": make_user("lee", role=Role.CONTRIBUTOR, project=project),
              "moderator": make_user("moder", role=Role.MODERATOR)}
    search_index.rebuild()
    return app, people


def test_searches_and_similar_notes_stay_whole_while_the_worker_merges(file_index_hub):
    app, people = file_index_hub
    published = []
    for number in range(16):
        note = notes.create_draft(author=people["author"], data=notes.NoteInput(
            title=f"外展笔记 {number}", summary="外展", body=f"同伴外展员第 {number} 次去社区。", language="zh_Hans",
            visibility="public"))
        notes.submit(note, by=people["author"], confirm_privacy=True)
        notes.approve(note, by=people["moderator"])
        published.append(note.id)
        worker.run_once(app)  # one small commit each; Whoosh merges every few
        page = search_index.search("外展", viewer=Anonymous(), per_page=50)
        assert page.total == len(published)
        assert sorted(n.id for n in page.notes) == published
        assert len(search_index.similar(note, viewer=Anonymous())) == min(len(published) - 1, 5)
