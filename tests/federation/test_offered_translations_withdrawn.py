"""Our translation of a partner's note, offered to the note's origin, is taken back there when it leaves here.

Taken down by a moderator, deleted, or narrowed to our members, it no longer goes with the note: the origin,
which was sent an Offer of it, is sent a ``Delete`` of the translation (as for any object of ours), drops it
from its readers and its moderators' queue, and takes it again only when it is offered again. A moderator's
redaction of it reaches the origin as a new Offer, which the origin applies at once to what it accepted.

The sending side runs the real sender against an origin on 127.0.0.1 (tests.federation.fixtures.DocumentServer);
the receiving side is this hub as the origin, with a fake partner posting to its inbox.
"""
from __future__ import annotations

import json
import time

import sqlalchemy as sa

from hub.extensions import db
from hub.federation import delivery, inbox
from hub.models import Note
from hub.models.federation import Delivery
from hub.services import moderation, notes, screening
from tests.federation.test_conversation_inbox import _consume
from tests.federation.test_deliveries_follow_the_audience import _offered
from tests.helpers import approve_checked

SECRET = "王小明"  # a name a moderator cuts out of the translation


# --- our hub translated a partner's note ---------------------------------------------------------

def _translated(app, client, make_peer, peer_server, people, body: str) -> tuple[Note, str]:
    """Our member's translation of a partner's note (the hub on 127.0.0.1), published and offered to it; return
    the translation and its ActivityPub id."""
    draft = _offered(app, client, make_peer, peer_server, people, body)
    delivery.send_due(app, wait=True)
    return draft, f"http://hub.test/ap/notes/{draft.id}"


def _send(app) -> None:
    """Let the worker turn events into deliveries and send them."""
    _consume(app)
    delivery.send_due(app, wait=True)


def _got(peer_server) -> list[tuple[str, str]]:
    """Return what the origin received: each activity's type and the id of its object."""
    return [(a["type"], a["object"]["id"]) for a in peer_server.activities()]


def _republish(translation: Note, people) -> None:
    notes.submit(translation, by=people["author"], confirm_privacy=True)
    approve_checked(translation, by=people["moderator"])


def test_our_translation_taken_down_here_is_withdrawn_from_the_origin_and_offered_again_when_back(
        app, client, make_peer, peer_server, people):
    translation, object_id = _translated(app, client, make_peer, peer_server, people, "我们去找人。")
    assert _got(peer_server) == [("Offer", object_id)]
    notes.unpublish(translation, by=people["moderator"], reason="Checking a detail.")
    _send(app)
    assert _got(peer_server) == [("Offer", object_id), ("Delete", object_id)]
    withdrawal = peer_server.activities()[-1]
    assert withdrawal["object"] == {"id": object_id, "type": "Tombstone", "formerType": "Article"}
    assert withdrawal["actor"] == "http://hub.test/actor" and withdrawal["id"].startswith(object_id + "#")
    _republish(translation, people)
    _send(app)
    assert [kind for kind, _ in _got(peer_server)] == ["Offer", "Delete", "Offer"]
    notes.delete(translation, by=people["author"])
    _send(app)
    assert [kind for kind, _ in _got(peer_server)] == ["Offer", "Delete", "Offer", "Delete"]


def test_our_translation_narrowed_to_our_members_is_withdrawn_from_the_origin_once(
        app, client, make_peer, peer_server, people):
    translation, object_id = _translated(app, client, make_peer, peer_server, people, "我们去找人。")
    notes.narrow_visibility(translation, by=people["moderator"], visibility="members")
    _send(app)
    notes.unpublish(translation, by=people["moderator"], reason="Checking a detail.")
    _send(app)
    assert _got(peer_server) == [("Offer", object_id), ("Delete", object_id)]  # withdrawn once, not twice


def test_a_withdrawal_the_origin_refused_waits_for_an_admin_and_is_not_queued_again(
        app, client, make_peer, peer_server, people):
    translation, _object_id = _translated(app, client, make_peer, peer_server, people, "我们去找人。")
    assert len(peer_server.activities()) == 1
    peer_server.status["post"] = 400
    notes.narrow_visibility(translation, by=people["moderator"], visibility="members")  # withdrawn: refused
    _send(app)
    notes.unpublish(translation, by=people["moderator"], reason="Checking a detail.")
    _send(app)
    assert [a["type"] for a in peer_server.activities()] == ["Offer", "Delete"]
    assert [d.activity["type"] for d in db.session.scalars(sa.select(Delivery).order_by(Delivery.id))] == [
        "Offer", "Delete"]  # the refused withdrawal is not followed by another


def _times_out(app, peer_server) -> None:
    """Send what is due to an origin that reads each POST and answers too late, once: dead-lettered, and
    wait until the origin has read it."""
    app.config["FEDERATION_TOTAL_TIMEOUT"], app.config["FEDERATION_DELIVERY_TRIES"] = 1.0, 1
    peer_server.status["delay"] = 4.0
    had = len(peer_server.posts)
    delivery.send_due(app, wait=True)
    for _ in range(600):  # the origin stores it once its slow answer is written (at most a minute)
        if len(peer_server.posts) > had:
            break
        time.sleep(0.1)
    peer_server.status["delay"] = 0.0
    app.config["FEDERATION_TOTAL_TIMEOUT"] = 30.0


