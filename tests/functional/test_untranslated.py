"""Every page a member, a moderator and an admin reach is in Chinese when they chose Chinese.

The crawler follows the hub's own links from the home page and reads the visible text, leaving out
what is marked as another language (lang="en": the language switcher, English notes). Any English
interface string from the catalogue found there is a string that escaped translation.
"""
from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest

from hub import worker
from hub.models.user import Role
from hub.services import discussion, notes, translations, vocabulary
from tests.page_text import VisibleText, english_interface_strings

SKIP_PATHS = ("/static/", "/logout", "/api/")


def _crawl(client, start: list[str], limit: int = 80) -> dict[str, str]:
    seen: dict[str, str] = {}
    queue = list(start)
    while queue and len(seen) < limit:
        url = queue.pop(0)
        path = urlsplit(url).path
        if url in seen or any(path.startswith(p) for p in SKIP_PATHS):
            continue
        response = client.get(url)
        if response.status_code != 200 or not response.mimetype == "text/html":
            seen[url] = ""
            continue
        page = VisibleText()
        page.feed(response.get_data(as_text=True))
        seen[url] = " ".join(page.text)
        for link in page.links:
            target = urljoin(url, link)
            parts = urlsplit(target)
            if parts.netloc in ("", "hub.test", "localhost") and "lang=" not in parts.query:
                queue.append(parts.path + ("?" + parts.query if parts.query else ""))
    return seen


@pytest.fixture
def content(app, contributor, moderator, member, make_user):
    """Chinese content in every state a reader may meet."""
    vocabulary.seed()
    published = notes.create_draft(author=contributor, data=notes.NoteInput(
        title="门诊同伴值班", summary="我们在门诊安排同伴值班。", body="## 背景\n\n服务对象常常服药后就离开。",
        visibility="members", term_ids=[vocabulary.by_slug("topic", "oat").id]))
    notes.submit(published, by=contributor, confirm_privacy=True)
    notes.approve(published, by=moderator, featured=True)
    discussion.add_comment(published, by=member, body="我们也这样做过。")
    notes.flag(published, by=member, reason="wrong", detail="数字不对")
    waiting = notes.create_draft(author=contributor, data=notes.NoteInput(title="待审核的笔记", summary="摘要",
                                                                             body="正文 13812345678"))
    notes.submit(waiting, by=contributor, confirm_privacy=True)
    translator = make_user("tina", role=Role.CONTRIBUTOR, pseudonym="蒂娜")
    translations.start(published, by=translator, language="en")
    worker.run_once(app)
    return published


@pytest.mark.parametrize("who", ["member", "contributor", "moderator", "admin"])
def test_pages_show_no_english_interface_strings_in_chinese(request, client, login_as, content, who):
    user = request.getfixturevalue(who)
    client.get("/?lang=zh_Hans")
    login_as(user)
    pages = _crawl(client, ["/", f"/notes/{content.id}", "/search?q=同伴", "/account", "/account/notifications",
                            "/moderation", "/moderation/flags", f"/moderation/notes/{content.id}", "/translations",
                            "/notes/new", "/notes/mine", "/admin/users", "/admin/audit", "/admin/vocabulary",
                            "/admin/sensitive-words", "/admin/invitations", "/no/such/page"])
    english = english_interface_strings()
    leaks = {url: sorted(s for s in english if s in text) for url, text in pages.items()}
    leaks = {url: found for url, found in leaks.items() if found}
    assert len(pages) > 8
    assert leaks == {}
