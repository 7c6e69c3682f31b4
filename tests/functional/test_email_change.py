"""A new e-mail address on the account page waits for the link mailed to it (as on Discourse and Mastodon).

Whether an address has an account here is itself sensitive: the page answers the same whether another
account has the address or not, nothing is mailed to an address another account has, and the link
sets the address only while it is still free. Mail goes through a real SMTP server (tests/smtp.py).
"""
from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
import sqlalchemy as sa

from hub import worker
from hub.extensions import db
from hub.models import AuditEntry, EmailChange, OutgoingMail
from hub.models.base import utcnow
from hub.models.user import User
from tests.helpers import PASSWORD, csrf_token, login, post_form
from tests.smtp import html_of, text_of

TAKEN = "wang.xiaoming.real@qq.com"
FREE = "nobody.here@qq.com"
LINK = re.compile(r"https?://[^\s\"<>]+/account/email/[^\s\"<>]+")


@pytest.fixture
def app(mail_app):
    """Every test here sends mail to the test's SMTP server."""
    return mail_app


@pytest.fixture
def owner(make_user):
    """A member whose address is the one probed."""
    return make_user("wxm", pseudonym="山里人", email=TAKEN)


def deliver(app) -> None:
    for _ in range(6):
        if not worker.run_once(app):
            return


def profile_form(user: User, email: str, **extra) -> dict:
    return {"pseudonym": user.pseudonym, "email": email, "locale": user.locale or "", "timezone": "", "bio": "",
            **extra}


def change_email(client, user: User, email: str, **extra):
    return post_form(client, "/account", profile_form(user, email, **extra))


def link_to(smtp_server, address: str) -> str:
    [message] = smtp_server.to(address)
    [url] = LINK.findall(text_of(message))
    return re.sub(r"^https?://[^/]+", "", url)


def shown(page: str, address: str) -> str:
    """Return a page's text without what differs between two requests (the typed address, CSRF tokens)."""
    return re.sub(r'name="csrf_token"[^>]*>', "", page).replace(address, "ADDRESS")


def test_the_answer_is_the_same_whether_or_not_the_address_has_an_account(app, owner, member, smtp_server):
    client = app.test_client()
    login(client, member.username)
    answers = {}
    for probe in (TAKEN, FREE):
        response = change_email(client, member, probe)
        page = client.get(response.headers.get("Location", "/account"))
        answers[probe] = (response.status_code, response.headers.get("Location"), page.status_code,
                          shown(page.get_data(as_text=True), probe))
    assert answers[TAKEN] == answers[FREE]
    assert answers[FREE][0] == 302
    assert ("We sent a link to ADDRESS. Your address changes when you open it; until then, mail goes to "
            "mary@example.org.") in answers[FREE][3]
    db.session.refresh(member)
    assert member.email == "mary@example.org"  # nothing changes before the link is opened
    deliver(app)
    assert smtp_server.to(TAKEN) == []  # nothing goes to an address another account has
    assert len(smtp_server.to(FREE)) == 1


def test_the_answer_is_the_same_in_chinese_and_names_no_address_when_there_was_none(app, owner, make_user):
    person = make_user("lan", pseudonym="兰花", locale="zh_Hans")
    person.email = None
    db.session.commit()
    client = app.test_client()
    login(client, person.username)
    pages = {}
    for probe in (TAKEN, FREE):
        response = change_email(client, person, probe)
        pages[probe] = (response.status_code, shown(client.get("/account").get_data(as_text=True), probe))
    assert pages[TAKEN] == pages[FREE]
    assert "我们已向 ADDRESS 发送了一个链接" in pages[FREE][1] and "没有邮箱地址" in pages[FREE][1]


def test_the_mailed_link_sets_the_address_after_signing_in(app, member, smtp_server, caplog):
    caplog.set_level(logging.INFO)
    client = app.test_client()
    login(client, member.username)
    assert change_email(client, member, FREE).status_code == 302
    deliver(app)
    [message] = smtp_server.to(FREE)
    assert "山" not in text_of(message) and member.pseudonym not in text_of(message) + html_of(message)
    link = link_to(smtp_server, FREE)
    stranger = app.test_client()  # signed out: asked to sign in first, then back to the link
    assert stranger.get(link).headers["Location"] == f"/login?next={link}"
    assert "/account/email/" in login_then(stranger, member, link).headers["Location"]
    page = stranger.get(link)
    assert page.status_code == 200 and FREE in page.get_data(as_text=True)
    assert post_form(stranger, link, {}).headers["Location"] == "/account"
    db.session.expire_all()
    assert db.session.get(User, member.id).email == FREE
    assert login(app.test_client(), FREE).status_code == 302  # signs in with the new address
    again = post_form(stranger, link, {}, form_url="/account")
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)
    audit = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "user.email_change")).all()
    assert len(audit) == 1
    everything_logged = " ".join(r.getMessage() for r in caplog.records if r.name.startswith("hub")) + " ".join(repr(e.details) for e in db.session.scalars(sa.select(AuditEntry)))
    assert FREE not in everything_logged and "mary@example.org" not in everything_logged
    assert db.session.scalar(sa.select(OutgoingMail.address)) is None  # forgotten once sent


