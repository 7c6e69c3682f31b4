"""Inbound federation: checking a POST to the inbox, and processing stored activities later.

At the door (:func:`receive`, called by the inbox view), cheapest checks first and no database
write until every check has passed:

1. size cap and content type;
2. the Signature header names a key on a host that is neither blocked nor, in allow-list mode,
   missing from the allow-list — before any cryptography or key fetching;
3. the body is a JSON activity whose actor owns the signing key (keyId ``actor#...``) and whose
   id is on the actor's host;
4. the HTTP Signature verifies (draft-cavage or RFC 9421: digest, date window, Host), with the
   key we know for that hub or one fetched from its actor document by a signed GET (an actor may
   publish several keys; the one named by the signature is used);
5. the signature was not seen before (replay) and the activity id is new (duplicate);
6. the activity is one the hub understands (:data:`DOOR_CHECKS`): anything else is refused with
   400 and a reason the sender can read, rather than taken and silently dropped (400, not 422:
   fediverse test suites such as fediverse-pasture read a 400 to a signed POST as "signature fine,
   content not wanted").

Only then is the raw activity stored and 202 returned. The worker (:func:`process_pending`)
does the rest: follows, accepts, notes, deletes.
"""
from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, current_app

from hub.extensions import db
from hub.federation import activities, actor, client, conversation, delivery, remote_notes, topics
from hub.federation.activities import InvalidActivity, Unwanted, id_of, same_host
from hub.federation.http import FetchError
from hub.federation.signatures import (BadSignatureError, KeyUnavailableError, ReplayCache, SignatureError,
                                       VerifiedSignature, actor_id_from_key_id, key_id_host, signature_key_id,
                                       verify_request)
from hub.models.base import utcnow
from hub.models.federation import InboxItem, PeerHub

log = logging.getLogger("hub.federation")
ACTIVITY_MIMETYPES = frozenset({"application/activity+json", "application/ld+json"})
REPLAY_KEY = "hub.federation.replay"
MAX_ID = 500


@dataclass
class Refused(Exception):
    """The inbox refuses a POST: HTTP ``status``, a short machine-readable ``reason`` and a sentence."""

    status: int
    reason: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.status} {self.reason}"


@dataclass(frozen=True)
class Accepted:
    """The inbox took the activity (``duplicate`` when it already had it)."""

    activity_id: str
    duplicate: bool = False


# --- who may talk to us ------------------------------------------------------------------------

def host_admitted(host: str) -> bool:
    """Tell whether a host may send us anything: not blocked, and allow-listed in allow-list mode."""
    peers = client.peers_on(host)
    if any(p.blocked for p in peers):
        return False
    if current_app.config["FEDERATION_MODE"] == "open":
        return True
    return any(p.partner for p in peers)


# --- at the door -------------------------------------------------------------------------------

def _replay_cache() -> ReplayCache:
    cache = current_app.extensions.get(REPLAY_KEY)
    if cache is None:
        cache = current_app.extensions[REPLAY_KEY] = ReplayCache()
    return cache


def check_envelope(*, content_type: str | None, content_length: int | None) -> None:
    """Refuse by size and content type before reading the body."""
    limit = int(current_app.config["FEDERATION_MAX_ACTIVITY_BYTES"])
    if content_length is not None and content_length > limit:
        raise Refused(413, "too_large")
    mimetype = (content_type or "").split(";")[0].strip().lower()
    if mimetype not in ACTIVITY_MIMETYPES:
        raise Refused(415, "unsupported_media_type")


def signing_key_id(headers: Mapping[str, str]) -> str:
    """Return the keyId of the Signature header (no crypto yet), refusing a missing or odd one."""
    try:
        key_id = signature_key_id(headers)
        actor_id_from_key_id(key_id)
    except SignatureError as error:
        raise Refused(401, error.reason_code) from None
    return key_id


