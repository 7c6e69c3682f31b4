"""Links in mails lead a person to the right signed-in page: an invitation on a phone, a comment on a desktop.

The hub sends to the test's SMTP server (aiosmtpd); the browser opens the links as they arrived.
"""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from hub import worker
from hub.extensions import db
from hub.models.user import Role
from hub.services import accounts, discussion, notes, projects
from tests.helpers import PASSWORD
from tests.smtp import text_of

LINK = re.compile(r"https?://[^\s\"<>]+")


def _send_mail_through(live_hub, smtp_server) -> None:
    """Point the live hub's mail at the test's SMTP server and its links at the live address."""
    live_hub.app.config.update(smtp_server.config(), BASE_URL=live_hub.url)


def _deliver(app) -> None:
    for _ in range(5):
        if not worker.run_once(app):
            return


def _mailed_link(smtp_server, address: str, part: str) -> str:
    [message] = smtp_server.to(address)
    return next(url for url in LINK.findall(text_of(message)) if part in url)


def test_an_invitation_mailed_in_chinese_opens_sign_up_and_ends_signed_in(phone: Page, live_hub, smtp_server):
    _send_mail_through(live_hub, smtp_server)
    admin = accounts.create_user(accounts.NewAccount("ada", "管理员", PASSWORD), role=Role.ADMIN)
    db.session.commit()
    accounts.create_invitation(by=admin, role=Role.CONTRIBUTOR, email="newpeer@example.net", locale="zh_Hans")
    _deliver(live_hub.app)
    link = _mailed_link(smtp_server, "newpeer@example.net", "/invite/")
    assert link.startswith(live_hub.url)
    phone.goto(link)
    phone.get_by_label("用户名").fill("newpeer")
    phone.get_by_label("化名").fill("新同伴")
    phone.get_by_label("密码", exact=True).fill("a long password")
    phone.get_by_label("再次输入密码").fill("a long password")
    phone.get_by_role("button", name="创建账号").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("我的账号")
    expect(phone.get_by_role("navigation", name="主导航")).to_contain_text("新同伴")


def test_a_comment_mail_leads_through_sign_in_to_the_note(desktop: Page, live_hub, smtp_server):
    _send_mail_through(live_hub, smtp_server)
    project = projects.save(projects.ProjectData(slug="chengdu-peer-centre", name_zh="成都同伴支持服务中心",
                                                 name_en="Chengdu Peer Support Centre"), by=None)
    writer = accounts.create_user(accounts.NewAccount("lee", "Lee", PASSWORD, email="lee@example.org", locale="en"),
                                  role=Role.CONTRIBUTOR, project=project)
    moderator = accounts.create_user(accounts.NewAccount("moder", "Moder", PASSWORD), role=Role.MODERATOR)
    reader = accounts.create_user(accounts.NewAccount("mary", "Mary", PASSWORD))
    db.session.commit()
    note = notes.create_draft(author=writer, data=notes.NoteInput(
        title="Evening drop-in", summary="Who came, and why.", body="Members only text.", language="en"))
    notes.approve(notes.submit(note, by=writer, confirm_privacy=True), by=moderator)
    discussion.add_comment(note, by=reader, body="We tried this too.")
    _deliver(live_hub.app)
    comment_mail = next(m for m in smtp_server.to("lee@example.org") if "comment" in m["Subject"])
    link = next(url for url in LINK.findall(text_of(comment_mail)) if "/mail/notes/" in url)
    desktop.goto(link)
    expect(desktop.get_by_role("heading", level=1)).to_have_text("Sign in")
    desktop.get_by_label("Username or e-mail").fill("lee")
    desktop.get_by_label("Password").fill(PASSWORD)
    desktop.get_by_role("button", name="Sign in").click()
    expect(desktop.get_by_role("heading", level=1)).to_have_text("Evening drop-in")
    expect(desktop.get_by_text("We tried this too.")).to_be_visible()
