"""What each person wants mailed, and one-click unsubscribing from a mail (RFC 8058).

Mail kinds a person chooses (defaults are modest; a person without a row has them):

- ``review``: decisions on one's notes and messages in their review thread (on);
- ``comments``: comments on one's notes, from this hub or partner hubs (on);
- ``follows``: new notes in what one follows, at each follow's frequency (on; follows are weekly
  unless the person chooses otherwise, see hub.services.follows);
- ``flags``: reports waiting for moderators (on; moderators only).

Account mails (an invitation, a password reset the person asked for) are always sent.

An unsubscribe link carries a token signed with the hub's secret key (itsdangerous) that names
the person and the kind; it needs no sign-in and never expires, since old mails stay in inboxes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer

from hub.extensions import db
from hub.models import MailSetting
from hub.models.user import Role, User, UserStatus
from hub.permissions import PERMISSIONS, can
from hub.services.errors import ServiceError

KINDS = ("review", "comments", "follows", "flags")
DEFAULTS = {"review": True, "comments": True, "follows": True, "flags": True}
MODERATOR_KINDS = frozenset({"flags"})
UNSUBSCRIBE_SALT = "hub.mail.unsubscribe"


@dataclass(frozen=True)
class Choices:
    """One person's mail choices."""

    kinds: dict[str, bool]
    topic_subjects: bool = False


def kinds_for(user: User) -> tuple[str, ...]:
    """Return the kinds ``user`` can receive at all (flags only for moderators)."""
    return tuple(k for k in KINDS if k not in MODERATOR_KINDS or can(user, "moderate"))


def choices(user: User) -> Choices:
    """Return ``user``'s choices, defaults filled in."""
    row = db.session.get(MailSetting, user.id)
    stored = dict(row.kinds or {}) if row is not None else {}
    return Choices(kinds={k: bool(stored.get(k, DEFAULTS[k])) for k in KINDS},
                   topic_subjects=bool(row.topic_subjects) if row is not None else False)


def wants(user: User | None, kind: str) -> bool:
    """Tell whether ``user`` can be mailed about ``kind`` now: active, with an address, and wanting it."""
    if user is None or user.status != UserStatus.ACTIVE.value or not user.email:
        return False
    if kind not in KINDS:
        return True  # account mails
    return kind in kinds_for(user) and choices(user).kinds[kind]


def save(user: User, *, kinds: dict[str, bool], topic_subjects: bool) -> None:
    """Store ``user``'s choices (kinds not named keep their value)."""
    row = db.session.get(MailSetting, user.id) or MailSetting(user_id=user.id, kinds={})
    merged = {**choices(user).kinds, **{k: bool(v) for k, v in kinds.items() if k in KINDS}}
    row.kinds, row.topic_subjects = merged, bool(topic_subjects)
    db.session.add(row)
    db.session.commit()


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(user: User, kind: str) -> str:
    """Return the token of the link that stops mails of ``kind`` to ``user``."""
    return str(_serializer().dumps({"u": user.id, "k": kind}))


@dataclass(frozen=True)
class Unsubscribe:
    """What an unsubscribe token names."""

    user: User
    kind: str


def read_token(token: str) -> Unsubscribe:
    """Return what ``token`` unsubscribes from, or refuse a token that is not ours."""
    try:
        data: Any = _serializer().loads(token)
    except BadSignature:
        data = None
    user = db.session.get(User, data["u"]) if isinstance(data, dict) and isinstance(data.get("u"), int) else None
    if user is None or data.get("k") not in KINDS:
        raise ServiceError(_l("This unsubscribe link is not valid. Change which e-mails you receive on your "
                              "account page."))
    return Unsubscribe(user=user, kind=data["k"])


def unsubscribe(token: str) -> Unsubscribe:
    """Stop the mails a token names (no sign-in needed: the signed token is the permission)."""
    found = read_token(token)
    save(found.user, kinds={found.kind: False}, topic_subjects=choices(found.user).topic_subjects)
    return found


def _moderating_roles() -> list[str]:
    return [role.value for role in Role if role.rank >= PERMISSIONS["moderate"].rank]


def moderators() -> list[User]:
    """Return the active moderators and admins who may be mailed about flags."""
    query = sa.select(User).where(User.status == UserStatus.ACTIVE.value, User.email.is_not(None),
                                  User.role.in_(_moderating_roles())).order_by(User.id)
    return [user for user in db.session.scalars(query) if wants(user, "flags")]
