"""The segments' arrays files: the same postings as Whoosh's blocks would hold, for new, merged and rebuilt
segments, and the only copy of them (Whoosh reads its postings from them too)."""
from __future__ import annotations

import datetime as dt
import gc
import os

import numpy as np
import pytest
from whoosh import index as whoosh_index
from whoosh import query as q

from search_index.engine import Snapshot
from search_index.postings import EXT, HubCodec, RawPositions, segment_arrays
from search_index.schema import build_schema
from tests.helpers import assert_arrays_match_blocks, whoosh_postings

BODIES = [
    "我们的美沙酮维持治疗门诊每天早上开门，服务对象排队喝药。美沙酮。",
    "Needle exchange on outreach: we met methadone clients and gave out naloxone.",
    "针具交换点的外展员遇到歧视，我们和服务对象一起讨论药物。",
    "Peer education for the people who use drugs, with MMT clinics nearby. Peer peer.",
]


def _doc(number: int) -> dict:
    body = BODIES[number % len(BODIES)]
    return {"id": str(number), "kind": "note", "title": f"标题 {number} title", "summary": "同伴 summary",
            "body": body, "visibility": "public", "topic": "oat,nsp" if number % 2 else "oat",
            "population": "", "project": f"p{number % 3}", "province": "四川", "language": "zh_Hans",
            "year": str(2020 + number % 2), "origin": "local",
            "published": dt.datetime(2024, 1, 1) + dt.timedelta(days=number)}


def _index(tmp_path, batches: list[range], **commit):
    tmp_path.mkdir(exist_ok=True)
    index = whoosh_index.create_in(str(tmp_path), build_schema())
    for batch in batches:
        writer = index.writer(codec=HubCodec(), compound=False)
        for number in batch:
            writer.add_document(**_doc(number))
        writer.commit(**commit)
    return index


def _reference(tmp_path, numbers):
    """Return one segment of the documents ``numbers`` written with Whoosh's own codec: its blocks."""
    folder = tmp_path / "reference"
    folder.mkdir()
    index = whoosh_index.create_in(str(folder), build_schema())
    with index.writer(compound=False) as writer:
        for number in numbers:
            writer.add_document(**_doc(number))
    return index.reader()  # one segment: its reader


def test_raw_positions_encode_as_uint32_and_decode_back():
    fmt = RawPositions(field_boost=2.0)
    value = fmt.encode([0, 7, 70000])
    assert value == np.asarray([0, 7, 70000], dtype="<u4").tobytes()
    assert fmt.decode_positions(value) == [0, 7, 70000]
    assert fmt.decode_frequency(value) == 3 and fmt.decode_weight(value) == 6.0


def test_every_term_of_a_file_on_disk_matches_whooshs_blocks(tmp_path):
    index = _index(tmp_path / "hub", [range(0, 300)])
    with index.reader() as reader:
        (segment, _offset), = reader.leaf_readers()
        assert assert_arrays_match_blocks(segment, _reference(tmp_path, range(0, 300))) > 300  # many runs of 64 terms
        assert not os.path.getsize(tmp_path / "hub" / (segment._segment.segment_id() + ".pst"))  # the only copy
        arrays = segment_arrays(segment)
        assert arrays.postings("title", b"\x00") is None and arrays.postings("title", b"\xff") is None
        # Read from the file in the folder (the page cache, shared by processes), not held in memory.
        assert segment_arrays(segment).field("body")._source._fd is not None


def test_a_merged_segment_gets_its_file_and_the_merged_away_files_are_deleted(tmp_path):
    index = _index(tmp_path, [range(0, 40), range(40, 80), range(80, 120)], merge=False)
    with index.reader() as reader:
        old = {segment._segment.segment_id() for segment, _offset in reader.leaf_readers()}
    assert len(old) == 3
    writer = index.writer(codec=HubCodec(), compound=False)
    writer.delete_by_term("id", "5")
    writer.commit(optimize=True)
    with index.reader() as reader:
        (segment, _offset), = reader.leaf_readers()
        assert assert_arrays_match_blocks(segment, _reference(tmp_path, [n for n in range(0, 120) if n != 5])) > 50
        assert reader.doc_count() == 119
    files = set(index.storage.list())
    assert not {name for name in files if name.endswith(EXT) and name[:-len(EXT)] in old}
    assert segment._segment.segment_id() + EXT in files


