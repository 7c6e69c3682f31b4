"""A real SMTP server for the suite (aiosmtpd on a free local port) that keeps what it receives."""
from __future__ import annotations

import email
import email.policy
import socket
import threading
from email.message import EmailMessage

from aiosmtpd.controller import Controller


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 now (aiosmtpd cannot take port 0: its ready check connects to it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """The aiosmtpd handler: keeps every message with its envelope recipients."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []
        self.recipients: list[list[str]] = []
        self.refuse: dict[str, str] = {}  # recipient -> the server's answer to RCPT TO (e.g. "451 try later")
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: N802
        """Accept a recipient, or answer as :attr:`refuse` says."""
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        """Store one message."""
        with self.lock:
            self.raw.append(envelope.content)
            self.recipients.append(list(envelope.rcpt_tos))
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


class MailServer:
    """An SMTP server on 127.0.0.1 that can be stopped and started again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        """Listen (again) on the server's port."""
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        """Stop listening: connections are refused until :meth:`start`."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        """Return the messages received so far."""
        with self.inbox.lock:
            return list(self.inbox.messages)

    def to(self, address: str) -> list[EmailMessage]:
        """Return the messages received for ``address``."""
        return [m for m in self.messages if m["To"] == address]

    def config(self) -> dict[str, object]:
        """Return the hub settings that send to this server."""
        return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": self.port, "MAIL_USE_TLS": False, "MAIL_USE_SSL": False}


def text_of(message: EmailMessage) -> str:
    """Return the plain-text part of a message."""
    return message.get_body(("plain",)).get_content()


def html_of(message: EmailMessage) -> str:
    """Return the HTML part of a message."""
    return message.get_body(("html",)).get_content()
