"""OAI-PMH 2.0: full and incremental harvests by an independent harvester (Sickle), and the protocol's rules."""
from __future__ import annotations

import datetime as dt
import re
import threading
import time
from urllib.parse import urlencode

import pytest
from lxml import etree
from sickle import Sickle
from sickle import oaiexceptions
from sickle.iterator import OAIResponseIterator
from werkzeug.serving import make_server

from hub import worker
from hub.extensions import db
from hub.services import notes
from tests import catalogue

OAI = "{http://www.openarchives.org/OAI/2.0/}"
UTC_SECOND = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


@pytest.fixture
def oai_hub(make_app, tmp_path):
    """Serve a hub with the catalogue's notes on a local port; two records per answer."""
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'oai.sqlite'}", OAI_PAGE_SIZE=2)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with app.app_context():
            made = catalogue.build()
            worker.run_once(app)
            yield app, made, Sickle(f"http://127.0.0.1:{server.server_port}/oai", max_retries=0, timeout=10)
            db.session.remove()
    finally:
        server.shutdown()
        thread.join(timeout=5)


def _id(note) -> str:
    return f"oai:hub.test:note/{note.id}"


def test_identify_describes_a_repository_with_persistent_deletions(oai_hub):
    _app, _made, sickle = oai_hub
    identify = sickle.Identify()
    assert identify.repositoryName == "Practice Exchange Hub"
    assert identify.baseURL == "http://hub.test/oai" and identify.protocolVersion == "2.0"
    assert identify.deletedRecord == "persistent" and identify.granularity == "YYYY-MM-DDThh:mm:ssZ"
    assert identify.adminEmail == "admin@hub.test" and UTC_SECOND.match(identify.earliestDatestamp)


def test_a_full_harvest_gets_every_public_original_in_oai_dc_across_pages(oai_hub):
    _app, made, sickle = oai_hub
    records = list(sickle.ListRecords(metadataPrefix="oai_dc"))
    assert sorted(r.header.identifier for r in records) == sorted(_id(n) for n in made.public)
    assert all(not r.deleted and UTC_SECOND.match(r.header.datestamp) for r in records)
    first = next(r for r in records if r.header.identifier == _id(made.public[0]))
    assert first.metadata["title"] == ["同伴值班"] and first.metadata["description"] == ["同伴值班：摘要。"]
    assert first.metadata["creator"] == ["成都同伴支持服务中心", "Chengdu Peer Support Centre"]
    assert {"同伴教育", "Peer education", "Methadone / opioid agonist therapy"} <= set(first.metadata["subject"])
    assert first.metadata["language"] == ["zh-Hans"] and first.metadata["date"] == ["2023-03-01"]
    assert first.metadata["identifier"] == [f"http://hub.test/notes/{made.public[0].id}"]
    assert first.metadata["rights"] == ["Rights remain with the project named as creator; ask it before reuse."]
    assert sorted(first.header.setSpecs) == ["project:chengdu-peer-centre", "topic:oat", "topic:peer-education"]


def test_an_incremental_harvest_gets_changes_and_deletions_since_the_last(oai_hub):
    app, made, sickle = oai_hub
    list(sickle.ListIdentifiers(metadataPrefix="oai_dc"))
    time.sleep(1.05)  # datestamps have second granularity: the next changes fall in a later second
    since = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    notes.unpublish(made.public[1], by=made.moderator, reason="退回")
    notes.narrow_visibility(made.public[2], by=made.moderator, visibility="partners")
    notes.delete(made.public[4], by=made.author)
    fresh = catalogue.publish(made.author, made.moderator, "新的实践")
    worker.run_once(app)
    changed = {r.header.identifier: r for r in sickle.ListRecords(metadataPrefix="oai_dc", **{"from": since})}
    gone = [made.public[1], made.public[2], made.public[4]]
    assert set(changed) == {_id(n) for n in gone} | {_id(fresh)}
    assert [changed[_id(n)].deleted for n in gone] == [True, True, True]
    assert not hasattr(changed[_id(made.public[4])], "metadata") and changed[_id(fresh)].metadata["title"] == ["新的实践"]
    # The deletions persist: a later full harvest still lists them as deleted, and GetRecord says so.
    everything = list(sickle.ListIdentifiers(metadataPrefix="oai_dc"))
    assert sum(1 for h in everything if h.deleted) == 3
    assert sickle.GetRecord(identifier=_id(made.public[4]), metadataPrefix="oai_dc").deleted


