"""Projects: the organisations and services whose people write practice notes."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.extensions import db
from hub.models.base import utcnow

class Project(db.Model):
    """An organisation or service, named in both languages, placed at city level."""

    __tablename__ = "project"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200))
    city: Mapped[str] = mapped_column(sa.String(100), default="")
    province: Mapped[str] = mapped_column(sa.String(100), default="")
    country: Mapped[str] = mapped_column(sa.String(2), default="")  # ISO 3166-1 alpha-2
    description_zh: Mapped[str] = mapped_column(sa.Text, default="")
    description_en: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    # "User" is found by name in the model registry: user.py imports this module, never the reverse.
    members: Mapped[list["User"]] = relationship(back_populates="project")  # noqa: F821

    def name(self, locale: str) -> str:
        """Return the project's name in ``locale``, falling back to the other language."""
        if str(locale).startswith("zh"):
            return self.name_zh or self.name_en
        return self.name_en or self.name_zh

    def description(self, locale: str) -> str:
        """Return the description in ``locale``, falling back to the other language."""
        if str(locale).startswith("zh"):
            return self.description_zh or self.description_en
        return self.description_en or self.description_zh
