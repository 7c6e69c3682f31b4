"""Talking SMTP: the standard library's smtplib and email, behind a thin wrapper.

Why not Flask-Mailman: mails are sent only by the worker, never during a request, and what the
worker needs from SMTP is to tell *why* a send failed: a server that cannot be reached (try the
whole queue again later; the mail is not at fault), a temporary refusal of one mail (4xx: retry
it with backoff), or a permanent one (5xx: give it up). smtplib raises exactly those answers with
their codes, ``email.message.EmailMessage`` writes UTF-8 headers and bodies correctly, and both
are maintained with Python itself; a mail library would add a layer (and settings of its own)
between the worker and these answers.
"""
from __future__ import annotations

import re
import smtplib
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any


class ServerUnavailable(Exception):
    """The server could not be reached, refused the log-in or the sender, or dropped the connection.

    No mail is at fault: the whole queue waits and tries again.
    """


class Refused(Exception):
    """The server refused one mail; ``permanent`` for a 5xx answer, else it may be tried again."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Settings:
    """How to reach the mail server."""

    host: str
    port: int
    starttls: bool
    ssl: bool
    username: str
    password: str
    timeout: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Read the ``MAIL_*`` settings."""
        return cls(host=str(config["MAIL_SERVER"]), port=int(config["MAIL_PORT"]),
                   starttls=bool(config["MAIL_USE_TLS"]), ssl=bool(config["MAIL_USE_SSL"]),
                   username=str(config["MAIL_USERNAME"] or ""), password=str(config["MAIL_PASSWORD"] or ""),
                   timeout=float(config["MAIL_TIMEOUT"]))


ADDRESS = re.compile(r"[^\s<>@]+@[^\s<>@]+")


def _code_text(code: int, message: Any) -> str:
    """Return a server's answer for the outbox's last error, without the addresses servers like to quote."""
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return ADDRESS.sub("<address>", f"{code} {text}")[:300]


class Connection:
    """One SMTP session: ``with Connection(settings) as smtp: smtp.send(message)``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Connection:
        s = self.settings
        try:
            if s.ssl:
                self.smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=ssl.create_default_context())
            else:
                self.smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            self.smtp.ehlo()
            if s.starttls:
                self.smtp.starttls(context=ssl.create_default_context())
                self.smtp.ehlo()
            if s.username:
                self.smtp.login(s.username, s.password)
        except (smtplib.SMTPException, OSError) as error:
            self._close()
            raise ServerUnavailable(_describe(error)) from error
        return self

    def send(self, message: EmailMessage) -> None:
        """Send one message; raise :class:`Refused` or :class:`ServerUnavailable`."""
        assert self.smtp is not None, "use Connection as a context manager"
        try:
            refused = self.smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            code, text = next(iter(error.recipients.values()))
            raise Refused(_code_text(code, text), permanent=code >= 500) from error
        except smtplib.SMTPDataError as error:
            raise Refused(_code_text(error.smtp_code, error.smtp_error), permanent=error.smtp_code >= 500) from error
        except (smtplib.SMTPException, OSError) as error:
            raise ServerUnavailable(_describe(error)) from error
        if refused:  # one recipient per mail: refused means this one
            code, text = next(iter(refused.values()))
            raise Refused(_code_text(code, text), permanent=code >= 500)

    def __exit__(self, *_exc: Any) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
        self._close()

    def _close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.close()
            except OSError:
                pass
            self.smtp = None


def _describe(error: BaseException) -> str:
    """Name a connection-level failure without addresses (they would end up in logs)."""
    if isinstance(error, smtplib.SMTPResponseException):
        return _code_text(error.smtp_code, error.smtp_error)
    if isinstance(error, socket.timeout):
        return "timed out"
    return ADDRESS.sub("<address>", f"{type(error).__name__}: {error}")[:300]
