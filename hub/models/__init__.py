"""The hub's models; importing this package registers every table with SQLAlchemy."""
from hub.models.audit import AuditEntry
from hub.models.events import ConsumerCursor, Event
from hub.models.project import Project
from hub.models.user import (
    Invitation,
    LoginFailure,
    LoginSession,
    PasswordReset,
    Role,
    User,
    UserStatus,
)

__all__ = [
    "AuditEntry",
    "ConsumerCursor",
    "Event",
    "Invitation",
    "LoginFailure",
    "LoginSession",
    "PasswordReset",
    "Project",
    "Role",
    "User",
    "UserStatus",
]
