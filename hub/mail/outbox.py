"""The mail outbox: queued once per key, sent by one worker, retried, never lost.

- :func:`queue` adds a mail under a unique key unless that key is queued already (a replayed
  event, a second worker), in the caller's transaction.
- :func:`send_due` runs every worker round on the worker holding the ``mail-send`` claim. It
  writes each due mail (hub.mail.compose: in the reader's language, after checking again that
  they may still read what it names), marks it ``sending`` in its own commit (compare and set,
  so two overlapping workers never both send it), hands it to the server, and marks it ``sent``.
- A server that cannot be reached is no mail's fault: nothing is counted against the mails, the
  whole queue waits (1 minute, doubling to 30) and is tried again, for as long as it takes. A mail
  the server refuses for now (4xx) is retried with backoff; one it refuses for good (5xx), or
  after ``MAIL_TRIES`` tries, is given up (``dead``) with the server's answer.
- A mail left ``sending`` by a worker that died mid-send is sent again after a while with the
  same Message-ID (mail programs show such a copy once). That window of one SMTP exchange is the
  only way a mail can arrive twice; a stopped worker or server never causes it.

Tokens a mail carries (invitation, password reset) exist only hashed in their own tables; the
outbox keeps them sealed with a key derived from the secret key until sent, then wipes them, and
with them the address of an invitation.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import time
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from flask import Flask, current_app

from hub.extensions import db
from hub.models import OutgoingMail
from hub.models.base import utcnow

log = logging.getLogger("hub.mail")
MAX_BACKOFF = dt.timedelta(hours=6)
SERVER_BACKOFF_MAX = 30 * 60.0
SERVER_KEY = "hub.mail.server"
FINAL = ("sent", "dead", "dropped", "empty")


def enabled() -> bool:
    """Tell whether this hub sends mail (``MAIL_SERVER`` is set)."""
    return bool(current_app.config.get("MAIL_SERVER"))


# --- sealed tokens -----------------------------------------------------------------------------

def _fernet() -> Fernet:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"hub.mail.sealed:" + secret).digest()))


def seal(token: str) -> str:
    """Return ``token`` encrypted for the outbox (readable only with this hub's secret key)."""
    return _fernet().encrypt(token.encode()).decode()


def unseal(sealed: str) -> str | None:
    """Return the token sealed in ``sealed``; None when the secret key changed since."""
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None


# --- queueing ----------------------------------------------------------------------------------

def queue(key: str, *, kind: str, user_id: int | None = None, address: str | None = None,
          locale: str | None = None, payload: dict[str, Any] | None = None, secret: str | None = None,
          event_id: int | None = None, state: str = "pending") -> OutgoingMail | None:
    """Add a mail under ``key`` unless one is queued under it already; return it, or None when it was.

    Runs in the caller's transaction (the caller commits).
    """
    exists = db.session.scalar(sa.select(OutgoingMail.id).where(OutgoingMail.key == key))
    if exists is not None:
        return None
    mail = OutgoingMail(key=key[:200], kind=kind, user_id=user_id, address=address, locale=locale,
                        payload=payload or {}, sealed=seal(secret) if secret else None, event_id=event_id,
                        state=state, next_attempt_at=utcnow())
    db.session.add(mail)
    return mail


def message_id(mail: OutgoingMail, domain: str) -> str:
    """Return the mail's Message-ID: the same for every try, so a copy sent again shows as one."""
    digest = hashlib.sha256(f"{mail.id}|{mail.key}|{mail.created_at.isoformat()}".encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def finish(mail: OutgoingMail, state: str, *, error: str = "") -> None:
    """Put ``mail`` in a final state and forget what it no longer needs (token, address)."""
    mail.state, mail.sealed, mail.address = state, None, None
    mail.last_error = error[:500]
    if state == "sent":
        mail.sent_at = utcnow()


def drop_queued(reason: str) -> int:
    """Drop every mail not yet sent (waiting or being sent); return how many. For a restored backup:
    what it had queued was most likely sent by the hub it came from after the backup was made."""
    queued = list(db.session.scalars(sa.select(OutgoingMail).where(OutgoingMail.state.in_(("pending", "sending")))))
    for mail in queued:
        finish(mail, "dropped", error=reason)
    return len(queued)


# --- sending -----------------------------------------------------------------------------------

def backoff(attempts: int) -> dt.timedelta:
    """Return the wait after the ``attempts``-th refused try: base × 2^(attempts-1), at most 6 hours."""
    base = float(current_app.config["MAIL_RETRY_BASE_SECONDS"])
    return min(dt.timedelta(seconds=base * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


class ServerState:
    """Whether the mail server failed lately, and until when the queue waits (per worker process)."""

    def __init__(self) -> None:
        self.failures = 0
        self.until = 0.0
        self.error = ""

    def waiting(self) -> bool:
        """Tell whether the queue is waiting out a server failure."""
        return time.monotonic() < self.until

    def failed(self, error: str) -> None:
        """Note a failure: wait 1 minute (the retry base), then twice as long each time, at most 30."""
        self.failures += 1
        base = float(current_app.config["MAIL_RETRY_BASE_SECONDS"])
        wait = min(base * 2 ** (self.failures - 1), SERVER_BACKOFF_MAX)
        self.until, self.error = time.monotonic() + wait, error
        log.warning("mail server unavailable (%s); trying again in %.0f s", error, wait)

    def worked(self) -> None:
        """Note that the server took a mail."""
        if self.failures:
            log.info("mail server reachable again")
        self.failures, self.until, self.error = 0, 0.0, ""


def server_state(app: Flask) -> ServerState:
    """Return this worker's view of the mail server."""
    return app.extensions.setdefault(SERVER_KEY, ServerState())


def stale_after() -> dt.timedelta:
    """Return how long a mail may stay ``sending`` before its worker counts as dead."""
    return dt.timedelta(seconds=4 * float(current_app.config["MAIL_TIMEOUT"])
                        + float(current_app.config["WORKER_CLAIM_SECONDS"]))


def _stale() -> sa.ColumnElement[bool]:
    """Return the condition of the mails a dead worker left ``sending``."""
    return sa.and_(OutgoingMail.state == "sending", OutgoingMail.claimed_at < utcnow() - stale_after())


def _due() -> sa.ColumnElement[bool]:
    """Return the condition of the mails whose time has come."""
    return sa.and_(OutgoingMail.state == "pending", OutgoingMail.next_attempt_at <= utcnow())


def waiting() -> sa.Exists:
    """Return the SQL condition "a mail is due, or a dead worker left one ``sending``"."""
    return sa.exists().where(sa.or_(_due(), _stale()))


def reclaim_stale() -> int:
    """Put back mails a dead worker left ``sending`` (they are sent again, with the same Message-ID)."""
    stale = _stale()
    if db.session.scalar(sa.select(OutgoingMail.id).where(stale).limit(1)) is None:
        return 0  # the usual case: no write, so an idle worker does not lock SQLite every round
    moved = db.session.execute(sa.update(OutgoingMail).where(stale).values(
        state="pending", attempts=OutgoingMail.attempts + 1, last_error="worker stopped while sending"))
    db.session.commit()
    return moved.rowcount or 0


def due(limit: int) -> list[OutgoingMail]:
    """Return up to ``limit`` mails whose time has come, oldest first."""
    query = (sa.select(OutgoingMail).where(_due())
             .order_by(OutgoingMail.next_attempt_at, OutgoingMail.id).limit(limit))
    return list(db.session.scalars(query))


def claim(mail: OutgoingMail) -> bool:
    """Mark ``mail`` as being sent, unless another worker took it first (commits)."""
    taken = db.session.execute(sa.update(OutgoingMail).where(
        OutgoingMail.id == mail.id, OutgoingMail.state == "pending").values(state="sending", claimed_at=utcnow()))
    db.session.commit()
    return taken.rowcount == 1


def refused(mail: OutgoingMail, error: str, *, permanent: bool) -> None:
    """Record a refusal: try again later with backoff, or give the mail up."""
    mail.attempts += 1
    if permanent or mail.attempts >= int(current_app.config["MAIL_TRIES"]):
        finish(mail, "dead", error=error)
        log.warning("mail %s (%s) given up after %d tries", mail.id, mail.kind, mail.attempts)
    else:
        mail.state, mail.last_error = "pending", error[:500]
        mail.next_attempt_at = utcnow() + backoff(mail.attempts)


def put_back(mail: OutgoingMail, error: str) -> None:
    """Return a mail to the queue untouched after a server failure (not the mail's fault)."""
    mail.state, mail.last_error = "pending", error[:500]


def prune() -> int:
    """Forget mails in a final state older than ``MAIL_KEEP_DAYS`` (the newest digest of each person stays)."""
    cutoff = utcnow() - dt.timedelta(days=float(current_app.config["MAIL_KEEP_DAYS"]))
    newest_digests = (sa.select(sa.func.max(OutgoingMail.id)).where(OutgoingMail.kind.like("digest.%"))
                      .group_by(OutgoingMail.user_id, OutgoingMail.kind))
    gone = db.session.execute(sa.delete(OutgoingMail).where(
        OutgoingMail.state.in_(FINAL), OutgoingMail.created_at < cutoff, OutgoingMail.id.not_in(newest_digests)))
    db.session.commit()
    return gone.rowcount or 0


def given_up(*, limit: int = 10) -> list[OutgoingMail]:
    """Return the mails given up most recently."""
    query = sa.select(OutgoingMail).where(OutgoingMail.state == "dead").order_by(OutgoingMail.id.desc()).limit(limit)
    return list(db.session.scalars(query))


def retry_dead() -> int:
    """Queue the given-up mails again; return how many (those that carried a token are dropped: it is gone)."""
    moved = db.session.execute(sa.update(OutgoingMail).where(OutgoingMail.state == "dead").values(
        state="pending", attempts=0, next_attempt_at=utcnow()))
    db.session.commit()
    return moved.rowcount or 0


def stats() -> dict[str, int]:
    """Count mails by state."""
    rows = db.session.execute(sa.select(OutgoingMail.state, sa.func.count()).group_by(OutgoingMail.state)).all()
    return {state: n for state, n in rows}
