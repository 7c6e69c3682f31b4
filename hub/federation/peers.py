"""Partner hubs: following, allow-listing, trust, blocking, dead letters and backfill.

These are the services behind the "Partner hubs" admin page and the ``flask hub federation-*``
commands. Each admin action checks ``manage_partners``, writes an audit entry and commits;
what has to reach the other hub (Follow, Undo, Accept, Delete) is queued as a delivery in
the same transaction, so the page never waits for the network except to look a hub up.
"""
from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from flask_babel import lazy_gettext as _l

from hub import claims
from hub.extensions import db
from hub.federation import activities, actor, client, conversation, delivery, inbox, problems, remote_notes, topics
from hub.federation.activities import InvalidActivity, id_of, same_host
from hub.federation.http import FetchError
from hub.models.base import utcnow
from hub.models.federation import Delivery, InboxItem, NoteReceipt, PeerHub
from hub.models.note import Note, Visibility
from hub.permissions import can
from hub.services import audit
from hub.services.errors import NotAllowed, ServiceError

log = logging.getLogger("hub.federation")
TRUST_LEVELS = ("moderate", "publish")
BACKFILL_KEY = "hub.federation.backfill"


def _require(by: Any) -> None:
    if not can(by, "manage_partners"):
        raise NotAllowed(_l("Only administrators can manage partner hubs."))


def _token() -> str:
    return secrets.token_hex(12)


# --- reading ---------------------------------------------------------------------------------

@dataclass
class PeerSummary:
    """A partner hub as the admin page lists it."""

    peer: PeerHub
    states: list[str] = field(default_factory=list)
    held_follows: int = 0
    pending: int = 0
    dead: int = 0
    notes: int = 0


def states_of(peer: PeerHub, *, held_follows: int = 0) -> list[str]:
    """Return the hub's states: blocked, following, pending, rejected, followed_by, asks_to_follow."""
    states = ["blocked"] if peer.blocked else []
    states += {"accepted": ["following"], "pending": ["pending"], "rejected": ["rejected"]}.get(peer.we_follow, [])
    if peer.they_follow:
        states.append("followed_by")
    elif held_follows:
        states.append("asks_to_follow")
    return states


def _counts(column: Any, model: Any, *where: Any) -> dict[int, int]:
    rows = db.session.execute(sa.select(column, sa.func.count()).select_from(model).where(*where).group_by(column))
    return {peer_id: n for peer_id, n in rows if peer_id is not None}


def overview() -> list[PeerSummary]:
    """Return every known hub with its states and counts, allow-listed ones first."""
    held = _counts(InboxItem.peer_id, InboxItem, InboxItem.state == "held")
    pending = _counts(Delivery.peer_id, Delivery, Delivery.state == "pending")
    dead = _counts(Delivery.peer_id, Delivery, Delivery.state == "dead")
    notes = _counts(Note.origin_peer_id, Note, Note.state != "deleted")
    peers = db.session.scalars(sa.select(PeerHub).order_by(PeerHub.partner.desc(), PeerHub.base_url, PeerHub.id))
    return [PeerSummary(p, states_of(p, held_follows=held.get(p.id, 0)), held.get(p.id, 0), pending.get(p.id, 0),
                        dead.get(p.id, 0), notes.get(p.id, 0)) for p in peers]


def recent_deliveries(peer: PeerHub, *, limit: int = 30) -> list[Delivery]:
    """Return the hub's latest deliveries, newest first."""
    query = sa.select(Delivery).where(Delivery.peer_id == peer.id).order_by(Delivery.id.desc()).limit(limit)
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class FailedActivity:
    """An incoming activity the worker could not apply, as the admin page lists it (no content)."""

    received_at: dt.datetime
    kind: str
    activity_id: str
    reason: str


def failed_activities(peer: PeerHub, *, limit: int = 30) -> list[FailedActivity]:
    """Return the hub's latest incoming activities that failed in the worker, newest first."""
    query = sa.select(InboxItem).where(InboxItem.peer_id == peer.id, InboxItem.state == "failed") \
        .order_by(InboxItem.id.desc()).limit(limit)
    found = []
    for item in db.session.scalars(query):
        try:
            kind = json.loads(item.raw).get("type")
        except (ValueError, AttributeError):
            kind = None
        found.append(FailedActivity(item.received_at, kind if isinstance(kind, str) else "?", item.activity_id,
                                    item.error))
    return found