def login_then(client, user: User, link: str):
    return post_form(client, f"/login?next={link}", {"login": user.username, "password": PASSWORD}, form_url="/login")


def test_removing_the_address_works_at_once_and_an_unchanged_one_does_nothing(app, member, smtp_server):
    client = app.test_client()
    login(client, member.username)
    assert change_email(client, member, "MARY@example.org").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(EmailChange)) == 0
    assert change_email(client, member, "").status_code == 302
    db.session.expire_all()
    assert db.session.get(User, member.id).email is None
    deliver(app)
    assert smtp_server.messages == []


@pytest.mark.parametrize(("lang", "closed", "used"), [
    ("en", "This link can no longer be used.", "This link has already been used."),
    ("zh_Hans", "此链接已不能使用。", "此链接已经使用过了。"),
])
def test_an_expired_superseded_or_taken_meanwhile_link_refuses_in_the_readers_language(
        app, member, make_user, smtp_server, lang, closed, used):
    other = make_user("lee", email="lee@example.org")
    mary, lee = app.test_client(), app.test_client()
    login(mary, member.username)
    login(lee, other.username)
    for person in (member, other):
        person.locale = lang if lang != "en" else None  # the reader's language is the account's
    db.session.commit()
    # taken meanwhile: both ask for the same free address; the first to open the link has it
    change_email(mary, member, FREE)
    change_email(lee, other, FREE)
    deliver(app)
    first, second = [re.sub(r"^https?://[^/]+", "", u) for m in smtp_server.to(FREE) for u in LINK.findall(text_of(m))]
    mary_link, lee_link = (first, second) if mary.get(first).status_code == 200 else (second, first)
    assert mary.get(mary_link).status_code == 200  # opened before the other account took the address
    assert post_form(lee, lee_link, {}).status_code == 302
    refused = post_form(mary, mary_link, {}, form_url="/account")
    body = refused.get_data(as_text=True)
    assert refused.status_code == 410 and closed in body and FREE not in body
    assert mary.get(mary_link).status_code == 410
    # superseded by a newer address, then expired
    change_email(mary, member, "mary.one@example.net")
    deliver(app)
    change_email(mary, member, "mary.two@example.net")
    deliver(app)
    assert mary.get(link_to(smtp_server, "mary.one@example.net")).status_code == 410
    two = link_to(smtp_server, "mary.two@example.net")
    db.session.execute(sa.update(EmailChange).values(expires_at=utcnow() - dt.timedelta(minutes=1)))
    db.session.commit()
    expired = mary.get(two)
    assert expired.status_code == 410 and closed in expired.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, member.id).email == "mary@example.org"
    # a used link
    assert post_form(lee, lee_link, {}, form_url="/account").status_code == 410
    assert used in lee.get(lee_link).get_data(as_text=True)


@pytest.mark.parametrize(("token", "status"), [("x" * 5000, 410), ("a" * 101, 410), ("' OR 1=1 --", 410),
                                               ("短", 410), ("%00%ff", 400)])
def test_an_odd_token_is_refused_without_an_error(app, member, token, status):
    client = app.test_client()
    login(client, member.username)
    response = client.get(f"/account/email/{token}")
    assert response.status_code == status
    response = client.post(f"/account/email/{token}", data={"csrf_token": csrf_token(client, "/account")})
    assert response.status_code == status
    if status == 410:
        assert "This link is not valid." in response.get_data(as_text=True)


def test_another_accounts_link_does_not_work(app, member, make_user, smtp_server):
    other = make_user("lee", email="lee@example.org")
    mary = app.test_client()
    login(mary, member.username)
    change_email(mary, member, FREE)
    deliver(app)
    link = link_to(smtp_server, FREE)
    lee = app.test_client()
    login(lee, other.username)
    assert lee.get(link).status_code == 410
    assert post_form(lee, link, {}, form_url="/account").status_code == 410
    db.session.expire_all()
    assert db.session.get(User, other.id).email == "lee@example.org"


def test_a_hub_without_mail_keeps_the_address_and_answers_alike(app, owner, member):
    app.config["MAIL_SERVER"] = ""
    client = app.test_client()
    login(client, member.username)
    answers = {probe: change_email(client, member, probe) for probe in (TAKEN, FREE)}
    assert {r.status_code for r in answers.values()} == {200}
    assert shown(answers[TAKEN].get_data(as_text=True), TAKEN) == shown(answers[FREE].get_data(as_text=True), FREE)
    assert "This hub sends no e-mail" in answers[FREE].get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, member.id).email == "mary@example.org"
    assert change_email(client, member, "").status_code == 302  # removing still works