def _parse_activity(body: bytes) -> dict[str, Any]:
    try:
        activity = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Refused(400, "malformed_json") from None
    if not isinstance(activity, dict):
        raise Refused(400, "not_an_activity")
    if not _storable(activity):
        raise Refused(400, "invalid_characters")
    for name in ("id", "type"):
        if not isinstance(activity.get(name), str) or not activity[name] or len(activity[name]) > MAX_ID:
            raise Refused(400, f"missing_{name}")
    actor_ref = id_of(activity.get("actor"))
    if not actor_ref or len(actor_ref) > MAX_ID:
        raise Refused(400, "missing_actor")
    return activity


def _storable(document: Any) -> bool:
    """Tell whether every string in a parsed JSON document (keys too) can be stored and shown: no NUL,
    which PostgreSQL's text and XML refuse, and no lone surrogate (a "\\ud800" escape), which is no
    character and cannot be encoded. Walked without recursion: the nesting is the sender's."""
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value or _SURROGATE.search(value):
                return False
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return True


_SURROGATE = re.compile("[\ud800-\udfff]")


class _KeyFetcher:
    """Find the public key for a keyId: the one we keep for that hub, else its actor document."""

    def __init__(self, key_id: str, *, refresh: bool = False) -> None:
        self.key_id = key_id
        self.refresh = refresh
        self.fetched: client.RemoteActor | None = None
        self.from_cache = False

    def __call__(self, key_id: str) -> str | None:
        if not self.refresh:
            peer = db.session.scalar(sa.select(PeerHub).where(PeerHub.actor_id == actor_id_from_key_id(key_id)))
            known = peer.public_key_for(key_id) if peer is not None else None
            if known:
                self.from_cache = True
                return known
        try:
            self.fetched = client.fetch_actor(key_id, client=client.http_client(total_timeout=10))
        except (client.DiscoveryError, ValueError) as error:
            raise KeyUnavailableError(detail=str(error)) from None
        pem = self.fetched.public_key_for(key_id)
        if pem is None:
            raise KeyUnavailableError(detail="the actor does not publish this key")
        return pem


def verify_signature(method: str, path: str, query: str, headers: Mapping[str, str], body: bytes,
                     key_id: str) -> tuple[VerifiedSignature, client.RemoteActor | None]:
    """Verify the signature, fetching the key again once if the stored one fails (key rotation)."""
    kwargs = dict(method=method, path=path, query=query, headers=headers, body=body,
                  expected_host=actor.host(), scheme=urlsplit(actor.base_url()).scheme)
    fetcher = _KeyFetcher(key_id)
    try:
        return verify_request(fetch_public_key=fetcher, **kwargs), fetcher.fetched
    except (BadSignatureError, KeyUnavailableError):
        if not fetcher.from_cache:
            raise
    fetcher = _KeyFetcher(key_id, refresh=True)
    return verify_request(fetch_public_key=fetcher, **kwargs), fetcher.fetched


