"""A newcomer joins from an invitation, switches language and edits the profile; an admin changes a role."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from hub.extensions import db
from hub.models.user import Role, User
from hub.services import accounts, projects
from tests.helpers import PASSWORD


def _admin_and_invitation(locale: str) -> str:
    admin = accounts.create_user(accounts.NewAccount("ada", "管理员", PASSWORD), role=Role.ADMIN)
    project = projects.save(projects.ProjectData(slug="chengdu-peer-centre", name_zh="成都同伴支持服务中心",
                                                 name_en="Chengdu Peer Support Centre"), by=admin)
    db.session.commit()
    return accounts.create_invitation(by=admin, role=Role.CONTRIBUTOR, project=project)[1]


def _sign_up(page: Page, token: str, labels: dict[str, str]) -> None:
    page.goto(f"/invite/{token}")
    page.get_by_label(labels["username"]).fill("newpeer")
    page.get_by_label(labels["pseudonym"]).fill("新同伴")
    page.get_by_label(labels["password"], exact=True).fill("a long password")
    page.get_by_label(labels["confirm"]).fill("a long password")
    page.get_by_role("button", name=labels["submit"]).click()


ZH = {"username": "用户名", "pseudonym": "化名", "password": "密码", "confirm": "再次输入密码", "submit": "创建账号"}
EN = {"username": "Username", "pseudonym": "Pseudonym", "password": "Password", "confirm": "Password again",
      "submit": "Create account"}


def test_newcomer_joins_in_chinese_on_a_phone_and_switches_to_english(phone: Page, live_hub):
    token = _admin_and_invitation("zh_Hans")
    _sign_up(phone, token, ZH)
    expect(phone.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(phone.get_by_role("heading", level=1)).to_have_text("我的账号")
    phone.get_by_role("link", name="English").click()
    expect(phone.locator("html")).to_have_attribute("lang", "en")
    expect(phone.get_by_role("heading", level=1)).to_have_text("My account")
    phone.get_by_label("About me (optional)").fill("Peer educator, outreach in Chengdu.")
    phone.get_by_label("Time zone").select_option("Asia/Shanghai")
    phone.get_by_role("button", name="Save").click()
    expect(phone.get_by_role("status")).to_contain_text("Your profile is saved.")
    user = accounts.find_by_login("newpeer")
    db.session.refresh(user)
    assert (user.role, user.timezone, user.bio) == ("contributor", "Asia/Shanghai",
                                                     "Peer educator, outreach in Chengdu.")
    # The page fits a 360-px phone: nothing wider than the viewport.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360


def test_newcomer_joins_in_english_and_switches_to_chinese(desktop: Page, live_hub):
    token = _admin_and_invitation("en")
    _sign_up(desktop, token, EN)
    expect(desktop.get_by_role("heading", level=1)).to_have_text("My account")
    desktop.get_by_label("Pseudonym (shown to others)").fill("Peer Li")
    desktop.get_by_role("combobox", name="Language").select_option("zh_Hans")
    desktop.get_by_role("button", name="Save").click()
    expect(desktop.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(desktop.get_by_role("status")).to_contain_text("已保存")
    expect(desktop.get_by_role("navigation", name="主导航")).to_contain_text("Peer Li")


def test_invalid_signup_shows_field_errors_in_chinese(phone: Page, live_hub):
    token = _admin_and_invitation("zh_Hans")
    phone.goto(f"/invite/{token}")
    phone.get_by_label(ZH["username"]).fill("x")
    phone.get_by_role("button", name=ZH["submit"]).click()
    expect(phone.locator(".form-errors")).to_be_visible()
    expect(phone.get_by_label(ZH["username"])).to_have_attribute("aria-invalid", "true")
    expect(phone.locator(".error").first).to_contain_text(re.compile(r"[\u4e00-\u9fff]"))


def test_admin_changes_a_role(desktop: Page, live_hub):
    _admin_and_invitation("en")
    member = accounts.create_user(accounts.NewAccount("mary", "Mary P", PASSWORD))
    db.session.commit()
    desktop.goto("/login")
    desktop.get_by_label("Username or e-mail").fill("ada")
    desktop.get_by_label("Password").fill(PASSWORD)
    desktop.get_by_role("button", name="Sign in").click()
    desktop.get_by_role("link", name="Administration").click()
    desktop.get_by_role("link", name="Mary P").click()
    desktop.get_by_label("Role").select_option("moderator")
    desktop.get_by_role("button", name="Change role").click()
    expect(desktop.get_by_role("status")).to_contain_text("Role changed.")
    db.session.expire_all()
    assert db.session.get(User, member.id).role == "moderator"
    desktop.get_by_role("link", name="Audit log").click()
    expect(desktop.locator("table")).to_contain_text("Role changed")  # the action named, not its code
    expect(desktop.locator("table")).to_contain_text("after: moderator")


def test_keyboard_user_can_skip_to_content(desktop: Page, live_hub):
    desktop.goto("/")
    desktop.keyboard.press("Tab")
    expect(desktop.get_by_role("link", name="Skip to content")).to_be_focused()
