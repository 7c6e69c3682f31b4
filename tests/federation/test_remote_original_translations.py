"""Our members' translations of a partner hub's note leave readers and review when the note's origin
deletes it (or stops sharing it) or changes it so that it goes back to review here, and each translator
is told what happened, as for local originals (tests/functional/test_translation_without_original.py)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub import worker
from hub.extensions import db
from hub.models import Notification
from hub.models.audit import AuditEntry
from hub.models.note import Note
from hub.services import notes
from tests.helpers import csrf_token, login

CHINESE = notes.NoteInput(title="外展值班表", summary="我们安排同伴值班。", body="第一段。", language="zh_Hans")


def remote_original(app, client, peer, moderator) -> Note:
    """A partner's English note, come through our inbox and approved by our moderator."""
    peer.post(client, peer.activity("Create", peer.article()))
    worker.run_once(app)
    original = db.session.scalar(sa.select(Note).where(Note.remote_id == peer.base + "/ap/notes/1"))
    if original.state == "submitted":
        notes.approve(original, by=moderator)
    assert original.state == "published"
    return original


def our_translation(app, original: Note, translator, moderator, state: str) -> Note:
    """Our member translates the partner's note through its page and submits it (and it is published)."""
    browser = app.test_client()
    assert login(browser, translator.username).status_code == 302
    response = browser.post(f"/notes/{original.id}/translate?language=zh_Hans",
                            data={"csrf_token": csrf_token(browser, f"/notes/{original.id}")})
    assert response.status_code == 302
    translation = db.session.scalar(sa.select(Note).where(Note.translation_of_id == original.id))
    notes.save(translation, by=translator, data=CHINESE)
    notes.submit(translation, by=translator, confirm_privacy=True)
    if state == "published":
        notes.approve(translation, by=moderator)
    assert translation.state == state
    return translation


def told(translator) -> list[Notification]:
    return list(db.session.scalars(sa.select(Notification).where(Notification.user_id == translator.id,
                                                                 Notification.kind == "note.original_gone")))


def notifications_page(app, translator, lang: str) -> str:
    browser = app.test_client()
    assert login(browser, translator.username).status_code == 302
    return browser.get(f"/account/notifications?lang={lang}").get_data(as_text=True)


def stale_publish(app, moderator, translation: Note, lang: str) -> str:
    """Press Publish on the translation's review page as opened before its original left; return the answer."""
    reviewer = app.test_client()
    assert login(reviewer, moderator.username).status_code == 302
    fields = {"csrf_token": csrf_token(reviewer, "/moderation"), "visibility": "public"}
    return reviewer.post(f"/moderation/notes/{translation.id}/approve?lang={lang}", data=fields,
                         follow_redirects=True).get_data(as_text=True)


TAKEN_TO = {"published": "unpublished", "submitted": "withdrawn"}
FOR_TRANSLATION = {("published", "en"): "Your translation was taken from readers until the original is published "
                                        "again.",
                   ("submitted", "en"): "Your translation left the moderation queue",
                   ("published", "zh_Hans"): "你的译文已从读者面前撤下",
                   ("submitted", "zh_Hans"): "你的译文已离开审核队列"}


def removal(peer) -> dict:
    """The origin's Delete of its note 1 (deleted, taken back or down, or no longer shared with us there)."""
    return peer.activity("Delete", {"id": peer.base + "/ap/notes/1", "type": "Tombstone", "formerType": "Article"})


def new_text(peer) -> dict:
    """The origin's Update of its note 1 with a new text, which a hub trusted to "moderate" sends to review."""
    text = "<p>We met people where they are, every evening.</p>"
    return peer.activity("Update", peer.article(content=text, contentMap={"en": text},
                                                updated="2026-02-01T00:00:00Z"))


# What the origin does: its hub's trust here, the activity, what becomes of its note here, and the code said.
EVENTS = {"removed": ("publish", removal, "deleted", "removed_by_origin"),
          "changed": ("moderate", new_text, "submitted", "changed_by_origin")}
TOLD = {("removed_by_origin", "en"): "no longer shares it with this hub",
        ("removed_by_origin", "zh_Hans"): "不再与本站分享",
        ("changed_by_origin", "en"): "changed it, and the new text waits for a moderator here",
        ("changed_by_origin", "zh_Hans"): "新文本在本站等待审核"}
MEANWHILE = {("removed_by_origin", "en"): "the partner hub the original came from removed it",
             ("removed_by_origin", "zh_Hans"): "原文所在的合作平台移除了原文",
             ("changed_by_origin", "en"): "the partner hub the original came from changed it and it went back",
             ("changed_by_origin", "zh_Hans"): "原文所在的合作平台修改了原文"}


