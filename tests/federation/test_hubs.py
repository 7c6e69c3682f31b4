"""Three hubs in separate processes federate over HTTP on 127.0.0.1 (the ``hubs`` fixture, conftest.py).

Hub A runs in open mode (any hub may follow it) and has allow-listed B only; B and C run in
the default allow-list mode and follow A; A follows B back. C trusts A to publish directly; B
moderates A's notes. Each test publishes its own notes, so the tests do not depend on their order.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.federation import peers
from hub.models.federation import Delivery, InboxItem, PeerHub
from hub.models.note import Note
from hub.services import moderation, notes, translations
from tests.federation.hubs import copy_of as _copy, publish as _publish, wait_for
from tests.helpers import approve_checked


# --- helpers ---------------------------------------------------------------------------------

def _search(hub, word: str) -> list[dict]:
    url = f"{hub.base}/api/v1/search?" + urllib.parse.urlencode({"q": word})
    # The first search of a process loads the Chinese dictionary and opens the index: be patient.
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.loads(response.read())["results"]


def _deliveries_about(hub, note_id: int) -> list[Delivery]:
    with hub.context():
        object_id = f"{hub.base}/ap/notes/{note_id}"
        rows = db.session.scalars(sa.select(Delivery).where(Delivery.activity_id.like(object_id + "#%")))
        return [(d.inbox_url, d.activity["type"], d.state) for d in rows]


# --- the tests -------------------------------------------------------------------------------

def test_public_note_reaches_the_queue_or_the_readers_per_trust(hubs):
    a, b, c = hubs["a"], hubs["b"], hubs["c"]
    word = "Quokka" + uuid.uuid4().hex[:6]
    note_id = _publish(a, f"Outreach with {word}")
    on_b = wait_for(lambda: _copy(b, a, note_id), what="the note on B", hubs=[a, b])
    on_c = wait_for(lambda: _copy(c, a, note_id), what="the note on C", hubs=[a, c])
    assert on_b["state"] == "submitted" and on_b["author"] is None  # B moderates A's notes
    assert on_c["state"] == "published" and on_c["visibility"] == "public"  # C trusts A
    assert wait_for(lambda: _search(c, word), what="the note in C's search", hubs=[c])
    with b.context():
        note = db.session.get(Note, on_b["id"])
        notes.approve(note, by=b.user("moder"))
    assert wait_for(lambda: _search(b, word), what="the approved note in B's search", hubs=[b])
    # Hubs of this software read RFC 9421 signatures: A learnt to sign for B and C with them.
    with a.context():
        schemes = db.session.execute(sa.select(PeerHub.base_url, PeerHub.signature_scheme)).all()
    assert dict(schemes) == {b.base: "rfc9421", c.base: "rfc9421"}


def test_a_summary_with_markup_characters_reaches_the_partner_exactly(hubs):
    """ActivityStreams reads ``summary`` as HTML: sent escaped, the partner gets the author's text back."""
    a, c = hubs["a"], hubs["c"]
    summary = "Kits & tips: a<b and c>d, <b>not bold</b> <script>x</script>"
    note_id = _publish(a, "Summary with markup characters", summary=summary)
    copy = wait_for(lambda: _copy(c, a, note_id), what="the note on C", hubs=[a, c])
    assert copy["state"] == "published" and copy["summary"] == summary


def test_updates_and_deletes_reach_every_hub_that_has_the_note(hubs):
    a, b, c = hubs["a"], hubs["b"], hubs["c"]
    note_id = _publish(a, "A note that will change")
    wait_for(lambda: _copy(b, a, note_id) and _copy(c, a, note_id), what="the note on B and C", hubs=[a, b, c])
    with a.context():
        note = db.session.get(Note, note_id)
        data = notes.input_of(note)
        data.title = "A note that changed"
        notes.save(note, by=a.user("writer"), data=data, confirm_privacy=True)
        notes.accept_changes(note, by=a.user("moder"), version=note.pending.version)  # edits wait for review
    for hub in (b, c):
        wait_for(lambda: (_copy(hub, a, note_id) or {}).get("title") == "A note that changed",
                 what=f"the update on {hub.name}", hubs=[a, hub])
    with a.context():
        notes.delete(db.session.get(Note, note_id), by=a.user("writer"))
    for hub in (b, c):
        gone = wait_for(lambda: (_copy(hub, a, note_id) or {}).get("state") == "deleted" and _copy(hub, a, note_id),
                        what=f"the delete on {hub.name}", hubs=[a, hub])
        assert gone["title"] == gone["body"] == gone["html"] == ""


