"""Tokens for machines: personal and organisation API tokens, personal feed tokens.

A token's secret is shown once, when it is made; only its hash is stored (as for every other token
of the hub, :func:`hub.services.accounts.token_hash`), so a copy of the database reads nothing.
Each token reads as one audience of the visibility rule (:func:`reader_of`):

- a **personal** token reads as its person (an account that is disabled reads nothing more than an
  anonymous caller, and one whose account is deleted is refused); it is read-only: the API has no writes;
- an **organisation** token is made by an administrator for an allow-listed partner hub, and reads
  as a member of that hub would (:data:`~hub.services.visibility.PARTNER_MEMBER`): public notes
  and the ``partners`` notes written here. When the hub is blocked or taken off the allow-list,
  the token reads public notes only;
- a **feed** token (one per person, in feed URLs, so it travels into feed readers) gives its
  person the partners-visible feeds: what a partner-hub member would read, never members-only notes.
"""
from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from hub.extensions import db
from hub.models import ApiToken, PeerHub, TokenKind, User
from hub.models.base import utcnow
from hub.permissions import can
from hub.services import audit
from hub.services.accounts import token_hash
from hub.services.errors import NotAllowed, ServiceError
from hub.services.visibility import PARTNER_MEMBER

PREFIXES = {TokenKind.PERSONAL: "peh_p_", TokenKind.ORGANISATION: "peh_o_", TokenKind.FEED: "peh_f_"}
API_KINDS = (TokenKind.PERSONAL.value, TokenKind.ORGANISATION.value)
MAX_DAYS = 366
LAST_USED_EVERY = dt.timedelta(minutes=1)  # a busy partner system must not write on every request
MAX_PER_OWNER = 20


def _new_secret(kind: TokenKind) -> str:
    return PREFIXES[kind] + secrets.token_urlsafe(32)


def _expiry(days: int | None) -> dt.datetime | None:
    if days is None:
        return None
    if not 1 <= days <= MAX_DAYS:
        raise ServiceError(_l("A token lasts 1 to %(max)d days.", max=MAX_DAYS), field="days")
    return utcnow() + dt.timedelta(days=days)


def _clean_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise ServiceError(_l("Give the token a name of up to 100 characters, e.g. what uses it."), field="name")
    return name


def _make(kind: TokenKind, *, name: str, days: int | None, user: User | None, peer: PeerHub | None,
          by: User) -> tuple[ApiToken, str]:
    secret = _new_secret(kind)
    token = ApiToken(kind=kind.value, name=name, token_hash=token_hash(secret), prefix=secret[:10],
                     user_id=user.id if user else None, peer_id=peer.id if peer else None,
                     created_by_id=by.id, expires_at=_expiry(days))
    db.session.add(token)
    db.session.flush()
    audit.record("token.create", actor=by, target=token, kind=kind.value, peer=peer.id if peer else None)
    db.session.commit()
    return token, secret


def _count_active(*where: Any) -> int:
    query = sa.select(sa.func.count(ApiToken.id)).where(ApiToken.revoked_at.is_(None), *where)
    return db.session.scalar(query) or 0


def create_personal(user: User, *, name: str, days: int | None) -> tuple[ApiToken, str]:
    """Make a read-only API token for ``user``; return it and its secret (shown once)."""
    if not user.is_active:
        raise NotAllowed(_l("Only active accounts may make tokens."))
    name = _clean_name(name)
    if _count_active(ApiToken.user_id == user.id, ApiToken.kind == TokenKind.PERSONAL.value) >= MAX_PER_OWNER:
        raise ServiceError(_l("You have %(n)d tokens: revoke one you no longer use first.", n=MAX_PER_OWNER))
    return _make(TokenKind.PERSONAL, name=name, days=days, user=user, peer=None, by=user)


def create_organisation(peer: PeerHub, *, name: str, days: int | None, by: User) -> tuple[ApiToken, str]:
    """Make an API token for a system of the allow-listed partner hub ``peer``; return it and its secret."""
    if not can(by, "manage_partners"):
        raise NotAllowed(_l("Only administrators make organisation tokens."))
    if not peer.partner or peer.blocked:
        raise ServiceError(_l("Put this hub on the allow-list first: organisation tokens are for partner hubs."))
    name = _clean_name(name)
    if _count_active(ApiToken.peer_id == peer.id) >= MAX_PER_OWNER:
        raise ServiceError(_l("This hub has %(n)d tokens: revoke one it no longer uses first.", n=MAX_PER_OWNER))
    return _make(TokenKind.ORGANISATION, name=name, days=days, user=None, peer=peer, by=by)


def renew_feed(user: User) -> str:
    """Give ``user`` a new feed token, revoking the old one; return the new secret (shown once)."""
    if not user.is_active:
        raise NotAllowed(_l("Only active accounts may make tokens."))
    for old in db.session.scalars(sa.select(ApiToken).where(
            ApiToken.user_id == user.id, ApiToken.kind == TokenKind.FEED.value, ApiToken.revoked_at.is_(None))):
        old.revoked_at = utcnow()
    return _make(TokenKind.FEED, name="feed", days=None, user=user, peer=None, by=user)[1]


def revoke(token: ApiToken, *, by: User) -> None:
    """Stop ``token`` working: its owner may, and administrators may revoke any."""
    if token.user_id != by.id and not can(by, "manage_partners"):
        raise NotAllowed(_l("You may revoke only your own tokens."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record("token.revoke", actor=by, target=token, kind=token.kind)
    db.session.commit()


def tokens_of(user: User, kind: TokenKind = TokenKind.PERSONAL) -> list[ApiToken]:
    """Return ``user``'s tokens of ``kind`` that are not revoked, newest first."""
    query = (sa.select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.kind == kind.value,
                                       ApiToken.revoked_at.is_(None)).order_by(ApiToken.id.desc()))
    return list(db.session.scalars(query))


def organisation_tokens(peer: PeerHub) -> list[ApiToken]:
    """Return the partner hub's tokens that are not revoked, newest first."""
    query = (sa.select(ApiToken).where(ApiToken.peer_id == peer.id, ApiToken.revoked_at.is_(None))
             .order_by(ApiToken.id.desc()))
    return list(db.session.scalars(query))


def authenticate(secret: str, *, kinds: tuple[str, ...]) -> ApiToken | None:
    """Return the working token of one of ``kinds`` whose secret this is (None: unknown, expired, revoked)."""
    if not secret or len(secret) > 200:
        return None
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == token_hash(secret)))
    now = utcnow()
    if token is None or token.kind not in kinds or token.state(now) != "active":
        return None
    if token.kind != TokenKind.ORGANISATION.value and token.user is None:
        return None  # its person's account is gone: refused, never read as an anonymous caller
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        token.last_used_at = now
        db.session.commit()
    return token


def reader_of(token: ApiToken) -> Any:
    """Return whom ``token`` reads as, for :func:`hub.services.visibility.visible_notes` (None: anonymous)."""
    if token.kind == TokenKind.ORGANISATION.value:
        peer = token.peer
        return PARTNER_MEMBER if peer is not None and peer.partner and not peer.blocked else None
    user = token.user
    if user is None or not user.is_active:
        return None
    return user if token.kind == TokenKind.PERSONAL.value else PARTNER_MEMBER
