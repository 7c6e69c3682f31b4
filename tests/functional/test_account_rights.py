"""Accounts that outside probes found too trusting: invitations that outlived their maker's rights,
reset links that outlived a password change, a log-in limit per typed name, pseudonyms that pass
for staff or for someone else, and an audit log that showed Python's None."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import AuditEntry
from hub.models.user import Invitation, Role, User
from hub.services import accounts, api_tokens
from tests.helpers import PASSWORD, count, login, post_form

INVITE_RE = re.compile(r"/invite/[\w-]{20,}")
SIGNUP = {"username": "planted", "pseudonym": "Planted P", "email": "", "password": "long enough pw",
          "confirm": "long enough pw"}


def _browser(app, username: str):
    browser = app.test_client()
    assert login(browser, username).status_code == 302
    return browser


def _invite(browser, role: str) -> str:
    page = post_form(browser, "/admin/invitations", {"role": role, "project": "", "days": "7", "note": "x"})
    return INVITE_RE.search(page.get_data(as_text=True)).group(0)


def _visible(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- invitations live only as long as their maker's right to make them ------------------------------------

def test_an_admin_invitation_is_withdrawn_when_its_maker_is_demoted(app, make_user, admin):
    second = make_user("second", role=Role.ADMIN)
    link = _invite(_browser(app, "second"), "admin")
    boss = _browser(app, admin.username)
    post_form(boss, f"/admin/users/{second.id}/role", {"role": "member"}, form_url=f"/admin/users/{second.id}")
    post_form(boss, f"/admin/users/{second.id}/status/disabled", {}, form_url=f"/admin/users/{second.id}")

    newcomer = app.test_client()
    assert newcomer.get(f"{link}?lang=zh_Hans").status_code == 410
    response = post_form(newcomer, link, SIGNUP, form_url="/login")
    assert response.status_code == 410 and "这个邀请已被撤回" in response.get_data(as_text=True)
    assert accounts.find_by_login("planted") is None
    assert db.session.scalar(sa.select(Invitation)).revoked_at is not None
    (lapsed,) = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "invitation.lapse")).all()
    assert lapsed.actor_id == admin.id and lapsed.details == {"role": "admin"}
    log = _visible(boss.get("/admin/audit?lang=zh_Hans").get_data(as_text=True))
    assert "邀请已撤回：创建者已无权授予该角色" in log


def test_a_demoted_moderator_keeps_only_the_invitations_they_may_still_give(app, make_user, admin, moderator):
    link = _invite(_browser(app, moderator.username), "contributor")
    post_form(_browser(app, admin.username), f"/admin/users/{moderator.id}/role", {"role": "contributor"},
              form_url=f"/admin/users/{moderator.id}")
    assert app.test_client().get(link).status_code == 410
    assert count(AuditEntry, AuditEntry.action == "invitation.lapse") == 1


def test_an_admin_who_stays_admin_keeps_their_invitations(app, make_user, admin):
    second = make_user("second", role=Role.ADMIN)
    link = _invite(_browser(app, "second"), "admin")
    post_form(_browser(app, admin.username), f"/admin/users/{second.id}/project", {"project": ""},
              form_url=f"/admin/users/{second.id}")
    assert post_form(app.test_client(), link, SIGNUP, form_url="/login").status_code == 302
    assert accounts.find_by_login("planted").role == Role.ADMIN


def test_a_deleted_persons_open_invitations_are_withdrawn(app, moderator, admin):
    link = _invite(_browser(app, moderator.username), "member")
    post_form(_browser(app, admin.username), f"/admin/users/{moderator.id}/delete", {"what": "keep"},
              form_url=f"/admin/users/{moderator.id}")
    response = post_form(app.test_client(), link, SIGNUP, form_url="/login")
    assert response.status_code == 410 and accounts.find_by_login("planted") is None


def test_an_invitation_whose_maker_lost_the_right_some_other_way_is_refused(app, moderator):
    """Rights are checked again when the link is used, not only withdrawn when they change."""
    link = _invite(_browser(app, moderator.username), "contributor")
    moderator.status = "disabled"  # as an account changed before invitations were withdrawn with rights
    db.session.commit()
    response = post_form(app.test_client(), link, SIGNUP, form_url="/login")
    assert response.status_code == 410 and accounts.find_by_login("planted") is None


def test_the_invitations_list_shows_an_invitation_whose_maker_lost_the_right_as_lapsed(app, moderator, admin):
    """Made before rights were withdrawn with the role: the list must not call a link that does not work open."""
    _invite(_browser(app, moderator.username), "contributor")
    moderator.status = "disabled"  # changed the way accounts were changed before the last fix
    db.session.commit()
    boss = _browser(app, admin.username)
    for lang, lapsed in (("en", "lapsed: its maker may no longer give this role; the link does not work"),
                         ("zh_Hans", "已失效：创建者已无权授予该角色，链接不能再用")):
        assert _state_cell(boss.get(f"/admin/invitations?lang={lang}")) == lapsed
    assert "Withdraw" in _visible(boss.get("/admin/invitations?lang=en").get_data(as_text=True))
    invitation = db.session.scalar(sa.select(Invitation))
    post_form(boss, f"/admin/invitations/{invitation.id}/revoke", {}, form_url="/admin/invitations")
    db.session.expire_all()
    assert invitation.revoked_at is not None  # closed for good, even if its maker is enabled again
    assert _state_cell(boss.get("/admin/invitations?lang=en")) == "withdrawn"


def _state_cell(page) -> str:
    """Return the State column of the first invitation in the list, as a reader sees it."""
    cells = re.findall(r"<td data-label[^>]*>(.*?)</td>", page.get_data(as_text=True), re.S)
    return _visible(cells[3]).strip()


# --- a reset link ends with the password it was made for ----------------------------------------------------

def test_using_one_reset_link_ends_the_others(app, member, admin):
    first = accounts.admin_reset_link_token(member, by=admin)
    second = accounts.admin_reset_link_token(member, by=admin)
    used = post_form(app.test_client(), f"/reset/{first}", {"password": "brand new secret",
                                                            "confirm": "brand new secret"})
    assert used.status_code == 302
    for lang, words in (("en", "the password was changed after it was made"), ("zh_Hans", "密码在链接生成之后已经改过")):
        other = app.test_client().get(f"/reset/{second}?lang={lang}")
        assert other.status_code == 410 and words in other.get_data(as_text=True)
    assert post_form(app.test_client(), f"/reset/{second}", {"password": "another new one",
                                                             "confirm": "another new one"},
                     form_url="/login").status_code == 410
    assert login(app.test_client(), member.username, "brand new secret").status_code == 302


def test_a_reset_link_made_before_a_password_change_no_longer_opens(app, member, admin):
    link = f"/reset/{accounts.admin_reset_link_token(member, by=admin)}"
    browser = _browser(app, member.username)
    changed = post_form(browser, "/account/password", {"current_password": PASSWORD, "new_password": "changed it myself",
                                                       "confirm": "changed it myself"})
    assert changed.status_code == 302
    assert app.test_client().get(link).status_code == 410
    assert login(app.test_client(), member.username, "changed it myself").status_code == 302


def test_a_reset_link_made_after_a_password_change_works(app, member, admin):
    accounts.set_password(member, "set on the server")
    link = f"/reset/{accounts.admin_reset_link_token(member, by=admin)}"
    assert post_form(app.test_client(), link, {"password": "brand new secret", "confirm": "brand new secret"}
                     ).status_code == 302


# --- the log-in limit counts an account's failures however its login was typed ------------------------

def test_failures_under_the_username_throttle_the_email_address_too(app, member):
    for _ in range(app.config["LOGIN_LIMIT_ACCOUNT"]):
        login(app.test_client(), member.username, "wrong password!")
    response = login(app.test_client(), member.email.upper())
    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True)


def test_an_unknown_name_is_throttled_like_an_account(app, member):
    for _ in range(app.config["LOGIN_LIMIT_ACCOUNT"]):
        login(app.test_client(), "nobody-here", "wrong password!")
    assert login(app.test_client(), "nobody-here", "wrong password!").status_code == 429
    assert login(app.test_client(), member.username).status_code == 302  # another account is not affected


# --- pseudonyms that pass for someone else -------------------------------------------------------------------

@pytest.mark.parametrize("pseudonym", ["管理員阿梅", "管理 员阿梅", "山 风", "山風"])
def test_signup_refuses_a_pseudonym_that_reads_as_a_taken_one(app, make_user, admin, moderator, pseudonym):
    make_user("amei", pseudonym="管理员阿梅")
    assert moderator.pseudonym == "山风"
    response = _signup(app, admin, pseudonym)
    assert "looks the same as one that is taken" in response.get_data(as_text=True)
    assert accounts.find_by_login("newbie") is None


@pytest.mark.parametrize("pseudonym", ["Moderator", "ADMIN", "administrator", "管理员", "審核員", "former member",
                                       "Former Member", "已离开的成员", "已離開的成員"])
def test_signup_refuses_a_role_word_or_the_name_shown_for_people_who_left(app, admin, pseudonym):
    response = _signup(app, admin, pseudonym)
    assert response.status_code == 200
    assert "kept for the hub&#39;s roles and for people who left" in _field_error(response.get_data(as_text=True))
    assert accounts.find_by_login("newbie") is None


def test_the_reserved_pseudonym_refusal_is_explained_in_chinese(app, admin, member):
    response = _signup(app, admin, "Moderator", lang="zh_Hans")
    assert "留给平台的角色和已离开的成员" in _field_error(response.get_data(as_text=True))
    browser = _browser(app, member.username)
    profile = post_form(browser, "/account?lang=zh_Hans", {"pseudonym": "已离开的成员", "email": "", "locale": "",
                                                           "timezone": "", "bio": ""})
    assert "留给平台的角色和已离开的成员" in profile.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, member.id).pseudonym == "Mary P"


def test_an_administrator_the_operator_named_after_the_role_keeps_the_name(app, make_user):
    boss = make_user("boss", role=Role.ADMIN, pseudonym="管理员")  # as `flask hub create-admin` may
    browser = _browser(app, "boss")
    saved = post_form(browser, "/account", {"pseudonym": "管理员", "email": "", "locale": "", "timezone": "",
                                            "bio": "Ask me for an invitation."})
    assert saved.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, boss.id).bio == "Ask me for an invitation."


def _signup(app, admin, pseudonym: str, *, lang: str = "en"):
    token = accounts.create_invitation(by=admin, role=Role.MEMBER)[1]
    return post_form(app.test_client(), f"/invite/{token}?lang={lang}",
                     {**SIGNUP, "username": "newbie", "pseudonym": pseudonym})


def _field_error(html: str) -> str:
    match = re.search(r'class="error"[^>]*>([^<]+)<', html)
    assert match, "no field error on the page"
    return match.group(1)


# --- the audit log never shows Python's None ---------------------------------------------------------------

def test_a_personal_tokens_audit_entry_names_no_partner_hub(app, admin, member):
    api_tokens.create_personal(member, name="newsletter", days=None)
    accounts.set_project(member, None, by=admin)
    boss = _browser(app, admin.username)
    english = _visible(boss.get("/admin/audit?lang=en").get_data(as_text=True))
    chinese = _visible(boss.get("/admin/audit?lang=zh_Hans").get_data(as_text=True))
    assert "None" not in english and "None" not in chinese
    assert "partner hub:" not in english and "合作平台：" not in chinese
    assert "personal API token" in english and "个人 API 令牌" in chinese
    assert "project: No project" in english and "不属于任何项目" in chinese
