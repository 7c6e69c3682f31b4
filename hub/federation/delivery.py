"""Outbound federation: events become Delivery rows, and the worker sends them.

Two halves, as in the design:

- :class:`FederationConsumer` reads the event log. For each event about a local note it builds
  the activity (Create, Update, or Delete with a Tombstone) and adds one :class:`Delivery` row
  per recipient inbox (a shared inbox once per host), in the same transaction that moves its
  cursor, so a crash replays events and never loses or doubles a delivery.
- :func:`send_due` runs every worker round. It signs each delivery at send time and POSTs it from
  a small thread pool, one inbox per thread and in order within an inbox (so a Delete never
  overtakes the Create it deletes). It never waits for the network: results are collected on a
  later round, so one slow or dead partner delays neither the other partners nor the worker.
  Timeouts, 5xx and 429 are retried with exponential backoff; other 4xx and the last failed try
  dead-letter the delivery with its last error, for an admin to retry.
"""
from __future__ import annotations

import concurrent.futures
import datetime as dt
import functools
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app

from hub import events
from hub.extensions import db
from hub.federation import activities, actor, client
from hub.federation.http import FetchError, SafeHttpClient
from hub.federation.problems import problem_of
from hub.models.base import utcnow
from hub.models.events import Event
from hub.models.federation import Delivery, NoteReceipt, PeerHub
from hub.models import Comment, CommentState, Note, NoteState, Visibility
from hub.models.conversation import CommentThread
from hub.services.visibility import Audience, may_read
from hub.worker import DatabaseCursor

log = logging.getLogger("hub.federation")
NOTE_EVENTS = frozenset({"note.published", "note.updated", "note.unpublished", "note.deleted"})
CONSUMER_NAME = "federation"
SENDER_KEY = "hub.federation.sender"
MAX_BACKOFF = dt.timedelta(hours=6)


# --- who receives what -----------------------------------------------------------------------

def inbox_of(peer: PeerHub) -> str:
    """Return where activities for ``peer`` go: its shared inbox when it has one."""
    return peer.shared_inbox_url or peer.inbox_url


def followers() -> list[PeerHub]:
    """Return the hubs that follow us and may receive notes (allow-listed ones in allow-list mode)."""
    query = sa.select(PeerHub).where(PeerHub.they_follow.is_(True), PeerHub.blocked.is_(False))
    if current_app.config["FEDERATION_MODE"] == "allowlist":
        query = query.where(PeerHub.partner.is_(True))
    return list(db.session.scalars(query.order_by(PeerHub.id)))


def listed(peer: PeerHub | None) -> bool:
    """Tell whether the federation mode lets ``peer`` be sent more than withdrawals: any hub in open mode, only
    an allow-listed one in allow-list mode (a blocked hub is held back at send time: :func:`_held_back`)."""
    return current_app.config["FEDERATION_MODE"] != "allowlist" or (peer is not None and peer.partner)


def audience(note: Note) -> list[PeerHub]:
    """Return the followers a published note goes to: those whose audience may read it (none for members notes)."""
    return [peer for peer in followers() if may_read(note, Audience.hub(peer))]


def receipts(note: Note) -> list[PeerHub]:
    """Return every hub that was ever sent ``note``."""
    query = sa.select(PeerHub).join(NoteReceipt, NoteReceipt.peer_id == PeerHub.id).where(
        NoteReceipt.note_id == note.id).order_by(PeerHub.id)
    return list(db.session.scalars(query))


def shared_with_hubs(note: Note | None) -> bool:
    """Tell whether ``note`` is one of ours that partner hubs may have now: published, for the public or partners."""
    return (note is not None and note.state == NoteState.PUBLISHED.value
            and note.visibility in (Visibility.PUBLIC.value, Visibility.PARTNERS.value))


def holders(note: Note) -> list[PeerHub]:
    """Return the hubs that have ``note`` and may still read it: those its comments go to."""
    return holders_of([note])[note.id]


def holders_of(notes: Sequence[Note]) -> dict[int, list[PeerHub]]:
    """Return :func:`holders` of each of ``notes`` by id, reading the followers and who was sent which note once
    for all (a page of comments asks two queries, however many notes they are on)."""
    if not notes:
        return {}
    following = followers()
    had = set(db.session.execute(sa.select(NoteReceipt.note_id, NoteReceipt.peer_id).where(
        NoteReceipt.note_id.in_({note.id for note in notes}))).tuples())
    return {note.id: [p for p in following if (note.id, p.id) in had and may_read(note, Audience.hub(p))]
            for note in notes}


