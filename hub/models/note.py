"""Practice notes: their states and audiences, revisions, attachments and translation requests.

The notes' vocabulary, discussion and moderation live beside this module (vocabulary.py,
discussion.py, moderation.py); ``hub.models`` exports them all.
"""
from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.extensions import db
from hub.models.base import utcnow
from hub.models.vocabulary import Term, note_term

if TYPE_CHECKING:
    from hub.models.project import Project
    from hub.models.user import User


class NoteState(enum.StrEnum):
    """Where a note is in its life: draft → submitted → published, and the ways off that path."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    CHANGES_REQUESTED = "changes_requested"
    PUBLISHED = "published"
    REJECTED = "rejected"
    UNPUBLISHED = "unpublished"  # taken down by a moderator
    WITHDRAWN = "withdrawn"  # taken down by its author
    DELETED = "deleted"  # a tombstone: content wiped, the row stays so federation can say "deleted"


class Visibility(enum.StrEnum):
    """Who may read a published note; ordered from narrowest to widest."""

    MEMBERS = "members"
    PARTNERS = "partners"
    PUBLIC = "public"

    @property
    def rank(self) -> int:
        """Return the place in the order members < partners < public."""
        return list(Visibility).index(self)


SECTIONS = ("context", "what_we_did", "what_happened", "what_we_learned", "do_differently")
LANGUAGES = ("zh_Hans", "en")


class Note(db.Model):
    """A practice note: what we tried, what happened, what we learned."""

    __tablename__ = "note"
    # Its id names it on partner hubs (/ap/notes/<id>): never given again, even if a row ever goes.
    __table_args__ = (sa.UniqueConstraint("author_id", "draft_key"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)
    project_id: Mapped[int | None] = mapped_column(sa.ForeignKey("project.id"), index=True)
    state: Mapped[str] = mapped_column(sa.String(20), default=NoteState.DRAFT.value, index=True)
    visibility: Mapped[str] = mapped_column(sa.String(20), default=Visibility.MEMBERS.value)
    language: Mapped[str] = mapped_column(sa.String(20), default="zh_Hans")
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    summary: Mapped[str] = mapped_column(sa.String(600), default="")
    body: Mapped[str] = mapped_column(sa.Text, default="")
    sections: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    body_html: Mapped[str] = mapped_column(sa.Text, default="")  # rendered once, on save
    # body_html's readable text on one line, kept with it by hub.services.notes whenever body_html is set:
    # search excerpts read it on every request. None: a row written without the ORM (read from body_html).
    body_text: Mapped[str | None] = mapped_column(sa.Text)
    place: Mapped[str] = mapped_column(sa.String(100), default="")  # city or county, never an address
    province: Mapped[str] = mapped_column(sa.String(100), default="")
    tags: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    featured: Mapped[bool] = mapped_column(default=False, index=True)
    revision_number: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[dt.datetime | None]
    published_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    deleted_at: Mapped[dt.datetime | None]
    # When this hub last changed what readers and partners' systems get of the note: published,
    # edited, redacted, narrowed, taken down, deleted, a partner's Update accepted (or a translation
    # of it). hub.events stamps it when it writes the event that says so, in commit order; the
    # harvesting interfaces (the API's sync order, feeds, removed notes) read it. updated_at stays
    # the text's own time: the origin's, for a partner hub's note, which federation compares.
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    # The widest audience the note was ever published to here (None: never published): who must
    # hear that it is gone (GET /api/v1/notes/removed), and nobody else.
    reach: Mapped[str | None] = mapped_column(sa.String(20))
    # A translation is a note of its own, linked to its original, made from one of its revisions.
    translation_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("note.id", ondelete="CASCADE"), index=True)
    source_revision: Mapped[int | None]
    # A note that came from a partner hub: its ActivityPub id, its page there, and the hub.
    origin_peer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("peer_hub.id"), index=True)
    remote_id: Mapped[str | None] = mapped_column(sa.String(500), unique=True)
    remote_url: Mapped[str | None] = mapped_column(sa.String(500))
    # The time of the version stored here by its origin's clock, as it said it (``updated``, else ``published``):
    # that hub's Updates are ordered by it alone. updated_at is capped at our own now and moves with our
    # moderators' edits, by our clock: compared with it, a reordered delivery could win, or a newer one lose.
    remote_updated_at: Mapped[dt.datetime | None]
    # An imported note's id in the partner's own archive (or its page on the hub it was exported from):
    # importing the same file again recognises it. Unique; NULL for notes written here.
    source_id: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    # The editor's idempotency key: a random key in the new-note form, sent with its posts and autosaves.
    # The first of them that carries it makes the note; any later one (a double tap, a retry, another web
    # process) reaches this note instead of making another. Unique per author; NULL for notes made otherwise.
    draft_key: Mapped[str | None] = mapped_column(sa.String(64))
    # How many times a moderator's removal of personal data changed the text its author's editor shows (the
    # note's own, or its changes not yet published), also when it came through its original or another
    # language version. The editor carries the count it showed; a save or autosave from an editor opened
    # before a later removal is refused (hub.services.notes), as it would write the removed data back.
    text_redactions: Mapped[int] = mapped_column(default=0, server_default="0")

    author: Mapped[User | None] = relationship()
    project: Mapped[Project | None] = relationship()
    terms: Mapped[list[Term]] = relationship(secondary=note_term, order_by=Term.slug)
    revisions: Mapped[list[NoteRevision]] = relationship(
        back_populates="note", order_by="NoteRevision.number", cascade="all, delete-orphan")
    pending: Mapped[PendingRevision | None] = relationship(
        back_populates="note", cascade="all, delete-orphan", uselist=False)
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="note", order_by="Attachment.id", cascade="all, delete-orphan")
    original: Mapped[Note | None] = relationship(remote_side="Note.id", back_populates="translations")
    translations: Mapped[list[Note]] = relationship(back_populates="original", order_by="Note.id")

    @property
    def is_remote(self) -> bool:
        """Tell whether the note came from a partner hub."""
        return self.origin_peer_id is not None

    @property
    def is_translation(self) -> bool:
        """Tell whether this note is a translation of another."""
        return self.translation_of_id is not None

    @property
    def topics(self) -> list[Term]:
        """Return the note's topics."""
        return [t for t in self.terms if t.kind == "topic"]

    @property
    def populations(self) -> list[Term]:
        """Return the populations the note is about."""
        return [t for t in self.terms if t.kind == "population"]

    @property
    def is_published(self) -> bool:
        """Tell whether readers other than the author and moderators may see the note."""
        return self.state == NoteState.PUBLISHED

    def __repr__(self) -> str:
        return f"<Note {self.id} {self.state}>"


