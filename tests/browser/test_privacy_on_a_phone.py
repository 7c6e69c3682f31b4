"""Each path of issue 12 on a 390-px phone in Chinese: a comment with a phone number waits, an edit of
a published note waits while the old text stays, a moderator cannot publish without ticking the
findings, and redaction removes the number from the page, the history and search.

(The partner hub's copy is checked with real peer hubs in tests/federation/test_hubs.py.)
Pages are driven through stable selectors (field names, form actions); the Chinese interface
is asserted where a person would read it.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from hub import worker
from hub.extensions import db
from hub.models import Comment, Note, SensitiveWord
from hub.models.user import Role
from hub.services import accounts, notes
from tests.helpers import PASSWORD, approve_checked, sign_in

PHONE_VIEWPORT = {"width": 390, "height": 844}
NUMBER = "138 1234 5678"
TITLE = "社区药房合作发放纳洛酮"
SUMMARY = "我们和两家社区药房合作，夜间也能领取纳洛酮。"
BODY = "第一次外展时，药房店长愿意在柜台放宣传单。\n\n有需要的同伴可以先到外展点预约。"


@pytest.fixture
def open_as(browser: Browser, live_hub) -> Iterator[Callable[..., Page]]:
    """Return ``open_as(username)``: a 390-px page asking for Chinese, signed in unless None."""
    contexts = []

    def open_page(username: str | None) -> Page:
        context = browser.new_context(viewport=PHONE_VIEWPORT, locale="zh-CN", base_url=live_hub.url)
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        if username:
            sign_in(page, username)
        return page

    yield open_page
    for context in contexts:
        context.close()


def _people() -> None:
    for username, pseudonym, role in (("lin", "小林", Role.CONTRIBUTOR), ("wang", "审核员王", Role.MODERATOR),
                                      ("mary", "玛丽", Role.MEMBER)):
        accounts.create_user(accounts.NewAccount(username, pseudonym, PASSWORD), role=role)
    db.session.commit()


def _note(*, body: str = BODY, publish: bool = True) -> int:
    author, moderator = accounts.find_by_login("lin"), accounts.find_by_login("wang")
    note = notes.create_draft(author=author, data=notes.NoteInput(title=TITLE, summary=SUMMARY, body=body,
                                                                  visibility="public"))
    notes.submit(note, by=author, confirm_privacy=True)
    if publish:
        approve_checked(note, by=moderator)
    return note.id


def _fresh(model, ident):
    db.session.expire_all()
    return db.session.get(model, ident)


def _fits_phone(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"], page.url


def test_a_comment_with_a_phone_number_waits_for_a_moderator(open_as, live_hub):
    _people()
    note_id = _note()
    member = open_as("mary")
    member.goto(f"/notes/{note_id}")
    form = member.locator(f"form[action$='/notes/{note_id}/comments']")
    form.locator("textarea[name=body]").fill(f"我们也试过，可以打 {NUMBER} 找我。")
    form.locator("[type=submit]").click()
    expect(member.locator("section.finding mark")).to_have_text(NUMBER)  # warned first
    expect(member.locator("main h1")).to_have_text("隐私检查")
    _fits_phone(member)
    member.locator("input[name=confirm_privacy]").check()
    member.locator("main form [type=submit]").click()
    expect(member).to_have_url(re.compile(rf"/notes/{note_id}$"))
    expect(member.locator(".flashes")).to_contain_text("等待审核员检查")
    expect(member.locator("article.comment-held")).to_contain_text(NUMBER)  # the writer sees it, marked
    _fits_phone(member)
    (comment,) = db.session.scalars(sa.select(Comment)).all()
    assert comment.state == "held"

    visitor = open_as(None)
    visitor.goto(f"/notes/{note_id}")
    expect(visitor.locator(".comments")).not_to_contain_text("138")

    moderator = open_as("wang")
    moderator.goto("/moderation/comments")
    held = moderator.locator(f"#held-{comment.id}")
    expect(held.locator("mark")).to_have_text(NUMBER)
    expect(held).to_contain_text("138****5678")
    _fits_phone(moderator)
    held.locator("input[value=keep]").check()
    held.locator(f"form[action$='/comments/{comment.id}/release'] [type=submit]").click()
    expect(moderator.locator(".flashes")).to_contain_text("评论已发布")
    visitor.goto(f"/notes/{note_id}")
    expect(visitor.locator(".comments")).to_contain_text(NUMBER)


def test_an_edit_of_a_published_note_waits_while_the_old_text_stays(open_as, live_hub):
    _people()
    note_id = _note()
    author = open_as("lin")
    author.goto(f"/notes/{note_id}/edit")
    expect(author.locator("#published-edit-notice")).to_contain_text("读者看到的是已发布的内容")
    save = author.locator("#note-editor [name=save]")
    expect(save).to_have_value("提交修改供审核")
    _fits_phone(author)
    author.locator("#body").fill(BODY + "\n\n现在每周五晚上也开放。")
    save.click()
    expect(author).to_have_url(re.compile(rf"/notes/{note_id}$"))
    expect(author.locator(".flashes")).to_contain_text("你的修改正在等待审核员")

    visitor = open_as(None)
    visitor.goto(f"/notes/{note_id}")
    expect(visitor.locator(".note-body")).to_contain_text("外展点预约")
    expect(visitor.locator(".note-body")).not_to_contain_text("每周五")
    assert "每周五" not in _fresh(Note, note_id).body

    moderator = open_as("wang")
    moderator.goto("/moderation/changes")
    moderator.locator(f"a[href$='/moderation/notes/{note_id}/changes']").click()
    expect(moderator.locator("pre.diff ins").last).to_have_text("+ 现在每周五晚上也开放。")
    _fits_phone(moderator)
    moderator.locator("form[action$='/changes/accept'] [type=submit]").click()
    expect(moderator.locator(".flashes")).to_contain_text("修改已发布")
    visitor.goto(f"/notes/{note_id}")
    expect(visitor.locator(".note-body")).to_contain_text("每周五")


def test_a_moderator_cannot_publish_without_ticking_each_finding(open_as, live_hub):
    _people()
    note_id = _note(body=f"{BODY}\n\n联系电话 {NUMBER}，微信 peer_cd85。", publish=False)
    moderator = open_as("wang")
    moderator.goto(f"/moderation/notes/{note_id}")
    approve = moderator.locator("form[action$='/approve']")
    expect(approve.locator(".finding-choice")).to_have_count(2)
    expect(approve).to_contain_text("138****5678")
    _fits_phone(moderator)
    approve.locator("[type=submit]").click()  # the browser asks for a choice first
    assert _fresh(Note, note_id).state == "submitted"
    # Without the page's own check (an old browser, a crafted request) the hub refuses it too.
    approve.locator("input[type=radio]").evaluate_all("(inputs) => inputs.forEach((i) => { i.required = false; })")
    approve.locator("input[value=keep]").first.check()
    approve.locator("[type=submit]").click()
    expect(moderator.locator(".flashes")).to_contain_text("还剩 1 条")
    assert _fresh(Note, note_id).state == "submitted"
    approve = moderator.locator("form[action$='/approve']")
    for choice in approve.locator("input[value=keep]").all():
        choice.check()
    approve.locator("[type=submit]").click()
    expect(moderator).to_have_url(re.compile(r"/moderation$"))
    assert _fresh(Note, note_id).state == "published"


def test_redaction_removes_the_number_from_the_page_history_and_search(open_as, live_hub):
    _people()
    db.session.add(SensitiveWord(word="阿芳"))
    db.session.commit()
    note_id = _note(body=f"{BODY}\n\n阿芳负责接电话：{NUMBER}。")
    worker.run_once(live_hub.app)
    visitor = open_as(None)
    visitor.goto("/search?q=阿芳")
    expect(visitor.locator(f"a[href$='/notes/{note_id}']").first).to_be_visible()

    moderator = open_as("wang")
    moderator.goto(f"/moderation/notes/{note_id}/redact")
    expect(moderator.locator(".privacy-findings mark").first).to_be_visible()
    _fits_phone(moderator)
    moderator.locator("#body").fill(f"{BODY}\n\n请到外展点咨询。")
    moderator.locator("main form [type=submit]").click()
    expect(moderator).to_have_url(re.compile(rf"/notes/{note_id}$"))
    expect(moderator.locator(".flashes")).to_contain_text("已从笔记及")
    worker.run_once(live_hub.app)

    visitor.goto(f"/notes/{note_id}")
    expect(visitor.locator("article.note")).not_to_contain_text("138")
    expect(visitor.locator("article.note")).not_to_contain_text("阿芳")
    moderator.goto(f"/notes/{note_id}/history")
    expect(moderator.locator(".redacted-marker").first).to_be_visible()
    expect(moderator.locator("main")).not_to_contain_text("1234")
    expect(moderator.locator("main")).not_to_contain_text("阿芳")
    _fits_phone(moderator)
    visitor.goto("/search?q=阿芳")
    expect(visitor.locator(f"a[href$='/notes/{note_id}']")).to_have_count(0)
    visitor.goto("/search?q=13812345678")
    expect(visitor.locator(f"a[href$='/notes/{note_id}']")).to_have_count(0)
    assert all("1234" not in r.body for r in _fresh(Note, note_id).revisions)
