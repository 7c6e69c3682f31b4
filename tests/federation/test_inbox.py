"""The inbox: what it refuses at the door, and what the worker makes of what it accepts."""
from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from hub import worker
from hub.extensions import db
from hub.federation import inbox
from hub.federation.signatures import sign_request
from hub.models.events import Event
from hub.models.federation import Delivery, InboxItem, PeerHub
from hub.models.note import Note
from hub.services import moderation, notes
from tests.federation.fixtures import keypair
from tests.helpers import count


def _rows() -> tuple[int, int, int, int]:
    return count(InboxItem), count(PeerHub), count(Note), count(Event)


def _process(app) -> None:
    inbox.process_pending(app)


# --- accepted and processed ----------------------------------------------------------------

def test_a_signed_create_from_a_partner_is_stored_and_answered_202(app, client, make_peer):
    peer = make_peer()
    activity = peer.activity("Create", peer.article())
    response = peer.post(client, activity)
    assert response.status_code == 202, response.get_data(as_text=True)
    item = db.session.scalar(sa.select(InboxItem))
    assert item.activity_id == activity["id"] and item.peer_id == peer.row.id and item.state == "pending"


def test_the_actor_inbox_takes_activities_too(app, client, make_peer):
    peer = make_peer()
    body, headers = peer.signed(peer.activity("Create", peer.article()), url="http://hub.test/actor/inbox")
    response = client.post("/actor/inbox", data=body, headers=headers, base_url="http://hub.test")
    assert response.status_code == 202


def test_a_moderated_partners_note_waits_in_the_moderation_queue(app, client, make_peer, people):
    peer = make_peer(trust="moderate")
    peer.post(client, peer.activity("Create", peer.article()))
    _process(app)
    note = db.session.scalar(sa.select(Note))
    assert note.state == "submitted" and note.author_id is None and note.is_remote
    assert note.remote_id == peer.base + "/ap/notes/1" and note.remote_url == peer.base + "/notes/1"
    assert note.title == "Partner note 1" and note.body == "We met people where they are."
    assert [t.slug for t in note.topics] == ["outreach"]
    assert note in moderation.submitted().items
    assert count(Event) == 0
    notes.approve(note, by=people["moderator"])
    assert note.state == "published"
    assert db.session.scalar(sa.select(Event.kind).where(Event.subject_id == note.id)) == "note.published"


@pytest.mark.parametrize(("trust", "state_after_new_text"), [("moderate", "submitted"), ("publish", "published")])
def test_a_new_text_of_an_approved_note_is_screened_again_unless_its_hub_is_trusted_to_publish(
        app, client, make_peer, people, trust, state_after_new_text):
    peer = make_peer(trust=trust)
    peer.post(client, peer.activity("Create", peer.article()))
    _process(app)
    note = db.session.scalar(sa.select(Note))
    if note.state == "submitted":
        notes.approve(note, by=people["moderator"])
    same = peer.article(updated="2026-01-03T00:00:00Z")  # sent again, nothing readers see changed
    peer.post(client, peer.activity("Update", same))
    _process(app)
    assert note.state == "published"
    text = "<p>BUY CHEAP PILLS at http://spam.example</p>"
    spam = peer.article(content=text, contentMap={"en": text}, updated="2026-01-04T00:00:00Z")
    peer.post(client, peer.activity("Update", spam))
    _process(app)
    assert note.state == state_after_new_text
    assert ("BUY CHEAP" in client.get(f"/notes/{note.id}").get_data(as_text=True)) == (trust == "publish")


def test_a_trusted_partners_note_is_published_at_once(app, client, make_peer):
    peer = make_peer(trust="publish")
    peer.post(client, peer.activity("Create", peer.article()))
    _process(app)
    note = db.session.scalar(sa.select(Note))
    assert note.state == "published" and note.visibility == "public"
    assert note.published_at == dt.datetime(2026, 1, 2, 3, 4, 5)
    assert db.session.scalar(sa.select(Event.kind)) == "note.published"


def test_a_note_with_personal_data_waits_for_a_moderator_even_from_a_trusted_hub(app, client, make_peer):
    peer = make_peer(trust="publish")
    article = peer.article(contentMap={"en": "<p>Call Wang on 138 1234 5678.</p>"})
    peer.post(client, peer.activity("Create", article))
    _process(app)
    assert db.session.scalar(sa.select(Note.state)) == "submitted"


