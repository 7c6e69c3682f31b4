"""What the conversation across hubs owes partner hubs when comments leave, change or collide.

Each test plays the partner hubs with fake peers (tests/federation/fixtures.py) and reads what
this hub queued for them, as the worker's consumers leave it.
"""
from __future__ import annotations

import sqlalchemy as sa

from hub.extensions import db
from hub.federation import inbox, peers
from hub.federation.activities import parse_time
from hub.models.federation import Delivery
from hub.models import Comment, CommentThread
from hub.services import discussion, leaving
from tests.federation.test_conversation_inbox import _comment, _consume, _remote_note, _sent


def _objects(kind: str, object_id: str) -> list[dict]:
    """Return the objects of the queued activities of ``kind`` about ``object_id``."""
    found = []
    for activity in _sent(kind):
        obj = activity["object"]
        if kind == "Announce" and obj.get("type") == "Delete":
            obj = obj["object"]
        if isinstance(obj, dict) and obj.get("id") == object_id:
            found.append(obj)
    return found


# --- a person leaves -----------------------------------------------------------------------------

def test_comments_that_go_with_an_account_are_deleted_on_every_hub_that_has_them(app, client, make_peer, publish,
                                                                                 people):
    ours = publish("public")
    reader = make_peer("reader.example", they_follow=True)
    origin = make_peer(trust="publish")
    theirs = _remote_note(app, client, origin)
    _consume(app)  # our note reaches the reader
    leaver = people["moderator"]
    on_ours = discussion.add_comment(ours, by=leaver, body="We tried it in Deyang.")
    on_theirs = discussion.add_comment(theirs, by=leaver, body="We tried it in Deyang too.")
    _consume(app)
    ids = {c: f"http://hub.test/ap/comments/{c.id}" for c in (on_ours, on_theirs)}
    assert _objects("Announce", ids[on_ours]) and _objects("Create", ids[on_theirs])
    leaving.delete_account(leaver, by=people["admin"], keep_published=False)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 0
    _consume(app)
    deletes = {a["object"]["id"]: a for a in _sent("Delete")}
    assert set(deletes) == set(ids.values())
    by_inbox = {d.activity["object"]["id"]: d.inbox_url for d in db.session.scalars(sa.select(Delivery))
                if d.activity["type"] == "Delete"}
    assert by_inbox == {ids[on_ours]: reader.base + "/inbox", ids[on_theirs]: origin.base + "/inbox"}


def test_comments_kept_after_their_writer_left_are_sent_again_without_the_pseudonym(app, client, make_peer, publish,
                                                                                   people):
    ours = publish("public")
    make_peer("reader.example", they_follow=True)
    origin = make_peer(trust="publish")
    theirs = _remote_note(app, client, origin)
    _consume(app)
    leaver = people["moderator"]
    on_ours = discussion.add_comment(ours, by=leaver, body="We tried it in Deyang.")
    on_theirs = discussion.add_comment(theirs, by=leaver, body="We tried it in Deyang too.")
    _consume(app)
    leaving.delete_account(leaver, by=people["admin"], keep_published=True)
    _consume(app)
    first, again = _objects("Announce", f"http://hub.test/ap/comments/{on_ours.id}")
    assert first["peh:authorPseudonym"] == leaver.pseudonym and again["peh:authorPseudonym"] == ""
    assert parse_time(again["updated"]) > parse_time(first["updated"])  # partners keep the newest version
    [update] = _objects("Update", f"http://hub.test/ap/comments/{on_theirs.id}")
    assert update["peh:authorPseudonym"] == "" and update["content"] == on_theirs.body_html


# --- removals reach every hub that has the comment ------------------------------------------------

def test_a_moderators_removal_reaches_hubs_that_were_blocked_or_stopped_following(app, client, make_peer, publish,
                                                                                  people):
    note = publish("public")
    blocked = make_peer("blocked.example", they_follow=True)
    gone = make_peer("gone.example", they_follow=True)
    _consume(app)
    comment = discussion.add_comment(note, by=people["author"], body="We tried it in Deyang.")
    _consume(app)
    peers.block(blocked.row, by=people["admin"])
    gone.row.they_follow = False
    db.session.commit()
    discussion.remove_comment(comment, by=people["moderator"])
    _consume(app)
    object_id = f"http://hub.test/ap/comments/{comment.id}"
    sent = {d.inbox_url: d.state for d in db.session.scalars(sa.select(Delivery))
            if d.activity["type"] == "Delete" and d.activity["object"]["id"] == object_id}
    assert sent == {blocked.base + "/inbox": "pending", gone.base + "/inbox": "pending"}
