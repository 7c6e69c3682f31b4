"""Who is reading through the API: a bearer token's audience, the person of a session, or anonymous.

A request with ``Authorization: Bearer <token>`` reads as that token's audience
(:func:`hub.services.api_tokens.reader_of`); an unknown, expired or revoked token, or another
scheme, is refused with 401 rather than quietly read as anonymous. Without the header the request
reads as its session's person, or as an anonymous visitor.
"""
from __future__ import annotations

from typing import Any

from flask import g, request

from blueprints.web.session import person
from hub.models import ApiToken
from hub.services import api_tokens

UNREAD = object()


def bearer_secret() -> str | None:
    """Return the secret of an ``Authorization: Bearer`` header ("" for any other scheme), None without one."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, secret = header.partition(" ")
    return secret.strip() if scheme.lower() == "bearer" else ""


def caller_token() -> ApiToken | None:
    """Return the working API token this request presents (looked up once per request)."""
    token = g.get("api_token", UNREAD)
    if token is UNREAD:
        secret = bearer_secret()
        token = api_tokens.authenticate(secret, kinds=api_tokens.API_KINDS) if secret else None
        g.api_token = token
    return token


def refused_token() -> bool:
    """Tell whether the request presents credentials that are not a working API token."""
    return bearer_secret() is not None and caller_token() is None


def reader() -> Any:
    """Return whom this request reads as, for the visibility rule."""
    token = caller_token()
    if token is not None:
        return api_tokens.reader_of(token)
    return person()


def is_personal() -> bool:
    """Tell whether the answer depends on who is asking (a token or a signed-in person)."""
    return bearer_secret() is not None or bool(person().is_authenticated)
