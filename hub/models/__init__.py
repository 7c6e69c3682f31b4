"""The hub's models; importing this package registers every table with SQLAlchemy."""
from hub.models.api import ApiToken, TokenKind
from hub.models.audit import AuditEntry
from hub.models.events import ConsumerCursor, Event
from hub.models.federation import Delivery, InboxItem, NoteReceipt, PeerHub
from hub.models.harvest import HarvestRecord
from hub.models.note import (
    Attachment,
    Comment,
    Flag,
    GlossaryEntry,
    Mark,
    Note,
    NoteRevision,
    NoteState,
    Notification,
    ReviewMessage,
    SensitiveWord,
    Term,
    TranslationRequest,
    Visibility,
)
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
    "ApiToken",
    "TokenKind",
    "Attachment",
    "AuditEntry",
    "Comment",
    "Delivery",
    "InboxItem",
    "NoteReceipt",
    "PeerHub",
    "Flag",
    "HarvestRecord",
    "GlossaryEntry",
    "Mark",
    "Note",
    "NoteRevision",
    "NoteState",
    "Notification",
    "ReviewMessage",
    "SensitiveWord",
    "Term",
    "TranslationRequest",
    "Visibility",
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
