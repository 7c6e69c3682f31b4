"""The JSON API (/api/v1) through HTTP: lists, filters, cursors, detail, vocabulary, validators, problems."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from hub import worker
from hub.extensions import db
from tests import catalogue
from tests.helpers import login


@pytest.fixture
def hub(app):
    return catalogue.build()


def _titles(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["title"] for item in response.get_json()["items"]]


def test_anonymous_callers_list_public_originals_newest_first(client, hub):
    titles = _titles(client.get("/api/v1/notes"))
    assert titles == [n.title for n in reversed(hub.public)]  # no partners, members, draft or translation


def test_a_signed_in_member_reads_members_and_partners_notes_too(client, hub):
    login(client, hub.member.username)
    titles = _titles(client.get("/api/v1/notes"))
    assert {hub.partners.title, hub.members.title} <= set(titles)
    assert hub.draft.title not in titles


@pytest.mark.parametrize("query, expected", [
    ("topic=peer-education", ["纳洛酮培训", "同伴值班"]),
    ("project=yunnan-outreach", ["纳洛酮培训", "Outreach in Kunming"]),
    ("place=昆明", ["纳洛酮培训", "Outreach in Kunming"]),
    ("place=云南", ["纳洛酮培训", "Outreach in Kunming"]),
    ("language=en", ["Outreach in Kunming"]),
    ("population=mmt-clients", ["同伴值班"]),
    ("topic=peer-education&project=chengdu-peer-centre", ["同伴值班"]),
    ("topic=no-such-topic", []),
])
def test_filters_narrow_the_list(client, hub, query, expected):
    assert _titles(client.get(f"/api/v1/notes?{query}")) == expected


def test_updated_since_lists_what_changed_at_or_after_a_moment(client, hub):
    since = (hub.public[3].updated_at).isoformat() + "Z"
    titles = _titles(client.get("/api/v1/notes", query_string={"updated_since": since, "order": "updated"}))
    # Oldest change here first, for syncing: 同伴值班 was published first, and changed last (its translation).
    assert titles == ["纳洛酮培训", "HIV检测外展", "同伴值班"]
    with_offset = dt.datetime(2024, 4, 15, 16, 0).isoformat() + "+08:00"  # 08:00 UTC, on the day of 纳洛酮培训
    titles = _titles(client.get("/api/v1/notes", query_string={"updated_since": with_offset}))
    assert "纳洛酮培训" in titles and "Outreach in Kunming" not in titles


def test_cursor_pages_cover_every_note_once_even_when_one_is_published_between_pages(client, hub):
    seen, url = [], "/api/v1/notes?per_page=2"
    first = client.get(url).get_json()
    seen += [item["id"] for item in first["items"]]
    catalogue.publish(hub.author, hub.moderator, "翻页时新发布")  # newest: belongs before the cursor
    url = first["next"]
    while url:
        page = client.get(url.removeprefix("http://hub.test")).get_json()
        assert page["per_page"] == 2
        seen += [item["id"] for item in page["items"]]
        url = page["next"]
    assert seen == [n.id for n in reversed(hub.public)]


def test_a_cursor_of_another_order_or_a_forged_one_is_a_problem(client, hub):
    page = client.get("/api/v1/notes?per_page=1").get_json()
    wrong_order = client.get(f"/api/v1/notes?order=updated&cursor={page['next_cursor']}")
    forged = client.get("/api/v1/notes?cursor=bm90IGEgY3Vyc29y")
    for response in (wrong_order, forged):
        assert response.status_code == 400
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["code"] == "bad_cursor"


def test_per_page_is_capped_and_the_limits_are_in_the_answer(app, client, hub):
    worker.run_once(app)  # the worker indexes the notes
    body = client.get("/api/v1/notes?per_page=500").get_json()
    assert body["per_page"] == 50
    assert body["limits"] == {"per_page_default": 20, "per_page_max": 50}
    search = client.get("/api/v1/search?q=同伴&per_page=500&page=5000").get_json()
    assert search["per_page"] == 50 and search["page"] == 1000
    assert search["limits"] == {"per_page_default": 10, "per_page_max": 50, "page_max": 1000}


def test_a_bad_parameter_is_a_problem_document_in_the_callers_language(client, hub):
    response = client.get("/api/v1/notes?per_page=lots&language=fr", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 400 and problem["type"] == "about:blank" and problem["code"] == "bad_parameter"
    assert [e["parameter"] for e in problem["errors"]] == ["language", "per_page"]
    assert "per_page" in problem["errors"][1]["detail"] and re.search(r"[\u4e00-\u9fff]", problem["title"])
    assert re.search(r"[\u4e00-\u9fff]", problem["detail"])
    english = client.get("/api/v1/notes?per_page=0", headers={"Accept-Language": "en"}).get_json()
    assert english["detail"] == "Check the parameter per_page: expected a whole number, at least 1."


@pytest.mark.parametrize("url, parameter, shown", [
    ("/api/v1/search?q=%00", "q", "q"), ("/api/v1/search?q=a%00b&page=2", "q", "q"),
    ("/api/v1/notes?topic=nsp%00", "topic", "topic"), ("/api/v1/notes?per_page=1%00", "per_page", "per_page"),
    ("/api/v1/projects?x%00y=1", "x\x00y", "x\\0y"),  # a NUL in the name: shown as \0 in the detail
])
def test_a_nul_byte_in_a_parameter_is_a_bad_parameter_naming_it(client, hub, url, parameter, shown):
    response = client.get(url, headers={"Accept-Language": "en"})
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["code"] == "bad_parameter" and [e["parameter"] for e in problem["errors"]] == [parameter]
    assert problem["detail"] == problem["errors"][0]["detail"] == (
        f"Check the parameter {shown}: it holds a NUL character, which the hub never accepts.")
    assert "Accept-Language" in response.headers["Vary"]  # an API answer like the others
    chinese = client.get(url, headers={"Accept-Language": "zh-CN"}).get_json()
    assert chinese["code"] == "bad_parameter" and re.search(r"[\u4e00-\u9fff]", chinese["detail"])


def test_a_nul_byte_in_an_api_path_is_a_bad_request_problem(client, hub):
    response = client.get("/api/v1/notes/%00")
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert "code" not in response.get_json()  # no parameter to name


def test_unknown_addresses_and_invisible_notes_are_404_problems(client, hub):
    for url in ("/api/v1/nothing-here", f"/api/v1/notes/{hub.members.id}", f"/api/v1/notes/{hub.draft.id}",
                "/api/v1/notes/99999999"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.mimetype == "application/problem+json" and response.get_json()["status"] == 404


def test_note_detail_has_sections_topics_translations_and_attachments(client, hub):
    import io

    from hub.services import attachments
    from tests.functional.test_attachments import jpeg_with_gps

    original = hub.public[0]
    hub.author.role = "moderator"  # an author may not add files to a published note; a moderator may
    attachments.add(original, by=hub.author, filename="门诊.jpg", stream=io.BytesIO(jpeg_with_gps()))
    db.session.commit()
    # A file added to a published note waits for review: readers, the API's included, do not see it yet.
    assert client.get(f"/api/v1/notes/{original.id}").get_json()["attachments"] == []
    for attachment in original.attachments:
        attachment.pending = False  # as when a moderator publishes the changes
    db.session.commit()
    body = client.get(f"/api/v1/notes/{original.id}").get_json()
    assert body["title"] == "同伴值班" and body["visibility"] == "public" and body["origin"] == "local"
    assert [s["key"] for s in body["sections"]] == ["context", "what_we_learned"]
    assert body["sections"][0]["text"] == "门诊在城郊。"
    assert {"slug": "oat", "name": {"zh_Hans": "美沙酮维持治疗 / 阿片类药物替代治疗",
                                    "en": "Methadone / opioid agonist therapy"}} in body["topics"]
    assert body["populations"][0]["slug"] == "mmt-clients"
    assert body["project"] == {"slug": "chengdu-peer-centre",
                               "name": {"zh_Hans": "成都同伴支持服务中心", "en": "Chengdu Peer Support Centre"}}
    assert [(t["language"], t["title"], t["outdated"]) for t in body["translations"]] == [("en", "Peer duty", False)]
    [attachment] = body["attachments"]
    assert attachment["url"] == f"http://hub.test/notes/{original.id}/attachments/{attachment['id']}"
    assert client.get(attachment["url"].removeprefix("http://hub.test")).status_code == 200  # public: anyone
    assert body["url"] == f"http://hub.test/notes/{original.id}" and body["published_at"] == "2023-03-01T08:00:00+00:00"
    translation = client.get(f"/api/v1/notes/{hub.translation.id}").get_json()
    assert translation["translation_of"] == original.id and translation["translations"] == []


def test_projects_topics_and_populations_in_both_languages(client, hub):
    projects = client.get("/api/v1/projects").get_json()["items"]
    assert [p["slug"] for p in projects] == ["chengdu-peer-centre", "yunnan-outreach"]
    assert projects[1]["name"] == {"zh_Hans": "云南外展小组", "en": "Yunnan Outreach Group"}
    assert projects[1]["notes_url"] == "http://hub.test/api/v1/notes?project=yunnan-outreach"
    topics = {t["slug"]: t for t in client.get("/api/v1/topics").get_json()["items"]}
    assert topics["nsp"]["name"] == {"zh_Hans": "针具交换", "en": "Needle and syringe programmes"}
    populations = client.get("/api/v1/populations").get_json()["items"]
    assert "msm" in {p["slug"] for p in populations} and "nsp" not in {p["slug"] for p in populations}


@pytest.mark.parametrize("url", ["/api/v1/", "/api/v1/notes", "/api/v1/notes/{id}", "/api/v1/projects",
                                 "/api/v1/topics", "/api/v1/populations", "/api/v1/search?q=同伴",
                                 "/api/v1/openapi.json"])
def test_every_get_has_validators_and_answers_304_when_nothing_changed(app, client, hub, url):
    worker.run_once(app)
    url = url.format(id=hub.public[0].id)
    first = client.get(url)
    assert first.status_code == 200 and first.headers["ETag"] and "Last-Modified" not in first.headers
    assert client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    assert "Accept-Language" in first.headers["Vary"] and "Authorization" in first.headers["Vary"]


def test_an_edit_changes_the_etag(client, hub):
    note = hub.public[-1]
    first = client.get(f"/api/v1/notes/{note.id}")
    note.summary = "改过的摘要。"
    note.updated_at = note.published_at + dt.timedelta(days=1)
    db.session.commit()
    second = client.get(f"/api/v1/notes/{note.id}", headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200 and second.get_json()["summary"] == "改过的摘要。"


def test_search_answers_in_the_documented_shape(app, client, hub):
    worker.run_once(app)
    body = client.get("/api/v1/search?q=外展&expand=0").get_json()
    assert set(body) == {"total", "page", "per_page", "results", "facets", "expansions", "limits"}
    assert [hit["title"] for hit in body["results"]] == ["HIV检测外展"]
    assert body["results"][0]["api_url"] == f"http://hub.test/api/v1/notes/{hub.public[-1].id}"
    assert client.get("/api/v1/search?sort=sideways").status_code == 400


@pytest.mark.parametrize("query", ["同伴", "外展&expand=0", "outreach&lang=en", "&sort=newest", "nothing-like-this"])
def test_the_search_answer_is_what_its_schema_dumps(app, client, hub, query):
    """The view builds the answer as it goes out; the schema the OpenAPI document shows must make the same of it."""
    from blueprints.api import schemas

    worker.run_once(app)
    body = client.get(f"/api/v1/search?q={query}").get_json()
    assert set(body) == set(schemas.SearchResult().fields)
    assert all(set(hit) == set(schemas.SearchHit().fields) for hit in body["results"])
    parsed = {**body, "results": [{**hit, "published_at": dt.datetime.fromisoformat(hit["published_at"])}
                                  for hit in body["results"]]}
    assert schemas.SearchResult().dump(parsed) == body
    assert body["results"] or query == "nothing-like-this"
    assert any(body["facets"].values()) or query == "nothing-like-this"
    links = [hit["url"] for hit in body["results"]]
    assert links == [f"http://hub.test/notes/{hit['id']}" for hit in body["results"]]


def test_result_links_follow_the_script_root_of_each_request(app, client, hub):
    """Links to hits are built from one link per request: a hub mounted under /hub and at / alike."""
    worker.run_once(app)
    under = client.get("/api/v1/search?q=同伴", base_url="http://hub.test/hub/").get_json()["results"]
    at_root = client.get("/api/v1/search?q=同伴").get_json()["results"]
    assert under and [hit["id"] for hit in under] == [hit["id"] for hit in at_root]
    assert [hit["api_url"] for hit in under] == [f"http://hub.test/hub/api/v1/notes/{hit['id']}" for hit in under]
    assert [hit["url"] for hit in at_root] == [f"http://hub.test/notes/{hit['id']}" for hit in at_root]


def test_a_repeated_word_lists_each_expansion_once_in_first_seen_order(app, client, hub):
    worker.run_once(app)
    once = client.get("/api/v1/search", query_string={"q": "美沙酮"}).get_json()["expansions"]
    assert once and len(once) == len(set(once))
    repeated = client.get("/api/v1/search", query_string={"q": " ".join(["美沙酮"] * 700)}).get_json()["expansions"]
    assert repeated == once
    both = client.get("/api/v1/search", query_string={"q": "美沙酮 针具交换 美沙酮"}).get_json()["expansions"]
    assert both[:len(once)] == once and len(both) == len(set(both)) > len(once)


def test_a_note_approved_after_a_sync_is_in_the_next_one(client, app, contributor, moderator):
    """A partner syncs with updated_since = its last sync: a note written before and published after
    must be in the next sync, with a date that is not before it."""
    from hub.services import notes

    note = notes.create_draft(author=contributor, data=notes.NoteInput(
        title="同步之前写的", summary="s", body="b", language="zh_Hans", visibility="public"))
    notes.submit(note, by=contributor)
    db.session.commit()
    last_sync = dt.datetime.now(dt.timezone.utc).isoformat()
    assert _titles(client.get("/api/v1/notes", query_string={"updated_since": last_sync})) == []
    notes.approve(note, by=moderator)
    answer = client.get("/api/v1/notes", query_string={"updated_since": last_sync, "order": "updated"})
    assert _titles(answer) == ["同步之前写的"]
    assert answer.get_json()["items"][0]["updated_at"] >= last_sync[:19]
