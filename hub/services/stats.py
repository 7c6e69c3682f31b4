"""Figures and recent activity for the home page."""
from __future__ import annotations

from dataclasses import dataclass
import datetime as dt

import sqlalchemy as sa

from hub.extensions import db
from hub.models.project import Project
from hub.models.user import User, UserStatus


@dataclass(frozen=True)
class Activity:
    """One line of recent activity that anyone may see."""

    at: dt.datetime
    kind: str
    project: Project | None
    who: str


def counts() -> dict[str, int]:
    """Return how many projects and active members the hub has."""
    return {
        "projects": db.session.scalar(sa.select(sa.func.count(Project.id))) or 0,
        "members": db.session.scalar(
            sa.select(sa.func.count(User.id)).where(User.status == UserStatus.ACTIVE)) or 0,
    }


def recent_activity(limit: int = 8) -> list[Activity]:
    """Return the newest public happenings: members who joined (by pseudonym)."""
    query = (sa.select(User).where(User.status == UserStatus.ACTIVE)
             .order_by(User.created_at.desc(), User.id.desc()).limit(limit))
    return [Activity(at=u.created_at, kind="joined", project=u.project, who=u.pseudonym)
            for u in db.session.scalars(query)]
