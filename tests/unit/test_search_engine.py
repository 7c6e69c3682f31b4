"""The array engine under search: every array agrees with Whoosh's own matchers and columns."""
from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter

import numpy as np
import pytest
from whoosh import query as q
from whoosh.filedb.filestore import RamStorage

from search_index import concepts, engine
from search_index.analysis import bilingual_analyzer, query_tokens
from search_index.engine import Leaf, Plan, Snapshot, Unit
from search_index.glossary import default_glossary
from search_index.postings import HubCodec, segment_arrays
from search_index.query import build, parse
from search_index.schema import FACETS, build_schema

BODIES = [
    "我们的美沙酮维持治疗门诊每天早上开门，服务对象排队喝药。",
    "Needle exchange on outreach: we met methadone clients and gave out naloxone.",
    "针具交换点的外展员遇到歧视，我们和服务对象一起讨论。",
    "Peer education for the people who use drugs, with MMT clinics nearby.",
    "她穿着和服来参加活动，讨论美沙酮和纳洛酮。",
    "Methadone methadone methadone: a note that says it three times.",
]


def _doc(number: int, body: str) -> dict:
    return {"id": str(number), "kind": "note", "title": f"标题 {number}", "summary": "summary words",
            "body": body, "visibility": "public" if number % 3 else "members",
            "topic": ",".join(["oat", "nsp"][: 1 + number % 2]), "population": "", "project": f"p{number % 2}",
            "province": "四川", "language": "en" if body.isascii() else "zh_Hans", "year": str(2020 + number % 3),
            "origin": "local", "published": dt.datetime(2024, 1, 1) + dt.timedelta(days=number)}


@pytest.fixture(params=["arrays file", "whoosh blocks"])
def snapshot(request):
    """Two segments and a deletion: the cases where document numbers need offsets and masks.

    Read once from the arrays files the hub's codec writes, once from Whoosh's blocks (a segment
    written without them): both must agree with Whoosh's matchers.
    """
    options = {"codec": HubCodec()} if request.param == "arrays file" else {}
    index = RamStorage().create_index(build_schema())
    writer = index.writer(**options)
    for number, body in enumerate(BODIES[:3]):
        writer.add_document(**_doc(number, body))
    writer.commit()
    writer = index.writer(**options)
    for number, body in enumerate(BODIES[3:], start=3):
        writer.add_document(**_doc(number, body))
    writer.add_document(id="__cursor__", kind="meta", cursor=7)
    writer.commit(merge=False)
    writer = index.writer(**options)
    writer.delete_by_term("id", "2")
    writer.commit(merge=False)
    searcher = index.searcher()
    segments = [segment for segment, _offset in searcher.ixreader.leaf_readers()]
    assert len(segments) == 2
    assert all((segment_arrays(segment) is not None) == bool(options) for segment in segments)
    yield searcher, Snapshot(searcher.ixreader)
    searcher.close()


def _public_docs(searcher, field_name, text):
    """Return Whoosh's own (documents, frequencies) for a term, deleted documents left out."""
    if (field_name, text) not in searcher.ixreader:
        return [], []
    matcher = searcher.ixreader.postings(field_name, text)
    boost = searcher.schema[field_name].format.field_boost
    docs, freqs = [], []
    while matcher.is_active():
        docs.append(matcher.id())
        freqs.append(matcher.weight() / boost)
        matcher.next()
    return docs, freqs


@pytest.mark.parametrize(("field_name", "text"), [("body", "美沙酮"), ("body", "methadon"), ("body", "~mmt"),
                                                  ("title", "标题"), ("body", "absent")])
def test_postings_match_whoosh_matchers(snapshot, field_name, text):
    searcher, snap = snapshot
    docs, freqs = snap.postings(field_name, text)
    expected_docs, expected_freqs = _public_docs(searcher, field_name, text)
    live = snap.live
    assert [int(d) for d in docs if live[d]] == expected_docs
    assert [float(f) for d, f in zip(docs, freqs) if live[d]] == expected_freqs


def test_a_word_said_three_times_has_frequency_three(snapshot):
    searcher, snap = snapshot
    docs, freqs = snap.postings("body", "methadon")
    by_id = {searcher.stored_fields(int(d))["id"]: float(f) for d, f in zip(docs, freqs)}
    assert by_id["5"] == 3.0 and by_id["1"] == 1.0


@pytest.mark.parametrize("tokens", [("美沙酮", "维持", "治疗"), ("needl", "exchang"), ("peer", "educ", "peopl"),
                                    ("和", "服务"), ("exchang", "needl")])
def test_phrases_match_whoosh_phrase_queries(snapshot, tokens):
    searcher, snap = snapshot
    docs, _counts = snap.leaf("body", Leaf(tokens))
    expected = sorted(searcher.docs_for_query(q.Phrase("body", list(tokens))))
    assert sorted(int(d) for d in docs if snap.live[d]) == expected


