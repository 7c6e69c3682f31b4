"""The mail queue under failure: a mail server that is down, refuses, or a worker that stops mid-way.

What must hold: nothing is lost, nothing arrives twice (one message per outbox row, by
Message-ID), and mails are sent only by the worker.
"""
from __future__ import annotations

import collections
import datetime as dt
import time

import pytest
import sqlalchemy as sa

from hub import worker
from hub.extensions import db
from hub.mail import outbox
from hub.models import ConsumerCursor, Event, OutgoingMail, PasswordReset
from hub.models.user import Role
from hub.models.base import utcnow
from hub.services import accounts, discussion, notes
from tests.functional.test_mail import deliver, publish
from tests.helpers import PASSWORD, count


@pytest.fixture
def app(mail_app):
    """Every test here sends mail to the test's SMTP server."""
    return mail_app


def sent_once(smtp_server) -> collections.Counter:
    """Return how often each Message-ID arrived."""
    return collections.Counter(m["Message-ID"] for m in smtp_server.messages)


def make_mail(contributor, moderator, member) -> int:
    """Cause four mails: a review decision, a comment, a review reply, a password reset; return how many."""
    note = publish(contributor, moderator)  # contributor: "published"
    discussion.add_comment(note, by=member, body="a comment")  # contributor: comment
    notes.reply(note, by=contributor, body="thanks")  # moderator: a message in the review thread
    accounts.request_password_reset(member.username)  # member: reset
    return 4


def test_a_mail_server_that_is_down_loses_nothing_and_sends_nothing_twice(app, contributor, moderator, member,
                                                                          smtp_server):
    smtp_server.stop()
    expected = make_mail(contributor, moderator, member)
    for _ in range(3):  # the worker tries while the server is down
        deliver(app)
        time.sleep(0.25)
    assert smtp_server.messages == []
    assert count(OutgoingMail, OutgoingMail.state == "pending") == expected
    assert count(OutgoingMail, OutgoingMail.attempts > 0) == 0  # the server's fault, not the mails'
    smtp_server.start()
    deadline = time.monotonic() + 10
    while len(smtp_server.messages) < expected and time.monotonic() < deadline:
        deliver(app)
        time.sleep(0.1)
    deliver(app)
    counts = sent_once(smtp_server)
    assert len(counts) == expected and set(counts.values()) == {1}
    assert count(OutgoingMail, OutgoingMail.state == "sent") == expected
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(
        [contributor.email, contributor.email, moderator.email, member.email])


def test_replaying_the_event_log_queues_no_mail_twice(app, contributor, moderator, member, smtp_server):
    make_mail(contributor, moderator, member)
    deliver(app)
    before = len(smtp_server.messages)
    db.session.execute(sa.update(ConsumerCursor).where(ConsumerCursor.name == "mail").values(position=0))
    db.session.commit()
    deliver(app)
    assert len(smtp_server.messages) == before == count(OutgoingMail)


def test_a_worker_that_stops_before_sending_leaves_the_mail_for_the_next(app, make_app, smtp_server, tmp_path,
                                                                         make_user):
    path = tmp_path / "shared.sqlite"
    first = make_app(DATABASE_URL=f"sqlite:///{path}", **smtp_server.config())
    with first.app_context():
        user = make_user("nina")
        worker.run_once(first)  # nothing to send yet
        accounts.request_password_reset(user.username)
        db.session.remove()
    # the first worker is gone before its next round; another process takes over
    second = make_app(DATABASE_URL=f"sqlite:///{path}", **smtp_server.config())
    with second.app_context():
        deliver(second)
        assert [m["To"] for m in smtp_server.messages] == ["nina@example.org"]
        db.session.remove()


def test_a_mail_left_sending_by_a_dead_worker_is_sent_again_with_the_same_message_id(app, member, smtp_server):
    accounts.request_password_reset(member.username)
    mail = db.session.scalar(sa.select(OutgoingMail))
    assert outbox.claim(mail)  # a worker took it and died before the server answered
    deliver(app)
    assert smtp_server.messages == []  # not yet: it may still be on its way
    mail.claimed_at = utcnow() - outbox.stale_after() - dt.timedelta(seconds=1)
    db.session.commit()
    deliver(app)
    [message] = smtp_server.messages
    assert message["Message-ID"] == outbox.message_id(db.session.get(OutgoingMail, mail.id), "hub.test")


