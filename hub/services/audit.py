"""The audit trail of administrative and moderation actions."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from hub.extensions import db
from hub.models.audit import AuditEntry


def record(action: str, *, actor: Any, target: Any = None, **details: Any) -> AuditEntry:
    """Add an audit entry to the current transaction (the caller commits)."""
    entry = AuditEntry(
        action=action,
        actor_id=getattr(actor, "id", None),
        target_type=type(target).__name__.lower() if target is not None else "",
        target_id=getattr(target, "id", None),
        details=details,
    )
    db.session.add(entry)
    return entry


def recent(*, action: str | None = None, page: int = 1, per_page: int = 50) -> Any:
    """Return a page of audit entries, newest first, optionally of one action."""
    query = sa.select(AuditEntry).order_by(AuditEntry.id.desc())
    if action:
        query = query.where(AuditEntry.action == action)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def last_entry(target: Any, *, actions: tuple[str, ...] | None = None) -> AuditEntry | None:
    """Return the newest entry of one of ``actions`` (None: of any) recorded on ``target`` (what last happened
    to it), if any."""
    query = sa.select(AuditEntry).where(AuditEntry.target_type == type(target).__name__.lower(),
                                        AuditEntry.target_id == target.id)
    if actions is not None:
        query = query.where(AuditEntry.action.in_(actions))
    return db.session.scalar(query.order_by(AuditEntry.id.desc()).limit(1))
