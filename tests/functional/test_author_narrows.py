"""An author who gives their published note fewer readers (public → members) gets it at once, as a moderator's
narrowing does: pulling a note back never waits in the review queue while everyone can still read it.
The rest of the edit, if any, waits for review as before; more readers still needs a moderator."""
from __future__ import annotations

import pytest

from hub.models.audit import AuditEntry
from hub.models.events import Event
from tests.functional.test_note_states import BODY, editor_form, events_of, published, reload
from tests.functional.test_redaction_everywhere import client_of
from tests.helpers import count, post_form

NARROWED = {"en": "Who may read it changed at once: Members of this hub.",
            "zh_Hans": "能看到这篇笔记的人已立即更改：本平台成员。"}
WAITING = {"en": "Your changes wait for a moderator.", "zh_Hans": "你的修改正在等待审核员。"}


def _narrowed_by_editor(app, contributor, moderator, language: str, **fields):
    note = published(contributor, moderator, visibility="public")
    assert app.test_client().get(f"/notes/{note.id}").status_code == 200  # anyone may read it
    author = client_of(app, contributor, language)
    answer = post_form(author, f"/notes/{note.id}/edit", editor_form(visibility="members", **fields),
                       follow_redirects=True)
    return note, answer


@pytest.mark.parametrize("language", ["en", "zh_Hans"])
def test_an_author_narrowing_their_note_takes_effect_at_once(app, contributor, moderator, language):
    note, answer = _narrowed_by_editor(app, contributor, moderator, language)
    assert answer.status_code == 200 and NARROWED[language] in answer.get_data(as_text=True)
    note = reload(note)
    assert (note.state, note.visibility, note.pending) == ("published", "members", None)  # nothing waits
    assert app.test_client().get(f"/notes/{note.id}").status_code == 404  # gone from the public at once
    assert events_of(note, "note.updated") == 1  # search, feeds and partner hubs follow
    assert count(AuditEntry, AuditEntry.action == "note.visibility") == 1


@pytest.mark.parametrize("language", ["en", "zh_Hans"])
def test_with_other_changes_the_narrowing_is_at_once_and_the_rest_waits_for_review(app, contributor, moderator,
                                                                                  language):
    note, answer = _narrowed_by_editor(app, contributor, moderator, language, body=BODY + "\nWe also met at night.")
    page = answer.get_data(as_text=True)
    assert NARROWED[language] in page and WAITING[language] in page
    note = reload(note)
    assert note.visibility == "members" and "We also met at night." not in note.body
    assert note.pending is not None and "We also met at night." in note.pending.body
    assert app.test_client().get(f"/notes/{note.id}").status_code == 404


def test_more_readers_still_waits_for_a_moderator(app, contributor, moderator):
    note = published(contributor, moderator, visibility="members")
    post_form(client_of(app, contributor), f"/notes/{note.id}/edit", editor_form(visibility="public"))
    note = reload(note)
    assert note.visibility == "members" and count(Event, Event.kind == "note.updated") == 0
