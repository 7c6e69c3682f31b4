"""Talking to other hubs: signed GETs and POSTs, actor documents, discovery by address.

All outbound traffic goes through :class:`~hub.federation.http.SafeHttpClient` (SSRF guard,
timeouts, size cap); every GET of a peer's documents is signed with the instance key, because
servers such as bovine refuse unsigned actor fetches.

Which signature scheme to use is learnt per hub ("double-knocking", as Mastodon 4.4+ does):
a POST to a hub whose scheme is not known yet is signed with RFC 9421 first and, if the hub
refuses it, sent again with draft-cavage; what worked is remembered on the hub's row (by the
delivery worker). GETs use RFC 9421 only for hubs known to accept it, because a server
that cannot read a GET's signature may answer it as an anonymous one instead of refusing it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import sqlalchemy as sa
from flask import current_app

from hub.extensions import db
from hub.federation import actor, keys
from hub.federation.activities import same_host
from hub.federation.http import FetchError, HTTPStatusError, SafeHttpClient, UnsafeURLError, request_host
from hub.federation.signatures import CAVAGE, RFC9421, sign_request
from hub.models.federation import PeerHub
from hub.text_safety import cut

ACCEPT = f'{actor.ACTIVITY_JSON}, {actor.LD_JSON}'
ACTIVITY_TYPES = ("application/activity+json", "application/ld+json")
MAX_URL = 500  # the length of the URL columns of peer_hub
MAX_KEYS = 8  # keys kept per actor (publicKey entries and assertionMethod Multikeys)
MAX_PEM = 20_000
ACTOR_TYPES = frozenset({"Service", "Application", "Person", "Group", "Organization"})
# Answers to a signature the peer could not read: try the other scheme.
KNOCK_AGAIN = frozenset({401, 403})


class DiscoveryError(Exception):
    """An address does not lead to an ActivityPub actor; the message says why (in English, for logs),
    ``code`` and ``params`` say it for people (hub.federation.problems)."""

    def __init__(self, message: str, *, code: str, params: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.params = params or {}


@dataclass(frozen=True)
class RemoteActor:
    """What the hub needs to know of another server's actor."""

    id: str
    base_url: str
    name: str
    inbox: str
    shared_inbox: str
    outbox: str
    key_id: str
    public_key_pem: str
    other_keys: dict[str, str] = field(default_factory=dict)

    def public_key_for(self, key_id: str) -> str | None:
        """Return the PEM of the actor's key ``key_id``, if the actor publishes it."""
        return self.public_key_pem if key_id == self.key_id else self.other_keys.get(key_id)


def peers_on(host: str) -> list[PeerHub]:
    """Return the known hubs (actors) on ``host`` (host[:port], lower-case)."""
    query = sa.select(PeerHub).where(PeerHub.base_url.in_([f"https://{host}", f"http://{host}"]))
    return list(db.session.scalars(query))


def http_client(*, total_timeout: float | None = None) -> SafeHttpClient:
    """Return an SSRF-guarded client configured from the app's federation settings."""
    cfg = current_app.config
    return SafeHttpClient(
        allow_loopback=bool(cfg["FEDERATION_ALLOW_LOOPBACK"]),
        connect_timeout=float(cfg["FEDERATION_CONNECT_TIMEOUT"]),
        total_timeout=float(total_timeout or cfg["FEDERATION_TOTAL_TIMEOUT"]),
        max_bytes=int(cfg["FEDERATION_MAX_FETCH_BYTES"]),
    )


def signed_post(client: SafeHttpClient, url: str, body: bytes, *, key_id: str, private_pem: bytes,
                scheme: str = "") -> str:
    """POST an activity with an HTTP Signature; return the scheme the peer accepted (errors raise FetchError).

    ``scheme`` is what the peer is known to accept ("" when unknown). RFC 9421 is tried first
    unless the peer is known to want draft-cavage. draft-cavage is tried next when the peer
    answers 401 or 403 or, while its scheme is not known yet, any error status: some servers
    fail with 400 or 500 on a signature they cannot read. Needs no app context, so the
    sender's threads can call it.
    """
    first = CAVAGE if scheme == CAVAGE else RFC9421
    try:
        _signed_post(client, url, body, key_id=key_id, private_pem=private_pem, scheme=first)
        return first
    except HTTPStatusError as error:
        if first == CAVAGE or (scheme and error.status not in KNOCK_AGAIN):
            raise
    _signed_post(client, url, body, key_id=key_id, private_pem=private_pem, scheme=CAVAGE)
    return CAVAGE


