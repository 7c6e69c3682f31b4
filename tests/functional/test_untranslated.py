"""Every page a member, a moderator and an admin reach is in Chinese when they chose Chinese.

The crawler follows the hub's own links from the home page and reads the visible text, leaving out
what is marked as another language (lang="en": the language switcher, English notes). Any English
interface string from the catalogue found there is a string that escaped translation.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from babel.messages.pofile import read_po

from hub import worker
from hub.models.user import Role
from hub.services import discussion, notes, translations, vocabulary

ROOT = Path(__file__).resolve().parents[2]
SKIP_PATHS = ("/static/", "/logout", "/api/")


def _english_interface_strings() -> set[str]:
    """Return catalogue strings that must not appear untranslated: two words or more, Latin letters."""
    with (ROOT / "translations" / "zh_Hans" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    found = set()
    for message in catalog:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text, translated in zip(ids, strings):
            plain = re.sub(r"%\(\w+\)[sd]|%[sd]", "", text or "").strip()
            if len(plain.split()) >= 2 and re.search(r"[A-Za-z]{3}", plain) and plain != translated:
                found.add(plain.split("%")[0].strip())
    return {s for s in found if len(s) >= 8}


class _Page(HTMLParser):
    """Collect visible text outside lang="en" elements, and same-site links."""

    VOID = {"br", "img", "input", "meta", "link", "hr", "source", "area", "col", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.links: list[str] = []
        self._stack: list[bool] = []  # True where the element (or an ancestor) is another language
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        for name in ("placeholder", "aria-label", "title", "value"):
            if attrs.get(name) and not (self._stack and self._stack[-1]) and not attrs.get("lang", "").startswith("en"):
                if tag != "input" or attrs.get("type") in ("submit", "button", None) or name != "value":
                    self.text.append(attrs[name])
        if tag in self.VOID:
            return
        foreign = (self._stack[-1] if self._stack else False) or attrs.get("lang", "").startswith("en")
        self._stack.append(foreign)
        if tag in ("script", "style", "code", "pre"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if self._stack:
            self._stack.pop()
        if tag in ("script", "style", "code", "pre") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and not (self._stack and self._stack[-1]) and data.strip():
            self.text.append(data)


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
        page = _Page()
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
    english = _english_interface_strings()
    leaks = {url: sorted(s for s in english if s in text) for url, text in pages.items()}
    leaks = {url: found for url, found in leaks.items() if found}
    assert len(pages) > 8
    assert leaks == {}
