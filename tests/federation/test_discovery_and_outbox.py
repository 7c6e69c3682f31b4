"""What other servers read: WebFinger, NodeInfo, the actor, the outbox, followers and note objects."""
from __future__ import annotations

from pathlib import Path

import pytest

import sqlalchemy as sa

from hub.extensions import db
from hub.federation import keys
from hub.federation.signatures import sign_request
from hub.models.federation import PeerHub
from hub.models.note import Note
from hub.services import moderation, notes

ACTIVITY = "application/activity+json"


def _signed_get(client, peer, path):
    headers = {"Accept": ACTIVITY}
    headers.update(sign_request(method="GET", url="http://hub.test" + path, headers=headers, body=None,
                                key_id=peer.key_id, private_key_pem=peer.private_pem))
    return client.get(path, headers=headers, base_url="http://hub.test")


def test_webfinger_finds_the_instance_actor(client):
    response = client.get("/.well-known/webfinger?resource=acct:hub@hub.test")
    assert response.status_code == 200 and response.mimetype == "application/jrd+json"
    links = response.get_json()["links"]
    assert {"rel": "self", "type": ACTIVITY, "href": "http://hub.test/actor"} in links


def test_webfinger_knows_no_people(client, people):
    assert client.get("/.well-known/webfinger?resource=acct:lee@hub.test").status_code == 404
    assert client.get("/.well-known/webfinger").status_code == 400


def test_nodeinfo_counts_public_local_notes_only(client, publish):
    publish("public")
    publish("partners")
    publish("members")
    link = client.get("/.well-known/nodeinfo").get_json()["links"][0]
    assert link["href"] == "http://hub.test/nodeinfo/2.1"
    info = client.get("/nodeinfo/2.1").get_json()
    assert info["version"] == "2.1" and info["software"]["name"] == "practice-exchange-hub"
    assert info["protocols"] == ["activitypub"] and info["usage"]["localPosts"] == 1
    assert info["usage"]["users"] == {}


def test_the_actor_is_a_service_with_a_public_key(app, client):
    response = client.get("/actor")
    assert response.mimetype == ACTIVITY
    actor = response.get_json()
    assert actor["type"] == "Service" and actor["id"] == "http://hub.test/actor"
    assert actor["inbox"] == "http://hub.test/actor/inbox" and actor["endpoints"]["sharedInbox"] == "http://hub.test/inbox"
    assert actor["publicKey"]["id"] == "http://hub.test/actor#main-key"
    keys.load_public_key(actor["publicKey"]["publicKeyPem"])
    # The key is made once and kept in instance/, readable by nobody else.
    key_file = Path(app.instance_path) / "federation_key.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert client.get("/actor").get_json()["publicKey"] == actor["publicKey"]


def _outbox_titles(response) -> list[str]:
    return [item["object"]["name"] for item in response.get_json()["orderedItems"]]


def test_anyone_reads_public_notes_in_the_outbox_newest_first(client, publish):
    publish("public", title="first")
    publish("public", title="second")
    publish("partners", title="for partners")
    publish("members", title="for members")
    collection = client.get("/outbox").get_json()
    assert collection["type"] == "OrderedCollection" and collection["totalItems"] == 2
    page = client.get(collection["first"].removeprefix("http://hub.test"))
    assert page.get_json()["type"] == "OrderedCollectionPage"
    assert _outbox_titles(page) == ["second", "first"]


def test_a_signed_partner_also_reads_partners_notes_but_never_members_notes(client, publish, make_peer):
    publish("public", title="public")
    publish("partners", title="for partners")
    publish("members", title="for members")
    partner = make_peer()
    page = _signed_get(client, partner, "/outbox?page=1")
    assert sorted(_outbox_titles(page)) == ["for partners", "public"]
    partners_item = next(i for i in page.get_json()["orderedItems"] if i["object"]["name"] == "for partners")
    assert partners_item["object"]["to"] == [partner.actor_id]
    assert page.headers["Cache-Control"] == "private, no-store"


def test_a_hub_off_the_allow_list_reads_only_public_notes(client, publish, make_peer):
    publish("public", title="public")
    publish("partners", title="for partners")
    stranger = make_peer(partner=False)
    assert _outbox_titles(_signed_get(client, stranger, "/outbox?page=1")) == ["public"]


def test_a_forged_signature_is_refused_not_answered_as_anonymous(client, publish, make_peer):
    publish("public", title="public")
    publish("partners", title="for partners")
    partner = make_peer()
    from tests.federation.fixtures import keypair

    partner.private_pem = keypair(6)[0]
    for path in ("/outbox?page=1", "/outbox", "/followers", "/ap/notes/1"):
        response = _signed_get(client, partner, path)
        assert response.status_code == 401, path
        # The stored key fails, so the hub fetches the key again (rotation); here that fetch fails too.
        assert response.get_json()["error"] in ("signature_mismatch", "key_fetch_failed")