def _signed_post(client: SafeHttpClient, url: str, body: bytes, *, key_id: str, private_pem: bytes,
                 scheme: str) -> None:
    headers = {"Content-Type": actor.LD_JSON, "Accept": ACCEPT}
    headers.update(sign_request(method="POST", url=url, headers=headers, body=body, key_id=key_id,
                                private_key_pem=private_pem, scheme=scheme))
    client.post(url, body, headers, follow_redirects=True)


def get_scheme(url: str) -> str:
    """Return the scheme to sign a GET to ``url`` with: RFC 9421 only where that hub accepted it."""
    try:
        schemes = {p.signature_scheme for p in peers_on(request_host(url))}
    except ValueError:
        return CAVAGE
    return RFC9421 if RFC9421 in schemes else CAVAGE


def signed_get_json(url: str, *, client: SafeHttpClient | None = None) -> Any:
    """GET an ActivityPub document with a signature; raise FetchError when it is not JSON."""
    client = client or http_client()
    scheme = get_scheme(url)
    try:
        response = _signed_get(client, url, scheme)
    except HTTPStatusError as error:
        if scheme == CAVAGE or error.status not in KNOCK_AGAIN:
            raise
        response = _signed_get(client, url, CAVAGE)
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        raise FetchError(f"{url} did not answer with JSON", retryable=False, url=url, code="not_json") from None


def _signed_get(client: SafeHttpClient, url: str, scheme: str) -> Any:
    headers = {"Accept": ACCEPT}
    headers.update(sign_request(method="GET", url=url, headers=headers, body=None, key_id=actor.key_id(),
                                private_key_pem=actor.instance_keys().private_pem, scheme=scheme))
    return client.get(url, headers)


def base_of(url: str) -> str:
    """Return ``scheme://host[:port]`` of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{request_host(url)}"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _actor_keys(doc: dict[str, Any]) -> dict[str, str]:
    """Return the actor's keys, key id -> PEM: ``publicKey`` entries first, then FEP-521a Multikeys."""
    found: dict[str, str] = {}
    for key in _as_list(doc.get("publicKey"))[:MAX_KEYS]:
        if isinstance(key, dict) and isinstance(key.get("publicKeyPem"), str) and isinstance(key.get("id"), str):
            if key.get("owner") in (None, doc["id"]):
                found.setdefault(key["id"], key["publicKeyPem"])
    for key in _as_list(doc.get("assertionMethod"))[:MAX_KEYS]:
        if (isinstance(key, dict) and key.get("type") == "Multikey" and isinstance(key.get("id"), str)
                and key.get("controller") == doc["id"]):
            try:
                found.setdefault(key["id"], keys.multikey_to_pem(key.get("publicKeyMultibase")))
            except ValueError:
                continue  # a key type we do not read: the actor may still sign with another
    return dict(list(found.items())[:MAX_KEYS])


def parse_actor(doc: Any, *, expected_id: str | None = None) -> RemoteActor:
    """Check an actor document and return what the hub keeps of it."""
    if not isinstance(doc, dict) or not isinstance(doc.get("id"), str):
        raise DiscoveryError("the answer is not an ActivityPub actor", code="not_actor")
    if doc.get("type") not in ACTOR_TYPES:
        raise DiscoveryError(f"the answer is a {doc.get('type')!r}, not an actor", code="wrong_type")
    actor_id = doc["id"]
    if expected_id is not None and actor_id != expected_id.split("#")[0]:
        raise DiscoveryError("the actor document names another id than the one fetched", code="id_mismatch")
    inbox = doc.get("inbox")
    endpoints = doc.get("endpoints") if isinstance(doc.get("endpoints"), dict) else {}
    shared = endpoints.get("sharedInbox") if isinstance(endpoints.get("sharedInbox"), str) else ""
    outbox = doc.get("outbox") if isinstance(doc.get("outbox"), str) else ""
    if not isinstance(inbox, str):
        raise DiscoveryError("the actor has no inbox", code="no_inbox")
    host = request_host(actor_id)
    # An actor may only point at its own server: otherwise it could aim our deliveries anywhere.
    for url in (inbox, shared, outbox):
        if url and request_host(url) != host:
            raise DiscoveryError("the actor's inbox or outbox is on another server", code="foreign_inbox")
    # A key elsewhere could be anyone's; one too long is not kept. Either is skipped, not trusted.
    published = _actor_keys(doc)
    if not published:
        raise DiscoveryError("the actor publishes no usable public key", code="no_key")
    found = {key_id: pem for key_id, pem in published.items()
             if same_host(key_id, actor_id) and len(key_id) <= MAX_URL and len(pem) <= MAX_PEM}
    if not found:
        raise DiscoveryError("the actor publishes no usable public key on its own server", code="foreign_key")
    if any(len(url) > MAX_URL for url in (actor_id, inbox, shared, outbox)):
        raise DiscoveryError("the actor document has addresses too long to keep", code="too_long")
    (key_id, pem), *others = found.items()
    name = doc.get("name") or doc.get("preferredUsername") or host  # bounded to PeerHub.name (the actor names itself)
    return RemoteActor(id=actor_id, base_url=base_of(actor_id), name=cut(str(name), 200), inbox=inbox,
                       shared_inbox=shared, outbox=outbox, key_id=key_id, public_key_pem=pem,
                       other_keys=dict(others))


