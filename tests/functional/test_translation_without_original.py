"""A translation is never read without its original: not after the original is taken back or deleted,
not by publishing a translation submitted before (or resubmitted after), not by any read path."""
from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub import worker
from hub.extensions import db
from hub.models import Notification
from hub.models.note import Note
from hub.models.user import User
from hub.services import notes, translations
from tests.forms import form_fields
from tests.functional.test_translations import published, translator  # noqa: F401  (fixtures)
from tests.helpers import csrf_token, login

ENGLISH = notes.NoteInput(title="Peer duty rota", summary="We put peers on duty.", body="First paragraph.",
                          language="en")


def browser(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    assert login(client, user.username).status_code == 302
    return client


def post(client: FlaskClient, url: str, form_url: str, data: dict | None = None):
    return client.post(url, data={"csrf_token": csrf_token(client, form_url), **(data or {})})


def submitted_translation(app: Flask, original: Note, translator: User) -> Note:
    """Start a translation through the note's page, as the translator would, and submit it."""
    tina = browser(app, translator)
    response = post(tina, f"/notes/{original.id}/translate?language=en", f"/notes/{original.id}")
    assert response.status_code == 302
    translation = db.session.scalar(db.select(Note).where(Note.translation_of_id == original.id))
    notes.save(translation, by=translator, data=ENGLISH)
    notes.submit(translation, by=translator, confirm_privacy=True)
    return translation


def approve_through_review_page(app: Flask, moderator: User, note_id: int) -> tuple[str, int, str]:
    """Press Publish on a review page opened before the translation's original left (a stale page, or a
    script); return the page as it is now, the answer's status and its text."""
    reviewer = browser(app, moderator)
    page = reviewer.get(f"/moderation/notes/{note_id}").get_data(as_text=True)
    fields = {"csrf_token": csrf_token(reviewer, f"/moderation/notes/{note_id}"), "visibility": "public"}
    answer = reviewer.post(f"/moderation/notes/{note_id}/approve", data=fields, follow_redirects=True)
    return page, answer.status_code, answer.get_data(as_text=True)


def assert_unreadable_by_anyone(app: Flask, client: FlaskClient, translation: Note) -> None:
    """Anonymous readers get neither the page nor the API's note, and search does not find it."""
    assert client.get(f"/notes/{translation.id}").status_code in (404, 410)
    answer = client.get(f"/api/v1/notes/{translation.id}")
    assert answer.status_code in (404, 410) and "First paragraph" not in answer.get_data(as_text=True)
    worker.run_once(app)
    found = client.get("/search?q=peer+duty+rota&lang=en").get_data(as_text=True)
    assert "Peer duty rota" not in found
    assert "Peer duty rota" not in client.get("/notes?lang=en").get_data(as_text=True)


def test_a_translation_submitted_before_its_original_was_withdrawn_is_never_published(
        app, client, contributor, moderator, translator, published):
    original = published
    translation = submitted_translation(app, original, translator)
    review = browser(app, moderator).get(f"/moderation/notes/{translation.id}?lang=en").get_data(as_text=True)
    assert "This is a translation of" in review and "which is published" in review
    peer = browser(app, contributor)
    assert post(peer, f"/notes/{original.id}/withdraw", f"/notes/{original.id}").status_code == 302
    db.session.expire_all()
    assert translation.state == "withdrawn"  # out of the moderators' queue
    told = db.session.scalar(db.select(Notification).where(Notification.user_id == translator.id,
                                                           Notification.kind == "note.original_gone"))
    assert told is not None and told.note_id == translation.id
    tina = browser(app, translator)
    told = tina.get("/account/notifications?lang=en").get_data(as_text=True)
    assert "was taken back by its author" in told and "left the moderation queue" in told
    assert "已被作者撤回" in tina.get("/account/notifications?lang=zh_Hans").get_data(as_text=True)

    # Submitted again by its translator: refused, saying why.
    with pytest.raises(notes.ChangedMeanwhile, match="original of this translation"):
        notes.submit(translation, by=translator, confirm_privacy=True)
    db.session.rollback()

    # Pushed into review by hand (as a stale queue would hold it): the moderator sees why and cannot publish.
    translation.state = "submitted"
    db.session.commit()
    page, status, answer = approve_through_review_page(app, moderator, translation.id)
    assert "This is a translation of a note that is no longer published" in page
    assert status == 409 and "The original of this translation is no longer published" in answer
    db.session.expire_all()
    assert translation.state == "submitted"
    assert_unreadable_by_anyone(app, client, translation)


def test_a_translation_resubmitted_after_its_original_was_deleted_stays_down(
        app, client, contributor, moderator, translator, published):
    original = published
    translation = submitted_translation(app, original, translator)
    notes.approve(translation, by=moderator)
    peer = browser(app, contributor)
    assert post(peer, f"/notes/{original.id}/delete", f"/notes/{original.id}/edit").status_code == 302
    db.session.expire_all()
    assert original.state == "deleted" and translation.state == "unpublished"
    assert client.get(f"/notes/{original.id}").status_code == 410

    tina = browser(app, translator)
    edit = f"/notes/{translation.id}/edit"
    fields = dict(form_fields(tina.get(edit).get_data(as_text=True), ""))  # the editor posts to its page
    fields.update(title="Peer duty rota, revised", submit_note="1", confirm_privacy="y")
    answer = tina.post(f"{edit}?lang=en", data=fields, follow_redirects=True).get_data(as_text=True)
    assert "The original of this translation is no longer published" in answer
    db.session.expire_all()
    assert translation.state == "unpublished"
    assert_unreadable_by_anyone(app, client, translation)


def test_the_one_rule_hides_a_published_translation_whose_original_readers_may_not_read(
        app, client, login_as, fred, contributor, moderator, translator, published):
    """However a translation came to be published beside an unpublished original, no read path shows it."""
    original = published
    translation = translations.start(original, by=translator, language="en")
    notes.save(translation, by=translator, data=ENGLISH)
    notes.submit(translation, by=translator, confirm_privacy=True)
    notes.approve(translation, by=moderator)
    original.state = "withdrawn"  # past the services, straight to the database
    db.session.commit()
    assert_unreadable_by_anyone(app, client, translation)
    login_as(fred)
    assert client.get(f"/notes/{translation.id}").status_code in (404, 410)
    # Its translator and the moderators still see it.
    assert notes.may_read(translation, translator) and notes.can_view(translation, moderator)
    assert not notes.may_read(translation, fred) and not notes.can_view(translation, fred)


# --- what the moderators and the translator are shown once the original left ------------------------

WAITS = {"en": "It can wait here until the original is published again",
         "zh_Hans": "它可以在这里等到原文重新公开"}


def leave_in_review(translation: Note, original: Note) -> None:
    """Leave a submitted translation in the queue with its original taken back (as a stale queue, or a
    partner hub's original taken down at its origin, leaves it)."""
    original.state = "withdrawn"
    translation.state = "submitted"
    db.session.commit()


@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
def test_the_review_page_offers_no_publish_button_for_a_translation_whose_original_left(
        app, moderator, translator, published, lang):
    translation = submitted_translation(app, published, translator)
    leave_in_review(translation, published)
    reviewer = browser(app, moderator)
    page = reviewer.get(f"/moderation/notes/{translation.id}?lang={lang}").get_data(as_text=True)
    assert not form_fields(page, "/approve")  # no Publish button that could only be refused
    assert WAITS[lang] in page
    # What it offers instead works: sent back to the translator with a reason.
    fields = dict(form_fields(page, "/request-changes"))
    fields["message"] = "Please wait for the original to come back, then check the dates."
    answer = reviewer.post(f"/moderation/notes/{translation.id}/request-changes", data=fields)
    assert answer.status_code == 302
    db.session.expire_all()
    assert translation.state == "changes_requested"
    assert db.session.scalar(db.select(Notification).where(Notification.user_id == translator.id,
                                                           Notification.kind == "note.changes_requested"))


def original_gone_notices(user: User) -> list[Notification]:
    return list(db.session.scalars(db.select(Notification).where(Notification.user_id == user.id,
                                                                 Notification.kind == "note.original_gone")
                                .order_by(Notification.id)))


TOLD = {"en": ("was taken back by its author", "You can submit your translation once the original is published again"),
        "zh_Hans": ("已被作者撤回", "原文重新公开后，你可以提交译文")}
TOLD_DELETED = {"en": ("was deleted", "Your translation can no longer be published."),
                "zh_Hans": ("已被删除", "你的译文不能再发布了。")}


@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
def test_a_translator_told_the_original_may_come_back_is_told_again_when_it_is_deleted(
        app, contributor, translator, published, lang):
    original = published
    tina = browser(app, translator)
    post(tina, f"/notes/{original.id}/translate?language=en", f"/notes/{original.id}")
    peer = browser(app, contributor)
    assert post(peer, f"/notes/{original.id}/withdraw", f"/notes/{original.id}").status_code == 302
    [taken_back] = original_gone_notices(translator)
    assert post(peer, f"/notes/{original.id}/delete", f"/notes/{original.id}/edit").status_code == 302
    db.session.expire_all()
    assert original.state == "deleted"
    taken_back_again, deleted = original_gone_notices(translator)  # the first stays what it said; the second corrects it
    assert taken_back_again.id == taken_back.id and deleted.data["original"] == "deleted"
    page = tina.get(f"/account/notifications?lang={lang}").get_data(as_text=True)
    for words in TOLD[lang] + TOLD_DELETED[lang]:
        assert words in page
    assert page.index(TOLD_DELETED[lang][0]) < page.index(TOLD[lang][0])  # newest first


def test_a_translator_whose_original_is_deleted_is_told_it_can_no_longer_be_published(
        app, contributor, moderator, translator, published):
    translation = submitted_translation(app, published, translator)
    notes.approve(translation, by=moderator)
    peer = browser(app, contributor)
    assert post(peer, f"/notes/{published.id}/delete", f"/notes/{published.id}/edit").status_code == 302
    [told] = original_gone_notices(translator)
    page = browser(app, translator).get("/account/notifications?lang=en").get_data(as_text=True)
    assert "was deleted" in page and "Your translation can no longer be published." in page


MEANWHILE_TOLD = {"en": "the author of the original took it back", "zh_Hans": "原文的作者撤回了原文"}


@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
def test_a_decision_on_a_translation_whose_original_left_meanwhile_says_what_happened(
        app, contributor, moderator, translator, published, lang):
    original = published
    translation = submitted_translation(app, original, translator)
    reviewer = browser(app, moderator)
    page = reviewer.get(f"/moderation/notes/{translation.id}?lang={lang}").get_data(as_text=True)
    fields = dict(form_fields(page, "/approve"))
    # Meanwhile the original is taken back (its translation leaves review), then published again.
    peer = browser(app, contributor)
    assert post(peer, f"/notes/{original.id}/withdraw", f"/notes/{original.id}").status_code == 302
    db.session.expire_all()
    notes.submit(original, by=contributor, confirm_privacy=True)
    notes.approve(original, by=moderator)
    answer = reviewer.post(f"/moderation/notes/{translation.id}/approve?lang={lang}", data=fields,
                           follow_redirects=True)
    text = answer.get_data(as_text=True)
    assert answer.status_code == 409 and MEANWHILE_TOLD[lang] in text
    assert str(notes.MEANWHILE[notes.S.WITHDRAWN]) not in text and "作者撤回了这篇笔记" not in text
    db.session.expire_all()
    assert translation.state == "withdrawn"


def test_unpublishing_a_translation_taken_down_with_its_original_meanwhile_says_so(
        app, contributor, moderator, translator, published):
    translation = submitted_translation(app, published, translator)
    notes.approve(translation, by=moderator)
    reviewer = browser(app, moderator)
    page = reviewer.get(f"/moderation/notes/{translation.id}?lang=en").get_data(as_text=True)
    fields = dict(form_fields(page, "/unpublish"))
    fields["message"] = "Outdated."
    notes.unpublish(published, by=moderator, reason="Wrong dose.")
    answer = reviewer.post(f"/moderation/notes/{translation.id}/unpublish?lang=en", data=fields,
                           follow_redirects=True)
    text = answer.get_data(as_text=True)
    assert answer.status_code == 409 and "a moderator took the original down" in text
    assert "Another moderator decided on this note first" not in text