# --- following and allow-listing ---------------------------------------------------------

def _discover(address: str) -> client.RemoteActor:
    if not address.strip():
        raise ServiceError(_l("Give the hub's address, e.g. https://hub.example.org"), field="address")
    try:
        found = client.discover(address)
    except (client.DiscoveryError, FetchError, ValueError) as error:
        # i18n: %(reason)s says what went wrong, translated too, e.g. "could not connect to hub.example.org"
        raise ServiceError(_l("No hub was found at this address (%(reason)s). Check the address and try again.",
                              reason=problems.explain(error)), field="address") from None
    if found.id == actor.actor_id():
        raise ServiceError(_l("This is the address of this hub itself."), field="address")
    return found


def upsert(found: client.RemoteActor) -> PeerHub:
    """Create or refresh the row of a discovered hub (caller commits)."""
    peer = db.session.scalar(sa.select(PeerHub).where(PeerHub.actor_id == found.id))
    if peer is None:
        peer = PeerHub(actor_id=found.id, base_url=found.base_url)
        db.session.add(peer)
    peer.base_url, peer.name = found.base_url, found.name
    client.copy_actor(peer, found)
    return peer


def follow(address: str, *, by: Any) -> PeerHub:
    """Look a hub up by its address, allow-list it and ask to follow it."""
    _require(by)
    peer = upsert(_discover(address))
    if peer.blocked:
        raise ServiceError(_l("This hub is blocked. Unblock it first."), field="address")
    _list(peer)
    send_follow(peer)
    audit.record("partner.follow", actor=by, target=peer, hub=peer.base_url)
    db.session.commit()
    return peer


def send_follow(peer: PeerHub) -> None:
    """Queue a Follow of ``peer`` (caller commits)."""
    peer.follow_activity_id = f"{actor.actor_id()}#follows/{_token()}"
    peer.we_follow = "pending"
    db.session.flush()
    delivery.enqueue(peer, peer.inbox_url, activities.follow(peer.actor_id, activity_id=peer.follow_activity_id))


def allow(address: str, *, by: Any) -> PeerHub:
    """Look a hub up and put it on the allow-list without following it (so it may follow us)."""
    _require(by)
    peer = upsert(_discover(address))
    if peer.blocked:
        raise ServiceError(_l("This hub is blocked. Unblock it first."), field="address")
    _list(peer)
    audit.record("partner.allow", actor=by, target=peer, hub=peer.base_url)
    db.session.commit()
    return peer


def unfollow(peer: PeerHub, *, by: Any) -> None:
    """Stop following a hub (its notes already here stay)."""
    _require(by)
    if peer.we_follow in ("pending", "accepted") and peer.follow_activity_id and not peer.blocked:
        undo = activities.undo_follow(peer.actor_id, follow_id=peer.follow_activity_id,
                                      activity_id=f"{actor.actor_id()}#undo/{_token()}")
        db.session.flush()
        delivery.enqueue(peer, peer.inbox_url, undo)
    peer.we_follow = "none"
    audit.record("partner.unfollow", actor=by, target=peer, hub=peer.base_url)
    db.session.commit()


def set_partner(peer: PeerHub, partner: bool, *, by: Any) -> None:
    """Put a hub on the allow-list or take it off; taken off, it is told to delete partners notes, and what waits
    for it that may go again once it is listed is held until then (hub.federation.delivery.hold)."""
    _require(by)
    if partner:
        _list(peer)
    else:
        peer.partner = False
        _withdraw_partner_notes(peer)
        delivery.drop_unwanted([delivery.inbox_of(peer)])  # what still waits for it of partners notes
    audit.record("partner.allowlist" if partner else "partner.unlist", actor=by, target=peer, hub=peer.base_url)
    db.session.commit()


def _list(peer: PeerHub) -> None:
    """Put a hub on the allow-list, and queue again what was held for it while it was off (caller commits;
    a blocked hub's wait until it is unblocked: :func:`unblock`)."""
    peer.partner = True
    db.session.flush()
    delivery.release_held(peer)


