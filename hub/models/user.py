"""Accounts: users, their log-in sessions, invitations, password resets, e-mail changes, log-in throttling."""
from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.extensions import db
from hub.models.base import utcnow

if TYPE_CHECKING:
    from hub.models.project import Project


class Role(enum.StrEnum):
    """A user's single role; each includes the powers of the ones before it."""

    MEMBER = "member"
    CONTRIBUTOR = "contributor"
    MODERATOR = "moderator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """Return the role's place in the order member < contributor < moderator < admin."""
        return list(Role).index(self)


class UserStatus(enum.StrEnum):
    """Whether an account may sign in."""

    ACTIVE = "active"
    PENDING = "pending"  # signed up on an open hub, waiting for approval
    DISABLED = "disabled"


class User(db.Model):
    """A person with a login (private) and a pseudonym (the only name ever shown)."""

    __tablename__ = "user"
    # SQLite would otherwise give the next account the id of a deleted newest one, and with it
    # whatever still names that id (a token, a cached menu, an event about to be mailed).
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(40), unique=True)  # stored lower-case
    email: Mapped[str | None] = mapped_column(sa.String(254), unique=True)  # stored lower-case
    pseudonym: Mapped[str] = mapped_column(sa.String(60), unique=True)
    # How the pseudonym looks (hub.text_safety.skeleton): a look-alike of a taken one is refused.
    # NULL only for old look-alikes found when the column was added.
    pseudonym_skeleton: Mapped[str | None] = mapped_column(sa.String(240), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(20), default=Role.MEMBER.value)
    status: Mapped[str] = mapped_column(sa.String(20), default=UserStatus.ACTIVE.value)
    locale: Mapped[str | None] = mapped_column(sa.String(20))
    timezone: Mapped[str | None] = mapped_column(sa.String(64))
    bio: Mapped[str] = mapped_column(sa.Text, default="")
    # Whether the person lets signed-in members see that they joined (and which project): off by default.
    show_activity: Mapped[bool] = mapped_column(default=False)
    # Set by admins only: edits of this author's published notes go live without review when the
    # privacy check finds nothing. Never on by default.
    edits_skip_review: Mapped[bool] = mapped_column(default=False)
    project_id: Mapped[int | None] = mapped_column(sa.ForeignKey("project.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    project: Mapped[Project | None] = relationship(back_populates="members")
    sessions: Mapped[list[LoginSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    # Flask-Login's protocol; the session id, not the user id, goes into the cookie.
    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        """Tell Flask-Login that a loaded user is signed in."""
        return True

    @property
    def is_active(self) -> bool:
        """Only active accounts may sign in."""
        return self.status == UserStatus.ACTIVE

    @property
    def role_enum(self) -> Role:
        """Return the role as a :class:`Role`."""
        return Role(self.role)

    def get_id(self) -> str | None:
        """Return nothing: the log-in session token is what Flask-Login remembers."""
        return None

    def __repr__(self) -> str:
        return f"<User {self.id}>"


class LoginSession(db.Model):
    """One signed-in browser; deleting the row signs that browser out."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="sessions")


class Invitation(db.Model):
    """A one-time sign-up link with a role, an optional project and an expiry."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    role: Mapped[str] = mapped_column(sa.String(20))
    project_id: Mapped[int | None] = mapped_column(sa.ForeignKey("project.id"))
    note: Mapped[str] = mapped_column(sa.String(200), default="")  # whom it is for, for the inviter
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    project: Mapped[Project | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    used_by: Mapped[User | None] = relationship(foreign_keys=[used_by_id])

    @property
    def state(self) -> str:
        """Return "used", "revoked", "expired" or "open"."""
        if self.used_at:
            return "used"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= utcnow():
            return "expired"
        return "open"


class PasswordReset(db.Model):
    """A one-time password-reset token (only its hash is stored)."""

    __tablename__ = "password_reset"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()


class EmailChange(db.Model):
    """A new e-mail address waiting for its owner to open the one-time link mailed to it (only the link's hash
    is stored). The address becomes the account's only through that link, and only while no account has it."""

    __tablename__ = "email_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    address: Mapped[str] = mapped_column(sa.String(254))  # stored lower-case
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()


class LoginFailure(db.Model):
    """A failed log-in, keyed by a keyed hash of the account or client (never the raw value)."""

    __tablename__ = "login_failure"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