def test_a_deleted_records_header_names_no_topic_or_project_it_was_in(oai_hub):
    app, made, sickle = oai_hub
    hiv = made.public[4]  # "HIV检测外展": topic hiv-testing, the author's project
    notes.unpublish(hiv, by=made.moderator, reason="退回")
    worker.run_once(app)
    [header] = [h for h in sickle.ListIdentifiers(metadataPrefix="oai_dc") if h.identifier == _id(hiv)]
    assert header.deleted and header.setSpecs == []
    record = sickle.GetRecord(identifier=_id(hiv), metadataPrefix="oai_dc")
    assert record.deleted and record.header.setSpecs == []
    # The XML itself, not only what Sickle reads of it: no other public note is about HIV testing.
    assert "hiv-testing" not in "".join(r.raw for r in sickle.ListRecords(metadataPrefix="oai_dc"))
    # A harvester that harvests by topic still hears of the deletion there, so it can drop its copy.
    by_topic = list(sickle.ListIdentifiers(metadataPrefix="oai_dc", set="topic:hiv-testing"))
    assert [(h.identifier, h.deleted, h.setSpecs) for h in by_topic] == [(_id(hiv), True, [])]
    live = sickle.GetRecord(identifier=_id(made.public[0]), metadataPrefix="oai_dc")
    assert sorted(live.header.setSpecs) == ["project:chengdu-peer-centre", "topic:oat", "topic:peer-education"]


def test_sets_are_topics_and_projects_named_in_both_languages(oai_hub):
    _app, made, sickle = oai_hub
    sets = {s.setSpec: s.setName for s in sickle.ListSets()}
    assert sets["topic:nsp"] == "针具交换 / Needle and syringe programmes"
    assert sets["project:yunnan-outreach"] == "云南外展小组 / Yunnan Outreach Group" and "topic" in sets
    by_topic = sickle.ListIdentifiers(metadataPrefix="oai_dc", set="topic:peer-education")
    assert sorted(h.identifier for h in by_topic) == sorted([_id(made.public[0]), _id(made.public[3])])
    by_project = sickle.ListIdentifiers(metadataPrefix="oai_dc", set="project:yunnan-outreach")
    assert sorted(h.identifier for h in by_project) == sorted([_id(made.public[2]), _id(made.public[3])])
    assert len(list(sickle.ListIdentifiers(metadataPrefix="oai_dc", set="topic"))) == 5


def test_get_record_and_metadata_formats(oai_hub):
    _app, made, sickle = oai_hub
    record = sickle.GetRecord(identifier=_id(made.public[2]), metadataPrefix="oai_dc")
    assert record.metadata["language"] == ["en"] and record.metadata["title"] == ["Outreach in Kunming"]
    formats = list(sickle.ListMetadataFormats(identifier=_id(made.public[2])))
    assert [f.metadataPrefix for f in formats] == ["oai_dc"]