def by_inbox(peers: Iterable[PeerHub]) -> dict[str, list[PeerHub]]:
    """Group hubs by the inbox that serves them, so a shared inbox gets one copy."""
    groups: dict[str, list[PeerHub]] = {}
    for peer in peers:
        if inbox_of(peer):
            groups.setdefault(inbox_of(peer), []).append(peer)
    return groups


# --- enqueueing ----------------------------------------------------------------------------

def enqueue(peer: PeerHub | None, inbox_url: str, activity: dict[str, Any], *, event_id: int | None = None,
            may_have_arrived: bool = False, held: bool = False) -> bool:
    """Add one delivery unless this activity is already queued for this inbox; return whether added.

    ``may_have_arrived``: it replaces one the peer may have taken (:attr:`Delivery.may_have_arrived`).
    ``held``: it waits for ``peer`` to be put back on the allow-list (:func:`hold`).
    """
    exists = db.session.scalar(sa.select(Delivery.id).where(Delivery.activity_id == activity["id"],
                                                             Delivery.inbox_url == inbox_url))
    if exists:
        return False
    row = Delivery(peer=peer, inbox_url=inbox_url, activity_id=activity["id"], activity=activity,
                   event_id=event_id, next_attempt_at=utcnow(), may_have_arrived=may_have_arrived)
    if held:
        hold(row)
    db.session.add(row)
    return True


def _record_receipts(note: Note, peers: Iterable[PeerHub]) -> None:
    known = set(db.session.scalars(sa.select(NoteReceipt.peer_id).where(NoteReceipt.note_id == note.id)))
    for peer in peers:
        if peer.id not in known:
            db.session.add(NoteReceipt(note_id=note.id, peer_id=peer.id))
            known.add(peer.id)


def of_object(object_id: str) -> sa.ColumnElement[bool]:
    """Return the condition for the deliveries of activities about ``object_id`` (their ids are ``<object>#…``)."""
    return Delivery.activity_id.startswith(object_id + "#", autoescape=True)


def supersede(object_id: str, inbox_url: str | None, *, event_id: int | None,
              kinds: tuple[str, ...] = ("Create", "Update"), but: str | None = None) -> int:
    """Drop the Creates and Updates of ``object_id`` not yet sent to an inbox (None: to any but ``but``), older than
    ``event_id``.

    A newer Create, Update or Delete of the object is queued behind them: the one an inbox gets
    is built from the object as it stands (a Create or Update brings the whole note). An older one
    still queued, or dead-lettered for an admin to send again, would carry text that has been
    changed since: personal data a moderator removed, a note taken down. Sent ones are not read:
    they kept only the object's id when they were sent (:func:`record_outcomes`); one on the wire is
    dropped too (its outcome then finds no row: ids are never reused). The waiting and failed ones
    are few, found through the state's index however many were sent. Return how many were dropped.
    ``kinds``: the activities that bring the whole object (a comment's origin relays it as an ``Announce``).
    """
    query = sa.select(Delivery).where(Delivery.state.in_(("pending", "dead", "held")), of_object(object_id))
    if inbox_url is not None:
        query = query.where(Delivery.inbox_url == inbox_url)
    if but is not None:
        query = query.where(Delivery.inbox_url != but)
    dropped = 0
    for row in db.session.scalars(query):
        if row.activity.get("type") in kinds and (
                event_id is None or row.event_id is None or row.event_id < event_id):
            drop(row)
            dropped += 1
    return dropped


def drop(row: Delivery) -> None:
    """Take a waiting or dead-lettered delivery out of the queue for good (the caller knows it may no longer go).

    An Offer that may already be at its peer (waiting, so maybe on the wire now, or dead after a try the
    peer may have read: :attr:`Delivery.may_have_arrived`) is kept as ``dropped``, cut down to its object's
    id: it is the record that our translation may stand at the note's origin, so that its withdrawal still
    goes there when the translation is taken down (hub.federation.conversation._offer_standing).
    """
    if row.activity.get("type") == "Offer" and (row.state == "pending" or row.may_have_arrived):
        row.state, row.may_have_arrived = "dropped", True
        row.activity = activities.object_named_only(row.activity)
    else:
        db.session.delete(row)


def queue_article(note: Note, kind: str, *, activity_id: str, peers: list[PeerHub],
                  event_id: int | None = None, at: dt.datetime | None = None) -> int:
    """Queue a Create or Update of ``note`` to ``peers``; return how many deliveries were added."""
    added = 0
    for inbox, group in by_inbox(peers).items():
        supersede(actor.note_object_id(note.id), inbox, event_id=event_id)
        # Partners notes name only the hubs behind this inbox, so partners do not learn of each other.
        article = activities.note_to_article(note, recipients=[p.actor_id for p in group])
        build = activities.create if kind == "Create" else activities.update
        added += enqueue(group[0], inbox, build(article, activity_id=activity_id, at=at), event_id=event_id)
    _record_receipts(note, peers)
    return added