def test_a_note_addressed_only_to_us_is_for_partners(app, client, make_peer):
    peer = make_peer(trust="publish")
    peer.post(client, peer.activity("Create", peer.article(to=["http://hub.test/actor"], cc=[])))
    _process(app)
    assert db.session.scalar(sa.select(Note.visibility)) == "partners"


def test_updates_from_the_origin_apply_to_published_notes(app, client, make_peer):
    peer = make_peer(trust="publish")
    peer.post(client, peer.activity("Create", peer.article()))
    _process(app)
    changed = peer.article(name="Corrected title", updated="2026-02-01T00:00:00Z")
    peer.post(client, peer.activity("Update", changed))
    _process(app)
    note = db.session.scalar(sa.select(Note))
    assert note.title == "Corrected title" and note.state == "published"
    assert [e.kind for e in db.session.scalars(sa.select(Event).order_by(Event.id))] == \
        ["note.published", "note.updated"]


def test_an_update_older_than_what_we_have_is_ignored(app, client, make_peer):
    peer = make_peer(trust="publish")
    peer.post(client, peer.activity("Create", peer.article(updated="2026-03-01T00:00:00Z")))
    peer.post(client, peer.activity("Update", peer.article(name="Stale", updated="2026-02-01T00:00:00Z")))
    _process(app)
    assert db.session.scalar(sa.select(Note.title)) == "Partner note 1"


def test_deletes_from_the_origin_always_apply(app, client, make_peer, people):
    peer = make_peer(trust="moderate")
    peer.post(client, peer.activity("Create", peer.article()))
    _process(app)
    note = db.session.scalar(sa.select(Note))
    notes.approve(note, by=people["moderator"])
    tombstone = {"id": peer.base + "/ap/notes/1", "type": "Tombstone", "formerType": "Article"}
    peer.post(client, peer.activity("Delete", tombstone))
    _process(app)
    db.session.refresh(note)
    assert note.state == "deleted" and note.title == "" and note.body == "" and note.body_html == ""
    assert db.session.scalar(sa.select(Event.kind).order_by(Event.id.desc())) == "note.deleted"


def test_a_create_arriving_after_its_delete_does_not_bring_the_note_back(app, client, make_peer):
    peer = make_peer(trust="publish")
    tombstone = {"id": peer.base + "/ap/notes/1", "type": "Tombstone", "formerType": "Article"}
    peer.post(client, peer.activity("Delete", tombstone))
    peer.post(client, peer.activity("Create", peer.article()))
    _process(app)
    assert db.session.scalar(sa.select(Note.state)) == "deleted"
    assert count(Note, Note.state == "published") == 0


def test_a_hub_cannot_touch_another_hubs_notes(app, client, make_peer):
    alice = make_peer("a.example", trust="publish")
    mallory = make_peer("m.example", trust="publish")
    alice.post(client, alice.activity("Create", alice.article()))
    _process(app)
    forged = mallory.activity("Delete", alice.base + "/ap/notes/1")
    response = mallory.post(client, forged)
    assert response.status_code == 400 and response.get_json()["error"] == "origin_mismatch"  # refused at the door
    _process(app)
    assert db.session.scalar(sa.select(Note.state)) == "published"
    assert db.session.scalar(sa.select(InboxItem.state).where(InboxItem.activity_id == forged["id"])) is None


def test_a_follow_from_an_allow_listed_hub_is_accepted(app, client, make_peer):
    peer = make_peer()
    follow = peer.activity("Follow", "http://hub.test/actor")
    peer.post(client, follow)
    _process(app)
    db.session.refresh(peer.row)
    assert peer.row.they_follow
    answer = db.session.scalar(sa.select(Delivery))
    assert answer.activity["type"] == "Accept" and answer.activity["object"]["id"] == follow["id"]
    assert answer.inbox_url == peer.base + "/inbox"


def test_undo_follow_stops_the_following(app, client, make_peer):
    peer = make_peer(they_follow=True)
    follow = {"id": peer.base + "/f/1", "type": "Follow", "actor": peer.actor_id, "object": "http://hub.test/actor"}
    peer.post(client, peer.activity("Undo", follow))
    _process(app)
    db.session.refresh(peer.row)
    assert not peer.row.they_follow


