"""One-time links used at the same moment: one invitation makes one account, one reset changes the password once.

Each test sends the forms from real threads, each with its own browser and database connection,
against a file SQLite database and against the suite's PostgreSQL server.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import AuditEntry
from hub.models.user import Invitation, PasswordReset, Role, User
from hub.services import accounts
from tests.helpers import PASSWORD, all_at_once, count, csrf_token, login

pytestmark = pytest.mark.postgres
TRIES = 4


@pytest.fixture
def ada(shared_app):
    user = accounts.create_user(accounts.NewAccount(username="ada", pseudonym="Ada P", password=PASSWORD),
                                role=Role.ADMIN)
    db.session.commit()
    return user


def _all_at_once(app, sent: list[tuple[str, dict]]) -> list:
    """Open each (url, form)'s page in a browser of its own, then send every form at the same moment."""
    browsers = [app.test_client() for _ in sent]
    tokens = [csrf_token(browser, url) for browser, (url, _form) in zip(browsers, sent)]
    return all_at_once([lambda browser=browser, url=url, form=form, token=token: browser.post(
        url, data={"csrf_token": token, **form}) for browser, (url, form), token in zip(browsers, sent, tokens)])


def test_an_invitation_sent_from_several_browsers_at_once_makes_one_account(shared_app, ada):
    _invitation, token = accounts.create_invitation(by=ada, role=Role.CONTRIBUTOR, note="For the night team")
    forms = [{"username": f"racer{i}", "pseudonym": f"Racer {i}x", "email": "", "password": "long enough pw",
              "confirm": "long enough pw"} for i in range(TRIES)]
    answers = _all_at_once(shared_app, [(f"/invite/{token}?lang=zh_Hans", form) for form in forms])

    assert sorted(answer.status_code for answer in answers) == [302] + [410] * (TRIES - 1)
    for answer in answers:
        if answer.status_code == 410:
            assert "这个邀请已经被使用过了" in answer.get_data(as_text=True)
    db.session.expire_all()
    joined = db.session.scalars(sa.select(User).where(User.username.like("racer%"))).all()
    assert len(joined) == 1 and joined[0].role == Role.CONTRIBUTOR
    invitation = db.session.scalar(sa.select(Invitation))
    assert invitation.used_by_id == joined[0].id and invitation.used_at is not None
    assert count(AuditEntry, AuditEntry.action == "user.signup") == 1


def test_reset_links_sent_at_once_change_the_password_once(shared_app, ada):
    person = accounts.create_user(accounts.NewAccount(username="mei", pseudonym="Mei P", password=PASSWORD))
    db.session.commit()
    first = accounts.admin_reset_link_token(person, by=ada)
    second = accounts.admin_reset_link_token(person, by=ada)
    links = [f"/reset/{first}", f"/reset/{first}", f"/reset/{second}", f"/reset/{second}"]
    passwords = [f"new password number {i}" for i in range(TRIES)]
    answers = _all_at_once(shared_app, [(link, {"password": password, "confirm": password})
                                        for link, password in zip(links, passwords)])

    assert sorted(answer.status_code for answer in answers) == [302] + [410] * (TRIES - 1)
    winner = passwords[[answer.status_code for answer in answers].index(302)]
    works = [password for password in [PASSWORD, *passwords]
             if login(shared_app.test_client(), "mei", password).status_code == 302]
    assert works == [winner]
    assert count(AuditEntry, AuditEntry.action == "user.password_reset") == 1
    assert count(PasswordReset, PasswordReset.used_at.is_not(None)) == 1
