"""Federation: partner hubs, what we send them, what they send us."""
from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.extensions import db
from hub.models.base import utcnow


class PeerHub(db.Model):
    """Another hub (or ActivityPub server) we follow, that follows us, or that we block."""

    __tablename__ = "peer_hub"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[str] = mapped_column(sa.String(500), unique=True)  # its instance actor's URL
    base_url: Mapped[str] = mapped_column(sa.String(300), index=True)  # scheme://host[:port]
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    inbox_url: Mapped[str] = mapped_column(sa.String(500), default="")
    shared_inbox_url: Mapped[str] = mapped_column(sa.String(500), default="")
    outbox_url: Mapped[str] = mapped_column(sa.String(500), default="")
    key_id: Mapped[str] = mapped_column(sa.String(500), default="")
    public_key_pem: Mapped[str] = mapped_column(sa.Text, default="")
    # The actor's other keys (several publicKey entries, FEP-521a assertionMethod): key id -> PEM.
    other_keys: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    # The HTTP Signature scheme it accepted from us: "" (not known yet), "rfc9421" or "cavage".
    signature_scheme: Mapped[str] = mapped_column(sa.String(20), default="")
    # Our follow of them: "none", "pending", "accepted" or "rejected"; and theirs of us.
    we_follow: Mapped[str] = mapped_column(sa.String(20), default="none")
    follow_activity_id: Mapped[str] = mapped_column(sa.String(500), default="")
    they_follow: Mapped[bool] = mapped_column(default=False)
    # Allow-listed partner: may exchange notes at all (allow-list mode), and receives "partners" notes.
    partner: Mapped[bool] = mapped_column(default=False)
    blocked: Mapped[bool] = mapped_column(default=False)
    # What happens to notes they send: "moderate" (queue) or "publish" (straight away).
    trust: Mapped[str] = mapped_column(sa.String(20), default="moderate")
    last_backfill_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def public_key_for(self, key_id: str) -> str | None:
        """Return the PEM of the actor's key ``key_id``, if this hub knows it."""
        if key_id == self.key_id and self.public_key_pem:
            return self.public_key_pem
        return (self.other_keys or {}).get(key_id)


class Delivery(db.Model):
    """One activity to POST to one inbox; signed at send time, retried with backoff, then dead-lettered."""

    __tablename__ = "delivery"
    # Ids never reused on SQLite: a send's outcome is recorded by id when it ends, and a newer version
    # may have replaced the delivery meanwhile (delivery.supersede drops one in flight too).
    __table_args__ = (sa.UniqueConstraint("activity_id", "inbox_url"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    peer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("peer_hub.id", ondelete="CASCADE"), index=True)
    inbox_url: Mapped[str] = mapped_column(sa.String(500))
    activity_id: Mapped[str] = mapped_column(sa.String(500))
    activity: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    event_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    state: Mapped[str] = mapped_column(sa.String(20), default="pending", index=True)  # pending, sent, dead; held, dropped (delivery.py)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")  # English, as in the log
    # The same for people: {"code": …, **params}, translated on the partner's page (hub.federation.problems).
    last_problem: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
    # A try failed after the peer may have read the activity (a timeout, a broken connection, a 5xx): a
    # dead letter may still have arrived. An Offer queued in place of one that may have arrived carries
    # it on (hub.federation.conversation), so that the translation's withdrawal still goes there.
    may_have_arrived: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    peer: Mapped[PeerHub | None] = relationship()


class InboxItem(db.Model):
    """An activity a peer POSTed to our inbox: stored raw, answered 202, processed by the worker."""

    __tablename__ = "inbox_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[str] = mapped_column(sa.String(500), unique=True)  # duplicates are refused
    actor_id: Mapped[str] = mapped_column(sa.String(500))
    peer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("peer_hub.id", ondelete="CASCADE"), index=True)
    raw: Mapped[str] = mapped_column(sa.Text)
    state: Mapped[str] = mapped_column(sa.String(20), default="pending", index=True)  # pending, done, failed
    error: Mapped[str] = mapped_column(sa.String(500), default="")
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[dt.datetime | None]
    # A note sent by reference whose origin did not answer is fetched again later (None: at once).
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[dt.datetime | None]


class NoteReceipt(db.Model):
    """A partner hub that was sent a note, so that deletes and updates reach every hub that has it."""

    __tablename__ = "note_receipt"
    __table_args__ = (sa.UniqueConstraint("note_id", "peer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(sa.ForeignKey("note.id", ondelete="CASCADE"), index=True)
    peer_id: Mapped[int] = mapped_column(sa.ForeignKey("peer_hub.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
