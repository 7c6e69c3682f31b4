"""After a member edits a comment (or a moderator cuts personal data out of it), what each reader gets
of it: the moderators' queue, the note's author, mail, partner hubs."""
from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import Comment, Notification, OutgoingMail
from hub.services import discussion, screening
from tests.functional.test_form_fuzz import published_note as published
from tests.functional.test_forms_sent_back import browser_of
from tests.functional.test_mail import deliver, publish as publish_in_english
from tests.helpers import count, post_form

PHONE = "138 1234 5678"
EDITED = re.compile(r'class="edited">(edited|修改于) (<time datetime="[0-9T:.-]+Z">[^<]+</time>)')


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request, make_app, smtp_server):
    """A hub on SQLite, then on PostgreSQL, whose mail goes to the test's SMTP server (read as its reader gets it)."""
    database = {} if request.param == "sqlite" else {"DATABASE_URL": request.getfixturevalue("postgres_database")}
    application = make_app(**smtp_server.config(), **database)
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


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


OLD, MEANWHILE, NEW = "Meet Fang by the back gate.", "Meet us by the back gate.", "Ask at the front desk."


def test_an_edited_comment_is_no_news_to_the_notes_author_and_what_they_were_told_leads_to_the_text_as_it_is(
        app, contributor, moderator, member, smtp_server):
    note = publish_in_english(contributor, moderator)
    deliver(app)
    smtp_server.inbox.messages.clear()
    writer = browser_of(app, member)
    post_form(writer, f"/notes/{note.id}/comments", {"body": OLD}, form_url=f"/notes/{note.id}")
    comment = db.session.scalar(sa.select(Comment))
    assert _edit(writer, note.id, comment.id, MEANWHILE).status_code == 302  # before its mail went
    deliver(app)
    assert _edit(writer, note.id, comment.id, NEW).status_code == 302  # after
    deliver(app)

    # One mail, one unread notification: neither quotes the comment, and the edits added none.
    [mail] = smtp_server.to(contributor.email)
    assert not any(text in mail.as_string() for text in (OLD, MEANWHILE, NEW))
    assert count(Notification, Notification.user_id == contributor.id, Notification.kind == "comment.added",
                 Notification.read_at.is_(None)) == 1
    author = browser_of(app, contributor)
    told = _text(author.get("/account/notifications"))
    assert "New comment on" in told
    assert not any(text in told for text in (OLD, MEANWHILE, NEW))
    [link] = re.findall(r'href="(/notes/[^"]*)">New comment on', told)
    assert link == f"/notes/{note.id}#comment-{comment.id}"  # opens the comment itself
    opened = _text(author.get(link))
    comment_shown = re.search(rf'id="comment-{comment.id}">(.*?)</article>', opened, re.S).group(1)
    assert NEW in comment_shown and 'class="edited"' in comment_shown
    assert OLD not in opened and MEANWHILE not in opened

    # Held again for a phone number added, then shown again by a moderator: still the same comment, no news.
    assert _edit(writer, note.id, comment.id, f"{NEW} Call {PHONE}.", confirm_privacy="y").status_code == 302
    deliver(app)
    db.session.expire_all()
    comment = db.session.get(Comment, comment.id)
    discussion.release(comment, by=moderator, checked=[screening.key(f) for f in discussion.findings(comment)])
    deliver(app)
    assert count(Notification, Notification.user_id == contributor.id, Notification.kind == "comment.added") == 1
    assert len(smtp_server.to(contributor.email)) == 1
    assert count(OutgoingMail, OutgoingMail.kind == "comment") == 1
