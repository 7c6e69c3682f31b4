"""The fast paths of a rebuild give the same index as the plain ones.

- ``analysis._cut`` finds the words that ``jieba.Tokenizer.cut(text, HMM=False)`` finds;
- a rebuild in several processes (one segment or more each) holds the same documents, terms,
  positions, stored fields and cursor as a rebuild in one process, and each segment's arrays
  file (search_index/postings.py) holds the same postings as its Whoosh blocks.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub import events
from hub.extensions import db
from hub.models.base import utcnow
from hub.models.note import Note
from hub.models.user import Role
from hub.services import accounts, vocabulary
from search_index import analysis, indexer
from search_index.postings import segment_arrays
from search_index.schema import CURSOR_ID
from search_index.store import IndexStore

RUNS = [
    "我们在昆明开展美沙酮维持治疗服药人员每天到门诊服药",
    "男男性行为者性工作者中华人民共和国艾滋病病毒感染者",
    "和服务对象一起讨论需求他的成就业内公认",
    "有人反映使用咪达唑仑后出现过量",
    "㐀中文𠀀国人丽\u9fd6\u9fff针具交换",  # characters outside jieba's Han range stand alone
    "的的的的的",
    "中",
    "𠀀",
]


@pytest.mark.parametrize("run", RUNS)
def test_cut_finds_jiebas_words(run: str) -> None:
    assert analysis._cut(run) == list(analysis._segmenter().cut(run, HMM=False))


def test_cut_finds_jiebas_words_on_shuffled_text() -> None:
    import random

    characters = list("".join(RUNS[:4]) * 3)
    shuffle = random.Random(7).shuffle
    for _ in range(50):
        shuffle(characters)
        run = "".join(characters[:40])
        assert analysis._cut(run) == list(analysis._segmenter().cut(run, HMM=False))


@pytest.fixture
def file_hub(make_app, tmp_path):
    """A hub with a file database (seen by forked processes) and many small notes."""
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'hub.sqlite'}", INDEX_DIR="index",
                   INSTANCE_PATH=str(tmp_path / "instance"))
    with app.app_context():
        vocabulary.seed()
        author = accounts.create_user(accounts.NewAccount("bulk", "Bulk", "long enough pw"),
                                      role=Role.CONTRIBUTOR)
        for i in range(23):
            note = Note(author=author, state="draft" if i % 5 == 4 else "published", visibility="public",
                        language="zh_Hans", title=f"外展笔记 {i} outreach",
                        summary="针具交换和美沙酮维持治疗。",
                        body=f"## 背景\n\n同伴教育员在社区开展外展 {i} 次，peer educators were trained.",
                        body_html="", published_at=utcnow())
            db.session.add(note)
            db.session.flush()
            events.record("note.published", subject_type="note", subject_id=note.id)
        db.session.commit()
        yield tmp_path
        db.session.remove()


def _contents(path) -> tuple[dict, dict]:
    """Return an index's postings {(field, term): {doc id: positions}} and stored fields by doc id."""
    index = IndexStore(str(path)).open()
    postings: dict = {}
    with index.searcher() as searcher:
        reader = searcher.reader()
        ids = {docnum: fields["id"] for docnum, fields in reader.iter_docs()}
        for field in ("title", "summary", "body", "kind", "topic", "language"):
            for term in reader.lexicon(field):
                postings[field, term] = _collect(reader.postings(field, term), ids, field)
        stored = {fields["id"]: fields for _docnum, fields in reader.iter_docs()}
        lengths = {(ids[docnum], field): reader.doc_field_length(docnum, field)
                   for docnum in ids for field in ("title", "summary", "body")}
    return postings, {"stored": stored, "lengths": lengths}


def _collect(matcher, ids: dict, field: str) -> dict:
    """Return {doc id: positions (text fields) or weight} of a posting list."""
    found = {}
    while matcher.is_active():
        value = matcher.value_as("positions") if field in ("title", "summary", "body") else matcher.weight()
        found[ids[matcher.id()]] = tuple(value) if isinstance(value, list) else value
        matcher.next()
    return found


def test_rebuild_in_processes_equals_rebuild_in_one(file_hub, monkeypatch) -> None:
    monkeypatch.setattr(indexer, "_SEGMENT_NOTES", 5)  # several segments per process
    one, many = IndexStore(str(file_hub / "one")), IndexStore(str(file_hub / "many"))
    assert indexer.rebuild(one, chunk=4, procs=1) == 19
    assert indexer.rebuild(many, chunk=4, procs=2) == 19
    assert len(many.open()._segments()) > 2
    for store in (one, many):  # every segment, from either path, keeps its postings in its arrays file only
        with store.open().reader() as reader:
            folder = store.path / store.current_target()
            assert all(segment_arrays(segment) is not None
                       and not (folder / f"{segment._segment.segment_id()}.pst").stat().st_size
                       for segment, _offset in reader.leaf_readers())
    single, multi = _contents(file_hub / "one"), _contents(file_hub / "many")
    assert single[0] == multi[0]
    assert single[1]["stored"] == multi[1]["stored"]
    assert single[1]["lengths"] == multi[1]["lengths"]
    assert len(single[0]) > 50
    assert single[1]["stored"][CURSOR_ID]["cursor"] == events.head() > 0
    published = set(db.session.scalars(sa.select(Note.id).where(Note.state == "published")))
    assert {int(i) for i in single[1]["stored"] if i != CURSOR_ID} == published


def test_rebuild_reports_a_failing_process(file_hub, monkeypatch) -> None:
    def broken(_note):
        raise ValueError("bad note")

    monkeypatch.setattr(indexer, "document", broken)
    store = IndexStore(str(file_hub / "broken"))
    with pytest.raises(RuntimeError, match="bad note"):
        indexer.rebuild(store, chunk=4, procs=2)
    assert store.current_target() == ""  # nothing swapped in


def test_rebuild_in_processes_of_an_empty_hub(make_app, tmp_path) -> None:
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'hub.sqlite'}", INDEX_DIR="index",
                   INSTANCE_PATH=str(tmp_path / "instance"))
    with app.app_context():
        store = IndexStore(str(tmp_path / "empty"))
        assert indexer.rebuild(store, procs=2) == 0  # one process gets the cursor, the other nothing
        assert indexer.read_cursor(store.open()) == 0
        db.session.remove()
