"""A member edits their own comment in a browser: on a phone in Chinese, and on a desktop in English.

The regretted phone number goes from the page; the comment is marked "edited" with its time. The
pages' screenshots are kept in the test's temporary directory.
"""
from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from hub.extensions import db
from hub.models import Comment, Note
from hub.services import accounts, discussion, screening
from tests.browser.test_privacy_on_a_phone import PHONE_VIEWPORT, NUMBER, _fits_phone, _note, _people


def _release_all() -> None:
    """Show every held comment, as a moderator who ticked each finding as checked."""
    moderator = accounts.find_by_login("wang")
    for comment in db.session.scalars(sa.select(Comment).where(Comment.state == "held")):
        discussion.release(comment, by=moderator, checked=[screening.key(f) for f in discussion.findings(comment)])


def test_a_member_edits_a_regretted_phone_number_out_of_their_comment_on_a_phone(open_as, live_hub, tmp_path):
    _people()
    note_id = _note()
    member = open_as("mary", viewport=PHONE_VIEWPORT)
    member.goto(f"/notes/{note_id}")
    form = member.locator(f"form[action$='/notes/{note_id}/comments']")
    form.locator("textarea[name=body]").fill(f"我们也试过，可以打 {NUMBER} 找我。")
    form.locator("[type=submit]").click()
    member.locator("input[name=confirm_privacy]").check()
    member.locator("main form [type=submit]").click()
    _release_all()

    member.goto(f"/notes/{note_id}")
    comment = db.session.scalar(sa.select(Comment))
    member.locator(f"#comment-{comment.id} .comment-actions a").click()
    expect(member.locator("main h1")).to_have_text("修改你的评论")
    expect(member.locator("textarea[name=body]")).to_have_value(f"我们也试过，可以打 {NUMBER} 找我。")
    _fits_phone(member)
    member.screenshot(path=str(tmp_path / "edit-form-phone-zh_Hans.png"), full_page=True)
    member.locator("textarea[name=body]").fill("我们也试过，想联系我请找中心。")
    member.locator("main form [type=submit]").click()
    expect(member).to_have_url(re.compile(rf"/notes/{note_id}#comment-{comment.id}$"))
    expect(member.locator(".flashes")).to_contain_text("你的评论已修改")
    expect(member.locator(f"#comment-{comment.id} .edited")).to_contain_text("修改于")
    _fits_phone(member)
    member.screenshot(path=str(tmp_path / "note-after-edit-phone-zh_Hans.png"), full_page=True)

    visitor = open_as(None, viewport=PHONE_VIEWPORT)
    visitor.goto(f"/notes/{note_id}")
    expect(visitor.locator(".comments")).to_contain_text("想联系我请找中心")
    expect(visitor.locator(".comments")).not_to_contain_text("138")
    expect(visitor.locator(f"#comment-{comment.id} .comment-actions")).to_have_count(0)


def test_an_edit_with_personal_data_is_checked_first_in_english(open_as, live_hub, tmp_path):
    _people()
    note_id = _note()
    comment = discussion.add_comment(db.session.get(Note, note_id),
                                     by=accounts.find_by_login("mary"), body="We tried this too.")
    member = open_as("mary", locale="en-GB", viewport={"width": 1280, "height": 900})
    member.goto(f"/notes/{note_id}?lang=en")
    member.locator(f"#comment-{comment.id} .comment-actions a").click()
    expect(member.locator("main h1")).to_have_text("Edit your comment")
    member.screenshot(path=str(tmp_path / "edit-form-desktop-en.png"), full_page=True)
    member.locator("textarea[name=body]").fill(f"We tried this too. Call {NUMBER}.")
    member.locator("main form [type=submit]").click()
    expect(member.locator("section.finding mark")).to_have_text(NUMBER)
    member.screenshot(path=str(tmp_path / "edit-privacy-check-desktop-en.png"), full_page=True)
    member.locator("input[name=confirm_privacy]").check()
    member.locator("main form [type=submit]").click()
    expect(member.locator(".flashes")).to_contain_text("waits for a moderator")
    expect(member.locator(f"article.comment-held#comment-{comment.id}")).to_contain_text(NUMBER)
    member.screenshot(path=str(tmp_path / "note-after-held-edit-desktop-en.png"), full_page=True)
