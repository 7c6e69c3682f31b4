"""The hub's models; importing this package registers every table with SQLAlchemy.

By concern: user (accounts), project, note (notes, revisions, attachments, translation requests),
vocabulary (terms, sensitive words, glossary rows), discussion (comments, marks), moderation
(review thread, flags, notifications), federation, events, audit, api (API and feed tokens),
harvest (OAI-PMH records), follows, and mail (the outbox and each person's choices). Import from
``hub.models``.
"""
from hub.models.api import ApiToken, TokenKind
from hub.models.audit import AuditEntry
from hub.models.conversation import CommentThread, FlagOrigin, MarkTotal, RemoteMark, TopicFollower
from hub.models.discussion import Comment, CommentState, Mark
from hub.models.events import ConsumerCursor, Event
from hub.models.federation import Delivery, InboxItem, NoteReceipt, PeerHub
from hub.models.follows import Follow, FollowKind, Frequency
from hub.models.harvest import HarvestRecord
from hub.models.mail import MailSetting, OutgoingMail
from hub.models.meta import HubMeta
from hub.models.moderation import Flag, Notification, ReviewMessage
from hub.models.note import (
    LANGUAGES,
    SECTIONS,
    Attachment,
    Note,
    NoteRevision,
    NoteState,
    PendingRevision,
    TranslationRequest,
    Visibility,
)
from hub.models.project import Project
from hub.models.user import (
    EmailChange,
    Invitation,
    LoginFailure,
    LoginSession,
    PasswordReset,
    Role,
    User,
    UserStatus,
)
from hub.models.vocabulary import GlossaryEntry, SensitiveWord, Term, note_term
from hub.models.worker import WorkClaim, WorkerHeartbeat

__all__ = [
    "LANGUAGES",
    "SECTIONS",
    "note_term",
    "ApiToken",
    "TokenKind",
    "Attachment",
    "AuditEntry",
    "Comment",
    "CommentState",
    "CommentThread",
    "FlagOrigin",
    "MarkTotal",
    "RemoteMark",
    "TopicFollower",
    "Delivery",
    "InboxItem",
    "NoteReceipt",
    "PeerHub",
    "Flag",
    "Follow",
    "FollowKind",
    "Frequency",
    "HarvestRecord",
    "HubMeta",
    "GlossaryEntry",
    "MailSetting",
    "Mark",
    "Note",
    "NoteRevision",
    "NoteState",
    "PendingRevision",
    "Notification",
    "OutgoingMail",
    "ReviewMessage",
    "SensitiveWord",
    "Term",
    "TranslationRequest",
    "Visibility",
    "ConsumerCursor",
    "Event",
    "EmailChange",
    "Invitation",
    "LoginFailure",
    "LoginSession",
    "PasswordReset",
    "Project",
    "Role",
    "User",
    "UserStatus",
    "WorkClaim",
    "WorkerHeartbeat",
]
