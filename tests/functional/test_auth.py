"""Signing up, in and out, sessions, passwords and throttling, through the HTTP client."""
from __future__ import annotations

import datetime as dt
import logging
import re

import pytest

from hub.extensions import db
from hub.models.user import Invitation, LoginSession, Role, UserStatus
from hub.services import accounts
from tests.helpers import PASSWORD, count, csrf_token, login, post_form

WRONG = "The username or password is not right"


def test_member_signs_in_with_username_or_email(client, member):
    assert login(client, "mary").status_code == 302
    client.post("/logout", data={"csrf_token": _token(client)})
    response = login(client, "MARY@example.org")
    assert response.status_code == 302
    assert "Mary P" in client.get("/account").get_data(as_text=True)


def test_unknown_account_and_wrong_password_get_the_same_answer(client, member):
    unknown = login(client, "nobody", "whatever-password").get_data(as_text=True)
    wrong = login(client, "mary", "wrong-password!").get_data(as_text=True)
    assert WRONG in unknown and WRONG in wrong
    assert _strip_tokens(unknown) == _strip_tokens(wrong).replace('value="mary"', 'value="nobody"')


def _strip_tokens(html: str) -> str:
    return re.sub(r'value="[^"]{40,}"', "", html)


def _token(client) -> str:
    return csrf_token(client, "/account")


@pytest.mark.parametrize("status", [UserStatus.PENDING, UserStatus.DISABLED])
def test_inactive_accounts_cannot_sign_in(client, make_user, status):
    make_user("nina", status=status)
    response = login(client, "nina")
    assert response.status_code == 200
    assert WRONG in response.get_data(as_text=True)


def test_logout_invalidates_the_copied_session_cookie(client, member, app):
    login(client, "mary")
    stolen = client.get_cookie("session").value
    client.post("/logout", data={"csrf_token": _token(client)})
    other = app.test_client()
    other.set_cookie("session", stolen)
    assert other.get("/account").status_code == 302
    assert count(LoginSession) == 0


def test_password_change_signs_out_other_browsers(client, member, app):
    login(client, "mary")
    laptop = app.test_client()
    login(laptop, "mary")
    response = post_form(client, "/account/password", {
        "current_password": PASSWORD, "new_password": "a new long secret", "confirm": "a new long secret"})
    assert response.status_code == 302
    assert client.get("/account").status_code == 200  # this browser stays signed in
    assert laptop.get("/account").status_code == 302  # the other one is out
    assert login(app.test_client(), "mary", "a new long secret").status_code == 302


def test_wrong_current_password_is_explained_in_the_field(client, member):
    login(client, "mary")
    response = post_form(client, "/account/password", {
        "current_password": "not it at all", "new_password": "a new long secret", "confirm": "a new long secret"})
    assert "Your current password is not right." in response.get_data(as_text=True)


def test_login_is_throttled_per_account(client, member, app):
    for _ in range(app.config["LOGIN_LIMIT_ACCOUNT"]):
        login(client, "mary", "wrong-password!")
    response = login(client, "mary")
    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True)