@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
@pytest.mark.parametrize("state", ["published", "submitted"])
@pytest.mark.parametrize("event", ["removed", "changed"])
def test_what_the_origin_does_to_its_note_takes_our_translation_down_and_tells_its_translator(
        app, client, make_peer, people, event, state, lang):
    trust, activity, original_after, why = EVENTS[event]
    peer = make_peer(trust=trust)
    translator, moderator = people["author"], people["moderator"]
    original = remote_original(app, client, peer, moderator)
    translation = our_translation(app, original, translator, moderator, state)
    peer.post(client, activity(peer))
    worker.run_once(app)
    db.session.expire_all()
    assert (original.state, translation.state) == (original_after, TAKEN_TO[state])
    [notice] = told(translator)
    assert notice.note_id == translation.id
    assert notice.data == {"original": why, "translation": state}
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "translation.original_gone"))
    assert (entry.target_id, (entry.details or {}).get("why")) == (translation.id, why)
    page = notifications_page(app, translator, lang)
    assert TOLD[(why, lang)] in page and FOR_TRANSLATION[(state, lang)] in page
    if state == "submitted":  # a review page opened before: its Publish is refused saying what happened
        assert MEANWHILE[(why, lang)] in stale_publish(app, moderator, translation, lang)
        db.session.expire_all()
        assert translation.state == "withdrawn"
    peer.post(client, activity(peer))  # sent again: told once
    worker.run_once(app)
    assert len(told(translator)) == 1


def test_the_translator_of_a_draft_is_told_when_the_partner_removes_the_original(
        app, client, make_peer, people):
    peer = make_peer(trust="publish")
    translator = people["author"]
    original = remote_original(app, client, peer, people["moderator"])
    browser = app.test_client()
    assert login(browser, translator.username).status_code == 302
    browser.post(f"/notes/{original.id}/translate?language=zh_Hans",
                 data={"csrf_token": csrf_token(browser, f"/notes/{original.id}")})
    draft = db.session.scalar(sa.select(Note).where(Note.translation_of_id == original.id))
    peer.post(client, removal(peer))
    worker.run_once(app)
    db.session.expire_all()
    assert draft.state == "draft"  # still the translator's, to keep or to delete
    [notice] = told(translator)
    assert notice.data == {"original": "removed_by_origin", "translation": "draft"}


def test_the_partners_own_language_versions_follow_its_note_back_from_review(app, client, make_peer, people):
    peer = make_peer(trust="moderate")
    moderator = people["moderator"]
    both = peer.article(contentMap={"zh-Hans": "<p>外展经验</p>", "en": "<p>Outreach lessons</p>"},
                        nameMap={"zh-Hans": "外展", "en": "Outreach"})
    peer.post(client, peer.activity("Create", both))
    worker.run_once(app)
    original = db.session.scalar(sa.select(Note).where(Note.translation_of_id.is_(None)))
    [version] = original.translations
    notes.approve(original, by=moderator)
    notes.approve(version, by=moderator)
    changed = {**both, "contentMap": {"zh-Hans": "<p>外展经验，每天晚上</p>", "en": "<p>Outreach lessons</p>"},
               "updated": "2026-02-01T00:00:00Z"}
    peer.post(client, peer.activity("Update", changed))  # the original's text changed, not its English one
    worker.run_once(app)
    db.session.expire_all()
    assert (original.state, version.state) == ("submitted", "published")
    notes.approve(original, by=moderator)
    page = client.get(f"/notes/{original.id}?lang=en", follow_redirects=True)
    assert page.status_code == 200 and "Outreach lessons" in page.get_data(as_text=True)  # read with it again


def admin_presses(app, admin, peer, button: str) -> None:
    """An administrator presses Block or Unblock on the partner hub's page."""
    browser = app.test_client()
    assert login(browser, admin.username).status_code == 302
    page = f"/admin/partners/{peer.row.id}"
    assert browser.post(f"{page}/{button}", data={"csrf_token": csrf_token(browser, page)}).status_code == 302
    worker.run_once(app)
    db.session.expire_all()


BLOCKED_TOLD = {"en": ("This hub blocked the partner hub that shared the note you translated",
                       "If the block is lifted, it comes back with the note, unless it was changed meanwhile."),
                "zh_Hans": ("本站已屏蔽分享你所译笔记", "如果解除屏蔽，译文会随笔记一同恢复，除非在此期间被修改过。")}
BACK_TOLD = {"en": {"": "This hub unblocked the partner hub that shared the note you translated as",
                    "published": "Your translation is back with its readers.",
                    "submitted": "Your translation is back in the moderation queue.",
                    "changed": "Your translation was changed meanwhile, so it did not come back"},
             "zh_Hans": {"": "本站已解除对分享你所译笔记（译文",
                         "published": "你的译文已随之恢复，读者可以再次阅读。",
                         "submitted": "你的译文已重新回到审核队列。",
                         "changed": "你的译文在此期间被修改过，因此没有随之恢复"}}