def queue_delete(note_id: int, *, activity_id: str, peers: list[PeerHub], event_id: int | None = None,
                 at: dt.datetime | None = None) -> int:
    """Queue a Delete (Tombstone) of a note to ``peers``, blocked hubs included (it only removes), dated
    :func:`deletion_time`."""
    note = db.session.get(Note, note_id)
    if at is not None and note is not None:
        at = deletion_time(note, at)
    added = 0
    for inbox, group in by_inbox(peers).items():
        supersede(actor.note_object_id(note_id), inbox, event_id=event_id)
        activity = activities.delete(note_id, activity_id=activity_id, to=[p.actor_id for p in group], at=at)
        added += enqueue(group[0], inbox, activity, event_id=event_id)
    return added


def deletion_time(note: Note, at: dt.datetime) -> dt.datetime:
    """Return the date of a Delete of ``note`` for an event at ``at``: no earlier than the note's last change. An
    Article sent before it is built from the note as it stood when queued (``updated``), maybe after the event,
    and a hub brings a deleted note back through a version dated after the deletion
    (hub.federation.remote_notes.receive)."""
    return max(at, note.updated_at) if note.updated_at is not None else at


def _activity_id(note_id: int, verb: str, event_id: int) -> str:
    return f"{actor.note_object_id(note_id)}#{verb}-{event_id}"


def apply_event(event: Event) -> None:
    """Turn one event about a local note into deliveries (nothing for other events)."""
    if event.kind in events.RENAMES:
        _publish_renamed(event)
        return
    if event.subject_type != "note" or event.kind not in NOTE_EVENTS:
        return
    note = db.session.get(Note, event.subject_id)
    if note is None or note.origin_peer_id is not None:
        return
    if note.translation_of_id is not None:
        # A translation travels as a language version of its original: send the original again.
        original = note.original
        # A translation of a partner's note is offered to its origin instead (hub.federation.conversation).
        if original is not None and original.origin_peer_id is None and original.state == NoteState.PUBLISHED.value:
            _publish(original, "Update", event)
        return
    if event.kind in ("note.unpublished", "note.deleted") or note.state != NoteState.PUBLISHED.value:
        if event.kind in ("note.unpublished", "note.deleted"):
            had = receipts(note)
            queue_delete(note.id, activity_id=_activity_id(note.id, "delete", event.id), peers=had,
                         event_id=event.id, at=event.at)
            drop_unwanted((inbox_of(p) for p in had), note=note)  # its comments still waiting for them
        return  # a published/updated event for a note no longer published: a later event says why
    _publish(note, "Create" if event.kind == "note.published" else "Update", event)


def _publish_renamed(event: Event) -> None:
    """Send again, as Updates, the published notes whose author or project ``event`` renames.

    Each Article carries the author's pseudonym and the project's name (``peh:authorPseudonym``,
    ``peh:project``). Hubs running this software read them live, but any other implementation keeps
    the Article as it came: a pseudonym changed because it gave the person away must not live on there.
    """
    for note_id in sorted(events.renamed_notes([event], event.kind)):
        note = db.session.get(Note, note_id)
        if note is not None and note.origin_peer_id is None and note.translation_of_id is None:
            _publish(note, "Update", event)


def _publish(note: Note, kind: str, event: Event) -> None:
    """Send ``note`` to its audience, and a Delete to hubs that had it but are no longer in it."""
    peers = audience(note)
    wanted = {p.id for p in peers}
    gone = [p for p in receipts(note) if p.id not in wanted]
    if gone:
        queue_delete(note.id, activity_id=_activity_id(note.id, "delete", event.id), peers=gone, event_id=event.id,
                     at=event.at)
        db.session.execute(sa.delete(NoteReceipt).where(NoteReceipt.note_id == note.id,
                                                        NoteReceipt.peer_id.in_([p.id for p in gone])))
        drop_unwanted((inbox_of(p) for p in gone), note=note)  # its comments still waiting for them
    if peers:
        verb = "create" if kind == "Create" else "update"
        queue_article(note, kind, activity_id=_activity_id(note.id, verb, event.id), peers=peers, event_id=event.id,
                      at=event.at)


