"""Mail on the production path: two workers (real processes) on one PostgreSQL database, a real SMTP server.

The mail server is down while mails are queued, the node that holds the sending claim is killed,
the server comes back: every mail arrives, once.
"""
from __future__ import annotations

import collections
import os
import signal
import time

import pytest
import sqlalchemy as sa

from hub import claims
from hub.extensions import db
from hub.models import OutgoingMail
from hub.services import accounts, discussion, notes
from tests.processes import node_env, start, wait_for, worker_pid

pytestmark = pytest.mark.postgres


@pytest.fixture
def app(make_app, postgres_database, smtp_server):
    """The hub as the test writes to it: the nodes' database, the test's SMTP server."""
    application = make_app(DATABASE_URL=postgres_database, **smtp_server.config())
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


def mail_env(folder, url: str, name: str, port: int, secret: str) -> dict[str, str]:
    """Return a node's environment: mail to the test's server, and the hub's one secret key (it opens sealed tokens)."""
    return {**node_env(folder, url, name), "HUB_MAIL_SERVER": "127.0.0.1", "HUB_MAIL_PORT": str(port),
            "HUB_MAIL_USE_TLS": "false", "HUB_MAIL_RETRY_BASE_SECONDS": "0.3", "HUB_SECRET_KEY": secret}


def test_two_nodes_a_dead_sender_and_a_mail_server_outage_lose_and_double_nothing(
        app, contributor, moderator, member, postgres_database, smtp_server, tmp_path):
    smtp_server.stop()
    secret = app.config["SECRET_KEY"]
    workers = {name: start(["hub", "worker"], mail_env(tmp_path / name, postgres_database, name, smtp_server.port,
                                                       secret)) for name in ("node-a", "node-b")}
    try:
        expected = 0
        for n in range(3):
            note = notes.create_draft(author=contributor, data=notes.NoteInput(
                title=f"Note {n}", summary="s", body="b", language="en"))
            notes.approve(notes.submit(note, by=contributor, confirm_privacy=True), by=moderator)  # author: 1 mail
            discussion.add_comment(note, by=member, body="c")  # author: 1 mail
            expected += 2
        accounts.request_password_reset(member.username)
        expected += 1

        def queued() -> bool:
            return db.session.scalar(sa.select(sa.func.count()).select_from(OutgoingMail)) == expected

        wait_for(queued, what="every mail queued")
        wait_for(lambda: claims.remaining("mail-send") is not None, what="a node to claim the sending")
        time.sleep(1)  # the holder tries against the stopped server
        sender = claims.remaining("mail-send")[0]
        os.kill(worker_pid(tmp_path / sender), signal.SIGKILL)
        workers.pop(sender).wait()
        smtp_server.start()

        def all_sent() -> bool:
            return db.session.scalar(sa.select(sa.func.count()).select_from(OutgoingMail).where(
                OutgoingMail.state == "sent")) == expected

        wait_for(all_sent, what="the other node to send everything")
        received = collections.Counter(m["Message-ID"] for m in smtp_server.messages)
        assert len(received) == expected and max(received.values()) == 1
    finally:
        for process in workers.values():
            process.send_signal(signal.SIGTERM)
        for process in workers.values():
            process.wait(timeout=30)
