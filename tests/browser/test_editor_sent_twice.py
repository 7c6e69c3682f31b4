"""A new note's editor sent twice: the hub got the first autosave but its answer never reached the phone,
so the page still has no note id; the form sent next (Submit for review) carries the editor's key and
submits the draft that autosave made, instead of making a second note."""
from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from hub.extensions import db
from hub.models import Note
from hub.models.user import Role
from hub.services import accounts
from tests.helpers import PASSWORD, count

AUTOSAVE_DELAY = 4_000  # editor.js saves 4 s after the last keystroke


def _made(page, seconds: float = 10) -> int:
    """Wait until the hub holds a note; return how many it holds.

    The wait goes through the page: Playwright's sync API runs a route's handler (here the one that
    lets the autosave through) only while this thread is in one of its calls, so a plain sleep would
    hold back an autosave sent a moment after the clock moved, as on a loaded machine.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.expire_all()
        if count(Note):
            break
        page.wait_for_timeout(100)
    return count(Note)


def test_submit_after_an_autosave_whose_answer_was_lost_submits_that_one_note(open_as, live_hub):
    accounts.create_user(accounts.NewAccount("lin", "小林", PASSWORD), role=Role.CONTRIBUTOR)
    db.session.commit()
    author = open_as("lin", locale="zh-CN")
    author.clock.install()
    author.goto("/notes/new")
    key = author.locator("input[name=draft_key]").input_value()
    assert re.fullmatch(r"[\w-]{32}", key)

    def answer_lost(route):
        route.fetch()  # the hub saves the draft …
        route.abort("connectionreset")  # … and the phone never hears of it

    author.route("**/notes/autosave", answer_lost, times=1)
    author.locator("#title").fill("冬季外展")
    author.locator("#summary").fill("冬天夜里去车站做外展。")
    author.locator("#body").fill("我们带了热水和手套。")
    author.clock.fast_forward(AUTOSAVE_DELAY)
    assert _made(author) == 1
    editor = author.locator("#note-editor")
    expect(editor.locator(".autosave-status")).to_have_text(editor.get_attribute("data-msg-offline"))
    assert author.locator("input[name=note_id]").input_value() == ""  # the page does not know the draft

    author.locator("[name=submit_note]").click()
    expect(author).to_have_url(re.compile(r"/notes/\d+$"))
    db.session.expire_all()
    (note,) = db.session.scalars(db.select(Note)).all()
    assert author.url.endswith(f"/notes/{note.id}")
    assert note.state == "submitted" and note.draft_key == key and note.body == "我们带了热水和手套。"
    expect(author.locator(".flash").first).to_contain_text("已提交")