def test_personal_data_a_moderator_removes_leaves_the_partner_hubs_copies_too(hubs):
    a, b, c = hubs["a"], hubs["b"], hubs["c"]
    number = "138 1234 5678"
    with a.context():
        data = notes.NoteInput(title="A note with a number", summary="A number slipped in.", language="en",
                               body=f"Call Lee on {number} for kits.\n\nKits go out on Mondays.", visibility="public")
        note = notes.create_draft(author=a.user("writer"), data=data)
        notes.submit(note, by=a.user("writer"), confirm_privacy=True)
        approve_checked(note, by=a.user("moder"))
        note_id = note.id
    for hub in (b, c):  # C trusts A to publish, but a note with personal data waits there too
        copy = wait_for(lambda: _copy(hub, a, note_id), what=f"the note on {hub.name}", hubs=[a, hub])
        assert copy["state"] == "submitted" and number in copy["body"]
    with a.context():
        moderation.redact_note(db.session.get(Note, note_id), by=a.user("moder"),
                               fields={"title": "A note with a number", "summary": "A number slipped in.",
                                       "body": "Ask at the drop-in for kits.\n\nKits go out on Mondays."})
    for hub in (b, c):
        copy = wait_for(lambda: "drop-in" in (_copy(hub, a, note_id) or {}).get("body", "") and _copy(hub, a, note_id),
                        what=f"the redacted note on {hub.name}", hubs=[a, hub])
        assert "1234" not in copy["body"] and "1234" not in copy["html"]


def test_a_partners_note_reaches_only_the_allow_listed_hub(hubs):
    a, b, c = hubs["a"], hubs["b"], hubs["c"]
    note_id = _publish(a, "For partners only", visibility="partners")
    marker = _publish(a, "Public marker after the partners note")
    on_b = wait_for(lambda: _copy(b, a, note_id), what="the partners note on B", hubs=[a, b])
    assert on_b["visibility"] == "partners"
    wait_for(lambda: _copy(c, a, marker), what="the marker on C", hubs=[a, c])
    assert _copy(c, a, note_id) is None
    assert {inbox for inbox, _kind, _state in _deliveries_about(a, note_id)} == {b.base + "/inbox"}


def test_a_members_note_never_leaves_its_hub(hubs):
    a, b, c = hubs["a"], hubs["b"], hubs["c"]
    note_id = _publish(a, "For members only", visibility="members")
    marker = _publish(a, "Public marker after the members note")
    wait_for(lambda: _copy(b, a, marker) and _copy(c, a, marker), what="the marker on B and C", hubs=[a, b, c])
    assert _copy(b, a, note_id) is None and _copy(c, a, note_id) is None
    assert _deliveries_about(a, note_id) == []
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{a.base}/ap/notes/{note_id}", timeout=5)
    assert refused.value.code == 404


def test_a_hub_reads_what_was_published_before_it_followed(hubs):
    a, c = hubs["a"], hubs["c"]
    on_c = wait_for(lambda: _copy(c, a, hubs["early"]), what="the backfilled note on C", hubs=[a, c])
    assert on_c["state"] == "published"


def test_notes_flow_the_other_way_too(hubs):
    a, b = hubs["a"], hubs["b"]
    note_id = _publish(b, "From B to A")
    on_a = wait_for(lambda: _copy(a, b, note_id), what="B's note on A", hubs=[a, b])
    assert on_a["state"] == "submitted"


def test_a_partner_down_for_a_while_loses_nothing_and_gets_nothing_twice(hubs):
    a, b = hubs["a"], hubs["b"]
    b.stop()
    try:
        first = _publish(a, "Written while B was down")
        second = _publish(a, "Also written while B was down")
        with a.context():
            note = db.session.get(Note, first)
            data = notes.input_of(note)
            data.title = "Written while B was down (corrected)"
            notes.save(note, by=a.user("writer"), data=data, confirm_privacy=True)
            notes.accept_changes(note, by=a.user("moder"), version=note.pending.version)

        def failing() -> bool:
            with a.context():
                rows = db.session.scalars(sa.select(Delivery).where(Delivery.inbox_url == b.base + "/inbox",
                                                                    Delivery.state == "pending"))
                return any(d.attempts >= 2 and d.last_error for d in rows)
        wait_for(failing, what="A's deliveries to B to fail and wait", hubs=[a])
    finally:
        b.start()
    wait_for(lambda: (_copy(b, a, first) or {}).get("title") == "Written while B was down (corrected)"
             and _copy(b, a, second), timeout=40, what="the missed notes on B", hubs=[a, b])
    wait_for(lambda: all(state == "sent" for _i, _k, state in
                         _deliveries_about(a, first) + _deliveries_about(a, second)),
             what="A's deliveries to be sent", hubs=[a])
    with b.context():
        for note_id in (first, second):
            remote_id = f"{a.base}/ap/notes/{note_id}"
            assert db.session.scalar(sa.select(sa.func.count()).select_from(Note)
                                     .where(Note.remote_id == remote_id)) == 1
        creates = [json.loads(item.raw) for item in db.session.scalars(sa.select(InboxItem))]
        ids = [activity["id"] for activity in creates]
        assert len(ids) == len(set(ids))
    with a.context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Delivery)
                                 .where(Delivery.state == "dead")) == 0


