"""Notes as ActivityPub Articles, addressing, and parsing what partner hubs send."""
from __future__ import annotations

import json

import pytest

from hub import text
from hub.extensions import db
from hub.federation import activities, actor, delivery
from hub.federation.activities import InvalidActivity, NotFederated
from hub.services import notes

from tests.federation.fixtures import make_peer, people, publish  # noqa: F401  (fixtures)
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def test_public_note_maps_to_an_article_with_every_field(publish):
    note = publish("public")
    article = activities.note_to_article(note)
    assert article["type"] == "Article"
    assert article["id"] == "http://hub.test/ap/notes/%d" % note.id
    assert article["url"] == "http://hub.test/notes/%d" % note.id
    assert article["attributedTo"] == "http://hub.test/actor"
    assert article["name"] == "外展的经验" and article["summary"] == "一句话摘要。"
    assert "<strong>外展</strong>" in article["content"]
    assert article["contentMap"] == {"zh-Hans": note.body_html}
    assert article["to"] == [PUBLIC] and article["cc"] == ["http://hub.test/followers"]
    assert article["published"].endswith("Z") and article["updated"].endswith("Z")
    assert {"type": "Hashtag", "name": "#Outreach", "href": "http://hub.test/notes?topic=outreach"} in article["tag"]
    assert article["peh:topics"] == ["outreach"] and article["peh:place"] == "成都"
    assert article["peh:authorPseudonym"] == "小李" and article["peh:visibility"] == "public"
    assert article["peh:project"]["peh:slug"] == "chengdu-peer-centre"
    assert {"peh": activities.NS, "Hashtag": "as:Hashtag"} in article["@context"]


SUMMARY_WITH_MARKUP = "Summary <b>bold</b> <script>alert(1)</script> & a<b and c>d"


def test_the_summary_goes_out_escaped_as_activitystreams_reads_it_as_html(app, client, publish):
    note = publish("public")
    note.summary = SUMMARY_WITH_MARKUP
    db.session.commit()
    article = client.get(f"/ap/notes/{note.id}", headers={"Accept": "application/activity+json"}).get_json()
    escaped = "Summary &lt;b&gt;bold&lt;/b&gt; &lt;script&gt;alert(1)&lt;/script&gt; &amp; a&lt;b and c&gt;d"
    assert article["summary"] == escaped and article["summaryMap"] == {"zh-Hans": escaped}
    assert "<script>" not in json.dumps(article, ensure_ascii=False)


def test_the_summary_read_back_from_our_own_article_is_the_authors_text(publish):
    note = publish("public")
    note.summary = SUMMARY_WITH_MARKUP
    db.session.commit()
    parsed = activities.parse_article(activities.note_to_article(note), actor_id=actor.actor_id())
    assert parsed.summary == SUMMARY_WITH_MARKUP


def test_the_author_is_never_an_actor_and_no_account_data_leaks(publish, people):
    article = activities.note_to_article(publish("public"))
    text = repr(article)
    assert people["author"].username not in text and people["author"].email not in text
    assert "/users/" not in text


def test_members_notes_are_never_mapped(publish):
    with pytest.raises(NotFederated):
        activities.note_to_article(publish("members"))


def test_drafts_are_never_mapped(people):
    draft = notes.create_draft(author=people["author"], data=notes.NoteInput(title="t", visibility="public"))
    with pytest.raises(NotFederated):
        activities.note_to_article(draft)


def test_partners_note_is_addressed_only_to_the_named_partner_hubs(publish):
    article = activities.note_to_article(publish("partners"), recipients=["https://b.example/actor"])
    assert article["to"] == ["https://b.example/actor"] and article["cc"] == []
    assert PUBLIC not in repr(article) and "followers" not in repr(article["cc"])


def test_partners_notes_go_only_to_allow_listed_followers(publish, make_peer):
    partner = make_peer("b.example", partner=True, they_follow=True)
    stranger = make_peer("c.example", partner=False, they_follow=True)
    blocked = make_peer("d.example", partner=True, they_follow=True)
    blocked.row.blocked = True
    db.session.commit()
    assert delivery.audience(publish("partners")) == [partner.row]
    assert delivery.audience(publish("members")) == []
    public_audience = delivery.audience(publish("public"))
    assert partner.row in public_audience and blocked.row not in public_audience
    assert stranger.row not in public_audience  # allow-list mode: only allow-listed hubs get anything


def test_open_mode_sends_public_notes_to_every_follower(app, publish, make_peer):
    app.config["FEDERATION_MODE"] = "open"
    stranger = make_peer("c.example", partner=False, they_follow=True)
    assert delivery.audience(publish("public")) == [stranger.row]
    assert delivery.audience(publish("partners")) == []


