"""Who may do what: the one place where roles turn into permissions.

The services call :func:`can` and :func:`may_grant` for their rules (who may see a draft, who may
give a role); the web side's guards (``blueprints.web.access``) check each page's declared
permission with the same :func:`can`. Nothing here needs a request.
"""
from __future__ import annotations

from typing import Any

from hub.models.user import Role

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


# The same as ranks, looked up by name: a page asks a dozen times.
_NEEDED = {permission: role.rank for permission, role in PERMISSIONS.items()}
_RANKS = {role.value: role.rank for role in Role}


def can(user: Any, permission: str) -> bool:
    """Tell whether ``user`` (possibly anonymous) holds ``permission``."""
    needed = _NEEDED.get(permission)
    if needed is None:
        raise KeyError(f"unknown permission {permission!r}")
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return _RANKS[user.role] >= needed


def may_grant(granter: Any, role: Role) -> bool:
    """Tell whether ``granter`` may give ``role`` to someone (by invitation or role change)."""
    if can(granter, "manage_users"):
        return True
    return can(granter, "invite") and role.rank <= Role.CONTRIBUTOR.rank
