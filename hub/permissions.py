"""Who may do what: the one place where roles turn into permissions.

Every view declares its access with :func:`public`, :func:`signed_in` or :func:`requires`;
:func:`guard` runs before every request and refuses any endpoint that declared nothing
(deny by default). Object-level rules (who may see a draft) live in the services and call
:func:`can` too.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

from hub.models.user import Role

F = TypeVar("F", bound=Callable[..., Any])

# The lowest role that holds each permission; a higher role holds it too.
PERMISSIONS: dict[str, Role] = {
    "read_members": Role.MEMBER,
    "comment": Role.MEMBER,
    "flag": Role.MEMBER,
    "write_notes": Role.CONTRIBUTOR,
    "translate": Role.CONTRIBUTOR,
    "moderate": Role.MODERATOR,
    "invite": Role.MODERATOR,
    "manage_users": Role.ADMIN,
    "manage_projects": Role.ADMIN,
    "manage_partners": Role.ADMIN,
    "view_audit": Role.ADMIN,
}

ACCESS_ATTR = "_hub_access"
PUBLIC = "public"
SIGNED_IN = "signed_in"


def can(user: Any, permission: str) -> bool:
    """Tell whether ``user`` (possibly anonymous) holds ``permission``."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return Role(user.role).rank >= PERMISSIONS[permission].rank


def may_grant(granter: Any, role: Role) -> bool:
    """Tell whether ``granter`` may give ``role`` to someone (by invitation or role change)."""
    if can(granter, "manage_users"):
        return True
    return can(granter, "invite") and role.rank <= Role.CONTRIBUTOR.rank


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