def copy_actor(peer: PeerHub, found: RemoteActor) -> None:
    """Copy a fetched actor document's endpoints and keys onto a hub's row."""
    peer.inbox_url, peer.shared_inbox_url, peer.outbox_url = found.inbox, found.shared_inbox, found.outbox
    peer.key_id, peer.public_key_pem, peer.other_keys = found.key_id, found.public_key_pem, dict(found.other_keys)


def fetch_actor(url: str, *, client: SafeHttpClient | None = None) -> RemoteActor:
    """Fetch (signed) and check the actor at ``url`` (a key id's fragment is dropped)."""
    actor_url = url.split("#")[0]
    return parse_actor(signed_get_json(actor_url, client=client), expected_id=actor_url)


def _webfinger(base: str, resource: str, client: SafeHttpClient) -> str | None:
    """Ask ``base`` about ``resource``; return the ActivityPub actor link, if any."""
    url = f"{base}/.well-known/webfinger?resource={quote(resource, safe=':@')}"
    try:
        doc = client.get(url, {"Accept": "application/jrd+json, application/json"}).json()
    except (FetchError, ValueError, UnicodeDecodeError):
        return None
    links = doc.get("links") if isinstance(doc, dict) else None
    for link in links if isinstance(links, list) else []:
        if (isinstance(link, dict) and link.get("rel") == "self" and isinstance(link.get("href"), str)
                and str(link.get("type", "")).split(";")[0].strip() in ACTIVITY_TYPES):
            return link["href"]
    return None


def _bases(host: str) -> list[str]:
    """Return the URLs to try for a bare host: https, and http where loopback is allowed (tests)."""
    bases = [f"https://{host}"]
    if current_app.config["FEDERATION_ALLOW_LOOPBACK"]:
        bases.append(f"http://{host}")
    return bases


def discover(address: str) -> RemoteActor:
    """Find the actor behind an address: a hub's URL, an actor URL, or user@host."""
    address = address.strip().removeprefix("acct:").lstrip("@")
    client = http_client(total_timeout=15)
    if "://" not in address:
        user, sep, host = address.rpartition("@")
        if not host or not all(c.isalnum() or c in ".-:[]" for c in host):
            raise DiscoveryError("give the hub's address, e.g. https://hub.example.org", code="invalid_address")
        candidates = [(base, f"acct:{user}@{host}") for base in _bases(host)] if sep else \
            [(base, f"acct:{actor.USERNAME}@{host}") for base in _bases(host)]
        return _first_actor(candidates, client, fallback=[f"{b}/actor" for b in _bases(host)] if not sep else [])
    parts = urlsplit(address)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DiscoveryError("give the hub's address, e.g. https://hub.example.org", code="invalid_address")
    if parts.path.strip("/"):
        return _fetch_or_explain(address, client)
    base = base_of(address)
    host = request_host(address)
    candidates = [(base, f"acct:{actor.USERNAME}@{host}"), (base, f"acct:{parts.hostname}@{host}")]
    return _first_actor(candidates, client, fallback=[base + "/actor"])


def _first_actor(candidates: list[tuple[str, str]], client: SafeHttpClient, *, fallback: list[str]) -> RemoteActor:
    for base, resource in candidates:
        href = _webfinger(base, resource, client)
        if href:
            return _fetch_or_explain(href, client)
    refused = None
    for url in fallback:
        try:
            return fetch_actor(url, client=client)
        except UnsafeURLError as error:
            refused = error
        except (FetchError, DiscoveryError, ValueError):
            continue
    if refused is not None:  # the address itself is refused (a private network): say that, not "no hub"
        raise DiscoveryError(f"the hub could not be reached: {refused}", code="unreachable", params={"cause": refused})
    raise DiscoveryError("no ActivityPub hub answered at this address", code="no_hub")


def _fetch_or_explain(url: str, client: SafeHttpClient) -> RemoteActor:
    try:
        return fetch_actor(url, client=client)
    except FetchError as error:
        raise DiscoveryError(f"the hub could not be reached: {error}", code="unreachable",
                             params={"cause": error}) from None
    except ValueError as error:
        raise DiscoveryError(f"the address is not valid: {error}", code="invalid_address") from None


def dumps(activity: dict[str, Any]) -> bytes:
    """Serialise an activity for sending (UTF-8, Chinese kept readable)."""
    return json.dumps(activity, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
