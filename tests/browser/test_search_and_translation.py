"""Searching in Chinese on a phone, narrowing by topic; switching language to read a translated note."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from hub import worker
from hub.extensions import db
from hub.models.user import Role
from hub.services import accounts, notes, translations, vocabulary
from tests.helpers import PASSWORD


def _people():
    vocabulary.seed()
    author = accounts.create_user(accounts.NewAccount("lee", "小李", PASSWORD), role=Role.CONTRIBUTOR)
    translator = accounts.create_user(accounts.NewAccount("tina", "Tina", PASSWORD), role=Role.CONTRIBUTOR)
    moderator = accounts.create_user(accounts.NewAccount("moder", "山风", PASSWORD), role=Role.MODERATOR)
    db.session.commit()
    return author, translator, moderator


def _publish(author, moderator, title, body, topics=(), language="zh_Hans"):
    term_ids = [vocabulary.by_slug("topic", t).id for t in topics]
    note = notes.create_draft(author=author, data=notes.NoteInput(
        title=title, summary="摘要：" + title, body=body, visibility="public", term_ids=term_ids, language=language))
    notes.submit(note, by=author, confirm_privacy=True)
    notes.approve(note, by=moderator)
    return note


def test_search_in_chinese_on_a_phone_narrow_by_topic_and_open_a_result(phone: Page, live_hub):
    author, _translator, moderator = _people()
    _publish(author, moderator, "门诊同伴值班", "我们的美沙酮维持治疗门诊请同伴每天值班。", topics=["oat"])
    _publish(author, moderator, "外展发放针具", "外展时也介绍美沙酮门诊。", topics=["outreach"])
    _publish(author, moderator, "合作社", "就业和生计。", topics=["livelihoods"])
    worker.run_once(live_hub.app)

    phone.goto("/search")
    phone.get_by_role("searchbox").fill("美沙酮")
    phone.get_by_role("searchbox").press("Enter")
    results = phone.locator("section.results article")
    expect(results).to_have_count(2)
    expect(phone.locator("p[role=status]")).to_contain_text("2")
    expect(results.first.locator("mark").first).to_be_visible()
    topic_facet = phone.locator("aside.facets section.facet[data-facet=topic]")
    topic_facet.get_by_role("link", name=re.compile("外展")).click()
    expect(results).to_have_count(1)
    expect(phone.locator(".active-filters")).to_contain_text("外展")
    results.first.get_by_role("link").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("外展发放针具")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360


def test_switching_language_shows_the_translated_note(desktop: Page, live_hub):
    author, translator, moderator = _people()
    original = _publish(author, moderator, "门诊同伴值班", "我们请同伴每天在候诊区值班。")
    translation = translations.start(original, by=translator, language="en")
    notes.save(translation, by=translator, data=notes.NoteInput(
        title="Peers on duty at the clinic", summary="Peers wait with clients.", body="Peers sit in the waiting room.",
        language="en"))
    notes.submit(translation, by=translator, confirm_privacy=True)
    notes.approve(translation, by=moderator)

    desktop.goto(f"/notes/{original.id}?lang=zh_Hans")
    expect(desktop.get_by_role("heading", level=1)).to_have_text("门诊同伴值班")
    desktop.get_by_role("link", name="English", exact=True).first.click()
    expect(desktop.locator("html")).to_have_attribute("lang", "en")
    expect(desktop.get_by_role("heading", level=1)).to_have_text("Peers on duty at the clinic")
    expect(desktop.locator("article.note")).to_have_attribute("lang", "en")
    desktop.get_by_role("link", name="Show the original").click()
    expect(desktop.get_by_role("heading", level=1)).to_have_text("门诊同伴值班")
