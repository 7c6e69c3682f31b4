"""Shared column helpers for the models."""
from __future__ import annotations

import datetime as dt

# Row ids are ``sa.Integer`` columns: int4 on PostgreSQL, which refuses a larger number even in a
# WHERE clause ("integer out of range"), so nothing larger may reach a query as an id.
LARGEST_ID = 2**31 - 1


def utcnow() -> dt.datetime:
    """Return the current UTC time as a naive datetime (how every timestamp is stored)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