def test_a_recipient_refused_for_now_is_retried_and_one_refused_for_good_is_given_up(app, make_user, smtp_server):
    later, never = make_user("later"), make_user("never")
    smtp_server.inbox.refuse = {later.email: "451 4.7.1 try again later", never.email: "550 5.1.1 no such user"}
    # A minute between tries, as in production: however slow the machine, no second try comes before
    # the test moves the clock on.
    app.config["MAIL_RETRY_BASE_SECONDS"] = 60.0
    accounts.request_password_reset(later.username)
    accounts.request_password_reset(never.username)
    deliver(app)
    rows = {m.user_id: m for m in db.session.scalars(sa.select(OutgoingMail))}
    assert rows[never.id].state == "dead" and rows[never.id].last_error.startswith("550")
    assert "never@example.org" not in rows[never.id].last_error
    assert rows[later.id].state == "pending" and rows[later.id].attempts == 1
    assert rows[later.id].next_attempt_at > utcnow() + dt.timedelta(seconds=30)
    smtp_server.inbox.refuse = {}
    rows[later.id].next_attempt_at = utcnow() - dt.timedelta(seconds=1)  # the minute has passed
    db.session.commit()
    deliver(app)
    assert [m["To"] for m in smtp_server.messages] == [later.email]


def test_requests_never_send_mail_themselves(app, client, member, smtp_server):
    from tests.helpers import post_form

    post_form(client, "/forgot", {"login": member.username})
    assert smtp_server.messages == [] and count(OutgoingMail) == 1
    deliver(app)
    assert len(smtp_server.messages) == 1


def test_a_hub_without_mail_server_queues_nothing_and_starts_at_the_present(make_app):
    plain = make_app()
    with plain.app_context():
        people = {name: accounts.create_user(accounts.NewAccount(username=name, pseudonym=name.title(),
                                                                 password=PASSWORD, email=f"{name}@example.org"),
                                             role=role)
                  for name, role in (("writer", Role.CONTRIBUTOR), ("mod", Role.MODERATOR), ("reader", Role.MEMBER))}
        db.session.commit()
        note = publish(people["writer"], people["mod"])
        discussion.add_comment(note, by=people["reader"], body="a comment")
        accounts.request_password_reset("reader")  # no mail server: no link made, nothing queued
        assert count(PasswordReset) == 0
        worker.run_once(plain)
        assert count(OutgoingMail) == 0
        cursor = db.session.get(ConsumerCursor, "mail")
        assert cursor.position == db.session.scalar(sa.select(sa.func.max(Event.id)))
        db.session.remove()


def test_the_mail_commands_report_retry_and_test(app, runner, make_user, smtp_server):
    never = make_user("never")
    smtp_server.inbox.refuse = {never.email: "550 5.1.1 no such user"}
    accounts.request_password_reset(never.username)
    deliver(app)
    report = runner.invoke(args=["hub", "mail-status"]).output
    assert f"127.0.0.1:{smtp_server.port}" in report and "dead 1" in report and "550 5.1.1" in report
    assert "1 mails queued again" in runner.invoke(args=["hub", "mail-retry"]).output
    result = runner.invoke(args=["hub", "mail-test", "admin@example.org"])
    assert result.exit_code == 0 and smtp_server.to("admin@example.org")
    smtp_server.stop()
    assert runner.invoke(args=["hub", "mail-test", "admin@example.org"]).exit_code == 1


def test_a_worker_with_another_secret_key_leaves_a_sealed_link_for_one_that_can_open_it(app, member, smtp_server):
    accounts.request_password_reset(member.username)
    right = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "a node configured with another key"
    deliver(app)
    mail = db.session.scalar(sa.select(OutgoingMail))
    assert (mail.state, mail.attempts) == ("pending", 1) and "HUB_SECRET_KEY" in mail.last_error
    app.config["SECRET_KEY"] = right
    time.sleep(0.25)
    deliver(app)
    assert [m["To"] for m in smtp_server.messages] == [member.email]