def receive(*, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> Accepted:
    """Check a POSTed activity and store it for the worker; raise :class:`Refused` otherwise."""
    key_id = signing_key_id(headers)
    try:
        host = key_id_host(key_id)
    except SignatureError as error:
        raise Refused(401, error.reason_code) from None
    if not host_admitted(host):
        raise Refused(403, "hub_not_admitted")
    activity = _parse_activity(body)
    actor_ref = id_of(activity["actor"]) or ""
    if actor_id_from_key_id(key_id) != actor_ref:
        raise Refused(401, "key_not_owned_by_actor")
    if not same_host(activity["id"], actor_ref, key_id):
        raise Refused(400, "origin_mismatch")
    try:
        _signature, fetched = verify_signature(method, path, query, headers, body, key_id)
    except FetchError as error:
        raise Refused(503 if error.retryable else 401, "key_fetch_failed") from None
    except SignatureError as error:
        raise Refused(401, error.reason_code) from None
    if _replay_cache().seen({k.lower(): v for k, v in headers.items()}["signature"]):
        raise Refused(401, "signature_replayed")
    if db.session.scalar(sa.select(InboxItem.id).where(InboxItem.activity_id == activity["id"])):
        return Accepted(activity["id"], duplicate=True)
    check_understood(activity, actor_ref)
    return _store(activity, actor_ref, host, fetched, body)


def _store(activity: dict[str, Any], actor_ref: str, host: str, fetched: client.RemoteActor | None,
           body: bytes, *, again: bool = True) -> Accepted:
    """Store the raw activity (and a newly met hub), answering duplicates that raced us kindly."""
    peer = db.session.scalar(sa.select(PeerHub).where(PeerHub.actor_id == actor_ref))
    if peer is None and fetched is not None:
        peer = _new_peer(fetched, host)
    elif peer is not None and fetched is not None:
        _refresh_peer(peer, fetched)
    if peer is not None:
        db.session.flush()
    db.session.add(InboxItem(activity_id=activity["id"], actor_id=actor_ref, peer_id=peer.id if peer else None,
                             raw=body.decode("utf-8")))
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        if db.session.scalar(sa.select(InboxItem.id).where(InboxItem.activity_id == activity["id"])):
            return Accepted(activity["id"], duplicate=True)
        if not again:  # the sender retries a 503; nothing is lost
            raise Refused(503, "busy") from None
        # Another request recorded the same new hub first: store the activity under that row.
        return _store(activity, actor_ref, host, None, body, again=False)
    return Accepted(activity["id"])


def _new_peer(found: client.RemoteActor, host: str) -> PeerHub:
    """Record a hub met for the first time; it inherits allow-listing and trust from its host."""
    siblings = [p for p in client.peers_on(host) if p.partner]
    peer = PeerHub(actor_id=found.id, base_url=found.base_url, partner=bool(siblings),
                   trust=siblings[0].trust if siblings else "moderate")
    _refresh_peer(peer, found)
    db.session.add(peer)
    return peer


def _refresh_peer(peer: PeerHub, found: client.RemoteActor) -> None:
    """Copy a fetched actor document's endpoints and keys onto the hub's row."""
    peer.name = peer.name or found.name
    client.copy_actor(peer, found)


# --- what the hub understands ------------------------------------------------------------------

DoorCheck = Callable[[dict[str, Any], PeerHub], None]


def _check_create(activity: dict[str, Any], peer: PeerHub) -> None:
    """Refuse a Create or Update of anything but a practice note (Article) or a comment (Note)."""
    obj = activity.get("object")
    if isinstance(obj, str):
        if not same_host(obj, peer.actor_id):
            raise Unwanted("origin_mismatch", "an object sent by reference must be on the sender's host")
        return  # the worker fetches it from its origin
    if not isinstance(obj, dict):
        raise Unwanted("missing_object", "the activity carries no object")
    if obj.get("type") == "Note":
        conversation.check_create(activity, peer)
    elif obj.get("type") == "Article":
        activities.parse_article(obj, actor_id=peer.actor_id)  # InvalidActivity: another hub's id, no text, ...
    else:
        raise Unwanted("unsupported_object", f"{str(obj.get('type'))[:40]!r} objects are not accepted here: only "
                                             "Articles (practice notes) and Notes replying to them")


def _check_undo(activity: dict[str, Any], peer: PeerHub) -> None:
    """Refuse an Undo of anything but a Follow or a Like (given inline, or by the id of one we hold)."""
    obj = activity.get("object")
    if isinstance(obj, dict) and obj.get("type") in ("Follow", "Like"):
        return
    if isinstance(obj, str) and obj and peer.id is not None and db.session.scalar(
            sa.select(InboxItem.id).where(InboxItem.activity_id == obj, InboxItem.peer_id == peer.id)):
        return  # the id of an earlier activity of this hub: the worker looks at what it was
    raise Unwanted("unsupported_undo", "only an Undo of a Follow or a Like (inline, or by the id of one this hub "
                                       "sent here) is understood here")


def _check_answer(activity: dict[str, Any], peer: PeerHub) -> None:
    """Refuse an Accept or Reject that answers no Follow of ours."""
    if not _our_follow(peer, activity):
        raise Unwanted("not_our_follow", "this answers no Follow of this hub")


def _check_delete(activity: dict[str, Any], peer: PeerHub) -> None:
    """Refuse a Delete of what the sender does not own: its own objects, or comments it may withdraw."""
    object_id = id_of(activity.get("object"))
    if not object_id:
        raise Unwanted("missing_object", "the activity carries no object")
    if same_host(object_id, peer.actor_id):  # its own objects, its actor included
        return
    if not conversation.may_delete_comment(peer, object_id):
        raise Unwanted("origin_mismatch", "a hub can only delete its own objects, or comments under its own notes")


# Activity type -> the check it must pass at the door. A type not listed is refused with 400.
DOOR_CHECKS: dict[str, DoorCheck] = {
    "Follow": topics.check_follow, "Accept": _check_answer, "Reject": _check_answer, "Delete": _check_delete,
    "Undo": _check_undo, "Create": _check_create, "Update": _check_create,
    "Announce": conversation.check_announce, "Like": conversation.check_like, "Flag": conversation.check_flag,
    "Offer": conversation.check_offer,
}


def check_understood(activity: dict[str, Any], actor_ref: str) -> None:
    """Raise :class:`Refused` (400 with a reason) unless the worker would act on ``activity``."""
    check = DOOR_CHECKS.get(activity["type"])
    if check is None:
        raise Refused(400, "unsupported_activity", f"{activity['type'][:40]!r} activities are not accepted here")
    # A hub met for the first time is checked as what it is: known for nothing, allow-listed for nothing.
    peer = db.session.scalar(sa.select(PeerHub).where(PeerHub.actor_id == actor_ref)) or \
        PeerHub(actor_id=actor_ref, partner=False, blocked=False, trust="moderate")
    try:
        check(activity, peer)
    except Unwanted as unwanted:
        raise Refused(400, unwanted.reason, unwanted.detail) from None
    except InvalidActivity as invalid:  # e.g. an offered Article that claims another origin
        raise Refused(400, "invalid_object", str(invalid)[:200]) from None


# --- in the worker -----------------------------------------------------------------------------

def _waiting() -> sa.ColumnElement[bool]:
    """Return the condition of the stored activities whose processing is due."""
    return sa.and_(InboxItem.state == "pending",
                   sa.or_(InboxItem.next_attempt_at.is_(None), InboxItem.next_attempt_at <= utcnow()))


def pending(app: Flask) -> sa.Exists:
    """Tell the worker whether :func:`process_pending` has anything to do (as a SQL condition)."""
    return sa.exists().where(_waiting())


def process_pending(app: Flask) -> int:
    """Process stored activities, oldest first, each in its own transaction; return how many."""
    limit = int(app.config["FEDERATION_INBOX_BATCH"])
    ids = list(db.session.scalars(sa.select(InboxItem.id).where(_waiting()).order_by(InboxItem.id).limit(limit)))
    for item_id in ids:
        item = db.session.get(InboxItem, item_id)
        try:
            outcome = handle(item)
        except sa.exc.OperationalError:
            db.session.rollback()  # e.g. the database is busy: the item stays pending for the next round
            log.warning("inbox item %s postponed: database unavailable", item_id, exc_info=True)
            break
        except InvalidActivity as error:
            db.session.rollback()
            _finish(item_id, "failed", str(error))
            # The id and our reason only: never the activity's content (it may hold personal data).
            log.warning("inbox item %s (%s) failed: %s", item_id, item.activity_id[:200], str(error)[:200])
        except FetchError as error:  # an object sent by reference that its origin did not give
            db.session.rollback()
            _fetch_failed(app, item_id, error)
        except Exception as error:
            db.session.rollback()
            log.exception("inbox item %s could not be processed", item_id)
            _finish(item_id, "failed", f"error: {error!r}")
        else:
            _finish(item_id, outcome or "done", "")
    db.session.rollback()
    return len(ids)


def _fetch_failed(app: Flask, item_id: int, error: FetchError) -> None:
    """Try the item again later, with the deliveries' backoff and number of tries, when waiting may help
    (a timeout, a 5xx: the origin is away for a while); else, or after the last try, it failed."""
    item = db.session.get(InboxItem, item_id)
    item.attempts += 1
    if error.retryable and item.attempts < int(app.config["FEDERATION_DELIVERY_TRIES"]):
        item.next_attempt_at = utcnow() + delivery.backoff(item.attempts)
        item.error = f"fetch failed, will try again: {error}"[:500]
        db.session.commit()
        log.info("inbox item %s: its object could not be fetched (try %d), trying again later", item_id, item.attempts)
        return
    log.warning("inbox item %s failed: its object could not be fetched: %s", item_id, error)
    _finish(item_id, "failed", f"fetch failed: {error}")


def _finish(item_id: int, state: str, error: str) -> None:
    item = db.session.get(InboxItem, item_id)
    item.state, item.error, item.processed_at = state, error[:500], utcnow()
    if state in ("done", "failed"):
        item.raw = _without_content(item.raw)
    db.session.commit()


# What carries a partner's text (activities.CONTENT_TYPES): once applied, the item keeps only what
# names it. (A Flag carries a reason's code, never the reporter's words.)


def _without_content(raw: str) -> str:
    """Return a stored activity with its object cut down to its id and type, when it carries text."""
    try:
        activity = json.loads(raw)
    except ValueError:
        return raw
    if not isinstance(activity, dict) or activity.get("type") not in activities.CONTENT_TYPES:
        return raw
    kept = {key: activity[key] for key in ("id", "type", "actor", "published") if key in activity}
    obj = activity.get("object")
    kept["object"] = ([id_of(o) for o in obj] if isinstance(obj, list)  # a Flag names a note and a comment
                      else {"id": id_of(obj), "type": obj.get("type")} if isinstance(obj, dict) else id_of(obj))
    return json.dumps(kept, ensure_ascii=False)


def handle(item: InboxItem) -> str | None:
    """Apply one stored activity; return the item's new state (None: "done")."""
    activity = json.loads(item.raw)
    peer = db.session.get(PeerHub, item.peer_id) if item.peer_id else \
        db.session.scalar(sa.select(PeerHub).where(PeerHub.actor_id == item.actor_id))
    if peer is None:
        raise InvalidActivity("unknown hub")
    if peer.blocked:
        raise InvalidActivity("hub is blocked")
    handler = HANDLERS.get(activity.get("type"))
    if handler is None:
        raise InvalidActivity(f"unsupported activity type {activity.get('type')!r}")
    return handler(peer, activity, item)


def _on_follow(peer: PeerHub, activity: dict[str, Any], item: InboxItem) -> str | None:
    if topics.on_follow(peer, activity):
        return None
    if id_of(activity.get("object")) != actor.actor_id():
        raise InvalidActivity("only the hub itself can be followed")
    policy = current_app.config["FEDERATION_OPEN_FOLLOWS"]
    if peer.partner or (current_app.config["FEDERATION_MODE"] == "open" and policy == "accept"):
        answer_follow(peer, activity, accept=True)
        return None
    return "held"  # an admin decides on the partners page


def answer_follow(peer: PeerHub, follow_activity: dict[str, Any], *, accept: bool) -> None:
    """Accept or reject a hub's Follow, queueing the answer to its inbox (caller commits)."""
    verb = "accept" if accept else "reject"
    build = activities.accept if accept else activities.reject
    answer = build(follow_activity, activity_id=f"{actor.actor_id()}#{verb}s/{_token()}")
    peer.they_follow = accept
    delivery.enqueue(peer, peer.inbox_url or delivery.inbox_of(peer), answer)


def _token() -> str:
    return secrets.token_hex(12)


def _our_follow(peer: PeerHub, activity: dict[str, Any]) -> bool:
    """Tell whether an Accept/Reject answers our Follow of ``peer``."""
    obj = activity.get("object")
    ref = id_of(obj)
    if ref and peer.follow_activity_id and ref == peer.follow_activity_id:
        return True
    return isinstance(obj, dict) and obj.get("type") == "Follow" and id_of(obj.get("actor")) == actor.actor_id() \
        and id_of(obj.get("object")) == peer.actor_id


def _on_accept(peer: PeerHub, activity: dict[str, Any], item: InboxItem) -> str | None:
    if not _our_follow(peer, activity):
        raise InvalidActivity("this Accept answers no Follow of ours")
    if peer.we_follow != "accepted":
        peer.we_follow = "accepted"
        peer.last_backfill_at = None  # read what they published before we followed
    return None


def _on_reject(peer: PeerHub, activity: dict[str, Any], item: InboxItem) -> str | None:
    if not _our_follow(peer, activity):
        raise InvalidActivity("this Reject answers no Follow of ours")
    peer.we_follow = "rejected"
    return None


def _on_undo(peer: PeerHub, activity: dict[str, Any], item: InboxItem) -> str | None:
    obj = activity.get("object")
    if conversation.undo_like(peer, obj) or topics.on_undo_follow(peer, obj):
        return None
    if isinstance(obj, dict) and obj.get("type") == "Follow":
        peer.they_follow = False
        return None
    ref = id_of(obj)
    held = db.session.scalar(sa.select(InboxItem).where(InboxItem.activity_id == ref, InboxItem.peer_id == peer.id))
    if held is not None and json.loads(held.raw).get("type") == "Follow":
        peer.they_follow = False
        if held.state == "held":
            held.state = "done"
        return None
    raise InvalidActivity("only Undo of a Follow or a Like is understood")


def _article_of(peer: PeerHub, activity: dict[str, Any]) -> dict[str, Any]:
    obj = activity.get("object")
    if isinstance(obj, str) and same_host(obj, peer.actor_id):
        obj = client.signed_get_json(obj)  # sent by reference: fetch it from its origin
    if not isinstance(obj, dict):
        raise InvalidActivity("the activity carries no object")
    return obj


def _on_create_or_update(peer: PeerHub, activity: dict[str, Any], item: InboxItem) -> str | None:
    obj = _article_of(peer, activity)
    if obj.get("type") == "Note":
        return conversation.on_comment(peer, {**activity, "object": obj}, item)
    if obj.get("type") != "Article":
        raise InvalidActivity(f"{obj.get('type')!r} objects are not practice notes")
    at = activities.parse_time(activity.get("published"))
    note = remote_notes.receive(peer, activities.parse_article(obj, actor_id=peer.actor_id), at=at)
    if note is not None or (note := remote_notes.by_remote_id(str(obj.get("id")))) is not None:
        conversation.store_totals(note, obj, at=at)
    return None


def _on_delete(peer: PeerHub, activity: dict[str, Any], item: InboxItem) -> str | None:
    obj = activity.get("object")
    object_id = id_of(obj)
    if not object_id or object_id == peer.actor_id:
        return None  # a deleted account or a malformed Delete: nothing of ours to remove
    if conversation.delete_comment(peer, object_id):
        return None
    if not same_host(object_id, peer.actor_id):
        raise InvalidActivity("a hub can only delete its own objects")
    former = obj.get("formerType") if isinstance(obj, dict) else None
    # The origin's own time of deletion, so that it compares with the origin's later activities.
    at = activities.parse_time(activity.get("published")) or \
        activities.parse_time(obj.get("deleted") if isinstance(obj, dict) else None)
    remote_notes.delete(peer, object_id, make_tombstone=former == "Article", at=at)
    return None


HANDLERS = {
    "Follow": _on_follow,
    "Accept": _on_accept,
    "Reject": _on_reject,
    "Undo": _on_undo,
    "Create": _on_create_or_update,
    "Update": _on_create_or_update,
    "Delete": _on_delete,
    "Announce": conversation.on_announce,
    "Like": conversation.on_like,
    "Flag": conversation.on_flag,
    "Offer": conversation.on_offer,
}
