"""Characters nobody sees and no document format may carry (controls, lone surrogates, noncharacters),
pasted from a PDF or a chat into a note or a comment, are left out when it is saved: once stored, one
of them in a summary made every Atom feed and OAI-PMH answer fail."""
from __future__ import annotations

import sqlalchemy as sa

from hub.extensions import db
from hub.models import Comment, Note
from hub.services import notes
from tests.functional.test_form_fuzz import published_note as published
from tests.functional.test_forms_sent_back import browser_of
from tests.helpers import post_form

PASTED = "第一段\x0b第二段\x0c\x1b[0m\t缩进\n下一行\ufffe\uffff\x85\x7f完"
KEPT = "第一段第二段[0m\t缩进\n下一行完"


def test_a_note_written_in_the_editor_is_saved_without_them(app, contributor):
    browser = browser_of(app, contributor)
    answer = post_form(browser, "/notes/new", {"title": "外展记录", "summary": PASTED, "body": PASTED,
                                               "context": PASTED, "language": "zh_Hans", "visibility": "public",
                                               "action": "save"})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    note = db.session.scalar(sa.select(Note))
    assert (note.summary, note.body, note.sections["context"]) == (KEPT, KEPT, KEPT)


def test_the_service_leaves_them_out_for_every_way_in(app):
    """Imports and autosaves reach notes.clean without a form."""
    data = notes.clean(notes.NoteInput(title="t", summary=PASTED, body=PASTED + "\ud800",
                                       sections={"context": "\x00"}, language="zh_Hans", visibility="public"))
    assert (data.summary, data.body, data.sections) == (KEPT, KEPT, {})


def test_a_comment_is_saved_without_them(app, contributor, moderator, member):
    note = published(contributor, moderator)
    answer = post_form(browser_of(app, member), f"/notes/{note.id}/comments", {"body": PASTED},
                       form_url=f"/notes/{note.id}")
    assert answer.status_code == 302
    assert db.session.scalar(sa.select(Comment.body)) == KEPT
