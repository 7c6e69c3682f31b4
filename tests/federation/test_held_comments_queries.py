"""The moderators' list of held comments asks the database a fixed number of times, however many comments it
shows: what each partner member's comment says of its writer's hub (does it take cuts, is it sent anything
now, its name) is read for the whole page at once, and the page says the same as before."""
from __future__ import annotations

import sqlalchemy as sa

from hub.extensions import db
from hub.federation import inbox
from hub.models import Comment
from hub.services import discussion
from tests.federation.test_conversation_inbox import _comment, _consume, _send_all, _take_off_the_allow_list
from tests.helpers import login, post_form, statements

PHONE = "<p>Call Wang on 138 1234 5678.</p>"


def _held_from(app, client, writer, note, number: int) -> Comment:
    """A member of ``writer`` comments on our ``note`` with a phone number: the comment waits here."""
    writer.post(client, writer.activity("Create", _comment(writer, note.id, number=number, content=PHONE)))
    inbox.process_pending(app)
    return db.session.scalar(sa.select(Comment).where(Comment.note_id == note.id).order_by(Comment.id.desc()))


def _held_comments(app, client, publish, people, writers) -> list[Comment]:
    """Held comments of each kind: by partner members (one per note, ``writers`` in turn), and by our member."""
    held = []
    for number, writer in enumerate(writers, start=1):
        note = publish("public")
        _consume(app)
        _send_all()
        held.append(_held_from(app, client, writer, note, number))
    note = publish("public")
    held.append(discussion.add_comment(note, by=people["author"], body="Ring me on 13812345678.", confirm_privacy=True))
    assert all(c.state == "held" for c in held)
    return held


def _page_and_statements(app, moderator) -> tuple[str, list[str]]:
    browser = app.test_client()
    assert login(browser, moderator.username).status_code == 302
    browser.get("/moderation/comments?lang=en")  # the session's first page: what it loads once is loaded
    with statements() as seen:
        page = browser.get("/moderation/comments?lang=en").get_data(as_text=True)
    return page, seen


def test_the_held_comments_list_asks_the_database_as_often_for_many_comments_as_for_few(
        app, client, make_peer, publish, people):
    writer = make_peer(trust="publish", they_follow=True)
    off_list = make_peer("off.example", trust="publish", they_follow=True)
    held = _held_comments(app, client, publish, people, [writer, off_list] * 3)
    _take_off_the_allow_list(app, people["admin"], off_list)  # its members' comments: "your change does not reach it"
    cut_off = [c.id for c in held if c.thread is not None and c.thread.peer_id == off_list.row.id]

    page, with_many = _page_and_statements(app, people["moderator"])
    assert all(f'id="held-{c.id}"' in page for c in held)
    assert all(f'id="writer-hub-{i}"' in page for i in cut_off) and page.count('id="writer-hub-') == len(cut_off)
    hub = "from partner hub <bdi class=\"user-text\">{}</bdi>"
    assert page.count(hub.format("off.example")) == 3 and page.count(hub.format("peer.example")) == 3

    browser = app.test_client()
    assert login(browser, people["moderator"].username).status_code == 302
    for comment in held[2:-1]:  # one of each kind stays
        assert post_form(browser, f"/moderation/comments/{comment.id}/decline", {},
                         form_url="/moderation/comments").status_code == 302
    page, with_few = _page_and_statements(app, people["moderator"])
    assert [f'id="held-{c.id}"' in page for c in held] == [True, True, False, False, False, False, True]
    assert page.count('id="writer-hub-') == 1 and f'id="writer-hub-{held[1].id}"' in page
    assert len(with_many) == len(with_few), (len(with_few), len(with_many))
    # The queues' counts (the page's tabs, the menu's badge) are read once per page: one statement each.
    counted = [statement for statement in with_few if "count(" in statement.lower()]
    assert len(counted) == 4 + 1, counted  # four queues, and the page's own total (the held queue's again)


def _shown_from(app, client, writer, note, number: int) -> None:
    """A member of ``writer`` comments on our ``note``; the hub trusts it to publish: the comment is shown."""
    writer.post(client, writer.activity("Create", _comment(writer, note.id, number=number, content="<p>Same here.</p>",
                                                           **{"peh:authorPseudonym": f"Partner {number}"})))
    inbox.process_pending(app)


def _note_page_and_statements(app, note) -> tuple[str, list[str]]:
    """The note page as a reader first sees it after new comments (its comments' part is rendered afresh)."""
    with statements() as seen:
        page = app.test_client().get(f"/notes/{note.id}?lang=en").get_data(as_text=True)
    return page, seen


def test_the_note_page_asks_the_database_as_often_for_many_partner_comments_as_for_few(
        app, client, make_peer, publish):
    writers = [make_peer(trust="publish", they_follow=True), make_peer("other.example", trust="publish",
                                                                       they_follow=True)]
    note = publish("public")
    _consume(app)
    _send_all()
    _shown_from(app, client, writers[0], note, 1)
    _shown_from(app, client, writers[1], note, 2)
    page, with_few = _note_page_and_statements(app, note)
    assert page.count('<article class="comment') == 2
    for number in range(3, 9):
        _shown_from(app, client, writers[number % 2], note, number)
    page, with_many = _note_page_and_statements(app, note)
    hub = "from partner hub <bdi class=\"user-text\">{}</bdi>"
    assert page.count(hub.format("peer.example")) == 4 and page.count(hub.format("other.example")) == 4
    assert all(f"Partner {number}" in page for number in range(1, 9))
    assert len(with_many) == len(with_few), (len(with_few), len(with_many))
