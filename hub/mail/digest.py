"""Daily and weekly digests: one mail per person and period with the new notes in what they follow.

The ``mail-digest`` task looks once a minute for people whose period has turned, in their own
time zone: a day turns at ``MAIL_DIGEST_HOUR``, a week at that hour on ``MAIL_DIGEST_WEEKDAY``.
Each person's digest of a period is queued under the key ``digest:<frequency>:user:<id>:<period>``,
so it is made once however many workers look. It covers the notes published since the previous
digest of that frequency (the first time only marks where the next one starts, so a new follow
never mails the past), matched through the person's audience (hub.services.follows.matches).
A period with nothing new is kept as an ``empty`` row, which is never sent.
"""
from __future__ import annotations

import datetime as dt
import time
import zoneinfo

import sqlalchemy as sa
from flask import Flask, current_app

import search_index
from hub.extensions import db
from hub.mail import compose, outbox
from hub.models import Follow, Frequency, OutgoingMail
from hub.models.base import utcnow
from hub.models.user import User, UserStatus
from hub.services import follows, mail_settings

CHECK_SECONDS = 60.0
PRUNE_SECONDS = 3600.0
LAST_KEY = "hub.mail.digest.last"
DIGESTS = (Frequency.DAILY, Frequency.WEEKLY)
MAX_IDS = 200
KEY_CHUNK = 500


def period(now: dt.datetime, zone: zoneinfo.ZoneInfo, frequency: Frequency) -> str:
    """Return the name of the period ``now`` (naive UTC) falls in for a reader in ``zone``."""
    cfg = current_app.config
    local = now.replace(tzinfo=dt.timezone.utc).astimezone(zone) - dt.timedelta(hours=int(cfg["MAIL_DIGEST_HOUR"]))
    if frequency == Frequency.DAILY:
        return local.date().isoformat()
    year, week, _day = (local - dt.timedelta(days=int(cfg["MAIL_DIGEST_WEEKDAY"]))).isocalendar()
    return f"{year}-W{week:02d}"


def _key(user: User, frequency: Frequency, now: dt.datetime) -> str:
    return f"digest:{frequency.value}:user:{user.id}:{period(now, compose.zone_of(user.timezone), frequency)}"


def due(now: dt.datetime) -> list[tuple[User, Frequency, str]]:
    """Return each reader and frequency whose digest period has turned and is not queued yet, with its key.

    A few queries for all readers (not a few per reader): the worker asks every minute.
    """
    query = (sa.select(User, Follow.frequency).join(Follow, Follow.user_id == User.id)
             .where(Follow.frequency.in_([f.value for f in DIGESTS]), User.status == UserStatus.ACTIVE.value,
                    User.email.is_not(None)).distinct().order_by(User.id, Follow.frequency))
    candidates = [(user, Frequency(frequency), _key(user, Frequency(frequency), now))
                  for user, frequency in db.session.execute(query)]
    taken: set[str] = set()
    for start in range(0, len(candidates), KEY_CHUNK):
        keys = [key for _user, _frequency, key in candidates[start:start + KEY_CHUNK]]
        taken.update(db.session.scalars(sa.select(OutgoingMail.key).where(OutgoingMail.key.in_(keys))))
    return [candidate for candidate in candidates if candidate[2] not in taken]


def _previous(user: User, frequency: Frequency) -> OutgoingMail | None:
    query = (sa.select(OutgoingMail).where(OutgoingMail.user_id == user.id,
                                           OutgoingMail.kind == f"digest.{frequency.value}")
             .order_by(OutgoingMail.id.desc()).limit(1))
    return db.session.scalar(query)


def queue_for(user: User, frequency: Frequency, key: str, *, now: dt.datetime) -> OutgoingMail | None:
    """Queue ``user``'s digest under ``key`` (see :func:`due`); return it, or None when they want none.

    Raises ``search_index.SearchUnavailable`` when a saved search cannot be read (tried again later).
    """
    items = [f for f in follows.of(user) if f.frequency == frequency.value]
    if not items or not mail_settings.wants(user, "follows"):
        return None
    previous = _previous(user, frequency)
    payload = {"until": now.isoformat(), "since": previous.payload.get("until") if previous else None}
    if previous is None or not payload["since"]:
        # The first period only marks where the next digest starts.
        return outbox.queue(key, kind=f"digest.{frequency.value}", user_id=user.id, payload=payload, state="empty")
    found = follows.matches(user, items, since=dt.datetime.fromisoformat(payload["since"]), until=now)
    newest = sorted(found, reverse=True)[:MAX_IDS]
    payload["notes"] = {str(note_id): [f.id for f in found[note_id]] for note_id in newest}
    return outbox.queue(key, kind=f"digest.{frequency.value}", user_id=user.id, payload=payload,
                        state="pending" if found else "empty")


def looking_due(app: Flask) -> bool:
    """Tell whether :func:`queue_digests` looks this round (once a minute, and only with a mail server)."""
    return outbox.enabled() and time.monotonic() - app.extensions.get(LAST_KEY, float("-inf")) >= CHECK_SECONDS


def queue_digests(app: Flask | None = None, *, now: dt.datetime | None = None) -> int:
    """Queue the digests whose period has turned; return how many were queued with notes in them.

    The worker calls it every round; it looks at most once a minute (``now`` given: at once).
    """
    app = app or current_app._get_current_object()
    if now is None:
        if not looking_due(app):
            return 0
        app.extensions[LAST_KEY] = time.monotonic()
        _maybe_prune(app)
    now = now or utcnow()
    queued = 0
    for user, frequency, key in due(now):
        try:
            mail = queue_for(user, frequency, key, now=now)
            db.session.commit()
        except search_index.SearchUnavailable:
            db.session.rollback()  # this person's digest waits for the index
            continue
        queued += bool(mail is not None and mail.state == "pending")
    db.session.rollback()  # end the read transaction (SQLite stays unlocked)
    return queued


def _maybe_prune(app: Flask) -> None:
    key = LAST_KEY + ".prune"
    if time.monotonic() - app.extensions.get(key, float("-inf")) >= PRUNE_SECONDS:
        app.extensions[key] = time.monotonic()
        outbox.prune()