def test_an_accept_of_our_follow_makes_us_followers_and_asks_for_backfill(app, client, make_peer):
    peer = make_peer(we_follow="pending")
    peer.row.follow_activity_id = "http://hub.test/actor#follows/1"
    peer.row.last_backfill_at = dt.datetime(2020, 1, 1)
    db.session.commit()
    peer.post(client, peer.activity("Accept", "http://hub.test/actor#follows/1"))
    _process(app)
    db.session.refresh(peer.row)
    assert peer.row.we_follow == "accepted" and peer.row.last_backfill_at is None


def test_an_accept_of_nothing_we_asked_is_refused_at_the_door(app, client, make_peer):
    peer = make_peer(we_follow="none")
    response = peer.post(client, peer.activity("Accept", "http://hub.test/actor#follows/unknown"))
    assert response.status_code == 400 and response.get_json()["error"] == "not_our_follow"
    _process(app)
    db.session.refresh(peer.row)
    assert peer.row.we_follow == "none"
    assert db.session.scalar(sa.select(InboxItem.state)) is None


@pytest.mark.parametrize("make_activity", [
    lambda peer: peer.activity("Update", peer.article(id="http://hub.test/ap/notes/1")),  # our own note
    lambda peer: peer.activity("Create", peer.article(id="https://third.example/ap/notes/1")),
    lambda peer: peer.activity("Delete", "http://hub.test/ap/comments/1"),
    lambda peer: peer.activity("Delete", "https://third.example/ap/notes/1"),
    lambda peer: peer.activity("Undo", peer.base + "/activities/never-sent"),
    lambda peer: peer.activity("Reject", {"type": "Follow", "actor": "https://third.example/actor",
                                          "object": peer.base + "/actor"}),
], ids=["update-our-note", "create-elsewhere", "delete-our-comment", "delete-elsewhere", "undo-unknown",
        "reject-another-follow"])
def test_what_the_worker_would_refuse_is_refused_at_the_door_and_nothing_is_written(app, client, make_peer,
                                                                                  make_activity):
    """The README's promise: refused with 400 and a reason, rather than taken (202) and dropped."""
    peer = make_peer(trust="publish")
    before = _rows()
    response = peer.post(client, make_activity(peer))
    assert response.status_code == 400 and response.get_json()["error"], response.get_data(as_text=True)
    assert _rows() == before


def test_open_mode_fetches_an_unknown_hubs_key_and_holds_its_follow(app, client, make_peer, peer_server):
    app.config.update(FEDERATION_MODE="open", FEDERATION_OPEN_FOLLOWS="hold")
    host = peer_server.base.removeprefix("http://")
    peer = make_peer(host, scheme="http", register=False)
    peer_server.serve_actor(peer)
    response = peer.post(client, peer.activity("Follow", "http://hub.test/actor"))
    assert response.status_code == 202, response.get_data(as_text=True)
    row = db.session.scalar(sa.select(PeerHub))
    assert row.actor_id == peer.actor_id and row.public_key_pem and not row.partner
    _process(app)
    db.session.refresh(row)
    assert not row.they_follow and db.session.scalar(sa.select(InboxItem.state)) == "held"
    # The actor fetch was signed with the instance key (servers like bovine require it).
    assert peer_server.posts == []


def test_what_fails_from_a_hub_met_for_the_first_time_is_listed_on_its_own_page(app, client, make_peer, peer_server,
                                                                                 publish, people, login_as):
    """Nothing reaches the worker from a hub without a row: allow-list mode refuses it at the door, and open
    mode records the hub (listed under Known hubs) with its first activity, so its failures show on its page."""
    note = publish("public")
    host = peer_server.base.removeprefix("http://")
    stranger = make_peer(host, scheme="http", register=False)
    peer_server.serve_actor(stranger)
    comment = {"id": f"{stranger.base}/ap/comments/1", "type": "Note", "attributedTo": stranger.actor_id,
               "inReplyTo": f"http://hub.test/ap/notes/{note.id}", "content": "<p>Secret words of Wang.</p>"}
    before = _rows()
    refused = stranger.post(client, stranger.activity("Create", comment))
    assert refused.status_code == 403 and _rows() == before
    app.config.update(FEDERATION_MODE="open")
    activity = stranger.activity("Create", comment)
    assert stranger.post(client, activity).status_code == 202
    row = db.session.scalar(sa.select(PeerHub))
    assert db.session.scalar(sa.select(InboxItem.peer_id)) == row.id and not row.partner
    notes.delete(note, by=people["author"])  # gone before the worker reads the comment
    _process(app)
    assert db.session.scalar(sa.select(InboxItem.state)) == "failed"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InboxItem).where(InboxItem.peer_id.is_(None))) == 0
    login_as(people["admin"])
    for language, heading in (("en", "Incoming activities that failed"), ("zh_Hans", "处理失败的传入活动")):
        assert f"/admin/partners/{row.id}" in client.get(f"/admin/partners/?lang={language}").get_data(as_text=True)
        page = client.get(f"/admin/partners/{row.id}?lang={language}").get_data(as_text=True)
        assert heading in page and activity["id"] in page and "not_a_reply_to_our_note" in page
        assert "Wang" not in page