BLOCKED_MEANWHILE = {"en": "this hub blocked the partner hub the original came from",
                     "zh_Hans": "本站屏蔽了原文所在的合作平台"}


def read_by_anyone(app, translation: Note) -> str:
    """The translation's page as an anonymous visitor gets it ("" when it is not there for them)."""
    answer = app.test_client().get(f"/notes/{translation.id}?lang=en", follow_redirects=True)
    return answer.get_data(as_text=True) if answer.status_code == 200 else ""


@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
@pytest.mark.parametrize("state", ["published", "submitted"])
def test_blocking_the_partner_takes_our_translation_of_its_note_down_and_unblocking_brings_it_back(
        app, client, make_peer, people, state, lang):
    peer = make_peer(trust="publish")
    translator, moderator = people["author"], people["moderator"]
    original = remote_original(app, client, peer, moderator)
    translation = our_translation(app, original, translator, moderator, state)
    assert ("第一段" in read_by_anyone(app, translation)) == (state == "published")
    admin_presses(app, people["admin"], peer, "block")
    assert (original.state, translation.state) == ("unpublished", TAKEN_TO[state])
    assert "第一段" not in read_by_anyone(app, translation)
    [notice] = told(translator)
    assert notice.data == {"original": "hub_blocked", "translation": state}
    page = notifications_page(app, translator, lang)
    assert all(sentence in page for sentence in BLOCKED_TOLD[lang])
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "translation.original_gone"))
    assert (entry.target_id, (entry.details or {}).get("why")) == (translation.id, "hub_blocked")
    if state == "submitted":  # a review page opened before: its Publish is refused saying what happened
        assert BLOCKED_MEANWHILE[lang] in stale_publish(app, moderator, translation, lang)
    admin_presses(app, people["admin"], peer, "unblock")
    assert (original.state, translation.state) == ("published", state)  # back where the block found them
    assert ("第一段" in read_by_anyone(app, translation)) == (state == "published")
    assert len(told(translator)) == 1
    # Told in their language that it is back, as they were told that it left.
    assert told_back(translator) == [{"original": "hub_blocked", "translation": state}]
    page = notifications_page(app, translator, lang)
    assert BACK_TOLD[lang][""] in page and BACK_TOLD[lang][state] in page
    admin_presses(app, people["admin"], peer, "unblock")  # pressed again: nothing new to tell
    assert len(told_back(translator)) == 1


def told_back(translator) -> list[dict]:
    """What the translator's notices that an original came back say."""
    return [n.data for n in db.session.scalars(sa.select(Notification).where(
        Notification.user_id == translator.id, Notification.kind == "note.original_back"))]


def test_a_translation_changed_while_its_partner_was_blocked_waits_for_its_translator(
        app, client, make_peer, people):
    peer = make_peer(trust="publish")
    translator, moderator = people["author"], people["moderator"]
    original = remote_original(app, client, peer, moderator)
    translation = our_translation(app, original, translator, moderator, "published")
    admin_presses(app, people["admin"], peer, "block")
    notes.save(translation, by=translator, data=notes.NoteInput(**{**vars(CHINESE), "body": "第二段。"}))
    admin_presses(app, people["admin"], peer, "unblock")
    assert (original.state, translation.state) == ("published", "unpublished")  # never unread text to readers
    assert "第二段" not in read_by_anyone(app, translation)
    assert told_back(translator) == [{"original": "hub_blocked", "translation": "changed"}]
    for lang in ("en", "zh_Hans"):
        page = notifications_page(app, translator, lang)
        assert BACK_TOLD[lang][""] in page and BACK_TOLD[lang]["changed"] in page


def test_a_translator_still_writing_is_told_that_the_original_is_back_after_an_unblock(app, client, make_peer, people):
    peer = make_peer(trust="publish")
    translator, moderator = people["author"], people["moderator"]
    original = remote_original(app, client, peer, moderator)
    browser = app.test_client()
    assert login(browser, translator.username).status_code == 302
    assert browser.post(f"/notes/{original.id}/translate?language=zh_Hans",
                        data={"csrf_token": csrf_token(browser, f"/notes/{original.id}")}).status_code == 302
    admin_presses(app, people["admin"], peer, "block")
    assert [n.data["translation"] for n in told(translator)] == ["draft"]
    admin_presses(app, people["admin"], peer, "unblock")
    assert told_back(translator) == [{"original": "hub_blocked", "translation": "draft"}]
    assert "你现在可以提交译文了。" in notifications_page(app, translator, "zh_Hans")
    assert "You can submit your translation now." in notifications_page(app, translator, "en")