def test_a_note_taken_down_and_published_again_follows_on_the_partner(hubs):
    a, c = hubs["a"], hubs["c"]
    note_id = _publish(a, "Taken down, then back")
    wait_for(lambda: (_copy(c, a, note_id) or {}).get("state") == "published", what="the note on C", hubs=[a, c])
    with a.context():
        notes.unpublish(db.session.get(Note, note_id), by=a.user("moder"), reason="Check the place name.")
    wait_for(lambda: (_copy(c, a, note_id) or {}).get("state") == "deleted", what="the takedown on C", hubs=[a, c])
    with a.context():
        note = db.session.get(Note, note_id)
        notes.submit(note, by=a.user("writer"), confirm_privacy=True)
        notes.approve(note, by=a.user("moder"))
    back = wait_for(lambda: (_copy(c, a, note_id) or {}).get("state") == "published" and _copy(c, a, note_id),
                    what="the note back on C", hubs=[a, c])
    assert back["title"] == "Taken down, then back"


def test_a_note_narrowed_at_its_origin_leaves_public_view_on_the_partner_with_our_translation(hubs):
    """A's moderator narrows a public note to partner hubs: B (allow-listed) gets an Update addressed to it alone
    and keeps the note for its members only; B's member's translation of it leaves B's readers."""
    a, b = hubs["a"], hubs["b"]
    note_id = _publish(a, "Narrowed later")
    on_b = wait_for(lambda: _copy(b, a, note_id), what="the note on B", hubs=[a, b])
    with b.context():
        original = db.session.get(Note, on_b["id"])
        notes.approve(original, by=b.user("moder"))
        translation = translations.start(original, by=b.user("writer"), language="zh_Hans")
        notes.save(translation, by=b.user("writer"), data=notes.NoteInput(
            title="后来缩小", summary="摘要。", body="译文第一段。", language="zh_Hans"))
        notes.submit(translation, by=b.user("writer"), confirm_privacy=True)
        notes.approve(translation, by=b.user("moder"))
        translation_id = translation.id
    assert "译文第一段" in _anonymous_page(b, translation_id)
    with a.context():
        notes.narrow_visibility(db.session.get(Note, note_id), by=a.user("moder"), visibility="partners")
    wait_for(lambda: (_copy(b, a, note_id) or {}).get("visibility") == "partners", what="the narrowing on B",
             hubs=[a, b])
    with b.context():
        assert db.session.get(Note, on_b["id"]).state == "published"  # for B's members
        assert db.session.get(Note, translation_id).state == "unpublished"
    assert _anonymous_page(b, on_b["id"]) == "" and _anonymous_page(b, translation_id) == ""


def _anonymous_page(hub, note_id: int) -> str:
    """A note's page on ``hub`` as an anonymous visitor gets it ("" when it is not there for them)."""
    try:
        with urllib.request.urlopen(f"{hub.base}/notes/{note_id}?lang=en", timeout=30) as response:
            return response.read().decode()
    except urllib.error.HTTPError:
        return ""


def test_a_comment_waiting_for_a_partner_that_was_down_never_reaches_it_once_its_note_is_for_members(hubs):
    """C is down while A's member comments on A's note; A's moderator then narrows the note to members. Back up, C
    gets the note's Delete and nothing of the comment: not from the queue, not from a retry of failed deliveries."""
    from hub.models import Comment
    from hub.services import discussion

    a, c = hubs["a"], hubs["c"]
    said = f"Meet Fang at the back gate ({uuid.uuid4().hex[:6]})"
    note_id = _publish(a, "Commented while C was down")
    wait_for(lambda: (_copy(c, a, note_id) or {}).get("state") == "published", what="the note on C", hubs=[a, c])
    c.stop()
    try:
        with a.context():
            comment_id = discussion.add_comment(db.session.get(Note, note_id), by=a.user("writer"), body=said).id

        def failing() -> bool:
            with a.context():
                rows = db.session.scalars(sa.select(Delivery).where(Delivery.inbox_url == c.base + "/inbox",
                                                                    Delivery.state == "pending"))
                return any(d.activity["type"] == "Announce" and d.attempts >= 1 and d.last_error for d in rows)
        wait_for(failing, what="A's Announce of the comment to C to fail and wait", hubs=[a])
        with a.context():
            notes.narrow_visibility(db.session.get(Note, note_id), by=a.user("moder"), visibility="members")
            peers.retry_dead_letters(by=a.user("admin"))  # an admin sends what failed again, too
    finally:
        c.start()
    wait_for(lambda: (_copy(c, a, note_id) or {}).get("state") == "deleted", what="the Delete on C", hubs=[a, c])
    comment = f"{a.base}/ap/comments/{comment_id}"
    with a.context():  # what A holds for C of the comment: nothing sent, nothing left to send
        assert [(d.activity["type"], d.state) for d in db.session.scalars(sa.select(Delivery).where(
            Delivery.inbox_url == c.base + "/inbox", Delivery.activity_id.startswith(comment)))] == []
    with c.context():  # what C ever received that names it
        assert not [item.activity_id for item in db.session.scalars(sa.select(InboxItem)) if comment in item.raw]
