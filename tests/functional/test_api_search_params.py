"""The search API's parameters: ``lang`` picks the language of messages only, ``language`` filters, ``year`` is checked."""
from __future__ import annotations

import pytest



def _ids(client, query: str) -> list[int]:
    response = client.get("/api/v1/search?" + query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [hit["id"] for hit in response.get_json()["results"]]


@pytest.mark.parametrize("lang", ["fr", "en", "zh_Hans", "zh"])
def test_lang_chooses_the_language_of_messages_never_the_notes(client, hub, lang):
    everything = _ids(client, "q=同伴")
    assert len(everything) == 4  # Chinese notes; none in English holds 同伴
    assert _ids(client, f"q=同伴&lang={lang}") == everything


def test_language_filters_and_lang_words_the_refusal(client, hub):
    assert _ids(client, "q=outreach&language=en") == [hub.public[2].id]
    assert _ids(client, "q=同伴&language=en") == []
    refused = client.get("/api/v1/search?q=同伴&language=fr&lang=zh_Hans")
    assert refused.status_code == 400 and refused.get_json()["errors"][0]["parameter"] == "language"
    assert "检查参数" in refused.get_json()["detail"] or "参数" in refused.get_json()["detail"]


@pytest.mark.parametrize("year", ["abc", "-1", "0", "20233", "２０２３", "0999", ""])
def test_a_year_that_is_not_one_is_a_bad_parameter(client, hub, year):
    response = client.get(f"/api/v1/search?q=同伴&year={year}")
    if year == "":
        assert response.status_code == 200  # an empty filter narrows nothing, as on the search page
        return
    assert response.status_code == 400
    body = response.get_json()
    assert body["code"] == "bad_parameter" and body["errors"][0]["parameter"] == "year"
    assert "a year of four digits" in body["detail"]


def test_a_year_filters_the_search(client, hub):
    assert sorted(_ids(client, "q=同伴&year=2023")) == [hub.public[0].id, hub.public[1].id]
    assert _ids(client, "q=同伴&year=2031") == []


def test_the_document_says_what_lang_language_and_year_are(client):
    search = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/search"]["get"]
    parameters = {p["name"]: p for p in search["parameters"]}
    assert "lang" not in parameters
    assert "lang= chooses the language of messages" in parameters["language"]["description"]
    assert parameters["year"]["schema"]["pattern"] == "^([1-9][0-9]{3})?$"
