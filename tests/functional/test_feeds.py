"""Atom feeds, read with feedparser as a feed reader would: all notes, by topic, project, language, saved searches."""
from __future__ import annotations

import re

import feedparser
import pytest

from hub import worker
from tests import catalogue
from tests.helpers import login, post_form

FEED_URL_RE = re.compile(r'<code class="secret-value">(http://hub\.test/notes\.atom\?token=[^<]+)</code>')


@pytest.fixture
def hub(app):
    return catalogue.build()


def _read(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type == "application/atom+xml; charset=utf-8"
    parsed = feedparser.parse(response.data)
    assert parsed.bozo == 0, parsed.bozo_exception
    return parsed


def _titles(client, url: str) -> list[str]:
    return [entry.title for entry in _read(client, url).entries]


def test_the_feed_of_all_notes_holds_public_originals_newest_change_first(client, hub):
    parsed = _read(client, "/notes.atom")
    # 同伴值班 was published first, but its English translation was published last: it changed last.
    assert [e.title for e in parsed.entries] == [hub.public[0].title, *(n.title for n in reversed(hub.public[1:]))]
    assert parsed.feed.title == "Practice notes · Practice Exchange Hub"
    assert parsed.feed.link == "http://hub.test/notes"
    first = parsed.entries[0]
    assert first.link == f"http://hub.test/notes/{hub.public[0].id}" and first.id == first.link
    assert first.author == "小李" and "同伴值班：摘要。" == first.summary
    assert "我们每周二在门诊安排同伴值班。" in first.content[0].value
    labels = {t.term: t.label for t in first.tags}
    assert labels["oat"] == "美沙酮维持治疗 / 阿片类药物替代治疗 / Methadone / opioid agonist therapy"
    assert first.published_parsed[:5] == (2023, 3, 1, 8, 0)


@pytest.mark.parametrize("query, expected", [
    ("topic=peer-education", ["同伴值班", "纳洛酮培训"]),  # newest change first: 同伴值班's translation
    ("project=yunnan-outreach", ["纳洛酮培训", "Outreach in Kunming"]),
    ("language=en", ["Outreach in Kunming"]),
    ("language=zh", ["同伴值班", "HIV检测外展", "纳洛酮培训", "针具交换点的夜间服务"]),
])
def test_feeds_per_topic_project_and_language(client, hub, query, expected):
    assert _titles(client, f"/notes.atom?{query}") == expected


def test_a_feed_of_something_that_does_not_exist_is_404(client, hub):
    assert client.get("/notes.atom?topic=nothing").status_code == 404
    assert client.get("/notes.atom?language=fr").status_code == 404


def test_a_topic_feed_is_titled_in_the_readers_language(client, hub):
    assert _read(client, "/notes.atom?topic=nsp&lang=zh_Hans").feed.title == "关于针具交换的笔记 · 经验交流平台"
    assert _read(client, "/notes.atom?topic=nsp&lang=en").feed.title == \
        "Notes on Needle and syringe programmes · Practice Exchange Hub"


def test_a_saved_search_feed_lists_the_newest_matches(app, client, hub):
    worker.run_once(app)
    assert _titles(client, "/search.atom?q=同伴") == ["HIV检测外展", "纳洛酮培训", "针具交换点的夜间服务", "同伴值班"]
    assert _titles(client, "/search.atom?q=同伴&project=yunnan-outreach") == ["纳洛酮培训"]
    parsed = _read(client, "/search.atom?q=同伴")
    assert parsed.feed.link == "http://hub.test/search?q=%E5%90%8C%E4%BC%B4"


@pytest.mark.parametrize("page, feed", [
    ("/", "/notes.atom"),
    ("/notes", "/notes.atom"),
    ("/notes?topic=nsp", "/notes.atom?topic=nsp"),
    ("/projects/yunnan-outreach", "/notes.atom?project=yunnan-outreach"),
    ("/search?q=同伴&language=zh_Hans", "/search.atom?q=%E5%90%8C%E4%BC%B4&amp;language=zh_Hans"),
    ("/search?language=en", "/search.atom?language=en"),
])
def test_each_page_names_its_feed(client, hub, page, feed):
    html = client.get(page).get_data(as_text=True)
    assert f'<link rel="alternate" type="application/atom+xml"' in html
    assert f'href="{feed}"' in html


def test_a_feed_reader_polling_an_unchanged_feed_gets_304(client, hub):
    first = client.get("/notes.atom")
    assert first.headers["ETag"]
    assert client.get("/notes.atom", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304


def test_a_persons_feed_address_adds_partners_notes_never_members_notes(client, hub):
    login(client, hub.member.username)
    page = post_form(client, "/account/feed-token", {}, form_url="/account/tokens")
    assert page.headers["Cache-Control"] == "no-store"
    feed_url = FEED_URL_RE.search(page.get_data(as_text=True)).group(1).replace("&amp;", "&")
    reader = client.application.test_client()  # a feed reader: no session
    titles = _titles(reader, feed_url.removeprefix("http://hub.test"))
    assert hub.partners.title in titles and hub.members.title not in titles and hub.draft.title not in titles
    assert hub.partners.title not in _titles(reader, "/notes.atom")
    assert _read(reader, feed_url.removeprefix("http://hub.test")).feed.id == "http://hub.test/notes.atom"
    # A new address stops the old one.
    post_form(client, "/account/feed-token", {}, form_url="/account/tokens")
    gone = reader.get(feed_url.removeprefix("http://hub.test"))
    assert gone.status_code == 404 and "This feed address no longer works" in gone.get_data(as_text=True)


def _lose_title(app, note) -> None:
    """Empty a published note's title, as changes published before titles were required (or a partner hub) left it."""
    from hub import events
    from hub.extensions import db

    note.title = ""
    events.record("note.updated", subject_type="note", subject_id=note.id)
    db.session.commit()
    worker.run_once(app)


@pytest.mark.parametrize("url", ["/notes.atom", "/notes.atom?project=yunnan-outreach", "/search.atom?q=outreach"])
def test_a_note_without_a_title_stays_in_every_feed_as_untitled(app, client, hub, url):
    _lose_title(app, hub.public[2])  # "Outreach in Kunming", of the Yunnan project
    assert "(untitled)" in _titles(client, url)
    assert "（无标题）" in _titles(client, url + ("&" if "?" in url else "?") + "lang=zh_Hans")
