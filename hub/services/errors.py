"""Domain errors: raised by services, shown to people in their own language by the views."""
from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A rule refused an operation; ``message`` is a lazy translated string for the user."""

    def __init__(self, message: Any, *, field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field


class NotAllowed(ServiceError):
    """The actor may not do this."""
