"""Accessibility: axe-core finds no violation of moderate impact or worse on the main pages, in both languages."""
from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from hub import worker
from hub.extensions import db
from hub.models.user import Role
from hub.services import accounts, notes, projects, vocabulary
from tests.helpers import PASSWORD

AXE = Axe()


@pytest.fixture
def content(live_hub):
    vocabulary.seed()
    admin = accounts.create_user(accounts.NewAccount("ada", "管理员", PASSWORD), role=Role.ADMIN)
    project = projects.save(projects.ProjectData(slug="chengdu-peer-centre", name_zh="成都同伴支持服务中心",
                                                 name_en="Chengdu Peer Support Centre"), by=admin)
    author = accounts.create_user(accounts.NewAccount("lee", "小李", PASSWORD), role=Role.CONTRIBUTOR,
                                  project=project)
    db.session.commit()
    note = notes.create_draft(author=author, data=notes.NoteInput(
        title="门诊同伴值班", summary="我们在门诊安排同伴值班。", body="## 背景\n\n- 一\n- 二", visibility="public",
        term_ids=[vocabulary.by_slug("topic", "oat").id]))
    notes.submit(note, by=author, confirm_privacy=True)
    notes.approve(note, by=admin)
    worker.run_once(live_hub.app)
    return note


def _findings(page: Page) -> list[str]:
    """Return axe's violations of moderate, serious or critical impact (minor ones are advice)."""
    results = AXE.run(page)
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])})" for v in results.response["violations"]
            if v["impact"] in ("moderate", "serious", "critical")]


@pytest.mark.parametrize("lang", ["zh_Hans", "en"])
def test_public_pages_have_no_accessibility_violations(phone: Page, content, lang):
    problems = {}
    for path in ["/", "/notes", f"/notes/{content.id}", "/search?q=美沙酮", "/projects", "/login", "/nope"]:
        phone.goto(f"{path}{'&' if '?' in path else '?'}lang={lang}")
        found = _findings(phone)
        if found:
            problems[path] = found
    assert problems == {}


def test_signed_in_pages_have_no_accessibility_violations(desktop: Page, content):
    desktop.goto("/login?lang=en")
    desktop.get_by_label("Username or e-mail").fill("ada")
    desktop.get_by_label("Password").fill(PASSWORD)
    desktop.get_by_role("button", name="Sign in").click()
    problems = {}
    for path in ["/notes/new", "/account", "/admin/users", "/admin/invitations", "/moderation", "/translations",
                 "/admin/vocabulary"]:
        desktop.goto(path)
        found = _findings(desktop)
        if found:
            problems[path] = found
    assert problems == {}
