"""An author's editor opened before a moderator removed personal data never writes it back.

The editor shows the text as it was when opened. A moderator then removes a name or a number (from
the note, from its changes waiting for review, or from its original, which cuts it from the
translation too). The stale editor's next "Save" or autosave would put the removed data back into
the note, its pending changes or the translation, for a moderator's "Accept" to publish again:
it is refused in the author's language, nothing is stored, and the author keeps what they typed
(the form comes back with it; the autosave answers 409 for editor.js, which keeps the page as it is).
An editor opened after the removal saves as always, and one editor's autosaves never stop each other.
"""
from __future__ import annotations

import html as html_lib
import re

import pytest
from flask.testing import FlaskClient

from hub.extensions import db
from hub.models import Note
from hub.models.user import Role
from hub.services import notes, translations
from tests.forms import form_fields
from tests.functional.test_redaction_across_versions import EN_SUMMARY, EN_TITLE, LEFT, accept_changes, edited, redact
from tests.functional.test_redaction_everywhere import (LANGUAGES, NAME, PHONE, client_of, published,
                                                        removing_every_finding)
from tests.helpers import post_form

REFUSED = {"en": "A moderator removed personal data from this note after you opened this editor, so nothing was "
                 "saved: your text would put it back.",
           "zh_Hans": "你打开这个编辑器之后，审核员从这篇笔记中删除了个人信息，所以这次什么都没有保存"}
TYPED = "冬天也去。"
CORRECT_THE_FIELDS = {"en": "Please correct the marked fields.", "zh_Hans": "请修改标出的内容。"}
NOT_SAVED = {"en": "Your text was not saved", "zh_Hans": "你写的内容没有保存"}


def reload(note: Note) -> Note:
    db.session.expire_all()
    return db.session.get(Note, note.id)


def opened_editor(browser: FlaskClient, note: Note) -> dict[str, str]:
    """Open ``note``'s editor and return its form as the page holds it."""
    page = browser.get(f"/notes/{note.id}/edit")
    assert page.status_code == 200
    # A browser drops the newline that opens a textarea's content.
    return {name: value.removeprefix("\r\n").removeprefix("\n")
            for name, value in form_fields(page.get_data(as_text=True), "")}


def save(browser: FlaskClient, note: Note, form: dict[str, str], **changes: str):
    """Press "Save" in an editor holding ``form``, with ``changes`` typed."""
    return browser.post(f"/notes/{note.id}/edit", data={**form, **changes, "save": "1"})


def autosave(browser: FlaskClient, form: dict[str, str], **changes: str):
    """Send the editor's autosave of ``form`` with ``changes`` typed, as editor.js does."""
    return browser.post("/notes/autosave", data={**form, **changes})


def holds(note: Note, text: str) -> bool:
    """Tell whether ``text`` is anywhere in the note's text or its changes waiting for review."""
    note = reload(note)
    shown = [note.title, note.summary, note.body, *(note.sections or {}).values()]
    if note.pending is not None:
        shown += [note.pending.title, note.pending.summary, note.pending.body]
    return any(text in part for part in shown)


@pytest.mark.parametrize("language", LANGUAGES)
def test_saving_an_editor_opened_before_a_redaction_is_refused_and_the_typed_text_comes_back(
        app, contributor, moderator, language):
    note = published(contributor, moderator)
    author = client_of(app, contributor, language)
    form = opened_editor(author, note)

    redact(client_of(app, moderator), note, LEFT)
    answer = save(author, note, form, body=form["body"] + TYPED)

    page = html_lib.unescape(answer.get_data(as_text=True))
    assert answer.status_code == 409
    assert REFUSED[language] in page
    assert form["body"] + TYPED in page  # what they typed, name and all, is still theirs to copy
    assert reload(note).pending is None and not holds(note, NAME) and not holds(note, PHONE)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_refused_save_is_its_own_message_not_fields_to_correct(app, contributor, moderator, language):
    """Nothing in the author's fields is wrong: the page says why it did not save under a heading of its own."""
    note = published(contributor, moderator)
    author = client_of(app, contributor, language)
    form = opened_editor(author, note)

    redact(client_of(app, moderator), note, LEFT)
    page = html_lib.unescape(save(author, note, form, body=form["body"] + TYPED).get_data(as_text=True))

    assert f"<p>{CORRECT_THE_FIELDS[language]}</p>" not in page and 'class="form-errors"' not in page
    message = re.search(r'<div class="flash flash-error" role="alert" id="redacted-meanwhile">(.*?)</div>', page, re.S)
    assert message and f"<h2>{NOT_SAVED[language]}</h2>" in message[1] and REFUSED[language] in message[1]
    assert re.search(rf'<a href="/notes/{note.id}/edit" target="_blank"', message[1])


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_autosave_of_changes_opened_before_a_redaction_is_refused_and_stores_nothing(
        app, contributor, moderator, language):
    note = edited(published(contributor, moderator), contributor, f"姓名：{NAME}，电话 {PHONE}。我们每周走两次。{TYPED}")
    author = client_of(app, contributor, language)
    form = opened_editor(author, note)
    assert NAME in form["body"]

    redact(client_of(app, moderator), note, LEFT)
    answer = autosave(author, form, body=form["body"] + "再加一句。")

    assert answer.status_code == 409
    assert answer.get_json()["reason"] == "redacted" and REFUSED[language] in answer.get_json()["detail"]
    assert not holds(note, NAME) and not holds(note, PHONE)
    assert reload(note).pending.body == LEFT + TYPED  # the waiting changes as the redaction left them


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_translation_opened_before_its_original_was_redacted_may_not_put_the_number_back(
        app, contributor, moderator, make_user, language):
    original = published(contributor, moderator)
    translator = make_user("tina", role=Role.CONTRIBUTOR, pseudonym="Tina")
    translation = notes.save(translations.start(original, by=translator, language="en"), by=translator,
                             confirm_privacy=True, data=notes.NoteInput(
                                 title=EN_TITLE, summary=EN_SUMMARY, body=f"Call {PHONE}. We go twice a week.",
                                 language="en", visibility="public"))
    writer = client_of(app, translator, language)
    form = opened_editor(writer, translation)

    redact(client_of(app, moderator), original, LEFT)
    answer = autosave(writer, form, body=form["body"] + " In winter too.")
    submitted = writer.post(f"/notes/{translation.id}/edit", data={**form, "submit_note": "1",
                                                                  "confirm_privacy": "y"})

    assert answer.status_code == 409 and REFUSED[language] in answer.get_json()["detail"]
    assert submitted.status_code == 409 and REFUSED[language] in html_lib.unescape(submitted.get_data(as_text=True))
    assert not holds(translation, PHONE) and reload(translation).state == "draft"