def test_worker_processes_the_inbox_each_round(app, client, make_peer):
    peer = make_peer(trust="publish")
    peer.post(client, peer.activity("Create", peer.article()))
    worker.run_once(app)
    assert db.session.scalar(sa.select(Note.state)) == "published"


# --- refused at the door, without a database write -----------------------------------------

def _refused(client, response, before, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert _rows() == before


def test_unsigned_posts_are_refused(app, client, make_peer):
    peer = make_peer()
    before = _rows()
    response = client.post("/inbox", data=json.dumps(peer.activity("Create", peer.article())),
                           headers={"Content-Type": "application/activity+json"}, base_url="http://hub.test")
    _refused(client, response, before, 401)


def test_a_wrong_content_type_is_refused(app, client, make_peer):
    peer = make_peer()
    before = _rows()
    body, headers = peer.signed(peer.activity("Create", peer.article()), content_type="text/plain")
    _refused(client, client.post("/inbox", data=body, headers=headers, base_url="http://hub.test"), before, 415)


def test_an_oversized_activity_is_refused_unread(app, client, make_peer):
    peer = make_peer()
    before = _rows()
    big = peer.activity("Create", peer.article(content="x" * 300_000))
    _refused(client, peer.post(client, big), before, 413)


def test_a_blocked_hub_is_refused_before_any_crypto(app, client, make_peer, monkeypatch):
    peer = make_peer()
    peer.row.blocked = True
    db.session.commit()
    monkeypatch.setattr(inbox, "verify_signature", lambda *a, **k: pytest.fail("verified a blocked hub"))
    before = _rows()
    _refused(client, peer.post(client, peer.activity("Create", peer.article())), before, 403)


def test_a_hub_off_the_allow_list_is_refused_in_allow_list_mode(app, client, make_peer, monkeypatch):
    peer = make_peer(partner=False)
    stranger = make_peer("stranger.example", register=False)
    monkeypatch.setattr(inbox, "verify_signature", lambda *a, **k: pytest.fail("verified a stranger"))
    before = _rows()
    _refused(client, peer.post(client, peer.activity("Create", peer.article())), before, 403)
    _refused(client, stranger.post(client, stranger.activity("Follow", "http://hub.test/actor")), before, 403)


def test_a_tampered_body_is_refused(app, client, make_peer):
    peer = make_peer()
    before = _rows()
    body, headers = peer.signed(peer.activity("Create", peer.article()))
    tampered = body.replace(b"Partner note 1", b"Partner note 2")
    _refused(client, client.post("/inbox", data=tampered, headers=headers, base_url="http://hub.test"),
             before, 401)


def test_a_signature_made_with_another_key_is_refused(app, client, make_peer):
    peer = make_peer()
    before = _rows()
    peer.private_pem = keypair(7)[0]  # Mallory signs with her key under the partner's keyId
    _refused(client, peer.post(client, peer.activity("Create", peer.article())), before, 401)


def test_a_replayed_request_is_refused(app, client, make_peer):
    peer = make_peer()
    body, headers = peer.signed(peer.activity("Create", peer.article()))
    assert client.post("/inbox", data=body, headers=headers, base_url="http://hub.test").status_code == 202
    before = _rows()
    _refused(client, client.post("/inbox", data=body, headers=headers, base_url="http://hub.test"), before, 401)


def test_a_duplicate_activity_id_is_not_stored_twice(app, client, make_peer):
    peer = make_peer()
    activity = peer.activity("Create", peer.article())
    assert peer.post(client, activity).status_code == 202
    before = _rows()
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=2)
    response = peer.post(client, activity, now=later)  # signed anew: not a replay, but the same activity
    assert response.status_code == 202 and response.get_json() == {"status": "duplicate"}
    assert _rows() == before