class FederationConsumer:
    """The event-log consumer that creates deliveries; its cursor lives in the database.

    It is ``shared``: one worker across all nodes runs it (the holder of its claim), and the
    cursor moves by compare-and-set, so even two overlapping holders never commit a batch twice.
    """

    name = CONSUMER_NAME
    shared = True
    apply_event = staticmethod(apply_event)  # what one event becomes (the conversation's consumer has its own)

    def __init__(self) -> None:
        self.cursor = DatabaseCursor(CONSUMER_NAME)
        self.read_at: int | None = None  # the position the batch being applied was read after

    def position(self) -> int:
        """Return the id of the last event turned into deliveries.

        A hub that knows no other hub has nobody to deliver to: the cursor skips to the head
        of the log, so the first partner does not inherit years of events (it backfills instead).
        """
        position = self.cursor.get()
        if db.session.scalar(sa.select(PeerHub.id).limit(1)) is None:
            head = events.head()
            if head > position:
                self.cursor.set(head)
                db.session.commit()
            position = head
        self.read_at = position
        return position

    def apply(self, batch: Sequence[Event]) -> None:
        """Create the deliveries of ``batch`` and move the cursor, in one transaction."""
        for event in batch:
            self.apply_event(event)
        self.cursor.set(batch[-1].id, expected=self.read_at)
        db.session.commit()
        self.read_at = batch[-1].id


# --- sending -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    """What happened to one delivery attempt."""

    delivery_id: int
    ok: bool
    retryable: bool = False
    error: str = ""  # for the log, in English
    problem: dict[str, Any] | None = None  # for people (hub.federation.problems)
    scheme: str = ""  # the signature scheme the inbox accepted


@dataclass(frozen=True)
class _Job:
    delivery_id: int
    body: bytes
    key_id: str = ""  # the key of the activity's actor when it is not the hub's (a topic actor)


def backoff(attempts: int) -> dt.timedelta:
    """Return the wait after the ``attempts``-th failed try: base × 2^(attempts-1), at most 6 hours."""
    base = float(current_app.config["FEDERATION_RETRY_BASE_SECONDS"])
    return min(dt.timedelta(seconds=base * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _send_inbox(http: SafeHttpClient, inbox: str, jobs: list[_Job], key_id: str, pem: bytes,
                scheme: str = "", still_due: Callable[[int], bool] = lambda _id: True) -> list[Outcome]:
    """POST the jobs of one inbox in order, stopping at the first failure (runs in a thread).

    ``scheme`` is the signature scheme the inbox is known to accept ("" when unknown); once
    one job got through, the others use the scheme that worked. ``still_due(id)`` is asked before each
    POST: a job held, dead-lettered or dropped since the batch was read is skipped (:func:`_still_pending`).
    """
    outcomes: list[Outcome] = []
    for job in jobs:
        try:
            if not still_due(job.delivery_id):
                continue
        except Exception:  # the database is away: the rest stays pending, for a later round
            log.warning("could not check delivery %s before sending it", job.delivery_id, exc_info=True)
            break
        try:
            scheme = client.signed_post(http, inbox, job.body, key_id=job.key_id or key_id, private_pem=pem,
                                        scheme=scheme)
        except FetchError as error:
            outcomes.append(Outcome(job.delivery_id, False, error.retryable, str(error)[:500], problem_of(error)))
            break
        except Exception as error:  # a bug must not leave the delivery in flight forever
            log.exception("sending delivery %s failed unexpectedly", job.delivery_id)
            outcomes.append(Outcome(job.delivery_id, False, True, f"unexpected error: {error!r}"[:500],
                                    {"code": "unexpected"}))
            break
        outcomes.append(Outcome(job.delivery_id, True, scheme=scheme))
    return outcomes


def _still_pending(app: Flask, delivery_id: int) -> bool:
    """Tell whether a delivery read for sending is still waiting to go (runs in a sender thread, with a session of
    its own): the deliveries of one inbox go one after another, and while one is on the wire its hub may be taken
    off the allow-list or blocked, or a newer version queued; those after it that may no longer go are not sent."""
    with app.app_context():
        try:
            return db.session.scalar(sa.select(Delivery.state).where(Delivery.id == delivery_id)) == "pending"
        finally:
            db.session.remove()


class Sender:
    """A thread pool that sends deliveries, and the bookkeeping of what is in flight."""

    def __init__(self, threads: int) -> None:
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, threads),
                                                              thread_name_prefix="federation-send")
        self.in_flight: dict[str, concurrent.futures.Future[list[Outcome]]] = {}
        self.lock = threading.Lock()

    def finished(self) -> list[Outcome]:
        """Return the outcomes of finished jobs and forget them."""
        outcomes: list[Outcome] = []
        with self.lock:
            for inbox, future in list(self.in_flight.items()):
                if future.done():
                    del self.in_flight[inbox]
                    outcomes.extend(future.result())
        return outcomes

    def wait(self, timeout: float | None = None) -> None:
        """Wait until every job in flight has finished."""
        concurrent.futures.wait(list(self.in_flight.values()), timeout=timeout)


