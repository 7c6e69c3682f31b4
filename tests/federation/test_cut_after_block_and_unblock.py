"""A moderator's cut waiting for the writer's hub, then a block and an unblock of that hub: the cut still reaches it."""
from __future__ import annotations

from hub.extensions import db
from hub.federation import peers
from hub.services import discussion, screening
from hub.text import html_text
from tests.federation.test_conversation_inbox import _a_partners_comment_both_hubs_have, _consume, _send_all


def test_a_cut_waiting_for_the_writers_hub_still_reaches_it_after_a_block_and_unblock(
        app, client, make_peer, publish, people):
    moderator, admin = people["moderator"], people["admin"]
    writer, reader, comment = _a_partners_comment_both_hubs_have(app, client, make_peer, publish)
    assert discussion.redact(comment, by=moderator, body="We post kits. Our van waits .") is discussion.Reach.MARKED
    _consume(app)  # the cut is queued for both hubs; the writer's hub is down
    peers.block(writer.row, by=admin)
    _consume(app)
    peers.unblock(writer.row, by=admin)
    _consume(app)
    peers.retry_dead_letters(by=admin)
    # The writer's hub follows again (the block ended the follows) and is accepted.
    from hub.federation import inbox
    writer.post(client, writer.activity("Follow", "http://hub.test/actor"))
    inbox.process_pending(app)
    _consume(app)
    db.session.expire_all()
    went = [(row["cc"][0] if row.get("cc") else row.get("to"), row["type"],
             html_text(row["object"]["content"]) if isinstance(row.get("object"), dict) and "content" in row["object"]
             else None) for row in _send_all()]
    marker = screening.marker(discussion.comment_language(comment))
    to_writer = [w for w in went if w[0] == writer.actor_id and w[1] in ("Announce", "Update", "Create")]
    assert any(text == f"We post kits. Our van waits {marker}." for _, _, text in to_writer), went
