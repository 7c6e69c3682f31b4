"""Domain errors: raised by services, shown to people in their own language by the views."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l


class ServiceError(Exception):
    """A rule refused an operation; ``message`` is a lazy translated string for the user."""

    def __init__(self, message: Any, *, field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field


class NotAllowed(ServiceError):
    """The actor may not do this."""


def at_most(text: str, limit: int, *, field: str) -> str:
    """Return ``text`` if it holds at most ``limit`` characters, else refuse it naming ``field``.

    Never cut instead: what a person wrote is kept whole or sent back to them whole, with the reason.
    """
    if len(text) > limit:
        # i18n: a text field is too long; %(limit)d is the most it may hold, %(count)d how many it holds
        raise ServiceError(_l("Write at most %(limit)d characters here (this has %(count)d).",
                              limit=limit, count=len(text)), field=field)
    return text
