"""My notes on a phone: each note a card, its state a badge of its own width (it stretched across the card)."""
from __future__ import annotations

import pytest

from hub.extensions import db
from hub.models.user import Role
from hub.services import accounts, notes
from tests.helpers import PASSWORD


@pytest.mark.parametrize("locale", ["zh-CN", "en-GB"])
def test_a_notes_state_is_a_badge_not_a_bar_across_the_card(live_hub, open_as, locale):
    peer = accounts.create_user(accounts.NewAccount("peer", "小李", PASSWORD), role=Role.CONTRIBUTOR)
    db.session.commit()
    notes.create_draft(author=peer, data=notes.NoteInput(title="夜间外展", summary="一次尝试。", body="正文"))
    page = open_as("peer", locale=locale, viewport={"width": 390, "height": 844})
    page.goto("/notes/mine")
    badge = page.locator("table.stacked td .badge").first
    cell = badge.locator("xpath=ancestor::td[1]")
    assert badge.bounding_box()["width"] < cell.bounding_box()["width"] / 3
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
