"""Mail through a real SMTP server (aiosmtpd, tests/smtp.py): what arrives, in which language, with which links.

Every test runs a hub whose ``MAIL_*`` settings point at the test's own SMTP server; the worker
(``worker.run_once``) sends, never a request. Messages are read back as the server received them.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from hub import worker
from hub.extensions import db
from hub.mail import digest
from hub.models import Follow, Note, OutgoingMail, Term
from hub.models.base import utcnow
from hub.models.user import Role, User
from hub.services import follows, mail_settings, notes, translations
from tests.helpers import PASSWORD, count, login, post_form
from tests.smtp import html_of, text_of

LINK = re.compile(r"https?://[^\s\"<>]+")
BODY_MARK = "BODY-SECRET-hidden-note-text 住在幸福路"
COMMENT_MARK = "COMMENT-SECRET my phone is 13900001111"
MESSAGE_MARK = "MODERATOR-SECRET please remove the name"


@pytest.fixture
def app(mail_app):
    """Every test here sends mail to the test's SMTP server."""
    return mail_app


@pytest.fixture
def topic(app) -> Term:
    term = Term(kind="topic", slug="methadone", name_zh="美沙酮维持治疗", name_en="Methadone maintenance")
    db.session.add(term)
    db.session.commit()
    return term


def deliver(app, rounds: int = 6) -> None:
    """Let the worker run until it has nothing left to do (events to mails, mails to the server)."""
    for _ in range(rounds):
        if not worker.run_once(app):
            return


def note_input(**overrides) -> notes.NoteInput:
    fields = {"title": "Peer support at the clinic", "summary": "How we greet people at the methadone clinic.",
              "body": BODY_MARK, "language": "en", "visibility": "members"}
    return notes.NoteInput(**{**fields, **overrides})


def publish(author: User, moderator: User, **overrides) -> Note:
    note = notes.create_draft(author=author, data=note_input(**overrides))
    notes.submit(note, by=author, confirm_privacy=True)
    return notes.approve(note, by=moderator)


def links_in(message) -> list[str]:
    return LINK.findall(text_of(message))


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


# --- account mails -----------------------------------------------------------------------------

def test_an_invitation_is_mailed_in_the_chosen_language_and_its_link_opens_sign_up(app, client, admin,
                                                                                   smtp_server):
    login(client, admin.username)
    response = post_form(client, "/admin/invitations", {"role": "member", "project": "", "days": 14, "note": "",
                                                        "email": "new.person@example.net", "language": "zh_Hans"})
    assert response.status_code == 200
    shown = re.search(r'<code id="invitation-link">([^<]+)</code>', response.get_data(as_text=True)).group(1)
    assert smtp_server.messages == []  # the request only queued it
    deliver(app)
    [message] = smtp_server.to("new.person@example.net")
    assert message["Subject"] == "经验交流平台：您的邀请"
    assert "邀请" in text_of(message) and "邀请" in html_of(message)
    [invite] = [u for u in links_in(message) if "/invite/" in u]
    assert path_of(invite) == path_of(shown)  # the same link the admin can copy by hand
    client.post("/logout", data={"csrf_token": ""})
    assert app.test_client().get(path_of(invite)).status_code == 200
    assert db.session.scalar(sa.select(OutgoingMail.address)) is None  # the address is forgotten once sent


def test_a_password_reset_is_mailed_not_logged_and_its_link_works(app, client, member, smtp_server, caplog):
    response = post_form(client, "/forgot", {"login": member.username})
    assert response.status_code == 302
    assert "password reset link" not in caplog.text
    deliver(app)
    [message] = smtp_server.to(member.email)
    [reset] = [u for u in links_in(message) if "/reset/" in u]
    assert post_form(client, path_of(reset), {"password": "a new long password", "confirm": "a new long password"}
                     ).status_code == 302
    assert login(app.test_client(), member.username, "a new long password").status_code == 302


def test_without_a_mail_server_the_reset_link_goes_to_the_log(make_app, caplog):
    plain = make_app()
    with plain.app_context():
        from hub.services import accounts
        accounts.create_user(accounts.NewAccount(username="solo", pseudonym="Solo", password=PASSWORD,
                                                 email="solo@example.org"))
        db.session.commit()
    response = post_form(plain.test_client(), "/forgot", {"login": "solo"})
    assert response.status_code == 302
    assert "password reset link: http" in caplog.text


# --- what happens to one's notes ----------------------------------------------------------------

def test_a_review_outcome_reaches_the_author_in_their_language_without_the_message(app, contributor, moderator,
                                                                                  smtp_server):
    contributor.locale = "zh_Hans"
    db.session.commit()
    note = notes.create_draft(author=contributor, data=note_input(title="在诊所的同伴支持"))
    notes.submit(note, by=contributor, confirm_privacy=True)
    notes.request_changes(note, by=moderator, message=MESSAGE_MARK)
    deliver(app)
    [message] = smtp_server.to(contributor.email)
    assert message["Subject"] == "经验交流平台：您的笔记有新消息"
    assert "在诊所的同伴支持" in text_of(message)
    assert MESSAGE_MARK not in message.as_string()
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_comment_reaches_the_author_but_not_its_text(app, contributor, moderator, member, smtp_server):
    note = publish(contributor, moderator)
    deliver(app)
    smtp_server.inbox.messages.clear()
    notes.add_comment(note, by=member, body=COMMENT_MARK)
    deliver(app)
    [message] = smtp_server.to(contributor.email)
    assert "Peer support at the clinic" in text_of(message)
    assert COMMENT_MARK not in message.as_string()
    assert smtp_server.to(member.email) == []


# --- follows and digests -------------------------------------------------------------------------

def test_a_weekly_digest_groups_new_notes_by_topic_in_the_readers_language(app, contributor, moderator, member,
                                                                           topic, smtp_server):
    member.locale = "zh_Hans"
    db.session.commit()
    follows.follow(member, follows.target("topic", value="methadone"), frequency="weekly")
    start = utcnow()
    assert digest.queue_digests(app, now=start) == 0  # the first period only marks where the next one starts
    note = publish(contributor, moderator, term_ids=[topic.id])
    deliver(app)
    assert smtp_server.to(member.email) == []  # weekly: nothing until the week turns
    assert digest.queue_digests(app, now=start + dt.timedelta(days=7)) == 1
    deliver(app)
    [message] = smtp_server.to(member.email)
    assert message["Subject"] == "经验交流平台：本周的新笔记"
    text, html = text_of(message), html_of(message)
    assert "美沙酮维持治疗" in text and "Peer support at the clinic" in html
    assert "<img" not in html and "<script" not in html
    assert len(message.as_bytes()) < 100_000
    assert BODY_MARK not in message.as_string()
    assert digest.queue_digests(app, now=start + dt.timedelta(days=7, hours=1)) == 0  # one per week
    assert note.id