def test_lengths_publication_times_and_live_mask_match_the_reader(snapshot):
    searcher, snap = snapshot
    reader = searcher.ixreader
    for docnum in range(reader.doc_count_all()):
        assert snap.lengths("body")[docnum] == (reader.doc_field_length(docnum, "body") or 0)
    published = dict(zip(range(reader.doc_count_all()), snap.published))
    stored = {docnum: searcher.stored_fields(docnum).get("id") for docnum in range(reader.doc_count_all())}
    order = [stored[d] for d in sorted(published, key=published.get) if snap.live[d]]
    assert order == ["0", "1", "3", "4", "5"]  # 2 is deleted; the cursor is not a note
    assert int(np.count_nonzero(snap.live)) == 5


def test_facets_count_exactly_and_filters_narrow(snapshot):
    searcher, snap = snapshot
    found = snap.run(Plan(everything=True), public_only=False, filters={}, limit=10, newest=True)
    expected = Counter(t for d in found.docnums for t in searcher.stored_fields(d).get("topic", "oat").split(","))
    assert found.total == 5
    topic = dict(found.facets["topic"])
    assert topic["oat"] == 5 and topic["nsp"] == sum(1 for d in ("1", "3", "5"))
    assert expected  # stored fields do not hold topics: counted from the postings above
    narrowed = snap.run(Plan(everything=True), public_only=False, filters={"topic": "nsp"}, limit=10, newest=True)
    assert narrowed.total == 3 and dict(narrowed.facets["topic"]) == {"nsp": 3, "oat": 3}
    public = snap.run(Plan(everything=True), public_only=True, filters={}, limit=10, newest=True)
    assert sorted(searcher.stored_fields(d)["id"] for d in public.docnums) == ["1", "4", "5"]


def _counted_one_by_one(snap, matched):
    """Each facet's values among ``matched``, counted document by document from the facet's own rows."""
    found = {}
    for name in FACETS:
        facet = snap.facet(name)
        counts = Counter(facet.values[code] for doc in matched for code in facet.by_doc[doc] if code >= 0)
        found[name] = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return found


@pytest.mark.parametrize("bins", [engine._GROUP_BINS, 6])
def test_facet_counts_agree_with_counting_document_by_document(snapshot, monkeypatch, bins):
    """Every set of matching documents: single-valued facets combined in one column or several, and
    the audience's counts minus the others' when more than half of the audience matches."""
    monkeypatch.setattr(engine, "_GROUP_BINS", bins)
    _searcher, snap = snapshot
    for public_only in (False, True):
        audience = np.flatnonzero(snap.audience(public_only))
        assert len(audience) == (3 if public_only else 5)
        for size in range(len(audience) + 1):  # sizes past half the audience take the subtracting path
            for chosen in itertools.combinations(audience.tolist(), size):
                matched = np.asarray(chosen, dtype=np.int64)
                expected = _counted_one_by_one(snap, chosen)
                assert snap.facet_counts(matched, 50, among=public_only) == expected
                assert snap.facet_counts(matched, 50) == expected
    table = snap._facet_table
    assert [name for group in table.groups for name in group] == list(FACETS)
    # One column for all facets, or five when a group may hold six combinations: topics (three
    # sets: none, oat, oat and nsp), project and province, language and population (which has no
    # value), year, origin.
    assert len(table.columns) == (5 if bins == 6 else 1)


@pytest.mark.parametrize("values", [3, 1 << 31])  # rows read as one number, or too wide for that
def test_distinct_rows_number_every_row(values):
    rows = np.array([[0, 2], [-1, -1], [0, 2], [1, -1], [values - 1, 0], [1, -1]], dtype=np.int64)
    found, inverse = engine._distinct_rows(rows, values)
    assert len(found) == 4 and (found[inverse] == rows).all()


def test_newest_first_and_relevance_order(snapshot):
    searcher, snap = snapshot
    plan = build(parse("methadone"), glossary=None).plan
    newest = snap.run(plan, public_only=False, filters={}, limit=10, newest=True)
    assert [searcher.stored_fields(d)["id"] for d in newest.docnums] == ["5", "1"]
    best = snap.run(plan, public_only=False, filters={}, limit=1, newest=False)
    assert [searcher.stored_fields(d)["id"] for d in best.docnums] == ["5"] and best.total == 2


def test_and_or_and_exclusion(snapshot):
    searcher, snap = snapshot

    def ids(plan):
        found = snap.run(plan, public_only=False, filters={}, limit=10, newest=True)
        return sorted(searcher.stored_fields(d)["id"] for d in found.docnums)

    methadone, naloxone = Unit(((Leaf(("methadon",)),),)), Unit(((Leaf(("naloxon",)),),))
    assert ids(Plan(units=(methadone, naloxone))) == ["1"]
    assert ids(Plan(units=(methadone, naloxone), mode="or")) == ["1", "5"]
    assert ids(Plan(units=(methadone,), excluded=(naloxone,))) == ["5"]
    assert ids(Plan()) == []