def test_a_request_signed_for_another_hub_is_refused(app, client, make_peer):
    peer = make_peer()
    before = _rows()
    body, headers = peer.signed(peer.activity("Create", peer.article()), url="https://other-hub.example/inbox")
    _refused(client, client.post("/inbox", data=body, headers=headers, base_url="http://hub.test"), before, 401)


def test_an_old_signature_is_refused(app, client, make_peer):
    peer = make_peer()
    before = _rows()
    body = json.dumps(peer.activity("Create", peer.article())).encode()
    headers = {"Content-Type": "application/activity+json"}
    headers.update(sign_request(method="POST", url="http://hub.test/inbox", headers=headers, body=body,
                                key_id=peer.key_id, private_key_pem=peer.private_pem,
                                now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=3)))
    _refused(client, client.post("/inbox", data=body, headers=headers, base_url="http://hub.test"), before, 401)


@pytest.mark.parametrize("change, status", [
    (lambda a, p: {**a, "id": "https://elsewhere.example/activities/1"}, 400),
    (lambda a, p: {**a, "actor": "https://peer.example/users/someone-else"}, 401),
    (lambda a, p: {k: v for k, v in a.items() if k != "id"}, 400),
    (lambda a, p: {k: v for k, v in a.items() if k != "actor"}, 400),
    (lambda a, p: [a], 400),
    (lambda a, p: {**a, "type": ["Create"]}, 400),
])
def test_activities_with_a_false_or_missing_origin_are_refused(app, client, make_peer, change, status):
    peer = make_peer()
    before = _rows()
    activity = change(peer.activity("Create", peer.article()), peer)
    _refused(client, peer.post(client, activity), before, status)


@pytest.mark.parametrize("body", [b"", b"{", b"\xff\xfe", b"null", b"[" * 5000 + b"]" * 5000, b'"just a string"'])
def test_malformed_bodies_are_refused(app, client, make_peer, body):
    peer = make_peer()
    before = _rows()
    response = peer.post(client, body)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert _rows() == before


def test_language_versions_become_linked_translations_and_follow_their_original(app, client, make_peer):
    peer = make_peer(trust="publish")
    both = peer.article(contentMap={"zh-Hans": "<p>外展经验</p>", "en": "<p>Outreach lessons</p>"},
                        nameMap={"zh-Hans": "外展", "en": "Outreach"})
    peer.post(client, peer.activity("Create", both))
    _process(app)
    original = db.session.scalar(sa.select(Note).where(Note.translation_of_id.is_(None)))
    [translation] = original.translations
    assert (original.language, original.title, original.state) == ("zh_Hans", "外展", "published")
    assert (translation.language, translation.title, translation.state) == ("en", "Outreach", "published")
    assert translation.remote_id == original.remote_id + "#en" and translation.body == "Outreach lessons"
    only_chinese = peer.article(contentMap={"zh-Hans": "<p>外展经验</p>"}, nameMap={"zh-Hans": "外展"},
                                updated="2026-02-01T00:00:00Z")
    peer.post(client, peer.activity("Update", only_chinese))
    _process(app)
    db.session.refresh(translation)
    assert translation.state == "deleted"
    peer.post(client, peer.activity("Update", {**both, "updated": "2026-03-01T00:00:00Z"}))
    peer.post(client, peer.activity("Delete", {"id": both["id"], "type": "Tombstone", "formerType": "Article"}))
    _process(app)
    assert set(db.session.scalars(sa.select(Note.state))) == {"deleted"}


def test_remote_notes_work_in_the_queue_the_review_page_the_note_page_and_search(app, client, make_peer, people,
                                                                               login_as):
    import search_index

    peer = make_peer(trust="moderate")
    peer.post(client, peer.activity("Create", peer.article(name="Wombat outreach")))
    worker.run_once(app)
    note = db.session.scalar(sa.select(Note))
    login_as(people["moderator"])
    assert "Wombat outreach" in client.get("/moderation").get_data(as_text=True)
    assert client.get(f"/moderation/notes/{note.id}").status_code == 200
    notes.approve(note, by=people["moderator"])
    worker.run_once(app)
    page = app.test_client().get(f"/notes/{note.id}")  # an anonymous reader
    assert page.status_code == 200 and "We met people where they are." in page.get_data(as_text=True)
    found = search_index.search("wombat", viewer=None)
    assert [n.id for n in found.notes] == [note.id]


