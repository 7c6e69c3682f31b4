"""Shared column helpers for the models."""
from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """Return the current UTC time as a naive datetime (how every timestamp is stored)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