def test_the_concept_token_stands_for_every_term_of_the_concept(snapshot):
    searcher, snap = snapshot
    found = snap.run(build(parse("美沙酮"), glossary=default_glossary()).plan, public_only=False, filters={},
                     limit=10, newest=True)
    # 美沙酮维持治疗 (0), methadone (1, 5), MMT (3), 美沙酮 (4)
    assert sorted(searcher.stored_fields(d)["id"] for d in found.docnums) == ["0", "1", "3", "4", "5"]
    plain = snap.run(build(parse("美沙酮"), glossary=None).plan, public_only=False, filters={}, limit=10, newest=True)
    assert sorted(searcher.stored_fields(d)["id"] for d in plain.docnums) == ["0", "4"]


def test_concept_tokens_are_indexed_at_the_term_and_never_in_queries():
    analyzer = bilingual_analyzer()
    tokens = [(t.text, t.pos, t.startchar, t.endchar) for t in
              analyzer("Our needle exchanges and methadone maintenance therapy", positions=True, chars=True)
              if concepts.is_concept_token(t.text)]
    assert ("~mmt", 3, 25, 54) in tokens and ("~nsp", 1, 4, 20) in tokens
    assert not [t for t in analyzer("美沙酮 needle exchange", mode="query") if concepts.is_concept_token(t.text)]
    assert not [t.text for t in analyzer("我们和服务对象一起讨论", positions=True) if t.text.startswith("~")
                and t.text != "~clients"]


def test_a_query_for_a_glossary_word_asks_for_its_concept_once():
    plan = build(parse("美沙酮"), glossary=default_glossary()).plan
    assert plan.units == (Unit(((Leaf(("~mmt",)),),)),)
    extended = default_glossary().with_rows([("mmt", "喝药", "")])
    alternatives = build(parse("美沙酮"), glossary=extended).plan.units[0].alternatives
    assert alternatives == ((Leaf(("~mmt",)),), (Leaf(tuple(query_tokens("喝药"))),))


def test_after_a_commit_only_the_new_segment_is_read(monkeypatch):
    from search_index import engine

    index = RamStorage().create_index(build_schema())
    with index.writer() as writer:
        for number, body in enumerate(BODIES):
            writer.add_document(**_doc(number, body))
    cache = engine.ArrayCache(1 << 20)
    plan = build(parse("methadone"), glossary=None).plan
    with index.searcher() as searcher:
        assert Snapshot(searcher.ixreader, cache=cache).run(plan, public_only=False, filters={}, limit=5,
                                                            newest=False).total == 2
    writer = index.writer()
    writer.delete_by_term("id", "5")
    writer.add_document(**_doc(9, "methadone again"))
    writer.commit(merge=False)
    read = []
    original = engine._postings
    monkeypatch.setattr(engine, "_postings", lambda segment, *args: read.append(segment) or original(segment, *args))
    with index.searcher() as searcher:
        found = Snapshot(searcher.ixreader, cache=cache).run(plan, public_only=False, filters={}, limit=5,
                                                             newest=False)
        assert sorted(searcher.stored_fields(d)["id"] for d in found.docnums) == ["1", "9"]
        newest = searcher.ixreader.leaf_readers()[-1][0]
    assert read and all(segment._segment.segment_id() == newest._segment.segment_id() for segment in read)


def test_one_character_stands_for_the_terms_that_contain_it(snapshot):
    searcher, snap = snapshot
    assert "沙" not in [t.text for t in bilingual_analyzer()("美沙酮", positions=True)]  # not indexed alone
    docs, freqs = snap.term("body", "沙")
    found = {searcher.stored_fields(int(d))["id"]: float(f) for d, f in zip(docs, freqs) if snap.live[d]}
    assert found == {"0": 1.0, "4": 1.0}
    keys = snap.term_positions("body", "沙")
    assert sorted({int(k) >> 32 for k in keys}) == sorted(int(d) for d in docs)


@pytest.mark.parametrize("tokens", [("美沙酮", "维持", "治疗"), ("needl", "exchang"), ("和", "服务")])
def test_phrases_read_positions_only_where_every_word_is_and_agree_with_full_positions(snapshot, tokens):
    searcher, snap = snapshot
    among = snap.leaf("body", Leaf(tokens))
    warm = Snapshot(searcher.ixreader)
    for token in tokens:
        warm.positions("body", token)  # every position read and cached: the other path
    full = warm.leaf("body", Leaf(tokens))
    assert [list(a) for a in among] == [list(a) for a in full]


def test_a_phrase_with_a_common_word_reads_its_positions_only_in_the_candidates():
    index = RamStorage().create_index(build_schema())
    with index.writer() as writer:
        for number in range(12):
            body = "the clinic opens early" if number else "the needle clinic; clinic needle"
            writer.add_document(**_doc(number, body))
    with index.searcher() as searcher:
        snap = Snapshot(searcher.ixreader)
        docs, counts = snap.leaf("body", Leaf(("needl", "clinic")))
        assert [searcher.stored_fields(int(d))["id"] for d in docs] == ["0"] and list(counts) == [1.0]
        assert not snap._cache.get((snap._segment_ids[0], "positions", "body", "clinic"))  # not read in full
        assert sorted(searcher.docs_for_query(q.Phrase("body", ["needl", "clinic"]))) == [int(d) for d in docs]