def _withdraw_partner_notes(peer: PeerHub) -> None:
    """Queue Deletes of the partners-only notes a hub received, and forget that it had them."""
    query = sa.select(NoteReceipt).join(Note, Note.id == NoteReceipt.note_id).where(
        NoteReceipt.peer_id == peer.id, Note.visibility == Visibility.PARTNERS.value)
    for receipt in db.session.scalars(query):
        activity_id = f"{actor.note_object_id(receipt.note_id)}#delete-unlisted-{_token()}"
        delivery.queue_delete(receipt.note_id, activity_id=activity_id, peers=[peer])
        db.session.delete(receipt)


def set_trust(peer: PeerHub, trust: str, *, by: Any) -> None:
    """Choose what happens to a hub's incoming notes: moderation queue or published at once."""
    _require(by)
    if trust not in TRUST_LEVELS:
        raise ServiceError(_l("Choose one of the offered trust levels."), field="trust")
    audit.record("partner.trust", actor=by, target=peer, hub=peer.base_url, old=peer.trust, new=trust)
    peer.trust = trust
    db.session.commit()


def block(peer: PeerHub, *, by: Any) -> int:
    """Block a hub: nothing more to or from it, and its notes (and our translations of them) leave lists and
    search; return how many notes.

    Follows end both ways and the hub is told (a Reject of its Follow, an Undo of ours), as
    Mastodon does when a domain is blocked, so that both hubs show the same. Unblocking does
    not follow again: that is the admin's choice, and the other hub's for its follow.
    """
    _require(by)
    delivery.cancel_pending(peer, reason="hub blocked", problem={"code": "hub_blocked"})
    _end_follows(peer)
    peer.blocked = True
    for item in db.session.scalars(sa.select(InboxItem).where(InboxItem.peer_id == peer.id,
                                                               InboxItem.state.in_(["pending", "held"]))):
        item.state, item.error = "failed", "hub blocked"
    hidden = remote_notes.hide_from(peer)
    comments = conversation.hide_comments_from(peer)
    audit.record("partner.block", actor=by, target=peer, hub=peer.base_url, notes_hidden=hidden,
                 comments_hidden=comments)
    db.session.commit()
    return hidden


def _end_follows(peer: PeerHub) -> None:
    """End the follows between this hub and ``peer`` (its follows of our topics too), telling it (caller commits)."""
    if peer.they_follow:
        inbox.answer_follow(peer, _their_follow(peer), accept=False)
    if peer.we_follow in ("pending", "accepted") and peer.follow_activity_id:
        delivery.enqueue(peer, peer.inbox_url, activities.undo_follow(
            peer.actor_id, follow_id=peer.follow_activity_id, activity_id=f"{actor.actor_id()}#undo/{_token()}"))
    topics.end_follows(peer)
    peer.they_follow, peer.we_follow = False, "none"


def _their_follow(peer: PeerHub) -> dict[str, Any]:
    """Return the hub's latest Follow of this hub as it sent it (or its essentials, when none is kept)."""
    for item in db.session.scalars(sa.select(InboxItem).where(InboxItem.peer_id == peer.id)
                                   .order_by(InboxItem.id.desc()).limit(200)):
        activity = json.loads(item.raw)
        if activity.get("type") == "Follow" and id_of(activity.get("object")) == actor.actor_id():
            return activity
    return {"type": "Follow", "actor": peer.actor_id, "object": actor.actor_id()}


def unblock(peer: PeerHub, *, by: Any) -> int:
    """Lift a block; the notes the block took down come back, with our translations of them that left with
    them (:func:`hub.federation.remote_notes.unhide_from`). Return how many notes."""
    _require(by)
    peer.blocked = False
    shown = remote_notes.unhide_from(peer)
    comments = conversation.unhide_comments_from(peer)
    db.session.flush()
    delivery.release_held(peer)  # what waited for it to be put back on the allow-list meanwhile, if it is
    audit.record("partner.unblock", actor=by, target=peer, hub=peer.base_url, notes_shown=shown,
                 comments_shown=comments)
    db.session.commit()
    return shown