def sender(app: Flask) -> Sender:
    """Return the app's sender, creating it on first use."""
    existing = app.extensions.get(SENDER_KEY)
    if existing is None:
        existing = app.extensions[SENDER_KEY] = Sender(int(app.config["FEDERATION_SEND_THREADS"]))
    return existing


def record_outcomes(outcomes: Iterable[Outcome]) -> int:
    """Store the results of sending: sent, retry later with backoff, or dead letter."""
    now = utcnow()
    tries = int(current_app.config["FEDERATION_DELIVERY_TRIES"])
    count = 0
    for outcome in outcomes:
        delivery = db.session.get(Delivery, outcome.delivery_id)
        # Held while on the wire (its hub taken off the allow-list): it waits for the hub only if it did not arrive.
        if delivery is None or delivery.state != "pending" and not (delivery.state == "held" and outcome.ok):
            continue
        delivery.attempts += 1
        count += 1
        if outcome.ok:
            delivery.state, delivery.sent_at, delivery.last_error, delivery.last_problem = "sent", now, "", None
            # The text of a note, comment or translation lives on in it, where a moderator's redaction
            # reaches it: what was sent keeps only its id (the Undo of a Like or an Announce needs no more).
            delivery.activity = activities.object_named_only(delivery.activity)
            if delivery.peer is not None and outcome.scheme:
                delivery.peer.signature_scheme = outcome.scheme  # what to sign with next time
            continue
        delivery.may_have_arrived = delivery.may_have_arrived or may_have_arrived(outcome)
        if outcome.retryable and delivery.attempts < tries:
            delivery.last_error, delivery.last_problem = outcome.error, outcome.problem
            delivery.next_attempt_at = now + backoff(delivery.attempts)
        else:
            delivery.state, delivery.last_error = "dead", outcome.error or "gave up"
            delivery.last_problem = outcome.problem or {"code": "gave_up"}
            log.warning("delivery %s to %s dead-lettered: %s", delivery.id, delivery.inbox_url, delivery.last_error)
    db.session.commit()
    return count


# Failures before the peer could read the request: the address, the name lookup, the connection, TLS.
NEVER_READ = frozenset({"invalid_address", "not_ascii", "scheme", "credentials", "blocked_address", "dns_timeout",
                        "dns_failed", "no_addresses", "connect_failed", "tls_rejected"})


def may_have_arrived(outcome: Outcome) -> bool:
    """Tell whether a failed send may have reached the peer all the same: it failed after the request could be
    read (a timeout, a broken connection or answer, a 5xx, a bug here), and the peer did not refuse it (4xx)."""
    problem = outcome.problem or {}
    if problem.get("code") == "http_status":
        return not isinstance(problem.get("status"), int) or problem["status"] >= 500
    return problem.get("code") not in NEVER_READ


def due_batches(*, skip: Iterable[str] = ()) -> dict[str, list[Delivery]]:
    """Return, per inbox, the pending deliveries that may go now, oldest first.

    An inbox whose oldest pending delivery is waiting out a backoff is skipped whole, so
    activities about one note always arrive in the order they were made.
    """
    limit = int(current_app.config["FEDERATION_SEND_PER_INBOX"])
    now = utcnow()
    closed = set(skip)
    batches: dict[str, list[Delivery]] = {}
    query = sa.select(Delivery).where(Delivery.state == "pending").order_by(Delivery.id).limit(2000)
    for delivery in db.session.scalars(query):
        inbox = delivery.inbox_url
        if inbox in closed:
            continue
        if delivery.next_attempt_at > now or _held_back(delivery):
            closed.add(inbox)
            continue
        batch = batches.setdefault(inbox, [])
        batch.append(delivery)
        if len(batch) >= limit:
            closed.add(inbox)
    return batches


def only_withdraws(activity: dict[str, Any]) -> bool:
    """Tell whether an activity only takes something back: a Delete, an Undo (of a follow, a mark, a topic's
    Announce), or the Reject that ends a follow.

    Those still go to a blocked hub and to one taken off the allow-list, so that it drops what it had
    of ours and both sides agree that follows ended (as Mastodon tells a domain it blocks or no longer
    allows).
    """
    kind, inner = activity.get("type"), activity.get("object")
    return kind in ("Delete", "Undo") or (kind == "Reject" and isinstance(inner, dict) and inner.get("type") == "Follow")


def _held_back(delivery: Delivery) -> bool:
    """Tell whether a delivery must wait: a blocked hub gets nothing but withdrawals."""
    peer = delivery.peer
    return peer is not None and peer.blocked and not only_withdraws(delivery.activity)


