"""What probe s12 found: text someone may no longer read that still reached them.

Driven through the pages (HTTP client), as a person would act.
"""
from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub.models.user import User
from hub.services import notes, translations
from tests.functional.test_translations import published, translator  # noqa: F401  (fixtures)
from tests.forms import form_fields
from tests.helpers import login


def browser(app: Flask, user: User, language: str = "en") -> FlaskClient:
    client = app.test_client()
    assert login(client, user.username).status_code == 302
    client.get(f"/?lang={language}")
    return client


# --- 1. a translation's editor shows its original only while the translator may read it ----------

ORIGINAL_LEFT = {"en": "This is a translation of a note that is no longer published",
                 "zh_Hans": "这是一篇译文，它的原文已不再公开"}
DRAFT = notes.NoteInput(title="重写中的标题", summary="重写中的摘要。", body="作者重写的新段落，还没有人审阅。",
                        visibility="public")


@pytest.mark.parametrize("language", ["en", "zh_Hans"])
def test_a_translators_editor_never_shows_the_draft_its_original_went_back_to(
        app, contributor, translator, published, language):
    translation = translations.start(published, by=translator, language="en")
    tina = browser(app, translator, language)
    assert "同伴值班" in tina.get(f"/notes/{translation.id}/edit").get_data(as_text=True)  # published: shown

    notes.withdraw(published, by=contributor)
    notes.save(published, by=contributor, data=DRAFT)  # the author reworks it as a draft
    editor = f"/notes/{translation.id}/edit"
    fields = dict(form_fields(tina.get(editor).get_data(as_text=True), ""))
    preview = tina.post(editor, data={**fields, "preview": "1"})
    assert preview.status_code == 200 and "preview" in preview.get_data(as_text=True)
    for page in (tina.get(editor), preview):
        text = page.get_data(as_text=True)
        assert "重写中的" not in text and "作者重写的新段落" not in text and "同伴值班" not in text
    assert ORIGINAL_LEFT[language] in tina.get(f"/notes/{translation.id}/edit").get_data(as_text=True)
    author = browser(app, contributor, language).get(f"/notes/{published.id}/edit").get_data(as_text=True)
    assert "作者重写的新段落" in author  # the draft is its author's


def test_a_translators_editor_no_longer_shows_an_original_taken_down(
        app, contributor, moderator, translator, published):
    translation = translations.start(published, by=translator, language="en")
    notes.unpublish(published, by=moderator, reason="Personal data.")
    text = browser(app, translator).get(f"/notes/{translation.id}/edit").get_data(as_text=True)
    assert "第一段" not in text and "同伴值班" not in text and ORIGINAL_LEFT["en"] in text


# --- 2. a translation narrowed on its own is not searched among its original's readers ------------

def test_words_only_a_narrowed_translation_holds_are_not_found_by_those_it_was_narrowed_from(
        app, client, translator, moderator, published):
    from hub import worker
    from tests.functional.test_translations import _translate

    translation = translations.start(published, by=translator, language="en")
    _translate(translation, translator, moderator, body="Ask for Quixotically at the clinic desk.")
    worker.run_once(app)
    assert "1 note found" in client.get("/search?q=Quixotically&lang=en").get_data(as_text=True)

    notes.narrow_visibility(translation, by=moderator, visibility="members")  # the original stays public
    worker.run_once(app)
    assert "No notes found" in client.get("/search?q=Quixotically&lang=en").get_data(as_text=True)
    found = client.get("/api/v1/search?q=Quixotically").get_json()
    assert (found["total"], found["results"]) == (0, [])
    assert f"/notes/{published.id}" not in client.get("/search.atom?q=Quixotically").get_data(as_text=True)
    assert "1 note found" in client.get("/search?q=同伴值班&lang=en").get_data(as_text=True)  # the original still is


# --- 3. a person's data download holds others' notes only while they may read them -----------------

def test_a_former_moderators_data_download_leaves_out_a_note_they_redacted_and_may_no_longer_read(
        app, contributor, moderator, admin):
    from hub.models.user import Role
    from hub.services import accounts, moderation

    note = notes.create_draft(author=contributor, data=notes.NoteInput(
        title="Clinic night", summary="What we saw.", body="Call Wang at 13812345678 about the night shift.",
        language="en", visibility="members"))
    notes.submit(note, by=contributor, confirm_privacy=True)
    moderation.redact_note(note, by=moderator, fields={"title": "Clinic night", "summary": "What we saw.",
                                                       "body": "Call Wang about the night shift."})
    shan = browser(app, moderator)
    assert "about the night shift" in shan.get("/account/data.json").get_data(as_text=True)  # they may read it

    notes.withdraw(note, by=contributor)  # back with its author alone
    accounts.set_role(moderator, Role.MEMBER, by=admin)
    download = shan.get("/account/data.json")
    assert download.status_code == 200 and "night shift" not in download.get_data(as_text=True)
    assert download.get_json()["revisions_of_other_notes"] == []
