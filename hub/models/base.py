"""Shared column helpers for the models."""
from __future__ import annotations

import datetime as dt

# Row ids are ``sa.Integer`` columns: int4 on PostgreSQL, which refuses a larger number even in a
# WHERE clause ("integer out of range"), so nothing larger may reach a query as an id.
LARGEST_ID = 2**31 - 1


def is_row_id(value: object) -> bool:
    """Tell whether ``value`` (e.g. read from JSON) is an int a row's id can be: 1 to :data:`LARGEST_ID`."""
    return type(value) is int and 0 < value <= LARGEST_ID


def as_id(text: str | None) -> int | None:
    """Return ``text`` as a row id, or None when it is not one written as the hub writes it.

    Only ASCII digits without a leading zero: "01" and a full-width "１" name no row (Python's
    ``int`` would read both as 1), a superscript "²" is no number (``str.isdigit`` takes it,
    ``int`` refuses it), nor are 0 and numbers beyond the column.
    """
    if not text or not text.isascii() or not text.isdigit() or text[0] == "0":
        return None
    value = int(text)
    return value if is_row_id(value) else None


def utcnow() -> dt.datetime:
    """Return the current UTC time as a naive datetime (how every timestamp is stored)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
