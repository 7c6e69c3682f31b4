"""An operator's upgrade of a hub that has lived a while: `flask hub init` on a database an older
version wrote, then the hub used as before."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_migrate import upgrade

from hub.extensions import db
from hub.models.discussion import Comment
from tests.helpers import empty_database, login, post_form


def test_comments_written_after_the_upgrade_never_take_the_id_of_one_deleted_before_it(app, make_user):
    """Comment ids name comments on partner hubs (/ap/comments/<id>). A hub of 0015 had deleted its
    newest comments with their note; after the upgrade the next comment must get a new id, not theirs."""
    empty_database()
    upgrade(revision="0015_s8_partner")
    day = dt.datetime(2026, 11, 1, 8, 0)
    note = {"state": "published", "visibility": "public", "language": "en", "title": "Outreach", "summary": "",
            "body": "Peer outreach.", "sections": "{}", "body_html": "<p>Peer outreach.</p>", "place": "",
            "province": "", "tags": "[]", "featured": False, "revision_number": 1, "created_at": day,
            "updated_at": day, "published_at": day, "changed_at": day}
    with db.engine.begin() as connection:
        for note_id, comment_ids in [(1, [1]), (2, [2, 3])]:
            connection.execute(sa.table("note", *map(sa.column, [*note, "id"])).insert().values(**note, id=note_id))
            for comment_id in comment_ids:
                connection.execute(sa.text("INSERT INTO comment (id, note_id, body, body_html, created_at, state) "
                                           "VALUES (:id, :note, 'Seen.', '<p>Seen.</p>', :day, 'published')"),
                                   {"id": comment_id, "note": note_id, "day": day})
                connection.execute(sa.text("INSERT INTO event (at, kind, subject_type, subject_id, payload) "
                                           "VALUES (:day, 'comment.added', 'comment', :id, '{}')"),
                                   {"id": comment_id, "day": day})
        # the second note deleted: a tombstone, its comments gone (hub.services.notes.tombstone)
        connection.execute(sa.text("DELETE FROM comment WHERE note_id = 2"))
        connection.execute(sa.text("UPDATE note SET state = 'deleted', deleted_at = :day WHERE id = 2"), {"day": day})

    result = app.test_cli_runner().invoke(args=["hub", "init"])
    assert result.exit_code == 0, result.output

    make_user("mary")
    browser = app.test_client()
    login(browser, "mary")
    post_form(browser, "/notes/1/comments", {"body": "Written after the upgrade."}, form_url="/notes/1")
    written = db.session.scalars(sa.select(Comment).where(Comment.body == "Written after the upgrade.")).one()
    assert written.id == 4  # 2 and 3 are known elsewhere as the deleted note's comments