def test_translations_travel_as_language_versions(publish, people):
    original = publish("public")
    translation = publish("public", title="Outreach lessons", language="en", body="We did **outreach**.")
    translation.translation_of_id = original.id
    db.session.commit()
    article = activities.note_to_article(original)
    assert set(article["contentMap"]) == {"zh-Hans", "en"}
    assert article["nameMap"]["en"] == "Outreach lessons"
    with pytest.raises(NotFederated):
        activities.note_to_article(translation)


def test_a_translation_narrower_than_its_original_stays_out(publish):
    original = publish("public")
    translation = publish("members", language="en", title="Members only")
    translation.translation_of_id = original.id
    db.session.commit()
    assert set(activities.note_to_article(original)["contentMap"]) == {"zh-Hans"}


def test_delete_carries_a_tombstone(app):
    activity = activities.delete(7, activity_id="http://hub.test/ap/notes/7#delete-1", to=["https://b/actor"])
    assert activity["type"] == "Delete" and activity["actor"] == actor.actor_id()
    assert activity["object"]["type"] == "Tombstone" and activity["object"]["id"].endswith("/ap/notes/7")


def test_create_wraps_the_article_with_the_same_addressing(publish):
    article = activities.note_to_article(publish("public"))
    create = activities.create(article, activity_id=article["id"] + "#create-1")
    assert create["type"] == "Create" and create["object"]["id"] == article["id"]
    assert create["to"] == article["to"] and "@context" not in create["object"]


# --- incoming ------------------------------------------------------------------------------

BASE = "https://b.example"
ACTOR = BASE + "/actor"


def _article(**fields):
    article = {"id": BASE + "/ap/notes/1", "type": "Article", "attributedTo": ACTOR, "to": [PUBLIC],
               "name": "Title", "summary": "<p>Summary</p>", "content": "<p>x</p>",
               "contentMap": {"en": "<p>Hello <script>alert(1)</script><img src='https://evil/x.png'>"
                                    "<a href='javascript:alert(1)'>link</a></p>"}}
    article.update(fields)
    return article


def test_incoming_html_is_sanitised_again():
    parsed = activities.parse_article(_article(), actor_id=ACTOR)
    assert "<script" not in parsed.content_html and "alert(1)" not in parsed.content_html
    assert "<img" not in parsed.content_html and "javascript:" not in parsed.content_html
    assert parsed.summary == "Summary" and parsed.language == "en"


def test_incoming_visibility_follows_the_addressing():
    assert activities.parse_article(_article(), actor_id=ACTOR).visibility == "public"
    partners = _article(to=["http://hub.test/actor"], cc=[])
    assert activities.parse_article(partners, actor_id=ACTOR).visibility == "partners"


def test_incoming_chinese_version_is_chosen_from_the_content_map():
    parsed = activities.parse_article(_article(contentMap={"zh-Hans": "<p>外展</p>"}, nameMap={"zh-Hans": "标题"}),
                                      actor_id=ACTOR)
    assert parsed.language == "zh_Hans" and parsed.title == "标题" and parsed.text == "外展"


@pytest.mark.parametrize("bad", [
    {"type": "Note"},
    {"id": "https://other.example/ap/notes/1"},
    {"attributedTo": "https://other.example/actor"},
    {"id": None},
])
def test_incoming_articles_claiming_another_origin_are_refused(bad):
    with pytest.raises(InvalidActivity):
        activities.parse_article(_article(**bad), actor_id=ACTOR)


def test_incoming_fields_are_capped():
    parsed = activities.parse_article(_article(name="x" * 1000, summary="y" * 5000,
                                               **{"peh:topics": ["ok", "Not A Slug!", 3] * 50}), actor_id=ACTOR)
    assert len(parsed.title) == 200 and len(parsed.summary) == 600
    assert parsed.topics == ["ok"]
    many = activities.parse_article(_article(**{"peh:topics": [f"t{i}" for i in range(100)]}), actor_id=ACTOR)
    assert many.topics == [f"t{i}" for i in range(20)]


def test_html_text_keeps_paragraphs_apart():
    assert text.html_text("<p>one</p><p>two &amp; three</p>") == "one\n\ntwo & three"


def test_same_host_needs_one_http_host():
    assert activities.same_host("https://a.example/x", "https://a.example/y")
    assert not activities.same_host("https://a.example/x", "https://a.example:8443/y")
    assert not activities.same_host("https://a.example/x", "ftp://a.example/y")
    assert not activities.same_host("https://a.example/x", None)