def test_login_is_throttled_per_client_across_accounts(client, member, app):
    for i in range(app.config["LOGIN_LIMIT_CLIENT"]):
        login(client, f"someone{i}", "wrong-password!")
    assert login(client, "mary").status_code == 429
    # Another client is not affected.
    other = app.test_client()
    response = post_form(other, "/login", {"login": "mary", "password": PASSWORD},
                         environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert response.status_code == 302


def test_reset_request_answers_the_same_for_unknown_accounts(client, member, caplog):
    caplog.set_level(logging.WARNING)
    known = post_form(client, "/forgot", {"login": "mary"}, follow_redirects=True).get_data(as_text=True)
    unknown = post_form(client, "/forgot", {"login": "ghost"}, follow_redirects=True).get_data(as_text=True)
    assert "If this account exists" in known and "If this account exists" in unknown
    asked = [r.getMessage() for r in caplog.records if "password reset asked" in r.getMessage()]
    assert asked == [f"password reset asked for account {member.id}; no mail server, so an administrator must "
                     "make a one-time link on the person's page"]  # the real account only, and no link
    assert "/reset/" not in caplog.text


def test_reset_link_works_once(client, member, app, admin):
    token = accounts.admin_reset_link_token(member, by=admin)
    response = post_form(client, f"/reset/{token}", {"password": "brand new secret", "confirm": "brand new secret"})
    assert response.status_code == 302
    assert login(app.test_client(), "mary", "brand new secret").status_code == 302
    again = client.get(f"/reset/{token}")
    assert again.status_code == 410
    assert "already been used" in again.get_data(as_text=True)


def test_expired_reset_link_explains_itself(client, member, admin):
    token = accounts.admin_reset_link_token(member, by=admin)
    reset = accounts.open_reset(token)
    reset.expires_at = reset.created_at - dt.timedelta(minutes=1)
    db.session.commit()
    response = client.get(f"/reset/{token}")
    assert response.status_code == 410
    assert "has expired" in response.get_data(as_text=True)


def _invite(by, role=Role.CONTRIBUTOR, project=None):
    return accounts.create_invitation(by=by, role=role, project=project)[1]


SIGNUP = {"username": "newbie", "pseudonym": "新同伴", "email": "", "password": "long enough pw",
          "confirm": "long enough pw"}


def test_newcomer_signs_up_from_an_invitation(client, admin, project):
    token = _invite(admin, project=project)
    response = post_form(client, f"/invite/{token}", SIGNUP)
    assert response.status_code == 302
    user = accounts.find_by_login("newbie")
    assert user.role == Role.CONTRIBUTOR and user.project == project
    assert "新同伴" in client.get("/account").get_data(as_text=True)
    used = client.get(f"/invite/{token}")
    assert used.status_code == 410 and "already been used" in used.get_data(as_text=True)


def test_expired_invitation_explains_itself(client, admin):
    token = _invite(admin)
    invitation = db.session.scalar(db.select(Invitation))
    invitation.expires_at = invitation.created_at - dt.timedelta(seconds=1)
    db.session.commit()
    response = client.get(f"/invite/{token}")
    assert response.status_code == 410
    assert "has expired" in response.get_data(as_text=True)


def test_signup_form_errors_are_shown_in_chinese(client, admin, member):
    token = _invite(admin)
    response = post_form(client, f"/invite/{token}?lang=zh_Hans",
                         {**SIGNUP, "username": "mary", "confirm": "different pw!!"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'aria-invalid="true"' in html
    assert "The two passwords differ." not in html
    assert re.search(r'class="error"[^>]*>[^<]*[\u4e00-\u9fff]', html)


def test_pseudonym_taken_is_reported_on_the_field(client, admin, member):
    token = _invite(admin)
    response = post_form(client, f"/invite/{token}", {**SIGNUP, "pseudonym": "mary p"})
    assert "This pseudonym is taken" in response.get_data(as_text=True)
    assert accounts.find_by_login("newbie") is None


def test_moderator_cannot_invite_an_admin(moderator):
    from hub.services.errors import NotAllowed

    with pytest.raises(NotAllowed):
        accounts.create_invitation(by=moderator, role=Role.ADMIN)


def test_invite_only_hub_refuses_open_registration(client):
    response = client.get("/register")
    assert response.status_code == 403
    assert "invitation only" in response.get_data(as_text=True)


def test_open_registration_waits_for_approval(make_app):
    app = make_app(REGISTRATION="open")
    with app.app_context():
        client = app.test_client()
        response = post_form(client, "/register", SIGNUP)
        assert response.status_code == 302
        user = accounts.find_by_login("newbie")
        assert user.status == UserStatus.PENDING and user.role == Role.MEMBER
        assert login(client, "newbie", "long enough pw").status_code == 200  # not yet
        admin = accounts.create_user(accounts.NewAccount("boss", "Boss", PASSWORD), role=Role.ADMIN)
        db.session.commit()
        accounts.set_status(user, UserStatus.ACTIVE, by=admin)
        assert login(app.test_client(), "newbie", "long enough pw").status_code == 302


def test_profile_saves_language_and_time_zone(client, member):
    login(client, "mary")
    response = post_form(client, "/account", {"pseudonym": "Mary Q", "email": "", "locale": "zh_Hans",
                                              "timezone": "Asia/Shanghai", "bio": ""})
    assert response.status_code == 302
    db.session.refresh(member)
    assert (member.pseudonym, member.locale, member.timezone) == ("Mary Q", "zh_Hans", "Asia/Shanghai")
    assert '<html lang="zh-Hans">' in client.get("/account").get_data(as_text=True)


def test_profile_refuses_unknown_time_zone(client, member):
    login(client, "mary")
    response = post_form(client, "/account", {"pseudonym": "Mary P", "locale": "", "timezone": "Mars/Olympus"})
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.get_data(as_text=True)


def test_login_returns_to_the_page_asked_for(client, member):
    assert client.get("/account").headers["Location"] == "/login?next=/account"
    response = post_form(client, "/login?next=/account", {"login": "mary", "password": PASSWORD},
                         form_url="/login")
    assert response.headers["Location"] == "/account"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"])
def test_login_next_parameter_cannot_redirect_off_site(client, member, target):
    response = client.post("/login", query_string={"next": target},
                           data={"csrf_token": csrf_token(client), "login": "mary", "password": PASSWORD})
    assert response.headers["Location"] == "/"


def test_forms_without_csrf_token_are_refused(client, member):
    response = client.post("/login", data={"login": "mary", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/account").status_code == 302
