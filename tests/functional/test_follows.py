"""Following topics, populations, projects, places, partner hubs and searches, through the pages people use."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from hub import worker
from hub.extensions import db
from hub.models import Follow, PeerHub, Term
from hub.services import follows, notes
from tests.helpers import count, csrf_token, login, post_form


@pytest.fixture
def topic(app) -> Term:
    term = Term(kind="topic", slug="methadone", name_zh="美沙酮维持治疗", name_en="Methadone maintenance")
    db.session.add_all([term, Term(kind="population", slug="pwid", name_zh="注射吸毒者", name_en="People who inject")])
    db.session.commit()
    return term


def follow_form(page: str) -> dict[str, str]:
    """Return the fields of the follow button's form on ``page`` (as a browser would send them)."""
    form = re.search(r'<form method="post" action="/following" class="inline">(.*?)</form>', page, re.S).group(1)
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form))


def test_the_following_page_is_for_signed_in_people(client):
    response = client.get("/following")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_topic_is_followed_from_its_page_and_unfollowed_there(client, member, topic):
    login(client, member.username)
    page = client.get("/notes?topic=methadone").get_data(as_text=True)
    fields = follow_form(page)
    assert fields["kind"] == "topic" and fields["value"] == "methadone"
    response = client.post("/following", data=fields)
    assert response.status_code == 302 and response.headers["Location"] == "/notes?topic=methadone"
    item = db.session.scalar(sa.select(Follow))
    assert (item.kind, item.term_id, item.frequency) == ("topic", topic.id, "weekly")
    page = client.get("/notes?topic=methadone").get_data(as_text=True)
    assert "You follow this" in page
    token = csrf_token(client, "/notes?topic=methadone")
    client.post(f"/following/{item.id}/remove", data={"csrf_token": token, "next": "/notes?topic=methadone"})
    assert count(Follow) == 0


def test_a_follow_button_is_its_readers_own_on_a_cached_list(app, client, member, fred, topic):
    """The notes list is a cached fragment shared by readers of one role; the button is not part of it."""
    login(client, member.username)
    client.post("/following", data=follow_form(client.get("/notes?topic=methadone").get_data(as_text=True)))
    assert "You follow this" in client.get("/notes?topic=methadone").get_data(as_text=True)
    other = app.test_client()
    login(other, fred.username)
    page = other.get("/notes?topic=methadone").get_data(as_text=True)
    assert "You follow this" not in page
    assert other.post("/following", data=follow_form(page)).status_code == 302  # the form's token is fred's
    assert count(Follow) == 2


def test_a_project_is_followed_from_its_page(client, member, project):
    login(client, member.username)
    fields = follow_form(client.get(f"/projects/{project.slug}").get_data(as_text=True))
    client.post("/following", data=fields)
    assert db.session.scalar(sa.select(Follow.project_id)) == project.id
    listed = client.get("/following").get_data(as_text=True)
    assert "Chengdu Peer Support Centre" in listed


def test_a_search_is_followed_with_its_words_and_filters(app, client, member, topic):
    worker.run_once(app)  # the worker builds the search index
    login(client, member.username)
    page = client.get("/search?q=美沙酮&topic=methadone&language=zh_Hans").get_data(as_text=True)
    fields = follow_form(page)
    assert fields["filter-topic"] == "methadone" and fields["q"] == "美沙酮"
    client.post("/following", data=fields)
    item = db.session.scalar(sa.select(Follow))
    assert (item.kind, item.query, item.filters) == ("search", "美沙酮", {"language": "zh_Hans", "topic": "methadone"})
    assert "You follow this" in client.get("/search?q=美沙酮&topic=methadone&language=zh_Hans").get_data(as_text=True)
    listed = client.get("/following?lang=zh_Hans").get_data(as_text=True)
    assert "“美沙酮” · 中文 · 美沙酮维持治疗" in listed  # filters by name, not by code


def test_places_populations_and_partner_hubs_are_followed_from_the_following_page(client, member, topic):
    hub = PeerHub(actor_id="https://hub-b.example.org/actor", base_url="https://hub-b.example.org", name="Hub B",
                  we_follow="accepted")
    db.session.add(hub)
    db.session.commit()
    login(client, member.username)
    page = client.get("/following").get_data(as_text=True)
    assert "Hub B" in page
    post_form(client, "/following", {"kind": "place", "value": " 成都 ", "frequency": "daily"}, form_url="/following")
    post_form(client, "/following", {"kind": "population", "value": "pwid", "frequency": "immediately"},
              form_url="/following")
    post_form(client, "/following", {"kind": "hub", "value": str(hub.id)}, form_url="/following")
    rows = {f.kind: f for f in db.session.scalars(sa.select(Follow))}
    assert rows["place"].place == "成都" and rows["place"].frequency == "daily"
    assert rows["population"].frequency == "immediately"
    assert rows["hub"].peer_id == hub.id


def test_frequency_is_changed_per_follow(client, member, topic):
    item = follows.follow(member, follows.target("topic", value="methadone"))
    login(client, member.username)
    post_form(client, f"/following/{item.id}", {f"f{item.id}-frequency": "daily"}, form_url="/following")
    db.session.expire_all()
    assert db.session.get(Follow, item.id).frequency == "daily"


def test_nobody_changes_or_removes_anothers_follow(client, member, fred, topic):
    item = follows.follow(member, follows.target("topic", value="methadone"))
    login(client, fred.username)
    post_form(client, f"/following/{item.id}", {f"f{item.id}-frequency": "immediately"}, form_url="/following")
    response = post_form(client, f"/following/{item.id}/remove", {}, form_url="/following", follow_redirects=True)
    assert "This is not one of the things you follow." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Follow, item.id).frequency == "weekly"


