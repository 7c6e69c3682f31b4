"""Figures and recent activity for the home page."""
from __future__ import annotations

from dataclasses import dataclass
import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from hub.extensions import db
from hub.models import Note
from hub.models.project import Project
from hub.models.user import User, UserStatus
from hub.services.visibility import published_for


@dataclass(frozen=True)
class Activity:
    """One line of recent activity a signed-in member may see."""

    at: dt.datetime
    kind: str
    project: Project | None
    who: str


def counts(*, viewer: Any) -> dict[str, int]:
    """Return how many projects, active members and published notes ``viewer`` may see the hub has."""
    row = db.session.execute(sa.select(  # one round trip for the three figures
        sa.select(sa.func.count(Project.id)).scalar_subquery(),
        sa.select(sa.func.count(User.id)).where(User.status == UserStatus.ACTIVE).scalar_subquery(),
        sa.select(sa.func.count(Note.id)).where(published_for(viewer), Note.translation_of_id.is_(None))
        .scalar_subquery())).one()
    return {"projects": row[0] or 0, "members": row[1] or 0, "notes": row[2] or 0}


def recent_activity(*, viewer: Any, limit: int = 8) -> list[Activity]:
    """Return who joined lately, for signed-in members only, of the people who allow it.

    Which pseudonym belongs to which harm-reduction project is itself sensitive: anonymous
    visitors see none of it, and members see only those who turned ``show_activity`` on.
    """
    if not getattr(viewer, "is_authenticated", False):
        return []
    query = (sa.select(User).where(User.status == UserStatus.ACTIVE, User.show_activity.is_(True))
             .options(joinedload(User.project))
             .order_by(User.created_at.desc(), User.id.desc()).limit(limit))
    return [Activity(at=u.created_at, kind="joined", project=u.project, who=u.pseudonym)
            for u in db.session.scalars(query)]
