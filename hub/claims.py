"""Work that must be done once across all workers and nodes: leases in the database.

Several nodes share one PostgreSQL database. Each node runs one worker (hub.worker's instance
lock), which feeds its own search index from the shared event log: that is per node and needs
no claim. Everything else happens once for the whole hub and is claimed by key:

- ``consumer:federation``: turning events into deliveries (its cursor is in the database);
- ``federation-send``, ``federation-inbox``, ``federation-backfill``: sending deliveries,
  processing received activities, choosing the next hub to backfill;
- ``backfill:<peer id>``: reading one hub's outbox (the worker, or ``flask hub federation-backfill``);
- ``housekeeping`` (claimed for an hour and not released: once an hour across all nodes).

A claim is a lease: a row (key, owner, expiry) taken with one atomic upsert that succeeds only
when the row is free, expired, or already the owner's. The holder renews it while it works, and
releases it when it stops; a worker that crashed or lost its connection simply stops renewing,
and the lease comes free when it expires (``WORKER_CLAIM_SECONDS``). A worker's owner name is
its node's: a worker restarted on the same node takes its predecessor's claims over at once
(the instance lock proves the predecessor is gone). Times come from the database server's clock
on PostgreSQL, so nodes whose clocks differ still agree; SQLite means one machine and its clock.

Leases give "at most one holder" only while holders renew in time: a holder that stalls longer
than the lease may overlap its successor. Where that would do harm twice, the work checks again
under a database lock (the federation cursor moves by compare-and-set); sending a delivery twice
is harmless (receivers de-duplicate by activity id).
"""
from __future__ import annotations

import time

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from hub.extensions import db
from hub.models.worker import WorkClaim


def _now() -> sa.ColumnElement[float]:
    """Return "now" in seconds since the epoch as SQL: the server's clock on PostgreSQL."""
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.cast(sa.func.extract("epoch", sa.func.clock_timestamp()), sa.Float)
    return sa.literal(time.time(), sa.Float)


def claim(key: str, *, owner: str, seconds: float) -> bool:
    """Take or renew the lease on ``key`` for ``seconds``; return False when another owner holds it.

    Commits: call it with no unsaved work in the session.
    """
    now = _now()
    insert = (postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert)(WorkClaim)
    statement = insert.values(key=key, owner=owner, expires=now + seconds)
    statement = statement.on_conflict_do_update(
        index_elements=[WorkClaim.key], set_={"owner": owner, "expires": now + seconds},
        where=sa.or_(WorkClaim.expires < now, WorkClaim.owner == owner),
    ).returning(WorkClaim.owner)
    taken = db.session.execute(statement).scalar()
    db.session.commit()
    return taken == owner


def remaining(key: str) -> tuple[str, float] | None:
    """Return the holder of ``key`` and the seconds its lease has left, or None when it is free."""
    row = db.session.execute(sa.select(WorkClaim.owner, WorkClaim.expires - _now()).where(WorkClaim.key == key)).first()
    db.session.rollback()
    if row is None or row[1] <= 0:
        return None
    return row[0], float(row[1])


def release(key: str, *, owner: str) -> None:
    """Give up the lease on ``key`` if ``owner`` holds it (commits)."""
    db.session.execute(sa.delete(WorkClaim).where(WorkClaim.key == key, WorkClaim.owner == owner))
    db.session.commit()


class Leases:
    """The claims of one worker: renewed when half their time is gone, not on every round.

    Remembers locally (by the monotonic clock, from before each request, so on the safe side)
    until when it holds each key, and until when someone else does, so an idle worker writes
    to the database about twice per lease period and key rather than on every round.
    """

    def __init__(self, owner: str, seconds: float) -> None:
        self.owner = owner
        self.seconds = seconds
        self.mine: dict[str, float] = {}
        self.theirs: dict[str, float] = {}

    def hold(self, key: str) -> bool:
        """Tell whether this worker holds ``key`` now, claiming or renewing it when due."""
        now = time.monotonic()
        if self.mine.get(key, 0) - now > self.seconds / 2:
            return True
        if self.theirs.get(key, 0) > now:
            return False
        if claim(key, owner=self.owner, seconds=self.seconds):
            self.mine[key] = now + self.seconds
            self.theirs.pop(key, None)
            return True
        self.mine.pop(key, None)
        holder = remaining(key)
        self.theirs[key] = now + (holder[1] if holder else 0)
        return False

    def release_all(self) -> None:
        """Give up every claim held (a clean stop: other nodes take over at once)."""
        for key in list(self.mine):
            release(key, owner=self.owner)
        self.mine.clear()


def lease_seconds() -> float:
    """Return how long a claim lasts without renewal (``WORKER_CLAIM_SECONDS``)."""
    return float(current_app.config["WORKER_CLAIM_SECONDS"])