def test_following_something_that_does_not_exist_is_refused_with_a_reason(client, member):
    login(client, member.username)
    response = post_form(client, "/following", {"kind": "topic", "value": "no-such-topic"}, form_url="/following",
                         follow_redirects=True)
    assert "This topic or population does not exist." in response.get_data(as_text=True)
    response = post_form(client, "/following", {"kind": "search", "q": "  "}, form_url="/following",
                         follow_redirects=True)
    assert "Search for something first" in response.get_data(as_text=True)
    assert count(Follow) == 0


def test_a_follow_never_brings_a_note_its_follower_may_not_read(app, member, contributor, moderator, topic):
    """Matching goes through the follower's audience: drafts, others' unpublished notes and one's own never come."""
    item = follows.follow(member, follows.target("topic", value="methadone"))
    data = notes.NoteInput(title="t", summary="s", body="b", language="en", term_ids=[topic.id])
    draft = notes.create_draft(author=contributor, data=data)
    shown = notes.approve(notes.submit(notes.create_draft(author=contributor, data=data), by=contributor,
                                       confirm_privacy=True), by=moderator)
    taken_down = notes.approve(notes.submit(notes.create_draft(author=contributor, data=data), by=contributor,
                                            confirm_privacy=True), by=moderator)
    notes.unpublish(taken_down, by=moderator, reason="personal data")
    assert set(follows.matches(member, [item], note_ids=[draft.id, shown.id, taken_down.id])) == {shown.id}
    mine = follows.follow(contributor, follows.target("topic", value="methadone"))
    assert follows.matches(contributor, [mine], note_ids=[shown.id]) == {}


def test_a_saved_search_brings_what_the_search_page_finds(app, member, contributor, moderator, topic):
    item = follows.follow(member, follows.target("search", query="naloxone", filters={"topic": "methadone"}))
    data = notes.NoteInput(title="Naloxone at night", summary="s", body="b", language="en", term_ids=[topic.id])
    found = notes.approve(notes.submit(notes.create_draft(author=contributor, data=data), by=contributor,
                                       confirm_privacy=True), by=moderator)
    other = notes.approve(notes.submit(notes.create_draft(author=contributor, data=notes.NoteInput(
        title="Naloxone elsewhere", summary="s", body="b", language="en")), by=contributor, confirm_privacy=True),
        by=moderator)
    worker.run_once(app)  # the index reads the log
    assert set(follows.matches(member, [item], note_ids=[found.id, other.id])) == {found.id}


@pytest.mark.parametrize(("mail_server", "email", "said"), [
    ("", "mary@example.org", "This hub does not send e-mail yet"),
    ("smtp.example.org", "", "Your account has no e-mail address"),
    ("smtp.example.org", "mary@example.org", "New notes come weekly by e-mail"),
])
def test_following_says_what_will_really_be_mailed(app, client, member, project, mail_server, email, said):
    app.config["MAIL_SERVER"] = mail_server
    member.email = email
    db.session.commit()
    login(client, member.username)
    fields = follow_form(client.get(f"/projects/{project.slug}").get_data(as_text=True))
    page = client.post("/following", data=fields, follow_redirects=True).get_data(as_text=True)
    assert said in page


def test_a_saved_search_keeps_only_the_search_pages_filters_and_no_control_characters(client, member, topic):
    login(client, member.username)
    post_form(client, "/following", {"kind": "search", "q": "a\x01b\x7f", "filter-topic": "methadone",
                                     "filter-bogus": "1", "filter-language": "en\x02"}, form_url="/following")
    item = db.session.scalar(sa.select(Follow))
    assert (item.query, item.filters) == ("ab", {"language": "en", "topic": "methadone"})


def test_a_place_with_invisible_characters_is_sent_back_with_a_reason(client, member):
    login(client, member.username)
    page = post_form(client, "/following?lang=zh_Hans", {"kind": "place", "value": "成都\u200b"},
                     form_url="/following?lang=zh_Hans").get_data(as_text=True)
    assert count(Follow) == 0 and "地点名称里不能有看不见的字符" in page and 'value="成都\u200b"' in page


def test_a_saved_search_too_long_is_refused_in_the_services_own_words(client, member):
    login(client, member.username)
    response = post_form(client, "/following", {"kind": "search", "q": "美" * 501, "next": "/search"},
                         form_url="/following")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert count(Follow) == 0 and "Shorten the search to at most 500 characters to follow it." in page


def test_following_from_the_following_page_says_once_that_no_mail_is_sent_yet(client, member, topic):
    login(client, member.username)
    response = post_form(client, "/following", {"kind": "population", "value": "pwid"}, form_url="/following")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert page.count("does not send e-mail yet") == 1 and "You follow " in page
    # Back on the page the button was on, which says nothing of mail, the message says it.
    page = client.get(client.post("/following", data=follow_form(client.get("/notes?topic=methadone")
                                                                  .get_data(as_text=True))).headers["Location"])
    assert "You follow " in page.get_data(as_text=True) and "does not send e-mail yet" in page.get_data(as_text=True)


@pytest.mark.parametrize("value", ["²", "１", "99999999999999999999", "0"])
def test_a_partner_hub_named_by_no_id_the_hub_writes_is_refused_in_the_form(client, member, value):
    login(client, member.username)
    response = post_form(client, "/following?lang=en", {"kind": "hub", "value": value}, form_url="/following",
                         follow_redirects=True)
    assert response.status_code == 200
    assert "Choose one of the partner hubs" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Follow)) == 0
