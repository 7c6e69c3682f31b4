"""Mail: what people hear about by e-mail, sent by the worker from the event log, never during a request.

- hub.mail.consumer: events (a note published, a comment, a review message, a flag) -> queued mails;
- hub.mail.digest: daily and weekly digests of what people follow;
- hub.mail.outbox: the queue (one row per mail and recipient, unique by key), claims, retries;
- hub.mail.compose: each mail written at send time, in the reader's language and time zone;
- hub.mail.sending and hub.mail.transport: SMTP (the standard library's smtplib and email).

Account mails (an invitation, a password reset, the link that confirms a new address) are queued
by hub.services.accounts in the same transaction as their one-time token, which exists nowhere
else in the clear.
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the mail consumer and the sending and digest tasks with the worker of ``app``."""
    from hub import worker
    from hub.mail import consumer, digest, sending

    worker.register(app, consumer.MailConsumer())
    # Each is done by one worker at a time across nodes: the one holding its claim (hub.claims).
    worker.add_task(app, "mail-send", sending.send_due, due=sending.sending_due)
    worker.add_task(app, "mail-digest", digest.queue_digests, due=digest.looking_due)
