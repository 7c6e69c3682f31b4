"""Dates and times in one format per language: a day as the locale's medium date, a moment as that
date with the locale's short time.

English pages showed "Dec 6, 2026" beside "12/6/26, 2:12 AM" and Chinese pages "2026年12月6日"
beside "2026/12/6 02:01" (Babel's medium date next to its short date-time). Every date on a page,
and the editor's "saved at" line, now goes through :func:`day` or :func:`moment`:
"Dec 6, 2026" / "Dec 6, 2026, 2:12 AM" and "2026年12月6日" / "2026年12月6日 02:12", in the
reader's time zone.
"""
from __future__ import annotations

import datetime as dt
import functools

from babel import Locale
from flask_babel import format_date, format_datetime, get_locale


@functools.cache
def _moment_pattern(locale: str) -> str:
    """Return the locale's medium date and short time, joined the way the locale joins them."""
    parsed = Locale.parse(locale)
    date = parsed.date_formats["medium"].pattern
    time = parsed.time_formats["short"].pattern
    return parsed.datetime_formats["medium"].replace("{1}", date).replace("{0}", time)


def day(value: dt.date | dt.datetime | None) -> str:
    """Return the day of ``value`` for the reader ("" for no value)."""
    return format_date(value, "medium") if value else ""


def moment(value: dt.datetime | None) -> str:
    """Return ``value`` as a day and a time for the reader ("" for no value)."""
    return format_datetime(value, _moment_pattern(str(get_locale()))) if value else ""

