"""Who may open which page: every view declares it, and one guard checks it before anything else.

Every view declares its access with :func:`public`, :func:`signed_in` or :func:`requires`;
:func:`guard` runs before every request and refuses any endpoint that declared nothing
(deny by default). The roles behind the permissions are the core's (:mod:`hub.permissions`),
which the services use for object-level rules (who may see a draft).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, current_app, redirect, request, url_for
from flask_login import current_user

from hub.permissions import PERMISSIONS, can

F = TypeVar("F", bound=Callable[..., Any])

ACCESS_ATTR = "_hub_access"
PUBLIC = "public"
SIGNED_IN = "signed_in"


def _declare(access: str) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        setattr(view, ACCESS_ATTR, access)
        return view

    return decorator


def public(view: F) -> F:
    """Declare a view open to everyone, signed in or not."""
    return _declare(PUBLIC)(view)


def signed_in(view: F) -> F:
    """Declare a view open to any active signed-in account."""
    return _declare(SIGNED_IN)(view)


def requires(permission: str) -> Callable[[F], F]:
    """Declare a view open to accounts holding ``permission``."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    return _declare(permission)


def access_of(endpoint: str | None) -> str | None:
    """Return the declared access of ``endpoint`` (None when it declared nothing)."""
    if endpoint is None:
        return None
    if endpoint == "static" or endpoint.endswith(".static"):
        return PUBLIC
    view = current_app.view_functions.get(endpoint)
    return getattr(view, ACCESS_ATTR, None)


def guard() -> Any:
    """Refuse the request unless the endpoint's declared access admits the current user."""
    if request.endpoint is None:  # 404 and 405 are answered by Flask itself
        return None
    access = access_of(request.endpoint)
    if access == PUBLIC:
        return None
    if access is None:
        current_app.logger.error("endpoint %s declares no access; refused", request.endpoint)
        abort(403)
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if access != SIGNED_IN and not can(current_user, access):
        abort(403)
    return None


def init_app(app: Flask) -> None:
    """Run the guard before every other request hook (CSRF included): access is decided first."""
    app.before_request_funcs.setdefault(None, []).insert(0, guard)
