"""Tokens for machines: personal and organisation API tokens, and personal feed tokens."""
from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.extensions import db
from hub.models.base import utcnow

if TYPE_CHECKING:
    from hub.models.federation import PeerHub
    from hub.models.user import User


class TokenKind(enum.StrEnum):
    """What a token is for and whom it reads as."""

    PERSONAL = "personal"  # the API, as the person who made it
    ORGANISATION = "organisation"  # the API, as a member of an allow-listed partner hub
    FEED = "feed"  # the person's Atom feeds (in the URL, so never for the API)


class ApiToken(db.Model):
    """A secret a machine presents; only its hash is stored, the secret is shown once."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(100), default="")
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))  # the secret's first characters, to recognise it
    scope: Mapped[str] = mapped_column(sa.String(20), default="read")  # read-only: the API has no writes
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    peer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("peer_hub.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    peer: Mapped[PeerHub | None] = relationship()

    def state(self, now: dt.datetime) -> str:
        """Return "revoked", "expired" or "active"."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"
