"""The controlled vocabulary (topics, populations) and the words the privacy check and search know."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.extensions import db
from hub.models.base import utcnow

note_term = sa.Table(
    "note_term", db.metadata,
    sa.Column("note_id", sa.ForeignKey("note.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("term_id", sa.ForeignKey("term.id", ondelete="CASCADE"), primary_key=True),
)


class Term(db.Model):
    """A word of the controlled vocabulary: a topic or a population, named in both languages."""

    __tablename__ = "term"
    __table_args__ = (sa.UniqueConstraint("kind", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # "topic" or "population"
    slug: Mapped[str] = mapped_column(sa.String(64))
    name_zh: Mapped[str] = mapped_column(sa.String(100))
    name_en: Mapped[str] = mapped_column(sa.String(100))

    def name(self, locale: str) -> str:
        """Return the term's name in ``locale``."""
        return self.name_zh if str(locale).startswith("zh") else self.name_en


class SensitiveWord(db.Model):
    """A word admins list as personal data for the privacy check (e.g. a clinic staff name)."""

    __tablename__ = "sensitive_word"

    id: Mapped[int] = mapped_column(primary_key=True)
    word: Mapped[str] = mapped_column(sa.String(100), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class GlossaryEntry(db.Model):
    """An administrator's addition to the search glossary: terms that mean the same thing.

    ``concept`` is a short id; reusing a shipped concept's id (e.g. ``methadone``) adds synonyms to it.
    Terms are separated by "|".
    """

    __tablename__ = "glossary_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    concept: Mapped[str] = mapped_column(sa.String(64), index=True)
    terms_zh: Mapped[str] = mapped_column(sa.String(500), default="")
    terms_en: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
