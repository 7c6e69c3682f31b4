"""The ``mail-send`` task: write and send the due mails over one SMTP connection per round."""
from __future__ import annotations

import logging
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, formatdate, make_msgid

import sqlalchemy as sa
from flask import Flask, current_app

from hub.extensions import db
from hub.mail import compose, links, outbox, transport
from hub.models import OutgoingMail

log = logging.getLogger("hub.mail")


def _prepare(mails: list[OutgoingMail]) -> list[tuple[int, EmailMessage]]:
    """Write each mail; drop those no longer to be sent, give up those that cannot be written."""
    ready = []
    for mail in mails:
        try:
            ready.append((mail.id, compose.message(mail)))
        except compose.Dropped as reason:
            outbox.finish(mail, "dropped", error=str(reason))
        except compose.Unreadable as reason:  # a node with another secret key; one with the right key may send it
            log.warning("mail %s (%s) not written: %s", mail.id, mail.kind, reason)
            outbox.refused(mail, str(reason), permanent=False)
        except Exception:  # a bug in writing one mail must not hold up the others
            log.exception("mail %s (%s) could not be written", mail.id, mail.kind)
            outbox.refused(mail, "could not be written", permanent=False)
    db.session.commit()
    return ready


def sending_due(app: Flask) -> bool | sa.Exists:
    """Tell the worker whether :func:`send_due` has anything to do (as a SQL condition when it may)."""
    if not outbox.enabled() or outbox.server_state(app).waiting():
        return False
    return outbox.waiting()


def send_due(app: Flask) -> int:
    """Send what is due (at most ``MAIL_BATCH``); return how many mails were handled."""
    if not outbox.enabled():
        return 0
    server = outbox.server_state(app)
    if server.waiting():
        return 0
    handled = outbox.reclaim_stale()
    mails = outbox.due(int(app.config["MAIL_BATCH"]))
    if not mails:
        db.session.rollback()
        return handled
    ready = _prepare(mails)
    handled += len(mails) - len(ready)
    if not ready:
        return handled
    try:
        with transport.Connection(transport.Settings.from_config(app.config)) as smtp:
            for mail_id, message in ready:
                _send_one(smtp, mail_id, message)
                handled += 1
        server.worked()
    except transport.ServerUnavailable as error:
        db.session.rollback()
        server.failed(str(error))
    return handled


def _send_one(smtp: transport.Connection, mail_id: int, message: EmailMessage) -> None:
    """Claim, send and record one mail; a server failure puts it back and is raised (ending the round)."""
    mail = db.session.get(OutgoingMail, mail_id)
    if mail is None or not outbox.claim(mail):
        return  # another worker has it
    try:
        smtp.send(message)
    except transport.Refused as error:
        outbox.refused(mail, str(error), permanent=error.permanent)
    except transport.ServerUnavailable:
        outbox.put_back(mail, "server unavailable")
        db.session.commit()
        raise
    else:
        outbox.finish(mail, "sent")
    db.session.commit()


class TestFailed(Exception):
    """A test mail did not go out; the message says why."""


def send_test(address: str) -> None:
    """Send a short test mail to ``address`` now, with the hub's settings (``flask hub mail-test``)."""
    if not outbox.enabled():
        raise TestFailed("HUB_MAIL_SERVER is not set")
    message = EmailMessage(policy=SMTP)
    message["Subject"] = f"{compose.site_name(for_subject=True)}: test"
    message["From"] = formataddr((compose.site_name(for_subject=True), compose.sender()))
    message["To"] = address
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=links.host())
    message.set_content("This test mail shows that the hub can send mail.\n")
    try:
        with transport.Connection(transport.Settings.from_config(current_app.config)) as smtp:
            smtp.send(message)
    except (transport.ServerUnavailable, transport.Refused) as error:
        raise TestFailed(str(error)) from error
