"""Updates of a partner's note or comment that arrive out of order (an in-flight delivery superseded at its
origin is still sent; networks reorder): the newest version by the origin's own ``updated`` stays, whatever
our clock says, and the older one is skipped quietly (its inbox item done, not failed)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub import worker
from hub.extensions import db
from hub.models.federation import InboxItem
from hub.services import moderation, notes
from tests.federation.test_conversation_inbox import _comment

# The origin's clock: behind ours (its versions in the past here), or ahead of ours (in the future here).
CLOCKS = {"behind": ("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"),
          "ahead": ("2099-02-01T00:00:00Z", "2099-03-01T00:00:00Z")}


def deliver_newer_then_older(app, client, peer, version) -> None:
    """Send the newer Update first, then the older one, each processed as it arrives."""
    older, newer = CLOCKS[version["clock"]]
    for when, words in ((newer, "Newer words"), (older, "Older words")):
        update = peer.activity("Update", version["object"](when, f"<p>{words}.</p>"))
        assert peer.post(client, update).status_code == 202
        worker.run_once(app)
    db.session.expire_all()


def quietly_skipped() -> bool:
    return {item.state for item in db.session.scalars(sa.select(InboxItem))} == {"done"}


@pytest.mark.parametrize("clock", list(CLOCKS))
def test_an_older_update_of_a_partners_note_never_overwrites_a_newer_one(app, client, make_peer, clock):
    peer = make_peer(trust="publish")
    peer.post(client, peer.activity("Create", peer.article()))
    worker.run_once(app)

    def note_page() -> str:
        return app.test_client().get("/notes/1?lang=en", follow_redirects=True).get_data(as_text=True)

    assert "We met people where they are." in note_page()
    deliver_newer_then_older(app, client, peer, {"clock": clock, "object": lambda when, html: peer.article(
        updated=when, content=html, contentMap={"en": html})})
    assert "Newer words" in note_page() and "Older words" not in note_page()
    assert quietly_skipped()


def test_the_origins_newer_version_applies_after_a_moderators_redaction_here(
        app, client, make_peer, people):
    """Our moderator's change is stamped by our clock; the origin's versions by its own: only these compare."""
    peer = make_peer(trust="publish")
    peer.post(client, peer.activity("Create", peer.article(content="<p>Call 13812345678.</p>",
                                                           contentMap={"en": "<p>Call 13812345678.</p>"})))
    worker.run_once(app)
    note = db.session.scalar(sa.select(notes.Note))
    assert note.state == "submitted"  # the privacy check found the number: our moderator cuts it out
    moderation.redact_note(note, by=people["moderator"],
                           fields={"title": note.title, "summary": note.summary, "body": "Call."})
    notes.approve(note, by=people["moderator"])
    edited = "<p>Call the office.</p>"  # the origin's correction, made before our redaction, delivered after it
    assert peer.post(client, peer.activity("Update", peer.article(updated="2026-02-01T00:00:00Z", content=edited,
                                                                  contentMap={"en": edited}))).status_code == 202
    worker.run_once(app)
    db.session.expire_all()
    assert "Call the office." in note.body


@pytest.mark.parametrize("clock", list(CLOCKS))
def test_an_older_update_of_a_partners_comment_never_overwrites_a_newer_one(app, client, make_peer, publish, clock):
    note = publish("public")
    peer = make_peer(trust="publish")
    peer.post(client, peer.activity("Create", _comment(peer, note.id, content="<p>First words.</p>")))
    worker.run_once(app)
    deliver_newer_then_older(app, client, peer, {"clock": clock, "object": lambda when, html: _comment(
        peer, note.id, content=html, updated=when)})
    page = app.test_client().get(f"/notes/{note.id}?lang=en").get_data(as_text=True)
    assert "Newer words" in page and "Older words" not in page
    assert quietly_skipped()
