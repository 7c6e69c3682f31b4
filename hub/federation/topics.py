"""Topic actors: each topic of the vocabulary is a followable ``Group``, as Discourse does with categories.

A person on Mastodon (or another hub) follows ``acct:topic-<slug>@host`` and receives the hub's
**public** notes on that topic as ``Announce`` activities from the topic's actor; notes for
members or partner hubs never go to topic followers. The topic actors sign with the hub's key
(published under each actor as ``…/topics/<slug>/actor#main-key``), so receivers see the
activity's actor and the signer agree. Who may follow follows the inbox's rules (allow-list mode
admits allow-listed servers only).
"""
from __future__ import annotations

import secrets
from typing import Any

import sqlalchemy as sa

from hub.extensions import db
from hub.federation import activities, actor, delivery
from hub.federation.activities import Unwanted, id_of
from hub.models.events import Event
from hub.models.federation import Delivery, PeerHub
from hub.models import Note, NoteState, Term, TopicFollower, Visibility
from hub.services.visibility import Audience, may_read

USERNAME_PREFIX = "topic-"
OUTBOX_SIZE = 20


def actor_id(slug: str) -> str:
    """Return the id of a topic's Group actor."""
    return f"{actor.base_url()}/topics/{slug}/actor"


def key_id(slug: str) -> str:
    """Return the id of a topic actor's key (the hub's key)."""
    return actor_id(slug) + "#main-key"


def by_slug(slug: str) -> Term | None:
    """Return the topic with ``slug``, if the vocabulary has it."""
    return db.session.scalar(sa.select(Term).where(Term.kind == "topic", Term.slug == slug))


def from_actor_id(ref: Any) -> Term | None:
    """Return the topic whose actor ``ref`` names, or None."""
    prefix, suffix = f"{actor.base_url()}/topics/", "/actor"
    if isinstance(ref, str) and ref.startswith(prefix) and ref.endswith(suffix):
        return by_slug(ref[len(prefix):-len(suffix)])
    return None


# --- documents ---------------------------------------------------------------------------------

def actor_document(term: Term) -> dict[str, Any]:
    """Return a topic's Group actor, named in both languages, with the hub's public key."""
    base = actor_id(term.slug)
    return {
        "@context": [actor.AS_CONTEXT, actor.SECURITY_CONTEXT],
        "id": base, "type": "Group", "preferredUsername": USERNAME_PREFIX + term.slug,
        "name": f"{term.name_en} · {term.name_zh}", "nameMap": {"en": term.name_en, "zh-Hans": term.name_zh},
        "summary": f"Public practice notes on {term.name_en} from {actor.display_name()}.",
        "url": f"{actor.base_url()}/notes?topic={term.slug}",
        "inbox": base[:-len("/actor")] + "/inbox", "outbox": base[:-len("/actor")] + "/outbox",
        "followers": base[:-len("/actor")] + "/followers", "endpoints": {"sharedInbox": actor.base_url() + "/inbox"},
        "manuallyApprovesFollowers": False, "discoverable": True,
        "publicKey": {"id": key_id(term.slug), "owner": base,
                      "publicKeyPem": actor.instance_keys().public_pem.decode("ascii")},
    }


def webfinger_document(resource: str) -> dict[str, Any] | None:
    """Return the JRD of ``acct:topic-<slug>@host`` (or of a topic actor's id), else None."""
    slug = None
    suffix = "@" + actor.host()
    if resource.startswith("acct:" + USERNAME_PREFIX) and resource.endswith(suffix):
        slug = resource[len("acct:" + USERNAME_PREFIX):-len(suffix)]
    term = by_slug(slug) if slug else from_actor_id(resource)
    if term is None:
        return None
    return {"subject": f"acct:{USERNAME_PREFIX}{term.slug}{suffix}", "aliases": [actor_id(term.slug)],
            "links": [{"rel": "self", "type": actor.ACTIVITY_JSON, "href": actor_id(term.slug)},
                      {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html",
                       "href": f"{actor.base_url()}/notes?topic={term.slug}"}]}