def test_positions_among_some_documents_and_characters_inside_terms(tmp_path):
    index = _index(tmp_path, [range(0, 60)])
    with index.reader() as reader:
        (segment, _offset), = reader.leaf_readers()
        arrays = segment_arrays(segment)
        every = arrays.positions("body", "peer")
        among = np.asarray([3, 7, 30, 59], dtype=np.int32)
        part = arrays.positions("body", "peer", among)
        assert part.tolist() == [key for key in every.tolist() if key >> 32 in among.tolist()]
        assert len(part) == 3 * 3  # "Peer … Peer peer" in notes 3, 7 and 59 (30 has another body)
        # 药 occurs inside 喝药 or 药物, never alone: it stands for every term that holds it.
        holding = [term for term in segment.lexicon("body") if "药".encode() in term]
        assert len(holding) >= 2
        expected = sorted({key for term in holding for key in arrays.positions("body", term.decode()).tolist()})
        assert arrays.character_positions("body", "药").tolist() == expected
        assert arrays.positions("body", "absent").tolist() == []
        assert arrays.postings("body", "absent") is None


def test_whoosh_phrase_queries_still_read_the_uint32_positions(tmp_path):
    index = _index(tmp_path, [range(0, 20)])
    with index.searcher() as searcher:
        found = {searcher.stored_fields(d)["id"] for d in searcher.docs_for_query(q.Phrase("body", ["needl", "exchang"]))}
    assert found == {str(n) for n in range(20) if n % 4 == 1}


def test_a_segment_written_without_the_codec_has_no_file(tmp_path):
    index = whoosh_index.create_in(str(tmp_path), build_schema())
    with index.writer() as writer:
        writer.add_document(**_doc(1))
    with index.reader() as reader:
        (segment, _offset), = reader.leaf_readers()
        assert segment_arrays(segment) is None


@pytest.mark.parametrize("field_name", ["topic", "project", "year"])
def test_facet_values_come_with_their_documents(tmp_path, field_name):
    index = _index(tmp_path, [range(0, 12)])
    with index.reader() as reader:
        (segment, _offset), = reader.leaf_readers()
        values, docs, codes = segment_arrays(segment).values(field_name)
        pairs = sorted((int(d), values[c]) for d, c in zip(docs, codes))
        expected = sorted((d, term.decode()) for term in segment.lexicon(field_name)
                          for d in whoosh_postings(segment, field_name, term)[0])
        assert pairs == expected and pairs


def test_whooshs_own_blocks_are_the_same_with_the_hub_codec(tmp_path):
    """The codec reads field lengths its own way (one read per column): Whoosh's block statistics agree."""
    (tmp_path / "hub").mkdir()
    (tmp_path / "plain").mkdir()
    ours = _index(tmp_path / "hub", [range(0, 200)])
    plain = whoosh_index.create_in(str(tmp_path / "plain"), build_schema())
    with plain.writer(compound=False) as writer:
        for number in range(0, 200):
            writer.add_document(**_doc(number))
    with ours.reader() as a, plain.reader() as b:
        compared = 0
        for field_name in ("title", "summary", "body", "topic"):
            assert list(a.lexicon(field_name)) == list(b.lexicon(field_name))
            for term in a.lexicon(field_name):
                one, other = a.term_info(field_name, term), b.term_info(field_name, term)
                assert (one.min_length(), one.max_length(), one.max_weight(), one.doc_frequency()) == \
                    (other.min_length(), other.max_length(), other.max_weight(), other.doc_frequency())
                compared += 1
        assert compared > 100


def test_a_damaged_file_makes_its_segment_unreadable_with_a_warning(tmp_path, caplog):
    """The arrays file is the only copy of a segment's postings: cut short, the index cannot be read
    (the worker then rebuilds it, see tests/functional/test_search_index_recovery.py)."""
    index = _index(tmp_path, [range(0, 30)])
    (name,) = [path for path in tmp_path.iterdir() if path.name.endswith(EXT)]
    name.write_bytes(name.read_bytes()[:200])  # cut short, as a full disk would leave it
    with pytest.raises(OSError, match="missing or damaged"):
        index.reader()
    assert "cannot read" in caplog.text


def _open_arrays_files(folder) -> list[str]:
    """Return the arrays files under ``folder`` that this process holds open (other tests' may be open too)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # the listing's own descriptor, closed by now
            continue
        if target.endswith(EXT) and target.startswith(str(folder)):
            found.append(target)
    return found


def test_a_segment_file_stays_open_while_a_reader_holds_it_then_is_closed(tmp_path):
    index = _index(tmp_path, [range(0, 10)])
    reader = index.reader()
    snapshot = Snapshot(reader)
    assert snapshot.postings("body", "peer")[0].tolist()
    assert len(_open_arrays_files(tmp_path)) == 1
    del snapshot
    reader.close()
    del reader
    gc.collect()
    assert _open_arrays_files(tmp_path) == []  # a merged-away or rebuilt-away segment's space is given back
