"""Buttons drawn as links (remove a comment, withdraw an invitation) can be seen on the page's white."""
from __future__ import annotations

import sqlalchemy as sa

from hub import demo
from hub.extensions import db
from hub.models.note import Note
from hub.services import accounts, discussion
from tests.browser.test_crawl import PHONE
from tests.helpers import sign_in

WHITE = "rgb(255, 255, 255)"


def test_a_moderators_remove_comment_is_not_white_on_white(browser, live_hub):
    demo.load()
    note = db.session.scalars(sa.select(Note).where(Note.state == "published", Note.visibility == "public")).first()
    discussion.add_comment(note, by=accounts.find_by_login("partner"), body="We tried this too, thank you.")
    context = browser.new_context(viewport=PHONE, locale="zh-CN", base_url=live_hub.url)
    page = context.new_page()
    sign_in(page, "moderator", demo.PASSWORD)
    page.goto(f"/notes/{note.id}")
    remove = page.locator("section.comments button.link")
    assert remove.inner_text() == "删除评论"
    colour = remove.evaluate("b => getComputedStyle(b).color")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert colour != WHITE and background in (WHITE, "rgba(0, 0, 0, 0)"), (colour, background)
    context.close()