@pytest.mark.parametrize("signature", ['keyId="nonsense"', "sig1=:AAAA:", 'keyId="https://x.example/a#k",headers="date"'])
def test_an_unreadable_signature_on_a_get_gets_401(client, publish, signature):
    publish("public", title="public")
    response = client.get("/outbox?page=1", headers={"Signature": signature}, base_url="http://hub.test")
    assert response.status_code == 401 and response.get_json()["error"].startswith(("key_id", "signature"))


def test_a_strangers_signature_is_not_checked_and_reads_public_notes(client, publish, make_peer):
    publish("public", title="public")
    publish("partners", title="for partners")
    stranger = make_peer("stranger.example", register=False)
    assert _outbox_titles(_signed_get(client, stranger, "/outbox?page=1")) == ["public"]


def test_a_blocked_hub_reads_nothing(client, publish, make_peer):
    publish("public")
    peer = make_peer()
    peer.row.blocked = True
    db.session.commit()
    assert _signed_get(client, peer, "/outbox?page=1").status_code == 403


def test_the_outbox_is_paged(client, publish, monkeypatch):
    from hub.federation import outbox

    monkeypatch.setattr(outbox, "PAGE_SIZE", 2)
    for n in range(5):
        publish("public", title=f"n{n}")
    first = client.get("/outbox?page=1").get_json()
    assert _outbox_titles(client.get("/outbox?page=1")) == ["n4", "n3"] and first["next"].endswith("page=2")
    last = client.get("/outbox?page=3").get_json()
    assert [i["object"]["name"] for i in last["orderedItems"]] == ["n0"] and "next" not in last
    assert client.get("/outbox?page=0").status_code == 404


def test_remote_notes_are_never_republished(client, make_peer):
    peer = make_peer()
    db.session.add(Note(origin_peer_id=peer.row.id, remote_id=peer.base + "/n/1", state="published",
                        visibility="public", title="someone else's"))
    db.session.commit()
    assert client.get("/outbox").get_json()["totalItems"] == 0


def test_note_objects_follow_the_same_rule(client, publish, make_peer):
    public, partners, members = publish("public"), publish("partners"), publish("members")
    assert client.get(f"/ap/notes/{public.id}").get_json()["type"] == "Article"
    assert client.get(f"/ap/notes/{public.id}/activity").get_json()["type"] == "Create"
    assert client.get(f"/ap/notes/{partners.id}").status_code == 404
    assert client.get(f"/ap/notes/{members.id}").status_code == 404
    partner = make_peer()
    assert _signed_get(client, partner, f"/ap/notes/{partners.id}").status_code == 200
    assert _signed_get(client, partner, f"/ap/notes/{members.id}").status_code == 404


def test_followers_are_counted_for_all_and_named_to_partners(client, make_peer):
    follower = make_peer(they_follow=True)
    document = client.get("/followers").get_json()
    assert document["totalItems"] == 1 and "orderedItems" not in document
    assert _signed_get(client, follower, "/followers").get_json()["orderedItems"] == [follower.actor_id]
    assert db.session.scalar(sa.select(PeerHub.id)) == follower.row.id


def test_templates_can_say_where_a_remote_note_came_from(app, make_peer, publish):
    peer = make_peer()
    remote = Note(origin_peer_id=peer.row.id, remote_id=peer.base + "/n/1", remote_url=peer.base + "/notes/1",
                  state="published", visibility="public")
    db.session.add(remote)
    db.session.commit()
    origin = app.jinja_env.globals["note_origin"]
    assert origin(remote) == {"name": "peer.example", "base_url": peer.base, "url": peer.base + "/notes/1"}
    assert origin(publish("public")) is None


@pytest.mark.parametrize("url", ["/outbox?page=0", "/outbox?page=-1", "/outbox?page=10001",
                                 "/ap/notes/99999999999999999999999", "/ap/nothing"])
def test_federation_addresses_answer_errors_as_json_documents(client, url):
    response = client.get(url, base_url="http://hub.test")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 404


@pytest.mark.parametrize("path", ["/ap/notes/{id}", "/ap/notes/{id}/activity", "/outbox?page=1"])
def test_a_note_redacted_here_is_never_served_unchecked_from_a_shared_cache(client, publish, people, path):
    """Public answers that carry notes' text are cached only to be revalidated (no-cache and an ETag), never
    served for a minute unchecked: a moderator's redaction reaches the next reader at once."""
    note = publish("public", body="我们在社区开展外展。老王在桥下等我们。")
    url = path.format(id=note.id)
    first = client.get(url)
    assert first.status_code == 200 and "老王" in first.get_data(as_text=True)
    assert first.headers["Cache-Control"] == "no-cache" and first.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304  # nothing changed: the cache keeps what it has, cheaply
    moderation.redact_note(note, by=people["moderator"], fields={"title": note.title, "summary": note.summary,
                                                                 "body": "我们在社区开展外展。"})
    changed = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and "老王" not in changed.get_data(as_text=True)
    assert changed.headers["ETag"] != first.headers["ETag"]