def sending_due(app: Flask) -> bool | sa.Exists:
    """Tell the worker whether :func:`send_due` has anything to do: sends in flight to record, or a
    pending delivery whose time has come (a superset of what :func:`due_batches` picks)."""
    pool = app.extensions.get(SENDER_KEY)
    if pool is not None and pool.in_flight:
        return True
    return sa.exists().where(Delivery.state == "pending", Delivery.next_attempt_at <= utcnow())


def send_due(app: Flask, *, wait: bool = False) -> int:
    """Record finished sends and start sending what is due; return how many outcomes were recorded.

    With ``wait`` (tests, the CLI) it blocks until this round's sends are done and recorded.
    """
    pool = sender(app)
    recorded = record_outcomes(pool.finished())
    drop_for_mode(app)
    batches = due_batches(skip=list(pool.in_flight))
    if batches:
        keys = actor.instance_keys()
        http = client.http_client()
        with pool.lock:
            for inbox, deliveries in batches.items():
                jobs = [_Job(d.id, client.dumps(d.activity), actor.signing_key_id(d.activity)) for d in deliveries]
                peer = deliveries[0].peer
                pool.in_flight[inbox] = pool.executor.submit(_send_inbox, http, inbox, jobs, actor.key_id(),
                                                             keys.private_pem, peer.signature_scheme if peer else "",
                                                             functools.partial(_still_pending, app))
    db.session.rollback()  # nothing was changed; end the read transaction so SQLite stays unlocked
    if wait:
        pool.wait(timeout=float(app.config["FEDERATION_TOTAL_TIMEOUT"]) * 2)
        recorded += record_outcomes(pool.finished())
    return recorded


def finish_sending(app: Flask) -> None:
    """Wait for the sends in flight and record them (a clean stop), so none is sent again after a restart."""
    pool = app.extensions.get(SENDER_KEY)
    if pool is not None and pool.in_flight:
        pool.wait(timeout=float(app.config["FEDERATION_TOTAL_TIMEOUT"]))
        record_outcomes(pool.finished())


def retry_dead(*, peer: PeerHub | None = None) -> int:
    """Put dead letters (of one hub, or all) back in the queue; return how many.

    Those that may no longer go (:class:`_Wanted`: the note narrowed or taken down since they
    failed, the hub no longer among its readers) are dropped instead, as :func:`supersede` drops
    stale versions; those for a hub off the allow-list wait for it (:func:`hold`).
    """
    return _requeue(sa.select(Delivery).where(Delivery.state == "dead"), peer=peer)


def _requeue(query: sa.Select, *, peer: PeerHub | None) -> int:
    """Queue again the deliveries ``query`` finds (of ``peer``, or all) that may still go; drop those that may not,
    hold those for a hub off the allow-list; return how many were queued."""
    if peer is not None:
        query = query.where(Delivery.peer_id == peer.id)
    count, wanted = 0, _Wanted()
    for delivery in list(db.session.scalars(query.order_by(Delivery.id))):
        if _held_back(delivery):
            continue
        if not wanted(delivery):
            drop(delivery)
            continue
        if held_off_the_list(delivery):
            hold(delivery)  # it goes once the hub is on the allow-list again (release_held)
            continue
        delivery.state, delivery.attempts, delivery.next_attempt_at = "pending", 0, utcnow()
        delivery.last_error, delivery.last_problem = "", None
        count += 1
    return count


def held_off_the_list(row: Delivery) -> bool:
    """Tell whether a delivery that may still go must wait for its hub to be put back on the allow-list: anything
    but a withdrawal, to a hub off the list (allow-list mode)."""
    return row.peer is not None and not listed(row.peer) and not only_withdraws(row.activity)


def hold(row: Delivery) -> None:
    """Keep a delivery for a hub off the allow-list (state ``held``: no failure, not retried with the dead
    letters), until :func:`release_held` queues it once the hub is listed again."""
    row.state, row.last_error, row.last_problem = "held", "", None


def release_held(peer: PeerHub | None = None) -> int:
    """Queue again what waited for ``peer`` (or any hub) to be put back on the allow-list (:func:`hold`), if it may
    still go (:class:`_Wanted`) and the hub is listed and not blocked; return how many. The caller commits."""
    return _requeue(sa.select(Delivery).where(Delivery.state == "held"), peer=peer)


# --- what may still go -------------------------------------------------------------------------

CARRIERS = frozenset({"Create", "Update", "Announce", "Offer"})  # activities that bring a note's or comment's text


