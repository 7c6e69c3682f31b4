"""After a member edits a comment (or a moderator cuts personal data out of it), what each reader gets
of it: the moderators' queue, the note's author, mail, partner hubs."""
from __future__ import annotations

import html
import re

import sqlalchemy as sa

from hub.extensions import db
from hub.models import Comment
from hub.services import discussion
from tests.functional.test_form_fuzz import published_note as published
from tests.functional.test_forms_sent_back import browser_of
from tests.helpers import post_form

PHONE = "138 1234 5678"
EDITED = re.compile(r'class="edited">(edited|修改于) (<time datetime="[0-9T:.-]+Z">[^<]+</time>)')


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _edit(writer, note_id: int, comment_id: int, body: str, **extra):
    return post_form(writer, f"/notes/{note_id}/comments/{comment_id}/edit", {"body": body, **extra})


def test_held_comments_show_that_a_comment_was_edited_and_when_as_the_note_page_does(app, contributor, moderator,
                                                                                    member):
    note = published(contributor, moderator)
    never_edited = discussion.add_comment(note, by=member, body=f"Reach me on {PHONE}.", confirm_privacy=True)
    comment = discussion.add_comment(note, by=member, body="We did this too.")
    writer, mod = browser_of(app, member), browser_of(app, moderator)
    assert _edit(writer, note.id, comment.id, f"We did this too, call {PHONE}.", confirm_privacy="y").status_code == 302
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).state == "held"

    for lang, word in (("en", "edited"), ("zh_Hans", "修改于")):
        on_note = EDITED.findall(_text(writer.get(f"/notes/{note.id}?lang={lang}")))
        queue = _text(mod.get(f"/moderation/comments?lang={lang}"))
        held = {m.group(1): m.group(2) for m in re.finditer(r'id="held-(\d+)"(.*?)</section>', queue, re.S)}
        assert set(held) == {str(never_edited.id), str(comment.id)}
        assert EDITED.findall(held[str(comment.id)]) == on_note == [(word, on_note[0][1])]
        assert "edited" not in held[str(never_edited.id)] and "修改于" not in held[str(never_edited.id)]
