"""On a phone, an editor opened before a moderator removed personal data says why it does not save, and keeps
the author's text on the page (autosave), or gives it back in the form ("Save"), in the author's language.
The pages' screenshots are kept in the test's temporary directory."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from hub.extensions import db
from hub.models import Note
from hub.models.user import Role
from hub.services import accounts, moderation, notes, vocabulary
from tests.helpers import PASSWORD, approve_checked

AUTOSAVE_DELAY = 4_000  # editor.js saves 4 s after the last keystroke
SAVE_WAIT = 12_000
NAME, PHONE = "王小明", "13800138000"
BODY = f"姓名：{NAME}，电话 {PHONE}。我们每周走两次。"
LEFT = "姓名：［已删除个人信息］，电话 ［已删除个人信息］。我们每周走两次。"
REFUSED = {"zh-CN": "你打开这个编辑器之后，审核员从这篇笔记中删除了个人信息",
           "en-GB": "A moderator removed personal data from this note after you opened this editor"}


@pytest.fixture
def note(live_hub) -> Note:
    """A published note of lin's that names someone, and a moderator (moder) to remove it."""
    vocabulary.seed()
    author = accounts.create_user(accounts.NewAccount("lin", "小林", PASSWORD), role=Role.CONTRIBUTOR)
    moderator = accounts.create_user(accounts.NewAccount("moder", "山风", PASSWORD), role=Role.MODERATOR)
    db.session.commit()
    draft = notes.create_draft(author=author, data=notes.NoteInput(
        title="夜间外展", summary="我们晚上发放纳洛酮。", body=BODY, language="zh_Hans", visibility="public"))
    return approve_checked(notes.submit(draft, by=author, confirm_privacy=True), by=moderator)


def _redact(note: Note) -> None:
    moderator = accounts.find_by_login("moder")
    moderation.redact_note(note, by=moderator, fields={"title": note.title, "summary": note.summary, "body": LEFT})


@pytest.mark.parametrize("locale", ["zh-CN", "en-GB"])
def test_a_stale_editor_says_why_it_does_not_save_and_keeps_the_text(open_as, note, locale, tmp_path):
    page = open_as("lin", locale=locale, viewport={"width": 390, "height": 844})
    page.clock.install()
    page.goto(f"/notes/{note.id}/edit")
    _redact(note)

    page.locator("#body").fill(BODY + "冬天也去。")
    page.clock.fast_forward(AUTOSAVE_DELAY)

    status = page.locator(".autosave-status")
    expect(status).to_contain_text(REFUSED[locale], timeout=SAVE_WAIT)
    expect(status.locator("a[target=_blank]")).to_have_attribute("href", re.compile(rf"/notes/{note.id}/edit$"))
    expect(page.locator("#body")).to_have_value(BODY + "冬天也去。")
    status.scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / f"autosave-refused-{locale}.png"))

    page.locator("#note-editor [name=save]").click()
    expect(page.locator("#note-editor")).to_contain_text(REFUSED[locale])
    expect(page.locator("#body")).to_have_value(BODY + "冬天也去。")
    page.screenshot(path=str(tmp_path / f"save-refused-{locale}.png"), full_page=True)
    db.session.expire_all()
    saved = db.session.get(Note, note.id)
    assert saved.pending is None and NAME not in saved.body


BEFORE_REDACTION = {"zh-CN": "其中可能仍有被删除的信息，所以不会放回编辑器。",
                    "en-GB": "It may still hold what was removed, so it is not put back into the editor."}
SAVED = {"zh-CN": "已保存", "en-GB": "Saved"}


@pytest.mark.parametrize("locale", ["zh-CN", "en-GB"])
def test_the_editor_opened_again_after_a_refusal_shows_the_old_copy_to_copy_from_and_saves(
        open_as, note, locale, tmp_path):
    """The device copy of a refused editor was typed before the removal: opened again, the editor never
    restores it (a save would be refused again, or put the name back), but shows it folded, under a warning."""
    page = open_as("lin", locale=locale, viewport={"width": 390, "height": 844})
    page.clock.install()
    page.goto(f"/notes/{note.id}/edit")
    _redact(note)
    page.locator("#body").fill(BODY + "冬天也去。")
    page.locator("#note-editor [name=save]").click()
    expect(page.locator("#redacted-meanwhile")).to_contain_text(REFUSED[locale])

    page.goto(f"/notes/{note.id}/edit")
    kept = page.locator("#copy-before-redaction")
    expect(kept).to_contain_text(BEFORE_REDACTION[locale])
    expect(page.locator("#body")).to_have_value(LEFT)  # the current text, nothing restored
    assert open_as.dialogs == []
    kept.locator("summary").click()
    expect(kept.locator("textarea")).to_have_value(BODY + "冬天也去。")
    assert kept.locator("textarea").get_attribute("name") is None  # never sent with the form
    page.screenshot(path=str(tmp_path / f"copy-before-redaction-{locale}.png"), full_page=True)

    page.locator("#body").fill(LEFT + "冬天也去。")
    page.clock.fast_forward(AUTOSAVE_DELAY)
    expect(page.locator(".autosave-status")).to_contain_text(SAVED[locale], timeout=SAVE_WAIT)
    db.session.expire_all()
    assert db.session.get(Note, note.id).pending.body == LEFT + "冬天也去。"

    page.reload()  # kept until the author deletes it
    kept.locator("button").click()
    expect(kept).to_have_count(0)
    page.reload()
    expect(page.locator("#body")).to_have_value(LEFT + "冬天也去。")
    expect(kept).to_have_count(0)
    assert open_as.dialogs == []