class NoteRevision(db.Model):
    """A snapshot of a submitted or published note's text, kept at every such edit."""

    __tablename__ = "note_revision"
    __table_args__ = (sa.UniqueConstraint("note_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(sa.ForeignKey("note.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    editor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    title: Mapped[str] = mapped_column(sa.String(200))
    summary: Mapped[str] = mapped_column(sa.String(600))
    body: Mapped[str] = mapped_column(sa.Text)
    sections: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Set when personal data was cut out of this snapshot (history then says so at this revision).
    redacted_at: Mapped[dt.datetime | None]

    note: Mapped[Note] = relationship(back_populates="revisions")
    editor: Mapped[User | None] = relationship()


class PendingRevision(db.Model):
    """An author's changes to a published note, waiting for a moderator; readers keep the published text.

    ``submitted_at`` is set when the author asks for review (the editor's autosave keeps changes
    here without asking); ``version`` grows with every save, so a moderator accepts exactly the
    text they read.
    """

    __tablename__ = "pending_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(sa.ForeignKey("note.id", ondelete="CASCADE"), unique=True)
    editor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    summary: Mapped[str] = mapped_column(sa.String(600), default="")
    body: Mapped[str] = mapped_column(sa.Text, default="")
    sections: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    language: Mapped[str] = mapped_column(sa.String(20), default="zh_Hans")
    place: Mapped[str] = mapped_column(sa.String(100), default="")
    province: Mapped[str] = mapped_column(sa.String(100), default="")
    visibility: Mapped[str] = mapped_column(sa.String(20), default=Visibility.MEMBERS.value)
    tags: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    term_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(index=True)

    note: Mapped[Note] = relationship(back_populates="pending")
    editor: Mapped[User | None] = relationship()


class Attachment(db.Model):
    """An image or PDF attached to a note; the bytes live under instance/attachments/."""

    __tablename__ = "attachment"
    # Its id is in its address (/notes/<note>/attachments/<id>), in the note's text and in partners'
    # copies: never given to another attachment on SQLite either, once one is removed.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(sa.ForeignKey("note.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(60))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Added to a published note: only its author and moderators see it until the changes are accepted.
    pending: Mapped[bool] = mapped_column(default=False)

    note: Mapped[Note] = relationship(back_populates="attachments")


class TranslationRequest(db.Model):
    """A member's wish to read a note in another language."""

    __tablename__ = "translation_request"
    __table_args__ = (sa.UniqueConstraint("note_id", "language", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(sa.ForeignKey("note.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(sa.String(20))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