def test_an_offer_whose_answer_timed_out_is_withdrawn_when_our_translation_leaves(
        app, client, make_peer, peer_server, people):
    translation = _offered(app, client, make_peer, peer_server, people, "我们去找人。")
    object_id = f"http://hub.test/ap/notes/{translation.id}"
    _times_out(app, peer_server)
    assert [(d.activity["type"], d.state) for d in db.session.scalars(sa.select(Delivery))] == [("Offer", "dead")]
    assert _got(peer_server) == [("Offer", object_id)]  # it arrived all the same
    notes.unpublish(translation, by=people["moderator"], reason="Checking a detail.")
    _send(app)
    assert _got(peer_server) == [("Offer", object_id), ("Delete", object_id)]


def test_a_translation_whose_first_offer_timed_out_is_withdrawn_even_when_its_next_offer_was_refused(
        app, client, make_peer, peer_server, people):
    translation = _offered(app, client, make_peer, peer_server, people, f"找{SECRET}拿针具。")
    object_id = f"http://hub.test/ap/notes/{translation.id}"
    _times_out(app, peer_server)  # the origin has the first version
    moderation.redact_note(translation, by=people["moderator"],
                           fields={"title": "伙伴笔记", "summary": "摘要。", "body": "找拿针具。"})
    _consume(app)  # the redacted version replaces the dead-lettered one
    peer_server.status["post"] = 400
    delivery.send_due(app, wait=True)  # and is refused
    peer_server.status["post"] = 202
    notes.delete(translation, by=people["author"])
    _send(app)
    assert _got(peer_server) == [("Offer", object_id), ("Offer", object_id), ("Delete", object_id)]


def test_a_redaction_of_our_translation_reaches_the_origin_as_a_new_offer(app, client, make_peer, peer_server,
                                                                         people):
    translation, object_id = _translated(app, client, make_peer, peer_server, people,
                                         f"找{SECRET}拿针具，每周五。")
    moderation.redact_note(translation, by=people["moderator"],
                           fields={"title": "伙伴笔记", "summary": "摘要。", "body": "找拿针具，每周五。"})
    _send(app)
    first, redacted = peer_server.activities()
    assert [first["type"], redacted["type"]] == ["Offer", "Offer"] and redacted["object"]["id"] == object_id
    assert SECRET in json.dumps(first, ensure_ascii=False)
    assert SECRET not in json.dumps(redacted, ensure_ascii=False)


# --- a partner translated one of our notes ---------------------------------------------------------

NAME = "Wang Xiaoming"


def _offer(peer, note, *, at: str, content: str = f"<p>We went to find people, on Fridays with {NAME}.</p>",
           updated: str | None = None):
    """A partner's Offer of its English translation of our note, as that hub makes it, at ``at`` (its version
    ``updated`` then, unless given: this software writes it to the second)."""
    original = f"http://hub.test/ap/notes/{note.id}"
    article = {"id": f"{peer.base}/ap/notes/7", "type": "Article", "attributedTo": peer.actor_id,
               "name": "Outreach experience", "summary": "What we learned.", "content": content,
               "contentMap": {"en": content}, "mediaType": "text/html", "url": f"{peer.base}/notes/7",
               "published": "2026-02-01T00:00:00Z", "updated": updated or at, "peh:translationOf": original}
    return peer.activity("Offer", article, target=original, to=["http://hub.test/actor"], published=at)


def _withdrawal(peer, *, at: str):
    """The partner's Delete of its translation (what it sends when the translation leaves there)."""
    return peer.activity("Delete", {"id": f"{peer.base}/ap/notes/7", "type": "Tombstone", "formerType": "Article"},
                         to=["http://hub.test/actor"], published=at)


def _take(app, client, peer, activity) -> None:
    response = peer.post(client, activity)
    assert response.status_code == 202, response.get_json()
    inbox.process_pending(app)
    db.session.expire_all()


def _read(app, note) -> str:
    """Return our note's page in English as a visitor reads it (our partner's translation, while shown)."""
    return app.test_client().get(f"/notes/{note.id}?version=en&lang=en", follow_redirects=True).get_data(as_text=True)


def _queue(client) -> str:
    return client.get("/moderation?lang=en").get_data(as_text=True)


def _readers_version(reader_updates: list[dict]) -> dict:
    """The language versions of our note in the last Update the reader hub got."""
    return reader_updates[-1]["object"].get("contentMap", {})