def _public_notes(term: Term):
    return (sa.select(Note).where(Note.terms.contains(term), Note.state == NoteState.PUBLISHED.value,
                                  Note.visibility == Visibility.PUBLIC.value, Note.origin_peer_id.is_(None),
                                  Note.translation_of_id.is_(None)))


def outbox_document(term: Term) -> dict[str, Any]:
    """Return the topic's latest public notes as Announces (one page)."""
    notes = db.session.scalars(_public_notes(term).order_by(Note.published_at.desc(), Note.id.desc())
                               .limit(OUTBOX_SIZE))
    url = actor_id(term.slug)[:-len("/actor")] + "/outbox"
    return {"@context": actor.AS_CONTEXT, "id": url, "type": "OrderedCollection",
            "orderedItems": [_announce(term, n.id, activity_id=f"{actor_id(term.slug)}#announce-{n.id}")
                             for n in notes]}


def followers_document(term: Term) -> dict[str, Any]:
    """Return how many actors follow a topic (never who)."""
    total = db.session.scalar(sa.select(sa.func.count()).select_from(TopicFollower)
                              .where(TopicFollower.term_id == term.id)) or 0
    return {"@context": actor.AS_CONTEXT, "id": actor_id(term.slug)[:-len("/actor")] + "/followers",
            "type": "OrderedCollection", "totalItems": total}


# --- following ----------------------------------------------------------------------------------

def check_follow(activity: dict[str, Any], peer: PeerHub | None = None) -> None:
    """Door check of a Follow: the hub itself, or one of its topics."""
    target = id_of(activity.get("object"))
    if target != actor.actor_id() and from_actor_id(target) is None:
        raise Unwanted("unknown_actor", "only this hub and its topics can be followed")


def on_follow(peer: PeerHub, activity: dict[str, Any]) -> bool:
    """Accept a Follow of a topic actor (False: it follows something else)."""
    term = from_actor_id(id_of(activity.get("object")))
    if term is None:
        return False
    follower = db.session.scalar(sa.select(TopicFollower).where(TopicFollower.term_id == term.id,
                                                                TopicFollower.peer_id == peer.id))
    if follower is None:
        follower = TopicFollower(term_id=term.id, peer_id=peer.id)
        db.session.add(follower)
    follower.follow_activity_id = activity["id"][:500]
    accept = activities.accept(activity, activity_id=f"{actor_id(term.slug)}#accepts/{secrets.token_hex(12)}")
    accept["actor"] = actor_id(term.slug)
    delivery.enqueue(peer, peer.inbox_url or delivery.inbox_of(peer), accept)
    return True


def on_undo_follow(peer: PeerHub, follow: Any) -> bool:
    """Stop a topic follow named inline or by its id (False: it was no topic follow)."""
    ref = id_of(follow)
    query = sa.select(TopicFollower).where(TopicFollower.peer_id == peer.id)
    if isinstance(follow, dict) and from_actor_id(id_of(follow.get("object"))) is not None:
        query = query.where(TopicFollower.term_id == from_actor_id(id_of(follow.get("object"))).id)
    elif ref:
        query = query.where(TopicFollower.follow_activity_id == ref)
    else:
        return False
    followers = list(db.session.scalars(query))
    for follower in followers:
        db.session.delete(follower)
    return bool(followers)


def end_follows(peer: PeerHub) -> int:
    """End ``peer``'s follows of topics, telling it with a Reject from each topic (a block; caller commits).

    As with the hub's own follow, both sides must agree that the follow ended: unblocking does not
    resume it, the other hub follows again if it wants the topic's notes.
    """
    followers = list(db.session.scalars(sa.select(TopicFollower).where(TopicFollower.peer_id == peer.id)))
    for follower in followers:
        topic = actor_id(db.session.get(Term, follower.term_id).slug)
        follow = {"id": follower.follow_activity_id, "type": "Follow", "actor": peer.actor_id, "object": topic}
        reject = activities.reject(follow, activity_id=f"{topic}#rejects/{secrets.token_hex(12)}")
        reject["actor"] = topic
        delivery.enqueue(peer, peer.inbox_url or delivery.inbox_of(peer), reject)
        db.session.delete(follower)
    return len(followers)


