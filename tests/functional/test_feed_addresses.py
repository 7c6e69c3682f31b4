"""A person's feed address gives the same feeds with the same notes: the saved-search feed included."""
from __future__ import annotations

import feedparser

from tests.helpers import login, post_form
from tests.functional.test_feeds import FEED_URL_RE


def _titles(client, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200
    return [entry.title for entry in feedparser.parse(response.data).entries]


def test_a_search_feed_through_a_feed_address_holds_the_partners_notes_the_notes_feed_holds(client, hub):
    login(client, hub.member.username)
    page = post_form(client, "/account/feed-token", {}, form_url="/account/tokens")
    token = FEED_URL_RE.search(page.get_data(as_text=True)).group(1).split("token=")[1]
    reader = client.application.test_client()  # a feed reader: no session
    notes_feed = _titles(reader, f"/notes.atom?topic=nsp&token={token}")
    search_feed = _titles(reader, f"/search.atom?topic=nsp&token={token}")
    assert hub.partners.title in notes_feed and hub.partners.title in search_feed
    assert search_feed == notes_feed
    assert hub.partners.title in _titles(reader, f"/search.atom?q=同伴&token={token}")
    for feed in (search_feed, _titles(reader, f"/search.atom?q=同伴&token={token}")):
        assert hub.members.title not in feed and hub.draft.title not in feed
    assert hub.partners.title not in _titles(reader, "/search.atom?q=同伴")  # without the address: public only
    api = reader.get("/api/v1/search?q=同伴").get_json()
    assert hub.partners.id not in [hit["id"] for hit in api["results"]]
