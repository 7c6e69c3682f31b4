"""Crafted paging tokens (API cursors, OAI-PMH resumptionTokens) get the documented refusals, never a 500;
and a 500 tells a reader what it means for a read."""
from __future__ import annotations

import base64
import json

import pytest
from lxml import etree

from blueprints.web.access import public
from hub.extensions import csrf

OAI = "{http://www.openarchives.org/OAI/2.0/}"


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize("raw", [
    '["published","2026-12-06T22:53:51",99999999999999999999999]',
    '["published","2026-12-06T22:53:51",Infinity]',
    '["published","2026-12-06T22:53:51",NaN]',
    '["published","2026-12-06T22:53:51",1e308]',
    '["published","2026-12-06T22:53:51",-9223372036854775809]',
    '["published","2026-12-06T22:53:51",2147483648]',
    '["published","2026-12-06T22:53:51",-5]',
    '["published","2026-12-06T22:53:51",true]',
    '["published","2026-12-06T22:53:51",1.5]',
    '["published","2026-12-06T22:53:51+05:00",1]',
    '["published",20261206,1]',
    '["published","2026-12-06T22:53:51"]',
])
def test_a_crafted_api_cursor_is_a_bad_cursor(client, hub, raw):
    response = client.get("/api/v1/notes?cursor=" + _b64(raw))
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["code"] == "bad_cursor"


def test_a_cursor_the_hub_wrote_still_pages(client, hub):
    first = client.get("/api/v1/notes?per_page=2").get_json()
    second = client.get(first["next"].removeprefix("http://hub.test"))
    assert second.status_code == 200 and len(second.get_json()["items"]) == 2


def _token(**changes) -> str:
    state = {"from": None, "until": None, "set": None, "after": ["2023-03-01T08:00:00", 1], "cursor": 2}
    return _b64(json.dumps({**state, **changes}, allow_nan=True))


@pytest.mark.parametrize("token", [
    _token(cursor=float("inf")),
    _token(cursor=1e308),
    _token(cursor=-5),
    _token(cursor="2"),
    _token(cursor=10**30),
    _token(after=["2026-12-06T22:00:00+05:00", 1]),
    _token(after=["2026-12-06T22:00:00", 10**30]),
    _token(after=["2026-12-06T22:00:00", float("inf")]),
    _token(after=["2026-12-06T22:00:00"]),
    _token(after=["2026-12-06T22:00:00", 1, 2]),
    _token(after="ab"),
    _token(**{"from": "yesterday"}),
    _b64("[" * 5000 + "]" * 5000),
])
def test_a_crafted_resumption_token_is_a_bad_resumption_token(client, hub, token):
    response = client.get(f"/oai?verb=ListRecords&resumptionToken={token}")
    assert response.status_code == 200, response.get_data(as_text=True)
    root = etree.fromstring(response.data)
    assert root.find(f"{OAI}error").get("code") == "badResumptionToken"
    assert root.find(f"{OAI}ListRecords") is None


@pytest.mark.parametrize("identifier", ["note/１", "note/01", "note/+1", "note/1 ", "note/0", "note/2147483648"])
def test_oai_identifiers_are_canonical(client, hub, identifier):
    note_id = hub.public[0].id
    assert note_id == 1
    root = etree.fromstring(client.get(
        f"/oai?verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:hub.test:{identifier}").data)
    assert root.find(f"{OAI}error").get("code") == "idDoesNotExist"
    found = etree.fromstring(client.get(
        f"/oai?verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:hub.test:note/{note_id}").data)
    assert found.find(f"{OAI}error") is None


@pytest.mark.parametrize("path", ["/api/v1/notes/01", "/api/v1/notes/１", "/notes/01", "/notes/１", "/notes/٣"])
def test_a_look_alike_id_in_a_path_names_no_note(client, hub, path):
    assert hub.public[0].id == 1 and client.get("/api/v1/notes/1").status_code == 200
    assert client.get(path).status_code == 404


@pytest.fixture
def failing_app(make_app):
    """A hub whose errors are answered as in production, with an API address that always fails."""
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @csrf.exempt
    @public
    def fails():
        raise RuntimeError("a bug")

    app.add_url_rule("/api/v1/test-fails", view_func=fails, methods=["GET", "POST"])
    return app


def test_a_500_tells_a_reader_nothing_about_publishing(failing_app):
    client = failing_app.test_client()
    read = client.get("/api/v1/test-fails")
    assert read.status_code == 500 and read.mimetype == "application/problem+json"
    assert "published" not in read.get_json()["detail"]
    assert read.get_json()["detail"] == "The hub had a problem answering this request. Try again in a moment."
    assert client.get("/api/v1/test-fails?lang=zh_Hans").get_json()["detail"] == "平台处理这个请求时出了问题。请稍后再试。"
    written = failing_app.test_client().post("/api/v1/test-fails")
    assert "Nothing you wrote was published" in written.get_json()["detail"]