def test_a_note_published_again_at_the_origin_comes_back(app, client, make_peer):
    peer = make_peer(trust="publish")
    peer.post(client, peer.activity("Create", peer.article()))
    peer.post(client, peer.activity("Delete", {"id": peer.base + "/ap/notes/1", "type": "Tombstone",
                                               "formerType": "Article"}))
    _process(app)
    assert db.session.scalar(sa.select(Note.state)) == "deleted"
    later = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    peer.post(client, peer.activity("Create", peer.article(), published=later))  # same text, published again
    _process(app)
    assert db.session.scalar(sa.select(Note.state)) == "published"
    assert db.session.scalar(sa.select(Note.title)) == "Partner note 1"


def test_an_update_from_the_origin_never_widens_what_a_moderator_narrowed(app):
    from hub.federation import remote_notes
    from hub.models.federation import PeerHub
    from hub.extensions import db

    peer = PeerHub(actor_id="http://127.0.0.9:1/actor", base_url="http://127.0.0.9:1", trust="publish",
                   partner=True)
    db.session.add(peer)
    db.session.commit()
    article = remote_notes.RemoteArticle(**_article_fields())
    note = remote_notes.receive(peer, article)
    note.visibility = "members"  # a moderator here narrowed it
    db.session.commit()
    remote_notes.receive(peer, remote_notes.RemoteArticle(**{**_article_fields(), "title": "Corrected title"}))
    db.session.refresh(note)
    assert (note.title, note.visibility) == ("Corrected title", "members")


def _article_fields() -> dict:
    return {"object_id": "http://127.0.0.9:1/ap/notes/7", "url": "http://127.0.0.9:1/notes/7", "language": "en",
            "title": "Night outreach", "summary": "What we learned.", "content_html": "<p>We walked.</p>",
            "visibility": "public"}


# --- what cannot be stored or shown ---------------------------------------------------------

@pytest.mark.parametrize("where", ["id", "content", "key"])
@pytest.mark.parametrize("bad", ["\\ud800", "\\u0000"])
def test_a_nul_or_a_lone_surrogate_anywhere_is_refused_with_a_reason(app, client, make_peer, where, bad):
    """A lone surrogate is valid JSON but no character (a 500 and a failed worker item before); a NUL is
    refused by PostgreSQL's text and by XML (the Atom feed)."""
    peer = make_peer(trust="publish")
    activity = peer.activity("Create", peer.article())
    marker = "BADCHAR"
    if where == "id":
        activity["id"] += marker
    elif where == "content":
        activity["object"]["content"] = f"<p>text {marker}</p>"
    else:
        activity["object"][f"peh:{marker}"] = "x"
    body = json.dumps(activity).replace(marker, bad).encode()
    before = _rows()
    response = peer.post(client, body)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_characters"
    assert _rows() == before


def test_a_date_an_offset_moves_out_of_range_is_no_date_and_the_note_still_comes(app, client, make_peer):
    peer = make_peer(trust="publish")
    article = peer.article(published="9999-12-31T23:59:59-05:00", updated="0001-01-01T00:00:00+05:00")
    assert peer.post(client, peer.activity("Create", article)).status_code == 202
    _process(app)
    item = db.session.scalar(sa.select(InboxItem))
    note = db.session.scalar(sa.select(Note).where(Note.origin_peer_id == peer.row.id))
    assert item.state == "done" and note is not None and note.state == "published"


def test_invisible_and_direction_changing_characters_are_taken_out_of_a_partners_names(app, client, make_peer):
    peer = make_peer(trust="publish")
    article = peer.article(name="Out\u202eREACH\u200b notes", **{"peh:tags": ["night\u2066 work", "\u200b"],
                                                                 "peh:province": "Sichuan\u0007"})
    assert peer.post(client, peer.activity("Create", article)).status_code == 202
    _process(app)
    note = db.session.scalar(sa.select(Note).where(Note.origin_peer_id == peer.row.id))
    assert (note.title, note.tags, note.province) == ("OutREACH notes", ["night work"], "Sichuan")


@pytest.mark.parametrize("fields", [{"peh:tags": ["night", "张伟身份证110101199003071233"]},
                                    {"peh:province": "Call 13812345678"}])