@pytest.mark.parametrize("kwargs, code", [
    ({"verb": "GetRecord", "identifier": "oai:hub.test:note/99999", "metadataPrefix": "oai_dc"},
     "idDoesNotExist"),
    ({"verb": "GetRecord", "identifier": "urn:other", "metadataPrefix": "oai_dc"}, "idDoesNotExist"),
    ({"verb": "ListRecords", "metadataPrefix": "marc21"}, "cannotDisseminateFormat"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2099-01-01"}, "noRecordsMatch"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "topic:no-such"}, "noRecordsMatch"),
    ({"verb": "ListRecords", "resumptionToken": "bm9wZQ"}, "badResumptionToken"),
    ({"verb": "ListSets", "resumptionToken": "x"}, "badResumptionToken"),
    ({"verb": "ListRecords"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2024-13-01"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2024-01-01T00:00:00"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2024-01-01",
      "until": "2024-02-01T00:00:00Z"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2024-02-01", "until": "2024-01-01"},
     "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "resumptionToken": "x"}, "badArgument"),
    ({"verb": "Identify", "extra": "1"}, "badArgument"),
    ({"verb": "Harvest"}, "badVerb"),
])
def test_protocol_errors_carry_their_codes(client, app, kwargs, code):
    root = _answer(client, "?" + urlencode(kwargs))
    assert root.find(f"{OAI}error").get("code") == code
    assert root.find(f"{OAI}{kwargs['verb']}") is None  # an error answer holds nothing else


def test_the_harvester_reads_the_error_codes(oai_hub):
    _app, _made, sickle = oai_hub
    with pytest.raises(oaiexceptions.IdDoesNotExist):
        sickle.GetRecord(identifier="oai:hub.test:note/99999", metadataPrefix="oai_dc")
    with pytest.raises(oaiexceptions.BadArgument):
        OAIResponseIterator(sickle, {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "yesterday"})


def _answer(client, query: str = "", method: str = "GET"):
    response = client.open(f"/oai{query}", method=method)
    assert response.status_code == 200 and response.content_type == "text/xml; charset=utf-8"
    return etree.fromstring(response.data)


def test_bad_verbs_and_arguments_answer_with_the_bare_base_url(client, app):
    for query in ("", "?verb=Nope", "?verb=Identify&verb=Identify", "?verb=Identify&x=1"):
        root = _answer(client, query)
        assert root.find(f"{OAI}error").get("code") in ("badVerb", "badArgument")
        request = root.find(f"{OAI}request")
        assert request.text == "http://hub.test/oai" and dict(request.attrib) == {}
        assert UTC_SECOND.match(root.find(f"{OAI}responseDate").text)


def test_a_harvester_may_post_its_request(client, app):
    root = etree.fromstring(client.post("/oai", data={"verb": "Identify"}).data)
    assert root.find(f"{OAI}Identify/{OAI}protocolVersion").text == "2.0"
    assert root.find(f"{OAI}request").get("verb") == "Identify"


def test_resumption_tokens_carry_the_list_size_and_cursor(client, make_app):
    app = make_app(OAI_PAGE_SIZE=2)
    with app.app_context():
        catalogue.build()
        worker.run_once(app)
        reader = app.test_client()
        first = _answer(reader, "?verb=ListIdentifiers&metadataPrefix=oai_dc").find(f"{OAI}ListIdentifiers")
        token = first.find(f"{OAI}resumptionToken")
        assert (token.get("completeListSize"), token.get("cursor")) == ("5", "0") and token.text
        second = _answer(reader, f"?verb=ListIdentifiers&resumptionToken={token.text}").find(f"{OAI}ListIdentifiers")
        assert second.find(f"{OAI}resumptionToken").get("cursor") == "2"
        db.session.remove()


ILLEGAL_ARGUMENTS = {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2024-01-01", "until": "2024-02-01",
                     "set": "topic:nsp", "identifier": "oai:hub.test:note/1", "resumptionToken": "bm9wZQ"}


@pytest.mark.parametrize("character", ["%00", "%ED%A0%80", "%ED%B0%80", "%01", "%EF%BF%BE"],
                         ids=["nul", "lone-high-surrogate", "lone-low-surrogate", "control", "non-character"])
@pytest.mark.parametrize("name", sorted(ILLEGAL_ARGUMENTS))
@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("lang", ["zh_Hans", "en"])
def test_an_argument_with_a_character_xml_cannot_carry_is_a_bad_argument(client, app, name, character, method,
                                                                          lang):
    verb = {"identifier": "GetRecord", "resumptionToken": "ListRecords"}.get(name, "ListRecords")
    arguments = {"verb": verb, **({"metadataPrefix": "oai_dc"} if name != "resumptionToken" else {})}
    query = "&".join(f"{k}={v}" for k, v in arguments.items() if k != name)
    query += f"&{name}={ILLEGAL_ARGUMENTS[name][:3]}{character}{ILLEGAL_ARGUMENTS[name][3:]}"
    headers = {"Accept-Language": "zh-CN" if lang == "zh_Hans" else "en"}
    if method == "GET":
        response = client.get(f"/oai?{query}", headers=headers)
    else:
        response = client.post("/oai", data=query, content_type="application/x-www-form-urlencoded", headers=headers)
    assert response.status_code == 200 and response.content_type == "text/xml; charset=utf-8"
    root = etree.fromstring(response.data)
    error = root.find(f"{OAI}error")
    assert error.get("code") == "badArgument"
    assert ("字符" in error.text) if lang == "zh_Hans" else ("character" in error.text)
    assert dict(root.find(f"{OAI}request").attrib) == {}  # nothing of the argument is echoed


def test_an_argument_name_with_a_nul_is_a_bad_argument(client, app):
    root = _answer(client, "?verb=Identify&x%00y=1")
    assert root.find(f"{OAI}error").get("code") == "badArgument"
