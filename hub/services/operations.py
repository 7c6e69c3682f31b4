"""What operators ask of the hub: can it reach its database, is this node's worker alive and keeping
up, how much federation work waits. Used by ``/readyz``, the metrics and the admin's System page.

Every figure comes from the database (the worker's heartbeat, which also carries its lag per
consumer, see :func:`hub.worker.worker_status`); when the database cannot be reached the answer
says so instead of raising.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from hub import events, schema_check
from hub.extensions import db
from hub.models import Delivery
from hub.worker import worker_status


@dataclass
class Check:
    """One readiness check: its name, whether it passed, and a short reason for operators (English)."""

    name: str
    ok: bool
    detail: str


@dataclass
class Figures:
    """The hub's operational figures at one moment (None where the database could not be asked)."""

    database: bool
    schema_problem: str | None = None  # what is wrong with the database's schema (hub.schema_check)
    event_head: int | None = None
    worker: dict[str, Any] = field(default_factory=dict)  # this node's, as worker_status() describes it
    workers: list[dict[str, Any]] = field(default_factory=list)  # every node's
    deliveries: dict[str, int] = field(default_factory=dict)  # by state: pending, held, dead


# The deliveries an operator watches: the queue, those kept for hubs taken off the allow-list (sent when the
# hub is listed again, hub.federation.delivery.hold), and those that failed for good.
DELIVERY_STATES = ("pending", "held", "dead")


def figures() -> Figures:
    """Read the figures; a database that cannot be reached gives ``Figures(database=False)``."""
    try:
        problem = schema_check.schema_state().problem()
        if problem:  # the figures below would read tables or columns that are not there
            return Figures(database=True, schema_problem=problem)
        status = worker_status()
        counts = dict(db.session.execute(sa.select(Delivery.state, sa.func.count()).where(
            Delivery.state.in_(DELIVERY_STATES)).group_by(Delivery.state)).all())
        found = Figures(database=True, event_head=events.head(), worker=status, workers=status["workers"],
                        deliveries={state: counts.get(state, 0) for state in DELIVERY_STATES})
    except sa_exc.SQLAlchemyError:
        db.session.rollback()
        return Figures(database=False)
    return found


def worker_lag(worker: dict[str, Any]) -> int | None:
    """Return how many events the worker's slowest consumer is behind (None before its first heartbeat)."""
    lag = worker.get("lag") or {}
    return max(lag.values()) if lag else None


def readiness(found: Figures, *, index_available: bool, max_lag: int) -> list[Check]:
    """Return the readiness checks: database, its schema, search index, this node's worker, its lag."""
    index = Check("index", index_available, "readable" if index_available else "not readable")
    if not found.database:
        return [Check("database", False, "cannot reach the database"), index,
                Check("worker", False, "not checked: needs the database"),
                Check("lag", False, "not checked: needs the database")]
    if found.schema_problem:
        return [Check("database", True, "reachable"), Check("schema", False, found.schema_problem), index,
                Check("worker", False, "not checked: needs the schema"),
                Check("lag", False, "not checked: needs the schema")]
    worker = found.worker
    if worker["running"]:
        worker_check = Check("worker", True, f"heartbeat {worker['age_seconds']:.0f} s ago")
    elif worker["last_heartbeat"] is None:
        worker_check = Check("worker", False, "no heartbeat from this node's worker yet")
    else:
        worker_check = Check("worker", False, f"last heartbeat {worker['age_seconds']:.0f} s ago")
    lag = worker_lag(worker)
    lag_ok = worker["running"] and lag is not None and lag <= max_lag
    if lag is None:
        lag_detail = "unknown: no heartbeat"
    elif not worker["running"]:  # its last heartbeat's figure says nothing of now: the log may have grown since
        lag_detail = f"unknown: the worker is not running ({lag} events behind at its last heartbeat)"
    else:
        lag_detail = f"{lag} events behind (at most {max_lag})"
    lag_check = Check("lag", lag_ok, lag_detail)
    return [Check("database", True, "reachable"), Check("schema", True, "up to date"), index, worker_check, lag_check]
