"""RFC 9421 against an independent implementation, double-knocking, several keys, clear refusals.

The independent side is the ``requests`` HTTP stack signed by http-message-signatures' own
signer (the way RECIPES-next §5 uses it), and, for what we send, http-message-signatures'
verifier plus a signature base rebuilt by hand from RFC 9421 §2.5 and checked with
``cryptography`` alone, so a mistake shared by the hub and the library would still show.
"""
from __future__ import annotations

import base64
import hashlib
import json

import pytest
import requests
import sqlalchemy as sa
from based58 import b58encode
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding
from http_message_signatures import HTTPMessageSigner, HTTPMessageVerifier, MappingKeyResolver, algorithms

from hub.extensions import db
from hub.federation import actor, client, delivery, keys
from hub.federation.http import HTTPStatusError, SafeHttpClient
from hub.federation.signatures import sign_request
from hub.models.events import Event
from hub.models.federation import InboxItem, PeerHub
from hub.models.note import Note
from tests.federation.fixtures import keypair
from tests.helpers import count

COMPONENTS = ("@method", "@target-uri", "content-digest")


def _rows():
    return count(InboxItem), count(PeerHub), count(Note), count(Event)


def _independent(method: str, url: str, private_key, key_id: str, *, body: bytes | None = None,
                 components=COMPONENTS, algorithm=algorithms.RSA_V1_5_SHA256) -> requests.PreparedRequest:
    """Return a request prepared by ``requests`` and signed by http-message-signatures' signer."""
    headers = {"Content-Type": "application/activity+json"} if body is not None else {}
    prepared = requests.Request(method, url, data=body, headers=headers).prepare()
    signer = HTTPMessageSigner(signature_algorithm=algorithm,
                               key_resolver=MappingKeyResolver(public_keys={}, private_keys={key_id: private_key}))
    signer.sign(prepared, key_id=key_id, label="sig1", covered_component_ids=components, body=body)
    return prepared


def _send(test_client, prepared: requests.PreparedRequest):
    """Send a prepared request through the Flask test client, headers as they are."""
    path = prepared.path_url
    kwargs = {"headers": dict(prepared.headers), "base_url": "http://hub.test"}
    if prepared.method == "GET":
        return test_client.get(path, **kwargs)
    return test_client.post(path, data=prepared.body, **kwargs)


# --- they sign, we verify -----------------------------------------------------------------------

def test_a_post_signed_by_an_independent_rfc9421_signer_is_taken(app, client, make_peer):
    peer = make_peer()
    body = json.dumps(peer.activity("Create", peer.article())).encode()
    response = _send(client, _independent("POST", "http://hub.test/inbox", keys.load_private_key(peer.private_pem),
                                          peer.key_id, body=body))
    assert response.status_code == 202, response.get_data(as_text=True)
    assert count(InboxItem) == 1


def test_an_rfc9421_post_from_a_hub_off_the_allow_list_is_refused_as_such(app, client, make_peer):
    stranger = make_peer("stranger.example", register=False)
    body = json.dumps(stranger.activity("Follow", "http://hub.test/actor")).encode()
    before = _rows()
    response = _send(client, _independent("POST", "http://hub.test/inbox",
                                          keys.load_private_key(stranger.private_pem), stranger.key_id, body=body))
    # Not 401 "cannot read the signature": the allow-list answers first, as for draft-cavage.
    assert response.status_code == 403 and response.get_json()["error"] == "hub_not_admitted"
    assert _rows() == before


def test_a_tampered_rfc9421_post_is_refused_without_a_write(app, client, make_peer):
    peer = make_peer()
    body = json.dumps(peer.activity("Create", peer.article())).encode()
    prepared = _independent("POST", "http://hub.test/inbox", keys.load_private_key(peer.private_pem), peer.key_id,
                            body=body)
    prepared.body = body.replace(b"Partner note 1", b"Partner note 2")
    before = _rows()
    response = _send(client, prepared)
    assert response.status_code == 401 and response.get_json()["error"] == "digest_mismatch"
    assert _rows() == before


def test_a_get_signed_by_an_independent_rfc9421_signer_reads_partners_notes(app, client, make_peer, publish):
    publish("partners", title="for partners")
    peer = make_peer()
    prepared = _independent("GET", "http://hub.test/outbox?page=1", keys.load_private_key(peer.private_pem),
                            peer.key_id, components=("@method", "@target-uri"))
    response = _send(client, prepared)
    assert response.status_code == 200
    assert [i["object"]["name"] for i in response.get_json()["orderedItems"]] == ["for partners"]