def test_an_editor_opened_before_changes_were_accepted_with_findings_removed_may_not_save_them_again(
        app, contributor, moderator):
    note = edited(published(contributor, moderator), contributor, f"电话 {PHONE}。我们每周走两次。")
    author = client_of(app, contributor)
    form = opened_editor(author, note)
    reviewer = client_of(app, moderator)

    url = f"/moderation/notes/{note.id}/changes"
    decision = post_form(reviewer, f"{url}/accept", removing_every_finding(reviewer, url, "/changes/accept"),
                         form_url=url)
    answer = autosave(author, form, body=form["body"] + TYPED)

    assert decision.status_code == 302 and not holds(note, PHONE)
    assert answer.status_code == 409 and reload(note).pending is None


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_editor_opened_after_the_redaction_saves_and_its_autosaves_follow_each_other(
        app, contributor, moderator, language):
    note = published(contributor, moderator)
    redact(client_of(app, moderator), note, LEFT)
    author = client_of(app, contributor, language)
    form = opened_editor(author, note)

    first = autosave(author, form, body=form["body"] + TYPED)
    second = autosave(author, form, body=form["body"] + TYPED + "再加一句。")
    saved = save(author, note, form, body=form["body"] + TYPED + "再加一句。")

    assert first.status_code == second.status_code == 200 and saved.status_code == 302
    assert reload(note).pending.body == LEFT + TYPED + "再加一句。"


def test_an_editor_that_sends_no_count_saves_a_note_never_redacted_but_not_one_redacted(
        app, contributor, moderator):
    """A page from before the hub sent the count cannot show that it holds the current text."""
    never, redacted = published(contributor, moderator), published(contributor, moderator)
    author = client_of(app, contributor)
    old_page = {name: value for name, value in opened_editor(author, never).items() if name != "redactions_seen"}
    redact(client_of(app, moderator), redacted, LEFT)
    old_redacted_page = {name: value for name, value in opened_editor(author, redacted).items()
                         if name != "redactions_seen"}

    assert autosave(author, old_page, body=old_page["body"] + TYPED).status_code == 200
    assert autosave(author, old_redacted_page, body=LEFT + TYPED).status_code == 409


@pytest.mark.parametrize("count", ["²", "１", "99999999999999999999", "-1", "1e3"])
def test_a_count_that_is_no_number_the_hub_writes_counts_as_none(app, contributor, moderator, count):
    """The count is form input: a superscript digit (which ``str.isdigit`` takes and ``int`` refuses), a
    full-width one or a huge number is refused like a missing count, never a 500."""
    never, redacted = published(contributor, moderator), published(contributor, moderator)
    redact(client_of(app, moderator), redacted, LEFT)
    author = client_of(app, contributor)
    page = opened_editor(author, never)
    form = {**page, "redactions_seen": count}
    assert autosave(author, form, body=form["body"] + TYPED).status_code == 200
    # Saved as the page's own count would be: here the privacy check's question about the name it holds.
    assert save(author, never, form, body=form["body"] + TYPED).status_code == 422
    assert save(author, never, page, body=page["body"] + TYPED).status_code == 422
    form = {**opened_editor(author, redacted), "redactions_seen": count}
    assert autosave(author, form, body=LEFT + TYPED).status_code == 409
    assert save(author, redacted, form, body=LEFT + TYPED).status_code == 409
