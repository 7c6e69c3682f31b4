"""Mail: each person's choices, and the outbox the worker sends from.

An :class:`OutgoingMail` row is one mail to one person (or, for an invitation, one address),
named by a unique ``key`` such as ``comment:12:user:3``: whatever makes it twice (an event
replayed after a crash, two workers) finds the key taken, so a mail is queued once. It holds
what the mail is about, never its text: the worker writes the text when it sends, in the
reader's language, after checking again that the reader may still see what it names.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.extensions import db
from hub.models.base import utcnow


class MailSetting(db.Model):
    """What one person wants mailed; a person without a row has the defaults (hub.services.mail_settings)."""

    __tablename__ = "mail_setting"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    kinds: Mapped[dict[str, bool]] = mapped_column(sa.JSON, default=dict)  # kind -> wanted
    # Topic names in subject lines (never note titles): off unless the person opts in.
    topic_subjects: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OutgoingMail(db.Model):
    """One mail waiting to be sent, being sent, sent, or given up."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    # Only for a mail to someone without an account (an invitation); wiped once it is sent or given up.
    address: Mapped[str | None] = mapped_column(sa.String(254))
    locale: Mapped[str | None] = mapped_column(sa.String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)  # ids, never text
    # A one-time token the mail carries (invitation, reset), sealed with the secret key; wiped when done.
    sealed: Mapped[str | None] = mapped_column(sa.Text)
    event_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    # pending -> sending -> sent; or dead (gave up), dropped (no longer to be sent), empty (a digest with nothing)
    state: Mapped[str] = mapped_column(sa.String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    claimed_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
