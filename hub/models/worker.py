"""What workers share through the database: their heartbeats and their claims on work."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.extensions import db


class WorkerHeartbeat(db.Model):
    """The last sign of life of one node's worker, written every few seconds while it runs."""

    __tablename__ = "worker_heartbeat"

    node: Mapped[str] = mapped_column(sa.String(300), primary_key=True)  # HUB_NODE_NAME, default host:instance
    host: Mapped[str] = mapped_column(sa.String(200))
    pid: Mapped[int]
    started_at: Mapped[dt.datetime]
    beat_at: Mapped[dt.datetime]  # written between two rounds of the main loop, so it also shows progress
    stopped_at: Mapped[dt.datetime | None]  # set by a clean stop
    lag: Mapped[dict[str, int]] = mapped_column(sa.JSON, default=dict)  # events behind the log, per consumer


class WorkClaim(db.Model):
    """A lease on work that must be done by one worker at a time across nodes (see hub.claims)."""

    __tablename__ = "work_claim"

    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)  # e.g. "federation-send", "backfill:3"
    owner: Mapped[str] = mapped_column(sa.String(300))
    expires: Mapped[float] = mapped_column(sa.Float)  # seconds since the epoch, by the database server's clock