# --- we sign, they verify -----------------------------------------------------------------------

def test_our_rfc9421_post_verifies_in_an_independent_verifier(app, peer_server):
    url = peer_server.base + "/inbox"
    body = json.dumps({"type": "Create", "id": "x"}, ensure_ascii=False).encode()
    keys_ = actor.instance_keys()
    http = SafeHttpClient(allow_loopback=True, total_timeout=5)
    assert client.signed_post(http, url, body, key_id=actor.key_id(), private_pem=keys_.private_pem) == "rfc9421"
    [(path, headers, sent)] = peer_server.posts
    assert sent == body
    # 1. the library's own verifier, given the request as received
    received = requests.Request("POST", url, data=sent, headers=headers).prepare()
    verifier = HTTPMessageVerifier(signature_algorithm=algorithms.RSA_V1_5_SHA256, key_resolver=MappingKeyResolver(
        public_keys={actor.key_id(): keys_.public_pem}, private_keys={}))
    [result] = verifier.verify(received, body=sent, require_components=COMPONENTS)
    assert result.parameters["keyid"] == actor.key_id() and result.parameters["alg"] == "rsa-v1_5-sha256"
    # 2. by hand: RFC 9530 digest, RFC 9421 signature base, RSA PKCS#1 v1.5 over SHA-256
    assert headers["content-digest"] == "sha-256=:" + base64.b64encode(hashlib.sha256(sent).digest()).decode() + ":"
    signature_input = headers["signature-input"]
    base = (f'"@method": POST\n"@target-uri": {url}\n"content-digest": {headers["content-digest"]}\n'
            f'"@signature-params": {signature_input.partition("=")[2]}').encode()
    signature = base64.b64decode(headers["signature"].removeprefix("sig1=:").removesuffix(":"))
    keys.load_public_key(keys_.public_pem).verify(signature, base, padding.PKCS1v15(), hashes.SHA256())


def test_our_rfc9421_get_verifies_by_hand(app, peer_server, monkeypatch):
    peer_server.documents["/outbox?page=2"] = {"type": "OrderedCollectionPage"}
    host = peer_server.base.removeprefix("http://")
    db.session.add(PeerHub(actor_id=peer_server.base + "/actor", base_url=peer_server.base, partner=True,
                           signature_scheme="rfc9421"))
    db.session.commit()
    url = peer_server.base + "/outbox?page=2"
    captured = {}
    original = SafeHttpClient.get

    def recording_get(self, target, headers=None, **kwargs):
        captured.update(headers or {})
        return original(self, target, headers, **kwargs)

    monkeypatch.setattr(SafeHttpClient, "get", recording_get)
    assert client.signed_get_json(url) == {"type": "OrderedCollectionPage"}
    assert captured["Host"] == host and "Content-Digest" not in captured
    params = captured["Signature-Input"].partition("=")[2]
    assert params.startswith('("@method" "@target-uri");created=')
    base = f'"@method": GET\n"@target-uri": {url}\n"@signature-params": {params}'.encode()
    signature = base64.b64decode(captured["Signature"].removeprefix("sig1=:").removesuffix(":"))
    keys.load_public_key(actor.instance_keys().public_pem).verify(signature, base, padding.PKCS1v15(), hashes.SHA256())


# --- double-knocking ----------------------------------------------------------------------------

def _follower(make_peer, server, **kwargs):
    return make_peer(server.base.removeprefix("http://"), scheme="http", they_follow=True, **kwargs)


def _send_all(app) -> None:
    from tests.federation.test_delivery import _consume

    _consume(app)
    delivery.send_due(app, wait=True)


def test_a_hub_that_refuses_rfc9421_gets_draft_cavage_and_keeps_getting_it(app, make_peer, peer_server, publish):
    peer_server.status["refuse_rfc9421"] = True
    peer = _follower(make_peer, peer_server)
    publish("public", title="first")
    _send_all(app)
    first, second = peer_server.posts
    assert "signature-input" in first[1] and "signature-input" not in second[1]
    assert second[1]["signature"].startswith('keyId="http://hub.test/actor#main-key"')
    db.session.refresh(peer.row)
    assert peer.row.signature_scheme == "cavage"
    assert {d.state for d in db.session.scalars(sa.select(delivery.Delivery))} == {"sent"}
    publish("public", title="second")
    _send_all(app)
    assert len(peer_server.posts) == 3 and "signature-input" not in peer_server.posts[2][1]  # one knock now


