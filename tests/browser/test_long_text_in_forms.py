"""Text at a field's limit, as Chromium lets a person write it, is accepted; text refused comes back.

A comment of ten paragraphs of 499 characters is 4,999 characters for the textarea's
``maxlength="5000"`` (a line break counts once) but 5,008 once sent (CRLF). Pages are driven
through stable selectors (field names, form actions); assertions are on what the person wrote.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from hub.extensions import db
from hub.models import Comment
from hub.models.user import Role
from hub.services import accounts, notes
from tests.helpers import PASSWORD, sign_in

PHONE_VIEWPORT = {"width": 390, "height": 844}
TEN_PARAGRAPHS = "\n".join(["我们每周两次在夜间外展。" * 41 + "我们一起去药房"] * 10)  # 10 × 499 characters


@pytest.fixture
def note_id(live_hub) -> int:
    """A published note of a contributor's; a moderator and a member (mary) to comment."""
    author = accounts.create_user(accounts.NewAccount("lin", "小林", PASSWORD), role=Role.CONTRIBUTOR)
    moderator = accounts.create_user(accounts.NewAccount("wang", "审核员王", PASSWORD), role=Role.MODERATOR)
    accounts.create_user(accounts.NewAccount("mary", "玛丽", PASSWORD), role=Role.MEMBER)
    note = notes.create_draft(author=author, data=notes.NoteInput(
        title="社区药房合作发放纳洛酮", summary="夜间也能领取纳洛酮。", body="药房店长愿意在柜台放宣传单。",
        visibility="members"))
    notes.approve(notes.submit(note, by=author, confirm_privacy=True), by=moderator)
    db.session.commit()
    return note.id


@pytest.fixture
def member_page(browser: Browser, live_hub, note_id) -> Iterator[Page]:
    """A 390-px page asking for Chinese, signed in as a member."""
    context = browser.new_context(viewport=PHONE_VIEWPORT, locale="zh-CN", base_url=live_hub.url)
    page = context.new_page()
    sign_in(page, "mary")
    yield page
    context.close()


def test_a_comment_of_ten_paragraphs_at_the_browsers_limit_is_posted(note_id, member_page):
    page = member_page
    page.goto(f"/notes/{note_id}")
    box = page.locator("form[action$='/comments'] textarea[name=body]")
    box.fill(TEN_PARAGRAPHS)
    assert box.evaluate("el => [el.value.length, el.maxLength, el.validity.valid]") == [4999, 5000, True]
    page.locator("form[action$='/comments'] [type=submit]").click()
    expect(page.locator(".flash-info")).to_contain_text("评论已发表")
    db.session.expire_all()
    assert db.session.scalar(sa.select(Comment.body)) == TEN_PARAGRAPHS


def test_a_refused_comment_comes_back_in_its_box_with_the_reason(note_id, member_page):
    page = member_page
    page.goto(f"/notes/{note_id}")
    too_long = TEN_PARAGRAPHS + "\n" + "还有一段。" * 20  # 5,100 characters
    box = page.locator("form[action$='/comments'] textarea[name=body]")
    box.evaluate("(el, text) => { el.value = text; }", too_long)  # as a browser without maxlength would send it
    page.locator("form[action$='/comments'] [type=submit]").click()
    box = page.locator("#body")
    expect(box).to_have_value(too_long)
    expect(box).to_be_focused()  # the page opens at the box, its error beside it
    expect(page.locator("#body-error")).to_contain_text("5000")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 0
