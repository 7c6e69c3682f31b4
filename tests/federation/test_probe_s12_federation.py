"""What probe s12 found in federation: our translation of a partner's note, narrowed to this hub's
members, was offered to the partner hub all the same (its text addressed as the original is)."""
from __future__ import annotations

import sqlalchemy as sa

from hub.extensions import db
from hub.federation import conversation, delivery, inbox
from hub.models import Note
from hub.models.federation import Delivery
from hub.services import notes, translations


def _consume(app) -> None:
    from hub import events

    for consumer in (delivery.FederationConsumer(), conversation.ConversationConsumer()):
        batch = events.after(consumer.position())
        if batch:
            consumer.apply(batch)


def _offers() -> list[dict]:
    """Return the Offers sent, waiting or failed (not those kept only as a record that one may have arrived)."""
    return [d.activity for d in db.session.scalars(sa.select(Delivery).order_by(Delivery.id))
            if d.activity["type"] == "Offer" and d.state != "dropped"]


def _published_translation(app, client, make_peer, people, **approval) -> Note:
    """Our member's translation of a partner's note, submitted and published by our moderator."""
    peer = make_peer(trust="publish")
    peer.post(client, peer.activity("Create", peer.article()))
    inbox.process_pending(app)
    original = db.session.scalar(sa.select(Note).where(Note.origin_peer_id == peer.row.id))
    draft = translations.start(original, by=people["author"], language="zh_Hans")
    data = notes.input_of(draft)
    data.title, data.summary, data.body = "伙伴笔记", "摘要。", "我们去找人，只给本站成员看的细节。"
    notes.save(draft, by=people["author"], data=data)
    notes.submit(draft, by=people["author"], confirm_privacy=True)
    return notes.approve(draft, by=people["moderator"], **approval)


def test_our_translation_published_for_our_members_only_is_not_offered_to_the_partner_hub(
        app, client, make_peer, people):
    translation = _published_translation(app, client, make_peer, people, visibility="members")
    _consume(app)
    assert translation.visibility == "members" and _offers() == []


def test_our_translation_narrowed_after_it_was_offered_is_not_offered_again(app, client, make_peer, people):
    translation = _published_translation(app, client, make_peer, people)
    _consume(app)
    assert len(_offers()) == 1  # published for the note's readers: offered once
    _sent()
    notes.narrow_visibility(translation, by=people["moderator"], visibility="members")
    _consume(app)
    assert len(_offers()) == 1  # not offered again


def test_our_translation_narrowed_before_the_origin_got_it_is_not_offered(app, client, make_peer, people):
    translation = _published_translation(app, client, make_peer, people)
    _consume(app)
    assert len(_offers()) == 1  # waiting (the origin is down, say)
    notes.narrow_visibility(translation, by=people["moderator"], visibility="members")
    _consume(app)
    assert _offers() == []  # what waited goes no more: its text is for our members now


def _sent() -> None:
    """Take every waiting delivery as sent, as the sender does once a hub took it."""
    for row in db.session.scalars(sa.select(Delivery).where(Delivery.state == "pending")):
        row.state = "sent"
    db.session.commit()


# --- a topic's Announce of a public note is taken back when the note is narrowed --------------------

def test_a_topic_takes_back_its_announce_of_a_note_narrowed_from_the_public(app, make_peer, publish, people):
    from hub import worker
    from hub.federation import topics

    reader = make_peer("open.example", partner=False)  # not a partner: it may read public notes only
    term = _follows_the_topic(reader)
    note = publish("public", topics=("outreach",))
    worker.run_once(app)

    def sent(kind: str) -> list[dict]:
        return [d.activity for d in db.session.scalars(sa.select(Delivery).order_by(Delivery.id))
                if d.activity["type"] == kind and d.peer_id == reader.row.id]
    [announce] = sent("Announce")
    notes.narrow_visibility(note, by=people["moderator"], visibility="partners")
    worker.run_once(app)
    [undo] = sent("Undo")
    assert undo["object"]["id"] == announce["id"] and undo["actor"] == topics.actor_id(term.slug)
    # It may have fetched the Article the Announce named: it may no longer read it, so it is told to delete it.
    [deleted] = sent("Delete")
    assert deleted["object"]["id"] == announce["object"] and deleted["actor"] == f"{reader_hub()}/actor"
    notes.unpublish(note, by=people["moderator"], reason="Out of date.")
    worker.run_once(app)
    assert sent("Undo") == [undo] and sent("Delete") == [deleted]  # once: never an Undo of the Undo


def _follows_the_topic(peer):
    """Let ``peer`` follow the outreach topic's actor (accepted at once); return the topic."""
    from hub.federation import topics
    from hub.models import Term

    term = db.session.scalar(sa.select(Term).where(Term.slug == "outreach"))
    assert topics.on_follow(peer.row, {"id": peer.base + "/follows/1", "type": "Follow",
                                       "actor": peer.actor_id, "object": topics.actor_id(term.slug)})
    db.session.commit()
    return term


def reader_hub() -> str:
    """This hub's base URL, whose actor deletes its notes."""
    from hub.federation import actor

    return actor.base_url()


def test_a_partner_following_a_topic_keeps_a_note_narrowed_to_partners(app, make_peer, publish, people):
    from hub import worker

    partner = make_peer("partner.example")  # a partner hub: it may read partners notes
    _follows_the_topic(partner)
    note = publish("public", topics=("outreach",))
    worker.run_once(app)
    notes.narrow_visibility(note, by=people["moderator"], visibility="partners")
    worker.run_once(app)
    kinds = [d.activity["type"] for d in db.session.scalars(sa.select(Delivery).order_by(Delivery.id))
             if d.peer_id == partner.row.id]
    assert kinds == ["Accept", "Announce", "Undo"]  # no longer announced to the public; no Delete: it may read it
