"""The API's description: an OpenAPI 3.1 document generated from the routes, and its page (no CDN, translated)."""
from __future__ import annotations

import re

from blueprints.api.openapi import documented_endpoints


def test_the_document_is_openapi_3_1_and_describes_every_api_read(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    described = {op["operationId"] for item in document["paths"].values() for op in item.values()}
    api_reads = {rule.endpoint.replace(".", "_") for rule in app.url_map.iter_rules()
                 if rule.endpoint.startswith("api.") and "GET" in rule.methods}
    assert api_reads - described == {"api_openapi", "api_docs"}  # the description itself is not described
    assert set(documented_endpoints(app)) == {name.replace("_", ".", 1) for name in described}


def test_the_document_states_the_limits_and_the_token_scheme(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": "A personal or organisation API token (not a feed token)"}
    notes = document["paths"]["/api/v1/notes"]["get"]
    per_page = next(p for p in notes["parameters"] if p["name"] == "per_page")
    assert per_page["schema"]["minimum"] == 1 and "values above 50 are read as 50" in per_page["description"]
    search = document["paths"]["/api/v1/search"]["get"]
    page = next(p for p in search["parameters"] if p["name"] == "page")
    assert "Pages after 1000 are read as page 1000" in page["description"]
    assert "per_page is at most 50" in document["info"]["description"]
    assert notes["responses"]["400"]["content"] == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert set(notes["responses"]["200"]["headers"]) >= {"ETag", "RateLimit-Remaining"}
    assert "Last-Modified" not in notes["responses"]["200"]["headers"]


def test_the_document_is_in_the_callers_language(client):
    chinese = client.get("/api/v1/openapi.json", headers={"Accept-Language": "zh-CN"}).get_json()
    assert chinese["info"]["title"] == "经验交流平台 API"
    assert chinese["paths"]["/api/v1/notes"]["get"]["summary"] == "列出已发布的笔记：筛选、稳定排序、游标分页"


def test_the_reference_page_renders_the_document_without_outside_assets(client):
    page = client.get("/api/v1/docs?lang=zh_Hans")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "API 参考" in html and "<code>GET /api/v1/notes</code>" in html and 'id="schema-NoteDetail"' in html
    assert "列出已发布的笔记" in html and "每页笔记数；超过 50 时按 50 处理" in html
    assert "<script" not in html.split("</head>")[1]  # the page needs no script at all
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert not re.match(r"^(https?:)?//", url), url
    english = client.get("/api/v1/docs?lang=en").get_data(as_text=True)
    assert "API reference" in english and "List published notes" in english