def test_a_partners_translation_it_withdraws_leaves_our_queue_and_our_readers_and_may_be_offered_again(
        app, client, make_peer, publish, people, login_as):
    from tests.federation.test_conversation_inbox import _send_all

    note = publish("public")
    partner = make_peer(trust="moderate")
    make_peer("reader.example", they_follow=True)
    _consume(app)
    _send_all()
    moderator = login_as(people["moderator"])

    _take(app, client, partner, _offer(partner, note, at="2026-02-01T00:00:00Z"))
    assert "Outreach experience" in _queue(moderator)
    _take(app, client, partner, _withdrawal(partner, at="2026-02-02T00:00:00Z"))
    assert "Outreach experience" not in _queue(moderator)  # nothing left to decide on
    translation = db.session.scalar(sa.select(Note).where(Note.translation_of_id == note.id))
    assert translation.state == "deleted" and NAME not in translation.body

    _take(app, client, partner, _offer(partner, note, at="2026-02-03T00:00:00Z"))  # offered again: back in review
    assert "Outreach experience" in _queue(moderator)
    approve_checked(db.session.get(Note, translation.id), by=people["moderator"])
    _consume(app)
    assert NAME in json.dumps(_readers_version(_updates(_send_all())))
    assert "Outreach experience" in _read(app, note)

    _take(app, client, partner, _withdrawal(partner, at="2026-02-04T00:00:00Z"))
    assert "Outreach experience" not in _read(app, note)
    _consume(app)
    assert _readers_version(_updates(_send_all())) == {"zh-Hans": note.body_html}  # the other hubs drop it too


def test_an_offer_older_than_the_partners_withdrawal_does_not_bring_its_translation_back(
        app, client, make_peer, publish, people, login_as):
    note = publish("public")
    partner = make_peer(trust="moderate")
    _take(app, client, partner, _offer(partner, note, at="2026-02-01T00:00:00Z"))
    _take(app, client, partner, _withdrawal(partner, at="2026-02-03T00:00:00Z"))
    _take(app, client, partner, _offer(partner, note, at="2026-02-02T00:00:00Z"))  # late, or replayed by an admin
    assert "Outreach experience" not in _queue(login_as(people["moderator"]))


def test_a_withdrawal_of_a_translation_we_never_got_does_not_block_its_offer(app, client, make_peer, publish, people,
                                                                              login_as):
    note = publish("public")
    partner = make_peer(trust="moderate")
    _take(app, client, partner, _withdrawal(partner, at="2026-02-01T00:00:00Z"))
    _take(app, client, partner, _offer(partner, note, at="2026-02-02T00:00:00Z"))
    assert "Outreach experience" in _queue(login_as(people["moderator"]))


def test_a_partners_redaction_of_its_accepted_translation_applies_at_once_each_cut_marked(
        app, client, make_peer, publish, people):
    from tests.federation.test_conversation_inbox import _send_all

    note = publish("public")
    partner = make_peer(trust="moderate")
    make_peer("reader.example", they_follow=True)
    _take(app, client, partner, _offer(partner, note, at="2026-02-01T00:00:00Z"))
    translation = db.session.scalar(sa.select(Note).where(Note.translation_of_id == note.id))
    approve_checked(translation, by=people["moderator"])
    _consume(app)
    _send_all()
    # Its moderator cut the name out (a plain deletion, as this software sends it).
    _take(app, client, partner, _offer(partner, note, at="2026-02-02T00:00:00Z",
                                       content="<p>We went to find people, on Fridays with .</p>"))
    page = _read(app, note)
    assert "We went to find people" in page and NAME not in page and screening.marker("en") in page
    assert db.session.get(Note, translation.id).state == "published"  # a cut needs no review
    _consume(app)
    shown = _readers_version(_updates(_send_all()))
    assert NAME not in json.dumps(shown) and screening.marker("en") in shown["en"]
    # Other words than cuts do not reach readers unseen: back to review.
    _take(app, client, partner, _offer(partner, note, at="2026-02-03T00:00:00Z",
                                       content="<p>We went to find people, on Fridays with Li Hua.</p>"))
    assert db.session.get(Note, translation.id).state == "submitted"
    assert "We went to find people" not in _read(app, note)


def test_a_partners_cut_within_the_second_of_its_last_offer_is_not_taken_for_an_older_version(
        app, client, make_peer, publish, people):
    """The partner's moderator cut the name less than a second after its hub offered the translation: the new
    Offer is later to the millisecond, while its ``updated`` (to the second) is earlier than the first Offer."""
    note = publish("public")
    partner = make_peer(trust="moderate")
    _take(app, client, partner, _offer(partner, note, at="2026-02-01T10:00:00.500Z", updated="2026-02-01T10:00:00Z"))
    translation = db.session.scalar(sa.select(Note).where(Note.translation_of_id == note.id))
    approve_checked(translation, by=people["moderator"])
    _take(app, client, partner, _offer(partner, note, at="2026-02-01T10:00:00.900Z", updated="2026-02-01T10:00:00Z",
                                       content="<p>We went to find people, on Fridays with .</p>"))
    page = _read(app, note)
    assert NAME not in page and screening.marker("en") in page
    # The first Offer again (a retried dead letter): older by both its dates, it changes nothing.
    _take(app, client, partner, _offer(partner, note, at="2026-02-01T10:00:00.500Z", updated="2026-02-01T10:00:00Z"))
    assert NAME not in _read(app, note)


def _updates(went: list[dict]) -> list[dict]:
    return [a for a in went if a["type"] == "Update"]
