"""What people follow: topics, populations, projects, places, partner hubs and saved searches.

A follow says what a person wants to hear about and how often; it never decides what they may
read. Which notes a follow brings is worked out when a mail is made, through the person's
audience (hub.services.visibility), so a follow never reveals a note its owner may not read.
"""
from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.extensions import db
from hub.models.base import utcnow

if TYPE_CHECKING:
    from hub.models.federation import PeerHub
    from hub.models.project import Project
    from hub.models.vocabulary import Term


class FollowKind(enum.StrEnum):
    """What a follow is about."""

    TOPIC = "topic"
    POPULATION = "population"
    PROJECT = "project"
    PLACE = "place"  # a city, county or province, as notes name them
    HUB = "hub"  # a partner hub: the notes that came from it
    SEARCH = "search"  # a saved search: words and filters


class Frequency(enum.StrEnum):
    """How often a follow's new notes are mailed."""

    IMMEDIATELY = "immediately"
    DAILY = "daily"
    WEEKLY = "weekly"


class Follow(db.Model):
    """One person's follow of one thing, with how often they want to hear of it."""

    __tablename__ = "follow"
    __table_args__ = (sa.UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    # What is followed, one of these by kind; ``key`` names it uniquely for the person.
    key: Mapped[str] = mapped_column(sa.String(100))
    term_id: Mapped[int | None] = mapped_column(sa.ForeignKey("term.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int | None] = mapped_column(sa.ForeignKey("project.id", ondelete="CASCADE"), index=True)
    peer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("peer_hub.id", ondelete="CASCADE"), index=True)
    place: Mapped[str] = mapped_column(sa.String(100), default="", index=True)  # folded: see services.follows
    query: Mapped[str] = mapped_column(sa.String(500), default="")
    filters: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    label: Mapped[str] = mapped_column(sa.String(200), default="")  # a place as the person wrote it
    frequency: Mapped[str] = mapped_column(sa.String(20), default=Frequency.WEEKLY.value, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    term: Mapped[Term | None] = relationship()
    project: Mapped[Project | None] = relationship()
    peer: Mapped[PeerHub | None] = relationship()