def answer_follow_requests(peer: PeerHub, *, accept: bool, by: Any) -> int:
    """Accept or refuse the follow requests a hub sent while waiting for an admin."""
    _require(by)
    held = list(db.session.scalars(sa.select(InboxItem).where(InboxItem.peer_id == peer.id,
                                                              InboxItem.state == "held")))
    for item in held:
        inbox.answer_follow(peer, json.loads(item.raw), accept=accept)
        item.state, item.processed_at = "done", utcnow()
    audit.record("partner.follow_accept" if accept else "partner.follow_reject", actor=by, target=peer,
                 hub=peer.base_url)
    db.session.commit()
    return len(held)


def retry_dead_letters(*, by: Any, peer: PeerHub | None = None) -> int:
    """Queue failed deliveries again (of one hub, or all); return how many."""
    _require(by)
    count = delivery.retry_dead(peer=peer)
    audit.record("partner.retry", actor=by, target=peer, deliveries=count)
    db.session.commit()
    return count


def request_backfill(peer: PeerHub, *, by: Any) -> None:
    """Ask the worker to read the hub's outbox again soon (after an outage, say)."""
    _require(by)
    peer.last_backfill_at = None
    audit.record("partner.backfill", actor=by, target=peer, hub=peer.base_url)
    db.session.commit()


# --- backfill ----------------------------------------------------------------------------------

def _page(ref: Any, peer: PeerHub, http: Any) -> dict[str, Any] | None:
    """Return an outbox page given inline or by URL on the hub's own host."""
    if isinstance(ref, dict):
        return ref
    if isinstance(ref, str) and same_host(ref, peer.actor_id):
        page = client.signed_get_json(ref, client=http)
        return page if isinstance(page, dict) else None
    return None


def _items(page: dict[str, Any]) -> list[Any]:
    items = page.get("orderedItems", page.get("items", []))
    return items if isinstance(items, list) else []


def _article_from_item(item: Any, peer: PeerHub, http: Any) -> dict[str, Any] | None:
    """Return the Article of an outbox Create by that hub, or None for anything else."""
    if not isinstance(item, dict) or item.get("type") != "Create" or id_of(item.get("actor")) != peer.actor_id:
        return None
    obj = item.get("object")
    if isinstance(obj, str) and same_host(obj, peer.actor_id):
        obj = client.signed_get_json(obj, client=http)
    if not isinstance(obj, dict) or obj.get("type") != "Article" or not same_host(str(obj.get("id")), peer.actor_id):
        return None
    return obj


def backfill(peer: PeerHub, *, renew: Callable[[], bool] = lambda: True) -> int:
    """Read the hub's outbox, newest first, and store the notes not seen yet; return how many.

    Stops at the first page with nothing new, after FEDERATION_BACKFILL_PAGES pages, or when
    ``renew`` (called before each page, to renew the reader's claim) returns False. Callers read
    through :func:`backfill_once`, which makes sure only one reader reads a hub at a time.
    """
    added = 0
    if peer.outbox_url and not peer.blocked and renew():
        http = client.http_client()
        collection = client.signed_get_json(peer.outbox_url, client=http)
        page = collection if isinstance(collection, dict) and "orderedItems" in collection else \
            _page(collection.get("first") if isinstance(collection, dict) else None, peer, http)
        for _ in range(int(current_app.config["FEDERATION_BACKFILL_PAGES"])):
            if page is None:
                break
            fresh = 0
            for item in _items(page):
                obj = _article_from_item(item, peer, http)
                if obj is None or remote_notes.by_remote_id(str(obj["id"])) is not None:
                    continue
                try:
                    added += remote_notes.receive(peer, activities.parse_article(obj, actor_id=peer.actor_id)) \
                        is not None
                except InvalidActivity:
                    continue
                fresh += 1
            db.session.commit()
            if not fresh or not renew():
                break
            page = _page(page.get("next"), peer, http)
    peer.last_backfill_at = utcnow()
    db.session.commit()
    return added


def _backfill_wanted() -> sa.ColumnElement[bool]:
    """Return the condition of the followed hubs whose outbox is due to be read (never read, asked for, or stale)."""
    stale = utcnow() - dt.timedelta(hours=float(current_app.config["FEDERATION_BACKFILL_HOURS"]))
    return sa.and_(PeerHub.we_follow == "accepted", PeerHub.blocked.is_(False), PeerHub.outbox_url != "",
                   sa.or_(PeerHub.last_backfill_at.is_(None), PeerHub.last_backfill_at < stale))