def test_a_trusted_partners_note_with_personal_data_in_its_tags_or_province_waits_for_review(
        app, client, make_peer, fields):
    peer = make_peer(trust="publish")
    assert peer.post(client, peer.activity("Create", peer.article(**fields))).status_code == 202
    _process(app)
    note = db.session.scalar(sa.select(Note).where(Note.origin_peer_id == peer.row.id))
    assert note.state == "submitted"
    assert client.get(f"/notes/{note.id}").status_code == 404


def test_a_note_sent_by_reference_is_fetched_again_while_its_origin_is_away(app, client, make_peer, monkeypatch):
    """A partner's outage must not lose its note: a timeout or a 5xx is tried again with backoff."""
    from hub.federation import client as federation_client
    from hub.federation.http import FetchError
    peer = make_peer(trust="publish")
    article = peer.article()
    answers = [FetchError("timed out", retryable=True), FetchError("503", retryable=True), article]

    def fetch(url, **_kwargs):
        assert url == article["id"]
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer
    monkeypatch.setattr(federation_client, "signed_get_json", fetch)
    assert peer.post(client, peer.activity("Create", article["id"])).status_code == 202
    _process(app)
    item = db.session.scalar(sa.select(InboxItem))
    assert (item.state, item.attempts) == ("pending", 1) and item.next_attempt_at is not None
    _process(app)  # before its time: not tried
    assert (item.state, item.attempts, len(answers)) == ("pending", 1, 2)
    for attempts in (2, 3):
        item.next_attempt_at = dt.datetime(2000, 1, 1)
        db.session.commit()
        _process(app)
        db.session.refresh(item)
    assert (item.state, item.attempts, answers) == ("done", 2, [])
    assert db.session.scalar(sa.select(Note).where(Note.remote_id == article["id"])).state == "published"


def test_a_note_sent_by_reference_that_its_origin_does_not_have_fails_without_a_traceback(
        app, client, make_peer, monkeypatch, caplog):
    from hub.federation import client as federation_client
    from hub.federation.http import FetchError
    peer = make_peer(trust="publish")

    def fetch(url, **_kwargs):
        raise FetchError(f"{url} answered 404", retryable=False, url=url)
    monkeypatch.setattr(federation_client, "signed_get_json", fetch)
    assert peer.post(client, peer.activity("Create", peer.base + "/ap/notes/9")).status_code == 202
    _process(app)
    item = db.session.scalar(sa.select(InboxItem))
    assert item.state == "failed" and item.error.startswith("fetch failed:") and "Traceback" not in caplog.text


def test_the_original_page_link_of_a_partners_note_stays_on_the_partners_host(app, client, make_peer):
    peer = make_peer(trust="publish")
    for number, url in ((1, "https://evil.example/login"), (2, "https://peer.example/notes/2")):
        assert peer.post(client, peer.activity("Create", peer.article(number, url=url))).status_code == 202
    _process(app)
    urls = dict(db.session.execute(sa.select(Note.remote_id, Note.remote_url)).all())
    assert urls == {peer.base + "/ap/notes/1": peer.base + "/ap/notes/1",
                    peer.base + "/ap/notes/2": "https://peer.example/notes/2"}


def test_an_applied_activity_keeps_no_copy_of_the_partners_text(app, client, make_peer):
    # The note holds the text, where the origin's correction, redaction or Delete reaches it; the
    # stored activity would keep the first version for good.
    peer = make_peer(trust="moderate")
    text = "<p>Call Ms Lee on 13800138000.</p>"
    create = peer.activity("Create", peer.article(content=text, contentMap={"en": text}))
    peer.post(client, create)
    _process(app)
    note = db.session.scalar(sa.select(Note))
    assert "13800138000" in note.body
    redacted = "<p>Call Ms Lee on [personal data removed].</p>"
    peer.post(client, peer.activity("Update", peer.article(content=redacted, contentMap={"en": redacted},
                                                           updated="2026-01-03T00:00:00Z")))
    _process(app)
    assert "13800138000" not in db.session.get(Note, note.id).body
    items = list(db.session.scalars(sa.select(InboxItem).order_by(InboxItem.id)))
    assert [i.state for i in items] == ["done", "done"]
    assert not any("13800138000" in i.raw or "Ms Lee" in i.raw for i in items)
    assert json.loads(items[0].raw) == {"id": create["id"], "type": "Create", "actor": peer.actor_id,
                                        "object": {"id": create["object"]["id"], "type": "Article"}}
