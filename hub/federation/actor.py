"""The hub's one ActivityPub actor (a ``Service``), its key, and the discovery documents.

Authors are never actors: a partner hub follows the hub, not a person, so nothing here names
or enumerates the people who write notes. Every URL is built from ``BASE_URL`` rather than from
the request, so the worker (which has no request) and the web process agree on every id.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app

from hub.extensions import db
from hub.federation import keys
from hub.federation.http import request_host
from hub.models.base import as_id
from hub.models.note import Note
from hub.services.visibility import Audience, visible_notes

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
ACTIVITY_JSON = "application/activity+json"
LD_JSON = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
NODEINFO_SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/2.1"
SOFTWARE_NAME = "practice-exchange-hub"
SOFTWARE_VERSION = "0.1.0"
USERNAME = "hub"  # acct:hub@host names the instance actor in WebFinger
KEY_FILE = "federation_key.pem"
_KEYS = "hub.federation.keys"


@dataclass(frozen=True)
class InstanceKeys:
    """The instance actor's key pair, as PEM bytes."""

    private_pem: bytes
    public_pem: bytes


def base_url() -> str:
    """Return the hub's public base URL without a trailing slash."""
    return str(current_app.config["BASE_URL"]).rstrip("/")


def host() -> str:
    """Return this hub's host (with a non-default port), as peers put it in Host headers."""
    return request_host(base_url())


def actor_id() -> str:
    """Return the instance actor's id."""
    return base_url() + "/actor"


def key_id() -> str:
    """Return the id of the instance actor's key (``actor#main-key``, as peers require)."""
    return actor_id() + "#main-key"


def signing_key_id(activity: dict[str, Any]) -> str:
    """Return the key to sign ``activity`` with: its actor's when that is one of ours (a topic), else the hub's.

    Every actor of this hub publishes the hub's key as ``<actor>#main-key``, so receivers that
    insist on the signer being the activity's actor are satisfied.
    """
    sender = activity.get("actor")
    if isinstance(sender, str) and sender.startswith(base_url() + "/topics/") and sender.endswith("/actor"):
        return sender + "#main-key"
    return key_id()


def followers_url() -> str:
    """Return the followers collection's id."""
    return base_url() + "/followers"


def note_object_id(note_id: int) -> str:
    """Return the ActivityPub id of a local note (its Article)."""
    return f"{base_url()}/ap/notes/{note_id}"


def comment_object_id(comment_id: int) -> str:
    """Return the ActivityPub id of a comment written on this hub."""
    return f"{base_url()}/ap/comments/{comment_id}"


def own_number(ref: Any, kind: str) -> int | None:
    """Return ``n`` of this hub's ``/ap/<kind>/<n>`` (``kind``: notes, comments), an activity's ``#…`` after it
    ignored; None for any other id."""
    prefix = f"{base_url()}/ap/{kind}/"
    number = ref[len(prefix):].partition("#")[0] if isinstance(ref, str) and ref.startswith(prefix) else ""
    return as_id(number)


def note_page_url(note_id: int) -> str:
    """Return the web page of a local note."""
    return f"{base_url()}/notes/{note_id}"


def instance_keys() -> InstanceKeys:
    """Return the instance key pair, creating ``instance/federation_key.pem`` on first use."""
    cached = current_app.extensions.get(_KEYS)
    if cached is None:
        private_pem, public_pem = keys.load_or_create_keypair(Path(current_app.instance_path) / KEY_FILE)
        cached = current_app.extensions[_KEYS] = InstanceKeys(private_pem, public_pem)
    return cached


def display_name() -> str:
    """Return the hub's name as partner hubs show it."""
    return current_app.config.get("SITE_NAME") or "Practice Exchange Hub"


def actor_document() -> dict[str, Any]:
    """Return the instance actor: a Service with its inboxes, outbox, followers and public key."""
    base = base_url()
    return {
        "@context": [AS_CONTEXT, SECURITY_CONTEXT, {
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "toot": "http://joinmastodon.org/ns#", "discoverable": "toot:discoverable"}],
        "id": actor_id(),
        "type": "Service",
        "preferredUsername": USERNAME,
        "name": display_name(),
        "summary": "A Practice Exchange Hub: practice notes shared between harm-reduction and HIV projects.",
        "url": base + "/",
        "inbox": actor_id() + "/inbox",
        "outbox": base + "/outbox",
        "followers": followers_url(),
        "endpoints": {"sharedInbox": base + "/inbox"},
        "manuallyApprovesFollowers": current_app.config["FEDERATION_MODE"] == "allowlist",
        "discoverable": False,
        "publicKey": {
            "id": key_id(),
            "owner": actor_id(),
            "publicKeyPem": instance_keys().public_pem.decode("ascii"),
        },
    }


def webfinger_subjects() -> set[str]:
    """Return the resources WebFinger answers for: acct:hub@host, acct:<hostname>@host, the actor id."""
    hostname = urlsplit(base_url()).hostname or ""
    return {f"acct:{USERNAME}@{host()}", f"acct:{hostname}@{host()}", actor_id(), base_url() + "/"}


def webfinger_document(resource: str) -> dict[str, Any] | None:
    """Return the JRD for ``resource``, or None when it names nothing here."""
    if resource not in webfinger_subjects():
        return None
    return {
        "subject": f"acct:{USERNAME}@{host()}",
        "aliases": [actor_id()],
        "links": [
            {"rel": "self", "type": ACTIVITY_JSON, "href": actor_id()},
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": base_url() + "/"},
        ],
    }


def nodeinfo_links() -> dict[str, Any]:
    """Return the /.well-known/nodeinfo document pointing at NodeInfo 2.1."""
    return {"links": [{"rel": NODEINFO_SCHEMA, "href": base_url() + "/nodeinfo/2.1"}]}


def public_note_count() -> int:
    """Count the local published notes anyone may read (what NodeInfo reports)."""
    query = sa.select(sa.func.count()).select_from(Note).where(visible_notes(Audience.hub(None)))
    return db.session.scalar(query) or 0


def nodeinfo_document() -> dict[str, Any]:
    """Return NodeInfo 2.1: software, protocol, and counts of public notes only (no user counts)."""
    return {
        "version": "2.1",
        "software": {"name": SOFTWARE_NAME, "version": SOFTWARE_VERSION},
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": current_app.config["REGISTRATION"] == "open",
        # People who use drugs or live with HIV are this hub's members: their number is nobody's business.
        "usage": {"users": {}, "localPosts": public_note_count()},
        "metadata": {"nodeName": display_name(), "federationMode": current_app.config["FEDERATION_MODE"]},
    }