def due_for_backfill() -> list[PeerHub]:
    """Return followed hubs whose outbox is due to be read (never read, asked for, or stale)."""
    query = sa.select(PeerHub).where(_backfill_wanted())
    return list(db.session.scalars(query.order_by(PeerHub.last_backfill_at.is_not(None), PeerHub.id)))


@dataclass(frozen=True)
class BackfillOutcome:
    """What one reading of a hub's outbox stored, and what another reader stored while this one waited."""

    added: int
    stored_meanwhile: int = 0


def _notes_from(peer_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Note).where(Note.origin_peer_id == peer_id)) or 0


def backfill_once(peer_id: int, *, owner: str, wait: float = 0.0, only_if_due: bool = False,
                  before: int | None = None) -> BackfillOutcome | None:
    """Read a hub's outbox as its only reader across workers and commands (claim ``backfill:<id>``).

    Waits up to ``wait`` seconds for another reader to finish, then returns None if it still
    reads. ``only_if_due`` (the worker) skips a hub that another reader has just read.
    ``before``: the hub's notes stored here when the request was made (counted now if not given).
    """
    key, seconds = f"backfill:{peer_id}", claims.lease_seconds()
    if before is None:
        before = _notes_from(peer_id)
    db.session.rollback()
    deadline = time.monotonic() + wait
    while not claims.claim(key, owner=owner, seconds=seconds):
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.5)
    try:
        peer = db.session.get(PeerHub, peer_id)
        if peer is None or (only_if_due and peer not in due_for_backfill()):
            return BackfillOutcome(0)
        meanwhile = _notes_from(peer_id) - before
        added = backfill(peer, renew=lambda: claims.claim(key, owner=owner, seconds=seconds))
        return BackfillOutcome(added, meanwhile)
    finally:
        db.session.rollback()
        claims.release(key, owner=owner)


def backfill_now(peer: PeerHub, *, by: Any, owner: str, wait: float) -> BackfillOutcome | None:
    """Read a hub's outbox now on an admin's request (the command line), audited; see :func:`backfill_once`."""
    _require(by)
    # Counted in the transaction that records the request: what another reader stores once the request is
    # seen (in the audit log) is told apart as stored meanwhile.
    before = _notes_from(peer.id)
    audit.record("partner.backfill", actor=by, target=peer, hub=peer.base_url)
    db.session.commit()
    return backfill_once(peer.id, owner=owner, wait=wait, before=before)


def _backfill_in_context(app: Flask, peer_id: int) -> int:
    from hub import worker

    with app.app_context():
        try:
            outcome = backfill_once(peer_id, owner=worker.node_name(app), only_if_due=True)
            return outcome.added if outcome else 0
        except Exception as error:  # a dead or odd hub: try again at the next interval
            db.session.rollback()
            peer = db.session.get(PeerHub, peer_id)
            log.warning("backfill from %s failed: %s", peer.base_url if peer else peer_id, error)
            if peer is not None:
                peer.last_backfill_at = utcnow() - dt.timedelta(
                    hours=float(app.config["FEDERATION_BACKFILL_HOURS"])) + dt.timedelta(minutes=5)
                db.session.commit()
            return 0
        finally:
            db.session.remove()


def backfill_pending(app: Flask) -> bool | sa.Exists:
    """Tell the worker whether :func:`backfill_due` has anything to do: no backfill running, and a hub due."""
    future = app.extensions.get(BACKFILL_KEY, {}).get("future")
    if future is not None and not future.done():
        return False
    return sa.exists().where(_backfill_wanted())


def backfill_due(app: Flask) -> int:
    """Start one due backfill in the background (one at a time); return 0 (it reports nothing)."""
    state = app.extensions.setdefault(BACKFILL_KEY, {"executor": None, "future": None})
    future = state["future"]
    if future is not None and not future.done():
        return 0
    due = due_for_backfill()
    db.session.rollback()
    if due:
        if state["executor"] is None:
            state["executor"] = concurrent.futures.ThreadPoolExecutor(max_workers=1,
                                                                      thread_name_prefix="federation-backfill")
        state["future"] = state["executor"].submit(_backfill_in_context, app, due[0].id)
    return 0