def test_a_hub_known_to_take_rfc9421_that_fails_is_not_asked_twice(app, peer_server):
    peer_server.status["post"] = 500
    http = SafeHttpClient(allow_loopback=True, total_timeout=5)
    with pytest.raises(HTTPStatusError):
        client.signed_post(http, peer_server.base + "/inbox", b"{}", key_id=actor.key_id(),
                           private_pem=actor.instance_keys().private_pem, scheme="rfc9421")
    assert len(peer_server.posts) == 1  # a server error is not an unreadable signature


def test_a_hub_known_to_take_rfc9421_that_now_refuses_it_is_asked_with_cavage(app, peer_server):
    peer_server.status["refuse_rfc9421"] = True
    http = SafeHttpClient(allow_loopback=True, total_timeout=5)
    scheme = client.signed_post(http, peer_server.base + "/inbox", b"{}", key_id=actor.key_id(),
                                private_pem=actor.instance_keys().private_pem, scheme="rfc9421")
    assert scheme == "cavage" and len(peer_server.posts) == 2


# --- several keys per actor, FEP-521a Multikeys ------------------------------------------------

def test_the_key_named_by_the_signature_is_used_among_several(app, client, make_peer, peer_server):
    peer = _follower(make_peer, peer_server)
    second_private, second_public = keypair(5)
    ed = ed25519.Ed25519PrivateKey.generate()
    raw = ed.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    peer_server.serve_actor(peer)
    document = peer_server.documents["/actor"]
    document["publicKey"] = [document["publicKey"], {"id": peer.actor_id + "#second-key", "owner": peer.actor_id,
                                                     "publicKeyPem": second_public.decode()}]
    document["assertionMethod"] = [{"id": peer.actor_id + "#ed25519-key", "type": "Multikey",
                                    "controller": peer.actor_id,
                                    "publicKeyMultibase": "z" + b58encode(keys.MULTICODEC_ED25519 + raw).decode()}]
    # draft-cavage with the second RSA key (only the first is known so far: the actor is fetched again)
    body = json.dumps(peer.activity("Create", peer.article(1))).encode()
    headers = {"Content-Type": "application/activity+json"}
    headers.update(sign_request(method="POST", url="http://hub.test/inbox", headers={}, body=body,
                                key_id=peer.actor_id + "#second-key", private_key_pem=second_private))
    response = client.post("/inbox", data=body, headers=headers, base_url="http://hub.test")
    assert response.status_code == 202, response.get_data(as_text=True)
    # RFC 9421 with the Ed25519 Multikey of assertionMethod
    body = json.dumps(peer.activity("Create", peer.article(2))).encode()
    prepared = _independent("POST", "http://hub.test/inbox", ed, peer.actor_id + "#ed25519-key", body=body,
                            algorithm=algorithms.ED25519)
    response = _send(client, prepared)
    assert response.status_code == 202, response.get_data(as_text=True)
    db.session.refresh(peer.row)
    assert set(peer.row.other_keys) == {peer.actor_id + "#second-key", peer.actor_id + "#ed25519-key"}


def test_a_key_the_actor_does_not_publish_is_refused(app, client, make_peer, peer_server):
    peer = _follower(make_peer, peer_server)
    peer_server.serve_actor(peer)
    before = _rows()
    body = json.dumps(peer.activity("Create", peer.article())).encode()
    prepared = _independent("POST", "http://hub.test/inbox", keys.load_private_key(keypair(6)[0]),
                            peer.actor_id + "#unknown-key", body=body)
    response = _send(client, prepared)
    assert response.status_code == 401 and response.get_json()["error"] == "key_unavailable"
    assert _rows() == before


# --- clear refusals -----------------------------------------------------------------------------

@pytest.mark.parametrize("make, reason", [
    (lambda p: p.activity("Add", p.base + "/ap/notes/1", target=p.base + "/featured"), "unsupported_activity"),
    (lambda p: p.activity("Create", {"id": p.base + "/q/1", "type": "Question", "name": "?"}), "unsupported_object"),
    (lambda p: p.activity("Undo", {"id": p.base + "/b/1", "type": "Block", "actor": p.actor_id}), "unsupported_undo"),
])
def test_what_the_hub_does_not_understand_is_refused_with_a_reason(app, client, make_peer, make, reason):
    peer = make_peer()
    before = _rows()
    response = peer.post(client, make(peer))
    assert response.status_code == 400 and response.get_json()["error"] == reason
    assert response.get_json()["detail"]
    assert _rows() == before