class _Wanted:
    """Tell whether a waiting or dead-lettered delivery may still go: whether what it brings is still for its inbox.

    A Create, Update, Announce or Offer brings the text of a note or comment as it stood when it was
    queued. Newer versions drop older ones (:func:`supersede`); this is for the rest: a note
    narrowed or taken down since (and the comments under it), a hub no longer among its readers
    (taken off the allow-list, no longer following), a comment removed or held again, our
    translation of a partner's note taken down, and in allow-list mode our members' comments and
    translations for a note's origin that is off the list (:func:`listed`). Withdrawals always go.
    What brings no text goes to a hub in the allow-list mode's reach: to one off the list, no Like or Flag
    (our members' dealings with it end there, as with Mastodon's limited federation, where a domain no longer
    allowed gets only the Rejects and Undos of follows); a Follow still current and an Accept wait for it to
    be listed again (:func:`held_off_the_list`), as does a moderator's cut for the hub its comment was written
    on (:func:`_to_its_writer`). One instance looks each note's readers up once.
    """

    def __init__(self) -> None:
        self.inboxes: dict[tuple[int, bool], set[str]] = {}

    def reaches(self, note: Note, inbox: str, *, holding: bool) -> bool:
        key = (note.id, holding)
        if key not in self.inboxes:
            self.inboxes[key] = {inbox_of(p) for p in (holders(note) if holding else audience(note))}
        return inbox in self.inboxes[key]

    def __call__(self, row: Delivery) -> bool:
        activity = row.activity
        if activity.get("type") == "Delete" and _offered_since(row):
            return False
        if only_withdraws(activity):
            return True
        if activity.get("type") not in CARRIERS:
            return _goes_without_text(row)
        note_id = actor.own_number(row.activity_id, "notes")
        if note_id is not None:
            note = db.session.get(Note, note_id)
            if note is None or note.origin_peer_id is not None:
                return False
            if activity.get("type") == "Offer":  # our translation of a partner's note, offered to its origin
                original = note.original
                return (note.state == NoteState.PUBLISHED.value and original is not None
                        and original.origin_peer_id is not None and original.origin_peer_id == row.peer_id
                        and listed(row.peer))
            return note.translation_of_id is None and self.reaches(note, row.inbox_url, holding=False)
        comment_id = actor.own_number(row.activity_id, "comments")
        if comment_id is not None:
            comment = db.session.get(Comment, comment_id)
            if comment is None or comment.removed_at is not None or comment.state != CommentState.PUBLISHED:
                return False
            note = comment.note
            if note.origin_peer_id is not None:  # our member's comment on a partner's note, to its origin
                return row.peer_id == note.origin_peer_id and listed(row.peer)
            return note.translation_of_id is None and (self.reaches(note, row.inbox_url, holding=True)
                                                       or _to_its_writer(comment, row))
        return True  # what names a note without its text (a topic's Announce): the hub asks for it, and is checked then


def _goes_without_text(row: Delivery) -> bool:
    """Tell whether an activity that brings no text (a Follow, an Accept, a Like, a Flag) may still go.

    A Follow only while it is our current one and still unanswered, our hub's Accept only while that hub follows
    us (a topic's Accept is the topic's: it goes as before): one held or failed, then ended by an unfollow or a
    block (which told the hub so), must not follow its Undo or Reject. To a hub off the allow-list, those two
    wait for it to be listed again, and nothing else goes.
    """
    peer, kind = row.peer, row.activity.get("type")
    if peer is not None and kind == "Follow":
        return row.activity_id == peer.follow_activity_id and peer.we_follow == "pending"
    if peer is not None and kind == "Accept" and row.activity.get("actor") == actor.actor_id():
        return bool(peer.they_follow)
    return peer is None or listed(peer) or kind == "Accept"


def _to_its_writer(comment: Comment, row: Delivery) -> bool:
    """Tell whether ``row`` brings a partner member's comment on one of our published notes to the hub it was
    written on: a moderator's cut of it, the only version that hub is sent (hub.federation.conversation
    ._kept_for_its_writer). It goes whether that hub follows us or not (a block ended its follow), as long as it
    has the note: it has the comment, and keeps what the moderator cut out until it gets it. A hub off the
    allow-list gets it once it is listed again (:func:`held_off_the_list`)."""
    thread = db.session.get(CommentThread, comment.id)
    note = comment.note
    return (thread is not None and thread.peer is not None and row.inbox_url == inbox_of(thread.peer)
            and shared_with_hubs(note)
            and db.session.scalar(sa.select(NoteReceipt.id).where(NoteReceipt.note_id == note.id,
                                                                  NoteReceipt.peer_id == thread.peer_id)) is not None)


