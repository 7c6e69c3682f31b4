"""Translating notes end to end: start, review, reader's language, outdated flag, queue, requests."""
from __future__ import annotations

import pytest

import search_index
from hub import worker
from hub.extensions import db
from hub.models.note import Note
from hub.models.user import Role
from hub.services import notes, translations, vocabulary
from tests.helpers import csrf_token, post_form


@pytest.fixture
def published(app, contributor, moderator):
    vocabulary.seed()
    note = notes.create_draft(author=contributor, data=notes.NoteInput(
        title="同伴值班", summary="我们在门诊安排同伴值班。", body="第一段。\n\n第二段。", visibility="public"))
    notes.submit(note, by=contributor, confirm_privacy=True)
    notes.approve(note, by=moderator)
    return note


@pytest.fixture
def translator(make_user, project):
    return make_user("tina", role=Role.CONTRIBUTOR, pseudonym="Tina", project=project)


def _translate(translation, by, moderator, title="Peer duty", body="First paragraph.\n\nSecond paragraph."):
    notes.save(translation, by=by, data=notes.NoteInput(title=title, summary="We put peers on duty.", body=body,
                                                       language="en"))
    notes.submit(translation, by=by, confirm_privacy=True)
    notes.approve(translation, by=moderator)


def test_a_contributor_translates_and_the_translation_is_reviewed(client, login_as, translator, moderator, published):
    login_as(translator)
    response = post_form(client, f"/notes/{published.id}/translate?language=en", {}, form_url=f"/notes/{published.id}")
    translation = db.session.scalar(db.select(Note).where(Note.translation_of_id == published.id))
    assert response.headers["Location"] == f"/notes/{translation.id}/edit"
    assert (translation.state, translation.language, translation.author_id) == ("draft", "en", translator.id)
    html = client.get(f"/notes/{translation.id}/edit").get_data(as_text=True)
    assert "同伴值班" in html  # the original is shown beside the editor
    _translate(translation, translator, moderator)
    assert translation.state == "published" and translation.visibility == published.visibility


def test_readers_see_their_language_with_a_switch_to_the_original(client, translator, moderator, published):
    translation = translations.start(published, by=translator, language="en")
    _translate(translation, translator, moderator)
    english = client.get(f"/notes/{published.id}?lang=en").get_data(as_text=True)
    assert '<h1><bdi class="user-text">Peer duty</bdi></h1>' in english and "Show the original" in english
    chinese = client.get(f"/notes/{published.id}?lang=zh_Hans").get_data(as_text=True)
    assert "<h1><bdi class=\"user-text\">同伴值班</bdi></h1>" in chinese
    original = client.get(f"/notes/{published.id}?lang=en&version=original").get_data(as_text=True)
    assert "<h1><bdi class=\"user-text\">同伴值班</bdi></h1>" in original
    # The translation's own address leads to the note, in that language.
    response = client.get(f"/notes/{translation.id}")
    assert response.headers["Location"] == f"/notes/{published.id}?version=en"


def test_lists_and_search_show_one_entry_per_note_in_the_readers_language(client, app, translator, moderator,
                                                                         published):
    translation = translations.start(published, by=translator, language="en")
    _translate(translation, translator, moderator)
    listing = client.get("/notes?lang=en").get_data(as_text=True)
    assert listing.count('class="card note-card"') == 1 and "Peer duty" in listing
    worker.run_once(app)

    class Anonymous:
        is_authenticated = False
        is_active = False

    for query in ("peer duty", "同伴值班"):
        page = search_index.search(query, viewer=Anonymous(), expand=False)
        assert [n.id for n in page.notes] == [published.id], query
    html = client.get("/search?q=同伴&lang=en").get_data(as_text=True)
    assert "Peer duty" in html


def test_a_revised_original_marks_the_translation_outdated_with_a_diff(client, login_as, contributor, translator,
                                                                     moderator, published):
    translation = translations.start(published, by=translator, language="en")
    _translate(translation, translator, moderator)
    assert not translations.is_outdated(translation)
    notes.save(published, by=contributor, data=notes.NoteInput(
        title="同伴值班", summary="我们在门诊安排同伴值班。", body="第一段。\n\n新的第二段。", visibility="public"),
        confirm_privacy=True)
    assert not translations.is_outdated(translation)  # the change waits for review: readers see no new text
    notes.accept_changes(published, by=moderator, version=published.pending.version)
    assert translations.is_outdated(translation)
    assert ("+", "新的第二段。") in translations.original_changes(translation)
    assert "was revised after this translation" in client.get(f"/notes/{published.id}?lang=en").get_data(as_text=True)
    login_as(translator)
    queue = client.get("/translations").get_data(as_text=True)
    assert "outdated" in queue
    assert "新的第二段" in client.get(f"/notes/{translation.id}/edit").get_data(as_text=True)
    notes.save(translation, by=translator, data=notes.NoteInput(title="Peer duty", summary="s", body="New second.",
                                                                language="en"), confirm_privacy=True)
    notes.accept_changes(translation, by=moderator, version=translation.pending.version)
    assert not translations.is_outdated(translation)


def test_members_request_translations_and_the_queue_orders_by_requests(client, login_as, member, translator,
                                                                      contributor, moderator, published):
    other = notes.create_draft(author=contributor, data=notes.NoteInput(title="另一篇", summary="s", body="b",
                                                                          visibility="public"))
    notes.submit(other, by=contributor, confirm_privacy=True)
    notes.approve(other, by=moderator)
    login_as(member)
    response = post_form(client, f"/notes/{other.id}/request-translation?language=en", {},
                         form_url=f"/notes/{other.id}")
    assert response.status_code == 302
    assert translations.request(other, by=member, language="en") is False  # once per person
    items = translations.queue(viewer=translator, language="en")
    assert [(i.note.id, i.requests) for i in items] == [(other.id, 1), (published.id, 0)]


def test_only_one_translator_per_language_and_never_into_the_same_language(translator, make_user, published):
    translations.start(published, by=translator, language="en")
    second = make_user("sam", role=Role.CONTRIBUTOR)
    from hub.services.errors import NotAllowed, ServiceError

    with pytest.raises(ServiceError, match="already translating"):
        translations.start(published, by=second, language="en")
    with pytest.raises(ServiceError):
        translations.start(published, by=second, language="zh_Hans")
    member = make_user("mem")
    with pytest.raises(NotAllowed):
        translations.start(published, by=member, language="en")


def test_taking_the_original_down_takes_its_translations_down(client, translator, moderator, published):
    translation = translations.start(published, by=translator, language="en")
    _translate(translation, translator, moderator)
    notes.unpublish(published, by=moderator, reason="需要修改")
    db.session.refresh(translation)
    assert translation.state == "unpublished"
    assert client.get(f"/notes/{translation.id}").status_code == 404


def test_a_drafted_translation_is_private_to_translator_and_moderators(client, login_as, fred, translator, published):
    translation = translations.start(published, by=translator, language="en")
    login_as(fred)
    assert client.get(f"/notes/{translation.id}").status_code == 404
