"""Who is reading through the API: the person of a session, or an anonymous caller."""
from __future__ import annotations

from typing import Any

from flask_login import current_user


def reader() -> Any:
    """Return whom this request reads as, for the visibility rule."""
    return current_user._get_current_object()


def is_personal() -> bool:
    """Tell whether the answer depends on who is asking (a signed-in person)."""
    return bool(current_user.is_authenticated)
