"""Projects: the organisations whose members write notes."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from hub import events
from hub.extensions import db
from hub.models.project import Project
from hub.models.user import User, UserStatus
from hub.services import audit, names
from hub.services.errors import ServiceError

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")


@dataclass(frozen=True)
class ProjectData:
    """The editable fields of a project."""

    slug: str
    name_zh: str
    name_en: str
    city: str = ""
    province: str = ""
    country: str = ""
    description_zh: str = ""
    description_en: str = ""


def by_slug(slug: str) -> Project | None:
    """Return the project with this slug."""
    return db.session.scalar(sa.select(Project).where(Project.slug == slug))


def all_projects() -> list[Project]:
    """Return every project, by English name."""
    return list(db.session.scalars(sa.select(Project).order_by(Project.name_en)))


def public_members(project: Project, *, viewer: Any) -> list[User]:
    """Return the project's active members whose pseudonyms ``viewer`` may see with the project.

    Only signed-in members see them, and only those who allow it (``show_activity``).
    """
    if not getattr(viewer, "is_authenticated", False):
        return []
    query = (sa.select(User).where(User.project_id == project.id, User.status == UserStatus.ACTIVE,
                                   User.show_activity.is_(True))
             .order_by(User.pseudonym))
    return list(db.session.scalars(query))


def save(data: ProjectData, *, by: User | None, project: Project | None = None) -> Project:
    """Create a project, or update ``project``, after checking the fields."""
    data = ProjectData(**{k: v.strip() for k, v in vars(data).items()})
    data = replace(data, country=data.country.upper(), name_zh=names.clean(data.name_zh, field="name_zh"),
                   name_en=names.clean(data.name_en, field="name_en"))
    _check(data, project)
    created = project is None
    project = project or Project()
    renamed = not created and _shown_with_notes(project) != _shown_with_notes(data)
    slug_changed = not created and project.slug != data.slug
    for field, value in vars(data).items():
        setattr(project, field, value)
    db.session.add(project)
    db.session.flush()
    if renamed:  # every published note of the project shows these: partners' mirrors must read them again
        # (the search index keeps only the slug, so it reads them again only when the slug changed)
        events.record("project.renamed", subject_type="project", subject_id=project.id, slug_changed=slug_changed)
    audit.record("project.create" if created else "project.update", actor=by, target=project)
    db.session.commit()
    return project


def _shown_with_notes(project: Project | ProjectData) -> tuple[str, str, str]:
    """Return what a note shows of its project (API, feeds, OAI-PMH, federation): its short name and names."""
    return project.slug, project.name_zh, project.name_en


def _check(data: ProjectData, project: Project | None) -> None:
    if not SLUG_RE.fullmatch(data.slug):
        raise ServiceError(
            _l("Use 3 to 64 lower-case letters, digits and dashes."), field="slug"
        )
    other = by_slug(data.slug)
    if other is not None and other is not project:
        raise ServiceError(_l("Another project already uses this short name."), field="slug")
    if not (data.name_zh.strip() or data.name_en.strip()):
        raise ServiceError(_l("Give the project a name in at least one language."), field="name_en")
    if data.country and not re.fullmatch(r"[A-Za-z]{2}", data.country.strip()):
        raise ServiceError(_l("Use the two-letter country code, e.g. CN."), field="country")
