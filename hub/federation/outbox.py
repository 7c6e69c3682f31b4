"""What other servers may read: the outbox, single notes as Articles, the followers collection.

Who reads is one :class:`~hub.services.visibility.Audience` (``Audience.hub(peer)``), and what it
may read is :func:`hub.services.visibility.visible_notes`, the rule every read path uses: an
unsigned (or stranger's) request sees public notes. A GET signed by an allow-listed partner hub also sees ``partners`` notes. ``members``
notes, drafts, submissions, remote notes and translations (which travel inside their original)
are never listed.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from hub.extensions import db
from hub.federation import activities, actor, client, conversation, inbox
from hub.federation.http import FetchError
from hub.federation.signatures import SignatureError, key_id_host, signature_scheme
from hub.models.federation import PeerHub
from hub.models import Comment, CommentState, Note, NoteState, Visibility
from hub.services.visibility import Audience, visible_notes

PAGE_SIZE = 20


class Forbidden(Exception):
    """A GET signed by a blocked hub."""


class Unverified(Exception):
    """A signed GET whose signature cannot be read or verified: ``status`` (401, or 503) and ``reason``."""

    def __init__(self, reason: str, status: int = 401) -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


def signed_by(*, method: str, path: str, query: str, headers: Mapping[str, str]) -> PeerHub | None:
    """Return the allow-listed partner hub that signed this GET, or None for anyone else.

    A GET signed by a blocked hub raises :class:`Forbidden`. A signature that cannot be read,
    or an allow-listed hub's signature that does not verify, raises :class:`Unverified` (the
    reader is told, rather than shown less than it asked for). A hub that is not allow-listed
    could read no more than anyone, so its signature is not checked (no key fetching for it).
    """
    if signature_scheme(headers) is None:
        return None
    try:
        key_id = inbox.signing_key_id(headers)
        host = key_id_host(key_id)
    except inbox.Refused as refused:
        raise Unverified(refused.reason) from None
    except SignatureError as error:
        raise Unverified(error.reason_code) from None
    peers = client.peers_on(host)
    if any(p.blocked for p in peers):
        raise Forbidden(host)
    if not any(p.partner for p in peers):
        return None  # strangers see public notes; no key fetching for them
    try:
        inbox.verify_signature(method, path, query, headers, b"", key_id)
    except SignatureError as error:
        raise Unverified(error.reason_code) from None
    except FetchError as error:
        raise Unverified("key_fetch_failed", 503 if error.retryable else 401) from None
    owner = key_id.split("#")[0]
    peer = db.session.scalar(sa.select(PeerHub).where(PeerHub.actor_id == owner))
    return peer if peer is not None and peer.partner and not peer.blocked else None


def audience_condition(peer: PeerHub | None) -> sa.ColumnElement[bool]:
    """Return the SQL condition of the notes ``peer`` (None: anyone) may read here."""
    return visible_notes(Audience.hub(peer))


def _recipients(peer: PeerHub | None) -> list[str]:
    return [peer.actor_id] if peer is not None else []


def create_of(note: Note, peer: PeerHub | None) -> dict[str, Any]:
    """Return the Create activity of a note, as listed in the outbox."""
    article = activities.note_to_article(note, recipients=_recipients(peer))
    return activities.create(article, activity_id=actor.note_object_id(note.id) + "/activity")


def collection(peer: PeerHub | None) -> dict[str, Any]:
    """Return the outbox as an OrderedCollection pointing at its first and last pages."""
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Note).where(audience_condition(peer))) or 0
    url = actor.base_url() + "/outbox"
    pages = max(1, -(-total // PAGE_SIZE))
    return {"@context": actor.AS_CONTEXT, "id": url, "type": "OrderedCollection", "totalItems": total,
            "first": f"{url}?page=1", "last": f"{url}?page={pages}"}


def page(number: int, peer: PeerHub | None) -> dict[str, Any]:
    """Return one OrderedCollectionPage of Create activities, newest first."""
    url = actor.base_url() + "/outbox"
    query = (sa.select(Note).where(audience_condition(peer))
             .options(selectinload(Note.terms), selectinload(Note.translations))
             .order_by(Note.published_at.desc(), Note.id.desc())
             .offset((number - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1))
    notes = list(db.session.scalars(query))
    document: dict[str, Any] = {
        "@context": activities.CONTEXT, "id": f"{url}?page={number}", "type": "OrderedCollectionPage",
        "partOf": url, "orderedItems": [create_of(n, peer) for n in notes[:PAGE_SIZE]],
    }
    if len(notes) > PAGE_SIZE:
        document["next"] = f"{url}?page={number + 1}"
    if number > 1:
        document["prev"] = f"{url}?page={number - 1}"
    return document


def note_object(note_id: int, peer: PeerHub | None) -> dict[str, Any] | None:
    """Return the Article of one note, or None when ``peer`` may not read it."""
    note = db.session.scalar(sa.select(Note).where(Note.id == note_id, audience_condition(peer)))
    if note is None:
        return None
    return activities.note_to_article(note, recipients=_recipients(peer))


def note_activity(note_id: int, peer: PeerHub | None) -> dict[str, Any] | None:
    """Return the Create activity of one note, or None when ``peer`` may not read it."""
    note = db.session.scalar(sa.select(Note).where(Note.id == note_id, audience_condition(peer)))
    return create_of(note, peer) if note is not None else None


def comment_object(comment_id: int, peer: PeerHub | None) -> dict[str, Any] | None:
    """Return a comment written here as a Note, or None when ``peer`` may not read its note."""
    comment = db.session.get(Comment, comment_id)
    if (comment is None or comment.author_id is None or comment.removed_at is not None or comment.note is None
            or comment.state != CommentState.PUBLISHED):  # held for its personal data: nobody reads it yet
        return None
    note = comment.note
    if note.origin_peer_id is None:
        visible = db.session.scalar(sa.select(Note.id).where(Note.id == note.id, audience_condition(peer)))
    else:  # our member's comment on a partner's note: as public as that note
        visible = note.state == NoteState.PUBLISHED.value and note.visibility == Visibility.PUBLIC.value
    if not visible:
        return None
    return {"@context": activities.CONTEXT, **conversation.comment_to_note(comment, recipients=_recipients(peer))}


def followers(peer: PeerHub | None) -> dict[str, Any]:
    """Return the followers collection: its size for anyone, its members for partner hubs only."""
    query = sa.select(PeerHub.actor_id).where(PeerHub.they_follow.is_(True), PeerHub.blocked.is_(False))
    ids = list(db.session.scalars(query.order_by(PeerHub.id)))
    document: dict[str, Any] = {"@context": actor.AS_CONTEXT, "id": actor.followers_url(),
                                "type": "OrderedCollection", "totalItems": len(ids)}
    if peer is not None:
        document["orderedItems"] = ids
    return document