# --- announcing public notes --------------------------------------------------------------------

def _announce(term: Term, note_id: int, *, activity_id: str) -> dict[str, Any]:
    followers = actor_id(term.slug)[:-len("/actor")] + "/followers"
    return {"@context": activities.CONTEXT, "id": activity_id, "type": "Announce", "actor": actor_id(term.slug),
            "to": [actor.PUBLIC], "cc": [followers], "object": actor.note_object_id(note_id)}


def _followers(term: Term) -> list[PeerHub]:
    query = (sa.select(PeerHub).join(TopicFollower, TopicFollower.peer_id == PeerHub.id)
             .where(TopicFollower.term_id == term.id, PeerHub.blocked.is_(False)).order_by(PeerHub.id))
    return list(db.session.scalars(query))


def apply_event(event: Event) -> None:
    """Announce a newly published public note to its topics' followers; withdraw it when it goes (or is narrowed)."""
    if event.subject_type != "note" or event.kind not in ("note.published", "note.updated", "note.unpublished",
                                                          "note.deleted"):
        return
    note = db.session.get(Note, event.subject_id)
    if note is None or note.origin_peer_id is not None or note.translation_of_id is not None:
        return
    if event.kind == "note.updated" and note.state == NoteState.PUBLISHED.value \
            and note.visibility == Visibility.PUBLIC.value:
        return  # still what the topics announce: the note's own Update reaches those that follow this hub
    for term in note.topics if event.kind == "note.published" else _announced_topics(note):
        prefix = f"{actor_id(term.slug)}#announce-{note.id}"
        if event.kind == "note.published":
            if note.state != NoteState.PUBLISHED.value or note.visibility != Visibility.PUBLIC.value:
                continue
            for inbox, group in delivery.by_inbox(_followers(term)).items():
                delivery.enqueue(group[0], inbox, _announce(term, note.id, activity_id=f"{prefix}-{event.id}"),
                                 event_id=event.id)
        else:
            _withdraw(term, prefix, event, note)


def _announced_topics(note: Note) -> list[Term]:
    """Return the topics whose actors announced ``note`` (its topics may be wiped since)."""
    base = f"{actor.base_url()}/topics/"
    rows = db.session.scalars(sa.select(Delivery.activity_id).where(
        Delivery.activity_id.startswith(base), Delivery.activity_id.contains(f"#announce-{note.id}-")))
    slugs = {row[len(base):].split("/actor#")[0] for row in rows}
    return [t for t in (by_slug(s) for s in sorted(slugs)) if t is not None]


def _withdraw(term: Term, prefix: str, event: Event, note: Note) -> None:
    """Undo every Announce of the note by this topic not undone yet (the note was taken down, deleted, or
    narrowed from the public its followers were told of).

    A hub that followed only the topic fetched the Article the Announce named, and an Undo takes back
    only the Announce: a hub that may no longer read the note also gets its Delete, as the hubs that
    follow this one do (hub.federation.delivery), unless it is one of those.
    """
    sent = list(db.session.scalars(sa.select(Delivery).where(Delivery.activity_id.startswith(prefix + "-"))))
    undone = {id_of(d.activity.get("object")) for d in sent if d.activity.get("type") == "Undo"}
    told = {p.id for p in delivery.receipts(note)}
    for announced in sent:
        if announced.activity.get("type") != "Announce" or announced.activity_id in undone:
            continue
        undo = {"@context": activities.CONTEXT, "id": f"{announced.activity_id}#undo-{event.id}", "type": "Undo",
                "actor": actor_id(term.slug), "to": announced.activity.get("to", []),
                "cc": announced.activity.get("cc", []), "object": announced.activity}
        delivery.enqueue(announced.peer, announced.inbox_url, undo, event_id=event.id)
        peer = announced.peer
        if peer is not None and peer.id not in told and not may_read(note, Audience.hub(peer)):
            delivery.enqueue(peer, announced.inbox_url, activities.delete(
                note.id, activity_id=f"{actor.note_object_id(note.id)}#delete-topics-{event.id}", to=[peer.actor_id],
                at=delivery.deletion_time(note, event.at)), event_id=event.id)
