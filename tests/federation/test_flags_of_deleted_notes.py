"""A report about a note deleted since (by its author here, or by its partner hub) leaves the moderators' queue.

Nothing is left to look at: the note's text and comments are gone, and the report waited in the
queue under an empty title, leading to a page that is not there. It is closed, and the audit log
says why, in the reader's language.
"""
from __future__ import annotations

import re

import sqlalchemy as sa

from hub.extensions import db
from hub.federation import inbox
from hub.models import Flag, Note
from hub.services import notes
from tests.federation.test_conversation_inbox import _remote_note
from tests.helpers import login, post_form


def _page(browser, url: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", browser.get(url).get_data(as_text=True)))


def _signed_in(app, user):
    browser = app.test_client()
    assert login(browser, user.username).status_code == 302
    return browser


def test_a_report_on_a_note_its_author_deletes_is_closed_and_the_log_says_why(app, publish, people, make_user):
    note = publish("public")
    notes.flag(note, by=make_user("reader"), reason="wrong", detail="The dates are off.")
    author = _signed_in(app, note.author)
    assert post_form(author, f"/notes/{note.id}/delete", {}, form_url=f"/notes/{note.id}").status_code == 302

    [report] = db.session.scalars(sa.select(Flag))
    assert report.resolved_at is not None and report.resolution == "note_deleted"
    moderator = _signed_in(app, people["moderator"])
    assert "The dates are off." not in _page(moderator, "/moderation/flags")
    admin = _signed_in(app, people["admin"])
    assert "The note was deleted" in _page(admin, "/admin/audit?lang=en")
    assert "笔记已被删除" in _page(admin, "/admin/audit?lang=zh_Hans")


def test_a_report_on_a_partners_note_its_hub_deletes_is_closed(app, client, make_peer, people, make_user):
    peer = make_peer(trust="publish")
    note = _remote_note(app, client, peer)
    notes.flag(note, by=make_user("reader"), reason="harmful")
    peer.post(client, peer.activity("Delete", {"id": note.remote_id, "type": "Tombstone"}))
    inbox.process_pending(app)

    db.session.expire_all()
    assert db.session.get(Note, note.id).state == "deleted"
    [report] = db.session.scalars(sa.select(Flag))
    assert report.resolved_at is not None and report.resolution == "note_deleted" and report.resolved_by_id is None