def _offered_since(withdrawal: Delivery) -> bool:
    """Tell whether ``withdrawal`` (a Delete) takes back our translation of a partner's note from its origin, which
    took an Offer of it queued after that withdrawal (the translation published again since): the translation
    stands there as it should, and the old withdrawal going now would take it away. One not known to have arrived
    (waiting, or dead after a timeout) leaves the withdrawal to go first; the origin ignores one older than the
    Offer it holds (hub.federation.remote_notes.delete)."""
    note_id = actor.own_number(withdrawal.activity_id, "notes")
    note = db.session.get(Note, note_id) if note_id is not None else None
    if note is None or note.translation_of_id is None or note.origin_peer_id is not None:
        return False
    later = db.session.scalars(sa.select(Delivery.activity).where(
        of_object(actor.note_object_id(note.id)), Delivery.peer_id == withdrawal.peer_id, Delivery.id > withdrawal.id,
        Delivery.state == "sent"))
    return any(activity.get("type") == "Offer" for activity in later)


def drop_unwanted(inboxes: Iterable[str], *, note: Note | None = None) -> int:
    """Drop the deliveries waiting or dead-lettered for ``inboxes`` that may no longer go (:class:`_Wanted`), those
    about ``note`` and its comments when given (else all); return how many. Those that may still go once their hub is back
    on the allow-list wait for it (:func:`hold`).

    Called where a note's readers shrink (narrowed, taken down, a hub off the allow-list), in the
    transaction that records it, so that nothing queued before reaches a hub after its Delete.
    Only ids are read first: a hub long down may have many failed deliveries.
    """
    targets = sorted({inbox for inbox in inboxes if inbox})
    if not targets:
        return 0
    comments = set(db.session.scalars(sa.select(Comment.id).where(Comment.note_id == note.id))) if note else set()

    def about(activity_id: str) -> bool:
        if note is None:
            return True  # a hub off the allow-list: our members' marks and flags too (_goes_without_text)
        note_id, comment_id = actor.own_number(activity_id, "notes"), actor.own_number(activity_id, "comments")
        return note_id == note.id or comment_id in comments

    ids = [row_id for row_id, activity_id in db.session.execute(sa.select(Delivery.id, Delivery.activity_id).where(
        Delivery.state.in_(("pending", "dead", "held")), Delivery.inbox_url.in_(targets))) if about(activity_id)]
    wanted, dropped = _Wanted(), 0
    for row in db.session.scalars(sa.select(Delivery).where(Delivery.id.in_(ids)).order_by(Delivery.id)).all():
        if not wanted(row):
            drop(row)
            dropped += 1
        elif row.state == "pending" and held_off_the_list(row):
            hold(row)
    return dropped


MODE_CHECKED_KEY = "hub.federation.mode_checked"


def drop_for_mode(app: Flask) -> int:
    """Once per worker, before its first send: in allow-list mode, drop what waits (or was dead-lettered) for hubs
    off the allow-list that it may no longer go to (:class:`_Wanted`); return how many. In open mode, queue again
    what was held for hubs off the list (:func:`hold`): every hub is in reach now.

    ``FEDERATION_MODE`` is read at start. Deliveries queued while the hub ran in open mode, for a follower
    that is no partner, would otherwise still carry notes and comments to it after the switch, as if it had
    never been taken off the allow-list (:func:`hub.federation.peers.set_partner` drops them then).
    """
    if app.extensions.get(MODE_CHECKED_KEY):
        return 0
    dropped = 0
    if app.config["FEDERATION_MODE"] == "allowlist":
        outsiders = db.session.scalars(sa.select(PeerHub).where(PeerHub.partner.is_(False))).all()
        dropped = drop_unwanted(inbox_of(peer) for peer in outsiders)
        db.session.commit()
        if dropped:
            log.info("allow-list mode: %d deliveries to hubs off the allow-list dropped", dropped)
    else:
        released = release_held()
        db.session.commit()
        if released:
            log.info("open mode: %d deliveries held for hubs off the allow-list queued again", released)
    app.extensions[MODE_CHECKED_KEY] = True
    return dropped


def cancel_pending(peer: PeerHub, *, reason: str, problem: dict[str, Any] | None = None) -> int:
    """Dead-letter a hub's pending deliveries other than withdrawals (when it is blocked)."""
    count = 0
    for delivery in db.session.scalars(sa.select(Delivery).where(Delivery.peer_id == peer.id,
                                                                  Delivery.state == "pending")):
        if not only_withdraws(delivery.activity):
            delivery.state, delivery.last_error, delivery.last_problem = "dead", reason, problem
            count += 1
    return count


def stats() -> dict[str, int]:
    """Count deliveries by state."""
    rows = db.session.execute(sa.select(Delivery.state, sa.func.count()).group_by(Delivery.state)).all()
    return {state: n for state, n in rows}
