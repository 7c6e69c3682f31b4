"""The editor's heading follows the note: a new note, once its first autosave made it a draft, is
headed (page and tab) as the draft's own editor page is."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from hub.extensions import db
from hub.models.user import Role
from hub.services import accounts
from tests.helpers import PASSWORD

AUTOSAVE_DELAY = 4_000  # editor.js saves 4 s after the last keystroke
SAVE_WAIT = 12_000


@pytest.mark.parametrize("locale, new, saved", [("zh-CN", "写笔记", "编辑笔记 草稿"), ("en-GB", "Write a note", "Edit note draft")])
def test_a_new_notes_heading_becomes_the_drafts_after_the_first_autosave(open_as, live_hub, locale, new, saved):
    accounts.create_user(accounts.NewAccount("lin", "小林", PASSWORD), role=Role.CONTRIBUTOR)
    db.session.commit()
    author = open_as("lin", locale=locale)
    author.clock.install()
    author.goto("/notes/new")
    heading = author.locator("h1#editor-heading")
    expect(heading).to_have_text(new)
    site = author.title().split("\u2069", 1)[1]  # " · hub name", after the isolated heading
    author.locator("#title").fill("冬季外展")
    with author.expect_response(lambda r: r.url.endswith("/notes/autosave"), timeout=SAVE_WAIT) as answer:
        author.clock.fast_forward(AUTOSAVE_DELAY)
    assert answer.value.ok
    expect(author).to_have_url(re.compile(r"/notes/\d+/edit$"))
    expect(heading).to_have_text(saved)
    expect(heading.locator(".badge.state-draft")).to_have_count(1)
    expect(author).to_have_title(f"\u2068{saved.rsplit(' ', 1)[0]}\u2069{site}")

    # What the script wrote is what the server writes for the draft's own page.
    shown = (heading.inner_html(), author.title())
    author.reload()
    expect(heading).to_have_text(saved)
    assert (heading.inner_html().strip(), author.title()) == (shown[0].strip(), shown[1])
