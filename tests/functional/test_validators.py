"""Conditional GET never keeps a note a client should drop: a list's validator moves when a note is taken down."""
from __future__ import annotations

import pytest
from werkzeug.http import http_date

from hub import worker
from hub.services import notes


def _held(client, url: str) -> dict[str, str]:
    """Return what a client keeps of an answer to send next time: its ETag, and the date it would ask since."""
    first = client.get(url)
    assert first.status_code == 200
    assert client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    return {"If-None-Match": first.headers["ETag"],
            "If-Modified-Since": first.headers.get("Last-Modified") or http_date(first.date)}


@pytest.mark.parametrize("url", ["/api/v1/notes", "/api/v1/notes?topic=hiv-testing", "/api/v1/search?q=外展",
                                 "/api/v1/search?sort=newest&q=同伴", "/notes.atom", "/search.atom?q=外展"])
def test_a_note_taken_down_changes_every_validator_of_the_lists_it_was_in(app, client, hub, url):
    newest = hub.public[-1]  # HIV检测外展, the newest public note
    held = _held(client, url)
    notes.unpublish(newest, by=hub.moderator, reason="它写出了一个人的名字。")
    worker.run_once(app)
    for name, value in held.items():  # a client that keeps either validator
        again = client.get(url, headers={name: value})
        assert again.status_code == 200, name
        assert newest.title not in again.get_data(as_text=True)


def test_a_translation_taken_down_changes_the_validators_of_its_original(app, client, hub):
    url = f"/api/v1/notes/{hub.public[0].id}"
    held = _held(client, url)
    assert client.get(url).get_json()["translations"]
    notes.unpublish(hub.translation, by=hub.moderator, reason="译文有误。")
    for name, value in held.items():
        again = client.get(url, headers={name: value})
        assert again.status_code == 200 and again.get_json()["translations"] == [], name


@pytest.mark.parametrize("url", ["/api/v1/notes", "/api/v1/notes/1", "/api/v1/search?q=外展", "/api/v1/projects",
                                 "/notes.atom", "/search.atom?q=外展"])
def test_no_answer_claims_a_last_modified_date(client, hub, url):
    assert "Last-Modified" not in client.get(url).headers
